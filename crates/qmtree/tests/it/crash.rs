//! SIGKILL a writer at random moments; every reopen must land on a
//! committed block whose roots equal an uninterrupted run's. Then a reorg
//! (rewind and different content) on the store the kills left behind.
//! Every other run commits pipelined. (A killed process leaves the page
//! cache behind, so this tests recovery, not the disk's durability.)

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    thread,
    time::Duration,
};

use cairn_qmtree::{MemoryTree, Store, verify_inclusion, verify_leaf};

use crate::workload;

const KILLS: usize = 60;
const SEED: u64 = 0xC0FFEE;

/// Leaves the child had appended to a block it had not committed when it
/// died: the kill came after `appended N K` (K > 0) and before
/// `committed N`, i.e. during the commit.
fn uncommitted_leaves(lines: &[String]) -> u64 {
    let Some(last) = lines.last() else {
        return 0;
    };
    let parts: Vec<&str> = last.split_whitespace().collect();
    match parts.as_slice() {
        ["appended", _, k] => k.parse().unwrap_or(0),
        _ => 0,
    }
}

/// What the child had acknowledged when it died.
fn acknowledged(lines: &[String]) -> (Option<u64>, Option<u64>) {
    // (lowest block the store may be at, highest block it may be at)
    let mut floor = None;
    let mut ceiling = None;
    for l in lines {
        let mut parts = l.split_whitespace();
        let (Some(kind), Some(n)) = (
            parts.next(),
            parts.next().and_then(|n| n.parse::<u64>().ok()),
        ) else {
            continue;
        };
        match kind {
            "committed" => {
                floor = Some(n);
                ceiling = Some(ceiling.map_or(n, |c: u64| c.max(n)));
            }
            "rewinding" => floor = Some(n),
            "rewound" => floor = Some(n),
            _ => {}
        }
    }
    (floor, ceiling)
}

#[test]
fn sigkill_at_random_moments_recovers_to_the_last_commit() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_cairn-qmtree-testbin");
    let mut reference = MemoryTree::new();
    let mut reference_roots = Vec::new();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut previous_latest: Option<u64> = None;
    let mut mid_commit = 0;
    for kill in 0..KILLS {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let mut args = vec![
            "crash-writer".to_string(),
            dir.path().to_str().unwrap().to_string(),
            SEED.to_string(),
        ];
        if kill % 2 == 1 {
            args.push("pipeline".into());
        }
        let mut child = Command::new(bin)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        });
        thread::sleep(Duration::from_micros(2_000 + rng % 40_000));
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "kill {kill}: the writer exited by itself: {status}"
        );
        let lines = reader.join().unwrap();
        let (floor, ceiling) = acknowledged(&lines);

        if uncommitted_leaves(&lines) > 0 {
            mid_commit += 1;
        }
        // A read-only look first (it repairs nothing), then the read-write open.
        let seen = match cairn_qmtree::inspect(dir.path(), false) {
            Ok(report) => report.latest_block,
            // Killed before it created the store.
            Err(cairn_qmtree::Error::MissingFile { .. }) if previous_latest.is_none() => None,
            Err(e) => panic!("kill {kill}: inspect: {e}"),
        };
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.latest_block().map(|b| b.number),
            seen,
            "kill {kill}: inspect and open disagree"
        );
        let latest = store.latest_block().map(|b| b.number);
        if let Some(floor) = floor.or(previous_latest) {
            let latest = latest.unwrap_or_else(|| {
                panic!("kill {kill}: nothing committed, expected block {floor}")
            });
            assert!(
                latest >= floor,
                "kill {kill}: store at block {latest}, but block {floor} was acknowledged"
            );
            if let Some(c) = ceiling {
                assert!(
                    latest <= c + 1,
                    "kill {kill}: store at block {latest}, beyond {c} + 1"
                );
            }
        }
        // Every committed root equals the uninterrupted run's.
        if let Some(latest) = latest {
            while reference_roots.len() as u64 <= latest {
                let b = reference_roots.len() as u64;
                reference_roots.push(workload::append_block(&mut reference, SEED, b).unwrap());
            }
            for b in 0..=latest {
                assert_eq!(
                    store.root_at(b).unwrap(),
                    reference_roots[b as usize],
                    "kill {kill}: block {b}"
                );
            }
            let info = store.latest_block().unwrap();
            if info.leaf_count > 0 {
                let tx = rng % info.leaf_count;
                verify_inclusion(
                    &store.proof(tx, latest).unwrap(),
                    &reference_roots[latest as usize],
                )
                .unwrap();
            }
        }
        previous_latest = latest.map(|l| l.saturating_sub(6)); // a rewind may take it back
        drop(store);
    }
    let report = cairn_qmtree::inspect(dir.path(), true).unwrap();
    eprintln!(
        "{KILLS} kills, {mid_commit} during a commit with appended leaves, store at block {:?}",
        report.latest_block
    );
    assert!(
        report.blocks > 20,
        "the writer made too little progress: {report:?}"
    );
    assert!(
        mid_commit > 0,
        "no kill landed between a block's appends and its commit"
    );
    reorg_after_the_kills(dir.path(), &reference_roots);
}

/// Rewinds the synced store the kills left, commits other contents, and
/// checks roots and proofs against a reference, before and after reopening.
fn reorg_after_the_kills(dir: &std::path::Path, roots: &[alloy_primitives::B256]) {
    const OTHER: u64 = SEED ^ 0x5EED;
    let mut store = Store::open(dir).unwrap();
    let latest = store.latest_block().unwrap().number;
    let target = latest - 10;
    let info = store.rewind(target).unwrap();
    assert_eq!(info.root, roots[target as usize]);
    assert_eq!(store.current_root(), roots[target as usize]);
    let mut reference = MemoryTree::new();
    for b in 0..=target {
        workload::append_block(&mut reference, SEED, b).unwrap();
    }
    for b in target + 1..=target + 25 {
        assert_eq!(
            workload::append_block(&mut store, OTHER, b).unwrap(),
            workload::append_block(&mut reference, OTHER, b).unwrap(),
            "block {b} after the reorg"
        );
    }
    drop(store);
    let store = Store::open(dir).unwrap();
    let last = target + 25;
    assert_eq!(store.latest_block().unwrap().number, last);
    for b in 0..=last {
        assert_eq!(
            store.root_at(b).unwrap(),
            reference.root_at(b).unwrap(),
            "block {b}"
        );
    }
    let root = reference.root_at(last).unwrap();
    let n = store.latest_block().unwrap().leaf_count;
    for tx in [0, n / 2, n - 1] {
        let proof = store.proof(tx, last).unwrap();
        verify_leaf(&proof, &reference.leaf(tx).unwrap().components, &root).unwrap();
    }
    let range = store.range_proof(target, last).unwrap();
    cairn_qmtree::verify_range(&range, &roots[target as usize], &root).unwrap();
    drop(store);
    let report = cairn_qmtree::inspect(dir, true).unwrap();
    assert_eq!(report.latest_block, Some(last));
}
