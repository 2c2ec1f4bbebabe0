//! Criterion: sparse-trie inserts with root hashing, reads through a proof-only trie, and
//! incremental re-rooting after a few updates.

use alloy_primitives::{B256, Bytes, keccak256, map::B256Map};
use cairn_trie::{Nibbles, NoNodes, SparseTrie};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

fn keys(n: u32) -> Vec<Nibbles> {
    (0..n)
        .map(|i| Nibbles::unpack(keccak256(i.to_be_bytes())))
        .collect()
}

fn full_trie(keys: &[Nibbles]) -> SparseTrie {
    let mut trie = SparseTrie::new();
    for (i, k) in keys.iter().enumerate() {
        trie.insert(k, alloy_rlp::encode(i as u64 + 1), &mut NoNodes)
            .expect("in-memory insert");
    }
    trie.root();
    trie
}

fn bench(c: &mut Criterion) {
    let keys = keys(10_000);
    let mut group = c.benchmark_group("trie");
    group.throughput(Throughput::Elements(keys.len() as u64));
    group.bench_function("insert_10k_and_root", |b| {
        b.iter(|| full_trie(&keys).root())
    });

    let mut full = full_trie(&keys);
    let root = full.root();
    let nodes: B256Map<Bytes> = keys
        .iter()
        .take(1000)
        .flat_map(|k| full.proof(k, &mut NoNodes).expect("proof"))
        .map(|n| (keccak256(&n), n))
        .collect();
    group.throughput(Throughput::Elements(1000));
    group.bench_function("read_1k_from_proofs", |b| {
        b.iter_batched(
            || (SparseTrie::from_root(root), nodes.clone()),
            |(mut trie, mut nodes)| {
                for k in keys.iter().take(1000) {
                    trie.get(k, &mut nodes).expect("proven");
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("update_1k_and_reroot", |b| {
        b.iter_batched(
            || full.clone(),
            |mut trie| {
                for k in keys.iter().take(1000) {
                    trie.insert(k, vec![0x2a], &mut NoNodes).expect("insert");
                }
                trie.root()
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
    let _ = B256::ZERO;
}

criterion_group!(benches, bench);
criterion_main!(benches);
