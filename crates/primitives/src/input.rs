//! The stateless program's input and output, and the raw execution witness.

use crate::{Block, ChainConfig};
use alloc::vec::Vec;
use alloy_primitives::{B256, Bytes};
use serde::{Deserialize, Serialize};

/// The data a block (or batch) needs to execute without a state database.
///
/// This is the wire-format-independent form: `state` holds RLP-encoded trie nodes (account and
/// storage tries), addressed by their keccak hash; `codes` holds contract bytecodes, addressed
/// by their keccak hash; `keys` holds the preimages of hashed trie keys (20-byte addresses and
/// 32-byte slots; informational, validation does not need them); `headers` holds RLP-encoded
/// ancestor headers, newest last, the parent of the first block among them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionWitness {
    /// RLP-encoded trie nodes.
    pub state: Vec<Bytes>,
    /// Contract bytecodes.
    pub codes: Vec<Bytes>,
    /// Preimages of hashed trie keys.
    #[serde(default)]
    pub keys: Vec<Bytes>,
    /// RLP-encoded ancestor headers.
    pub headers: Vec<Bytes>,
}

impl ExecutionWitness {
    /// Number of trie nodes plus codes plus headers.
    pub fn item_count(&self) -> usize {
        self.state.len() + self.codes.len() + self.headers.len()
    }

    /// Total bytes of nodes, codes, keys and headers.
    pub fn byte_size(&self) -> usize {
        [&self.state, &self.codes, &self.keys, &self.headers]
            .iter()
            .flat_map(|v| v.iter())
            .map(|b| b.len())
            .sum()
    }
}

/// Input of the stateless program: consecutive blocks, the witness covering all of them, and
/// the chain they belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramInput {
    /// Chain configuration (chain id, forks, blob schedule).
    pub chain: ChainConfig,
    /// Consecutive blocks, oldest first.
    pub blocks: Vec<Block>,
    /// Witness for the whole batch, taken at the parent of the first block.
    pub witness: ExecutionWitness,
}

/// What the stateless program proves about a batch.
///
/// The prover's public values (`cairn-prover`) are this plus the chain-configuration hash and
/// the (reserved) L2 fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgramOutput {
    /// Chain id of the executed chain.
    pub chain_id: u64,
    /// Number of the first block.
    pub first_block_number: u64,
    /// State root before the first block (the parent's state root).
    pub initial_state_root: B256,
    /// State root after the last block.
    pub final_state_root: B256,
    /// Hash of the parent of the first block.
    pub parent_hash: B256,
    /// Hash of the last block.
    pub last_block_hash: B256,
    /// Number of the last block.
    pub last_block_number: u64,
    /// [`block_hashes_commitment`] of the batch's block hashes, oldest first: binds the exact
    /// set of blocks.
    pub block_hashes_commitment: B256,
    /// Total gas used by all blocks.
    pub total_gas_used: u64,
}

/// The commitment to a batch's block hashes: `keccak256(h_first ‖ … ‖ h_last)`, the 32-byte
/// hashes concatenated oldest first (Solidity: `keccak256(abi.encodePacked(bytes32[] hashes))`).
pub fn block_hashes_commitment(hashes: &[B256]) -> B256 {
    let mut hasher = alloy_primitives::Keccak256::new();
    for hash in hashes {
        hasher.update(hash.as_slice());
    }
    hasher.finalize()
}
