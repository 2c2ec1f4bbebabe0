//! `inspect`: what a store holds, and a full integrity check by replay.

use std::path::{Path, PathBuf};

use alloy_primitives::B256;
use serde::Serialize;

use super::{FileBackend, Mode, StoreOptions, format};
use crate::{
    error::{Error, Result},
    hash::LeafComponents,
    shape::{GROUP_LEAVES, STORED_INTERNAL_NODES, SUBTREE_LEAVES},
    tree::{Backend, BlockInfo, QmTree, Subtree},
};

/// One store file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileReport {
    /// File name.
    pub name: String,
    /// Bytes covered by the last commit.
    pub committed_bytes: u64,
    /// Bytes on disk: more while a store that syncs is open or after a
    /// crash (preallocated zeros, the commit ring, data written after the
    /// last commit), until a clean close or the next read-write open.
    pub disk_bytes: u64,
}

/// What a store holds and whether it checks out.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectReport {
    /// The store directory.
    pub dir: PathBuf,
    /// Its format version.
    pub format_version: u32,
    /// First committed block.
    pub first_block: Option<u64>,
    /// Last committed block.
    pub latest_block: Option<u64>,
    /// Committed blocks.
    pub blocks: u64,
    /// Committed leaves.
    pub leaves: u64,
    /// Root of the last committed block (zero when empty).
    pub latest_root: B256,
    /// The files.
    pub files: Vec<FileReport>,
    /// Tree bytes (`subtrees.dat` + `upper.dat`) per committed leaf.
    pub tree_bytes_per_leaf: f64,
    /// All committed bytes per committed leaf.
    pub total_bytes_per_leaf: f64,
    /// Leaves re-hashed by the integrity check (0 for a quick check).
    pub checked_leaves: u64,
    /// Block roots recomputed by the integrity check.
    pub checked_blocks: u64,
}

/// Opens the store in `dir` read-only (taking a shared lock, changing
/// nothing) and reports on it. The open itself checks the format, the
/// first and last block records, and that the stored data reproduces the
/// last root. With `deep`, every leaf is re-hashed from its components and
/// every subtree record, upper node and block root is compared with the
/// recomputed one.
///
/// # Errors
/// The open errors of [`super::Store::open_with`]; with `deep`,
/// [`Error::Corrupted`] or [`Error::BadRecord`] naming the first bad
/// record.
pub fn inspect(dir: &Path, deep: bool) -> Result<InspectReport> {
    let options = StoreOptions {
        create: false,
        sync: false,
        pipeline: false,
    };
    let backend = FileBackend::open(dir, options, Mode::ReadOnly)?;
    let tree = QmTree::with_backend(backend)?;
    let store = tree.backend();
    let latest = store.latest;
    let leaves = latest.map_or(0, |b| b.leaf_count);
    let blocks = store.block_count();
    let files: Vec<FileReport> = store
        .files()
        .iter()
        .map(|f| FileReport {
            name: f
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            committed_bytes: f.len,
            disk_bytes: f.disk_len,
        })
        .collect();
    let per_leaf = |bytes: u64| {
        if leaves == 0 {
            0.0
        } else {
            bytes as f64 / leaves as f64
        }
    };
    let tree_bytes = store.subtrees.len + store.upper.len;
    let total_bytes: u64 = files.iter().map(|f| f.committed_bytes).sum();
    let (checked_leaves, checked_blocks) = if deep { replay(store)? } else { (0, 0) };
    Ok(InspectReport {
        dir: dir.to_path_buf(),
        format_version: format::FORMAT_VERSION,
        first_block: store.first_block,
        latest_block: latest.map(|b| b.number),
        blocks,
        leaves,
        latest_root: latest.map_or(B256::ZERO, |b| b.root),
        files,
        tree_bytes_per_leaf: per_leaf(tree_bytes),
        total_bytes_per_leaf: per_leaf(total_bytes),
        checked_leaves,
        checked_blocks,
    })
}

/// Re-appends every stored leaf into a tree whose backend compares what it
/// would write with what the store holds.
fn replay(store: &FileBackend) -> Result<(u64, u64)> {
    let (Some(first), Some(latest)) = (store.first_block, store.latest) else {
        return Ok((0, 0));
    };
    let mut tree = QmTree::with_backend(Replay {
        store,
        buf: Vec::new(),
    })?;
    let full_leaves = latest.leaf_count / SUBTREE_LEAVES * SUBTREE_LEAVES;
    let mut cached: Option<(u64, u64, [B256; GROUP_LEAVES as usize])> = None;
    for number in first..=latest.number {
        let block = store
            .block(number)?
            .ok_or(Error::BlockNotFound { block: number })?;
        let have = tree.leaf_count();
        if block.leaf_count < have {
            return Err(Error::BadRecord {
                path: store.blocks.path.clone(),
                offset: (number - first) * format::BLOCK_RECORD as u64,
                what: "leaf count decreases",
            });
        }
        let mut next = have;
        while next < block.leaf_count {
            let take = (block.leaf_count - next).min(4096) as usize;
            for c in store.components(next, take)? {
                let tx = tree.append(LeafComponents {
                    previous_leaf_hash: tree.last_leaf_hash(),
                    ..c
                })?;
                if tx < full_leaves {
                    let (subtree, group) =
                        (tx / SUBTREE_LEAVES, tx % SUBTREE_LEAVES / GROUP_LEAVES);
                    if cached
                        .as_ref()
                        .is_none_or(|(s, g, _)| (*s, *g) != (subtree, group))
                    {
                        cached = Some((subtree, group, store.leaf_group(subtree, group)?));
                    }
                    let stored = cached
                        .as_ref()
                        .map(|(_, _, hashes)| hashes[(tx % GROUP_LEAVES) as usize]);
                    if stored != Some(tree.last_leaf_hash()) {
                        return Err(Error::BadRecord {
                            path: store.leaves.path.clone(),
                            offset: format::leaf_offset(tx),
                            what: "components do not hash to the leaf hash stored in subtrees.dat",
                        });
                    }
                }
            }
            next += take as u64;
        }
        tree.commit_block(number)?;
    }
    Ok((latest.leaf_count, latest.number - first + 1))
}

/// Compares instead of writing.
#[derive(Debug)]
struct Replay<'a> {
    store: &'a FileBackend,
    buf: Vec<u8>,
}

impl Replay<'_> {
    fn unused<T>(&self) -> Result<T> {
        Err(Error::Inconsistent {
            what: "replay does not read back",
            tx_num: 0,
        })
    }
}

impl Backend for Replay<'_> {
    fn put_components(&mut self, _: u64, _: &[LeafComponents]) -> Result<()> {
        Ok(())
    }

    fn put_subtree(&mut self, index: u64, subtree: &Subtree) -> Result<()> {
        self.buf.clear();
        format::encode_subtree(index, subtree, &mut self.buf);
        let base = index * format::SUBTREE_RECORD as u64;
        let mut stored = vec![0u8; format::SUBTREE_RECORD];
        self.store.read_subtree(index, 0, &mut stored)?;
        if let Some(at) = stored.iter().zip(&self.buf).position(|(a, b)| a != b) {
            return Err(Error::BadRecord {
                path: self.store.subtrees.path.clone(),
                offset: base + at as u64,
                what: "subtree record differs from the one recomputed from leaves.dat",
            });
        }
        Ok(())
    }

    fn put_upper(&mut self, pos: u64, node: &B256) -> Result<()> {
        if self.store.upper(pos)? != *node {
            return Err(Error::BadRecord {
                path: self.store.upper.path.clone(),
                offset: pos * format::UPPER_RECORD as u64,
                what: "upper node differs from the recomputed one",
            });
        }
        Ok(())
    }

    fn commit(&mut self, block: &BlockInfo) -> Result<()> {
        let stored = self
            .store
            .block(block.number)?
            .ok_or(Error::BlockNotFound {
                block: block.number,
            })?;
        if stored != *block {
            let first = self.store.first_block.unwrap_or(block.number);
            return Err(Error::BadRecord {
                path: self.store.blocks.path.clone(),
                offset: (block.number - first) * format::BLOCK_RECORD as u64,
                what: "block record differs from the one recomputed from leaves.dat",
            });
        }
        Ok(())
    }

    fn truncate(&mut self, _: &BlockInfo) -> Result<()> {
        self.unused()
    }

    fn latest_block(&self) -> Result<Option<BlockInfo>> {
        Ok(None)
    }

    fn first_block(&self) -> Option<u64> {
        None
    }

    fn block(&self, _: u64) -> Result<Option<BlockInfo>> {
        Ok(None)
    }

    fn components(&self, _: u64, _: usize) -> Result<Vec<LeafComponents>> {
        self.unused()
    }

    fn leaf_group(&self, _: u64, _: u64) -> Result<[B256; 32]> {
        self.unused()
    }

    fn subtree_internal(&self, _: u64) -> Result<[B256; STORED_INTERNAL_NODES]> {
        self.unused()
    }

    fn upper(&self, _: u64) -> Result<B256> {
        self.unused()
    }
}
