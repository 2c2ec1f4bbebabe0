//! Criterion benches: MMR appends (blocks/s), MMR proofs and their verification, the results
//! root of a full query, and rebuilding a block's transactions trie with a proof.
//! `cairn query bench` prints the per-subquery figures on a real chain.

use alloy_primitives::{B256, Bytes, keccak256};
use cairn_history::{HeaderField, Mmr, Subquery, ordered_trie_proof, result_leaf, results_root};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn leaves(n: u64) -> Vec<B256> {
    (0..n).map(|i| keccak256(i.to_be_bytes())).collect()
}

fn mmr(c: &mut Criterion) {
    let mut group = c.benchmark_group("mmr");
    let batch = leaves(1 << 16);
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function("append 65536 blocks (memory)", |b| {
        b.iter_batched(
            Mmr::default,
            |mut mmr| {
                for leaf in &batch {
                    mmr.append(*leaf).unwrap();
                }
                mmr
            },
            BatchSize::LargeInput,
        )
    });
    let mut mmr = Mmr::default();
    mmr.append_all(&leaves((1 << 20) - 1)).unwrap();
    let root = mmr.root();
    group.throughput(Throughput::Elements(1));
    group.bench_function("proof at 2^20 - 1 blocks", |b| {
        b.iter(|| mmr.proof(black_box(12_345), mmr.leaves()).unwrap())
    });
    let proof = mmr.proof(12_345, mmr.leaves()).unwrap();
    let leaf = mmr.leaf(12_345).unwrap();
    group.bench_function("verify at 2^20 - 1 blocks", |b| {
        b.iter(|| proof.verify(black_box(&leaf), &root).unwrap())
    });
    group.finish();
}

fn results(c: &mut Criterion) {
    let subqueries: Vec<(Subquery, B256)> = (0..128u64)
        .map(|i| {
            (
                Subquery::Header {
                    block: i,
                    field: HeaderField::StateRoot,
                    item: 0,
                },
                keccak256(i.to_be_bytes()),
            )
        })
        .collect();
    c.bench_function("results root of 128 subqueries", |b| {
        b.iter(|| {
            let leaves: Vec<B256> = subqueries
                .iter()
                .map(|(sq, r)| result_leaf(sq, r).unwrap())
                .collect();
            results_root(&leaves)
        })
    });
    let txs: Vec<Bytes> = (0..200u64)
        .map(|i| Bytes::from(keccak256(i.to_be_bytes()).repeat(4)))
        .collect();
    c.bench_function("transactions trie of 200 with a proof", |b| {
        b.iter(|| ordered_trie_proof(black_box(&txs), Some(77)))
    });
}

criterion_group!(benches, mmr, results);
criterion_main!(benches);
