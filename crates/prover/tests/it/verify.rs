//! Verifying batches: the binding on a real dev chain, whole `.seg` files under the
//! multi-proof policy, and attest signatures bound to domain, program and signer.

use crate::common::{domain, fixture, signer};
use alloy_primitives::{Address, B256, Bytes};
use cairn_prover::{
    AttestBackend, AttestDomain, AttestProof, BackendId, BindingFault, CancellationToken, Error,
    ExecBackend, PROGRAM_ID, Policy, ProverBackend, Seg, SegProof, SignerRegistry,
    policy::{ProofOutcome, verify_seg},
};
use std::sync::Arc;

#[test]
fn bindings_from_the_node_hold_and_shifted_ones_do_not() {
    let fx = fixture();
    for (first, last) in [(1, 4), (5, 8), (2, 5), (3, 3)] {
        let batch = fx.batch(first, last);
        let roots = batch.binding.verify(&batch.public_values).unwrap();
        let trusted = fx.trusted(first, last);
        assert_eq!(roots.root_before, trusted.root_before);
        assert_eq!(roots.root_after, trusted.root_after);
    }
    // The public values of 2..=5 against the binding of 1..=4: a shifted range.
    let err = fx
        .batch(1, 4)
        .binding
        .verify(&fx.batch(2, 5).public_values)
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Binding {
            fault: BindingFault::LeafNotUnderRoot { .. }
        }
    ));
}

async fn seg(backends: &[Arc<dyn ProverBackend>], first: u64, last: u64) -> Seg {
    let fx = fixture();
    let mut proofs = Vec::new();
    for b in backends {
        let proved = b
            .prove(fx.input(first, last), CancellationToken::new())
            .await
            .unwrap();
        proofs.push(SegProof {
            backend: b.id(),
            proof: proved.proof,
        });
    }
    let batch = fx.batch(first, last);
    Seg {
        program_id: PROGRAM_ID,
        public_values: batch.public_values.clone(),
        binding: batch.binding.clone(),
        proofs,
    }
}

fn attest() -> Arc<dyn ProverBackend> {
    let (signer, registry) = signer();
    Arc::new(AttestBackend::new(
        domain(),
        Some(signer),
        Arc::new(registry),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seg_verification_under_the_policy() {
    let fx = fixture();
    let exec: Arc<dyn ProverBackend> = Arc::new(ExecBackend::new());
    let attest = attest();
    let verifiers = vec![Arc::clone(&exec), Arc::clone(&attest)];
    let file = seg(&verifiers, 1, 4).await;
    let trusted = fx.trusted(1, 4);

    let both = Policy {
        require: vec!["exec".into(), "tee/attest".into()],
        min_distinct: 2,
    };
    let report = verify_seg(&file, &verifiers, &both, Some(&trusted))
        .await
        .unwrap();
    report.verdict.unwrap();
    assert!(report.trusted);

    // Only the attest verifier configured: exec's proof is not counted.
    let report = verify_seg(&file, &verifiers[1..], &both, Some(&trusted))
        .await
        .unwrap();
    assert!(matches!(report.proofs[0].1, ProofOutcome::NoVerifier));
    assert!(matches!(report.verdict, Err(Error::Policy { .. })));
    let one = Policy::default();
    verify_seg(&file, &verifiers[1..], &one, Some(&trusted))
        .await
        .unwrap()
        .verdict
        .unwrap();

    // Three distinct backends required: two are not enough.
    let three = Policy {
        require: vec![],
        min_distinct: 3,
    };
    assert!(
        verify_seg(&file, &verifiers, &three, None)
            .await
            .unwrap()
            .verdict
            .is_err()
    );

    // Roots of another range: refused.
    let other = fx.trusted(2, 5);
    let report = verify_seg(&file, &verifiers, &one, Some(&other))
        .await
        .unwrap();
    assert!(
        matches!(report.verdict, Err(Error::Mismatch { .. })),
        "{:?}",
        report.verdict
    );

    // Another chain configuration: refused.
    let mut other = trusted;
    other.chain_config_hash = B256::repeat_byte(1);
    let report = verify_seg(&file, &verifiers, &one, Some(&other))
        .await
        .unwrap();
    assert!(matches!(report.verdict, Err(Error::Mismatch { .. })));

    // A file whose attest proof is of another batch: refused even though exec verifies.
    let other_batch = seg(&verifiers, 5, 8).await;
    let mut spliced = file.clone();
    spliced.proofs[1] = other_batch.proofs[1].clone();
    let report = verify_seg(&spliced, &verifiers, &one, Some(&trusted))
        .await
        .unwrap();
    assert!(matches!(report.proofs[1].1, ProofOutcome::Failed(_)));
    assert!(report.verdict.is_err());

    // Public values swapped for another batch's: the binding fails first.
    let mut swapped = file.clone();
    swapped.public_values = other_batch.public_values.clone();
    assert!(matches!(
        verify_seg(&swapped, &verifiers, &one, None).await,
        Err(Error::Binding { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attestations_bind_domain_program_and_signer() {
    let fx = fixture();
    let (signer, registry) = signer();
    let registry = Arc::new(registry);
    let backend = AttestBackend::new(domain(), Some(signer.clone()), Arc::clone(&registry));
    let pv = fx.batch(1, 4).public_values.clone();
    let proof = backend.attest(pv.clone()).unwrap();
    assert_eq!(backend.check(&proof).unwrap(), signer.address());

    // Another domain (chain or contract): refused by name, and the signature would not
    // recover the signer there.
    let deployed = AttestDomain {
        chain_id: 1,
        verifying_contract: Address::repeat_byte(0xcc),
    };
    let l1 = AttestBackend::new(deployed, None, Arc::clone(&registry));
    assert!(matches!(
        l1.check(&proof),
        Err(Error::DomainMismatch { .. })
    ));
    let mut replayed = proof.clone();
    replayed.domain = deployed;
    assert!(matches!(
        l1.check(&replayed),
        Err(Error::UnknownSigner { .. })
    ));

    // The program id is signed: relabelling a proof of another program does not help.
    let other = AttestBackend::new(domain(), Some(signer), Arc::clone(&registry))
        .with_program_id(B256::repeat_byte(9));
    let mut relabelled = other.attest(pv.clone()).unwrap();
    assert!(matches!(
        backend.check(&relabelled),
        Err(Error::WrongProgram { .. })
    ));
    relabelled.program_id = PROGRAM_ID;
    assert!(matches!(
        backend.check(&relabelled),
        Err(Error::UnknownSigner { .. })
    ));

    // Tampered public values inside the proof.
    let mut tampered = proof.clone();
    tampered.public_values.totalGasUsed += 1;
    assert!(matches!(
        backend.check(&tampered),
        Err(Error::UnknownSigner { .. })
    ));

    // An unregistered signer.
    let stranger = AttestBackend::new(
        domain(),
        Some(cairn_prover::AttestSigner::random()),
        Arc::new(SignerRegistry::new()),
    );
    let foreign = stranger.attest(pv).unwrap();
    assert!(matches!(
        backend.check(&foreign),
        Err(Error::UnknownSigner { .. })
    ));

    // High-s twin of a valid signature (malleability): refused.
    let mut twin = proof.clone();
    let sig = alloy_primitives::Signature::from_raw(&proof.signature).unwrap();
    let n = alloy_primitives::U256::from_str_radix(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        16,
    )
    .unwrap();
    let high = alloy_primitives::Signature::new(sig.r(), n - sig.s(), !sig.v());
    twin.signature = high.as_bytes();
    assert!(matches!(
        backend.check(&twin),
        Err(Error::BadSignature { .. })
    ));

    // Encoding round trip.
    assert_eq!(AttestProof::decode(&proof.encode()).unwrap(), proof);
    let _ = (BackendId::attest(), Bytes::new());
}
