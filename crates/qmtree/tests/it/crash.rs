//! SIGKILL a writer at random moments; every reopen must land on a
//! committed block whose roots equal an uninterrupted run's.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    thread,
    time::Duration,
};

use cairn_qmtree::{MemoryTree, Store, verify_inclusion};

use crate::workload;

const KILLS: usize = 60;
const SEED: u64 = 0xC0FFEE;

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
    let mut torn = 0;
    for kill in 0..KILLS {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let mut child = Command::new(bin)
            .args([
                "crash-writer",
                dir.path().to_str().unwrap(),
                &SEED.to_string(),
            ])
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

        // Before the read-write open cuts it: was anything left uncommitted?
        if let Ok(report) = cairn_qmtree::inspect(dir.path(), false)
            && report
                .files
                .iter()
                .any(|f| f.disk_bytes > f.committed_bytes)
        {
            torn += 1;
        }
        let store = Store::open(dir.path()).unwrap();
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
        "{KILLS} kills, {torn} left uncommitted bytes behind, store at block {:?}",
        report.latest_block
    );
    assert!(
        report.blocks > 20,
        "the writer made too little progress: {report:?}"
    );
}
