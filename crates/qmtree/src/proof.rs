//! Inclusion and range (consistency) proofs: types, codecs and verifiers.
//!
//! Everything here is `no_std + alloc`.

use alloc::{string::String, vec::Vec};

use alloy_primitives::B256;
use serde::{Deserialize, Serialize};

use crate::{
    error::{Error, Result},
    hash::{EMPTY_ROOT, EMPTY_SUBTREE, LeafComponents, node_hash},
    shape::{depth, range_node_count, range_right_levels},
};

/// First byte of a binary range proof.
pub const RANGE_PROOF_TAG: u8 = 0x02;
/// Bytes before the nodes in a binary range proof (tag and two u64 sizes).
pub const RANGE_HEADER_LEN: usize = 1 + 8 + 8;
/// Largest depth (sibling count) of an inclusion proof: a tree of up to
/// 2^64 leaves.
pub const MAX_PROOF_DEPTH: usize = 64;

/// Proof that `leaf_hash` is leaf number `tx_num` of the tree whose root the
/// verifier holds.
///
/// The tree's depth is `siblings.len()`: the proof carries every sibling on
/// the path, bottom-up, empty subtrees included, and no leaf count. The
/// depth is therefore the prover's claim; see the crate docs ("Why a leaf
/// hash must be checked") for why a verifier checks the leaf's components
/// ([`verify_leaf`]) whenever it has them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InclusionProof {
    /// Index of the leaf (its txNum); below `2^depth`.
    #[serde(with = "crate::quantity")]
    pub tx_num: u64,
    /// The leaf hash being proven.
    #[serde(with = "strict_hex::one")]
    pub leaf_hash: B256,
    /// All siblings on the path, from the leaf's level up (at most 64).
    #[serde(with = "strict_hex::many")]
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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RangeProof {
    /// Leaves in the older tree.
    #[serde(with = "crate::quantity")]
    pub old_size: u64,
    /// Leaves in the newer tree.
    #[serde(with = "crate::quantity")]
    pub new_size: u64,
    /// Proof nodes, in the order above.
    #[serde(with = "strict_hex::many")]
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

/// Bytes of the index field of an inclusion proof of depth `d`: `ceil(d / 8)`.
#[inline]
const fn index_len(d: usize) -> usize {
    d.div_ceil(8)
}

/// Size of a binary inclusion proof of depth `d`.
pub const fn inclusion_proof_len(d: usize) -> usize {
    index_len(d) + 32 + 32 * d
}

/// Whether a binary proof of `len` bytes is a range proof: its length is
/// `17 + 32·k`, i.e. `17 (mod 32)`, which an inclusion proof's length
/// (`ceil(d/8) (mod 32)`, at most 8) never is.
pub const fn is_range_proof_len(len: usize) -> bool {
    len % 32 == RANGE_HEADER_LEN % 32
}

/// The depth of a binary inclusion proof of `len` bytes.
fn inclusion_depth(len: usize) -> Result<usize> {
    let bad = Error::InclusionProofLength { len };
    let body = len.checked_sub(32).ok_or(bad)?;
    let (d, k) = (body / 32, body % 32);
    if d > MAX_PROOF_DEPTH || k != index_len(d) {
        return Err(Error::InclusionProofLength { len });
    }
    Ok(d)
}

/// Checks that `tx_num` is a slot of a tree of depth `d`.
fn check_index(tx_num: u64, d: usize) -> Result<()> {
    if d > MAX_PROOF_DEPTH {
        return Err(Error::InclusionProofLength {
            len: inclusion_proof_len(d),
        });
    }
    if d < 64 && tx_num >> d != 0 {
        return Err(Error::IndexBeyondDepth {
            tx_num,
            depth: d as u32,
        });
    }
    Ok(())
}

impl InclusionProof {
    /// The depth of the tree the proof claims (its sibling count).
    pub fn depth(&self) -> u32 {
        self.siblings.len() as u32
    }

    /// Size of the binary encoding.
    pub fn encoded_len(&self) -> usize {
        inclusion_proof_len(self.siblings.len())
    }

    /// Compact binary form: `index (ceil(d/8) bytes, big-endian) ‖ leafHash
    /// ‖ d siblings (32 bytes each, bottom-up)`, `d` the depth. No tag and
    /// no leaf count: the length gives `d`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let d = self.siblings.len();
        let mut out = Vec::with_capacity(self.encoded_len());
        out.extend_from_slice(&self.tx_num.to_be_bytes()[8 - index_len(d).min(8)..]);
        out.extend_from_slice(self.leaf_hash.as_slice());
        for s in &self.siblings {
            out.extend_from_slice(s.as_slice());
        }
        out
    }

    /// Decodes the binary form. With `L` the length: `d = (L − 32) div 32`,
    /// and `(L − 32) mod 32` must be `ceil(d/8)`, with `d ≤ 64`.
    ///
    /// # Errors
    /// [`Error::InclusionProofLength`] for any other length,
    /// [`Error::IndexBeyondDepth`] when the index is not below `2^d`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let d = inclusion_depth(bytes.len())?;
        let (index, rest) = bytes.split_at(index_len(d));
        let tx_num = index.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        check_index(tx_num, d)?;
        let leaf_hash = B256::from_slice(&rest[..32]);
        let siblings = rest[32..].chunks_exact(32).map(B256::from_slice).collect();
        Ok(Self {
            tx_num,
            leaf_hash,
            siblings,
        })
    }

    /// Whether the proof shows that no leaf follows this one: its depth is
    /// that of a tree of `tx_num + 1` leaves and every sibling to the right
    /// of the path is an empty subtree.
    ///
    /// Meaningful only for a proof that verified against a trusted root
    /// with the leaf's components checked ([`verify_leaf`]): then the leaf
    /// is the last of that tree, which holds `tx_num + 1` leaves.
    pub fn is_last_leaf(&self) -> bool {
        let Some(count) = self.tx_num.checked_add(1) else {
            return false;
        };
        self.siblings.len() == depth(count) as usize
            && self
                .siblings
                .iter()
                .enumerate()
                .all(|(h, s)| (self.tx_num >> h) & 1 == 1 || *s == EMPTY_SUBTREE[h])
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
    /// [`Error::ProofLength`] for a length that is not `17 + 32·k`,
    /// [`Error::UnknownProofTag`], [`Error::RangeSizes`] when
    /// `oldSize > newSize`, [`Error::ProofLength`] when `k` is not the node
    /// count the sizes imply.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < RANGE_HEADER_LEN || !is_range_proof_len(bytes.len()) {
            return Err(Error::ProofLength {
                expected: RANGE_HEADER_LEN,
                got: bytes.len(),
            });
        }
        if bytes[0] != RANGE_PROOF_TAG {
            return Err(Error::UnknownProofTag { tag: bytes[0] });
        }
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[at..at + 8]);
            u64::from_be_bytes(w)
        };
        let (old_size, new_size) = (word(1), word(9));
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
        let nodes = bytes[RANGE_HEADER_LEN..]
            .chunks_exact(32)
            .map(B256::from_slice)
            .collect();
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

    /// Decodes either binary form. The length tells them apart
    /// ([`is_range_proof_len`]): `17 (mod 32)` is a range proof, anything
    /// else is read as an inclusion proof.
    ///
    /// # Errors
    /// As [`InclusionProof::from_bytes`] and [`RangeProof::from_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if is_range_proof_len(bytes.len()) {
            RangeProof::from_bytes(bytes).map(Self::Range)
        } else {
            InclusionProof::from_bytes(bytes).map(Self::Inclusion)
        }
    }

    /// Pretty JSON form: `{"type": "inclusion" | "range", ...}` with
    /// camelCase fields, numbers as JSON integers, hashes as `0x` hex.
    pub fn to_json(&self) -> String {
        // Serialising these plain structs cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Parses the JSON form strictly (no unknown fields; every hash `0x`
    /// and 64 hex digits) and checks its shape.
    ///
    /// # Errors
    /// [`Error::ProofJson`] for malformed JSON, an unknown or missing
    /// field, or a malformed hash; then the shape errors of
    /// [`Proof::from_bytes`].
    pub fn from_json(json: &str) -> Result<Self> {
        let proof: Self =
            serde_json::from_str(json).map_err(|source| Error::ProofJson { source })?;
        match &proof {
            Self::Inclusion(p) => check_index(p.tx_num, p.siblings.len())?,
            // Re-use the binary decoder's shape checks.
            Self::Range(p) => {
                RangeProof::from_bytes(&p.to_bytes())?;
            }
        }
        Ok(proof)
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

/// The top node an inclusion proof leads to (after checking its shape).
///
/// # Errors
/// [`Error::InclusionProofLength`] for more than 64 siblings,
/// [`Error::IndexBeyondDepth`], [`Error::EmptyLeaf`] for a leaf hash of 32
/// zero bytes.
pub fn inclusion_root(proof: &InclusionProof) -> Result<B256> {
    let InclusionProof {
        tx_num,
        leaf_hash,
        siblings,
    } = proof;
    check_index(*tx_num, siblings.len())?;
    if *leaf_hash == EMPTY_SUBTREE[0] {
        return Err(Error::EmptyLeaf { tx_num: *tx_num });
    }
    let mut node = *leaf_hash;
    for (h, sibling) in siblings.iter().enumerate() {
        node = if (tx_num >> h) & 1 == 1 {
            node_hash(sibling, &node)
        } else {
            node_hash(&node, sibling)
        };
    }
    Ok(node)
}

/// Checks that `proof` places its leaf hash at its txNum under `root`.
///
/// The depth comes from the proof, so this alone shows only that
/// `proof.leaf_hash` is *some* node of the tree under `root`; it is that
/// tree's leaf `tx_num` when `proof.leaf_hash` is the hash of a leaf
/// preimage. Use [`verify_leaf`] when you have the leaf's components.
///
/// # Errors
/// Shape errors as [`inclusion_root`], then [`Error::RootMismatch`].
pub fn verify_inclusion(proof: &InclusionProof, root: &B256) -> Result<()> {
    check_root(inclusion_root(proof)?, root)
}

/// Checks that `leaf` is leaf number `proof.tx_num` of the tree with root
/// `root`: its hash is `proof.leaf_hash`, and the proof verifies. Because
/// a leaf preimage (`0x00 ‖ 128 bytes`) is never a node preimage
/// (`0x01 ‖ 64 bytes`), the proof's depth and index are then those of the
/// real tree.
///
/// # Errors
/// [`Error::LeafMismatch`] when the components do not hash to the proven
/// leaf hash; then as [`verify_inclusion`].
pub fn verify_leaf(proof: &InclusionProof, leaf: &LeafComponents, root: &B256) -> Result<()> {
    let computed = leaf.hash();
    if computed != proof.leaf_hash {
        return Err(Error::LeafMismatch {
            tx_num: proof.tx_num,
            proven: proof.leaf_hash,
            computed,
        });
    }
    verify_inclusion(proof, root)
}

/// Checks that the tree with root `new_root` (of `proof.new_size` leaves)
/// extends the tree with root `old_root` (of `proof.old_size` leaves) by
/// appending leaves only.
///
/// The roots do not bind the sizes: a verifier that relies on them takes
/// them from a trusted source (a block's `lastTxNum + 1`) and compares.
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
    check_root(old_top, old_root)?;

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
    check_root(node, new_root)
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

/// Strict serde for hashes in proof JSON: `0x` followed by exactly 64 hex
/// digits (either case); anything else is an error.
mod strict_hex {
    use alloc::{format, vec::Vec};
    use core::fmt;

    use alloy_primitives::B256;
    use serde::{
        Deserializer, Serialize, Serializer,
        de::{self, SeqAccess, Visitor},
    };

    fn parse<E: de::Error>(s: &str) -> Result<B256, E> {
        let digits = s
            .strip_prefix("0x")
            .ok_or_else(|| E::custom(format!("hash {s:?} does not start with 0x")))?;
        if digits.len() != 64 {
            return Err(E::custom(format!(
                "hash {s:?} has {} hex digits, expected 64",
                digits.len()
            )));
        }
        let mut out = [0u8; 32];
        alloy_primitives::hex::decode_to_slice(digits, &mut out)
            .map_err(|e| E::custom(format!("hash {s:?}: {e}")))?;
        Ok(B256::from(out))
    }

    struct OneVisitor;

    impl Visitor<'_> for OneVisitor {
        type Value = B256;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a 0x-prefixed 32-byte hex string")
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<B256, E> {
            parse(s)
        }
    }

    struct ManyVisitor;

    impl<'de> Visitor<'de> for ManyVisitor {
        type Value = Vec<B256>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of 0x-prefixed 32-byte hex strings")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<B256>, A::Error> {
            let mut out = Vec::new();
            while let Some(s) = seq.next_element::<Strict>()? {
                out.push(s.0);
            }
            Ok(out)
        }
    }

    /// One strictly parsed hash, as a sequence element.
    struct Strict(B256);

    impl<'de> serde::Deserialize<'de> for Strict {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_str(OneVisitor).map(Strict)
        }
    }

    pub(super) mod one {
        use super::*;

        pub(crate) fn serialize<S: Serializer>(h: &B256, s: S) -> Result<S::Ok, S::Error> {
            h.serialize(s)
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<B256, D::Error> {
            d.deserialize_str(OneVisitor)
        }
    }

    pub(super) mod many {
        use super::*;

        pub(crate) fn serialize<S: Serializer>(h: &[B256], s: S) -> Result<S::Ok, S::Error> {
            h.serialize(s)
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<B256>, D::Error> {
            d.deserialize_seq(ManyVisitor)
        }
    }
}
