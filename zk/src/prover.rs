//! The prover as the CLI and tests use it: parameters and keys from their directories
//! (generated and cached on first use), proofs written to and checked from one JSON file.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use axiom_eth::{
    halo2_proofs::{
        SerdeFormat,
        halo2curves::bn256::{Bn256, G1Affine},
        plonk::{ProvingKey, VerifyingKey},
        poly::kzg::commitment::ParamsKZG,
    },
    snark_verifier_sdk::halo2::aggregation::AggregationCircuit,
};
use serde::{Deserialize, Serialize};

use crate::{
    aggregate::{self, AggKeys, AggPinning, AggregatedProof},
    error::{Result, ZkError},
    evm,
    params::{self, ParamsSource},
    snark::{Transcript, guarded},
    storage::{
        self, KeyCache, StorageConfig, StorageKeys, StorageProofs, StorageVks, write_atomic,
    },
    witness::{StorageClaim, StorageWitness},
};

/// The witness the keys are laid out with when no other is at hand (a storage slot of a
/// contract on an anvil dev chain; see `testdata/README.md`). The layout depends only on the
/// configuration, so any verified witness gives the same keys.
pub(crate) const REFERENCE_WITNESS: &str = include_str!("../testdata/storage-witness-dev.json");

/// File format version of [`StorageProofFile`].
pub(crate) const PROOF_FILE_VERSION: u32 = 1;

/// What `cairn-zk prove storage` writes: the claim, the two component proofs, and the
/// aggregated proof the EVM verifier takes.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StorageProofFile {
    /// Format version.
    pub version: u32,
    /// The circuit configuration (its keys verify the proofs).
    pub config: StorageConfig,
    /// Where the KZG parameters came from (`insecure-dev` or a ceremony file).
    pub params: String,
    /// What is proved.
    pub claim: StorageClaim,
    /// The storage and Keccak shard proofs (Poseidon transcripts).
    pub components: StorageProofs,
    /// Both aggregated into one proof (Keccak transcript), if asked for.
    pub aggregated: Option<AggregatedProof>,
}

impl StorageProofFile {
    /// Reads a proof file.
    ///
    /// # Errors
    /// [`ZkError::Io`], [`ZkError::ProofFile`].
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(ZkError::io(path))?;
        let file: Self = serde_json::from_str(&text).map_err(|e| ZkError::ProofFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        if file.version != PROOF_FILE_VERSION {
            return Err(ZkError::ProofFile {
                path: path.to_path_buf(),
                reason: format!(
                    "version {}, this build reads {PROOF_FILE_VERSION}",
                    file.version
                ),
            });
        }
        Ok(file)
    }

    /// Writes it (atomically).
    ///
    /// # Errors
    /// [`ZkError::Io`].
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomic(path, |w| {
            serde_json::to_writer_pretty(w, self).map_err(std::io::Error::other)
        })
    }
}

/// Durations of the phases of one run (what the CLI prints and the bench tabulates).
#[derive(Clone, Debug, Default)]
pub struct Timings {
    /// (phase, duration) in order.
    pub phases: Vec<(String, Duration)>,
}

impl Timings {
    fn record<T>(&mut self, phase: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        tracing::info!(target: "cairn::zk", phase, "start");
        let start = Instant::now();
        let out = f()?;
        let took = start.elapsed();
        tracing::info!(target: "cairn::zk", phase, secs = took.as_secs_f64(), peak_rss_mib = peak_rss_mib(), "done");
        self.phases.push((phase.to_string(), took));
        Ok(out)
    }

    /// The duration of `phase`, if it ran.
    pub fn get(&self, phase: &str) -> Option<Duration> {
        self.phases
            .iter()
            .find(|(p, _)| p == phase)
            .map(|(_, d)| *d)
    }
}

/// Peak resident memory of this process so far (`VmHWM`), in MiB.
pub fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<u64>().ok())
            })
        })
        .map_or(0, |kb| kb / 1024)
}

/// Parameters, keys and configuration: everything needed to prove and verify.
#[derive(Debug)]
pub struct Prover {
    params_dir: PathBuf,
    keys_dir: PathBuf,
    config: StorageConfig,
    /// Timings of what this prover did so far.
    pub timings: Timings,
}

struct Srs {
    storage: ParamsKZG<Bn256>,
    keccak: ParamsKZG<Bn256>,
    source: ParamsSource,
}

impl Prover {
    /// A prover of `config` with KZG parameters in `params_dir` and keys cached in
    /// `keys_dir`.
    pub fn new(params_dir: PathBuf, keys_dir: PathBuf, config: StorageConfig) -> Self {
        Self {
            params_dir,
            keys_dir,
            config,
            timings: Timings::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &StorageConfig {
        &self.config
    }

    fn params(&mut self, k: u32) -> Result<(ParamsKZG<Bn256>, ParamsSource)> {
        let dir = self.params_dir.clone();
        let (params, source) = self.timings.record(&format!("params k={k}"), || {
            params::load_or_generate(&dir, k)
        })?;
        if source.is_insecure() {
            tracing::warn!(target: "cairn::zk", "{source}");
        }
        Ok((params, source))
    }

    fn srs(&mut self) -> Result<Srs> {
        let (storage, source) = self.params(self.config.k)?;
        let keccak = if self.config.keccak_k == self.config.k {
            storage.clone()
        } else {
            self.params(self.config.keccak_k)?.0
        };
        Ok(Srs {
            storage,
            keccak,
            source,
        })
    }

    fn cache(&self) -> KeyCache {
        KeyCache::new(&self.keys_dir, &self.config)
    }

    fn storage_keys(&mut self, srs: &Srs, witness: Option<&StorageWitness>) -> Result<StorageKeys> {
        let cache = self.cache();
        let config = self.config.clone();
        if let Some(keys) = self.timings.record("load keys", || cache.load(&config))? {
            return Ok(keys);
        }
        let reference;
        let witness = match witness {
            Some(w) => w,
            None => {
                reference = reference_witness()?;
                &reference
            }
        };
        let keys = self.timings.record("keygen storage+keccak", || {
            storage::keygen(&config, &srs.storage, &srs.keccak, witness)
        })?;
        cache.store(&keys)?;
        Ok(keys)
    }

    fn vks(&mut self, srs: &Srs) -> Result<StorageVks> {
        let cache = self.cache();
        let config = self.config.clone();
        if let Some(vks) = cache.load_vks(&config)? {
            return Ok(vks);
        }
        let keys = self.storage_keys(srs, None)?;
        Ok(StorageVks {
            storage: keys.storage_pk.get_vk().clone(),
            keccak: keys.keccak_pk.get_vk().clone(),
        })
    }

    fn agg_paths(&self) -> (PathBuf, PathBuf, PathBuf) {
        let dir = self.cache().dir().to_path_buf();
        (
            dir.join("aggregation.pk"),
            dir.join("aggregation.vk"),
            dir.join("aggregation.json"),
        )
    }

    fn agg_keys(
        &mut self,
        agg: &ParamsKZG<Bn256>,
        srs: &Srs,
        vks: &StorageVks,
        proofs: &StorageProofs,
    ) -> Result<AggKeys> {
        let (pk_path, vk_path, pin_path) = self.agg_paths();
        if pin_path.is_file() && pk_path.is_file() {
            let pinning: AggPinning = read_json(&pin_path)?;
            let pk = self.timings.record("load aggregation key", || {
                read_pk_agg(&pk_path, pinning.params)
            })?;
            return Ok(AggKeys { pk, pinning });
        }
        let k = self.config.agg_k;
        let keys = self.timings.record("keygen aggregation", || {
            aggregate::keygen(k, agg, &srs.storage, &srs.keccak, vks, proofs)
        })?;
        let _ = std::fs::remove_file(&pin_path);
        write_atomic(&pk_path, |w| keys.pk.write(w, SerdeFormat::RawBytes))?;
        write_atomic(&vk_path, |w| {
            keys.pk.get_vk().write(w, SerdeFormat::RawBytes)
        })?;
        write_atomic(&pin_path, |w| {
            serde_json::to_writer_pretty(w, &keys.pinning).map_err(std::io::Error::other)
        })?;
        Ok(keys)
    }

    fn agg_vk(
        &mut self,
        agg: &ParamsKZG<Bn256>,
        srs: &Srs,
        vks: &StorageVks,
    ) -> Result<(VerifyingKey<G1Affine>, AggPinning)> {
        let (_, vk_path, pin_path) = self.agg_paths();
        if pin_path.is_file() && vk_path.is_file() {
            let pinning: AggPinning = read_json(&pin_path)?;
            let file = std::fs::File::open(&vk_path).map_err(ZkError::io(&vk_path))?;
            let mut r = std::io::BufReader::new(file);
            let vk = guarded("keys", "read", || {
                VerifyingKey::read::<_, AggregationCircuit>(
                    &mut r,
                    SerdeFormat::RawBytes,
                    pinning.params,
                )
            })?
            .map_err(|e| ZkError::Key {
                path: vk_path.clone(),
                reason: e.to_string(),
            })?;
            return Ok((vk, pinning));
        }
        // No aggregation key yet: make one from a proof of the reference witness.
        let witness = reference_witness()?;
        let keys = self.storage_keys(srs, Some(&witness))?;
        let (_, proofs) =
            self.timings
                .record("prove reference (for aggregation keygen)", || {
                    storage::prove(
                        &keys,
                        &srs.storage,
                        &srs.keccak,
                        &witness,
                        Transcript::Poseidon,
                    )
                })?;
        let agg_keys = self.agg_keys(agg, srs, vks, &proofs)?;
        Ok((agg_keys.pk.get_vk().clone(), agg_keys.pinning))
    }

    /// Proves `witness` (after verifying it natively): the storage and Keccak shard proofs —
    /// for the EVM (Keccak transcripts, verified on chain by the pair verifier) or, with
    /// `aggregate`, for aggregation (Poseidon transcripts) together with their aggregation
    /// (verified on chain by the aggregation verifier). Keys are generated and cached on first
    /// use.
    ///
    /// # Errors
    /// Witness errors (before any proving), [`ZkError::Halo2`], I/O.
    pub fn prove_storage(
        &mut self,
        witness: &StorageWitness,
        aggregate: bool,
    ) -> Result<StorageProofFile> {
        let claim = witness.verify(self.config.limits)?;
        if witness.proof.storage_proof.len() != self.config.num_slots {
            return Err(ZkError::SlotCount {
                got: witness.proof.storage_proof.len(),
                expected: self.config.num_slots,
            });
        }
        let srs = self.srs()?;
        let keys = self.storage_keys(&srs, Some(witness))?;
        // Proofs to aggregate use the Poseidon transcript; proofs for the EVM, Keccak.
        let transcript = if aggregate {
            Transcript::Poseidon
        } else {
            Transcript::Evm
        };
        let (_, components) = self.timings.record("prove storage+keccak", || {
            storage::prove(&keys, &srs.storage, &srs.keccak, witness, transcript)
        })?;
        let aggregated = if aggregate {
            let vks = StorageVks {
                storage: keys.storage_pk.get_vk().clone(),
                keccak: keys.keccak_pk.get_vk().clone(),
            };
            drop(keys);
            let (agg, _) = self.params(self.config.agg_k)?;
            let agg_keys = self.agg_keys(&agg, &srs, &vks, &components)?;
            Some(self.timings.record("prove aggregation", || {
                aggregate::prove(
                    &agg_keys,
                    &agg,
                    &srs.storage,
                    &srs.keccak,
                    &vks,
                    &components,
                )
            })?)
        } else {
            None
        };
        Ok(StorageProofFile {
            version: PROOF_FILE_VERSION,
            config: self.config.clone(),
            params: params_label(&srs.source),
            claim,
            components,
            aggregated,
        })
    }

    /// Verifies a proof file natively: both component proofs, their shared Keccak
    /// commitment, the claim they encode, and the aggregated proof (SNARK and pairing) with
    /// the claim it re-exposes.
    ///
    /// # Errors
    /// [`ZkError::Rejected`] (with the circuit and reason), [`ZkError::Params`],
    /// [`ZkError::Key`].
    pub fn verify(&mut self, file: &StorageProofFile) -> Result<()> {
        if file.config != self.config {
            return Err(ZkError::Rejected {
                circuit: "storage",
                reason: format!(
                    "proof is for configuration {:?}, the verifier has {:?} (another circuit)",
                    file.config.name, self.config.name
                ),
            });
        }
        let srs = self.srs()?;
        let vks = self.vks(&srs)?;
        self.timings.record("verify storage+keccak", || {
            storage::verify(
                &self.config,
                &vks,
                &srs.storage,
                &srs.keccak,
                &file.claim,
                &file.components,
            )
        })?;
        if let Some(agg_proof) = &file.aggregated {
            let (agg, _) = self.params(self.config.agg_k)?;
            let (vk, _) = self.agg_vk(&agg, &srs, &vks)?;
            let expected = storage::fr_to_words(&storage::claim_instances(&file.claim));
            if agg_proof.instances.len() != aggregate::ACCUMULATOR_LIMBS + expected.len()
                || agg_proof.instances[aggregate::ACCUMULATOR_LIMBS..] != expected[..]
            {
                return Err(ZkError::Rejected {
                    circuit: "aggregation",
                    reason: "public instances do not encode the claim".into(),
                });
            }
            self.timings.record("verify aggregation", || {
                aggregate::verify(&agg, &vk, agg_proof)
            })?;
        }
        Ok(())
    }

    /// The Solidity verifier of this configuration's aggregated proofs (generating the
    /// keys from the reference witness when none are cached).
    ///
    /// # Errors
    /// [`ZkError::Evm`], key and parameter errors.
    pub fn evm_verifier(&mut self) -> Result<String> {
        let srs = self.srs()?;
        let vks = self.vks(&srs)?;
        let (agg, _) = self.params(self.config.agg_k)?;
        let (vk, _) = self.agg_vk(&agg, &srs, &vks)?;
        let n = aggregate::ACCUMULATOR_LIMBS + 4 + 4 * self.config.num_slots;
        self.timings.record("generate evm verifier", || {
            evm::generate_solidity(&agg, &vk, vec![n], true)
        })
    }

    /// One Solidity file verifying this configuration's proof pairs (proved without
    /// aggregation): the storage and Keccak shard verifiers and the
    /// `CairnZkStorageVerifier` wrapper.
    ///
    /// # Errors
    /// [`ZkError::Evm`], key and parameter errors.
    pub fn evm_verifier_components(&mut self) -> Result<String> {
        let srs = self.srs()?;
        let vks = self.vks(&srs)?;
        let n = self.config.num_storage_instances();
        self.timings.record("generate evm verifiers", || {
            let storage_sol = evm::generate_solidity(&srs.storage, &vks.storage, vec![n], false)?;
            let keccak_sol = evm::generate_solidity(&srs.keccak, &vks.keccak, vec![1], false)?;
            Ok(evm::components_source(&storage_sol, &keccak_sol))
        })
    }

    /// Compiles the verifier of `file`'s kind, deploys it on `rpc` (a dev chain with an
    /// unlocked account) and calls `verify(proof, instances)` with the file's proof.
    ///
    /// # Errors
    /// [`ZkError::Evm`], [`ZkError::Rpc`], [`ZkError::Tool`], key and parameter errors.
    pub fn verify_on_chain(
        &mut self,
        file: &StorageProofFile,
        rpc: &crate::rpc::Rpc,
    ) -> Result<(evm::Deployed, evm::OnChain, evm::Compiled)> {
        let (compiled, proof, instances) = match &file.aggregated {
            Some(agg) => {
                let sol = self.evm_verifier()?;
                let compiled = self
                    .timings
                    .record("solc", || evm::compile_contracts(&sol))?;
                (compiled, agg.proof.clone(), agg.instances.clone())
            }
            None => {
                let sol = self.evm_verifier_components()?;
                let compiled = self.timings.record("solc", || {
                    evm::compile_source(
                        &sol,
                        &["StorageHalo2Verifier", "KeccakHalo2Verifier"],
                        "CairnZkStorageVerifier",
                    )
                })?;
                let (proof, instances) = evm::components_calldata(&file.components)?;
                (compiled, proof, instances)
            }
        };
        let deployed = self.timings.record("deploy verifier", || {
            evm::deploy(rpc, &compiled, instances.len())
        })?;
        let outcome = self.timings.record("verify on chain", || {
            evm::verify_on_chain(rpc, deployed.wrapper, &proof, &instances)
        })?;
        Ok((deployed, outcome, compiled))
    }
}

fn params_label(source: &ParamsSource) -> String {
    match source {
        ParamsSource::InsecureDev { .. } => "insecure-dev".into(),
        ParamsSource::Ceremony { path, file_k } => format!("ceremony:{}:k{file_k}", path.display()),
    }
}

/// The bundled reference witness.
///
/// # Errors
/// [`ZkError::ProofFile`] if it does not parse (a build defect).
pub fn reference_witness() -> Result<StorageWitness> {
    serde_json::from_str(REFERENCE_WITNESS).map_err(|e| ZkError::ProofFile {
        path: "testdata/storage-witness-dev.json".into(),
        reason: e.to_string(),
    })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(ZkError::io(path))?;
    serde_json::from_str(&text).map_err(|e| ZkError::Key {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn read_pk_agg(
    path: &Path,
    params: axiom_eth::snark_verifier_sdk::halo2::aggregation::AggregationConfigParams,
) -> Result<ProvingKey<G1Affine>> {
    let file = std::fs::File::open(path).map_err(ZkError::io(path))?;
    let mut r = std::io::BufReader::with_capacity(1 << 20, file);
    guarded("keys", "read", || {
        ProvingKey::read::<_, AggregationCircuit>(&mut r, SerdeFormat::RawBytes, params)
    })?
    .map_err(|e| ZkError::Key {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}
