//! Errors of the input sources.

use alloy_primitives::{Address, B256, U256};
use std::path::PathBuf;

/// Everything that can go wrong fetching or building a program input.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The node answered a call with a JSON-RPC error.
    #[error("{method} {params}: node answered error {code}: {message}")]
    Call {
        /// The method called.
        method: String,
        /// Its parameters (JSON).
        params: String,
        /// JSON-RPC error code.
        code: i32,
        /// The node's message.
        message: String,
    },
    /// The node does not serve a method (JSON-RPC `-32601`, or geth's "does not exist").
    #[error("{method}: the node does not serve this method ({message})")]
    MethodUnavailable {
        /// The method.
        method: String,
        /// The node's message.
        message: String,
    },
    /// The node did not answer in time, after every retry.
    #[error("{method} {params}: no answer after {attempts} attempts (timeout)")]
    Timeout {
        /// The method called.
        method: String,
        /// Its parameters (JSON).
        params: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The transport failed (connection refused, HTTP error such as 429), after every retry.
    #[error("{method} {params}: transport failed after {attempts} attempts: {source}")]
    Transport {
        /// The method called.
        method: String,
        /// Its parameters (JSON).
        params: String,
        /// Attempts made.
        attempts: u32,
        /// The client's error.
        #[source]
        source: Box<jsonrpsee::core::ClientError>,
    },
    /// The client could not be built for this URL.
    #[error("rpc client for {url}: {source}")]
    Client {
        /// The URL.
        url: String,
        /// The client's error.
        #[source]
        source: Box<jsonrpsee::core::ClientError>,
    },
    /// An answer does not have the shape the method promises.
    #[error("{method} {params}: answer does not parse: {source}")]
    BadAnswer {
        /// The method called.
        method: String,
        /// Its parameters (JSON).
        params: String,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// `--offline`: the cache has no answer for this call.
    #[error("{method} {params}: not in the cache {dir} (offline)")]
    NotCached {
        /// The method.
        method: String,
        /// Its parameters (JSON).
        params: String,
        /// The cache directory.
        dir: PathBuf,
    },
    /// `--offline` without a cache directory.
    #[error("offline replay needs a cache directory")]
    OfflineWithoutCache,
    /// Reading or writing the cache failed.
    #[error("cache {path}: {source}")]
    CacheIo {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A cached answer is not valid JSON (a damaged cache file).
    #[error("cache {path}: {source}")]
    CacheCorrupt {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// The node does not hold a block.
    #[error("{method}: the node has no block {number}")]
    NoSuchBlock {
        /// The method that answered `null`.
        method: &'static str,
        /// The block.
        number: u64,
    },
    /// A block or header does not hash to the hash the node gives for its number, or is not
    /// the block asked for.
    #[error("{method}: block {number} hashes to {got}, but the node names it {expected}")]
    BlockHashMismatch {
        /// The method that served it.
        method: &'static str,
        /// The block number asked for.
        number: u64,
        /// Hash of what was served.
        got: B256,
        /// The hash the node claims (or the child's parent hash).
        expected: B256,
    },
    /// A block served for a number carries another number.
    #[error("{method}: asked for block {number}, got block {got}")]
    WrongBlock {
        /// The method.
        method: &'static str,
        /// The number asked for.
        number: u64,
        /// The number served.
        got: u64,
    },
    /// A raw block does not decode.
    #[error("{method}: block {number}: {source}")]
    BadBlock {
        /// The method.
        method: &'static str,
        /// The block.
        number: u64,
        /// The decoder's error.
        #[source]
        source: cairn_primitives::PrimitivesError,
    },
    /// Full transactions were asked for and transaction hashes came back.
    #[error("{method}: block {number}: transaction hashes where full transactions were asked for")]
    HashesForTransactions {
        /// The method.
        method: &'static str,
        /// The block.
        number: u64,
    },
    /// A witness answer does not decode.
    #[error("debug_executionWitness block {number}: {source}")]
    BadWitness {
        /// The block.
        number: u64,
        /// The codec's error.
        #[source]
        source: cairn_witness::WitnessError,
    },
    /// An account proof does not hash to the state root it claims to be part of.
    #[error(
        "eth_getProof block {block}: account {address}: proof does not verify against state root {root}: {source}"
    )]
    AccountProof {
        /// The block the proof is at.
        block: u64,
        /// The account.
        address: Address,
        /// The state root.
        root: B256,
        /// The verifier's error.
        #[source]
        source: Box<alloy_trie::proof::ProofVerificationError>,
    },
    /// A storage proof does not hash to the account's storage root.
    #[error(
        "eth_getProof block {block}: account {address} slot {slot}: proof does not verify against storage root {root}: {source}"
    )]
    StorageProof {
        /// The block the proof is at.
        block: u64,
        /// The account.
        address: Address,
        /// The slot.
        slot: U256,
        /// The storage root.
        root: B256,
        /// The verifier's error.
        #[source]
        source: Box<alloy_trie::proof::ProofVerificationError>,
    },
    /// The node answered a proof for another account or slot than asked.
    #[error("eth_getProof block {block}: asked for {address}, answered for {answered}")]
    ProofForOtherKey {
        /// The block.
        block: u64,
        /// The account asked for.
        address: Address,
        /// What the answer is about.
        answered: String,
    },
    /// Code served for an account does not hash to the account's code hash.
    #[error(
        "eth_getCode block {block}: code of {address} hashes to {got}, the account's code hash is {expected}"
    )]
    CodeHashMismatch {
        /// The block.
        block: u64,
        /// The account.
        address: Address,
        /// Hash of the served code.
        got: B256,
        /// The account's code hash (proven).
        expected: B256,
    },
    /// A node served by `debug_dbGet` does not hash to the hash asked for.
    #[error("debug_dbGet: node {hash} answered with data hashing to {got}")]
    NodeHashMismatch {
        /// The node asked for.
        hash: B256,
        /// Hash of what came back.
        got: B256,
    },
    /// Pre-flight execution against the remote state failed (senders, the EVM, a system
    /// call), for a reason of the block's own.
    #[error("pre-flight execution of block {block}: {source}")]
    PreFlight {
        /// The block.
        block: u64,
        /// The executor's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A bytecode served for an account does not decode (e.g. a broken EIP-7702 designator).
    #[error("eth_getCode block {block}: code of {address}: {source}")]
    BadCode {
        /// The block the code is at.
        block: u64,
        /// The account.
        address: Address,
        /// The decoder's error.
        #[source]
        source: revm::bytecode::BytecodeDecodeError,
    },
    /// The EVM asked for a code by hash that no account read so far has.
    #[error("pre-flight at block {block}: code {code_hash} asked for before any account had it")]
    UnknownCode {
        /// The block the state is at.
        block: u64,
        /// The code hash.
        code_hash: B256,
    },
    /// A read during the pre-flight failed; the error that made it fail is reported
    /// instead (the EVM only passes this one on).
    #[error("pre-flight read at block {block} failed")]
    ReadFailed {
        /// The block the state is at.
        block: u64,
    },
    /// A trie node that a deletion needs (case 2: a branch or extension that a collapse
    /// restructures) could not be obtained: not in any proof, not found by a key search,
    /// and `debug_dbGet` unavailable or without it.
    #[error(
        "block {block}: trie node {node} at path {path} (needed to delete {key}) could not be fetched: {reason}"
    )]
    UnrepairableDeletion {
        /// The block whose deletion needs it.
        block: u64,
        /// The node's hash.
        node: B256,
        /// Its nibble path (hex).
        path: String,
        /// The key being deleted (account, or account and slot).
        key: String,
        /// What was tried.
        reason: String,
    },
    /// The built input does not validate, for a reason repairs cannot fix.
    #[error("built input for blocks {first}..={last} does not validate: {source}")]
    Invalid {
        /// First block.
        first: u64,
        /// Last block.
        last: u64,
        /// The stateless program's error.
        #[source]
        source: Box<cairn_stateless::StatelessError>,
    },
    /// An empty or reversed range, or one starting at genesis (which has no parent).
    #[error("invalid block range {first}..={last}")]
    BadRange {
        /// First block.
        first: u64,
        /// Last block.
        last: u64,
    },
    /// The local node failed.
    #[error("local node: {0}")]
    Local(#[from] cairn_exec::ExecError),
    /// The background task panicked or was cancelled.
    #[error("background task: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Result with [`SourceError`].
pub type Result<T, E = SourceError> = std::result::Result<T, E>;
