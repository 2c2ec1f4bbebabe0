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

use cairn_exec::{
    ChainFile,
    bench::{prepare, run_bare_noop_traced, run_bare_traced, run_bare_uninspected},
    commit::trace::{RecordLog, StepSink, TransitionInspector},
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sha2::{Digest, Sha256};
use std::{hint::black_box, path::Path};

/// Drops records: isolates the cost of encoding them.
struct Discard(u64);

impl StepSink for Discard {
    fn begin(&mut self) {}
    fn record(&mut self, record: &[u8]) {
        self.0 += black_box(record).len() as u64;
    }
    fn end(&mut self) {}
}

fn load() -> (cairn_primitives::ChainConfig, Vec<cairn_exec::bench::BenchBlock>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/devchain.json");
    let file = ChainFile::load(&path).expect("testdata/devchain.json");
    prepare(&file).expect("dev chain replays")
}

fn benches(c: &mut Criterion) {
    let (config, blocks) = load();
    let gas: u64 = blocks.iter().map(|b| b.gas_used).sum();

    let mut group = c.benchmark_group("trace_devchain");
    group.throughput(Throughput::Elements(gas));
    group.sample_size(20);
    group.bench_function("a_uninspected", |bench| {
        bench.iter(|| blocks.iter().map(|b| run_bare_uninspected(&config, b).expect("executes")).sum::<u64>())
    });
    group.bench_function("b_noop_inspector", |bench| {
        bench.iter(|| blocks.iter().map(|b| run_bare_noop_traced(&config, b).expect("executes")).sum::<u64>())
    });
    group.bench_function("c_records_only", |bench| {
        let mut inspector = TransitionInspector::with_sink(Discard(0));
        bench.iter(|| blocks.iter().map(|b| run_bare_traced(&config, b, &mut inspector).expect("executes")).sum::<u64>())
    });
    group.bench_function("d_transition", |bench| {
        let mut inspector = TransitionInspector::new();
        bench.iter(|| {
            blocks
                .iter()
                .map(|b| {
                    let gas = run_bare_traced(&config, b, &mut inspector).expect("executes");
                    black_box(inspector.take_completed());
                    gas
                })
                .sum::<u64>()
        })
    });
    group.finish();

    // The actual record stream, chunked as the commitment chunks it.
    let mut log = TransitionInspector::with_sink(RecordLog::default());
    for b in &blocks {
        run_bare_traced(&config, b, &mut log).expect("executes");
    }
    let traces = log.into_sink().traces;
    let chunks: Vec<&[u8]> =
        traces.iter().flat_map(|t| (0..).map_while(move |k| t.chunk(k))).collect();
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
        bench.iter(|| chunks.iter().map(|c| Sha256::digest(c)[0]).fold(0u8, |a, b| a ^ b))
    });
    group.bench_function("keccak256", |bench| {
        bench.iter(|| chunks.iter().map(|c| alloy_primitives::keccak256(c)[0]).fold(0u8, |a, b| a ^ b))
    });
    group.finish();
}

criterion_group!(trace, benches);
criterion_main!(trace);
