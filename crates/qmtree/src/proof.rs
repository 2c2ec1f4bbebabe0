//! Inclusion and range (consistency) proofs: types, codecs and verifiers.
//!
//! Everything here is `no_std + alloc`.

use alloc::{string::String, vec::Vec};

use alloy_primitives::B256;
use serde::{Deserialize, Serialize};

use crate::{
    error::{Error, Result},
    hash::{EMPTY_ROOT, EMPTY_SUBTREE, node_hash, root_hash},
    shape::{
        depth, inclusion_levels, inclusion_sibling_count, range_node_count, range_right_levels,
    },
};

/// First byte of a binary inclusion proof (format version 1).
pub const INCLUSION_PROOF_TAG: u8 = 0x01;
/// First byte of a binary range proof (format version 1).
pub const RANGE_PROOF_TAG: u8 = 0x02;
/// Bytes before the siblings in a binary inclusion proof.
pub const INCLUSION_HEADER_LEN: usize = 1 + 8 + 8 + 32;
/// Bytes before the nodes in a binary range proof.
pub const RANGE_HEADER_LEN: usize = 1 + 8 + 8;

/// Proof that `leaf_hash` is leaf number `tx_num` of the tree of
/// `leaf_count` leaves whose root the verifier holds.
///
/// `siblings` run bottom-up and leave out siblings that are empty subtrees
/// (the verifier knows them from `leaf_count`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    /// Index of the leaf (its txNum).
    pub tx_num: u64,
    /// Number of leaves in the tree the proof is against.
    pub leaf_count: u64,
    /// The leaf hash being proven.
    pub leaf_hash: B256,
    /// Non-empty siblings, from the leaf's level up.
    pub siblings: Vec<B256>,
}

/// Proof that the tree of `new_size` leaves extends the tree of `old_size`
/// leaves by appending only.
///
/// `nodes` are, in order: the old tree's frontier (for each set bit `h` of
/// `old_size`, ascending, the complete node at level `h` and index
/// `(old_size >> h) - 1`); then, if `old_size < new_size`, leaf `old_size` of
/// the new tree; then, for each level `h` (ascending) where bit `h` of
/// `old_size` is 0 and node `(h, (old_size >> h) + 1)` holds at least one
/// leaf of the new tree, that node (padded with empty subtrees). The proof
/// is empty when `old_size` is 0 or equals `new_size`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RangeProof {
    /// Leaves in the older tree.
    pub old_size: u64,
    /// Leaves in the newer tree.
    pub new_size: u64,
    /// Proof nodes, in the order above.
    pub nodes: Vec<B256>,
}

/// Either kind of proof, as read from a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Proof {
    /// An inclusion proof.
    Inclusion(InclusionProof),
    /// A range (consistency) proof.
    Range(RangeProof),
}

impl InclusionProof {
    /// Size of the binary encoding.
    pub fn encoded_len(&self) -> usize {
        INCLUSION_HEADER_LEN + 32 * self.siblings.len()
    }

    /// Compact binary form: `0x01 ‖ txNum (u64 BE) ‖ leafCount (u64 BE) ‖
    /// leafHash ‖ siblings (32 bytes each)`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.push(INCLUSION_PROOF_TAG);
        out.extend_from_slice(&self.tx_num.to_be_bytes());
        out.extend_from_slice(&self.leaf_count.to_be_bytes());
        out.extend_from_slice(self.leaf_hash.as_slice());
        for s in &self.siblings {
            out.extend_from_slice(s.as_slice());
        }
        out
    }

    /// Decodes the binary form.
    ///
    /// # Errors
    /// [`Error::UnknownProofTag`] for another tag, [`Error::ProofLength`] when
    /// the length is not exactly what `txNum` and `leafCount` imply,
    /// [`Error::TxOutOfRange`] when `txNum >= leafCount`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (tx_num, leaf_count, rest) = header(bytes, INCLUSION_PROOF_TAG)?;
        if tx_num >= leaf_count {
            return Err(Error::TxOutOfRange { tx_num, leaf_count });
        }
        let expected = INCLUSION_HEADER_LEN + 32 * inclusion_sibling_count(tx_num, leaf_count);
        if bytes.len() != expected {
            return Err(Error::ProofLength {
                expected,
                got: bytes.len(),
            });
        }
        let leaf_hash = B256::from_slice(&rest[..32]);
        let siblings = rest[32..].chunks_exact(32).map(B256::from_slice).collect();
        Ok(Self {
            tx_num,
            leaf_count,
            leaf_hash,
            siblings,
        })
    }

    /// Pretty JSON form.
    pub fn to_json(&self) -> String {
        Proof::Inclusion(self.clone()).to_json()
    }
}

impl RangeProof {
    /// Size of the binary encoding.
    pub fn encoded_len(&self) -> usize {
        RANGE_HEADER_LEN + 32 * self.nodes.len()
    }

    /// Compact binary form: `0x02 ‖ oldSize (u64 BE) ‖ newSize (u64 BE) ‖
    /// nodes (32 bytes each)`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.push(RANGE_PROOF_TAG);
        out.extend_from_slice(&self.old_size.to_be_bytes());
        out.extend_from_slice(&self.new_size.to_be_bytes());
        for n in &self.nodes {
            out.extend_from_slice(n.as_slice());
        }
        out
    }

    /// Decodes the binary form.
    ///
    /// # Errors
    /// [`Error::UnknownProofTag`], [`Error::RangeSizes`] when
    /// `oldSize > newSize`, [`Error::ProofLength`] for a wrong length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (old_size, new_size, rest) = header(bytes, RANGE_PROOF_TAG)?;
        if old_size > new_size {
            return Err(Error::RangeSizes { old_size, new_size });
        }
        let expected = RANGE_HEADER_LEN + 32 * range_node_count(old_size, new_size);
        if bytes.len() != expected {
            return Err(Error::ProofLength {
                expected,
                got: bytes.len(),
            });
        }
        let nodes = rest.chunks_exact(32).map(B256::from_slice).collect();
        Ok(Self {
            old_size,
            new_size,
            nodes,
        })
    }

    /// Pretty JSON form.
    pub fn to_json(&self) -> String {
        Proof::Range(self.clone()).to_json()
    }
}

impl Proof {
    /// Binary form (see the variants).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Self::Inclusion(p) => p.to_bytes(),
            Self::Range(p) => p.to_bytes(),
        }
    }

    /// Decodes either binary form, by its tag.
    ///
    /// # Errors
    /// As [`InclusionProof::from_bytes`] and [`RangeProof::from_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        match bytes.first() {
            Some(&INCLUSION_PROOF_TAG) => InclusionProof::from_bytes(bytes).map(Self::Inclusion),
            Some(&RANGE_PROOF_TAG) => RangeProof::from_bytes(bytes).map(Self::Range),
            Some(&tag) => Err(Error::UnknownProofTag { tag }),
            None => Err(Error::ProofLength {
                expected: RANGE_HEADER_LEN,
                got: 0,
            }),
        }
    }

    /// Pretty JSON form: `{"type": "inclusion" | "range", ...}` with
    /// camelCase fields, numbers as JSON integers, hashes as `0x` hex.
    pub fn to_json(&self) -> String {
        // Serialising these plain structs cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Parses the JSON form and checks its shape (sibling/node counts).
    ///
    /// # Errors
    /// [`Error::ProofJson`] for malformed JSON or non-hex hashes, then the
    /// same shape errors as [`Proof::from_bytes`].
    pub fn from_json(json: &str) -> Result<Self> {
        let proof: Self =
            serde_json::from_str(json).map_err(|source| Error::ProofJson { source })?;
        // Re-use the binary decoder's shape checks.
        Self::from_bytes(&proof.to_bytes())
    }

    /// Decodes a proof file: JSON if it starts (after whitespace) with `{`,
    /// binary otherwise.
    ///
    /// # Errors
    /// As [`Proof::from_json`] and [`Proof::from_bytes`].
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => {
                let text =
                    core::str::from_utf8(bytes).map_err(|source| Error::ProofNotUtf8 { source })?;
                Self::from_json(text)
            }
            _ => Self::from_bytes(bytes),
        }
    }
}

/// Checks the tag and splits off the two u64 sizes of a proof's header.
fn header(bytes: &[u8], tag: u8) -> Result<(u64, u64, &[u8])> {
    let Some(&got) = bytes.first() else {
        return Err(Error::ProofLength {
            expected: RANGE_HEADER_LEN,
            got: 0,
        });
    };
    if got != tag {
        return Err(Error::UnknownProofTag { tag: got });
    }
    if bytes.len() < RANGE_HEADER_LEN {
        return Err(Error::ProofLength {
            expected: RANGE_HEADER_LEN,
            got: bytes.len(),
        });
    }
    let a = u64::from_be_bytes(bytes[1..9].try_into().unwrap_or_default());
    let b = u64::from_be_bytes(bytes[9..17].try_into().unwrap_or_default());
    Ok((a, b, &bytes[17..]))
}

/// Root implied by an inclusion proof (after checking its shape).
///
/// # Errors
/// [`Error::TxOutOfRange`], [`Error::ProofLength`] for a wrong sibling count.
pub fn inclusion_root(proof: &InclusionProof) -> Result<B256> {
    let InclusionProof {
        tx_num,
        leaf_count,
        leaf_hash,
        siblings,
    } = proof;
    let (tx_num, leaf_count) = (*tx_num, *leaf_count);
    if tx_num >= leaf_count {
        return Err(Error::TxOutOfRange { tx_num, leaf_count });
    }
    let expected = inclusion_sibling_count(tx_num, leaf_count);
    if siblings.len() != expected {
        return Err(Error::ProofLength {
            expected: INCLUSION_HEADER_LEN + 32 * expected,
            got: proof.encoded_len(),
        });
    }
    let mut given = siblings.iter();
    let mut node = *leaf_hash;
    let mut next = inclusion_levels(tx_num, leaf_count).peekable();
    for h in 0..depth(leaf_count) {
        let sibling = if next.peek() == Some(&h) {
            next.next();
            given.next().copied().unwrap_or_default()
        } else {
            EMPTY_SUBTREE[h as usize]
        };
        node = if (tx_num >> h) & 1 == 1 {
            node_hash(&sibling, &node)
        } else {
            node_hash(&node, &sibling)
        };
    }
    Ok(root_hash(leaf_count, &node))
}

/// Checks that `proof` places its leaf hash at its txNum under `root`.
///
/// The root alone does not fix the leaf count: a verifier that holds the
/// count from a trusted source (the block's `lastTxNum + 1`) should compare
/// it with `proof.leaf_count`, or check the leaf's components against
/// `proof.leaf_hash`, which only a real leaf can match.
///
/// # Errors
/// Shape errors as [`inclusion_root`], then [`Error::RootMismatch`].
pub fn verify_inclusion(proof: &InclusionProof, root: &B256) -> Result<()> {
    let computed = inclusion_root(proof)?;
    if computed != *root {
        return Err(Error::RootMismatch {
            computed,
            expected: *root,
        });
    }
    Ok(())
}

/// Checks that the tree with root `new_root` (of `proof.new_size` leaves)
/// extends the tree with root `old_root` (of `proof.old_size` leaves) by
/// appending leaves only.
///
/// # Errors
/// [`Error::RangeSizes`], [`Error::ProofLength`], then
/// [`Error::RootMismatch`] for whichever root does not match.
pub fn verify_range(proof: &RangeProof, old_root: &B256, new_root: &B256) -> Result<()> {
    let RangeProof {
        old_size,
        new_size,
        nodes,
    } = proof;
    let (old, new) = (*old_size, *new_size);
    if old > new {
        return Err(Error::RangeSizes {
            old_size: old,
            new_size: new,
        });
    }
    let expected = range_node_count(old, new);
    if nodes.len() != expected {
        return Err(Error::ProofLength {
            expected: RANGE_HEADER_LEN + 32 * expected,
            got: proof.encoded_len(),
        });
    }
    if old == 0 {
        return check_root(EMPTY_ROOT, old_root);
    }
    if old == new {
        return check_root(*new_root, old_root);
    }
    let frontier_len = old.count_ones() as usize;
    let (frontier, rest) = nodes.split_at(frontier_len);
    let frontier_at = |h: u32| -> B256 {
        // Index of level `h` among the set bits of `old`, counted from bit 0.
        let below = (old & ((1u64 << h) - 1)).count_ones() as usize;
        frontier[below]
    };
    let old_top = crate::shape::tree_hash_from_frontier::<core::convert::Infallible>(old, |h| {
        Ok(frontier_at(h))
    })
    .unwrap_or_default();
    check_root(root_hash(old, &old_top), old_root)?;

    // Walk up from leaf `old` of the new tree: left siblings come from the
    // old frontier, right siblings from the proof or are empty.
    let (first_new, right) = rest.split_first().map(|(f, r)| (*f, r)).unwrap_or_default();
    let mut right = right.iter();
    let mut right_levels = range_right_levels(old, new).peekable();
    let mut node = first_new;
    for h in 0..depth(new) {
        node = if (old >> h) & 1 == 1 {
            node_hash(&frontier_at(h), &node)
        } else {
            let sibling = if right_levels.peek() == Some(&h) {
                right_levels.next();
                right.next().copied().unwrap_or_default()
            } else {
                EMPTY_SUBTREE[h as usize]
            };
            node_hash(&node, &sibling)
        };
    }
    check_root(root_hash(new, &node), new_root)
}

fn check_root(computed: B256, expected: &B256) -> Result<()> {
    if computed != *expected {
        return Err(Error::RootMismatch {
            computed,
            expected: *expected,
        });
    }
    Ok(())
}
