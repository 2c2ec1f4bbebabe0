//! The [`ProverBackend`] seam and what every backend shares.

use crate::{
    error::{Error, Result},
    public_values::PublicValues,
};
use alloy_primitives::{B256, Bytes};
use serde::{Deserialize, Serialize};
use std::{fmt, sync::Arc, time::Duration};
pub use tokio_util::sync::CancellationToken;

pub mod attest;
pub mod exec;
pub mod remote;

/// What kind of evidence a backend's proofs are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Re-execution: the proof is the input; verifying runs the program again. Never counted
    /// as a proof by an L1 contract.
    Exec,
    /// A signature by a registered key (a TEE's, where one exists).
    Tee,
    /// A zero-knowledge proof from a zkVM.
    Zk,
}

impl BackendKind {
    /// The byte that stands for the kind in `.seg` files.
    pub const fn code(self) -> u8 {
        match self {
            Self::Exec => 0,
            Self::Tee => 1,
            Self::Zk => 2,
        }
    }

    /// The kind a `.seg` byte stands for.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Exec),
            1 => Some(Self::Tee),
            2 => Some(Self::Zk),
            _ => None,
        }
    }

    /// Lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Exec => "exec",
            Self::Tee => "tee",
            Self::Zk => "zk",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Longest backend name.
pub const MAX_BACKEND_NAME: usize = 32;

/// A backend's identity: kind and name (`exec/exec`, `tee/attest`, `zk/sp1`). Two proofs
/// count as distinct for the multi-proof policy when their identities differ.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BackendId {
    /// Kind.
    pub kind: BackendKind,
    /// Name: 1 to 32 characters of `a-z`, `0-9`, `.`, `_`, `-`.
    pub name: String,
}

impl BackendId {
    /// An identity, if `name` is a valid backend name.
    pub fn new(kind: BackendKind, name: &str) -> Option<Self> {
        valid_name(name).then(|| Self {
            kind,
            name: name.to_string(),
        })
    }

    /// The `exec` backend's identity.
    pub fn exec() -> Self {
        Self {
            kind: BackendKind::Exec,
            name: "exec".into(),
        }
    }

    /// The `attest` backend's identity.
    pub fn attest() -> Self {
        Self {
            kind: BackendKind::Tee,
            name: "attest".into(),
        }
    }
}

/// Whether `name` is a valid backend name.
pub fn valid_name(name: &str) -> bool {
    (1..=MAX_BACKEND_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

impl fmt::Display for BackendId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

/// What proving returns: the public values and the proof of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proved {
    /// The public values the proof proves.
    pub public_values: PublicValues,
    /// The proof, in the backend's format (it carries the program id).
    pub proof: Bytes,
    /// Time the backend took.
    pub elapsed: Duration,
}

/// A prover backend: proves batches of the guest program and verifies its own kind of proofs.
///
/// Every backend's proof bytes carry the program id they were made for, so a verifier for
/// another program id rejects them ([`Error::WrongProgram`]), and verifying returns the public
/// values the proof proves; whether those are the ones claimed is [`verify_claim`]'s check.
///
/// Long work (running the guest, proving) never blocks an async runtime: backends run it on
/// the blocking pool or on another machine. `prove` returns [`Error::Cancelled`] as soon as
/// `cancel` fires (work already on the blocking pool finishes its batch and is discarded).
#[async_trait::async_trait]
pub trait ProverBackend: Send + Sync + fmt::Debug {
    /// Kind and name.
    fn id(&self) -> BackendId;

    /// The program this backend proves and accepts proofs of.
    fn program_id(&self) -> B256;

    /// Proves a batch from its encoded input ([`crate::input`]).
    ///
    /// # Errors
    /// [`Error::Cancelled`]; input and validation errors ([`Error::Input`],
    /// [`Error::Invalid`]); the backend's own (keystore, transport).
    async fn prove(&self, input: Bytes, cancel: CancellationToken) -> Result<Proved>;

    /// Verifies one of this backend's proofs and returns the public values it proves.
    ///
    /// # Errors
    /// [`Error::WrongProgram`], [`Error::MalformedProof`], and the backend's own reasons for
    /// rejecting a proof.
    async fn verify(&self, proof: Bytes) -> Result<PublicValues>;
}

/// What a proof is claimed to prove: a program and public values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The program.
    pub program_id: B256,
    /// The public values.
    pub public_values: PublicValues,
}

/// Verifies that `proof` from `backend` proves `claim`: the backend's program is the claim's,
/// the proof verifies, and it proves exactly the claimed public values. Errors name the backend
/// and the batch.
///
/// # Errors
/// [`Error::Backend`] around [`Error::WrongProgram`], [`Error::PublicValuesMismatch`] or the
/// backend's rejection.
pub async fn verify_claim(backend: &dyn ProverBackend, claim: &Claim, proof: Bytes) -> Result<()> {
    let pv = &claim.public_values;
    let (first, last) = (pv.firstBlock, pv.lastBlock);
    let wrap = |e: Error| e.in_backend(backend.id(), first, last);
    if backend.program_id() != claim.program_id {
        return Err(wrap(Error::WrongProgram {
            expected: backend.program_id(),
            got: claim.program_id,
        }));
    }
    let proven = backend.verify(proof).await.map_err(wrap)?;
    if proven != *pv {
        return Err(wrap(Error::PublicValuesMismatch {
            first,
            last,
            claimed: pv.hash(),
            proven: proven.hash(),
        }));
    }
    Ok(())
}

/// Runs CPU-bound `work` on the blocking pool, returning [`Error::Cancelled`] as soon as
/// `cancel` fires (the work itself runs to its end and its result is dropped).
///
/// # Errors
/// [`Error::Cancelled`], [`Error::TaskFailed`] when the work panicked, or the work's error.
pub async fn run_blocking<T: Send + 'static>(
    cancel: &CancellationToken,
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let task = tokio::task::spawn_blocking(work);
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(Error::Cancelled),
        joined = task => joined.map_err(|e| Error::TaskFailed { reason: e.to_string() })?,
    }
}

/// Proves `input` with every backend in turn and checks that they agree on the public values.
/// `progress` is told when each backend starts and ends.
///
/// # Errors
/// The first backend error, wrapped with the backend and batch ([`Error::Backend`]);
/// [`Error::PublicValuesMismatch`] when two backends disagree.
pub async fn prove_all(
    backends: &[Arc<dyn ProverBackend>],
    input: Bytes,
    batch: (u64, u64),
    cancel: &CancellationToken,
    mut progress: impl FnMut(&BackendId, Option<&Proved>),
) -> Result<Vec<(BackendId, Proved)>> {
    let mut out: Vec<(BackendId, Proved)> = Vec::with_capacity(backends.len());
    for backend in backends {
        let id = backend.id();
        progress(&id, None);
        let proved = backend
            .prove(input.clone(), cancel.clone())
            .await
            .map_err(|e| e.in_backend(&id, batch.0, batch.1))?;
        if let Some((_, first)) = out.first()
            && first.public_values != proved.public_values
        {
            return Err(Error::PublicValuesMismatch {
                first: batch.0,
                last: batch.1,
                claimed: first.public_values.hash(),
                proven: proved.public_values.hash(),
            }
            .in_backend(&id, batch.0, batch.1));
        }
        progress(&id, Some(&proved));
        out.push((id, proved));
    }
    Ok(out)
}
