//! The persistent, crash-safe store (file formats and the durability
//! argument are in the crate docs).

mod format;
mod inspect;
mod syncer;

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
    batch,
    error::{Error, Result},
    hash::{LeafComponents, node_hash},
    shape::{
        GROUP_HEIGHT, GROUP_LEAVES, GROUPS_PER_SUBTREE, STORED_INTERNAL_NODES, SUBTREE_HEIGHT,
        SUBTREE_LEAVES, upper_count, upper_pos,
    },
    tree::{Backend, BlockInfo, QmTree, Subtree, internal_offset},
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
    /// Make each commit durable (`fdatasync`, default: true); the files are
    /// then preallocated (see the crate docs). Without it a commit still
    /// survives a crash of the process (the data is in the OS page cache),
    /// but not of the machine.
    pub sync: bool,
    /// Pipelined commits (with `sync`; default: false): a commit returns
    /// once its entry is written and its `fdatasync` has started on the
    /// store's sync thread, and the next commit, a rewind, [`Store::sync`]
    /// or the close waits for it. Every block still gets its own sync, and
    /// recovery is unchanged, but the caller hashes and writes the next
    /// block while the disk syncs the last one; a machine crash can lose
    /// the last returned commit ([`Store::durable_block`] says which
    /// blocks are durable). See "Pipelined commits" in the crate docs.
    pub pipeline: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            create: true,
            sync: true,
            pipeline: false,
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

    /// Waits until every committed block is durable (a no-op unless
    /// commits are pipelined: see [`StoreOptions::pipeline`]).
    ///
    /// # Errors
    /// The failed `fdatasync`, naming `leaves.dat`; the store is then
    /// poisoned.
    pub fn sync(&mut self) -> Result<()> {
        self.guarded_backend(|b| b.guard(FileBackend::settle))
    }

    /// The last block known durable: the latest committed one, except
    /// while a pipelined commit's sync is still running (then the one
    /// before it), or when commits do not sync (`None`: no block is known
    /// to survive a machine crash, though every one survives a process
    /// crash).
    pub fn durable_block(&self) -> Option<BlockInfo> {
        self.backend().durable_block()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    ReadWrite,
    ReadOnly,
}

/// An append-only file with fixed-stride records.
///
/// Preallocated (see [`DataFile::grow`]), the file runs past `len` in zeros.
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
/// Cap for `blocks.dat`, which grows slowly.
const PREALLOC_MAX_STEP_BLOCKS: u64 = 1 << 20;
/// Buffer size for preallocating and for the reads at open.
const IO_CHUNK: usize = 64 * 1024;
/// A block with more leaf bytes than this makes them durable before its
/// ring entry, so that recovery never re-reads more than this to check one.
const RING_CHECK_LIMIT: u64 = 4 << 20;
/// At most this many committed full subtrees have records that are not
/// known durable: a commit syncs the tree files first when more are
/// pending. Recovery checks (and, if torn, recomputes from `leaves.dat`)
/// at most these.
const TREE_SYNC_LIMIT: u64 = 16;

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl DataFile {
    fn open(path: PathBuf, mode: Mode, prealloc: Option<u64>) -> Result<Self> {
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
            dirty: mode == Mode::ReadWrite,
            prealloc: prealloc.filter(|_| mode == Mode::ReadWrite),
        })
    }

    fn append(&mut self, bytes: &[u8]) -> Result<()> {
        let end = self.len + bytes.len() as u64;
        if self.prealloc.is_some() && end > self.disk_len {
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

    /// Writes a record at `offset`, inside or past the logical length
    /// (a recomputed tree record).
    fn write_record_at(&mut self, bytes: &[u8], offset: u64) -> Result<()> {
        self.file
            .write_all_at(bytes, offset)
            .map_err(io_err(&self.path))?;
        self.disk_len = self.disk_len.max(offset + bytes.len() as u64);
        self.dirty = true;
        Ok(())
    }

    /// Overwrites bytes inside the committed part (the commit ring).
    fn write_in_place(&mut self, bytes: &[u8], offset: u64) -> Result<()> {
        debug_assert!(offset + bytes.len() as u64 <= self.len);
        self.file
            .write_all_at(bytes, offset)
            .map_err(io_err(&self.path))?;
        self.dirty = true;
        Ok(())
    }

    /// Extends the file with zeros (by its size so far, within the step
    /// bounds) so that `end` fits, and makes that durable.
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
            .max(end)
            .next_multiple_of(PREALLOC_ALIGN);
        let zeros = vec![0u8; IO_CHUNK];
        let mut at = self.disk_len;
        while at < target {
            let n = IO_CHUNK.min((target - at) as usize);
            if let Err(source) = self.file.write_all_at(&zeros[..n], at) {
                // Zeros past `len` are harmless; the next open or close cuts them.
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

    /// Reads committed bytes (inside the logical length).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        let end = offset + buf.len() as u64;
        if end > self.len {
            return Err(Error::Truncated {
                path: self.path.clone(),
                expected: end,
                actual: self.len,
            });
        }
        self.read_raw(buf, offset)
    }

    /// Reads bytes wherever they are in the file.
    fn read_raw(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.file.read_exact_at(buf, offset).map_err(|source| {
            if source.kind() == io::ErrorKind::UnexpectedEof {
                let actual = self.file.metadata().map(|m| m.len()).unwrap_or(0);
                Error::Truncated {
                    path: self.path.clone(),
                    expected: offset + buf.len() as u64,
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

    /// `fdatasync`s the file if it was written since the last sync and
    /// `durable` (the store syncs); without it only forgets the writes.
    fn sync(&mut self, durable: bool) -> Result<()> {
        if self.dirty && durable {
            self.file.sync_data().map_err(io_err(&self.path))?;
        }
        self.dirty = false;
        Ok(())
    }

    /// Cuts the file at `len`, durably (preallocated space included).
    fn truncate(&mut self, len: u64) -> Result<()> {
        self.file.set_len(len).map_err(io_err(&self.path))?;
        self.file.sync_all().map_err(io_err(&self.path))?;
        self.len = len;
        self.disk_len = len;
        self.dirty = false;
        Ok(())
    }

    /// Gives back the space past `len` (preallocation) on a clean close.
    /// Not synced: if a crash undoes it, the next open cuts it again.
    fn trim(&mut self) -> Result<()> {
        if self.disk_len > self.len {
            self.file.set_len(self.len).map_err(io_err(&self.path))?;
            self.disk_len = self.len;
        }
        Ok(())
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
            self.read_raw(&mut buf[..n], at)?;
            h.update(&buf[..n]);
            at += n as u64;
        }
        Ok(Some(h.finalize()))
    }

    /// Offset of the first non-zero byte at or after `from`, if any.
    fn first_nonzero(&self, from: u64) -> Result<Option<u64>> {
        let mut buf = vec![0u8; IO_CHUNK];
        let mut at = from;
        while at < self.disk_len {
            let n = IO_CHUNK.min((self.disk_len - at) as usize);
            self.read_raw(&mut buf[..n], at)?;
            if let Some(i) = buf[..n].iter().position(|&b| b != 0) {
                return Ok(Some(at + i as u64));
            }
            at += n as u64;
        }
        Ok(None)
    }

    fn corrupted(&self, offset: u64) -> Error {
        Error::Corrupted {
            path: self.path.clone(),
            offset,
        }
    }

    fn bad_record(&self, offset: u64, what: &'static str) -> Error {
        Error::BadRecord {
            path: self.path.clone(),
            offset,
            what,
        }
    }
}

/// What the commit ring holds, checked.
#[derive(Debug, Default)]
struct RingState {
    /// The newest entry: the last committed block (none in a new store).
    top: Option<RingEntry>,
    /// The entries since the newest rewind entry (included), by sequence
    /// number: the blocks of the current history the ring still describes.
    history: Vec<RingEntry>,
}

#[cfg(test)]
std::thread_local! {
    /// Test hook: the named step at which a store operation on this thread
    /// stops as if the process had died there.
    static STOP_AT: core::cell::Cell<Option<&'static str>> = const { core::cell::Cell::new(None) };
}

/// Makes the store operations of this thread stop at `point` (see
/// [`FileBackend::checkpoint`]), or no longer stop; returns the point that
/// was set and not reached.
#[cfg(test)]
pub(crate) fn stop_at(point: Option<&'static str>) -> Option<&'static str> {
    STOP_AT.with(|s| s.replace(point))
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
    /// The newest commit-ring entry written or found.
    top: Option<RingEntry>,
    /// `blocks.dat` records known durable: those with index below this.
    blocks_durable: u64,
    /// Sequence number of the oldest ring entry whose `blocks.dat` record
    /// was written after the last sync of `blocks.dat`.
    oldest_unsynced: Option<u64>,
    /// CRC-32 of the bytes appended to `leaves.dat` since the last commit.
    leaf_crc: crc32fast::Hasher,
    /// Commit-ring entries standing in for `blocks.dat` records that are
    /// not there (read-only opens after a crash; a read-write open writes
    /// them to `blocks.dat` instead), by index.
    overlay: Vec<RingEntry>,
    /// A write failed: the files are left as a crash would leave them.
    broken: bool,
    /// Full subtrees written since the tree files were last synced.
    tree_unsynced: u64,
    /// Tree records recomputed at open because a crash tore them (kept
    /// here by a read-only open; a read-write one writes them back).
    rebuilt: RebuiltTree,
    /// The sync thread, when commits are pipelined.
    syncer: Option<syncer::Syncer>,
    /// The committed block whose background sync may still be running,
    /// with its ticket.
    in_flight: Option<(u64, BlockInfo)>,
    /// The last block known durable (with `sync`).
    durable: Option<BlockInfo>,
}

/// Recomputed `subtrees.dat` and `upper.dat` records: subtrees
/// `first..first + subtrees.len()` and the upper records they complete.
#[derive(Debug, Default)]
struct RebuiltTree {
    first: u64,
    subtrees: Vec<Vec<u8>>,
    upper: Vec<(u64, [u8; UPPER_RECORD])>,
}

impl RebuiltTree {
    fn subtree(&self, index: u64) -> Option<&[u8]> {
        let i = usize::try_from(index.checked_sub(self.first)?).ok()?;
        self.subtrees.get(i).map(Vec::as_slice)
    }

    fn upper(&self, pos: u64) -> Option<&[u8; UPPER_RECORD]> {
        self.upper.iter().find(|(p, _)| *p == pos).map(|(_, r)| r)
    }
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
            // Creation writes the data files, then FORMAT. Data files
            // without FORMAT are an interrupted creation if they hold
            // nothing but the empty ring: start again. Anything else was
            // not written by this crate: refuse it.
            let mut any_data = false;
            for name in [BLOCKS_FILE, LEAVES_FILE, SUBTREES_FILE, UPPER_FILE] {
                let path = dir.join(name);
                let len = match fs::metadata(&path) {
                    Ok(m) => m.len(),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
                    Err(source) => return Err(Error::Io { path, source }),
                };
                any_data |= len > 0
                    && !(name == LEAVES_FILE
                        && len <= RING_BYTES
                        && fs::read(&path)
                            .map_err(io_err(&path))?
                            .iter()
                            .all(|&b| b == 0));
            }
            if any_data || !(writable && options.create) {
                return Err(Error::MissingFile { path: format_path });
            }
            create_store(dir)?;
        }
        check_format(&format_path)?;
        // Preallocation only pays for itself when commits sync.
        let open = |name: &str, max_step| {
            DataFile::open(dir.join(name), mode, options.sync.then_some(max_step))
        };
        let mut backend = Self {
            dir: dir.to_path_buf(),
            _lock: lock,
            sync: options.sync,
            mode,
            leaves: open(LEAVES_FILE, PREALLOC_MAX_STEP_DATA)?,
            subtrees: open(SUBTREES_FILE, PREALLOC_MAX_STEP_DATA)?,
            upper: open(UPPER_FILE, PREALLOC_MAX_STEP_DATA)?,
            blocks: open(BLOCKS_FILE, PREALLOC_MAX_STEP_BLOCKS)?,
            first_block: None,
            latest: None,
            buf: Vec::new(),
            top: None,
            blocks_durable: 0,
            oldest_unsynced: None,
            leaf_crc: crc32fast::Hasher::new(),
            overlay: Vec::new(),
            broken: false,
            tree_unsynced: 0,
            rebuilt: RebuiltTree::default(),
            syncer: None,
            in_flight: None,
            durable: None,
        };
        if let Err(e) = backend.recover() {
            // Leave the files exactly as found: no clean-close work on drop.
            backend.mode = Mode::ReadOnly;
            return Err(e);
        }
        if writable && backend.sync {
            // What a read-write open found is durable: it synced anything
            // that was not. (A read-only open promises nothing.)
            backend.durable = backend.latest;
        }
        if writable && options.sync && options.pipeline {
            let file = backend
                .leaves
                .file
                .try_clone()
                .map_err(io_err(&backend.leaves.path))?;
            backend.syncer = Some(syncer::Syncer::spawn(file).map_err(io_err(dir))?);
        }
        Ok(backend)
    }

    /// Test hook: in tests, stops here (as if the process died) when asked
    /// to by [`stop_at`]; the files stay as they are, and the backend does
    /// nothing more, not even its clean close.
    fn checkpoint(&mut self, point: &'static str) -> Result<()> {
        #[cfg(test)]
        if STOP_AT.with(|s| s.get()) == Some(point) {
            STOP_AT.with(|s| s.set(None));
            self.mode = Mode::ReadOnly;
            return Err(Error::Io {
                path: self.dir.clone(),
                source: io::Error::other(format!("simulated crash at {point}")),
            });
        }
        let _ = point;
        Ok(())
    }

    /// Finds the last committed block, checks `blocks.dat` against the
    /// commit ring, and (read-write) cuts every file back to that block.
    /// See "Open" in the crate docs.
    fn recover(&mut self) -> Result<()> {
        let ring = self.read_ring()?;
        let Some(top) = ring.top else {
            return self.recover_empty();
        };
        let count = top.index + 1;
        let first = top.info.number - top.index;
        let whole = self.blocks.len / BLOCK_RECORD as u64;
        if whole < top.durable {
            return Err(self.blocks.bad_record(
                whole * BLOCK_RECORD as u64,
                "committed block record missing: the file ends before the last block the commit ring names",
            ));
        }
        // The records the ring describes: equal to its entries, or (past
        // the durable ones) missing and restored from them.
        let mut restore: Vec<RingEntry> = Vec::new();
        let mut seen: Vec<u64> = Vec::new();
        for e in ring.history.iter().rev() {
            if seen.contains(&e.index) {
                continue;
            }
            seen.push(e.index);
            let stored = (e.index < whole).then(|| self.decode_record_at(e.index));
            match stored {
                Some(Ok(info)) if info == e.info => {}
                Some(Ok(_)) => {
                    return Err(self.blocks.bad_record(
                        e.index * BLOCK_RECORD as u64,
                        "block record differs from the commit ring's entry for it",
                    ));
                }
                Some(Err(err)) if e.index < top.durable => return Err(err),
                // Missing or torn, and written after the last sync of
                // blocks.dat: a crash may have lost it.
                _ => restore.push(*e),
            }
        }
        restore.sort_by_key(|e| e.index);
        if let Some(i) = (top.durable..count).find(|i| !seen.contains(i)) {
            return Err(self.blocks.bad_record(
                i * BLOCK_RECORD as u64,
                "block record neither known durable nor in the commit ring",
            ));
        }
        if top.durable > 0 {
            let first_record = self.decode_record_at(0)?;
            if first_record.number != first {
                return Err(self
                    .blocks
                    .bad_record(0, "first block record disagrees with the commit ring"));
            }
        }
        // Nothing past the last commit, unless a rewind voided it.
        let past = count * BLOCK_RECORD as u64;
        if !top.rewind()
            && let Some(at) = self.blocks.first_nonzero(past)?
        {
            let record = at / BLOCK_RECORD as u64 * BLOCK_RECORD as u64;
            return Err(self.blocks.bad_record(
                record,
                "block record past the last commit in the commit ring",
            ));
        }
        let n = top.info.leaf_count;
        let (l, s, u) = data_lengths(n);
        // Tree records past `durable_subtrees` may be torn by a crash: they
        // are checked, and recomputed from the first torn one.
        let full = n / SUBTREE_LEAVES;
        let durable_subtrees = if top.tree_synced() {
            full
        } else {
            let synced = ring
                .history
                .iter()
                .rev()
                .find(|e| e.tree_synced())
                .map_or(0, |e| e.info.leaf_count / SUBTREE_LEAVES);
            synced.max(full.saturating_sub(TREE_SYNC_LIMIT))
        };
        let (_, s_durable, u_durable) = data_lengths(durable_subtrees * SUBTREE_LEAVES);
        self.check_lengths(l, s_durable, u_durable)?;
        self.first_block = Some(first);
        self.latest = Some(top.info);
        self.top = Some(top);
        self.blocks.len = past;
        self.leaves.len = l;
        if let Some(torn) = self.first_torn_subtree(durable_subtrees, full)? {
            warn!(target: "cairn::qmtree", subtree = torn, "recomputing tree records a crash tore, from leaves.dat");
            self.rebuild_tree(torn, full)?;
        }
        self.subtrees.len = s;
        self.upper.len = u;
        if self.mode == Mode::ReadOnly {
            self.overlay = restore;
            return Ok(());
        }
        self.write_rebuilt()?;
        // Read-write: blocks.dat holds exactly the committed records,
        // durably, before the ring says so and before data is cut.
        for e in &restore {
            warn!(target: "cairn::qmtree", block = e.info.number, "restoring a block record from the commit ring");
            self.blocks
                .file
                .write_all_at(
                    &format::encode_block(&e.info),
                    e.index * BLOCK_RECORD as u64,
                )
                .map_err(io_err(&self.blocks.path))?;
        }
        self.checkpoint("open:restored")?;
        if self.blocks.disk_len != past || top.durable < count {
            self.blocks.truncate(past)?;
        }
        self.blocks_durable = count;
        self.checkpoint("open:blocks-cut")?;
        if top.durable < count || top.rewind() || !top.tree_synced() {
            self.sync_tree()?;
            self.write_entry(
                RingEntry {
                    seq: top.seq + 1,
                    info: top.info,
                    index: top.index,
                    prev_leaf_count: top.info.leaf_count,
                    durable: count,
                    data_crc: 0,
                    flags: format::RING_DATA_SYNCED | format::RING_TREE_SYNCED,
                },
                false,
            )?;
            self.checkpoint("open:entry")?;
        }
        self.cut_data(l, s, u)
    }

    /// The first of subtrees `from..to` whose record, or an upper record
    /// it completed, is missing or fails its checksum.
    fn first_torn_subtree(&self, from: u64, to: u64) -> Result<Option<u64>> {
        let mut record = vec![0u8; SUBTREE_RECORD];
        for subtree in from..to {
            let offset = subtree * SUBTREE_RECORD as u64;
            if offset + SUBTREE_RECORD as u64 > self.subtrees.disk_len {
                return Ok(Some(subtree));
            }
            self.subtrees.read_raw(&mut record, offset)?;
            let groups_ok = (0..GROUPS_PER_SUBTREE).all(|g| {
                let at = format::group_offset(g) as usize;
                format::decode_group(subtree, g, &record[at..at + GROUP_RECORD]).is_some()
            });
            let at = INTERNAL_OFFSET as usize;
            if !groups_ok || format::decode_internal(subtree, &record[at..]).is_none() {
                return Ok(Some(subtree));
            }
            for pos in upper_count(subtree)..upper_count(subtree + 1) {
                let offset = pos * UPPER_RECORD as u64;
                let mut r = [0u8; UPPER_RECORD];
                if offset + UPPER_RECORD as u64 > self.upper.disk_len {
                    return Ok(Some(subtree));
                }
                self.upper.read_raw(&mut r, offset)?;
                if format::decode_upper(pos, &r).is_none() {
                    return Ok(Some(subtree));
                }
            }
        }
        Ok(None)
    }

    /// Recomputes the records of subtrees `from..to`, and the upper records
    /// they complete, from the leaf components in `leaves.dat` (into
    /// [`FileBackend::rebuilt`]). The records before `from` are intact.
    fn rebuild_tree(&mut self, from: u64, to: u64) -> Result<()> {
        self.rebuilt = RebuiltTree {
            first: from,
            ..RebuiltTree::default()
        };
        let mut previous = match from.checked_sub(1) {
            Some(s) => self.leaf_group(s, GROUPS_PER_SUBTREE - 1)?[GROUP_LEAVES as usize - 1],
            None => B256::ZERO,
        };
        for subtree in from..to {
            let mut leaves = vec![B256::ZERO; SUBTREE_LEAVES as usize];
            for (hash, c) in leaves
                .iter_mut()
                .zip(self.components(subtree * SUBTREE_LEAVES, SUBTREE_LEAVES as usize)?)
            {
                previous = LeafComponents {
                    previous_leaf_hash: previous,
                    ..c
                }
                .hash();
                *hash = previous;
            }
            let mut internal = [B256::ZERO; STORED_INTERNAL_NODES];
            let mut level = leaves.clone();
            for h in 1..=SUBTREE_HEIGHT {
                let mut up = vec![B256::ZERO; level.len() / 2];
                batch::hash_pairs(&level, &mut up);
                if h >= GROUP_HEIGHT {
                    let off = internal_offset(h);
                    internal[off..off + up.len()].copy_from_slice(&up);
                }
                level = up;
            }
            let mut record = Vec::with_capacity(SUBTREE_RECORD);
            let tree = Subtree {
                leaves: leaves.into_boxed_slice(),
                internal,
            };
            format::encode_subtree(subtree, &tree, &mut record);
            self.rebuilt.subtrees.push(record);
            // Carry the subtree root up, as the tree does when one fills.
            let mut node = internal[STORED_INTERNAL_NODES - 1];
            let (mut j, mut idx) = (0u32, subtree);
            while idx & 1 == 1 {
                let left = if j == 0 {
                    self.subtree_internal(idx - 1)?[STORED_INTERNAL_NODES - 1]
                } else {
                    self.upper(upper_pos(j, idx - 1))?
                };
                node = node_hash(&left, &node);
                j += 1;
                idx >>= 1;
                let pos = upper_pos(j, idx);
                self.rebuilt
                    .upper
                    .push((pos, format::encode_upper(pos, &node)));
            }
        }
        Ok(())
    }

    /// Writes recomputed tree records back (read-write opens) and syncs them.
    fn write_rebuilt(&mut self) -> Result<()> {
        let rebuilt = core::mem::take(&mut self.rebuilt);
        if rebuilt.subtrees.is_empty() {
            return Ok(());
        }
        for (i, record) in rebuilt.subtrees.iter().enumerate() {
            let offset = (rebuilt.first + i as u64) * SUBTREE_RECORD as u64;
            self.subtrees.write_record_at(record, offset)?;
        }
        for (pos, record) in &rebuilt.upper {
            self.upper
                .write_record_at(record, pos * UPPER_RECORD as u64)?;
        }
        self.sync_tree()
    }

    /// Makes every tree record written so far durable.
    fn sync_tree(&mut self) -> Result<()> {
        self.subtrees.sync(self.sync)?;
        self.upper.sync(self.sync)?;
        self.tree_unsynced = 0;
        Ok(())
    }

    /// Bytes `offset..offset + buf.len()` of subtree record `subtree`, from
    /// the recomputed records or the file.
    fn read_subtree(&self, subtree: u64, offset: u64, buf: &mut [u8]) -> Result<()> {
        if let Some(record) = self.rebuilt.subtree(subtree) {
            let at = offset as usize;
            buf.copy_from_slice(&record[at..at + buf.len()]);
            return Ok(());
        }
        self.subtrees
            .read_at(buf, subtree * SUBTREE_RECORD as u64 + offset)
    }

    /// A store without a commit: `blocks.dat` must hold no record.
    fn recover_empty(&mut self) -> Result<()> {
        if let Some(at) = self.blocks.first_nonzero(0)? {
            let record = at / BLOCK_RECORD as u64 * BLOCK_RECORD as u64;
            return Err(self
                .blocks
                .bad_record(record, "block record, but the commit ring holds no commit"));
        }
        let (l, s, u) = data_lengths(0);
        self.check_lengths(l, s, u)?;
        if self.mode == Mode::ReadOnly {
            self.blocks.len = 0;
            self.leaves.len = l;
            self.subtrees.len = s;
            self.upper.len = u;
            return Ok(());
        }
        if self.blocks.len > 0 {
            self.blocks.truncate(0)?;
        }
        self.cut_data(l, s, u)
    }

    /// The data files hold at least what the last commit covers.
    fn check_lengths(&self, l: u64, s: u64, u: u64) -> Result<()> {
        for (file, expected) in [(&self.leaves, l), (&self.subtrees, s), (&self.upper, u)] {
            if file.len < expected {
                return Err(Error::Truncated {
                    path: file.path.clone(),
                    expected,
                    actual: file.len,
                });
            }
        }
        Ok(())
    }

    /// Cuts the data files at the last commit's lengths (dropping data
    /// appended after it and preallocated zeros).
    fn cut_data(&mut self, l: u64, s: u64, u: u64) -> Result<()> {
        for (file, expected) in [
            (&mut self.leaves, l),
            (&mut self.subtrees, s),
            (&mut self.upper, u),
        ] {
            if file.disk_len > expected {
                debug!(target: "cairn::qmtree", path = %file.path.display(), bytes = file.disk_len - expected, "cutting uncommitted data and preallocated space");
                file.truncate(expected)?;
            }
        }
        Ok(())
    }

    /// Reads and checks the commit ring (the first page of `leaves.dat`).
    ///
    /// Slot `s` holds the entry whose sequence number is the largest
    /// `≤ top` that is `s (mod 32)` (zeros if there is none), except the
    /// slot the next write goes to, which a crash may have left torn or
    /// holding an interrupted commit. The newest entry is dropped when it
    /// is an interrupted commit: its CRC of the block's leaf records does
    /// not match them.
    fn read_ring(&self) -> Result<RingState> {
        let mut page = vec![0u8; RING_BYTES as usize];
        self.leaves.read_at(&mut page, 0)?;
        let slots: Vec<Option<RingEntry>> = page
            .chunks_exact(RING_RECORD)
            .zip(0..)
            .map(|(r, slot)| format::decode_ring(r).filter(|e| e.seq % RING_SLOTS == slot))
            .collect();
        let slot_offset = |seq: u64| (seq % RING_SLOTS) * RING_RECORD as u64;
        let zero = |slot: u64| {
            page[(slot as usize) * RING_RECORD..][..RING_RECORD]
                .iter()
                .all(|&b| b == 0)
        };
        let Some(mut top) = slots.iter().flatten().max_by_key(|e| e.seq).copied() else {
            return match (0..RING_SLOTS).find(|&s| !zero(s)) {
                Some(s) => Err(self.leaves.corrupted(s * RING_RECORD as u64)),
                None => Ok(RingState::default()),
            };
        };
        if !top.data_synced() {
            let (start, end) = (
                format::leaf_offset(top.prev_leaf_count),
                format::leaf_offset(top.info.leaf_count),
            );
            if self.leaves.crc_of(start, end)? != Some(top.data_crc) {
                debug!(target: "cairn::qmtree", block = top.info.number, "dropping a commit whose leaf records were not durable");
                let Some(seq) = top.seq.checked_sub(1) else {
                    // The first commit never completed: the store is empty.
                    if let Some(s) = (1..RING_SLOTS).find(|&s| !zero(s)) {
                        return Err(self.leaves.corrupted(s * RING_RECORD as u64));
                    }
                    return Ok(RingState::default());
                };
                top = slots[(seq % RING_SLOTS) as usize]
                    .filter(|e| e.seq == seq)
                    .ok_or_else(|| self.leaves.corrupted(slot_offset(seq)))?;
            }
        }
        // Every slot but the next write's holds what the sequence puts there.
        let mut entries = Vec::with_capacity(RING_SLOTS as usize);
        for slot in 0..RING_SLOTS {
            let back = (top.seq % RING_SLOTS + RING_SLOTS - slot) % RING_SLOTS;
            let expected = top.seq.checked_sub(back);
            let found = slots[slot as usize];
            match (expected, found) {
                (Some(seq), Some(e)) if e.seq == seq => entries.push(e),
                _ if back == RING_SLOTS - 1 => {}
                (None, _) if zero(slot) => {}
                _ => return Err(self.leaves.corrupted(slot * RING_RECORD as u64)),
            }
        }
        entries.sort_by_key(|e| e.seq);
        // The current history starts at the newest rewind entry.
        let start = entries.iter().rposition(RingEntry::rewind).unwrap_or(0);
        let history = entries.split_off(start);
        let first = top.info.number - top.index;
        let disagree = |e: &RingEntry| {
            self.leaves
                .bad_record(slot_offset(e.seq), "commit ring entries disagree")
        };
        if let Some(e) = entries
            .iter()
            .chain(&history)
            .find(|e| e.info.number - e.index != first)
        {
            return Err(disagree(e));
        }
        for pair in history.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let same = b.index == a.index && b.info == a.info;
            let next = b.index == a.index + 1
                && b.prev_leaf_count == a.info.leaf_count
                && b.info.leaf_count >= a.info.leaf_count;
            if b.seq != a.seq + 1 || !(same || next) || b.durable < a.durable {
                return Err(disagree(b));
            }
        }
        Ok(RingState {
            top: Some(top),
            history,
        })
    }

    /// Block record `index`: from the overlay, else from `blocks.dat`.
    fn record(&self, index: u64) -> Result<BlockInfo> {
        match self.overlay.binary_search_by_key(&index, |e| e.index) {
            Ok(i) => Ok(self.overlay[i].info),
            Err(_) => self.decode_record_at(index),
        }
    }

    /// Block record `index` as `blocks.dat` holds it.
    fn decode_record_at(&self, index: u64) -> Result<BlockInfo> {
        let offset = index * BLOCK_RECORD as u64;
        let mut r = [0u8; BLOCK_RECORD];
        self.blocks.read_raw(&mut r, offset)?;
        format::decode_block(&r).map_err(|p| match p {
            BlockProblem::Checksum => self.blocks.corrupted(offset),
            BlockProblem::Lengths => self
                .blocks
                .bad_record(offset, "recorded file lengths do not match the leaf count"),
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
        self.blocks.sync(self.sync)?;
        self.blocks_durable = self.blocks.len / BLOCK_RECORD as u64;
        self.oldest_unsynced = None;
        Ok(())
    }

    /// Makes entry `seq`'s slot free to reuse: the entry there is
    /// `seq − 32`; if its `blocks.dat` record may not be durable yet,
    /// `blocks.dat` is synced (once per 32 entries at most). Called before
    /// an entry's `durable` field is read from `blocks_durable`.
    fn free_slot(&mut self, seq: u64) -> Result<()> {
        if self
            .oldest_unsynced
            .is_some_and(|oldest| oldest + RING_SLOTS <= seq)
        {
            self.sync_blocks()?;
        }
        Ok(())
    }

    /// Writes `entry` to its ring slot (see [`FileBackend::free_slot`]) and
    /// makes it durable (one `fdatasync` of `leaves.dat`, which also covers
    /// the leaf records written since the last one).
    ///
    /// With a sync thread and `background`, the sync is handed to it
    /// instead, and the block is in flight until [`FileBackend::settle`].
    /// Every caller settles first, so an entry is only ever written once
    /// the one before it is durable.
    fn write_entry(&mut self, entry: RingEntry, background: bool) -> Result<()> {
        debug_assert!(self.in_flight.is_none());
        self.free_slot(entry.seq)?;
        let slot = entry.seq % RING_SLOTS;
        self.leaves
            .write_in_place(&format::encode_ring(&entry), slot * RING_RECORD as u64)?;
        match &self.syncer {
            Some(syncer) if background => {
                // The thread's sync covers every write made so far.
                self.leaves.dirty = false;
                self.in_flight = Some((syncer.start(), entry.info));
            }
            _ => {
                self.leaves.sync(self.sync)?;
                if self.sync {
                    self.durable = Some(entry.info);
                }
            }
        }
        self.top = Some(entry);
        Ok(())
    }

    /// Waits for the background sync of the block in flight, if any.
    fn settle(&mut self) -> Result<()> {
        if let Some(syncer) = &self.syncer {
            syncer.wait().map_err(io_err(&self.leaves.path))?;
        }
        if let Some((_, block)) = self.in_flight.take() {
            self.durable = Some(block);
        }
        Ok(())
    }

    /// See [`Store::durable_block`].
    fn durable_block(&self) -> Option<BlockInfo> {
        match (&self.in_flight, &self.syncer) {
            (Some((ticket, block)), Some(syncer)) if syncer.completed() >= *ticket => Some(*block),
            _ => self.durable,
        }
    }

    /// The next ring entry's sequence number.
    fn next_seq(&self) -> u64 {
        self.top.map_or(0, |t| t.seq + 1)
    }

    /// See "Commit" in the crate docs.
    fn commit_inner(&mut self, block: &BlockInfo) -> Result<()> {
        self.check_writable()?;
        self.settle()?;
        let (l, s, u) = data_lengths(block.leaf_count);
        for (file, expected) in [(&self.leaves, l), (&self.subtrees, s), (&self.upper, u)] {
            if file.len != expected {
                return Err(
                    file.bad_record(file.len, "length at commit differs from the leaf count's")
                );
            }
        }
        let index = block.number - self.first_block.unwrap_or(block.number);
        // Tree records are recomputable from leaves.dat, so they are synced
        // only when more than TREE_SYNC_LIMIT full subtrees are pending.
        if self.tree_unsynced > TREE_SYNC_LIMIT {
            self.sync_tree()?;
        }
        let prev_leaf_count = self.latest.map_or(0, |b| b.leaf_count);
        let mut flags = 0;
        if !self.subtrees.dirty && !self.upper.dirty {
            flags |= format::RING_TREE_SYNCED;
        }
        if self.leaves.len - format::leaf_offset(prev_leaf_count) > RING_CHECK_LIMIT {
            self.leaves.sync(self.sync)?;
            flags |= format::RING_DATA_SYNCED;
        }
        let seq = self.next_seq();
        self.free_slot(seq)?;
        let data_crc = core::mem::take(&mut self.leaf_crc).finalize();
        self.write_entry(
            RingEntry {
                seq,
                info: *block,
                index,
                prev_leaf_count,
                durable: self.blocks_durable,
                data_crc,
                flags,
            },
            true,
        )?;
        self.checkpoint("commit:entry")?;
        self.blocks.append(&format::encode_block(block))?;
        self.oldest_unsynced.get_or_insert(seq);
        self.first_block.get_or_insert(block.number);
        self.latest = Some(*block);
        Ok(())
    }

    /// See "Rewind" in the crate docs.
    fn truncate_inner(&mut self, block: &BlockInfo) -> Result<()> {
        self.check_writable()?;
        self.settle()?;
        let Some(first) = self.first_block else {
            return Err(Error::BlockNotFound {
                block: block.number,
            });
        };
        let count = block.number - first + 1;
        self.sync_blocks()?;
        self.sync_tree()?;
        self.checkpoint("rewind:synced")?;
        self.write_entry(
            RingEntry {
                seq: self.next_seq(),
                info: *block,
                index: count - 1,
                prev_leaf_count: block.leaf_count,
                durable: count,
                data_crc: 0,
                flags: format::RING_DATA_SYNCED | format::RING_REWIND | format::RING_TREE_SYNCED,
            },
            false,
        )?;
        self.checkpoint("rewind:entry")?;
        self.blocks.truncate(count * BLOCK_RECORD as u64)?;
        self.blocks_durable = count;
        self.checkpoint("rewind:blocks-cut")?;
        let (l, s, u) = data_lengths(block.leaf_count);
        self.leaves.truncate(l)?;
        self.checkpoint("rewind:leaves-cut")?;
        self.subtrees.truncate(s)?;
        self.upper.truncate(u)?;
        self.leaf_crc = crc32fast::Hasher::new();
        self.latest = Some(*block);
        Ok(())
    }

    /// The clean close: `blocks.dat` synced, then a ring entry saying every
    /// record is durable (so that a `blocks.dat` cut short later is an
    /// error, not a shorter history), then the preallocated space given
    /// back. Each step leaves a store that opens at the same block.
    fn close(&mut self) -> Result<()> {
        self.settle()?;
        if let (Some(top), Some(latest), Some(first)) = (self.top, self.latest, self.first_block) {
            let index = latest.number - first;
            if top.durable <= index || top.rewind() || !top.tree_synced() || top.info != latest {
                self.sync_blocks()?;
                self.sync_tree()?;
                self.checkpoint("close:synced")?;
                self.write_entry(
                    RingEntry {
                        seq: top.seq + 1,
                        info: latest,
                        index,
                        prev_leaf_count: latest.leaf_count,
                        durable: index + 1,
                        data_crc: 0,
                        flags: format::RING_DATA_SYNCED | format::RING_TREE_SYNCED,
                    },
                    false,
                )?;
                self.checkpoint("close:entry")?;
            }
        }
        self.leaves.trim()?;
        self.checkpoint("close:trimming")?;
        self.subtrees.trim()?;
        self.upper.trim()?;
        self.blocks.trim()
    }

    /// Runs a write; an error leaves the files as a crash would.
    fn guard<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let out = f(self);
        if out.is_err() {
            self.broken = true;
        }
        out
    }

    /// Blocks committed in this store (its first block to its latest).
    pub(crate) fn block_count(&self) -> u64 {
        match (self.first_block, self.latest) {
            (Some(first), Some(latest)) => latest.number - first + 1,
            _ => 0,
        }
    }

    /// The four data files (a read-only open leaves bytes past the last
    /// commit in place; `len` is the committed length, `disk_len` the real one).
    pub(crate) fn files(&self) -> [&DataFile; 4] {
        [&self.blocks, &self.leaves, &self.subtrees, &self.upper]
    }
}

impl Drop for FileBackend {
    /// The clean close (see the crate docs). Not needed for correctness
    /// (the next open recovers the same block), so errors are only logged.
    fn drop(&mut self) {
        if self.mode != Mode::ReadWrite || self.broken {
            return;
        }
        if let Err(e) = self.close() {
            warn!(target: "cairn::qmtree", error = %e, "clean close of the QMTree store failed");
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
        if name == LEAVES_FILE {
            // The empty commit ring.
            f.write_all_at(&[0u8; RING_BYTES as usize], 0)
                .map_err(io_err(&path))?;
        }
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
        self.guard(|b| {
            b.check_writable()?;
            if format::leaf_offset(first_tx) != b.leaves.len {
                return Err(b.leaves.bad_record(b.leaves.len, "append out of order"));
            }
            b.buf.clear();
            for (i, c) in leaves.iter().enumerate() {
                format::encode_leaf(first_tx + i as u64, c, &mut b.buf);
            }
            b.leaf_crc.update(&b.buf);
            b.leaves.append(&b.buf)
        })
    }

    fn put_subtree(&mut self, index: u64, subtree: &Subtree) -> Result<()> {
        self.guard(|b| {
            b.check_writable()?;
            if index * SUBTREE_RECORD as u64 != b.subtrees.len {
                return Err(b.subtrees.bad_record(b.subtrees.len, "append out of order"));
            }
            b.buf.clear();
            format::encode_subtree(index, subtree, &mut b.buf);
            b.subtrees.append(&b.buf)?;
            b.tree_unsynced += 1;
            Ok(())
        })
    }

    fn put_upper(&mut self, pos: u64, node: &B256) -> Result<()> {
        self.guard(|b| {
            b.check_writable()?;
            if pos * UPPER_RECORD as u64 != b.upper.len {
                return Err(b.upper.bad_record(b.upper.len, "append out of order"));
            }
            b.upper.append(&format::encode_upper(pos, node))
        })
    }

    fn commit(&mut self, block: &BlockInfo) -> Result<()> {
        self.guard(|b| b.commit_inner(block))
    }

    fn truncate(&mut self, block: &BlockInfo) -> Result<()> {
        self.guard(|b| b.truncate_inner(block))
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
            return Err(self.blocks.bad_record(
                (number - first) * BLOCK_RECORD as u64,
                "block record holds another block number",
            ));
        }
        Ok(Some(info))
    }

    fn components(&self, first: u64, count: usize) -> Result<Vec<LeafComponents>> {
        let mut buf = vec![0u8; count * LEAF_RECORD];
        self.leaves.read_at(&mut buf, format::leaf_offset(first))?;
        buf.chunks_exact(LEAF_RECORD)
            .enumerate()
            .map(|(i, r)| {
                let tx = first + i as u64;
                format::decode_leaf(tx, r)
                    .ok_or_else(|| self.leaves.corrupted(format::leaf_offset(tx)))
            })
            .collect()
    }

    fn leaf_group(&self, subtree: u64, group: u64) -> Result<[B256; GROUP_LEAVES as usize]> {
        let mut buf = [0u8; GROUP_RECORD];
        self.read_subtree(subtree, format::group_offset(group), &mut buf)?;
        format::decode_group(subtree, group, &buf).ok_or_else(|| {
            self.subtrees
                .corrupted(subtree * SUBTREE_RECORD as u64 + format::group_offset(group))
        })
    }

    fn subtree_internal(&self, subtree: u64) -> Result<[B256; STORED_INTERNAL_NODES]> {
        let mut buf = [0u8; INTERNAL_RECORD];
        self.read_subtree(subtree, INTERNAL_OFFSET, &mut buf)?;
        format::decode_internal(subtree, &buf).ok_or_else(|| {
            self.subtrees
                .corrupted(subtree * SUBTREE_RECORD as u64 + INTERNAL_OFFSET)
        })
    }

    fn upper(&self, pos: u64) -> Result<B256> {
        let offset = pos * UPPER_RECORD as u64;
        let mut buf = [0u8; UPPER_RECORD];
        match self.rebuilt.upper(pos) {
            Some(record) => buf = *record,
            None => self.upper.read_at(&mut buf, offset)?,
        }
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

    /// Block `b` has `(b * 37) % 250` leaves (some blocks are empty), or,
    /// with `salt`, other contents.
    fn fill_salted<B: Backend>(tree: &mut QmTree<B>, blocks: core::ops::Range<u64>, salt: u64) {
        for b in blocks {
            for _ in 0..(b * 37 + salt) % 250 {
                let (x, y, z) = leaf(tree.leaf_count() + salt * 1_000_003);
                tree.append_next(x, y, z).unwrap();
            }
            tree.commit_block(b).unwrap();
        }
    }

    fn fill<B: Backend>(tree: &mut QmTree<B>, blocks: core::ops::Range<u64>) {
        fill_salted(tree, blocks, 0);
    }

    fn reference(blocks: u64) -> MemoryTree {
        let mut t = MemoryTree::new();
        fill(&mut t, 0..blocks);
        t
    }

    /// Leaves the files as a crash of the process would: no clean close.
    fn crash(store: Store) {
        let mut backend = store.into_backend();
        backend.mode = Mode::ReadOnly;
    }

    fn read_only(dir: &Path) -> Result<Store> {
        let options = StoreOptions {
            create: false,
            sync: false,
            pipeline: false,
        };
        QmTree::with_backend(FileBackend::open(dir, options, Mode::ReadOnly)?)
    }

    fn zero(path: &Path, offset: u64, len: usize) {
        let f = OpenOptions::new().write(true).open(path).unwrap();
        f.write_all_at(&vec![0u8; len], offset).unwrap();
    }

    fn cut(path: &Path, len: u64) {
        OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(len)
            .unwrap();
    }

    fn file_len(dir: &Path, name: &str) -> u64 {
        fs::metadata(dir.join(name)).unwrap().len()
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

    fn is_blocks_error(e: &Error, offset: u64) -> bool {
        match e {
            Error::BadRecord {
                path, offset: o, ..
            }
            | Error::Corrupted { path, offset: o } => path.ends_with(BLOCKS_FILE) && *o == offset,
            _ => false,
        }
    }

    #[test]
    fn preallocated_tails_are_given_back_on_close() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        fill(&mut s, 0..20);
        let b = s.backend();
        assert!(b.leaves.disk_len > b.leaves.len);
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
            assert_eq!(file_len(dir.path(), name), len, "{name}");
        }
    }

    /// The audit's repro: after a clean close, `blocks.dat` cut by one
    /// record, to a partial record, or its last records zeroed. Both opens
    /// refuse it, naming `blocks.dat` and the offset, and change nothing.
    #[test]
    fn a_damaged_blocks_dat_after_a_clean_close_is_an_error() {
        for sync in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let options = StoreOptions {
                sync,
                ..StoreOptions::default()
            };
            let mut s = Store::open_with(dir.path(), options).unwrap();
            fill(&mut s, 0..50);
            drop(s);
            let blocks = dir.path().join(BLOCKS_FILE);
            let full = fs::read(&blocks).unwrap();
            let last = 49 * BLOCK_RECORD as u64;
            // (what, cut the file to, zero a range)
            let damages = [
                ("one record cut", Some(last), None),
                ("partial record", Some(last + 77), None),
                ("last record zeroed", None, Some((last, BLOCK_RECORD))),
                ("all zeroed", None, Some((0, full.len()))),
            ];
            for (what, cut_to, zeroed) in damages {
                if let Some(len) = cut_to {
                    cut(&blocks, len);
                }
                if let Some((offset, len)) = zeroed {
                    zero(&blocks, offset, len);
                }
                for e in [
                    read_only(dir.path()).unwrap_err(),
                    inspect(dir.path(), false).unwrap_err(),
                    Store::open_with(dir.path(), options).unwrap_err(),
                ] {
                    assert!(is_blocks_error(&e, last), "sync {sync}, {what}: {e}");
                }
                let (l, _, _) = data_lengths(reference(50).latest_block().unwrap().leaf_count);
                assert_eq!(file_len(dir.path(), LEAVES_FILE), l, "{what}: nothing cut");
                fs::write(&blocks, &full).unwrap();
                let s = Store::open_with(dir.path(), options).unwrap();
                assert_eq!(s.latest_block().map(|b| b.number), Some(49), "{what}");
            }
        }
    }

    #[test]
    fn a_lost_commit_ring_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        fill(&mut s, 0..10);
        drop(s);
        let leaves = dir.path().join(LEAVES_FILE);
        zero(&leaves, 0, RING_BYTES as usize);
        assert!(matches!(
            Store::open(dir.path()),
            Err(Error::BadRecord { path, offset: 0, .. }) if path.ends_with(BLOCKS_FILE)
        ));
        // One damaged entry that is not the newest.
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        fill(&mut s, 0..40);
        let top = s.backend().top.unwrap().seq;
        drop(s);
        let slot = (top - 5) % RING_SLOTS * RING_RECORD as u64;
        zero(&dir.path().join(LEAVES_FILE), slot + 20, 1);
        let f = OpenOptions::new()
            .write(true)
            .open(dir.path().join(LEAVES_FILE))
            .unwrap();
        f.write_all_at(&[0xAA], slot + 20).unwrap();
        assert!(matches!(
            Store::open(dir.path()),
            Err(Error::Corrupted { path, offset }) if path.ends_with(LEAVES_FILE) && offset == slot
        ));
    }

    #[test]
    fn ring_stands_in_for_block_records_that_were_not_durable() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        fill(&mut s, 0..100);
        let durable = s.backend().top.unwrap().durable;
        assert!(durable < 100 && durable + RING_SLOTS >= 99, "{durable}");
        crash(s);
        // The records after the last sync never reached the disk.
        let blocks = dir.path().join(BLOCKS_FILE);
        zero(
            &blocks,
            durable * BLOCK_RECORD as u64,
            (100 - durable) as usize * BLOCK_RECORD,
        );
        let r = reference(100);

        let ro = read_only(dir.path()).unwrap();
        assert_eq!(ro.latest_block().map(|b| b.number), Some(99));
        assert_roots(&ro, &r, 60..100);
        drop(ro);
        assert_eq!(inspect(dir.path(), true).unwrap().checked_blocks, 100);

        let mut s = Store::open(dir.path()).unwrap();
        assert_eq!(s.latest_block().map(|b| b.number), Some(99));
        assert!(s.backend().overlay.is_empty());
        assert_eq!(file_len(dir.path(), BLOCKS_FILE), 100 * BLOCK_RECORD as u64);
        // The open recorded that every record is durable now.
        assert_eq!(s.backend().top.unwrap().durable, 100);
        assert_roots(&s, &r, 0..100);
        fill(&mut s, 100..140);
        drop(s);
        let s = Store::open(dir.path()).unwrap();
        assert_roots(&s, &reference(140), 0..140);
    }

    /// At every ring position (the syncs of `blocks.dat` included), a crash
    /// that loses every record not yet synced recovers every block.
    #[test]
    fn every_ring_position_recovers_lost_block_records() {
        let dir = tempfile::tempdir().unwrap();
        let r = reference(100);
        let mut s = Store::open(dir.path()).unwrap();
        for blocks in 0..100 {
            fill(&mut s, blocks..blocks + 1);
            // The files as a crash now would leave them.
            let snap = tempfile::tempdir().unwrap();
            for name in [
                FORMAT_FILE,
                LEAVES_FILE,
                SUBTREES_FILE,
                UPPER_FILE,
                BLOCKS_FILE,
            ] {
                fs::copy(dir.path().join(name), snap.path().join(name)).unwrap();
            }
            let durable = s.backend().top.unwrap().durable;
            zero(
                &snap.path().join(BLOCKS_FILE),
                durable * BLOCK_RECORD as u64,
                (blocks + 1 - durable) as usize * BLOCK_RECORD,
            );
            let reopened =
                read_only(snap.path()).unwrap_or_else(|e| panic!("{} blocks: {e}", blocks + 1));
            assert_eq!(reopened.latest_block(), r.block(blocks).ok());
            drop(reopened);
            let reopened =
                Store::open(snap.path()).unwrap_or_else(|e| panic!("{} blocks: {e}", blocks + 1));
            assert_eq!(reopened.latest_block(), r.block(blocks).ok());
        }
    }

    /// Tree records not yet synced when a crash came are checked at open
    /// and, if torn, recomputed from `leaves.dat`: in memory by a read-only
    /// open, written back by a read-write one.
    #[test]
    fn torn_tree_records_past_the_last_tree_sync_are_recomputed() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        fill(&mut s, 0..100);
        let top = s.backend().top.unwrap();
        assert!(!top.tree_synced());
        let full = top.info.leaf_count / SUBTREE_LEAVES;
        assert!((4..=TREE_SYNC_LIMIT).contains(&full), "{full}");
        crash(s);
        let subtrees = dir.path().join(SUBTREES_FILE);
        let upper = dir.path().join(UPPER_FILE);
        let (good_subtrees, good_upper) = (fs::read(&subtrees).unwrap(), fs::read(&upper).unwrap());
        // The last two subtree records and the upper record subtree 3 completed.
        zero(&subtrees, (full - 2) * SUBTREE_RECORD as u64 + 5000, 70_000);
        zero(&upper, upper_pos(2, 0) * UPPER_RECORD as u64, UPPER_RECORD);
        let r = reference(100);
        let ro = read_only(dir.path()).unwrap();
        assert_roots(&ro, &r, 0..100);
        let p = ro.proof(SUBTREE_LEAVES * (full - 1) + 7, 99).unwrap();
        crate::verify_leaf(
            &p,
            &r.leaf(p.tx_num).unwrap().components,
            &r.root_at(99).unwrap(),
        )
        .unwrap();
        drop(ro);
        assert_eq!(inspect(dir.path(), true).unwrap().checked_blocks, 100);
        let s = Store::open(dir.path()).unwrap();
        assert!(s.backend().top.unwrap().tree_synced());
        assert_roots(&s, &r, 0..100);
        drop(s);
        let (_, st, u) = data_lengths(r.latest_block().unwrap().leaf_count);
        assert_eq!(fs::read(&subtrees).unwrap(), good_subtrees[..st as usize]);
        assert_eq!(fs::read(&upper).unwrap(), good_upper[..u as usize]);
    }

    /// After a clean close every tree record is durable: a torn one is an
    /// error naming the file, never recomputed.
    #[test]
    fn torn_tree_records_after_a_clean_close_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        fill(&mut s, 0..100);
        let full = s.latest_block().unwrap().leaf_count / SUBTREE_LEAVES;
        drop(s);
        let subtrees = dir.path().join(SUBTREES_FILE);
        let offset = (full - 1) * SUBTREE_RECORD as u64 + format::group_offset(63);
        zero(&subtrees, offset, GROUP_RECORD);
        for e in [
            read_only(dir.path()).unwrap_err(),
            Store::open(dir.path()).unwrap_err(),
        ] {
            assert!(
                matches!(&e, Error::Corrupted { path, offset: o } if path.ends_with(SUBTREES_FILE) && *o == offset),
                "{e}"
            );
        }
    }

    /// A commit syncs the tree files when more than 16 full subtrees are
    /// pending, so recovery never has more to check; damage to older
    /// records is found when they are read, not recomputed.
    #[test]
    fn at_most_sixteen_subtrees_wait_for_a_tree_sync() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let mut synced = 0;
        for b in 0..40u64 {
            for _ in 0..1500 {
                let (x, y, z) = leaf(s.leaf_count());
                s.append_next(x, y, z).unwrap();
            }
            s.commit_block(b).unwrap();
            assert!(s.backend().tree_unsynced <= TREE_SYNC_LIMIT + 1);
            synced += u64::from(s.backend().top.unwrap().tree_synced());
        }
        assert!(synced >= 1, "no commit found the tree files synced");
        crash(s);
        zero(&dir.path().join(SUBTREES_FILE), 100, 1);
        // Subtree 0 is long durable: the open leaves it, the deep check
        // names it.
        let s = Store::open(dir.path()).unwrap();
        assert!(matches!(s.proof(3, 39), Err(Error::Corrupted { .. })));
        drop(s);
        assert!(matches!(
            inspect(dir.path(), true),
            Err(Error::Corrupted { path, offset: 0 }) if path.ends_with(SUBTREES_FILE)
        ));
    }

    #[test]
    fn a_record_below_the_durable_mark_is_not_restored() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        fill(&mut s, 0..100);
        let durable = s.backend().top.unwrap().durable;
        crash(s);
        let offset = (durable - 1) * BLOCK_RECORD as u64;
        zero(&dir.path().join(BLOCKS_FILE), offset, BLOCK_RECORD);
        let e = Store::open(dir.path()).unwrap_err();
        assert!(is_blocks_error(&e, offset), "{e}");
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
            format::leaf_offset(last.leaf_count - 1),
            LEAF_RECORD,
        );
        assert_eq!(read_only(dir.path()).unwrap().latest_block(), Some(before));
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
        let top = s.backend().top.unwrap().seq;
        crash(s);
        // Ring entry 9 torn, record 9 present: recovery cannot tell which
        // to believe.
        zero(
            &dir.path().join(LEAVES_FILE),
            top % RING_SLOTS * RING_RECORD as u64,
            RING_RECORD,
        );
        assert!(matches!(
            Store::open(dir.path()),
            Err(Error::BadRecord { path, offset, .. })
                if path.ends_with(BLOCKS_FILE) && offset == 9 * BLOCK_RECORD as u64
        ));
    }

    #[test]
    fn many_ring_cycles_growth_and_rewinds() {
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

    /// Runs `op` on a store of 60 blocks, stopping it at `point` as if the
    /// process died there; then checks that both opens land on block
    /// `pre` or `post` with the right roots, and that the store goes on.
    fn stop_and_recover(
        point: &'static str,
        op: impl FnOnce(&mut Store) -> Result<()>,
        expect: &[u64],
        pipeline: bool,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions {
            pipeline,
            ..StoreOptions::default()
        };
        let mut s = Store::open_with(dir.path(), options).unwrap();
        fill(&mut s, 0..60);
        stop_at(Some(point));
        let outcome = op(&mut s);
        drop(s);
        assert_eq!(stop_at(None), None, "{point} was never reached");
        if let Err(e) = outcome {
            assert!(e.to_string().contains(point), "{point}: {e}");
        }
        let latest = read_only(dir.path())
            .unwrap()
            .latest_block()
            .unwrap()
            .number;
        assert!(
            expect.contains(&latest),
            "{point}: read-only open at {latest}"
        );
        let mut s = Store::open(dir.path()).unwrap();
        let latest = s.latest_block().unwrap().number;
        assert!(expect.contains(&latest), "{point}: open at {latest}");
        let mut r = reference(latest + 1);
        assert_roots(&s, &r, 0..latest + 1);
        // Go on with other contents than the blocks that were there.
        fill_salted(&mut s, latest + 1..latest + 30, 7);
        fill_salted(&mut r, latest + 1..latest + 30, 7);
        drop(s);
        let s = Store::open(dir.path()).unwrap();
        assert_roots(&s, &r, 0..latest + 30);
        drop(s);
        assert_eq!(
            inspect(dir.path(), true).unwrap().latest_block,
            Some(latest + 29)
        );
    }

    #[test]
    fn every_step_of_a_rewind_recovers() {
        for point in [
            "rewind:synced",
            "rewind:entry",
            "rewind:blocks-cut",
            "rewind:leaves-cut",
        ] {
            for pipeline in [false, true] {
                stop_and_recover(point, |s| s.rewind(45).map(|_| ()), &[45, 59], pipeline);
            }
        }
    }

    #[test]
    fn every_step_of_a_clean_close_recovers() {
        for point in ["close:synced", "close:entry", "close:trimming"] {
            for pipeline in [false, true] {
                stop_and_recover(point, |_| Ok(()), &[59], pipeline);
            }
        }
    }

    #[test]
    fn a_commit_stopped_after_its_entry_recovers() {
        for pipeline in [false, true] {
            stop_and_recover(
                "commit:entry",
                |s| {
                    // Block 60 as `fill` makes it.
                    for _ in 0..60 * 37 % 250 {
                        let (x, y, z) = leaf(s.leaf_count());
                        s.append_next(x, y, z)?;
                    }
                    s.commit_block(60).map(|_| ())
                },
                &[59, 60],
                pipeline,
            );
        }
    }

    /// Pipelined commits: the block in flight becomes durable by the next
    /// commit, `sync`, a rewind or the close; roots and recovery are those
    /// of the unpipelined store.
    #[test]
    fn pipelined_commits_become_durable_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions {
            pipeline: true,
            ..StoreOptions::default()
        };
        let mut s = Store::open_with(dir.path(), options).unwrap();
        assert!(s.backend().syncer.is_some());
        assert_eq!(s.durable_block(), None);
        fill(&mut s, 0..1);
        for b in 1..120 {
            fill(&mut s, b..b + 1);
            let durable = s.durable_block().unwrap().number;
            // The block before is durable: this commit waited for it.
            assert!(
                durable == b || durable == b - 1,
                "block {b}: durable {durable}"
            );
            assert!(s.backend().in_flight.is_some());
        }
        s.sync().unwrap();
        assert_eq!(s.durable_block(), s.latest_block());
        assert!(s.backend().in_flight.is_none());
        // A rewind waits for the block in flight first.
        fill(&mut s, 120..130);
        s.rewind(100).unwrap();
        assert_eq!(s.durable_block().unwrap().number, 100);
        fill_salted(&mut s, 101..140, 5);
        crash(s);
        let mut r = reference(101);
        fill_salted(&mut r, 101..140, 5);
        let s = Store::open_with(dir.path(), options).unwrap();
        assert_eq!(s.latest_block().unwrap().number, 139);
        assert_eq!(s.durable_block(), s.latest_block());
        assert_roots(&s, &r, 0..140);
        // Unsynced and read-only stores promise nothing durable.
        drop(s);
        assert_eq!(read_only(dir.path()).unwrap().durable_block(), None);
        let s = Store::open_with(
            dir.path(),
            StoreOptions {
                sync: false,
                ..options
            },
        )
        .unwrap();
        assert!(s.backend().syncer.is_none());
        assert_eq!(s.durable_block(), None);
    }

    #[test]
    fn every_step_of_a_recovering_open_recovers() {
        for point in ["open:restored", "open:blocks-cut", "open:entry"] {
            let dir = tempfile::tempdir().unwrap();
            let mut s = Store::open(dir.path()).unwrap();
            fill(&mut s, 0..60);
            s.rewind(50).unwrap();
            fill_salted(&mut s, 51..70, 3);
            let durable = s.backend().top.unwrap().durable;
            crash(s);
            zero(
                &dir.path().join(BLOCKS_FILE),
                durable * BLOCK_RECORD as u64,
                (70 - durable) as usize * BLOCK_RECORD,
            );
            stop_at(Some(point));
            let e = Store::open(dir.path()).unwrap_err();
            assert_eq!(stop_at(None), None);
            assert!(e.to_string().contains(point), "{e}");
            let s = Store::open(dir.path()).unwrap();
            let mut r = reference(51);
            fill_salted(&mut r, 51..70, 3);
            assert_roots(&s, &r, 0..70);
        }
    }

    #[test]
    fn an_interrupted_rewind_drops_the_records_it_voided() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        fill(&mut s, 0..60);
        stop_at(Some("rewind:entry"));
        assert!(s.rewind(40).is_err());
        assert_eq!(stop_at(None), None);
        drop(s);
        // blocks.dat still holds records 41..60, voided by the rewind entry.
        assert!(file_len(dir.path(), BLOCKS_FILE) >= 60 * BLOCK_RECORD as u64);
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.latest_block().map(|b| b.number), Some(40));
        assert_eq!(file_len(dir.path(), BLOCKS_FILE), 41 * BLOCK_RECORD as u64);
    }
}
