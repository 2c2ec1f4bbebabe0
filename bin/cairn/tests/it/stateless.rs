//! `cairn replay`, `cairn validate`, `cairn conformance`: outcomes and bad input.

use crate::{cairn, fails_with};
use std::fs;

#[test]
fn replay_validates_the_embedded_dev_chain_and_writes_bundles() {
    let dir = tempfile::tempdir().unwrap();
    let run = cairn(&["replay", "--bundle-dir", dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("replayed 50 blocks"), "{}", run.stdout);
    assert_eq!(
        run.stdout
            .lines()
            .filter(|l| l.trim_start().starts_with(char::is_numeric))
            .count(),
        50
    );

    let bundle = dir.path().join("block-7.json");
    let ok = cairn(&["validate", bundle.to_str().unwrap()]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stdout.contains("valid: blocks 7..=7"), "{}", ok.stdout);
    assert!(ok.stdout.contains("timings"), "{}", ok.stdout);

    // The witness loses a trie node: the block can no longer be proven.
    let text = fs::read_to_string(&bundle).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["witness"]["state"].as_array_mut().unwrap().remove(0);
    let tampered = dir.path().join("tampered.json");
    fs::write(&tampered, value.to_string()).unwrap();
    fails_with(
        &cairn(&["validate", tampered.to_str().unwrap()]),
        "block 7: witness incomplete",
    );

    // A block that is not valid RLP.
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["blocks"][0] = serde_json::Value::String("0xf9ffff00".into());
    fs::write(&tampered, value.to_string()).unwrap();
    fails_with(
        &cairn(&["validate", tampered.to_str().unwrap()]),
        "block 0: invalid rlp",
    );

    // A header field changed: the block hash no longer matches what follows from it.
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["witness"]["headers"] = serde_json::json!([]);
    fs::write(&tampered, value.to_string()).unwrap();
    fails_with(
        &cairn(&["validate", tampered.to_str().unwrap()]),
        "parent header is mandatory",
    );
}

#[test]
fn validate_rejects_malformed_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    fs::write(&path, "{ not json").unwrap();
    fails_with(&cairn(&["validate", path.to_str().unwrap()]), "bad.json");
    fs::write(
        &path,
        r#"{"chain": "mainnet", "blocks": ["0xzz"], "witness": {}}"#,
    )
    .unwrap();
    fails_with(&cairn(&["validate", path.to_str().unwrap()]), "bad.json");
    fails_with(
        &cairn(&["validate", dir.path().join("absent.json").to_str().unwrap()]),
        "absent.json",
    );
}

#[test]
fn replay_and_conformance_reject_bad_paths() {
    let dir = tempfile::tempdir().unwrap();
    fails_with(
        &cairn(&["replay", dir.path().join("none.json").to_str().unwrap()]),
        "none.json",
    );
    fails_with(
        &cairn(&["conformance", dir.path().to_str().unwrap()]),
        "no fixture files",
    );
    let junk = dir.path().join("junk.json");
    fs::write(&junk, "[1, 2").unwrap();
    let run = cairn(&["conformance", junk.to_str().unwrap()]);
    assert_eq!(run.code, 1, "an unreadable fixture is a failure");
}

#[test]
fn conformance_writes_the_json_report() {
    let Some(fixtures) = std::env::var_os("CAIRN_FIXTURES") else {
        eprintln!("skipping: CAIRN_FIXTURES is not set");
        return;
    };
    let file =
        std::path::Path::new(&fixtures).join("eest/blockchain_tests/prague/eip7251_consolidations");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let run = cairn(&[
        "conformance",
        file.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["failed"], 0);
    assert!(report["passed"].as_u64().unwrap() > 30);
    assert_eq!(report["total"], report["passed"]);
    assert!(report["failures"].as_array().unwrap().is_empty());
}
