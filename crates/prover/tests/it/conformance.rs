//! The `ProverBackend` conformance suite, written once and stamped out for every backend:
//! an honest batch proves and verifies; a proof of another batch, a proof for another
//! program id, tampered public values and tampered proof bytes are rejected.

use crate::common::{domain, fixture, signer};
use alloy_primitives::{B256, Bytes};
use cairn_prover::{
    AttestBackend, BackendKind, CancellationToken, Claim, Error, ExecBackend, ProverBackend,
    RemoteBackend, RemoteOptions, ServerIdentity,
    server::{ProverServer, ServerConfig},
    verify_claim,
};
use std::{future::Future, sync::Arc};

const OTHER_PROGRAM: B256 = B256::repeat_byte(0x5a);

fn rejected(result: Result<(), Error>, what: &str) {
    assert!(result.is_err(), "{what}: accepted");
}

/// The suite. `make(program_id)` builds a backend of that program.
async fn suite<F, Fut>(make: F)
where
    F: Fn(B256) -> Fut,
    Fut: Future<Output = Arc<dyn ProverBackend>>,
{
    let fx = fixture();
    let backend = make(cairn_prover::PROGRAM_ID).await;
    let cancel = CancellationToken::new();

    // Honest: proves the batch's public values, and the proof verifies for them.
    let a = backend.prove(fx.input(1, 4), cancel.clone()).await.unwrap();
    let claim_a = fx.claim(1, 4);
    assert_eq!(a.public_values, claim_a.public_values);
    verify_claim(backend.as_ref(), &claim_a, a.proof.clone())
        .await
        .unwrap();
    assert_eq!(
        backend.verify(a.proof.clone()).await.unwrap(),
        claim_a.public_values
    );

    // A proof of another batch is not a proof of this one.
    let b = backend.prove(fx.input(5, 8), cancel.clone()).await.unwrap();
    assert_eq!(b.public_values, fx.claim(5, 8).public_values);
    let err = verify_claim(backend.as_ref(), &claim_a, b.proof.clone()).await;
    assert!(
        matches!(&err, Err(Error::Backend { source, .. }) if matches!(**source, Error::PublicValuesMismatch { .. })),
        "{err:?}"
    );

    // A proof made for another program id is rejected by this program's verifier, and a
    // claim of another program is rejected before any verification.
    let other = make(OTHER_PROGRAM).await;
    assert_eq!(other.program_id(), OTHER_PROGRAM);
    let c = other.prove(fx.input(1, 4), cancel.clone()).await.unwrap();
    rejected(
        verify_claim(backend.as_ref(), &claim_a, c.proof.clone()).await,
        "proof for another program",
    );
    let wrong_program = Claim {
        program_id: OTHER_PROGRAM,
        ..claim_a.clone()
    };
    let err = verify_claim(backend.as_ref(), &wrong_program, a.proof.clone()).await;
    assert!(
        matches!(&err, Err(Error::Backend { source, .. }) if matches!(**source, Error::WrongProgram { .. })),
        "{err:?}"
    );

    // Tampered public values: the honest proof does not prove them.
    for field in 0..4 {
        let mut pv = claim_a.public_values.clone();
        match field {
            0 => pv.finalStateRoot = B256::repeat_byte(1),
            1 => pv.lastBlock += 1,
            2 => pv.totalGasUsed += 1,
            _ => pv.chainConfigHash = B256::repeat_byte(2),
        }
        let tampered = Claim {
            public_values: pv,
            ..claim_a.clone()
        };
        rejected(
            verify_claim(backend.as_ref(), &tampered, a.proof.clone()).await,
            "tampered public values",
        );
    }

    // Tampered proof bytes: rejected, except that an exec proof (the input itself) may still
    // re-execute to exactly the claimed public values (then it still proves them).
    let len = a.proof.len();
    for at in [0, 1, 20, 40, len / 3, len / 2, len - 40, len - 1] {
        let mut bytes = a.proof.to_vec();
        bytes[at] ^= 0x01;
        match backend.verify(Bytes::from(bytes)).await {
            Err(_) => {}
            Ok(pv) => assert!(
                backend.id().kind == BackendKind::Exec && pv == claim_a.public_values,
                "flipping byte {at} of {len} gave a proof of other public values"
            ),
        }
    }
    let mut cut = a.proof.to_vec();
    cut.truncate(len - 1);
    assert!(
        backend.verify(Bytes::from(cut)).await.is_err(),
        "truncated proof"
    );
    assert!(backend.verify(Bytes::new()).await.is_err(), "empty proof");
}

fn exec(program_id: B256) -> Arc<dyn ProverBackend> {
    Arc::new(ExecBackend::with_program_id(program_id))
}

fn attest(program_id: B256) -> Arc<dyn ProverBackend> {
    let (signer, registry) = signer();
    Arc::new(
        AttestBackend::new(domain(), Some(signer), Arc::new(registry)).with_program_id(program_id),
    )
}

/// A real prover server on loopback serving `inner`, and a remote backend connected to it.
pub(crate) async fn served(inner: Arc<dyn ProverBackend>) -> Arc<dyn ProverBackend> {
    let identity = ServerIdentity::of(inner.as_ref());
    let server = ProverServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        inner,
        identity,
        ServerConfig::default(),
    )
    .await
    .unwrap();
    let url = format!("http://{}", server.local_addr().unwrap());
    // The server lives as long as the test's runtime.
    tokio::spawn(server.run(CancellationToken::new()));
    Arc::new(
        RemoteBackend::connect(&url, RemoteOptions::default())
            .await
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_backend() {
    suite(|id| async move { exec(id) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attest_backend() {
    suite(|id| async move { attest(id) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_exec_backend() {
    suite(|id| served(exec(id))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_attest_backend() {
    suite(|id| served(attest(id))).await;
}
