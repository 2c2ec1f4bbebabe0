//! A sparse Merkle Patricia trie over witness nodes.
//!
//! [`SparseTrie`] starts from a root hash and decodes nodes lazily from a [`NodeProvider`]
//! (a map of `keccak(rlp(node)) -> rlp(node)`, such as an execution witness, or a full state
//! store). It supports reads that prove presence or absence, inserts and updates, deletions
//! with full restructuring (a branch left with one entry collapses into a leaf or extension;
//! extensions merge), incremental root hashing and proof extraction.
//!
//! When an operation needs a node the provider lacks, it returns
//! [`TrieError::MissingNode`] with the node's hash and nibble path and leaves the trie as it
//! was: it never guesses.
//!
//! ```
//! use alloy_primitives::{B256, Bytes, map::B256Map};
//! use alloy_trie::Nibbles;
//! use cairn_trie::{NoNodes, SparseTrie, TrieError};
//!
//! // Build a trie in memory, then rebuild it from a proof alone.
//! let mut full = SparseTrie::new();
//! let (a, b) = (Nibbles::unpack([0x12u8; 32]), Nibbles::unpack([0x34u8; 32]));
//! full.insert(&a, b"one".to_vec(), &mut NoNodes)?;
//! full.insert(&b, b"two".to_vec(), &mut NoNodes)?;
//! let root = full.root();
//!
//! let proof: B256Map<Bytes> = full
//!     .proof(&a, &mut NoNodes)?
//!     .into_iter()
//!     .map(|node| (alloy_primitives::keccak256(&node), node))
//!     .collect();
//! let mut sparse = SparseTrie::from_root(root);
//! let mut nodes = proof;
//! assert_eq!(sparse.get(&a, &mut nodes)?, Some(&b"one"[..]));
//! // Deleting `a` collapses the branch into `b`'s leaf, which the proof does not hold.
//! assert!(matches!(sparse.remove(&a, &mut nodes), Err(TrieError::MissingNode { .. })));
//! # Ok::<(), TrieError>(())
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

extern crate alloc;

mod error;
mod node;
mod provider;
mod trie;

pub use alloy_trie::{EMPTY_ROOT_HASH, Nibbles};
pub use error::{Result, TrieError};
pub use provider::{NoNodes, NodeProvider, ProviderError};
pub use trie::SparseTrie;
