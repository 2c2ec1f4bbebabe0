//! The tree engine, generic over the [`Backend`] that keeps complete data.

use alloc::{boxed::Box, vec, vec::Vec};
use core::ops::Range;

use alloy_primitives::B256;
use serde::Serialize;

use crate::{
    batch,
    error::{Error, Result},
    hash::{EMPTY_SUBTREE, LeafComponents, node_hash},
    proof::{InclusionProof, RangeProof, verify_inclusion, verify_range},
    shape::{
        GROUP_HEIGHT, GROUP_LEAVES, GROUPS_PER_SUBTREE, STORED_INTERNAL_NODES, SUBTREE_HEIGHT,
        SUBTREE_LEAVES, depth, node_end, node_start, range_right_levels, tree_hash_from_frontier,
        upper_pos,
    },
};

/// How far back [`QmTree::rewind`] may go, in blocks.
pub const MAX_REWIND_BLOCKS: u64 = 512;

/// Components handed to the backend in one go at most this many at a time
/// between commits, so that a long uncommitted run stays bounded in memory.
const PENDING_FLUSH: usize = 4096;

/// A committed block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockInfo {
    /// Block number.
    pub number: u64,
    /// Leaves in the tree after this block (`lastTxNum + 1`).
    pub leaf_count: u64,
    /// QMTree root over leaves `[0, leaf_count)`.
    pub root: B256,
    /// Hash of leaf `leaf_count - 1` (zero when the tree is empty).
    pub last_leaf_hash: B256,
}

/// A leaf as stored: its components and its hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Leaf {
    /// Its index.
    pub tx_num: u64,
    /// Its four components.
    pub components: LeafComponents,
    /// `components.hash()`.
    pub hash: B256,
}

/// A full 2048-leaf subtree: the leaf hashes and the internal nodes of
/// levels 5..=11 (64 + 32 + … + 1 = 127, level-major, left to right).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subtree {
    /// The 2048 leaf hashes.
    pub leaves: Box<[B256]>,
    /// Levels 5..=11; the last entry is the subtree root.
    pub internal: [B256; STORED_INTERNAL_NODES],
}

/// Offset of level `h` (5..=11) in [`Subtree::internal`].
#[inline]
pub(crate) const fn internal_offset(h: u32) -> usize {
    (1 << (SUBTREE_HEIGHT + 1 - GROUP_HEIGHT)) - (1 << (SUBTREE_HEIGHT + 1 - h))
}

/// Where a [`QmTree`] keeps leaf components, full subtrees, upper nodes and
/// block records. Writes only ever append; [`Backend::truncate`] undoes them
/// back to a committed block.
pub trait Backend {
    /// Stores the components (without `previous_leaf_hash`, which is the
    /// previous leaf's hash) of leaves `first_tx..first_tx + leaves.len()`.
    ///
    /// # Errors
    /// Storage errors.
    fn put_components(&mut self, first_tx: u64, leaves: &[LeafComponents]) -> Result<()>;
    /// Stores full subtree number `index`.
    ///
    /// # Errors
    /// Storage errors.
    fn put_subtree(&mut self, index: u64, subtree: &Subtree) -> Result<()>;
    /// Stores the upper node at position `pos` (see the crate docs).
    ///
    /// # Errors
    /// Storage errors.
    fn put_upper(&mut self, pos: u64, node: &B256) -> Result<()>;
    /// Makes everything stored so far durable, then records `block`.
    ///
    /// # Errors
    /// Storage errors.
    fn commit(&mut self, block: &BlockInfo) -> Result<()>;
    /// Forgets every block after `block` and every write past it.
    ///
    /// # Errors
    /// Storage errors.
    fn truncate(&mut self, block: &BlockInfo) -> Result<()>;
    /// The last committed block.
    ///
    /// # Errors
    /// Storage errors.
    fn latest_block(&self) -> Result<Option<BlockInfo>>;
    /// The first committed block's number.
    fn first_block(&self) -> Option<u64>;
    /// A committed block, or `None`.
    ///
    /// # Errors
    /// Storage errors.
    fn block(&self, number: u64) -> Result<Option<BlockInfo>>;
    /// Stored components of `first..first + count` (previous hash zeroed).
    ///
    /// # Errors
    /// Storage errors.
    fn components(&self, first: u64, count: usize) -> Result<Vec<LeafComponents>>;
    /// The 32 leaf hashes of group `group` of full subtree `subtree`.
    ///
    /// # Errors
    /// Storage errors.
    fn leaf_group(&self, subtree: u64, group: u64) -> Result<[B256; GROUP_LEAVES as usize]>;
    /// The stored internal nodes (levels 5..=11) of full subtree `subtree`.
    ///
    /// # Errors
    /// Storage errors.
    fn subtree_internal(&self, subtree: u64) -> Result<[B256; STORED_INTERNAL_NODES]>;
    /// The upper node at position `pos`.
    ///
    /// # Errors
    /// Storage errors.
    fn upper(&self, pos: u64) -> Result<B256>;
}

/// Everything in RAM: O(N) memory, for tests, tools and benchmarks.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    components: Vec<LeafComponents>,
    subtrees: Vec<Subtree>,
    upper: Vec<B256>,
    blocks: Vec<BlockInfo>,
}

impl Backend for MemoryBackend {
    fn put_components(&mut self, first_tx: u64, leaves: &[LeafComponents]) -> Result<()> {
        if first_tx != self.components.len() as u64 {
            return Err(Error::Inconsistent {
                what: "components appended out of order",
                tx_num: first_tx,
            });
        }
        self.components
            .extend(leaves.iter().map(|c| LeafComponents {
                previous_leaf_hash: B256::ZERO,
                ..*c
            }));
        Ok(())
    }

    fn put_subtree(&mut self, index: u64, subtree: &Subtree) -> Result<()> {
        if index != self.subtrees.len() as u64 {
            return Err(Error::Inconsistent {
                what: "subtree appended out of order",
                tx_num: index * SUBTREE_LEAVES,
            });
        }
        self.subtrees.push(subtree.clone());
        Ok(())
    }

    fn put_upper(&mut self, pos: u64, node: &B256) -> Result<()> {
        if pos != self.upper.len() as u64 {
            return Err(Error::Inconsistent {
                what: "upper node appended out of order",
                tx_num: 0,
            });
        }
        self.upper.push(*node);
        Ok(())
    }

    fn commit(&mut self, block: &BlockInfo) -> Result<()> {
        self.blocks.push(*block);
        Ok(())
    }

    fn truncate(&mut self, block: &BlockInfo) -> Result<()> {
        let Some(first) = self.blocks.first().map(|b| b.number) else {
            return Err(Error::BlockNotFound {
                block: block.number,
            });
        };
        let keep = block.number.saturating_sub(first) as usize + 1;
        self.blocks.truncate(keep);
        let n = block.leaf_count;
        self.components.truncate(n as usize);
        let full = n / SUBTREE_LEAVES;
        self.subtrees.truncate(full as usize);
        self.upper
            .truncate(crate::shape::upper_count(full) as usize);
        Ok(())
    }

    fn latest_block(&self) -> Result<Option<BlockInfo>> {
        Ok(self.blocks.last().copied())
    }

    fn first_block(&self) -> Option<u64> {
        self.blocks.first().map(|b| b.number)
    }

    fn block(&self, number: u64) -> Result<Option<BlockInfo>> {
        let Some(first) = self.first_block() else {
            return Ok(None);
        };
        Ok(number
            .checked_sub(first)
            .and_then(|i| self.blocks.get(usize::try_from(i).ok()?))
            .copied())
    }

    fn components(&self, first: u64, count: usize) -> Result<Vec<LeafComponents>> {
        let start = first as usize;
        self.components
            .get(start..start + count)
            .map(<[_]>::to_vec)
            .ok_or(Error::TxOutOfRange {
                tx_num: first + count as u64,
                leaf_count: self.components.len() as u64,
            })
    }

    fn leaf_group(&self, subtree: u64, group: u64) -> Result<[B256; GROUP_LEAVES as usize]> {
        let s = self.subtree(subtree)?;
        let start = (group * GROUP_LEAVES) as usize;
        let mut out = [B256::ZERO; GROUP_LEAVES as usize];
        out.copy_from_slice(&s.leaves[start..start + GROUP_LEAVES as usize]);
        Ok(out)
    }

    fn subtree_internal(&self, subtree: u64) -> Result<[B256; STORED_INTERNAL_NODES]> {
        Ok(self.subtree(subtree)?.internal)
    }

    fn upper(&self, pos: u64) -> Result<B256> {
        self.upper
            .get(pos as usize)
            .copied()
            .ok_or(Error::Inconsistent {
                what: "upper node not stored",
                tx_num: 0,
            })
    }
}

impl MemoryBackend {
    fn subtree(&self, index: u64) -> Result<&Subtree> {
        self.subtrees
            .get(index as usize)
            .ok_or(Error::Inconsistent {
                what: "subtree not stored",
                tx_num: index * SUBTREE_LEAVES,
            })
    }
}

/// The QMTree: an append-only binary Merkle tree of leaves indexed by txNum,
/// with one root per committed block. See the crate docs for the shape.
///
/// Memory: the open (incomplete) 2048-leaf subtree, the frontier of O(log N)
/// nodes, and the components appended since the last commit; everything
/// else is in the [`Backend`].
#[derive(Debug)]
pub struct QmTree<B> {
    backend: B,
    leaf_count: u64,
    last_leaf: B256,
    /// Levels 0..=11 of the open subtree; level `h` holds the complete nodes.
    open: Vec<Vec<B256>>,
    /// `upper_frontier[h - 11]`: the last complete left node at level `h >= 11`.
    upper_frontier: [B256; 64 - SUBTREE_HEIGHT as usize + 1],
    /// Components not yet handed to the backend; the first is leaf
    /// `leaf_count - pending.len()`.
    pending: Vec<LeafComponents>,
    scratch: Vec<B256>,
    latest: Option<BlockInfo>,
    poisoned: bool,
}

/// The in-memory tree.
pub type MemoryTree = QmTree<MemoryBackend>;

impl Default for MemoryTree {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryTree {
    /// An empty in-memory tree.
    pub fn new() -> Self {
        Self::blank(MemoryBackend::default())
    }
}

impl<B: Backend> QmTree<B> {
    fn blank(backend: B) -> Self {
        Self {
            backend,
            leaf_count: 0,
            last_leaf: B256::ZERO,
            open: (0..=SUBTREE_HEIGHT)
                .map(|h| Vec::with_capacity((SUBTREE_LEAVES >> h) as usize))
                .collect(),
            upper_frontier: [B256::ZERO; 64 - SUBTREE_HEIGHT as usize + 1],
            pending: Vec::new(),
            scratch: Vec::new(),
            latest: None,
            poisoned: false,
        }
    }

    /// Opens a tree over `backend`, recovering its last committed block.
    ///
    /// # Errors
    /// Backend errors, or [`Error::Inconsistent`] when the stored data does
    /// not reproduce the last committed root.
    pub fn with_backend(backend: B) -> Result<Self> {
        let latest = backend.latest_block()?;
        let mut tree = Self::blank(backend);
        tree.restore(latest)?;
        Ok(tree)
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The backend, giving up the tree (the store's tests simulate crashes
    /// with it).
    #[cfg(all(test, feature = "store"))]
    pub(crate) fn into_backend(self) -> B {
        self.backend
    }

    /// Leaves appended so far, committed or not; the next txNum.
    pub fn leaf_count(&self) -> u64 {
        self.leaf_count
    }

    /// Hash of the last appended leaf (zero when empty): the
    /// `previous_leaf_hash` the next leaf must carry.
    pub fn last_leaf_hash(&self) -> B256 {
        self.last_leaf
    }

    /// The last committed block.
    pub fn latest_block(&self) -> Option<BlockInfo> {
        self.latest
    }

    /// The first committed block's number.
    pub fn first_block(&self) -> Option<u64> {
        self.backend.first_block()
    }

    fn check_usable(&self) -> Result<()> {
        if self.poisoned {
            Err(Error::Poisoned)
        } else {
            Ok(())
        }
    }

    /// Runs a write; any error leaves the tree poisoned.
    fn guarded<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.check_usable()?;
        let out = f(self);
        if out.is_err() {
            self.poisoned = true;
        }
        out
    }

    /// Runs a backend operation; any error leaves the tree poisoned.
    #[cfg(feature = "store")]
    pub(crate) fn guarded_backend<T>(&mut self, f: impl FnOnce(&mut B) -> Result<T>) -> Result<T> {
        self.guarded(|t| f(&mut t.backend))
    }

    /// Appends one leaf and returns its txNum.
    ///
    /// # Errors
    /// [`Error::PreviousLeafMismatch`] when `components.previous_leaf_hash` is
    /// not the last leaf's hash (nothing is appended); storage errors.
    pub fn append(&mut self, components: LeafComponents) -> Result<u64> {
        self.check_usable()?;
        self.check_room(1)?;
        if components.previous_leaf_hash != self.last_leaf {
            return Err(Error::PreviousLeafMismatch {
                tx_num: self.leaf_count,
                expected: self.last_leaf,
                got: components.previous_leaf_hash,
            });
        }
        let hash = components.hash();
        let tx = self.leaf_count;
        self.guarded(|t| t.push_leaves(&[components], &[hash]))?;
        Ok(tx)
    }

    /// Appends a leaf whose `previous_leaf_hash` is filled in from the tree.
    ///
    /// # Errors
    /// Storage errors.
    pub fn append_next(
        &mut self,
        pre_state_hash: B256,
        state_change_hash: B256,
        transition_hash: B256,
    ) -> Result<u64> {
        self.append(LeafComponents {
            pre_state_hash,
            state_change_hash,
            transition_hash,
            previous_leaf_hash: self.last_leaf,
        })
    }

    /// Appends leaves in order and returns their txNums. The leaf hashes are
    /// computed in SIMD batches; the chain is checked before anything is
    /// appended, so on error the tree is unchanged.
    ///
    /// # Errors
    /// [`Error::PreviousLeafMismatch`] for the first leaf that does not
    /// chain; storage errors.
    pub fn append_batch(&mut self, leaves: &[LeafComponents]) -> Result<Range<u64>> {
        self.check_usable()?;
        self.check_room(leaves.len() as u64)?;
        let first = self.leaf_count;
        let mut hashes = core::mem::take(&mut self.scratch);
        hashes.clear();
        hashes.resize(leaves.len(), B256::ZERO);
        batch::hash_leaves(leaves, &mut hashes);
        let mut prev = self.last_leaf;
        for (i, (c, h)) in leaves.iter().zip(&hashes).enumerate() {
            if c.previous_leaf_hash != prev {
                self.scratch = hashes;
                return Err(Error::PreviousLeafMismatch {
                    tx_num: first + i as u64,
                    expected: prev,
                    got: c.previous_leaf_hash,
                });
            }
            prev = *h;
        }
        let out = self.guarded(|t| t.push_leaves(leaves, &hashes));
        self.scratch = hashes;
        out.map(|()| first..first + leaves.len() as u64)
    }

    fn check_room(&self, more: u64) -> Result<()> {
        match self.leaf_count.checked_add(more) {
            Some(_) => Ok(()),
            None => Err(Error::TreeFull {
                leaf_count: self.leaf_count,
            }),
        }
    }

    fn push_leaves(&mut self, leaves: &[LeafComponents], hashes: &[B256]) -> Result<()> {
        let mut done = 0;
        while done < leaves.len() {
            let room = SUBTREE_LEAVES as usize - self.open[0].len();
            let take = room.min(leaves.len() - done);
            self.open[0].extend_from_slice(&hashes[done..done + take]);
            self.pending.extend_from_slice(&leaves[done..done + take]);
            self.leaf_count += take as u64;
            done += take;
            if self.open[0].len() == SUBTREE_LEAVES as usize {
                self.finish_subtree()?;
            }
        }
        if let Some(h) = hashes.last() {
            self.last_leaf = *h;
        }
        if self.pending.len() >= PENDING_FLUSH {
            self.flush_pending()?;
        }
        Ok(())
    }

    fn flush_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let first = self.leaf_count - self.pending.len() as u64;
        self.backend.put_components(first, &self.pending)?;
        self.pending.clear();
        Ok(())
    }

    /// Computes the complete internal nodes of the open subtree, level by
    /// level, in SIMD batches.
    fn settle(&mut self) {
        for h in 1..=SUBTREE_HEIGHT as usize {
            let (lower, upper) = self.open.split_at_mut(h);
            let below = &lower[h - 1];
            let level = &mut upper[0];
            let have = level.len();
            let want = below.len() / 2;
            if want > have {
                let start = level.len();
                level.resize(want, B256::ZERO);
                batch::hash_pairs(&below[2 * have..2 * want], &mut level[start..]);
            }
        }
    }

    fn finish_subtree(&mut self) -> Result<()> {
        self.settle();
        self.flush_pending()?;
        let index = (self.leaf_count - 1) / SUBTREE_LEAVES;
        let mut internal = [B256::ZERO; STORED_INTERNAL_NODES];
        for h in GROUP_HEIGHT..=SUBTREE_HEIGHT {
            let off = internal_offset(h);
            let level = &self.open[h as usize];
            internal[off..off + level.len()].copy_from_slice(level);
        }
        // The leaf level is lent to the backend and taken back (even on
        // error, so that `leaf` keeps working on a poisoned tree).
        let subtree = Subtree {
            leaves: core::mem::take(&mut self.open[0]).into_boxed_slice(),
            internal,
        };
        let written = self.backend.put_subtree(index, &subtree);
        self.open[0] = subtree.leaves.into_vec();
        written?;
        // Carry the new subtree root up the frontier, writing completed nodes.
        let mut node = internal[STORED_INTERNAL_NODES - 1];
        let (mut j, mut idx) = (0u32, index);
        while idx & 1 == 1 {
            node = node_hash(&self.upper_frontier[j as usize], &node);
            j += 1;
            idx >>= 1;
            self.backend.put_upper(upper_pos(j, idx), &node)?;
        }
        self.upper_frontier[j as usize] = node;
        for level in &mut self.open {
            level.clear();
        }
        Ok(())
    }

    /// Root over every leaf appended so far, committed or not.
    pub fn current_root(&mut self) -> B256 {
        self.settle();
        self.root_now()
    }

    fn root_now(&self) -> B256 {
        let n = self.leaf_count;
        let m = n % SUBTREE_LEAVES;
        tree_hash_from_frontier::<core::convert::Infallible>(n, |h| {
            Ok(if h < SUBTREE_HEIGHT {
                self.open[h as usize][((m >> h) - 1) as usize]
            } else {
                self.upper_frontier[(h - SUBTREE_HEIGHT) as usize]
            })
        })
        .unwrap_or_default()
    }

    /// Commits the leaves appended since the last commit as block `number`
    /// and returns its root. The first block may have any number; each
    /// later one must be the previous plus one. A block may have no leaves.
    ///
    /// # Errors
    /// [`Error::NonContiguousBlock`]; storage errors (which poison the tree).
    pub fn commit_block(&mut self, number: u64) -> Result<B256> {
        self.check_usable()?;
        if let Some(latest) = self.latest {
            let expected = latest
                .number
                .checked_add(1)
                .ok_or(Error::NonContiguousBlock {
                    expected: latest.number,
                    got: number,
                })?;
            if number != expected {
                return Err(Error::NonContiguousBlock {
                    expected,
                    got: number,
                });
            }
        }
        self.guarded(|t| {
            let root = t.current_root();
            t.flush_pending()?;
            let info = BlockInfo {
                number,
                leaf_count: t.leaf_count,
                root,
                last_leaf_hash: t.last_leaf,
            };
            t.backend.commit(&info)?;
            t.latest = Some(info);
            Ok(root)
        })
    }

    /// A committed block.
    ///
    /// # Errors
    /// [`Error::BlockNotFound`]; storage errors.
    pub fn block(&self, number: u64) -> Result<BlockInfo> {
        if let Some(latest) = self.latest
            && latest.number == number
        {
            return Ok(latest);
        }
        match self.latest {
            Some(latest) if number < latest.number => self
                .backend
                .block(number)?
                .ok_or(Error::BlockNotFound { block: number }),
            _ => Err(Error::BlockNotFound { block: number }),
        }
    }

    /// Root of a committed block.
    ///
    /// # Errors
    /// [`Error::BlockNotFound`]; storage errors.
    pub fn root_at(&self, block: u64) -> Result<B256> {
        Ok(self.block(block)?.root)
    }

    /// A leaf's components and hash (committed or not).
    ///
    /// # Errors
    /// [`Error::TxOutOfRange`]; storage errors; [`Error::Inconsistent`] if
    /// the stored components do not hash to the stored leaf hash.
    pub fn leaf(&self, tx_num: u64) -> Result<Leaf> {
        if tx_num >= self.leaf_count {
            return Err(Error::TxOutOfRange {
                tx_num,
                leaf_count: self.leaf_count,
            });
        }
        let first_pending = self.leaf_count - self.pending.len() as u64;
        let (hash, components) = if tx_num >= first_pending {
            (
                self.leaf_hash(tx_num)?,
                self.pending[(tx_num - first_pending) as usize],
            )
        } else {
            let (hash, previous_leaf_hash) = self.leaf_and_previous_hash(tx_num)?;
            let stored = self.backend.components(tx_num, 1)?;
            let components = LeafComponents {
                previous_leaf_hash,
                ..stored[0]
            };
            (hash, components)
        };
        if components.hash() != hash {
            return Err(Error::Inconsistent {
                what: "stored components do not hash to the stored leaf",
                tx_num,
            });
        }
        Ok(Leaf {
            tx_num,
            components,
            hash,
        })
    }

    /// The hashes of leaf `tx_num` and of the leaf before it (zero for leaf
    /// 0), from one group read when both are in the same stored group.
    fn leaf_and_previous_hash(&self, tx_num: u64) -> Result<(B256, B256)> {
        let full = self.leaf_count / SUBTREE_LEAVES * SUBTREE_LEAVES;
        if tx_num < full && !tx_num.is_multiple_of(GROUP_LEAVES) {
            let group = self.backend.leaf_group(
                tx_num / SUBTREE_LEAVES,
                (tx_num % SUBTREE_LEAVES) / GROUP_LEAVES,
            )?;
            let k = (tx_num % GROUP_LEAVES) as usize;
            return Ok((group[k], group[k - 1]));
        }
        let previous = match tx_num.checked_sub(1) {
            Some(p) => self.leaf_hash(p)?,
            None => B256::ZERO,
        };
        Ok((self.leaf_hash(tx_num)?, previous))
    }

    fn leaf_hash(&self, tx_num: u64) -> Result<B256> {
        let full = self.leaf_count / SUBTREE_LEAVES * SUBTREE_LEAVES;
        if tx_num >= full {
            return Ok(self.open[0][(tx_num - full) as usize]);
        }
        let group = self.backend.leaf_group(
            tx_num / SUBTREE_LEAVES,
            (tx_num % SUBTREE_LEAVES) / GROUP_LEAVES,
        )?;
        Ok(group[(tx_num % GROUP_LEAVES) as usize])
    }

    /// Inclusion proof of leaf `tx_num` against the root of block `at_block`.
    /// The proof is checked against that root before it is returned.
    ///
    /// # Errors
    /// [`Error::BlockNotFound`], [`Error::TxOutOfRange`] (the leaf came after
    /// the block); storage errors; [`Error::Inconsistent`] or
    /// [`Error::UnprovableRoot`] if stored data does not lead to the committed
    /// root.
    pub fn proof(&self, tx_num: u64, at_block: u64) -> Result<InclusionProof> {
        let block = self.block(at_block)?;
        let n = block.leaf_count;
        if tx_num >= n {
            return Err(Error::TxOutOfRange {
                tx_num,
                leaf_count: n,
            });
        }
        let mut reader = NodeReader::new(self);
        let leaf_hash = reader.complete(0, tx_num)?;
        // Every level's sibling, empty subtrees included: the verifier does
        // not know `n`.
        let siblings = (0..depth(n))
            .map(|h| reader.prefix(h, (tx_num >> h) ^ 1, n))
            .collect::<Result<Vec<_>>>()?;
        let proof = InclusionProof {
            tx_num,
            leaf_hash,
            siblings,
        };
        verify_inclusion(&proof, &block.root).map_err(|e| Error::UnprovableRoot {
            tx_num,
            source: e.into(),
        })?;
        Ok(proof)
    }

    /// Range proof that the root of block `to_block` extends the root of
    /// block `from_block` by appends only. Checked before it is returned.
    ///
    /// # Errors
    /// [`Error::InvalidRange`], [`Error::BlockNotFound`]; storage errors;
    /// [`Error::Inconsistent`] or [`Error::UnprovableRoot`] as for [`QmTree::proof`].
    pub fn range_proof(&self, from_block: u64, to_block: u64) -> Result<RangeProof> {
        if from_block > to_block {
            return Err(Error::InvalidRange {
                from: from_block,
                to: to_block,
            });
        }
        let (a, b) = (self.block(from_block)?, self.block(to_block)?);
        let (old, new) = (a.leaf_count, b.leaf_count);
        let mut nodes = Vec::new();
        if old != 0 && old < new {
            let mut reader = NodeReader::new(self);
            for h in (0..64).filter(|h| (old >> h) & 1 == 1) {
                nodes.push(reader.complete(h, (old >> h) - 1)?);
            }
            nodes.push(reader.complete(0, old)?);
            for h in range_right_levels(old, new) {
                nodes.push(reader.prefix(h, (old >> h) + 1, new)?);
            }
        }
        let proof = RangeProof {
            old_size: old,
            new_size: new,
            nodes,
        };
        verify_range(&proof, &a.root, &b.root).map_err(|e| Error::UnprovableRoot {
            tx_num: old,
            source: e.into(),
        })?;
        Ok(proof)
    }

    /// Rewinds to committed block `block` (a reorg): later blocks and any
    /// uncommitted leaves are dropped. At most [`MAX_REWIND_BLOCKS`] back.
    ///
    /// # Errors
    /// [`Error::RewindTooDeep`], [`Error::BlockNotFound`]; storage errors.
    pub fn rewind(&mut self, block: u64) -> Result<BlockInfo> {
        self.check_usable()?;
        let Some(latest) = self.latest else {
            return Err(Error::BlockNotFound { block });
        };
        if block > latest.number {
            return Err(Error::BlockNotFound { block });
        }
        if latest.number - block > MAX_REWIND_BLOCKS {
            return Err(Error::RewindTooDeep {
                target: block,
                latest: latest.number,
                max: MAX_REWIND_BLOCKS,
            });
        }
        let info = self.block(block)?;
        self.guarded(|t| {
            t.backend.truncate(&info)?;
            t.restore(Some(info))?;
            Ok(info)
        })
    }

    /// Rebuilds the in-memory state (open subtree, frontier) for `latest`
    /// from the backend and checks it reproduces the committed root.
    fn restore(&mut self, latest: Option<BlockInfo>) -> Result<()> {
        let n = latest.map_or(0, |b| b.leaf_count);
        let full_subtrees = n / SUBTREE_LEAVES;
        self.upper_frontier = [B256::ZERO; 64 - SUBTREE_HEIGHT as usize + 1];
        for h in (SUBTREE_HEIGHT..64).filter(|h| (n >> h) & 1 == 1) {
            self.upper_frontier[(h - SUBTREE_HEIGHT) as usize] = if h == SUBTREE_HEIGHT {
                self.backend.subtree_internal(full_subtrees - 1)?[STORED_INTERNAL_NODES - 1]
            } else {
                self.backend
                    .upper(upper_pos(h - SUBTREE_HEIGHT, (n >> h) - 1))?
            };
        }
        for level in &mut self.open {
            level.clear();
        }
        self.pending.clear();
        let first_open = full_subtrees * SUBTREE_LEAVES;
        let mut prev = if full_subtrees > 0 {
            self.backend
                .leaf_group(full_subtrees - 1, GROUPS_PER_SUBTREE - 1)?[GROUP_LEAVES as usize - 1]
        } else {
            B256::ZERO
        };
        if n > first_open {
            for c in self
                .backend
                .components(first_open, (n - first_open) as usize)?
            {
                prev = LeafComponents {
                    previous_leaf_hash: prev,
                    ..c
                }
                .hash();
                self.open[0].push(prev);
            }
        }
        self.leaf_count = n;
        self.last_leaf = prev;
        self.latest = latest;
        self.poisoned = false;
        self.settle();
        if let Some(b) = latest
            && (b.last_leaf_hash != prev || b.root != self.root_now())
        {
            return Err(Error::Inconsistent {
                what: "stored data does not reproduce the committed root",
                tx_num: n,
            });
        }
        Ok(())
    }
}

/// Reads complete nodes for one proof, caching the leaf group and the
/// subtree internals it touches.
struct NodeReader<'a, B> {
    tree: &'a QmTree<B>,
    /// (subtree, group, levels 0..=5 of the group: 32 + 16 + … + 1).
    group: Option<(u64, u64, Vec<B256>)>,
    internal: Option<(u64, Box<[B256; STORED_INTERNAL_NODES]>)>,
}

impl<'a, B: Backend> NodeReader<'a, B> {
    fn new(tree: &'a QmTree<B>) -> Self {
        Self {
            tree,
            group: None,
            internal: None,
        }
    }

    /// Node `(h, i)`, which must be complete in the current tree.
    fn complete(&mut self, h: u32, i: u64) -> Result<B256> {
        let tree = self.tree;
        if h > SUBTREE_HEIGHT {
            return tree.backend.upper(upper_pos(h - SUBTREE_HEIGHT, i));
        }
        let first_leaf = i << h;
        let subtree = first_leaf / SUBTREE_LEAVES;
        let full = tree.leaf_count / SUBTREE_LEAVES * SUBTREE_LEAVES;
        if first_leaf >= full {
            let local = i - ((subtree * SUBTREE_LEAVES) >> h);
            return tree.open[h as usize]
                .get(local as usize)
                .copied()
                .ok_or(Error::Inconsistent {
                    what: "open subtree node missing",
                    tx_num: first_leaf,
                });
        }
        if h < GROUP_HEIGHT {
            let group = (first_leaf % SUBTREE_LEAVES) / GROUP_LEAVES;
            let nodes = self.group_levels(subtree, group)?;
            let off = (2 * GROUP_LEAVES - ((2 * GROUP_LEAVES) >> h)) as usize;
            let local = (i - ((subtree * SUBTREE_LEAVES + group * GROUP_LEAVES) >> h)) as usize;
            return Ok(nodes[off + local]);
        }
        let internal = self.internal(subtree)?;
        let local = (i - ((subtree * SUBTREE_LEAVES) >> h)) as usize;
        Ok(internal[internal_offset(h) + local])
    }

    /// Node `(h, i)` of the tree of `n` leaves (padded with empty subtrees).
    fn prefix(&mut self, h: u32, i: u64, n: u64) -> Result<B256> {
        let n = n as u128;
        if n >= node_end(h, i) {
            return self.complete(h, i);
        }
        if n <= node_start(h, i) {
            return Ok(EMPTY_SUBTREE[h as usize]);
        }
        let left = self.prefix(h - 1, 2 * i, n as u64)?;
        let right = self.prefix(h - 1, 2 * i + 1, n as u64)?;
        Ok(node_hash(&left, &right))
    }

    fn group_levels(&mut self, subtree: u64, group: u64) -> Result<&[B256]> {
        let hit = matches!(&self.group, Some((s, g, _)) if *s == subtree && *g == group);
        if !hit {
            let leaves = self.tree.backend.leaf_group(subtree, group)?;
            let mut nodes = vec![B256::ZERO; 2 * GROUP_LEAVES as usize - 1];
            nodes[..GROUP_LEAVES as usize].copy_from_slice(&leaves);
            let mut off = 0;
            let mut width = GROUP_LEAVES as usize;
            while width > 1 {
                let (below, above) = nodes.split_at_mut(off + width);
                batch::hash_pairs(&below[off..], &mut above[..width / 2]);
                off += width;
                width /= 2;
            }
            self.group = Some((subtree, group, nodes));
        }
        Ok(self
            .group
            .as_ref()
            .map(|(_, _, n)| n.as_slice())
            .unwrap_or_default())
    }

    fn internal(&mut self, subtree: u64) -> Result<&[B256; STORED_INTERNAL_NODES]> {
        let hit = matches!(&self.internal, Some((s, _)) if *s == subtree);
        if !hit {
            let nodes = self.tree.backend.subtree_internal(subtree)?;
            self.internal = Some((subtree, Box::new(nodes)));
        }
        match &self.internal {
            Some((_, nodes)) => Ok(nodes),
            None => Err(Error::Inconsistent {
                what: "subtree internals missing",
                tx_num: subtree * SUBTREE_LEAVES,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(tree: &MemoryTree, i: u64) -> LeafComponents {
        let b = |k: u8| alloy_primitives::keccak256([k, i as u8, (i >> 8) as u8, (i >> 16) as u8]);
        LeafComponents {
            pre_state_hash: b(1),
            state_change_hash: b(2),
            transition_hash: b(3),
            previous_leaf_hash: tree.last_leaf_hash(),
        }
    }

    #[test]
    fn internal_offsets() {
        assert_eq!(internal_offset(5), 0);
        assert_eq!(internal_offset(6), 64);
        assert_eq!(internal_offset(11), 126);
    }

    #[test]
    fn append_rejects_a_broken_chain() {
        let mut t = MemoryTree::new();
        let c = leaf(&t, 0);
        t.append(c).unwrap();
        let err = t.append(c).unwrap_err();
        assert!(
            matches!(err, Error::PreviousLeafMismatch { tx_num: 1, .. }),
            "{err}"
        );
        assert_eq!(t.leaf_count(), 1);
    }

    #[test]
    fn blocks_must_be_contiguous() {
        let mut t = MemoryTree::new();
        t.commit_block(7).unwrap();
        assert!(matches!(
            t.commit_block(9),
            Err(Error::NonContiguousBlock {
                expected: 8,
                got: 9
            })
        ));
        t.commit_block(8).unwrap();
        assert_eq!(t.first_block(), Some(7));
    }

    #[test]
    fn rewind_window() {
        let mut t = MemoryTree::new();
        for b in 0..600 {
            let c = leaf(&t, b);
            t.append(c).unwrap();
            t.commit_block(b).unwrap();
        }
        assert!(matches!(t.rewind(10), Err(Error::RewindTooDeep { .. })));
        let info = t.rewind(599 - 512).unwrap();
        assert_eq!(info.leaf_count, 88);
        assert_eq!(t.leaf_count(), 88);
        assert_eq!(t.current_root(), info.root);
    }
}
