//! `cairn bench`: stateless validation against bare execution, on the same blocks.

use crate::{Error, Result, chain::ChainArgs};
use cairn_exec::bench::{prepare, run_bare, run_stateless};
use serde::Serialize;
use std::{path::PathBuf, time::Instant};

/// Arguments of `cairn bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// The chain whose blocks are measured.
    #[command(flatten)]
    pub chain: ChainArgs,
    /// Runs per block; the median is reported.
    #[arg(long, default_value_t = 15)]
    pub iterations: usize,
    /// Also write the figures as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// The figures of one run of `cairn bench`.
#[derive(Debug, Clone, Serialize)]
pub struct StatelessBench {
    /// Blocks measured.
    pub blocks: usize,
    /// Their gas.
    pub gas: u64,
    /// Sum over blocks of the median bare-execution time, in ms.
    pub bare_ms: f64,
    /// Sum over blocks of the median stateless-validation time, in ms.
    pub stateless_ms: f64,
    /// Bare execution throughput.
    pub bare_mgas_per_s: f64,
    /// Stateless validation throughput.
    pub stateless_mgas_per_s: f64,
    /// `stateless_ms / bare_ms`.
    pub ratio: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs `cairn bench`.
///
/// # Errors
/// Chain loading or a block failing (which the replay already rules out).
pub fn run(args: BenchArgs) -> Result<()> {
    let file = args.chain.load()?;
    let (config, blocks) = prepare(&file)?;
    let iterations = args.iterations.max(1);
    let (mut bare_total, mut stateless_total, mut gas) = (0.0, 0.0, 0u64);
    println!("{:>6} {:>10} {:>10} {:>12} {:>7}", "block", "gas", "bare ms", "stateless ms", "ratio");
    for b in &blocks {
        let (mut bare, mut stateless) = (Vec::new(), Vec::new());
        for _ in 0..iterations {
            let t = Instant::now();
            run_bare(&config, b)?;
            bare.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            run_stateless(b)?;
            stateless.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let (bm, sm) = (median(bare), median(stateless));
        println!("{:>6} {:>10} {bm:>10.3} {sm:>12.3} {:>7.2}", b.block.header.number, b.gas_used, sm / bm);
        bare_total += bm;
        stateless_total += sm;
        gas += b.gas_used;
    }
    let report = StatelessBench {
        blocks: blocks.len(),
        gas,
        bare_ms: bare_total,
        stateless_ms: stateless_total,
        bare_mgas_per_s: gas as f64 / bare_total / 1e3,
        stateless_mgas_per_s: gas as f64 / stateless_total / 1e3,
        ratio: stateless_total / bare_total,
    };
    println!(
        "{} blocks, {} gas: bare {:.1} ms ({:.1} Mgas/s), stateless {:.1} ms ({:.1} Mgas/s), ratio stateless/bare {:.2} (medians of {iterations} runs)",
        report.blocks, report.gas, report.bare_ms, report.bare_mgas_per_s, report.stateless_ms, report.stateless_mgas_per_s, report.ratio
    );
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report).map_err(|source| Error::Json { source })?;
        std::fs::write(path, json).map_err(|source| Error::Io { path: path.clone(), source })?;
    }
    Ok(())
}
