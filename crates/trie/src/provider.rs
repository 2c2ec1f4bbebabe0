//! Where a sparse trie finds the nodes it has not decoded yet.

use alloc::boxed::Box;
use alloy_primitives::{B256, Bytes, map::B256Map};

/// Error type a [`NodeProvider`] may return for a failure other than absence.
pub type ProviderError = Box<dyn core::error::Error + Send + Sync>;

/// A source of RLP-encoded trie nodes addressed by their keccak hash.
///
/// Absence is `Ok(None)`: the trie turns it into [`TrieError::MissingNode`](crate::TrieError)
/// with the path where the node was needed. `Err` is for failures of the source itself.
pub trait NodeProvider {
    /// Returns the encoding of the node whose keccak hash is `hash`.
    ///
    /// # Errors
    /// Only when the source itself fails; a node it does not hold is `Ok(None)`.
    fn trie_node(&mut self, hash: &B256) -> Result<Option<Bytes>, ProviderError>;
}

impl<P: NodeProvider + ?Sized> NodeProvider for &mut P {
    fn trie_node(&mut self, hash: &B256) -> Result<Option<Bytes>, ProviderError> {
        (**self).trie_node(hash)
    }
}

impl NodeProvider for B256Map<Bytes> {
    fn trie_node(&mut self, hash: &B256) -> Result<Option<Bytes>, ProviderError> {
        Ok(self.get(hash).cloned())
    }
}

impl NodeProvider for &B256Map<Bytes> {
    fn trie_node(&mut self, hash: &B256) -> Result<Option<Bytes>, ProviderError> {
        Ok(self.get(hash).cloned())
    }
}

impl NodeProvider for alloc::collections::BTreeMap<B256, Bytes> {
    fn trie_node(&mut self, hash: &B256) -> Result<Option<Bytes>, ProviderError> {
        Ok(self.get(hash).cloned())
    }
}

/// A provider that holds nothing: every lookup is a miss.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNodes;

impl NodeProvider for NoNodes {
    fn trie_node(&mut self, _hash: &B256) -> Result<Option<Bytes>, ProviderError> {
        Ok(None)
    }
}
