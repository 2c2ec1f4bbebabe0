//! `cairn qmtree …`: bench, inspect, verify-proof.

use std::{io::Write, path::PathBuf};

use alloy_primitives::B256;
use cairn_qmtree::{
    Proof,
    bench::{BenchConfig, BenchReport},
    inspect, verify_inclusion, verify_range,
};
use clap::Subcommand;
use tracing::info;

use crate::{Error, Result, input::InputArgs, output::Stdout};

/// Arguments of `cairn qmtree`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The QMTree command.
    #[command(subcommand)]
    pub command: QmtreeCommand,
}

/// `cairn qmtree` subcommands.
#[derive(Debug, Subcommand)]
pub enum QmtreeCommand {
    /// Measure appends (memory, persisted), Keccak, proofs, disk use, memory and reopen time.
    Bench(BenchArgs),
    /// Show a store's blocks, leaves and latest root, and check its integrity.
    Inspect(InspectArgs),
    /// Verify a proof file (binary or JSON) against a root.
    VerifyProof(VerifyProofArgs),
}

/// Arguments of `cairn qmtree bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Leaves to append in each run.
    #[arg(long, default_value_t = 1_000_000, env = "CAIRN_QMTREE_BENCH_LEAVES")]
    pub leaves: u64,
    /// Leaves per committed block (the persisted run fsyncs once per block).
    #[arg(long, default_value_t = 200)]
    pub block_size: u64,
    /// Proofs to generate and verify.
    #[arg(long, default_value_t = 2000)]
    pub proofs: usize,
    /// Also write the figures as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Directory for the persisted store; must be empty or absent, and is kept.
    /// Default: a temporary directory, removed afterwards.
    #[arg(long, env = "CAIRN_QMTREE_BENCH_DIR")]
    pub dir: Option<PathBuf>,
}

/// Arguments of `cairn qmtree inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// The store's data directory.
    pub dir: PathBuf,
    /// Skip the full replay; check only the format, the block records at both
    /// ends, and that the last root is reproduced.
    #[arg(long)]
    pub quick: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `cairn qmtree verify-proof`.
#[derive(Debug, clap::Args)]
pub struct VerifyProofArgs {
    /// The proof file, binary (a range proof is 17 + 32·k bytes starting 0x02; any other
    /// length is an inclusion proof) or JSON; `-` for stdin.
    pub file: PathBuf,
    /// The root to verify against (for a range proof, the newer root), 0x-prefixed hex.
    #[arg(long)]
    pub root: String,
    /// For a range proof: the older root.
    #[arg(long)]
    pub old_root: Option<String>,
    /// Input size limit.
    #[command(flatten)]
    pub input: InputArgs,
}

/// Runs a `cairn qmtree` command, printing to stdout.
///
/// # Errors
/// See [`Error`]: store errors, bad proof files, rejected proofs.
pub fn run(args: Args) -> Result<()> {
    let mut out = Stdout;
    let stdout = crate::output::stdout_error;
    match args.command {
        QmtreeCommand::Bench(a) => {
            let report = bench(&a)?;
            write!(out, "{report}").map_err(stdout)?;
        }
        QmtreeCommand::Inspect(a) => {
            let report = inspect(&a.dir, !a.quick)?;
            if a.json {
                let json = serde_json::to_string_pretty(&report)
                    .map_err(|source| Error::Json { source })?;
                writeln!(out, "{json}").map_err(stdout)?;
            } else {
                print_inspect(&mut out, &report).map_err(stdout)?;
            }
        }
        QmtreeCommand::VerifyProof(a) => {
            let line = verify_proof(&a)?;
            writeln!(out, "{line}").map_err(stdout)?;
        }
    }
    Ok(())
}

/// Runs the bench and writes the JSON file if asked.
///
/// # Errors
/// Store errors; I/O errors on the directory or the JSON file.
pub fn bench(args: &BenchArgs) -> Result<BenchReport> {
    let temp;
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::Builder::new()
                .prefix("cairn-qmtree-bench")
                .tempdir()
                .map_err(|source| Error::Io {
                    path: std::env::temp_dir(),
                    source,
                })?;
            temp.path().join("store")
        }
    };
    info!(target: "cairn::qmtree", leaves = args.leaves, block_size = args.block_size, dir = %dir.display(), "running the QMTree bench");
    let config = BenchConfig {
        leaves: args.leaves,
        block_size: args.block_size,
        dir,
        proofs: args.proofs,
    };
    let report = cairn_qmtree::bench::run(&config)?;
    if let Some(path) = &args.json {
        let json =
            serde_json::to_string_pretty(&report).map_err(|source| Error::Json { source })?;
        std::fs::write(path, json + "\n").map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        info!(target: "cairn::qmtree", path = %path.display(), "wrote the bench JSON");
    }
    Ok(report)
}

fn parse_hash(flag: &'static str, value: &str) -> Result<B256> {
    let bytes = alloy_primitives::hex::decode(value).map_err(|source| Error::BadHash {
        flag,
        value: value.to_string(),
        source,
    })?;
    if bytes.len() != 32 {
        return Err(Error::BadHashLength {
            flag,
            value: value.to_string(),
            len: bytes.len(),
        });
    }
    Ok(B256::from_slice(&bytes))
}

/// Verifies a proof file; returns the line to print.
///
/// # Errors
/// Unreadable file, undecodable proof ([`cairn_qmtree::Error::ProofLength`],
/// [`cairn_qmtree::Error::ProofJson`], …), bad roots, or a proof that does not
/// verify ([`cairn_qmtree::Error::RootMismatch`]).
pub fn verify_proof(args: &VerifyProofArgs) -> Result<String> {
    let bytes = args.input.read(&args.file)?;
    let root = parse_hash("--root", &args.root)?;
    match Proof::decode(&bytes)? {
        Proof::Inclusion(p) => {
            verify_inclusion(&p, &root)?;
            Ok(format!(
                "ok: leaf hash {} is at txNum {} of the depth-{} tree with root {root} (it is that leaf if the leaf's components hash to it)",
                p.leaf_hash,
                p.tx_num,
                p.depth()
            ))
        }
        Proof::Range(p) => {
            let old = args
                .old_root
                .as_deref()
                .ok_or_else(|| Error::MissingOldRoot {
                    path: args.file.clone(),
                })?;
            let old_root = parse_hash("--old-root", old)?;
            verify_range(&p, &old_root, &root)?;
            Ok(format!(
                "ok: the {}-leaf tree with root {root} extends the {}-leaf tree with root {old_root} by appends only",
                p.new_size, p.old_size
            ))
        }
    }
}

fn print_inspect(out: &mut impl Write, r: &cairn_qmtree::InspectReport) -> std::io::Result<()> {
    let opt = |b: Option<u64>| b.map_or_else(|| "-".to_string(), |n| n.to_string());
    writeln!(out, "store:          {}", r.dir.display())?;
    writeln!(out, "format version: {}", r.format_version)?;
    writeln!(
        out,
        "blocks:         {} ({} to {})",
        r.blocks,
        opt(r.first_block),
        opt(r.latest_block)
    )?;
    writeln!(out, "leaves:         {}", r.leaves)?;
    writeln!(out, "latest root:    {}", r.latest_root)?;
    writeln!(out, "tree bytes/leaf:  {:.2}", r.tree_bytes_per_leaf)?;
    writeln!(out, "total bytes/leaf: {:.2}", r.total_bytes_per_leaf)?;
    for f in &r.files {
        let extra = f.disk_bytes.saturating_sub(f.committed_bytes);
        let note = if extra > 0 {
            format!(" (+{extra} bytes past the last commit: uncommitted or preallocated)")
        } else {
            String::new()
        };
        writeln!(
            out,
            "  {:<14} {:>14} bytes{note}",
            f.name, f.committed_bytes
        )?;
    }
    if r.checked_leaves > 0 || r.checked_blocks > 0 {
        writeln!(
            out,
            "integrity:      ok (replayed {} leaves, {} block roots)",
            r.checked_leaves, r.checked_blocks
        )
    } else {
        writeln!(
            out,
            "integrity:      ok (quick check: format, last block, recovery)"
        )
    }
}
