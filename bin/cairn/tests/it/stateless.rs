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
        "bundle block 0: the block is not valid RLP",
    );

    // A typed transaction whose envelope declares 4 bytes fewer than its payload: alloy
    // alone decodes it as the same block; the strict decoder refuses it.
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let hex = value["blocks"][0].as_str().unwrap().to_string();
    let raw = alloy_primitives::hex::decode(&hex).unwrap();
    let at = (0..raw.len() - 2)
        .find(|&i| raw[i] == 0xb8 && raw[i + 2] == 0x02)
        .expect("block 7 has an EIP-1559 transaction");
    let mut mutated = raw;
    mutated[at + 1] -= 4;
    value["blocks"][0] = alloy_primitives::hex::encode_prefixed(&mutated).into();
    fs::write(&tampered, value.to_string()).unwrap();
    fails_with(
        &cairn(&["validate", tampered.to_str().unwrap()]),
        "bundle block 0: block 7 is not canonically encoded",
    );

    // The witness carries no headers: the parent cannot be found.
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["witness"]["headers"] = serde_json::json!([]);
    fs::write(&tampered, value.to_string()).unwrap();
    fails_with(
        &cairn(&["validate", tampered.to_str().unwrap()]),
        "parent header is mandatory",
    );

    // A byte of the parent header changed: its hash no longer matches the block's parent
    // hash, and the pre-state root it claims cannot be trusted.
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let headers = value["witness"]["headers"].as_array_mut().unwrap();
    let last = headers.last_mut().unwrap();
    let mut hex = last.as_str().unwrap().to_string();
    let at = hex.len() - 10;
    let flipped = if &hex[at..at + 1] == "0" { "1" } else { "0" };
    hex.replace_range(at..at + 1, flipped);
    *last = serde_json::Value::String(hex);
    fs::write(&tampered, value.to_string()).unwrap();
    fails_with(&cairn(&["validate", tampered.to_str().unwrap()]), "block 7");

    // A blob schedule with a zero update fraction (the blob fee would divide by zero).
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["chain"]["blobSchedule"] = serde_json::json!([
        {"fork": "Prague", "target": 6, "max": 9, "baseFeeUpdateFraction": 0}
    ]);
    fs::write(&tampered, value.to_string()).unwrap();
    fails_with(
        &cairn(&["validate", tampered.to_str().unwrap()]),
        "baseFeeUpdateFraction is zero",
    );
}

/// `--witness minimal` writes Cairn-only witnesses: `cairn validate` accepts them, and
/// `--strict-witness` rejects those that other clients could not use (block 2: a pre-state
/// contract whose code an in-block deployment shares; block 10: a collapse sibling that
/// sorted key order needs), naming what is missing. The default, complete witnesses of the
/// same blocks pass strict validation.
#[test]
fn strict_validation_tells_minimal_from_complete_witnesses() {
    let minimal = tempfile::tempdir().unwrap();
    let run = cairn(&[
        "replay",
        "--witness",
        "minimal",
        "--bundle-dir",
        minimal.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("strict validation rejects 15 of 50 witnesses"),
        "{}",
        run.stdout
    );
    let complete = tempfile::tempdir().unwrap();
    let run = cairn(&["replay", "--bundle-dir", complete.path().to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("strict validation accepts all 50 witnesses"),
        "{}",
        run.stdout
    );
    for (block, missing) in [(2, "missing bytecode"), (10, "missing trie node")] {
        let name = format!("block-{block}.json");
        let bundle = minimal.path().join(&name);
        let ok = cairn(&["validate", bundle.to_str().unwrap()]);
        assert_eq!(ok.code, 0, "{}", ok.stderr);
        let strict = cairn(&["validate", "--strict-witness", bundle.to_str().unwrap()]);
        fails_with(&strict, &format!("block {block}: witness incomplete"));
        assert!(strict.stderr.contains(missing), "{}", strict.stderr);
        let bundle = complete.path().join(&name);
        let ok = cairn(&["validate", "--strict-witness", bundle.to_str().unwrap()]);
        assert_eq!(ok.code, 0, "{}", ok.stderr);
        assert!(
            ok.stdout
                .contains(&format!("valid (strict witness): blocks {block}..={block}")),
            "{}",
            ok.stdout
        );
    }
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
    // A relative `CAIRN_FIXTURES` is the user's, from the workspace root; the child process
    // runs in this package's folder, so it gets the resolved path.
    let Some(fixtures) = cairn_ef_tests::fixtures_dir() else {
        eprintln!("skipping: CAIRN_FIXTURES is not set");
        return;
    };
    let file = fixtures.join("eest/blockchain_tests/prague/eip7251_consolidations");
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

/// The last line of a datadir replay names the head and the QMTree root.
fn final_root(stdout: &str) -> String {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("committed "))
        .unwrap_or_default();
    line.rsplit(' ').next().unwrap_or_default().to_string()
}

#[test]
fn datadir_replay_survives_kills_and_continues() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let reference = tempfile::tempdir().unwrap();
    let full = cairn(&["replay", "--datadir", reference.path().to_str().unwrap()]);
    assert_eq!(full.code, 0, "{}", full.stderr);
    let expected = final_root(&full.stdout);
    assert!(expected.starts_with("0x"), "{}", full.stdout);

    let dir = tempfile::tempdir().unwrap();
    // Interrupt three times, at later blocks each time, with SIGKILL and SIGINT.
    for (signal, after) in [("-KILL", 3u64), ("-INT", 12), ("-KILL", 30)] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .args(["replay", "--datadir", dir.path().to_str().unwrap()])
            .env("CAIRN_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let block: Option<u64> = line.split_whitespace().next().and_then(|w| w.parse().ok());
            if block.is_some_and(|b| b >= after) {
                break;
            }
        }
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let _ = child.wait();
        // What was committed is still there and consistent.
        let inspect = cairn(&[
            "qmtree",
            "inspect",
            dir.path().join("qmtree").to_str().unwrap(),
        ]);
        assert_eq!(inspect.code, 0, "{}", inspect.stderr);
        assert!(
            inspect.stdout.contains("integrity:      ok"),
            "{}",
            inspect.stdout
        );
    }
    let resumed = cairn(&["replay", "--datadir", dir.path().to_str().unwrap()]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(
        final_root(&resumed.stdout),
        expected,
        "an interrupted import ends where an uninterrupted one does"
    );
    assert!(resumed.stdout.contains("head 50"), "{}", resumed.stdout);

    // A different chain cannot be imported into this directory.
    let other = tempfile::tempdir().unwrap();
    let chain = other.path().join("other.json");
    let made = cairn(&[
        "devchain",
        "--out",
        chain.to_str().unwrap(),
        "--blocks",
        "2",
        "--seed",
        "5",
    ]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    fails_with(
        &cairn(&[
            "replay",
            chain.to_str().unwrap(),
            "--datadir",
            dir.path().to_str().unwrap(),
        ]),
        "another chain",
    );
}
