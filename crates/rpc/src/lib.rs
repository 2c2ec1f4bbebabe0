//! Cairn's JSON-RPC API: the QMTree execution commitments (`qm_*`), the part of the
//! Ethereum API a replaying node can answer (`eth_*`), and `debug_executionWitness`.
//!
//! The API is four jsonrpsee traits ([`QmApi`](QmApiServer), [`EthApi`](EthApiServer),
//! [`HistoryApi`](HistoryApiServer), [`DebugApi`](DebugApiServer)); the server and a typed
//! client ([`QmApiClient`], [`EthApiClient`], [`HistoryApiClient`], [`DebugApiClient`])
//! come from the same definitions. [`CairnRpc`]
//! implements them over a shared, read-only [`Node`](cairn_exec::commit::Node); [`serve`]
//! binds it to an address with [`Limits`].
//!
//! | method | params | result |
//! | --- | --- | --- |
//! | `qm_getRoot` | block | [`RootResponse`] |
//! | `qm_getLeaf` | txNum | [`LeafResponse`] |
//! | `qm_getProof` | txNum, block? | [`ProofResponse`] |
//! | `qm_verifyProof` | proof, root, oldRoot? | [`VerifyResponse`] |
//! | `qm_call` | callRequest, block? | [`CallProof`](cairn_exec::commit::CallProof) |
//! | `qm_callProof` | id | [`CallProof`](cairn_exec::commit::CallProof) |
//! | `eth_blockNumber` | | quantity |
//! | `eth_getBlockByNumber` | block, fullTxs | [`RpcBlock`] or `null` |
//! | `eth_getProof` | address, storageKeys, block | EIP-1186 account proof |
//! | `cairn_getQueryProof` | subqueries, mmrSize? | [`cairn_history::QueryProof`] |
//! | `cairn_verifyQueryProof` | proof | [`QueryVerifyResponse`] |
//! | `cairn_getMmrProof` | block, mmrSize? | [`MmrProofResponse`] |
//! | `eth_getCode` | address, block | bytes |
//! | `debug_executionWitness` | block | reth's witness JSON |
//! | `debug_executionWitnessByBlockHash` | hash | the same, by block hash |
//! | `debug_getRawBlock` | block | the block's RLP |
//! | `debug_dbGet` | key (a trie node hash) | the node's RLP |
//!
//! Quantities follow Ethereum's conventions: a block is a hex quantity, `"latest"` or
//! `"earliest"` ([`BlockParam`]); a txNum is a hex quantity, a JSON number being accepted
//! too ([`Quantity`]); every number in a result is a hex quantity (`"0x1a"`), the proofs'
//! JSON included. Errors carry the codes in [`codes`]; parameters that do not parse, and
//! more parameters than a method takes, get `-32602`. `qm_verifyProof` answers
//! `valid: false` with a reason for a proof that does not check out: only a request it
//! cannot make sense of is an error.
//!
//! # Limits
//!
//! Every request, whatever its method (those added later too), passes through the same
//! bounds ([`Limits`], enforced by two layers around jsonrpsee's service): the request body
//! size (HTTP 413, also for a chunked body; HTTP 400 for a broken one), requests in flight
//! (HTTP 429), the batch length, a time budget per request (`-32005` past it), the size of
//! one answer and the bytes of all answers held at once (`-32005` "server busy" past it),
//! and JSON-RPC 2.0's rules (an `id` that is an object or an array gets `-32600`, extra
//! parameters `-32602`). Methods that read the node run on a bounded pool of workers;
//! calls (`qm_call`, and `qm_verifyProof` of a call proof) on a pool of their own, with a
//! gas cap and an EVM time budget, so a few clients cannot starve the other methods. Every
//! method is listed with its parameters in [`METHODS`]; the server refuses to start with a
//! method missing there.
//!
//! `qm_call` proofs are kept for `qm_callProof` in `<datadir>/calls/<id>.json` when the
//! server is given a directory ([`ServeConfig::calls_dir`]), in memory otherwise, bounded
//! by count and by bytes.
//!
//! ```
//! use cairn_exec::{commit::Node, devchain::{DevChainParams, generate}};
//! use cairn_rpc::{BlockParam, QmApiClient, ServeConfig, serve};
//! use std::sync::{Arc, RwLock};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let chain = generate(DevChainParams { seed: 1, blocks: 1, txs_per_block: 2 })?;
//! let mut node = Node::in_memory(&chain)?;
//! node.import(&chain.block(0)?)?;
//! let expected = node.layout(1).map(|l| l.root);
//!
//! let node = Arc::new(RwLock::new(node));
//! let server = serve("127.0.0.1:0".parse()?, node, ServeConfig::default()).await?;
//! let client = jsonrpsee_http_client::HttpClientBuilder::default().build(server.url())?;
//! let root = client.root(BlockParam::Latest).await?;
//! assert_eq!(Some(root.root), expected);
//! server.stop();
//! # Ok(())
//! # }
//! ```

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod api;
mod calls;
mod error;
mod eth;
mod guard;
mod history;
mod limits;
mod server;
mod types;

pub use api::{
    DebugApiClient, DebugApiServer, EthApiClient, EthApiServer, METHODS, QmApiClient, QmApiServer,
    RpcBlock,
};
pub use calls::CallStore;
pub use error::{Result, RpcError, codes};
pub use history::{HistoryApiClient, HistoryApiServer, MmrProofResponse, QueryVerifyResponse};
pub use limits::Limits;
pub use server::{CairnRpc, RpcHandle, ServeConfig, SharedNode, serve};
pub use types::{
    BlockParam, LeafResponse, ProofInput, ProofKind, ProofResponse, Quantity, RootResponse,
    VerifyResponse,
};
