//! The QMTree batch binding: ties a batch proof to exactly the blocks between two per-block
//! QMTree roots, with Keccak and Merkle steps only (so a Solidity verifier checks the same).

use crate::{
    error::{BindingFault, Error, Result},
    public_values::PublicValues,
};
use alloc::vec::Vec;
use alloy_primitives::{B256, b256};
use alloy_sol_types::{SolValue, sol};
use cairn_qmtree::{
    InclusionProof, LeafComponents, RangeProof, depth, inclusion_root, verify_range,
};

/// `stateChangeHash` of a closing leaf: `keccak256("cairn.stateChange.v1" ‖ u32(0))`, the hash
/// of a step that changed nothing (`cairn_exec::commit::EMPTY_CHANGE_HASH`).
pub const EMPTY_CHANGE_HASH: B256 =
    b256!("cff5e462fb0edad9285818f7b5913461769dcd14ea4d2277f1124ffde34c2a3d");

sol! {
    /// Binds a batch's public values to two per-block QMTree roots (the crate docs give the
    /// verification rules). `abi.encode(BatchBinding)` is its encoding in `.seg` files and
    /// calldata.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct BatchBinding {
        /// QMTree root after block `firstBlock - 1`.
        bytes32 rootBefore;
        /// QMTree root after block `lastBlock`.
        bytes32 rootAfter;
        /// Leaves in the tree after block `firstBlock - 1` (its closing leaf is the last).
        uint64 leafCountBefore;
        /// Leaves in the tree after block `lastBlock`.
        uint64 leafCountAfter;
        /// Range proof nodes from `leafCountBefore` to `leafCountAfter` leaves (`RangeProof.nodes`).
        bytes32[] rangeNodes;
        /// `previousLeafHash` of the closing leaf of block `firstBlock - 1`.
        bytes32 previousLeafBefore;
        /// Inclusion-proof siblings of that leaf under `rootBefore`, bottom-up.
        bytes32[] siblingsBefore;
        /// `previousLeafHash` of the closing leaf of block `lastBlock`.
        bytes32 previousLeafAfter;
        /// Inclusion-proof siblings of that leaf under `rootAfter`, bottom-up.
        bytes32[] siblingsAfter;
    }
}

/// What a verified binding establishes: the two roots (to compare with trusted per-block
/// roots) and the leaf counts they stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundRoots {
    /// QMTree root after block `firstBlock - 1`.
    pub root_before: B256,
    /// QMTree root after block `lastBlock`.
    pub root_after: B256,
    /// Leaves after block `firstBlock - 1`.
    pub leaf_count_before: u64,
    /// Leaves after block `lastBlock`.
    pub leaf_count_after: u64,
}

/// The closing leaf of a block: `(stateRoot, EMPTY_CHANGE_HASH, blockHash, previousLeafHash)`.
pub fn closing_leaf(
    state_root: B256,
    block_hash: B256,
    previous_leaf_hash: B256,
) -> LeafComponents {
    LeafComponents {
        pre_state_hash: state_root,
        state_change_hash: EMPTY_CHANGE_HASH,
        transition_hash: block_hash,
        previous_leaf_hash,
    }
}

impl BatchBinding {
    /// The encoding: `abi.encode(binding)`.
    pub fn encode(&self) -> Vec<u8> {
        self.abi_encode()
    }

    /// Decodes `abi.encode(binding)`, strictly (re-encoding must give the same bytes).
    ///
    /// # Errors
    /// [`Error::Binding`] with [`BindingFault::Encoding`].
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let binding = <Self as SolValue>::abi_decode(bytes).map_err(|_| Error::Binding {
            fault: BindingFault::Encoding,
        })?;
        if binding.encode() != bytes {
            return Err(Error::Binding {
                fault: BindingFault::Encoding,
            });
        }
        Ok(binding)
    }

    /// Checks the binding against a batch's public values; returns the roots it binds them to,
    /// which the caller compares with the per-block roots it trusts (those of blocks
    /// `firstBlock - 1` and `lastBlock`).
    ///
    /// # Errors
    /// [`Error::Binding`] naming the failed rule (see the crate docs).
    pub fn verify(&self, pv: &PublicValues) -> Result<BoundRoots> {
        let fail = |fault| Err(Error::Binding { fault });
        let (before, after) = (self.leafCountBefore, self.leafCountAfter);
        if before == 0 || before >= after {
            return fail(BindingFault::LeafCounts { before, after });
        }
        check_closing(
            closing_leaf(pv.initialStateRoot, pv.parentHash, self.previousLeafBefore),
            before,
            &self.siblingsBefore,
            self.rootBefore,
            Side::Before,
        )?;
        check_closing(
            closing_leaf(pv.finalStateRoot, pv.lastBlockHash, self.previousLeafAfter),
            after,
            &self.siblingsAfter,
            self.rootAfter,
            Side::After,
        )?;
        let range = RangeProof {
            old_size: before,
            new_size: after,
            nodes: self.rangeNodes.clone(),
        };
        verify_range(&range, &self.rootBefore, &self.rootAfter).map_err(|_| Error::Binding {
            fault: BindingFault::Range,
        })?;
        Ok(BoundRoots {
            root_before: self.rootBefore,
            root_after: self.rootAfter,
            leaf_count_before: before,
            leaf_count_after: after,
        })
    }
}

/// Which closing leaf of a binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The closing leaf of block `firstBlock - 1`.
    Before,
    /// The closing leaf of block `lastBlock`.
    After,
}

impl core::fmt::Display for Side {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Before => "the closing leaf before the batch",
            Self::After => "the closing leaf of the last block",
        })
    }
}

/// The closing leaf must be the last of a tree of `count` leaves with root `root`: exactly
/// `depth(count)` siblings, every sibling right of its path empty, and the path hashes to
/// `root`.
fn check_closing(
    leaf: LeafComponents,
    count: u64,
    siblings: &[B256],
    root: B256,
    side: Side,
) -> Result<()> {
    let fail = |fault| Err(Error::Binding { fault });
    let tx_num = count - 1;
    if siblings.len() != depth(count) as usize {
        return fail(BindingFault::SiblingCount {
            side,
            got: siblings.len(),
            expected: depth(count) as usize,
        });
    }
    let proof = InclusionProof {
        tx_num,
        leaf_hash: leaf.hash(),
        siblings: siblings.to_vec(),
    };
    if !proof.is_last_leaf() {
        return fail(BindingFault::NotLastLeaf { side });
    }
    match inclusion_root(&proof) {
        Ok(computed) if computed == root => Ok(()),
        _ => fail(BindingFault::LeafNotUnderRoot { side }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;

    #[test]
    fn empty_change_hash_follows_its_definition() {
        let mut preimage = b"cairn.stateChange.v1".to_vec();
        preimage.extend_from_slice(&0u32.to_be_bytes());
        assert_eq!(keccak256(&preimage), EMPTY_CHANGE_HASH);
    }

    #[cfg(feature = "std")]
    #[test]
    fn empty_change_hash_is_the_executors() {
        assert_eq!(*cairn_exec::commit::EMPTY_CHANGE_HASH, EMPTY_CHANGE_HASH);
    }

    /// A tree of `blocks` blocks (block `b` has `b % 4` step leaves, then its closing leaf
    /// with state root `S(b)` and hash `H(b)`).
    fn chain(blocks: u64) -> cairn_qmtree::MemoryTree {
        let mut tree = cairn_qmtree::MemoryTree::new();
        for b in 0..blocks {
            for i in 0..b % 4 {
                let h = B256::with_last_byte(i as u8 + 1);
                tree.append_next(h, h, h).unwrap();
            }
            tree.append_next(state(b), EMPTY_CHANGE_HASH, hash(b))
                .unwrap();
            tree.commit_block(b).unwrap();
        }
        tree
    }

    fn state(b: u64) -> B256 {
        keccak256([b"state".as_slice(), &b.to_be_bytes()].concat())
    }

    fn hash(b: u64) -> B256 {
        keccak256([b"hash".as_slice(), &b.to_be_bytes()].concat())
    }

    fn bind(
        tree: &cairn_qmtree::MemoryTree,
        first: u64,
        last: u64,
    ) -> (BatchBinding, PublicValues) {
        let (before, after) = (tree.block(first - 1).unwrap(), tree.block(last).unwrap());
        let (tb, ta) = (before.leaf_count - 1, after.leaf_count - 1);
        let range = tree.range_proof(first - 1, last).unwrap();
        let binding = BatchBinding {
            rootBefore: before.root,
            rootAfter: after.root,
            leafCountBefore: before.leaf_count,
            leafCountAfter: after.leaf_count,
            rangeNodes: range.nodes,
            previousLeafBefore: tree.leaf(tb).unwrap().components.previous_leaf_hash,
            siblingsBefore: tree.proof(tb, first - 1).unwrap().siblings,
            previousLeafAfter: tree.leaf(ta).unwrap().components.previous_leaf_hash,
            siblingsAfter: tree.proof(ta, last).unwrap().siblings,
        };
        let pv = PublicValues {
            firstBlock: first,
            lastBlock: last,
            parentHash: hash(first - 1),
            lastBlockHash: hash(last),
            initialStateRoot: state(first - 1),
            finalStateRoot: state(last),
            ..Default::default()
        };
        (binding, pv)
    }

    #[test]
    fn honest_bindings_verify_and_others_do_not() {
        let tree = chain(42);
        for (first, last) in [(1, 1), (1, 39), (5, 12), (17, 17), (30, 39)] {
            let (binding, pv) = bind(&tree, first, last);
            let roots = binding.verify(&pv).unwrap();
            assert_eq!(roots.root_before, tree.root_at(first - 1).unwrap());
            assert_eq!(roots.root_after, tree.root_at(last).unwrap());
            assert_eq!(BatchBinding::decode(&binding.encode()).unwrap(), binding);
            // Public values of a shifted range do not fit this binding.
            let (_, shifted) = bind(&tree, first + 1, last + 1);
            assert!(binding.verify(&shifted).is_err(), "{first}..{last}");
            // Nor a different last block or state.
            let mut other = pv.clone();
            other.finalStateRoot = state(last + 1);
            assert!(binding.verify(&other).is_err());
            let mut other = pv.clone();
            other.parentHash = hash(first);
            assert!(binding.verify(&other).is_err());
        }
    }

    #[test]
    fn a_leaf_that_is_not_last_is_refused() {
        let tree = chain(12);
        let (mut binding, pv) = bind(&tree, 3, 9);
        // Claim a later root (block 10) with the same proof of block 9's closing leaf.
        binding.rootAfter = tree.root_at(10).unwrap();
        assert!(binding.verify(&pv).is_err());
        let (mut binding, pv) = bind(&tree, 3, 9);
        binding.leafCountAfter += 1;
        assert!(matches!(binding.verify(&pv), Err(Error::Binding { .. })));
        let (mut binding, pv) = bind(&tree, 3, 9);
        binding.rangeNodes.pop();
        assert!(matches!(
            binding.verify(&pv),
            Err(Error::Binding {
                fault: BindingFault::Range
            })
        ));
    }
}
