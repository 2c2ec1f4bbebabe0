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
}
