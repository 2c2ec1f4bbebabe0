//! `cairn qmtree …`.

use std::{fs, path::Path};

use crate::{cairn, fails_with};

use alloy_primitives::B256;
use cairn_qmtree::{MemoryTree, Store, StoreOptions};

fn tree() -> MemoryTree {
    let mut t = MemoryTree::new();
    for b in 0..5u64 {
        for i in 0..9u8 {
            let h = B256::repeat_byte(i ^ b as u8);
            t.append_next(h, h, h).unwrap();
        }
        t.commit_block(b).unwrap();
    }
    t
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn verify_proof_accepts_good_proofs_and_rejects_bad_input() {
    let t = tree();
    let dir = tempfile::tempdir().unwrap();
    let root = t.root_at(4).unwrap().to_string();
    let proof = t.proof(10, 4).unwrap();

    let bin = dir.path().join("p.bin");
    fs::write(&bin, proof.to_bytes()).unwrap();
    let ok = cairn(&["qmtree", "verify-proof", s(&bin), "--root", &root]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stdout.starts_with("ok: "), "{}", ok.stdout);

    let json = dir.path().join("p.json");
    fs::write(&json, proof.to_json()).unwrap();
    assert_eq!(
        cairn(&["qmtree", "verify-proof", s(&json), "--root", &root]).code,
        0
    );

    let range = dir.path().join("r.json");
    fs::write(&range, t.range_proof(1, 4).unwrap().to_json()).unwrap();
    let old = t.root_at(1).unwrap().to_string();
    assert_eq!(
        cairn(&[
            "qmtree",
            "verify-proof",
            s(&range),
            "--root",
            &root,
            "--old-root",
            &old
        ])
        .code,
        0
    );
    fails_with(
        &cairn(&["qmtree", "verify-proof", s(&range), "--root", &root]),
        "--old-root",
    );
    fails_with(
        &cairn(&[
            "qmtree",
            "verify-proof",
            s(&range),
            "--root",
            &old,
            "--old-root",
            &old,
        ]),
        "does not verify",
    );

    // Wrong root.
    let other = t.root_at(3).unwrap().to_string();
    fails_with(
        &cairn(&["qmtree", "verify-proof", s(&bin), "--root", &other]),
        "does not verify",
    );
    // Wrong length.
    let mut bytes = proof.to_bytes();
    bytes.pop();
    fs::write(&bin, &bytes).unwrap();
    fails_with(
        &cairn(&["qmtree", "verify-proof", s(&bin), "--root", &root]),
        "inclusion proof of",
    );
    // Non-hex JSON.
    let bad = proof.to_json().replacen("0x", "0xzz", 1);
    fs::write(&json, bad).unwrap();
    fails_with(
        &cairn(&["qmtree", "verify-proof", s(&json), "--root", &root]),
        "invalid proof JSON",
    );
    // Bad root argument, missing file.
    fails_with(
        &cairn(&["qmtree", "verify-proof", s(&json), "--root", "0x1234"]),
        "--root \"0x1234\" is not 32-byte hex: it is 2 bytes",
    );
    fails_with(
        &cairn(&["qmtree", "verify-proof", s(&json), "--root", "nothex"]),
        "--root \"nothex\" is not 32-byte hex: invalid character",
    );
    fails_with(
        &cairn(&[
            "qmtree",
            "verify-proof",
            "/nonexistent/proof",
            "--root",
            &root,
        ]),
        "/nonexistent/proof",
    );
}

#[test]
fn inspect_reports_and_rejects_broken_stores() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let mut st = Store::open_with(
        &store_dir,
        StoreOptions {
            sync: false,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    for b in 0..30u64 {
        for i in 0..100u64 {
            let h = B256::with_last_byte((b + i) as u8);
            st.append_next(h, h, h).unwrap();
        }
        st.commit_block(b).unwrap();
    }
    let root = st.root_at(29).unwrap().to_string();
    drop(st);

    let ok = cairn(&["qmtree", "inspect", s(&store_dir)]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stdout.contains("leaves:         3000"), "{}", ok.stdout);
    assert!(ok.stdout.contains(&root), "{}", ok.stdout);
    assert!(
        ok.stdout
            .contains("integrity:      ok (replayed 3000 leaves, 30 block roots)"),
        "{}",
        ok.stdout
    );
    let json = cairn(&["qmtree", "inspect", "--json", "--quick", s(&store_dir)]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["blocks"], 30);

    // blocks.dat cut by one record after the clean close: an error, and
    // nothing is cut (the audit's repro).
    let blocks = store_dir.join("blocks.dat");
    let good = fs::read(&blocks).unwrap();
    fs::write(&blocks, &good[..good.len() - 128]).unwrap();
    let leaves_len = fs::metadata(store_dir.join("leaves.dat")).unwrap().len();
    fails_with(&cairn(&["qmtree", "inspect", s(&store_dir)]), "blocks.dat");
    fails_with(
        &cairn(&["qmtree", "inspect", "--quick", s(&store_dir)]),
        &format!("at offset {}", good.len() - 128),
    );
    assert_eq!(
        fs::metadata(store_dir.join("leaves.dat")).unwrap().len(),
        leaves_len
    );
    fs::write(&blocks, &good).unwrap();

    // bench refuses the existing store before opening it: the bytes after
    // the last commit, which a read-write open would cut, stay.
    let leaves = store_dir.join("leaves.dat");
    let mut bytes = fs::read(&leaves).unwrap();
    bytes.extend_from_slice(&[7u8; 100]);
    fs::write(&leaves, &bytes).unwrap();
    fails_with(
        &cairn(&[
            "qmtree",
            "bench",
            "--leaves",
            "1000",
            "--dir",
            s(&store_dir),
        ]),
        "not empty",
    );
    assert_eq!(fs::read(&leaves).unwrap(), bytes);
    fs::write(&leaves, &bytes[..bytes.len() - 100]).unwrap();
    // ... and so does it a scratch directory next to `--dir` that holds
    // anything, rather than removing it.
    let fresh = dir.path().join("fresh");
    let scratch = fresh.with_extension("nosync");
    fs::create_dir(&scratch).unwrap();
    fs::write(scratch.join("mine"), b"keep").unwrap();
    fails_with(
        &cairn(&["qmtree", "bench", "--leaves", "1000", "--dir", s(&fresh)]),
        "not empty",
    );
    assert_eq!(fs::read(scratch.join("mine")).unwrap(), b"keep");
    assert!(!fresh.exists());
    assert_eq!(cairn(&["qmtree", "inspect", s(&store_dir)]).code, 0);

    // Truncated file.
    let len = fs::metadata(&leaves).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&leaves)
        .unwrap()
        .set_len(len - 10)
        .unwrap();
    fails_with(&cairn(&["qmtree", "inspect", s(&store_dir)]), "leaves.dat");
    // Foreign format.
    fs::write(store_dir.join("FORMAT"), [0u8; 64]).unwrap();
    fails_with(
        &cairn(&["qmtree", "inspect", s(&store_dir)]),
        "not a QMTree store",
    );
    // Missing directory.
    fails_with(
        &cairn(&["qmtree", "inspect", s(&dir.path().join("nope"))]),
        "missing",
    );
}

#[test]
fn bench_writes_exactly_the_documented_keys() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let run = cairn(&[
        "qmtree",
        "bench",
        "--leaves",
        "5000",
        "--proofs",
        "50",
        "--json",
        s(&json),
        "--dir",
        s(&dir.path().join("store")),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("appends_per_sec_persisted"),
        "{}",
        run.stdout
    );
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "appends_per_sec_memory",
            "appends_per_sec_persisted",
            "disk_bytes_per_leaf_total",
            "disk_bytes_per_leaf_tree",
            "keccak_per_sec",
            "proof_bytes_at_2_32",
            "proof_gen_us",
            "proof_verify_us",
            "reopen_ms",
            "rss_bytes",
        ]
    );
    assert_eq!(v["proof_bytes_at_2_32"], 1060);
}
