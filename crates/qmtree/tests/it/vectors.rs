//! Vectors computed by an independent Python implementation of the
//! documented formulas (`scripts/vectors.py`, pycryptodome's Keccak-256),
//! so that the crate docs are enough to recompute roots and proofs.
//! Regenerate with
//! `python3 crates/qmtree/scripts/vectors.py > crates/qmtree/tests/it/vectors.json`.

use alloy_primitives::{B256, hex, keccak256};
use cairn_qmtree::{
    EMPTY_ROOT, EMPTY_SUBTREE, MemoryTree, Proof, verify_inclusion, verify_leaf, verify_range,
};
use serde_json::Value;

const VECTORS: &str = include_str!("vectors.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

fn component(tag: &[u8], i: u64) -> B256 {
    keccak256([tag, &i.to_be_bytes()[..]].concat())
}

/// Commits one block per entry of `sizes`, with leaf `i` having components
/// keccak("pre" ‖ i), keccak("chg" ‖ i), keccak("trn" ‖ i) (i as u64 BE).
fn tree(sizes: &[u64]) -> MemoryTree {
    let mut t = MemoryTree::new();
    for (block, &size) in sizes.iter().enumerate() {
        while t.leaf_count() < size {
            let i = t.leaf_count();
            t.append_next(
                component(b"pre", i),
                component(b"chg", i),
                component(b"trn", i),
            )
            .unwrap();
        }
        t.commit_block(block as u64).unwrap();
    }
    t
}

fn u64_of(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

fn hex_of(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

#[test]
fn empty_subtrees_match_the_python_reference() {
    let v = vectors();
    let table: Vec<B256> = v["emptySubtree"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| B256::from_slice(&hex_of(h)))
        .collect();
    assert_eq!(&table[..4], &EMPTY_SUBTREE[..4]);
    assert_eq!(table[4], EMPTY_SUBTREE[64]);
}

#[test]
fn roots_match_the_python_reference() {
    let v = vectors();
    let roots = v["roots"].as_array().unwrap();
    assert!(roots.len() >= 10);
    for r in roots {
        let n = u64_of(&r["leaves"]);
        let expected = B256::from_slice(&hex_of(&r["root"]));
        if n == 0 {
            assert_eq!(expected, EMPTY_ROOT);
        }
        let mut t = tree(&[n]);
        assert_eq!(t.root_at(0).unwrap(), expected, "{n} leaves");
        assert_eq!(t.current_root(), expected);
    }
}

#[test]
fn proofs_match_the_python_reference() {
    let v = vectors();
    let sizes: Vec<u64> = v["blocks"].as_array().unwrap().iter().map(u64_of).collect();
    let t = tree(&sizes);
    let inclusion = v["inclusion"].as_array().unwrap();
    assert!(!inclusion.is_empty());
    for case in inclusion {
        let (tx, block) = (u64_of(&case["txNum"]), u64_of(&case["block"]));
        let want = hex_of(&case["proof"]);
        let proof = t.proof(tx, block).unwrap();
        assert_eq!(proof.to_bytes(), want, "txNum {tx} at block {block}");
        let Proof::Inclusion(decoded) = Proof::from_bytes(&want).unwrap() else {
            panic!("txNum {tx}: not read as an inclusion proof")
        };
        assert_eq!(decoded, proof);
        let root = t.root_at(block).unwrap();
        verify_inclusion(&decoded, &root).unwrap();
        verify_leaf(&decoded, &t.leaf(tx).unwrap().components, &root).unwrap();
    }
    let ranges = v["range"].as_array().unwrap();
    assert!(!ranges.is_empty());
    for case in ranges {
        let (from, to) = (u64_of(&case["from"]), u64_of(&case["to"]));
        let want = hex_of(&case["proof"]);
        let proof = t.range_proof(from, to).unwrap();
        assert_eq!(proof.to_bytes(), want, "blocks {from} to {to}");
        let Proof::Range(decoded) = Proof::from_bytes(&want).unwrap() else {
            panic!("blocks {from} to {to}: not read as a range proof")
        };
        verify_range(&decoded, &t.root_at(from).unwrap(), &t.root_at(to).unwrap()).unwrap();
    }
}
