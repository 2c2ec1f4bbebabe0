//! A small blocking JSON-RPC client for the calls the prover needs (`eth_getBlockByNumber`,
//! `eth_getProof`) and the dev-chain calls of the EVM verifier (`eth_sendTransaction`,
//! `eth_call`, `eth_estimateGas`, receipts). It runs jsonrpsee's HTTP client on a
//! current-thread tokio runtime of its own.

use alloy_consensus::Header;
use alloy_primitives::{Address, B256, Bytes, U64, U256};
use jsonrpsee_core::{client::ClientT, params::ArrayParams};
use jsonrpsee_http_client::{HttpClient, HttpClientBuilder};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

use crate::error::{Result, ZkError};

/// A JSON-RPC endpoint.
#[derive(Debug)]
pub struct Rpc {
    url: String,
    client: HttpClient,
    runtime: tokio::runtime::Runtime,
}

/// One storage slot of an `eth_getProof` answer (EIP-1186).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StorageProofJson {
    /// The slot.
    pub key: B256,
    /// Its value.
    pub value: U256,
    /// Trie nodes from the storage root down.
    pub proof: Vec<Bytes>,
}

/// An `eth_getProof` answer (EIP-1186).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AccountProofJson {
    /// The account.
    pub address: Address,
    /// Balance.
    pub balance: U256,
    /// Code hash.
    pub code_hash: B256,
    /// Nonce.
    pub nonce: U64,
    /// Storage root.
    pub storage_hash: B256,
    /// Trie nodes from the state root down.
    pub account_proof: Vec<Bytes>,
    /// One entry per slot asked for.
    pub storage_proof: Vec<StorageProofJson>,
}

impl Rpc {
    /// Connects to `url` (no request is made yet).
    ///
    /// # Errors
    /// [`ZkError::Rpc`] when the URL is unusable.
    pub fn new(url: &str) -> Result<Self> {
        let err = |reason: String| ZkError::Rpc {
            url: url.to_string(),
            method: "connect",
            reason,
        };
        let client = HttpClientBuilder::default()
            .request_timeout(std::time::Duration::from_secs(120))
            .max_response_size(256 << 20)
            .build(url)
            .map_err(|e| err(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| err(e.to_string()))?;
        Ok(Self {
            url: url.to_string(),
            client,
            runtime,
        })
    }

    /// The endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Calls `method` with positional `params`.
    ///
    /// # Errors
    /// [`ZkError::Rpc`] on transport errors, error answers and undecodable results.
    pub fn call<T: DeserializeOwned>(&self, method: &'static str, params: Vec<Value>) -> Result<T> {
        let mut array = ArrayParams::new();
        for p in params {
            array
                .insert(p)
                .map_err(|e| self.err(method, e.to_string()))?;
        }
        let value: Value = self
            .runtime
            .block_on(self.client.request(method, array))
            .map_err(|e| self.err(method, e.to_string()))?;
        serde_json::from_value(value).map_err(|e| self.err(method, format!("bad result: {e}")))
    }

    fn err(&self, method: &'static str, reason: String) -> ZkError {
        ZkError::Rpc {
            url: self.url.clone(),
            method,
            reason,
        }
    }

    /// The header of block `number` and the hash the node reports for it. The header is
    /// rebuilt from the JSON answer and must hash to that block hash (so what the circuit
    /// hashes is exactly the node's header).
    ///
    /// # Errors
    /// [`ZkError::BlockNotFound`], [`ZkError::HeaderHashMismatch`], [`ZkError::Rpc`].
    pub fn header(&self, number: u64) -> Result<(Header, B256)> {
        let block: Option<Value> = self.call(
            "eth_getBlockByNumber",
            vec![json!(format!("0x{number:x}")), json!(false)],
        )?;
        let block = block.ok_or_else(|| ZkError::BlockNotFound {
            block: number,
            url: self.url.clone(),
        })?;
        let expected: B256 = serde_json::from_value(block["hash"].clone())
            .map_err(|e| self.err("eth_getBlockByNumber", format!("hash: {e}")))?;
        let header: Header = serde_json::from_value(block)
            .map_err(|e| self.err("eth_getBlockByNumber", format!("header: {e}")))?;
        let got = header.hash_slow();
        if got != expected {
            return Err(ZkError::HeaderHashMismatch {
                block: number,
                got,
                expected,
            });
        }
        Ok((header, expected))
    }

    /// `eth_getProof(address, slots, number)`.
    ///
    /// # Errors
    /// [`ZkError::Rpc`].
    pub fn proof(&self, address: Address, slots: &[B256], number: u64) -> Result<AccountProofJson> {
        self.call(
            "eth_getProof",
            vec![json!(address), json!(slots), json!(format!("0x{number:x}"))],
        )
    }
}
