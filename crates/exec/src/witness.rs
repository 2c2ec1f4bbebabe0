//! Recording what the stateless program reads from a full chain: that is the witness.

use crate::chain::Chain;
use alloy_primitives::{Address, B256, Bytes, U256, map::B256Set};
use cairn_primitives::ExecutionWitness;
use cairn_trie::{NodeProvider, ProviderError};
use cairn_witness::{WitnessRules, WitnessSource};
use std::collections::BTreeSet;

/// How much a generated witness holds.
///
/// Both are recorded from a run of the stateless program against the full state; they
/// differ in what that run is made to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum WitnessKind {
    /// What every stateless client needs, whatever it might find elsewhere: the code of
    /// every pre-state account whose code is executed or read, even when code deployed in
    /// the batch has the same hash; and every trie node that applying each block's updates
    /// in any order reaches (the run applies them writes first, deletions first and in
    /// sorted key order, the last two on copies of the tries; deletions first alone reaches
    /// every collapse sibling that any order can, see
    /// [`UpdateOrder`](cairn_witness::UpdateOrder)). It passes
    /// [`validate_strict`](cairn_stateless::validate_strict).
    #[default]
    Complete,
    /// Exactly what Cairn's own validation reads (code shared by hash within the batch,
    /// updates writes first): smaller, for Cairn-only pipelines. Every item is needed by
    /// [`validate`](cairn_stateless::validate); other clients may reject it.
    Minimal,
}

impl WitnessKind {
    /// The rules the recording run holds the full state to.
    pub fn rules(self) -> WitnessRules {
        match self {
            Self::Complete => WitnessRules::COMPLETE,
            Self::Minimal => WitnessRules::CAIRN,
        }
    }
}

impl core::fmt::Display for WitnessKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Complete => "complete",
            Self::Minimal => "minimal",
        })
    }
}

/// A [`WitnessSource`] over a full chain that remembers every node, code and ancestor it
/// served.
#[derive(Debug)]
pub(crate) struct Recorder<'a> {
    chain: &'a Chain,
    /// The newest ancestor BLOCKHASH may reach (`None`: no ancestors at all).
    parent: Option<u64>,
    nodes: Vec<Bytes>,
    seen_nodes: B256Set,
    codes: Vec<Bytes>,
    seen_codes: B256Set,
    oldest: u64,
}

impl<'a> Recorder<'a> {
    pub(crate) fn new(chain: &'a Chain, parent: Option<u64>) -> Self {
        Self {
            chain,
            parent,
            nodes: Vec::new(),
            seen_nodes: B256Set::default(),
            codes: Vec::new(),
            seen_codes: B256Set::default(),
            oldest: parent.unwrap_or(u64::MAX),
        }
    }

    /// The witness: recorded nodes and codes, the `keys` read, and the contiguous headers
    /// from the oldest ancestor BLOCKHASH asked for up to the parent.
    pub(crate) fn into_witness(self, keys: &BTreeSet<(Address, Option<U256>)>) -> ExecutionWitness {
        let headers = self
            .parent
            .map(|parent| self.oldest..=parent)
            .into_iter()
            .flatten()
            .filter_map(|n| self.chain.header(n))
            .map(|h| Bytes::from(alloy_rlp::encode(h)))
            .collect();
        let keys = keys
            .iter()
            .map(|(address, slot)| match slot {
                None => Bytes::copy_from_slice(address.as_slice()),
                Some(slot) => Bytes::copy_from_slice(&slot.to_be_bytes::<32>()),
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // First-use order depends on hash-map iteration inside the EVM crates (e.g. withdrawal
        // balance increments); a sorted witness is the same on every run.
        let (mut state, mut codes) = (self.nodes, self.codes);
        state.sort_unstable();
        codes.sort_unstable();
        ExecutionWitness {
            state,
            codes,
            keys,
            headers,
        }
    }
}

impl NodeProvider for Recorder<'_> {
    fn trie_node(&mut self, hash: &B256) -> Result<Option<Bytes>, ProviderError> {
        let node = self.chain.nodes().get(hash).cloned();
        if let Some(node) = &node
            && self.seen_nodes.insert(*hash)
        {
            self.nodes.push(node.clone());
        }
        Ok(node)
    }
}

impl WitnessSource for Recorder<'_> {
    fn code(&mut self, code_hash: &B256) -> Result<Option<Bytes>, ProviderError> {
        let code = self.chain.code(code_hash).cloned();
        if let Some(code) = &code
            && self.seen_codes.insert(*code_hash)
        {
            self.codes.push(code.clone());
        }
        Ok(code)
    }

    fn ancestor_hash(&mut self, number: u64) -> Result<Option<B256>, ProviderError> {
        if self.parent.is_none_or(|parent| number > parent) {
            return Ok(None);
        }
        let hash = self.chain.hash(number);
        if hash.is_some() {
            self.oldest = self.oldest.min(number);
        }
        Ok(hash)
    }
}
