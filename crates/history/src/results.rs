//! The results root: a Keccak Merkle root over `(subquery, result)` leaves.
//!
//! - `leaf = keccak256(subquery ‖ result)`: the subquery's six words
//!   ([`Subquery::encode`]) and the 32-byte result, 224 bytes.
//! - The leaves, in query order, are padded with `bytes32(0)` to the next power of two (one
//!   leaf needs no padding); `node = keccak256(left ‖ right)`; the root of a single leaf is
//!   the leaf. A leaf is a Keccak output, never zero, so padding cannot pass for a result.

use crate::{
    error::Result,
    mmr::hash_pair,
    subquery::{SUBQUERY_BYTES, Subquery},
};
use alloc::vec::Vec;
use alloy_primitives::{B256, keccak256};

/// `keccak256(subquery ‖ result)`.
///
/// # Errors
/// Mapping key encoding errors.
pub fn result_leaf(subquery: &Subquery, result: &B256) -> Result<B256> {
    let mut buf = [0u8; SUBQUERY_BYTES + 32];
    buf[..SUBQUERY_BYTES].copy_from_slice(&subquery.encode()?);
    buf[SUBQUERY_BYTES..].copy_from_slice(result.as_slice());
    Ok(keccak256(buf))
}

/// The Merkle root of `leaves` padded with zeros to a power of two (zero for no leaves).
pub fn results_root(leaves: &[B256]) -> B256 {
    if leaves.is_empty() {
        return B256::ZERO;
    }
    let mut level = padded(leaves);
    while level.len() > 1 {
        level = level.chunks(2).map(|p| hash_pair(&p[0], &p[1])).collect();
    }
    level[0]
}

fn padded(leaves: &[B256]) -> Vec<B256> {
    let mut level = leaves.to_vec();
    level.resize(leaves.len().next_power_of_two(), B256::ZERO);
    level
}

/// The Merkle path of leaf `index` (siblings bottom-up), for a consumer that checks one
/// result against a results root. `None` when `index` is out of range.
pub fn results_path(leaves: &[B256], index: usize) -> Option<Vec<B256>> {
    if index >= leaves.len() {
        return None;
    }
    let mut level = padded(leaves);
    let mut path = Vec::new();
    let mut i = index;
    while level.len() > 1 {
        path.push(level[i ^ 1]);
        level = level.chunks(2).map(|p| hash_pair(&p[0], &p[1])).collect();
        i /= 2;
    }
    Some(path)
}

/// The root that `leaf` at `index` and its `path` recompute.
pub fn root_from_path(leaf: &B256, index: usize, path: &[B256]) -> B256 {
    let mut node = *leaf;
    for (k, sibling) in path.iter().enumerate() {
        node = if (index >> k) & 1 == 0 {
            hash_pair(&node, sibling)
        } else {
            hash_pair(sibling, &node)
        };
    }
    node
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_and_paths() {
        let leaves: Vec<B256> = (0..7u8).map(|i| keccak256([i])).collect();
        assert_eq!(results_root(&leaves[..1]), leaves[0]);
        assert_eq!(
            results_root(&leaves[..2]),
            hash_pair(&leaves[0], &leaves[1])
        );
        let three = hash_pair(
            &hash_pair(&leaves[0], &leaves[1]),
            &hash_pair(&leaves[2], &B256::ZERO),
        );
        assert_eq!(results_root(&leaves[..3]), three);
        for n in 1..=leaves.len() {
            let root = results_root(&leaves[..n]);
            for i in 0..n {
                let path = results_path(&leaves[..n], i).unwrap();
                assert_eq!(root_from_path(&leaves[i], i, &path), root);
            }
            assert!(results_path(&leaves[..n], n).is_none());
        }
    }
}
