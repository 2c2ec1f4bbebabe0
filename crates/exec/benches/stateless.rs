//! Criterion: the same dev-chain blocks (a) executed bare on an in-memory database and
//! (b) validated statelessly from their witnesses. Throughput is in gas ("elements"), so
//! criterion's `Melem/s` reads as Mgas/s.

use cairn_exec::{
    ChainFile,
    bench::{prepare, run_bare, run_bare_known_senders, run_stateless},
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::path::Path;

fn blocks(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/devchain.json");
    let file = ChainFile::load(&path).expect("testdata/devchain.json");
    let (config, blocks) = prepare(&file).expect("dev chain replays");
    let gas: u64 = blocks.iter().map(|b| b.gas_used).sum();
    let mut group = c.benchmark_group("devchain");
    group.throughput(Throughput::Elements(gas));
    group.sample_size(20);
    group.bench_function("a_bare_execution", |bench| {
        bench.iter(|| {
            blocks
                .iter()
                .map(|b| run_bare(&config, b).expect("executes"))
                .sum::<u64>()
        })
    });
    group.bench_function("a_bare_execution_known_senders", |bench| {
        bench.iter(|| {
            blocks
                .iter()
                .map(|b| run_bare_known_senders(&config, b).expect("executes"))
                .sum::<u64>()
        })
    });
    group.bench_function("b_stateless_validation", |bench| {
        bench.iter(|| {
            blocks
                .iter()
                .map(|b| run_stateless(b).expect("validates").total_gas_used)
                .sum::<u64>()
        })
    });
    group.finish();
}

criterion_group!(benches, blocks);
criterion_main!(benches);
