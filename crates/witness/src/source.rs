//! Where the witness-backed database finds nodes, codes and ancestor hashes.

use crate::error::{Result, WitnessError};
use alloc::{collections::BTreeMap, vec::Vec};
use alloy_consensus::Header;
use alloy_primitives::{B256, Bytes, keccak256, map::B256Map};
use cairn_primitives::ExecutionWitness;
use cairn_trie::{NodeProvider, ProviderError};

/// Everything stateless execution may read besides the blocks themselves: trie nodes (through
/// [`NodeProvider`]), bytecodes by hash, and hashes of ancestor blocks.
///
/// [`WitnessMaps`] answers from an [`ExecutionWitness`]; a full node answers from its state
/// store and records what was asked, which is how witnesses are generated.
pub trait WitnessSource: NodeProvider + core::fmt::Debug {
    /// The bytecode whose keccak hash is `code_hash`, or `None` if the source lacks it.
    ///
    /// # Errors
    /// Only when the source itself fails.
    fn code(&mut self, code_hash: &B256) -> Result<Option<Bytes>, ProviderError>;

    /// The hash of ancestor block `number`, or `None` if the source's header chain does not
    /// reach it.
    ///
    /// # Errors
    /// Only when the source itself fails.
    fn ancestor_hash(&mut self, number: u64) -> Result<Option<B256>, ProviderError>;
}

impl<S: WitnessSource + ?Sized> WitnessSource for &mut S {
    fn code(&mut self, code_hash: &B256) -> Result<Option<Bytes>, ProviderError> {
        (**self).code(code_hash)
    }
    fn ancestor_hash(&mut self, number: u64) -> Result<Option<B256>, ProviderError> {
        (**self).ancestor_hash(number)
    }
}

/// A witness's nodes and codes by keccak hash and its ancestor hashes by number: the
/// lookups of a [`WitnessSource`], for a header chain the caller has already checked
/// (possibly empty, as for a call on the genesis state).
#[derive(Debug, Clone)]
pub struct WitnessIndex {
    nodes: B256Map<Bytes>,
    codes: B256Map<Bytes>,
    /// Ancestor hashes by number.
    ancestors: BTreeMap<u64, B256>,
}

impl WitnessIndex {
    /// Hashes every node and code of `witness`; ancestors come from `headers` (as
    /// [`decode_header_chain`] returns them).
    pub fn new(witness: &ExecutionWitness, headers: &[(Header, B256)]) -> Self {
        let hashed = |items: &[Bytes]| items.iter().map(|x| (keccak256(x), x.clone())).collect();
        Self {
            nodes: hashed(&witness.state),
            codes: hashed(&witness.codes),
            ancestors: headers.iter().map(|(h, hash)| (h.number, *hash)).collect(),
        }
    }

    /// Number of distinct trie nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
}

/// An [`ExecutionWitness`] indexed for lookups ([`WitnessIndex`]) whose ancestor headers
/// are checked to form a chain, the newest of them being the parent of the first block.
#[derive(Debug, Clone)]
pub struct WitnessMaps {
    index: WitnessIndex,
    parent: Header,
    parent_hash: B256,
}

/// BLOCKHASH reaches back 256 blocks, so a witness never needs more headers.
pub const MAX_WITNESS_HEADERS: usize = 256;

impl WitnessMaps {
    /// Hashes every node and code, decodes the headers and checks that they form a chain,
    /// oldest first.
    ///
    /// # Errors
    /// [`WitnessError::NoParentHeader`], [`WitnessError::InvalidHeader`],
    /// [`WitnessError::BrokenHeaderChain`], [`WitnessError::TooManyHeaders`].
    pub fn new(witness: &ExecutionWitness) -> Result<Self> {
        let headers = decode_header_chain(&witness.headers)?;
        let (parent, parent_hash) = headers
            .last()
            .cloned()
            .ok_or(WitnessError::NoParentHeader)?;
        Ok(Self {
            index: WitnessIndex::new(witness, &headers),
            parent,
            parent_hash,
        })
    }

    /// The parent header of the first block (the newest witness header).
    pub fn parent(&self) -> &Header {
        &self.parent
    }

    /// Hash of [`WitnessMaps::parent`].
    pub fn parent_hash(&self) -> B256 {
        self.parent_hash
    }

    /// Number of distinct trie nodes.
    pub fn node_count(&self) -> usize {
        self.index.node_count()
    }
}

/// Decodes RLP headers and checks each names the previous one as its parent.
///
/// # Errors
/// See [`WitnessMaps::new`].
pub fn decode_header_chain(headers: &[Bytes]) -> Result<Vec<(Header, B256)>> {
    if headers.len() > MAX_WITNESS_HEADERS {
        return Err(WitnessError::TooManyHeaders {
            count: headers.len(),
        });
    }
    let mut out: Vec<(Header, B256)> = Vec::with_capacity(headers.len());
    for (index, raw) in headers.iter().enumerate() {
        let header: Header = alloy_rlp::decode_exact(raw)
            .map_err(|source| WitnessError::InvalidHeader { index, source })?;
        if let Some((prev, prev_hash)) = out.last()
            && (header.parent_hash != *prev_hash
                || prev.number.checked_add(1) != Some(header.number))
        {
            return Err(WitnessError::BrokenHeaderChain {
                index,
                number: header.number,
                expected_parent: *prev_hash,
            });
        }
        out.push((header, keccak256(raw)));
    }
    Ok(out)
}

/// Decodes RLP headers without checking that they chain (for re-encoding them).
///
/// # Errors
/// [`WitnessError::InvalidHeader`] for a header that is not valid RLP.
#[cfg(feature = "json")]
pub(crate) fn decode_header_chain_unchecked(headers: &[Bytes]) -> Result<Vec<(Header, B256)>> {
    headers
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            let header = <Header as alloy_rlp::Decodable>::decode(&mut raw.as_ref())
                .map_err(|source| WitnessError::InvalidHeader { index, source })?;
            Ok((header, keccak256(raw)))
        })
        .collect()
}

impl NodeProvider for WitnessIndex {
    fn trie_node(&mut self, hash: &B256) -> Result<Option<Bytes>, ProviderError> {
        Ok(self.nodes.get(hash).cloned())
    }
}

impl WitnessSource for WitnessIndex {
    fn code(&mut self, code_hash: &B256) -> Result<Option<Bytes>, ProviderError> {
        Ok(self.codes.get(code_hash).cloned())
    }

    fn ancestor_hash(&mut self, number: u64) -> Result<Option<B256>, ProviderError> {
        Ok(self.ancestors.get(&number).copied())
    }
}

impl NodeProvider for WitnessMaps {
    fn trie_node(&mut self, hash: &B256) -> Result<Option<Bytes>, ProviderError> {
        self.index.trie_node(hash)
    }
}

impl WitnessSource for WitnessMaps {
    fn code(&mut self, code_hash: &B256) -> Result<Option<Bytes>, ProviderError> {
        self.index.code(code_hash)
    }

    fn ancestor_hash(&mut self, number: u64) -> Result<Option<B256>, ProviderError> {
        self.index.ancestor_hash(number)
    }
}
