//! Criterion: what `transitionHash` costs on the dev chain (`testdata/devchain.json`).
//!
//! - `trace_devchain/*`: the same blocks executed bare on an in-memory pre-state (senders
//!   known), with throughput in gas (criterion's `Melem/s` reads as Mgas/s):
//!   `a_uninspected` (revm without inspector mode), `b_noop_inspector` (inspector mode,
//!   revm's no-op inspector, system calls inspected too), `c_records_only` (the
//!   `TransitionInspector` encoding every step, records dropped), `d_transition` (records
//!   hashed into commitments: the real thing).
//! - `chunk_hash/*`: the dev chain's actual record stream, cut into chunks of
//!   `CHUNK_STEPS` records, hashed with SHA-256 (`sha2`, SHA-NI when available) and with
//!   keccak256 (alloy-primitives, `keccak-asm`); throughput in bytes.
//!
//! On a shared machine, sequential criterion groups see different loads. With
//! `CAIRN_TRACE_ROUNDS=<n>` the bench also runs the four variants interleaved, `n` rounds,
//! and prints each one's fastest and median time and its ratio to `a_uninspected`.

use cairn_exec::{
    ChainFile,
    bench::{BenchBlock, prepare, run_bare_known_senders, run_bare_traced, run_bare_uninspected},
    commit::trace::{RecordBuf, RecordLog, StepSink, TransitionInspector},
};
use cairn_primitives::ChainConfig;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sha2::{Digest, Sha256};
use std::{
    hint::black_box,
    path::Path,
    time::{Duration, Instant},
};

/// Drops records: isolates the cost of encoding them.
#[derive(Default)]
struct Discard(RecordBuf);

impl StepSink for Discard {
    fn begin(&mut self) {}
    fn buffer(&mut self) -> &mut RecordBuf {
        &mut self.0
    }
    fn commit(&mut self, _start: usize) {
        black_box(&self.0);
        self.0.clear();
    }
    fn end(&mut self) {}
}

/// Executes the prepared blocks, returning the gas used.
type Run = Box<dyn FnMut(&ChainConfig, &[BenchBlock]) -> u64>;

/// One way of executing the dev chain.
struct Variant {
    name: &'static str,
    run: Run,
}

fn variants() -> Vec<Variant> {
    let mut records = TransitionInspector::with_sink(Discard::default());
    let mut transition = TransitionInspector::new();
    vec![
        Variant {
            name: "a_uninspected",
            run: Box::new(|config, blocks| {
                blocks
                    .iter()
                    .map(|b| run_bare_uninspected(config, b).expect("executes"))
                    .sum()
            }),
        },
        Variant {
            name: "b_noop_inspector",
            run: Box::new(|config, blocks| {
                blocks
                    .iter()
                    .map(|b| run_bare_known_senders(config, b).expect("executes"))
                    .sum()
            }),
        },
        Variant {
            name: "c_records_only",
            run: Box::new(move |config, blocks| {
                blocks
                    .iter()
                    .map(|b| run_bare_traced(config, b, &mut records).expect("executes"))
                    .sum()
            }),
        },
        Variant {
            name: "d_transition",
            run: Box::new(move |config, blocks| {
                blocks
                    .iter()
                    .map(|b| {
                        let gas = run_bare_traced(config, b, &mut transition).expect("executes");
                        black_box(transition.take_completed());
                        gas
                    })
                    .sum()
            }),
        },
    ]
}

fn benches(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/devchain.json");
    let file = ChainFile::load(&path).expect("testdata/devchain.json");
    let (config, blocks) = prepare(&file).expect("dev chain replays");
    let gas: u64 = blocks.iter().map(|b| b.gas_used).sum();

    let mut group = c.benchmark_group("trace_devchain");
    group.throughput(Throughput::Elements(gas));
    group.sample_size(20);
    for mut variant in variants() {
        group.bench_function(variant.name, |bench| {
            bench.iter(|| (variant.run)(&config, &blocks))
        });
    }
    group.finish();

    if let Some(rounds) = std::env::var("CAIRN_TRACE_ROUNDS")
        .ok()
        .and_then(|r| r.parse::<usize>().ok())
    {
        interleaved(&config, &blocks, rounds);
    }

    // The actual record stream, chunked as the commitment chunks it.
    let mut log = TransitionInspector::with_sink(RecordLog::default());
    for b in &blocks {
        run_bare_traced(&config, b, &mut log).expect("executes");
    }
    let traces = log.into_sink().traces;
    let chunks: Vec<&[u8]> = traces
        .iter()
        .flat_map(|t| (0..).map_while(move |k| t.chunk(k)))
        .collect();
    let steps: usize = traces.iter().map(|t| t.len()).sum();
    let bytes: usize = chunks.iter().map(|c| c.len()).sum();
    eprintln!(
        "record stream: {} executions, {steps} steps, {bytes} bytes ({:.1} bytes/step), {} chunks ({:.0} bytes/chunk)",
        traces.len(),
        bytes as f64 / steps as f64,
        chunks.len(),
        bytes as f64 / chunks.len() as f64,
    );

    let mut group = c.benchmark_group("chunk_hash");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(20);
    group.bench_function("sha256", |bench| {
        bench.iter(|| {
            chunks
                .iter()
                .map(|c| Sha256::digest(c)[0])
                .fold(0u8, |a, b| a ^ b)
        })
    });
    group.bench_function("keccak256", |bench| {
        bench.iter(|| {
            chunks
                .iter()
                .map(|c| alloy_primitives::keccak256(c)[0])
                .fold(0u8, |a, b| a ^ b)
        })
    });
    group.finish();
}

/// Runs the variants round-robin so that each round sees the same load.
fn interleaved(config: &ChainConfig, blocks: &[BenchBlock], rounds: usize) {
    let mut variants = variants();
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); variants.len()];
    for _ in 0..rounds {
        for (variant, times) in variants.iter_mut().zip(&mut times) {
            let started = Instant::now();
            black_box((variant.run)(config, blocks));
            times.push(started.elapsed());
        }
    }
    let summary: Vec<(Duration, Duration)> = times
        .iter_mut()
        .map(|t| {
            t.sort();
            (t[0], t[t.len() / 2])
        })
        .collect();
    eprintln!("interleaved, {rounds} rounds: fastest / median, ratio to a_uninspected");
    for (variant, (fastest, median)) in variants.iter().zip(&summary) {
        eprintln!(
            "  {:<18} {:>8.2?} {:>8.2?}   {:.2}x {:.2}x",
            variant.name,
            fastest,
            median,
            fastest.as_secs_f64() / summary[0].0.as_secs_f64(),
            median.as_secs_f64() / summary[0].1.as_secs_f64(),
        );
    }
}

criterion_group!(trace, benches);
criterion_main!(trace);
