//! Against anvil (npm) with a contract compiled by solc-js: plain storage, a
//! mapping(address => uint), a nested mapping(address => mapping(uint => bytes32)), a
//! mapping(string => uint) and an event; values proven at several past blocks (slots that
//! later changed, slots that never existed) through `eth_getProof`, checked against
//! `eth_call` at those blocks, and every proof verified again by the Solidity verifier.

use crate::eth::{
    DEV, Eth, IHistoryFixture, IHistoryVerifier, abi_data, abi_mmr, abi_subquery, compiled,
    verify_in_mmr_call, verify_on_chain, word,
};
use alloy_primitives::{Address, B256, Bytes, U256, address, keccak256};
use cairn_devtools::{Anvil, require};
use cairn_history::{
    AccountField, DataProof, HeaderField, HistoryError, LogField, MappingKey, Mmr, MmrAt,
    QueryProof, ReceiptField, RpcSource, RpcSourceConfig, Subquery, TxField, prove_query,
    verify_query,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// anvil's second dev account.
const BOB: Address = address!("70997970C51812dc3A010C7d01b50e0d17dc79C8");
/// An address nothing ever touched.
const NEVER: Address = address!("00000000000000000000000000000000deadbeef");

fn hex_u64(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// A fixture deployed on anvil and driven through three states.
struct Scenario {
    anvil: Anvil,
    eth: Eth,
    verifier: Address,
    fixture: Address,
    /// Blocks at which the fixture's state is asked: deployed, first values, changed, cleared.
    blocks: Vec<u64>,
    /// The block and index of the `setNote` transaction (with its event).
    note_tx: (u64, u64),
}

fn scenario() -> Option<Scenario> {
    let compiled = compiled()?;
    let anvil = require(Anvil::spawn(&["--hardfork", "prague"]))?;
    let eth = Eth::new(&anvil.url());
    let verifier = eth.deploy(&compiled.verifier);
    let fixture = eth.deploy(&compiled.fixture);
    let mut blocks = vec![eth.head()];
    let note = |eth: &Eth, key: u64, value: B256, memo: &str| {
        eth.transact(
            fixture,
            &IHistoryFixture::setNoteCall {
                who: DEV,
                key: U256::from(key),
                value,
                memo: memo.into(),
            },
        )
    };
    eth.transact(
        fixture,
        &IHistoryFixture::setPlainCall {
            value: U256::from(7),
        },
    );
    eth.transact(
        fixture,
        &IHistoryFixture::setBalanceCall {
            who: DEV,
            value: U256::from(100),
        },
    );
    let receipt = note(&eth, 5, B256::repeat_byte(0x11), "first");
    let note_tx = (
        hex_u64(&receipt["blockNumber"]),
        hex_u64(&receipt["transactionIndex"]),
    );
    eth.transact(
        fixture,
        &IHistoryFixture::setScoreCall {
            name: "alice".into(),
            value: U256::from(11),
        },
    );
    blocks.push(eth.head());
    eth.transact(
        fixture,
        &IHistoryFixture::setPlainCall {
            value: U256::from(8),
        },
    );
    eth.transact(
        fixture,
        &IHistoryFixture::setBalanceCall {
            who: DEV,
            value: U256::from(200),
        },
    );
    note(&eth, 5, B256::repeat_byte(0x22), "second");
    eth.transact(
        fixture,
        &IHistoryFixture::setScoreCall {
            name: "alice".into(),
            value: U256::from(12),
        },
    );
    eth.transact(
        fixture,
        &IHistoryFixture::setBalanceCall {
            who: BOB,
            value: U256::from(1),
        },
    );
    blocks.push(eth.head());
    eth.transact(
        fixture,
        &IHistoryFixture::setPlainCall { value: U256::ZERO },
    );
    eth.transact(
        fixture,
        &IHistoryFixture::setBalanceCall {
            who: DEV,
            value: U256::ZERO,
        },
    );
    blocks.push(eth.head());
    Some(Scenario {
        anvil,
        eth,
        verifier,
        fixture,
        blocks,
        note_tx,
    })
}

/// What each subquery should read, from `eth_call` and the account methods at its block.
fn expected(eth: &Eth, fixture: Address, sq: &Subquery) -> Option<B256> {
    let at = |b: u64| Some(b);
    Some(match sq {
        Subquery::Storage {
            block,
            address,
            slot,
        } => {
            let v = eth.call(
                "eth_getStorageAt",
                json!([address, slot, format!("{block:#x}")]),
            );
            serde_json::from_value(v).unwrap()
        }
        Subquery::Mapping {
            block, slot, keys, ..
        } => {
            let slot = U256::from_be_bytes(slot.0);
            match (slot.to::<u64>(), keys.as_slice()) {
                (1, [MappingKey::Address(who)]) => B256::from(
                    eth.sol_call(
                        fixture,
                        &IHistoryFixture::balancesCall { who: *who },
                        at(*block),
                    )
                    .unwrap(),
                ),
                (2, [MappingKey::Address(who), MappingKey::Uint(key)]) => eth
                    .sol_call(
                        fixture,
                        &IHistoryFixture::notesCall {
                            who: *who,
                            key: *key,
                        },
                        at(*block),
                    )
                    .unwrap(),
                (3, [MappingKey::String(name)]) => B256::from(
                    eth.sol_call(
                        fixture,
                        &IHistoryFixture::scoresCall { name: name.clone() },
                        at(*block),
                    )
                    .unwrap(),
                ),
                _ => return None,
            }
        }
        Subquery::Account {
            block,
            address,
            field,
        } => {
            let b = format!("{block:#x}");
            let code: Bytes =
                serde_json::from_value(eth.call("eth_getCode", json!([address, b]))).unwrap();
            let nonce = hex_u64(&eth.call("eth_getTransactionCount", json!([address, b])));
            let balance: U256 =
                serde_json::from_value(eth.call("eth_getBalance", json!([address, b]))).unwrap();
            let exists = nonce != 0 || !balance.is_zero() || !code.is_empty();
            match (exists, field) {
                (false, _) => B256::ZERO,
                (_, AccountField::Nonce) => word(nonce),
                (_, AccountField::Balance) => B256::from(balance),
                (_, AccountField::CodeHash) => keccak256(&code),
                (_, AccountField::StorageRoot) => {
                    let p = eth.call("eth_getProof", json!([address, [], b]));
                    serde_json::from_value(p["storageHash"].clone()).unwrap()
                }
            }
        }
        _ => return None,
    })
}

fn subqueries_at(s: &Scenario, block: u64) -> Vec<Subquery> {
    let slot = |n: u64| word(n);
    let fixture = s.fixture;
    let mut out = vec![
        Subquery::Storage {
            block,
            address: fixture,
            slot: slot(0),
        },
        // Never written.
        Subquery::Storage {
            block,
            address: fixture,
            slot: slot(99),
        },
        Subquery::Mapping {
            block,
            address: fixture,
            slot: slot(1),
            keys: vec![MappingKey::Address(DEV)],
        },
        Subquery::Mapping {
            block,
            address: fixture,
            slot: slot(1),
            keys: vec![MappingKey::Address(BOB)],
        },
        Subquery::Mapping {
            block,
            address: fixture,
            slot: slot(1),
            keys: vec![MappingKey::Address(NEVER)],
        },
        Subquery::Mapping {
            block,
            address: fixture,
            slot: slot(2),
            keys: vec![MappingKey::Address(DEV), MappingKey::Uint(U256::from(5))],
        },
        Subquery::Mapping {
            block,
            address: fixture,
            slot: slot(2),
            keys: vec![MappingKey::Address(DEV), MappingKey::Uint(U256::from(6))],
        },
        Subquery::Mapping {
            block,
            address: fixture,
            slot: slot(3),
            keys: vec![MappingKey::String("alice".into())],
        },
        Subquery::Mapping {
            block,
            address: fixture,
            slot: slot(3),
            keys: vec![MappingKey::String("bob".into())],
        },
    ];
    for address in [fixture, DEV, NEVER] {
        for field in AccountField::ALL {
            out.push(Subquery::Account {
                block,
                address,
                field: *field,
            });
        }
    }
    out.push(Subquery::Header {
        block,
        field: HeaderField::StateRoot,
        item: 0,
    });
    out
}

fn rpc_source(url: &str, cache: &std::path::Path) -> RpcSource {
    RpcSource::new(RpcSourceConfig {
        cache_dir: Some(cache.to_path_buf()),
        cache_confirmations: 0,
        ..RpcSourceConfig::new(url)
    })
    .unwrap()
}

/// The MMR of anvil's chain, built by walking its headers.
fn anvil_mmr(source: &RpcSource, eth: &Eth) -> Mmr {
    let mut mmr = Mmr::default();
    let mut batches = 0;
    source
        .extend_mmr(&mut mmr, eth.head() + 1, |_| batches += 1)
        .unwrap();
    assert!(batches >= 1);
    mmr
}

#[test]
fn contract_state_at_past_blocks_in_rust_and_solidity() {
    let Some(s) = scenario() else { return };
    let cache = tempfile::tempdir().unwrap();
    let source = rpc_source(&s.anvil.url(), cache.path());
    let mmr = anvil_mmr(&source, &s.eth);
    let mut per_block = Vec::new();
    for &block in &s.blocks {
        let subqueries = subqueries_at(&s, block);
        let proof = prove_query(&source, &subqueries, Some(MmrAt::current(&mmr))).unwrap();
        let verified = verify_query(&proof).unwrap();
        assert_eq!(verified.mmr.unwrap().root, mmr.root());
        for (sq, got) in subqueries.iter().zip(&verified.results) {
            if let Some(want) = expected(&s.eth, s.fixture, sq) {
                assert_eq!(*got, want, "{sq}");
            }
        }
        verify_on_chain(&s.eth, s.verifier, &proof);
        per_block.push(verified.results);
    }
    // plain: 0 at deployment, 7, then 8, then cleared; DEV's balance 0, 100, 200, deleted.
    let plain: Vec<B256> = per_block.iter().map(|r| r[0]).collect();
    assert_eq!(plain, [word(0), word(7), word(8), word(0)]);
    let balance: Vec<B256> = per_block.iter().map(|r| r[2]).collect();
    assert_eq!(balance, [word(0), word(100), word(200), word(0)]);
    let note: Vec<B256> = per_block.iter().map(|r| r[5]).collect();
    assert_eq!(note[1], B256::repeat_byte(0x11));
    assert_eq!(note[2], B256::repeat_byte(0x22));
    let score: Vec<B256> = per_block.iter().map(|r| r[7]).collect();
    assert_eq!(score, [word(0), word(11), word(12), word(12)]);
    for results in &per_block {
        assert_eq!(results[1], B256::ZERO, "slot 99 never existed");
        assert_eq!(results[4], B256::ZERO, "NEVER has no balance entry");
        assert_eq!(results[8], B256::ZERO, "no score for bob");
    }

    // The same proofs again from the cache alone: the node is unreachable.
    let offline = RpcSource::new(RpcSourceConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        chain_id: Some(31337),
        ..RpcSourceConfig::new("http://127.0.0.1:1")
    })
    .unwrap();
    let subqueries = subqueries_at(&s, s.blocks[2]);
    let again = prove_query(&offline, &subqueries, Some(MmrAt::current(&mmr))).unwrap();
    let online = prove_query(&source, &subqueries, Some(MmrAt::current(&mmr))).unwrap();
    assert_eq!(again, online);
}

#[test]
fn transactions_receipts_and_events_on_anvil() {
    let Some(s) = scenario() else { return };
    let cache = tempfile::tempdir().unwrap();
    let source = rpc_source(&s.anvil.url(), cache.path());
    // A legacy and an EIP-2930 transfer next to the EIP-1559 calls of the scenario.
    let legacy = s
        .eth
        .send(json!({"to": BOB, "value": "0x1", "gasPrice": "0x3b9aca00", "type": "0x0"}));
    let eip2930 = s.eth.send(
        json!({"to": BOB, "value": "0x2", "gasPrice": "0x3b9aca00", "type": "0x1",
        "accessList": [{"address": s.fixture, "storageKeys": [word(0)]}]}),
    );
    let mmr = anvil_mmr(&source, &s.eth);
    let (block, index) = s.note_tx;
    let tx: Value = s.eth.call(
        "eth_getTransactionByBlockNumberAndIndex",
        json!([format!("{block:#x}"), format!("{index:#x}")]),
    );
    let input: Bytes = serde_json::from_value(tx["input"].clone()).unwrap();
    let receipt = s.eth.call("eth_getTransactionReceipt", json!([tx["hash"]]));
    let log = &receipt["logs"][0];
    let mut subqueries = vec![];
    let mut want = vec![];
    let mut tx_q = |block, index, field, item, value| {
        subqueries.push(Subquery::Tx {
            block,
            index,
            field,
            item,
        });
        want.push(value);
    };
    tx_q(block, index, TxField::Type, 0, word(2));
    tx_q(
        block,
        index,
        TxField::Hash,
        0,
        serde_json::from_value(tx["hash"].clone()).unwrap(),
    );
    tx_q(
        block,
        index,
        TxField::To,
        0,
        B256::left_padding_from(s.fixture.as_slice()),
    );
    tx_q(
        block,
        index,
        TxField::Selector,
        0,
        word(u32::from_be_bytes(input[..4].try_into().unwrap()) as u64),
    );
    tx_q(
        block,
        index,
        TxField::DataWord,
        1,
        B256::from_slice(&input[32..64]),
    );
    tx_q(
        block,
        index,
        TxField::DataLength,
        0,
        word(input.len() as u64),
    );
    tx_q(block, index, TxField::ChainId, 0, word(31337));
    for (r, ty) in [(&legacy, 0), (&eip2930, 1)] {
        let (b, i) = (hex_u64(&r["blockNumber"]), hex_u64(&r["transactionIndex"]));
        tx_q(b, i, TxField::Type, 0, word(ty));
        tx_q(b, i, TxField::ChainId, 0, word(31337));
        tx_q(b, i, TxField::Value, 0, word(ty + 1));
        tx_q(
            b,
            i,
            TxField::Hash,
            0,
            serde_json::from_value(r["transactionHash"].clone()).unwrap(),
        );
        tx_q(b, i, TxField::AccessListLength, 0, word(ty));
    }
    let mut rq = |sq, value| {
        subqueries.push(sq);
        want.push(value);
    };
    rq(
        Subquery::Receipt {
            block,
            index,
            field: ReceiptField::Status,
            item: 0,
        },
        word(1),
    );
    rq(
        Subquery::Receipt {
            block,
            index,
            field: ReceiptField::LogCount,
            item: 0,
        },
        word(1),
    );
    rq(
        Subquery::Receipt {
            block,
            index,
            field: ReceiptField::CumulativeGasUsed,
            item: 0,
        },
        word(hex_u64(&receipt["cumulativeGasUsed"])),
    );
    let topics: Vec<B256> = serde_json::from_value(log["topics"].clone()).unwrap();
    let data: Bytes = serde_json::from_value(log["data"].clone()).unwrap();
    let lq = |field, item| Subquery::Log {
        block,
        tx_index: index,
        log_index: 0,
        field,
        item,
    };
    rq(
        lq(LogField::Address, 0),
        B256::left_padding_from(s.fixture.as_slice()),
    );
    rq(lq(LogField::TopicCount, 0), word(3));
    rq(lq(LogField::Topic, 0), topics[0]);
    rq(
        lq(LogField::Topic, 1),
        B256::left_padding_from(DEV.as_slice()),
    );
    rq(lq(LogField::Topic, 2), word(5));
    rq(lq(LogField::DataLength, 0), word(data.len() as u64));
    rq(lq(LogField::DataWord, 0), B256::repeat_byte(0x11));
    assert_eq!(
        topics[0],
        keccak256("Noted(address,uint256,bytes32,string)")
    );
    let proof = prove_query(&source, &subqueries, Some(MmrAt::current(&mmr))).unwrap();
    let verified = verify_query(&proof).unwrap();
    for ((sq, got), want) in subqueries.iter().zip(&verified.results).zip(&want) {
        assert_eq!(got, want, "{sq}");
    }
    verify_on_chain(&s.eth, s.verifier, &proof);
    // blockhash() as the anchor for recent blocks.
    let sq = &proof.subqueries[0];
    let header = proof
        .blocks
        .iter()
        .find(|b| b.number == block)
        .unwrap()
        .header
        .clone();
    let recent = s
        .eth
        .sol_call(
            s.verifier,
            &IHistoryVerifier::verifyRecentSubqueryCall {
                subquery: abi_subquery(&sq.subquery),
                header,
                proof: abi_data(sq),
            },
            None,
        )
        .unwrap();
    assert_eq!(recent, sq.result);
}

/// Flips the low bit of sampled bytes of `bytes` (every byte when short, otherwise a stride
/// that covers each 32-byte word) and asserts each altered copy is rejected.
fn flip_sampled(bytes: &Bytes, mut rejected: impl FnMut(Bytes) -> bool) -> usize {
    let stride = if bytes.len() <= 64 { 1 } else { 13 };
    let mut n = 0;
    for i in (0..bytes.len()).step_by(stride).chain([bytes.len() - 1]) {
        let mut bad = bytes.to_vec();
        bad[i] ^= 1;
        assert!(
            rejected(bad.into()),
            "flipping byte {i} of {} was accepted",
            bytes.len()
        );
        n += 1;
    }
    n
}

#[test]
fn solidity_rejects_altered_proofs_and_reports_gas() {
    let Some(s) = scenario() else { return };
    let cache = tempfile::tempdir().unwrap();
    let source = rpc_source(&s.anvil.url(), cache.path());
    let mmr = anvil_mmr(&source, &s.eth);
    let block = s.blocks[2];
    let (tx_block, tx_index) = s.note_tx;
    let one_of_each = vec![
        Subquery::Header {
            block,
            field: HeaderField::Timestamp,
            item: 0,
        },
        Subquery::Account {
            block,
            address: s.fixture,
            field: AccountField::Balance,
        },
        Subquery::Storage {
            block,
            address: s.fixture,
            slot: word(0),
        },
        Subquery::Mapping {
            block,
            address: s.fixture,
            slot: word(1),
            keys: vec![MappingKey::Address(DEV)],
        },
        Subquery::Mapping {
            block,
            address: s.fixture,
            slot: word(2),
            keys: vec![MappingKey::Address(DEV), MappingKey::Uint(U256::from(5))],
        },
        Subquery::Mapping {
            block,
            address: s.fixture,
            slot: word(3),
            keys: vec![MappingKey::String("alice".into())],
        },
        Subquery::Tx {
            block: tx_block,
            index: tx_index,
            field: TxField::DataWord,
            item: 2,
        },
        Subquery::Receipt {
            block: tx_block,
            index: tx_index,
            field: ReceiptField::Status,
            item: 0,
        },
        Subquery::Log {
            block: tx_block,
            tx_index,
            log_index: 0,
            field: LogField::Topic,
            item: 1,
        },
    ];
    let proof = prove_query(&source, &one_of_each, Some(MmrAt::current(&mmr))).unwrap();
    verify_query(&proof).unwrap();

    // Gas of verifying each kind on chain (with its MMR inclusion), and proof sizes.
    let mut table = String::from(
        "\nkind | proof bytes | calldata bytes | gas (eth_estimateGas, incl. 21000)\n",
    );
    let mut gas = BTreeMap::new();
    for i in 0..proof.subqueries.len() {
        let call = verify_in_mmr_call(&proof, i);
        let g = s.eth.gas(s.verifier, &call);
        let sq = &proof.subqueries[i];
        let name = match &sq.subquery {
            Subquery::Mapping { keys, .. } => format!(
                "mapping ({} key{}, {})",
                keys.len(),
                if keys.len() > 1 { "s" } else { "" },
                if matches!(keys[0], MappingKey::String(_)) {
                    "string"
                } else {
                    "value"
                }
            ),
            other => other.kind_name().to_string(),
        };
        let calldata = alloy_sol_types::SolCall::abi_encoded_size(&call) + 4;
        table += &format!("{name} | {} | {calldata} | {g}\n", sq.proof.size());
        gas.insert(name, g);
    }
    let mmr_only = s.eth.gas(
        s.verifier,
        &IHistoryVerifier::verifyBlockHashCall {
            mmrRoot: mmr.root(),
            mmrProof: abi_mmr(proof.blocks[0].mmr_proof.as_ref().unwrap()),
            blockHash: proof.blocks[0].hash,
        },
    );
    table += &format!(
        "MMR inclusion alone ({} blocks) | | | {mmr_only}\n",
        mmr.leaves()
    );
    println!("{table}");
    assert!(
        gas.values().all(|g| *g > 21_000 && *g < 3_000_000),
        "{table}"
    );

    // Altered bytes: header, every node of every proof, every MMR hash, the mapping keys.
    let rejected = |call: &IHistoryVerifier::verifySubqueryInMmrCall| {
        s.eth.sol_call(s.verifier, call, None).is_err()
    };
    let mut flips = 0;
    for i in 0..proof.subqueries.len() {
        let call = verify_in_mmr_call(&proof, i);
        assert!(!rejected(&call));
        flips += flip_sampled(&call.header, |h| {
            let mut c = call.clone();
            c.header = h;
            rejected(&c)
        });
        for (list, nodes) in [
            (0, &call.proof.accountProof),
            (1, &call.proof.storageProof),
            (2, &call.proof.trieProof),
            (3, &call.proof.mappingKeys),
        ] {
            for (n, node) in nodes.iter().enumerate() {
                flips += flip_sampled(node, |bad| {
                    let mut c = call.clone();
                    let target = match list {
                        0 => &mut c.proof.accountProof,
                        1 => &mut c.proof.storageProof,
                        2 => &mut c.proof.trieProof,
                        _ => &mut c.proof.mappingKeys,
                    };
                    target[n] = bad;
                    rejected(&c)
                });
            }
        }
        for h in 0..call.mmrProof.siblings.len() + call.mmrProof.peaks.len() {
            let mut c = call.clone();
            let sibs = c.mmrProof.siblings.len();
            if h < sibs {
                c.mmrProof.siblings[h].0[h % 32] ^= 1;
            } else {
                c.mmrProof.peaks[h - sibs].0[h % 32] ^= 1;
            }
            assert!(rejected(&c));
            flips += 1;
        }
        let mut c = call.clone();
        c.mmrRoot.0[0] ^= 1;
        assert!(rejected(&c));
    }
    assert!(flips > 300, "{flips}");
    println!("{flips} altered copies rejected by the Solidity verifier");
    // A proof whose data is of the wrong kind for its subquery is rejected too.
    let mut c = verify_in_mmr_call(&proof, 2);
    c.proof.storageProof.clear();
    assert!(rejected(&c));
    let _ = DataProof::Header;
}

#[test]
fn a_lying_rpc_gets_an_error_naming_the_block_address_and_slot() {
    let Some(s) = scenario() else { return };
    let proxy = lying_proxy(s.anvil.url());
    let source = RpcSource::new(RpcSourceConfig::new(format!("http://{}", proxy.addr))).unwrap();
    let block = s.blocks[1];
    let sq = Subquery::Storage {
        block,
        address: s.fixture,
        slot: word(0),
    };
    let err = prove_query(&source, &[sq], None::<MmrAt<'_, Vec<B256>>>).unwrap_err();
    assert!(
        matches!(err, HistoryError::StorageProof { block: b, address, slot, .. } if b == block && address == s.fixture && slot == word(0)),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&format!("block {block}")) && message.contains(&s.fixture.to_string()),
        "{message}"
    );
    // Unknown block: the node answers null.
    let far = Subquery::Header {
        block: 1 << 40,
        field: HeaderField::Number,
        item: 0,
    };
    let honest = RpcSource::new(RpcSourceConfig::new(s.anvil.url())).unwrap();
    let err = prove_query(&honest, &[far], None::<MmrAt<'_, Vec<B256>>>).unwrap_err();
    assert!(
        matches!(err, HistoryError::UnknownBlock { block } if block == 1 << 40),
        "{err}"
    );
    drop(proxy);
}

/// A JSON-RPC server that forwards to anvil and adds one to every storage value of
/// `eth_getProof` answers.
struct Proxy {
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lying_proxy(upstream: String) -> Proxy {
    use jsonrpsee::{RpcModule, server::Server};
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let client = jsonrpsee_http_client::HttpClientBuilder::default()
                .build(&upstream)
                .unwrap();
            let mut module = RpcModule::new(client);
            for method in [
                "eth_chainId",
                "eth_blockNumber",
                "eth_getBlockByNumber",
                "eth_getProof",
            ] {
                module
                    .register_async_method(method, move |params, client, _| async move {
                        use jsonrpsee::core::client::ClientT;
                        let raw: Vec<Value> = params.parse().unwrap_or_default();
                        let mut array = jsonrpsee::core::params::ArrayParams::new();
                        for p in raw {
                            array.insert(p).unwrap();
                        }
                        let mut answer: Value =
                            client.request(method, array).await.map_err(|e| {
                                jsonrpsee::types::ErrorObjectOwned::owned(
                                    -32000,
                                    e.to_string(),
                                    None::<()>,
                                )
                            })?;
                        if method == "eth_getProof" {
                            for p in answer["storageProof"].as_array_mut().unwrap() {
                                let v: U256 = serde_json::from_value(p["value"].clone()).unwrap();
                                p["value"] = json!(v + U256::from(1));
                            }
                        }
                        Ok::<Value, jsonrpsee::types::ErrorObjectOwned>(answer)
                    })
                    .unwrap();
            }
            let server = Server::builder().build("127.0.0.1:0").await.unwrap();
            addr_tx.send(server.local_addr().unwrap()).unwrap();
            let handle = server.start(module);
            let _ = stop_rx.await;
            let _ = handle.stop();
            handle.stopped().await;
        });
    });
    Proxy {
        addr: addr_rx.recv().unwrap(),
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}

/// The dev chain's proofs of every transaction type, receipt and log, verified by the
/// Solidity verifier (deployed on anvil; the proofs are about the dev chain, anchored to its
/// MMR).
#[test]
fn dev_chain_proofs_of_every_type_verify_in_solidity() {
    let Some(compiled) = compiled() else { return };
    let Some(anvil) = require(Anvil::spawn(&["--hardfork", "prague"])) else {
        return;
    };
    let eth = Eth::new(&anvil.url());
    let verifier = eth.deploy(&compiled.verifier);
    let (file, node) = crate::dev_node();
    let mut subqueries = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..file.blocks.len() {
        let block = file.block(i).unwrap();
        let number = block.header.number;
        let receipts = node.receipts(number).unwrap();
        for (index, tx) in block.body.transactions.iter().enumerate() {
            let ty = alloy_consensus::Typed2718::ty(tx);
            let logs = alloy_consensus::TxReceipt::logs(&receipts[index]).len();
            // One transaction of each type, and of each type one with logs.
            if !seen.insert((ty, logs > 0)) {
                continue;
            }
            let index = index as u64;
            for field in [
                TxField::Type,
                TxField::Nonce,
                TxField::To,
                TxField::MaxFeePerGas,
                TxField::BlobHashCount,
                TxField::AuthorizationListLength,
                TxField::V,
                TxField::S,
                TxField::Hash,
            ] {
                subqueries.push(Subquery::Tx {
                    block: number,
                    index,
                    field,
                    item: 0,
                });
            }
            for field in [
                ReceiptField::Type,
                ReceiptField::Status,
                ReceiptField::CumulativeGasUsed,
                ReceiptField::LogCount,
            ] {
                subqueries.push(Subquery::Receipt {
                    block: number,
                    index,
                    field,
                    item: 0,
                });
            }
            subqueries.push(Subquery::Receipt {
                block: number,
                index,
                field: ReceiptField::LogsBloom,
                item: 7,
            });
            if logs > 0 {
                for field in [
                    LogField::Address,
                    LogField::TopicCount,
                    LogField::DataLength,
                ] {
                    subqueries.push(Subquery::Log {
                        block: number,
                        tx_index: index,
                        log_index: 0,
                        field,
                        item: 0,
                    });
                }
            }
        }
        subqueries.push(Subquery::Header {
            block: number,
            field: HeaderField::Hash,
            item: 0,
        });
        subqueries.push(Subquery::Header {
            block: number,
            field: HeaderField::RequestsHash,
            item: 0,
        });
    }
    assert!(
        seen.iter()
            .map(|(ty, _)| ty)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            == 5
    );
    assert!(seen.iter().any(|(_, logs)| *logs));
    for chunk in subqueries.chunks(64) {
        let proof: QueryProof = crate::prove(&node, chunk);
        verify_on_chain(&eth, verifier, &proof);
    }
}

#[test]
fn a_node_without_old_state_gets_a_pruned_error() {
    let Some(anvil) = require(Anvil::spawn(&["--prune-history", "2"])) else {
        return;
    };
    let eth = Eth::new(&anvil.url());
    for _ in 0..6 {
        eth.call("evm_mine", json!([]));
    }
    let source = RpcSource::new(RpcSourceConfig::new(anvil.url())).unwrap();
    let sq = Subquery::Account {
        block: 1,
        address: DEV,
        field: AccountField::Balance,
    };
    let err = prove_query(&source, &[sq], None::<MmrAt<'_, Vec<B256>>>).unwrap_err();
    assert!(
        matches!(
            err,
            HistoryError::Pruned {
                block: 1,
                what: "state"
            }
        ),
        "{err}"
    );
    // The newest state is still there.
    let head = eth.head();
    let sq = Subquery::Account {
        block: head,
        address: DEV,
        field: AccountField::Balance,
    };
    prove_query(&source, &[sq], None::<MmrAt<'_, Vec<B256>>>).unwrap();
}
