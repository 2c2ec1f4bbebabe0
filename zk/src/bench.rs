//! `cairn-zk bench`: every circuit of a configuration, from cold keys, with its figures —
//! `k`, keygen, prove and verify time, proof size, peak memory — and, with a dev chain, the
//! EVM verifier's size and gas. Peak memory is the process's peak RSS during that phase
//! (`VmHWM`, reset through `/proc/self/clear_refs` before each phase).

use std::time::{Duration, Instant};

use crate::{
    aggregate,
    error::Result,
    evm, params,
    prover::reference_witness,
    snark::Transcript,
    storage::{self, StorageConfig, StorageVks},
};

/// One row of the table.
#[derive(Clone, Debug, Default)]
pub struct Row {
    /// Circuit.
    pub circuit: String,
    /// `log2` of its rows.
    pub k: u32,
    /// Keygen time.
    pub keygen: Duration,
    /// Proving time.
    pub prove: Duration,
    /// Native verification time.
    pub verify: Duration,
    /// Proof bytes.
    pub proof_bytes: usize,
    /// Peak RSS over keygen and proving, MiB.
    pub peak_mib: u64,
}

/// EVM figures of the aggregated proof.
#[derive(Clone, Debug, Default)]
pub struct EvmRow {
    /// Runtime bytecode of the generated verifier.
    pub runtime_bytes: usize,
    /// Gas to deploy it.
    pub deploy_gas: u64,
    /// Gas of a `verify` transaction (estimate, includes 21,000 and calldata).
    pub verify_gas: u64,
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn timed<T>(f: impl FnOnce() -> Result<T>) -> Result<(T, Duration)> {
    let start = Instant::now();
    let out = f()?;
    Ok((out, start.elapsed()))
}

/// Runs every circuit of `config` on the bundled reference witness with fresh keys;
/// `rpc` (a dev chain with unlocked accounts) adds the EVM figures.
///
/// # Errors
/// Any proving, verification or EVM error.
pub fn run(
    params_dir: &std::path::Path,
    config: &StorageConfig,
    rpc: Option<&crate::rpc::Rpc>,
) -> Result<(Vec<Row>, Option<EvmRow>)> {
    let witness = reference_witness()?;
    let (p, _) = params::load_or_generate(params_dir, config.k)?;
    let (pk_keccak, _) = params::load_or_generate(params_dir, config.keccak_k)?;
    let (pa, _) = params::load_or_generate(params_dir, config.agg_k)?;

    reset_peak();
    let (keys, keygen) = timed(|| storage::keygen(config, &p, &pk_keccak, &witness))?;
    let keygen_peak = crate::peak_rss_mib();
    reset_peak();
    let ((_, proofs), prove) =
        timed(|| storage::prove(&keys, &p, &pk_keccak, &witness, Transcript::Poseidon))?;
    let prove_peak = crate::peak_rss_mib();
    let vks = StorageVks {
        storage: keys.storage_pk.get_vk().clone(),
        keccak: keys.keccak_pk.get_vk().clone(),
    };
    let claim = witness.verify(config.limits)?;
    let (_, verify) = timed(|| storage::verify(config, &vks, &p, &pk_keccak, &claim, &proofs))?;
    // keygen and prove of the pair are measured together; the proof sizes apart.
    let mut rows = vec![Row {
        circuit: format!(
            "{}: storage (k={}, {} B) + keccak shard (k={}, {} B)",
            config.name,
            config.k,
            proofs.storage_proof.len(),
            config.keccak_k,
            proofs.keccak_proof.len()
        ),
        k: config.k,
        keygen,
        prove,
        verify,
        proof_bytes: proofs.storage_proof.len() + proofs.keccak_proof.len(),
        peak_mib: keygen_peak.max(prove_peak),
    }];
    drop(keys);

    reset_peak();
    let (agg_keys, agg_keygen) =
        timed(|| aggregate::keygen(config.agg_k, &pa, &p, &pk_keccak, &vks, &proofs))?;
    let agg_keygen_peak = crate::peak_rss_mib();
    reset_peak();
    let (agg, agg_prove) =
        timed(|| aggregate::prove(&agg_keys, &pa, &p, &pk_keccak, &vks, &proofs))?;
    let agg_prove_peak = crate::peak_rss_mib();
    let (_, agg_verify) = timed(|| aggregate::verify(&pa, agg_keys.pk.get_vk(), &agg))?;
    rows.push(Row {
        circuit: format!("{}: aggregation of both (EVM transcript)", config.name),
        k: config.agg_k,
        keygen: agg_keygen,
        prove: agg_prove,
        verify: agg_verify,
        proof_bytes: agg.proof.len(),
        peak_mib: agg_keygen_peak.max(agg_prove_peak),
    });

    let evm_row = match rpc {
        Some(rpc) => {
            let n = agg.instances.len();
            let sol = evm::generate_solidity(&pa, agg_keys.pk.get_vk(), vec![n], true)?;
            let compiled = evm::compile_contracts(&sol)?;
            let deployed = evm::deploy(rpc, &compiled, n)?;
            let outcome = evm::verify_on_chain(rpc, deployed.wrapper, &agg.proof, &agg.instances)?;
            Some(EvmRow {
                runtime_bytes: compiled.runtime_sizes.iter().sum(),
                deploy_gas: deployed.deploy_gas,
                verify_gas: outcome.gas.unwrap_or_default(),
            })
        }
        None => None,
    };
    Ok((rows, evm_row))
}

/// The table as text.
pub fn table(rows: &[Row], evm: Option<&EvmRow>) -> String {
    let mut out = format!(
        "{:<66} {:>3} {:>10} {:>10} {:>10} {:>11} {:>9}\n",
        "circuit", "k", "keygen s", "prove s", "verify ms", "proof B", "peak MiB"
    );
    for r in rows {
        out += &format!(
            "{:<66} {:>3} {:>10.1} {:>10.1} {:>10.1} {:>11} {:>9}\n",
            r.circuit,
            r.k,
            r.keygen.as_secs_f64(),
            r.prove.as_secs_f64(),
            r.verify.as_secs_f64() * 1e3,
            r.proof_bytes,
            r.peak_mib
        );
    }
    if let Some(e) = evm {
        out += &format!(
            "EVM verifier: runtime {} bytes, deploy {} gas, verify(proof, instances) {} gas\n",
            e.runtime_bytes, e.deploy_gas, e.verify_gas
        );
    }
    out
}
