//! Where proved batches come from: the [`ProofSource`] seam, and its `.seg` directory
//! implementation.
//!
//! The settler asks for the batches that start at the block after the last settled one; a
//! source answers with every candidate it has (the settler checks each against the
//! multi-proof policy and settles the first that meets it). The coordinator's job store is
//! the other source to come: its implementation answers the same question from the jobs
//! whose proofs were accepted.

use crate::error::{Error, Result};
use cairn_prover::Seg;
use std::{
    collections::HashMap,
    fs::File,
    future::Future,
    io::Read,
    path::{Path, PathBuf},
    time::SystemTime,
};
use tracing::warn;

/// A proved batch offered for settlement.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The proof file's contents.
    pub seg: Seg,
    /// Where it came from (a path, a job id), for logs and the store.
    pub origin: String,
}

/// A source of proved batches.
pub trait ProofSource {
    /// Every batch the source holds that starts at `first_block`, in a stable order.
    ///
    /// # Errors
    /// The source's own (I/O, database); a malformed candidate is skipped with a warning, not
    /// an error.
    fn candidates(&mut self, first_block: u64) -> impl Future<Output = Result<Vec<Candidate>>>;

    /// What the source is (for logs).
    fn describe(&self) -> String;
}

/// `.seg` files in a directory (`*.seg`; written atomically by `cairn prove`, so a file is
/// either absent or whole). Each file's block range is read from its header once per
/// modification.
#[derive(Debug)]
pub struct SegDir {
    dir: PathBuf,
    index: HashMap<PathBuf, Indexed>,
}

/// What the directory scan knows of a file: its modification time and length, and its block
/// range (`None`: not a `.seg` header).
type Indexed = (SystemTime, u64, Option<(u64, u64)>);

impl SegDir {
    /// Follows `dir` (which must exist).
    ///
    /// # Errors
    /// [`Error::Io`] when it is not a readable directory.
    pub fn new(dir: &Path) -> Result<Self> {
        std::fs::read_dir(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            index: HashMap::new(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn header(path: &Path) -> Option<(u64, u64)> {
        let mut head = [0u8; 28];
        File::open(path).ok()?.read_exact(&mut head).ok()?;
        if &head[..8] != b"CAIRNSEG" {
            return None;
        }
        let word = |at: usize| u64::from_be_bytes(head[at..at + 8].try_into().unwrap_or_default());
        Some((word(12), word(20)))
    }

    fn scan(&mut self) -> Result<()> {
        let entries = std::fs::read_dir(&self.dir).map_err(|source| Error::Io {
            path: self.dir.clone(),
            source,
        })?;
        let mut seen = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "seg") {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let stamp = (
                meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                meta.len(),
            );
            let fresh = self
                .index
                .get(&path)
                .is_some_and(|(m, l, _)| (*m, *l) == stamp);
            if !fresh {
                let range = Self::header(&path);
                if range.is_none() {
                    warn!(target: "cairn::settle", path = %path.display(), "not a .seg file; ignored");
                }
                self.index.insert(path.clone(), (stamp.0, stamp.1, range));
            }
            seen.push(path);
        }
        self.index.retain(|p, _| seen.contains(p));
        Ok(())
    }
}

impl ProofSource for SegDir {
    async fn candidates(&mut self, first_block: u64) -> Result<Vec<Candidate>> {
        self.scan()?;
        let mut paths: Vec<&PathBuf> = self
            .index
            .iter()
            .filter(|(_, (_, _, range))| range.is_some_and(|(first, _)| first == first_block))
            .map(|(p, _)| p)
            .collect();
        paths.sort();
        let mut out = Vec::with_capacity(paths.len());
        for path in paths {
            match Seg::read(path) {
                Ok(seg) => out.push(Candidate {
                    seg,
                    origin: path.display().to_string(),
                }),
                Err(e) => {
                    warn!(target: "cairn::settle", path = %path.display(), error = %e, "unreadable .seg file; skipped");
                }
            }
        }
        Ok(out)
    }

    fn describe(&self) -> String {
        format!("{}/*.seg", self.dir.display())
    }
}
