//! A ZK verifier (Kroma's interface) plugged into a deployed rollup that requires a ZK proof,
//! without redeploying it; the settler then settles with an attest proof and a ZK proof.
//!
//! No ZK proof of a batch exists in this tree (the Halo2 circuits of `zk/` prove storage,
//! not batches): the verifier here is `KeccakZkVerifier`, a TEST-ONLY contract with Kroma's
//! interface that accepts `keccak256(instances)` as the proof. It exercises the router, the
//! adapter's check that the instances carry the public-values hash, and the settler's ZK
//! path; a generated Halo2 verifier plugs into the same slot.

use crate::common::{anvil, chain, client, name};
use alloy_primitives::{B256, Bytes, U256, keccak256};
use alloy_sol_types::{SolCall, SolConstructor, SolValue};
use cairn_prover::{BackendId, BackendKind, PROGRAM_ID, SegProof};
use cairn_settle::{
    RunOptions, SegDir, Settler, Step,
    bench::{attest_proofs, verify_calldata},
    contracts::{CairnRollup, KeccakZkVerifier, ZkProofVerifier},
    deploy::{ProofTypeConfig, VerifierKind, deploy},
    dev::{dev_attesters, dev_config, write_seg},
    l1::Ctx,
    settler::read_tip,
};

/// `abi.encode(uint256[] proof, uint256[] instances)` for the test verifier, with the
/// public-values hash as instances `[hi, lo]` after `prefix` other instances.
fn zk_proof(pv_hash: B256, prefix: &[U256], break_proof: bool) -> Bytes {
    let h = U256::from_be_bytes(pv_hash.0);
    let mut instances = prefix.to_vec();
    instances.push(h >> 128);
    instances.push(h & ((U256::from(1) << 128) - U256::from(1)));
    let packed: Vec<u8> = instances
        .iter()
        .flat_map(|x| x.to_be_bytes::<32>())
        .collect();
    let mut word = U256::from_be_bytes(keccak256(&packed).0);
    if break_proof {
        word += U256::from(1);
    }
    (vec![word], instances).abi_encode_params().into()
}

async fn create(l1: &cairn_settle::L1, init: Vec<u8>) -> alloy_primitives::Address {
    let ctx = Ctx {
        batch: 0,
        kind: cairn_settle::TxKind::Deploy,
    };
    let tx = l1
        .prepare(None, init.into(), l1.nonce(true).await.unwrap(), ctx)
        .await
        .unwrap();
    l1.broadcast(&tx, ctx).await.unwrap();
    l1.confirm(&tx, ctx)
        .await
        .unwrap()
        .receipt
        .contract_address
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zk_verifier_plugs_into_a_deployed_rollup() {
    let Some(anvil) = anvil() else { return };
    let l1 = client(&anvil.url(), 0).await;
    let attesters = dev_attesters()[..1].to_vec();
    let mut config = dev_config(&attesters);
    // REQUIRE_ZK at deployment, with no verifier yet.
    config.proof.push(ProofTypeConfig {
        id: 3,
        backend: "zk/keccak-test".into(),
        required: true,
        verifier: VerifierKind::Zk,
        signers: vec![],
        zk_verifier: None,
        hash_index: 0,
    });
    let anchor = chain().anchor;
    config.chain.chain_id = Some(anchor.chain_id);
    config.chain.chain_config_hash = Some(anchor.chain_config_hash);
    config.chain.anchor_state_root = Some(anchor.state_root);
    config.chain.anchor_qm_root = Some(anchor.qm_root);
    config.check().unwrap();
    assert_eq!(config.anchor().unwrap(), anchor);
    let deployment = deploy(&l1, &config, chain().anchor).await.unwrap();
    let s = crate::common::Stack {
        l1: l1.clone(),
        deployment: deployment.clone(),
        attesters: attesters.clone(),
    };
    let b = chain().batch(1, 2);
    let pv = &b.public_values;
    s.commit(1, pv.hash(), b.binding.rootAfter).await.unwrap();
    let attest = attest_proofs(&deployment, &attesters, pv).unwrap();
    let zk = |data: Bytes| CairnRollup::Proof { proofType: 3, data };
    let good = zk(zk_proof(pv.hash(), &[U256::from(7)], false));
    let r = s
        .send(verify_calldata(
            1,
            pv,
            &b.binding,
            vec![attest[0].clone(), good.clone()],
        ))
        .await;
    assert_eq!(name(&r), "NoVerifier", "{r:?}");

    // Plug in: the Kroma-interface verifier and the adapter (hash after one other instance).
    let kroma = create(&l1, KeccakZkVerifier::BYTECODE.to_vec()).await;
    let mut init = ZkProofVerifier::BYTECODE.to_vec();
    init.extend(
        ZkProofVerifier::constructorCall {
            zkVerifier_: kroma,
            programId_: PROGRAM_ID,
            hashIndex_: U256::from(1),
        }
        .abi_encode(),
    );
    let adapter = create(&l1, init).await;
    s.send(
        CairnRollup::setVerifierCall {
            proofType: 3,
            verifier: adapter,
        }
        .abi_encode()
        .into(),
    )
    .await
    .unwrap();

    // The instances must carry this batch's public-values hash, and the proof must verify.
    let other_hash = zk(zk_proof(B256::repeat_byte(1), &[U256::from(7)], false));
    let r = s
        .send(verify_calldata(
            1,
            pv,
            &b.binding,
            vec![attest[0].clone(), other_hash],
        ))
        .await;
    assert_eq!(name(&r), "ZkPublicValuesNotBound", "{r:?}");
    let broken = zk(zk_proof(pv.hash(), &[U256::from(7)], true));
    let r = s
        .send(verify_calldata(
            1,
            pv,
            &b.binding,
            vec![attest[0].clone(), broken],
        ))
        .await;
    assert_eq!(name(&r), "ZkProofRejected", "{r:?}");
    let r = s
        .send(verify_calldata(1, pv, &b.binding, vec![attest[0].clone()]))
        .await;
    assert_eq!(name(&r), "MissingProofType", "{r:?}");

    // The settler settles batch 1 with both (the ZK proof checked on chain beforehand).
    let dir = tempfile::tempdir().unwrap();
    let mut seg = s.seg(b);
    seg.proofs.push(SegProof {
        backend: BackendId::new(BackendKind::Zk, "keccak-test").unwrap(),
        proof: good.data.clone(),
    });
    write_seg(dir.path(), &seg).unwrap();
    // And batch 2 with a broken ZK proof: refused natively, never sent.
    let b2 = chain().batch(3, 4);
    let mut seg2 = s.seg(b2);
    seg2.proofs.push(SegProof {
        backend: BackendId::new(BackendKind::Zk, "keccak-test").unwrap(),
        proof: zk_proof(b2.public_values.hash(), &[U256::from(7)], true),
    });
    write_seg(dir.path(), &seg2).unwrap();
    let mut settler = Settler::new(
        l1.clone(),
        deployment.clone(),
        &dir.path().join("settle.db"),
        SegDir::new(dir.path()).unwrap(),
    )
    .await
    .unwrap();
    let mut steps = Vec::new();
    let run = RunOptions {
        exit_when_idle: true,
        ..RunOptions::default()
    };
    settler.run(&run, |s| steps.push(s.clone())).await.unwrap();
    assert!(
        matches!(&steps[0], Step::Settled(s, _) if s.batch == 1),
        "{steps:?}"
    );
    let Step::Waiting { refused, .. } = &steps[1] else {
        panic!("{steps:?}")
    };
    assert!(refused[0].1.contains("ZkProofRejected"), "{refused:?}");
    let tip = read_tip(&l1, deployment.rollup).await.unwrap();
    assert_eq!(tip.last_verified, 1);
    assert_eq!(tip.qm_root, b.binding.rootAfter);
}
