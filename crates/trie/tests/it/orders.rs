//! Which nodes a set of updates needs depends on the order they are applied in (a branch
//! that drops to one entry collapses into its remaining child, which must then be known).
//! Property: the nodes read when applying the updates deletions first include those of
//! writes first and of sorted key order; and with only the union of those three sets, every
//! order of the same updates goes through and gives the reference root.

use alloy_primitives::{B256, Bytes, keccak256, map::B256Map};
use alloy_trie::{HashBuilder, Nibbles};
use cairn_trie::{NoNodes, NodeProvider, ProviderError, SparseTrie};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// One net update of a key: a new value, or deletion (`None`).
type Update = (Vec<u8>, Option<Vec<u8>>);

/// An initial trie, net updates to it, and a permutation of the updates.
type Scenario = (BTreeMap<Vec<u8>, Vec<u8>>, Vec<Update>, Vec<usize>);

/// A node store that remembers which nodes were asked for.
struct Recording<'a> {
    store: &'a B256Map<Bytes>,
    seen: BTreeSet<B256>,
}

impl NodeProvider for Recording<'_> {
    fn trie_node(&mut self, hash: &B256) -> Result<Option<Bytes>, ProviderError> {
        let node = self.store.get(hash).cloned();
        if node.is_some() {
            self.seen.insert(*hash);
        }
        Ok(node)
    }
}

/// Keys with shared prefixes so that branches hold few entries and collapse often.
fn key(len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![Just(0x00u8), Just(0x01), Just(0x10), any::<u8>()],
        len,
    )
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 1..40)
}

/// An initial trie and net updates to it (each key at most once; deletions of present
/// keys), plus a permutation of the updates.
fn scenario(len: usize) -> impl Strategy<Value = Scenario> {
    (
        prop::collection::btree_map(key(len), value(), 1..60),
        prop::collection::btree_map(key(len), value(), 0..12),
        prop::collection::vec(0u8..3, 40),
    )
        .prop_flat_map(|(initial, new, picks)| {
            let mut updates: Vec<Update> = Vec::new();
            // Existing keys: deleted, rewritten, or left alone (the siblings a collapse needs).
            for ((k, _), pick) in initial.iter().zip(picks.iter().cycle()) {
                match pick {
                    0 => updates.push((k.clone(), None)),
                    1 => updates.push((k.clone(), Some(vec![0xee; 33]))),
                    _ => {}
                }
            }
            // New keys: some beside deleted ones (sharing all but the last byte, so that
            // written first they keep a branch alive that deleting first collapses), some
            // anywhere.
            let mut written: BTreeSet<Vec<u8>> = BTreeSet::new();
            let beside: Vec<Vec<u8>> = updates
                .iter()
                .filter(|u| u.1.is_none())
                .zip(picks.iter().rev().cycle())
                .filter(|(_, pick)| **pick != 1)
                .map(|(u, _)| {
                    let mut k = u.0.clone();
                    let last = k.len() - 1;
                    k[last] ^= 0x0f;
                    k
                })
                .collect();
            for (k, v) in beside
                .iter()
                .map(|k| (k, vec![0xbb; 33]))
                .chain(new.iter().map(|(k, v)| (k, v.clone())))
            {
                if !initial.contains_key(k) && written.insert(k.clone()) {
                    updates.push((k.clone(), Some(v)));
                }
            }
            let n = updates.len();
            (
                Just(initial),
                Just(updates),
                Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
            )
        })
}

fn reference_root(model: &BTreeMap<Vec<u8>, Vec<u8>>) -> B256 {
    let mut hb = HashBuilder::default();
    for (k, v) in model {
        hb.add_leaf(Nibbles::unpack(k), v);
    }
    hb.root()
}

/// Applies `updates` in the given order to the trie at `root`, reading from `nodes`.
fn apply(
    root: B256,
    updates: &[&Update],
    nodes: &mut impl NodeProvider,
) -> Result<B256, cairn_trie::TrieError> {
    let mut trie = SparseTrie::from_root(root);
    for (k, v) in updates {
        trie.insert(&Nibbles::unpack(k), v.clone().unwrap_or_default(), nodes)?;
    }
    Ok(trie.root())
}

/// Checks the property; returns whether writes first and sorted order each reached fewer
/// nodes than deletions first (so the case exercised it).
fn check(
    initial: BTreeMap<Vec<u8>, Vec<u8>>,
    updates: Vec<Update>,
    permutation: Vec<usize>,
) -> Result<(bool, bool), TestCaseError> {
    // The full node store of the initial trie.
    let mut full = SparseTrie::new();
    full.record_written();
    for (k, v) in &initial {
        full.insert(&Nibbles::unpack(k), v.clone(), &mut NoNodes)
            .unwrap();
    }
    let root = full.root();
    let store: B256Map<Bytes> = full
        .take_written()
        .into_iter()
        .map(|n| (keccak256(&n), n))
        .collect();
    let mut model = initial;
    for (k, v) in &updates {
        match v {
            Some(v) => model.insert(k.clone(), v.clone()),
            None => model.remove(k),
        };
    }
    let expected = reference_root(&model);

    let writes_first: Vec<&Update> = updates
        .iter()
        .filter(|u| u.1.is_some())
        .chain(updates.iter().filter(|u| u.1.is_none()))
        .collect();
    let deletions_first: Vec<&Update> = updates
        .iter()
        .filter(|u| u.1.is_none())
        .chain(updates.iter().filter(|u| u.1.is_some()))
        .collect();
    let mut sorted: Vec<&Update> = updates.iter().collect();
    sorted.sort_by_key(|u| Nibbles::unpack(&u.0));

    let mut reached = BTreeMap::new();
    for (name, order) in [
        ("writes first", &writes_first),
        ("deletions first", &deletions_first),
        ("sorted", &sorted),
    ] {
        let mut recording = Recording {
            store: &store,
            seen: BTreeSet::new(),
        };
        let got = apply(root, order, &mut recording).unwrap();
        prop_assert_eq!(got, expected, "{}", name);
        reached.insert(name, recording.seen);
    }
    let union: BTreeSet<B256> = reached.values().flatten().copied().collect();
    prop_assert_eq!(
        &reached["deletions first"],
        &union,
        "deletions first reaches every node the other orders reach"
    );

    // Only the union: any order goes through.
    let mut witness: B256Map<Bytes> = union.iter().map(|h| (*h, store[h].clone())).collect();
    let shuffled: Vec<&Update> = permutation.iter().map(|i| &updates[*i]).collect();
    let got = apply(root, &shuffled, &mut witness);
    prop_assert_eq!(
        got.ok(),
        Some(expected),
        "a random order with the union of nodes"
    );
    Ok((reached["writes first"] != union, reached["sorted"] != union))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_order_succeeds_on_the_nodes_deletions_first_reaches(
        (initial, updates, permutation) in scenario(32)
    ) {
        check(initial, updates, permutation)?;
    }

    #[test]
    fn every_order_with_short_keys_and_inline_nodes(
        (initial, updates, permutation) in scenario(3)
    ) {
        check(initial, updates, permutation)?;
    }
}

/// The scenarios do exercise the property: in many of them writes first, and in some sorted
/// order, reach fewer nodes than deletions first.
#[test]
fn scenarios_make_orders_differ() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut writes_first, mut sorted) = (0, 0);
    for _ in 0..200 {
        let (initial, updates, permutation) = scenario(32).new_tree(&mut runner).unwrap().current();
        let (w, s) = check(initial, updates, permutation).unwrap();
        writes_first += usize::from(w);
        sorted += usize::from(s);
    }
    assert!(
        writes_first >= 40,
        "writes first differed in {writes_first} of 200"
    );
    assert!(sorted >= 10, "sorted order differed in {sorted} of 200");
}

/// The case of the issue: a branch with two leaves, one deleted and a new key written
/// beside it. Writes first never collapses the branch; sorted key order (deleting first
/// here) does, and needs the other leaf, which writes first never reads.
#[test]
fn sorted_order_needs_a_sibling_that_writes_first_does_not() {
    let a = vec![0x10; 32]; // deleted
    let b = vec![0x20; 32]; // untouched sibling
    let c = vec![0x30; 32]; // written, sorts after the deletion
    let mut full = SparseTrie::new();
    full.record_written();
    for k in [&a, &b] {
        full.insert(&Nibbles::unpack(k), vec![7; 40], &mut NoNodes)
            .unwrap();
    }
    let root = full.root();
    let store: B256Map<Bytes> = full
        .take_written()
        .into_iter()
        .map(|n| (keccak256(&n), n))
        .collect();
    let updates: Vec<Update> = vec![(a, None), (c, Some(vec![9; 40]))];
    let sibling = keccak256(alloy_rlp::encode(alloy_trie::nodes::LeafNode::new(
        Nibbles::unpack(&b).slice(1..),
        vec![7; 40],
    )));
    let record = |order: Vec<&Update>| {
        let mut recording = Recording {
            store: &store,
            seen: BTreeSet::new(),
        };
        apply(root, &order, &mut recording).unwrap();
        recording.seen
    };
    let writes_first = record(vec![&updates[1], &updates[0]]);
    let sorted = record(vec![&updates[0], &updates[1]]);
    assert!(store.contains_key(&sibling));
    assert!(!writes_first.contains(&sibling));
    assert!(sorted.contains(&sibling));
}
