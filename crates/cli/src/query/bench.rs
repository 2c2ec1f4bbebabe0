//! `cairn query bench`: proof sizes and native verification time per subquery kind (on the
//! dev chain, from a node's own data), and the block-hash MMR's append rate and proof size
//! at a given number of blocks (2^24 by default), in memory and in a file.

use crate::{Error, Result};
use alloy_primitives::{B256, keccak256};
use cairn_exec::{
    commit::Node,
    devchain::{DevChainParams, generate},
};
use cairn_history::{
    AccountField, HeaderField, LogField, MappingKey, Mmr, MmrAt, MmrFile, QueryProof, ReceiptField,
    Subquery, TxField, prove_query, verify_query,
};
use std::{
    fmt::Write as _,
    io::Write,
    path::PathBuf,
    time::{Duration, Instant},
};

/// Arguments of `cairn query bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Blocks in the MMR measured.
    #[arg(long, default_value_t = 1 << 24)]
    pub mmr_leaves: u64,
    /// Verifications timed per proof (the median is reported).
    #[arg(long, default_value_t = 200)]
    pub repeat: usize,
    /// Directory for the MMR file (default: a temporary directory, removed afterwards).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Skip the file-backed MMR run.
    #[arg(long)]
    pub memory_only: bool,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

/// One row of the subquery table.
struct Row {
    kind: String,
    samples: usize,
    proof_bytes: usize,
    json_bytes: usize,
    verify: Duration,
}

fn measure(
    node: &Node<cairn_qmtree::MemoryBackend>,
    kind: &str,
    subqueries: &[Subquery],
    repeat: usize,
) -> Result<Row> {
    let mmr = node.mmr().map(MmrAt::current);
    let mut bytes = Vec::new();
    let mut json = Vec::new();
    let mut times = Vec::new();
    for sq in subqueries {
        let proof: QueryProof = prove_query(node, std::slice::from_ref(sq), mmr)?;
        // Everything a verifier reads: the header, the MMR path, the trie nodes and values.
        let block = &proof.blocks[0];
        let mmr_bytes = block.mmr_proof.as_ref().map_or(0, |p| p.encoded_len());
        bytes.push(block.header.len() + mmr_bytes + proof.subqueries[0].proof.size());
        json.push(
            serde_json::to_vec(&proof)
                .map_err(|source| Error::Json { source })?
                .len(),
        );
        let runs: Vec<Duration> = (0..repeat)
            .map(|_| {
                let (verified, t) = time(|| verify_query(&proof));
                verified.map(|_| t)
            })
            .collect::<std::result::Result<_, _>>()?;
        times.push(median(runs));
    }
    bytes.sort_unstable();
    json.sort_unstable();
    Ok(Row {
        kind: kind.to_string(),
        samples: subqueries.len(),
        proof_bytes: bytes[bytes.len() / 2],
        json_bytes: json[json.len() / 2],
        verify: median(times),
    })
}

/// Runs the bench and prints its tables.
///
/// # Errors
/// Dev chain, proof or MMR file failures.
pub fn run(args: &BenchArgs) -> Result<()> {
    let mut out = String::new();
    // The dev chain: every transaction type, logs, storage writes.
    let file = generate(DevChainParams {
        seed: 7,
        blocks: 8,
        txs_per_block: 40,
    })?;
    let mut node = Node::in_memory(&file)?;
    for i in 0..file.blocks.len() {
        node.import(&file.block(i)?)?;
    }
    let head = node.head_number();
    let chain = node.chain();
    let contracts: Vec<_> = chain
        .accounts()
        .filter(|(_, a)| !a.storage.is_empty())
        .flat_map(|(addr, a)| {
            a.storage
                .keys()
                .take(8)
                .map(move |s| (*addr, B256::from(*s)))
        })
        .take(32)
        .collect();
    let accounts: Vec<_> = chain.accounts().map(|(a, _)| *a).take(32).collect();
    let mut kinds: Vec<(&str, Vec<Subquery>)> = vec![
        (
            "header",
            (1..=head)
                .map(|b| Subquery::Header {
                    block: b,
                    field: HeaderField::StateRoot,
                    item: 0,
                })
                .collect(),
        ),
        (
            "account",
            accounts
                .iter()
                .map(|a| Subquery::Account {
                    block: head,
                    address: *a,
                    field: AccountField::Balance,
                })
                .collect(),
        ),
        (
            "storage",
            contracts
                .iter()
                .map(|(a, s)| Subquery::Storage {
                    block: head,
                    address: *a,
                    slot: *s,
                })
                .collect(),
        ),
        (
            "mapping (2 keys, absent)",
            contracts
                .iter()
                .map(|(a, s)| Subquery::Mapping {
                    block: head,
                    address: *a,
                    slot: *s,
                    keys: vec![MappingKey::Address(*a), MappingKey::String("bench".into())],
                })
                .collect(),
        ),
    ];
    let mut txs = Vec::new();
    let mut receipts = Vec::new();
    let mut logs = Vec::new();
    for b in 1..=head {
        let block = node.block(b).expect("imported");
        let rs = node.receipts(b).expect("imported");
        for (i, _) in block.body.transactions.iter().enumerate().step_by(7) {
            let i = i as u64;
            txs.push(Subquery::Tx {
                block: b,
                index: i,
                field: TxField::Hash,
                item: 0,
            });
            receipts.push(Subquery::Receipt {
                block: b,
                index: i,
                field: ReceiptField::Status,
                item: 0,
            });
        }
        for (i, r) in rs.iter().enumerate() {
            if !alloy_consensus::TxReceipt::logs(r).is_empty() && logs.len() < 32 {
                logs.push(Subquery::Log {
                    block: b,
                    tx_index: i as u64,
                    log_index: 0,
                    field: LogField::Topic,
                    item: 0,
                });
            }
        }
    }
    kinds.push(("tx", txs));
    kinds.push(("receipt", receipts));
    kinds.push(("log", logs));
    writeln!(
        out,
        "Proofs of one subquery, dev chain ({} blocks, {} MMR leaves); medians over the samples",
        head,
        head + 1
    )
    .ok();
    writeln!(
        out,
        "{:<26} {:>8} {:>12} {:>11} {:>14}",
        "kind", "samples", "proof bytes", "JSON bytes", "native verify"
    )
    .ok();
    for (kind, subqueries) in &kinds {
        if subqueries.is_empty() {
            continue;
        }
        let row = measure(&node, kind, subqueries, args.repeat)?;
        writeln!(
            out,
            "{:<26} {:>8} {:>12} {:>11} {:>11.1} µs",
            row.kind,
            row.samples,
            row.proof_bytes,
            row.json_bytes,
            row.verify.as_secs_f64() * 1e6
        )
        .ok();
    }
    writeln!(
        out,
        "(proof bytes: header RLP + MMR path + trie nodes + values; what a verifier reads)"
    )
    .ok();

    // The MMR.
    let n = args.mmr_leaves;
    let leaves: Vec<B256> = (0..n).map(|i| keccak256(i.to_be_bytes())).collect();
    writeln!(out, "\nBlock-hash MMR at {n} blocks").ok();
    let mut memory = Mmr::default();
    let (_, t) = time(|| {
        for leaf in &leaves {
            memory.append(*leaf).map_err(|e| Error::History(e.into()))?;
        }
        Ok::<(), Error>(())
    });
    writeln!(
        out,
        "append, memory, one at a time: {:.2} M blocks/s ({:.2} s)",
        n as f64 / t.as_secs_f64() / 1e6,
        t.as_secs_f64()
    )
    .ok();
    let root = memory.root();
    drop(memory);
    if !args.memory_only {
        let tmp;
        let dir = match &args.dir {
            Some(d) => {
                std::fs::create_dir_all(d).map_err(|source| Error::Io {
                    path: d.clone(),
                    source,
                })?;
                d.clone()
            }
            None => {
                tmp = tempfile::tempdir().map_err(|source| Error::Io {
                    path: std::env::temp_dir(),
                    source,
                })?;
                tmp.path().to_path_buf()
            }
        };
        let path = dir.join("bench-mmr.bin");
        let _ = std::fs::remove_file(&path);
        let history = |e: cairn_history::MmrError| Error::History(e.into());
        let mut file_mmr = Mmr::open(MmrFile::open(&path).map_err(history)?).map_err(history)?;
        let (res, t) = time(|| {
            for chunk in leaves.chunks(4096) {
                file_mmr.append_all(chunk)?;
            }
            file_mmr.storage().sync()
        });
        res.map_err(history)?;
        writeln!(
            out,
            "append, file, 4096 per write + one fsync: {:.2} M blocks/s ({:.2} s, {} MiB)",
            n as f64 / t.as_secs_f64() / 1e6,
            t.as_secs_f64(),
            std::fs::metadata(&path).map(|m| m.len() >> 20).unwrap_or(0)
        )
        .ok();
        assert_eq!(file_mmr.root(), root, "file and memory MMRs agree");
        // One block per append, as a node imports.
        let per_block = n.min(1 << 20);
        let path2 = dir.join("bench-mmr-per-block.bin");
        let _ = std::fs::remove_file(&path2);
        let mut one = Mmr::open(MmrFile::open(&path2).map_err(history)?).map_err(history)?;
        let (res, t) = time(|| {
            for leaf in &leaves[..per_block as usize] {
                one.append(*leaf)?;
            }
            Ok::<(), cairn_history::MmrError>(())
        });
        res.map_err(history)?;
        writeln!(
            out,
            "append, file, one write per block (no fsync; {per_block} blocks): {:.2} M blocks/s",
            per_block as f64 / t.as_secs_f64() / 1e6
        )
        .ok();
        drop(one);
        let _ = std::fs::remove_file(&path2);

        let mut sizes = Vec::new();
        let mut gen_times = Vec::new();
        let mut verify_times = Vec::new();
        let step = (n / 997).max(1);
        for index in (0..n).step_by(step as usize) {
            let (proof, t) = time(|| file_mmr.proof(index, n));
            let proof = proof.map_err(history)?;
            gen_times.push(t);
            let (ok, t) = time(|| proof.verify(&leaves[index as usize], &root));
            ok.map_err(history)?;
            verify_times.push(t);
            sizes.push(proof.encoded_len());
        }
        sizes.sort_unstable();
        let worst = {
            // The size with most peaks below 2^24: 2^24 - 1 blocks, leaf 0.
            let m = (n.next_power_of_two() >> 1).max(2) - 1;
            32 * (2 + (63 - m.leading_zeros() as usize) + m.count_ones() as usize - 1)
        };
        writeln!(out, "inclusion proof: {} bytes median, {} max over {} leaves (size, index, siblings, other peaks; 32 bytes each); worst size below {} blocks: {worst} bytes",
            sizes[sizes.len() / 2], sizes[sizes.len() - 1], sizes.len(), n.next_power_of_two()).ok();
        writeln!(
            out,
            "proof from the file: {:.1} µs median; verify: {:.1} µs median",
            median(gen_times).as_secs_f64() * 1e6,
            median(verify_times).as_secs_f64() * 1e6
        )
        .ok();
        drop(file_mmr);
        let _ = std::fs::remove_file(&path);
    }
    writeln!(out, "root {root}").ok();
    std::io::stdout()
        .write_all(out.as_bytes())
        .map_err(|source| Error::Io {
            path: "<stdout>".into(),
            source,
        })
}
