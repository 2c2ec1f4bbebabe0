//! Pass/fail/skip counts per folder, totals, and the JSON report.

use serde::Serialize;
use std::{collections::BTreeMap, fmt};

/// Counts for one folder of fixtures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FolderStats {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Cases skipped (with a reason in the report).
    pub skipped: usize,
    /// Trie nodes across the witnesses of passing cases.
    pub witness_nodes: usize,
    /// Codes across the witnesses of passing cases.
    pub witness_codes: usize,
    /// Bytes across the witnesses of passing cases.
    pub witness_bytes: usize,
    /// Time spent generating the witnesses of passing cases.
    pub witness_time: std::time::Duration,
}

/// One failed or skipped case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseNote {
    /// `<file>::<case name>`.
    pub case: String,
    /// Why.
    pub reason: String,
}

/// The result of a conformance run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Counts per folder (relative to the run's root).
    pub folders: BTreeMap<String, FolderStats>,
    /// Failed cases.
    pub failures: Vec<CaseNote>,
    /// Skipped cases.
    pub skips: Vec<CaseNote>,
}

/// The `--json` report shape.
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    /// Cases run or skipped.
    pub total: usize,
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Skipped.
    pub skipped: usize,
    /// Each failure.
    pub failures: &'a [CaseNote],
}

impl Report {
    /// Sums over all folders.
    pub fn totals(&self) -> FolderStats {
        self.folders
            .values()
            .fold(FolderStats::default(), |a, f| FolderStats {
                passed: a.passed + f.passed,
                failed: a.failed + f.failed,
                skipped: a.skipped + f.skipped,
                witness_nodes: a.witness_nodes + f.witness_nodes,
                witness_codes: a.witness_codes + f.witness_codes,
                witness_bytes: a.witness_bytes + f.witness_bytes,
                witness_time: a.witness_time + f.witness_time,
            })
    }

    /// The `{"total","passed","failed","skipped","failures"}` report.
    pub fn json(&self) -> JsonReport<'_> {
        let t = self.totals();
        JsonReport {
            total: t.passed + t.failed + t.skipped,
            passed: t.passed,
            failed: t.failed,
            skipped: t.skipped,
            failures: &self.failures,
        }
    }

    /// Merges another report in.
    pub fn merge(&mut self, other: Self) {
        for (folder, s) in other.folders {
            let e = self.folders.entry(folder).or_default();
            e.passed += s.passed;
            e.failed += s.failed;
            e.skipped += s.skipped;
            e.witness_nodes += s.witness_nodes;
            e.witness_codes += s.witness_codes;
            e.witness_bytes += s.witness_bytes;
            e.witness_time += s.witness_time;
        }
        self.failures.extend(other.failures);
        self.skips.extend(other.skips);
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .folders
            .keys()
            .map(String::len)
            .max()
            .unwrap_or(6)
            .max(6);
        writeln!(
            f,
            "{:<width$} {:>7} {:>7} {:>7} {:>13} {:>13} {:>13} {:>11}",
            "folder",
            "pass",
            "fail",
            "skip",
            "witness nodes",
            "witness codes",
            "witness bytes",
            "generate ms"
        )?;
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        for (name, s) in &self.folders {
            writeln!(
                f,
                "{name:<width$} {:>7} {:>7} {:>7} {:>13} {:>13} {:>13} {:>11.1}",
                s.passed,
                s.failed,
                s.skipped,
                s.witness_nodes,
                s.witness_codes,
                s.witness_bytes,
                ms(s.witness_time)
            )?;
        }
        let t = self.totals();
        writeln!(
            f,
            "{:<width$} {:>7} {:>7} {:>7} {:>13} {:>13} {:>13} {:>11.1}",
            "TOTAL",
            t.passed,
            t.failed,
            t.skipped,
            t.witness_nodes,
            t.witness_codes,
            t.witness_bytes,
            ms(t.witness_time)
        )?;
        let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
        for s in &self.skips {
            *reasons.entry(&s.reason).or_default() += 1;
        }
        for (reason, n) in reasons {
            writeln!(f, "skipped {n}: {reason}")?;
        }
        for failure in self.failures.iter().take(50) {
            writeln!(f, "FAIL {}: {}", failure.case, failure.reason)?;
        }
        if self.failures.len() > 50 {
            writeln!(f, "... and {} more failures", self.failures.len() - 50)?;
        }
        Ok(())
    }
}
