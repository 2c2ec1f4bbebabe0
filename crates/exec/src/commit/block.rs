//! Executing a block with commitments: one QMTree leaf per execution step, then a closing
//! leaf.
//!
//! # Leaf layout
//!
//! A block's leaves follow the order in which its execution steps commit state, as Erigon
//! brackets blocks with system transactions:
//!
//! | leaves | [`LeafKind`] | step |
//! | --- | --- | --- |
//! | 0–2 | `PreBlock { index }` | pre-block system calls: EIP-2935 (Prague), then EIP-4788 (Cancun) |
//! | one per tx | `Transaction { index }` | the block's transactions, in order |
//! | 0–2 | `PostBlock { index }` | post-block system calls: EIP-7002, then EIP-7251 (Prague) |
//! | 1 | `Withdrawals` | withdrawal (and pre-merge reward) balance increments |
//! | 1 | `BlockEnd` | closing leaf |
//!
//! Each step leaf holds: `preStateHash` = the state root before the step (computed
//! incrementally: only the paths the previous step touched are rehashed);
//! `stateChangeHash` = [`StateChange::hash`] of exactly what the step changed;
//! `transitionHash` = the [`trace`](super::trace) commitment of the step's EVM execution
//! (the empty-trace value for the withdrawals step, which runs no EVM code).
//!
//! The closing leaf holds `preStateHash` = the block's final state root,
//! `stateChangeHash` = [`EMPTY_CHANGE_HASH`], `transitionHash` = the block hash. So the
//! QMTree root of a block commits to its hash and final state root, provable by one
//! inclusion proof of the closing leaf. The genesis block has only a closing leaf (txNum 0).

use super::{
    change::{EMPTY_CHANGE_HASH, Overlay, StateChange},
    trace::{TraceCommitment, TransitionInspector},
};
use crate::{
    chain::{Chain, ExecutedBlock, execution_error},
    error::{ExecError, Result},
};
use alloy_primitives::B256;
use cairn_primitives::Block;
use cairn_qmtree::LeafComponents;
use cairn_stateless::{Phase, execute_block_phases};
use cairn_witness::StateTrie;
use revm::state::EvmState;
use serde::{Deserialize, Serialize};
use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

/// What a QMTree leaf stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum LeafKind {
    /// A pre-block system call (EIP-2935, EIP-4788), in execution order.
    PreBlock {
        /// Position among the block's pre-block calls.
        #[serde(with = "cairn_qmtree::quantity")]
        index: u32,
    },
    /// A transaction of the block.
    Transaction {
        /// Index in the block.
        #[serde(with = "cairn_qmtree::quantity")]
        index: u32,
    },
    /// A post-block system call (EIP-7002, EIP-7251), in execution order.
    PostBlock {
        /// Position among the block's post-block calls.
        #[serde(with = "cairn_qmtree::quantity")]
        index: u32,
    },
    /// Withdrawal balance increments.
    Withdrawals,
    /// The closing leaf: final state root and block hash.
    BlockEnd,
}

/// A step leaf before it joins the tree (`previous_leaf_hash` is filled on append).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepLeaf {
    /// What the leaf stands for.
    pub kind: LeafKind,
    /// Its components (with a zero `previous_leaf_hash`).
    pub components: LeafComponents,
}

/// Where the time of a committed import went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitTimings {
    /// Executing the block with the trace inspector and commit hook (includes
    /// `transitionHash`).
    pub execute: Duration,
    /// Building and hashing the per-step state changes (`stateChangeHash`).
    pub state_change: Duration,
    /// Applying each step to the state trie and re-rooting (`preStateHash`).
    pub pre_state: Duration,
}

/// The leaves of one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockCommitment {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// Its leaves in order, the closing leaf last.
    pub leaves: Vec<StepLeaf>,
    /// Where the time went.
    pub timings: CommitTimings,
}

impl BlockCommitment {
    /// The genesis commitment: a closing leaf only.
    pub fn genesis(hash: B256, state_root: B256) -> Self {
        Self {
            number: 0,
            hash,
            leaves: vec![closing_leaf(state_root, hash)],
            timings: CommitTimings::default(),
        }
    }
}

fn closing_leaf(state_root: B256, hash: B256) -> StepLeaf {
    StepLeaf {
        kind: LeafKind::BlockEnd,
        components: LeafComponents {
            pre_state_hash: state_root,
            state_change_hash: *EMPTY_CHANGE_HASH,
            transition_hash: hash,
            previous_leaf_hash: B256::ZERO,
        },
    }
}

/// Commits recorded by the state hook: the EVM state of each commit and how many top-level
/// EVM executions had completed when it was made.
type CommitLog = Arc<Mutex<Vec<(EvmState, u64)>>>;

impl Chain {
    /// Imports a block like [`Chain::execute`] and computes its QMTree leaves.
    ///
    /// # Errors
    /// Those of [`Chain::execute`]; [`ExecError::CommitmentMismatch`] when the per-step
    /// roots do not end at the block's state root (an internal inconsistency).
    pub fn execute_committed(&mut self, block: &Block) -> Result<(ExecutedBlock, BlockCommitment)> {
        let number = block.header.number;
        let parent_root = self.head().state_root;

        let started = Instant::now();
        let log: CommitLog = Arc::default();
        let mut inspector = TransitionInspector::new();
        let executions = inspector.counter();
        let hook_log = Arc::clone(&log);
        let hook = move |state: EvmState| {
            let done = executions.get();
            hook_log
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((state, done));
        };
        let mut marks = Vec::new();
        let txs = self.prepare(block, true)?;
        let mut state = self.flat_db_state();
        state.set_state_hook(Some(Box::new(hook)));
        let outcome = execute_block_phases(
            self.config(),
            block,
            &txs,
            &mut state,
            &mut inspector,
            |phase| {
                marks.push((
                    phase,
                    log.lock().unwrap_or_else(PoisonError::into_inner).len(),
                ));
            },
        )
        .map_err(|e| execution_error(block, e))?;
        let run = self.finish_run(block, true, state, outcome)?;
        let traces = inspector.take_completed();
        let commits = std::mem::take(&mut *log.lock().unwrap_or_else(PoisonError::into_inner));
        let execute = started.elapsed();

        let kinds = leaf_kinds(&marks, commits.len()).ok_or(ExecError::CommitmentMismatch {
            number,
            reason: "state commits do not follow the block's execution phases",
        })?;
        let mut timings = CommitTimings {
            execute,
            ..Default::default()
        };
        let mut overlay = Overlay::new(self.flat_state());
        let mut trie = StateTrie::new(parent_root);
        let mut nodes = self.nodes();
        let mut root = parent_root;
        let mut seen = 0u64;
        let mut leaves = Vec::with_capacity(commits.len() + 1);
        for ((state, done), kind) in commits.iter().zip(kinds) {
            // Each EVM execution is followed by exactly one commit (its own); a commit with no
            // new execution (the withdrawals) has the empty trace.
            let transition = if *done == seen {
                TraceCommitment::EMPTY.root
            } else if *done == seen + 1 {
                let trace = usize::try_from(seen).ok().and_then(|i| traces.get(i));
                let trace = trace.ok_or(ExecError::CommitmentMismatch {
                    number,
                    reason: "a state commit has no matching EVM trace",
                })?;
                seen = *done;
                trace.root
            } else {
                return Err(ExecError::CommitmentMismatch {
                    number,
                    reason: "several EVM executions before one state commit",
                });
            };
            let t = Instant::now();
            let change: StateChange = overlay.step(state);
            let state_change_hash = change.hash();
            timings.state_change += t.elapsed();
            leaves.push(StepLeaf {
                kind,
                components: LeafComponents {
                    pre_state_hash: root,
                    state_change_hash,
                    transition_hash: transition,
                    previous_leaf_hash: B256::ZERO,
                },
            });
            let t = Instant::now();
            root = trie.apply(&change.to_diff(), &mut nodes)?;
            timings.pre_state += t.elapsed();
        }
        if usize::try_from(seen).ok() != Some(traces.len()) {
            return Err(ExecError::CommitmentMismatch {
                number,
                reason: "an EVM execution without a state commit",
            });
        }
        if root != run.state_root {
            return Err(ExecError::CommitmentMismatch {
                number,
                reason: "per-step state roots do not end at the block's root",
            });
        }
        let executed = self.import(block, run);
        let hash = executed.hash;
        leaves.push(closing_leaf(executed.state_root, hash));
        Ok((
            executed,
            BlockCommitment {
                number,
                hash,
                leaves,
                timings,
            },
        ))
    }
}

/// Labels commits from the phase marks (commit counts at the end of each phase).
fn leaf_kinds(marks: &[(Phase, usize)], total: usize) -> Option<Vec<LeafKind>> {
    let mut kinds = Vec::with_capacity(total);
    let mut at = 0;
    for (phase, end) in marks {
        if *end < at {
            return None;
        }
        let count = end - at;
        match phase {
            Phase::PreBlock => {
                kinds.extend((0..count).map(|i| LeafKind::PreBlock { index: i as u32 }))
            }
            Phase::Transaction(index) => {
                if count != 1 {
                    return None;
                }
                kinds.push(LeafKind::Transaction {
                    index: *index as u32,
                });
            }
            Phase::PostBlock => {
                // The system calls, then the balance increments, which always commit last.
                let calls = count.checked_sub(1)?;
                kinds.extend((0..calls).map(|i| LeafKind::PostBlock { index: i as u32 }));
                kinds.push(LeafKind::Withdrawals);
            }
        }
        at = *end;
    }
    (at == total).then_some(kinds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_phases() {
        let marks = [
            (Phase::PreBlock, 2),
            (Phase::Transaction(0), 3),
            (Phase::Transaction(1), 4),
            (Phase::PostBlock, 7),
        ];
        let kinds = leaf_kinds(&marks, 7).unwrap();
        assert_eq!(
            kinds,
            vec![
                LeafKind::PreBlock { index: 0 },
                LeafKind::PreBlock { index: 1 },
                LeafKind::Transaction { index: 0 },
                LeafKind::Transaction { index: 1 },
                LeafKind::PostBlock { index: 0 },
                LeafKind::PostBlock { index: 1 },
                LeafKind::Withdrawals,
            ]
        );
        assert!(
            leaf_kinds(&[(Phase::Transaction(0), 2)], 2).is_none(),
            "a tx commits exactly once"
        );
        assert!(leaf_kinds(&marks, 8).is_none());
    }
}
