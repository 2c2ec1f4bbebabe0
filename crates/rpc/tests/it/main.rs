//! The API end to end: a jsonrpsee HTTP client generated from the same traits drives a
//! server on loopback over a data directory built from a small dev chain.

mod abuse;
mod anvil;
mod debug;
mod errors;
mod eth;
mod history;
mod qm;

use alloy_primitives::{B256, keccak256};
use alloy_rpc_types_eth::EIP1186AccountProofResponse;
use alloy_trie::{Nibbles, TrieAccount, proof::verify_proof};
use cairn_exec::{
    ChainFile,
    commit::Node,
    devchain::{DevChainParams, generate},
};
use cairn_qmtree::MemoryBackend;
use cairn_rpc::{Limits, RpcHandle, ServeConfig, serve};
use jsonrpsee::core::client::Error as ClientError;
use jsonrpsee_http_client::{HttpClient, HttpClientBuilder};
use std::sync::{Arc, OnceLock, RwLock};

/// Blocks in the test chain.
pub(crate) const BLOCKS: u64 = 4;

/// The test chain (generated once per test binary).
pub(crate) fn chain() -> &'static ChainFile {
    static CHAIN: OnceLock<ChainFile> = OnceLock::new();
    CHAIN.get_or_init(|| {
        generate(DevChainParams {
            seed: 7,
            blocks: BLOCKS as usize,
            txs_per_block: 6,
        })
        .unwrap()
    })
}

/// The chain imported in memory: the in-process reference the answers are checked against.
pub(crate) fn reference() -> Node<MemoryBackend> {
    let file = chain();
    let mut node = Node::in_memory(file).unwrap();
    for i in 0..file.blocks.len() {
        node.import(&file.block(i).unwrap()).unwrap();
    }
    node
}

/// A server over a fresh data directory holding the test chain, and a client for it.
pub(crate) struct Fixture {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) server: RpcHandle,
    pub(crate) client: HttpClient,
}

impl Fixture {
    pub(crate) async fn new() -> Self {
        Self::with_limits(Limits::default()).await
    }

    pub(crate) async fn with_limits(limits: Limits) -> Self {
        let file = chain();
        let dir = tempfile::tempdir().unwrap();
        let datadir = dir.path().join("data");
        let mut node = Node::open(&datadir, Some(file)).unwrap();
        for i in 0..file.blocks.len() {
            node.import(&file.block(i).unwrap()).unwrap();
        }
        let config = ServeConfig {
            limits,
            calls_dir: Some(datadir.join("calls")),
            ..Default::default()
        };
        let server = serve(
            "127.0.0.1:0".parse().unwrap(),
            Arc::new(RwLock::new(node)),
            config,
        )
        .await
        .unwrap();
        let client = client(&server.url());
        Self {
            dir,
            server,
            client,
        }
    }

    pub(crate) fn calls_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("data").join("calls")
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.server.stop();
    }
}

/// A client that sends requests of any size, so the server's limits are what is tested.
pub(crate) fn client(url: &str) -> HttpClient {
    HttpClientBuilder::default()
        .max_request_size(u32::MAX)
        .max_response_size(u32::MAX)
        .build(url)
        .unwrap()
}

/// The JSON-RPC error code and message of a failed call.
pub(crate) fn rpc_error<T: std::fmt::Debug>(r: Result<T, ClientError>) -> (i32, String) {
    match r {
        Err(ClientError::Call(obj)) => (
            obj.code(),
            format!("{} {}", obj.message(), obj.data().map_or("", |d| d.get())),
        ),
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

/// Checks an EIP-1186 answer against a trusted state root with alloy-trie's verifier: the
/// account (or its absence, when `present` is false) and every slot's value (or absence).
pub(crate) fn check_account_proof(
    p: &EIP1186AccountProofResponse,
    state_root: B256,
    present: bool,
) -> Result<(), String> {
    let key = Nibbles::unpack(keccak256(p.address));
    let expected = present.then(|| {
        alloy_rlp::encode(TrieAccount {
            nonce: p.nonce,
            balance: p.balance,
            storage_root: p.storage_hash,
            code_hash: p.code_hash,
        })
    });
    verify_proof(state_root, key, expected, &p.account_proof)
        .map_err(|e| format!("account proof of {}: {e}", p.address))?;
    for s in &p.storage_proof {
        let key = Nibbles::unpack(keccak256(s.key.as_b256()));
        let expected = (!s.value.is_zero()).then(|| alloy_rlp::encode(s.value));
        verify_proof(p.storage_hash, key, expected, &s.proof)
            .map_err(|e| format!("storage proof of {} slot {:?}: {e}", p.address, s.key))?;
    }
    Ok(())
}
