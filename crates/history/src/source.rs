//! The seam proofs come from: a node's own data directory, or any JSON-RPC node.

use alloy_primitives::{Address, B256, Bytes};
use alloy_rpc_types_eth::EIP1186AccountProofResponse;

/// A block's header as a source gives it: its RLP and the hash the source says it has
/// (the builder checks that they agree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceHeader {
    /// The header's RLP.
    pub rlp: Bytes,
    /// The block hash the source claims.
    pub hash: B256,
}

/// Where the data of a historical proof comes from. Answers are untrusted: the builder
/// verifies every one against the block's header before using it.
///
/// `Ok(None)` means the source does not hold the block; `Err` is a failure of the source.
#[auto_impl::auto_impl(&, Box, std::sync::Arc)]
pub trait HistorySource {
    /// The source's error.
    type Error: core::error::Error + Send + Sync + 'static;

    /// The newest block the source holds.
    ///
    /// # Errors
    /// When the source fails.
    fn head(&self) -> Result<u64, Self::Error>;

    /// The canonical header of block `number`.
    ///
    /// # Errors
    /// When the source fails.
    fn header(&self, number: u64) -> Result<Option<SourceHeader>, Self::Error>;

    /// EIP-1186 proofs of `address` and its `slots` against the state root of block `number`.
    ///
    /// # Errors
    /// When the source fails (for example, it no longer holds that state).
    fn account_proof(
        &self,
        number: u64,
        address: Address,
        slots: &[B256],
    ) -> Result<Option<EIP1186AccountProofResponse>, Self::Error>;

    /// The EIP-2718 encodings of block `number`'s transactions, in order.
    ///
    /// # Errors
    /// When the source fails.
    fn transactions(&self, number: u64) -> Result<Option<Vec<Bytes>>, Self::Error>;

    /// The EIP-2718 encodings of block `number`'s receipts (with their blooms), in order.
    ///
    /// # Errors
    /// When the source fails.
    fn receipts(&self, number: u64) -> Result<Option<Vec<Bytes>>, Self::Error>;
}
