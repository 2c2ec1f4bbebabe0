//! The persistent, crash-safe store (file formats and the durability
//! argument are in the crate docs).

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
    INTERNAL_RECORD, LEAF_RECORD, RING_BYTES, RING_RECORD, RING_SLOTS, RingEntry, SUBTREE_RECORD,
    UPPER_RECORD, data_lengths,
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
    /// Make data and block records durable at each commit (default: true);
    /// the files are then preallocated and `leaves.dat` carries the commit
    /// ring (see the crate docs). Without it a commit still survives a crash
    /// of the process (the data is in the OS page cache), but not of the
    /// machine.
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
///
/// Preallocated (see [`DataFile::grow`]), the file runs past `len` in
/// zeros, and `leaves.dat` keeps the commit ring in its last
/// [`RING_BYTES`].
#[derive(Debug)]
pub(crate) struct DataFile {
    path: PathBuf,
    file: File,
    /// Logical length: committed plus appended since.
    len: u64,
    /// The file's size on disk.
    disk_len: u64,
    /// Written since the last sync (or opened: a file starts dirty, so that
    /// the first sync also covers what an earlier, unsynced session left).
    dirty: bool,
    /// Largest preallocation step, when the file is preallocated.
    prealloc: Option<u64>,
    /// Bytes kept free at the end of the preallocation (the commit ring).
    reserve: u64,
}

/// Preallocation steps are multiples of the page size.
const PREALLOC_ALIGN: u64 = 4096;
/// The smallest preallocation step; later steps are the file's size so far
/// (geometric growth, so that a small store stays small), up to a cap.
const PREALLOC_MIN_STEP: u64 = 256 * 1024;
/// Cap for `leaves.dat`, `subtrees.dat` and `upper.dat`: a step is written
/// and synced inside one append or commit, so it bounds that one's extra
/// latency (16 MiB: ~10 ms at 1.5 GB/s).
const PREALLOC_MAX_STEP_DATA: u64 = 16 << 20;
/// Cap for `blocks.dat`: its zero tail is scanned at open, so keep it short.
const PREALLOC_MAX_STEP_BLOCKS: u64 = 1 << 20;
/// Buffer size for preallocating and for the reads at open (the zero tail
/// of `blocks.dat`, a block's leaf records).
const IO_CHUNK: usize = 64 * 1024;
// The backwards scan of `blocks.dat` reads whole records.
const _: () = assert!(IO_CHUNK.is_multiple_of(BLOCK_RECORD));
/// A block with more leaf bytes than this makes them durable before its
/// ring entry, so that recovery never re-reads more than this to check one.
const RING_CHECK_LIMIT: u64 = 4 << 20;

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl DataFile {
    fn open(path: PathBuf, mode: Mode, prealloc: Option<u64>, reserve: u64) -> Result<Self> {
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
        let prealloc = prealloc.filter(|_| mode == Mode::ReadWrite);
        Ok(Self {
            path,
            file,
            len,
            disk_len: len,
            dirty: mode == Mode::ReadWrite,
            reserve: if prealloc.is_some() { reserve } else { 0 },
            prealloc,
        })
    }

    /// Whether appending up to `end` needs the file grown first.
    fn needs_growth(&self, end: u64) -> bool {
        self.prealloc.is_some() && end + self.reserve > self.disk_len
    }

    fn append(&mut self, bytes: &[u8]) -> Result<()> {
        let end = self.len + bytes.len() as u64;
        if self.needs_growth(end) {
            self.grow(end)?;
        }
        self.file
            .write_all_at(bytes, self.len)
            .map_err(io_err(&self.path))?;
        self.len = end;
        self.disk_len = self.disk_len.max(end);
        self.dirty = true;
        Ok(())
    }

    /// Extends the file with zeros (by its size so far, within the step
    /// bounds) so that `end` plus the reserve fits, and makes that durable.
    ///
    /// Why: `fdatasync` after an append must also commit the new size and
    /// block allocation through the filesystem journal, and on ext4 a
    /// journal commit waits for the ordered data of every file in the
    /// transaction. Overwriting blocks that are allocated, initialised
    /// (zeros really written: `fallocate`'s unwritten extents are converted
    /// through the journal too) and inside the file size leaves `fdatasync`
    /// only the data and a cache flush. Syncing here takes the journal
    /// commit once per step. Correctness never depends on it: `fdatasync`
    /// persists whatever metadata the data needs (on a copy-on-write
    /// filesystem, syncs are just not cheaper).
    fn grow(&mut self, end: u64) -> Result<()> {
        let max_step = self.prealloc.unwrap_or(0).max(PREALLOC_MIN_STEP);
        let step = self.disk_len.clamp(PREALLOC_MIN_STEP, max_step);
        let target = (self.disk_len + step)
            .max(end + self.reserve)
            .next_multiple_of(PREALLOC_ALIGN);
        let zeros = vec![0u8; IO_CHUNK];
        let mut at = self.disk_len;
        while at < target {
            let n = IO_CHUNK.min((target - at) as usize);
            if let Err(source) = self.file.write_all_at(&zeros[..n], at) {
                // Zeros past `len` are harmless; the next open or drop cuts them.
                self.disk_len = at;
                return Err(Error::Io {
                    path: self.path.clone(),
                    source,
                });
            }
            at += n as u64;
        }
        self.disk_len = target;
        self.file.sync_data().map_err(io_err(&self.path))?;
        debug!(target: "cairn::qmtree", path = %self.path.display(), bytes = target, "preallocated");
        Ok(())
    }

    /// Offset of the commit ring: the last [`RING_BYTES`] of a file whose
    /// size is a whole number of pages. Meaningful for `leaves.dat` only;
    /// anywhere else (or in a file without a ring) the slots do not decode.
    fn ring_offset(&self) -> Option<u64> {
        (self.disk_len >= RING_BYTES && self.disk_len.is_multiple_of(PREALLOC_ALIGN))
            .then(|| self.disk_len - RING_BYTES)
    }

    /// Writes commit-ring slot `slot` (space reserved past `len`).
    fn write_ring(&mut self, slot: u64, entry: &[u8; RING_RECORD]) -> Result<()> {
        let at = match self.ring_offset() {
            Some(at) if self.reserve == RING_BYTES && self.len <= at => at,
            _ => {
                return Err(Error::BadRecord {
                    path: self.path.clone(),
                    offset: self.disk_len,
                    what: "no room reserved for the commit ring",
                });
            }
        };
        self.file
            .write_all_at(entry, at + slot * RING_RECORD as u64)
            .map_err(io_err(&self.path))?;
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

    /// Cuts the file at `len`, durably (preallocated space and ring included).
    fn truncate(&mut self, len: u64) -> Result<()> {
        self.file.set_len(len).map_err(io_err(&self.path))?;
        self.file.sync_all().map_err(io_err(&self.path))?;
        self.len = len;
        self.disk_len = len;
        self.dirty = false;
        Ok(())
    }

    /// Gives back the space past `len` (preallocation, ring) on a clean
    /// close. Not synced: if a crash undoes it, the next open cuts it.
    fn trim(&mut self) -> Result<()> {
        if self.disk_len > self.len {
            self.file.set_len(self.len).map_err(io_err(&self.path))?;
            self.disk_len = self.len;
        }
        Ok(())
    }

    /// End of the last `BLOCK_RECORD` slot before `end` that is not all
    /// zeros (0 if none), reading backwards: the zero tail is at most one
    /// preallocation step.
    fn records_end(&self, end: u64) -> Result<u64> {
        const SCAN: u64 = IO_CHUNK as u64;
        let mut buf = vec![0u8; IO_CHUNK];
        let mut end = end;
        while end > 0 {
            let start = end.saturating_sub(SCAN);
            let chunk = &mut buf[..(end - start) as usize];
            self.file
                .read_exact_at(chunk, start)
                .map_err(io_err(&self.path))?;
            if let Some(i) = chunk
                .chunks_exact(BLOCK_RECORD)
                .rposition(|r| r.iter().any(|&b| b != 0))
            {
                return Ok(start + (i as u64 + 1) * BLOCK_RECORD as u64);
            }
            end = start;
        }
        Ok(0)
    }

    /// CRC-32 of `start..end` as it is on disk (`None` if the file is shorter).
    fn crc_of(&self, start: u64, end: u64) -> Result<Option<u32>> {
        if end > self.disk_len {
            return Ok(None);
        }
        let mut h = crc32fast::Hasher::new();
        let mut buf = vec![0u8; IO_CHUNK.min((end - start) as usize)];
        let mut at = start;
        while at < end {
            let n = buf.len().min((end - at) as usize);
            self.file
                .read_exact_at(&mut buf[..n], at)
                .map_err(io_err(&self.path))?;
            h.update(&buf[..n]);
            at += n as u64;
        }
        Ok(Some(h.finalize()))
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
    /// `blocks.dat` records known durable: those with index below this.
    blocks_durable: u64,
    /// CRC-32 of the bytes appended to `leaves.dat` since the last commit.
    leaf_crc: crc32fast::Hasher,
    /// Commit-ring entries standing in for `blocks.dat` records that may not
    /// be durable (read-only opens after a crash; a read-write open writes
    /// them to `blocks.dat` instead). Sorted by index, at most
    /// [`RING_SLOTS`].
    overlay: Vec<RingEntry>,
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
        // Preallocation and the commit ring only pay for themselves when
        // commits sync.
        let open = |name: &str, max_step, reserve| {
            DataFile::open(
                dir.join(name),
                mode,
                options.sync.then_some(max_step),
                reserve,
            )
        };
        let mut backend = Self {
            dir: dir.to_path_buf(),
            _lock: lock,
            sync: options.sync,
            mode,
            leaves: open(LEAVES_FILE, PREALLOC_MAX_STEP_DATA, RING_BYTES)?,
            subtrees: open(SUBTREES_FILE, PREALLOC_MAX_STEP_DATA, 0)?,
            upper: open(UPPER_FILE, PREALLOC_MAX_STEP_DATA, 0)?,
            blocks: open(BLOCKS_FILE, PREALLOC_MAX_STEP_BLOCKS, 0)?,
            first_block: None,
            latest: None,
            buf: Vec::new(),
            blocks_durable: 0,
            leaf_crc: crc32fast::Hasher::new(),
            overlay: Vec::new(),
        };
        if let Err(e) = backend.recover() {
            // Leave the files exactly as found: no clean-close work on drop.
            backend.mode = Mode::ReadOnly;
            return Err(e);
        }
        Ok(backend)
    }

    /// Finds the last committed block and cuts every file back to it.
    ///
    /// The last committed block is the newest entry of the commit ring at
    /// the end of `leaves.dat`, unless the ring is empty; then it is the
    /// last record of `blocks.dat` that is not all zeros (past it,
    /// `blocks.dat` is preallocated zeros). The newest ring entry may be a
    /// commit that a crash interrupted before its leaf records were
    /// durable: its CRC of them tells, and then the entry before it is the
    /// last commit. A read-write open copies the ring entries to
    /// `blocks.dat` and makes that durable before cutting `leaves.dat`
    /// (which drops the ring); a read-only open keeps them in `overlay`.
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
        let slots = self.blocks.records_end(whole)? / BLOCK_RECORD as u64;
        let mut ring = self.read_ring()?;
        if let Some(top) = ring.last()
            && !top.data_synced
        {
            let bytes = |leaves: u64| leaves.checked_mul(LEAF_RECORD as u64);
            let crc = match (bytes(top.prev_leaf_count), bytes(top.info.leaf_count)) {
                (Some(start), Some(end)) => self.leaves.crc_of(start, end)?,
                _ => None,
            };
            if crc != Some(top.data_crc) {
                debug!(target: "cairn::qmtree", block = top.info.number, "dropping a commit whose leaf records were not durable");
                ring.pop();
            }
        }
        let count = match ring.last() {
            Some(top) => {
                if slots > top.index + 1 {
                    return Err(Error::BadRecord {
                        path: self.blocks.path.clone(),
                        offset: (top.index + 1) * BLOCK_RECORD as u64,
                        what: "block record past the last commit in the commit ring",
                    });
                }
                top.index + 1
            }
            None => slots,
        };
        self.blocks.len = count * BLOCK_RECORD as u64;
        self.overlay = ring;
        if count > 0 {
            let first = self.record(0)?;
            let latest = self.record(count - 1)?;
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
        if self.mode == Mode::ReadWrite {
            // Ring entries to blocks.dat, durably, before the ring goes.
            let from_ring = !self.overlay.is_empty();
            for e in core::mem::take(&mut self.overlay) {
                self.blocks
                    .file
                    .write_all_at(
                        &format::encode_block(&e.info),
                        e.index * BLOCK_RECORD as u64,
                    )
                    .map_err(io_err(&self.blocks.path))?;
            }
            if from_ring || self.blocks.disk_len != self.blocks.len {
                self.blocks.truncate(self.blocks.len)?;
            }
        }
        // Read-write, blocks.dat now holds every committed block durably, so
        // the data files may be cut (dropping the ring) in any order.
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

    /// The well-formed commit-ring entries, by index.
    fn read_ring(&self) -> Result<Vec<RingEntry>> {
        let Some(at) = self.leaves.ring_offset() else {
            return Ok(Vec::new());
        };
        let mut buf = vec![0u8; RING_BYTES as usize];
        self.leaves
            .file
            .read_exact_at(&mut buf, at)
            .map_err(io_err(&self.leaves.path))?;
        let mut ring: Vec<RingEntry> = buf
            .chunks_exact(RING_RECORD)
            .zip(0..)
            .filter_map(|(r, slot)| format::decode_ring(r).filter(|e| e.index % RING_SLOTS == slot))
            .collect();
        ring.sort_by_key(|e| e.index);
        if let Some(top) = ring.last() {
            // Records older than the ring's window are in blocks.dat, so the
            // newest entry is at most RING_SLOTS records past its end.
            let bound = self.blocks.disk_len / BLOCK_RECORD as u64 + RING_SLOTS;
            let first = top.info.number - top.index;
            if top.index > bound
                || ring
                    .iter()
                    .any(|e| e.info.number - e.index != first || e.index + RING_SLOTS <= top.index)
            {
                return Err(Error::BadRecord {
                    path: self.leaves.path.clone(),
                    offset: at,
                    what: "commit ring entries disagree",
                });
            }
        }
        Ok(ring)
    }

    /// Block record `index`: from the overlay, else from `blocks.dat`.
    fn record(&self, index: u64) -> Result<BlockInfo> {
        match self.overlay.binary_search_by_key(&index, |e| e.index) {
            Ok(i) => Ok(self.overlay[i].info),
            Err(_) => self.read_block_record(index),
        }
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

    /// Makes every `blocks.dat` record written so far durable.
    fn sync_blocks(&mut self) -> Result<()> {
        self.blocks.sync()?;
        self.blocks_durable = self.blocks.len / BLOCK_RECORD as u64;
        Ok(())
    }

    /// Room in `leaves.dat` up to `end` (and the ring past it). Growing
    /// moves the ring to the new end of the file, so every block it stands
    /// for must be durable in `blocks.dat` first.
    fn reserve_leaves(&mut self, end: u64) -> Result<()> {
        if self.leaves.needs_growth(end) {
            self.sync_blocks()?;
            self.leaves.grow(end)?;
        }
        Ok(())
    }

    /// The durable part of a commit: after it returns, block `index` is in
    /// the commit ring, durably, with everything it covers.
    ///
    /// 1. `subtrees.dat` and `upper.dat` are synced (when written to): the
    ///    entry will point past their data.
    /// 2. If the entry's slot holds block `index - RING_SLOTS` whose record
    ///    may not be durable yet, `blocks.dat` is synced (once per
    ///    [`RING_SLOTS`] blocks).
    /// 3. The entry is written to the ring, with the CRC of the block's leaf
    ///    records (written since the last commit), and `leaves.dat` is
    ///    synced: one `fdatasync` makes both the leaf records and the entry
    ///    durable. Writeback may store the entry before the leaf records; a
    ///    crash in between leaves an entry whose CRC does not match, which
    ///    recovery drops (that commit never returned). A block with more
    ///    than [`RING_CHECK_LIMIT`] leaf bytes syncs them before writing the
    ///    entry instead, and says so in it.
    ///
    /// The `blocks.dat` record, written after this, becomes durable at step
    /// 2 of a later commit, at a rewind, or on close.
    fn commit_durably(&mut self, block: &BlockInfo, index: u64) -> Result<()> {
        self.subtrees.sync()?;
        self.upper.sync()?;
        self.reserve_leaves(self.leaves.len)?;
        if index >= RING_SLOTS && self.blocks_durable <= index - RING_SLOTS {
            self.sync_blocks()?;
        }
        let prev_leaf_count = self.latest.map_or(0, |b| b.leaf_count);
        let data_synced = self.leaves.len - data_lengths(prev_leaf_count).0 > RING_CHECK_LIMIT;
        if data_synced {
            self.leaves.sync()?;
        }
        let entry = RingEntry {
            info: *block,
            index,
            prev_leaf_count,
            data_crc: core::mem::take(&mut self.leaf_crc).finalize(),
            data_synced,
        };
        self.leaves
            .write_ring(index % RING_SLOTS, &format::encode_ring(&entry))?;
        self.leaves.sync()
    }

    /// Blocks committed in this store (its first block to its latest).
    pub(crate) fn block_count(&self) -> u64 {
        match (self.first_block, self.latest) {
            (Some(first), Some(latest)) => latest.number - first + 1,
            _ => 0,
        }
    }

    /// Whether `blocks.dat` holds a record for every committed block.
    fn blocks_complete(&self) -> bool {
        self.blocks.len == self.block_count() * BLOCK_RECORD as u64
    }

    /// The four data files (a read-only open leaves bytes past the last
    /// commit in place; `len` is the committed length, `disk_len` the real one).
    pub(crate) fn files(&self) -> [&DataFile; 4] {
        [&self.blocks, &self.leaves, &self.subtrees, &self.upper]
    }
}

impl Drop for FileBackend {
    /// A clean close: makes `blocks.dat` durable, so that the commit ring is
    /// no longer needed, and gives back the space past the logical ends.
    /// Not needed for correctness (the next open does the same), so errors
    /// are only logged.
    fn drop(&mut self) {
        if self.mode != Mode::ReadWrite || !self.sync {
            return;
        }
        if !self.blocks_complete() {
            // A commit failed after its ring entry: the ring must stay.
            return;
        }
        if let Err(e) = self.sync_blocks() {
            warn!(target: "cairn::qmtree", error = %e, "could not sync the block records on close");
            return;
        }
        for file in [
            &mut self.leaves,
            &mut self.subtrees,
            &mut self.upper,
            &mut self.blocks,
        ] {
            if let Err(e) = file.trim() {
                warn!(target: "cairn::qmtree", error = %e, "could not give back preallocated space");
            }
        }
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
        self.reserve_leaves(self.leaves.len + self.buf.len() as u64)?;
        self.leaf_crc.update(&self.buf);
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
        let index = block.number - self.first_block.unwrap_or(block.number);
        if self.sync {
            self.commit_durably(block, index)?;
        }
        self.blocks.append(&format::encode_block(block))?;
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
        if self.sync {
            // Every block the ring stands for durable in blocks.dat, then the
            // ring gone (with leaves.dat's preallocation): from here on
            // blocks.dat alone decides, as it must once it is cut.
            self.sync_blocks()?;
            let len = self.leaves.len;
            self.leaves.truncate(len)?;
        }
        // The block file first: once it ends at `block`, a crash at any later
        // point reopens at `block` and cuts the data files there.
        let count = block.number - first + 1;
        self.blocks.truncate(count * BLOCK_RECORD as u64)?;
        self.blocks_durable = count;
        let (l, s, u) = data_lengths(block.leaf_count);
        self.leaves.truncate(l)?;
        self.subtrees.truncate(s)?;
        self.upper.truncate(u)?;
        self.leaf_crc = crc32fast::Hasher::new();
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
        let info = self.record(number - first)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryTree, QmTree};

    fn leaf(tx: u64) -> (B256, B256, B256) {
        let h = |k: u64| B256::left_padding_from(&(tx * 3 + k + 1).to_be_bytes());
        (h(0), h(1), h(2))
    }

    /// Block `b` has `(b * 37) % 250` leaves (some blocks are empty).
    fn fill<B: Backend>(tree: &mut QmTree<B>, blocks: core::ops::Range<u64>) {
        for b in blocks {
            for _ in 0..(b * 37) % 250 {
                let (x, y, z) = leaf(tree.leaf_count());
                tree.append_next(x, y, z).unwrap();
            }
            tree.commit_block(b).unwrap();
        }
    }

    fn reference(blocks: u64) -> MemoryTree {
        let mut t = MemoryTree::new();
        fill(&mut t, 0..blocks);
        t
    }

    /// Leaves the files as a crash would: no clean close (which would make
    /// `blocks.dat` durable and cut the preallocated tails and the ring).
    fn crash(store: Store) {
        let mut backend = store.into_backend();
        backend.mode = Mode::ReadOnly;
    }

    fn read_only(dir: &Path) -> Store {
        let options = StoreOptions {
            create: false,
            sync: false,
        };
        QmTree::with_backend(FileBackend::open(dir, options, Mode::ReadOnly).unwrap()).unwrap()
    }

    fn zero(path: &Path, offset: u64, len: usize) {
        let f = OpenOptions::new().write(true).open(path).unwrap();
        f.write_all_at(&vec![0u8; len], offset).unwrap();
    }

    fn assert_roots(store: &Store, reference: &MemoryTree, blocks: core::ops::Range<u64>) {
        for b in blocks {
            assert_eq!(
                store.root_at(b).unwrap(),
                reference.root_at(b).unwrap(),
                "block {b}"
            );
        }
    }

    #[test]
    fn preallocated_tails_are_given_back_on_close() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        fill(&mut s, 0..20);
        let b = s.backend();
        assert!(b.leaves.disk_len >= b.leaves.len + RING_BYTES);
        assert!(b.blocks.disk_len > b.blocks.len);
        let latest = s.latest_block().unwrap();
        drop(s);
        let (l, st, u) = data_lengths(latest.leaf_count);
        for (name, len) in [
            (LEAVES_FILE, l),
            (SUBTREES_FILE, st),
            (UPPER_FILE, u),
            (BLOCKS_FILE, 20 * BLOCK_RECORD as u64),
        ] {
            assert_eq!(
                fs::metadata(dir.path().join(name)).unwrap().len(),
                len,
                "{name}"
            );
        }
    }

    #[test]
    fn ring_stands_in_for_block_records_that_were_not_durable() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        fill(&mut s, 0..100);
        crash(s);
        // The records of the last ten blocks never reached the disk.
        let blocks = dir.path().join(BLOCKS_FILE);
        zero(&blocks, 90 * BLOCK_RECORD as u64, 10 * BLOCK_RECORD);
        let r = reference(100);

        let ro = read_only(dir.path());
        assert_eq!(ro.latest_block().map(|b| b.number), Some(99));
        assert_roots(&ro, &r, 80..100);
        drop(ro);
        assert_eq!(inspect(dir.path(), true).unwrap().checked_blocks, 100);

        let mut s = Store::open(dir.path()).unwrap();
        assert_eq!(s.latest_block().map(|b| b.number), Some(99));
        // The read-write open wrote them back and dropped the ring.
        assert!(s.backend().overlay.is_empty());
        assert_eq!(
            fs::metadata(&blocks).unwrap().len(),
            100 * BLOCK_RECORD as u64
        );
        assert_roots(&s, &r, 0..100);
        fill(&mut s, 100..140);
        drop(s);
        let s = Store::open(dir.path()).unwrap();
        assert_roots(&s, &reference(140), 0..140);
    }

    #[test]
    fn a_commit_whose_leaves_were_not_durable_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        fill(&mut s, 0..50);
        let before = s.block(48).unwrap();
        let last = s.latest_block().unwrap();
        assert!(last.leaf_count > before.leaf_count);
        crash(s);
        // Block 49's ring entry is durable, one of its leaf records and its
        // block record are not: its commit never returned.
        zero(
            &dir.path().join(BLOCKS_FILE),
            49 * BLOCK_RECORD as u64,
            BLOCK_RECORD,
        );
        zero(
            &dir.path().join(LEAVES_FILE),
            (last.leaf_count - 1) * LEAF_RECORD as u64,
            LEAF_RECORD,
        );
        assert_eq!(read_only(dir.path()).latest_block(), Some(before));
        let mut s = Store::open(dir.path()).unwrap();
        assert_eq!(s.latest_block(), Some(before));
        fill(&mut s, 49..60);
        assert_roots(&s, &reference(60), 0..60);
    }

    #[test]
    fn a_block_record_past_the_ring_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        fill(&mut s, 0..10);
        crash(s);
        // Ring entry 9 lost, record 9 present: recovery cannot tell which
        // to believe.
        let leaves = dir.path().join(LEAVES_FILE);
        let len = fs::metadata(&leaves).unwrap().len();
        zero(
            &leaves,
            len - RING_BYTES + 9 * RING_RECORD as u64,
            RING_RECORD,
        );
        assert!(matches!(
            Store::open(dir.path()),
            Err(Error::BadRecord { path, offset, .. })
                if path.ends_with(BLOCKS_FILE) && offset == 9 * BLOCK_RECORD as u64
        ));
    }

    #[test]
    fn ring_moves_with_growth_and_rewind_empties_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        // Several preallocation steps of leaves.dat, many ring cycles.
        fill(&mut s, 0..400);
        assert!(s.backend().leaves.disk_len > 2 * PREALLOC_MIN_STEP);
        s.rewind(350).unwrap();
        assert_eq!(s.backend().leaves.disk_len, s.backend().leaves.len);
        fill(&mut s, 351..420);
        crash(s);
        let r = reference(420);
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.latest_block().map(|b| b.number), Some(419));
        assert_roots(&s, &r, 0..420);
    }

    #[test]
    fn a_crash_right_after_growth_recovers_from_blocks_dat() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        fill(&mut s, 0..30);
        // Growth syncs blocks.dat and moves the ring to a zero tail.
        let end = s.backend().leaves.disk_len + 1;
        let mut backend = s.into_backend();
        backend.reserve_leaves(end).unwrap();
        assert!(backend.read_ring().unwrap().is_empty());
        backend.mode = Mode::ReadOnly;
        drop(backend);
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.latest_block().map(|b| b.number), Some(29));
        assert_roots(&s, &reference(30), 0..30);
    }
}
