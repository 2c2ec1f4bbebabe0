//! `cairn replay --rpc URL --blocks A..B`: program inputs built from another node's JSON-RPC
//! (`debug_executionWitness`, or `eth_getProof` with deletion repair), validated
//! statelessly, with per-block figures; every answer cached with `--cache-dir`, replayed
//! with `--offline`.

use crate::{Error, Result, outln};
use cairn_primitives::{ChainConfig, EthereumHardfork, ProgramOutput};
use cairn_source::{
    BodySource, ExecutionWitnessRpc, Fetched, ProofRpc, Rpc, RpcOptions, RpcStats, SourceError,
    WitnessProvider,
};
use futures_util::StreamExt;
use std::{
    io::IsTerminal,
    path::{Path, PathBuf},
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

/// Which JSON-RPC methods build the input (`--source`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceChoice {
    /// `debug_executionWitness` when the node serves it, else `eth_getProof`.
    #[default]
    Auto,
    /// `debug_executionWitness` (reth, geth, erigon).
    Witness,
    /// `eth_getProof`, `eth_getCode` and headers, with deletion repair (any node).
    Proofs,
    /// Both, side by side, with the size of the proofs witness relative to the other.
    Both,
}

/// Where block bodies come from (`--bodies`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum BodiesChoice {
    /// `eth_getBlockByNumber` with full transactions.
    #[default]
    Json,
    /// `debug_getRawBlock`.
    Raw,
}

/// An inclusive block range: `A..B`, `A..=B` or `N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRange {
    /// First block.
    pub first: u64,
    /// Last block (inclusive).
    pub last: u64,
}

impl FromStr for BlockRange {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let num = |x: &str| {
            let x = x.trim();
            match x.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => x.parse(),
            }
            .map_err(|e| format!("{x:?}: {e}"))
        };
        let (first, last) = match s.split_once("..") {
            Some((a, b)) => (num(a)?, num(b.strip_prefix('=').unwrap_or(b))?),
            None => (num(s)?, num(s)?),
        };
        if first == 0 || last < first {
            return Err(format!(
                "{s:?}: the range must be non-empty and start after the genesis"
            ));
        }
        Ok(Self { first, last })
    }
}

/// Arguments of `cairn replay --rpc`.
#[derive(Debug, Clone, clap::Args)]
pub struct RemoteArgs {
    /// Build inputs from this node's JSON-RPC (plain `http://`) instead of a chain file.
    #[arg(long, env = "CAIRN_RPC_URL", conflicts_with_all = ["chain", "bundle_dir"])]
    pub rpc: Option<String>,
    /// Blocks to replay: `A..B` (inclusive), `A..=B` or `N`.
    #[arg(long)]
    pub blocks: Option<BlockRange>,
    /// Which methods build the input.
    #[arg(long, value_enum, default_value_t = SourceChoice::Auto)]
    pub source: SourceChoice,
    /// Where block bodies come from.
    #[arg(long, value_enum, default_value_t = BodiesChoice::Json)]
    pub bodies: BodiesChoice,
    /// Ask for each `debug_executionWitness` by the block's hash rather than its number
    /// (`debug_executionWitnessByBlockHash`, else geth's hash form).
    #[arg(long)]
    pub witness_by_hash: bool,
    /// One input for the whole range (one witness for all its blocks) instead of one per
    /// block.
    #[arg(long)]
    pub batch: bool,
    /// Cache every answer here (`<dir>/<method>/<key>.json`); a later run reads it first.
    #[arg(long, env = "CAIRN_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Answer only from `--cache-dir`: no node needed (a missing answer is an error).
    #[arg(long, requires = "cache_dir", conflicts_with_all = ["chain", "bundle_dir"])]
    pub offline: bool,
    /// At most this many requests per second.
    #[arg(long, env = "CAIRN_RPC_RPS")]
    pub rps: Option<f64>,
    /// Inputs fetched (and validated) at once.
    #[arg(long, default_value_t = 4, env = "CAIRN_RPC_CONCURRENCY")]
    pub concurrency: usize,
    /// Time budget of one request, in seconds.
    #[arg(long, default_value_t = 60)]
    pub rpc_timeout: u64,
    /// The chain's fork schedule: every fork up to this one active from genesis (e.g.
    /// `shanghai`, `prague`), the chain id from `eth_chainId`. Default: mainnet's schedule
    /// when the chain id is 1.
    #[arg(long, conflicts_with = "chain_config")]
    pub hardfork: Option<String>,
    /// The chain's configuration as JSON, or a file holding it under `chain` (a chain file,
    /// a validation bundle).
    #[arg(long)]
    pub chain_config: Option<PathBuf>,
}

/// Runs `cairn replay --rpc`; with `datadir`, every validated block is also imported with
/// commitments into that data directory (created from `--chain-config`, which must then be
/// a chain file: the node executes on full state, so it needs the genesis allocation).
///
/// # Errors
/// The first block that cannot be fetched, does not validate or does not import, naming the
/// block.
pub fn run(args: &RemoteArgs, datadir: Option<&Path>) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| Error::Runtime { source })?;
    let node = match datadir {
        None => None,
        Some(dir) => {
            let Some(path) = &args.chain_config else {
                return Err(Error::Usage { reason:
                    "--datadir with --rpc needs --chain-config <chain file> (its genesis and allocation)"
                        .into(),
                 });
            };
            let file = cairn_exec::ChainFile::load(path)?;
            Some((
                cairn_exec::commit::Node::open(dir, Some(&file))?,
                dir.to_path_buf(),
            ))
        }
    };
    runtime.block_on(run_async(args, node))
}

/// A data directory being imported into.
type Importer = (cairn_exec::commit::Node, PathBuf);

/// Imports validated blocks in order; a block already committed must be the same block.
fn import(importer: &mut Importer, blocks: &[cairn_primitives::Block]) -> Result<()> {
    let (node, dir) = importer;
    for block in blocks {
        let number = block.header.number;
        match node.layout(number) {
            Some(layout) if layout.hash == block.header.hash_slow() => {}
            Some(_) => {
                return Err(Error::Diverged {
                    path: dir.clone(),
                    number,
                });
            }
            None => {
                node.import(block)?;
            }
        }
    }
    Ok(())
}

async fn run_async(args: &RemoteArgs, mut importer: Option<Importer>) -> Result<()> {
    let url = args.rpc.clone().unwrap_or_default();
    let range = args.blocks.ok_or_else(|| Error::Usage {
        reason: "--rpc needs --blocks A..B".into(),
    })?;
    let rpc = Arc::new(
        Rpc::new(
            &url,
            RpcOptions {
                cache_dir: args.cache_dir.clone(),
                offline: args.offline,
                rps: args.rps,
                timeout: Duration::from_secs(args.rpc_timeout),
                ..Default::default()
            },
        )
        .map_err(Error::from)?,
    );
    let chain = chain_config(args, &rpc).await?;
    let bodies = match args.bodies {
        BodiesChoice::Json => BodySource::Json,
        BodiesChoice::Raw => BodySource::Raw,
    };
    let witness_missing = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicBool::new(false));
    let choice = args.source;

    let spans: Vec<(u64, u64)> = if args.batch {
        vec![(range.first, range.last)]
    } else {
        (range.first..=range.last).map(|n| (n, n)).collect()
    };
    // The bar draws on stderr when it is a terminal; rows print above it.
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(spans.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} inputs eta {eta} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let print = |line: String| -> Result<()> {
        match &bar {
            Some(bar) => bar.suspend(|| outln!("{line}")),
            None => outln!("{line}"),
        }
    };
    print(format!(
        "{:>8} {:>4} {:>10} {:>7} {:>6} {:>9} {:>9} {:>6} {:>9} {:>7} {:>9} {:>6}",
        "block",
        "txs",
        "gas",
        "source",
        "calls",
        "fetched",
        "wall",
        "nodes",
        "witness",
        "repairs",
        "validate",
        "ratio"
    ))?;
    // Up to --concurrency inputs are fetched (and validated) at once, each through its own
    // handle on the connection so that its calls are counted apart; rows print in order.
    let fetches = spans.iter().map(|&(first, last)| {
        let scoped = Arc::new(rpc.scope());
        let witness = ExecutionWitnessRpc::new(Arc::clone(&scoped), chain.clone(), bodies);
        let witness = if args.witness_by_hash {
            witness.by_hash()
        } else {
            witness
        };
        let proofs = ProofRpc::new(scoped, chain.clone(), bodies);
        let witness_missing = Arc::clone(&witness_missing);
        let failed = Arc::clone(&failed);
        async move {
            let mut rows = Vec::new();
            // After a failure no new input is started (those in flight finish).
            if failed.load(Ordering::Relaxed) {
                return Ok((first, last, rows));
            }
            for which in [SourceChoice::Witness, SourceChoice::Proofs] {
                // `auto` fetches once per input: the witness, or proofs once the node is
                // known to lack `debug_executionWitness`.
                let wanted = match choice {
                    SourceChoice::Both => true,
                    SourceChoice::Auto => which == SourceChoice::Witness,
                    other => other == which,
                };
                if !wanted {
                    continue;
                }
                let mut label = which;
                let fetched = if which == SourceChoice::Proofs
                    || witness_missing.load(Ordering::Relaxed)
                {
                    label = SourceChoice::Proofs;
                    proofs.program_input(first, last).await
                } else {
                    match witness.program_input(first, last).await {
                        Err(SourceError::MethodUnavailable { method, .. })
                            if choice == SourceChoice::Auto
                                && method == "debug_executionWitness" =>
                        {
                            if !witness_missing.swap(true, Ordering::Relaxed) {
                                tracing::info!(target: "cairn::replay", "the node does not serve debug_executionWitness: building inputs from eth_getProof");
                            }
                            label = SourceChoice::Proofs;
                            proofs.program_input(first, last).await
                        }
                        other => other,
                    }
                }
                .map_err(Error::from)?;
                let (fetched, output, took) = tokio::task::spawn_blocking(move || {
                    validate(&fetched).map(|(output, took)| (fetched, output, took))
                })
                .await
                .map_err(|e| Error::Usage { reason: format!("validation task: {e}") })??;
                rows.push((label, fetched, output, took));
            }
            Ok::<_, Error>((first, last, rows))
        }
    });
    let mut stream = futures_util::stream::iter(fetches).buffered(args.concurrency.max(1));

    let mut totals = (RpcStats::default(), 0u64, 0u64);
    let mut last_output: Option<ProgramOutput> = None;
    // The stream is always run to its end: an input whose future were dropped mid-way would
    // leave its pre-flight thread waiting on a runtime that is shutting down. The first
    // failure stops new inputs and is returned once those in flight are done.
    let mut failure = None;
    while let Some(result) = stream.next().await {
        if failure.is_some() {
            continue;
        }
        let printed = result.and_then(|(first, last, rows)| {
            let blocks = rows
                .first()
                .map(|(_, fetched, _, _)| fetched.input.blocks.clone())
                .unwrap_or_default();
            print_rows(first, last, rows, &print, &mut totals, &mut last_output)?;
            match &mut importer {
                Some(importer) => import(importer, &blocks),
                None => Ok(()),
            }
        });
        if let Err(e) = printed {
            failed.store(true, Ordering::Relaxed);
            failure = Some(e);
            continue;
        }
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let (total, total_leaf, total_branch) = totals;
    // The spans' calls, and the chain id asked through the base handle.
    let stats = total + rpc.stats();
    let (total_calls, total_bytes) = (stats.calls, stats.bytes);
    outln!(
        "validated blocks {}..={}: {total_calls} calls to the node, {:.1} KiB fetched, {} answers from the cache, {} retries; deletion repairs: {total_leaf} collapse-sibling leaves (case 1), {total_branch} restructured branches (case 2){}",
        range.first,
        range.last,
        total_bytes as f64 / 1024.0,
        stats.cached,
        stats.retries,
        last_output.map_or(String::new(), |o| format!(
            "; final state root {}",
            o.final_state_root
        )),
    )?;
    if let Some((node, dir)) = &importer {
        let head = node.head_number();
        outln!(
            "imported with commitments into {}: head {head}, qmtree root {}",
            dir.display(),
            node.layout(head).map(|l| l.root).unwrap_or_default()
        )?;
    }
    Ok(())
}

/// One input's rows of the table: (source, input, output, validation time) per source.
type Rows = Vec<(SourceChoice, Fetched, ProgramOutput, Duration)>;

/// Prints one input's rows, adding to the totals (calls, leaf repairs, branch repairs).
///
/// # Errors
/// When the two sources validate to different outputs, or stdout fails.
fn print_rows(
    first: u64,
    last: u64,
    rows: Rows,
    print: &impl Fn(String) -> Result<()>,
    totals: &mut (RpcStats, u64, u64),
    last_output: &mut Option<ProgramOutput>,
) -> Result<()> {
    let mut sizes = Vec::new();
    let mut outputs = Vec::new();
    for (label, fetched, output, took) in rows {
        outputs.push(output);
        if outputs.first() != Some(&output) {
            return Err(Error::Usage {
                reason: format!(
                    "blocks {first}..={last}: the two sources validate to different outputs"
                ),
            });
        }
        let bytes = fetched.input.witness.byte_size();
        sizes.push(bytes);
        let ratio = match sizes.as_slice() {
            [w, p] => format!("{:.2}", *p as f64 / (*w).max(1) as f64),
            _ => String::from("-"),
        };
        let stats = &fetched.stats;
        totals.0 = totals.0 + stats.rpc;
        totals.1 += stats.repairs_leaf;
        totals.2 += stats.repairs_branch;
        let blocks = &fetched.input.blocks;
        print(format!(
            "{:>8} {:>4} {:>10} {:>7} {:>6} {:>7.1}Ki {:>7.1}ms {:>6} {:>7.1}Ki {:>3}/{:<3} {:>7.2}ms {:>6}",
            if first == last {
                first.to_string()
            } else {
                format!("{first}-{last}")
            },
            blocks
                .iter()
                .map(|b| b.body.transactions.len())
                .sum::<usize>(),
            output.total_gas_used,
            if label == SourceChoice::Witness {
                "witness"
            } else {
                "proofs"
            },
            stats.rpc.calls,
            stats.rpc.bytes as f64 / 1024.0,
            stats.wall.as_secs_f64() * 1e3,
            fetched.input.witness.state.len(),
            bytes as f64 / 1024.0,
            stats.repairs_leaf,
            stats.repairs_branch,
            took.as_secs_f64() * 1e3,
            ratio,
        ))?;
    }
    if let Some(output) = outputs.pop() {
        *last_output = Some(output);
    }
    Ok(())
}

/// Validates an input under Cairn's and the strict rules, timing the first.
fn validate(fetched: &Fetched) -> Result<(ProgramOutput, Duration)> {
    let start = std::time::Instant::now();
    let output = cairn_stateless::validate(&fetched.input)?;
    let took = start.elapsed();
    cairn_stateless::validate_strict(&fetched.input)?;
    Ok((output, took))
}

async fn chain_config(args: &RemoteArgs, rpc: &Rpc) -> Result<ChainConfig> {
    if let Some(path) = &args.chain_config {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        // A chain config, or anything holding one under "chain" (a chain file, a bundle).
        let mut value: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| Error::Json { source })?;
        if let Some(chain) = value.get_mut("chain") {
            value = chain.take();
        }
        return serde_json::from_value(value).map_err(|source| Error::Json { source });
    }
    let id: alloy_primitives::U64 = rpc.call("eth_chainId", vec![]).await.map_err(Error::from)?;
    let id = id.to::<u64>();
    match &args.hardfork {
        Some(name) => {
            let fork = EthereumHardfork::from_str(name).map_err(|_| Error::Usage {
                reason: format!("--hardfork {name:?}: unknown fork"),
            })?;
            Ok(ChainConfig::at_genesis(id, fork))
        }
        None if id == 1 => Ok(ChainConfig::mainnet()),
        None => Err(Error::Usage {
            reason: format!(
                "chain id {id} is not mainnet: give its fork schedule with --hardfork or --chain-config"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_ranges() {
        let r = |s: &str| s.parse::<BlockRange>();
        assert_eq!(r("3..7"), Ok(BlockRange { first: 3, last: 7 }));
        assert_eq!(r("3..=7"), Ok(BlockRange { first: 3, last: 7 }));
        assert_eq!(
            r("0x10"),
            Ok(BlockRange {
                first: 16,
                last: 16
            })
        );
        assert_eq!(r("0x1..0x2"), Ok(BlockRange { first: 1, last: 2 }));
        assert!(r("0..3").is_err(), "the genesis has no parent");
        assert!(r("7..3").is_err());
        assert!(r("x").is_err());
    }
}
