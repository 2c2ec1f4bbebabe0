//! The JSON shape of EEST blockchain tests (and their zkEVM variant).

use alloy_primitives::{Address, B256, Bytes, U64, U128, U256};
use serde::Deserialize;
use std::collections::BTreeMap;

/// One blockchain test case.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockchainTest {
    /// Fork name or transition (`Prague`, `PragueToOsakaAtTime15k`).
    pub network: String,
    /// The genesis block, RLP.
    #[serde(rename = "genesisRLP")]
    pub genesis_rlp: Bytes,
    /// The genesis header (only its hash is used).
    pub genesis_block_header: HeaderHash,
    /// Pre-state allocation.
    pub pre: BTreeMap<Address, FixtureAccount>,
    /// Expected post-state (when not given as a hash).
    #[serde(default)]
    pub post_state: Option<BTreeMap<Address, FixtureAccount>>,
    /// Expected post-state root (when the state is too large to list).
    #[serde(default)]
    pub post_state_hash: Option<B256>,
    /// Expected head after all blocks.
    pub lastblockhash: B256,
    /// Chain id and blob schedule.
    #[serde(default)]
    pub config: Option<FixtureConfig>,
    /// Blocks, valid and invalid, in order.
    pub blocks: Vec<FixtureBlock>,
}

/// A header object of which only the hash is read.
#[derive(Debug, Clone, Deserialize)]
pub struct HeaderHash {
    /// The header's hash.
    pub hash: B256,
}

/// Chain configuration of a fixture.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixtureConfig {
    /// Chain id.
    #[serde(default)]
    pub chainid: Option<U64>,
    /// Blob parameters per fork name.
    #[serde(default)]
    pub blob_schedule: BTreeMap<String, FixtureBlobParams>,
}

/// Blob parameters of one fork.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixtureBlobParams {
    /// Target blobs per block.
    pub target: U64,
    /// Maximum blobs per block.
    pub max: U64,
    /// Base-fee update fraction.
    pub base_fee_update_fraction: U128,
}

/// An account in `pre` / `postState`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FixtureAccount {
    /// Nonce.
    pub nonce: U64,
    /// Balance.
    pub balance: U256,
    /// Code.
    pub code: Bytes,
    /// Storage.
    #[serde(default)]
    pub storage: BTreeMap<U256, U256>,
}

/// One block of a test.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixtureBlock {
    /// The block, RLP (possibly malformed for invalid blocks).
    pub rlp: Bytes,
    /// Set when the block must be rejected.
    #[serde(default)]
    pub expect_exception: Option<String>,
    /// zkEVM fixtures: the witness to validate from.
    #[serde(default)]
    pub execution_witness: Option<serde_json::Value>,
    /// zkEVM fixtures: the expected stateless output (`root ‖ success flag ‖ chain id`).
    #[serde(default)]
    pub stateless_output_bytes: Option<Bytes>,
    /// Amsterdam blocks: the EIP-7928 block access list (every account and slot the block
    /// touches, with post-values of what it changes).
    #[serde(default)]
    pub block_access_list: Option<Vec<AccessListAccount>>,
}

/// One account of an EIP-7928 block access list.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessListAccount {
    /// The account.
    pub address: Address,
    /// Nonces after the transactions that changed it.
    #[serde(default)]
    pub nonce_changes: Vec<NonceChange>,
    /// Balances after the transactions that changed it.
    #[serde(default)]
    pub balance_changes: Vec<BalanceChange>,
    /// Codes after the transactions that changed it.
    #[serde(default)]
    pub code_changes: Vec<CodeChange>,
    /// Slots written, with their values after each transaction that changed them.
    #[serde(default)]
    pub storage_changes: Vec<SlotChanges>,
    /// Slots read and not written.
    #[serde(default)]
    pub storage_reads: Vec<U256>,
}

/// A nonce after block access index `block_access_index`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NonceChange {
    /// 0 for the pre-block system calls, `n` for transaction `n - 1`, then post-block.
    pub block_access_index: U64,
    /// The nonce after it.
    pub post_nonce: U64,
}

/// A balance after block access index `block_access_index`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BalanceChange {
    /// See [`NonceChange::block_access_index`].
    pub block_access_index: U64,
    /// The balance after it.
    pub post_balance: U256,
}

/// A code after block access index `block_access_index`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeChange {
    /// See [`NonceChange::block_access_index`].
    pub block_access_index: U64,
    /// The code after it.
    pub new_code: Bytes,
}

/// The writes of one slot.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlotChanges {
    /// The slot.
    pub slot: U256,
    /// Its values after each transaction that wrote it.
    pub slot_changes: Vec<SlotChange>,
}

/// A slot value after block access index `block_access_index`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlotChange {
    /// See [`NonceChange::block_access_index`].
    pub block_access_index: U64,
    /// The value after it.
    pub post_value: U256,
}
