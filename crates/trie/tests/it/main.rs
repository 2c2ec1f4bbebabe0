//! Integration tests for `cairn-trie`: property tests against alloy-trie's `HashBuilder` and
//! the official `TrieTests` / `RLPTests` vectors.

mod fixtures;
mod reference;
