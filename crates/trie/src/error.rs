use alloc::sync::Arc;
use alloy_primitives::B256;
use alloy_trie::Nibbles;

/// Errors from trie operations.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TrieError {
    /// An operation needed a node that the provider does not have.
    #[error("missing trie node {hash} at path {path:?}")]
    MissingNode {
        /// Hash of the node that was needed.
        hash: B256,
        /// Nibble path from the root to the node.
        path: Nibbles,
    },
    /// A node's encoding is not a valid trie node.
    #[error("invalid trie node at path {path:?}: {reason}")]
    InvalidNode {
        /// Nibble path from the root to the node.
        path: Nibbles,
        /// Hash of the node, if it was referenced by hash.
        hash: Option<B256>,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An RLP-level decoding failure inside a node.
    #[error("malformed rlp in trie node at path {path:?}: {source}")]
    Rlp {
        /// Nibble path from the root to the node.
        path: Nibbles,
        /// The decoder's error.
        #[source]
        source: alloy_rlp::Error,
    },
    /// A key longer than 32 bytes (64 nibbles) was given.
    #[error("key of {len} nibbles exceeds the 64-nibble limit")]
    KeyTooLong {
        /// Length in nibbles.
        len: usize,
    },
    /// The node provider failed (e.g. an I/O error in a backing store).
    #[error("node provider failed for {hash}: {source}")]
    Provider {
        /// The node being fetched.
        hash: B256,
        /// The provider's error.
        #[source]
        source: Arc<dyn core::error::Error + Send + Sync>,
    },
}

/// Result alias for [`TrieError`].
pub type Result<T, E = TrieError> = core::result::Result<T, E>;
