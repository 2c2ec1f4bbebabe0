//! Property tests: the sparse trie against alloy-trie's `HashBuilder` on random operation
//! sequences, both on a fully known trie and on tries rebuilt from proofs alone.

use alloy_primitives::{B256, Bytes, keccak256, map::B256Map};
use alloy_trie::{HashBuilder, Nibbles, proof::ProofRetainer};
use cairn_trie::{NoNodes, SparseTrie, TrieError};
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
enum Op {
    Insert(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

/// Keys with heavily shared prefixes (to force extensions and deep branches), of a fixed length
/// so that none is a prefix of another (a `HashBuilder` requirement).
fn key(len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            Just(0x00u8),
            Just(0x01),
            Just(0x10),
            Just(0x11),
            any::<u8>()
        ],
        len,
    )
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 1..40)
}

/// Initial key/value pairs and the operations that follow.
type Scenario = (Vec<(Vec<u8>, Vec<u8>)>, Vec<Op>);

fn ops(key_len: usize) -> impl Strategy<Value = Scenario> {
    let keys = prop::collection::vec(key(key_len), 1..24);
    keys.prop_flat_map(|keys| {
        let pick = prop::sample::select(keys.clone());
        let initial = prop::collection::vec((prop::sample::select(keys), value()), 0..24);
        let op = prop_oneof![
            (pick.clone(), value()).prop_map(|(k, v)| Op::Insert(k, v)),
            pick.prop_map(Op::Delete),
        ];
        (initial, prop::collection::vec(op, 1..32))
    })
}

fn reference_root(model: &BTreeMap<Vec<u8>, Vec<u8>>) -> B256 {
    let mut hb = HashBuilder::default();
    for (k, v) in model {
        hb.add_leaf(Nibbles::unpack(k), v);
    }
    hb.root()
}

/// All nodes of the trie holding `model`, keyed by hash, via alloy-trie's proof retainer.
fn all_nodes(model: &BTreeMap<Vec<u8>, Vec<u8>>, targets: Vec<Nibbles>) -> B256Map<Bytes> {
    let mut hb = HashBuilder::default().with_proof_retainer(ProofRetainer::new(targets));
    for (k, v) in model {
        hb.add_leaf(Nibbles::unpack(k), v);
    }
    hb.root();
    hb.take_proof_nodes()
        .into_inner()
        .into_values()
        .map(|n| (keccak256(&n), n))
        .collect()
}

fn apply(model: &mut BTreeMap<Vec<u8>, Vec<u8>>, op: &Op) {
    match op {
        Op::Insert(k, v) => {
            model.insert(k.clone(), v.clone());
        }
        Op::Delete(k) => {
            model.remove(k);
        }
    }
}

fn run_op(trie: &mut SparseTrie, op: &Op, nodes: &mut B256Map<Bytes>) -> Result<(), TrieError> {
    match op {
        Op::Insert(k, v) => trie.insert(&Nibbles::unpack(k), v.clone(), nodes),
        Op::Delete(k) => trie.remove(&Nibbles::unpack(k), nodes).map(drop),
    }
}

fn check_full(
    key_len: usize,
    initial: Vec<(Vec<u8>, Vec<u8>)>,
    ops: Vec<Op>,
) -> Result<(), TestCaseError> {
    let mut model = BTreeMap::new();
    let mut trie = SparseTrie::new();
    for (k, v) in initial {
        trie.insert(&Nibbles::unpack(&k), v.clone(), &mut NoNodes)
            .unwrap();
        model.insert(k, v);
    }
    prop_assert_eq!(trie.root(), reference_root(&model));
    for op in &ops {
        run_op(&mut trie, op, &mut B256Map::default()).unwrap();
        apply(&mut model, op);
        prop_assert_eq!(
            trie.root(),
            reference_root(&model),
            "after {:?} (key len {})",
            op,
            key_len
        );
    }
    for (k, v) in &model {
        prop_assert_eq!(
            trie.get(&Nibbles::unpack(k), &mut NoNodes).unwrap(),
            Some(v.as_slice())
        );
    }
    Ok(())
}

/// Starts from proofs of the touched keys only; every `MissingNode` must name a real node of
/// the full trie, must leave the trie unchanged, and supplying that node must let the
/// operation through.
fn check_from_proofs(initial: Vec<(Vec<u8>, Vec<u8>)>, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = initial.into_iter().collect();
    let root = reference_root(&model);
    let touched: Vec<Nibbles> = ops
        .iter()
        .map(|op| match op {
            Op::Insert(k, _) | Op::Delete(k) => Nibbles::unpack(k),
        })
        .collect();
    let everything = all_nodes(
        &model,
        model
            .keys()
            .map(Nibbles::unpack)
            .chain(touched.iter().copied())
            .collect(),
    );
    let mut nodes = all_nodes(&model, touched);
    let mut trie = SparseTrie::from_root(root);
    prop_assert_eq!(trie.root(), root);
    for op in &ops {
        loop {
            let before = trie.root();
            match run_op(&mut trie, op, &mut nodes) {
                Ok(()) => break,
                Err(TrieError::MissingNode { hash, .. }) => {
                    prop_assert_eq!(trie.root(), before, "a failed operation changed the trie");
                    let node = everything.get(&hash).cloned();
                    prop_assert!(
                        node.is_some(),
                        "missing node {} is not part of the trie",
                        hash
                    );
                    prop_assert!(!nodes.contains_key(&hash), "node {} was available", hash);
                    nodes.insert(hash, node.unwrap());
                }
                Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
            }
        }
        apply(&mut model, op);
        prop_assert_eq!(trie.root(), reference_root(&model), "after {:?}", op);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn full_trie_matches_hash_builder((initial, ops) in ops(32)) {
        check_full(32, initial, ops)?;
    }

    #[test]
    fn short_keys_with_inline_nodes((initial, ops) in ops(3)) {
        check_full(3, initial, ops)?;
    }

    #[test]
    fn trie_from_proofs_matches_hash_builder((initial, ops) in ops(32)) {
        check_from_proofs(initial, ops)?;
    }

    #[test]
    fn short_key_trie_from_proofs((initial, ops) in ops(3)) {
        check_from_proofs(initial, ops)?;
    }

    #[test]
    fn proofs_rebuild_values((initial, _ops) in ops(32)) {
        let model: BTreeMap<Vec<u8>, Vec<u8>> = initial.into_iter().collect();
        let mut full = SparseTrie::new();
        for (k, v) in &model {
            full.insert(&Nibbles::unpack(k), v.clone(), &mut NoNodes).unwrap();
        }
        let root = full.root();
        for (k, v) in &model {
            let key = Nibbles::unpack(k);
            let mut proof: B256Map<Bytes> =
                full.proof(&key, &mut NoNodes).unwrap().into_iter().map(|n| (keccak256(&n), n)).collect();
            let mut sparse = SparseTrie::from_root(root);
            prop_assert_eq!(sparse.get(&key, &mut proof).unwrap(), Some(v.as_slice()));
        }
    }
}

#[test]
fn missing_node_error_names_hash_and_path() {
    let mut full = SparseTrie::new();
    let a = Nibbles::unpack([0xaa; 32]);
    let b = Nibbles::unpack([0xbb; 32]);
    full.insert(&a, vec![1; 40], &mut NoNodes).unwrap();
    full.insert(&b, vec![2; 40], &mut NoNodes).unwrap();
    let mut sparse = SparseTrie::from_root(full.root());
    match sparse.get(&a, &mut NoNodes) {
        Err(TrieError::MissingNode { hash, path }) => {
            assert_eq!(hash, full.root());
            assert!(path.is_empty());
        }
        other => panic!("expected a missing root, got {other:?}"),
    }
    let mut root_only: B256Map<Bytes> = full
        .proof(&a, &mut NoNodes)
        .unwrap()
        .into_iter()
        .take(1)
        .map(|n| (keccak256(&n), n))
        .collect();
    match sparse.get(&a, &mut root_only) {
        Err(TrieError::MissingNode { path, .. }) => assert_eq!(path, Nibbles::from_nibbles([0xa])),
        other => panic!("expected a missing leaf, got {other:?}"),
    }
}

#[test]
fn tampered_node_is_rejected() {
    let mut nodes = B256Map::default();
    let garbage = Bytes::from_static(&[0xc3, 0x80, 0x80, 0x80]);
    let hash = keccak256(&garbage);
    nodes.insert(hash, garbage);
    let mut trie = SparseTrie::from_root(hash);
    assert!(matches!(
        trie.get(&Nibbles::unpack([1u8; 32]), &mut nodes),
        Err(TrieError::InvalidNode { .. })
    ));
}
