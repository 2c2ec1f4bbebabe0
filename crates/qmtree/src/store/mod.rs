//! The persistent, crash-safe store (file formats in the crate docs).

mod format;
mod inspect;

use std::{
    fs::{self, File, OpenOptions, TryLockError},
    io,
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
};

use alloy_primitives::B256;
use tracing::{debug, warn};

pub use format::FORMAT_VERSION;
pub use inspect::{FileReport, InspectReport, inspect};

use crate::{
    error::{Error, Result},
    hash::LeafComponents,
    shape::{GROUP_LEAVES, STORED_INTERNAL_NODES},
    tree::{Backend, BlockInfo, QmTree, Subtree},
};
use format::{
    BLOCK_RECORD, BlockProblem, GROUP_RECORD, HEADER_LEN, HeaderProblem, INTERNAL_OFFSET,
    INTERNAL_RECORD, LEAF_RECORD, SUBTREE_RECORD, UPPER_RECORD, data_lengths,
};

/// Name of the format file.
pub const FORMAT_FILE: &str = "FORMAT";
/// Name of the lock file.
pub const LOCK_FILE: &str = "LOCK";
/// Name of the per-block metadata file.
pub const BLOCKS_FILE: &str = "blocks.dat";
/// Name of the leaf-components file.
pub const LEAVES_FILE: &str = "leaves.dat";
/// Name of the subtree file.
pub const SUBTREES_FILE: &str = "subtrees.dat";
/// Name of the upper-node file.
pub const UPPER_FILE: &str = "upper.dat";

/// How [`Store::open_with`] opens a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// Create an empty store if the directory has none (default: true).
    pub create: bool,
    /// Make data and block records durable at each commit (default: true).
    /// Without it a commit still survives a crash of the process (the data
    /// is in the OS page cache), but not of the machine.
    pub sync: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            create: true,
            sync: true,
        }
    }
}

/// The persistent tree.
pub type Store = QmTree<FileBackend>;

impl Store {
    /// Opens (creating if needed) the store in `dir` with default options.
    ///
    /// # Errors
    /// See [`Store::open_with`].
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(dir, StoreOptions::default())
    }

    /// Opens the store in `dir`: checks the format version, drops anything
    /// written after the last committed block, and rebuilds the open
    /// subtree and frontier (checking they reproduce the committed root).
    ///
    /// # Errors
    /// [`Error::Locked`] when another process has it open;
    /// [`Error::MissingFile`], [`Error::NotAStore`],
    /// [`Error::UnsupportedFormat`], [`Error::Truncated`],
    /// [`Error::Corrupted`], [`Error::BadRecord`]; I/O errors.
    pub fn open_with(dir: impl AsRef<Path>, options: StoreOptions) -> Result<Self> {
        let backend = FileBackend::open(dir.as_ref(), options, Mode::ReadWrite)?;
        Self::with_backend(backend)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    ReadWrite,
    ReadOnly,
}

/// An append-only file with fixed-stride records.
#[derive(Debug)]
pub(crate) struct DataFile {
    path: PathBuf,
    file: File,
    /// Logical length: committed plus appended since.
    len: u64,
    /// Length on disk when opened.
    disk_len: u64,
    dirty: bool,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl DataFile {
    fn open(path: PathBuf, mode: Mode) -> Result<Self> {
        let file = match OpenOptions::new()
            .read(true)
            .write(mode == Mode::ReadWrite)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::MissingFile { path });
            }
            Err(source) => return Err(Error::Io { path, source }),
        };
        let len = file.metadata().map_err(io_err(&path))?.len();
        Ok(Self {
            path,
            file,
            len,
            disk_len: len,
            dirty: false,
        })
    }

    fn append(&mut self, bytes: &[u8]) -> Result<()> {
        self.file
            .write_all_at(bytes, self.len)
            .map_err(io_err(&self.path))?;
        self.len += bytes.len() as u64;
        self.dirty = true;
        Ok(())
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        let end = offset + buf.len() as u64;
        if end > self.len {
            return Err(Error::Truncated {
                path: self.path.clone(),
                expected: end,
                actual: self.len,
            });
        }
        self.file.read_exact_at(buf, offset).map_err(|source| {
            if source.kind() == io::ErrorKind::UnexpectedEof {
                let actual = self.file.metadata().map(|m| m.len()).unwrap_or(0);
                Error::Truncated {
                    path: self.path.clone(),
                    expected: end,
                    actual,
                }
            } else {
                Error::Io {
                    path: self.path.clone(),
                    source,
                }
            }
        })
    }

    fn sync(&mut self) -> Result<()> {
        if self.dirty {
            self.file.sync_data().map_err(io_err(&self.path))?;
            self.dirty = false;
        }
        Ok(())
    }

    fn truncate(&mut self, len: u64) -> Result<()> {
        self.file.set_len(len).map_err(io_err(&self.path))?;
        self.file.sync_all().map_err(io_err(&self.path))?;
        self.len = len;
        self.disk_len = len;
        self.dirty = false;
        Ok(())
    }

    fn corrupted(&self, offset: u64) -> Error {
        Error::Corrupted {
            path: self.path.clone(),
            offset,
        }
    }
}

/// The file-backed [`Backend`]: five files in a directory, memory O(1).
#[derive(Debug)]
pub struct FileBackend {
    dir: PathBuf,
    /// Held for the backend's lifetime; the OS releases it if we die.
    _lock: File,
    sync: bool,
    mode: Mode,
    leaves: DataFile,
    subtrees: DataFile,
    upper: DataFile,
    blocks: DataFile,
    first_block: Option<u64>,
    latest: Option<BlockInfo>,
    buf: Vec<u8>,
}

impl FileBackend {
    pub(crate) fn open(dir: &Path, options: StoreOptions, mode: Mode) -> Result<Self> {
        let writable = mode == Mode::ReadWrite;
        if writable && options.create {
            fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        let lock = lock_dir(dir, mode)?;
        let format_path = dir.join(FORMAT_FILE);
        if !format_path.exists() {
            // Creation writes the (empty) data files, then FORMAT. Empty data
            // files without FORMAT are an interrupted creation: start again.
            // Data without FORMAT was not written by this crate: refuse it.
            let mut any_data = false;
            for name in [BLOCKS_FILE, LEAVES_FILE, SUBTREES_FILE, UPPER_FILE] {
                let path = dir.join(name);
                match fs::metadata(&path) {
                    Ok(m) => any_data |= m.len() > 0,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(source) => return Err(Error::Io { path, source }),
                }
            }
            if any_data || !(writable && options.create) {
                return Err(Error::MissingFile { path: format_path });
            }
            create_store(dir)?;
        }
        check_format(&format_path)?;
        let open = |name: &str| DataFile::open(dir.join(name), mode);
        let mut backend = Self {
            dir: dir.to_path_buf(),
            _lock: lock,
            sync: options.sync,
            mode,
            leaves: open(LEAVES_FILE)?,
            subtrees: open(SUBTREES_FILE)?,
            upper: open(UPPER_FILE)?,
            blocks: open(BLOCKS_FILE)?,
            first_block: None,
            latest: None,
            buf: Vec::new(),
        };
        backend.recover()?;
        Ok(backend)
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Finds the last committed block and cuts every file back to it.
    fn recover(&mut self) -> Result<()> {
        let whole = self.blocks.len / BLOCK_RECORD as u64 * BLOCK_RECORD as u64;
        if whole != self.blocks.len {
            // A block record torn by a crash: its commit never returned.
            if self.mode == Mode::ReadWrite {
                warn!(target: "cairn::qmtree", path = %self.blocks.path.display(), bytes = self.blocks.len - whole, "dropping a torn block record");
                self.blocks.truncate(whole)?;
            } else {
                self.blocks.len = whole;
            }
        }
        let count = whole / BLOCK_RECORD as u64;
        if count > 0 {
            let first = self.read_block_record(0)?;
            let latest = self.read_block_record(count - 1)?;
            if latest.number.checked_sub(first.number) != Some(count - 1) {
                return Err(Error::BadRecord {
                    path: self.blocks.path.clone(),
                    offset: (count - 1) * BLOCK_RECORD as u64,
                    what: "block numbers are not contiguous",
                });
            }
            self.first_block = Some(first.number);
            self.latest = Some(latest);
        }
        let (l, s, u) = data_lengths(self.latest.map_or(0, |b| b.leaf_count));
        let mode = self.mode;
        for (file, expected) in [
            (&mut self.leaves, l),
            (&mut self.subtrees, s),
            (&mut self.upper, u),
        ] {
            if file.len < expected {
                return Err(Error::Truncated {
                    path: file.path.clone(),
                    expected,
                    actual: file.len,
                });
            }
            if file.len > expected {
                if mode == Mode::ReadWrite {
                    debug!(target: "cairn::qmtree", path = %file.path.display(), bytes = file.len - expected, "dropping data written after the last commit");
                    file.truncate(expected)?;
                } else {
                    file.len = expected;
                }
            }
        }
        Ok(())
    }

    fn read_block_record(&self, index: u64) -> Result<BlockInfo> {
        let offset = index * BLOCK_RECORD as u64;
        let mut r = [0u8; BLOCK_RECORD];
        self.blocks.read_at(&mut r, offset)?;
        format::decode_block(&r).map_err(|p| match p {
            BlockProblem::Checksum => self.blocks.corrupted(offset),
            BlockProblem::Lengths => Error::BadRecord {
                path: self.blocks.path.clone(),
                offset,
                what: "recorded file lengths do not match the leaf count",
            },
        })
    }

    fn check_writable(&self) -> Result<()> {
        match self.mode {
            Mode::ReadWrite => Ok(()),
            Mode::ReadOnly => Err(Error::Io {
                path: self.dir.clone(),
                source: io::Error::new(io::ErrorKind::PermissionDenied, "store opened read-only"),
            }),
        }
    }

    /// The four data files (a read-only open leaves bytes past the last
    /// commit in place; `len` is the committed length, `disk_len` the real one).
    pub(crate) fn files(&self) -> [&DataFile; 4] {
        [&self.blocks, &self.leaves, &self.subtrees, &self.upper]
    }
}

fn lock_dir(dir: &Path, mode: Mode) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = match mode {
        Mode::ReadWrite => OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path),
        Mode::ReadOnly => File::open(&path).or_else(|_| File::open(dir)),
    };
    let file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::MissingFile {
                path: dir.to_path_buf(),
            });
        }
        Err(source) => return Err(Error::Io { path, source }),
    };
    let locked = match mode {
        Mode::ReadWrite => file.try_lock(),
        Mode::ReadOnly => file.try_lock_shared(),
    };
    match locked {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(Error::Locked { path }),
        Err(TryLockError::Error(source)) => Err(Error::Io { path, source }),
    }
}

fn create_store(dir: &Path) -> Result<()> {
    for name in [BLOCKS_FILE, LEAVES_FILE, SUBTREES_FILE, UPPER_FILE] {
        let path = dir.join(name);
        let f = File::create(&path).map_err(io_err(&path))?;
        f.sync_all().map_err(io_err(&path))?;
    }
    // FORMAT appears last and atomically: a store without it was never created.
    let tmp = dir.join("FORMAT.tmp");
    fs::write(&tmp, format::encode_header()).map_err(io_err(&tmp))?;
    File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io_err(&tmp))?;
    let path = dir.join(FORMAT_FILE);
    fs::rename(&tmp, &path).map_err(io_err(&path))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))?;
    Ok(())
}

fn check_format(path: &Path) -> Result<()> {
    let bytes = fs::read(path).map_err(io_err(path))?;
    let Ok(header) = <[u8; HEADER_LEN]>::try_from(bytes.as_slice()) else {
        if bytes.len() >= 8 && bytes[..8] != format::MAGIC {
            return Err(Error::NotAStore {
                path: path.to_path_buf(),
            });
        }
        return Err(Error::Truncated {
            path: path.to_path_buf(),
            expected: HEADER_LEN as u64,
            actual: bytes.len() as u64,
        });
    };
    match format::check_header(&header) {
        Ok(()) => Ok(()),
        Err(HeaderProblem::Magic) => Err(Error::NotAStore {
            path: path.to_path_buf(),
        }),
        Err(HeaderProblem::Checksum) => Err(Error::Corrupted {
            path: path.to_path_buf(),
            offset: 0,
        }),
        Err(HeaderProblem::Version(found)) => Err(Error::UnsupportedFormat {
            path: path.to_path_buf(),
            found,
            supported: FORMAT_VERSION,
        }),
        Err(HeaderProblem::Layout) => Err(Error::BadRecord {
            path: path.to_path_buf(),
            offset: 12,
            what: "unexpected layout parameters",
        }),
    }
}

impl Backend for FileBackend {
    fn put_components(&mut self, first_tx: u64, leaves: &[LeafComponents]) -> Result<()> {
        self.check_writable()?;
        if first_tx * LEAF_RECORD as u64 != self.leaves.len {
            return Err(Error::BadRecord {
                path: self.leaves.path.clone(),
                offset: self.leaves.len,
                what: "append out of order",
            });
        }
        self.buf.clear();
        for (i, c) in leaves.iter().enumerate() {
            format::encode_leaf(first_tx + i as u64, c, &mut self.buf);
        }
        self.leaves.append(&self.buf)
    }

    fn put_subtree(&mut self, index: u64, subtree: &Subtree) -> Result<()> {
        self.check_writable()?;
        if index * SUBTREE_RECORD as u64 != self.subtrees.len {
            return Err(Error::BadRecord {
                path: self.subtrees.path.clone(),
                offset: self.subtrees.len,
                what: "append out of order",
            });
        }
        self.buf.clear();
        format::encode_subtree(index, subtree, &mut self.buf);
        self.subtrees.append(&self.buf)
    }

    fn put_upper(&mut self, pos: u64, node: &B256) -> Result<()> {
        self.check_writable()?;
        if pos * UPPER_RECORD as u64 != self.upper.len {
            return Err(Error::BadRecord {
                path: self.upper.path.clone(),
                offset: self.upper.len,
                what: "append out of order",
            });
        }
        self.upper.append(&format::encode_upper(pos, node))
    }

    fn commit(&mut self, block: &BlockInfo) -> Result<()> {
        self.check_writable()?;
        let (l, s, u) = data_lengths(block.leaf_count);
        for (file, expected) in [(&self.leaves, l), (&self.subtrees, s), (&self.upper, u)] {
            if file.len != expected {
                return Err(Error::BadRecord {
                    path: file.path.clone(),
                    offset: file.len,
                    what: "length at commit differs from the leaf count's",
                });
            }
        }
        if self.sync {
            // Data first: a durable block record must never point past durable data.
            self.leaves.sync()?;
            self.subtrees.sync()?;
            self.upper.sync()?;
        }
        self.blocks.append(&format::encode_block(block))?;
        if self.sync {
            self.blocks.sync()?;
        }
        self.first_block.get_or_insert(block.number);
        self.latest = Some(*block);
        Ok(())
    }

    fn truncate(&mut self, block: &BlockInfo) -> Result<()> {
        self.check_writable()?;
        let Some(first) = self.first_block else {
            return Err(Error::BlockNotFound {
                block: block.number,
            });
        };
        // The block file first: once it ends at `block`, a crash at any later
        // point reopens at `block` and cuts the data files there.
        self.blocks
            .truncate((block.number - first + 1) * BLOCK_RECORD as u64)?;
        let (l, s, u) = data_lengths(block.leaf_count);
        self.leaves.truncate(l)?;
        self.subtrees.truncate(s)?;
        self.upper.truncate(u)?;
        self.latest = Some(*block);
        Ok(())
    }

    fn latest_block(&self) -> Result<Option<BlockInfo>> {
        Ok(self.latest)
    }

    fn first_block(&self) -> Option<u64> {
        self.first_block
    }

    fn block(&self, number: u64) -> Result<Option<BlockInfo>> {
        let (Some(first), Some(latest)) = (self.first_block, self.latest) else {
            return Ok(None);
        };
        if number < first || number > latest.number {
            return Ok(None);
        }
        let info = self.read_block_record(number - first)?;
        if info.number != number {
            return Err(Error::BadRecord {
                path: self.blocks.path.clone(),
                offset: (number - first) * BLOCK_RECORD as u64,
                what: "block record holds another block number",
            });
        }
        Ok(Some(info))
    }

    fn components(&self, first: u64, count: usize) -> Result<Vec<LeafComponents>> {
        let mut buf = vec![0u8; count * LEAF_RECORD];
        self.leaves.read_at(&mut buf, first * LEAF_RECORD as u64)?;
        buf.chunks_exact(LEAF_RECORD)
            .enumerate()
            .map(|(i, r)| {
                let tx = first + i as u64;
                format::decode_leaf(tx, r)
                    .ok_or_else(|| self.leaves.corrupted(tx * LEAF_RECORD as u64))
            })
            .collect()
    }

    fn leaf_group(&self, subtree: u64, group: u64) -> Result<[B256; GROUP_LEAVES as usize]> {
        let offset = subtree * SUBTREE_RECORD as u64 + format::group_offset(group);
        let mut buf = [0u8; GROUP_RECORD];
        self.subtrees.read_at(&mut buf, offset)?;
        format::decode_group(subtree, group, &buf).ok_or_else(|| self.subtrees.corrupted(offset))
    }

    fn subtree_internal(&self, subtree: u64) -> Result<[B256; STORED_INTERNAL_NODES]> {
        let offset = subtree * SUBTREE_RECORD as u64 + INTERNAL_OFFSET;
        let mut buf = [0u8; INTERNAL_RECORD];
        self.subtrees.read_at(&mut buf, offset)?;
        format::decode_internal(subtree, &buf).ok_or_else(|| self.subtrees.corrupted(offset))
    }

    fn upper(&self, pos: u64) -> Result<B256> {
        let offset = pos * UPPER_RECORD as u64;
        let mut buf = [0u8; UPPER_RECORD];
        self.upper.read_at(&mut buf, offset)?;
        format::decode_upper(pos, &buf).ok_or_else(|| self.upper.corrupted(offset))
    }
}
