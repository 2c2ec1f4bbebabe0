//! The CLI's error type.

use std::path::PathBuf;

/// Result with the CLI's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Why a command failed. Every message is one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A QMTree error (store, proof decoding or verification).
    #[error(transparent)]
    Qmtree(#[from] cairn_qmtree::Error),
    /// Reading or writing a file the command was given (`-` is stdin).
    #[error("{}: {source}", crate::input::shown(path).display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// An input (a file, or stdin) larger than the input size limit.
    #[error("{}: larger than the input limit of {limit} (raise it with --max-input-size or CAIRN_MAX_INPUT_SIZE)", crate::input::shown(path).display())]
    InputTooLarge {
        /// The file (`-` for stdin).
        path: PathBuf,
        /// The limit.
        limit: crate::input::ByteSize,
    },
    /// A `--root`-style argument that is not hex.
    #[error("{flag} {value:?} is not 32-byte hex: {source}")]
    BadHash {
        /// The flag.
        flag: &'static str,
        /// What was given.
        value: String,
        /// The parser's error.
        #[source]
        source: alloy_primitives::hex::FromHexError,
    },
    /// A `--root`-style argument that is hex of another length.
    #[error("{flag} {value:?} is not 32-byte hex: it is {len} bytes")]
    BadHashLength {
        /// The flag.
        flag: &'static str,
        /// What was given.
        value: String,
        /// Bytes it decodes to.
        len: usize,
    },
    /// A range proof was given without `--old-root`.
    #[error("{} is a range proof: give the older root with --old-root", path.display())]
    MissingOldRoot {
        /// The proof file.
        path: PathBuf,
    },
    /// Settlement: L1, contracts, store, proof files.
    #[error(transparent)]
    Settle(#[from] cairn_settle::Error),
    /// Execution, witness generation, or a chain file.
    #[error(transparent)]
    Exec(#[from] cairn_exec::ExecError),
    /// A block failed stateless validation (the message names the block and the check).
    #[error("invalid: {0}")]
    Invalid(#[from] cairn_stateless::StatelessError),
    /// A validation bundle is malformed.
    #[error("{}: {source}", path.display())]
    Bundle {
        /// The bundle file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: cairn_witness::WitnessError,
    },
    /// A fixture file cannot be used.
    #[error("{}: {reason}", path.display())]
    Fixture {
        /// The fixture file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No case of a fixture file matches `--case`.
    #[error("{}: no case matches {case:?}", path.display())]
    NoSuchCase {
        /// The fixture file.
        path: PathBuf,
        /// The text asked for.
        case: String,
    },
    /// The conformance runner could not read the fixtures.
    #[error(transparent)]
    Runner(#[from] cairn_ef_tests::RunnerError),
    /// Some conformance cases failed.
    #[error("{failed} of {total} conformance cases failed")]
    ConformanceFailed {
        /// Failed cases.
        failed: usize,
        /// All cases.
        total: usize,
    },
    /// A data directory's committed blocks are not the chain file's.
    #[error("{}: committed block {number} differs from the chain file's", path.display())]
    Diverged {
        /// The data directory.
        path: PathBuf,
        /// The first block that differs.
        number: u64,
    },
    /// `cairn serve` was pointed at a directory that holds no node.
    #[error("{}: no Cairn data directory here (no genesis.json); create one with `cairn replay <CHAIN> --datadir {}`", path.display(), path.display())]
    NoDataDir {
        /// The directory given.
        path: PathBuf,
    },
    /// The JSON-RPC server failed to start.
    #[error(transparent)]
    Rpc(#[from] cairn_rpc::RpcError),
    /// Fetching a program input from another node failed (the message names the block,
    /// address or slot and the method).
    #[error(transparent)]
    Source(#[from] cairn_source::SourceError),
    /// The async runtime could not be started.
    #[error("cannot start the async runtime: {source}")]
    Runtime {
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The signal handlers could not be installed.
    #[error("cannot listen for SIGINT/SIGTERM: {source}")]
    Signal {
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Proving, verifying, or a proof file.
    #[error(transparent)]
    Prover(#[from] cairn_prover::Error),
    /// A historical-data proof could not be built or does not verify.
    #[error(transparent)]
    History(#[from] cairn_history::HistoryError),
    /// `cairn query` without --datadir or --rpc.
    #[error("give a data directory (--datadir) or a JSON-RPC node (--rpc)")]
    NoSource,
    /// A storage slot argument that is not a slot.
    #[error("slot {value:?}: {reason}")]
    BadSlot {
        /// What was given.
        value: String,
        /// Why it is not a slot.
        reason: String,
    },
    /// A block argument that is not a number.
    #[error("block {value:?} is not a number (decimal or 0x hex)")]
    BadBlock {
        /// What was given.
        value: String,
    },
    /// A proof or query file that is not what it should be.
    #[error("{}: {source}", path.display())]
    ProofFile {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A valid proof whose anchors are not the ones trusted.
    #[error("the proof is valid but not anchored as required: {reason}")]
    Anchor {
        /// What differs.
        reason: String,
    },
    /// Arguments that do not fit together.
    #[error("{reason}")]
    Usage {
        /// What is wrong.
        reason: String,
    },
    /// Serialising a report.
    #[error("cannot serialise the report: {source}")]
    Json {
        /// The serialiser's error.
        #[source]
        source: serde_json::Error,
    },
}
