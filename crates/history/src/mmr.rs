//! The block-hash Merkle mountain range: leaf `i` is the hash of block `i` (from the genesis,
//! block 0), hashed with Keccak.
//!
//! # Layout
//!
//! - `node(0, j)` is leaf `j`; `node(h, j) = keccak256(node(h-1, 2j) ‖ node(h-1, 2j+1))`:
//!   the root of the perfect tree over leaves `j·2^h .. (j+1)·2^h`.
//! - An MMR of `n` leaves (`0 < n < 2^32`) has one peak per set bit `h` of `n`:
//!   `peaks[h] = node(h, (n >> (h+1)) << 1)`, the perfect tree of `2^h` leaves that bit
//!   stands for (higher bits cover earlier leaves); `peaks[h] = 0` when bit `h` is clear.
//! - `root = keccak256(uint256(n) ‖ peaks[0] ‖ peaks[1] ‖ … ‖ peaks[31])`: 33 words, 1,056
//!   bytes, fixed size.
//! - Leaf `i < n` sits under the peak of height `h = msb(i XOR n)`. Its proof
//!   ([`MmrProof`]) is `n`, `i`, the `h` siblings bottom-up
//!   (`siblings[k] = node(k, (i >> k) XOR 1)`), and the other peaks of `n` in ascending
//!   height. A verifier folds the leaf with the siblings (`keccak256(x ‖ s)` when bit `k` of
//!   `i` is 0, `keccak256(s ‖ x)` otherwise), puts the result at `peaks[h]`, the other peaks
//!   at their heights, and recomputes the root.
//!
//! [`Mmr`] keeps every node in post-order (the order appends write them: a leaf, then the
//! parents it completes), so appends only ever add to the end of its [`MmrStorage`]:
//! `node(h, j)` is at position `node_count(m - 1) + h` with `m = (j+1)·2^h` and
//! `node_count(m) = 2m - popcount(m)`. It also holds the current peaks, so an append costs
//! on average two hashes and one storage write, and the root costs one hash.

use alloc::{boxed::Box, vec::Vec};
use alloy_primitives::{B256, U256, keccak256};
use serde::{Deserialize, Serialize};

/// Peaks of an MMR: one per bit of its size, which stays below `2^32`.
pub const MAX_PEAKS: usize = 32;
/// The largest MMR size (leaves).
pub const MAX_MMR_SIZE: u64 = u32::MAX as u64;

/// Errors of MMR proofs and storage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MmrError {
    /// A proof or request for an MMR of no leaves.
    #[error("the MMR is empty")]
    Empty,
    /// A size of `2^32` leaves or more.
    #[error("MMR size {size} is above the limit of {MAX_MMR_SIZE} leaves")]
    SizeTooLarge {
        /// The size.
        size: u64,
    },
    /// A leaf index not below the size.
    #[error("leaf {index} is not in an MMR of {size} leaves")]
    IndexOutOfRange {
        /// The leaf.
        index: u64,
        /// The size.
        size: u64,
    },
    /// A size larger than the MMR held.
    #[error("MMR of {size} leaves asked for, {held} held")]
    SizeNotHeld {
        /// Size asked for.
        size: u64,
        /// Leaves held.
        held: u64,
    },
    /// A proof with the wrong number of siblings for its leaf's peak.
    #[error(
        "leaf {index} of an MMR of {size} leaves needs {expected} siblings, the proof has {got}"
    )]
    SiblingCount {
        /// The leaf.
        index: u64,
        /// The size.
        size: u64,
        /// Siblings given.
        got: usize,
        /// Siblings needed.
        expected: usize,
    },
    /// A proof with the wrong number of other peaks.
    #[error("an MMR of {size} leaves has {expected} other peaks, the proof has {got}")]
    PeakCount {
        /// The size.
        size: u64,
        /// Peaks given.
        got: usize,
        /// Peaks needed.
        expected: usize,
    },
    /// A proof that recomputes another root.
    #[error("leaf {index} recomputes MMR root {got}, expected {expected}")]
    RootMismatch {
        /// The leaf.
        index: u64,
        /// Recomputed root.
        got: B256,
        /// Trusted root.
        expected: B256,
    },
    /// A stored leaf that is not the block hash it should be.
    #[error("MMR leaf {index} is {got}, the chain's block hash is {expected}")]
    LeafMismatch {
        /// The leaf (block number).
        index: u64,
        /// Stored.
        got: B256,
        /// The chain's.
        expected: B256,
    },
    /// A stored inner node that does not hash its children.
    #[error("MMR node at position {position} is {got}, its children hash to {expected}")]
    NodeMismatch {
        /// Post-order position.
        position: u64,
        /// Stored.
        got: B256,
        /// Recomputed.
        expected: B256,
    },
    /// A node count that no MMR has (a torn append that was not repaired).
    #[error("{nodes} stored nodes is not the node count of any MMR")]
    NodeCount {
        /// Nodes stored.
        nodes: u64,
    },
    /// The storage failed.
    #[error("MMR storage: {0}")]
    Storage(#[source] Box<dyn core::error::Error + Send + Sync>),
    /// Reading or writing an MMR file.
    #[cfg(feature = "std")]
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file that is not an MMR file.
    #[cfg(feature = "std")]
    #[error("{}: not a Cairn MMR file (magic or version differs)", path.display())]
    NotAnMmrFile {
        /// The file.
        path: std::path::PathBuf,
    },
}

/// `Result` with [`MmrError`].
pub type MmrResult<T> = core::result::Result<T, MmrError>;

/// Nodes of an MMR of `leaves` leaves: `2·leaves - popcount(leaves)`.
pub const fn node_count(leaves: u64) -> u64 {
    2 * leaves - leaves.count_ones() as u64
}

/// Post-order position of `node(height, index)`.
pub const fn node_position(height: u32, index: u64) -> u64 {
    let m = (index + 1) << height;
    node_count(m - 1) + height as u64
}

/// The leaf count of an MMR of exactly `nodes` nodes, if there is one.
pub fn leaves_for_nodes(nodes: u64) -> Option<u64> {
    let leaves = largest_leaves_within(nodes);
    (node_count(leaves) == nodes).then_some(leaves)
}

/// The most leaves whose MMR has at most `nodes` nodes.
pub fn largest_leaves_within(nodes: u64) -> u64 {
    // node_count is strictly increasing and node_count(l) >= l.
    let (mut lo, mut hi) = (0u64, nodes.min(MAX_MMR_SIZE));
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if node_count(mid) <= nodes {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// Height of the peak over leaf `index` in an MMR of `size` leaves (`index < size`).
pub const fn peak_height(index: u64, size: u64) -> u32 {
    63 - (index ^ size).leading_zeros()
}

/// `keccak256(left ‖ right)`.
pub fn hash_pair(left: &B256, right: &B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(left.as_slice());
    buf[32..].copy_from_slice(right.as_slice());
    keccak256(buf)
}

/// The root of an MMR of `size` leaves from its peaks by height (zero where `size` has no
/// peak): `keccak256(uint256(size) ‖ peaks[0] ‖ … ‖ peaks[31])`.
pub fn root_from_peaks(size: u64, peaks: &[B256; MAX_PEAKS]) -> B256 {
    let mut buf = [0u8; 32 * (MAX_PEAKS + 1)];
    buf[..32].copy_from_slice(&U256::from(size).to_be_bytes::<32>());
    for (h, peak) in peaks.iter().enumerate() {
        buf[32 * (h + 1)..32 * (h + 2)].copy_from_slice(peak.as_slice());
    }
    keccak256(buf)
}

/// An inclusion proof of leaf `index` in the MMR of `size` leaves (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MmrProof {
    /// Leaves of the MMR the proof is against.
    #[serde(with = "alloy_serde::quantity")]
    pub size: u64,
    /// The leaf (block number).
    #[serde(with = "alloy_serde::quantity")]
    pub index: u64,
    /// Siblings from the leaf up to its peak.
    pub siblings: Vec<B256>,
    /// The MMR's other peaks, in ascending height.
    pub peaks: Vec<B256>,
}

impl MmrProof {
    /// Bytes of the proof in a contract's calldata: size, index and the hashes, 32 bytes each.
    pub fn encoded_len(&self) -> usize {
        32 * (2 + self.siblings.len() + self.peaks.len())
    }

    /// The root this proof recomputes for `leaf`.
    ///
    /// # Errors
    /// [`MmrError`] for a proof whose shape does not fit its size and index.
    pub fn root(&self, leaf: &B256) -> MmrResult<B256> {
        let (size, index) = (self.size, self.index);
        if size == 0 {
            return Err(MmrError::Empty);
        }
        if size > MAX_MMR_SIZE {
            return Err(MmrError::SizeTooLarge { size });
        }
        if index >= size {
            return Err(MmrError::IndexOutOfRange { index, size });
        }
        let height = peak_height(index, size);
        if self.siblings.len() != height as usize {
            return Err(MmrError::SiblingCount {
                index,
                size,
                got: self.siblings.len(),
                expected: height as usize,
            });
        }
        let others = size.count_ones() as usize - 1;
        if self.peaks.len() != others {
            return Err(MmrError::PeakCount {
                size,
                got: self.peaks.len(),
                expected: others,
            });
        }
        let mut node = *leaf;
        for (k, sibling) in self.siblings.iter().enumerate() {
            node = if (index >> k) & 1 == 0 {
                hash_pair(&node, sibling)
            } else {
                hash_pair(sibling, &node)
            };
        }
        let mut peaks = [B256::ZERO; MAX_PEAKS];
        let mut given = self.peaks.iter();
        for (h, peak) in peaks.iter_mut().enumerate() {
            if (size >> h) & 1 == 1 {
                *peak = if h as u32 == height {
                    node
                } else {
                    *given.next().expect("counted above")
                };
            }
        }
        Ok(root_from_peaks(size, &peaks))
    }

    /// Verifies that `leaf` is leaf `index` of the MMR with `root`.
    ///
    /// # Errors
    /// [`MmrError::RootMismatch`], or a shape error.
    pub fn verify(&self, leaf: &B256, root: &B256) -> MmrResult<()> {
        let got = self.root(leaf)?;
        if got != *root {
            return Err(MmrError::RootMismatch {
                index: self.index,
                got,
                expected: *root,
            });
        }
        Ok(())
    }
}

/// Where an [`Mmr`] keeps its nodes, in post-order. Appends only add at the end.
pub trait MmrStorage {
    /// Nodes stored.
    fn len(&self) -> u64;

    /// Whether no node is stored.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The node at post-order `position` (below [`len`](Self::len)).
    ///
    /// # Errors
    /// When the storage fails.
    fn get(&self, position: u64) -> MmrResult<B256>;

    /// Appends nodes.
    ///
    /// # Errors
    /// When the storage fails; the nodes must then not count as stored.
    fn append(&mut self, nodes: &[B256]) -> MmrResult<()>;

    /// Drops every node from `len` on.
    ///
    /// # Errors
    /// When the storage fails.
    fn truncate(&mut self, len: u64) -> MmrResult<()>;
}

impl MmrStorage for Vec<B256> {
    fn len(&self) -> u64 {
        Self::len(self) as u64
    }

    fn get(&self, position: u64) -> MmrResult<B256> {
        usize::try_from(position)
            .ok()
            .and_then(|p| self.as_slice().get(p).copied())
            .ok_or(MmrError::NodeCount { nodes: position })
    }

    fn append(&mut self, nodes: &[B256]) -> MmrResult<()> {
        self.extend_from_slice(nodes);
        Ok(())
    }

    fn truncate(&mut self, len: u64) -> MmrResult<()> {
        Self::truncate(self, usize::try_from(len).unwrap_or(usize::MAX));
        Ok(())
    }
}

/// The peaks of the MMR of `size` leaves, read from its nodes.
fn read_peaks<S: MmrStorage>(storage: &S, size: u64) -> MmrResult<[B256; MAX_PEAKS]> {
    let mut peaks = [B256::ZERO; MAX_PEAKS];
    for (h, peak) in peaks.iter_mut().enumerate() {
        if (size >> h) & 1 == 1 {
            *peak = storage.get(node_position(h as u32, (size >> (h + 1)) << 1))?;
        }
    }
    Ok(peaks)
}

/// A block-hash MMR over a [`MmrStorage`] (memory by default).
///
/// ```
/// use alloy_primitives::B256;
/// use cairn_history::Mmr;
///
/// let mut mmr = Mmr::default();
/// for i in 0..11u8 {
///     mmr.append(B256::repeat_byte(i))?;
/// }
/// let proof = mmr.proof(5, mmr.leaves())?;
/// proof.verify(&B256::repeat_byte(5), &mmr.root())?;
/// // A proof against the MMR as it was at 7 leaves.
/// mmr.proof(5, 7)?.verify(&B256::repeat_byte(5), &mmr.root_at(7)?)?;
/// # Ok::<(), cairn_history::MmrError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Mmr<S = Vec<B256>> {
    storage: S,
    leaves: u64,
    peaks: [B256; MAX_PEAKS],
}

impl Default for Mmr<Vec<B256>> {
    fn default() -> Self {
        Self {
            storage: Vec::new(),
            leaves: 0,
            peaks: [B256::ZERO; MAX_PEAKS],
        }
    }
}

impl<S: MmrStorage> Mmr<S> {
    /// An MMR over `storage`, which must hold exactly the nodes of some MMR (a store with a
    /// torn tail cuts it before).
    ///
    /// # Errors
    /// [`MmrError::NodeCount`]; storage errors.
    pub fn open(storage: S) -> MmrResult<Self> {
        let nodes = storage.len();
        let leaves = leaves_for_nodes(nodes).ok_or(MmrError::NodeCount { nodes })?;
        let peaks = read_peaks(&storage, leaves)?;
        Ok(Self {
            storage,
            leaves,
            peaks,
        })
    }

    /// Leaves held.
    pub const fn leaves(&self) -> u64 {
        self.leaves
    }

    /// The storage.
    pub const fn storage(&self) -> &S {
        &self.storage
    }

    /// Appends one leaf.
    ///
    /// # Errors
    /// [`MmrError::SizeTooLarge`] at `2^32` leaves; storage errors (the MMR is then
    /// unchanged).
    pub fn append(&mut self, leaf: B256) -> MmrResult<()> {
        self.append_all(core::slice::from_ref(&leaf))
    }

    /// Appends leaves with one storage write.
    ///
    /// # Errors
    /// As [`Mmr::append`].
    pub fn append_all(&mut self, leaves: &[B256]) -> MmrResult<()> {
        let size = self.leaves + leaves.len() as u64;
        if size > MAX_MMR_SIZE {
            return Err(MmrError::SizeTooLarge { size });
        }
        let mut peaks = self.peaks;
        let mut count = self.leaves;
        let mut nodes = Vec::with_capacity(2 * leaves.len() + 32);
        for leaf in leaves {
            let mut node = *leaf;
            nodes.push(node);
            let mut h = 0;
            while (count >> h) & 1 == 1 {
                node = hash_pair(&peaks[h], &node);
                peaks[h] = B256::ZERO;
                nodes.push(node);
                h += 1;
            }
            peaks[h] = node;
            count += 1;
        }
        self.storage.append(&nodes)?;
        self.peaks = peaks;
        self.leaves = count;
        Ok(())
    }

    /// The root of the MMR as it is.
    pub fn root(&self) -> B256 {
        root_from_peaks(self.leaves, &self.peaks)
    }

    /// The peaks of the MMR as it was at `size` leaves.
    ///
    /// # Errors
    /// [`MmrError::SizeNotHeld`]; storage errors.
    pub fn peaks_at(&self, size: u64) -> MmrResult<[B256; MAX_PEAKS]> {
        if size > self.leaves {
            return Err(MmrError::SizeNotHeld {
                size,
                held: self.leaves,
            });
        }
        if size == self.leaves {
            return Ok(self.peaks);
        }
        read_peaks(&self.storage, size)
    }

    /// The root of the MMR as it was at `size` leaves.
    ///
    /// # Errors
    /// As [`Mmr::peaks_at`].
    pub fn root_at(&self, size: u64) -> MmrResult<B256> {
        Ok(root_from_peaks(size, &self.peaks_at(size)?))
    }

    /// Leaf `index`.
    ///
    /// # Errors
    /// [`MmrError::IndexOutOfRange`]; storage errors.
    pub fn leaf(&self, index: u64) -> MmrResult<B256> {
        if index >= self.leaves {
            return Err(MmrError::IndexOutOfRange {
                index,
                size: self.leaves,
            });
        }
        self.storage.get(node_position(0, index))
    }

    /// The inclusion proof of leaf `index` in the MMR as it was at `size` leaves.
    ///
    /// # Errors
    /// [`MmrError::IndexOutOfRange`], [`MmrError::SizeNotHeld`]; storage errors.
    pub fn proof(&self, index: u64, size: u64) -> MmrResult<MmrProof> {
        if size > self.leaves {
            return Err(MmrError::SizeNotHeld {
                size,
                held: self.leaves,
            });
        }
        if index >= size {
            return Err(MmrError::IndexOutOfRange { index, size });
        }
        let height = peak_height(index, size);
        let siblings = (0..height)
            .map(|k| self.storage.get(node_position(k, (index >> k) ^ 1)))
            .collect::<MmrResult<Vec<_>>>()?;
        let peaks = self.peaks_at(size)?;
        let peaks = (0..MAX_PEAKS)
            .filter(|&h| (size >> h) & 1 == 1 && h as u32 != height)
            .map(|h| peaks[h])
            .collect();
        Ok(MmrProof {
            size,
            index,
            siblings,
            peaks,
        })
    }

    /// Cuts the MMR back to its first `leaves` leaves.
    ///
    /// # Errors
    /// [`MmrError::SizeNotHeld`]; storage errors.
    pub fn truncate(&mut self, leaves: u64) -> MmrResult<()> {
        if leaves > self.leaves {
            return Err(MmrError::SizeNotHeld {
                size: leaves,
                held: self.leaves,
            });
        }
        let peaks = self.peaks_at(leaves)?;
        self.storage.truncate(node_count(leaves))?;
        self.leaves = leaves;
        self.peaks = peaks;
        Ok(())
    }

    /// Checks every stored node from the start against leaves `expected` (the chain's block
    /// hashes from the genesis), recomputing the inner nodes, in one pass over the storage.
    /// Stored leaves beyond `expected` are not checked.
    ///
    /// # Errors
    /// [`MmrError::LeafMismatch`], [`MmrError::NodeMismatch`]; storage errors.
    pub fn check(&self, expected: &[B256]) -> MmrResult<()> {
        let upto = self.leaves.min(expected.len() as u64);
        let mut stack: Vec<B256> = Vec::with_capacity(MAX_PEAKS);
        let mut position = 0u64;
        for (i, leaf) in expected.iter().take(upto as usize).enumerate() {
            let stored = self.storage.get(position)?;
            if stored != *leaf {
                return Err(MmrError::LeafMismatch {
                    index: i as u64,
                    got: stored,
                    expected: *leaf,
                });
            }
            position += 1;
            let mut node = *leaf;
            let mut h = 0;
            while ((i as u64) >> h) & 1 == 1 {
                let left = stack.pop().expect("one peak per set bit");
                node = hash_pair(&left, &node);
                let stored = self.storage.get(position)?;
                if stored != node {
                    return Err(MmrError::NodeMismatch {
                        position,
                        got: stored,
                        expected: node,
                    });
                }
                position += 1;
                h += 1;
            }
            stack.push(node);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(i: u64) -> B256 {
        keccak256(i.to_be_bytes())
    }

    /// The reference: peaks straight from the definition.
    fn naive_root(leaves: &[B256]) -> B256 {
        let n = leaves.len() as u64;
        let mut peaks = [B256::ZERO; MAX_PEAKS];
        let mut start = 0usize;
        for h in (0..MAX_PEAKS).rev() {
            if (n >> h) & 1 == 1 {
                let mut level: Vec<B256> = leaves[start..start + (1 << h)].to_vec();
                while level.len() > 1 {
                    level = level.chunks(2).map(|p| hash_pair(&p[0], &p[1])).collect();
                }
                peaks[h] = level[0];
                start += 1 << h;
            }
        }
        root_from_peaks(n, &peaks)
    }

    #[test]
    fn positions() {
        // Post-order: l0 l1 n(1,0) l2 l3 n(1,1) n(2,0) l4
        assert_eq!(node_position(0, 0), 0);
        assert_eq!(node_position(0, 1), 1);
        assert_eq!(node_position(1, 0), 2);
        assert_eq!(node_position(0, 2), 3);
        assert_eq!(node_position(1, 1), 5);
        assert_eq!(node_position(2, 0), 6);
        assert_eq!(node_position(0, 4), 7);
        for leaves in 0..2000u64 {
            assert_eq!(leaves_for_nodes(node_count(leaves)), Some(leaves));
            if leaves > 0 {
                // Counts between two MMRs' belong to none: a torn append.
                for torn in node_count(leaves - 1) + 1..node_count(leaves) {
                    assert_eq!(leaves_for_nodes(torn), None);
                    assert_eq!(largest_leaves_within(torn), leaves - 1);
                }
            }
        }
    }

    #[test]
    fn roots_and_proofs_match_the_definition() {
        let leaves: Vec<B256> = (0..70).map(leaf).collect();
        let mut mmr = Mmr::default();
        for (n, l) in leaves.iter().enumerate() {
            mmr.append(*l).unwrap();
            let size = n as u64 + 1;
            assert_eq!(mmr.root(), naive_root(&leaves[..=n]), "size {size}");
            assert_eq!(mmr.storage().len() as u64, node_count(size));
        }
        for size in 1..=70u64 {
            let root = mmr.root_at(size).unwrap();
            assert_eq!(root, naive_root(&leaves[..size as usize]));
            for index in 0..size {
                let proof = mmr.proof(index, size).unwrap();
                proof.verify(&leaves[index as usize], &root).unwrap();
                assert!(proof.verify(&leaf(1000), &root).is_err());
            }
        }
        mmr.check(&leaves).unwrap();
        let mut batched = Mmr::default();
        batched.append_all(&leaves[..33]).unwrap();
        batched.append_all(&leaves[33..]).unwrap();
        assert_eq!(batched.root(), mmr.root());
        assert_eq!(batched.storage(), mmr.storage());
    }

    #[test]
    fn reopen_truncate_and_check() {
        let leaves: Vec<B256> = (0..37).map(leaf).collect();
        let mut mmr = Mmr::default();
        mmr.append_all(&leaves).unwrap();
        let reopened = Mmr::open(mmr.storage().clone()).unwrap();
        assert_eq!(reopened.root(), mmr.root());
        assert_eq!(reopened.leaves(), 37);
        let mut cut = reopened;
        cut.truncate(20).unwrap();
        assert_eq!(cut.root(), naive_root(&leaves[..20]));
        cut.append_all(&leaves[20..]).unwrap();
        assert_eq!(cut.root(), mmr.root());
        // 37 leaves: 71 nodes; 70 is the MMR of 36, 69 no MMR's count.
        assert_eq!(
            Mmr::open(mmr.storage()[..70].to_vec()).unwrap().leaves(),
            36
        );
        assert!(Mmr::open(mmr.storage()[..69].to_vec()).is_err());

        let mut wrong = leaves.clone();
        wrong[9] = leaf(999);
        assert!(matches!(
            mmr.check(&wrong),
            Err(MmrError::LeafMismatch { index: 9, .. })
        ));
        let mut damaged = mmr.storage().clone();
        damaged[node_position(2, 1) as usize] = B256::ZERO;
        let damaged = Mmr::open(damaged).unwrap();
        assert!(matches!(
            damaged.check(&leaves),
            Err(MmrError::NodeMismatch { .. })
        ));
    }

    #[test]
    fn every_altered_byte_is_rejected() {
        let leaves: Vec<B256> = (0..45).map(leaf).collect();
        let mut mmr = Mmr::default();
        mmr.append_all(&leaves).unwrap();
        let root = mmr.root();
        let proof = mmr.proof(33, 45).unwrap();
        proof.verify(&leaves[33], &root).unwrap();
        for i in 0..proof.siblings.len() + proof.peaks.len() {
            for byte in 0..32 {
                let mut bad = proof.clone();
                let hash = if i < bad.siblings.len() {
                    &mut bad.siblings[i]
                } else {
                    &mut bad.peaks[i - proof.siblings.len()]
                };
                hash.0[byte] ^= 1;
                assert!(bad.verify(&leaves[33], &root).is_err());
            }
        }
        for (size, index) in [(44, 33), (46, 33), (45, 32), (45, 34), (0, 0), (45, 45)] {
            let bad = MmrProof {
                size,
                index,
                ..proof.clone()
            };
            assert!(bad.verify(&leaves[33], &root).is_err(), "{size} {index}");
        }
        let mut leaf = leaves[33];
        leaf.0[0] ^= 1;
        assert!(proof.verify(&leaf, &root).is_err());
    }
}
