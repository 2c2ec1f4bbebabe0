//! Running one case: both paths (full execution, and stateless validation from the witness
//! generated for each block), or, for zkEVM fixtures, stateless validation from the given
//! witness.

use crate::fixture::{BlockchainTest, FixtureAccount};
use alloy_primitives::{Address, B256, U256, keccak256};
use cairn_exec::{Chain, GenesisAccount, WitnessKind};
use cairn_primitives::{Block, ChainConfig, ExecutionWitness, ProgramInput};
use cairn_stateless::StatelessError;
use std::collections::BTreeMap;

/// The verdict on one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Both paths agree with the fixture.
    Passed {
        /// Trie nodes across the witnesses validated.
        witness_nodes: usize,
        /// Codes across the witnesses validated.
        witness_codes: usize,
        /// Bytes across the witnesses validated.
        witness_bytes: usize,
        /// Time spent generating those witnesses (zero for given witnesses).
        witness_time: std::time::Duration,
    },
    /// Something disagreed; the reason names the block and check.
    Failed(String),
    /// Not run, with the reason.
    Skipped(String),
}

/// A block as both paths saw it, for the witness tests.
#[derive(Debug, Clone)]
pub struct CheckedBlock {
    /// The block.
    pub block: Block,
    /// The witness generated for it.
    pub witness: ExecutionWitness,
    /// Whether the block is valid.
    pub valid: bool,
}

/// The chain configuration of a fixture.
///
/// # Errors
/// A message for an unknown network or blob-schedule fork.
pub fn chain_config(test: &BlockchainTest) -> Result<ChainConfig, String> {
    let chain_id = test
        .config
        .as_ref()
        .and_then(|c| c.chainid)
        .map_or(1, |id| id.to::<u64>());
    let mut config =
        ChainConfig::eest_network(&test.network, chain_id).map_err(|e| e.to_string())?;
    if let Some(fc) = &test.config {
        for (fork, p) in &fc.blob_schedule {
            config
                .set_blob_params(
                    fork,
                    p.target.to(),
                    p.max.to(),
                    p.base_fee_update_fraction.to(),
                )
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(config)
}

pub(crate) fn genesis(test: &BlockchainTest, config: ChainConfig) -> Result<Chain, String> {
    let genesis = cairn_primitives::decode_block(&test.genesis_rlp)
        .map_err(|e| format!("genesis rlp: {e}"))?;
    let hash = genesis.header.hash_slow();
    if hash != test.genesis_block_header.hash {
        return Err(format!(
            "genesis hash {hash} != {}",
            test.genesis_block_header.hash
        ));
    }
    let alloc = test.pre.iter().map(|(address, a)| {
        (
            *address,
            GenesisAccount {
                nonce: a.nonce.to(),
                balance: a.balance,
                code: a.code.clone(),
                storage: a.storage.clone(),
            },
        )
    });
    Chain::from_genesis(config, genesis.header, alloc).map_err(|e| format!("genesis: {e}"))
}

/// Runs a blockchain test through both paths, with complete witnesses. `keep` receives
/// every block with the witness generated for it (for the witness mutation and minimality
/// tests).
pub fn run_blockchain_test(
    test: &BlockchainTest,
    keep: impl FnMut(CheckedBlock, &ChainConfig),
) -> Outcome {
    run_blockchain_test_with(test, WitnessKind::Complete, keep)
}

/// [`run_blockchain_test`] generating witnesses of `kind`. Every witness is validated under
/// Cairn's rules and under the strict rules: a complete one must pass both (with the same
/// output); a minimal one only Cairn's.
pub fn run_blockchain_test_with(
    test: &BlockchainTest,
    kind: WitnessKind,
    mut keep: impl FnMut(CheckedBlock, &ChainConfig),
) -> Outcome {
    let config = match chain_config(test) {
        Ok(c) => c,
        Err(e) => return Outcome::Failed(e),
    };
    if let Some(reason) = unsupported(&config) {
        return Outcome::Skipped(reason);
    }
    let mut chain = match genesis(test, config.clone()) {
        Ok(c) => c,
        Err(e) => return Outcome::Failed(e),
    };
    let (mut nodes, mut codes, mut bytes) = (0, 0, 0);
    let mut witness_time = std::time::Duration::ZERO;
    for (i, fixture_block) in test.blocks.iter().enumerate() {
        let expect = fixture_block.expect_exception.as_deref();
        let block = match cairn_primitives::decode_block(&fixture_block.rlp) {
            Ok(b) => b,
            Err(e) if expect.is_some() => {
                // Rejected at decoding, which both paths share.
                tracing::trace!(target: "cairn::ef", block = i, %e, "undecodable block rejected");
                continue;
            }
            Err(e) => return Outcome::Failed(format!("fixture block {i}: {e}")),
        };
        let number = block.header.number;
        let started = std::time::Instant::now();
        let run = match chain.witness_with(std::slice::from_ref(&block), kind) {
            Ok(run) => run,
            Err(e) => return Outcome::Failed(format!("block {number}: witness generation: {e}")),
        };
        let generated_in = started.elapsed();
        // The full path imports with QMTree commitments, so every case also checks that
        // the per-step roots end at the block's root and that the leaves bracket the block.
        let parent_root = chain.head().state_root;
        let full = chain
            .execute_committed(&block)
            .and_then(|(done, commitment)| {
                check_commitment(parent_root, &done, &commitment)?;
                Ok(done)
            });
        let input = ProgramInput {
            chain: config.clone(),
            blocks: vec![block.clone()],
            witness: run.witness.clone(),
        };
        let stateless = cairn_stateless::validate(&input);
        let strict = cairn_stateless::validate_strict(&input);
        match expect {
            Some(exception) => {
                if let Ok(done) = &full {
                    return Outcome::Failed(format!(
                        "block {number}: expected {exception}, full execution accepted {}",
                        done.hash
                    ));
                }
                match &stateless {
                    Ok(_) => {
                        return Outcome::Failed(format!(
                            "block {number}: expected {exception}, stateless validation accepted"
                        ));
                    }
                    Err(e) if e.is_witness_fault() => {
                        return Outcome::Failed(format!(
                            "block {number}: expected {exception}, stateless rejected for the witness: {e}"
                        ));
                    }
                    Err(_) => {}
                }
                match &strict {
                    Ok(_) => {
                        return Outcome::Failed(format!(
                            "block {number}: expected {exception}, strict validation accepted"
                        ));
                    }
                    Err(e) if kind == WitnessKind::Complete && e.is_witness_fault() => {
                        return Outcome::Failed(format!(
                            "block {number}: expected {exception}, strict validation rejected the complete witness: {e}"
                        ));
                    }
                    Err(_) => {}
                }
            }
            None => {
                // Every path that went wrong is named, so a failure is never blamed on one
                // path while another shares it.
                let mut wrong = Vec::new();
                if let Err(e) = &full {
                    wrong.push(format!("full execution: {e}"));
                }
                if let Err(e) = &run.result {
                    wrong.push(format!("witness generation run: {e}"));
                }
                match &stateless {
                    Err(e) => wrong.push(format!("stateless: {e}")),
                    Ok(out)
                        if out.final_state_root != block.header.state_root
                            || out.last_block_hash != block.header.hash_slow() =>
                    {
                        wrong.push(format!(
                            "stateless output {out:?} disagrees with the header"
                        ));
                    }
                    Ok(_) => {}
                }
                match (&strict, &stateless) {
                    (Ok(strict), Ok(out)) if strict != out => {
                        wrong.push(format!(
                            "strict validation gives {strict:?}, validation {out:?}"
                        ));
                    }
                    (Err(e), _) if kind == WitnessKind::Complete => {
                        wrong.push(format!(
                            "strict validation rejects the complete witness: {e}"
                        ));
                    }
                    _ => {}
                }
                if !wrong.is_empty() {
                    return Outcome::Failed(format!("block {number}: {}", wrong.join("; ")));
                }
                nodes += run.witness.state.len();
                codes += run.witness.codes.len();
                bytes += run.witness.byte_size();
                witness_time += generated_in;
            }
        }
        keep(
            CheckedBlock {
                block,
                witness: run.witness,
                valid: expect.is_none(),
            },
            &config,
        );
    }
    if chain.head_hash() != test.lastblockhash {
        return Outcome::Failed(format!(
            "head {} != lastblockhash {}",
            chain.head_hash(),
            test.lastblockhash
        ));
    }
    if let Some(expected) = &test.post_state
        && let Err(e) = compare_state(&chain, expected)
    {
        return Outcome::Failed(format!("post state: {e}"));
    }
    if let Some(root) = test.post_state_hash
        && chain.head().state_root != root
    {
        return Outcome::Failed(format!(
            "post state root {} != {root}",
            chain.head().state_root
        ));
    }
    Outcome::Passed {
        witness_nodes: nodes,
        witness_codes: codes,
        witness_bytes: bytes,
        witness_time,
    }
}

/// The leaves of an imported block open at its parent's root and close with its hash and
/// final root.
fn check_commitment(
    parent_root: B256,
    done: &cairn_exec::ExecutedBlock,
    commitment: &cairn_exec::commit::BlockCommitment,
) -> Result<(), cairn_exec::ExecError> {
    use cairn_exec::commit::LeafKind;
    let mismatch = |reason| cairn_exec::ExecError::CommitmentMismatch {
        number: commitment.number,
        reason,
    };
    let (first, last) = match (commitment.leaves.first(), commitment.leaves.last()) {
        (Some(first), Some(last)) if commitment.leaves.len() >= 2 => (first, last),
        _ => return Err(mismatch("a block needs a step leaf and a closing leaf")),
    };
    if first.components.pre_state_hash != parent_root {
        return Err(mismatch(
            "the first leaf does not start at the parent's root",
        ));
    }
    if last.kind != LeafKind::BlockEnd
        || last.components.pre_state_hash != done.state_root
        || last.components.transition_hash != done.hash
    {
        return Err(mismatch(
            "the closing leaf does not name the block's root and hash",
        ));
    }
    Ok(())
}

fn compare_state(
    chain: &Chain,
    expected: &BTreeMap<Address, FixtureAccount>,
) -> Result<(), String> {
    let live = chain.accounts().count();
    if live != expected.len() {
        let extra: Vec<_> = chain
            .accounts()
            .map(|(a, _)| *a)
            .filter(|a| !expected.contains_key(a))
            .collect();
        return Err(format!(
            "{live} accounts, expected {}; unexpected {extra:?}",
            expected.len()
        ));
    }
    for (address, want) in expected {
        let got = chain
            .account(address)
            .ok_or_else(|| format!("missing account {address}"))?;
        if got.fields.nonce != want.nonce.to::<u64>() || got.fields.balance != want.balance {
            return Err(format!(
                "{address}: nonce/balance {}/{} != {}/{}",
                got.fields.nonce, got.fields.balance, want.nonce, want.balance
            ));
        }
        let code_hash = if want.code.is_empty() {
            alloy_trie_empty()
        } else {
            keccak256(&want.code)
        };
        if got.fields.code_hash != code_hash {
            return Err(format!(
                "{address}: code hash {} != {code_hash}",
                got.fields.code_hash
            ));
        }
        let want_storage: BTreeMap<U256, U256> = want
            .storage
            .iter()
            .filter(|(_, v)| !v.is_zero())
            .map(|(k, v)| (*k, *v))
            .collect();
        let got_storage: BTreeMap<U256, U256> = got.storage.iter().map(|(k, v)| (*k, *v)).collect();
        if got_storage != want_storage {
            return Err(format!(
                "{address}: storage {got_storage:?} != {want_storage:?}"
            ));
        }
    }
    Ok(())
}

const fn alloy_trie_empty() -> B256 {
    alloy_consensus::constants::KECCAK_EMPTY
}

/// Why this build does not run a chain, if it does not: a network that starts before the
/// merge (pre-merge networks are out of scope: Cairn validates proof-of-stake blocks, so the
/// stateless program refuses them, see [`ConsensusError::PreMerge`]), or a fork the EVM
/// crates in use implement differently from the fixtures.
///
/// [`ConsensusError::PreMerge`]: cairn_stateless::ConsensusError::PreMerge
pub fn unsupported(config: &ChainConfig) -> Option<String> {
    use alloy_hardforks::EthereumHardforks;
    use cairn_primitives::EthereumHardfork;
    if !config.is_paris_active_at_block(1) {
        return Some(format!(
            "{} is before the merge: pre-merge networks are out of scope (Cairn validates proof-of-stake blocks, Paris onwards)",
            config.fork_name_at(0, 0)
        ));
    }
    config
        .forks
        .iter()
        .find(|f| f.fork == EthereumHardfork::Amsterdam)
        .map(|_| "Amsterdam is not supported by the EVM crates in use (revm 43 / alloy-evm 0.39 implement a later Amsterdam than these fixtures: EIP-8037 at 1530 gas per state byte, EIP-2780, EIP-8038, EIP-8282 system calls; EIP-7928 access lists are not validated)".to_string())
}

/// Runs a zkEVM fixture: each block is validated from the `executionWitness` it carries,
/// and must succeed exactly when `statelessOutputBytes` says so.
pub fn run_zkevm_test(test: &BlockchainTest) -> Outcome {
    let config = match chain_config(test) {
        Ok(c) => c,
        Err(e) => return Outcome::Failed(e),
    };
    if let Some(reason) = unsupported(&config) {
        return Outcome::Skipped(reason);
    }
    let (mut nodes, mut codes, mut bytes) = (0, 0, 0);
    for (i, fb) in test.blocks.iter().enumerate() {
        let expected_ok = fb
            .stateless_output_bytes
            .as_ref()
            .and_then(|b| b.get(32))
            .is_some_and(|f| *f == 1);
        let verdict = zkevm_block(&config, fb);
        match (verdict, expected_ok) {
            (Ok(w), true) => {
                nodes += w.state.len();
                codes += w.codes.len();
                bytes += w.byte_size();
            }
            (Err(_), false) => {}
            (Ok(_), false) => {
                return Outcome::Failed(format!(
                    "block {i}: accepted, the fixture says it must fail"
                ));
            }
            (Err(e), true) => return Outcome::Failed(format!("block {i}: {e}")),
        }
    }
    Outcome::Passed {
        witness_nodes: nodes,
        witness_codes: codes,
        witness_bytes: bytes,
        witness_time: std::time::Duration::ZERO,
    }
}

fn zkevm_block(
    config: &ChainConfig,
    fb: &crate::fixture::FixtureBlock,
) -> Result<ExecutionWitness, String> {
    let block = cairn_primitives::decode_block(&fb.rlp).map_err(|e| e.to_string())?;
    let witness = fb.execution_witness.clone().ok_or("no executionWitness")?;
    let witness = cairn_witness::json::from_value(witness).map_err(|e| e.to_string())?;
    let input = ProgramInput {
        chain: config.clone(),
        blocks: vec![block],
        witness,
    };
    cairn_stateless::validate(&input).map_err(|e: StatelessError| e.to_string())?;
    Ok(input.witness)
}

/// The chain of a blockchain test as a [`ChainFile`](cairn_exec::ChainFile): genesis,
/// allocation and the valid blocks (blocks the test expects to be rejected are left out).
///
/// # Errors
/// A message for an unknown network or an undecodable genesis.
pub fn chain_file(test: &BlockchainTest) -> Result<cairn_exec::ChainFile, String> {
    let chain = chain_config(test)?;
    let genesis = cairn_primitives::decode_block(&test.genesis_rlp)
        .map_err(|e| format!("genesis rlp: {e}"))?;
    let alloc = test
        .pre
        .iter()
        .map(|(address, a)| {
            (
                *address,
                cairn_exec::AllocEntry {
                    nonce: a.nonce,
                    balance: a.balance,
                    code: a.code.clone(),
                    storage: a.storage.clone(),
                },
            )
        })
        .collect();
    let blocks = test
        .blocks
        .iter()
        .filter(|b| b.expect_exception.is_none())
        .map(|b| b.rlp.clone())
        .collect();
    Ok(cairn_exec::ChainFile {
        chain,
        genesis: alloy_rlp::encode(&genesis.header).into(),
        alloc,
        blocks,
    })
}
