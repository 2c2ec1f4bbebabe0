use alloc::boxed::Box;
use alloy_primitives::{B256, Bloom};
use cairn_witness::WitnessError;

/// A header or body rule a block breaks (checked before execution).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsensusError {
    /// The block does not name its parent.
    #[error("parent hash {got} does not match parent {expected}")]
    ParentHash {
        /// In the header.
        got: B256,
        /// Hash of the parent.
        expected: B256,
    },
    /// The number is not the parent's plus one.
    #[error("block number {got} does not follow parent {parent}")]
    Number {
        /// In the header.
        got: u64,
        /// The parent's number.
        parent: u64,
    },
    /// The timestamp is not after the parent's.
    #[error("timestamp {got} is not after the parent's {parent}")]
    Timestamp {
        /// In the header.
        got: u64,
        /// The parent's timestamp.
        parent: u64,
    },
    /// Extra data longer than 32 bytes.
    #[error("extra data of {len} bytes exceeds 32")]
    ExtraDataTooLong {
        /// Its length.
        len: usize,
    },
    /// More gas used than the limit.
    #[error("gas used {gas_used} exceeds gas limit {gas_limit}")]
    GasUsedExceedsLimit {
        /// Gas used in the header.
        gas_used: u64,
        /// Gas limit in the header.
        gas_limit: u64,
    },
    /// The gas limit moved too far from the parent's, or is out of range.
    #[error("gas limit {got} is out of bounds for parent gas limit {parent}")]
    GasLimit {
        /// In the header.
        got: u64,
        /// The parent's (elasticity-adjusted) gas limit.
        parent: u64,
    },
    /// The block is under a proof-of-work fork.
    #[error(
        "block is under {fork}, before the merge: pre-merge networks are out of scope (Cairn validates proof-of-stake blocks, Paris onwards)"
    )]
    PreMerge {
        /// The newest fork active at the block.
        fork: &'static str,
    },
    /// Post-merge difficulty must be zero.
    #[error("non-zero difficulty after the merge")]
    NonZeroDifficulty,
    /// Post-merge nonce must be zero.
    #[error("non-zero nonce after the merge")]
    NonZeroNonce,
    /// The ommers hash does not match the ommers (or is not the empty hash after the merge).
    #[error("ommers hash {got} does not match {expected}")]
    OmmersHash {
        /// Computed or found.
        got: B256,
        /// Required.
        expected: B256,
    },
    /// The base fee is not the EIP-1559 value.
    #[error("base fee {got:?} does not match expected {expected}")]
    BaseFee {
        /// In the header.
        got: Option<u64>,
        /// Computed from the parent.
        expected: u64,
    },
    /// The excess blob gas is not the EIP-4844 / EIP-7918 value.
    #[error("excess blob gas {got} does not match expected {expected}")]
    ExcessBlobGas {
        /// In the header.
        got: u64,
        /// Computed from the parent.
        expected: u64,
    },
    /// The parent header breaks a rule no valid block breaks.
    #[error("invalid parent header: {reason}")]
    InvalidParent {
        /// The rule broken.
        reason: &'static str,
    },
    /// The parent's blob fields are too large for any next excess blob gas.
    #[error(
        "parent excess blob gas {excess_blob_gas} and blob gas used {blob_gas_used} overflow the next excess"
    )]
    ParentBlobGasOverflow {
        /// The parent's excess blob gas.
        excess_blob_gas: u64,
        /// The parent's blob gas used.
        blob_gas_used: u64,
    },
    /// Blob gas used is not a whole number of blobs.
    #[error("blob gas used {blob_gas_used} is not a multiple of the blob size")]
    BlobGasUsedNotMultiple {
        /// In the header.
        blob_gas_used: u64,
    },
    /// Blob gas used exceeds the block maximum.
    #[error("blob gas used {blob_gas_used} exceeds the maximum {max}")]
    BlobGasUsedExceedsMax {
        /// In the header or computed.
        blob_gas_used: u64,
        /// The fork's maximum.
        max: u64,
    },
    /// A field the active fork requires is absent.
    #[error("missing {field}")]
    MissingField {
        /// Its name.
        field: &'static str,
    },
    /// A field the active fork does not have is present.
    #[error("unexpected {field} before its fork")]
    UnexpectedField {
        /// Its name.
        field: &'static str,
    },
    /// The transactions root does not match the body.
    #[error("transactions root {got} does not match header {expected}")]
    TransactionsRoot {
        /// Computed from the body.
        got: B256,
        /// In the header.
        expected: B256,
    },
    /// The withdrawals root does not match the body.
    #[error("withdrawals root {got} does not match header {expected}")]
    WithdrawalsRoot {
        /// Computed from the body.
        got: B256,
        /// In the header.
        expected: B256,
    },
    /// EIP-7934: the RLP-encoded block is too large.
    #[error("block of {size} bytes exceeds the {max}-byte limit")]
    BlockTooLarge {
        /// Encoded size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The block is under a fork this build does not execute.
    #[error("fork {fork} is not supported")]
    UnsupportedFork {
        /// The fork.
        fork: &'static str,
    },
}

/// Why a batch failed stateless validation.
#[derive(Debug, thiserror::Error)]
pub enum StatelessError {
    /// The input holds no blocks.
    #[error("no blocks to validate")]
    NoBlocks,
    /// The witness itself is malformed (headers that do not chain, bad RLP).
    #[error("invalid witness: {0}")]
    InvalidWitness(#[source] WitnessError),
    /// The first block's parent is not the newest witness header.
    #[error("block {block}: parent hash {got} is not the witness's parent header {expected}")]
    ParentNotInWitness {
        /// The first block's number.
        block: u64,
        /// Its parent hash.
        got: B256,
        /// Hash of the newest witness header.
        expected: B256,
    },
    /// The header or body breaks a consensus rule.
    #[error("block {block}: {source}")]
    Consensus {
        /// The block.
        block: u64,
        /// The rule.
        #[source]
        source: ConsensusError,
    },
    /// A transaction signature does not recover.
    #[error("block {block} tx {index}: invalid signature: {source}")]
    Signature {
        /// The block.
        block: u64,
        /// Index of the transaction in the block.
        index: usize,
        /// The recovery error.
        #[source]
        source: alloy_consensus::crypto::RecoveryError,
    },
    /// The witness cannot prove a read or a write the block needs.
    #[error("block {block}: witness incomplete: {source}")]
    WitnessIncomplete {
        /// The block.
        block: u64,
        /// What was missing (node hash and path, code hash, or block number).
        #[source]
        source: WitnessError,
    },
    /// Execution rejected the block (an invalid transaction, a failed system call, a block
    /// gas overflow, malformed deposit logs).
    #[error("block {block}: execution failed: {source}")]
    Execution {
        /// The block.
        block: u64,
        /// The executor's error.
        #[source]
        source: Box<alloy_evm::block::BlockExecutionError>,
    },
    /// Gas used differs from the header.
    #[error("block {block}: gas used {got} does not match header {expected}")]
    GasUsedMismatch {
        /// The block.
        block: u64,
        /// From execution.
        got: u64,
        /// In the header.
        expected: u64,
    },
    /// Blob gas used differs from the header.
    #[error("block {block}: blob gas used {got} does not match header {expected:?}")]
    BlobGasUsedMismatch {
        /// The block.
        block: u64,
        /// From execution.
        got: u64,
        /// In the header.
        expected: Option<u64>,
    },
    /// Receipts root differs from the header.
    #[error("block {block}: receipts root {got} does not match header {expected}")]
    ReceiptsRootMismatch {
        /// The block.
        block: u64,
        /// From execution.
        got: B256,
        /// In the header.
        expected: B256,
    },
    /// Logs bloom differs from the header.
    #[error("block {block}: logs bloom does not match header")]
    LogsBloomMismatch {
        /// The block.
        block: u64,
        /// From execution.
        got: Box<Bloom>,
        /// In the header.
        expected: Box<Bloom>,
    },
    /// Requests hash differs from the header.
    #[error("block {block}: requests hash {got} does not match header {expected:?}")]
    RequestsHashMismatch {
        /// The block.
        block: u64,
        /// From execution.
        got: B256,
        /// In the header.
        expected: Option<B256>,
    },
    /// State root differs from the header.
    #[error("block {block}: state root {got} does not match header {expected}")]
    StateRootMismatch {
        /// The block.
        block: u64,
        /// From applying the block's changes to the witness tries.
        got: B256,
        /// In the header.
        expected: B256,
    },
}

impl StatelessError {
    /// Whether the failure is the witness's fault (incomplete or malformed) rather than the
    /// block's.
    pub const fn is_witness_fault(&self) -> bool {
        matches!(
            self,
            Self::InvalidWitness(_)
                | Self::WitnessIncomplete { .. }
                | Self::ParentNotInWitness { .. }
        )
    }

    /// A short stable name of the check that failed, for reports.
    pub const fn check(&self) -> &'static str {
        match self {
            Self::NoBlocks => "input",
            Self::InvalidWitness(_) | Self::ParentNotInWitness { .. } => "witness",
            Self::Consensus { .. } => "consensus",
            Self::Signature { .. } => "signature",
            Self::WitnessIncomplete { .. } => "witness-incomplete",
            Self::Execution { .. } => "execution",
            Self::GasUsedMismatch { .. } => "gas-used",
            Self::BlobGasUsedMismatch { .. } => "blob-gas-used",
            Self::ReceiptsRootMismatch { .. } => "receipts-root",
            Self::LogsBloomMismatch { .. } => "logs-bloom",
            Self::RequestsHashMismatch { .. } => "requests-hash",
            Self::StateRootMismatch { .. } => "state-root",
        }
    }
}

/// Result alias for [`StatelessError`].
pub type Result<T, E = StatelessError> = core::result::Result<T, E>;
