//! anvil as the remote node (it serves `eth_getProof`, `eth_getCode` and blocks, but not
//! `debug_executionWitness`, `debug_getRawBlock` or `debug_dbGet`): a Shanghai chain with
//! deployments, storage writes, transfers, storage clears and self-destructs placed so that
//! each deletion case would occur; the blocks validated from the built witnesses, the
//! recorded cache replayed offline, and tampered with.
//!
//! anvil 1.7.1 does not delete from its tries: a cleared slot stays as a leaf holding zero
//! and a self-destructed account as an empty leaf, so its state roots after a deletion are
//! not Ethereum's. Those blocks are asserted to be refused with a typed error (never an
//! input that validates); the deletion repairs themselves are counted on Cairn's own server
//! (`serve.rs`), whose tries follow the rules.

use crate::validate;
use alloy_primitives::{Address, B256, U256, address, keccak256};
use alloy_trie::Nibbles;
use cairn_devtools::{Anvil, require};
use cairn_primitives::{ChainConfig, EthereumHardfork};
use cairn_source::{
    BodySource, ExecutionWitnessRpc, ProofRpc, Rpc, RpcOptions, SourceError, WitnessProvider,
};
use serde_json::{Value, json};
use std::{path::Path, sync::Arc};

/// anvil's first dev account (unlocked: `eth_sendTransaction` signs for it).
const DEV: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");

/// The first block whose input can be built and validated (see below).
const FIRST: u64 = 2;

/// Runtime: stores each 64-byte `(slot, value)` pair of the calldata.
const STORE_RUNTIME: &str = "60005b8036111560185780602001358135556040016002565b00";
/// Runtime: `SELFDESTRUCT(CALLER)`.
const DESTRUCT_RUNTIME: &str = "33ff";

/// Init code returning `runtime`.
fn init_code(runtime: &str) -> String {
    let len = runtime.len() / 2;
    format!("0x60{len:02x}600c60003960{len:02x}6000f3{runtime}")
}

fn nibbles_of(hash: B256) -> Nibbles {
    Nibbles::unpack(hash)
}

fn slot_hash(slot: U256) -> Nibbles {
    nibbles_of(keccak256(B256::from(slot)))
}

/// The first slot from `start` whose hashed key starts with `prefix`.
fn slot_with_prefix(prefix: &[u8], start: u64) -> U256 {
    (start..)
        .map(U256::from)
        .find(|s| {
            let n = slot_hash(*s);
            prefix.iter().enumerate().all(|(i, p)| n.get(i) == Some(*p))
        })
        .unwrap()
}

async fn call(rpc: &Rpc, method: &str, params: Vec<Value>) -> Value {
    rpc.call_value(method, &params).await.unwrap()
}

/// Sends a transaction from the dev account (automine: one block each); returns the receipt.
async fn send(rpc: &Rpc, to: Option<Address>, data: String, value: u64) -> Value {
    let mut tx =
        json!({"from": DEV, "data": data, "value": format!("{value:#x}"), "gas": "0x100000"});
    if let Some(to) = to {
        tx["to"] = json!(to);
    }
    let hash = call(rpc, "eth_sendTransaction", vec![tx]).await;
    // anvil mines in the background: wait for the receipt.
    let mut receipt = Value::Null;
    for _ in 0..200 {
        receipt = call(rpc, "eth_getTransactionReceipt", vec![hash.clone()]).await;
        if !receipt.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(receipt["status"], json!("0x1"), "{receipt}");
    receipt
}

fn stores(pairs: &[(U256, U256)]) -> String {
    let mut out = String::from("0x");
    for (slot, value) in pairs {
        out.push_str(&format!("{:064x}{:064x}", slot, value));
    }
    out
}

/// Builds the chain; returns the blocks of interest.
async fn build_chain(rpc: &Rpc) -> Chain {
    let number = |r: &Value| {
        u64::from_str_radix(
            r["blockNumber"].as_str().unwrap().trim_start_matches("0x"),
            16,
        )
        .unwrap()
    };
    // Automined blocks in one second share their timestamp, which post-merge rules forbid.
    call(rpc, "anvil_setBlockTimestampInterval", vec![json!(1)]).await;
    let receipt =
        |r: &Value| serde_json::from_value::<Address>(r["contractAddress"].clone()).unwrap();
    let c = receipt(&send(rpc, None, init_code(STORE_RUNTIME), 0).await);
    let d = receipt(&send(rpc, None, init_code(STORE_RUNTIME), 0).await);

    // Contract c: a1 and a2 share their first nibble (a branch below the root with exactly
    // those two), b and e elsewhere. Clearing a1 collapses that branch into a2's leaf, which
    // no proof at the parent holds: case 1.
    let a1 = slot_with_prefix(&[], 1);
    let x = slot_hash(a1).get(0).unwrap();
    let a2 = (2u64..)
        .map(U256::from)
        .find(|s| {
            let n = slot_hash(*s);
            n.get(0) == Some(x) && n.get(1) != slot_hash(a1).get(1)
        })
        .unwrap();
    let others: Vec<U256> = [(x + 1) % 16, (x + 2) % 16]
        .iter()
        .map(|p| slot_with_prefix(&[*p], 1))
        .collect();
    let one = U256::from(1);
    send(
        rpc,
        Some(c),
        stores(&[
            (a1, one),
            (a2, U256::from(2)),
            (others[0], one),
            (others[1], one),
        ]),
        0,
    )
    .await;

    // Contract d: d1 alone under nibble p; e1 and e2 under nibble q (a branch). Clearing d1
    // leaves the root with one child, the branch at q: the root becomes an extension over
    // it, which needs that branch node: case 2.
    let d1 = slot_with_prefix(&[], 1);
    let p = slot_hash(d1).get(0).unwrap();
    let q = (p + 1) % 16;
    let e1 = slot_with_prefix(&[q], 1);
    let e2 = (e1.to::<u64>() + 1..)
        .map(U256::from)
        .find(|s| {
            let n = slot_hash(*s);
            n.get(0) == Some(q) && n.get(1) != slot_hash(e1).get(1)
        })
        .unwrap();
    send(rpc, Some(d), stores(&[(d1, one), (e1, one), (e2, one)]), 0).await;

    let clear_c = number(&send(rpc, Some(c), stores(&[(a1, U256::ZERO)]), 0).await);
    let clear_d = number(&send(rpc, Some(d), stores(&[(d1, U256::ZERO)]), 0).await);
    // A slot rewritten: a storage read and write at the parent, proven.
    let update_c = number(&send(rpc, Some(c), stores(&[(a2, U256::from(5))]), 0).await);

    // The account trie. Every account's hashed address, to place new ones by their nibbles.
    let mut known: Vec<Address> =
        serde_json::from_value(call(rpc, "eth_accounts", vec![]).await).unwrap();
    known.extend([Address::ZERO, c, d, DEV]);
    let first_nibbles = |known: &[Address]| -> Vec<u8> {
        known
            .iter()
            .map(|a| nibbles_of(keccak256(a)).get(0).unwrap())
            .collect()
    };
    // A self-destructing contract alone under its first nibble (the dev account's nonce is
    // bumped with empty transactions until its next CREATE address is).
    async fn deploy_alone(rpc: &Rpc, known: &[Address], used: &[u8]) -> Address {
        loop {
            let nonce: alloy_primitives::U64 = serde_json::from_value(
                call(
                    rpc,
                    "eth_getTransactionCount",
                    vec![json!(DEV), json!("latest")],
                )
                .await,
            )
            .unwrap();
            let next = DEV.create(nonce.to::<u64>());
            let n = nibbles_of(keccak256(next)).get(0).unwrap();
            if !used.contains(&n) && !known.contains(&next) {
                let r = send(rpc, None, init_code(DESTRUCT_RUNTIME), 1).await;
                let s: Address = serde_json::from_value(r["contractAddress"].clone()).unwrap();
                assert_eq!(s, next);
                return s;
            }
            send(rpc, Some(DEV), "0x".into(), 0).await;
        }
    }
    /// An address whose hashed form starts with `prefix` and differs from `avoid` at the
    /// next nibble.
    fn address_with(prefix: &[u8], avoid: Option<u8>) -> Address {
        (1u64..)
            .map(|i| Address::from_word(keccak256(i.to_be_bytes())))
            .find(|a| {
                let n = nibbles_of(keccak256(a));
                prefix.iter().enumerate().all(|(i, p)| n.get(i) == Some(*p))
                    && n.get(prefix.len()) != avoid
            })
            .unwrap()
    }

    // Case 1: s1 and y share two nibbles and nothing else shares the first; when s1
    // self-destructs (Shanghai) the subtree collapses into y's leaf, which no proof at the
    // parent holds.
    let s1 = deploy_alone(rpc, &known, &first_nibbles(&known)).await;
    let t1 = nibbles_of(keccak256(s1));
    let y = address_with(&[t1.get(0).unwrap(), t1.get(1).unwrap()], t1.get(2));
    send(rpc, Some(y), "0x".into(), 1).await;
    known.extend([s1, y]);

    // Case 2: under s2's first nibble, s2 and a branch holding y1 and y2; when s2
    // self-destructs that subtree becomes an extension over the branch, which is needed
    // and which no proof at the parent or at the block holds.
    let s2 = deploy_alone(rpc, &known, &first_nibbles(&known)).await;
    let t2 = nibbles_of(keccak256(s2));
    let b = (t2.get(1).unwrap() + 1) % 16;
    let y1 = address_with(&[t2.get(0).unwrap(), b], None);
    let third = nibbles_of(keccak256(y1)).get(2);
    let y2 = address_with(&[t2.get(0).unwrap(), b], third);
    send(rpc, Some(y1), "0x".into(), 1).await;
    send(rpc, Some(y2), "0x".into(), 1).await;

    let destruct1 = number(&send(rpc, Some(s1), "0x".into(), 0).await);
    let destruct2 = number(&send(rpc, Some(s2), "0x".into(), 0).await);
    for s in [s1, s2] {
        let code = call(rpc, "eth_getCode", vec![json!(s), json!("latest")]).await;
        assert_eq!(code, json!("0x"), "{s} self-destructed");
    }
    Chain {
        update_c,
        clear_c,
        clear_d,
        destruct1,
        destruct2,
        last: destruct2,
    }
}

/// Blocks of interest in the built chain.
#[derive(Debug, Clone, Copy)]
struct Chain {
    /// A storage slot rewritten (read and written).
    update_c: u64,
    /// A storage slot cleared so that its branch collapses into a sibling leaf.
    clear_c: u64,
    /// A storage slot cleared so that the root becomes an extension over a branch.
    clear_d: u64,
    /// An account self-destructed: case 1 in the account trie.
    destruct1: u64,
    /// An account self-destructed: case 2 in the account trie.
    destruct2: u64,
    /// The last block.
    last: u64,
}

fn chain() -> ChainConfig {
    ChainConfig::at_genesis(31337, EthereumHardfork::Shanghai)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anvil_blocks_validate_its_deletions_are_refused_and_the_cache_replays_offline() {
    let Some(anvil) = require(Anvil::spawn(&["--hardfork", "shanghai"])) else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let options = RpcOptions {
        cache_dir: Some(cache.path().to_path_buf()),
        ..Default::default()
    };
    // Building the chain goes through a client without a cache.
    let plain = Rpc::new(&anvil.url(), RpcOptions::default()).unwrap();
    let built = build_chain(&plain).await;
    let last = built.last;

    let rpc = Arc::new(Rpc::new(&anvil.url(), options.clone()).unwrap());
    let proofs = ProofRpc::new(Arc::clone(&rpc), chain(), BodySource::Json);
    let mut outputs = std::collections::BTreeMap::new();
    // anvil's genesis header carries the empty state root (its allocation is not in it) and
    // block 1 keeps the genesis base fee: blocks from 2 on follow the rules.
    for number in FIRST..=last {
        let fetched = proofs.program_input(number, number).await;
        if number == built.clear_c || number == built.clear_d {
            // anvil keeps a cleared slot in its storage trie as a leaf holding zero (its
            // state roots after a clear are not Ethereum's): the deleted slot's proof at the
            // block shows it, and the builder refuses the node's answer instead of building
            // an input that could not validate.
            match fetched {
                Err(SourceError::StorageProof { block, source, .. }) => {
                    assert_eq!(block, number);
                    println!("block {number}: anvil's cleared slot is a zero leaf: {source}");
                }
                other => panic!("block {number}: expected StorageProof, got {other:?}"),
            }
            continue;
        }
        if number == built.destruct1 || number == built.destruct2 {
            // anvil also keeps a self-destructed account as an empty leaf (nonce 0, balance
            // 0, empty code and storage) instead of deleting it: its state root after the
            // block is not the one Ethereum's rules give, and the input is refused.
            match fetched {
                Err(SourceError::Invalid { source, .. }) => {
                    assert!(
                        matches!(*source, cairn_stateless::StatelessError::StateRootMismatch { block, .. } if block == number),
                        "{source}"
                    );
                    println!("block {number}: anvil keeps the self-destructed account: {source}");
                }
                other => panic!("block {number}: expected a state root mismatch, got {other:?}"),
            }
            continue;
        }
        let fetched = fetched.unwrap();
        let output = validate(&fetched);
        let s = fetched.stats;
        println!(
            "block {number}: {} calls, {} bytes, {:.1} ms, {} nodes, {} witness bytes, repairs {}/{}",
            s.rpc.calls,
            s.rpc.bytes,
            s.wall.as_secs_f64() * 1e3,
            fetched.input.witness.state.len(),
            fetched.input.witness.byte_size(),
            s.repairs_leaf,
            s.repairs_branch
        );
        assert_eq!((s.repairs_leaf, s.repairs_branch), (0, 0), "block {number}");
        outputs.insert(number, output);
    }
    // The blocks between the clears and the self-destructs as one batch.
    let (a, b) = (built.clear_d + 1, built.destruct1 - 1);
    let batch = proofs.program_input(a, b).await.unwrap();
    assert_eq!(
        validate(&batch).final_state_root,
        outputs[&b].final_state_root
    );

    // anvil has no debug_executionWitness: a typed error names the method.
    let witness = ExecutionWitnessRpc::new(Arc::clone(&rpc), chain(), BodySource::Json);
    match witness.program_input(FIRST, FIRST).await {
        Err(SourceError::MethodUnavailable { method, .. }) => {
            assert_eq!(method, "debug_executionWitness");
        }
        other => panic!("expected MethodUnavailable, got {other:?}"),
    }

    // The node goes away; the cache alone gives the same inputs, without a call.
    drop(anvil);
    let offline = Arc::new(
        Rpc::new(
            "http://127.0.0.1:1",
            RpcOptions {
                offline: true,
                ..options.clone()
            },
        )
        .unwrap(),
    );
    let replay = ProofRpc::new(Arc::clone(&offline), chain(), BodySource::Json);
    for (number, output) in &outputs {
        let fetched = replay.program_input(*number, *number).await.unwrap();
        assert_eq!(&validate(&fetched), output);
    }
    assert_eq!(offline.stats().calls, 0);
    assert!(offline.stats().cached > 0);
    // A block the cache never saw is a typed error, not a call.
    match replay.program_input(last + 1, last + 1).await {
        Err(SourceError::NotCached { method, .. }) => assert_eq!(method, "eth_getBlockByNumber"),
        other => panic!("expected NotCached, got {other:?}"),
    }

    lying_cache(cache.path(), built.update_c, &options).await;
}

/// Copies a cache and rewrites one kind of answer in it.
fn tampered(src: &Path, method: &str, edit: impl Fn(&mut Value) -> bool) -> tempfile::TempDir {
    let dst = tempfile::tempdir().unwrap();
    let mut edited = 0;
    for dir in std::fs::read_dir(src).unwrap() {
        let dir = dir.unwrap().path();
        let out = dst.path().join(dir.file_name().unwrap());
        std::fs::create_dir_all(&out).unwrap();
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            let mut entry: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
            if dir.file_name().unwrap() == method && edit(&mut entry) {
                edited += 1;
            }
            std::fs::write(out.join(file.file_name().unwrap()), entry.to_string()).unwrap();
        }
    }
    assert!(edited > 0, "nothing to tamper with in {method}");
    dst
}

/// A node that lies (replayed from a doctored cache): every lie is a typed error naming
/// what it is about, never an input.
async fn lying_cache(cache: &Path, block: u64, options: &RpcOptions) {
    let at_parent = json!(format!("{:#x}", block - 1));
    let run = |dir: &Path| {
        let rpc = Arc::new(
            Rpc::new(
                "http://127.0.0.1:1",
                RpcOptions {
                    offline: true,
                    cache_dir: Some(dir.to_path_buf()),
                    ..options.clone()
                },
            )
            .unwrap(),
        );
        ProofRpc::new(rpc, chain(), BodySource::Json)
    };

    // An account proof claiming another balance.
    let dir = tampered(cache, "eth_getProof", |e| {
        if e["params"][2] == at_parent && e["params"][1] == json!([]) {
            e["result"]["balance"] = json!("0x1234");
            true
        } else {
            false
        }
    });
    match run(dir.path()).program_input(block, block).await {
        Err(SourceError::AccountProof { block: b, .. }) => assert_eq!(b, block - 1),
        other => panic!("expected AccountProof, got {other:?}"),
    }

    // A storage proof claiming another value.
    let dir = tampered(cache, "eth_getProof", |e| {
        let at = e["params"][2] == at_parent;
        let sp = &mut e["result"]["storageProof"];
        if at && sp.as_array().is_some_and(|a| !a.is_empty()) {
            sp[0]["value"] = json!("0x99");
            true
        } else {
            false
        }
    });
    match run(dir.path()).program_input(block, block).await {
        Err(SourceError::StorageProof { block: b, .. }) => assert_eq!(b, block - 1),
        other => panic!("expected StorageProof, got {other:?}"),
    }

    // Code that is not the account's.
    let dir = tampered(cache, "eth_getCode", |e| {
        e["result"] = json!("0x6000");
        true
    });
    match run(dir.path()).program_input(block, block).await {
        Err(SourceError::CodeHashMismatch { block: b, .. }) => assert_eq!(b, block - 1),
        other => panic!("expected CodeHashMismatch, got {other:?}"),
    }

    // A block whose contents do not hash to its hash.
    let dir = tampered(cache, "eth_getBlockByNumber", |e| {
        if e["params"][0] == json!(format!("{block:#x}")) && e["params"][1] == json!(true) {
            e["result"]["gasUsed"] = json!("0x1");
            true
        } else {
            false
        }
    });
    match run(dir.path()).program_input(block, block).await {
        Err(SourceError::BlockHashMismatch { number, .. }) => assert_eq!(number, block),
        other => panic!("expected BlockHashMismatch, got {other:?}"),
    }
}
