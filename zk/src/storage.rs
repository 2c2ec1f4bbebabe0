//! The storage statement as two Halo2 circuits, the way Axiom's component framework splits it:
//!
//! - the **storage circuit** (axiom-eth's `EthBlockStorageCircuit` in an `EthCircuitImpl`):
//!   RLP-decodes the header, proves the account into `stateRoot` and each slot into the
//!   account's `storageRoot`, and makes every Keccak a *promise call*. Public instances:
//!   `blockHash` (hi, lo), `blockNumber`, `address`, then per slot `slot` (hi, lo) and
//!   `value` (hi, lo), and last the Poseidon commitment to the Keccak promise table;
//! - the **Keccak shard circuit** (zkevm-hashes' `KeccakComponentShardCircuit`): proves
//!   every Keccak of that table (padded to a fixed capacity) and publishes the same
//!   commitment.
//!
//! The statement holds when both proofs verify and the two commitments are equal: the
//! verifier (native, the on-chain wrapper, or the aggregation circuit) checks exactly that.

use std::path::{Path, PathBuf};

use alloy_primitives::{Address, B256};
use axiom_eth::{
    halo2_base::gates::{circuit::CircuitBuilderStage, flex_gate::MultiPhaseThreadBreakPoints},
    halo2_proofs::{
        SerdeFormat,
        halo2curves::bn256::{Bn256, Fr, G1Affine},
        plonk::{ProvingKey, VerifyingKey},
        poly::kzg::commitment::ParamsKZG,
    },
    keccak::types::{ComponentTypeKeccak, KeccakLogicalInput, OutputKeccakShard},
    mpt::MPTChip,
    rlp::RlpChip,
    storage::circuit::EthBlockStorageCircuit,
    utils::{
        build_utils::pinning::{CircuitPinningInstructions, RlcCircuitPinning},
        component::{
            ComponentPromiseResultsInMerkle, ComponentType, LogicalInputValue,
            promise_loader::single::PromiseLoaderParams, utils::try_from_key,
        },
        eth_circuit::{EthCircuitImpl, EthCircuitInstructions, EthCircuitParams},
    },
    zkevm_hashes::keccak::component::circuit::shard::{
        KeccakComponentShardCircuit, KeccakComponentShardCircuitParams,
    },
};
use ethers_core::types::Chain;
use serde::{Deserialize, Serialize};

use crate::{
    error::{Result, ZkError},
    snark::{self, Transcript, guarded},
    witness::{StorageClaim, StorageWitness, TrieLimits},
};

/// The storage circuit's type.
pub type StorageCircuit = EthCircuitImpl<Fr, EthBlockStorageCircuit<Fr>>;

/// Rows halo2 withholds at the bottom of the Keccak shard (blinding); zkevm-hashes' own tests
/// use 109 for this column layout.
const KECCAK_UNUSABLE_ROWS: usize = 109;
/// Range-check lookup bits of the storage circuit (bytes; axiom-eth's `ETH_LOOKUP_BITS`).
const STORAGE_LOOKUP_BITS: usize = 8;

/// One configuration of the storage circuits: its sizes decide which tries it can prove
/// into and what proving costs. The same configuration always gives the same keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageConfig {
    /// Name (keys are cached under it).
    pub name: String,
    /// The storage circuit has `2^k` rows.
    pub k: u32,
    /// Proof depths it accepts.
    pub limits: TrieLimits,
    /// Slots per proof (all of one account at one block).
    pub num_slots: usize,
    /// The Keccak shard has `2^keccak_k` rows.
    pub keccak_k: u32,
    /// Keccak permutations the shard holds (it must cover the worst case of the limits).
    pub keccak_capacity: usize,
    /// The aggregation circuit has `2^agg_k` rows.
    pub agg_k: u32,
}

impl StorageConfig {
    /// `dev`: tries of a dev chain (anvil: a few dozen accounts) — account and storage proofs
    /// of up to 6 nodes (16^5 leaves before a proof gets longer), one slot. What CI runs.
    pub fn dev() -> Self {
        let limits = TrieLimits {
            account_max_depth: 6,
            storage_max_depth: 6,
        };
        Self {
            name: "dev".into(),
            k: 16,
            limits,
            num_slots: 1,
            keccak_k: 18,
            keccak_capacity: keccak_capacity(limits, 1),
            agg_k: 20,
        }
    }

    /// `mainnet`: Axiom's depths for Ethereum mainnet (account 14, storage 13 nodes), one
    /// slot.
    pub fn mainnet() -> Self {
        let limits = TrieLimits {
            account_max_depth: 14,
            storage_max_depth: 13,
        };
        Self {
            name: "mainnet".into(),
            k: 17,
            limits,
            num_slots: 1,
            keccak_k: 18,
            keccak_capacity: keccak_capacity(limits, 1),
            agg_k: 21,
        }
    }

    /// A preset by name.
    pub fn preset(name: &str) -> Option<Self> {
        match name {
            "dev" => Some(Self::dev()),
            "mainnet" => Some(Self::mainnet()),
            _ => None,
        }
    }

    /// The largest `k` of its circuits (parameters of this size serve all of them).
    pub fn max_k(&self) -> u32 {
        self.k.max(self.keccak_k).max(self.agg_k)
    }

    /// Number of public instances of the storage circuit (with the Keccak commitment).
    pub fn num_storage_instances(&self) -> usize {
        4 + 4 * self.num_slots + 1
    }
}

/// The worst-case Keccak permutations of one storage proof: the header (at most 5 blocks of
/// 136 bytes), the address and slot keys, and every trie node at its largest (a 532-byte
/// branch: 4 blocks).
pub fn keccak_capacity(limits: TrieLimits, num_slots: usize) -> usize {
    const HEADER: usize = 5;
    const NODE: usize = 4;
    HEADER
        + 1
        + num_slots
        + NODE * (limits.account_max_depth + num_slots * limits.storage_max_depth)
}

/// The public instances the storage circuit exposes for `claim` (without the Keccak
/// commitment, which is the last instance).
pub fn claim_instances(claim: &StorageClaim) -> Vec<Fr> {
    let mut out = Vec::with_capacity(4 + 4 * claim.slots.len());
    out.extend(hi_lo(claim.block_hash));
    out.push(Fr::from(claim.block_number));
    out.push(address_fr(claim.address));
    for (slot, value) in &claim.slots {
        out.extend(hi_lo(*slot));
        out.extend(hi_lo(B256::from(value.to_be_bytes::<32>())));
    }
    out
}

/// A 32-byte word as two field elements (high and low 128 bits), as axiom-eth encodes it.
pub fn hi_lo(word: B256) -> [Fr; 2] {
    let hi = u128::from_be_bytes(word[..16].try_into().expect("16 bytes"));
    let lo = u128::from_be_bytes(word[16..].try_into().expect("16 bytes"));
    [u128_fr(hi), u128_fr(lo)]
}

fn u128_fr(v: u128) -> Fr {
    Fr::from_raw([v as u64, (v >> 64) as u64, 0, 0])
}

/// Layout of the storage circuit before `calculate_params` fills in the column counts.
fn dummy_rlc_params(k: usize) -> axiom_eth::rlc::circuit::RlcCircuitParams {
    axiom_eth::rlc::circuit::RlcCircuitParams {
        base: axiom_eth::halo2_base::gates::circuit::BaseCircuitParams {
            k,
            lookup_bits: Some(STORAGE_LOOKUP_BITS),
            num_instance_columns: 1,
            ..Default::default()
        },
        num_rlc_columns: 0,
    }
}

fn address_fr(address: Address) -> Fr {
    let mut word = [0u8; 32];
    word[12..].copy_from_slice(address.as_slice());
    fr_from_be(&word).expect("160 bits fit")
}

/// A big-endian 32-byte word as a field element, if it is below the modulus.
pub fn fr_from_be(word: &[u8; 32]) -> Option<Fr> {
    let mut le = *word;
    le.reverse();
    Option::from(Fr::from_bytes(&le))
}

/// A field element as a big-endian 32-byte word.
pub fn fr_to_be(fr: &Fr) -> [u8; 32] {
    let mut out = fr.to_bytes();
    out.reverse();
    out
}

/// Keys of one [`StorageConfig`], with the layout (pinning) the prover must reproduce.
pub struct StorageKeys {
    /// The configuration.
    pub config: StorageConfig,
    /// Storage circuit proving key.
    pub storage_pk: ProvingKey<G1Affine>,
    /// Storage circuit parameters and break points.
    pub storage_pinning: RlcCircuitPinning,
    /// Keccak shard proving key.
    pub keccak_pk: ProvingKey<G1Affine>,
    /// Keccak shard parameters.
    pub keccak_params: KeccakComponentShardCircuitParams,
    /// Keccak shard break points.
    pub keccak_break_points: MultiPhaseThreadBreakPoints,
}

impl std::fmt::Debug for StorageKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageKeys")
            .field("config", &self.config)
            .field("storage_pinning", &self.storage_pinning)
            .finish_non_exhaustive()
    }
}

/// The verifying half of [`StorageKeys`] (what `cairn-zk verify` loads).
#[derive(Debug)]
pub struct StorageVks {
    /// Storage circuit verifying key.
    pub storage: VerifyingKey<G1Affine>,
    /// Keccak shard verifying key.
    pub keccak: VerifyingKey<G1Affine>,
}

/// Both proofs of one storage statement.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StorageProofs {
    /// Storage circuit instances (claim, then the Keccak commitment) as 32-byte big-endian
    /// words.
    pub storage_instances: Vec<B256>,
    /// Storage circuit proof.
    #[serde(with = "hex_bytes")]
    pub storage_proof: Vec<u8>,
    /// Keccak shard instance (the commitment).
    pub keccak_instances: Vec<B256>,
    /// Keccak shard proof.
    #[serde(with = "hex_bytes")]
    pub keccak_proof: Vec<u8>,
    /// The transcript both proofs use.
    pub transcript: Transcript,
}

pub(crate) mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&alloy_primitives::hex::encode_prefixed(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        alloy_primitives::hex::decode(&s).map_err(serde::de::Error::custom)
    }
}

/// Instances as field elements, refusing words at or above the modulus.
pub fn words_to_fr(circuit: &'static str, words: &[B256]) -> Result<Vec<Fr>> {
    words
        .iter()
        .map(|w| {
            fr_from_be(&w.0).ok_or_else(|| ZkError::Rejected {
                circuit,
                reason: format!("instance {w} is not below the BN254 scalar modulus"),
            })
        })
        .collect()
}

/// Field elements as 32-byte words.
pub fn fr_to_words(frs: &[Fr]) -> Vec<B256> {
    frs.iter().map(|f| B256::from(fr_to_be(f))).collect()
}

/// The Keccak promise table of a storage circuit: every input it hashes, deduplicated, and
/// checked against the shard's capacity.
fn keccak_shard(circuit: &StorageCircuit, capacity: usize) -> Result<OutputKeccakShard> {
    let rlp = RlpChip::new(circuit.keccak_chip.range(), None);
    let mpt = MPTChip::new(rlp, &circuit.keccak_chip);
    guarded("storage", "witness", || {
        circuit
            .logic_inputs
            .virtual_assign_phase0(&mut circuit.rlc_builder.borrow_mut(), &mpt);
    })?;
    let calls = circuit
        .promise_collector
        .lock()
        .map_err(|_| ZkError::Halo2 {
            circuit: "storage",
            stage: "witness",
            reason: "promise collector poisoned".into(),
        })?
        .get_deduped_calls();
    circuit.clear_witnesses();
    let keccak_calls = calls
        .get(&ComponentTypeKeccak::<Fr>::get_type_id())
        .cloned()
        .unwrap_or_default();
    let mut used = 0;
    let mut responses = Vec::with_capacity(keccak_calls.len());
    for call in keccak_calls {
        let input = try_from_key::<KeccakLogicalInput>(&call.logical_input).map_err(|e| {
            ZkError::Halo2 {
                circuit: "storage",
                stage: "witness",
                reason: format!("keccak call: {e}"),
            }
        })?;
        used += <KeccakLogicalInput as LogicalInputValue<Fr>>::get_capacity(&input);
        responses.push((input.bytes.into(), None));
    }
    if used > capacity {
        return Err(ZkError::KeccakCapacity { used, capacity });
    }
    Ok(OutputKeccakShard {
        responses,
        capacity,
    })
}

fn fulfill(circuit: &StorageCircuit, shard: &OutputKeccakShard) -> Result<()> {
    let results = guarded("storage", "witness", || {
        ComponentPromiseResultsInMerkle::<Fr>::from_single_shard(
            shard.clone().into_logical_results(),
        )
    })?;
    circuit
        .fulfill_keccak_promise_results(results)
        .map_err(|e| ZkError::Halo2 {
            circuit: "storage",
            stage: "witness",
            reason: e.to_string(),
        })
}

fn storage_circuit(
    stage: CircuitBuilderStage,
    config: &StorageConfig,
    witness: &StorageWitness,
    pinning: Option<&RlcCircuitPinning>,
) -> Result<(StorageCircuit, OutputKeccakShard)> {
    if witness.proof.storage_proof.len() != config.num_slots {
        return Err(ZkError::SlotCount {
            got: witness.proof.storage_proof.len(),
            expected: config.num_slots,
        });
    }
    let input = witness.to_axiom_input(config.limits)?;
    let logic = EthBlockStorageCircuit::new(input, Chain::Mainnet);
    let promise = PromiseLoaderParams::new_for_one_shard(config.keccak_capacity);
    let circuit = match pinning {
        Some(p) => StorageCircuit::new_impl(stage, logic, p.params.clone(), promise)
            .use_break_points(p.break_points.clone()),
        None => {
            StorageCircuit::new_impl(stage, logic, dummy_rlc_params(config.k as usize), promise)
        }
    };
    let shard = keccak_shard(&circuit, config.keccak_capacity)?;
    fulfill(&circuit, &shard)?;
    Ok((circuit, shard))
}

fn keccak_params(config: &StorageConfig) -> Result<KeccakComponentShardCircuitParams> {
    guarded("keccak", "configure", || {
        let mut p = KeccakComponentShardCircuitParams::new(
            config.keccak_k as usize,
            KECCAK_UNUSABLE_ROWS,
            config.keccak_capacity,
            false,
        );
        p.base_circuit_params =
            KeccakComponentShardCircuit::<Fr>::calculate_base_circuit_params(&p);
        p
    })
}

/// Generates the keys of `config`, laying the circuit out with `witness` (any verified
/// witness: the layout depends only on the configuration).
///
/// # Errors
/// Witness errors, [`ZkError::Halo2`].
pub fn keygen(
    config: &StorageConfig,
    params: &ParamsKZG<Bn256>,
    keccak_params_kzg: &ParamsKZG<Bn256>,
    witness: &StorageWitness,
) -> Result<StorageKeys> {
    witness.verify(config.limits)?;
    let (mut circuit, _) = storage_circuit(CircuitBuilderStage::Keygen, config, witness, None)?;
    let eth_params: EthCircuitParams =
        guarded("storage", "configure", || circuit.calculate_params())?;
    tracing::debug!(target: "cairn::zk", rlc = ?eth_params.rlc, "storage circuit layout");
    let storage_pk = snark::keygen("storage", params, &circuit)?;
    let storage_pinning = circuit.pinning();

    let keccak_params = keccak_params(config)?;
    let keccak_circuit =
        KeccakComponentShardCircuit::<Fr>::new(vec![], keccak_params.clone(), false);
    let keccak_pk = snark::keygen("keccak", keccak_params_kzg, &keccak_circuit)?;
    Ok(StorageKeys {
        config: config.clone(),
        storage_pk,
        storage_pinning,
        keccak_pk,
        keccak_params,
        keccak_break_points: keccak_circuit.base_circuit_break_points(),
    })
}

/// Proves `witness` with `keys`: native verification first (typed errors for witnesses the
/// circuit cannot satisfy), then both proofs.
///
/// # Errors
/// Witness errors, [`ZkError::Halo2`].
pub fn prove(
    keys: &StorageKeys,
    params: &ParamsKZG<Bn256>,
    keccak_params_kzg: &ParamsKZG<Bn256>,
    witness: &StorageWitness,
    transcript: Transcript,
) -> Result<(StorageClaim, StorageProofs)> {
    let config = &keys.config;
    let claim = witness.verify(config.limits)?;
    let (circuit, shard) = storage_circuit(
        CircuitBuilderStage::Prover,
        config,
        witness,
        Some(&keys.storage_pinning),
    )?;
    let storage_instances = guarded("storage", "witness", || circuit.instances())?;
    let expected = claim_instances(&claim);
    let got = storage_instances.first().cloned().unwrap_or_default();
    if got.len() != expected.len() + 1 || got[..expected.len()] != expected[..] {
        return Err(ZkError::Unsatisfied {
            circuit: "storage",
            reason: "the circuit's public instances differ from the natively verified claim".into(),
        });
    }
    let storage_proof = snark::prove(
        "storage",
        params,
        &keys.storage_pk,
        circuit,
        &storage_instances,
        transcript,
    )?;

    let inputs: Vec<Vec<u8>> = shard.responses.iter().map(|(b, _)| b.to_vec()).collect();
    let keccak_circuit =
        KeccakComponentShardCircuit::<Fr>::new(inputs, keys.keccak_params.clone(), true);
    keccak_circuit.set_base_circuit_break_points(keys.keccak_break_points.clone());
    let keccak_instances = guarded("keccak", "witness", || {
        axiom_eth::snark_verifier_sdk::CircuitExt::instances(&keccak_circuit)
    })?;
    if keccak_instances.first().and_then(|c| c.first()) != got.last() {
        return Err(ZkError::Unsatisfied {
            circuit: "keccak",
            reason: "the keccak shard's commitment differs from the storage circuit's promise commitment".into(),
        });
    }
    let keccak_proof = snark::prove(
        "keccak",
        keccak_params_kzg,
        &keys.keccak_pk,
        keccak_circuit,
        &keccak_instances,
        transcript,
    )?;
    Ok((
        claim,
        StorageProofs {
            storage_instances: fr_to_words(&storage_instances[0]),
            storage_proof,
            keccak_instances: fr_to_words(&keccak_instances[0]),
            keccak_proof,
            transcript,
        },
    ))
}

/// Verifies both proofs natively, that their commitments agree, and that the storage
/// instances encode `claim`.
///
/// # Errors
/// [`ZkError::Rejected`], [`ZkError::Params`].
pub fn verify(
    config: &StorageConfig,
    vks: &StorageVks,
    params: &ParamsKZG<Bn256>,
    keccak_params_kzg: &ParamsKZG<Bn256>,
    claim: &StorageClaim,
    proofs: &StorageProofs,
) -> Result<()> {
    let storage_instances = words_to_fr("storage", &proofs.storage_instances)?;
    let keccak_instances = words_to_fr("keccak", &proofs.keccak_instances)?;
    let expected = claim_instances(claim);
    if storage_instances.len() != config.num_storage_instances()
        || storage_instances[..expected.len()] != expected[..]
    {
        return Err(ZkError::Rejected {
            circuit: "storage",
            reason: "public instances do not encode the claim".into(),
        });
    }
    if keccak_instances.len() != 1 || storage_instances.last() != keccak_instances.first() {
        return Err(ZkError::Rejected {
            circuit: "keccak",
            reason: "keccak commitment differs from the storage circuit's promise commitment"
                .into(),
        });
    }
    snark::verify(
        "storage",
        params,
        &vks.storage,
        &proofs.storage_proof,
        &[storage_instances],
        proofs.transcript,
    )?;
    snark::verify(
        "keccak",
        keccak_params_kzg,
        &vks.keccak,
        &proofs.keccak_proof,
        &[keccak_instances],
        proofs.transcript,
    )
}

/// The key cache of one configuration: `<dir>/storage-<name>/`.
#[derive(Clone, Debug)]
pub struct KeyCache {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct KeyMeta {
    config: StorageConfig,
    storage_pinning: RlcCircuitPinning,
    keccak_params: KeccakComponentShardCircuitParams,
    keccak_break_points: MultiPhaseThreadBreakPoints,
}

impl KeyCache {
    /// The cache of `config` under `root`.
    pub fn new(root: &Path, config: &StorageConfig) -> Self {
        Self {
            dir: root.join(format!("storage-{}", config.name)),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn meta(&self, config: &StorageConfig) -> Result<Option<KeyMeta>> {
        let path = self.dir.join("meta.json");
        if !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(ZkError::io(&path))?;
        let meta: KeyMeta = serde_json::from_str(&text).map_err(|e| ZkError::Key {
            path: path.clone(),
            reason: format!("unreadable: {e}"),
        })?;
        if &meta.config != config {
            return Err(ZkError::Key {
                path,
                reason: format!(
                    "cached for another configuration of {:?}; remove the directory to regenerate",
                    config.name
                ),
            });
        }
        Ok(Some(meta))
    }

    /// The proving keys, if cached.
    ///
    /// # Errors
    /// [`ZkError::Key`] for a cache of another configuration or unreadable keys.
    pub fn load(&self, config: &StorageConfig) -> Result<Option<StorageKeys>> {
        let Some(meta) = self.meta(config)? else {
            return Ok(None);
        };
        let storage_pk = read_pk::<StorageCircuit>(
            &self.dir.join("storage.pk"),
            EthCircuitParams::new(
                meta.storage_pinning.params.clone(),
                PromiseLoaderParams::new_for_one_shard(config.keccak_capacity),
            ),
        )?;
        let keccak_pk = read_pk::<KeccakComponentShardCircuit<Fr>>(
            &self.dir.join("keccak.pk"),
            meta.keccak_params.clone(),
        )?;
        Ok(Some(StorageKeys {
            config: config.clone(),
            storage_pk,
            storage_pinning: meta.storage_pinning,
            keccak_pk,
            keccak_params: meta.keccak_params,
            keccak_break_points: meta.keccak_break_points,
        }))
    }

    /// The verifying keys, if cached.
    ///
    /// # Errors
    /// [`ZkError::Key`].
    pub fn load_vks(&self, config: &StorageConfig) -> Result<Option<StorageVks>> {
        let Some(meta) = self.meta(config)? else {
            return Ok(None);
        };
        let storage = read_vk::<StorageCircuit>(
            &self.dir.join("storage.vk"),
            EthCircuitParams::new(
                meta.storage_pinning.params.clone(),
                PromiseLoaderParams::new_for_one_shard(config.keccak_capacity),
            ),
        )?;
        let keccak = read_vk::<KeccakComponentShardCircuit<Fr>>(
            &self.dir.join("keccak.vk"),
            meta.keccak_params,
        )?;
        Ok(Some(StorageVks { storage, keccak }))
    }

    /// Writes `keys` (atomically per file; `meta.json` last, so a half-written cache is never
    /// taken for a complete one).
    ///
    /// # Errors
    /// [`ZkError::Io`].
    pub fn store(&self, keys: &StorageKeys) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(ZkError::io(&self.dir))?;
        let _ = std::fs::remove_file(self.dir.join("meta.json"));
        write_atomic(&self.dir.join("storage.pk"), |w| {
            keys.storage_pk.write(w, SerdeFormat::RawBytes)
        })?;
        write_atomic(&self.dir.join("storage.vk"), |w| {
            keys.storage_pk.get_vk().write(w, SerdeFormat::RawBytes)
        })?;
        write_atomic(&self.dir.join("keccak.pk"), |w| {
            keys.keccak_pk.write(w, SerdeFormat::RawBytes)
        })?;
        write_atomic(&self.dir.join("keccak.vk"), |w| {
            keys.keccak_pk.get_vk().write(w, SerdeFormat::RawBytes)
        })?;
        let meta = KeyMeta {
            config: keys.config.clone(),
            storage_pinning: keys.storage_pinning.clone(),
            keccak_params: keys.keccak_params.clone(),
            keccak_break_points: keys.keccak_break_points.clone(),
        };
        write_atomic(&self.dir.join("meta.json"), |w| {
            serde_json::to_writer_pretty(w, &meta).map_err(std::io::Error::other)
        })
    }
}

pub(crate) fn write_atomic(
    path: &Path,
    f: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let file = std::fs::File::create(&tmp).map_err(ZkError::io(&tmp))?;
    let mut w = std::io::BufWriter::new(file);
    f(&mut w).map_err(ZkError::io(&tmp))?;
    std::io::Write::flush(&mut w).map_err(ZkError::io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(ZkError::io(path))
}

fn read_pk<C: axiom_eth::halo2_proofs::plonk::Circuit<Fr>>(
    path: &Path,
    params: C::Params,
) -> Result<ProvingKey<G1Affine>> {
    let file = std::fs::File::open(path).map_err(ZkError::io(path))?;
    let mut r = std::io::BufReader::with_capacity(1 << 20, file);
    guarded("keys", "read", || {
        ProvingKey::read::<_, C>(&mut r, SerdeFormat::RawBytes, params)
    })?
    .map_err(|e| ZkError::Key {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn read_vk<C: axiom_eth::halo2_proofs::plonk::Circuit<Fr>>(
    path: &Path,
    params: C::Params,
) -> Result<VerifyingKey<G1Affine>> {
    let file = std::fs::File::open(path).map_err(ZkError::io(path))?;
    let mut r = std::io::BufReader::new(file);
    guarded("keys", "read", || {
        VerifyingKey::read::<_, C>(&mut r, SerdeFormat::RawBytes, params)
    })?
    .map_err(|e| ZkError::Key {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_field_elements() {
        let word = B256::repeat_byte(0xab);
        let [hi, lo] = hi_lo(word);
        assert_eq!(fr_to_be(&hi)[16..], word[..16]);
        assert_eq!(fr_to_be(&lo)[16..], word[16..]);
        // The modulus itself and anything above is refused as an instance.
        assert!(fr_from_be(&[0xff; 32]).is_none());
        assert!(words_to_fr("storage", &[B256::repeat_byte(0xff)]).is_err());
        let x = Fr::from(12345u64);
        assert_eq!(fr_from_be(&fr_to_be(&x)), Some(x));
    }

    #[test]
    fn presets() {
        let dev = StorageConfig::dev();
        assert_eq!(dev.num_storage_instances(), 9);
        assert_eq!(dev.keccak_capacity, 5 + 1 + 1 + 4 * (6 + 6));
        assert_eq!(
            StorageConfig::preset("mainnet"),
            Some(StorageConfig::mainnet())
        );
        assert_eq!(StorageConfig::preset("nope"), None);
    }
}
