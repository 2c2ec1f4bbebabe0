//! Replaying a chain end to end: for every block, generate its witness from the full state,
//! import it, and validate it statelessly from the witness alone; the three must agree.
//! Every witness is also validated under the strict rules: a complete witness must pass,
//! and for a minimal one the verdict is reported.

use crate::{
    chain::Chain,
    chainfile::ChainFile,
    error::{ExecError, Result},
    witness::WitnessKind,
};
use alloy_primitives::B256;
use cairn_primitives::ProgramInput;
use std::time::{Duration, Instant};

/// One block of a replay.
#[derive(Debug, Clone)]
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
    /// Why strict validation ([`cairn_stateless::validate_strict`]) rejects the witness, if
    /// it does (only ever for a minimal witness: a complete one that fails is an error).
    pub strict_rejection: Option<std::sync::Arc<cairn_stateless::StatelessError>>,
}

/// Replays every block of `file` from genesis, calling `on_block` after each with its
/// figures and its stateless input (the block and its generated witness of `kind`).
///
/// # Errors
/// The first block that fails any of the three paths, or disagreement between them; a
/// complete witness that strict validation rejects ([`ExecError::StrictRejected`]).
pub fn replay(
    file: &ChainFile,
    kind: WitnessKind,
    mut on_block: impl FnMut(&ReplayRow, &ProgramInput),
) -> Result<Chain> {
    let mut chain = file.genesis_chain()?;
    for index in 0..file.blocks.len() {
        let block = file.block(index)?;
        let started = Instant::now();
        let run = chain.witness_with(std::slice::from_ref(&block), kind)?;
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
        let number = input.blocks[0].header.number;
        let strict_rejection = match cairn_stateless::validate_strict(&input) {
            Ok(strict) if strict == output => None,
            Ok(strict) => {
                return Err(ExecError::PathsDisagree {
                    number,
                    full: executed.state_root,
                    stateless: strict.final_state_root,
                });
            }
            Err(source) if kind == WitnessKind::Complete => {
                return Err(ExecError::StrictRejected { number, source });
            }
            Err(source) => Some(std::sync::Arc::new(source)),
        };
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
                strict_rejection,
            },
            &input,
        );
    }
    Ok(chain)
}
