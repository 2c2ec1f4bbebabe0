//! `qm_call`: an `eth_call` against the state at the end of a block, with a proof that a
//! client can check offline given nothing but a trusted QMTree root for that block.
//!
//! A [`CallProof`] carries the call and its result, the header of the block, the call's
//! execution witness (trie nodes, codes and ancestor headers it read), the call's
//! `transitionHash`, and the block's closing leaf with its inclusion proof. [`verify_call_proof`]
//! checks, with the client's own chain configuration, in order:
//! 1. the closing leaf is included in the trusted root, and is the tree's last leaf at that
//!    block (so it is the block's closing leaf);
//! 2. the header hashes to the closing leaf's `transitionHash` (the block hash), names the
//!    claimed block number, and its state root is the leaf's `preStateHash`;
//! 3. re-executing the call statelessly from the witness, on that state root with that
//!    header's block environment, gives the same result and the same `transitionHash`.
//!
//! Call semantics follow `eth_call`: no nonce check; a missing or zero gas price executes with a
//! zero base fee (so the caller needs no ether for gas); the gas limit defaults to the block's
//! (capped at the EIP-7825 transaction cap under Osaka).
//!
//! A server bounds what one call may cost with a [`CallBudget`]: a gas cap (a call whose gas
//! limit is above it is refused before it runs) and a wall-clock deadline (checked every few
//! hundred EVM steps; past it, every frame halts and the call fails with
//! [`CallError::Deadline`]). Offline verification uses no budget.

use super::trace::{TraceCommitment, TransitionInspector};
use alloy_consensus::Header;
use alloy_evm::{Evm, EvmFactory, eth::EthEvmFactory};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use cairn_primitives::{ChainConfig, ExecutionWitness};
use cairn_qmtree::{InclusionProof, LeafComponents, verify_leaf};
use cairn_stateless::{Eip7610, evm_env};
use cairn_witness::{WitnessDb, WitnessError, WitnessIndex, WitnessSource, decode_header_chain};
use revm::{
    Inspector,
    context::TxEnv,
    context_interface::result::{EVMError, ExecutionResult},
    database::State,
    interpreter::{InstructionResult, Interpreter, interpreter_types::InterpreterTypes},
};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// An `eth_call` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRequest {
    /// Caller (default: the zero address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Address>,
    /// Callee; absent for a contract creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Address>,
    /// Gas limit (default: the block's, capped per EIP-7825).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "alloy_serde_opt_u64"
    )]
    pub gas: Option<u64>,
    /// Gas price (default: zero, with a zero base fee).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas_price: Option<U256>,
    /// Value sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<U256>,
    /// Call data (`input`, or `data` as older clients send it).
    #[serde(default, alias = "data")]
    pub input: Bytes,
}

/// Hex-quantity serde for `Option<u64>`.
mod alloy_serde_opt_u64 {
    use alloy_primitives::U64;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        v.map(U64::from).serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Ok(Option::<U64>::deserialize(d)?.map(|v| v.to::<u64>()))
    }
}

/// What a call returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallResult {
    /// Whether it succeeded (false for a revert or a halt).
    pub success: bool,
    /// Return data (revert data for a revert; empty for a halt).
    pub output: Bytes,
    /// Gas used.
    #[serde(with = "cairn_qmtree::quantity")]
    pub gas_used: u64,
}

/// A call with everything needed to check it offline against a trusted QMTree root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallProof {
    /// `keccak256` of the call's block number, request and result: the id `qm_callProof` takes.
    pub id: B256,
    /// The block whose post-state the call ran on.
    #[serde(with = "cairn_qmtree::quantity")]
    pub block_number: u64,
    /// The chain configuration (fork rules for the block).
    pub chain: ChainConfig,
    /// The call.
    pub request: CallRequest,
    /// Its result.
    pub result: CallResult,
    /// The call's trace commitment.
    pub transition_hash: B256,
    /// The block's header, RLP.
    pub header: Bytes,
    /// Trie nodes, codes and ancestor headers the call read.
    pub witness: ExecutionWitness,
    /// The block's closing leaf.
    pub closing_leaf: LeafComponents,
    /// Its inclusion proof against the block's QMTree root.
    pub leaf_proof: InclusionProof,
}

impl CallProof {
    /// The id of a call: binds block, request and result.
    pub fn compute_id(block_number: u64, request: &CallRequest, result: &CallResult) -> B256 {
        let encoded = serde_json::to_vec(&(block_number, request, result)).unwrap_or_default();
        keccak256(encoded)
    }
}

/// Why a call proof does not check out.
#[derive(Debug, thiserror::Error)]
pub enum CallProofError {
    /// The closing leaf is not included in the trusted root.
    #[error("closing leaf not included in the trusted root: {0}")]
    Inclusion(#[from] cairn_qmtree::Error),
    /// The proven leaf is not the closing leaf (the tree's last leaf at the block).
    #[error(
        "the proven leaf (txNum {tx_num}) is not the block's closing leaf: its proof shows a later leaf"
    )]
    NotClosingLeaf {
        /// The leaf's txNum.
        tx_num: u64,
    },
    /// The leaf hash in the inclusion proof is not the hash of the given components.
    #[error("inclusion proof is for leaf {proven}, the closing leaf hashes to {computed}")]
    LeafHash {
        /// In the proof.
        proven: B256,
        /// Of the components.
        computed: B256,
    },
    /// The header does not match the closing leaf or the claimed block.
    #[error("header mismatch: {0}")]
    Header(&'static str),
    /// The header is not valid RLP.
    #[error("header: invalid rlp: {0}")]
    HeaderRlp(#[source] alloy_rlp::Error),
    /// The witness cannot support the call.
    #[error("witness: {0}")]
    Witness(#[from] WitnessError),
    /// Re-execution failed.
    #[error("re-execution failed: {0}")]
    Execution(#[source] CallError),
    /// Re-execution gave another result.
    #[error("re-execution gives {got:?}, the proof claims {claimed:?}")]
    Result {
        /// From re-execution.
        got: Box<CallResult>,
        /// In the proof.
        claimed: Box<CallResult>,
    },
    /// Re-execution gave another trace commitment.
    #[error("re-execution gives transitionHash {got}, the proof claims {claimed}")]
    Transition {
        /// From re-execution.
        got: B256,
        /// In the proof.
        claimed: B256,
    },
}

/// Why a call could not run (a call that reverts or halts did run: see [`CallResult`]).
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The state (or the witness) cannot prove a read the call made.
    #[error("unprovable state read: {0}")]
    Witness(#[source] WitnessError),
    /// The EVM refused to run the call (e.g. a value above the caller's balance, a gas limit
    /// below the intrinsic gas).
    #[error("rejected by the EVM: {0}")]
    Rejected(
        #[source] Box<EVMError<revm::database_interface::bal::EvmDatabaseError<WitnessError>>>,
    ),
    /// The call's gas limit is above the budget's gas cap.
    #[error("gas limit {gas} is above the gas cap of {cap}")]
    GasCap {
        /// The call's gas limit.
        gas: u64,
        /// The cap.
        cap: u64,
    },
    /// The call ran past the budget's deadline and was stopped.
    #[error("execution stopped: it ran past its time budget")]
    Deadline,
}

/// What one call may cost: the server's bounds on `qm_call` and on re-executing a call proof.
/// The default bounds nothing (offline verification).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallBudget {
    /// Highest gas limit a call may run with; a call above it is refused before it runs.
    pub gas_cap: Option<u64>,
    /// When the EVM must stop.
    pub deadline: Option<Instant>,
}

/// How many EVM steps run between two looks at the clock.
const DEADLINE_CHECK_STEPS: u32 = 256;

/// Halts every frame once the deadline has passed (checked every [`DEADLINE_CHECK_STEPS`]).
#[derive(Debug)]
struct DeadlineInspector {
    deadline: Option<Instant>,
    steps: u32,
    expired: bool,
}

impl DeadlineInspector {
    fn new(deadline: Option<Instant>) -> Self {
        Self {
            deadline,
            steps: 0,
            expired: false,
        }
    }
}

impl<CTX, INTR: InterpreterTypes> Inspector<CTX, INTR> for DeadlineInspector {
    #[inline]
    fn step(&mut self, interp: &mut Interpreter<INTR>, _context: &mut CTX) {
        let Some(deadline) = self.deadline else {
            return;
        };
        if !self.expired {
            self.steps = self.steps.wrapping_add(1);
            if !self.steps.is_multiple_of(DEADLINE_CHECK_STEPS) || Instant::now() < deadline {
                return;
            }
            self.expired = true;
        }
        // Every frame that runs another step halts, so the call unwinds at once.
        interp.halt(InstructionResult::OutOfGas);
    }
}

/// Executes `request` on the state at `state_root` (read through `source`) in the block
/// environment of `header`, tracing it, within `budget`.
///
/// # Errors
/// [`CallError`] when the EVM rejects the call, the witness cannot serve a read, or the
/// budget is exceeded.
pub fn execute_call<S: WitnessSource>(
    chain: &ChainConfig,
    header: &Header,
    request: &CallRequest,
    source: S,
    budget: CallBudget,
) -> Result<(CallResult, TraceCommitment), CallError> {
    let mut env = evm_env(chain, header);
    env.cfg_env.disable_nonce_check = true;
    let gas_price = request.gas_price.unwrap_or_default();
    if gas_price.is_zero() {
        env.block_env.basefee = 0;
    }
    let gas_limit = request
        .gas
        .unwrap_or(header.gas_limit)
        .min(env.cfg_env.tx_gas_limit_cap.unwrap_or(u64::MAX));
    if let Some(cap) = budget.gas_cap
        && gas_limit > cap
    {
        return Err(CallError::GasCap {
            gas: gas_limit,
            cap,
        });
    }
    let tx = TxEnv {
        caller: request.from.unwrap_or_default(),
        kind: request.to.map_or(TxKind::Create, TxKind::Call),
        gas_limit,
        gas_price: gas_price.saturating_to(),
        value: request.value.unwrap_or_default(),
        data: request.input.clone(),
        chain_id: Some(chain.chain_id),
        ..Default::default()
    };
    cairn_stateless::kzg::install();
    let mut state = State::builder()
        .with_database(WitnessDb::new(source, header.state_root))
        .build();
    let mut inspector = TransitionInspector::new();
    let mut deadline = DeadlineInspector::new(budget.deadline);
    let result = {
        let mut evm = EthEvmFactory::default().create_evm_with_inspector(
            &mut state,
            env,
            (Eip7610, (&mut inspector, &mut deadline)),
        );
        evm.transact(tx)
    };
    if deadline.expired {
        return Err(CallError::Deadline);
    }
    if let Some(failure) = state.database.take_failure() {
        return Err(CallError::Witness(failure));
    }
    let result = result.map_err(|e| CallError::Rejected(Box::new(e)))?.result;
    let trace = inspector
        .take_completed()
        .pop()
        .unwrap_or(TraceCommitment::EMPTY);
    let gas_used = result.tx_gas_used();
    let call = match result {
        ExecutionResult::Success { output, .. } => CallResult {
            success: true,
            output: output.into_data(),
            gas_used,
        },
        ExecutionResult::Revert { output, .. } => CallResult {
            success: false,
            output,
            gas_used,
        },
        ExecutionResult::Halt { .. } => CallResult {
            success: false,
            output: Bytes::new(),
            gas_used,
        },
    };
    Ok((call, trace))
}

/// Checks a call proof against a trusted QMTree root of its block, with the fork rules of
/// `chain` (which the client knows; the proof's own copy must agree), and returns the proven
/// result.
///
/// # Errors
/// The first check that fails (see the module docs).
pub fn verify_call_proof(
    proof: &CallProof,
    trusted_root: &B256,
    chain: &ChainConfig,
) -> Result<CallResult, CallProofError> {
    verify_call_proof_within(proof, trusted_root, chain, CallBudget::default())
}

/// [`verify_call_proof`] with the re-execution bounded by `budget` (a server verifying proofs
/// for others).
///
/// # Errors
/// As [`verify_call_proof`]; [`CallProofError::Execution`] with [`CallError::GasCap`] or
/// [`CallError::Deadline`] when the budget is exceeded.
pub fn verify_call_proof_within(
    proof: &CallProof,
    trusted_root: &B256,
    chain: &ChainConfig,
    budget: CallBudget,
) -> Result<CallResult, CallProofError> {
    if proof.chain != *chain {
        return Err(CallProofError::Header(
            "the proof was made for another chain configuration",
        ));
    }
    let leaf_hash = proof.closing_leaf.hash();
    if proof.leaf_proof.leaf_hash != leaf_hash {
        return Err(CallProofError::LeafHash {
            proven: proof.leaf_proof.leaf_hash,
            computed: leaf_hash,
        });
    }
    verify_leaf(&proof.leaf_proof, &proof.closing_leaf, trusted_root)?;
    if !proof.leaf_proof.is_last_leaf() {
        return Err(CallProofError::NotClosingLeaf {
            tx_num: proof.leaf_proof.tx_num,
        });
    }
    let header: Header =
        alloy_rlp::decode_exact(&proof.header).map_err(CallProofError::HeaderRlp)?;
    if keccak256(&proof.header) != proof.closing_leaf.transition_hash {
        return Err(CallProofError::Header(
            "the header does not hash to the closing leaf's block hash",
        ));
    }
    if header.number != proof.block_number {
        return Err(CallProofError::Header(
            "the header is not of the claimed block",
        ));
    }
    if header.state_root != proof.closing_leaf.pre_state_hash {
        return Err(CallProofError::Header(
            "the header's state root is not the closing leaf's",
        ));
    }
    let chain = decode_header_chain(&proof.witness.headers)?;
    if let Some((_, last)) = chain.last()
        && *last != header.parent_hash
    {
        return Err(CallProofError::Header(
            "the witness headers do not end at the block's parent",
        ));
    }
    // The header chain (empty for a call on the genesis state) ends at the parent.
    let source = WitnessIndex::new(&proof.witness, &chain);
    let (result, trace) = execute_call(&proof.chain, &header, &proof.request, source, budget)
        .map_err(CallProofError::Execution)?;
    if result != proof.result {
        return Err(CallProofError::Result {
            got: Box::new(result),
            claimed: Box::new(proof.result.clone()),
        });
    }
    if trace.root != proof.transition_hash {
        return Err(CallProofError::Transition {
            got: trace.root,
            claimed: proof.transition_hash,
        });
    }
    Ok(result)
}
