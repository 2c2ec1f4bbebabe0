//! The one error type of `cairn-zk`.

use std::path::PathBuf;

use alloy_primitives::{Address, B256, U256};

/// Everything that can go wrong fetching a witness, proving, verifying or deploying.
#[derive(Debug, thiserror::Error)]
pub enum ZkError {
    /// A JSON-RPC call failed or answered something unusable.
    #[error("rpc {method} at {url}: {reason}")]
    Rpc {
        /// The node's URL.
        url: String,
        /// The method called.
        method: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The node does not know the block.
    #[error("block {block} not found at {url}")]
    BlockNotFound {
        /// Block number asked for.
        block: u64,
        /// The node's URL.
        url: String,
    },
    /// The header rebuilt from the node's JSON does not hash to the block hash it reported.
    #[error("block {block}: header rebuilt from JSON hashes to {got}, the node says {expected}")]
    HeaderHashMismatch {
        /// Block number.
        block: u64,
        /// Keccak of the RLP header.
        got: B256,
        /// The block hash reported.
        expected: B256,
    },
    /// The header is not a valid RLP header.
    #[error("block {block}: header RLP does not decode: {source}")]
    HeaderRlp {
        /// Block number.
        block: u64,
        /// The decoding error.
        #[source]
        source: alloy_rlp::Error,
    },
    /// The header has a shape the circuit cannot take (e.g. a post-Prague `requestsHash`).
    #[error("block {block}: header unsupported by the circuit: {reason}")]
    HeaderUnsupported {
        /// Block number.
        block: u64,
        /// Why.
        reason: String,
    },
    /// The account proof does not prove the account into the header's state root.
    #[error(
        "block {block}: account proof of {address} does not verify against state root {state_root}: {reason}"
    )]
    AccountProof {
        /// Block number.
        block: u64,
        /// The account.
        address: Address,
        /// The header's state root.
        state_root: B256,
        /// Why (alloy-trie's verdict).
        reason: String,
    },
    /// The storage proof does not prove the value into the account's storage root.
    #[error(
        "block {block}: storage proof of {address} slot {slot} does not verify against storage root {storage_root}: {reason}"
    )]
    StorageProof {
        /// Block number.
        block: u64,
        /// The account.
        address: Address,
        /// The slot.
        slot: B256,
        /// The account's storage root.
        storage_root: B256,
        /// Why.
        reason: String,
    },
    /// A proof has more nodes than the circuit's maximum depth.
    #[error("{trie} proof has {depth} nodes, the circuit takes at most {max_depth}")]
    ProofTooDeep {
        /// `account` or `storage`.
        trie: &'static str,
        /// Nodes in the proof.
        depth: usize,
        /// The circuit's maximum.
        max_depth: usize,
    },
    /// The circuit proves only inclusion of a present account and non-zero slot (as axiom-eth's
    /// storage circuit constrains).
    #[error(
        "block {block}: {what} is empty; the storage circuit proves only occupied slots of existing accounts"
    )]
    EmptySlot {
        /// Block number.
        block: u64,
        /// `account 0x..` or `slot 0x..`.
        what: String,
    },
    /// The witness needs more keccak permutations than the circuit's keccak shard holds.
    #[error("witness needs {used} keccak_f permutations, the keccak shard holds {capacity}")]
    KeccakCapacity {
        /// Needed.
        used: usize,
        /// Available.
        capacity: usize,
    },
    /// The number of slots differs from the circuit's.
    #[error("the circuit proves {expected} slot(s) per proof, got {got}")]
    SlotCount {
        /// Slots given.
        got: usize,
        /// The circuit's count.
        expected: usize,
    },
    /// The value read from the proof differs from the value the query claims.
    #[error("slot {slot}: proof holds value {got}, query claims {expected}")]
    ValueMismatch {
        /// The slot.
        slot: B256,
        /// In the proof.
        got: U256,
        /// Claimed.
        expected: U256,
    },
    /// The circuit's constraints are not satisfied by the witness (found before proving).
    #[error("circuit {circuit} is not satisfied by the witness: {reason}")]
    Unsatisfied {
        /// Which circuit.
        circuit: &'static str,
        /// The first failures.
        reason: String,
    },
    /// KZG parameters are missing, unreadable, or of the wrong size.
    #[error("kzg params {path}: {reason}")]
    Params {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A cached key does not belong to this circuit configuration.
    #[error("key {path}: {reason}")]
    Key {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// halo2 refused to synthesize or prove.
    #[error("{circuit}: halo2 {stage} failed: {reason}")]
    Halo2 {
        /// Which circuit.
        circuit: &'static str,
        /// `keygen`, `prove`, ...
        stage: &'static str,
        /// The error.
        reason: String,
    },
    /// The proof does not verify (wrong instances, tampered bytes, another circuit's proof or key).
    #[error("{circuit} proof rejected: {reason}")]
    Rejected {
        /// Which circuit.
        circuit: &'static str,
        /// Why.
        reason: String,
    },
    /// A proof file is malformed.
    #[error("proof file {path}: {reason}")]
    ProofFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Compiling, deploying or calling the EVM verifier failed.
    #[error("evm verifier: {reason}")]
    Evm {
        /// Why.
        reason: String,
    },
    /// An external tool (anvil, solc) failed.
    #[error(transparent)]
    Tool(#[from] cairn_devtools::ToolError),
    /// File I/O.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with [`ZkError`].
pub type Result<T, E = ZkError> = std::result::Result<T, E>;

impl ZkError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
