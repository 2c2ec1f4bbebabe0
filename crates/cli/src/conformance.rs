//! `cairn conformance <DIR>`: the official fixtures through both paths.

use crate::{Error, Result, out, outln};
use std::path::PathBuf;

/// Arguments of `cairn conformance`.
#[derive(Debug, clap::Args)]
pub struct ConformanceArgs {
    /// A fixtures folder (e.g. `$CAIRN_FIXTURES/eest`, or a sub-folder, or one file).
    pub dir: PathBuf,
    /// Also write `{"total","passed","failed","skipped","failures":[{"case","reason"}]}` here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long, env = "CAIRN_THREADS")]
    pub threads: Option<usize>,
    /// Which witness to generate for each block. Every witness is also validated under the
    /// strict rules; a complete one must pass them.
    #[arg(long, value_enum, default_value_t = crate::chain::WitnessChoice::Complete)]
    pub witness: crate::chain::WitnessChoice,
}

/// Runs `cairn conformance`.
///
/// # Errors
/// [`Error::ConformanceFailed`] when any case fails; I/O errors for the folder or report.
pub fn run(args: ConformanceArgs) -> Result<()> {
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let started = std::time::Instant::now();
    let report = cairn_ef_tests::run_with(&args.dir, threads, args.witness.into())?;
    out!("{report}")?;
    outln!(
        "elapsed {:.1} s on {threads} threads",
        started.elapsed().as_secs_f64()
    )?;
    if let Some(path) = &args.json {
        crate::output::write_json(path, &report.json())?;
    }
    let t = report.totals();
    if t.failed > 0 {
        return Err(Error::ConformanceFailed {
            failed: t.failed,
            total: t.passed + t.failed + t.skipped,
        });
    }
    Ok(())
}
