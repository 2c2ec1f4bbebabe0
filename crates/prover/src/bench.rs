//! The prover's figures on a batch of a chain (`cairn bench --what prover`): input size and
//! encode/decode time against the JSON bundle, prove and verify time per backend, `exec` over
//! plain validation, the `.seg` size, and the overhead of the remote backend over the local
//! one on loopback. Medians of `iterations` runs, all measured in one run.

use crate::{
    AttestBackend, AttestDomain, AttestSigner, BackendId, CancellationToken, ExecBackend,
    PROGRAM_ID, ProverBackend, RemoteBackend, RemoteOptions, Seg, SegProof, ServerIdentity,
    SignerRegistry,
    backend::attest::{Evidence, NoTee, Registration},
    batch::from_node,
    decode_input, encode_input,
    error::{Error, Result},
    server::{ProverServer, ServerConfig},
};
use alloy_primitives::Bytes;
use cairn_exec::{ChainFile, commit::Node};
use serde::Serialize;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

/// One backend's figures.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendFigures {
    /// `kind/name`, with ` (remote)` when measured through a server.
    pub backend: String,
    /// Median prove time, ms.
    pub prove_ms: f64,
    /// Median verify time, ms.
    pub verify_ms: f64,
    /// Proof size.
    pub proof_bytes: usize,
}

/// The figures of one run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProverBench {
    /// First block of the batch.
    pub first_block: u64,
    /// Last block of the batch.
    pub last_block: u64,
    /// Gas of the batch.
    pub gas: u64,
    /// Runs per figure.
    pub iterations: usize,
    /// Compact input bytes.
    pub input_bytes: usize,
    /// JSON bundle bytes (`cairn validate`'s form, reth witness).
    pub json_bytes: usize,
    /// Median compact encode time, ms.
    pub encode_ms: f64,
    /// Median compact decode time, ms.
    pub decode_ms: f64,
    /// Median JSON encode time, ms.
    pub json_encode_ms: f64,
    /// Median JSON decode time, ms.
    pub json_decode_ms: f64,
    /// Median plain `validate` time on the decoded input, ms.
    pub validate_ms: f64,
    /// Median time of the guest (decode, validate, encode the public values) on the calling
    /// thread, ms.
    pub guest_ms: f64,
    /// `exec` prove over plain validate, median of per-iteration ratios (goal at most 1.1).
    pub exec_over_validate: f64,
    /// Per backend, local then remote.
    pub backends: Vec<BackendFigures>,
    /// `.seg` size with the exec and attest proofs.
    pub seg_bytes: u64,
    /// Remote exec prove time over local, median of per-iteration differences, ms.
    pub remote_exec_overhead_ms: f64,
    /// Remote attest prove time over local, median of per-iteration differences, ms.
    pub remote_attest_overhead_ms: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn time<T>(iterations: usize, mut f: impl FnMut() -> Result<T>) -> Result<(f64, T)> {
    let mut times = Vec::with_capacity(iterations);
    let mut last = None;
    for _ in 0..iterations.max(1) {
        let t = Instant::now();
        last = Some(f()?);
        times.push(ms(t.elapsed()));
    }
    Ok((median(times), last.ok_or(Error::Cancelled)?))
}

/// Imports blocks `1..=last` of `file` into an in-memory node and measures the batch
/// `first..=last` (see the module docs). Starts a prover server on loopback for the remote
/// figures and stops it before returning.
///
/// # Errors
/// Chain, witness, or backend errors (none are expected on a valid chain).
pub async fn run(
    file: &ChainFile,
    first: u64,
    last: u64,
    iterations: usize,
) -> Result<ProverBench> {
    let mut node = Node::in_memory(file)?;
    for i in 0..last {
        let index = usize::try_from(i).unwrap_or(usize::MAX);
        node.import(&file.block(index)?)?;
    }
    let batch = from_node(&node, first, last)?;
    drop(node);

    let (encode_ms, compact) = time(iterations, || Ok(encode_input(&batch.input)))?;
    let compact = Bytes::from(compact);
    let (decode_ms, _) = time(iterations, || decode_input(&compact))?;
    let json_of = || {
        cairn_witness::json::input_to_json(&batch.input, cairn_witness::json::WitnessFormat::Reth)
            .map(|v| v.to_string())
            .map_err(Error::from)
    };
    let (json_encode_ms, json) = time(iterations, json_of)?;
    let (json_decode_ms, _) = time(iterations, || {
        cairn_witness::json::input_from_json(&json).map_err(Error::from)
    })?;
    let decoded = decode_input(&compact)?.input;

    let signer = AttestSigner::from_bytes(&[0x42; 32])?;
    let mut registry = SignerRegistry::new();
    registry.register(
        Registration {
            address: signer.address(),
            evidence: Evidence::None,
            note: None,
        },
        &PROGRAM_ID,
        &NoTee,
    )?;
    let domain = AttestDomain::offchain(batch.public_values.chainId);
    let exec: Arc<dyn ProverBackend> = Arc::new(ExecBackend::new());
    let attest: Arc<dyn ProverBackend> = Arc::new(AttestBackend::new(
        domain,
        Some(signer.clone()),
        Arc::new(registry),
    ));
    let shutdown = CancellationToken::new();
    let mut measured: Vec<(String, Arc<dyn ProverBackend>)> = vec![
        (exec.id().to_string(), Arc::clone(&exec)),
        (attest.id().to_string(), Arc::clone(&attest)),
    ];
    for inner in [&exec, &attest] {
        let mut identity = ServerIdentity::of(inner.as_ref());
        if inner.id() == BackendId::attest() {
            identity.attest = Some((signer.address(), domain));
        }
        let server = ProverServer::bind(
            std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            Arc::clone(inner),
            identity,
            ServerConfig::default(),
        )
        .await?;
        let url = format!("http://{}", server.local_addr()?);
        tokio::spawn(server.run(shutdown.clone()));
        let remote = RemoteBackend::connect(&url, RemoteOptions::default()).await?;
        measured.push((format!("{} (remote)", remote.id()), Arc::new(remote)));
    }

    // Interleaved: every iteration measures everything once, so a change in machine load
    // affects all figures alike; ratios are medians of per-iteration ratios.
    let n = measured.len();
    let (mut validate, mut guest) = (Vec::new(), Vec::new());
    let (mut prove, mut verify) = (vec![Vec::new(); n], vec![Vec::new(); n]);
    let (mut exec_ratio, mut remote_exec, mut remote_attest) = (Vec::new(), Vec::new(), Vec::new());
    let mut proofs: Vec<Bytes> = vec![Bytes::new(); n];
    for _ in 0..iterations.max(1) {
        let t = Instant::now();
        cairn_stateless::validate(&decoded)?;
        let v = ms(t.elapsed());
        validate.push(v);
        let t = Instant::now();
        crate::guest::run(&compact)?;
        guest.push(ms(t.elapsed()));
        let mut this = vec![0.0; n];
        for (k, (_, backend)) in measured.iter().enumerate() {
            let t = Instant::now();
            let proved = backend
                .prove(compact.clone(), CancellationToken::new())
                .await?;
            this[k] = ms(t.elapsed());
            prove[k].push(this[k]);
            let t = Instant::now();
            backend.verify(proved.proof.clone()).await?;
            verify[k].push(ms(t.elapsed()));
            proofs[k] = proved.proof;
        }
        exec_ratio.push(this[0] / v.max(1e-9));
        remote_exec.push(this[2] - this[0]);
        remote_attest.push(this[3] - this[1]);
    }
    shutdown.cancel();
    let backends: Vec<BackendFigures> = measured
        .iter()
        .enumerate()
        .map(|(k, (label, _))| BackendFigures {
            backend: label.clone(),
            prove_ms: median(prove[k].clone()),
            verify_ms: median(verify[k].clone()),
            proof_bytes: proofs[k].len(),
        })
        .collect();
    let seg = Seg {
        program_id: PROGRAM_ID,
        public_values: batch.public_values.clone(),
        binding: batch.binding.clone(),
        proofs: vec![
            SegProof {
                backend: exec.id(),
                proof: proofs[0].clone(),
            },
            SegProof {
                backend: attest.id(),
                proof: proofs[1].clone(),
            },
        ],
    };
    let seg_bytes = seg.to_bytes()?.len() as u64;

    Ok(ProverBench {
        first_block: first,
        last_block: last,
        gas: batch.public_values.totalGasUsed,
        iterations,
        input_bytes: compact.len(),
        json_bytes: json.len(),
        encode_ms,
        decode_ms,
        json_encode_ms,
        json_decode_ms,
        validate_ms: median(validate),
        guest_ms: median(guest),
        exec_over_validate: median(exec_ratio),
        backends,
        seg_bytes,
        remote_exec_overhead_ms: median(remote_exec),
        remote_attest_overhead_ms: median(remote_attest),
    })
}
