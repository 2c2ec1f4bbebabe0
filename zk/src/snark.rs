//! Keygen, proving and native verification of any halo2 circuit, with SHPLONK (KZG on
//! BN254) and one of two Fiat-Shamir transcripts: Poseidon (for proofs that are aggregated
//! in-circuit) or Keccak (for proofs verified by the EVM).

use std::panic::{AssertUnwindSafe, catch_unwind};

use axiom_eth::{
    halo2_proofs::{
        SerdeFormat,
        halo2curves::bn256::{Bn256, Fr, G1Affine},
        plonk::{
            Circuit, ProvingKey, VerifyingKey, create_proof, keygen_pk, keygen_vk, verify_proof,
        },
        poly::{
            commitment::{Params, ParamsProver},
            kzg::{
                commitment::{KZGCommitmentScheme, ParamsKZG},
                multiopen::{ProverSHPLONK, VerifierSHPLONK},
                strategy::SingleStrategy,
            },
        },
        transcript::{TranscriptReadBuffer, TranscriptWriterBuffer},
    },
    snark_verifier::{loader::native::NativeLoader, system::halo2::transcript::evm::EvmTranscript},
    snark_verifier_sdk::halo2::{POSEIDON_SPEC, PoseidonTranscript},
};
use rand::{SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};

use crate::error::{Result, ZkError};

/// Which Fiat-Shamir transcript a proof uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transcript {
    /// Poseidon: cheap to verify inside an aggregation circuit.
    Poseidon,
    /// Keccak: cheap to verify in the EVM.
    Evm,
}

/// A panic inside halo2 or axiom-eth, as a message (their APIs assert on bad input).
pub(crate) fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_string()))
        .unwrap_or_else(|| "panicked".into())
}

thread_local! {
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A panic hook for binaries: panics inside [`guarded`] sections (axiom-eth and halo2 assert
/// on input they cannot take) become typed errors and are only logged at debug level; any
/// other panic prints one line.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        if GUARDED.with(std::cell::Cell::get) || std::thread::current().name().is_none() {
            tracing::debug!(target: "cairn::zk", "caught panic: {info}");
        } else {
            eprintln!("internal error: {info}");
        }
    }));
}

/// Runs `f`, turning a panic into [`ZkError::Halo2`].
pub(crate) fn guarded<T>(
    circuit: &'static str,
    stage: &'static str,
    f: impl FnOnce() -> T,
) -> Result<T> {
    let was = GUARDED.with(|g| g.replace(true));
    let out = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    out.map_err(|p| ZkError::Halo2 {
        circuit,
        stage,
        reason: panic_message(p),
    })
}

/// Generates the proving key (and with it the verifying key).
///
/// # Errors
/// [`ZkError::Halo2`] when the circuit does not fit `params`.
pub fn keygen<C: Circuit<Fr>>(
    name: &'static str,
    params: &ParamsKZG<Bn256>,
    circuit: &C,
) -> Result<ProvingKey<G1Affine>> {
    let err = |e: axiom_eth::halo2_proofs::plonk::Error| ZkError::Halo2 {
        circuit: name,
        stage: "keygen",
        reason: format!("{e:?}"),
    };
    guarded(name, "keygen", || {
        let vk = keygen_vk(params, circuit).map_err(err)?;
        keygen_pk(params, vk, circuit).map_err(err)
    })?
}

/// Proves `circuit` with `instances`.
///
/// # Errors
/// [`ZkError::Halo2`] when synthesis or proving fails.
pub fn prove<C: Circuit<Fr>>(
    name: &'static str,
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instances: &[Vec<Fr>],
    transcript: Transcript,
) -> Result<Vec<u8>> {
    let instances: Vec<&[Fr]> = instances.iter().map(Vec::as_slice).collect();
    let err = |e: axiom_eth::halo2_proofs::plonk::Error| ZkError::Halo2 {
        circuit: name,
        stage: "prove",
        reason: format!("{e:?}"),
    };
    let rng = StdRng::from_entropy();
    guarded(name, "prove", || match transcript {
        Transcript::Poseidon => {
            let mut t = PoseidonTranscript::<NativeLoader, Vec<u8>>::from_spec(
                vec![],
                POSEIDON_SPEC.clone(),
            );
            create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
                params,
                pk,
                &[circuit],
                &[instances.as_slice()],
                rng,
                &mut t,
            )
            .map_err(err)?;
            Ok(t.finalize())
        }
        Transcript::Evm => {
            let mut t = TranscriptWriterBuffer::<_, G1Affine, _>::init(Vec::new());
            create_proof::<
                KZGCommitmentScheme<Bn256>,
                ProverSHPLONK<'_, Bn256>,
                _,
                _,
                EvmTranscript<_, _, _, _>,
                _,
            >(params, pk, &[circuit], &[instances.as_slice()], rng, &mut t)
            .map_err(err)?;
            Ok(t.finalize())
        }
    })?
}

/// Verifies `proof` against `vk` and `instances`. Checks that `params` have the key's size
/// first.
///
/// # Errors
/// [`ZkError::Params`] for parameters of another size; [`ZkError::Rejected`] for a proof
/// that does not verify (tampered, wrong instances, another circuit's proof or key).
pub fn verify(
    name: &'static str,
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    proof: &[u8],
    instances: &[Vec<Fr>],
    transcript: Transcript,
) -> Result<()> {
    let vk_k = vk.get_domain().k();
    if params.k() != vk_k {
        return Err(ZkError::Params {
            path: Default::default(),
            reason: format!(
                "{name}: params have k = {}, the verifying key k = {vk_k}",
                params.k()
            ),
        });
    }
    let expected = vk.cs().num_instance_columns();
    if instances.len() != expected {
        return Err(ZkError::Rejected {
            circuit: name,
            reason: format!(
                "{} instance columns, the key has {expected}",
                instances.len()
            ),
        });
    }
    let instances: Vec<&[Fr]> = instances.iter().map(Vec::as_slice).collect();
    let verifier_params = params.verifier_params();
    let rejected = |reason: String| ZkError::Rejected {
        circuit: name,
        reason,
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| match transcript {
        Transcript::Poseidon => {
            let mut t =
                PoseidonTranscript::<NativeLoader, &[u8]>::from_spec(proof, POSEIDON_SPEC.clone());
            verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
                verifier_params,
                vk,
                SingleStrategy::new(params),
                &[instances.as_slice()],
                &mut t,
            )
        }
        Transcript::Evm => {
            let mut t = TranscriptReadBuffer::<_, G1Affine, _>::init(proof);
            verify_proof::<
                KZGCommitmentScheme<Bn256>,
                VerifierSHPLONK<'_, Bn256>,
                _,
                EvmTranscript<_, _, _, _>,
                _,
            >(
                verifier_params,
                vk,
                SingleStrategy::new(params),
                &[instances.as_slice()],
                &mut t,
            )
        }
    }));
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(rejected(format!("{e:?}"))),
        Err(p) => Err(rejected(panic_message(p))),
    }
}

/// Serializes a verifying key.
pub fn vk_bytes(vk: &VerifyingKey<G1Affine>) -> Vec<u8> {
    vk.to_bytes(SerdeFormat::RawBytes)
}
