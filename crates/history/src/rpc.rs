//! A [`HistorySource`] over any Ethereum JSON-RPC node: `eth_getBlockByNumber`,
//! `eth_getProof`, `eth_getBlockReceipts` (or `eth_getTransactionReceipt` per transaction
//! where that is missing), with an on-disk cache of answers about settled blocks.
//!
//! The client is jsonrpsee's HTTP client: it is already in the tree for the server's tests,
//! it speaks JSON-RPC (batches included) without pulling alloy's provider stack
//! (`alloy-provider`, `alloy-transport-http`, reqwest) into the build, and its
//! `#[rpc(client)]` traits are how this repository writes RPC interfaces. Answers are read
//! as raw JSON (so the cache stores exactly what the node said) and then decoded with
//! alloy's RPC types.
//!
//! The source is blocking (it runs its own single-threaded tokio runtime), for the CLI and
//! other synchronous callers; calling it from inside a tokio runtime is an error, not a
//! panic.
//!
//! **Cache**: `<dir>/<chainId>/<method>-<keccak(params)>.json` holds the `result` of a
//! call about a block at least `confirmations` below the head when it was fetched (such
//! blocks do not reorg in practice; answers about newer blocks are fetched every time).
//! A cached answer is untrusted like any other: proofs built from it are verified.

use crate::{
    HistoryError,
    error::RpcSourceError,
    mmr::{Mmr, MmrStorage},
    source::{HistorySource, SourceHeader},
};
use alloy_eips::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, U64, hex, keccak256};
use alloy_rpc_types_eth::{Block, EIP1186AccountProofResponse, TransactionReceipt};
use jsonrpsee::{
    core::{
        ClientError,
        client::ClientT,
        params::{ArrayParams, BatchRequestBuilder},
    },
    rpc_params,
};
use jsonrpsee_http_client::{HttpClient, HttpClientBuilder};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::{path::PathBuf, sync::OnceLock, time::Duration};

/// How an [`RpcSource`] talks to its node.
#[derive(Debug, Clone)]
pub struct RpcSourceConfig {
    /// The node's HTTP(S) URL.
    pub url: String,
    /// Where answers are cached (`None`: no cache).
    pub cache_dir: Option<PathBuf>,
    /// Answers about blocks at least this far below the head are cached.
    pub cache_confirmations: u64,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Largest answer accepted, in bytes.
    pub max_response_size: u32,
    /// Requests per batch when walking headers.
    pub batch: usize,
    /// The chain id, when known (else asked once, for the cache's directory).
    pub chain_id: Option<u64>,
}

impl RpcSourceConfig {
    /// Defaults for `url`: no cache, 64 confirmations, 60 s timeout, 256 MiB answers,
    /// batches of 100.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            cache_dir: None,
            cache_confirmations: 64,
            timeout: Duration::from_secs(60),
            max_response_size: 256 * 1024 * 1024,
            batch: 100,
            chain_id: None,
        }
    }
}

/// A [`HistorySource`] over a JSON-RPC node (see the module docs).
#[derive(Debug)]
pub struct RpcSource {
    config: RpcSourceConfig,
    client: HttpClient,
    runtime: tokio::runtime::Runtime,
    chain_id: OnceLock<u64>,
    head: OnceLock<u64>,
}

fn quantity(n: u64) -> U64 {
    U64::from(n)
}

impl RpcSource {
    /// A source for the node at `config.url` (nothing is sent yet).
    ///
    /// # Errors
    /// [`RpcSourceError::Client`] for a URL the client refuses; [`RpcSourceError::Runtime`].
    pub fn new(config: RpcSourceConfig) -> Result<Self, RpcSourceError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(RpcSourceError::Runtime)?;
        let client = {
            // The client spawns nothing at build time, but hyper wants a runtime context.
            let _guard = runtime.enter();
            HttpClientBuilder::default()
                .request_timeout(config.timeout)
                .max_response_size(config.max_response_size)
                .build(&config.url)
                .map_err(|source| RpcSourceError::Client {
                    method: "connect",
                    source,
                })?
        };
        let chain_id = OnceLock::new();
        if let Some(id) = config.chain_id {
            let _ = chain_id.set(id);
        }
        Ok(Self {
            config,
            client,
            runtime,
            chain_id,
            head: OnceLock::new(),
        })
    }

    /// The configuration.
    pub const fn config(&self) -> &RpcSourceConfig {
        &self.config
    }

    fn block_on<F: Future>(&self, f: F) -> Result<F::Output, RpcSourceError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(RpcSourceError::InsideRuntime);
        }
        Ok(self.runtime.block_on(f))
    }

    /// One call, uncached.
    fn call<T: DeserializeOwned>(
        &self,
        method: &'static str,
        params: ArrayParams,
    ) -> Result<T, RpcSourceError> {
        self.block_on(self.client.request::<T, _>(method, params))?
            .map_err(|source| RpcSourceError::Client { method, source })
    }

    /// The node's chain id (asked once).
    ///
    /// # Errors
    /// When the node fails to answer.
    pub fn chain_id(&self) -> Result<u64, RpcSourceError> {
        if let Some(id) = self.chain_id.get() {
            return Ok(*id);
        }
        let id: U64 = self.call("eth_chainId", rpc_params![])?;
        Ok(*self.chain_id.get_or_init(|| id.to()))
    }

    fn head_cached(&self) -> Result<u64, RpcSourceError> {
        if let Some(head) = self.head.get() {
            return Ok(*head);
        }
        let head: U64 = self.call("eth_blockNumber", rpc_params![])?;
        Ok(*self.head.get_or_init(|| head.to()))
    }

    /// A call about block `number`, through the cache when the block is settled.
    fn cached(
        &self,
        method: &'static str,
        params: Value,
        number: u64,
    ) -> Result<Value, RpcSourceError> {
        let path = match &self.config.cache_dir {
            Some(dir) => {
                let key = keccak256(params.to_string());
                Some(
                    dir.join(self.chain_id()?.to_string())
                        .join(format!("{method}-{}.json", hex::encode(&key[..16]))),
                )
            }
            None => None,
        };
        if let Some(path) = &path
            && let Ok(bytes) = std::fs::read(path)
        {
            match serde_json::from_slice(&bytes) {
                Ok(value) => return Ok(value),
                Err(e) => {
                    tracing::warn!(target: "cairn::history", path = %path.display(), error = %e, "ignoring a damaged cache entry");
                }
            }
        }
        let mut array = ArrayParams::new();
        for p in params.as_array().into_iter().flatten() {
            array
                .insert(p)
                .map_err(|source| RpcSourceError::Decode { method, source })?;
        }
        let value: Value = self.call(method, array)?;
        let settled =
            number.saturating_add(self.config.cache_confirmations) <= self.head_cached()?;
        if let (Some(path), true, false) = (&path, settled, value.is_null()) {
            write_atomic(path, value.to_string().as_bytes()).map_err(|source| {
                RpcSourceError::Cache {
                    path: path.clone(),
                    source,
                }
            })?;
        }
        Ok(value)
    }

    fn block(&self, number: u64, full: bool) -> Result<Option<Block>, RpcSourceError> {
        let value = self.cached(
            "eth_getBlockByNumber",
            serde_json::json!([quantity(number), full]),
            number,
        )?;
        decode("eth_getBlockByNumber", value)
    }

    /// Headers `from..to` in batches, each checked to hash to the hash the node gives and to
    /// name its predecessor as parent; appended to `mmr` (which must hold exactly the blocks
    /// before `from`). `progress` is called after each batch with the MMR's size.
    ///
    /// # Errors
    /// [`HistoryError::UnknownBlock`] past the node's head, [`HistoryError::HeaderHash`] or
    /// [`HistoryError::ParentHash`] for headers that do not chain, source and MMR errors.
    pub fn extend_mmr<S: MmrStorage>(
        &self,
        mmr: &mut Mmr<S>,
        to: u64,
        mut progress: impl FnMut(u64),
    ) -> Result<(), HistoryError> {
        let source = |e| HistoryError::Source {
            what: "eth_getBlockByNumber batch".into(),
            source: Box::new(e),
        };
        while mmr.leaves() < to {
            let from = mmr.leaves();
            let end = to.min(from + self.config.batch.max(1) as u64);
            let mut batch = BatchRequestBuilder::new();
            for n in from..end {
                batch
                    .insert("eth_getBlockByNumber", rpc_params![quantity(n), false])
                    .map_err(|source| HistoryError::Source {
                        what: "eth_getBlockByNumber batch".into(),
                        source: Box::new(source),
                    })?;
            }
            let answers = self
                .block_on(self.client.batch_request::<Option<Block>>(batch))
                .map_err(source)?
                .map_err(|e| {
                    source(RpcSourceError::Client {
                        method: "eth_getBlockByNumber",
                        source: e,
                    })
                })?;
            let mut hashes = Vec::with_capacity((end - from) as usize);
            for (n, answer) in (from..end).zip(answers) {
                let block = answer
                    .map_err(|e| {
                        source(RpcSourceError::Client {
                            method: "eth_getBlockByNumber",
                            source: ClientError::Call(e.into_owned()),
                        })
                    })?
                    .ok_or(HistoryError::UnknownBlock { block: n })?;
                let header = header_of(&block);
                let got = keccak256(&header.rlp);
                if got != header.hash {
                    return Err(HistoryError::HeaderHash {
                        block: n,
                        got,
                        expected: header.hash,
                    });
                }
                let previous = match n {
                    0 => None,
                    _ if n == from => Some(mmr.leaf(n - 1)?),
                    _ => hashes.last().copied(),
                };
                if let Some(previous) = previous
                    && block.header.parent_hash != previous
                {
                    return Err(HistoryError::ParentHash {
                        block: n,
                        parent: block.header.parent_hash,
                        previous,
                    });
                }
                if block.header.number != n {
                    return Err(HistoryError::HeaderNumber {
                        block: n,
                        got: block.header.number,
                    });
                }
                hashes.push(header.hash);
            }
            mmr.append_all(&hashes)?;
            progress(mmr.leaves());
        }
        Ok(())
    }
}

fn header_of(block: &Block) -> SourceHeader {
    SourceHeader {
        rlp: alloy_rlp::encode(&block.header.inner).into(),
        hash: block.header.hash,
    }
}

fn decode<T: DeserializeOwned>(method: &'static str, value: Value) -> Result<T, RpcSourceError> {
    serde_json::from_value(value).map_err(|source| RpcSourceError::Decode { method, source })
}

fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Messages nodes use when they no longer hold a block's state.
fn is_pruned(e: &RpcSourceError) -> bool {
    let RpcSourceError::Client {
        source: ClientError::Call(obj),
        ..
    } = e
    else {
        return false;
    };
    let m = obj.message().to_ascii_lowercase();
    [
        "missing trie node", // geth
        "pruned",            // reth, erigon
        "historical state",  // geth (path scheme), nethermind
        "state not available",
        "state is not available",
        "blockoutofrangeerror", // anvil --prune-history
    ]
    .iter()
    .any(|p| m.contains(p))
}

/// `eth_getBlockReceipts` is missing (method not found).
fn is_missing_method(e: &RpcSourceError) -> bool {
    matches!(e, RpcSourceError::Client { source: ClientError::Call(obj), .. } if obj.code() == -32601)
}

impl HistorySource for RpcSource {
    type Error = RpcSourceError;

    fn head(&self) -> Result<u64, RpcSourceError> {
        let head: U64 = self.call("eth_blockNumber", rpc_params![])?;
        Ok(head.to())
    }

    fn header(&self, number: u64) -> Result<Option<SourceHeader>, RpcSourceError> {
        Ok(self.block(number, false)?.as_ref().map(header_of))
    }

    fn account_proof(
        &self,
        number: u64,
        address: Address,
        slots: &[B256],
    ) -> Result<Option<EIP1186AccountProofResponse>, RpcSourceError> {
        let answer = self.cached(
            "eth_getProof",
            serde_json::json!([address, slots, quantity(number)]),
            number,
        );
        match answer {
            Ok(value) => decode("eth_getProof", value),
            Err(e) if is_pruned(&e) => {
                tracing::warn!(target: "cairn::history", block = number, %address, error = %e, "the node does not hold this state");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn transactions(&self, number: u64) -> Result<Option<Vec<Bytes>>, RpcSourceError> {
        let Some(block) = self.block(number, true)? else {
            return Ok(None);
        };
        let txs = block
            .transactions
            .as_transactions()
            .ok_or(RpcSourceError::HashesOnly { block: number })?;
        Ok(Some(
            txs.iter()
                .map(|tx| tx.inner.inner().encoded_2718().into())
                .collect(),
        ))
    }

    fn receipts(&self, number: u64) -> Result<Option<Vec<Bytes>>, RpcSourceError> {
        let receipts: Option<Vec<TransactionReceipt>> = match self.cached(
            "eth_getBlockReceipts",
            serde_json::json!([quantity(number)]),
            number,
        ) {
            Ok(value) => decode("eth_getBlockReceipts", value)?,
            Err(e) if is_missing_method(&e) => {
                let Some(block) = self.block(number, false)? else {
                    return Ok(None);
                };
                let mut receipts = Vec::new();
                for hash in block.transactions.hashes() {
                    let value = self.cached(
                        "eth_getTransactionReceipt",
                        serde_json::json!([hash]),
                        number,
                    )?;
                    match decode::<Option<TransactionReceipt>>("eth_getTransactionReceipt", value)?
                    {
                        Some(r) => receipts.push(r),
                        None => return Ok(None),
                    }
                }
                Some(receipts)
            }
            Err(e) => return Err(e),
        };
        Ok(receipts.map(|mut receipts| {
            receipts.sort_by_key(|r| r.transaction_index);
            receipts
                .into_iter()
                .map(|r| r.inner.into_primitives_receipt().encoded_2718().into())
                .collect()
        }))
    }
}
