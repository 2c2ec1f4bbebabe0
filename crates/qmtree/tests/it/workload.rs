//! Deterministic workload shared by the integration tests and the
//! `cairn-qmtree-testbin` child process.

#![cfg_attr(not(feature = "store"), allow(dead_code))]

use alloy_primitives::B256;
use cairn_qmtree::{Backend, QmTree, Result};

fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Leaves in block `block` (0..=299; some blocks are empty).
pub(crate) fn block_leaves(seed: u64, block: u64) -> u64 {
    let r = mix(seed ^ mix(block));
    if r.is_multiple_of(10) { 0 } else { r % 300 }
}

/// Components of leaf `tx`.
pub(crate) fn contents(seed: u64, tx: u64) -> (B256, B256, B256) {
    let word = |k: u64| {
        let mut b = [0u8; 32];
        for (i, c) in b.chunks_exact_mut(8).enumerate() {
            c.copy_from_slice(
                &mix(seed ^ mix(tx.wrapping_mul(8) + k * 4 + i as u64)).to_le_bytes(),
            );
        }
        B256::from(b)
    };
    (word(0), word(1), word(2))
}

/// Appends block `block`'s leaves (without committing) and returns how many.
pub(crate) fn append_leaves<B: Backend>(
    tree: &mut QmTree<B>,
    seed: u64,
    block: u64,
) -> Result<u64> {
    let n = block_leaves(seed, block);
    for _ in 0..n {
        let (a, b, c) = contents(seed, tree.leaf_count());
        tree.append_next(a, b, c)?;
    }
    Ok(n)
}

/// Appends block `block`'s leaves and commits it.
pub(crate) fn append_block<B: Backend>(
    tree: &mut QmTree<B>,
    seed: u64,
    block: u64,
) -> Result<B256> {
    append_leaves(tree, seed, block)?;
    tree.commit_block(block)
}
