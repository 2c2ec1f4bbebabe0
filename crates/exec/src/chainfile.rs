//! A chain on disk: configuration, genesis header and allocation, and blocks, as JSON.

use crate::{
    chain::{Chain, GenesisAccount},
    error::{ExecError, Result},
};
use alloy_consensus::Header;
use alloy_primitives::{Address, Bytes, U64, U256};
use cairn_primitives::{Block, ChainConfig};
use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, path::Path};

/// An allocation entry (hex quantities, as in genesis files).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocEntry {
    /// Nonce.
    #[serde(default)]
    pub nonce: U64,
    /// Balance in wei.
    pub balance: U256,
    /// Code.
    #[serde(default, skip_serializing_if = "is_empty_bytes")]
    pub code: Bytes,
    /// Storage.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub storage: BTreeMap<U256, U256>,
}

/// A whole chain: `{"chain": .., "genesis": "0x<header rlp>", "alloc": {..}, "blocks": ["0x<block rlp>", ..]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainFile {
    /// Chain configuration.
    pub chain: ChainConfig,
    /// Genesis header, RLP.
    pub genesis: Bytes,
    /// Genesis allocation.
    pub alloc: BTreeMap<Address, AllocEntry>,
    /// Blocks after genesis, RLP, in order.
    pub blocks: Vec<Bytes>,
}

impl ChainFile {
    /// Reads a chain file.
    ///
    /// # Errors
    /// [`ExecError::Io`] or [`ExecError::Json`] naming the path.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| ExecError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| ExecError::Json {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Writes the chain file (pretty JSON).
    ///
    /// # Errors
    /// [`ExecError::Io`] naming the path.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|source| ExecError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        std::fs::write(path, text).map_err(|source| ExecError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The genesis header.
    ///
    /// # Errors
    /// [`ExecError::Rlp`] when it does not decode.
    pub fn genesis_header(&self) -> Result<Header> {
        alloy_rlp::decode_exact(&self.genesis).map_err(|source| ExecError::Rlp {
            what: "genesis header",
            index: 0,
            source,
        })
    }

    /// A [`Chain`] at genesis.
    ///
    /// # Errors
    /// Decoding errors, or [`ExecError::GenesisStateRoot`].
    pub fn genesis_chain(&self) -> Result<Chain> {
        let alloc = self.alloc.iter().map(|(address, a)| {
            (
                *address,
                GenesisAccount {
                    nonce: a.nonce.to(),
                    balance: a.balance,
                    code: a.code.clone(),
                    storage: a.storage.clone(),
                },
            )
        });
        Chain::from_genesis(self.chain.clone(), self.genesis_header()?, alloc)
    }

    /// Block `index` (0 is the first block after genesis).
    ///
    /// # Errors
    /// [`ExecError::InvalidBlock`] naming the block index, when it does not decode strictly
    /// ([`decode_block`](cairn_primitives::decode_block)).
    pub fn block(&self, index: usize) -> Result<Block> {
        let raw = self.blocks.get(index).ok_or(ExecError::UnknownBlock {
            number: index as u64 + 1,
        })?;
        cairn_primitives::decode_block(raw)
            .map_err(|source| ExecError::InvalidBlock { index, source })
    }
}

fn is_empty_bytes(b: &Bytes) -> bool {
    b.is_empty()
}
