//! The stateless program: `validate(ProgramInput) -> Result<ProgramOutput>`.
//!
//! Given consecutive blocks, the execution witness covering them and the chain config, it
//! 1. indexes the witness (hashes every trie node, code and header; checks the headers form
//!    a chain whose newest member is the first block's parent, whose state root is the
//!    pre-state root);
//! 2. for each block: checks header and body rules against the parent
//!    ([`consensus`]), recovers senders, and executes with alloy-evm's Ethereum block
//!    executor on revm under the fork schedule (EIP-4788 / EIP-2935 system calls,
//!    transactions, withdrawals, EIP-6110 / EIP-7002 / EIP-7251 requests), reading all state
//!    through the witness: a read the witness cannot prove is an error, never a silent zero;
//! 3. checks gas used, blob gas used, receipts root, logs bloom and requests hash; applies
//!    the block's state changes to the witness tries (writes before deletions) and checks
//!    the state root;
//! 4. returns [`ProgramOutput`](cairn_primitives::ProgramOutput): first and last block, the
//!    commitment to their hashes, initial and final state
//!    roots, last block hash, chain id, total gas.
//!
//! [`validate_strict`] holds the witness to what other stateless clients need
//! ([`WitnessRules::STRICT`]): the code of every pre-state account from the witness's codes
//! alone, and updates applied in sorted key order, so a witness only Cairn could use fails.
//!
//! Every failure is a [`StatelessError`] naming the block, the check, and what was got and
//! expected. `no_std + alloc` with `--no-default-features` (pure-Rust crypto); the default
//! `native-crypto` feature uses C/assembly backends for secp256k1 and BLS12-381, and verifies
//! KZG point evaluations against `[τ]₂` alone, without loading the trusted setup ([`kzg`]).
//!
//! ```
//! use cairn_primitives::{ChainConfig, ExecutionWitness, ProgramInput};
//! use cairn_stateless::{StatelessError, validate};
//!
//! let input = ProgramInput {
//!     chain: ChainConfig::eest_network("Prague", 1).unwrap(),
//!     blocks: vec![],
//!     witness: ExecutionWitness::default(),
//! };
//! // No headers in the witness: there is no parent to start from.
//! assert!(matches!(validate(&input), Err(StatelessError::InvalidWitness(_))));
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

extern crate alloc;

pub mod consensus;
mod error;
mod execute;
#[cfg(feature = "native-crypto")]
pub mod kzg;
mod validate;

pub use cairn_witness::{UpdateOrder, WitnessRules};
pub use error::{ConsensusError, Result, StatelessError};
pub use execute::{
    CairnReceiptBuilder, ChainSpec, Eip7610, Phase, StorageProbe, block_ctx, check_outcome,
    evm_env, execute_block, execute_block_observed, execute_block_phases, recover_senders,
};
pub use validate::{
    BlockSummary, Validated, index_witness, validate, validate_indexed, validate_indexed_with,
    validate_inner, validate_strict, validate_with_rules, validate_with_source,
};
