//! The tree against a naive full recomputation, for both backends.

use alloy_primitives::{B256, keccak256};
use cairn_qmtree::{
    Backend, InclusionProof, MemoryTree, Proof, QmTree, verify_inclusion, verify_leaf, verify_range,
};
#[cfg(feature = "store")]
use cairn_qmtree::{Store, StoreOptions};
use proptest::prelude::*;

/// Leaf hash computed by hand from the documented preimage.
fn naive_leaf(pre: B256, change: B256, transition: B256, prev: B256) -> B256 {
    let mut buf = vec![0x00u8];
    for part in [pre, change, transition, prev] {
        buf.extend_from_slice(part.as_slice());
    }
    keccak256(&buf)
}

fn naive_node(l: &B256, r: &B256) -> B256 {
    let mut buf = vec![0x01u8];
    buf.extend_from_slice(l.as_slice());
    buf.extend_from_slice(r.as_slice());
    keccak256(&buf)
}

/// All levels of the padded tree over `leaves` (zero leaves pad to 2^d).
fn naive_levels(leaves: &[B256]) -> Vec<Vec<B256>> {
    let mut width = 1;
    while width < leaves.len() {
        width *= 2;
    }
    let mut level = leaves.to_vec();
    level.resize(width, B256::ZERO);
    let mut levels = vec![level];
    while levels.last().map_or(0, Vec::len) > 1 {
        let below = levels.last().cloned().unwrap_or_default();
        levels.push(below.chunks(2).map(|p| naive_node(&p[0], &p[1])).collect());
    }
    levels
}

/// The top node of the padded tree (32 zero bytes for no leaves).
pub(crate) fn naive_root(leaves: &[B256]) -> B256 {
    if leaves.is_empty() {
        return B256::ZERO;
    }
    naive_levels(leaves)
        .last()
        .map(|l| l[0])
        .unwrap_or_default()
}

/// Every sibling on the path of leaf `t`, bottom-up.
fn naive_siblings(leaves: &[B256], t: usize) -> Vec<B256> {
    let levels = naive_levels(leaves);
    levels[..levels.len() - 1]
        .iter()
        .enumerate()
        .map(|(h, level)| level[(t >> h) ^ 1])
        .collect()
}

/// A random history: first block number and leaves per block.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    first_block: u64,
    blocks: Vec<usize>,
    queries: Vec<(u64, u64)>,
}

fn plan() -> impl Strategy<Value = Plan> {
    let block = prop_oneof![6 => 0usize..40, 2 => 200usize..700, 1 => 1500usize..3000];
    (
        0u64..1000,
        prop::collection::vec(block, 1..14),
        prop::collection::vec((any::<u64>(), any::<u64>()), 12),
    )
        .prop_map(|(first_block, blocks, queries)| Plan {
            first_block,
            blocks,
            queries,
        })
}

fn leaf_contents(seed: u64, i: u64) -> (B256, B256, B256) {
    crate::workload::contents(seed, i)
}

/// Builds the history in `tree`, checking every root, then proofs and range
/// proofs at random past blocks, and bit-flip rejection.
pub(crate) fn check<B: Backend>(
    tree: &mut QmTree<B>,
    plan: &Plan,
    seed: u64,
) -> Result<(), TestCaseError> {
    let mut leaves = Vec::new();
    let mut sizes = Vec::new(); // leaf count after each block
    let mut roots = Vec::new();
    for (i, &k) in plan.blocks.iter().enumerate() {
        for _ in 0..k {
            let tx = leaves.len() as u64;
            let (a, b, c) = leaf_contents(seed, tx);
            let prev = leaves.last().copied().unwrap_or_default();
            let got = tree
                .append_next(a, b, c)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(got, tx);
            leaves.push(naive_leaf(a, b, c, prev));
        }
        let number = plan.first_block + i as u64;
        let root = tree
            .commit_block(number)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(
            root,
            naive_root(&leaves),
            "block {} with {} leaves",
            number,
            leaves.len()
        );
        prop_assert_eq!(
            tree.last_leaf_hash(),
            leaves.last().copied().unwrap_or_default()
        );
        sizes.push(leaves.len());
        roots.push(root);
    }
    for (i, root) in roots.iter().enumerate() {
        prop_assert_eq!(tree.root_at(plan.first_block + i as u64).ok(), Some(*root));
    }
    for &(x, y) in &plan.queries {
        // Inclusion proof of a random leaf at a random block that has it.
        if let Some(&total) = sizes.last()
            && total > 0
        {
            let t = (x % total as u64) as usize;
            let candidates: Vec<usize> = (0..sizes.len()).filter(|&b| sizes[b] > t).collect();
            let b = candidates[(y % candidates.len() as u64) as usize];
            let number = plan.first_block + b as u64;
            let proof = tree
                .proof(t as u64, number)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let n = sizes[b];
            prop_assert_eq!(proof.leaf_hash, leaves[t]);
            prop_assert_eq!(&proof.siblings, &naive_siblings(&leaves[..n], t));
            prop_assert_eq!(proof.is_last_leaf(), t + 1 == n);
            prop_assert!(verify_inclusion(&proof, &naive_root(&leaves[..n])).is_ok());
            let leaf = tree
                .leaf(t as u64)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(verify_leaf(&proof, &leaf.components, &naive_root(&leaves[..n])).is_ok());
            prop_assert_eq!(leaf.hash, leaves[t]);
            prop_assert_eq!(
                leaf.components.previous_leaf_hash,
                if t == 0 { B256::ZERO } else { leaves[t - 1] }
            );
        }
        // Range proof between two random blocks.
        let (a, b) = (
            (x >> 32) as usize % sizes.len(),
            (y >> 32) as usize % sizes.len(),
        );
        let (a, b) = (a.min(b), a.max(b));
        let range = tree
            .range_proof(plan.first_block + a as u64, plan.first_block + b as u64)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(verify_range(&range, &roots[a], &roots[b]).is_ok());
        if sizes[a] != sizes[b] {
            // A different old root (a block with another size) must not pass.
            let wrong = naive_root(&leaves[..sizes[a] + 1]);
            prop_assert!(verify_range(&range, &wrong, &roots[b]).is_err());
        }
        let bytes = range.to_bytes();
        prop_assert_eq!(
            Proof::from_bytes(&bytes).ok(),
            Some(Proof::Range(range.clone()))
        );
        if !range.nodes.is_empty() {
            // The roots do not bind the sizes, so the verifier compares them
            // with the ones it trusts (the blocks' leaf counts), as the crate
            // docs say; then no bit of the proof can change.
            let (old, new) = (sizes[a] as u64, sizes[b] as u64);
            every_bit_flip_fails(&bytes, |p| match p {
                Proof::Range(r) => {
                    verify_range(&r, &roots[a], &roots[b]).is_ok()
                        && (r.old_size, r.new_size) == (old, new)
                }
                Proof::Inclusion(_) => false,
            })?;
            // Without that comparison, only the sizes can change, and only
            // to sizes with the same tree shape.
            let mut tampered = bytes.clone();
            for bit in 0..tampered.len() * 8 {
                tampered[bit / 8] ^= 1 << (bit % 8);
                if let Ok(Proof::Range(r)) = Proof::from_bytes(&tampered)
                    && verify_range(&r, &roots[a], &roots[b]).is_ok()
                {
                    prop_assert!(
                        (1..17).contains(&(bit / 8)),
                        "bit {} outside the sizes",
                        bit
                    );
                    prop_assert_eq!(&r.nodes, &range.nodes);
                    prop_assert_eq!(cairn_qmtree::depth(r.new_size), cairn_qmtree::depth(new));
                }
                tampered[bit / 8] ^= 1 << (bit % 8);
            }
        }
    }
    // Bit flips in one inclusion proof.
    if let Some(&total) = sizes.last()
        && total > 1
    {
        let t = (plan.queries[0].0 % total as u64) as usize;
        let last = plan.first_block + sizes.len() as u64 - 1;
        let proof = tree
            .proof(t as u64, last)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let root = *roots.last().unwrap_or(&B256::ZERO);
        let components = tree
            .leaf(t as u64)
            .map_err(|e| TestCaseError::fail(e.to_string()))?
            .components;
        every_bit_flip_fails(&proof.to_bytes(), |p| match p {
            Proof::Inclusion(i) => verify_inclusion(&i, &root).is_ok(),
            Proof::Range(_) => false,
        })?;
        every_bit_flip_fails(&proof.to_bytes(), |p| match p {
            Proof::Inclusion(i) => verify_leaf(&i, &components, &root).is_ok(),
            Proof::Range(_) => false,
        })?;
        check_json_roundtrip(&proof)?;
    }
    Ok(())
}

/// Flips each bit of `bytes` in turn: the result must fail to decode or to verify.
fn every_bit_flip_fails(
    bytes: &[u8],
    verifies: impl Fn(Proof) -> bool,
) -> Result<(), TestCaseError> {
    prop_assert!(
        Proof::from_bytes(bytes).map(&verifies).unwrap_or(false),
        "untampered proof must verify"
    );
    let mut tampered = bytes.to_vec();
    for bit in 0..bytes.len() * 8 {
        tampered[bit / 8] ^= 1 << (bit % 8);
        let accepted = Proof::from_bytes(&tampered).map(&verifies).unwrap_or(false);
        prop_assert!(!accepted, "proof with bit {} flipped was accepted", bit);
        tampered[bit / 8] ^= 1 << (bit % 8);
    }
    Ok(())
}

fn check_json_roundtrip(proof: &InclusionProof) -> Result<(), TestCaseError> {
    let json = proof.to_json();
    prop_assert_eq!(
        Proof::from_json(&json).ok(),
        Some(Proof::Inclusion(proof.clone()))
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn memory_tree_matches_naive_recomputation(plan in plan(), seed in any::<u64>()) {
        check(&mut MemoryTree::new(), &plan, seed)?;
    }
}

/// The store against the reference, then reopened and deep-inspected.
#[cfg(feature = "store")]
fn check_store(plan: &Plan, seed: u64, sync: bool, pipeline: bool) -> Result<(), TestCaseError> {
    let fail = |e: cairn_qmtree::Error| TestCaseError::fail(e.to_string());
    let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let options = StoreOptions {
        create: true,
        sync,
        pipeline,
    };
    let mut store = Store::open_with(dir.path(), options).map_err(fail)?;
    check(&mut store, plan, seed)?;
    let latest = store.latest_block();
    drop(store);
    let store = Store::open_with(dir.path(), options).map_err(fail)?;
    prop_assert_eq!(store.latest_block(), latest);
    drop(store);
    let report = cairn_qmtree::inspect(dir.path(), true).map_err(fail)?;
    prop_assert_eq!(report.leaves, latest.map_or(0, |b| b.leaf_count));
    prop_assert_eq!(report.checked_blocks, plan.blocks.len() as u64);
    Ok(())
}

#[cfg(feature = "store")]
proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_naive_recomputation_and_survives_reopen(plan in plan(), seed in any::<u64>()) {
        check_store(&plan, seed, false, false)?;
    }
}

#[cfg(feature = "store")]
proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

    /// With fsync at every commit: preallocated files, syncs, the commit ring.
    #[test]
    fn synced_store_matches_naive_recomputation_and_survives_reopen(plan in plan(), seed in any::<u64>()) {
        check_store(&plan, seed, true, false)?;
    }

    /// Pipelined commits: each block's sync finishes during the next one.
    #[test]
    fn pipelined_store_matches_naive_recomputation_and_survives_reopen(plan in plan(), seed in any::<u64>()) {
        check_store(&plan, seed, true, true)?;
    }
}

#[test]
fn batch_append_equals_single_appends() {
    let mut one = MemoryTree::new();
    let mut many = MemoryTree::new();
    let mut batch = Vec::new();
    let mut prev = B256::ZERO;
    for tx in 0..5000u64 {
        let (a, b, c) = leaf_contents(3, tx);
        one.append_next(a, b, c).unwrap();
        let comp = cairn_qmtree::LeafComponents {
            pre_state_hash: a,
            state_change_hash: b,
            transition_hash: c,
            previous_leaf_hash: prev,
        };
        prev = comp.hash();
        batch.push(comp);
    }
    assert_eq!(many.append_batch(&batch[..1234]).unwrap(), 0..1234);
    // A broken chain in a batch appends nothing.
    let mut broken = batch[1234..1300].to_vec();
    broken[10].previous_leaf_hash = B256::ZERO;
    let err = many.append_batch(&broken).unwrap_err();
    assert!(
        matches!(
            err,
            cairn_qmtree::Error::PreviousLeafMismatch { tx_num: 1244, .. }
        ),
        "{err}"
    );
    assert_eq!(many.leaf_count(), 1234);
    many.append_batch(&batch[1234..]).unwrap();
    assert_eq!(one.commit_block(0).unwrap(), many.commit_block(0).unwrap());
}
