//! The server: [`CairnRpc`] implements the API traits over a shared [`Node`]; [`serve`]
//! binds it to an address with [`Limits`], enforced around every method by the
//! [`guard`](crate::guard) layers.

use crate::{
    api::{self, DebugApiServer, EthApiServer, QmApiServer, RpcBlock},
    calls::CallStore,
    error::{Result, RpcError},
    eth,
    guard::{self, Guard, HttpGuardLayer, RpcGuardLayer},
    history::HistoryApiServer,
    limits::Limits,
    types::{
        BlockParam, LeafResponse, ProofInput, ProofKind, ProofResponse, Quantity, RootResponse,
        VerifyResponse,
    },
};
use alloy_primitives::{Address, B256, Bytes, U64};
use alloy_rpc_types_eth::EIP1186AccountProofResponse;
use alloy_serde::storage::JsonStorageKey;
use cairn_exec::{
    WitnessKind,
    commit::{
        BlockLayout, CallBudget, CallError, CallProof, CallProofError, CallRequest, Node,
        verify_call_proof_within,
    },
};
use cairn_qmtree::{Backend, Proof, is_range_proof_len, verify_inclusion, verify_range};
use jsonrpsee::{
    RpcModule,
    core::{RpcResult, async_trait, middleware::RpcServiceBuilder},
    server::{BatchRequestConfig, Server, ServerConfig, ServerHandle},
    types::{ErrorObject, error::INVALID_PARAMS_CODE},
};
use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, PoisonError, RwLock, RwLockReadGuard},
    time::Instant,
};
use tokio::sync::Semaphore;

/// A node shared with the server. The server only reads it.
pub type SharedNode<B> = Arc<RwLock<Node<B>>>;

/// How [`serve`] runs.
#[derive(Debug, Clone, Default)]
pub struct ServeConfig {
    /// Request and response bounds.
    pub limits: Limits,
    /// Where `qm_call` proofs are kept (`<datadir>/calls`); memory when `None`.
    pub calls_dir: Option<PathBuf>,
    /// Which witness `debug_executionWitness` generates (default: complete).
    pub witness: WitnessKind,
}

/// The API over a shared node: implements [`QmApiServer`], [`EthApiServer`] and
/// [`DebugApiServer`].
#[derive(Debug)]
pub struct CairnRpc<B: Backend> {
    node: SharedNode<B>,
    calls: Arc<CallStore>,
    limits: Limits,
    /// Workers for the methods that read the node.
    work: Arc<Semaphore>,
    /// Workers for calls (`qm_call`, call-proof verification): a pool of their own.
    call_work: Arc<Semaphore>,
    witness: WitnessKind,
}

impl<B: Backend> Clone for CairnRpc<B> {
    fn clone(&self) -> Self {
        Self {
            node: Arc::clone(&self.node),
            calls: Arc::clone(&self.calls),
            limits: self.limits,
            work: Arc::clone(&self.work),
            call_work: Arc::clone(&self.call_work),
            witness: self.witness,
        }
    }
}

/// Which pool a method's work runs in.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Pool {
    /// Reads of the node: [`Limits::max_concurrent_work`].
    Read,
    /// Calls: [`Limits::max_concurrent_calls`].
    Call,
}

impl<B> CairnRpc<B>
where
    B: Backend + Send + Sync + 'static,
{
    /// The API over `node`, keeping call proofs in `calls`.
    pub fn new(node: SharedNode<B>, calls: CallStore, limits: Limits) -> Self {
        Self {
            node,
            calls: Arc::new(calls),
            limits,
            work: Arc::new(Semaphore::new(limits.max_concurrent_work.max(1))),
            call_work: Arc::new(Semaphore::new(limits.max_concurrent_calls.max(1))),
            witness: WitnessKind::Complete,
        }
    }

    /// `debug_executionWitness` generates witnesses of `kind` (default: complete).
    pub fn with_witness(mut self, kind: WitnessKind) -> Self {
        self.witness = kind;
        self
    }

    /// All methods (`qm_*`, `eth_*`, `cairn_*`, `debug_*`) in one module.
    ///
    /// # Errors
    /// [`RpcError::Register`] if two methods share a name, [`RpcError::UnlistedMethod`] if a
    /// method is missing from [`METHODS`](crate::METHODS) (bugs, caught by the tests).
    pub fn into_rpc_module(self) -> Result<RpcModule<()>> {
        let mut module = RpcModule::new(());
        module.merge(QmApiServer::into_rpc(self.clone()))?;
        module.merge(EthApiServer::into_rpc(self.clone()))?;
        module.merge(HistoryApiServer::into_rpc(self.clone()))?;
        module.merge(DebugApiServer::into_rpc(self))?;
        if let Some(method) = module.method_names().find(|m| api::params_of(m).is_none()) {
            return Err(RpcError::UnlistedMethod {
                method: method.to_string(),
            });
        }
        Ok(module)
    }

    fn read(&self) -> RwLockReadGuard<'_, Node<B>> {
        // The server never writes the node, so a poisoned lock still guards a whole node.
        self.node.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the node on the blocking pool, at most as many at once as `pool` has
    /// workers, so execution never stalls the I/O threads and a panic answers an error
    /// instead of taking the server down. Waiting for a worker counts against the request's
    /// time budget (the guard drops this future when it is spent).
    pub(crate) async fn with_node<T, F>(&self, pool: Pool, f: F) -> RpcResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Node<B>, &CallStore) -> Result<T> + Send + 'static,
    {
        let workers = match pool {
            Pool::Read => &self.work,
            Pool::Call => &self.call_work,
        };
        // The semaphore is never closed. The permit goes with the task, so neither a client
        // that hangs up nor a spent time budget frees the slot before the work is done.
        let permit = Arc::clone(workers)
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

    /// A call's budget, to be taken when its execution starts (see [`CallLimits`]).
    fn call_limits(&self) -> CallLimits {
        CallLimits {
            gas_cap: self.limits.gas_cap,
            evm_timeout: self.limits.evm_timeout,
            request_deadline: guard::deadline(),
        }
    }
}

/// What bounds one call: the gas cap, and an EVM time budget that starts when the call starts
/// executing (not while it waits for a worker) and ends no later than the request's.
#[derive(Debug, Clone, Copy)]
struct CallLimits {
    gas_cap: u64,
    evm_timeout: std::time::Duration,
    request_deadline: Option<Instant>,
}

impl CallLimits {
    fn start(self) -> CallBudget {
        let evm = Instant::now() + self.evm_timeout;
        CallBudget {
            gas_cap: Some(self.gas_cap),
            deadline: Some(self.request_deadline.map_or(evm, |d| d.min(evm))),
        }
    }
}

/// Caps a call's gas at `cap`, as `eth_call` does: a request asking for more, or asking for
/// nothing on a block whose gas limit is higher, runs with `cap` (and its proof says so).
fn cap_gas<B: Backend>(request: &mut CallRequest, node: &Node<B>, number: u64, cap: u64) {
    let block_gas = node
        .chain()
        .header(number)
        .map_or(u64::MAX, |h| h.gas_limit);
    if request.gas.unwrap_or(block_gas) > cap {
        request.gas = Some(cap);
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

    async fn leaf(&self, tx_num: Quantity) -> RpcResult<LeafResponse> {
        self.with_node(Pool::Read, move |node, _| leaf(node, tx_num.0))
            .await
    }

    async fn leaf_proof(
        &self,
        tx_num: Quantity,
        block: Option<BlockParam>,
    ) -> RpcResult<ProofResponse> {
        self.with_node(Pool::Read, move |node, _| {
            proof(node, tx_num.0, block.unwrap_or_default())
        })
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
                let limits = self.call_limits();
                self.with_node(Pool::Call, move |node, _| {
                    // The server's own chain configuration is the trusted one.
                    let config = node.chain().config();
                    let outcome = verify_call_proof_within(&p, &root, config, limits.start());
                    let (result, outcome) = match outcome {
                        Ok(result) => (Some(result), Ok(())),
                        // Past the server's bounds is no verdict on the proof.
                        Err(CallProofError::Execution(
                            source @ (CallError::GasCap { .. } | CallError::Deadline),
                        )) => return Err(RpcError::VerifyLimit { source }),
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

    async fn call(
        &self,
        mut request: CallRequest,
        block: Option<BlockParam>,
    ) -> RpcResult<CallProof> {
        let limits = self.call_limits();
        self.with_node(Pool::Call, move |node, calls| {
            let number = resolve(node, block.unwrap_or_default())?.number;
            cap_gas(&mut request, node, number, limits.gas_cap);
            let proof = node.call_within(&request, number, limits.start())?;
            calls.put(&proof)?;
            tracing::debug!(target: "cairn::rpc", id = %proof.id, block = number, "qm_call");
            Ok(proof)
        })
        .await
    }

    async fn call_proof(&self, id: B256) -> RpcResult<CallProof> {
        self.with_node(Pool::Read, move |_, calls| {
            calls.get(&id)?.ok_or(RpcError::UnknownCall { id })
        })
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
        self.with_node(Pool::Read, move |node, _| match resolve(node, block) {
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
        self.with_node(Pool::Read, move |node, _| {
            let number = resolve(node, block)?.number;
            eth::account_proof(node, address, &keys, number)
        })
        .await
    }

    async fn get_code(&self, address: Address, block: BlockParam) -> RpcResult<Bytes> {
        self.with_node(Pool::Read, move |node, _| {
            let number = resolve(node, block)?.number;
            eth::code(node, address, number)
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
        let kind = self.witness;
        self.with_node(Pool::Read, move |node, _| {
            let number = resolve(node, block)?.number;
            eth::execution_witness(node, number, kind)
        })
        .await
    }

    async fn execution_witness_by_hash(&self, hash: B256) -> RpcResult<serde_json::Value> {
        let kind = self.witness;
        self.with_node(Pool::Read, move |node, _| {
            let chain = node.chain();
            let number = chain
                .canonical_hashes()
                .iter()
                .position(|h| *h == hash)
                .map(|i| chain.first_number() + i as u64)
                .ok_or(RpcError::UnknownBlockHash { hash })?;
            eth::execution_witness(node, number, kind)
        })
        .await
    }

    async fn db_get(&self, key: Bytes) -> RpcResult<Bytes> {
        self.with_node(Pool::Read, move |node, _| {
            B256::try_from(key.as_ref())
                .ok()
                .and_then(|hash| node.chain().nodes().get(&hash).cloned())
                .ok_or(RpcError::NotInDatabase { key })
        })
        .await
    }

    async fn raw_block(&self, block: BlockParam) -> RpcResult<Bytes> {
        self.with_node(Pool::Read, move |node, _| {
            let number = resolve(node, block)?.number;
            eth::raw_block(node, number)
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
    let (max_calls, max_bytes) = (limits.max_stored_calls, limits.max_stored_call_bytes);
    let calls = match &config.calls_dir {
        Some(dir) => CallStore::open(dir, max_calls, max_bytes)?,
        None => CallStore::in_memory(max_calls, max_bytes),
    };
    let module = CairnRpc::new(node, calls, limits)
        .with_witness(config.witness)
        .into_rpc_module()?;
    let server_config = ServerConfig::builder()
        .max_request_body_size(limits.max_request_body_size)
        .max_response_body_size(limits.max_response_body_size)
        .max_connections(limits.max_connections)
        .set_batch_request_config(BatchRequestConfig::Limit(limits.max_batch_len))
        .http_only()
        .build();
    let guard = Guard::new(limits);
    let server = Server::builder()
        .set_config(server_config)
        .set_http_middleware(tower::ServiceBuilder::new().layer(HttpGuardLayer(Arc::clone(&guard))))
        .set_rpc_middleware(RpcServiceBuilder::new().layer(RpcGuardLayer(guard)))
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
        let module = CairnRpc::new(node, CallStore::in_memory(1, 1 << 20), Limits::default())
            .into_rpc_module()
            .unwrap();
        let mut names: Vec<_> = module.method_names().collect();
        names.sort_unstable();
        // The parameter table lists exactly the registered methods.
        let mut listed: Vec<_> = api::METHODS.iter().map(|(m, _)| *m).collect();
        listed.sort_unstable();
        assert_eq!(names, listed);
        assert_eq!(
            names,
            [
                "cairn_getMmrProof",
                "cairn_getQueryProof",
                "cairn_verifyQueryProof",
                "debug_dbGet",
                "debug_executionWitness",
                "debug_executionWitnessByBlockHash",
                "debug_getRawBlock",
                "eth_blockNumber",
                "eth_getBlockByNumber",
                "eth_getCode",
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
