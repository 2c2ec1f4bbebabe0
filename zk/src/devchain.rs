//! A dev chain for tests and demos: anvil (Cancun, raised code-size limit so the generated
//! verifiers deploy) with a small storage contract deployed and a few blocks mined.

use alloy_primitives::{Address, B256, Bytes, U256};
use cairn_devtools::Anvil;
use serde_json::json;

use crate::{
    error::{Result, ZkError},
    rpc::Rpc,
};

/// The contract the dev chain deploys: slot 0 holds 42 after deployment, slot 1 the
/// deployer's address; `m` (slot 2) maps the deployer to 7 and `nested` (slot 3) maps
/// (deployer, 1) to 9.
pub const STORE_SOL: &str = r#"// SPDX-License-Identifier: MIT
pragma solidity ^0.8.19;
contract Store {
    uint256 public a = 42;
    address public owner = msg.sender;
    mapping(address => uint256) public m;
    mapping(address => mapping(uint256 => uint256)) public nested;
    constructor() { m[msg.sender] = 7; nested[msg.sender][1] = 9; }
    function set(uint256 v) external { a = v; }
}
"#;

/// A running dev chain (anvil is killed on drop).
#[derive(Debug)]
pub struct DevChain {
    /// The node.
    pub anvil: Anvil,
    /// A client of it.
    pub rpc: Rpc,
    /// The deployed `Store`.
    pub contract: Address,
    /// A block at which `Store` holds `a = 42` (deployment block plus a few empty blocks).
    pub block: u64,
}

impl DevChain {
    /// Starts anvil with `--hardfork cancun` (axiom-eth 0.4.3 decodes headers up to Cancun)
    /// and a 1 MB code-size limit, deploys `Store`, mines 3 more blocks.
    ///
    /// # Errors
    /// [`ZkError::Tool`] without anvil or solc-js, [`ZkError::Rpc`], [`ZkError::Evm`].
    pub fn start() -> Result<Self> {
        let anvil = Anvil::spawn(&[
            "--hardfork",
            "cancun",
            "--code-size-limit",
            "1000000",
            "--gas-limit",
            "100000000",
        ])?;
        let rpc = Rpc::new(&anvil.url())?;
        let out = cairn_devtools::solc_standard_json(&json!({
            "language": "Solidity",
            "sources": {"Store.sol": {"content": STORE_SOL}},
            "settings": {"evmVersion": "cancun", "outputSelection": {"*": {"*": ["evm.bytecode.object"]}}},
        }))?;
        let code = out["contracts"]["Store.sol"]["Store"]["evm"]["bytecode"]["object"]
            .as_str()
            .ok_or_else(|| ZkError::Evm {
                reason: "solc output has no Store bytecode".into(),
            })?;
        let code: Bytes = alloy_primitives::hex::decode(code)
            .map_err(|e| ZkError::Evm {
                reason: e.to_string(),
            })?
            .into();
        let accounts: Vec<Address> = rpc.call("eth_accounts", vec![])?;
        let from = accounts[0];
        let tx: B256 = rpc.call(
            "eth_sendTransaction",
            vec![json!({"from": from, "data": code})],
        )?;
        let receipt: serde_json::Value = rpc.call("eth_getTransactionReceipt", vec![json!(tx)])?;
        let contract: Address = serde_json::from_value(receipt["contractAddress"].clone())
            .map_err(|e| ZkError::Evm {
                reason: format!("Store deployment: {e} ({receipt})"),
            })?;
        let _: serde_json::Value = rpc.call("anvil_mine", vec![json!("0x3")])?;
        let block: alloy_primitives::U64 = rpc.call("eth_blockNumber", vec![])?;
        Ok(Self {
            anvil,
            rpc,
            contract,
            block: block.to(),
        })
    }

    /// The node's URL.
    pub fn url(&self) -> String {
        self.anvil.url()
    }

    /// Slot `n` as a 32-byte key.
    pub fn slot(n: u64) -> B256 {
        B256::from(U256::from(n))
    }
}
