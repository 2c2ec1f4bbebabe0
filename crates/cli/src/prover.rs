//! Tier 2 on the command line: `cairn prove`, `cairn verify`, `cairn seg inspect`,
//! `cairn prover-server` and `cairn attest keygen`.

use crate::{Error, Result, outln, serve::ShutdownSignal};
use alloy_primitives::{Address, Bytes, hex};
use cairn_exec::commit::{Node, node::GENESIS_FILE};
use cairn_prover::{
    AttestBackend, AttestDomain, AttestSigner, CancellationToken, Claim, ExecBackend, PROGRAM_ID,
    Policy, ProverBackend, RemoteBackend, RemoteOptions, Seg, SegProof, ServerIdentity,
    SignerRegistry,
    backend::{
        attest::{Evidence, NoTee, PASSWORD_ENV, Registration},
        prove_all,
    },
    batch::from_node,
    chain_config_hash, encode_input,
    policy::{ProofOutcome, SegReport, Trusted, verify_seg},
    server::{ProverServer, ServerConfig},
    verify_claim,
};
use serde_json::json;
use std::{
    io::{IsTerminal, Write},
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

/// The attest backend's key and domain, and the signers a verifier accepts.
#[derive(Debug, Clone, clap::Args)]
pub struct AttestArgs {
    /// Ethereum v3 keystore (JSON) holding the attest signing key (`cairn attest keygen`
    /// makes one). There is no TEE here: the key's custody is the whole of the trust.
    #[arg(long, env = "CAIRN_KEYSTORE")]
    pub keystore: Option<PathBuf>,
    /// File whose first line is the keystore password (otherwise the CAIRN_KEYSTORE_PASSWORD
    /// environment variable).
    #[arg(long, env = "CAIRN_KEYSTORE_PASSWORD_FILE")]
    pub password_file: Option<PathBuf>,
    /// Chain id of the attestation domain: the chain of the verifying contract (default: the
    /// proven chain's, for off-chain verification).
    #[arg(long = "attest.chain-id")]
    pub chain_id: Option<u64>,
    /// Verifying contract of the attestation domain (default: the zero address, off-chain).
    #[arg(long = "attest.contract")]
    pub contract: Option<Address>,
    /// A signer whose attestations are accepted (repeatable).
    #[arg(long = "attest.signer")]
    pub signers: Vec<Address>,
    /// A signer registry file: `{"signers": [{"address": "0x…", "evidence": {"type":
    /// "none"}}]}`.
    #[arg(long = "attest.signers-file")]
    pub signers_file: Option<PathBuf>,
}

impl AttestArgs {
    fn domain(&self, proven_chain_id: u64) -> AttestDomain {
        AttestDomain {
            chain_id: self.chain_id.unwrap_or(proven_chain_id),
            verifying_contract: self.contract.unwrap_or(Address::ZERO),
        }
    }

    fn password(&self) -> Result<Vec<u8>> {
        if let Some(path) = &self.password_file {
            let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            return Ok(text.lines().next().unwrap_or_default().as_bytes().to_vec());
        }
        std::env::var(PASSWORD_ENV)
            .map(String::into_bytes)
            .map_err(|_| Error::Usage {
                reason: format!(
                    "the keystore needs a password: give --password-file or set {PASSWORD_ENV}"
                ),
            })
    }

    fn signer(&self) -> Result<Option<AttestSigner>> {
        let Some(path) = &self.keystore else {
            return Ok(None);
        };
        Ok(Some(AttestSigner::open_keystore(path, &self.password()?)?))
    }

    /// The registry: `--attest.signer`s, the registry file, and the own signer (if any).
    fn registry(&self, own: Option<Address>) -> Result<SignerRegistry> {
        let mut registry = match &self.signers_file {
            Some(path) => SignerRegistry::load(path, &PROGRAM_ID, &NoTee)?,
            None => SignerRegistry::new(),
        };
        for address in self.signers.iter().copied().chain(own) {
            registry.register(
                Registration {
                    address,
                    evidence: Evidence::None,
                    note: None,
                },
                &PROGRAM_ID,
                &NoTee,
            )?;
        }
        Ok(registry)
    }
}

/// Options of `remote=URL` backends.
#[derive(Debug, Clone, clap::Args)]
pub struct RemoteArgs {
    /// Deadline of a remote prove or verify, in seconds.
    #[arg(long = "remote.timeout", default_value_t = 3600)]
    pub timeout: u64,
    /// For a foreign zkVM server (not a Cairn prover server): its expected ProgramVk, hex.
    /// Pinning it states that this key is Cairn's program.
    #[arg(long = "remote.vk")]
    pub vk: Option<String>,
    /// For a foreign zkVM server: the backend name its proofs get (`zk/<name>`).
    #[arg(long = "remote.name", default_value = "zkvm")]
    pub name: String,
}

impl RemoteArgs {
    fn options(&self) -> Result<RemoteOptions> {
        let pinned_vk = self
            .vk
            .as_deref()
            .map(|v| {
                hex::decode(v).map_err(|e| Error::Usage {
                    reason: format!("--remote.vk is not hex: {e}"),
                })
            })
            .transpose()?
            .map(Bytes::from);
        Ok(RemoteOptions {
            timeout: Duration::from_secs(self.timeout),
            pinned_vk,
            foreign_name: self.name.clone(),
            ..RemoteOptions::default()
        })
    }
}

/// A backend named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendSpec {
    /// `exec`.
    Exec,
    /// `attest`.
    Attest,
    /// `remote=URL`.
    Remote(String),
}

/// Parses `exec`, `attest` or `remote=URL`.
///
/// # Errors
/// [`cairn_prover::Error::UnknownBackend`].
pub fn parse_backend(spec: &str) -> std::result::Result<BackendSpec, cairn_prover::Error> {
    match spec.trim() {
        "exec" => Ok(BackendSpec::Exec),
        "attest" => Ok(BackendSpec::Attest),
        s => match s.strip_prefix("remote=") {
            Some(url) if !url.is_empty() => Ok(BackendSpec::Remote(url.to_string())),
            _ => Err(cairn_prover::Error::UnknownBackend {
                spec: spec.to_string(),
            }),
        },
    }
}

/// A block range: `A..B` or `A..=B` (both ends included), or one block `N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRange {
    /// First block.
    pub first: u64,
    /// Last block.
    pub last: u64,
}

impl std::str::FromStr for BlockRange {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let num = |t: &str| {
            t.trim()
                .parse::<u64>()
                .map_err(|e| format!("{t:?} is not a block number: {e}"))
        };
        let (first, last) = match s.split_once("..") {
            Some((a, b)) => (num(a)?, num(b.strip_prefix('=').unwrap_or(b))?),
            None => (num(s)?, num(s)?),
        };
        if first > last {
            return Err(format!("{first} is after {last}"));
        }
        Ok(Self { first, last })
    }
}

/// Arguments of `cairn prove`.
#[derive(Debug, clap::Args)]
pub struct ProveArgs {
    /// Data directory written by `cairn replay --datadir` (the batch's witness and binding
    /// come from its state and QMTree).
    #[arg(long, env = "CAIRN_DATADIR")]
    pub datadir: PathBuf,
    /// Blocks to prove, both ends included: `A..B` (or `A..=B`, or one block `N`).
    #[arg(long)]
    pub blocks: BlockRange,
    /// Backends, comma-separated: `exec`, `attest`, `remote=URL` (one proof from each).
    #[arg(long, value_delimiter = ',', value_parser = parse_backend, default_value = "exec")]
    pub backend: Vec<BackendSpec>,
    /// The `.seg` file to write (atomically; nothing is written unless every proof verified).
    #[arg(long)]
    pub out: PathBuf,
    /// Attest key and domain.
    #[command(flatten)]
    pub attest: AttestArgs,
    /// Remote backends.
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Progress of a long command: a spinner on a terminal, log lines elsewhere.
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn new(quiet: bool) -> Self {
        Self((!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        }))
    }

    fn step(&self, message: String) {
        match &self.0 {
            Some(bar) => bar.set_message(message),
            None => tracing::info!(target: "cairn::prove", "{message}"),
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| Error::Runtime { source })
}

fn open_node(dir: &Path) -> Result<Node> {
    if !dir.join(GENESIS_FILE).is_file() {
        return Err(Error::NoDataDir {
            path: dir.to_path_buf(),
        });
    }
    Ok(Node::open(dir, None)?)
}

const NO_TEE: &str = "attest: no TEE here; signatures come from a key in a keystore file and \
                      are worth what the custody of that key is worth";

/// Runs `cairn prove`.
///
/// # Errors
/// Data-directory errors, an invalid batch, a backend failing (named with the batch), a
/// proof that does not verify; the output file is then not written.
pub fn run_prove(args: ProveArgs) -> Result<()> {
    let (first, last) = (args.blocks.first, args.blocks.last);
    let progress = Progress::new(args.json);
    progress.step(format!(
        "opening {} (re-executing its chain)",
        args.datadir.display()
    ));
    let started = Instant::now();
    let node = open_node(&args.datadir)?;
    progress.step(format!("witness for blocks {first}..={last}"));
    let batch = from_node(&node, first, last)?;
    drop(node);
    let input: Bytes = encode_input(&batch.input).into();
    let pv = batch.public_values.clone();
    let prepared = started.elapsed();

    let rt = runtime()?;
    let result = rt.block_on(async {
        let mut backends: Vec<Arc<dyn ProverBackend>> = Vec::new();
        for spec in &args.backend {
            backends.push(match spec {
                BackendSpec::Exec => Arc::new(ExecBackend::new()),
                BackendSpec::Attest => {
                    let signer = args.attest.signer()?.ok_or_else(|| Error::Usage {
                        reason: "the attest backend needs --keystore (cairn attest keygen makes one)"
                            .into(),
                    })?;
                    if !args.json {
                        tracing::warn!(target: "cairn::prover", "{NO_TEE}");
                    }
                    let registry = args.attest.registry(Some(signer.address()))?;
                    Arc::new(AttestBackend::new(
                        args.attest.domain(pv.chainId),
                        Some(signer),
                        Arc::new(registry),
                    ))
                }
                BackendSpec::Remote(url) => {
                    progress.step(format!("connecting to {url}"));
                    Arc::new(RemoteBackend::connect(url, args.remote.options()?).await?)
                }
            });
        }
        let cancel = CancellationToken::new();
        let on_signal = cancel.clone();
        let signal = ShutdownSignal::install()?;
        let watcher = tokio::spawn(async move {
            if signal.recv().await.is_ok() {
                on_signal.cancel();
            }
        });
        let proved = prove_all(&backends, input.clone(), (first, last), &cancel, |id, done| {
            match done {
                None => progress.step(format!("proving blocks {first}..={last} with {id}")),
                Some(p) => tracing::info!(target: "cairn::prove", backend = %id, elapsed_ms = p.elapsed.as_millis() as u64, proof_bytes = p.proof.len(), "proved"),
            }
        })
        .await;
        let proved = proved?;
        // Every proof is checked before the file is written.
        let claim = Claim {
            program_id: PROGRAM_ID,
            public_values: pv.clone(),
        };
        let mut verify_times = Vec::new();
        for (backend, (_, p)) in backends.iter().zip(&proved) {
            progress.step(format!("verifying the proof of {}", backend.id()));
            let t = Instant::now();
            verify_claim(backend.as_ref(), &claim, p.proof.clone()).await?;
            verify_times.push(t.elapsed());
        }
        watcher.abort();
        Ok::<_, Error>((proved, verify_times))
    });
    progress.done();
    let (proved, verify_times) = result?;
    if proved
        .iter()
        .any(|(id, _)| id.kind == cairn_prover::BackendKind::Tee)
        && args.attest.contract.is_none()
        && !args.json
    {
        tracing::warn!(
            target: "cairn::prover",
            "attest: signed for the off-chain domain (chain {}, zero contract); give \
             --attest.chain-id and --attest.contract for an L1 contract",
            args.attest.domain(pv.chainId).chain_id
        );
    }
    let seg = Seg {
        program_id: PROGRAM_ID,
        public_values: pv.clone(),
        binding: batch.binding.clone(),
        proofs: proved
            .iter()
            .map(|(id, p)| SegProof {
                backend: id.clone(),
                proof: p.proof.clone(),
            })
            .collect(),
    };
    let size = seg.write_atomic(&args.out)?;
    if args.json {
        let proofs: Vec<_> = proved
            .iter()
            .zip(&verify_times)
            .map(|((id, p), v)| {
                json!({
                    "backend": id.to_string(),
                    "proofBytes": p.proof.len(),
                    "proveMs": p.elapsed.as_secs_f64() * 1e3,
                    "verifyMs": v.as_secs_f64() * 1e3,
                })
            })
            .collect();
        let out = json!({
            "out": args.out.display().to_string(),
            "segBytes": size,
            "firstBlock": first,
            "lastBlock": last,
            "programId": PROGRAM_ID,
            "publicValuesHash": pv.hash(),
            "publicValues": public_values_json(&pv),
            "rootBefore": batch.binding.rootBefore,
            "rootAfter": batch.binding.rootAfter,
            "inputBytes": input.len(),
            "prepareMs": prepared.as_secs_f64() * 1e3,
            "proofs": proofs,
        });
        crate::output::print_json(&out)?;
        return Ok(());
    }
    outln!(
        "proved blocks {first}..={last} ({} gas) with {}",
        pv.totalGasUsed,
        proved
            .iter()
            .map(|(id, _)| id.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    for ((id, p), v) in proved.iter().zip(&verify_times) {
        outln!(
            "  {:<12} proof {:>9} bytes  prove {:>9.1} ms  verify {:>9.1} ms",
            id.to_string(),
            p.proof.len(),
            p.elapsed.as_secs_f64() * 1e3,
            v.as_secs_f64() * 1e3
        )?;
    }
    outln!("  program id         {PROGRAM_ID}")?;
    outln!("  publicValuesHash   {}", pv.hash())?;
    outln!(
        "  QMTree roots       {} -> {}",
        batch.binding.rootBefore,
        batch.binding.rootAfter
    )?;
    outln!("wrote {} ({size} bytes)", args.out.display())?;
    Ok(())
}

fn public_values_json(pv: &cairn_prover::PublicValues) -> serde_json::Value {
    json!({
        "chainId": pv.chainId,
        "chainConfigHash": pv.chainConfigHash,
        "firstBlock": pv.firstBlock,
        "lastBlock": pv.lastBlock,
        "parentHash": pv.parentHash,
        "lastBlockHash": pv.lastBlockHash,
        "blockHashesCommitment": pv.blockHashesCommitment,
        "initialStateRoot": pv.initialStateRoot,
        "finalStateRoot": pv.finalStateRoot,
        "totalGasUsed": pv.totalGasUsed,
        "depositsHash": pv.depositsHash,
        "withdrawalsRoot": pv.withdrawalsRoot,
        "stateDiffCommitment": pv.stateDiffCommitment,
    })
}

/// Arguments of `cairn verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The `.seg` file.
    pub file: PathBuf,
    /// Backends whose proofs must be among the verified ones, comma-separated: names
    /// (`exec`, `attest`) or `kind/name` (`tee/attest`).
    #[arg(long, value_delimiter = ',')]
    pub require: Vec<String>,
    /// Distinct backends (kind and name) whose proofs must verify.
    #[arg(long, default_value_t = 1)]
    pub min_distinct: usize,
    /// Check the binding's roots, chain id and chain configuration against this data
    /// directory's (opening it re-executes its chain).
    #[arg(long)]
    pub roots_from: Option<PathBuf>,
    /// Remote verifiers for proofs of other backends (e.g. a zkVM server), comma-separated
    /// URLs.
    #[arg(long, value_delimiter = ',')]
    pub remote: Vec<String>,
    /// Signers and domain for attest proofs.
    #[command(flatten)]
    pub attest: AttestArgs,
    /// Options of `--remote` verifiers.
    #[command(flatten)]
    pub remote_options: RemoteArgs,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `cairn verify`.
///
/// # Errors
/// The file cannot be read; the batch is rejected (the reason names the backend and batch).
pub fn run_verify(args: VerifyArgs) -> Result<()> {
    let seg = Seg::read(&args.file)?;
    let pv = seg.public_values.clone();
    let (first, last) = (pv.firstBlock, pv.lastBlock);
    let progress = Progress::new(args.json);
    let trusted = match &args.roots_from {
        None => None,
        Some(dir) => {
            progress.step(format!(
                "opening {} (re-executing its chain)",
                dir.display()
            ));
            let node = open_node(dir)?;
            let root = |n: u64| {
                node.tree()
                    .root_at(n)
                    .map_err(|e| cairn_prover::Error::Mismatch {
                        first,
                        last,
                        reason: format!("the node has no QMTree root for block {n}: {e}"),
                    })
            };
            Some(Trusted {
                chain_id: node.chain().config().chain_id,
                chain_config_hash: chain_config_hash(node.chain().config()),
                root_before: root(first.saturating_sub(1))?,
                root_after: root(last)?,
            })
        }
    };
    let policy = Policy {
        require: args.require.clone(),
        min_distinct: args.min_distinct,
    };
    let rt = runtime()?;
    let report = rt.block_on(async {
        let mut verifiers: Vec<Arc<dyn ProverBackend>> = vec![Arc::new(ExecBackend::new())];
        let registry = args.attest.registry(None)?;
        if !registry.is_empty() {
            verifiers.push(Arc::new(AttestBackend::new(
                args.attest.domain(pv.chainId),
                None,
                Arc::new(registry),
            )));
        }
        for url in &args.remote {
            progress.step(format!("connecting to {url}"));
            let remote = RemoteBackend::connect(url, args.remote_options.options()?).await?;
            verifiers.retain(|v| v.id() != remote.id());
            verifiers.push(Arc::new(remote));
        }
        progress.step(format!("verifying blocks {first}..={last}"));
        Ok::<_, Error>(verify_seg(&seg, &verifiers, &policy, trusted.as_ref()).await?)
    });
    progress.done();
    let report = report?;
    print_report(&args, &seg, &report)?;
    report.verdict.map_err(Error::from)
}

fn print_report(args: &VerifyArgs, seg: &Seg, report: &SegReport) -> Result<()> {
    let pv = &seg.public_values;
    let outcome = |o: &ProofOutcome| match o {
        ProofOutcome::Verified { elapsed } => {
            (String::from("verified"), Some(elapsed.as_secs_f64() * 1e3))
        }
        ProofOutcome::Failed(e) => (format!("failed: {e}"), None),
        ProofOutcome::NoVerifier => ("not checked: no verifier configured".into(), None),
    };
    if args.json {
        let proofs: Vec<_> = report
            .proofs
            .iter()
            .map(|(id, o)| {
                let (status, ms) = outcome(o);
                json!({ "backend": id.to_string(), "status": status, "verifyMs": ms })
            })
            .collect();
        let out = json!({
            "file": args.file.display().to_string(),
            "accepted": report.verdict.is_ok(),
            "reason": report.verdict.as_ref().err().map(ToString::to_string),
            "firstBlock": pv.firstBlock,
            "lastBlock": pv.lastBlock,
            "programId": seg.program_id,
            "publicValuesHash": pv.hash(),
            "rootBefore": report.roots.root_before,
            "rootAfter": report.roots.root_after,
            "rootsChecked": report.trusted,
            "proofs": proofs,
        });
        crate::output::print_json(&out)?;
        return Ok(());
    }
    outln!(
        "{}: blocks {}..={} of chain {}",
        args.file.display(),
        pv.firstBlock,
        pv.lastBlock,
        pv.chainId
    )?;
    outln!(
        "  binding            holds: roots {} -> {}{}",
        report.roots.root_before,
        report.roots.root_after,
        if report.trusted {
            ""
        } else {
            " (not compared with a node: give --roots-from)"
        }
    )?;
    for (id, o) in &report.proofs {
        let (status, ms) = outcome(o);
        match ms {
            Some(ms) => outln!("  {:<18} {status} in {ms:.3} ms", id.to_string())?,
            None => outln!("  {:<18} {status}", id.to_string())?,
        }
    }
    match &report.verdict {
        Ok(()) => outln!("accepted")?,
        Err(e) => outln!("rejected: {e}")?,
    }
    Ok(())
}

/// `cairn seg`: proof files.
#[derive(Debug, clap::Args)]
pub struct SegArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: SegCommand,
}

/// `cairn seg` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SegCommand {
    /// Show what a `.seg` file holds (checks its structure and checksum, not its proofs:
    /// `cairn verify` does that).
    Inspect {
        /// The file.
        file: PathBuf,
        /// Print as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `cairn seg`.
///
/// # Errors
/// The file cannot be read or is not a well-formed `.seg` file.
pub fn run_seg(args: SegArgs) -> Result<()> {
    let SegCommand::Inspect {
        file,
        json: as_json,
    } = args.command;
    let size = std::fs::metadata(&file)
        .map_err(|source| Error::Io {
            path: file.clone(),
            source,
        })?
        .len();
    let seg = Seg::read(&file)?;
    let pv = &seg.public_values;
    let b = &seg.binding;
    if as_json {
        let proofs: Vec<_> = seg
            .proofs
            .iter()
            .map(|p| {
                let mut entry = json!({ "backend": p.backend.to_string(), "bytes": p.proof.len() });
                // What an L1 verifier is given: the signature, its domain and signer.
                if let Ok(attest) = cairn_prover::AttestProof::decode(&p.proof) {
                    entry["attest"] = json!({
                        "domainChainId": attest.domain.chain_id,
                        "verifyingContract": attest.domain.verifying_contract,
                        "domainSeparator": attest.domain.separator(),
                        "digest": cairn_prover::attest_digest(&attest.domain, &attest.program_id, &attest.public_values.hash()),
                        "signature": Bytes::copy_from_slice(&attest.signature),
                        "signer": attest.signer().ok(),
                    });
                }
                entry
            })
            .collect();
        let out = json!({
            "file": file.display().to_string(),
            "bytes": size,
            "formatVersion": cairn_prover::SEG_VERSION,
            "programId": seg.program_id,
            "programIdIsThisBuilds": seg.program_id == PROGRAM_ID,
            "publicValues": public_values_json(pv),
            "publicValuesHash": pv.hash(),
            "binding": {
                "rootBefore": b.rootBefore,
                "rootAfter": b.rootAfter,
                "leafCountBefore": b.leafCountBefore,
                "leafCountAfter": b.leafCountAfter,
                "rangeNodes": b.rangeNodes.len(),
                "siblingsBefore": b.siblingsBefore.len(),
                "siblingsAfter": b.siblingsAfter.len(),
            },
            "encoded": {
                "publicValues": Bytes::from(pv.encode()),
                "binding": Bytes::from(b.encode()),
            },
            "proofs": proofs,
        });
        crate::output::print_json(&out)?;
        return Ok(());
    }
    outln!(
        "{} ({size} bytes, .seg version {})",
        file.display(),
        cairn_prover::SEG_VERSION
    )?;
    outln!("  blocks             {}..={}", pv.firstBlock, pv.lastBlock)?;
    outln!(
        "  program id         {}{}",
        seg.program_id,
        if seg.program_id == PROGRAM_ID {
            " (this build's)"
        } else {
            " (not this build's)"
        }
    )?;
    let rows: [(&str, String); 14] = [
        ("chainId", pv.chainId.to_string()),
        ("chainConfigHash", pv.chainConfigHash.to_string()),
        ("parentHash", pv.parentHash.to_string()),
        ("lastBlockHash", pv.lastBlockHash.to_string()),
        (
            "blockHashesCommitment",
            pv.blockHashesCommitment.to_string(),
        ),
        ("initialStateRoot", pv.initialStateRoot.to_string()),
        ("finalStateRoot", pv.finalStateRoot.to_string()),
        ("totalGasUsed", pv.totalGasUsed.to_string()),
        ("depositsHash", pv.depositsHash.to_string()),
        ("withdrawalsRoot", pv.withdrawalsRoot.to_string()),
        ("stateDiffCommitment", pv.stateDiffCommitment.to_string()),
        ("publicValuesHash", pv.hash().to_string()),
        (
            "QMTree roots",
            format!("{} -> {}", b.rootBefore, b.rootAfter),
        ),
        (
            "QMTree leaves",
            format!(
                "{} -> {} ({} range nodes)",
                b.leafCountBefore,
                b.leafCountAfter,
                b.rangeNodes.len()
            ),
        ),
    ];
    for (k, v) in rows {
        outln!("  {k:<22} {v}")?;
    }
    for p in &seg.proofs {
        outln!(
            "  proof {:<16} {} bytes",
            p.backend.to_string(),
            p.proof.len()
        )?;
    }
    Ok(())
}

/// The backend a `cairn prover-server` serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServedBackend {
    /// Re-execution.
    Exec,
    /// Attestation with a keystore key (no TEE).
    Attest,
}

/// Arguments of `cairn prover-server`.
#[derive(Debug, clap::Args)]
pub struct ProverServerArgs {
    /// The backend to serve.
    #[arg(long, value_enum)]
    pub backend: ServedBackend,
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, env = "CAIRN_PROVER_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = ServerConfig::default().max_request_bytes)]
    pub max_request_size: usize,
    /// Connections served at once.
    #[arg(long, default_value_t = ServerConfig::default().max_connections)]
    pub max_connections: usize,
    /// Chain id of the proven chain (the attest domain's default chain id).
    #[arg(long = "chain-id", default_value_t = cairn_exec::devchain::DEV_CHAIN_ID)]
    pub proven_chain_id: u64,
    /// Attest key and domain.
    #[command(flatten)]
    pub attest: AttestArgs,
}

/// Runs `cairn prover-server` until SIGINT or SIGTERM.
///
/// # Errors
/// A keystore that cannot be opened; the address cannot be listened on.
pub fn run_prover_server(args: ProverServerArgs) -> Result<()> {
    let (backend, identity): (Arc<dyn ProverBackend>, ServerIdentity) = match args.backend {
        ServedBackend::Exec => {
            let b = ExecBackend::new();
            let id = ServerIdentity::of(&b);
            (Arc::new(b), id)
        }
        ServedBackend::Attest => {
            let signer = args.attest.signer()?.ok_or_else(|| Error::Usage {
                reason: "--backend attest needs --keystore".into(),
            })?;
            tracing::warn!(target: "cairn::prover", "{NO_TEE}");
            let domain = args.attest.domain(args.proven_chain_id);
            let address = signer.address();
            let registry = args.attest.registry(Some(address))?;
            let b = AttestBackend::new(domain, Some(signer), Arc::new(registry));
            let mut id = ServerIdentity::of(&b);
            id.attest = Some((address, domain));
            (Arc::new(b), id)
        }
    };
    let config = ServerConfig {
        max_request_bytes: args.max_request_size,
        max_connections: args.max_connections,
        ..ServerConfig::default()
    };
    let rt = runtime()?;
    rt.block_on(async move {
        let shutdown_signal = ShutdownSignal::install()?;
        let server = ProverServer::bind(args.listen, backend, identity.clone(), config).await?;
        let addr = server.local_addr()?;
        tracing::info!(target: "cairn::prover_server", %addr, backend = %identity.backend, program_id = %identity.program_id, "listening");
        let mut stdout = std::io::stdout();
        let printed = writeln!(stdout, "listening on http://{addr}");
        if let Err(e) = printed.and_then(|()| stdout.flush()) {
            tracing::warn!(target: "cairn::prover_server", error = %e, "cannot print the address");
        }
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(server.run(shutdown.clone()));
        shutdown_signal.recv().await?;
        tracing::info!(target: "cairn::prover_server", "shutting down");
        shutdown.cancel();
        task.await
            .map_err(|e| Error::Usage {
                reason: format!("server task failed: {e}"),
            })?
            .map_err(Error::from)
    })
}

/// `cairn attest`: the attest backend's key.
#[derive(Debug, clap::Args)]
pub struct AttestCmdArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AttestCommand,
}

/// `cairn attest` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AttestCommand {
    /// Create an Ethereum v3 keystore with a fresh secp256k1 key (mode 0600; never
    /// overwrites) and print its address. No TEE holds it: keep it as you would any key.
    Keygen {
        /// The keystore file to create.
        #[arg(long)]
        keystore: PathBuf,
        /// File whose first line is the password (otherwise CAIRN_KEYSTORE_PASSWORD).
        #[arg(long, env = "CAIRN_KEYSTORE_PASSWORD_FILE")]
        password_file: Option<PathBuf>,
        /// Also write a signer registry file holding this signer.
        #[arg(long)]
        registry: Option<PathBuf>,
    },
}

/// Runs `cairn attest`.
///
/// # Errors
/// The keystore exists or cannot be written; no password.
pub fn run_attest(args: AttestCmdArgs) -> Result<()> {
    let AttestCommand::Keygen {
        keystore,
        password_file,
        registry,
    } = args.command;
    let attest = AttestArgs {
        keystore: Some(keystore.clone()),
        password_file,
        chain_id: None,
        contract: None,
        signers: Vec::new(),
        signers_file: None,
    };
    let signer = AttestSigner::create_keystore(&keystore, &attest.password()?)?;
    if let Some(path) = registry {
        let json = attest.registry(Some(signer.address()))?.to_json();
        cairn_prover::seg::write_atomic(&path, json.as_bytes())?;
        outln!("wrote {}", path.display())?;
    }
    outln!("{}", signer.address())?;
    tracing::warn!(target: "cairn::prover", "{NO_TEE}");
    Ok(())
}
