//! Conformance runner over the official Ethereum fixtures.
//!
//! - EEST blockchain tests (`eest/blockchain_tests`, Prague and Osaka;
//!   `eest-post-merge/blockchain_tests`, Paris, Shanghai, Cancun and the fork transitions;
//!   pre-merge networks are skipped as out of scope): for every case, build the pre-state
//!   and check the genesis root; for each block, generate its execution witness from the full
//!   state (complete by default, minimal on request), execute it fully, and validate it
//!   statelessly from the witness alone, under Cairn's rules and under the strict rules (a
//!   complete witness must pass both); compare with the header, then the final state with
//!   `postState` and the head with `lastblockhash`. Blocks with `expectException` must be rejected by both paths (and the
//!   stateless rejection must not be the witness's fault).
//! - EEST zkEVM tests (`eest/blockchain_tests_zkevm`): validate each block from the
//!   `executionWitness` it carries; it must succeed exactly when `statelessOutputBytes` says
//!   so. Forks the EVM crates do not implement are reported as skipped with the reason.
//!
//! - [`zkevm_compare`]: the zkEVM fixtures' witnesses against what Cairn's rules would
//!   include for the same blocks, from their access lists (no execution needed).
//!
//! [`run`] walks a folder on all cores and returns a [`Report`]: pass/fail/skip and witness
//! totals per folder, the failures with their reasons, and the `--json` shape.
//!
//! ```no_run
//! let report = cairn_ef_tests::run(std::path::Path::new("../shared/fixtures/eest"), 2).unwrap();
//! println!("{report}");
//! assert_eq!(report.totals().failed, 0);
//! ```
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod case;
pub mod fixture;
mod report;
mod runner;
pub mod witness_checks;
pub mod zkevm_compare;

pub use report::{CaseNote, FolderStats, JsonReport, Report};
pub use runner::{
    RunnerError, SampledCase, fixture_files, load_cases, parse_cases, run, run_file, run_file_with,
    run_with, sampled_cases,
};

/// The fixtures folder from `CAIRN_FIXTURES`, or `None` (callers must say they skip).
///
/// A relative path is taken from the current directory, or else from the workspace root
/// (`cargo test` runs each test binary in its package's folder, while users give paths from
/// where they typed the command).
pub fn fixtures_dir() -> Option<std::path::PathBuf> {
    let path = std::path::PathBuf::from(std::env::var_os("CAIRN_FIXTURES")?);
    if path.is_relative() && !path.exists() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(&path);
        if root.exists() {
            return Some(root);
        }
    }
    Some(path)
}
