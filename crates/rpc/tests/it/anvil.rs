//! Shape check against a real node: anvil's `eth_getProof` and `eth_getBlockByNumber`
//! answers have the same keys and hex conventions as ours, and anvil's proofs pass the
//! verifier ours pass. anvil comes from the npm registry into `.tools/` (`scripts/setup`,
//! which this test runs when anvil is missing); without npm or the registry the test prints
//! why it skips.

use crate::{Fixture, check_account_proof, client, reference};
use alloy_primitives::{Address, B256, U256, address};
use alloy_rpc_types_eth::EIP1186AccountProofResponse;
use jsonrpsee::core::{client::ClientT, rpc_params};
use serde_json::{Map, Value};
use std::{path::PathBuf, process::Stdio};
use tokio::io::{AsyncBufReadExt, BufReader};

/// anvil's first dev account, funded at genesis.
const FUNDED: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");

fn anvil_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CAIRN_ANVIL") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tools = root.join(".tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
    if !tools.is_file() {
        // `cargo test --workspace` is all a fresh machine is asked to run: install anvil
        // the way `scripts/setup` does (from the npm registry into `.tools/`, once).
        // Without npm or the registry the setup says why and the test skips.
        println!("anvil not in .tools/: running scripts/setup");
        let _ = std::process::Command::new("bash")
            .arg(root.join("scripts/setup"))
            .status();
    }
    if tools.is_file() {
        return Some(tools);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("anvil"))
            .find(|p| p.is_file())
    })
}

/// Starts anvil on a free loopback port; it is killed when the child is dropped.
async fn start_anvil(binary: &PathBuf) -> (tokio::process::Child, String) {
    let mut child = tokio::process::Command::new(binary)
        .args(["--host", "127.0.0.1", "--port", "0", "--hardfork", "prague"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    // Bounded so a broken install fails the test instead of hanging it.
    let addr = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(addr) = line.trim().strip_prefix("Listening on ") {
                return addr.to_string();
            }
        }
        panic!("anvil exited without listening")
    })
    .await
    .expect("anvil did not start listening");
    // Keep draining its output so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, format!("http://{addr}"))
}

/// A JSON value's shape: object keys, array element shapes, and for strings the hex
/// convention of the field they sit in.
fn shape(key: &str, v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), shape(k, v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(a) => {
            let mut shapes: Vec<Value> = a.iter().map(|v| shape(key, v)).collect();
            shapes.dedup();
            Value::Array(shapes)
        }
        Value::String(s) => Value::String(hex_kind(key, s).to_string()),
        other => Value::String(format!(
            "json {}",
            if other.is_number() { "number" } else { "other" }
        )),
    }
}

fn hex_kind(key: &str, s: &str) -> &'static str {
    let Some(digits) = s.strip_prefix("0x") else {
        return "not hex";
    };
    if !digits
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return "not lowercase hex";
    }
    match key {
        "balance" | "nonce" | "value" | "number" | "gasLimit" | "gasUsed" | "timestamp"
        | "baseFeePerGas" | "blobGasUsed" | "excessBlobGas" | "difficulty" | "size" => {
            if digits == "0" || (!digits.is_empty() && !digits.starts_with('0')) {
                "quantity"
            } else {
                "quantity with leading zeros"
            }
        }
        _ if digits.len() == 64 => "32 bytes",
        _ if digits.len() == 40 => "20 bytes",
        _ if digits.len() % 2 == 0 => "bytes",
        _ => "odd-length bytes",
    }
}

/// An empty storage trie's proof is `[]` (geth) or `["0x80"]` (anvil, reth): both verify.
fn normalise_empty_storage(mut v: Value) -> Value {
    if let Some(proofs) = v.get_mut("storageProof").and_then(Value::as_array_mut) {
        for p in proofs {
            if p["proof"] == Value::Array(vec![]) || p["proof"] == serde_json::json!(["0x80"]) {
                p["proof"] = Value::String("empty trie".into());
            }
        }
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eth_get_proof_has_anvils_shape_and_anvils_proofs_verify() {
    let Some(binary) = anvil_binary() else {
        println!("skipped: anvil not found (run scripts/setup, or set CAIRN_ANVIL)");
        return;
    };
    let (_anvil, url) = start_anvil(&binary).await;
    let anvil = client(&url);
    // Give the funded account a storage slot, and mine it into a block.
    let one = B256::from(U256::from(1));
    let two = B256::from(U256::from(2));
    let _: bool = anvil
        .request(
            "anvil_setStorageAt",
            rpc_params![FUNDED, one, B256::from(U256::from(0xff))],
        )
        .await
        .unwrap();
    let _: Value = anvil.request("evm_mine", rpc_params![]).await.unwrap();
    let theirs: Value = anvil
        .request("eth_getProof", rpc_params![FUNDED, [one, two], "latest"])
        .await
        .unwrap();
    let theirs_absent: Value = anvil
        .request(
            "eth_getProof",
            rpc_params![Address::repeat_byte(0xab), [one], "latest"],
        )
        .await
        .unwrap();
    let their_block: Value = anvil
        .request("eth_getBlockByNumber", rpc_params!["latest", false])
        .await
        .unwrap();

    // Anvil's proofs pass our verifier.
    let state_root: B256 = serde_json::from_value(their_block["stateRoot"].clone()).unwrap();
    let p: EIP1186AccountProofResponse = serde_json::from_value(theirs.clone()).unwrap();
    assert_eq!(p.storage_proof[0].value, U256::from(0xff));
    check_account_proof(&p, state_root, true).unwrap();
    let p: EIP1186AccountProofResponse = serde_json::from_value(theirs_absent.clone()).unwrap();
    check_account_proof(&p, state_root, false).unwrap();

    // Ours, for a funded account with storage (a present and an absent slot) and an absent one.
    let fx = Fixture::new().await;
    let reference = reference();
    let (address, account) = reference
        .chain()
        .accounts()
        .filter(|(_, a)| !a.storage.is_empty() && !a.fields.balance.is_zero())
        .min_by_key(|(address, _)| **address)
        .expect("a funded contract with storage");
    let slot = B256::from(account.storage.keys().min().copied().unwrap());
    let absent = B256::repeat_byte(0xee);
    let ours: Value = fx
        .client
        .request(
            "eth_getProof",
            rpc_params![address, [slot, absent], "latest"],
        )
        .await
        .unwrap();
    let ours_absent: Value = fx
        .client
        .request(
            "eth_getProof",
            rpc_params![Address::repeat_byte(0xab), [slot], "latest"],
        )
        .await
        .unwrap();
    let our_block: Value = fx
        .client
        .request("eth_getBlockByNumber", rpc_params!["latest", false])
        .await
        .unwrap();

    let ours_shape = shape("", &ours);
    assert_eq!(
        ours_shape,
        shape("", &theirs),
        "\nours:   {ours}\ntheirs: {theirs}"
    );
    assert_eq!(
        shape("", &normalise_empty_storage(ours_absent.clone())),
        shape("", &normalise_empty_storage(theirs_absent.clone())),
        "\nours:   {ours_absent}\ntheirs: {theirs_absent}"
    );
    // The keys come back in the form they were given (32-byte hex).
    assert_eq!(
        ours["storageProof"][0]["key"],
        Value::String(slot.to_string())
    );
    assert_eq!(
        theirs["storageProof"][0]["key"],
        Value::String(one.to_string())
    );
    // Our own field order and names are alloy's, as anvil's and reth's are.
    let keys = |v: &Value| {
        v.as_object()
            .map(|m| m.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(keys(&ours), keys(&theirs));

    // Blocks: the same fields with the same conventions (list contents differ: anvil's block
    // is empty), except the deprecated totalDifficulty that anvil still sends.
    let scalars = |v: &Value| {
        let mut m = shape("", v).as_object().cloned().unwrap_or_default();
        m.remove("totalDifficulty");
        for list in ["transactions", "withdrawals", "uncles"] {
            if let Some(entry) = m.get_mut(list) {
                *entry = Value::String("list".into());
            }
        }
        m
    };
    assert_eq!(
        scalars(&our_block),
        scalars(&their_block),
        "\nours:   {our_block}\ntheirs: {their_block}"
    );
}
