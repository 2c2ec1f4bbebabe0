//! The settlement crate's errors.

use crate::contracts::Revert;
use alloy_primitives::{Address, B256, U256};
use std::path::PathBuf;

/// Which transaction of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxKind {
    /// `commitBatch`.
    Commit,
    /// `verifyBatch`.
    Verify,
    /// A contract creation or configuration call of `cairn deploy`.
    Deploy,
}

impl TxKind {
    /// Lowercase name (also the store's).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Commit => "commit",
            Self::Verify => "verify",
            Self::Deploy => "deploy",
        }
    }

    /// The kind a store name stands for.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "commit" => Some(Self::Commit),
            "verify" => Some(Self::Verify),
            "deploy" => Some(Self::Deploy),
            _ => None,
        }
    }
}

impl std::fmt::Display for TxKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A batch committed on L1 with other values than a proof file's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitmentConflict {
    /// The rollup batch.
    pub batch: u64,
    /// The committed `publicValuesHash`.
    pub committed_hash: B256,
    /// The committed QMTree root.
    pub committed_root: B256,
    /// The proof file's `publicValuesHash`.
    pub ours_hash: B256,
    /// The proof file's QMTree root.
    pub ours_root: B256,
}

impl std::fmt::Display for CommitmentConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "batch {} is committed on L1 with publicValuesHash {} and QMTree root {}, the proof file has {} and {}; the rollup owner must revertBatches({})",
            self.batch,
            self.committed_hash,
            self.committed_root,
            self.ours_hash,
            self.ours_root,
            self.batch.saturating_sub(1)
        )
    }
}

/// What went wrong settling.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The L1 RPC did not answer (connection refused, timeout, HTTP error) after every retry.
    #[error("L1 RPC {url} unavailable for {method} after {attempts} attempt(s): {reason}")]
    RpcUnavailable {
        /// The endpoint.
        url: String,
        /// The JSON-RPC method.
        method: &'static str,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        reason: String,
    },
    /// The L1 RPC answered something that is not a valid answer (not JSON, wrong types).
    #[error("L1 RPC {url} answered {method} with garbage: {reason}")]
    RpcGarbage {
        /// The endpoint.
        url: String,
        /// The JSON-RPC method.
        method: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The L1 RPC refused a request with a JSON-RPC error that retrying cannot fix.
    #[error("L1 RPC {url} refused {method}: {message} (code {code})")]
    RpcRefused {
        /// The endpoint.
        url: String,
        /// The JSON-RPC method.
        method: &'static str,
        /// JSON-RPC error code.
        code: i64,
        /// Its message.
        message: String,
    },
    /// The L1 RPC's answers contradict each other or the chain (a receipt for another
    /// transaction, a success without the contract's event, a state the contract cannot be
    /// in). Nothing is marked settled on its word.
    #[error("L1 RPC {url} is inconsistent: {what}")]
    RpcInconsistent {
        /// The endpoint.
        url: String,
        /// The contradiction.
        what: String,
    },
    /// The L1 RPC serves another chain than the one configured.
    #[error("L1 RPC {url} serves chain {got}, expected chain {expected}")]
    WrongL1Chain {
        /// The endpoint.
        url: String,
        /// Configured chain id.
        expected: u64,
        /// Its chain id.
        got: u64,
    },
    /// A call or transaction would revert (found by `eth_estimateGas` / `eth_call` before
    /// anything was sent).
    #[error("batch {batch}: {kind} would revert: {revert}")]
    WouldRevert {
        /// The rollup batch (0 for deployment calls).
        batch: u64,
        /// Which transaction.
        kind: TxKind,
        /// The decoded reason.
        revert: Box<Revert>,
    },
    /// A transaction was mined and reverted.
    #[error("batch {batch}: {kind} transaction {tx} reverted in block {block}: {revert}")]
    Reverted {
        /// The rollup batch.
        batch: u64,
        /// Which transaction.
        kind: TxKind,
        /// Its hash.
        tx: B256,
        /// The block it was mined in.
        block: u64,
        /// The reason, replayed with `eth_call` at that block (when the node could).
        revert: Box<Revert>,
    },
    /// The sender cannot pay for a transaction.
    #[error(
        "{address} cannot pay for the {kind} transaction of batch {batch} (balance {balance} wei): {message}"
    )]
    InsufficientFunds {
        /// The sender.
        address: Address,
        /// The rollup batch.
        batch: u64,
        /// Which transaction.
        kind: TxKind,
        /// Its balance.
        balance: U256,
        /// The node's message.
        message: String,
    },
    /// Another transaction of the sender took the nonce of ours (another process uses the
    /// same key). The settler re-reads the rollup and sends again.
    #[error(
        "nonce {nonce} of {address} was taken by another transaction; our {kind} of batch {batch} ({tx}) was dropped"
    )]
    NonceTaken {
        /// The sender.
        address: Address,
        /// The nonce.
        nonce: u64,
        /// The rollup batch.
        batch: u64,
        /// Which transaction.
        kind: TxKind,
        /// Our dropped transaction.
        tx: B256,
    },
    /// The rollup holds a commitment for the batch other than ours: the owner must
    /// `revertBatches` before it can be committed again.
    #[error("{0}")]
    CommittedOther(Box<CommitmentConflict>),
    /// The store says a batch is settled that the rollup has not settled: another rollup or
    /// chain, or an L1 reorganisation deeper than the confirmation depth.
    #[error(
        "the store {path} records batch {batch} as settled, but the rollup's last settled batch is {on_chain}"
    )]
    StoreAhead {
        /// The store.
        path: PathBuf,
        /// Highest settled batch in the store.
        batch: u64,
        /// The rollup's.
        on_chain: u64,
    },
    /// The store belongs to another deployment.
    #[error("the store {path} is for {what} {stored}, not {given}")]
    StoreMismatch {
        /// The store.
        path: PathBuf,
        /// What differs.
        what: &'static str,
        /// The store's.
        stored: String,
        /// The given one.
        given: String,
    },
    /// The SQLite store failed.
    #[error("store {path}: {source}")]
    Store {
        /// The store file.
        path: PathBuf,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A configuration or deployment file is invalid.
    #[error("{path}: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The L1 signing key could not be loaded.
    #[error("L1 key: {reason}")]
    Key {
        /// Why.
        reason: String,
    },
    /// A proof file failed the native multi-proof policy (it is not submitted).
    #[error("{origin} (blocks {first}..={last}) does not meet the policy: {reason}")]
    Rejected {
        /// The file (or job).
        origin: String,
        /// First block.
        first: u64,
        /// Last block.
        last: u64,
        /// Why.
        reason: String,
    },
    /// A transaction was not mined within the deadline and its nonce is still free.
    #[error("batch {batch}: {kind} transaction {tx} not mined after {waited_s} s")]
    NotMined {
        /// The rollup batch.
        batch: u64,
        /// Which transaction.
        kind: TxKind,
        /// Its hash.
        tx: B256,
        /// Seconds waited.
        waited_s: u64,
    },
    /// A transaction was mined but not buried under the confirmation depth within the
    /// deadline (the chain is not producing blocks, e.g. an anvil that mines only on
    /// transactions: run it with `--block-time`, or lower `--confirmations`).
    #[error(
        "batch {batch}: {kind} transaction {tx} mined in block {block} but not {confirmations} blocks deep after {waited_s} s"
    )]
    NotConfirmed {
        /// The rollup batch.
        batch: u64,
        /// Which transaction.
        kind: TxKind,
        /// Its hash.
        tx: B256,
        /// Its block.
        block: u64,
        /// The depth waited for.
        confirmations: u64,
        /// Seconds waited.
        waited_s: u64,
    },
    /// The contracts could not be compiled.
    #[error("compiling {contract}: {reason}")]
    Compile {
        /// The contract.
        contract: String,
        /// Why.
        reason: String,
    },
    /// An external tool (anvil, solc-js) failed.
    #[error(transparent)]
    Tool(#[from] cairn_devtools::ToolError),
    /// A prover-side error (reading `.seg` files, the binding, attestations).
    #[error(transparent)]
    Prover(#[from] cairn_prover::Error),
    /// Building dev-chain batches failed.
    #[error(transparent)]
    Exec(#[from] cairn_exec::ExecError),
}

impl Error {
    /// Whether the settler may try the same step again later (the L1 RPC was unavailable or
    /// answered garbage, a transaction was not mined yet, a nonce was taken): everything else
    /// needs an operator.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RpcUnavailable { .. }
                | Self::RpcGarbage { .. }
                | Self::NotMined { .. }
                | Self::NotConfirmed { .. }
                | Self::NonceTaken { .. }
        )
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
