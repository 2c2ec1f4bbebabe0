//! `exec`: runs the guest natively. Its proof is the input itself, so verifying is running
//! the guest again; the reference and the dev default, never counted as a proof on L1.

use super::{BackendId, CancellationToken, Proved, ProverBackend, run_blocking};
use crate::{
    PROGRAM_ID,
    error::{Error, Result},
    guest,
    public_values::PublicValues,
};
use alloy_primitives::{B256, Bytes};
use std::time::Instant;

/// Version byte at the start of an exec proof.
pub const EXEC_PROOF_VERSION: u8 = 1;

/// The `exec` backend (see the module docs). Proof: `0x01 ‖ programId ‖ input`.
#[derive(Debug, Clone)]
pub struct ExecBackend {
    program_id: B256,
}

impl Default for ExecBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl ExecBackend {
    /// The backend for this build's program ([`PROGRAM_ID`]).
    pub const fn new() -> Self {
        Self {
            program_id: PROGRAM_ID,
        }
    }

    /// A backend that claims another program id: for tests of what verifiers of other
    /// programs do, never for real proofs.
    #[doc(hidden)]
    pub const fn with_program_id(program_id: B256) -> Self {
        Self { program_id }
    }

    /// The proof of `input` for `program_id`.
    pub fn encode_proof(program_id: &B256, input: &[u8]) -> Bytes {
        let mut out = Vec::with_capacity(33 + input.len());
        out.push(EXEC_PROOF_VERSION);
        out.extend_from_slice(program_id.as_slice());
        out.extend_from_slice(input);
        out.into()
    }

    /// Splits a proof into its program id and input.
    ///
    /// # Errors
    /// [`Error::MalformedProof`].
    pub fn decode_proof(proof: &Bytes) -> Result<(B256, Bytes)> {
        if proof.len() < 33 || proof[0] != EXEC_PROOF_VERSION {
            return Err(Error::MalformedProof {
                reason: "not an exec proof (version 1, program id, input)",
            });
        }
        Ok((B256::from_slice(&proof[1..33]), proof.slice(33..)))
    }
}

#[async_trait::async_trait]
impl ProverBackend for ExecBackend {
    fn id(&self) -> BackendId {
        BackendId::exec()
    }

    fn program_id(&self) -> B256 {
        self.program_id
    }

    async fn prove(&self, input: Bytes, cancel: CancellationToken) -> Result<Proved> {
        let started = Instant::now();
        let run = input.clone();
        let public_values = run_blocking(&cancel, move || guest::public_values(&run)).await?;
        Ok(Proved {
            public_values,
            proof: Self::encode_proof(&self.program_id, &input),
            elapsed: started.elapsed(),
        })
    }

    async fn verify(&self, proof: Bytes) -> Result<PublicValues> {
        let (program_id, input) = Self::decode_proof(&proof)?;
        if program_id != self.program_id {
            return Err(Error::WrongProgram {
                expected: self.program_id,
                got: program_id,
            });
        }
        run_blocking(&CancellationToken::new(), move || {
            guest::public_values(&input)
        })
        .await
    }
}
