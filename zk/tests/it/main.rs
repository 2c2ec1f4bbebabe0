//! Integration tests of `cairn-zk` against a real anvil dev chain and real solc-js.
//!
//! The proving test runs only in release builds (`cargo test --release`, as `.ci/run`
//! does): debug builds of halo2 take tens of minutes per proof. It prints why it skips.

use alloy_primitives::{B256, Bytes, U256, keccak256};
use cairn_devtools::require;
use cairn_zk::{
    Prover, StorageConfig, StorageProofFile, StorageWitness, ZkError,
    devchain::DevChain,
    evm,
    storage::{claim_instances, fr_to_words},
    witness::TrieLimits,
};
use serde_json::json;

/// The dev chain, or `None` (with the reason printed) when anvil or solc-js is missing and
/// `CAIRN_CI` is unset.
fn dev_chain() -> Option<DevChain> {
    match DevChain::start() {
        Ok(chain) => Some(chain),
        Err(ZkError::Tool(e)) => require::<DevChain>(Err(e)),
        Err(e) => panic!("dev chain: {e}"),
    }
}

fn dev_limits() -> TrieLimits {
    StorageConfig::dev().limits
}

fn witness(chain: &DevChain, slot: u64) -> StorageWitness {
    StorageWitness::fetch(
        &chain.rpc,
        chain.block,
        chain.contract,
        &[DevChain::slot(slot)],
    )
    .unwrap()
}

/// The claim the witness proves equals what the node answers through independent calls
/// (`eth_getStorageAt`, `eth_getBlockByNumber`), and the circuit's public instances are
/// exactly the encoding of that claim.
#[test]
fn native_claim_matches_node() {
    let Some(chain) = dev_chain() else {
        return;
    };
    for slot in [0u64, 1] {
        let w = witness(&chain, slot);
        let claim = w.verify(dev_limits()).unwrap();
        let value: U256 = chain
            .rpc
            .call(
                "eth_getStorageAt",
                vec![
                    json!(chain.contract),
                    json!(DevChain::slot(slot)),
                    json!(format!("0x{:x}", chain.block)),
                ],
            )
            .unwrap();
        let block: serde_json::Value = chain
            .rpc
            .call(
                "eth_getBlockByNumber",
                vec![json!(format!("0x{:x}", chain.block)), json!(false)],
            )
            .unwrap();
        let hash: B256 = serde_json::from_value(block["hash"].clone()).unwrap();
        assert_eq!(claim.block_hash, hash);
        assert_eq!(claim.block_number, chain.block);
        assert_eq!(claim.address, chain.contract);
        assert_eq!(claim.slots, vec![(DevChain::slot(slot), value)]);
        assert_eq!(
            keccak256(&w.header_rlp),
            hash,
            "the header hashed in-circuit is the node's"
        );
        if slot == 0 {
            assert_eq!(value, U256::from(42));
        }
        // Instances: hash (hi, lo), number, address, slot (hi, lo), value (hi, lo).
        let words = fr_to_words(&claim_instances(&claim));
        assert_eq!(words.len(), 8);
        assert_eq!(words[0].0[16..], hash.0[..16]);
        assert_eq!(words[1].0[16..], hash.0[16..]);
        assert_eq!(U256::from_be_bytes(words[2].0), U256::from(chain.block));
        assert_eq!(words[3].0[12..], chain.contract.0[..]);
        assert_eq!(U256::from_be_bytes(words[7].0), value);
    }
}

/// Witnesses the circuit cannot satisfy are refused natively, before any proving, with a
/// typed error.
#[test]
fn bad_witnesses_are_refused_before_proving() {
    let Some(chain) = dev_chain() else {
        return;
    };
    let good = witness(&chain, 0);
    good.verify(dev_limits()).unwrap();

    // A storage proof that does not match the storage root (a value the trie does not hold).
    let mut w = good.clone();
    w.proof.storage_proof[0].value = U256::from(43);
    assert!(
        matches!(w.verify(dev_limits()), Err(ZkError::StorageProof { .. })),
        "{:?}",
        w.verify(dev_limits())
    );

    // A storage proof into another storage root.
    let mut w = good.clone();
    w.proof.storage_hash = B256::repeat_byte(7);
    assert!(matches!(
        w.verify(dev_limits()),
        Err(ZkError::AccountProof { .. })
    ));

    // An account proof node tampered with.
    let mut w = good.clone();
    let mut node = w.proof.account_proof[0].to_vec();
    let last = node.len() - 1;
    node[last] ^= 1;
    w.proof.account_proof[0] = Bytes::from(node);
    assert!(matches!(
        w.verify(dev_limits()),
        Err(ZkError::AccountProof { .. })
    ));

    // A header that is not the block's.
    let mut w = good.clone();
    let mut h = w.header_rlp.to_vec();
    h[40] ^= 1;
    w.header_rlp = h.into();
    assert!(matches!(
        w.verify(dev_limits()),
        Err(ZkError::HeaderHashMismatch { .. })
    ));

    // Proofs deeper than the circuit takes.
    let tiny = TrieLimits {
        account_max_depth: 1,
        storage_max_depth: 1,
    };
    assert!(matches!(
        good.verify(tiny),
        Err(ZkError::ProofTooDeep {
            trie: "account",
            ..
        })
    ));

    // An empty slot (the circuit proves occupied slots only).
    let empty = StorageWitness::fetch(
        &chain.rpc,
        chain.block,
        chain.contract,
        &[DevChain::slot(77)],
    )
    .unwrap();
    assert!(matches!(
        empty.verify(dev_limits()),
        Err(ZkError::EmptySlot { .. })
    ));

    // A post-Prague header (21 fields) is refused with the reason.
    let prague = require(cairn_devtools::Anvil::spawn(&["--hardfork", "prague"])).unwrap();
    let rpc = cairn_zk::rpc::Rpc::new(&prague.url()).unwrap();
    let _: serde_json::Value = rpc.call("anvil_mine", vec![json!("0x1")]).unwrap();
    let accounts: Vec<alloy_primitives::Address> = rpc.call("eth_accounts", vec![]).unwrap();
    let w = StorageWitness::fetch(&rpc, 1, accounts[0], &[DevChain::slot(0)]).unwrap();
    assert!(matches!(
        w.verify(dev_limits()),
        Err(ZkError::HeaderUnsupported { .. })
    ));
}

/// The bundled reference witness is a verified witness of the dev configuration.
#[test]
fn reference_witness_verifies() {
    let w = cairn_zk::reference_witness().unwrap();
    let claim = w.verify(dev_limits()).unwrap();
    assert_eq!(claim.slots[0].1, U256::from(42));
}

/// Keygen, prove (storage + Keccak shard, EVM transcripts), native verify, on-chain verify
/// with the generated verifiers on anvil, and rejections: tampered proofs and instances
/// (native and on chain), a proof checked against another configuration, another circuit's
/// proof, parameters of the wrong size. `CAIRN_ZK_PARAMS` / `CAIRN_ZK_KEYS` reuse parameter
/// and key directories (otherwise both are made in a temporary directory).
#[test]
fn storage_end_to_end() {
    if cfg!(debug_assertions) {
        println!("skipped: proving runs in release builds only (cargo test --release)");
        return;
    }
    let Some(chain) = dev_chain() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = |var: &str, name: &str| {
        std::env::var_os(var).map_or_else(|| tmp.path().join(name), Into::into)
    };
    let params_dir = dir("CAIRN_ZK_PARAMS", "params");
    let keys_dir = dir("CAIRN_ZK_KEYS", "keys");
    let mut prover = Prover::new(params_dir.clone(), keys_dir.clone(), StorageConfig::dev());

    let w = witness(&chain, 0);
    let file = prover.prove_storage(&w, false).unwrap();
    for (phase, took) in &prover.timings.phases {
        println!("{phase:<44} {:>8.2} s", took.as_secs_f64());
    }
    println!(
        "storage proof {} bytes, keccak shard proof {} bytes, peak RSS {} MiB",
        file.components.storage_proof.len(),
        file.components.keccak_proof.len(),
        cairn_zk::peak_rss_mib()
    );
    assert_eq!(file.claim.slots, vec![(DevChain::slot(0), U256::from(42))]);
    assert_eq!(
        file.components.storage_instances[..8],
        fr_to_words(&claim_instances(&file.claim))[..]
    );
    let path = tmp.path().join("proof.json");
    file.write(&path).unwrap();
    let file = StorageProofFile::read(&path).unwrap();

    // Native verification, with keys read back from the cache by a fresh verifier.
    let mut verifier = Prover::new(params_dir.clone(), keys_dir.clone(), StorageConfig::dev());
    let started = std::time::Instant::now();
    verifier.verify(&file).unwrap();
    println!(
        "native verify {:.1} ms (with key loading)",
        started.elapsed().as_secs_f64() * 1e3
    );

    // Tampered proofs, a changed claim, another circuit's proof: rejected natively.
    let mut bad = file.clone();
    bad.components.storage_proof[100] ^= 1;
    assert!(matches!(
        verifier.verify(&bad),
        Err(ZkError::Rejected {
            circuit: "storage",
            ..
        })
    ));
    let mut bad = file.clone();
    bad.claim.slots[0].1 = U256::from(43);
    assert!(matches!(
        verifier.verify(&bad),
        Err(ZkError::Rejected { .. })
    ));
    let mut bad = file.clone();
    bad.components.keccak_proof[64] ^= 1;
    assert!(matches!(
        verifier.verify(&bad),
        Err(ZkError::Rejected {
            circuit: "keccak",
            ..
        })
    ));
    let mut bad = file.clone();
    bad.components.storage_proof = file.components.keccak_proof.clone();
    assert!(matches!(
        verifier.verify(&bad),
        Err(ZkError::Rejected {
            circuit: "storage",
            ..
        })
    ));
    let mut bad = file.clone();
    bad.components.transcript = cairn_zk::snark::Transcript::Poseidon;
    assert!(matches!(
        verifier.verify(&bad),
        Err(ZkError::Rejected { .. })
    ));
    // A proof file of another configuration (another key).
    let mut other = Prover::new(
        params_dir.clone(),
        keys_dir.clone(),
        StorageConfig::mainnet(),
    );
    assert!(matches!(other.verify(&file), Err(ZkError::Rejected { .. })));
    // Parameters of the wrong size.
    let (small, _) = cairn_zk::params::load_or_generate(&params_dir, 10).unwrap();
    let vks = cairn_zk::storage::KeyCache::new(&keys_dir, &StorageConfig::dev())
        .load_vks(&StorageConfig::dev())
        .unwrap()
        .unwrap();
    let err = cairn_zk::storage::verify(
        &StorageConfig::dev(),
        &vks,
        &small,
        &small,
        &file.claim,
        &file.components,
    )
    .unwrap_err();
    assert!(matches!(err, ZkError::Params { .. }), "{err}");

    // On chain: the valid proof is accepted (this guards against miscompiles such as viaIR's),
    // tampered proofs and instances are rejected.
    let (deployed, ok, compiled) = verifier.verify_on_chain(&file, &chain.rpc).unwrap();
    println!(
        "evm verifiers: runtime {:?} bytes, deploy {} gas, verify {} gas",
        compiled.runtime_sizes,
        deployed.deploy_gas,
        ok.gas.unwrap_or_default()
    );
    assert!(ok.accepted, "a valid proof must be accepted on chain");
    let (proof, instances) = evm::components_calldata(&file.components).unwrap();
    let on_chain = |proof: &[u8], instances: &[B256]| {
        evm::verify_on_chain(&chain.rpc, deployed.wrapper, proof, instances)
            .unwrap()
            .accepted
    };
    assert!(on_chain(&proof, &instances));
    let storage_words = file.components.storage_proof.len();
    let mut p = proof.clone();
    p[32 + 96] ^= 1; // in the storage proof
    assert!(!on_chain(&p, &instances));
    let mut p = proof.clone();
    p[32 + storage_words + 96] ^= 1; // in the keccak shard proof
    assert!(!on_chain(&p, &instances));
    let mut i = instances.clone();
    i[7] = B256::from(U256::from(43)); // the value
    assert!(!on_chain(&proof, &i));
    let mut i = instances.clone();
    i[8] = B256::from(U256::from(1)); // the keccak commitment
    assert!(!on_chain(&proof, &i));
    assert!(!on_chain(&proof, &instances[..8]));
}

/// The aggregated path: both proofs (Poseidon transcripts) aggregated with snark-verifier,
/// verified natively and by the aggregation verifier on anvil. Heavy (k = 20): run with
/// `cargo test --release -- --ignored aggregated` or see `cairn-zk bench`.
#[test]
#[ignore = "heavy: aggregation at k = 20; cairn-zk bench runs it"]
fn aggregated_end_to_end() {
    let Some(chain) = dev_chain() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = |var: &str, name: &str| {
        std::env::var_os(var).map_or_else(|| tmp.path().join(name), Into::into)
    };
    let mut prover = Prover::new(
        dir("CAIRN_ZK_PARAMS", "params"),
        dir("CAIRN_ZK_KEYS", "keys"),
        StorageConfig::dev(),
    );
    let file = prover.prove_storage(&witness(&chain, 0), true).unwrap();
    for (phase, took) in &prover.timings.phases {
        println!("{phase:<44} {:>8.2} s", took.as_secs_f64());
    }
    prover.verify(&file).unwrap();
    let mut bad = file.clone();
    bad.aggregated.as_mut().unwrap().proof[200] ^= 1;
    assert!(matches!(
        prover.verify(&bad),
        Err(ZkError::Rejected {
            circuit: "aggregation",
            ..
        })
    ));
    let (deployed, ok, compiled) = prover.verify_on_chain(&file, &chain.rpc).unwrap();
    println!(
        "aggregation verifier: runtime {:?} bytes, deploy {} gas, verify {} gas",
        compiled.runtime_sizes,
        deployed.deploy_gas,
        ok.gas.unwrap_or_default()
    );
    assert!(ok.accepted);
    let agg = file.aggregated.as_ref().unwrap();
    let mut p = agg.proof.clone();
    p[96] ^= 1;
    assert!(
        !evm::verify_on_chain(&chain.rpc, deployed.wrapper, &p, &agg.instances)
            .unwrap()
            .accepted
    );
    let mut i = agg.instances.clone();
    let last = i.len() - 1;
    i[last] = B256::from(U256::from(43));
    assert!(
        !evm::verify_on_chain(&chain.rpc, deployed.wrapper, &agg.proof, &i)
            .unwrap()
            .accepted
    );
}
