//! The prover's error type.

use crate::public_values::PublicValuesFault;
#[cfg(feature = "std")]
use alloc::boxed::Box;
#[cfg(feature = "std")]
use alloc::string::String;
#[cfg(feature = "std")]
use alloy_primitives::Address;
use alloy_primitives::B256;
#[cfg(feature = "std")]
use std::{path::PathBuf, time::Duration};

/// Result with the prover's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything that can go wrong while proving, verifying, or reading proof files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes that are not canonical public values.
    #[error("public values: {reason}")]
    PublicValues {
        /// What is wrong.
        reason: PublicValuesFault,
    },
    /// A chain configuration that is not the canonical form of one.
    #[error("chain configuration: {reason}")]
    ChainConfig {
        /// What is wrong.
        reason: &'static str,
    },
    /// A batch binding that does not hold.
    #[error("QMTree binding: {fault}")]
    Binding {
        /// The rule that failed.
        fault: BindingFault,
    },
    /// Program-input bytes that do not decode.
    #[error("program input: {fault} at byte {offset}")]
    Input {
        /// Where.
        offset: usize,
        /// What.
        fault: InputFault,
    },
    /// The stateless program rejected the batch.
    #[error("invalid batch: {0}")]
    Invalid(#[from] cairn_stateless::StatelessError),
    /// A proof made for another program.
    #[error("proof is for program {got}, this verifier checks program {expected}")]
    WrongProgram {
        /// The verifier's program id.
        expected: B256,
        /// The proof's.
        got: B256,
    },
    /// Proof bytes that do not have their backend's form.
    #[error("malformed proof: {reason}")]
    MalformedProof {
        /// What is wrong.
        reason: &'static str,
    },
    /// A signature that is malformed or recovers no key.
    #[error("bad signature: {reason}")]
    BadSignature {
        /// What is wrong.
        reason: &'static str,
    },
    /// A proof that verified, but for other public values than claimed.
    #[error(
        "proof is for other public values (hash {proven}) than claimed for blocks {first}..={last} (hash {claimed})"
    )]
    PublicValuesMismatch {
        /// First block of the claimed batch.
        first: u64,
        /// Last block of the claimed batch.
        last: u64,
        /// `publicValuesHash` claimed.
        claimed: B256,
        /// `publicValuesHash` the proof proves.
        proven: B256,
    },
    /// A backend failed to prove or verify a batch: names both.
    #[cfg(feature = "std")]
    #[error("{backend} on blocks {first}..={last}: {source}")]
    Backend {
        /// The backend (`kind/name`).
        backend: String,
        /// First block.
        first: u64,
        /// Last block.
        last: u64,
        /// Why.
        #[source]
        source: Box<Self>,
    },
    /// The operation was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// Work on the blocking pool failed (a panic: a bug, never input).
    #[cfg(feature = "std")]
    #[error("prover task failed: {reason}")]
    TaskFailed {
        /// The panic or join error.
        reason: String,
    },
    /// A `.seg` file (or bytes) that is not a well-formed proof file.
    #[cfg(feature = "std")]
    #[error("{}: {fault}", path.display())]
    SegFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        fault: SegFault,
    },
    /// `.seg` bytes that are not a well-formed proof file.
    #[cfg(feature = "std")]
    #[error("{0}")]
    Seg(SegFault),
    /// Reading or writing a file.
    #[cfg(feature = "std")]
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A keystore that cannot be used (wrong password, damaged, or refused as unsafe).
    #[cfg(feature = "std")]
    #[error("keystore {}: {reason}", path.display())]
    Keystore {
        /// The keystore file.
        path: PathBuf,
        /// What is wrong (never the key or the password).
        reason: String,
    },
    /// A signer registry file that cannot be used.
    #[cfg(feature = "std")]
    #[error("signer registry {}: {reason}", path.display())]
    Registry {
        /// The registry file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A registration whose attestation evidence cannot be checked.
    #[cfg(feature = "std")]
    #[error("signer {signer}: {reason}")]
    Attestation {
        /// The signer being registered.
        signer: Address,
        /// Why its evidence is not accepted.
        reason: String,
    },
    /// An attestation by a key that is not registered.
    #[cfg(feature = "std")]
    #[error("signer {signer} is not registered")]
    UnknownSigner {
        /// The recovered signer.
        signer: Address,
    },
    /// An attestation made for another domain (chain or verifying contract).
    #[cfg(feature = "std")]
    #[error("attestation is for domain {got}, this verifier's is {expected}")]
    DomainMismatch {
        /// The verifier's domain.
        expected: crate::AttestDomain,
        /// The proof's.
        got: crate::AttestDomain,
    },
    /// A backend asked to sign that has no signing key.
    #[cfg(feature = "std")]
    #[error("the attest backend has no signing key: give it a keystore")]
    NoSigningKey,
    /// A backend specification that names no backend.
    #[cfg(feature = "std")]
    #[error("unknown backend {spec:?}: expected exec, attest or remote=URL")]
    UnknownBackend {
        /// What was given.
        spec: String,
    },
    /// A proof in a file with no verifier configured for its backend.
    #[cfg(feature = "std")]
    #[error("no verifier for backend {backend}")]
    NoVerifier {
        /// The backend.
        backend: String,
    },
    /// The remote prover cannot be reached.
    #[cfg(feature = "std")]
    #[error("remote prover {url} is unreachable: {reason}")]
    RemoteDown {
        /// The server.
        url: String,
        /// The transport's error.
        reason: String,
    },
    /// The remote prover did not answer in time.
    #[cfg(feature = "std")]
    #[error("remote prover {url}: {method} timed out after {after:?}")]
    RemoteTimeout {
        /// The server.
        url: String,
        /// The method.
        method: &'static str,
        /// The time allowed.
        after: Duration,
    },
    /// The remote prover answered with a twirp error.
    #[cfg(feature = "std")]
    #[error("remote prover {url}: {method} failed with HTTP {status} ({code}): {msg}")]
    RemoteError {
        /// The server.
        url: String,
        /// The method.
        method: &'static str,
        /// HTTP status.
        status: u16,
        /// Twirp error code.
        code: String,
        /// Twirp error message.
        msg: String,
    },
    /// The remote prover answered something that is not a valid response.
    #[cfg(feature = "std")]
    #[error("remote prover {url}: {method} answered garbage: {reason}")]
    RemoteGarbage {
        /// The server.
        url: String,
        /// The method.
        method: &'static str,
        /// What is wrong with the answer.
        reason: String,
    },
    /// The remote prover ran the request and reports that it failed.
    #[cfg(feature = "std")]
    #[error("remote prover {url}: {method}: {message}")]
    RemoteFailed {
        /// The server.
        url: String,
        /// The method.
        method: &'static str,
        /// The server's error message.
        message: String,
    },
    /// A remote server whose program is not the one expected.
    #[cfg(feature = "std")]
    #[error("remote prover {url}: {reason}")]
    RemoteProgram {
        /// The server.
        url: String,
        /// What does not match.
        reason: String,
    },
    /// Listening for connections failed.
    #[cfg(feature = "std")]
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A batch that the data directory cannot provide.
    #[cfg(feature = "std")]
    #[error("blocks {first}..={last}: {reason}")]
    BatchRange {
        /// First block asked for.
        first: u64,
        /// Last block asked for.
        last: u64,
        /// Why it cannot be proven.
        reason: String,
    },
    /// The multi-proof policy is not met.
    #[cfg(feature = "std")]
    #[error("policy not met for blocks {first}..={last}: {reason}")]
    Policy {
        /// First block.
        first: u64,
        /// Last block.
        last: u64,
        /// What is missing.
        reason: String,
    },
    /// Roots or chain that do not match the trusted node's.
    #[cfg(feature = "std")]
    #[error("blocks {first}..={last}: {reason}")]
    Mismatch {
        /// First block.
        first: u64,
        /// Last block.
        last: u64,
        /// What differs.
        reason: String,
    },
    /// Execution or data-directory errors while building a batch.
    #[cfg(feature = "std")]
    #[error(transparent)]
    Exec(#[from] cairn_exec::ExecError),
    /// Witness JSON (the bundle form the bench compares with).
    #[cfg(feature = "std")]
    #[error(transparent)]
    Witness(#[from] cairn_witness::WitnessError),
    /// QMTree errors while building a binding.
    #[error(transparent)]
    Qmtree(#[from] cairn_qmtree::Error),
}

#[cfg(feature = "std")]
impl Error {
    /// Wraps `self` with the backend and batch it happened to.
    pub fn in_backend(self, backend: impl core::fmt::Display, first: u64, last: u64) -> Self {
        Self::Backend {
            backend: alloc::format!("{backend}"),
            first,
            last,
            source: Box::new(self),
        }
    }
}

/// Which binding rule failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingFault {
    /// Bytes that are not `abi.encode(BatchBinding)`.
    Encoding,
    /// Leaf counts that cannot frame a batch (`1 ≤ before < after` fails).
    LeafCounts {
        /// `leafCountBefore`.
        before: u64,
        /// `leafCountAfter`.
        after: u64,
    },
    /// An inclusion proof with another sibling count than the tree depth of its leaf count.
    SiblingCount {
        /// Which leaf.
        side: crate::binding::Side,
        /// Siblings given.
        got: usize,
        /// `depth(leafCount)`.
        expected: usize,
    },
    /// A sibling right of the closing leaf's path is not empty: the leaf is not the last.
    NotLastLeaf {
        /// Which leaf.
        side: crate::binding::Side,
    },
    /// The closing leaf (built from the public values) does not hash up to its root: the
    /// batch's block hash or state root is not the one the tree committed.
    LeafNotUnderRoot {
        /// Which leaf.
        side: crate::binding::Side,
    },
    /// The range proof does not take `rootBefore` to `rootAfter`.
    Range,
}

impl core::fmt::Display for BindingFault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Encoding => f.write_str("not a canonical abi.encode(BatchBinding)"),
            Self::LeafCounts { before, after } => write!(
                f,
                "leaf counts {before} -> {after} do not frame a batch (need 1 <= before < after)"
            ),
            Self::SiblingCount {
                side,
                got,
                expected,
            } => write!(f, "{side}: {got} siblings, the tree has depth {expected}"),
            Self::NotLastLeaf { side } => {
                write!(f, "{side} is not the last leaf of its tree")
            }
            Self::LeafNotUnderRoot { side } => write!(
                f,
                "{side} (block hash and state root of the public values) is not under its root"
            ),
            Self::Range => {
                f.write_str("the range proof does not lead from rootBefore to rootAfter")
            }
        }
    }
}

/// Why program-input bytes do not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputFault {
    /// Not a Cairn program input.
    Magic,
    /// An input format this program does not read.
    Version {
        /// The version found.
        found: u16,
    },
    /// The bytes end inside a field.
    Truncated {
        /// The field.
        field: &'static str,
    },
    /// A count larger than the bytes left could hold.
    Count {
        /// The field.
        field: &'static str,
        /// The count given.
        count: u32,
    },
    /// The chain configuration section does not decode.
    ChainConfig,
    /// A block that is not valid RLP of a block.
    Block {
        /// Its index in the batch.
        index: usize,
    },
    /// Bytes after the last section.
    Trailing {
        /// How many.
        bytes: usize,
    },
}

impl core::fmt::Display for InputFault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Magic => f.write_str("not a Cairn program input (bad magic)"),
            Self::Version { found } => write!(
                f,
                "input format version {found}, this program reads {}",
                crate::input::INPUT_FORMAT_VERSION
            ),
            Self::Truncated { field } => write!(f, "truncated in {field}"),
            Self::Count { field, count } => {
                write!(f, "{field} count {count} exceeds the bytes left")
            }
            Self::ChainConfig => f.write_str("chain configuration does not decode"),
            Self::Block { index } => write!(f, "block {index} is not valid block RLP"),
            Self::Trailing { bytes } => write!(f, "{bytes} bytes after the last section"),
        }
    }
}

/// What is wrong with a `.seg` file.
#[cfg(feature = "std")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegFault {
    /// Does not start with the magic bytes.
    NotASeg,
    /// Written in a format version this reader does not read.
    UnsupportedVersion {
        /// The version in the file.
        found: u16,
        /// The version read here.
        supported: u16,
    },
    /// The file ends before its structure does (an interrupted copy or write).
    Truncated {
        /// Section being read.
        section: &'static str,
        /// Bytes the structure needs.
        needed: u64,
        /// Bytes the file has.
        len: u64,
    },
    /// The checksum does not match the contents (corruption).
    ChecksumMismatch {
        /// Checksum stored in the file.
        stored: B256,
        /// Checksum of the contents.
        computed: B256,
    },
    /// Bytes after the structure (before the checksum).
    TrailingBytes {
        /// How many.
        bytes: u64,
    },
    /// A field outside what the format allows.
    Field {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The header's block range is not the public values' (a forged or spliced file).
    RangeMismatch {
        /// Header range.
        header: (u64, u64),
        /// Public values' range.
        public_values: (u64, u64),
    },
    /// Two proofs from the same backend.
    DuplicateProof {
        /// The backend.
        backend: String,
    },
    /// The public values section does not decode.
    PublicValues(PublicValuesFault),
    /// The binding section does not decode.
    Binding,
}

#[cfg(feature = "std")]
impl core::fmt::Display for SegFault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotASeg => f.write_str("not a .seg proof file (bad magic)"),
            Self::UnsupportedVersion { found, supported } => write!(
                f,
                ".seg format version {found}, this reader reads version {supported}"
            ),
            Self::Truncated {
                section,
                needed,
                len,
            } => write!(
                f,
                "truncated: {section} needs {needed} bytes, the file has {len}"
            ),
            Self::ChecksumMismatch { stored, computed } => write!(
                f,
                "corrupt: checksum {computed} of the contents differs from the stored {stored}"
            ),
            Self::TrailingBytes { bytes } => {
                write!(f, "{bytes} unexpected bytes before the checksum")
            }
            Self::Field { field, reason } => write!(f, "{field}: {reason}"),
            Self::RangeMismatch {
                header,
                public_values,
            } => write!(
                f,
                "forged: header says blocks {}..={}, the public values say {}..={}",
                header.0, header.1, public_values.0, public_values.1
            ),
            Self::DuplicateProof { backend } => write!(f, "two proofs from backend {backend}"),
            Self::PublicValues(fault) => write!(f, "public values: {fault}"),
            Self::Binding => f.write_str("binding: not a canonical abi.encode(BatchBinding)"),
        }
    }
}
