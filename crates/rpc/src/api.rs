//! The API as jsonrpsee traits: the server implements `*Server`, and `*Client` is a typed
//! client for any jsonrpsee client transport (HTTP in the tests).
//!
//! Every method is also listed, with its parameters, in [`METHODS`]: the server refuses
//! parameters beyond those listed, so a method or a parameter added to a trait must be added
//! there too (the server will not start with a method missing).

use crate::types::{
    BlockParam, LeafResponse, ProofInput, ProofResponse, Quantity, RootResponse, VerifyResponse,
};
use alloy_primitives::{Address, B256, Bytes, U64};
use alloy_rpc_types_eth::{Block, EIP1186AccountProofResponse, Transaction};
use alloy_serde::storage::JsonStorageKey;
use cairn_exec::commit::{CallProof, CallRequest};
use cairn_primitives::TransactionSigned;
use jsonrpsee::{core::RpcResult, proc_macros::rpc};

/// A block as `eth_getBlockByNumber` returns it.
pub type RpcBlock = Block<Transaction<TransactionSigned>>;

/// Every method the server registers, with the names of its parameters in order (as in the
/// traits below; by-name parameters may use these or their camelCase forms).
///
/// The server refuses a request with more parameters than listed, or with a by-name
/// parameter not listed, for every method (jsonrpsee itself ignores extra ones), and
/// refuses to start when a registered method is missing here: a method added to a trait
/// (or a new trait merged into the server) must be added to this table too.
pub const METHODS: &[(&str, &[&str])] = &[
    ("qm_getRoot", &["block"]),
    ("qm_getLeaf", &["tx_num"]),
    ("qm_getProof", &["tx_num", "block"]),
    ("qm_verifyProof", &["proof", "root", "old_root"]),
    ("qm_call", &["request", "block"]),
    ("qm_callProof", &["id"]),
    ("eth_blockNumber", &[]),
    ("eth_getBlockByNumber", &["block", "full"]),
    ("eth_getProof", &["address", "keys", "block"]),
    ("eth_getCode", &["address", "block"]),
    ("debug_executionWitness", &["block"]),
    ("cairn_getQueryProof", &["subqueries", "mmr_size"]),
    ("cairn_verifyQueryProof", &["proof"]),
    ("cairn_getMmrProof", &["block", "mmr_size"]),
    ("debug_executionWitnessByBlockHash", &["hash"]),
    ("debug_getRawBlock", &["block"]),
    ("debug_dbGet", &["key"]),
];

/// The parameter names of `method`, if it is in [`METHODS`].
pub(crate) fn params_of(method: &str) -> Option<&'static [&'static str]> {
    METHODS
        .iter()
        .find(|(name, _)| *name == method)
        .map(|(_, params)| *params)
}

/// `qm_*`: the QMTree execution commitments.
#[rpc(server, client, namespace = "qm")]
pub trait QmApi {
    /// The QMTree root committed for a block.
    #[method(name = "getRoot")]
    async fn root(&self, block: BlockParam) -> RpcResult<RootResponse>;

    /// A leaf: its four components, its hash, its block and what it stands for. `txNum` is
    /// a hex quantity (a JSON number is accepted too).
    #[method(name = "getLeaf")]
    async fn leaf(&self, tx_num: Quantity) -> RpcResult<LeafResponse>;

    /// An inclusion proof of leaf `txNum` (a hex quantity or a JSON number) against the root
    /// of `block` (default: latest).
    #[method(name = "getProof")]
    async fn leaf_proof(
        &self,
        tx_num: Quantity,
        block: Option<BlockParam>,
    ) -> RpcResult<ProofResponse>;

    /// Verifies a proof locally: an inclusion proof or a call proof against `root`, or a
    /// range proof from `old_root` to `root`. An invalid proof is a `valid: false` result.
    #[method(name = "verifyProof")]
    async fn verify_proof(
        &self,
        proof: ProofInput,
        root: B256,
        old_root: Option<B256>,
    ) -> RpcResult<VerifyResponse>;

    /// Runs a call on the state at the end of `block` (default: latest) and returns it with
    /// a proof checkable offline against that block's QMTree root.
    #[method(name = "call")]
    async fn call(&self, request: CallRequest, block: Option<BlockParam>) -> RpcResult<CallProof>;

    /// The proof of an earlier `qm_call`, by its id.
    #[method(name = "callProof")]
    async fn call_proof(&self, id: B256) -> RpcResult<CallProof>;
}

/// `eth_*`: the subset of the Ethereum API a replaying node can answer.
#[rpc(server, client, namespace = "eth")]
pub trait EthApi {
    /// The newest imported block's number.
    #[method(name = "blockNumber")]
    async fn block_number(&self) -> RpcResult<U64>;

    /// A block (genesis included), with full transactions or their hashes; `null` when the
    /// node does not hold it.
    #[method(name = "getBlockByNumber")]
    async fn block_by_number(&self, block: BlockParam, full: bool) -> RpcResult<Option<RpcBlock>>;

    /// EIP-1186: an account and some of its storage slots, with Merkle proofs against the
    /// state root of `block`.
    #[method(name = "getProof")]
    async fn get_proof(
        &self,
        address: Address,
        keys: Vec<JsonStorageKey>,
        block: BlockParam,
    ) -> RpcResult<EIP1186AccountProofResponse>;

    /// The code of an account at the end of `block` (`0x` for an account without code or
    /// an absent one).
    #[method(name = "getCode")]
    async fn get_code(&self, address: Address, block: BlockParam) -> RpcResult<Bytes>;
}

/// `debug_*`.
#[rpc(server, client, namespace = "debug")]
pub trait DebugApi {
    /// The execution witness of an imported block, in reth's JSON form (`state`, `codes`,
    /// `keys`, `headers`). Complete by default (`cairn serve --witness`): it holds what every
    /// stateless client needs, not only what Cairn's validation reads.
    #[method(name = "executionWitness")]
    async fn execution_witness(&self, block: BlockParam) -> RpcResult<serde_json::Value>;

    /// [`execution_witness`](DebugApiServer::execution_witness) of the block with this hash
    /// (reth's method name); a hash the node does not hold is error `-32001`.
    #[method(name = "executionWitnessByBlockHash")]
    async fn execution_witness_by_hash(&self, hash: B256) -> RpcResult<serde_json::Value>;

    /// A block as its RLP encoding (header, transactions, ommers, withdrawals).
    #[method(name = "getRawBlock")]
    async fn raw_block(&self, block: BlockParam) -> RpcResult<Bytes>;

    /// A trie node by its hash (geth's `debug_dbGet` on a hash-keyed node store): the key is
    /// the 32-byte node hash, the answer its RLP; an unknown key is error `-32004`.
    #[method(name = "dbGet")]
    async fn db_get(&self, key: Bytes) -> RpcResult<Bytes>;
}
