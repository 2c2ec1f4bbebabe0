//! The `cairn qmtree bench` measurement: appends in memory and persisted,
//! raw Keccak speed, proofs, disk use, memory and reopen time.
//!
//! Figures are wall-clock on whatever machine runs it; nothing here is a
//! pass/fail test.

use std::{
    fmt,
    hint::black_box,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use alloy_primitives::{B256, keccak256_uncached};
use serde::Serialize;
use tracing::info;

use crate::{
    Error, LeafComponents, MemoryTree, Result, Store, StoreOptions, batch, hash::LEAF_PREIMAGE_LEN,
    proof::inclusion_proof_len, shape::depth, verify_inclusion,
};

/// What to measure.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// Leaves to append (each run).
    pub leaves: u64,
    /// Leaves per committed block (one fsync per block when persisted).
    pub block_size: u64,
    /// Empty or missing directory for the persisted run.
    pub dir: PathBuf,
    /// Proofs to generate and verify.
    pub proofs: usize,
}

impl BenchConfig {
    /// `leaves` leaves in blocks of 200, 2000 proofs, store in `dir`.
    pub fn new(leaves: u64, dir: impl Into<PathBuf>) -> Self {
        Self {
            leaves,
            block_size: 200,
            dir: dir.into(),
            proofs: 2000,
        }
    }
}

/// The measured figures; serialises to exactly the keys of the bench JSON.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BenchReport {
    /// Leaves appended per second into a [`MemoryTree`] (blocks committed, no I/O).
    pub appends_per_sec_memory: f64,
    /// Leaves appended per second into a [`Store`] with pipelined commits
    /// ([`StoreOptions::pipeline`]): an `fdatasync` for every block, each
    /// finished before the next block's commit, the clock stopped once the
    /// last one is durable.
    pub appends_per_sec_persisted: f64,
    /// Single Keccak-256 hashes of 129-byte inputs per second.
    pub keccak_per_sec: f64,
    /// Binary inclusion proof size in a tree of 2^32 leaves.
    pub proof_bytes_at_2_32: u64,
    /// Mean time to build an inclusion proof at a past block, µs.
    pub proof_gen_us: f64,
    /// Mean time to verify an inclusion proof, µs.
    pub proof_verify_us: f64,
    /// Tree bytes on disk (`subtrees.dat` + `upper.dat`) per leaf.
    pub disk_bytes_per_leaf_tree: f64,
    /// All store bytes on disk per leaf.
    pub disk_bytes_per_leaf_total: f64,
    /// Resident memory after the persisted run, bytes.
    pub rss_bytes: u64,
    /// Time to reopen the store after the persisted run, ms.
    pub reopen_ms: f64,
    /// Context for the table (not in the JSON).
    #[serde(skip)]
    pub context: BenchContext,
}

/// Context printed with the table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BenchContext {
    /// Leaves per run.
    pub leaves: u64,
    /// Leaves per block.
    pub block_size: u64,
    /// Keccak used for single hashes.
    pub keccak_impl: &'static str,
    /// Keccak used for batched hashes.
    pub batch_keccak_impl: &'static str,
    /// Batched Keccak-256 hashes of 129-byte inputs per second.
    pub batch_keccak_per_sec: f64,
    /// Mean proof size at the measured tree size, bytes.
    pub proof_bytes_measured: f64,
    /// RSS after the first quarter of the persisted run, bytes.
    pub rss_bytes_quarter: u64,
    /// Leaves per second in the persisted run without fsync.
    pub appends_per_sec_no_sync: f64,
    /// Leaves per second when each commit returns only once its block is
    /// durable (the default, unpipelined store).
    pub appends_per_sec_commit_waits: f64,
    /// CPU time over wall time in the pipelined run (all threads, user
    /// and system): how many cores it kept busy.
    pub persisted_cores_busy: Option<f64>,
}

/// Deterministic, cheap leaf contents (not hashes, so they cost no Keccak).
fn contents(i: u64) -> (B256, B256, B256) {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut word = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut fill = || {
        let mut b = [0u8; 32];
        for c in b.chunks_exact_mut(8) {
            c.copy_from_slice(&word().to_le_bytes());
        }
        B256::from(b)
    };
    (fill(), fill(), fill())
}

/// Appends `n` leaves in blocks of `block_size` through `append_next`.
fn fill<B: crate::Backend>(
    tree: &mut crate::QmTree<B>,
    n: u64,
    block_size: u64,
    mut after_block: impl FnMut(&crate::QmTree<B>),
) -> Result<()> {
    let mut block = tree.latest_block().map_or(0, |b| b.number + 1);
    let mut i = tree.leaf_count();
    while i < n {
        let end = (i + block_size).min(n);
        for tx in i..end {
            let (a, b, c) = contents(tx);
            tree.append_next(a, b, c)?;
        }
        tree.commit_block(block)?;
        after_block(tree);
        block += 1;
        i = end;
    }
    Ok(())
}

fn per_sec(count: u64, d: Duration) -> f64 {
    count as f64 / d.as_secs_f64().max(1e-9)
}

/// CPU time (user and system, all threads) this process has used, from
/// `/proc/self/stat` in clock ticks of 10 ms (`None` elsewhere).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are
    // fields 14 and 15 of the whole line.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let mut fields = rest.split_ascii_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// Resident set size of this process, from `/proc/self/status` (0 elsewhere).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn keccak_rates() -> (f64, f64) {
    const N: u64 = 1_000_000;
    let mut buf = [0u8; LEAF_PREIMAGE_LEN];
    let start = Instant::now();
    let mut acc = 0u8;
    for i in 0..N {
        buf[1..9].copy_from_slice(&i.to_le_bytes());
        acc ^= keccak256_uncached(black_box(&buf))[0];
    }
    black_box(acc);
    let single = per_sec(N, start.elapsed());

    let leaves: Vec<LeafComponents> = (0..2048u64)
        .map(|i| {
            let (a, b, c) = contents(i);
            LeafComponents {
                pre_state_hash: a,
                state_change_hash: b,
                transition_hash: c,
                previous_leaf_hash: a,
            }
        })
        .collect();
    let mut out = vec![B256::ZERO; leaves.len()];
    let rounds = N / leaves.len() as u64;
    let start = Instant::now();
    for _ in 0..rounds {
        batch::hash_leaves(black_box(&leaves), &mut out);
        black_box(&out);
    }
    (
        single,
        per_sec(rounds * leaves.len() as u64, start.elapsed()),
    )
}

fn dir_bytes(dir: &Path, names: &[&str]) -> Result<u64> {
    names.iter().try_fold(0u64, |acc, name| {
        let path = dir.join(name);
        let len = std::fs::metadata(&path)
            .map_err(|source| Error::Io { path, source })?
            .len();
        Ok(acc + len)
    })
}

/// Refuses a directory that exists and holds anything.
fn check_empty_dir(dir: &Path) -> Result<()> {
    let mut entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(Error::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    if entries.next().is_some() {
        return Err(Error::DirectoryNotEmpty {
            path: dir.to_path_buf(),
        });
    }
    Ok(())
}

/// Runs every measurement. `config.dir` is used for the persisted store and
/// left in place; the comparison runs use `<dir>.waits` and `<dir>.nosync`
/// and remove them.
///
/// # Errors
/// [`Error::DirectoryNotEmpty`] when one of these exists and is not empty
/// (nothing is opened or removed); store errors.
pub fn run(config: &BenchConfig) -> Result<BenchReport> {
    // Before anything opens it read-write: recovery would cut an existing
    // store's uncommitted data. The same for the scratch directories,
    // which are removed afterwards.
    check_empty_dir(&config.dir)?;
    for suffix in SCRATCH {
        check_empty_dir(&config.dir.with_extension(suffix))?;
    }
    let n = config.leaves.max(1);
    let block_size = config.block_size.max(1);
    info!(target: "cairn::qmtree", "bench: keccak");
    let (keccak_per_sec, batch_keccak_per_sec) = keccak_rates();
    info!(target: "cairn::qmtree", leaves = n, block_size, "bench: persisted appends (fsync per block, pipelined)");

    // Persisted first, so that its RSS is not inflated by the in-memory run.
    let mut store = Store::open_with(&config.dir, PIPELINED)?;
    let quarter = n / 4 / block_size * block_size;
    let mut rss_bytes_quarter = 0;
    let cpu_start = cpu_time();
    let start = Instant::now();
    fill(&mut store, n, block_size, |t| {
        if t.leaf_count() == quarter {
            rss_bytes_quarter = rss_bytes();
        }
    })?;
    store.sync()?;
    let wall = start.elapsed();
    let appends_per_sec_persisted = per_sec(n, wall);
    let persisted_cores_busy = cpu_start
        .zip(cpu_time())
        .map(|(a, b)| (b - a).as_secs_f64() / wall.as_secs_f64().max(1e-9));
    let rss = rss_bytes();

    // Proofs at random past blocks.
    info!(target: "cairn::qmtree", proofs = config.proofs, "bench: proofs");
    let latest = store.latest_block().map_or(0, |b| b.number);
    let first = store.first_block().unwrap_or(0);
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut queries = Vec::with_capacity(config.proofs);
    while queries.len() < config.proofs {
        let tx = next() % n;
        let tx_block = first + tx / block_size;
        let at = tx_block + next() % (latest - tx_block + 1);
        queries.push((tx, at));
    }
    let mut proofs = Vec::with_capacity(queries.len());
    let start = Instant::now();
    for &(tx, at) in &queries {
        proofs.push(store.proof(tx, at)?);
    }
    let gen_time = start.elapsed();
    let roots = queries
        .iter()
        .map(|&(_, at)| store.root_at(at))
        .collect::<Result<Vec<_>>>()?;
    let start = Instant::now();
    for (p, root) in proofs.iter().zip(&roots) {
        verify_inclusion(black_box(p), root)?;
    }
    let verify_time = start.elapsed();
    let count = proofs.len().max(1) as f64;
    let proof_bytes_measured = proofs.iter().map(|p| p.encoded_len() as f64).sum::<f64>() / count;

    let root = store.latest_block().map(|b| b.root);
    // Closing gives back the space preallocated past the committed data.
    drop(store);
    let tree_bytes = dir_bytes(&config.dir, &[crate::SUBTREES_FILE, crate::UPPER_FILE])?;
    let total_bytes = dir_bytes(
        &config.dir,
        &[
            crate::SUBTREES_FILE,
            crate::UPPER_FILE,
            crate::LEAVES_FILE,
            crate::BLOCKS_FILE,
            crate::FORMAT_FILE,
        ],
    )?;
    let start = Instant::now();
    let store = Store::open(&config.dir)?;
    let reopen = start.elapsed();
    if store.latest_block().map(|b| b.root) != root {
        return Err(Error::Inconsistent {
            what: "reopened store has another root",
            tx_num: n,
        });
    }
    drop(store);

    // The same run with each commit waiting for its sync, and without
    // fsync, to show what pipelining gains and what the disk costs.
    info!(target: "cairn::qmtree", "bench: persisted appends, each commit waiting for its fsync");
    let appends_per_sec_commit_waits =
        scratch_run(config, SCRATCH[0], StoreOptions::default(), n, block_size)?;
    info!(target: "cairn::qmtree", "bench: persisted appends without fsync");
    let appends_per_sec_no_sync = scratch_run(
        config,
        SCRATCH[1],
        StoreOptions {
            create: true,
            sync: false,
            pipeline: false,
        },
        n,
        block_size,
    )?;

    info!(target: "cairn::qmtree", "bench: in-memory appends");
    let mut mem = MemoryTree::new();
    let start = Instant::now();
    fill(&mut mem, n, block_size, |_| {})?;
    let appends_per_sec_memory = per_sec(n, start.elapsed());
    drop(mem);

    Ok(BenchReport {
        appends_per_sec_memory,
        appends_per_sec_persisted,
        keccak_per_sec,
        proof_bytes_at_2_32: inclusion_proof_len(depth(1 << 32) as usize) as u64,
        proof_gen_us: gen_time.as_secs_f64() * 1e6 / count,
        proof_verify_us: verify_time.as_secs_f64() * 1e6 / count,
        disk_bytes_per_leaf_tree: tree_bytes as f64 / n as f64,
        disk_bytes_per_leaf_total: total_bytes as f64 / n as f64,
        rss_bytes: rss,
        reopen_ms: reopen.as_secs_f64() * 1e3,
        context: BenchContext {
            leaves: n,
            block_size,
            keccak_impl: batch::scalar_backend(),
            batch_keccak_impl: batch::batch_backend(),
            batch_keccak_per_sec,
            proof_bytes_measured,
            rss_bytes_quarter,
            appends_per_sec_no_sync,
            appends_per_sec_commit_waits,
            persisted_cores_busy,
        },
    })
}

/// The options of the measured persisted run.
const PIPELINED: StoreOptions = StoreOptions {
    create: true,
    sync: true,
    pipeline: true,
};

/// Suffixes of the scratch directories next to `config.dir`.
const SCRATCH: [&str; 2] = ["waits", "nosync"];

/// Appends per second into a store with `options` in a scratch directory
/// next to `config.dir` (checked empty at the start, removed afterwards),
/// every block durable (if it syncs) when the clock stops.
fn scratch_run(
    config: &BenchConfig,
    suffix: &str,
    options: StoreOptions,
    n: u64,
    block_size: u64,
) -> Result<f64> {
    let dir = config.dir.with_extension(suffix);
    let mut store = Store::open_with(&dir, options)?;
    let start = Instant::now();
    fill(&mut store, n, block_size, |_| {})?;
    store.sync()?;
    let rate = per_sec(n, start.elapsed());
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(rate)
}

fn human(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.1}")
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.context;
        writeln!(
            f,
            "QMTree bench: {} leaves, blocks of {} leaves",
            c.leaves, c.block_size
        )?;
        writeln!(f, "keccak (single): {}", c.keccak_impl)?;
        writeln!(f, "keccak (batched): {}", c.batch_keccak_impl)?;
        writeln!(f)?;
        writeln!(f, "{:<28} {:>14}  target / note", "metric", "value")?;
        let rows: [(&str, String, String); 10] = [
            (
                "appends_per_sec_memory",
                format!("{}/s", human(self.appends_per_sec_memory)),
                String::new(),
            ),
            (
                "appends_per_sec_persisted",
                format!("{}/s", human(self.appends_per_sec_persisted)),
                format!(
                    "≥ 1 M/s (goal 2 M/s); fsync per block, pipelined, {} cores busy; {}/s if each commit waits for its fsync, {}/s without fsync",
                    c.persisted_cores_busy
                        .map_or_else(|| "?".into(), |x| format!("{x:.2}")),
                    human(c.appends_per_sec_commit_waits),
                    human(c.appends_per_sec_no_sync)
                ),
            ),
            (
                "keccak_per_sec",
                format!("{}/s", human(self.keccak_per_sec)),
                format!(
                    "129-byte inputs; batched: {}/s",
                    human(c.batch_keccak_per_sec)
                ),
            ),
            (
                "proof_bytes_at_2_32",
                format!("{} B", self.proof_bytes_at_2_32),
                format!(
                    "≤ 1,060; {:.0} B mean at {} leaves",
                    c.proof_bytes_measured, c.leaves
                ),
            ),
            (
                "proof_gen_us",
                format!("{:.2} µs", self.proof_gen_us),
                "random leaf, random past block".into(),
            ),
            (
                "proof_verify_us",
                format!("{:.2} µs", self.proof_verify_us),
                String::new(),
            ),
            (
                "disk_bytes_per_leaf_tree",
                format!("{:.2} B", self.disk_bytes_per_leaf_tree),
                "≤ 36".into(),
            ),
            (
                "disk_bytes_per_leaf_total",
                format!("{:.2} B", self.disk_bytes_per_leaf_total),
                String::new(),
            ),
            (
                "rss_bytes",
                format!("{:.1} MiB", self.rss_bytes as f64 / 1048576.0),
                format!(
                    "{:.1} MiB at a quarter of the leaves",
                    c.rss_bytes_quarter as f64 / 1048576.0
                ),
            ),
            (
                "reopen_ms",
                format!("{:.2} ms", self.reopen_ms),
                "≤ 1,000 at 10 M leaves".into(),
            ),
        ];
        for (name, value, note) in rows {
            writeln!(f, "{name:<28} {value:>14}  {note}")?;
        }
        Ok(())
    }
}
