//! The seam: "the program input for blocks A..B", and its implementations over the node's
//! own state and over `debug_executionWitness`.

use crate::{
    blocks::{self, BodySource, quantity},
    error::{Result, SourceError},
    rpc::{Rpc, RpcStats},
};
use alloy_primitives::{B256, Bytes, keccak256};
use cairn_exec::{WitnessKind, commit::Node};
use cairn_primitives::{ChainConfig, ExecutionWitness, ProgramInput};
use cairn_qmtree::Backend;
use std::{
    collections::{BTreeMap, HashSet},
    sync::Arc,
    time::{Duration, Instant},
};

/// What one [`WitnessProvider::program_input`] cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Calls and bytes over JSON-RPC (zero for the node's own state).
    pub rpc: RpcStats,
    /// Wall time.
    pub wall: Duration,
    /// Deletion repairs of case 1: a collapse sibling leaf rebuilt from an exclusion proof
    /// at the block that deleted its neighbour.
    pub repairs_leaf: u64,
    /// Deletion repairs of case 2: a branch or extension that a collapse restructures,
    /// fetched through a proof of another key under it, or `debug_dbGet`.
    pub repairs_branch: u64,
    /// Of those repairs, how many nodes came from `debug_dbGet`.
    pub repairs_db_get: u64,
}

/// A program input and what it cost to get.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The input: blocks `first..=last`, one witness for them all, the chain.
    pub input: ProgramInput,
    /// What it cost.
    pub stats: FetchStats,
}

/// Gives the program input ([`ProgramInput`]) for consecutive blocks: the blocks, one witness
/// at the parent of the first covering them all, and the chain config.
///
/// Implementations: [`LocalNode`] (the node's own full state), [`ExecutionWitnessRpc`]
/// (another node's `debug_executionWitness`), [`ProofRpc`](crate::ProofRpc) (another
/// node's `eth_getProof`, with deletion repair).
pub trait WitnessProvider {
    /// What goes wrong.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The input for blocks `first..=last`.
    ///
    /// # Errors
    /// Whatever keeps the provider from producing an input it has checked.
    fn program_input(
        &self,
        first: u64,
        last: u64,
    ) -> impl std::future::Future<Output = Result<Fetched, Self::Error>>;
}

/// The node's own state: the witness generated from its full state (today's path).
#[derive(Debug)]
pub struct LocalNode<'a, B: Backend> {
    node: &'a Node<B>,
    kind: WitnessKind,
}

impl<'a, B: Backend> LocalNode<'a, B> {
    /// Over an opened node; `kind` as `cairn serve --witness`.
    pub fn new(node: &'a Node<B>, kind: WitnessKind) -> Self {
        Self { node, kind }
    }
}

impl<B: Backend> WitnessProvider for LocalNode<'_, B> {
    type Error = SourceError;

    async fn program_input(&self, first: u64, last: u64) -> Result<Fetched> {
        let start = Instant::now();
        if first == 0 || last < first {
            return Err(SourceError::BadRange { first, last });
        }
        let blocks = (first..=last)
            .map(|number| {
                self.node
                    .block(number)
                    .cloned()
                    .ok_or(SourceError::NoSuchBlock {
                        method: "local",
                        number,
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        let run = self.node.chain().witness_with(&blocks, self.kind)?;
        run.result.map_err(|source| SourceError::Invalid {
            first,
            last,
            source: Box::new(source),
        })?;
        Ok(Fetched {
            input: ProgramInput {
                chain: self.node.chain().config().clone(),
                blocks,
                witness: run.witness,
            },
            stats: FetchStats {
                wall: start.elapsed(),
                ..Default::default()
            },
        })
    }
}

/// Another node's `debug_executionWitness` (reth, geth or erigon form), one call per block,
/// the witnesses of a range merged into one at the parent of its first block; the blocks
/// from `eth_getBlockByNumber` (full) or `debug_getRawBlock`.
#[derive(Debug, Clone)]
pub struct ExecutionWitnessRpc {
    rpc: Arc<Rpc>,
    chain: ChainConfig,
    bodies: BodySource,
    by_hash: bool,
}

impl ExecutionWitnessRpc {
    /// Over a connection to a node of `chain`.
    pub fn new(rpc: Arc<Rpc>, chain: ChainConfig, bodies: BodySource) -> Self {
        Self {
            rpc,
            chain,
            bodies,
            by_hash: false,
        }
    }

    /// Asks for each witness by the block's hash (checked against its parent's child and
    /// its contents): reth's `debug_executionWitnessByBlockHash`, else
    /// `debug_executionWitness` with the hash (geth takes a number or a hash), so that a
    /// reorganisation between two calls cannot mix two chains.
    #[must_use]
    pub fn by_hash(mut self) -> Self {
        self.by_hash = true;
        self
    }

    async fn witness(&self, number: u64, hash: B256) -> Result<serde_json::Value> {
        if !self.by_hash {
            return self
                .rpc
                .call("debug_executionWitness", vec![quantity(number)])
                .await;
        }
        const BY_HASH: &str = "debug_executionWitnessByBlockHash";
        if !self.rpc.known_missing(BY_HASH) {
            match self.rpc.call(BY_HASH, vec![serde_json::json!(hash)]).await {
                Err(SourceError::MethodUnavailable { .. }) => {}
                other => return other,
            }
        }
        self.rpc
            .call("debug_executionWitness", vec![serde_json::json!(hash)])
            .await
    }
}

impl WitnessProvider for ExecutionWitnessRpc {
    type Error = SourceError;

    async fn program_input(&self, first: u64, last: u64) -> Result<Fetched> {
        let start = Instant::now();
        let before = self.rpc.stats();
        let (_, _, blocks) = blocks::blocks(&self.rpc, first, last, self.bodies).await?;
        let mut merged = MergedWitness::default();
        for block in &blocks {
            let number = block.header.number;
            let value = self.witness(number, block.header.hash_slow()).await?;
            let witness = cairn_witness::json::from_value(value)
                .map_err(|source| SourceError::BadWitness { number, source })?;
            merged.add(&witness, first, number)?;
        }
        Ok(Fetched {
            input: ProgramInput {
                chain: self.chain.clone(),
                blocks,
                witness: merged.finish(),
            },
            stats: FetchStats {
                rpc: self.rpc.stats() - before,
                wall: start.elapsed(),
                ..Default::default()
            },
        })
    }
}

/// The union of per-block witnesses of consecutive blocks, as one witness at the parent of
/// the first: every node a later block's witness holds is either on a path an earlier
/// block of the range rewrote (the validator recomputes those) or unchanged since the
/// parent, so the union proves what the batch reads. Headers are kept up to the parent of
/// the first block (later ones are blocks of the range).
#[derive(Debug, Default)]
pub(crate) struct MergedWitness {
    seen: HashSet<B256>,
    state: Vec<Bytes>,
    codes: Vec<Bytes>,
    keys: Vec<Bytes>,
    headers: BTreeMap<u64, Bytes>,
}

impl MergedWitness {
    pub(crate) fn add(&mut self, w: &ExecutionWitness, first: u64, number: u64) -> Result<()> {
        for (list, items, tag) in [
            (&mut self.state, &w.state, 0u8),
            (&mut self.codes, &w.codes, 1),
            (&mut self.keys, &w.keys, 2),
        ] {
            for item in items {
                // A node and a code with the same bytes are both kept: tag the hash.
                let mut key = keccak256(item);
                key.0[0] ^= tag;
                if self.seen.insert(key) {
                    list.push(item.clone());
                }
            }
        }
        let headers = cairn_witness::decode_header_chain(&w.headers)
            .map_err(|source| SourceError::BadWitness { number, source })?;
        for ((header, _), raw) in headers.iter().zip(&w.headers) {
            if header.number < first {
                self.headers.insert(header.number, raw.clone());
            }
        }
        Ok(())
    }

    pub(crate) fn add_nodes<'a>(&mut self, nodes: impl IntoIterator<Item = &'a Bytes>) -> usize {
        let mut added = 0;
        for node in nodes {
            if self.seen.insert(keccak256(node)) {
                self.state.push(node.clone());
                added += 1;
            }
        }
        added
    }

    pub(crate) fn add_code(&mut self, code: &Bytes) {
        let mut key = keccak256(code);
        key.0[0] ^= 1;
        if self.seen.insert(key) {
            self.codes.push(code.clone());
        }
    }

    pub(crate) fn add_header(&mut self, number: u64, raw: Bytes) {
        self.headers.insert(number, raw);
    }

    pub(crate) fn finish(&self) -> ExecutionWitness {
        ExecutionWitness {
            state: self.state.clone(),
            codes: self.codes.clone(),
            keys: self.keys.clone(),
            headers: self.headers.values().cloned().collect(),
        }
    }
}
