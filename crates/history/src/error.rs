//! The crate's error type.

use alloc::{boxed::Box, string::String};
use alloy_primitives::{Address, B256};
use alloy_trie::proof::ProofVerificationError;

/// Result with the crate's [`HistoryError`].
pub type Result<T, E = HistoryError> = core::result::Result<T, E>;

/// Everything that can go wrong building or verifying a historical-data proof. Variants name
/// the block, address, slot, index or position that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// A field name or code that does not exist.
    #[error("unknown {kind} field")]
    UnknownField {
        /// The field enum (`HeaderField`, ...).
        kind: &'static str,
    },
    /// An `item` given to a field that takes none.
    #[error("field {field} takes no item, but item {item} was given")]
    ItemNotAllowed {
        /// The field.
        field: &'static str,
        /// The item given.
        item: u64,
    },
    /// A mapping subquery without keys or with too many.
    #[error("a mapping subquery takes 1 to {max} keys, {depth} given")]
    MappingDepth {
        /// Keys given.
        depth: usize,
        /// The limit.
        max: usize,
    },
    /// A `bytesN` mapping key outside 1..=32 bytes.
    #[error("a bytesN mapping key has 1 to 32 bytes, {len} given")]
    FixedBytesLength {
        /// Its length.
        len: usize,
    },
    /// A mapping key in `kind:value` form that does not parse.
    #[error(
        "mapping key {key:?}: give kind:value with kind address, uint, int, bool, bytesN, string or bytes"
    )]
    BadMappingKey {
        /// The text given.
        key: String,
    },
    /// A query without subqueries.
    #[error("a query needs at least one subquery")]
    EmptyQuery,
    /// More subqueries than allowed.
    #[error("{given} subqueries, at most {max} allowed")]
    TooManySubqueries {
        /// Subqueries given.
        given: usize,
        /// The limit.
        max: usize,
    },
    /// A proof file of another format version.
    #[error("proof format version {got}, this build reads version {expected}")]
    Version {
        /// The file's version.
        got: u32,
        /// The supported one.
        expected: u32,
    },
    /// A header whose keccak is not the block hash it claims.
    #[error("block {block}: the header hashes to {got}, not to the block hash {expected}")]
    HeaderHash {
        /// Block number.
        block: u64,
        /// keccak256 of the header given.
        got: B256,
        /// The block hash claimed.
        expected: B256,
    },
    /// A header that is not an RLP list of at least 15 items.
    #[error("block {block}: the header is not a well-formed RLP header")]
    MalformedHeader {
        /// Block number.
        block: u64,
    },
    /// A header whose `number` field is not the block it stands for.
    #[error("block {block}: the header's number field is {got}")]
    HeaderNumber {
        /// The block it stands for.
        block: u64,
        /// Its number field.
        got: u64,
    },
    /// Blocks of a query proof out of order or repeated.
    #[error("block {block} appears out of order or twice in the proof's block list")]
    BlockOrder {
        /// The block.
        block: u64,
    },
    /// A subquery about a block the proof holds no header for.
    #[error("subquery {index} is about block {block}, which the proof holds no header for")]
    MissingBlock {
        /// Subquery index.
        index: usize,
        /// The block.
        block: u64,
    },
    /// A header field this block does not have (a fork later than the block).
    #[error("block {block}: the header has no {field} (its fork predates the field)")]
    FieldAbsent {
        /// Block number.
        block: u64,
        /// The field.
        field: &'static str,
    },
    /// A field value that does not fit a 32-byte word or is not the expected RLP kind.
    #[error("block {block}: {what} is malformed ({field})")]
    MalformedField {
        /// Block number.
        block: u64,
        /// What was read (header, transaction 3, receipt 3, ...).
        what: String,
        /// The field.
        field: &'static str,
    },
    /// A word or list index past the end of a field.
    #[error("block {block}: {what} {field} has {count} items, item {item} asked for")]
    ItemOutOfRange {
        /// Block number.
        block: u64,
        /// What was read.
        what: String,
        /// The field.
        field: &'static str,
        /// The item asked for.
        item: u64,
        /// Items the field has.
        count: u64,
    },
    /// A log index past the receipt's logs.
    #[error("block {block}: receipt {tx_index} has {count} logs, log {log_index} asked for")]
    LogOutOfRange {
        /// Block number.
        block: u64,
        /// Transaction index.
        tx_index: u64,
        /// Log asked for.
        log_index: u64,
        /// Logs in the receipt.
        count: u64,
    },
    /// A transaction index past the block's transactions.
    #[error("block {block} has {count} transactions, transaction {index} asked for")]
    TxOutOfRange {
        /// Block number.
        block: u64,
        /// Index asked for.
        index: u64,
        /// Transactions in the block.
        count: u64,
    },
    /// An account proof that does not prove the account against the state root.
    #[error(
        "block {block}: account proof of {address} does not verify against state root {root}: {source}"
    )]
    AccountProof {
        /// Block number.
        block: u64,
        /// The account.
        address: Address,
        /// The header's state root.
        root: B256,
        /// Why (boxed: the trie error is large).
        #[source]
        source: Box<ProofVerificationError>,
    },
    /// A storage proof that does not prove the slot against the account's storage root.
    #[error(
        "block {block}: storage proof of slot {slot} of {address} does not verify against storage root {root}: {source}"
    )]
    StorageProof {
        /// Block number.
        block: u64,
        /// The account.
        address: Address,
        /// The raw slot.
        slot: B256,
        /// The account's storage root.
        root: B256,
        /// Why (boxed: the trie error is large).
        #[source]
        source: Box<ProofVerificationError>,
    },
    /// A storage proof of an account the state trie does not hold (its slots are zero, with
    /// no storage proof).
    #[error(
        "block {block}: account {address} does not exist, yet a storage proof or value was given for slot {slot}"
    )]
    StorageOfAbsentAccount {
        /// Block number.
        block: u64,
        /// The account.
        address: Address,
        /// The slot.
        slot: B256,
    },
    /// A transaction or receipt proof that does not verify against the header's root.
    #[error(
        "block {block}: {trie} proof of index {index} does not verify against root {root}: {source}"
    )]
    TrieProof {
        /// Block number.
        block: u64,
        /// `transactions` or `receipts`.
        trie: &'static str,
        /// Transaction index.
        index: u64,
        /// The header's root.
        root: B256,
        /// Why (boxed: the trie error is large).
        #[source]
        source: Box<ProofVerificationError>,
    },
    /// The transactions or receipts of a block do not rebuild the header's root.
    #[error("block {block}: the {trie} given rebuild root {got}, the header has {expected}")]
    TrieRoot {
        /// Block number.
        block: u64,
        /// `transactions` or `receipts`.
        trie: &'static str,
        /// Rebuilt root.
        got: B256,
        /// The header's root.
        expected: B256,
    },
    /// A transaction or receipt that is not a well-formed EIP-2718 envelope.
    #[error("block {block}: {what} {index} is not a well-formed EIP-2718 envelope")]
    MalformedEnvelope {
        /// Block number.
        block: u64,
        /// `transaction` or `receipt`.
        what: &'static str,
        /// Transaction index.
        index: u64,
    },
    /// An account that is not the four-item RLP list of the state trie.
    #[error("block {block}: account {address} is not a well-formed state-trie account")]
    MalformedAccount {
        /// Block number.
        block: u64,
        /// The account.
        address: Address,
    },
    /// The proof given is of another kind than the subquery needs.
    #[error("subquery {index} ({kind}) comes with a {given} proof")]
    ProofKind {
        /// Subquery index.
        index: usize,
        /// The subquery's type.
        kind: &'static str,
        /// The proof's kind.
        given: &'static str,
    },
    /// A claimed result that is not what the proof shows.
    #[error("subquery {index}: the proof shows {got}, the result claimed is {expected}")]
    ResultMismatch {
        /// Subquery index.
        index: usize,
        /// What the proof shows.
        got: B256,
        /// What was claimed.
        expected: B256,
    },
    /// A claimed results root that is not the root of the results.
    #[error("the results root of the subqueries is {got}, the proof claims {expected}")]
    ResultsRoot {
        /// Recomputed.
        got: B256,
        /// Claimed.
        expected: B256,
    },
    /// MMR errors.
    #[error(transparent)]
    Mmr(#[from] crate::mmr::MmrError),
    /// A block whose MMR inclusion does not verify.
    #[error("block {block}: {source}")]
    BlockMmr {
        /// Block number.
        block: u64,
        /// Why.
        #[source]
        source: crate::mmr::MmrError,
    },
    /// A source (a node's data directory, a JSON-RPC node) failed to answer.
    #[cfg(feature = "std")]
    #[error("{what}: {source}")]
    Source {
        /// What was asked (method, block, address).
        what: String,
        /// The source's error.
        #[source]
        source: alloc::boxed::Box<dyn core::error::Error + Send + Sync>,
    },
    /// A block the source does not hold (yet).
    #[error("unknown block {block}: the source does not hold it")]
    UnknownBlock {
        /// The block.
        block: u64,
    },
    /// A block the source holds without its state or receipts (a pruned node).
    #[error("block {block}: the source no longer holds its {what} (pruned)")]
    Pruned {
        /// The block.
        block: u64,
        /// What is missing (`state`, `receipts`).
        what: &'static str,
    },
    /// A source answer to `eth_getProof` that leaves out a slot asked for.
    #[error("block {block}: the source's account proof of {address} leaves out slot {slot}")]
    MissingSlot {
        /// The block.
        block: u64,
        /// The account.
        address: Address,
        /// The slot.
        slot: B256,
    },
    /// A header whose parent hash is not the previous block's hash (walking headers).
    #[error("block {block}: parent hash {parent} is not block {}'s hash {previous}", block - 1)]
    ParentHash {
        /// The block.
        block: u64,
        /// Its parent hash.
        parent: B256,
        /// The previous block's hash.
        previous: B256,
    },
    /// A block past the MMR the proof is anchored to.
    #[error("block {block} is not in the MMR of {size} blocks")]
    NotInMmr {
        /// The block.
        block: u64,
        /// MMR size.
        size: u64,
    },
    /// An MMR leaf that is not the block hash the source gives.
    #[error("block {block}: the MMR holds hash {leaf}, the source gives {hash}")]
    MmrLeaf {
        /// The block.
        block: u64,
        /// The MMR's leaf.
        leaf: B256,
        /// The source's hash.
        hash: B256,
    },
    /// A block of a proof anchored to an MMR without an MMR proof, or the reverse.
    #[error("block {block}: {reason}")]
    MmrAnchor {
        /// Block number.
        block: u64,
        /// What is missing.
        reason: &'static str,
    },
}

/// Errors of the JSON-RPC source.
#[cfg(feature = "rpc")]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpcSourceError {
    /// The node refused or failed a call, or could not be reached.
    #[error("{method}: {source}")]
    Client {
        /// The method.
        method: &'static str,
        /// The client's error.
        #[source]
        source: jsonrpsee::core::ClientError,
    },
    /// An answer that is not of the expected shape.
    #[error("{method}: unexpected answer: {source}")]
    Decode {
        /// The method.
        method: &'static str,
        /// The decoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// A block answer with transaction hashes where full transactions were asked for.
    #[error("block {block}: the node answered transaction hashes, not transactions")]
    HashesOnly {
        /// The block.
        block: u64,
    },
    /// Reading or writing the answer cache.
    #[error("answer cache {}: {source}", path.display())]
    Cache {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The source's runtime could not start.
    #[error("cannot start the RPC client's runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The blocking source was called from inside a tokio runtime.
    #[error(
        "the JSON-RPC source blocks: call it outside any tokio runtime (e.g. in spawn_blocking)"
    )]
    InsideRuntime,
}

#[cfg(feature = "rpc")]
impl From<RpcSourceError> for HistoryError {
    fn from(e: RpcSourceError) -> Self {
        Self::Source {
            what: "JSON-RPC node".into(),
            source: alloc::boxed::Box::new(e),
        }
    }
}
