//! The stateless program: consecutive blocks, checked against a witness alone.

use crate::{
    consensus,
    error::{Result, StatelessError},
    execute::{check_outcome, execute_block_observed, recover_senders},
};
use alloc::vec::Vec;
use alloy_consensus::Header;
use alloy_primitives::B256;
use cairn_primitives::{Block, ChainConfig, ProgramInput, ProgramOutput, block_hashes_commitment};
use cairn_witness::{StateDiff, WitnessDb, WitnessMaps, WitnessRules, WitnessSource};
use revm::{
    database::{State, states::bundle_state::BundleRetention},
    inspector::NoOpInspector,
};

/// What one block of a validated batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockSummary {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// Gas used.
    pub gas_used: u64,
    /// Transactions executed.
    pub transactions: usize,
    /// State root after the block.
    pub state_root: B256,
}

/// The result of a successful validation, with the database it read through (which holds
/// the source, e.g. a recording one).
#[derive(Debug)]
pub struct Validated<S> {
    /// What the program proves.
    pub output: ProgramOutput,
    /// Per-block figures.
    pub blocks: Vec<BlockSummary>,
    /// The witness database after the batch.
    pub db: WitnessDb<S>,
}

/// Validates a batch from its [`ProgramInput`]: the witness is indexed (every node, code and
/// header hashed; headers checked to chain), then [`validate_with_source`] runs.
///
/// # Errors
/// The first failure, naming the block, the check, and what was got and expected.
pub fn validate(input: &ProgramInput) -> Result<ProgramOutput> {
    validate_with_rules(input, WitnessRules::CAIRN)
}

/// [`validate`] under [`WitnessRules::STRICT`]: the code of every account that existed
/// before the batch must be in the witness's codes (code deployed in the batch with the
/// same hash does not stand in for it), and each block's updates go into the tries in
/// sorted key order, so a collapse sibling that only writes-first order avoids must be in
/// the witness. A witness that passes is one other stateless clients (reth's order, code
/// looked up only in the witness) can use too.
///
/// # Errors
/// See [`validate`]; a witness that only Cairn could use fails with
/// [`StatelessError::WitnessIncomplete`].
pub fn validate_strict(input: &ProgramInput) -> Result<ProgramOutput> {
    validate_with_rules(input, WitnessRules::STRICT)
}

/// [`validate`] holding the witness to `rules`.
///
/// # Errors
/// See [`validate`].
pub fn validate_with_rules(input: &ProgramInput, rules: WitnessRules) -> Result<ProgramOutput> {
    let maps = index_witness(input)?;
    validate_indexed_with(input, maps, rules).map(|v| v.output)
}

/// The first step of [`validate`]: hash every node, code and header of the witness and check
/// the header chain.
///
/// # Errors
/// [`StatelessError::InvalidWitness`].
pub fn index_witness(input: &ProgramInput) -> Result<WitnessMaps> {
    WitnessMaps::new(&input.witness).map_err(StatelessError::InvalidWitness)
}

/// The rest of [`validate`], on an indexed witness.
///
/// # Errors
/// See [`validate`].
pub fn validate_indexed(input: &ProgramInput, maps: WitnessMaps) -> Result<Validated<WitnessMaps>> {
    validate_indexed_with(input, maps, WitnessRules::CAIRN)
}

/// [`validate_indexed`] holding the witness to `rules`.
///
/// # Errors
/// See [`validate`].
pub fn validate_indexed_with(
    input: &ProgramInput,
    maps: WitnessMaps,
    rules: WitnessRules,
) -> Result<Validated<WitnessMaps>> {
    let parent = maps.parent().clone();
    let parent_hash = maps.parent_hash();
    if let Some(first) = input.blocks.first()
        && first.header.parent_hash != parent_hash
    {
        return Err(StatelessError::ParentNotInWitness {
            block: first.header.number,
            got: first.header.parent_hash,
            expected: parent_hash,
        });
    }
    validate_inner(
        &input.chain,
        &input.blocks,
        &parent,
        parent_hash,
        WitnessDb::new(maps, parent.state_root).with_rules(rules),
    )
}

/// Validates consecutive `blocks` on top of `parent`, reading all state through `source`:
/// for each block, header and body rules, sender recovery, execution (system calls,
/// transactions, withdrawals, requests), outcome checks (gas, receipts, bloom, requests),
/// then the block's state changes are applied to the witness tries and the new root is
/// compared with the header's.
///
/// # Errors
/// See [`validate`].
pub fn validate_with_source<S: WitnessSource>(
    chain: &ChainConfig,
    blocks: &[Block],
    parent: &Header,
    parent_hash: B256,
    source: S,
) -> Result<Validated<S>> {
    validate_inner(
        chain,
        blocks,
        parent,
        parent_hash,
        WitnessDb::new(source, parent.state_root),
    )
}

/// Like [`validate_with_source`], on a database the caller set up (e.g. recording keys, or
/// with [`WitnessRules`]).
///
/// # Errors
/// See [`validate`].
pub fn validate_inner<S: WitnessSource>(
    chain: &ChainConfig,
    blocks: &[Block],
    parent: &Header,
    parent_hash: B256,
    db: WitnessDb<S>,
) -> Result<Validated<S>> {
    if blocks.is_empty() {
        return Err(StatelessError::NoBlocks);
    }
    let initial_state_root = parent.state_root;
    let prestate_code_from_source = db.rules().prestate_code_from_source;
    let mut state = State::builder()
        .with_database(db)
        .with_bundle_update()
        .build();
    let mut summaries = Vec::with_capacity(blocks.len());
    let (mut parent, mut parent_hash) = (parent.clone(), parent_hash);
    let first_parent_hash = parent_hash;
    let mut total_gas_used = 0u64;

    for block in blocks {
        let header = &block.header;
        let number = header.number;
        let _span = tracing::debug_span!(target: "cairn::stateless", "block", number).entered();
        let consensus = |source| StatelessError::Consensus {
            block: number,
            source,
        };
        consensus::validate_header(chain, header, &parent, parent_hash).map_err(consensus)?;
        consensus::validate_body(chain, block).map_err(consensus)?;
        let txs = recover_senders(block)?;

        let outcome =
            execute_block_observed(chain, block, &txs, &mut state, NoOpInspector, |_, state| {
                // revm's cache serves code by hash to every account, so code deployed in
                // the batch would stand in for a pre-state account's code of the same hash.
                // Dropping what the source did not serve sends such lookups to the source.
                // Deployed accounts keep their code in their own cached info.
                if prestate_code_from_source {
                    let State {
                        cache, database, ..
                    } = state;
                    cache.contracts.retain(|hash, _| database.served_code(hash));
                }
            });
        // A read the witness could not prove fails the block even when the EVM went on
        // (EIP-7610's storage probe answers "no" and keeps the failure).
        let outcome = match outcome {
            Ok(outcome) => match state.database.take_failure() {
                Some(source) => {
                    return Err(StatelessError::WitnessIncomplete {
                        block: number,
                        source,
                    });
                }
                None => outcome,
            },
            Err(e) => {
                return Err(match state.database.take_failure() {
                    Some(source) => StatelessError::WitnessIncomplete {
                        block: number,
                        source,
                    },
                    None => StatelessError::Execution {
                        block: number,
                        source: alloc::boxed::Box::new(e),
                    },
                });
            }
        };
        check_outcome(chain, header, &outcome)?;

        state.merge_transitions(BundleRetention::PlainState);
        let diff = StateDiff::from_bundle(&state.take_bundle());
        let hash = header.hash_slow();
        let root = state
            .database
            .commit_block(number, hash, &diff)
            .map_err(|source| StatelessError::WitnessIncomplete {
                block: number,
                source,
            })?;
        if root != header.state_root {
            return Err(StatelessError::StateRootMismatch {
                block: number,
                got: root,
                expected: header.state_root,
            });
        }
        tracing::debug!(target: "cairn::stateless", number, gas_used = outcome.gas_used, "validated");
        total_gas_used = total_gas_used.saturating_add(outcome.gas_used);
        summaries.push(BlockSummary {
            number,
            hash,
            gas_used: outcome.gas_used,
            transactions: txs.len(),
            state_root: root,
        });
        parent = header.clone();
        parent_hash = hash;
    }

    let hashes: Vec<B256> = summaries.iter().map(|b| b.hash).collect();
    Ok(Validated {
        output: ProgramOutput {
            chain_id: chain.chain_id,
            first_block_number: summaries.first().map_or(0, |b| b.number),
            initial_state_root,
            final_state_root: parent.state_root,
            parent_hash: first_parent_hash,
            last_block_hash: parent_hash,
            last_block_number: parent.number,
            block_hashes_commitment: block_hashes_commitment(&hashes),
            total_gas_used,
        },
        blocks: summaries,
        db: state.database,
    })
}
