//! `cairn replay --rpc`: program inputs from another node (here `cairn serve` over a data
//! directory the CLI wrote), both sources side by side, the answers cached and replayed with
//! `--offline` after the node is gone.

use crate::{cairn, fails_with, serve::rpc};
use cairn_devtools::{Anvil, require};
use serde_json::json;
use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

#[test]
fn replay_from_rpc_then_offline_from_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let chain = tmp.path().join("chain.json");
    let chain = chain.to_str().unwrap();
    let data = tmp.path().join("data");
    let data = data.to_str().unwrap();
    let cache = tmp.path().join("cache");
    let cache = cache.to_str().unwrap();
    let run = cairn(&["devchain", "--out", chain, "--blocks", "4", "--txs", "6"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = cairn(&["replay", chain, "--datadir", data]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let qmtree_root = |out: &str| {
        out.lines()
            .last()
            .and_then(|l| l.rsplit("qmtree root ").next())
            .map(|r| r.trim().to_string())
            .unwrap()
    };
    let imported_root = qmtree_root(&run.stdout);

    let mut server = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["serve", "--datadir", data, "--http.addr", "127.0.0.1:0"])
        .env("CAIRN_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();

    let args = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<&str> = vec![
            "replay",
            "--blocks",
            "1..4",
            "--chain-config",
            chain,
            "--cache-dir",
            cache,
            "--source",
            "both",
        ];
        a.extend_from_slice(extra);
        a.into_iter().map(String::from).collect()
    };
    let mut with_rpc = args(&[]);
    with_rpc.extend(["--rpc".to_string(), url]);
    let online = cairn(&strs(&with_rpc));
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(online.code, 0, "{}", online.stderr);
    let rows: Vec<&str> = online.stdout.lines().collect();
    // A header, two rows per block (witness, proofs), a summary.
    assert_eq!(rows.len(), 1 + 2 * 4 + 1, "{}", online.stdout);
    assert!(
        rows[1].contains("witness") && rows[2].contains("proofs"),
        "{}",
        online.stdout
    );
    let summary = rows.last().unwrap();
    assert!(summary.contains("final state root"), "{summary}");

    // The node is gone: the cache answers everything, with the same result.
    let offline = cairn(&strs(&args(&["--offline"])));
    assert_eq!(offline.code, 0, "{}", offline.stderr);
    let root = |s: &str| {
        s.rsplit("final state root ")
            .next()
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(root(offline.stdout.lines().last().unwrap()), root(summary));
    assert!(
        offline.stdout.contains(": 0 calls to the node"),
        "{}",
        offline.stdout
    );

    // Imported with commitments into another data directory, from the cache: the same
    // QMTree root as the node's own import.
    let data2 = tmp.path().join("data2");
    let run = cairn(&strs(&args(&[
        "--offline",
        "--datadir",
        data2.to_str().unwrap(),
    ])));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("imported with commitments"),
        "{}",
        run.stdout
    );
    assert_eq!(qmtree_root(&run.stdout), imported_root);
    // Again: the blocks are there already, the same ones.
    let again = cairn(&strs(&args(&[
        "--offline",
        "--datadir",
        data2.to_str().unwrap(),
    ])));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(qmtree_root(&again.stdout), imported_root);

    // A block the cache never saw: one line naming the method.
    let run = cairn(&[
        "replay",
        "--blocks",
        "9",
        "--chain-config",
        chain,
        "--cache-dir",
        cache,
        "--offline",
    ]);
    fails_with(&run, "eth_getBlockByNumber");
    fails_with(&run, "not in the cache");
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// anvil (Cancun) has no `debug_executionWitness`: `--source auto` (the default) builds the
/// inputs from `eth_getProof`; a chain that is not mainnet needs its fork schedule.
#[test]
fn replay_from_anvil_falls_back_to_proofs() {
    let Some(anvil) = require(Anvil::spawn(&["--hardfork", "cancun"])) else {
        return;
    };
    let url = anvil.url();
    // Automined blocks in one second would share their timestamp.
    rpc(&url, "anvil_setBlockTimestampInterval", json!([1]));
    for i in 0..4 {
        let tx = json!({
            "from": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
            "to": format!("0x{:040x}", 0x1000 + i),
            "value": "0x1",
        });
        rpc(&url, "eth_sendTransaction", json!([tx]));
    }
    while rpc(&url, "eth_blockNumber", json!([]))["result"] != json!("0x4") {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // anvil's block 1 keeps the genesis base fee (and its genesis the empty state root).
    let run = cairn(&[
        "replay",
        "--rpc",
        &url,
        "--blocks",
        "2..4",
        "--hardfork",
        "cancun",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(rows.len(), 1 + 3 + 1, "{}", run.stdout);
    assert!(
        rows[1..4].iter().all(|r| r.contains("proofs")),
        "{}",
        run.stdout
    );
    let run = cairn(&["replay", "--rpc", &url, "--blocks", "2"]);
    fails_with(&run, "--hardfork");
    // Under Prague rules anvil's blocks are invalid (its genesis lacks the EIP-7002
    // predeploy): one line naming the block, and the inputs in flight end cleanly.
    let run = cairn(&[
        "replay",
        "--rpc",
        &url,
        "--blocks",
        "2..4",
        "--hardfork",
        "prague",
    ]);
    fails_with(&run, "pre-flight execution of block 2");
}
