//! Measuring stateless validation against bare execution on the same blocks.
//!
//! (a) **bare**: recover senders and execute the block with alloy-evm on revm, reading a
//!     plain in-memory database that holds the state (a snapshot of the flat state at the
//!     parent); no tries, no hashing.
//! (b) **stateless**: `cairn_stateless::validate` from the witness: index (hash) every node,
//!     code and header, recover senders, execute reading through the witness tries, apply
//!     the changes, recompute the state root, check everything against the header.
//!
//! Both include sender recovery (a block cannot execute without senders) and the system
//! calls and withdrawals of the block.
//!
//! [`witness_bench`] sets each block's minimal witness against its complete one: sizes and
//! generation time.

use crate::commit::trace::{StepSink, TransitionInspector};
use crate::{
    chainfile::ChainFile,
    error::{ExecError, Result},
    state::{FlatDb, FlatState},
};
use alloy_consensus::transaction::Recovered;
use alloy_evm::{
    EvmFactory,
    block::{BlockExecutionError, BlockExecutionResult, BlockExecutor},
    eth::EthBlockExecutor,
};
use alloy_primitives::B256;
use cairn_primitives::{Block, ChainConfig, ProgramInput, ProgramOutput};
use cairn_stateless::{
    CairnReceiptBuilder, ChainSpec, StatelessError, block_ctx, evm_env, execute_block,
    recover_senders,
};
use revm::{database::State, inspector::NoOpInspector};

/// One block prepared for both measurements.
#[derive(Debug, Clone)]
pub struct BenchBlock {
    /// The block.
    pub block: Block,
    /// Gas it uses.
    pub gas_used: u64,
    /// Its stateless input (block + generated witness).
    pub input: ProgramInput,
    /// The flat state at its parent.
    prestate: FlatState,
    /// Canonical hashes up to its parent.
    hashes: Vec<B256>,
    /// Number of the first of `hashes`.
    first: u64,
    /// Recovered senders, for measuring execution alone.
    senders: Vec<alloy_primitives::Address>,
}

/// Replays `file` once, keeping for every block its witness and pre-state.
///
/// # Errors
/// Any block failing to import or to produce a witness.
pub fn prepare(file: &ChainFile) -> Result<(ChainConfig, Vec<BenchBlock>)> {
    let mut chain = file.genesis_chain()?;
    let mut out = Vec::with_capacity(file.blocks.len());
    for index in 0..file.blocks.len() {
        let block = file.block(index)?;
        let run = chain.witness(std::slice::from_ref(&block))?;
        run.result.map_err(ExecError::Block)?;
        let prestate = chain.flat_state().clone();
        let (hashes, first) = (chain.canonical_hashes().to_vec(), chain.first_number());
        let executed = chain.execute(&block)?;
        let senders = recover_senders(&block)
            .map_err(ExecError::Block)?
            .iter()
            .map(|tx| tx.signer())
            .collect();
        let input = ProgramInput {
            chain: chain.config().clone(),
            blocks: vec![block.clone()],
            witness: run.witness,
        };
        out.push(BenchBlock {
            block,
            gas_used: executed.gas_used,
            input,
            prestate,
            hashes,
            first,
            senders,
        });
    }
    Ok((file.chain.clone(), out))
}
/// (a) Bare execution, recovering senders first; returns the gas used.
///
/// # Errors
/// An execution failure (none for a prepared block).
pub fn run_bare(chain: &ChainConfig, b: &BenchBlock) -> Result<u64, StatelessError> {
    let txs = recover_senders(&b.block)?;
    on_prestate(b, &txs, |state, txs| {
        execute_block(chain, &b.block, txs, state, NoOpInspector)
    })
}

/// (a′) Bare execution with the senders already known (EVM work only). Like every
/// `execute_block` run it is in revm's inspector mode (with the no-op inspector), so it is
/// also the baseline of the tracing costs in `benches/trace.rs`.
///
/// # Errors
/// An execution failure (none for a prepared block).
pub fn run_bare_known_senders(chain: &ChainConfig, b: &BenchBlock) -> Result<u64, StatelessError> {
    on_prestate(b, &known_senders(b), |state, txs| {
        execute_block(chain, &b.block, txs, state, NoOpInspector)
    })
}

/// (b) Stateless validation from the witness.
///
/// # Errors
/// A validation failure (none for a prepared block).
pub fn run_stateless(b: &BenchBlock) -> Result<ProgramOutput, StatelessError> {
    cairn_stateless::validate(&b.input)
}

// Tracing costs (`benches/trace.rs`): the same bare execution with and without inspectors.

/// (a″) Bare execution, senders known, without revm's inspector mode (so without the
/// EIP-7610 inspector either, which no dev-chain block needs).
///
/// # Errors
/// An execution failure (none for a prepared block).
pub fn run_bare_uninspected(chain: &ChainConfig, b: &BenchBlock) -> Result<u64, StatelessError> {
    on_prestate(b, &known_senders(b), |state, txs| {
        let evm = alloy_evm::eth::EthEvmFactory::default()
            .create_evm(state, evm_env(chain, &b.block.header));
        EthBlockExecutor::new(
            evm,
            block_ctx(&b.block),
            ChainSpec(chain),
            CairnReceiptBuilder,
        )
        .execute_block(txs.iter())
    })
}

/// (c) Bare execution, senders known, with `inspector` on every EVM execution: system
/// calls and transactions (`cairn_stateless::execute_block` inspects both).
///
/// # Errors
/// An execution failure (none for a prepared block).
pub fn run_bare_traced<S: StepSink>(
    chain: &ChainConfig,
    b: &BenchBlock,
    inspector: &mut TransitionInspector<S>,
) -> Result<u64, StatelessError> {
    on_prestate(b, &known_senders(b), |state, txs| {
        execute_block(chain, &b.block, txs, state, inspector)
    })
}

type KnownSender<'a> = Recovered<&'a cairn_primitives::TransactionSigned>;

fn known_senders(b: &BenchBlock) -> Vec<KnownSender<'_>> {
    b.block
        .body
        .transactions
        .iter()
        .zip(&b.senders)
        .map(|(tx, signer)| Recovered::new_unchecked(tx, *signer))
        .collect()
}

/// Runs `execute` on a fresh cache over `b`'s pre-state and returns the gas used.
fn on_prestate<R>(
    b: &BenchBlock,
    txs: &[KnownSender<'_>],
    execute: impl FnOnce(
        &mut State<FlatDb<'_>>,
        &[KnownSender<'_>],
    ) -> Result<BlockExecutionResult<R>, BlockExecutionError>,
) -> Result<u64, StatelessError> {
    let db = FlatDb {
        state: &b.prestate,
        hashes: &b.hashes,
        first: b.first,
    };
    let mut state = State::builder().with_database(db).build();
    execute(&mut state, txs)
        .map(|outcome| outcome.gas_used)
        .map_err(|e| StatelessError::Execution {
            block: b.block.header.number,
            source: Box::new(e),
        })
}

/// One witness of a block: its size and the median time to generate it.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct WitnessFigures {
    /// Trie nodes.
    pub nodes: usize,
    /// Codes.
    pub codes: usize,
    /// Headers.
    pub headers: usize,
    /// Bytes (nodes, codes, headers).
    pub bytes: usize,
    /// Median generation time, in ms.
    pub generate_ms: f64,
}

impl core::ops::AddAssign for WitnessFigures {
    fn add_assign(&mut self, other: Self) {
        self.nodes += other.nodes;
        self.codes += other.codes;
        self.headers += other.headers;
        self.bytes += other.bytes;
        self.generate_ms += other.generate_ms;
    }
}

/// A block's minimal and complete witnesses side by side.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BlockWitnessBench {
    /// Block number.
    pub number: u64,
    /// Gas used.
    pub gas: u64,
    /// The minimal witness.
    pub minimal: WitnessFigures,
    /// The complete witness.
    pub complete: WitnessFigures,
    /// Whether strict validation accepts the minimal witness.
    pub minimal_strict_valid: bool,
}

/// Minimal against complete witnesses over a chain.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WitnessBenchReport {
    /// Per block.
    pub per_block: Vec<BlockWitnessBench>,
    /// Sums over blocks (generation times: sums of the per-block medians).
    pub minimal: WitnessFigures,
    /// Sums over blocks.
    pub complete: WitnessFigures,
    /// Blocks whose minimal witness strict validation rejects.
    pub minimal_strict_rejected: usize,
}

/// Generates every block's minimal and complete witness `iterations` times (alternating, so
/// both see the same machine load), keeping the median generation time and the sizes;
/// checks that the complete witness passes strict validation and records whether the
/// minimal one does.
///
/// # Errors
/// A block failing to import or to produce a witness; a complete witness that strict
/// validation rejects.
pub fn witness_bench(file: &ChainFile, iterations: usize) -> Result<WitnessBenchReport> {
    use crate::witness::WitnessKind;
    use std::time::Instant;
    let iterations = iterations.max(1);
    let mut chain = file.genesis_chain()?;
    let mut per_block = Vec::with_capacity(file.blocks.len());
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for index in 0..file.blocks.len() {
        let block = file.block(index)?;
        let blocks = std::slice::from_ref(&block);
        let mut times = [Vec::new(), Vec::new()];
        let mut witnesses = [None, None];
        for _ in 0..iterations {
            for (i, kind) in [WitnessKind::Minimal, WitnessKind::Complete]
                .into_iter()
                .enumerate()
            {
                let started = Instant::now();
                let run = chain.witness_with(blocks, kind)?;
                times[i].push(started.elapsed().as_secs_f64() * 1e3);
                run.result.map_err(ExecError::Block)?;
                witnesses[i] = Some(run.witness);
            }
        }
        let [Some(minimal), Some(complete)] = witnesses else {
            unreachable!("at least one iteration ran");
        };
        let input = |witness| ProgramInput {
            chain: chain.config().clone(),
            blocks: vec![block.clone()],
            witness,
        };
        let number = block.header.number;
        let (minimal, complete) = (input(minimal), input(complete));
        cairn_stateless::validate_strict(&complete)
            .map_err(|source| ExecError::StrictRejected { number, source })?;
        let [minimal_ms, complete_ms] = times.map(median);
        let figures = |w: &cairn_primitives::ExecutionWitness, generate_ms| WitnessFigures {
            nodes: w.state.len(),
            codes: w.codes.len(),
            headers: w.headers.len(),
            bytes: w.byte_size(),
            generate_ms,
        };
        per_block.push(BlockWitnessBench {
            number,
            gas: block.header.gas_used,
            minimal: figures(&minimal.witness, minimal_ms),
            complete: figures(&complete.witness, complete_ms),
            minimal_strict_valid: cairn_stateless::validate_strict(&minimal).is_ok(),
        });
        chain.execute(&block)?;
    }
    let (mut minimal, mut complete) = (WitnessFigures::default(), WitnessFigures::default());
    for b in &per_block {
        minimal += b.minimal;
        complete += b.complete;
    }
    Ok(WitnessBenchReport {
        minimal_strict_rejected: per_block.iter().filter(|b| !b.minimal_strict_valid).count(),
        per_block,
        minimal,
        complete,
    })
}
