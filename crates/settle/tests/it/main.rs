//! Integration tests of cairn-settle on a real L1 (anvil from npm): the committed contract
//! artifacts against a fresh solc-js compile, the shared binding vectors against the Rust and
//! the Solidity verifier, every rollup rejection by its custom error, batches settled by the
//! settler, a ZK verifier plugged into a deployed rollup, and a misbehaving L1.

mod artifacts;
mod common;
mod faults;
mod rollup;
mod settle;
mod zk;
