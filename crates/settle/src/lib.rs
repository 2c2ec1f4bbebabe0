//! Cairn's L1 settlement: the rollup and verifier contracts (`contracts/settlement/`), their
//! deployment, and the settler that follows proof files and settles batches on L1.
//!
//! - [`contracts`]: Rust bindings (alloy `sol!`) over the committed artifacts of
//!   `CairnRollup`, `AttestVerifier` and `ZkProofVerifier`; the pinned solc-js compilation
//!   that reproduces them; [`Revert`] decoding of every custom error.
//! - [`mod@deploy`]: [`DeployConfig`] (the TOML file of `cairn deploy`), [`deploy()`], and the
//!   [`Deployment`] it prints as JSON.
//! - [`l1`]: the [`L1`] client over alloy's provider: explicit nonces, signing here,
//!   receipts with a confirmation depth, retries with backoff, typed failures.
//! - [`store`]: the settler's SQLite record ([`Store`]): transactions before they are
//!   broadcast, batches once settled.
//! - [`source`]: the [`ProofSource`] seam and [`SegDir`], a directory of `.seg` files.
//! - [`settler`]: the [`Settler`] (native policy, then `commitBatch` and `verifyBatch`).
//! - [`vectors`]: QMTree binding test vectors shared by the Rust and Solidity verifiers.
//! - [`dev`]: the dev setup (`cairn settle --dev`): anvil, dev attest signers, dev-chain
//!   batches proved into `.seg` files.
//! - [`mod@bench`]: gas and latency figures.
//!
//! # The rollup
//!
//! `commitBatch(batch, publicValuesHash, qmRoot)` (proposer only), then
//! `verifyBatch(batch, publicValues, binding, proofs)`: accepted only when the public values
//! hash to the commitment, are of the rollup's chain and configuration, start at the block
//! after the last settled one from its state root, the QMTree binding verifies
//! ([`cairn_prover::BatchBinding::verify`], bit for bit) and ties them to the last settled
//! QMTree root and the committed one, and a proof of every required type verifies. A proof
//! type routes to an `IProofVerifier` the owner sets (`setVerifier`): `AttestVerifier` (one
//! signer set per deployment: `ecrecover` of the attest digest in its own EIP-712 domain) or
//! `ZkProofVerifier` (Kroma's `verify(uint256[] proof, uint256[] target_circuit_final_pair)`
//! behind a check that the instances carry the public-values hash).
//!
//! ```
//! use cairn_settle::{contracts::{CairnRollup, Revert}, deploy::parse_backend_id};
//! use alloy_sol_types::SolError;
//!
//! // Reverts decode to the contracts' custom errors.
//! let data = CairnRollup::MissingProofType { proofType: 2 }.abi_encode();
//! assert_eq!(Revert::decode(&data).to_string(), "MissingProofType { proofType: 2 }");
//! assert_eq!(parse_backend_id("tee/attest-a")?.name, "attest-a");
//! # Ok::<(), cairn_settle::Error>(())
//! ```
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod bench;
pub mod contracts;
pub mod deploy;
pub mod dev;
mod error;
pub mod l1;
pub mod settler;
pub mod source;
pub mod store;
pub mod vectors;

pub use contracts::Revert;
pub use deploy::{DeployConfig, Deployment, deploy};
pub use error::{CommitmentConflict, Error, Result, TxKind};
pub use l1::{KeySource, L1, L1Options};
pub use settler::{RunOptions, Settler, Step};
pub use source::{ProofSource, SegDir};
pub use store::Store;
