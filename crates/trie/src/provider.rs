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

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;

    /// The seam's contract, run for every implementation: stored nodes come back by hash,
    /// anything else is `Ok(None)`.
    fn case<P: NodeProvider>(make: fn(&[Bytes]) -> P) {
        let nodes = [
            Bytes::from_static(b"\xc2\x80\x80"),
            Bytes::from_static(b"\xc3\x01\x02\x03"),
        ];
        let mut provider = make(&nodes);
        for node in &nodes {
            assert_eq!(
                provider.trie_node(&keccak256(node)).unwrap().as_ref(),
                Some(node)
            );
        }
        assert_eq!(provider.trie_node(&B256::repeat_byte(7)).unwrap(), None);
    }

    fn map(nodes: &[Bytes]) -> B256Map<Bytes> {
        nodes.iter().map(|n| (keccak256(n), n.clone())).collect()
    }

    #[test]
    fn hash_map() {
        case(map);
    }

    #[test]
    fn btree_map() {
        case(|nodes| {
            nodes
                .iter()
                .map(|n| (keccak256(n), n.clone()))
                .collect::<alloc::collections::BTreeMap<_, _>>()
        });
    }

    #[test]
    fn borrowed_map() {
        // `&B256Map` serves lookups without owning the nodes.
        let owned = map(&[
            Bytes::from_static(b"\xc2\x80\x80"),
            Bytes::from_static(b"\xc3\x01\x02\x03"),
        ]);
        let node = Bytes::from_static(b"\xc2\x80\x80");
        let mut provider = &owned;
        assert_eq!(provider.trie_node(&keccak256(&node)).unwrap(), Some(node));
        assert_eq!(provider.trie_node(&B256::repeat_byte(7)).unwrap(), None);
    }

    #[test]
    fn no_nodes_holds_nothing() {
        assert_eq!(NoNodes.trie_node(&B256::ZERO).unwrap(), None);
    }
}
