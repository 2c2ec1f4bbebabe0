//! `cairn settle` and `cairn deploy` end to end on anvil: the process killed (SIGKILL) while
//! its commit is pending and again between commit and verify settles each batch once after
//! restarts; deploy prints addresses as JSON; `--dev` settles the embedded dev chain.

use crate::{cairn, fails_with};
use cairn_devtools::{ANVIL_KEYS, Anvil, require};
use cairn_settle::{
    Deployment, L1, L1Options,
    dev::{dev_attesters, dev_config, dev_node, prove_batch, write_seg},
    l1::{KeySource, load_signer},
    settler::read_tip,
};
use serde_json::{Value, json};
use std::{
    io::{Read, Write},
    net::TcpStream,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// One JSON-RPC request over plain HTTP.
fn rpc(addr: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let json = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
    serde_json::from_str::<Value>(json).unwrap()["result"].clone()
}

fn quantity(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// Transactions of `address` in the pool or mined.
fn pending_nonce(addr: &str, address: &str) -> u64 {
    quantity(&rpc(
        addr,
        "eth_getTransactionCount",
        json!([address, "pending"]),
    ))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn fast() -> L1Options {
    L1Options {
        confirmations: 1,
        poll_interval: Duration::from_millis(20),
        ..L1Options::default()
    }
}

/// A dev stack on `url` and two proved batches (blocks 1..=2, 3..=4) in `seg_dir`.
fn setup(url: &str, seg_dir: &Path) -> Deployment {
    runtime().block_on(async {
        let signer = load_signer(&KeySource::PrivateKey(ANVIL_KEYS[0].into())).unwrap();
        let l1 = L1::connect(url, signer, None, fast()).await.unwrap();
        let node = dev_node(cairn_exec::devchain::DevChainParams {
            seed: 9,
            blocks: 4,
            txs_per_block: 6,
        })
        .unwrap();
        let attesters = dev_attesters();
        let anchor = cairn_settle::deploy::Anchor::from_node(&node, 0).unwrap();
        let deployment = cairn_settle::deploy(&l1, &dev_config(&attesters), anchor)
            .await
            .unwrap();
        std::fs::create_dir_all(seg_dir).unwrap();
        for (first, last) in [(1, 2), (3, 4)] {
            let seg = prove_batch(&node, first, last, &attesters, &deployment)
                .await
                .unwrap();
            write_seg(seg_dir, &seg).unwrap();
        }
        deployment
    })
}

fn settle(url: &str, deployment: &Path, seg_dir: &Path, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args([
            "settle",
            "--rpc",
            url,
            "--confirmations",
            "1",
            "--exit-when-idle",
        ])
        .arg("--deployment")
        .arg(deployment)
        .arg("--seg-dir")
        .arg(seg_dir)
        .env("CAIRN_L1_PRIVATE_KEY", ANVIL_KEYS[0])
        .env("CAIRN_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

fn wait_until(what: &str, log: &Path, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}; the settler's log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn killed_between_commit_and_verify_each_batch_settles_once() {
    let Some(anvil) = require(Anvil::spawn(&[])) else {
        return;
    };
    let (addr, url) = (anvil.addr().to_string(), anvil.url());
    let dir = tempfile::tempdir().unwrap();
    let seg_dir = dir.path().join("seg");
    let deployment = setup(&url, &seg_dir);
    let deployment_file = dir.path().join("deployment.json");
    deployment.save(&deployment_file).unwrap();
    let sender = format!("{:#x}", deployment.proposer);
    let start = pending_nonce(&addr, &sender);
    // Blocks are mined when the test says so.
    rpc(&addr, "evm_setAutomine", json!([false]));

    // 1. Killed while its commit is in the pool.
    let mut child = settle(&url, &deployment_file, &seg_dir, &dir.path().join("1.log"));
    wait_until("the commit", &dir.path().join("1.log"), || {
        pending_nonce(&addr, &sender) == start + 1
    });
    child.kill().unwrap();
    child.wait().unwrap();
    // 2. Restarted: it waits for the same commit (nothing new is signed); mined; killed when
    //    its verify is in the pool.
    let mut child = settle(&url, &deployment_file, &seg_dir, &dir.path().join("2.log"));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        pending_nonce(&addr, &sender),
        start + 1,
        "a second commit was signed"
    );
    rpc(&addr, "evm_mine", json!([]));
    wait_until("the verify", &dir.path().join("2.log"), || {
        pending_nonce(&addr, &sender) == start + 2
    });
    child.kill().unwrap();
    child.wait().unwrap();
    // 3. Restarted again: it waits for that verify, then settles batch 2.
    let log3 = dir.path().join("3.log");
    let mut child = settle(&url, &deployment_file, &seg_dir, &log3);
    wait_until("the resumed verify", &log3, || {
        std::fs::read_to_string(&log3)
            .unwrap_or_default()
            .contains("resuming a transaction signed before a restart")
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        rpc(&addr, "evm_mine", json!([]));
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = std::fs::read_to_string(&log3).unwrap();
    assert!(status.success(), "{log}");
    assert!(!log.contains("found settled on L1"), "{log}");

    // Each batch committed once and verified once: four transactions in all, two of each
    // event per batch never, and the rollup holds the node's roots.
    assert_eq!(pending_nonce(&addr, &sender), start + 4);
    let rollup = format!("{:#x}", deployment.rollup);
    let logs = |event: &str| {
        let topic = format!("{}", alloy_primitives::keccak256(event));
        rpc(
            &addr,
            "eth_getLogs",
            json!([{"address": rollup, "fromBlock": "0x0", "toBlock": "latest", "topics": [topic]}]),
        )
        .as_array()
        .unwrap()
        .iter()
        .map(|l| quantity(&l["topics"][1]))
        .collect::<Vec<_>>()
    };
    assert_eq!(logs("BatchCommitted(uint64,bytes32,bytes32)"), vec![1, 2]);
    assert_eq!(
        logs("BatchVerified(uint64,uint64,uint64,bytes32,bytes32,bytes32)"),
        vec![1, 2]
    );
    let tip = runtime().block_on(async {
        let signer = load_signer(&KeySource::PrivateKey(ANVIL_KEYS[0].into())).unwrap();
        let l1 = L1::connect(&url, signer, None, fast()).await.unwrap();
        read_tip(&l1, deployment.rollup).await.unwrap()
    });
    assert_eq!(
        (tip.last_committed, tip.last_verified, tip.last_block),
        (2, 2, 4)
    );

    // A fourth run has nothing to do.
    rpc(&addr, "evm_setAutomine", json!([true]));
    let run = cairn(&[
        "settle",
        "--rpc",
        &url,
        "--exit-when-idle",
        "--private-key",
        ANVIL_KEYS[0],
        "--deployment",
        deployment_file.to_str().unwrap(),
        "--seg-dir",
        seg_dir.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(pending_nonce(&addr, &sender), start + 4);
}

#[test]
fn deploy_prints_addresses_and_refuses_bad_input() {
    let Some(anvil) = require(Anvil::spawn(&[])) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("deploy.toml");
    let signers: Vec<String> = dev_attesters()
        .iter()
        .map(|a| format!("\"{:#x}\"", a.signer.address()))
        .collect();
    std::fs::write(
        &config,
        format!(
            r#"
proposer = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
[chain]
chain_id = 20261
chain_config_hash = "0x{h}"
anchor_state_root = "0x{h}"
anchor_qm_root = "0x{h}"
[[proof]]
id = 1
backend = "tee/attest-a"
verifier = "attest"
signers = [{a}]
[[proof]]
id = 2
backend = "tee/attest-b"
verifier = "attest"
signers = [{b}]
"#,
            h = "11".repeat(32),
            a = signers[0],
            b = signers[1]
        ),
    )
    .unwrap();
    let out = dir.path().join("deployment.json");
    let run = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args([
            "deploy",
            "--rpc",
            &anvil.url(),
            "--confirmations",
            "1",
            "--config",
        ])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .env("CAIRN_L1_PRIVATE_KEY", ANVIL_KEYS[0])
        .env("CAIRN_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let printed: Deployment = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(Deployment::load(&out).unwrap(), printed);
    assert_eq!(printed.l1_chain_id, 31337);
    assert_eq!(printed.anchor.chain_id, 20261);
    assert_eq!(printed.proof_types.len(), 2);
    assert!(printed.proof_types.iter().all(|t| t.required));
    assert_eq!(
        format!("{:#x}", printed.proposer),
        "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
    );
    for address in [printed.rollup, printed.proof_types[0].address] {
        let code = rpc(
            anvil.addr(),
            "eth_getCode",
            json!([format!("{address:#x}"), "latest"]),
        );
        assert!(code.as_str().unwrap().len() > 100);
    }

    // The L1 key from a keystore (made by `cairn attest keygen`, funded on anvil).
    std::fs::write(dir.path().join("pw"), "pw\n").unwrap();
    let keystore = dir.path().join("l1.json");
    let made = cairn(&[
        "attest",
        "keygen",
        "--keystore",
        keystore.to_str().unwrap(),
        "--password-file",
        dir.path().join("pw").to_str().unwrap(),
    ]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    let address = made
        .stdout
        .split_whitespace()
        .find(|w| w.starts_with("0x") && w.len() == 42)
        .unwrap()
        .to_string();
    rpc(
        anvil.addr(),
        "anvil_setBalance",
        json!([address, "0x56BC75E2D63100000"]),
    );
    let run = cairn(&[
        "deploy",
        "--rpc",
        &anvil.url(),
        "--keystore",
        keystore.to_str().unwrap(),
        "--password-file",
        dir.path().join("pw").to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let by_keystore: Deployment = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(format!("{:#x}", by_keystore.owner), address.to_lowercase());
    std::fs::write(dir.path().join("bad-pw"), "wrong\n").unwrap();
    let run = cairn(&[
        "deploy",
        "--rpc",
        &anvil.url(),
        "--keystore",
        keystore.to_str().unwrap(),
        "--password-file",
        dir.path().join("bad-pw").to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    fails_with(&run, "L1 key");

    // Bad input: one line, exit 1.
    std::fs::write(&config, "owner = 5\n").unwrap();
    let run = cairn(&[
        "deploy",
        "--rpc",
        &anvil.url(),
        "--private-key",
        ANVIL_KEYS[0],
        "--config",
        config.to_str().unwrap(),
    ]);
    fails_with(&run, "deploy.toml");
    let run = cairn(&["deploy", "--config", "/nonexistent.toml"]);
    fails_with(&run, "/nonexistent.toml");
    std::fs::write(&config, "[[proof]]\nid = 1\nbackend = \"tee/a\"\nverifier = \"attest\"\nsigners = [\"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\"]\n[chain]\nchain_id = 1\n").unwrap();
    let run = cairn(&["deploy", "--config", config.to_str().unwrap()]);
    fails_with(&run, "chain_config_hash");
    let run = cairn(&[
        "settle",
        "--rpc",
        "http://127.0.0.1:9",
        "--rpc-attempts",
        "1",
        "--private-key",
        ANVIL_KEYS[0],
        "--deployment",
        out.to_str().unwrap(),
        "--seg-dir",
        dir.path().to_str().unwrap(),
    ]);
    fails_with(&run, "unavailable");
    let run = cairn(&["settle", "--seg-dir", "/tmp"]);
    fails_with(&run, "--deployment");
    let run = cairn(&[
        "settle",
        "--rpc",
        &anvil.url(),
        "--deployment",
        out.to_str().unwrap(),
        "--seg-dir",
        dir.path().to_str().unwrap(),
    ]);
    fails_with(&run, "no L1 key");
}

#[test]
fn settle_dev_settles_the_embedded_dev_chain() {
    if require(Anvil::spawn(&[])).is_none() {
        return;
    }
    let run = cairn(&["settle", "--dev", "--batches", "2", "--batch-blocks", "3"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("settled through block 6 (batch 2)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("both match the node's roots"),
        "{}",
        run.stdout
    );
}

/// The whole path with the commands a user runs: a chain into a data directory, an attest
/// key, a deployment requiring that signer, `cairn prove` for the L1 verifier's domain, then
/// `cairn settle`.
#[test]
fn prove_then_settle_with_the_cli() {
    let Some(anvil) = require(Anvil::spawn(&[])) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let ok = |run: crate::Run| {
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
    };
    ok(cairn(&[
        "devchain",
        "--out",
        &path("chain.json"),
        "--blocks",
        "6",
        "--txs",
        "4",
    ]));
    ok(cairn(&[
        "replay",
        &path("chain.json"),
        "--datadir",
        &path("data"),
    ]));
    std::fs::write(dir.path().join("pw"), "secret\n").unwrap();
    let out = ok(cairn(&[
        "attest",
        "keygen",
        "--keystore",
        &path("k.json"),
        "--password-file",
        &path("pw"),
    ]));
    let signer = out
        .split_whitespace()
        .find(|w| w.starts_with("0x") && w.len() == 42)
        .unwrap_or_else(|| panic!("no address in {out}"))
        .to_string();
    std::fs::write(
        dir.path().join("deploy.toml"),
        format!(
            "[chain]\ndatadir = {:?}\n[[proof]]\nid = 1\nbackend = \"tee/attest\"\nverifier = \"attest\"\nsigners = [\"{signer}\"]\n",
            path("data")
        ),
    )
    .unwrap();
    let deploy = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args([
            "deploy",
            "--rpc",
            &anvil.url(),
            "--config",
            &path("deploy.toml"),
        ])
        .env("CAIRN_L1_PRIVATE_KEY", ANVIL_KEYS[0])
        .env("CAIRN_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        deploy.status.success(),
        "{}",
        String::from_utf8_lossy(&deploy.stderr)
    );
    std::fs::write(dir.path().join("deployment.json"), &deploy.stdout).unwrap();
    let deployment: Deployment = serde_json::from_slice(&deploy.stdout).unwrap();
    let verifier = format!("{:#x}", deployment.proof_types[0].address);
    std::fs::create_dir_all(dir.path().join("seg")).unwrap();
    for (blocks, file) in [("1..3", "seg/a.seg"), ("4..6", "seg/b.seg")] {
        ok(cairn(&[
            "prove",
            "--datadir",
            &path("data"),
            "--blocks",
            blocks,
            "--backend",
            "attest",
            "--keystore",
            &path("k.json"),
            "--password-file",
            &path("pw"),
            "--attest.chain-id",
            "31337",
            "--attest.contract",
            &verifier,
            "--out",
            &path(file),
        ]));
    }
    let settle = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["settle", "--rpc", &anvil.url(), "--exit-when-idle"])
        .args([
            "--deployment",
            &path("deployment.json"),
            "--seg-dir",
            &path("seg"),
        ])
        .env("CAIRN_L1_PRIVATE_KEY", ANVIL_KEYS[0])
        .env("CAIRN_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&settle.stdout);
    assert!(
        settle.status.success(),
        "{}",
        String::from_utf8_lossy(&settle.stderr)
    );
    assert!(
        stdout.contains("settled batch 1 (blocks 1..=3)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("settled batch 2 (blocks 4..=6)"),
        "{stdout}"
    );
    let tip = runtime().block_on(async {
        let signer = load_signer(&KeySource::PrivateKey(ANVIL_KEYS[0].into())).unwrap();
        let l1 = L1::connect(&anvil.url(), signer, None, fast())
            .await
            .unwrap();
        read_tip(&l1, deployment.rollup).await.unwrap()
    });
    assert_eq!((tip.last_verified, tip.last_block), (2, 6));
}
