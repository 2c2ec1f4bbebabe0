//! Full-state execution.
//!
//! [`Chain`] holds a chain in full: canonical headers, a hash-addressed store of every trie
//! node ever written (so any past state can be read and proven), and the flat state at the
//! head. It
//! - builds the genesis state from an allocation and checks its root;
//! - imports blocks ([`Chain::execute`]): consensus rules, execution on the flat state with
//!   alloy-evm, outcome checks, then the changes go into the tries and the root must match;
//! - builds blocks from transactions ([`Chain::build_block`]);
//! - generates execution witnesses ([`Chain::witness`]) by running the stateless program
//!   against the full state and recording what it reads: every trie node (proof paths and
//!   the siblings that deletions collapse into), code, and ancestor header. By default the
//!   witness is [complete](WitnessKind::Complete): it holds what every stateless client
//!   needs (pre-state code even where an in-batch deployment has the same hash, and the
//!   collapse siblings of every update order); [`WitnessKind::Minimal`] holds exactly what
//!   Cairn's own validation reads.
//! - answers EIP-1186 proofs at any block it holds ([`Chain::account_proof`]), and its
//!   committing node ([`commit::Node`]) is a `cairn_history::HistorySource` with a
//!   block-hash MMR.
//!
//! ```
//! use alloy_consensus::Header;
//! use alloy_primitives::{Address, U256};
//! use cairn_exec::{Chain, GenesisAccount};
//! use cairn_primitives::ChainConfig;
//!
//! let alloc = [(Address::repeat_byte(1), GenesisAccount { balance: U256::from(1), ..Default::default() })];
//! // The genesis header must carry the allocation's state root.
//! let wrong = Header::default();
//! assert!(Chain::from_genesis(ChainConfig::eest_network("Prague", 1).unwrap(), wrong, alloc).is_err());
//! ```
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod bench;
mod chain;
mod chainfile;
pub mod commit;
pub mod devchain;
mod error;
mod history;
mod replay;
mod state;
pub(crate) mod witness;

pub use chain::{
    BlockAttributes, Chain, ExecutedBlock, GenesisAccount, WitnessRun, genesis_state_root,
};
pub use chainfile::{AllocEntry, ChainFile};
pub use error::{ExecError, FlatDbError, Result};
pub use replay::{ReplayRow, replay};
pub use state::{FlatAccount, FlatState};
pub use witness::WitnessKind;
