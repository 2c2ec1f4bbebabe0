//! Tree shape arithmetic: depths, frontiers, sibling sets and store positions.
//!
//! Positions are computed in `u128` so that `(index + 1) << level` cannot
//! overflow for any `u64` leaf count.

use alloy_primitives::B256;

use crate::hash::{EMPTY_SUBTREE, node_hash};

/// Height of a stored subtree: 2^11 = 2048 leaves.
pub(crate) const SUBTREE_HEIGHT: u32 = 11;
/// Leaves per stored subtree.
pub(crate) const SUBTREE_LEAVES: u64 = 1 << SUBTREE_HEIGHT;
/// Lowest internal level kept on disk; levels 1..=4 are recomputed from a
/// 32-leaf group when needed.
pub(crate) const GROUP_HEIGHT: u32 = 5;
/// Leaves per group (the unit of leaf-hash checksums).
pub(crate) const GROUP_LEAVES: u64 = 1 << GROUP_HEIGHT;
/// Groups per subtree.
pub(crate) const GROUPS_PER_SUBTREE: u64 = SUBTREE_LEAVES / GROUP_LEAVES;
/// Internal nodes stored per subtree (levels 5..=11: 64 + 32 + … + 1).
pub(crate) const STORED_INTERNAL_NODES: usize = (1 << (SUBTREE_HEIGHT - GROUP_HEIGHT + 1)) - 1;

/// Depth of a tree with `n` leaves: `ceil(log2(n))`, and 0 for `n <= 1`.
pub const fn depth(n: u64) -> u32 {
    if n <= 1 {
        0
    } else {
        64 - (n - 1).leading_zeros()
    }
}

/// First leaf covered by node `(level, index)`.
#[inline]
pub(crate) const fn node_start(level: u32, index: u64) -> u128 {
    (index as u128) << level
}

/// One past the last leaf covered by node `(level, index)`.
#[inline]
pub(crate) const fn node_end(level: u32, index: u64) -> u128 {
    (index as u128 + 1) << level
}

/// Levels (ascending) at which a range proof from `old` to `new` leaves
/// carries a right-hand node, after the first new leaf.
pub(crate) fn range_right_levels(old: u64, new: u64) -> impl Iterator<Item = u32> {
    (0..depth(new))
        .filter(move |&h| (old >> h) & 1 == 0 && node_start(h, (old >> h) + 1) < new as u128)
}

/// Number of nodes in a range proof from `old` to `new` leaves.
pub(crate) fn range_node_count(old: u64, new: u64) -> usize {
    if old == 0 || old >= new {
        return 0;
    }
    old.count_ones() as usize + 1 + range_right_levels(old, new).count()
}

/// Root (top node) of a tree of `n` leaves from its frontier: `frontier(h)`
/// returns the complete node at level `h`, index `(n >> h) - 1`, for each set
/// bit `h` of `n`.
pub(crate) fn tree_hash_from_frontier<E>(
    n: u64,
    mut frontier: impl FnMut(u32) -> Result<B256, E>,
) -> Result<B256, E> {
    if n == 0 {
        return Ok(EMPTY_SUBTREE[0]);
    }
    if n.is_power_of_two() {
        return frontier(n.trailing_zeros());
    }
    let low = n.trailing_zeros();
    // Below the lowest set bit, the ancestor of position `n` is all padding.
    let mut node = EMPTY_SUBTREE[low as usize];
    for h in low..depth(n) {
        node = if (n >> h) & 1 == 1 {
            node_hash(&frontier(h)?, &node)
        } else {
            node_hash(&node, &EMPTY_SUBTREE[h as usize])
        };
    }
    Ok(node)
}

/// Upper nodes (levels above a subtree root) completed once `m` subtrees are full.
#[inline]
pub(crate) const fn upper_count(m: u64) -> u64 {
    m - m.count_ones() as u64
}

/// Position in the upper-node file of node `(SUBTREE_HEIGHT + j, index)`, `j >= 1`.
///
/// Upper nodes are appended in the order they complete: when subtree `s`
/// fills, the nodes it completes are written from low level to high.
#[inline]
pub(crate) const fn upper_pos(j: u32, index: u64) -> u64 {
    let completes_at = (index + 1) << j;
    upper_count(completes_at - 1) + (j as u64 - 1)
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use super::*;

    #[test]
    fn depths() {
        assert_eq!(depth(0), 0);
        assert_eq!(depth(1), 0);
        assert_eq!(depth(2), 1);
        assert_eq!(depth(3), 2);
        assert_eq!(depth(4), 2);
        assert_eq!(depth(5), 3);
        assert_eq!(depth(1 << 32), 32);
        assert_eq!(depth((1 << 32) + 1), 33);
        assert_eq!(depth(u64::MAX), 64);
    }

    #[test]
    fn upper_positions_follow_completion_order() {
        // Simulate completing subtrees and record the order nodes appear in.
        let mut order = Vec::new();
        for s in 0u64..200 {
            let (mut j, mut idx) = (0u32, s);
            while idx & 1 == 1 {
                j += 1;
                idx >>= 1;
                order.push((j, idx));
            }
            assert_eq!(order.len() as u64, upper_count(s + 1));
        }
        for (pos, &(j, idx)) in order.iter().enumerate() {
            assert_eq!(upper_pos(j, idx), pos as u64, "level {j} index {idx}");
        }
    }
}
