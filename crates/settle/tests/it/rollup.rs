//! The rollup on anvil: every rejection path, each by its custom error, and the accepting
//! path around them.

use crate::common::{BATCH, anvil, chain, client, name, stack};
use alloy_primitives::{B256, Bytes};
use alloy_sol_types::SolCall;
use cairn_prover::{AttestBackend, AttestDomain, AttestSigner, PROGRAM_ID, SignerRegistry};
use cairn_settle::{
    bench::verify_calldata,
    contracts::{AttestVerifier, CairnRollup},
    settler::{ONCHAIN_ATTEST_LEN, read_tip},
};
use std::sync::Arc;

/// An attest proof of `pv` by `signer` in `domain` for `program`, as the rollup takes it.
fn attest(
    signer: &AttestSigner,
    domain: AttestDomain,
    program: B256,
    pv: &cairn_prover::PublicValues,
    proof_type: u8,
) -> CairnRollup::Proof {
    let proof = AttestBackend::new(
        domain,
        Some(signer.clone()),
        Arc::new(SignerRegistry::new()),
    )
    .with_program_id(program)
    .attest(pv.clone())
    .unwrap()
    .encode();
    CairnRollup::Proof {
        proofType: proof_type,
        data: Bytes::copy_from_slice(&proof[..ONCHAIN_ATTEST_LEN]),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rejection_has_its_custom_error() {
    let Some(anvil) = anvil() else { return };
    let s = stack(&anvil.url()).await;
    let c = chain();
    let (b1, b2, b3) = (c.batch(1, 2), c.batch(3, 4), c.batch(5, 6));
    let pv1 = &b1.public_values;
    let verifier_a = s.deployment.proof_types[0].address;
    let domain_a = AttestDomain {
        chain_id: s.deployment.l1_chain_id,
        verifying_contract: verifier_a,
    };

    // Only the proposer commits, in order.
    let stranger = client(&anvil.url(), 2).await;
    let commit1: Bytes = CairnRollup::commitBatchCall {
        batch: 1,
        publicValuesHash: pv1.hash(),
        root: b1.binding.rootAfter,
    }
    .abi_encode()
    .into();
    let r = s.send_from(&stranger, s.rollup(), commit1.clone()).await;
    assert_eq!(name(&r), "NotProposer", "{r:?}");
    let r = s.commit(2, pv1.hash(), b1.binding.rootAfter).await;
    assert_eq!(
        r,
        Err(cairn_settle::Revert::Rollup(
            CairnRollup::CairnRollupErrors::CommitOutOfOrder(CairnRollup::CommitOutOfOrder {
                expected: 1,
                got: 2
            })
        ))
    );

    // Verifying before committing, and out of order.
    let r = s.verify(1, b1, s.proofs(pv1)).await;
    assert_eq!(name(&r), "BatchNotCommitted", "{r:?}");
    let r = s.verify(2, b2, s.proofs(&b2.public_values)).await;
    assert_eq!(name(&r), "BatchOutOfOrder", "{r:?}");

    // Public values that do not hash to the commitment.
    s.commit(1, pv1.hash(), b1.binding.rootAfter).await.unwrap();
    let mut other = pv1.clone();
    other.totalGasUsed += 1;
    let r = s
        .send(verify_calldata(1, &other, &b1.binding, s.proofs(&other)))
        .await;
    assert_eq!(name(&r), "PublicValuesMismatch", "{r:?}");

    // A missing required type, two proofs of one type, a type without a verifier.
    let both = s.proofs(pv1);
    let r = s.verify(1, b1, vec![both[0].clone()]).await;
    assert_eq!(
        r,
        Err(cairn_settle::Revert::Rollup(
            CairnRollup::CairnRollupErrors::MissingProofType(CairnRollup::MissingProofType {
                proofType: 2
            })
        ))
    );
    let r = s
        .verify(
            1,
            b1,
            vec![both[0].clone(), both[0].clone(), both[1].clone()],
        )
        .await;
    assert_eq!(name(&r), "DuplicateProofType", "{r:?}");
    let mut stray = both[0].clone();
    stray.proofType = 9;
    let r = s
        .verify(1, b1, vec![both[0].clone(), both[1].clone(), stray])
        .await;
    assert_eq!(name(&r), "NoVerifier", "{r:?}");

    // A signer that was never registered.
    let outsider = AttestSigner::from_bytes(&[0x42; 32]).unwrap();
    let forged = attest(&outsider, domain_a, PROGRAM_ID, pv1, 1);
    let r = s.verify(1, b1, vec![forged, both[1].clone()]).await;
    assert_eq!(
        r,
        Err(cairn_settle::Revert::Attest(
            AttestVerifier::AttestVerifierErrors::AttestUnknownSigner(
                AttestVerifier::AttestUnknownSigner {
                    signer: outsider.address()
                }
            )
        ))
    );
    // The registered signer, for another program.
    let r = s
        .verify(
            1,
            b1,
            vec![
                attest(
                    &s.attesters[0].signer,
                    domain_a,
                    B256::repeat_byte(1),
                    pv1,
                    1,
                ),
                both[1].clone(),
            ],
        )
        .await;
    assert_eq!(name(&r), "AttestWrongProgram", "{r:?}");
    // A signature of other public values (same hash field in the proof, other digest).
    let sig_for_other = attest(&s.attesters[0].signer, domain_a, PROGRAM_ID, &other, 1);
    let r = s.verify(1, b1, vec![sig_for_other, both[1].clone()]).await;
    assert_eq!(name(&r), "AttestUnknownSigner", "{r:?}");
    // A malformed signature (s in the upper half).
    let mut high_s = both[0].clone();
    let mut data = high_s.data.to_vec();
    data[93..125].copy_from_slice(&[0xff; 32]);
    high_s.data = data.into();
    let r = s.verify(1, b1, vec![high_s, both[1].clone()]).await;
    assert_eq!(name(&r), "AttestBadSignature", "{r:?}");

    // A proof replayed from another deployment (same chain, same signers).
    let s2 = stack(&anvil.url()).await;
    assert_ne!(s2.rollup(), s.rollup());
    let theirs = s2.proofs(pv1);
    let r = s.verify(1, b1, theirs.clone()).await;
    assert_eq!(
        r,
        Err(cairn_settle::Revert::Attest(
            AttestVerifier::AttestVerifierErrors::AttestWrongDomain(
                AttestVerifier::AttestWrongDomain {
                    chainId: s.deployment.l1_chain_id,
                    verifyingContract: s2.deployment.proof_types[0].address
                }
            )
        ))
    );
    // ... with its domain bytes rewritten to ours: the signature no longer recovers the signer.
    let mut rewritten = theirs[0].clone();
    let mut data = rewritten.data.to_vec();
    data[9..29].copy_from_slice(verifier_a.as_slice());
    rewritten.data = data.into();
    let r = s.verify(1, b1, vec![rewritten, both[1].clone()]).await;
    assert_eq!(name(&r), "AttestUnknownSigner", "{r:?}");
    // A proof replayed from another chain id (same contract address).
    let other_chain = AttestDomain {
        chain_id: 1,
        verifying_contract: verifier_a,
    };
    let replayed = attest(&s.attesters[0].signer, other_chain, PROGRAM_ID, pv1, 1);
    let r = s
        .verify(1, b1, vec![replayed.clone(), both[1].clone()])
        .await;
    assert_eq!(
        r,
        Err(cairn_settle::Revert::Attest(
            AttestVerifier::AttestVerifierErrors::AttestWrongDomain(
                AttestVerifier::AttestWrongDomain {
                    chainId: 1,
                    verifyingContract: verifier_a
                }
            )
        ))
    );
    let mut data = replayed.data.to_vec();
    data[1..9].copy_from_slice(&s.deployment.l1_chain_id.to_be_bytes());
    let r = s
        .verify(
            1,
            b1,
            vec![
                CairnRollup::Proof {
                    proofType: 1,
                    data: data.into(),
                },
                both[1].clone(),
            ],
        )
        .await;
    assert_eq!(name(&r), "AttestUnknownSigner", "{r:?}");

    // A binding for another range, with these public values.
    let r = s
        .send(verify_calldata(1, pv1, &b2.binding, both.clone()))
        .await;
    let rust = cairn_settle::vectors::outcome(b2.binding.verify(pv1));
    assert!(
        rust.starts_with("LeafNotUnderRoot") || rust.starts_with("SiblingCount"),
        "{rust}"
    );
    assert_eq!(
        name(&r),
        format!("Binding{}", rust.split('(').next().unwrap()),
        "{r:?}"
    );

    // Accepted; the rollup reads back the batch's roots.
    s.verify(1, b1, both.clone()).await.unwrap();
    let tip = read_tip(&s.l1, s.rollup()).await.unwrap();
    assert_eq!(tip.last_verified, 1);
    assert_eq!(tip.last_block, BATCH);
    assert_eq!(tip.state_root, pv1.finalStateRoot);
    assert_eq!(tip.qm_root, b1.binding.rootAfter);

    // Replaying the settled batch as the next one: a gap in blocks (reorder).
    s.commit(2, pv1.hash(), b1.binding.rootAfter).await.unwrap();
    let r = s.verify(2, b1, both.clone()).await;
    assert_eq!(
        r,
        Err(cairn_settle::Revert::Rollup(
            CairnRollup::CairnRollupErrors::BlockGap(CairnRollup::BlockGap {
                expected: BATCH + 1,
                got: 1
            })
        ))
    );
    // A batch that skips blocks 3..4.
    revert_to(&s, 1).await;
    s.commit(2, b3.public_values.hash(), b3.binding.rootAfter)
        .await
        .unwrap();
    let r = s.verify(2, b3, s.proofs(&b3.public_values)).await;
    assert_eq!(name(&r), "BlockGap", "{r:?}");
    // The right blocks, but committed with another QMTree root after them.
    revert_to(&s, 1).await;
    s.commit(2, b2.public_values.hash(), b3.binding.rootAfter)
        .await
        .unwrap();
    let r = s.verify(2, b2, s.proofs(&b2.public_values)).await;
    assert_eq!(name(&r), "QmRootMismatch", "{r:?}");
    // Public values that start from another state root.
    revert_to(&s, 1).await;
    let mut wrong_start = b2.clone();
    wrong_start.public_values.initialStateRoot = B256::repeat_byte(7);
    s.commit(
        2,
        wrong_start.public_values.hash(),
        wrong_start.binding.rootAfter,
    )
    .await
    .unwrap();
    let r = s
        .verify(2, &wrong_start, s.proofs(&wrong_start.public_values))
        .await;
    assert_eq!(name(&r), "StateRootMismatch", "{r:?}");

    // A revoked signer: its attestations stop verifying, also ones made before.
    revert_to(&s, 1).await;
    s.commit(2, b2.public_values.hash(), b2.binding.rootAfter)
        .await
        .unwrap();
    let good = s.proofs(&b2.public_values);
    let revoke: Bytes = AttestVerifier::revokeSignerCall {
        signer: s.attesters[0].signer.address(),
    }
    .abi_encode()
    .into();
    s.send_from(&s.l1, verifier_a, revoke).await.unwrap();
    let r = s.verify(2, b2, good.clone()).await;
    assert_eq!(name(&r), "AttestUnknownSigner", "{r:?}");
    // Only the owner manages signers.
    let add: Bytes = AttestVerifier::addSignerCall {
        signer: s.attesters[0].signer.address(),
    }
    .abi_encode()
    .into();
    let r = s.send_from(&stranger, verifier_a, add.clone()).await;
    assert_eq!(name(&r), "NotOwner", "{r:?}");
    s.send_from(&s.l1, verifier_a, add).await.unwrap();
    s.verify(2, b2, good).await.unwrap();
    assert_eq!(read_tip(&s.l1, s.rollup()).await.unwrap().last_verified, 2);
}

/// The owner drops the unsettled commitments after `to`.
async fn revert_to(s: &crate::common::Stack, to: u64) {
    s.send(CairnRollup::revertBatchesCall { to }.abi_encode().into())
        .await
        .unwrap();
    let tip = read_tip(&s.l1, s.rollup()).await.unwrap();
    assert_eq!(tip.last_committed, to);
}
