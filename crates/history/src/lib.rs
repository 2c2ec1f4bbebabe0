//! Proofs of historical Ethereum data, in Axiom's model: a query is a list of
//! [`Subquery`]s (a header field, an account field, a storage slot, a Solidity mapping
//! entry, a transaction, receipt or log field at some block); its answer is a
//! [`QueryProof`]: one 32-byte result per subquery, the proofs of those results from their
//! blocks' headers, the headers' inclusion in a block-hash [`Mmr`], and a Keccak
//! `resultsRoot` over `(subquery, result)` leaves.
//!
//! - [`verify_query`] checks a proof (`no_std`): header hashes, MMR inclusion,
//!   Merkle-Patricia proofs (alloy-trie's `verify_proof`), field extraction, results root.
//! - [`Mmr`]: the block-hash Merkle mountain range, over memory or a file ([`MmrFile`]).
//! - [`prove_query`] builds a proof from a [`HistorySource`]: a node's own data directory
//!   (`cairn-exec` implements it for its node) or any JSON-RPC node ([`RpcSource`], feature
//!   `rpc`, on by default, with an on-disk answer cache; `tls` adds HTTPS). Every proof is
//!   verified before it is returned. [`RpcSource::extend_mmr`] builds the MMR of another
//!   node's chain by walking its headers.
//! - The Solidity verifier in `contracts/history/` reads the same encodings.
//!
//! # Encodings
//!
//! These are fixed so that a contract or a circuit can recompute them.
//!
//! **Subquery**: six 32-byte words `[type, blockNumber, w2, w3, w4, w5]`
//! ([`Subquery::encode`]); numbers big-endian, addresses left-padded, unused words zero.
//!
//! | type | subquery | w2 | w3 | w4 | w5 |
//! | --- | --- | --- | --- | --- | --- |
//! | 1 | header | field | item | 0 | 0 |
//! | 2 | account | address | field | 0 | 0 |
//! | 3 | storage | address | slot | 0 | 0 |
//! | 4 | mapping | address | mapping slot `p` | depth `n` (1..=4) | `keysHash` |
//! | 5 | tx | tx index | field | item | 0 |
//! | 6 | receipt | tx index | field | item | 0 |
//! | 7 | log | tx index | log index | field | item |
//!
//! Field codes: [`HeaderField`] (0..=20 are the header's RLP positions, 64 the block hash),
//! [`AccountField`], [`TxField`], [`ReceiptField`], [`LogField`]. `item` selects a 32-byte
//! word of a long byte string (`logsBloom`, `extraData`, calldata, log data) or an entry
//! of a list (blob hashes, topics); it is 0 for every other field.
//!
//! **Mapping**: keys are `h(k)`, Solidity's layout rule ([`MappingKey::encode`]): value
//! types padded to 32 bytes as in memory, `string` and `bytes` raw. The raw slot is
//! `slot_0 = p`, `slot_i = keccak256(h(k_i) ‖ slot_{i-1})`; the subquery commits to the keys
//! with `keysHash = keccak256(keccak256(h(k_1)) ‖ … ‖ keccak256(h(k_n)))`.
//!
//! **Result**: one word. RLP integers, addresses and hashes are right-aligned; byte-string
//! words are left-aligned and zero-padded; an account missing from the state trie reads as
//! zero in all four fields; an unset slot is zero. Legacy transactions read `gasPrice` as
//! both fee fields and derive `chainId` from `v` (EIP-155); `selector` is the first four
//! calldata bytes as a number.
//!
//! **Results root** ([`results_root`]): `leaf = keccak256(subquery ‖ result)` (224 bytes);
//! leaves in query order, padded with `bytes32(0)` to a power of two, `node =
//! keccak256(left ‖ right)`.
//!
//! **MMR** ([`mmr`]): leaf `i` is the hash of block `i`; `root = keccak256(uint256(size) ‖
//! peaks[0] ‖ … ‖ peaks[31])` with `peaks[h]` the perfect tree of `2^h` leaves for each set
//! bit `h` of `size`, zero otherwise.
//!
//! ```
//! use alloy_primitives::{B256, address};
//! use cairn_history::{AccountField, Subquery, result_leaf, results_root};
//!
//! let sq = Subquery::Account {
//!     block: 17,
//!     address: address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
//!     field: AccountField::Balance,
//! };
//! let words = sq.words()?;
//! assert_eq!(words[0], B256::with_last_byte(2));
//! assert_eq!(words[1], B256::with_last_byte(17));
//! let leaf = result_leaf(&sq, &B256::with_last_byte(1))?;
//! assert_eq!(results_root(&[leaf]), leaf);
//! # Ok::<(), cairn_history::HistoryError>(())
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

extern crate alloc;

#[cfg(feature = "std")]
mod build;
mod error;
mod fields;
pub mod mmr;
#[cfg(feature = "std")]
mod mmr_file;
mod proof;
mod results;
mod rlp;
#[cfg(feature = "rpc")]
mod rpc;
#[cfg(feature = "std")]
mod source;
mod subquery;
mod trie;

#[cfg(feature = "std")]
pub use build::{MmrAt, prove_query};
#[cfg(feature = "rpc")]
pub use error::RpcSourceError;
pub use error::{HistoryError, Result};
pub use fields::{AccountState, account_field, header_field, log_field, receipt_field, tx_field};
pub use mmr::{Mmr, MmrError, MmrProof, MmrResult, MmrStorage};
#[cfg(feature = "std")]
pub use mmr_file::MmrFile;
pub use proof::{
    BlockProof, DataProof, MAX_SUBQUERIES, MmrAnchor, PROOF_VERSION, QueryProof, SubqueryProof,
    Verified, verify_block, verify_query, verify_subquery,
};
pub use results::{result_leaf, results_path, results_root, root_from_path};
#[cfg(feature = "rpc")]
pub use rpc::{RpcSource, RpcSourceConfig};
#[cfg(feature = "std")]
pub use source::{HistorySource, SourceHeader};
pub use subquery::{
    AccountField, HeaderField, LogField, MAX_MAPPING_DEPTH, MappingKey, ReceiptField,
    SUBQUERY_BYTES, Subquery, TxField, keys_hash, kind, mapping_slot,
};
pub use trie::{index_key, ordered_trie_proof, verify_ordered};
