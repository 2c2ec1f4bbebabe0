use alloy_primitives::B256;
use cairn_stateless::StatelessError;
use cairn_witness::WitnessError;

/// Errors from full-state execution.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The genesis allocation does not hash to the genesis header's state root.
    #[error("genesis state root {got} does not match header {expected}")]
    GenesisStateRoot {
        /// Computed from the allocation.
        got: B256,
        /// In the genesis header.
        expected: B256,
    },
    /// The block is invalid (same taxonomy as stateless validation).
    #[error(transparent)]
    Block(#[from] StatelessError),
    /// The block does not extend the current head.
    #[error("block {number} has parent {parent_hash}, which is not the head {head}")]
    NotOnHead {
        /// The block's number.
        number: u64,
        /// The block's parent hash.
        parent_hash: B256,
        /// Hash of the current head.
        head: B256,
    },
    /// Strict validation rejected a complete witness (a generator fault).
    #[error("block {number}: strict validation rejects the complete witness: {source}")]
    StrictRejected {
        /// The block.
        number: u64,
        /// Strict validation's error.
        #[source]
        source: StatelessError,
    },
    /// Full execution and stateless validation reached different results.
    #[error(
        "block {number}: full execution gives state root {full}, stateless validation {stateless}"
    )]
    PathsDisagree {
        /// The block.
        number: u64,
        /// Root from full execution.
        full: B256,
        /// Root from stateless validation.
        stateless: B256,
    },
    /// Commitments could not be attributed to the block's execution steps.
    #[error("block {number}: commitments inconsistent: {reason}")]
    CommitmentMismatch {
        /// The block.
        number: u64,
        /// What did not line up.
        reason: &'static str,
    },
    /// Re-executing a committed block does not reproduce a leaf stored in the data directory.
    #[error("block {number}: recomputed leaf at txNum {tx_num} differs from the stored one")]
    StoredLeafMismatch {
        /// The block.
        number: u64,
        /// The leaf.
        tx_num: u64,
    },
    /// A call could not be executed.
    #[error("call at block {number}: {source}")]
    CallFailed {
        /// The block.
        number: u64,
        /// Why.
        #[source]
        source: crate::commit::CallError,
    },
    /// An earlier import failed after the chain advanced; reopen the data directory.
    #[error("node is unusable after a failed import; reopen its data directory")]
    Poisoned,
    /// A QMTree operation failed.
    #[error("qmtree: {0}")]
    Qmtree(#[from] cairn_qmtree::Error),
    /// A data directory does not hold what it should.
    #[error("{path}: {reason}")]
    DataDir {
        /// The file or directory.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A data directory holds other blocks than the chain file given for it (another chain
    /// with the same genesis).
    #[error("{path}: block {number} is not the chain file's: this directory holds another chain")]
    Diverged {
        /// The block log.
        path: std::path::PathBuf,
        /// The first block that differs.
        number: u64,
    },
    /// No canonical block with this number.
    #[error("unknown block {number}")]
    UnknownBlock {
        /// The number asked for.
        number: u64,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A chain file is not valid JSON of the expected shape.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: std::path::PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A block of a chain file is not valid RLP, or not its canonical encoding.
    #[error("chain file block {index} (from 0 after genesis): {source}")]
    InvalidBlock {
        /// Its position in the file's `blocks`.
        index: usize,
        /// What was wrong (with the block's number when its header decodes).
        #[source]
        source: cairn_primitives::PrimitivesError,
    },
    /// A header in a chain file is not valid RLP.
    #[error("{what} {index}: invalid rlp: {source}")]
    Rlp {
        /// What was being decoded.
        what: &'static str,
        /// Its index.
        index: usize,
        /// The decoder's error.
        #[source]
        source: alloy_rlp::Error,
    },
    /// The development chain generator could not sign.
    #[error("signing failed: {0}")]
    Signing(#[from] k256::ecdsa::Error),
    /// The block-hash MMR failed, or does not match the chain.
    #[error("block-hash MMR: {0}")]
    Mmr(#[from] cairn_history::MmrError),
    /// The state store lacks a node it should hold (a corrupted store).
    #[error("state store: {0}")]
    Store(#[from] WitnessError),
}

/// Errors from the flat-state database revm reads during full execution.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FlatDbError {
    /// BLOCKHASH asked for a block the chain does not hold.
    #[error("no canonical header for block {number}")]
    MissingHeader {
        /// The number asked for.
        number: u64,
    },
    /// An account's code hash has no code in the store.
    #[error("no code for hash {code_hash}")]
    MissingCode {
        /// The code hash.
        code_hash: B256,
    },
    /// Stored code does not decode as bytecode (e.g. a broken EIP-7702 designator).
    #[error("invalid code for hash {code_hash}")]
    InvalidCode {
        /// The code hash.
        code_hash: B256,
        /// Why it does not decode.
        #[source]
        source: revm::bytecode::BytecodeDecodeError,
    },
}

impl revm::database_interface::DBErrorMarker for FlatDbError {}

/// Result alias for [`ExecError`].
pub type Result<T, E = ExecError> = core::result::Result<T, E>;
