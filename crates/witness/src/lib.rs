//! The execution witness and the state database that reads through it.
//!
//! - [`ExecutionWitness`] (re-exported from `cairn-primitives`): `state` trie nodes, `codes`,
//!   `keys`, RLP `headers`.
//! - [`json`] (feature `json`, on with `std`): readers and writers for reth's and geth's
//!   `debug_executionWitness` JSON and the EEST zkEVM fixture form.
//! - [`WitnessSource`]: where nodes, codes and ancestor hashes come from;
//!   [`WitnessMaps`] indexes an `ExecutionWitness` (hashing every node and code, checking the
//!   header chain).
//! - [`StateTrie`]: the account trie and storage tries over a node source; applies a block's
//!   [`StateDiff`] and returns the new root.
//! - [`WitnessDb`]: a revm `Database` over a source: a read it cannot prove is an error.
//!   [`WitnessRules`] say how much it demands of the source: Cairn's own rules, or strict
//!   ones (pre-state code only from the witness, updates in sorted key order: what other
//!   stateless clients need), and the [`UpdateOrder`] of each block's trie updates.
//!
//! `no_std + alloc` without the `json` feature.
//!
//! ```
//! use cairn_witness::{ExecutionWitness, WitnessDb, WitnessError, WitnessMaps};
//! use revm::Database;
//!
//! // A witness with a parent header but no state nodes proves nothing about accounts.
//! let parent = alloy_consensus::Header { state_root: alloy_primitives::B256::repeat_byte(1), ..Default::default() };
//! let witness = ExecutionWitness { headers: vec![alloy_rlp::encode(&parent).into()], ..Default::default() };
//! let maps = WitnessMaps::new(&witness)?;
//! let mut db = WitnessDb::new(maps, parent.state_root);
//! let err = db.basic(alloy_primitives::Address::ZERO).unwrap_err();
//! assert!(err.to_string().contains("missing trie node"));
//! # Ok::<(), WitnessError>(())
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

extern crate alloc;

mod db;
mod error;
#[cfg(feature = "json")]
pub mod json;
mod source;
mod state;

pub use cairn_primitives::ExecutionWitness;
pub use db::{WitnessDb, WitnessRules};
pub use error::{Result, WitnessError};
pub use source::{
    MAX_WITNESS_HEADERS, WitnessIndex, WitnessMaps, WitnessSource, decode_header_chain,
};
pub use state::{AccountDiff, AccountFields, StateDiff, StateTrie, UpdateOrder};
