//! Integration tests for `cairn-trie`: property tests against alloy-trie's `HashBuilder`,
//! the nodes each update order reaches, and the official `TrieTests` / `RLPTests` vectors.

mod fixtures;
mod orders;
mod reference;
