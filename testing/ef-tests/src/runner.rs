//! Walking a fixture folder and running every case, on all cores.

use crate::{
    case::{Outcome, run_blockchain_test_with, run_zkevm_test},
    fixture::BlockchainTest,
    report::{CaseNote, Report},
};
use cairn_exec::WitnessKind;
use std::{
    collections::BTreeMap,
    fs::File,
    io::{BufReader, Read},
    path::{Path, PathBuf},
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

/// Errors that stop a run (not case failures, which the report counts).
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// The folder cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No fixture files under the folder.
    #[error("no fixture files (*.json, *.json.gz) under {path}")]
    Empty {
        /// The folder.
        path: PathBuf,
    },
}

/// Fixture files under `dir` (or `dir` itself if it is a file), sorted.
///
/// # Errors
/// [`RunnerError::Io`] when a folder cannot be listed.
pub fn fixture_files(dir: &Path) -> Result<Vec<PathBuf>, RunnerError> {
    let io = |source| RunnerError::Io {
        path: dir.to_path_buf(),
        source,
    };
    if dir.is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .to_str()
                .is_some_and(|p| p.ends_with(".json") || p.ends_with(".json.gz"))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads a fixture file (gzipped or not) into its cases.
///
/// # Errors
/// A message when the file cannot be read or parsed.
pub fn load_cases(path: &Path) -> Result<BTreeMap<String, BlockchainTest>, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::GzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    let mut text = String::new();
    BufReader::new(reader)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    parse_cases(&text)
}

/// A case picked by [`sampled_cases`]: its position in the whole suite, its name, the test.
pub type SampledCase = (usize, String, BlockchainTest);

/// Every `stride`-th case of the fixture files under `dir` (counted from 1 across the files in
/// order): a deterministic sample for the slower checks. Files are read as the iteration
/// reaches them.
///
/// # Errors
/// [`RunnerError::Io`] when the folder cannot be listed; an item is an error naming the file
/// when that file cannot be read.
pub fn sampled_cases(
    dir: &Path,
    stride: usize,
) -> Result<impl Iterator<Item = Result<SampledCase, String>>, RunnerError> {
    let stride = stride.max(1);
    let mut index = 0usize;
    Ok(fixture_files(dir)?.into_iter().flat_map(move |path| {
        let cases: Vec<Result<SampledCase, String>> = match load_cases(&path) {
            Ok(cases) => cases
                .into_iter()
                .filter_map(|(name, test)| {
                    index += 1;
                    index
                        .is_multiple_of(stride)
                        .then(|| Ok((index, name, test)))
                })
                .collect(),
            Err(e) => vec![Err(format!("{}: {e}", path.display()))],
        };
        cases
    }))
}

/// Parses the text of a blockchain-test fixture file into its cases by name.
///
/// # Errors
/// The JSON error, as text.
pub fn parse_cases(text: &str) -> Result<BTreeMap<String, BlockchainTest>, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// Runs every case of one file into `report`, generating complete witnesses.
pub fn run_file(path: &Path, folder: &str, report: &mut Report) {
    run_file_with(path, folder, WitnessKind::Complete, report);
}

/// [`run_file`] generating witnesses of `kind`.
pub fn run_file_with(path: &Path, folder: &str, kind: WitnessKind, report: &mut Report) {
    let stats = report.folders.entry(folder.to_string()).or_default();
    let file_name = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let cases = match load_cases(path) {
        Ok(cases) => cases,
        Err(reason) => {
            stats.failed += 1;
            report.failures.push(CaseNote {
                case: format!("{folder}/{file_name}"),
                reason,
            });
            return;
        }
    };
    for (name, test) in cases {
        let zkevm = test.blocks.iter().any(|b| b.execution_witness.is_some());
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if zkevm {
                run_zkevm_test(&test)
            } else {
                run_blockchain_test_with(&test, kind, |_, _| {})
            }
        }))
        .unwrap_or_else(|_| Outcome::Failed("panicked".into()));
        let case = format!("{folder}/{file_name}::{name}");
        let stats = report.folders.entry(folder.to_string()).or_default();
        match outcome {
            Outcome::Passed {
                witness_nodes,
                witness_codes,
                witness_bytes,
                witness_time,
            } => {
                stats.passed += 1;
                stats.witness_nodes += witness_nodes;
                stats.witness_codes += witness_codes;
                stats.witness_bytes += witness_bytes;
                stats.witness_time += witness_time;
            }
            Outcome::Failed(reason) => {
                stats.failed += 1;
                report.failures.push(CaseNote { case, reason });
            }
            Outcome::Skipped(reason) => {
                stats.skipped += 1;
                report.skips.push(CaseNote { case, reason });
            }
        }
    }
}

/// Runs every fixture under `dir` on `threads` threads, generating complete witnesses;
/// folders in the report are relative to `dir`.
///
/// # Errors
/// [`RunnerError`] when `dir` cannot be read or holds no fixtures.
pub fn run(dir: &Path, threads: usize) -> Result<Report, RunnerError> {
    run_with(dir, threads, WitnessKind::Complete)
}

/// [`run`] generating witnesses of `kind`.
///
/// # Errors
/// See [`run`].
pub fn run_with(dir: &Path, threads: usize, kind: WitnessKind) -> Result<Report, RunnerError> {
    let files = fixture_files(dir)?;
    if files.is_empty() {
        return Err(RunnerError::Empty {
            path: dir.to_path_buf(),
        });
    }
    let next = AtomicUsize::new(0);
    let merged = Mutex::new(Report::default());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                let mut local = Report::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    let folder = path
                        .parent()
                        .and_then(|p| p.strip_prefix(dir).ok())
                        .map(|p| p.to_string_lossy().into_owned())
                        .filter(|p| !p.is_empty())
                        .unwrap_or_else(|| ".".into());
                    run_file_with(path, &folder, kind, &mut local);
                }
                merged
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .merge(local);
            });
        }
    });
    let mut report = merged
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    report.failures.sort_by(|a, b| a.case.cmp(&b.case));
    report.skips.sort_by(|a, b| a.case.cmp(&b.case));
    Ok(report)
}
