//! The server: [`CairnRpc`] implements the API traits over a shared [`Node`]; [`serve`]
//! binds it to an address with [`Limits`].

use crate::{
    api::{DebugApiServer, EthApiServer, QmApiServer, RpcBlock},
    calls::CallStore,
    error::{Result, RpcError},
    eth,
    history::HistoryApiServer,
    types::{
        BlockParam, LeafResponse, ProofInput, ProofKind, ProofResponse, RootResponse,
        VerifyResponse,
    },
};
use alloy_primitives::{Address, B256, U64};
use alloy_rpc_types_eth::EIP1186AccountProofResponse;
use alloy_serde::storage::JsonStorageKey;
use cairn_exec::commit::{BlockLayout, CallProof, CallRequest, Node, verify_call_proof};
use cairn_qmtree::{Backend, Proof, is_range_proof_len, verify_inclusion, verify_range};
use jsonrpsee::{
    RpcModule,
    core::{RpcResult, async_trait},
    server::{BatchRequestConfig, Server, ServerConfig, ServerHandle},
    types::{ErrorObject, error::INVALID_PARAMS_CODE},
};
use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, PoisonError, RwLock, RwLockReadGuard},
};
use tokio::sync::Semaphore;

/// A node shared with the server. The server only reads it.
pub type SharedNode<B> = Arc<RwLock<Node<B>>>;

/// Bounds on what one client can ask of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body in bytes (a call proof given to `qm_verifyProof` carries a
    /// witness, so this is not tiny). Larger requests are refused unread.
    pub max_request_body_size: u32,
    /// Largest response body in bytes (`debug_executionWitness` of a full block is the
    /// largest answer). Larger answers become an error.
    pub max_response_body_size: u32,
    /// Open connections at once; more are refused.
    pub max_connections: u32,
    /// Requests in one batch; larger batches are refused.
    pub max_batch_len: u32,
    /// Storage keys in one `eth_getProof`.
    pub max_storage_keys: usize,
    /// Requests that execute or read the node at once; the rest wait their turn.
    pub max_concurrent_work: usize,
    /// `qm_call` proofs kept for `qm_callProof` (the oldest go first).
    pub max_stored_calls: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_body_size: 16 * 1024 * 1024,
            max_response_body_size: 256 * 1024 * 1024,
            max_connections: 128,
            max_batch_len: 64,
            max_storage_keys: 1024,
            max_concurrent_work: 4,
            max_stored_calls: 10_000,
        }
    }
}

/// How [`serve`] runs.
#[derive(Debug, Clone, Default)]
pub struct ServeConfig {
    /// Request and response bounds.
    pub limits: Limits,
    /// Where `qm_call` proofs are kept (`<datadir>/calls`); memory when `None`.
    pub calls_dir: Option<PathBuf>,
}

/// The API over a shared node: implements [`QmApiServer`], [`EthApiServer`] and
/// [`DebugApiServer`].
#[derive(Debug)]
pub struct CairnRpc<B: Backend> {
    node: SharedNode<B>,
    calls: Arc<CallStore>,
    limits: Limits,
    work: Arc<Semaphore>,
}

impl<B: Backend> Clone for CairnRpc<B> {
    fn clone(&self) -> Self {
        Self {
            node: Arc::clone(&self.node),
            calls: Arc::clone(&self.calls),
            limits: self.limits,
            work: Arc::clone(&self.work),
        }
    }
}

impl<B> CairnRpc<B>
where
    B: Backend + Send + Sync + 'static,
{
    /// The API over `node`, keeping call proofs in `calls`.
    pub fn new(node: SharedNode<B>, calls: CallStore, limits: Limits) -> Self {
        let work = Arc::new(Semaphore::new(limits.max_concurrent_work.max(1)));
        Self {
            node,
            calls: Arc::new(calls),
            limits,
            work,
        }
    }

    /// All methods (`qm_*`, `eth_*`, `cairn_*`, `debug_*`) in one module.
    ///
    /// # Errors
    /// [`RpcError::Register`] if two methods share a name (a bug).
    pub fn into_rpc_module(self) -> Result<RpcModule<()>> {
        let mut module = RpcModule::new(());
        module.merge(QmApiServer::into_rpc(self.clone()))?;
        module.merge(EthApiServer::into_rpc(self.clone()))?;
        module.merge(HistoryApiServer::into_rpc(self.clone()))?;
        module.merge(DebugApiServer::into_rpc(self))?;
        Ok(module)
    }

    fn read(&self) -> RwLockReadGuard<'_, Node<B>> {
        // The server never writes the node, so a poisoned lock still guards a whole node.
        self.node.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the node on the blocking pool, at most `max_concurrent_work` at once, so
    /// execution never stalls the I/O threads and a panic answers an error instead of
    /// taking the server down.
    pub(crate) async fn with_node<T, F>(&self, f: F) -> RpcResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Node<B>, &CallStore) -> Result<T> + Send + 'static,
    {
        // The semaphore is never closed. The permit goes with the task, so a client that
        // hangs up does not free its slot before the work is done.
        let permit = Arc::clone(&self.work)
            .acquire_owned()
            .await
            .map_err(RpcError::from)?;
        let (node, calls) = (Arc::clone(&self.node), Arc::clone(&self.calls));
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let node = node.read().unwrap_or_else(PoisonError::into_inner);
            f(&node, &calls)
        });
        Ok(task.await.map_err(RpcError::Task)??)
    }
}

/// The layout of the block a parameter names; `UnknownBlock` when the node does not hold it.
pub(crate) fn resolve<B: Backend>(node: &Node<B>, block: BlockParam) -> Result<&BlockLayout> {
    let head = node.head_number();
    let number = match block {
        BlockParam::Latest => head,
        BlockParam::Earliest => node.chain().first_number(),
        BlockParam::Number(n) => n,
    };
    node.layout(number)
        .ok_or(RpcError::UnknownBlock { number, head })
}

fn root<B: Backend>(node: &Node<B>, block: BlockParam) -> Result<RootResponse> {
    let layout = resolve(node, block)?;
    Ok(RootResponse {
        block_number: layout.number,
        block_hash: layout.hash,
        root: layout.root,
        first_tx_num: layout.first_tx_num,
        last_tx_num: layout.closing_tx_num(),
        leaf_count: layout.closing_tx_num() + 1,
    })
}

fn leaf<B: Backend>(node: &Node<B>, tx_num: u64) -> Result<LeafResponse> {
    let Some((layout, kind)) = node.locate(tx_num) else {
        let head = node.head_number();
        let leaf_count = node.layout(head).map_or(0, |l| l.closing_tx_num() + 1);
        return Err(RpcError::UnknownTxNum {
            tx_num,
            block: head,
            leaf_count,
        });
    };
    let leaf = node.tree().leaf(tx_num)?;
    Ok(LeafResponse {
        tx_num,
        block_number: layout.number,
        block_hash: layout.hash,
        kind,
        components: leaf.components,
        leaf_hash: leaf.hash,
    })
}

fn proof<B: Backend>(node: &Node<B>, tx_num: u64, block: BlockParam) -> Result<ProofResponse> {
    let root = root(node, block)?;
    if tx_num >= root.leaf_count {
        return Err(RpcError::UnknownTxNum {
            tx_num,
            block: root.block_number,
            leaf_count: root.leaf_count,
        });
    }
    let proof = node.tree().proof(tx_num, root.block_number)?;
    Ok(ProofResponse {
        tx_num,
        block_number: root.block_number,
        root: root.root,
        leaf_count: root.leaf_count,
        leaf_hash: proof.leaf_hash,
        proof_bytes: proof.to_bytes().into(),
        proof: Proof::Inclusion(proof),
    })
}

/// Verifies a QMTree proof; only a missing older root for a range proof is an error.
fn verify_tree(proof: Proof, root: &B256, old_root: Option<&B256>) -> Result<VerifyResponse> {
    Ok(match proof {
        Proof::Inclusion(p) => {
            let outcome = verify_inclusion(&p, root).map_err(|e| e.to_string());
            VerifyResponse {
                tx_num: Some(p.tx_num),
                leaf_hash: Some(p.leaf_hash),
                ..VerifyResponse::new(ProofKind::Inclusion, outcome)
            }
        }
        Proof::Range(p) => {
            let old_root = old_root.ok_or(RpcError::MissingOldRoot)?;
            let outcome = verify_range(&p, old_root, root).map_err(|e| e.to_string());
            VerifyResponse {
                old_size: Some(p.old_size),
                new_size: Some(p.new_size),
                ..VerifyResponse::new(ProofKind::Range, outcome)
            }
        }
    })
}

/// Decodes a binary QMTree proof; one that does not decode is invalid, unless it is
/// empty. Its length tells the kind (see `cairn_qmtree::is_range_proof_len`).
fn verify_binary(bytes: &[u8], root: &B256, old_root: Option<&B256>) -> RpcResult<VerifyResponse> {
    if bytes.is_empty() {
        return Err(ErrorObject::owned(
            INVALID_PARAMS_CODE,
            "binary proof: empty",
            None::<()>,
        ));
    }
    let kind = if is_range_proof_len(bytes.len()) {
        ProofKind::Range
    } else {
        ProofKind::Inclusion
    };
    match Proof::from_bytes(bytes) {
        Ok(proof) => Ok(verify_tree(proof, root, old_root)?),
        Err(e) => Ok(VerifyResponse::new(
            kind,
            Err(format!("cannot decode: {e}")),
        )),
    }
}

#[async_trait]
impl<B> QmApiServer for CairnRpc<B>
where
    B: Backend + Send + Sync + 'static,
{
    async fn root(&self, block: BlockParam) -> RpcResult<RootResponse> {
        Ok(root(&self.read(), block)?)
    }

    async fn leaf(&self, tx_num: u64) -> RpcResult<LeafResponse> {
        self.with_node(move |node, _| leaf(node, tx_num)).await
    }

    async fn leaf_proof(&self, tx_num: u64, block: Option<BlockParam>) -> RpcResult<ProofResponse> {
        self.with_node(move |node, _| proof(node, tx_num, block.unwrap_or_default()))
            .await
    }

    async fn verify_proof(
        &self,
        proof: ProofInput,
        root: B256,
        old_root: Option<B256>,
    ) -> RpcResult<VerifyResponse> {
        match proof {
            ProofInput::Tree(p) => Ok(verify_tree(p, &root, old_root.as_ref())?),
            ProofInput::Binary(bytes) => verify_binary(&bytes, &root, old_root.as_ref()),
            ProofInput::Call(p) => {
                self.with_node(move |node, _| {
                    // The server's own chain configuration is the trusted one.
                    let outcome = verify_call_proof(&p, &root, node.chain().config());
                    let (result, outcome) = match outcome {
                        Ok(result) => (Some(result), Ok(())),
                        Err(e) => (None, Err(e.to_string())),
                    };
                    Ok(VerifyResponse {
                        block_number: Some(p.block_number),
                        result,
                        ..VerifyResponse::new(ProofKind::Call, outcome)
                    })
                })
                .await
            }
        }
    }

    async fn call(&self, request: CallRequest, block: Option<BlockParam>) -> RpcResult<CallProof> {
        self.with_node(move |node, calls| {
            let number = resolve(node, block.unwrap_or_default())?.number;
            let proof = node.call(&request, number)?;
            calls.put(&proof)?;
            tracing::debug!(target: "cairn::rpc", id = %proof.id, block = number, "qm_call");
            Ok(proof)
        })
        .await
    }

    async fn call_proof(&self, id: B256) -> RpcResult<CallProof> {
        self.with_node(move |_, calls| calls.get(&id)?.ok_or(RpcError::UnknownCall { id }))
            .await
    }
}

#[async_trait]
impl<B> EthApiServer for CairnRpc<B>
where
    B: Backend + Send + Sync + 'static,
{
    async fn block_number(&self) -> RpcResult<U64> {
        Ok(U64::from(self.read().head_number()))
    }

    async fn block_by_number(&self, block: BlockParam, full: bool) -> RpcResult<Option<RpcBlock>> {
        self.with_node(move |node, _| match resolve(node, block) {
            Ok(layout) => eth::block(node, layout.number, full),
            // As geth and reth: a block the node does not hold is `null`, not an error.
            Err(RpcError::UnknownBlock { .. }) => Ok(None),
            Err(e) => Err(e),
        })
        .await
    }

    async fn get_proof(
        &self,
        address: Address,
        keys: Vec<JsonStorageKey>,
        block: BlockParam,
    ) -> RpcResult<EIP1186AccountProofResponse> {
        if keys.len() > self.limits.max_storage_keys {
            return Err(RpcError::TooManyStorageKeys {
                given: keys.len(),
                max: self.limits.max_storage_keys,
            }
            .into());
        }
        self.with_node(move |node, _| {
            let number = resolve(node, block)?.number;
            eth::account_proof(node, address, &keys, number)
        })
        .await
    }
}

#[async_trait]
impl<B> DebugApiServer for CairnRpc<B>
where
    B: Backend + Send + Sync + 'static,
{
    async fn execution_witness(&self, block: BlockParam) -> RpcResult<serde_json::Value> {
        self.with_node(move |node, _| {
            let number = resolve(node, block)?.number;
            eth::execution_witness(node, number)
        })
        .await
    }
}

/// A running server.
#[derive(Debug)]
pub struct RpcHandle {
    addr: SocketAddr,
    handle: ServerHandle,
}

impl RpcHandle {
    /// The address it listens on (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Asks the server to stop (it finishes the requests in flight).
    pub fn stop(&self) {
        // Already stopped is fine.
        let _ = self.handle.stop();
    }

    /// Waits until the server has stopped.
    pub async fn stopped(self) {
        self.handle.stopped().await;
    }
}

/// Serves the API over HTTP on `addr` (port 0 picks a free port) until the handle is
/// stopped. Must be called within a tokio runtime.
///
/// # Errors
/// [`RpcError::Bind`] when the address cannot be listened on; call-store errors when
/// `config.calls_dir` cannot be opened.
pub async fn serve<B>(
    addr: SocketAddr,
    node: SharedNode<B>,
    config: ServeConfig,
) -> Result<RpcHandle>
where
    B: Backend + Send + Sync + 'static,
{
    let limits = config.limits;
    let calls = match &config.calls_dir {
        Some(dir) => CallStore::open(dir, limits.max_stored_calls)?,
        None => CallStore::in_memory(limits.max_stored_calls),
    };
    let module = CairnRpc::new(node, calls, limits).into_rpc_module()?;
    let server_config = ServerConfig::builder()
        .max_request_body_size(limits.max_request_body_size)
        .max_response_body_size(limits.max_response_body_size)
        .max_connections(limits.max_connections)
        .set_batch_request_config(BatchRequestConfig::Limit(limits.max_batch_len))
        .http_only()
        .build();
    let server = Server::builder()
        .set_config(server_config)
        .build(addr)
        .await
        .map_err(|source| RpcError::Bind { addr, source })?;
    let local = server
        .local_addr()
        .map_err(|source| RpcError::Bind { addr, source })?;
    let handle = server.start(module);
    tracing::info!(target: "cairn::rpc", addr = %local, "serving JSON-RPC over HTTP");
    Ok(RpcHandle {
        addr: local,
        handle,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_exec::devchain::{DevChainParams, generate};
    use cairn_qmtree::{InclusionProof, RangeProof};

    #[test]
    fn the_module_holds_every_method() {
        let file = generate(DevChainParams {
            seed: 1,
            blocks: 0,
            txs_per_block: 0,
        })
        .unwrap();
        let node = Arc::new(RwLock::new(Node::in_memory(&file).unwrap()));
        let module = CairnRpc::new(node, CallStore::in_memory(1), Limits::default())
            .into_rpc_module()
            .unwrap();
        let mut names: Vec<_> = module.method_names().collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "cairn_getMmrProof",
                "cairn_getQueryProof",
                "cairn_verifyQueryProof",
                "debug_executionWitness",
                "eth_blockNumber",
                "eth_getBlockByNumber",
                "eth_getProof",
                "qm_call",
                "qm_callProof",
                "qm_getLeaf",
                "qm_getProof",
                "qm_getRoot",
                "qm_verifyProof",
            ]
        );
    }

    #[test]
    fn tree_verification_is_total_on_extreme_shapes() {
        let extremes = [0, 1, 2, 3, 1 << 32, u64::MAX - 1, u64::MAX];
        let hashes = |n: usize| vec![B256::repeat_byte(7); n];
        for &a in &extremes {
            for &b in &extremes {
                for n in [0, 1, 31, 32, 63, 64, 65, 128, 129] {
                    let inclusion = Proof::Inclusion(InclusionProof {
                        tx_num: a ^ b,
                        leaf_hash: B256::ZERO,
                        siblings: hashes(n),
                    });
                    let v = verify_tree(inclusion.clone(), &B256::ZERO, None).unwrap();
                    assert!(!v.valid && v.reason.is_some());
                    let v = verify_binary(&inclusion.to_bytes(), &B256::ZERO, None).unwrap();
                    assert!(!v.valid);
                    let range = Proof::Range(RangeProof {
                        old_size: a,
                        new_size: b,
                        nodes: hashes(n),
                    });
                    let v = verify_tree(range.clone(), &B256::ZERO, Some(&B256::ZERO)).unwrap();
                    assert_eq!(v.valid, v.reason.is_none(), "{a} {b} {n}: {v:?}");
                    verify_binary(&range.to_bytes(), &B256::ZERO, Some(&B256::ZERO)).unwrap();
                }
            }
        }
        assert!(matches!(
            verify_tree(
                Proof::Range(RangeProof {
                    old_size: 0,
                    new_size: 0,
                    nodes: vec![]
                }),
                &B256::ZERO,
                None
            ),
            Err(RpcError::MissingOldRoot)
        ));
        assert_eq!(
            verify_binary(&[], &B256::ZERO, None).unwrap_err().code(),
            INVALID_PARAMS_CODE
        );
        let v = verify_binary(&[0x09], &B256::ZERO, None).unwrap();
        assert!(!v.valid && v.kind == ProofKind::Inclusion, "{v:?}");
    }
}
