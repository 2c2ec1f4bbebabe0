//! Aggregation with snark-verifier: the storage proof and its Keccak shard proof (both with
//! Poseidon transcripts) verified inside one circuit, their Keccak commitments constrained
//! equal, and the storage statement's instances re-exposed. The aggregation proof's public
//! instances are the 12 limbs of the KZG accumulator (the pairing the final verifier
//! checks) followed by the statement's instances (block hash, number, address, slot, value).

use alloy_primitives::B256;
use axiom_eth::{
    halo2_base::gates::circuit::CircuitBuilderStage,
    halo2_base::gates::flex_gate::MultiPhaseThreadBreakPoints,
    halo2_proofs::{
        halo2curves::bn256::{Bn256, Fr, G1Affine},
        plonk::{ProvingKey, VerifyingKey},
        poly::kzg::commitment::ParamsKZG,
    },
    snark_verifier::system::halo2::{Config, compile},
    snark_verifier_sdk::{
        SHPLONK, Snark,
        halo2::aggregation::{AggregationCircuit, AggregationConfigParams, VerifierUniversality},
    },
};
use serde::{Deserialize, Serialize};

use crate::{
    error::{Result, ZkError},
    snark::{self, Transcript, guarded},
    storage::{StorageProofs, StorageVks, fr_to_words, words_to_fr},
};

/// Number of accumulator limbs at the front of an aggregation proof's instances.
pub const ACCUMULATOR_LIMBS: usize = 12;

/// The aggregation circuit's layout, fixed at keygen.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AggPinning {
    /// Column counts and `k`.
    pub params: AggregationConfigParams,
    /// Where the virtual cells break into columns.
    pub break_points: MultiPhaseThreadBreakPoints,
}

/// An aggregated storage proof (Keccak transcript: verifiable by the EVM).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AggregatedProof {
    /// Accumulator limbs, then the statement's instances (32-byte big-endian words).
    pub instances: Vec<B256>,
    /// The proof.
    #[serde(with = "crate::storage::hex_bytes")]
    pub proof: Vec<u8>,
}

fn snarks(
    params: &ParamsKZG<Bn256>,
    keccak_params_kzg: &ParamsKZG<Bn256>,
    vks: &StorageVks,
    proofs: &StorageProofs,
) -> Result<Vec<Snark>> {
    if proofs.transcript != Transcript::Poseidon {
        return Err(ZkError::Rejected {
            circuit: "aggregation",
            reason: "inner proofs must use the Poseidon transcript".into(),
        });
    }
    let storage_instances = words_to_fr("storage", &proofs.storage_instances)?;
    let keccak_instances = words_to_fr("keccak", &proofs.keccak_instances)?;
    let storage_protocol = compile(
        params,
        &vks.storage,
        Config::kzg().with_num_instance(vec![storage_instances.len()]),
    );
    let keccak_protocol = compile(
        keccak_params_kzg,
        &vks.keccak,
        Config::kzg().with_num_instance(vec![keccak_instances.len()]),
    );
    Ok(vec![
        Snark::new(
            storage_protocol,
            vec![storage_instances],
            proofs.storage_proof.clone(),
        ),
        Snark::new(
            keccak_protocol,
            vec![keccak_instances],
            proofs.keccak_proof.clone(),
        ),
    ])
}

fn circuit(
    stage: CircuitBuilderStage,
    params: AggregationConfigParams,
    agg_params_kzg: &ParamsKZG<Bn256>,
    snarks: Vec<Snark>,
) -> Result<AggregationCircuit> {
    guarded("aggregation", "witness", || {
        let mut c = AggregationCircuit::new::<SHPLONK>(
            stage,
            params,
            agg_params_kzg,
            snarks,
            VerifierUniversality::None,
        );
        let prev = c.previous_instances().clone();
        let storage = &prev[0];
        let keccak = &prev[1];
        let commit = *storage
            .last()
            .expect("storage instances end with the keccak commitment");
        c.builder.main(0).constrain_equal(&commit, &keccak[0]);
        c.builder.assigned_instances[0].extend_from_slice(&storage[..storage.len() - 1]);
        c
    })
}

/// Keys of the aggregation circuit.
#[derive(Debug)]
pub struct AggKeys {
    /// Proving key.
    pub pk: ProvingKey<G1Affine>,
    /// Layout.
    pub pinning: AggPinning,
}

/// Generates the aggregation keys (laid out with a real pair of inner proofs: the layout
/// depends only on the inner circuits).
///
/// # Errors
/// [`ZkError::Halo2`].
pub fn keygen(
    agg_k: u32,
    agg_params_kzg: &ParamsKZG<Bn256>,
    params: &ParamsKZG<Bn256>,
    keccak_params_kzg: &ParamsKZG<Bn256>,
    vks: &StorageVks,
    proofs: &StorageProofs,
) -> Result<AggKeys> {
    let snarks = snarks(params, keccak_params_kzg, vks, proofs)?;
    let start = AggregationConfigParams {
        degree: agg_k,
        lookup_bits: agg_k as usize - 1,
        ..Default::default()
    };
    let mut c = circuit(CircuitBuilderStage::Keygen, start, agg_params_kzg, snarks)?;
    let params = guarded("aggregation", "configure", || c.calculate_params(Some(10)))?;
    let pk = snark::keygen("aggregation", agg_params_kzg, &c)?;
    Ok(AggKeys {
        pk,
        pinning: AggPinning {
            params,
            break_points: c.break_points(),
        },
    })
}

/// Aggregates a storage proof pair into one proof for the EVM.
///
/// # Errors
/// [`ZkError::Halo2`], [`ZkError::Rejected`] for inner proofs of the wrong transcript.
pub fn prove(
    keys: &AggKeys,
    agg_params_kzg: &ParamsKZG<Bn256>,
    params: &ParamsKZG<Bn256>,
    keccak_params_kzg: &ParamsKZG<Bn256>,
    vks: &StorageVks,
    proofs: &StorageProofs,
) -> Result<AggregatedProof> {
    let snarks = snarks(params, keccak_params_kzg, vks, proofs)?;
    let c = circuit(
        CircuitBuilderStage::Prover,
        keys.pinning.params,
        agg_params_kzg,
        snarks,
    )?
    .use_break_points(keys.pinning.break_points.clone());
    let instances = vec![
        c.builder.assigned_instances[0]
            .iter()
            .map(|v| *v.value())
            .collect::<Vec<Fr>>(),
    ];
    let proof = snark::prove(
        "aggregation",
        agg_params_kzg,
        &keys.pk,
        c,
        &instances,
        Transcript::Evm,
    )?;
    Ok(AggregatedProof {
        instances: fr_to_words(&instances[0]),
        proof,
    })
}

/// Verifies an aggregated proof natively: the SNARK, then the accumulator's pairing.
///
/// # Errors
/// [`ZkError::Rejected`], [`ZkError::Params`].
pub fn verify(
    agg_params_kzg: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    proof: &AggregatedProof,
) -> Result<()> {
    let instances = words_to_fr("aggregation", &proof.instances)?;
    if instances.len() < ACCUMULATOR_LIMBS {
        return Err(ZkError::Rejected {
            circuit: "aggregation",
            reason: format!(
                "{} instances, fewer than the accumulator's 12",
                instances.len()
            ),
        });
    }
    snark::verify(
        "aggregation",
        agg_params_kzg,
        vk,
        &proof.proof,
        &[instances.clone()],
        Transcript::Evm,
    )?;
    check_accumulator(agg_params_kzg, &instances[..ACCUMULATOR_LIMBS])
}

/// The deferred pairing: `e(lhs, [1]_2) == e(rhs, [tau]_2)` for the accumulator the proof
/// carries in its first 12 instances (4 coordinates of 3 limbs of 88 bits).
fn check_accumulator(params: &ParamsKZG<Bn256>, limbs: &[Fr]) -> Result<()> {
    use axiom_eth::halo2_proofs::halo2curves::{
        CurveAffine,
        bn256::{Fq, G2Affine, Gt},
        group::ff::PrimeField,
        pairing::{MillerLoopResult, MultiMillerLoop},
    };
    let rejected = |reason: &str| ZkError::Rejected {
        circuit: "aggregation",
        reason: reason.to_string(),
    };
    let fq = |l: &[Fr]| -> Result<Fq> {
        // value = l0 + l1 * 2^88 + l2 * 2^176, each limb < 2^88
        let mut bytes = [0u8; 32];
        let mut acc = num_bigint::BigUint::default();
        for (i, limb) in l.iter().enumerate() {
            let v = num_bigint::BigUint::from_bytes_le(&limb.to_bytes());
            if v.bits() > 88 {
                return Err(rejected("accumulator limb exceeds 88 bits"));
            }
            acc += v << (88 * i);
        }
        let le = acc.to_bytes_le();
        if le.len() > 32 {
            return Err(rejected("accumulator coordinate too large"));
        }
        bytes[..le.len()].copy_from_slice(&le);
        Option::from(Fq::from_repr(bytes))
            .ok_or_else(|| rejected("accumulator coordinate not in Fq"))
    };
    let point = |x: Fq, y: Fq| -> Result<G1Affine> {
        Option::from(G1Affine::from_xy(x, y))
            .ok_or_else(|| rejected("accumulator point not on the curve"))
    };
    let lhs = point(fq(&limbs[0..3])?, fq(&limbs[3..6])?)?;
    let rhs = point(fq(&limbs[6..9])?, fq(&limbs[9..12])?)?;
    let g2 = params.g2();
    let s_g2 = params.s_g2();
    let neg_s_g2: G2Affine = -s_g2;
    let ok = Bn256::multi_miller_loop(&[(&lhs, &g2.into()), (&rhs, &neg_s_g2.into())])
        .final_exponentiation()
        == Gt::identity();
    if ok {
        Ok(())
    } else {
        Err(rejected("accumulator pairing check fails"))
    }
}
