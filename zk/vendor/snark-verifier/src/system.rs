//! Proof systems `snark-verifier` supports

pub mod halo2;
