//! Test helper for `cairn-qmtree`'s integration tests (not a user tool).
//!
//! - `crash-writer DIR SEED [pipeline]`: appends and commits the
//!   deterministic workload's blocks forever (with one rewind per run;
//!   pipelined commits with `pipeline`), printing
//!   `appended N K` (block N's K leaves appended, not committed),
//!   `committed N`, `rewinding N`, `rewound N` after each step; the crash
//!   test kills it with SIGKILL.
//! - `rss DIR LEAVES`: appends `LEAVES` leaves to a store and prints the
//!   process's resident memory in bytes.

use std::{io::Write, path::Path, process::ExitCode};

use cairn_qmtree::{Store, StoreOptions, bench::rss_bytes};

#[path = "../../tests/it/workload.rs"]
#[allow(dead_code, unreachable_pub)]
mod workload;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["crash-writer", dir, seed, mode @ ..] if matches!(mode, [] | ["pipeline"]) => seed
            .parse()
            .map_err(|e| format!("bad seed: {e}"))
            .and_then(|s| crash_writer(Path::new(dir), s, !mode.is_empty())),
        ["rss", dir, leaves] => leaves
            .parse()
            .map_err(|e| format!("bad count: {e}"))
            .and_then(|n| rss(Path::new(dir), n)),
        _ => Err(
            "usage: cairn-qmtree-testbin crash-writer DIR SEED [pipeline] | rss DIR LEAVES".into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn crash_writer(dir: &Path, seed: u64, pipeline: bool) -> Result<(), String> {
    let options = StoreOptions {
        pipeline,
        ..StoreOptions::default()
    };
    let mut store = Store::open_with(dir, options).map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    let mut block = store.latest_block().map_or(0, |b| b.number + 1);
    let mut rewound = false;
    loop {
        let leaves = workload::append_leaves(&mut store, seed, block).map_err(|e| e.to_string())?;
        writeln!(out, "appended {block} {leaves}")
            .and_then(|()| out.flush())
            .map_err(|e| e.to_string())?;
        store.commit_block(block).map_err(|e| e.to_string())?;
        writeln!(out, "committed {block}")
            .and_then(|()| out.flush())
            .map_err(|e| e.to_string())?;
        if !rewound && block >= 8 && block % 13 == 7 {
            let target = block - 6;
            writeln!(out, "rewinding {target}")
                .and_then(|()| out.flush())
                .map_err(|e| e.to_string())?;
            store.rewind(target).map_err(|e| e.to_string())?;
            writeln!(out, "rewound {target}")
                .and_then(|()| out.flush())
                .map_err(|e| e.to_string())?;
            block = target;
            rewound = true;
        }
        block += 1;
    }
}

fn rss(dir: &Path, leaves: u64) -> Result<(), String> {
    let mut store = Store::open_with(
        dir,
        StoreOptions {
            create: true,
            sync: false,
            pipeline: false,
        },
    )
    .map_err(|e| e.to_string())?;
    let mut block = 0;
    while store.leaf_count() < leaves {
        let end = (store.leaf_count() + 1000).min(leaves);
        while store.leaf_count() < end {
            let (a, b, c) = workload::contents(7, store.leaf_count());
            store.append_next(a, b, c).map_err(|e| e.to_string())?;
        }
        store.commit_block(block).map_err(|e| e.to_string())?;
        block += 1;
    }
    println!("{}", rss_bytes());
    Ok(())
}
