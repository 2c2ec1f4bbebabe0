use alloc::{boxed::Box, sync::Arc};
use alloy_primitives::{Address, B256, U256};
use cairn_trie::TrieError;

/// Errors from reading state through a witness, or from decoding a witness.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WitnessError {
    /// The account trie could not answer for an address.
    #[error("account {address}: {source}")]
    Account {
        /// The account being read or written.
        address: Address,
        /// The trie's error (names the missing or invalid node).
        #[source]
        source: Box<TrieError>,
    },
    /// A storage trie could not answer for a slot.
    #[error("storage of {address} slot {slot}: {source}")]
    Storage {
        /// The account owning the storage.
        address: Address,
        /// The slot being read or written.
        slot: U256,
        /// The trie's error.
        #[source]
        source: Box<TrieError>,
    },
    /// An account leaf does not hold a valid RLP account.
    #[error("account {address}: invalid account rlp: {source}")]
    InvalidAccount {
        /// The account.
        address: Address,
        /// The decoder's error.
        #[source]
        source: alloy_rlp::Error,
    },
    /// A storage leaf does not hold a valid RLP integer.
    #[error("storage of {address} slot {slot}: invalid value rlp: {source}")]
    InvalidStorageValue {
        /// The account owning the storage.
        address: Address,
        /// The slot.
        slot: U256,
        /// The decoder's error.
        #[source]
        source: alloy_rlp::Error,
    },
    /// The witness lacks the bytecode for a code hash the execution needs.
    #[error("missing bytecode {code_hash}")]
    MissingCode {
        /// Keccak hash of the code.
        code_hash: B256,
    },
    /// A witness bytecode is malformed (e.g. a broken EIP-7702 delegation designator).
    #[error("invalid bytecode {code_hash}")]
    InvalidCode {
        /// Keccak hash of the code.
        code_hash: B256,
        /// Why it does not decode.
        #[source]
        source: revm::bytecode::BytecodeDecodeError,
    },
    /// BLOCKHASH asked for a block the witness's header chain does not reach.
    #[error("missing header for block {number} (BLOCKHASH)")]
    MissingBlockHash {
        /// The block number asked for.
        number: u64,
    },
    /// A witness header is not valid RLP.
    #[error("witness header {index}: invalid rlp: {source}")]
    InvalidHeader {
        /// Position in the witness's `headers` list.
        index: usize,
        /// The decoder's error.
        #[source]
        source: alloy_rlp::Error,
    },
    /// The witness's headers do not form a chain (each the parent of the next).
    #[error(
        "witness header {index} (block {number}) does not extend the previous header {expected_parent}"
    )]
    BrokenHeaderChain {
        /// Position in the witness's `headers` list.
        index: usize,
        /// Its block number.
        number: u64,
        /// Hash of the previous header, which it should name as parent.
        expected_parent: B256,
    },
    /// The witness has no headers, so no parent to start from.
    #[error("witness has no headers: the parent header is mandatory")]
    NoParentHeader,
    /// More ancestor headers than BLOCKHASH can ever need.
    #[error("witness has {count} headers; at most 256 are allowed")]
    TooManyHeaders {
        /// How many were given.
        count: usize,
    },
    /// A block of a bundle is not valid RLP, or not its canonical encoding.
    #[error("bundle block {index}: {source}")]
    InvalidBlock {
        /// Position in the bundle's `blocks`.
        index: usize,
        /// What was wrong (with the block's number when its header decodes).
        #[source]
        source: cairn_primitives::PrimitivesError,
    },
    /// Two orders of the same updates gave different roots (a trie fault, never the
    /// input's: the root of a set of keys does not depend on the order they were written).
    #[error(
        "applying the updates in {order} gives root {got}, the order in force gives {expected}"
    )]
    OrderDependentRoot {
        /// The order that disagreed.
        order: crate::state::UpdateOrder,
        /// The root it gave.
        got: B256,
        /// The root of the order in force.
        expected: B256,
    },
    /// A witness source failed (e.g. the backing store of a witness being recorded).
    #[error("witness source failed: {0}")]
    Source(#[source] Arc<dyn core::error::Error + Send + Sync>),
    /// A JSON witness could not be read.
    #[cfg(feature = "json")]
    #[error("invalid witness json: {0}")]
    Json(#[source] Arc<serde_json::Error>),
}

impl revm::database_interface::DBErrorMarker for WitnessError {}

#[cfg(feature = "json")]
impl From<serde_json::Error> for WitnessError {
    fn from(e: serde_json::Error) -> Self {
        Self::Json(Arc::new(e))
    }
}

/// Result alias for [`WitnessError`].
pub type Result<T, E = WitnessError> = core::result::Result<T, E>;
