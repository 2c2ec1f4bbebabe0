//! Robustness of every command against its surroundings: a closed stdout, and inputs (files,
//! devices, stdin) larger than the input limit.

use crate::{cairn, fails_with};
use std::{
    fs,
    path::Path,
    process::{Command, Stdio},
};

/// A two-block chain, its bundles, a QMTree store and a proof, written by the CLI itself.
struct Inputs {
    dir: tempfile::TempDir,
}

impl Inputs {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let chain = dir.path().join("chain.json");
        let run = cairn(&[
            "devchain",
            "--out",
            s(&chain),
            "--blocks",
            "2",
            "--txs",
            "3",
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let bundles = dir.path().join("bundles");
        let run = cairn(&["replay", s(&chain), "--bundle-dir", s(&bundles)]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let data = dir.path().join("data");
        let run = cairn(&["replay", s(&chain), "--datadir", s(&data)]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        Self { dir }
    }

    fn path(&self, name: &str) -> String {
        s(&self.dir.path().join(name)).to_string()
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `cairn` with its stdout a pipe that nobody reads (the reader is closed before the
/// program starts, as when `head -1` has gone), returning the exit code and stderr.
fn closed_stdout(args: &[&str], stdin: Stdio) -> (i32, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(args)
        .env("CAIRN_LOG", "warn")
        .stdin(stdin)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_ends_every_command_quietly_with_its_usual_status() {
    let inputs = Inputs::new();
    let bundle = inputs.path("bundles/block-1.json");
    let chain = inputs.path("chain.json");
    let store = inputs.path("data/qmtree");
    let fresh = inputs.path("more");
    let devchain_out = inputs.path("again.json");
    let proof = inputs.path("proof.json");
    // A proof file and its root, from `qmtree inspect`.
    let inspect = cairn(&["qmtree", "inspect", &store, "--json"]);
    assert_eq!(inspect.code, 0, "{}", inspect.stderr);
    let report: serde_json::Value = serde_json::from_str(&inspect.stdout).unwrap();
    let root = report["latestRoot"]
        .as_str()
        .unwrap_or_else(|| panic!("no root in {report}"))
        .to_string();
    let empty_proof =
        serde_json::json!({"type": "range", "oldSize": "0x0", "newSize": "0x0", "nodes": []});
    fs::write(&proof, empty_proof.to_string()).unwrap();

    let commands: Vec<Vec<&str>> = vec![
        vec!["validate", &bundle],
        vec!["validate", &bundle, "--json"],
        vec!["replay", &chain],
        vec!["replay", &chain, "--bundle-dir", &fresh],
        vec!["bench", &chain, "--iterations", "1"],
        vec!["devchain", "--out", &devchain_out, "--blocks", "1"],
        vec!["qmtree", "inspect", &store],
        vec!["qmtree", "inspect", &store, "--json"],
        vec!["--help"],
        vec!["validate", "--help"],
    ];
    for args in commands {
        let (code, stderr) = closed_stdout(&args, Stdio::null());
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?} wrote to stderr: {stderr}");
    }
    // Failures keep their status and their one line on stderr.
    let (code, stderr) = closed_stdout(
        &[
            "qmtree",
            "verify-proof",
            &proof,
            "--root",
            &root,
            "--old-root",
            &root,
        ],
        Stdio::null(),
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let (code, stderr) = closed_stdout(&["validate", &inputs.path("missing.json")], Stdio::null());
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.lines().count() == 1,
        "{stderr}"
    );
    // Through a real `head -1`, as a user would.
    let out = Command::new("sh")
        .args([
            "-c",
            &format!(
                "{} replay {chain} | head -1; exit 0",
                env!("CARGO_BIN_EXE_cairn")
            ),
        ])
        .env("CAIRN_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn inputs_beyond_the_size_limit_are_one_clear_error() {
    let inputs = Inputs::new();
    let bundle = inputs.path("bundles/block-1.json");
    let size = fs::metadata(&bundle).unwrap().len();

    // The bundle itself is within the default limit, from a file or from stdin.
    let run = cairn(&["validate", &bundle]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["validate", "-"])
        .env("CAIRN_LOG", "warn")
        .stdin(fs::File::open(&bundle).unwrap())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid: blocks 1..=1"));

    // A file one byte over the limit, by flag and by environment.
    let limit = (size - 1).to_string();
    fails_with(
        &cairn(&["validate", &bundle, "--max-input-size", &limit]),
        &format!("larger than the input limit of {limit}B"),
    );
    let run = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["validate", &bundle])
        .env("CAIRN_LOG", "warn")
        .env("CAIRN_MAX_INPUT_SIZE", &limit)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("--max-input-size or CAIRN_MAX_INPUT_SIZE"),
        "{stderr}"
    );

    // Endless devices and streams stop at the limit: as a path, and as stdin.
    fails_with(
        &cairn(&["validate", "/dev/zero", "--max-input-size", "1MiB"]),
        "/dev/zero: larger than the input limit of 1MiB",
    );
    fails_with(
        &cairn(&["replay", "/dev/zero", "--max-input-size", "64KiB"]),
        "/dev/zero: larger than the input limit of 64KiB",
    );
    fails_with(
        &cairn(&[
            "qmtree",
            "verify-proof",
            "/dev/zero",
            "--root",
            "0x0000000000000000000000000000000000000000000000000000000000000000",
            "--max-input-size",
            "4KiB",
        ]),
        "larger than the input limit of 4KiB",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["validate", "-", "--max-input-size", "1MiB"])
        .env("CAIRN_LOG", "warn")
        .stdin(fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "error: <stdin>: larger than the input limit of 1MiB (raise it with --max-input-size or CAIRN_MAX_INPUT_SIZE)"
    );

    // A bad size is clap's usage error.
    let run = cairn(&["validate", &bundle, "--max-input-size", "lots"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}
