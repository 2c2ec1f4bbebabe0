//! The crate's error type and its JSON-RPC error codes.

use alloy_primitives::B256;
use jsonrpsee::types::{ErrorObject, ErrorObjectOwned};
use std::{net::SocketAddr, path::PathBuf, time::Duration};

/// Result with the crate's [`RpcError`].
pub type Result<T, E = RpcError> = core::result::Result<T, E>;

/// JSON-RPC error codes the server answers with.
///
/// Parameters that do not parse get jsonrpsee's standard `-32602` with the parser's message
/// in `data`; the codes below are those the methods themselves return.
pub mod codes {
    /// A request whose parameters parse but cannot be served as given, or that has more
    /// parameters than its method takes (`-32602`).
    pub const INVALID_PARAMS: i32 = jsonrpsee::types::error::INVALID_PARAMS_CODE;
    /// A request object that is not a valid JSON-RPC 2.0 request, e.g. one whose `id` is an
    /// object or an array (`-32600`, answered with `"id": null`).
    pub const INVALID_REQUEST: i32 = jsonrpsee::types::error::INVALID_REQUEST_CODE;
    /// A request over one of the server's bounds ([`Limits`](crate::Limits)): its time
    /// budget, a call's gas cap or EVM time, or the bytes of answers in flight
    /// ("server busy: retry later"). EIP-1474's "limit exceeded".
    pub const LIMIT_EXCEEDED: i32 = -32005;
    /// The server failed (a damaged store, an I/O error): not the caller's fault (`-32603`).
    pub const INTERNAL: i32 = jsonrpsee::types::error::INTERNAL_ERROR_CODE;
    /// The EVM rejected a `qm_call` (as geth answers a failing `eth_call`).
    pub const CALL_FAILED: i32 = -32000;
    /// No block with this number (yet).
    pub const UNKNOWN_BLOCK: i32 = -32001;
    /// No leaf with this txNum (in the tree, or in the tree at the block asked for).
    pub const UNKNOWN_TX_NUM: i32 = -32002;
    /// No stored `qm_call` proof with this id.
    pub const UNKNOWN_CALL: i32 = -32003;
    /// `debug_dbGet`: no trie node with this hash in the node's store.
    pub const NOT_IN_DATABASE: i32 = -32004;
}

/// Everything that can go wrong in `cairn-rpc`. Each variant maps to one JSON-RPC error
/// code ([`RpcError::code`]); the message is the variant's display.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// No block with this number.
    #[error("unknown block {number} (the head is {head})")]
    UnknownBlock {
        /// The block asked for.
        number: u64,
        /// The newest block.
        head: u64,
    },
    /// No block with this hash.
    #[error("no block with hash {hash}")]
    UnknownBlockHash {
        /// The hash asked for.
        hash: B256,
    },
    /// No leaf with this txNum at the block asked for.
    #[error("unknown txNum {tx_num}: the tree at block {block} holds {leaf_count} leaves")]
    UnknownTxNum {
        /// The txNum asked for.
        tx_num: u64,
        /// The block the tree was taken at.
        block: u64,
        /// Leaves in the tree at that block.
        leaf_count: u64,
    },
    /// No stored `qm_call` proof with this id.
    #[error("no qm_call proof with id {id}")]
    UnknownCall {
        /// The id asked for.
        id: B256,
    },
    /// `debug_dbGet`: no trie node with this hash (the key must be a 32-byte node hash).
    #[error("no trie node with key {key} in the node's store")]
    NotInDatabase {
        /// The key asked for.
        key: alloy_primitives::Bytes,
    },
    /// The genesis has no body and so no execution witness.
    #[error("block {number} is the genesis: it executes nothing, so it has no execution witness")]
    GenesisWitness {
        /// The genesis number.
        number: u64,
    },
    /// The node's store lacks the code an account names (a damaged data directory).
    #[error("block {number}: code {code_hash} of {address} is not in the node's store")]
    MissingCode {
        /// The block.
        number: u64,
        /// The account.
        address: alloy_primitives::Address,
        /// Its code hash.
        code_hash: alloy_primitives::B256,
    },
    /// A range proof was given without the older root.
    #[error("a range proof needs the older root as the third parameter (oldRoot)")]
    MissingOldRoot,
    /// More storage keys than the server accepts in one `eth_getProof`.
    #[error("{given} storage keys requested, at most {max} allowed")]
    TooManyStorageKeys {
        /// Keys in the request.
        given: usize,
        /// The limit.
        max: usize,
    },
    /// More parameters than the method takes.
    #[error("{method} takes at most {max} parameters ({names}), got {given}")]
    TooManyParams {
        /// The method.
        method: String,
        /// Parameters it takes.
        max: usize,
        /// Their names.
        names: String,
        /// Parameters given.
        given: usize,
    },
    /// A named parameter the method does not take.
    #[error("{method} has no parameter {name:?} (it takes {names})")]
    UnknownParam {
        /// The method.
        method: String,
        /// The name given.
        name: String,
        /// The names it takes.
        names: String,
    },
    /// A request whose `id` is neither a string, a non-negative integer nor null.
    #[error("invalid request: the id must be a string, a non-negative integer or null")]
    InvalidId,
    /// The request ran past its time budget.
    #[error("the request ran past its time budget of {budget:?}")]
    Timeout {
        /// The budget ([`Limits::request_timeout`](crate::Limits::request_timeout)).
        budget: Duration,
    },
    /// Answers in flight already hold the server's response memory.
    #[error(
        "server busy: an answer of {size} bytes would exceed the {limit} bytes of answers in flight; retry later"
    )]
    Busy {
        /// The answer's size.
        size: usize,
        /// [`Limits::max_total_response_size`](crate::Limits::max_total_response_size).
        limit: usize,
    },
    /// A call proof whose call this server will not re-execute within its bounds.
    #[error("cannot verify the call proof within this server's limits: {source}")]
    VerifyLimit {
        /// The gas cap or the deadline.
        #[source]
        source: cairn_exec::commit::CallError,
    },
    /// A method is registered without its parameter list in `api::METHODS` (a bug, caught
    /// by the tests).
    #[error("method {method} is not listed in the API's parameter table")]
    UnlistedMethod {
        /// The method.
        method: String,
    },
    /// Execution, witness generation or the data directory failed.
    #[error(transparent)]
    Exec(#[from] cairn_exec::ExecError),
    /// A QMTree read failed.
    #[error("qmtree: {0}")]
    Qmtree(#[from] cairn_qmtree::Error),
    /// A state trie read failed (a node missing from the store).
    #[error("state: {0}")]
    State(#[from] cairn_witness::WitnessError),
    /// The senders of a stored block cannot be recovered.
    #[error("block {number}: {source}")]
    Senders {
        /// The block.
        number: u64,
        /// Why.
        #[source]
        source: cairn_stateless::StatelessError,
    },
    /// Generating a block's witness failed.
    #[error("block {number}: the stateless program rejects the stored block: {source}")]
    WitnessRun {
        /// The block.
        number: u64,
        /// Why.
        #[source]
        source: cairn_stateless::StatelessError,
    },
    /// Reading or writing the call store.
    #[error("{}: {source}", path.display())]
    CallStoreIo {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A stored call proof is not valid JSON.
    #[error("{}: {source}", path.display())]
    CallStoreJson {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// Serialising a response.
    #[error("cannot serialise the response: {0}")]
    Json(#[source] serde_json::Error),
    /// The work queue was closed (never, while the server runs).
    #[error("work queue closed: {0}")]
    WorkQueue(#[from] tokio::sync::AcquireError),
    /// A worker task died (a bug: the panic is logged by tokio).
    #[error("worker task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// Two methods of the API share a name (a bug, caught by the tests).
    #[error("cannot register the API: {0}")]
    Register(#[from] jsonrpsee::core::RegisterMethodError),
    /// The server cannot listen on the address.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl RpcError {
    /// The JSON-RPC error code of this error (see [`codes`]).
    pub fn code(&self) -> i32 {
        match self {
            Self::UnknownBlock { .. } | Self::UnknownBlockHash { .. } => codes::UNKNOWN_BLOCK,
            Self::UnknownTxNum { .. } => codes::UNKNOWN_TX_NUM,
            Self::UnknownCall { .. } => codes::UNKNOWN_CALL,
            Self::NotInDatabase { .. } => codes::NOT_IN_DATABASE,
            Self::GenesisWitness { .. }
            | Self::MissingOldRoot
            | Self::TooManyStorageKeys { .. }
            | Self::TooManyParams { .. }
            | Self::UnknownParam { .. } => codes::INVALID_PARAMS,
            Self::InvalidId => codes::INVALID_REQUEST,
            Self::Timeout { .. } | Self::Busy { .. } | Self::VerifyLimit { .. } => {
                codes::LIMIT_EXCEEDED
            }
            Self::Exec(cairn_exec::ExecError::CallFailed {
                source:
                    cairn_exec::commit::CallError::Deadline
                    | cairn_exec::commit::CallError::GasCap { .. },
                ..
            }) => codes::LIMIT_EXCEEDED,
            Self::Exec(cairn_exec::ExecError::CallFailed { .. }) => codes::CALL_FAILED,
            Self::Exec(cairn_exec::ExecError::UnknownBlock { .. }) => codes::UNKNOWN_BLOCK,
            Self::Exec(_)
            | Self::Qmtree(_)
            | Self::State(_)
            | Self::Senders { .. }
            | Self::WitnessRun { .. }
            | Self::MissingCode { .. }
            | Self::CallStoreIo { .. }
            | Self::CallStoreJson { .. }
            | Self::Json(_)
            | Self::Task(_)
            | Self::WorkQueue(_)
            | Self::Register(_)
            | Self::UnlistedMethod { .. }
            | Self::Bind { .. } => codes::INTERNAL,
        }
    }
}

impl From<RpcError> for ErrorObjectOwned {
    fn from(e: RpcError) -> Self {
        if e.code() == codes::INTERNAL {
            tracing::warn!(target: "cairn::rpc", error = %e, "internal error");
        }
        ErrorObject::owned(e.code(), e.to_string(), None::<()>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_messages() {
        let e = RpcError::UnknownBlock { number: 9, head: 5 };
        let obj = ErrorObjectOwned::from(e);
        assert_eq!(obj.code(), codes::UNKNOWN_BLOCK);
        assert_eq!(obj.message(), "unknown block 9 (the head is 5)");
        let e = RpcError::UnknownTxNum {
            tx_num: 40,
            block: 2,
            leaf_count: 31,
        };
        assert_eq!(e.code(), codes::UNKNOWN_TX_NUM);
        assert_eq!(RpcError::MissingOldRoot.code(), codes::INVALID_PARAMS);
        let exec = cairn_exec::ExecError::UnknownBlock { number: 3 };
        assert_eq!(RpcError::Exec(exec).code(), codes::UNKNOWN_BLOCK);
    }
}
