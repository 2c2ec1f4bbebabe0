//! `cairn replay [CHAIN]`: every block generated a witness, imported, and validated from
//! the witness alone, with per-block figures; with `--datadir`, every block imported with
//! commitments into a persistent QMTree (restartable).

use crate::{
    Error, Result,
    chain::{ChainArgs, WitnessChoice},
    outln,
};
use cairn_primitives::ProgramInput;
use std::path::PathBuf;

/// Arguments of `cairn replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The chain to replay.
    #[command(flatten)]
    pub chain: ChainArgs,
    /// Also write a validation bundle per block (`block-<n>.json`, input of `cairn validate`).
    #[arg(long, conflicts_with = "datadir")]
    pub bundle_dir: Option<PathBuf>,
    /// Import with commitments into this data directory: every transaction (and system
    /// step) becomes a QMTree leaf, one root per block. Run again to continue from the last
    /// committed block; an interrupted run loses nothing committed.
    #[arg(long, env = "CAIRN_DATADIR")]
    pub datadir: Option<PathBuf>,
    /// Which witness to generate. Every witness is also validated under the strict rules
    /// (`cairn validate --strict-witness`): a complete one must pass; for a minimal one the
    /// `strict` column says whether it does.
    #[arg(long, value_enum, default_value_t = WitnessChoice::Complete, conflicts_with = "datadir")]
    pub witness: WitnessChoice,
    /// Inputs from another node's JSON-RPC instead of a chain file.
    #[command(flatten)]
    pub remote: crate::remote::RemoteArgs,
}

/// Runs `cairn replay`.
///
/// # Errors
/// The first block that fails, or a path disagreement, naming the block.
pub fn run(args: ReplayArgs) -> Result<()> {
    if args.remote.rpc.is_some() || args.remote.offline {
        return crate::remote::run(&args.remote, args.datadir.as_deref());
    }
    let file = args.chain.load()?;
    if let Some(dir) = &args.datadir {
        return import(&file, dir);
    }
    if let Some(dir) = &args.bundle_dir {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
    }
    outln!(
        "{:>6} {:>4} {:>10} {:>6} {:>5} {:>9} {:>10} {:>10} {:>10} {:>9} {:>6}",
        "block",
        "txs",
        "gas",
        "nodes",
        "codes",
        "witness",
        "generate",
        "execute",
        "validate",
        "Mgas/s",
        "strict"
    )?;
    let (mut gas, mut bytes, mut validate_s, mut blocks) = (0u64, 0usize, 0f64, 0usize);
    let (mut generate_s, mut rejected) = (0f64, Vec::new());
    // The first failure inside the per-block callback (writing a bundle or stdout).
    let mut failure = None;
    let kind = args.witness.into();
    let chain = cairn_exec::replay(&file, kind, |row, input| {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        let printed = outln!(
            "{:>6} {:>4} {:>10} {:>6} {:>5} {:>7.1}Ki {:>8.2}ms {:>8.2}ms {:>8.2}ms {:>9.1} {:>6}",
            row.number,
            row.transactions,
            row.gas_used,
            row.witness_nodes,
            row.witness_codes,
            row.witness_bytes as f64 / 1024.0,
            ms(row.witness_time),
            ms(row.execute_time),
            ms(row.validate_time),
            row.gas_used as f64 / row.validate_time.as_secs_f64().max(1e-9) / 1e6,
            if row.strict_rejection.is_some() {
                "no"
            } else {
                "ok"
            }
        );
        if let Some(e) = &row.strict_rejection {
            tracing::info!(target: "cairn::replay", block = row.number, error = %e, "strict validation rejects the minimal witness");
            rejected.push(row.number);
        }
        generate_s += row.witness_time.as_secs_f64();
        gas += row.gas_used;
        bytes += row.witness_bytes;
        validate_s += row.validate_time.as_secs_f64();
        blocks += 1;
        if failure.is_none() {
            failure = printed.err();
        }
        if let (Some(dir), None) = (&args.bundle_dir, &failure) {
            failure = write_bundle(dir, row.number, input).err();
        }
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    outln!(
        "replayed {blocks} blocks, {gas} gas, {:.1} KiB of {kind} witnesses generated in {:.1} ms; stateless validation {:.1} ms in all ({:.1} Mgas/s); head {} state root {}",
        bytes as f64 / 1024.0,
        generate_s * 1e3,
        validate_s * 1e3,
        gas as f64 / validate_s.max(1e-9) / 1e6,
        chain.head_hash(),
        chain.head().state_root
    )?;
    if rejected.is_empty() {
        outln!("strict validation accepts all {blocks} witnesses")?;
    } else {
        outln!(
            "strict validation rejects {} of {blocks} witnesses (blocks {rejected:?}; the log on stderr says why)",
            rejected.len()
        )?;
    }
    if let Some(dir) = &args.bundle_dir {
        outln!("wrote {blocks} bundles to {}", dir.display())?;
    }
    Ok(())
}

/// Writes `<dir>/block-<number>.json`: a validation bundle with reth's witness form.
fn write_bundle(dir: &std::path::Path, number: u64, input: &ProgramInput) -> Result<()> {
    let value = cairn_witness::json::input_to_json(input, cairn_witness::json::WitnessFormat::Reth)
        .map_err(|source| Error::Bundle {
            path: dir.to_path_buf(),
            source,
        })?;
    let path = dir.join(format!("block-{number}.json"));
    let text = serde_json::to_string(&value).map_err(|source| Error::Json { source })?;
    std::fs::write(&path, text).map_err(|source| Error::Io { path, source })
}

/// `cairn replay --datadir`: import into a committing node.
fn import(file: &cairn_exec::ChainFile, dir: &std::path::Path) -> Result<()> {
    use std::io::IsTerminal;
    let mut node = cairn_exec::commit::Node::open(dir, Some(file))?;
    let genesis = file.genesis_header()?.number;
    let head = node.head_number();
    let done = usize::try_from(head - genesis).unwrap_or(usize::MAX);
    // The blocks already committed must be the chain file's.
    for index in 0..done.min(file.blocks.len()) {
        let block = file.block(index)?;
        let number = block.header.number;
        if node.layout(number).map(|l| l.hash) != Some(block.header.hash_slow()) {
            return Err(Error::Diverged {
                path: dir.to_path_buf(),
                number,
            });
        }
    }
    let todo = file.blocks.len().saturating_sub(done);
    if done > 0 {
        tracing::info!(target: "cairn::replay", head, "continuing from the last committed block");
    }
    // The bar draws on stderr, so it shows when stderr is a terminal; the per-block table
    // goes to stdout unless both are the same terminal (where it would fight the bar).
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(todo as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} blocks {per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let table = bar.is_none() || !std::io::stdout().is_terminal();
    if table {
        outln!(
            "{:>6} {:>4} {:>10} {:>6} {:>9} {:>9} {:>9}  qmtree root",
            "block",
            "txs",
            "gas",
            "leaves",
            "execute",
            "change",
            "prestate"
        )?;
    }
    let (mut gas, mut leaves, started) = (0u64, 0usize, std::time::Instant::now());
    for index in done..file.blocks.len() {
        let block = file.block(index)?;
        let imported = node.import(&block)?;
        gas += imported.gas_used;
        leaves += imported.layout.kinds.len();
        let t = imported.timings;
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        if let Some(bar) = &bar {
            bar.set_message(format!(
                "block {} root {}",
                imported.layout.number, imported.layout.root
            ));
            bar.inc(1);
        }
        if table {
            outln!(
                "{:>6} {:>4} {:>10} {:>6} {:>7.2}ms {:>7.2}ms {:>7.2}ms  {}",
                imported.layout.number,
                imported.transactions,
                imported.gas_used,
                imported.layout.kinds.len(),
                ms(t.execute),
                ms(t.state_change),
                ms(t.pre_state),
                imported.layout.root
            )?;
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let head = node.head_number();
    let root = node.layout(head).map(|l| l.root).unwrap_or_default();
    outln!(
        "committed {todo} blocks ({leaves} leaves, {gas} gas) in {:.2} s; head {head}, {} leaves in all, qmtree root {root}",
        started.elapsed().as_secs_f64(),
        node.tree().leaf_count()
    )?;
    Ok(())
}
