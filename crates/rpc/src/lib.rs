//! Cairn's JSON-RPC API: the QMTree execution commitments (`qm_*`), the part of the
//! Ethereum API a replaying node can answer (`eth_*`), and `debug_executionWitness`.
//!
//! The API is four jsonrpsee traits ([`QmApi`](QmApiServer), [`EthApi`](EthApiServer),
//! [`HistoryApi`](HistoryApiServer), [`DebugApi`](DebugApiServer)); the server and a typed
//! client ([`QmApiClient`], [`EthApiClient`], [`HistoryApiClient`], [`DebugApiClient`])
//! come from the same definitions. [`CairnRpc`]
//! implements them over a shared, read-only [`Node`](cairn_exec::commit::Node); [`serve`]
//! binds it to an address with [`Limits`] on request and response size, connections,
//! batches and concurrent work.
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
//! | `debug_executionWitness` | block | reth's witness JSON |
//!
//! A block is a hex quantity, `"latest"` or `"earliest"` ([`BlockParam`]); a txNum is a JSON
//! number. Errors carry the codes in [`codes`]; parameters that do not parse get `-32602`.
//! `qm_verifyProof` answers `valid: false` with a reason for a proof that does not check
//! out: only a request it cannot make sense of is an error.
//!
//! `qm_call` proofs are kept for `qm_callProof` in `<datadir>/calls/<id>.json` when the
//! server is given a directory ([`ServeConfig::calls_dir`]), in memory otherwise.
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
mod history;
mod server;
mod types;

pub use api::{
    DebugApiClient, DebugApiServer, EthApiClient, EthApiServer, QmApiClient, QmApiServer, RpcBlock,
};
pub use calls::CallStore;
pub use error::{Result, RpcError, codes};
pub use history::{HistoryApiClient, HistoryApiServer, MmrProofResponse, QueryVerifyResponse};
pub use server::{CairnRpc, Limits, RpcHandle, ServeConfig, SharedNode, serve};
pub use types::{
    BlockParam, LeafResponse, ProofInput, ProofKind, ProofResponse, RootResponse, VerifyResponse,
};
