//! Real succinct proofs of historical Ethereum data: Halo2 circuits from axiom-eth 0.4.3
//! (halo2-base 0.4.1, snark-verifier 0.1.7), KZG on BN254 with SHPLONK, verified natively,
//! aggregated with snark-verifier, and verified on chain by a generated Solidity verifier.
//!
//! The statement proved so far is **storage**: "at the block with hash `H` (number `N`),
//! slot `S` of account `A` holds `V`". It is two circuits, as in Axiom's component framework
//! ([`storage`]): the storage circuit (header RLP-decoded and hashed, account proof into
//! `stateRoot`, storage proof into `storageRoot`, every Keccak a promise) and the Keccak
//! shard that proves those Keccaks; both commit to the same Poseidon digest of the Keccak
//! table. [`aggregate`] folds both proofs into one, whose verifier is the EVM contract
//! ([`evm`]) behind `verify(uint256[] proof, uint256[] target_circuit_final_pair)`.
//!
//! Key types: [`StorageWitness`] (a header and an `eth_getProof` answer, verified natively
//! before anything is proved), [`StorageConfig`] (sizes; presets `dev` and `mainnet`),
//! [`StorageProofFile`] (what `cairn-zk prove` writes and `cairn-zk verify` checks),
//! [`ZkError`].
//!
//! KZG parameters generated here are **insecure** (public seed): see [`params`].
//!
//! ```no_run
//! use cairn_zk::{Prover, StorageConfig, StorageWitness, witness::TrieLimits};
//! # fn main() -> cairn_zk::Result<()> {
//! let witness = StorageWitness::read("witness.json".as_ref())?;
//! let prover = Prover::new("params".into(), "keys".into(), StorageConfig::dev());
//! let file = prover.prove_storage(&witness, false)?;
//! prover.verify(&file)?;
//! # Ok(()) }
//! ```
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod aggregate;
pub mod bench;
pub mod devchain;
pub mod error;
pub mod evm;
pub mod params;
mod prover;
pub mod rpc;
pub mod snark;
pub mod storage;
pub mod witness;

pub use error::{Result, ZkError};
pub use prover::{Prover, StorageProofFile, Timings, peak_rss_mib, reference_witness};
pub use storage::StorageConfig;
pub use witness::{StorageClaim, StorageWitness};

// Used by the binary only.
use clap as _;
#[cfg(test)]
use tempfile as _;
use tracing_subscriber as _;
