//! Test vectors for other implementations of the encodings (the Halo2 circuits, contracts):
//! `testdata/history-vectors.json` holds subquery encodings, result leaves, a results root and
//! MMR roots and proofs. This test recomputes every entry, so the file cannot drift from
//! the code; `CAIRN_WRITE_VECTORS=1` rewrites it.

use alloy_primitives::{Address, B256, Bytes, I256, U256, hex, keccak256};
use cairn_history::{
    AccountField, HeaderField, LogField, MappingKey, Mmr, ReceiptField, Subquery, TxField,
    keys_hash, mapping_slot, result_leaf, results_root,
};
use serde_json::{Value, json};

fn subqueries() -> Vec<Subquery> {
    let a = Address::repeat_byte(0xaa);
    vec![
        Subquery::Header {
            block: 17,
            field: HeaderField::StateRoot,
            item: 0,
        },
        Subquery::Header {
            block: 17,
            field: HeaderField::LogsBloom,
            item: 7,
        },
        Subquery::Account {
            block: 1 << 20,
            address: a,
            field: AccountField::Balance,
        },
        Subquery::Storage {
            block: 5,
            address: a,
            slot: B256::with_last_byte(3),
        },
        Subquery::Mapping {
            block: 5,
            address: a,
            slot: B256::with_last_byte(1),
            keys: vec![MappingKey::Address(a)],
        },
        Subquery::Mapping {
            block: 5,
            address: a,
            slot: B256::with_last_byte(2),
            keys: vec![MappingKey::Address(a), MappingKey::Uint(U256::from(5))],
        },
        Subquery::Mapping {
            block: 5,
            address: a,
            slot: B256::with_last_byte(3),
            keys: vec![MappingKey::String("alice".into())],
        },
        Subquery::Mapping {
            block: 5,
            address: a,
            slot: B256::ZERO,
            keys: vec![
                MappingKey::Int(I256::MINUS_ONE),
                MappingKey::Bool(true),
                MappingKey::FixedBytes(Bytes::from_static(&[0x12, 0x34])),
                MappingKey::Bytes(Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef])),
            ],
        },
        Subquery::Tx {
            block: 9,
            index: 130,
            field: TxField::DataWord,
            item: 2,
        },
        Subquery::Receipt {
            block: 9,
            index: 0,
            field: ReceiptField::LogCount,
            item: 0,
        },
        Subquery::Log {
            block: 9,
            tx_index: 3,
            log_index: 1,
            field: LogField::Topic,
            item: 2,
        },
    ]
}

fn compute() -> Value {
    let sqs = subqueries();
    let mut leaves = Vec::new();
    let mut entries = Vec::new();
    for (i, sq) in sqs.iter().enumerate() {
        let result = keccak256((i as u64).to_be_bytes());
        let leaf = result_leaf(sq, &result).unwrap();
        leaves.push(leaf);
        let mut entry = json!({
            "subquery": sq,
            "encoding": Bytes::from(sq.encode().unwrap().to_vec()),
            "result": result,
            "leaf": leaf,
        });
        if let Subquery::Mapping { slot, keys, .. } = sq {
            entry["keys"] = json!(
                keys.iter()
                    .map(|k| Bytes::from(k.encode().unwrap()))
                    .collect::<Vec<_>>()
            );
            entry["keysHash"] = json!(keys_hash(keys).unwrap());
            entry["rawSlot"] = json!(mapping_slot(*slot, keys).unwrap());
        }
        entries.push(entry);
    }
    let roots: Vec<Value> = (1..=leaves.len())
        .map(|n| json!({"leaves": n, "resultsRoot": results_root(&leaves[..n])}))
        .collect();
    let mut mmr = Mmr::default();
    let mut mmr_roots = Vec::new();
    let mut proofs = Vec::new();
    for i in 0..40u64 {
        mmr.append(keccak256(i.to_be_bytes())).unwrap();
        mmr_roots.push(json!({"size": i + 1, "root": mmr.root()}));
    }
    for (index, size) in [(0u64, 1), (0, 40), (31, 40), (32, 40), (39, 40), (21, 23)] {
        proofs.push(json!({
            "leaf": keccak256(index.to_be_bytes()),
            "root": mmr.root_at(size).unwrap(),
            "proof": mmr.proof(index, size).unwrap(),
        }));
    }
    json!({
        "comment": "cairn-history encodings; results are keccak256(u64_be(i)), MMR leaf i is keccak256(u64_be(i)). Regenerate with CAIRN_WRITE_VECTORS=1 cargo test -p cairn-history --test it vectors",
        "subqueries": entries,
        "resultsRoots": roots,
        "mmrRoots": mmr_roots,
        "mmrProofs": proofs,
    })
}

#[test]
fn vectors_file_matches_the_code() {
    let path = cairn_devtools::workspace_root().join("testdata/history-vectors.json");
    let computed = compute();
    if std::env::var_os("CAIRN_WRITE_VECTORS").is_some() {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&computed).unwrap() + "\n",
        )
        .unwrap();
    }
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(stored, computed, "{} is stale", path.display());
    // Spot checks written out by hand, independent of the code above.
    let first = &stored["subqueries"][0]["encoding"];
    let enc = hex::decode(first.as_str().unwrap()).unwrap();
    assert_eq!(enc.len(), 192);
    assert_eq!((enc[31], enc[63], enc[95]), (1, 17, 3));
}
