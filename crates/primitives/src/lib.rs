//! Shared types for every layer of Cairn.
//!
//! - [`ChainConfig`]: chain id, fork schedule and blob schedule; implements
//!   [`EthereumHardforks`](alloy_hardforks::EthereumHardforks) so the EVM crates can read it.
//! - [`ExecutionWitness`]: the raw witness data (`state` trie nodes, `codes`, `keys`,
//!   RLP `headers`), independent of any wire format.
//! - [`ProgramInput`] / [`ProgramOutput`]: what the stateless program takes and proves.
//! - [`Block`], [`TransactionSigned`]: the Ethereum block types every crate shares, and
//!   [`decode_block`], the one strict (canonical-only) way to decode a block's RLP.
//!
//! `no_std + alloc`: this crate runs inside zkVM guests.
//!
//! ```
//! use cairn_primitives::{ChainConfig, EthereumHardfork};
//! use alloy_hardforks::EthereumHardforks;
//!
//! let chain = ChainConfig::eest_network("Prague", 1).unwrap();
//! assert!(chain.is_prague_active_at_timestamp(0));
//! assert!(!chain.is_osaka_active_at_timestamp(u64::MAX));
//! assert_eq!(chain.fork_name_at(0, 0), "Prague");
//! # let _ = EthereumHardfork::Prague;
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

extern crate alloc;

mod block;
mod chain;
mod error;
mod input;

pub use alloy_hardforks::{EthereumHardfork, ForkCondition};
pub use block::{BlockPart, decode_block};
pub use chain::{
    BlobScheduleEntry, ChainConfig, ForkEntry, MAINNET_DEPOSIT_CONTRACT, MAX_BLOBS_PER_BLOCK_LIMIT,
    next_excess_blob_gas,
};
pub use error::{PrimitivesError, Result};
pub use input::{ExecutionWitness, ProgramInput, ProgramOutput, block_hashes_commitment};

/// A signed transaction as it appears in a block body (blob transactions without sidecars).
pub type TransactionSigned = alloy_consensus::EthereumTxEnvelope<alloy_consensus::TxEip4844>;

/// An Ethereum block: header plus body of [`TransactionSigned`].
pub type Block = alloy_consensus::Block<TransactionSigned>;

/// A global transaction number: the index of a transaction (or system step) across the whole
/// chain, used as the QMTree leaf index.
pub type TxNum = u64;
