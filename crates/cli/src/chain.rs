//! Loading chains: the embedded development chain, chain files, EEST fixtures.

use crate::{Error, Result, input::InputArgs};
use cairn_ef_tests::fixture::BlockchainTest;
use cairn_exec::ChainFile;
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

/// The development chain shipped in the binary (`testdata/devchain.json`).
pub const EMBEDDED_DEVCHAIN: &str = include_str!("../../../testdata/devchain.json");

/// Which witness a command generates (`--witness`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum WitnessChoice {
    /// What every stateless client needs: pre-state code even when an in-batch deployment
    /// has the same hash, and the trie nodes of every update order (passes
    /// `cairn validate --strict-witness`).
    #[default]
    Complete,
    /// Exactly what Cairn's own validation reads: smaller, for Cairn-only pipelines; other
    /// clients may reject it.
    Minimal,
}

impl From<WitnessChoice> for cairn_exec::WitnessKind {
    fn from(choice: WitnessChoice) -> Self {
        match choice {
            WitnessChoice::Complete => Self::Complete,
            WitnessChoice::Minimal => Self::Minimal,
        }
    }
}

/// Which chain a command runs on.
#[derive(Debug, Clone, clap::Args)]
pub struct ChainArgs {
    /// A chain file (`cairn devchain` writes one) or an EEST blockchain-test fixture
    /// (`.json` or `.json.gz`), `-` for stdin; default: the embedded development chain.
    pub chain: Option<PathBuf>,
    /// For a fixture file with several cases: the case whose name contains this text
    /// (default: the first case).
    #[arg(long)]
    pub case: Option<String>,
    /// Input size limit.
    #[command(flatten)]
    pub input: InputArgs,
}

impl ChainArgs {
    /// Loads the chain.
    ///
    /// # Errors
    /// I/O and parse errors naming the file; [`Error::InputTooLarge`];
    /// [`Error::NoSuchCase`].
    pub fn load(&self) -> Result<ChainFile> {
        let Some(path) = &self.chain else {
            return serde_json::from_str(EMBEDDED_DEVCHAIN)
                .map_err(|source| Error::Json { source });
        };
        let fixture_error = |reason| Error::Fixture {
            path: path.clone(),
            reason,
        };
        // Gzipped or not, read within the limit.
        let text = self.input.read_text(path)?;
        // A chain file has a top-level "chain" key; a fixture is a map of case names.
        if !text.contains("\"chain\"") && text.contains("\"genesisRLP\"") {
            let cases = cairn_ef_tests::parse_cases(&text).map_err(fixture_error)?;
            return pick_case(path, &cases, self.case.as_deref());
        }
        serde_json::from_str(&text).map_err(|source| {
            cairn_exec::ExecError::Json {
                path: path.clone(),
                source,
            }
            .into()
        })
    }
}

/// The first case of a fixture file whose name contains `case` (any case without it).
fn pick_case(
    path: &Path,
    cases: &BTreeMap<String, BlockchainTest>,
    case: Option<&str>,
) -> Result<ChainFile> {
    let (name, test) = cases
        .iter()
        .find(|(name, _)| case.is_none_or(|c| name.contains(c)))
        .ok_or_else(|| Error::NoSuchCase {
            path: path.to_path_buf(),
            case: case.unwrap_or_default().to_string(),
        })?;
    tracing::info!(target: "cairn::cli", case = %name, "replaying fixture case");
    cairn_ef_tests::case::chain_file(test).map_err(|reason| Error::Fixture {
        path: path.to_path_buf(),
        reason,
    })
}
