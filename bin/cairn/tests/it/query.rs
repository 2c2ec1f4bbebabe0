//! `cairn query`: proofs from a data directory and from a JSON-RPC node (anvil), `verify`,
//! `mmr build`, and one-line errors.

use crate::{cairn, fails_with};
use std::path::Path;

fn datadir(dir: &Path) -> String {
    let chain = dir.join("chain.json");
    let data = dir.join("data");
    let run = cairn(&[
        "devchain",
        "--out",
        chain.to_str().unwrap(),
        "--seed",
        "3",
        "--blocks",
        "4",
        "--txs",
        "8",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = cairn(&[
        "replay",
        chain.to_str().unwrap(),
        "--datadir",
        data.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    data.to_str().unwrap().to_string()
}

#[test]
fn prove_verify_and_reject_from_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = datadir(dir.path());
    let out = dir.path().join("p.json");
    let out = out.to_str().unwrap();
    let q = |extra: &[&str]| {
        let mut args = vec!["query", "--datadir", &data, "--out", out];
        args.extend_from_slice(extra);
        cairn(&args)
    };
    let run = q(&["--block", "2", "header", "number"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout.trim(),
        "0x0000000000000000000000000000000000000000000000000000000000000002"
    );
    let run = cairn(&["query", "--datadir", &data, "verify", out]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("anchors checked: MMR root at 5 blocks"),
        "{}",
        run.stdout
    );
    // Without a source: valid, with the anchors to trust printed.
    let run = cairn(&["query", "verify", out]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("trust these"), "{}", run.stdout);
    // A trusted MMR root that is not the proof's.
    let wrong = format!("0x{}", "11".repeat(32));
    fails_with(
        &cairn(&["query", "verify", out, "--mmr-root", &wrong]),
        "not anchored as required",
    );
    // Transactions, receipts, logs, accounts, the newest block by default.
    for args in [
        vec!["--block", "1", "tx", "0", "hash"],
        vec!["--block", "1", "receipt", "0", "status"],
        vec![
            "account",
            "0x00000000000000000000000000000000000000aa",
            "nonce",
        ],
        vec![
            "--block",
            "0x1",
            "storage",
            "0x00000000000000000000000000000000000000aa",
            "7",
        ],
    ] {
        let run = q(&args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout.trim().len(), 66, "{}", run.stdout);
        let run = cairn(&["query", "verify", out]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    // An altered proof file: exit 1, one line naming what failed.
    let text = std::fs::read_to_string(out).unwrap();
    let mut proof: serde_json::Value = serde_json::from_str(&text).unwrap();
    let header = proof["blocks"][0]["header"].as_str().unwrap().to_string();
    let flipped = format!(
        "{}{}",
        &header[..20],
        if &header[20..21] == "0" { "1" } else { "0" }
    ) + &header[21..];
    proof["blocks"][0]["header"] = flipped.into();
    std::fs::write(out, proof.to_string()).unwrap();
    fails_with(&cairn(&["query", "verify", out]), "the header hashes to");

    fails_with(
        &q(&["--block", "99", "header", "number"]),
        "unknown block 99",
    );
    fails_with(
        &q(&[
            "storage",
            "0x00000000000000000000000000000000000000aa",
            &format!("0x{}", "01".repeat(33)),
        ]),
        "33 bytes",
    );
    fails_with(&q(&["--block", "1", "tx", "1000", "nonce"]), "block 1 has");
    fails_with(
        &cairn(&["query", "--block", "1", "header", "number"]),
        "give a data directory (--datadir) or a JSON-RPC node (--rpc)",
    );
    // Arguments clap rejects: its usage error (exit 2) names the key.
    let run = q(&[
        "--block",
        "1",
        "mapping",
        "0x00000000000000000000000000000000000000aa",
        "1",
        "nope:1",
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("give kind:value"), "{}", run.stderr);
}

#[test]
fn prove_from_anvil_anchored_to_an_mmr_built_over_rpc() {
    let Some(anvil) = cairn_devtools::require(cairn_devtools::Anvil::spawn(&[])) else {
        return;
    };
    let url = anvil.url();
    let mine = || {
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"evm_mine","params":[]}"#;
        let addr = anvil.addr().to_string();
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            s,
            "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        assert!(answer.contains("\"result\""), "{answer}");
    };
    for _ in 0..3 {
        mine();
    }
    let dir = tempfile::tempdir().unwrap();
    let mmr = dir.path().join("mmr.bin");
    let mmr = mmr.to_str().unwrap();
    let out = dir.path().join("p.json");
    let out = out.to_str().unwrap();
    let run = cairn(&["query", "--rpc", &url, "mmr", "build", mmr]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("4 blocks (0..=3)"), "{}", run.stdout);
    let run = cairn(&[
        "query",
        "--rpc",
        &url,
        "--mmr",
        mmr,
        "--out",
        out,
        "--block",
        "2",
        "account",
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "nonce",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = cairn(&["query", "--rpc", &url, "verify", out]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("anchors checked: 1 block hash(es)"),
        "{}",
        run.stdout
    );
    let run = cairn(&["query", "--datadir", "/nonexistent", "mmr", "proof"]);
    assert_eq!(run.code, 1);
    let run = cairn(&["query", "--block", "1", "mmr", "proof", mmr]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("\"mmrSize\": \"0x4\""),
        "{}",
        run.stdout
    );
    // A block the MMR file does not cover yet, then one the node does not have.
    mine();
    fails_with(
        &cairn(&[
            "query", "--rpc", &url, "--mmr", mmr, "--block", "4", "header", "number",
        ]),
        "block 4 is not in the MMR of 4 blocks",
    );
    fails_with(
        &cairn(&["query", "--rpc", &url, "--block", "9", "header", "number"]),
        "unknown block 9",
    );
}
