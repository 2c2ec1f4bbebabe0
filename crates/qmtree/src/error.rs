//! The crate's error type.

use alloy_primitives::B256;
#[cfg(feature = "std")]
use std::path::PathBuf;

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything that can go wrong in `cairn-qmtree`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An appended leaf does not chain to the leaf before it.
    #[error("leaf {tx_num}: previousLeafHash is {got}, but the previous leaf hash is {expected}")]
    PreviousLeafMismatch {
        /// The txNum the leaf would have had.
        tx_num: u64,
        /// Hash of leaf `tx_num - 1` (zero for txNum 0).
        expected: B256,
        /// The `previous_leaf_hash` given.
        got: B256,
    },
    /// The tree holds `u64::MAX` leaves already.
    #[error("the tree is full ({leaf_count} leaves)")]
    TreeFull {
        /// Leaves in the tree.
        leaf_count: u64,
    },
    /// Blocks are committed in order, each number one above the last.
    #[error("cannot commit block {got}: the next block is {expected}")]
    NonContiguousBlock {
        /// The block number that would be next.
        expected: u64,
        /// The block number given.
        got: u64,
    },
    /// The block is not committed (never, or rewound away).
    #[error("block {block} is not committed")]
    BlockNotFound {
        /// The block asked for.
        block: u64,
    },
    /// A txNum at or past the number of leaves.
    #[error("txNum {tx_num} is not in a tree of {leaf_count} leaves")]
    TxOutOfRange {
        /// The txNum asked for.
        tx_num: u64,
        /// Leaves in the tree it was asked against.
        leaf_count: u64,
    },
    /// A range proof asked from a later block to an earlier one.
    #[error("range proof from block {from} to block {to}: the first block is later")]
    InvalidRange {
        /// Older block.
        from: u64,
        /// Newer block.
        to: u64,
    },
    /// A rewind further back than the store allows, or to no committed block.
    #[error("cannot rewind to block {target}: latest is {latest}, at most {max} blocks back")]
    RewindTooDeep {
        /// Block asked for.
        target: u64,
        /// Latest committed block.
        latest: u64,
        /// Rewind window in blocks.
        max: u64,
    },
    /// A previous write failed part-way; the tree must be reopened.
    #[error("the tree is unusable after an earlier write error; reopen it")]
    Poisoned,

    /// A binary range proof of the wrong length for the sizes its header
    /// declares, or a proof object whose node count is wrong.
    #[error("proof is {got} bytes, expected {expected}")]
    ProofLength {
        /// Length its header implies.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// A binary inclusion proof whose length is `ceil(d/8) + 32 + 32·d` for
    /// no depth `d ≤ 64`.
    #[error(
        "inclusion proof of {len} bytes: the length must be ceil(d/8) + 32 + 32·d for a depth d ≤ 64"
    )]
    InclusionProofLength {
        /// Length given.
        len: usize,
    },
    /// An inclusion proof whose index is not a slot of a tree of its depth.
    #[error("inclusion proof index {tx_num} is not below 2^{depth} (its depth)")]
    IndexBeyondDepth {
        /// The index.
        tx_num: u64,
        /// The proof's depth (sibling count).
        depth: u32,
    },
    /// An inclusion proof of a leaf hash of 32 zero bytes: an empty slot,
    /// never a leaf.
    #[error("inclusion proof of txNum {tx_num} proves an empty slot (leaf hash 0x00…00)")]
    EmptyLeaf {
        /// The index.
        tx_num: u64,
    },
    /// The leaf's components do not hash to the leaf hash a proof proves.
    #[error("the proof is for leaf hash {proven} at txNum {tx_num}, the leaf hashes to {computed}")]
    LeafMismatch {
        /// The proof's index.
        tx_num: u64,
        /// The proof's leaf hash.
        proven: B256,
        /// Hash of the components given.
        computed: B256,
    },
    /// A binary range proof whose first byte is not the range tag.
    #[error("unknown proof tag {tag:#04x} (a range proof starts with 0x02)")]
    UnknownProofTag {
        /// The first byte.
        tag: u8,
    },
    /// A range proof whose old size is larger than its new size.
    #[error("range proof from {old_size} leaves to {new_size} leaves shrinks the tree")]
    RangeSizes {
        /// Old tree size.
        old_size: u64,
        /// New tree size.
        new_size: u64,
    },
    /// The proof leads to another root.
    #[error("proof does not verify: it computes root {computed}, expected {expected}")]
    RootMismatch {
        /// Root the proof computes.
        computed: B256,
        /// Root the verifier holds.
        expected: B256,
    },
    /// A JSON proof that does not parse (bad syntax, non-hex hash, missing field).
    #[error("invalid proof JSON: {source}")]
    ProofJson {
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A proof file that starts like JSON but is not UTF-8.
    #[error("proof JSON is not UTF-8: {source}")]
    ProofNotUtf8 {
        /// The decoder's error.
        #[source]
        source: core::str::Utf8Error,
    },
    /// A proof built from stored nodes does not verify against the committed
    /// root(s): the stored tree data is wrong.
    #[error("stored nodes do not lead to the committed root (txNum {tx_num})")]
    UnprovableRoot {
        /// The leaf proved (the old size, for a range proof).
        tx_num: u64,
        /// How the check failed.
        #[source]
        source: alloc::boxed::Box<Self>,
    },
    /// Stored data disagrees with what the tree recomputes from it.
    #[error("inconsistent tree data: {what} (txNum {tx_num})")]
    Inconsistent {
        /// What disagreed.
        what: &'static str,
        /// The leaf (or first leaf) concerned.
        tx_num: u64,
    },

    /// An I/O error on a store file.
    #[cfg(feature = "std")]
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A store file is missing.
    #[cfg(feature = "std")]
    #[error("{}: missing file", path.display())]
    MissingFile {
        /// The file.
        path: PathBuf,
    },
    /// The directory is not a QMTree store.
    #[cfg(feature = "std")]
    #[error("{}: not a QMTree store (bad magic)", path.display())]
    NotAStore {
        /// The format file.
        path: PathBuf,
    },
    /// The store was written by another format version.
    #[cfg(feature = "std")]
    #[error("{}: store format version {found}, this build reads version {supported}", path.display())]
    UnsupportedFormat {
        /// The format file.
        path: PathBuf,
        /// Version found.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// A record's checksum does not match.
    #[cfg(feature = "std")]
    #[error("{}: checksum mismatch in the record at offset {offset}", path.display())]
    Corrupted {
        /// The file.
        path: PathBuf,
        /// Byte offset of the record.
        offset: u64,
    },
    /// A file is shorter than the last committed block needs.
    #[cfg(feature = "std")]
    #[error("{}: {actual} bytes, but the last committed block needs {expected}", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Length recorded at the last commit.
        expected: u64,
        /// Length on disk.
        actual: u64,
    },
    /// A record is well-formed but disagrees with the rest of the store.
    #[cfg(feature = "std")]
    #[error("{}: {what} at offset {offset}", path.display())]
    BadRecord {
        /// The file.
        path: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// What is wrong.
        what: &'static str,
    },
    /// A directory that must be empty or absent holds something.
    #[cfg(feature = "std")]
    #[error("{}: not empty (an empty or absent directory is needed)", path.display())]
    DirectoryNotEmpty {
        /// The directory.
        path: PathBuf,
    },
    /// Another process has the store open.
    #[cfg(feature = "std")]
    #[error("{}: the store is locked by another process", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
}
