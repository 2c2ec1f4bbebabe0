//! Integration tests of cairn-prover: the backend conformance suite, the batch binding on a
//! real dev chain, `.seg` files, the input encoding, and the remote backend against a real
//! server over loopback HTTP (including servers that are down, slow, or answer garbage).

mod common;
mod conformance;
mod files;
mod input;
mod remote;
mod verify;
