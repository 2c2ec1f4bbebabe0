//! Measuring what commitments cost: importing each block plainly ([`Chain::execute`]) and
//! with commitments ([`Chain::execute_committed`]), from the same parent state, and splitting
//! the difference between `preStateHash` (per-step state roots), `stateChangeHash` (per-step
//! diffs) and `transitionHash`. The first two are timed inside the committed import; the
//! trace is measured on its own, as an import with only the trace inspector
//! ([`Chain::execute_traced`]) against the plain one, and what is left (the commit hook that
//! attributes state commits to steps, the leaves) is reported as such.

use super::trace::TransitionInspector;
use crate::{chain::Chain, chainfile::ChainFile, error::Result};
use serde::Serialize;
use std::time::{Duration, Instant};

/// Medians for one block.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BlockCommitBench {
    /// Block number.
    pub number: u64,
    /// Gas used.
    pub gas: u64,
    /// Transactions.
    pub transactions: usize,
    /// Plain import, ms.
    pub plain_ms: f64,
    /// Import with commitments, ms.
    pub committed_ms: f64,
    /// Of which `preStateHash` (per-step trie updates and roots), ms.
    pub pre_state_ms: f64,
    /// Of which `stateChangeHash` (per-step diffs, encoding, hashing), ms.
    pub state_change_ms: f64,
    /// Import with the trace inspector only (`transitionHash`), ms.
    pub traced_ms: f64,
}

/// The figures of a commitments bench, summed over blocks (sums of per-block medians).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommitBenchReport {
    /// Blocks measured.
    pub blocks: usize,
    /// Their gas.
    pub gas: u64,
    /// Their transactions.
    pub transactions: usize,
    /// Plain import, ms.
    pub plain_ms: f64,
    /// Import with commitments, ms.
    pub committed_ms: f64,
    /// `preStateHash` share, ms.
    pub pre_state_ms: f64,
    /// `stateChangeHash` share, ms.
    pub state_change_ms: f64,
    /// `transitionHash` share: traced import minus plain import, ms.
    pub transition_ms: f64,
    /// The rest of the overhead (commit hook, step attribution, leaves), ms.
    pub other_ms: f64,
    /// Plain throughput.
    pub plain_mgas_per_s: f64,
    /// Throughput with commitments.
    pub committed_mgas_per_s: f64,
    /// Plain transactions per second.
    pub plain_tx_per_s: f64,
    /// Transactions per second with commitments.
    pub committed_tx_per_s: f64,
    /// `committed_ms / plain_ms`.
    pub ratio: f64,
    /// Per block.
    pub per_block: Vec<BlockCommitBench>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Imports every block of `file` `iterations` times each way, from a copy of its parent
/// state, and reports medians.
///
/// # Errors
/// Any block failing to import.
pub fn commitment_bench(file: &ChainFile, iterations: usize) -> Result<CommitBenchReport> {
    let mut chain: Chain = file.genesis_chain()?;
    let mut per_block = Vec::with_capacity(file.blocks.len());
    for index in 0..file.blocks.len() {
        let block = file.block(index)?;
        let (mut plain, mut committed, mut pre, mut change, mut traced) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut gas = 0;
        let mut imported = None;
        for _ in 0..iterations.max(1) {
            let mut copy = chain.clone();
            let t = Instant::now();
            gas = copy.execute(&block)?.gas_used;
            plain.push(ms(t.elapsed()));
            imported = Some(copy);
            let mut copy = chain.clone();
            let t = Instant::now();
            let (_, commitment) = copy.execute_committed(&block)?;
            committed.push(ms(t.elapsed()));
            pre.push(ms(commitment.timings.pre_state));
            change.push(ms(commitment.timings.state_change));
            let mut copy = chain.clone();
            let t = Instant::now();
            copy.execute_traced(&block, &mut TransitionInspector::new())?;
            traced.push(ms(t.elapsed()));
        }
        // The next block starts from this one, already imported above.
        if let Some(next) = imported {
            chain = next;
        }
        per_block.push(BlockCommitBench {
            number: block.header.number,
            gas,
            transactions: block.body.transactions.len(),
            plain_ms: median(plain),
            committed_ms: median(committed),
            pre_state_ms: median(pre),
            state_change_ms: median(change),
            traced_ms: median(traced),
        });
    }
    let sum = |f: fn(&BlockCommitBench) -> f64| per_block.iter().map(f).sum::<f64>();
    let (plain_ms, committed_ms) = (sum(|b| b.plain_ms), sum(|b| b.committed_ms));
    let (pre_state_ms, state_change_ms) = (sum(|b| b.pre_state_ms), sum(|b| b.state_change_ms));
    let transition_ms = (sum(|b| b.traced_ms) - plain_ms).max(0.0);
    let gas: u64 = per_block.iter().map(|b| b.gas).sum();
    let transactions: usize = per_block.iter().map(|b| b.transactions).sum();
    Ok(CommitBenchReport {
        blocks: per_block.len(),
        gas,
        transactions,
        plain_ms,
        committed_ms,
        pre_state_ms,
        state_change_ms,
        transition_ms,
        other_ms: committed_ms - plain_ms - pre_state_ms - state_change_ms - transition_ms,
        plain_mgas_per_s: gas as f64 / plain_ms / 1e3,
        committed_mgas_per_s: gas as f64 / committed_ms / 1e3,
        plain_tx_per_s: transactions as f64 / plain_ms * 1e3,
        committed_tx_per_s: transactions as f64 / committed_ms * 1e3,
        ratio: committed_ms / plain_ms,
        per_block,
    })
}
