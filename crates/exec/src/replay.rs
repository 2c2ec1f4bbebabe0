//! Replaying a chain end to end: for every block, generate its witness from the full state,
//! import it, and validate it statelessly from the witness alone; the three must agree.

use crate::{
    chain::Chain,
    chainfile::ChainFile,
    error::{ExecError, Result},
};
use alloy_primitives::B256;
use cairn_primitives::ProgramInput;
use std::time::{Duration, Instant};

/// One block of a replay.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayRow {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// Transactions.
    pub transactions: usize,
    /// Gas used.
    pub gas_used: u64,
    /// Trie nodes in the witness.
    pub witness_nodes: usize,
    /// Codes in the witness.
    pub witness_codes: usize,
    /// Headers in the witness.
    pub witness_headers: usize,
    /// Bytes in the witness.
    pub witness_bytes: usize,
    /// Time to generate the witness.
    pub witness_time: Duration,
    /// Time to import the block with the full state.
    pub execute_time: Duration,
    /// Time to validate the block from its witness alone.
    pub validate_time: Duration,
}

/// Replays every block of `file` from genesis, calling `on_block` after each with its
/// figures and its stateless input (the block and its generated witness).
///
/// # Errors
/// The first block that fails any of the three paths, or disagreement between them.
pub fn replay(
    file: &ChainFile,
    mut on_block: impl FnMut(&ReplayRow, &ProgramInput),
) -> Result<Chain> {
    let mut chain = file.genesis_chain()?;
    for index in 0..file.blocks.len() {
        let block = file.block(index)?;
        let started = Instant::now();
        let run = chain.witness(std::slice::from_ref(&block))?;
        let witness_time = started.elapsed();
        run.result.map_err(ExecError::Block)?;

        let started = Instant::now();
        let executed = chain.execute(&block)?;
        let execute_time = started.elapsed();

        let input = ProgramInput {
            chain: chain.config().clone(),
            blocks: vec![block],
            witness: run.witness,
        };
        let started = Instant::now();
        let output = cairn_stateless::validate(&input).map_err(ExecError::Block)?;
        let validate_time = started.elapsed();
        if output.final_state_root != executed.state_root || output.last_block_hash != executed.hash
        {
            return Err(ExecError::PathsDisagree {
                number: input.blocks[0].header.number,
                full: executed.state_root,
                stateless: output.final_state_root,
            });
        }
        let w = &input.witness;
        on_block(
            &ReplayRow {
                number: input.blocks[0].header.number,
                hash: executed.hash,
                transactions: input.blocks[0].body.transactions.len(),
                gas_used: executed.gas_used,
                witness_nodes: w.state.len(),
                witness_codes: w.codes.len(),
                witness_headers: w.headers.len(),
                witness_bytes: w.byte_size(),
                witness_time,
                execute_time,
                validate_time,
            },
            &input,
        );
    }
    Ok(chain)
}
