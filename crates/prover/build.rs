//! Computes the program id: a Keccak-256 of the guest program's sources (the crates a guest
//! compiles and the prover's guest modules) and of the EVM crates' versions in `Cargo.lock`,
//! so that any change to what the guest runs gives another id, as a zkVM's verifying key would.

use sha3::{Digest, Keccak256};
use std::{
    fs,
    path::{Path, PathBuf},
};

/// Source trees of the crates the guest is made of, relative to the workspace root.
const GUEST_TREES: &[&str] = &[
    "crates/primitives/src",
    "crates/trie/src",
    "crates/witness/src",
    "crates/stateless/src",
];
/// The prover's own guest modules.
const GUEST_FILES: &[&str] = &[
    "crates/prover/src/guest.rs",
    "crates/prover/src/input.rs",
    "crates/prover/src/public_values.rs",
];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.join("../..");
    let mut files = Vec::new();
    for tree in GUEST_TREES {
        println!("cargo:rerun-if-changed={}", root.join(tree).display());
        collect(&root, &root.join(tree), &mut files);
    }
    for file in GUEST_FILES {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
        files.push(file.to_string());
    }
    files.sort();
    let mut sources = Keccak256::new();
    for rel in &files {
        let content = fs::read(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        sources.update(rel.as_bytes());
        sources.update([0u8]);
        sources.update((content.len() as u64).to_be_bytes());
        sources.update(&content);
    }
    // The EVM and Ethereum-type crates the guest links, by version.
    let lock_path = root.join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock_path.display());
    let lock = fs::read_to_string(&lock_path).unwrap_or_default();
    let mut packages = Vec::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_string());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take())
            && (n.starts_with("revm") || n.starts_with("alloy-") || n == "k256")
        {
            packages.push(format!("{n} {}", v.trim_matches('"')));
        }
    }
    packages.sort();
    for p in &packages {
        sources.update(p.as_bytes());
        sources.update([b'\n']);
    }
    let source_hash: [u8; 32] = sources.finalize().into();

    let mut id = Keccak256::new();
    id.update(b"cairn.program.v1");
    id.update(source_hash);
    let program_id: [u8; 32] = id.finalize().into();

    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    fs::write(
        out.join("program_id.rs"),
        format!(
            "/// Keccak-256 of the guest's sources and EVM crate versions ({} files, {} packages).\n\
             pub const GUEST_SOURCE_HASH: alloy_primitives::B256 = alloy_primitives::B256::new({source_hash:?});\n\
             /// `keccak256(\"cairn.program.v1\" ‖ GUEST_SOURCE_HASH)`.\n\
             pub const PROGRAM_ID: alloy_primitives::B256 = alloy_primitives::B256::new({program_id:?});\n",
            files.len(),
            packages.len()
        ),
    )
    .expect("OUT_DIR is writable");
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        panic!("{}: guest sources not found", dir.display());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push(rel);
        }
    }
}
