//! `cairn_*`: proofs of historical data (cairn-history) from the node's own chain, anchored
//! to its block-hash MMR.

use crate::{
    error::{RpcError, codes},
    server::{CairnRpc, Pool, resolve},
    types::BlockParam,
};
use alloy_primitives::B256;
use cairn_exec::commit::Node;
use cairn_history::{
    HistoryError, MmrAt, MmrError, MmrProof, QueryProof, Subquery, prove_query, verify_query,
};
use cairn_qmtree::Backend;
use jsonrpsee::{
    core::{RpcResult, async_trait},
    proc_macros::rpc,
    types::{ErrorObject, ErrorObjectOwned},
};
use serde::{Deserialize, Serialize};

/// `cairn_getMmrProof`: a block hash's inclusion in the node's block-hash MMR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MmrProofResponse {
    /// The block.
    #[serde(with = "alloy_serde::quantity")]
    pub block_number: u64,
    /// Its hash (the leaf).
    pub block_hash: B256,
    /// Blocks in the MMR the proof is against.
    #[serde(with = "alloy_serde::quantity")]
    pub mmr_size: u64,
    /// That MMR's root.
    pub mmr_root: B256,
    /// The proof.
    pub proof: MmrProof,
}

/// `cairn_verifyQueryProof`'s verdict. An invalid proof is `valid: false` with a reason;
/// `onThisChain` says whether its anchors (MMR root, or each block hash) are this node's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryVerifyResponse {
    /// Whether every proof checks out against the proof's anchors.
    pub valid: bool,
    /// Why not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether the anchors are this node's: its MMR root at that size, or its canonical
    /// block hashes.
    pub on_this_chain: bool,
    /// The results, when valid.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<B256>,
    /// The results root, when valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results_root: Option<B256>,
}

/// `cairn_*`: historical-data proofs.
#[rpc(server, client, namespace = "cairn")]
pub trait HistoryApi {
    /// Proves a query (1 to 128 subqueries) from the node's chain, anchored to its MMR at
    /// `mmrSize` blocks (default: every block it holds).
    #[method(name = "getQueryProof")]
    async fn query_proof(
        &self,
        subqueries: Vec<Subquery>,
        mmr_size: Option<alloy_primitives::U64>,
    ) -> RpcResult<QueryProof>;

    /// Verifies a query proof, and whether it is about this node's chain.
    #[method(name = "verifyQueryProof")]
    async fn verify_query_proof(&self, proof: QueryProof) -> RpcResult<QueryVerifyResponse>;

    /// The inclusion proof of a block's hash in the MMR of `mmrSize` blocks (default: every
    /// block the node holds).
    #[method(name = "getMmrProof")]
    async fn mmr_proof(
        &self,
        block: BlockParam,
        mmr_size: Option<alloy_primitives::U64>,
    ) -> RpcResult<MmrProofResponse>;
}

/// The JSON-RPC error for a history error: the caller's mistake or an unknown block where
/// it is one, internal otherwise.
fn history_error(e: HistoryError) -> ErrorObjectOwned {
    let code = match &e {
        HistoryError::UnknownBlock { .. } | HistoryError::NotInMmr { .. } => codes::UNKNOWN_BLOCK,
        HistoryError::Source { .. }
        | HistoryError::Pruned { .. }
        | HistoryError::Mmr(MmrError::Io { .. } | MmrError::Storage(_)) => codes::INTERNAL,
        // Everything else is about what was asked: fields, items, indexes, depths.
        _ => codes::INVALID_PARAMS,
    };
    if code == codes::INTERNAL {
        tracing::warn!(target: "cairn::rpc", error = %e, "history error");
    }
    ErrorObject::owned(code, e.to_string(), None::<()>)
}

fn no_mmr() -> ErrorObjectOwned {
    ErrorObject::owned(
        codes::INVALID_PARAMS,
        "this node has no block-hash MMR (its chain does not start at block 0)",
        None::<()>,
    )
}

/// The MMR of `size` blocks (default: all), or the error to answer.
fn mmr_at<B: Backend>(
    node: &Node<B>,
    size: Option<u64>,
) -> Result<MmrAt<'_, cairn_exec::commit::node::NodeMmrStorage>, ErrorObjectOwned> {
    let mmr = node.mmr().ok_or_else(no_mmr)?;
    let size = size.unwrap_or(mmr.leaves());
    if size == 0 || size > mmr.leaves() {
        return Err(history_error(HistoryError::Mmr(MmrError::SizeNotHeld {
            size,
            held: mmr.leaves(),
        })));
    }
    Ok(MmrAt { mmr, size })
}

/// Runs `f` on the node through the server's work queue, passing history errors through
/// as their own codes.
async fn on_node<B, T, F>(rpc: &CairnRpc<B>, f: F) -> RpcResult<T>
where
    B: Backend + Send + Sync + 'static,
    T: Send + 'static,
    F: FnOnce(&Node<B>) -> Result<T, ErrorObjectOwned> + Send + 'static,
{
    rpc.with_node(Pool::Read, move |node, _| Ok::<_, RpcError>(f(node)))
        .await?
}

#[async_trait]
impl<B> HistoryApiServer for CairnRpc<B>
where
    B: Backend + Send + Sync + 'static,
{
    async fn query_proof(
        &self,
        subqueries: Vec<Subquery>,
        mmr_size: Option<alloy_primitives::U64>,
    ) -> RpcResult<QueryProof> {
        if subqueries.len() > cairn_history::MAX_SUBQUERIES {
            return Err(history_error(HistoryError::TooManySubqueries {
                given: subqueries.len(),
                max: cairn_history::MAX_SUBQUERIES,
            }));
        }
        on_node(self, move |node| {
            let at = mmr_at(node, mmr_size.map(|s| s.to()))?;
            let proof = prove_query(node, &subqueries, Some(at)).map_err(history_error)?;
            tracing::debug!(target: "cairn::rpc", subqueries = subqueries.len(), root = %proof.results_root, "cairn_getQueryProof");
            Ok(proof)
        })
        .await
    }

    async fn verify_query_proof(&self, proof: QueryProof) -> RpcResult<QueryVerifyResponse> {
        on_node(self, move |node| {
            Ok(match verify_query(&proof) {
                Err(e) => QueryVerifyResponse {
                    valid: false,
                    reason: Some(e.to_string()),
                    on_this_chain: false,
                    results: Vec::new(),
                    results_root: None,
                },
                Ok(verified) => {
                    let on_this_chain = match verified.mmr {
                        Some(anchor) => node.mmr().is_some_and(|mmr| {
                            anchor.size <= mmr.leaves()
                                && mmr.root_at(anchor.size).is_ok_and(|r| r == anchor.root)
                        }),
                        None => verified
                            .blocks
                            .iter()
                            .all(|(n, hash)| node.chain().hash(*n) == Some(*hash)),
                    };
                    QueryVerifyResponse {
                        valid: true,
                        reason: None,
                        on_this_chain,
                        results: verified.results,
                        results_root: Some(verified.results_root),
                    }
                }
            })
        })
        .await
    }

    async fn mmr_proof(
        &self,
        block: BlockParam,
        mmr_size: Option<alloy_primitives::U64>,
    ) -> RpcResult<MmrProofResponse> {
        on_node(self, move |node| {
            let number = resolve(node, block).map_err(ErrorObjectOwned::from)?.number;
            let at = mmr_at(node, mmr_size.map(|s| s.to()))?;
            if number >= at.size {
                return Err(history_error(HistoryError::NotInMmr {
                    block: number,
                    size: at.size,
                }));
            }
            let mmr_error = |e: MmrError| history_error(HistoryError::Mmr(e));
            Ok(MmrProofResponse {
                block_number: number,
                block_hash: at.mmr.leaf(number).map_err(mmr_error)?,
                mmr_size: at.size,
                mmr_root: at.mmr.root_at(at.size).map_err(mmr_error)?,
                proof: at.mmr.proof(number, at.size).map_err(mmr_error)?,
            })
        })
        .await
    }
}
