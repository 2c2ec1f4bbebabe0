//! `cairn bench`: stateless validation against bare execution, on the same blocks.

use crate::{Error, Result, chain::ChainArgs, outln};
use cairn_exec::bench::{prepare, run_bare, run_bare_known_senders, run_stateless};
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
    /// What to measure.
    #[arg(long, value_enum, default_value_t = BenchKind::Stateless)]
    pub what: BenchKind,
    /// For `--what prover`: the batch, both ends included.
    #[arg(long, default_value = "1..10")]
    pub blocks: crate::prover::BlockRange,
}

/// The measurements `cairn bench` can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchKind {
    /// Stateless validation from the witness against bare execution.
    Stateless,
    /// Importing with QMTree commitments against plain import, split by component.
    Commitments,
    /// Complete witnesses against minimal ones: nodes, codes, bytes and generation time
    /// per block.
    Witness,
    /// The prover on a batch (`--blocks`, default 1..10): input encoding against JSON,
    /// prove and verify per backend, `exec` over plain validation, `.seg` size, remote
    /// overhead on loopback.
    Prover,
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
    /// The same without sender recovery (senders known in advance), in ms.
    pub bare_known_senders_ms: f64,
    /// Sum over blocks of the median stateless-validation time, in ms.
    pub stateless_ms: f64,
    /// Bare execution throughput.
    pub bare_mgas_per_s: f64,
    /// Stateless validation throughput.
    pub stateless_mgas_per_s: f64,
    /// Bare execution throughput without sender recovery.
    pub bare_known_senders_mgas_per_s: f64,
    /// `stateless_ms / bare_ms`.
    pub ratio: f64,
    /// Both sides without sender recovery: `(stateless_ms − recovery) / bare_known_senders_ms`,
    /// with `recovery = bare_ms − bare_known_senders_ms` (validation recovers senders as
    /// bare execution does, so this is its overhead on the EVM work alone).
    pub ratio_without_recovery: f64,
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
    match args.what {
        BenchKind::Commitments => return commitments(&file, args.iterations, args.json.as_deref()),
        BenchKind::Witness => return witness(&file, args.iterations, args.json.as_deref()),
        BenchKind::Prover => return prover(&file, &args),
        BenchKind::Stateless => {}
    }
    let (config, blocks) = prepare(&file)?;
    let iterations = args.iterations.max(1);
    let (mut bare_total, mut known_total, mut stateless_total, mut gas) = (0.0, 0.0, 0.0, 0u64);
    outln!(
        "{:>6} {:>10} {:>10} {:>14} {:>12} {:>7}",
        "block",
        "gas",
        "bare ms",
        "bare-nosig ms",
        "stateless ms",
        "ratio"
    )?;
    for b in &blocks {
        let (mut bare, mut known, mut stateless) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..iterations {
            let t = Instant::now();
            run_bare(&config, b)?;
            bare.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            run_bare_known_senders(&config, b)?;
            known.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            run_stateless(b)?;
            stateless.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let (bm, km, sm) = (median(bare), median(known), median(stateless));
        outln!(
            "{:>6} {:>10} {bm:>10.3} {km:>14.3} {sm:>12.3} {:>7.2}",
            b.block.header.number,
            b.gas_used,
            sm / bm
        )?;
        bare_total += bm;
        known_total += km;
        stateless_total += sm;
        gas += b.gas_used;
    }
    let report = StatelessBench {
        blocks: blocks.len(),
        gas,
        bare_ms: bare_total,
        bare_known_senders_ms: known_total,
        stateless_ms: stateless_total,
        bare_mgas_per_s: gas as f64 / bare_total / 1e3,
        bare_known_senders_mgas_per_s: gas as f64 / known_total / 1e3,
        stateless_mgas_per_s: gas as f64 / stateless_total / 1e3,
        ratio: stateless_total / bare_total,
        ratio_without_recovery: (stateless_total - (bare_total - known_total)) / known_total,
    };
    outln!(
        "{} blocks, {} gas (medians of {iterations} runs, summed over blocks):",
        report.blocks,
        report.gas
    )?;
    outln!(
        "  (a)  bare execution, senders recovered  {:>8.1} ms {:>8.1} Mgas/s",
        report.bare_ms,
        report.bare_mgas_per_s
    )?;
    outln!(
        "  (a') bare execution, senders known      {:>8.1} ms {:>8.1} Mgas/s",
        report.bare_known_senders_ms,
        report.bare_known_senders_mgas_per_s
    )?;
    outln!(
        "  (b)  stateless validation from witness  {:>8.1} ms {:>8.1} Mgas/s",
        report.stateless_ms,
        report.stateless_mgas_per_s
    )?;
    outln!(
        "  ratio b/a {:.2}; without sender recovery on both sides (b − (a − a'))/a' {:.2}",
        report.ratio,
        report.ratio_without_recovery
    )?;
    if let Some(path) = &args.json {
        crate::output::write_json(path, &report)?;
    }
    Ok(())
}

fn commitments(
    file: &cairn_exec::ChainFile,
    iterations: usize,
    json: Option<&std::path::Path>,
) -> Result<()> {
    let r = cairn_exec::commit::bench::commitment_bench(file, iterations)?;
    outln!(
        "{:>6} {:>10} {:>4} {:>10} {:>12} {:>10} {:>10} {:>7}",
        "block",
        "gas",
        "txs",
        "plain ms",
        "committed ms",
        "prestate",
        "change",
        "ratio"
    )?;
    for b in &r.per_block {
        outln!(
            "{:>6} {:>10} {:>4} {:>10.3} {:>12.3} {:>10.3} {:>10.3} {:>7.2}",
            b.number,
            b.gas,
            b.transactions,
            b.plain_ms,
            b.committed_ms,
            b.pre_state_ms,
            b.state_change_ms,
            b.committed_ms / b.plain_ms
        )?;
    }
    outln!(
        "{} blocks, {} txs, {} gas (medians of {iterations} runs, summed over blocks):",
        r.blocks,
        r.transactions,
        r.gas
    )?;
    outln!(
        "  plain import            {:>8.1} ms {:>8.1} Mgas/s {:>9.0} tx/s",
        r.plain_ms,
        r.plain_mgas_per_s,
        r.plain_tx_per_s
    )?;
    outln!(
        "  import with commitments {:>8.1} ms {:>8.1} Mgas/s {:>9.0} tx/s  ratio {:.2}",
        r.committed_ms,
        r.committed_mgas_per_s,
        r.committed_tx_per_s,
        r.ratio
    )?;
    let extra = (r.committed_ms - r.plain_ms).max(1e-9);
    outln!("  overhead {extra:.1} ms:")?;
    for (name, part) in [
        ("preStateHash (per-step roots)", r.pre_state_ms),
        ("stateChangeHash (per-step diffs)", r.state_change_ms),
        ("transitionHash (traced − plain import)", r.transition_ms),
        ("the rest (commit hook, attribution, leaves)", r.other_ms),
    ] {
        outln!(
            "    {name:<44} {part:>8.1} ms {:>5.0}%",
            100.0 * part / extra
        )?;
    }
    if let Some(path) = json {
        crate::output::write_json(path, &r)?;
    }
    Ok(())
}

fn witness(
    file: &cairn_exec::ChainFile,
    iterations: usize,
    json: Option<&std::path::Path>,
) -> Result<()> {
    let r = cairn_exec::bench::witness_bench(file, iterations)?;
    outln!(
        "{:>6} {:>15} {:>11} {:>17} {:>17} {:>7}",
        "block",
        "nodes min/cmp",
        "codes",
        "KiB min/cmp",
        "generate ms",
        "strict"
    )?;
    let kib = |b: usize| b as f64 / 1024.0;
    for b in &r.per_block {
        let (m, c) = (b.minimal, b.complete);
        outln!(
            "{:>6} {:>7}/{:<7} {:>5}/{:<5} {:>8.1}/{:<8.1} {:>8.2}/{:<8.2} {:>7}",
            b.number,
            m.nodes,
            c.nodes,
            m.codes,
            c.codes,
            kib(m.bytes),
            kib(c.bytes),
            m.generate_ms,
            c.generate_ms,
            if b.minimal_strict_valid {
                "ok"
            } else {
                "min no"
            }
        )?;
    }
    let (m, c) = (r.minimal, r.complete);
    let pct = |a: f64, b: f64| 100.0 * (b - a) / a.max(1e-9);
    outln!(
        "{} blocks (generation: medians of {iterations} runs, summed over blocks):",
        r.per_block.len()
    )?;
    outln!(
        "  minimal   {:>7} nodes {:>5} codes {:>9.1} KiB  generated in {:>8.1} ms",
        m.nodes,
        m.codes,
        kib(m.bytes),
        m.generate_ms
    )?;
    outln!(
        "  complete  {:>7} nodes {:>5} codes {:>9.1} KiB  generated in {:>8.1} ms",
        c.nodes,
        c.codes,
        kib(c.bytes),
        c.generate_ms
    )?;
    outln!(
        "  complete − minimal: {:+} nodes ({:+.2}%), {:+} codes ({:+.2}%), {:+} bytes ({:+.2}%), generation {:+.1}%",
        c.nodes as i64 - m.nodes as i64,
        pct(m.nodes as f64, c.nodes as f64),
        c.codes as i64 - m.codes as i64,
        pct(m.codes as f64, c.codes as f64),
        c.bytes as i64 - m.bytes as i64,
        pct(m.bytes as f64, c.bytes as f64),
        pct(m.generate_ms, c.generate_ms)
    )?;
    outln!(
        "  strict validation rejects {} of {} minimal witnesses and accepts every complete one",
        r.minimal_strict_rejected,
        r.per_block.len()
    )?;
    if let Some(path) = json {
        crate::output::write_json(path, &r)?;
    }
    Ok(())
}

fn prover(file: &cairn_exec::ChainFile, args: &BenchArgs) -> Result<()> {
    let (first, last) = (args.blocks.first.max(1), args.blocks.last);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| Error::Runtime { source })?;
    let b = runtime.block_on(cairn_prover::bench::run(file, first, last, args.iterations))?;
    outln!(
        "blocks {}..={} ({} gas), medians of {} runs",
        b.first_block,
        b.last_block,
        b.gas,
        b.iterations
    )?;
    outln!(
        "{:<24} {:>12} {:>12} {:>12}",
        "input",
        "bytes",
        "encode ms",
        "decode ms"
    )?;
    outln!(
        "{:<24} {:>12} {:>12.3} {:>12.3}",
        "compact (CRNI v1)",
        b.input_bytes,
        b.encode_ms,
        b.decode_ms
    )?;
    outln!(
        "{:<24} {:>12} {:>12.3} {:>12.3}",
        "JSON bundle",
        b.json_bytes,
        b.json_encode_ms,
        b.json_decode_ms
    )?;
    outln!(
        "{:<24} {:>12.2}x {:>11.1}x {:>11.1}x",
        "JSON / compact",
        b.json_bytes as f64 / b.input_bytes.max(1) as f64,
        b.json_encode_ms / b.encode_ms.max(1e-9),
        b.json_decode_ms / b.decode_ms.max(1e-9)
    )?;
    outln!()?;
    outln!(
        "{:<24} {:>12} {:>12} {:>12}",
        "backend",
        "prove ms",
        "verify ms",
        "proof bytes"
    )?;
    outln!(
        "{:<24} {:>12.3} {:>12} {:>12}",
        "validate (plain)",
        b.validate_ms,
        "",
        ""
    )?;
    outln!(
        "{:<24} {:>12.3} {:>12} {:>12}",
        "guest (this thread)",
        b.guest_ms,
        "",
        ""
    )?;
    for f in &b.backends {
        outln!(
            "{:<24} {:>12.3} {:>12.3} {:>12}",
            f.backend,
            f.prove_ms,
            f.verify_ms,
            f.proof_bytes
        )?;
    }
    outln!()?;
    outln!(
        "exec prove / plain validate   {:.3}x (goal <= 1.1x)",
        b.exec_over_validate
    )?;
    let attest_verify_us = b
        .backends
        .iter()
        .find(|f| f.backend == "tee/attest")
        .map_or(0.0, |f| f.verify_ms * 1e3);
    outln!("attest verify                 {attest_verify_us:.1} us (goal <= 100 us)")?;
    outln!(".seg (exec + attest)          {} bytes", b.seg_bytes)?;
    outln!(
        "remote over local (prove)     exec {:+.3} ms, attest {:+.3} ms",
        b.remote_exec_overhead_ms,
        b.remote_attest_overhead_ms
    )?;
    if let Some(path) = &args.json {
        crate::output::write_json(path, &b)?;
    }
    Ok(())
}
