//! Program inputs from other nodes over JSON-RPC.
//!
//! Cairn builds witnesses from its own full state; to prove another node's chain (an L1, an
//! L2 run by another client), it builds the [`ProgramInput`](cairn_primitives::ProgramInput)
//! of blocks `A..=B` from an ordinary node's JSON-RPC:
//!
//! - [`WitnessProvider`]: the seam, "the program input for blocks A..B";
//! - [`LocalNode`]: the node's own state (the witness generated from full state);
//! - [`ExecutionWitnessRpc`]: `debug_executionWitness` (reth and geth forms, through
//!   [`cairn_witness::json`]), one call per block, merged into one witness for the range;
//! - [`ProofRpc`]: for nodes without the debug API, `eth_getProof` with a pre-flight
//!   execution against lazily fetched state and the repair of deletions (a collapse sibling
//!   rebuilt from an exclusion proof; a restructured branch found through another key's
//!   proof or `debug_dbGet`), see [`proofs`];
//! - [`Rpc`]: the client they share: an answer cache on disk (`<dir>/<method>/<key>.json`,
//!   a portable test case), offline replay of it, a rate limit, retries with backoff on
//!   transient failures, and counters ([`RpcStats`]).
//!
//! Every answer is checked before use: blocks and headers against their hashes and their
//! children's parent hashes, proofs against the state and storage roots, code against the
//! proven code hash; a node that lies, times out or lacks a method gives a [`SourceError`]
//! naming the block, address or slot and the method. Inputs are finally run through
//! `cairn-stateless` (Cairn's and the strict rules) before they are returned.
//!
//! ```
//! use cairn_source::{Rpc, RpcOptions, SourceError};
//!
//! // Offline replay needs the cache it replays.
//! let err = Rpc::new("http://127.0.0.1:8545", RpcOptions { offline: true, ..Default::default() });
//! assert!(matches!(err, Err(SourceError::OfflineWithoutCache)));
//! ```
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod blocks;
mod error;
pub mod proofs;
mod provider;
mod rpc;

pub use blocks::BodySource;
pub use error::{Result, SourceError};
pub use proofs::ProofRpc;
pub use provider::{ExecutionWitnessRpc, FetchStats, Fetched, LocalNode, WitnessProvider};
pub use rpc::{Rpc, RpcOptions, RpcStats};
