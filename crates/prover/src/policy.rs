//! The native multi-proof policy: which proofs a batch needs before it is accepted, and the
//! verification of a whole `.seg` file against it.

use crate::{
    backend::{BackendId, Claim, ProverBackend, verify_claim},
    binding::BoundRoots,
    error::{Error, Result},
    seg::Seg,
};
use alloy_primitives::B256;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

/// Which proofs a batch needs: every `require`d backend, and at least `min_distinct` distinct
/// backend identities (kind and name), each verified for the file's program id and public
/// values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Backends that must be among the verified proofs: a name (`attest`) or `kind/name`
    /// (`tee/attest`).
    pub require: Vec<String>,
    /// Distinct verified backends needed (at least 1).
    pub min_distinct: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            require: Vec::new(),
            min_distinct: 1,
        }
    }
}

impl Policy {
    /// Whether `id` is what `entry` names.
    fn names(entry: &str, id: &BackendId) -> bool {
        entry == id.name || entry == id.to_string()
    }

    /// Checks the verified identities against the policy.
    ///
    /// # Errors
    /// [`Error::Policy`] saying what is missing.
    pub fn check(&self, verified: &[BackendId], first: u64, last: u64) -> Result<()> {
        let fail = |reason: String| {
            Err(Error::Policy {
                first,
                last,
                reason,
            })
        };
        for entry in &self.require {
            if !verified.iter().any(|id| Self::names(entry, id)) {
                return fail(format!("no verified proof from required backend {entry}"));
            }
        }
        let mut distinct: Vec<&BackendId> = verified.iter().collect();
        distinct.sort();
        distinct.dedup();
        let needed = self.min_distinct.max(1);
        if distinct.len() < needed {
            return fail(format!(
                "{} distinct backend(s) verified, the policy needs {needed}",
                distinct.len()
            ));
        }
        Ok(())
    }
}

/// The chain data a verifier trusts (its own node's): the batch must be of this chain and
/// between these roots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trusted {
    /// The chain's id.
    pub chain_id: u64,
    /// Its configuration hash.
    pub chain_config_hash: B256,
    /// QMTree root after block `firstBlock - 1`.
    pub root_before: B256,
    /// QMTree root after block `lastBlock`.
    pub root_after: B256,
}

/// What happened to one proof of a file.
#[derive(Debug)]
pub enum ProofOutcome {
    /// It verified for the file's program id and public values.
    Verified {
        /// Verification time.
        elapsed: Duration,
    },
    /// It did not.
    Failed(Error),
    /// No verifier for its backend was configured: not counted.
    NoVerifier,
}

/// The verification of a `.seg` file.
#[derive(Debug)]
pub struct SegReport {
    /// The binding's roots.
    pub roots: BoundRoots,
    /// Whether the roots and chain were compared with a trusted node's.
    pub trusted: bool,
    /// One outcome per proof, in file order.
    pub proofs: Vec<(BackendId, ProofOutcome)>,
    /// The verdict: `Ok` when the batch is accepted.
    pub verdict: Result<()>,
}

/// Verifies a `.seg` file: its binding against its public values (and against `trusted`
/// roots and chain when given), every proof that has a verifier in `verifiers`, then
/// `policy`. The batch is accepted only when all of these hold and no proof failed.
///
/// # Errors
/// Only the binding's (nothing else can be checked without it); everything else is in the
/// report's verdict.
pub async fn verify_seg(
    seg: &Seg,
    verifiers: &[Arc<dyn ProverBackend>],
    policy: &Policy,
    trusted: Option<&Trusted>,
) -> Result<SegReport> {
    let pv = &seg.public_values;
    let (first, last) = (pv.firstBlock, pv.lastBlock);
    let roots = seg.binding.verify(pv)?;
    let mut verdict = Ok(());
    if let Some(t) = trusted {
        let mismatch = |reason: String| {
            Err(Error::Mismatch {
                first,
                last,
                reason,
            })
        };
        if pv.chainId != t.chain_id {
            verdict = mismatch(format!(
                "chain id {} is not the node's {}",
                pv.chainId, t.chain_id
            ));
        } else if pv.chainConfigHash != t.chain_config_hash {
            verdict = mismatch(format!(
                "chain configuration hash {} is not the node's {}",
                pv.chainConfigHash, t.chain_config_hash
            ));
        } else if roots.root_before != t.root_before {
            verdict = mismatch(format!(
                "QMTree root before the batch {} is not the node's root at block {} ({})",
                roots.root_before,
                first.saturating_sub(1),
                t.root_before
            ));
        } else if roots.root_after != t.root_after {
            verdict = mismatch(format!(
                "QMTree root after the batch {} is not the node's root at block {last} ({})",
                roots.root_after, t.root_after
            ));
        }
    }
    let claim = Claim {
        program_id: seg.program_id,
        public_values: pv.clone(),
    };
    let mut proofs = Vec::with_capacity(seg.proofs.len());
    let mut verified = Vec::new();
    for p in &seg.proofs {
        let Some(backend) = verifiers.iter().find(|v| v.id() == p.backend) else {
            proofs.push((p.backend.clone(), ProofOutcome::NoVerifier));
            continue;
        };
        let started = Instant::now();
        let outcome = match verify_claim(backend.as_ref(), &claim, p.proof.clone()).await {
            Ok(()) => {
                verified.push(p.backend.clone());
                ProofOutcome::Verified {
                    elapsed: started.elapsed(),
                }
            }
            Err(e) => ProofOutcome::Failed(e),
        };
        proofs.push((p.backend.clone(), outcome));
    }
    if verdict.is_ok()
        && let Some((id, _)) = proofs
            .iter()
            .find(|(_, o)| matches!(o, ProofOutcome::Failed(_)))
    {
        verdict = Err(Error::Policy {
            first,
            last,
            reason: format!(
                "the proof from {id} does not verify; a file with a bad proof is refused"
            ),
        });
    }
    if verdict.is_ok() {
        verdict = policy.check(&verified, first, last);
    }
    Ok(SegReport {
        roots,
        trusted: trusted.is_some(),
        proofs,
        verdict,
    })
}
