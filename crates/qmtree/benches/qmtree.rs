//! Criterion benches: Keccak (single and batched), appends (memory and
//! store), proofs. `cairn qmtree bench` reports the headline figures.

use std::hint::black_box;

use alloy_primitives::{B256, keccak256_uncached};
use cairn_qmtree::{
    Backend, LeafComponents, MemoryTree, QmTree, Store, StoreOptions, hash_leaves, hash_pairs,
    verify_inclusion,
};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

fn word(i: u64, k: u64) -> B256 {
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(&i.to_le_bytes());
    b[8..16].copy_from_slice(&k.to_le_bytes());
    B256::from(b)
}

/// Appends `blocks` blocks of 200 deterministic leaves, committing each.
fn fill<B: Backend>(t: &mut QmTree<B>, blocks: u64) {
    for block in 0..blocks {
        for i in 0..200 {
            t.append_next(word(block, i), word(i, block), word(block, 7))
                .unwrap();
        }
        t.commit_block(block).unwrap();
    }
}

/// A new store in `dir` without fsync (the tree's cost, not the disk's).
fn store_no_fsync(dir: &std::path::Path) -> Store {
    Store::open_with(
        dir,
        StoreOptions {
            create: true,
            sync: false,
            pipeline: false,
        },
    )
    .unwrap()
}

fn keccak(c: &mut Criterion) {
    let mut g = c.benchmark_group("keccak");
    g.throughput(Throughput::Elements(1));
    let input = [7u8; 129];
    g.bench_function("single_129_bytes", |b| {
        b.iter(|| keccak256_uncached(black_box(&input)))
    });
    let leaves: Vec<LeafComponents> = (0..2048)
        .map(|i| LeafComponents {
            pre_state_hash: word(i, 0),
            state_change_hash: word(i, 1),
            transition_hash: word(i, 2),
            previous_leaf_hash: word(i, 3),
        })
        .collect();
    let mut out = vec![B256::ZERO; 2048];
    g.throughput(Throughput::Elements(2048));
    g.bench_function("batched_leaves_2048", |b| {
        b.iter(|| hash_leaves(black_box(&leaves), &mut out))
    });
    let children: Vec<B256> = (0..4096).map(|i| word(i, 9)).collect();
    g.bench_function("batched_nodes_2048", |b| {
        b.iter(|| hash_pairs(black_box(&children), &mut out))
    });
    g.finish();
}

fn append(c: &mut Criterion) {
    const LEAVES: u64 = 100_000;
    let mut g = c.benchmark_group("append");
    g.throughput(Throughput::Elements(LEAVES));
    g.sample_size(10);
    g.bench_function("memory_blocks_of_200", |b| {
        b.iter(|| {
            let mut t = MemoryTree::new();
            fill(&mut t, LEAVES / 200);
            t
        })
    });
    g.bench_function("store_no_fsync_blocks_of_200", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| {
                fill(&mut store_no_fsync(dir.path()), LEAVES / 200);
                dir
            },
            BatchSize::PerIteration,
        )
    });
    // Persisted: fdatasync at every 200-leaf block, each commit waiting for
    // its sync, and pipelined (each sync finishing during the next block),
    // as `cairn qmtree bench` measures `appends_per_sec_persisted`; the
    // clock stops once the last block is durable. Creating the store and
    // dropping it (its clean close) happen outside the measurement.
    for (name, pipeline) in [
        ("store_fsync_blocks_of_200", false),
        ("store_fsync_pipelined_blocks_of_200", true),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().unwrap();
                    let options = StoreOptions {
                        pipeline,
                        ..StoreOptions::default()
                    };
                    (Store::open_with(dir.path(), options).unwrap(), dir)
                },
                |(mut s, dir)| {
                    fill(&mut s, LEAVES / 200);
                    s.sync().unwrap();
                    (s, dir)
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn proofs(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store_no_fsync(dir.path());
    fill(&mut s, 1000);
    let mut g = c.benchmark_group("proof");
    g.throughput(Throughput::Elements(1));
    let mut x = 1u64;
    g.bench_function("generate_200k_leaves_random_past_block", |b| {
        b.iter(|| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let tx = (x >> 20) % 200_000;
            let at = tx / 200 + (x >> 50) % (1000 - tx / 200);
            s.proof(tx, at).unwrap()
        })
    });
    let proof = s.proof(12_345, 999).unwrap();
    let root = s.root_at(999).unwrap();
    g.bench_function("verify_200k_leaves", |b| {
        b.iter(|| verify_inclusion(black_box(&proof), &root).unwrap())
    });
    g.bench_function("range_proof_generate", |b| {
        b.iter(|| s.range_proof(black_box(100), 999).unwrap())
    });
    g.finish();
}

criterion_group!(benches, keccak, append, proofs);
criterion_main!(benches);
