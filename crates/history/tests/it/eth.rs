//! Test helpers for anvil and the Solidity verifier: a blocking JSON-RPC client, contracts
//! compiled with solc-js, deployment, and the ABI form of cairn-history's proofs.

use alloy_primitives::{Address, B256, Bytes, U256, hex};
use alloy_sol_types::{SolCall, sol};
use cairn_history::{DataProof, MmrProof, Subquery, SubqueryProof};
use jsonrpsee::core::{client::ClientT, params::ArrayParams};
use jsonrpsee_http_client::{HttpClient, HttpClientBuilder};
use serde_json::{Value, json};
use std::sync::OnceLock;

sol!("../../contracts/history/src/IHistoryVerifier.sol");

sol! {
    interface IHistoryFixture {
        function plain() external view returns (uint256);
        function balances(address who) external view returns (uint256);
        function notes(address who, uint256 key) external view returns (bytes32);
        function scores(string name) external view returns (uint256);
        function setPlain(uint256 value) external;
        function setBalance(address who, uint256 value) external;
        function setNote(address who, uint256 key, bytes32 value, string memo) external;
        function setScore(string name, uint256 value) external;
    }
}

/// anvil's first dev account (unlocked: `eth_sendTransaction` signs for it).
pub(crate) const DEV: Address =
    alloy_primitives::address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");

/// A blocking JSON-RPC client (its own runtime, so tests stay synchronous).
pub(crate) struct Eth {
    runtime: tokio::runtime::Runtime,
    client: HttpClient,
}

impl Eth {
    pub(crate) fn new(url: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = {
            let _guard = runtime.enter();
            HttpClientBuilder::default().build(url).unwrap()
        };
        Self { runtime, client }
    }

    /// A call; a JSON-RPC error (a revert, for `eth_call`) is `Err` with its message.
    pub(crate) fn try_call(&self, method: &str, params: Value) -> Result<Value, String> {
        let mut array = ArrayParams::new();
        for p in params.as_array().unwrap() {
            array.insert(p).unwrap();
        }
        self.runtime
            .block_on(self.client.request::<Value, _>(method, array))
            .map_err(|e| e.to_string())
    }

    pub(crate) fn call(&self, method: &str, params: Value) -> Value {
        self.try_call(method, params.clone())
            .unwrap_or_else(|e| panic!("{method} {params}: {e}"))
    }

    pub(crate) fn head(&self) -> u64 {
        u64::from_str_radix(
            self.call("eth_blockNumber", json!([]))
                .as_str()
                .unwrap()
                .trim_start_matches("0x"),
            16,
        )
        .unwrap()
    }

    /// Sends a transaction from [`DEV`] (anvil mines it in its own block) and returns the
    /// receipt.
    pub(crate) fn send(&self, tx: Value) -> Value {
        let mut tx = tx;
        tx["from"] = json!(DEV);
        let hash = self.call("eth_sendTransaction", json!([tx]));
        // anvil mines right away, but the receipt can trail the answer by a moment.
        for _ in 0..500 {
            let receipt = self.call("eth_getTransactionReceipt", json!([hash]));
            if !receipt.is_null() {
                assert_eq!(receipt["status"], "0x1", "{receipt}");
                return receipt;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("no receipt for {hash} after 5 s")
    }

    pub(crate) fn deploy(&self, code: &Bytes) -> Address {
        let receipt = self.send(json!({"data": code}));
        receipt["contractAddress"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// `eth_call` of an ABI call at `block` (`None`: latest); `Err` on revert.
    pub(crate) fn sol_call<C: SolCall>(
        &self,
        to: Address,
        call: &C,
        block: Option<u64>,
    ) -> Result<C::Return, String> {
        let block = block.map_or(json!("latest"), |b| json!(format!("{b:#x}")));
        let data = Bytes::from(call.abi_encode());
        let out = self.try_call("eth_call", json!([{"to": to, "data": data}, block]))?;
        let out: Bytes = serde_json::from_value(out).unwrap();
        Ok(C::abi_decode_returns(&out).unwrap())
    }

    /// Gas of sending the call as a transaction (`eth_estimateGas`).
    pub(crate) fn gas<C: SolCall>(&self, to: Address, call: &C) -> u64 {
        let data = Bytes::from(call.abi_encode());
        let gas = self.call(
            "eth_estimateGas",
            json!([{"from": DEV, "to": to, "data": data}]),
        );
        u64::from_str_radix(gas.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    }

    pub(crate) fn transact<C: SolCall>(&self, to: Address, call: &C) -> Value {
        self.send(json!({"to": to, "data": Bytes::from(call.abi_encode())}))
    }
}

/// Creation code of the contracts under `contracts/history`, compiled once per test run
/// with solc-js (`None` when solc-js is missing and tools may be skipped).
pub(crate) struct Compiled {
    pub(crate) verifier: Bytes,
    pub(crate) fixture: Bytes,
}

pub(crate) fn compiled() -> Option<&'static Compiled> {
    static COMPILED: OnceLock<Option<Compiled>> = OnceLock::new();
    COMPILED
        .get_or_init(|| {
            let root = cairn_devtools::workspace_root().join("contracts");
            let mut sources = serde_json::Map::new();
            for dir in ["history/src", "history/test"] {
                for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                    let path = entry.unwrap().path();
                    if path.extension().is_some_and(|e| e == "sol") {
                        let name = format!("{dir}/{}", path.file_name().unwrap().to_str().unwrap());
                        let content = std::fs::read_to_string(&path).unwrap();
                        sources.insert(name, json!({"content": content}));
                    }
                }
            }
            let input = json!({
                "language": "Solidity",
                "sources": sources,
                "settings": {
                    "optimizer": {"enabled": true, "runs": 200},
                    "evmVersion": "prague",
                    "outputSelection": {"*": {"*": ["evm.bytecode.object"]}}
                }
            });
            let out = cairn_devtools::require(cairn_devtools::solc_standard_json(&input))?;
            let code = |file: &str, name: &str| -> Bytes {
                let hex = out["contracts"][file][name]["evm"]["bytecode"]["object"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{file}:{name} did not compile"));
                hex::decode(hex).unwrap().into()
            };
            Some(Compiled {
                verifier: code("history/src/HistoryVerifier.sol", "HistoryVerifier"),
                fixture: code("history/test/HistoryFixture.sol", "HistoryFixture"),
            })
        })
        .as_ref()
}

/// A subquery's six words as the contract takes them.
pub(crate) fn abi_subquery(sq: &Subquery) -> IHistoryVerifier::Subquery {
    let w = sq.words().unwrap();
    IHistoryVerifier::Subquery {
        kind: U256::from_be_bytes(w[0].0),
        blockNumber: U256::from_be_bytes(w[1].0),
        w2: w[2],
        w3: w[3],
        w4: w[4],
        w5: w[5],
    }
}

/// A subquery's proof as the contract takes it (it reads values from the tries itself).
pub(crate) fn abi_data(sq: &SubqueryProof) -> IHistoryVerifier::DataProof {
    let mut data = IHistoryVerifier::DataProof {
        accountProof: vec![],
        storageProof: vec![],
        trieProof: vec![],
        mappingKeys: vec![],
    };
    match &sq.proof {
        DataProof::Header => {}
        DataProof::Account { account_proof, .. } => data.accountProof = account_proof.clone(),
        DataProof::Storage {
            account_proof,
            storage_proof,
            ..
        } => {
            data.accountProof = account_proof.clone();
            data.storageProof = storage_proof.clone();
        }
        DataProof::Transaction { proof, .. } | DataProof::Receipt { proof, .. } => {
            data.trieProof = proof.clone();
        }
    }
    if let Subquery::Mapping { keys, .. } = &sq.subquery {
        data.mappingKeys = keys.iter().map(|k| k.encode().unwrap().into()).collect();
    }
    data
}

pub(crate) fn abi_mmr(p: &MmrProof) -> IHistoryVerifier::MmrProof {
    IHistoryVerifier::MmrProof {
        size: U256::from(p.size),
        index: U256::from(p.index),
        siblings: p.siblings.clone(),
        peaks: p.peaks.clone(),
    }
}

/// The contract's `verifySubqueryInMmr` call for subquery `i` of a proof.
pub(crate) fn verify_in_mmr_call(
    proof: &cairn_history::QueryProof,
    i: usize,
) -> IHistoryVerifier::verifySubqueryInMmrCall {
    let sq = &proof.subqueries[i];
    let block = proof
        .blocks
        .iter()
        .find(|b| b.number == sq.subquery.block())
        .unwrap();
    IHistoryVerifier::verifySubqueryInMmrCall {
        mmrRoot: proof.mmr.unwrap().root,
        mmrProof: abi_mmr(block.mmr_proof.as_ref().unwrap()),
        subquery: abi_subquery(&sq.subquery),
        header: block.header.clone(),
        proof: abi_data(sq),
    }
}

/// Every subquery of `proof` verified by the contract at `verifier`, results compared, and
/// the results root recomputed on chain.
pub(crate) fn verify_on_chain(eth: &Eth, verifier: Address, proof: &cairn_history::QueryProof) {
    for (i, sq) in proof.subqueries.iter().enumerate() {
        let got = eth
            .sol_call(verifier, &verify_in_mmr_call(proof, i), None)
            .unwrap_or_else(|e| panic!("{}: the contract rejects it: {e}", sq.subquery));
        assert_eq!(got, sq.result, "{}", sq.subquery);
    }
    let root = eth
        .sol_call(
            verifier,
            &IHistoryVerifier::resultsRootCall {
                subqueries: proof
                    .subqueries
                    .iter()
                    .map(|s| abi_subquery(&s.subquery))
                    .collect(),
                results: proof.subqueries.iter().map(|s| s.result).collect(),
            },
            None,
        )
        .unwrap();
    assert_eq!(root, proof.results_root);
}

pub(crate) fn word(v: u64) -> B256 {
    B256::from(U256::from(v))
}
