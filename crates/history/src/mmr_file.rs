//! An MMR's nodes in a file.
//!
//! ```text
//! bytes 0..8    "CAIRNMMR"
//! bytes 8..12   format version, u32 big-endian (1)
//! bytes 12..32  zero
//! then          the nodes in post-order, 32 bytes each (see `mmr`)
//! ```
//!
//! Appends write at the end (no `fsync` of their own: [`MmrFile::sync`] makes them durable,
//! and an MMR is derived data its owner can check and extend again). Opening cuts a torn
//! tail: a partial node, or nodes past the last complete append.

use crate::mmr::{Mmr, MmrError, MmrResult, MmrStorage, largest_leaves_within, node_count};
use alloy_primitives::B256;
use std::{
    fs::{File, OpenOptions},
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
};

const MAGIC: &[u8; 8] = b"CAIRNMMR";
const VERSION: u32 = 1;
const HEADER: u64 = 32;

/// MMR nodes in a file (see the module docs for the layout).
#[derive(Debug)]
pub struct MmrFile {
    path: PathBuf,
    file: File,
    nodes: u64,
}

impl MmrFile {
    /// Opens (creating) the file, cutting a torn tail.
    ///
    /// # Errors
    /// [`MmrError::Io`]; [`MmrError::NotAnMmrFile`] for a file of something else.
    pub fn open(path: &Path) -> MmrResult<Self> {
        let io = |source| MmrError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut header = [0u8; HEADER as usize];
        header[..8].copy_from_slice(MAGIC);
        header[8..12].copy_from_slice(&VERSION.to_be_bytes());
        if len == 0 {
            file.write_all_at(&header, 0).map_err(io)?;
        } else {
            let mut found = [0u8; HEADER as usize];
            if len < HEADER || file.read_exact_at(&mut found, 0).is_err() || found != header {
                return Err(MmrError::NotAnMmrFile {
                    path: path.to_path_buf(),
                });
            }
        }
        let stored = len.saturating_sub(HEADER) / 32;
        let nodes = node_count(largest_leaves_within(stored));
        let mut this = Self {
            path: path.to_path_buf(),
            file,
            nodes,
        };
        if len > HEADER && HEADER + 32 * nodes != len {
            tracing::warn!(target: "cairn::history", path = %path.display(), bytes = len, kept_nodes = nodes, "cutting a torn MMR tail");
            this.truncate(nodes)?;
        }
        Ok(this)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes the appended nodes durable (`fdatasync`).
    ///
    /// # Errors
    /// [`MmrError::Io`].
    pub fn sync(&self) -> MmrResult<()> {
        self.file.sync_data().map_err(|source| self.io(source))
    }

    fn io(&self, source: std::io::Error) -> MmrError {
        MmrError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

impl MmrStorage for MmrFile {
    fn len(&self) -> u64 {
        self.nodes
    }

    fn get(&self, position: u64) -> MmrResult<B256> {
        if position >= self.nodes {
            return Err(MmrError::NodeCount { nodes: position });
        }
        let mut node = B256::ZERO;
        self.file
            .read_exact_at(node.as_mut_slice(), HEADER + 32 * position)
            .map_err(|source| self.io(source))?;
        Ok(node)
    }

    fn append(&mut self, nodes: &[B256]) -> MmrResult<()> {
        let mut buf = Vec::with_capacity(32 * nodes.len());
        for node in nodes {
            buf.extend_from_slice(node.as_slice());
        }
        self.file
            .write_all_at(&buf, HEADER + 32 * self.nodes)
            .map_err(|source| self.io(source))?;
        self.nodes += nodes.len() as u64;
        Ok(())
    }

    fn truncate(&mut self, len: u64) -> MmrResult<()> {
        let len = len.min(self.nodes);
        self.file
            .set_len(HEADER + 32 * len)
            .map_err(|source| self.io(source))?;
        self.nodes = len;
        Ok(())
    }
}

impl Mmr<MmrFile> {
    /// Opens (creating) the MMR kept in the file at `path`.
    ///
    /// # Errors
    /// As [`MmrFile::open`].
    pub fn open_file(path: &Path) -> MmrResult<Self> {
        Self::open(MmrFile::open(path)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;
    use std::io::Write;

    #[test]
    fn persists_and_cuts_torn_tails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mmr.bin");
        let leaves: Vec<B256> = (0..23u64).map(|i| keccak256(i.to_be_bytes())).collect();
        let mut memory = Mmr::default();
        memory.append_all(&leaves).unwrap();
        {
            let mut mmr = Mmr::open_file(&path).unwrap();
            for leaf in &leaves {
                mmr.append(*leaf).unwrap();
            }
            assert_eq!(mmr.root(), memory.root());
            mmr.storage().sync().unwrap();
        }
        let mmr = Mmr::open_file(&path).unwrap();
        assert_eq!((mmr.leaves(), mmr.root()), (23, memory.root()));
        mmr.check(&leaves).unwrap();
        let proof = mmr.proof(17, 20).unwrap();
        assert_eq!(proof, memory.proof(17, 20).unwrap());
        drop(mmr);

        // Half a node, then the parents of an append that never finished.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[7u8; 16]).unwrap();
        drop(f);
        let mmr = Mmr::open_file(&path).unwrap();
        assert_eq!((mmr.leaves(), mmr.root()), (23, memory.root()));
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[7u8; 32]).unwrap(); // leaf 23 (completes nothing alone: 24 = 0b11000)
        f.write_all(&[8u8; 32]).unwrap(); // one of its three parents
        drop(f);
        let mut mmr = Mmr::open_file(&path).unwrap();
        assert_eq!((mmr.leaves(), mmr.root()), (23, memory.root()));
        mmr.append(leaves[0]).unwrap();
        memory.append(leaves[0]).unwrap();
        drop(mmr);
        assert_eq!(Mmr::open_file(&path).unwrap().root(), memory.root());

        std::fs::write(
            dir.path().join("other"),
            b"not an mmr at all, not at all......",
        )
        .unwrap();
        assert!(matches!(
            Mmr::open_file(&dir.path().join("other")),
            Err(MmrError::NotAnMmrFile { .. })
        ));
    }
}
