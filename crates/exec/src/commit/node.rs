//! A committing node: a [`Chain`] whose every block is appended to a QMTree, optionally
//! persisted in a data directory.
//!
//! # Data directory
//!
//! ```text
//! <datadir>/genesis.json   the chain file without blocks (config, genesis header, allocation)
//! <datadir>/blocks.rlp     imported blocks: records u32_be(len) ‖ block rlp ‖ u32_be(crc32(rlp))
//! <datadir>/qmtree/        the QMTree store (see cairn-qmtree)
//! <datadir>/mmr.bin        the block-hash MMR (see cairn-history's `MmrFile`)
//! ```
//!
//! The block-hash MMR (leaf `i` is the hash of block `i`) gets each block's hash once the
//! block is committed. It is derived data: on open it is checked against the chain's hashes
//! (a node that does not match is an error), a tail the chain no longer has is cut, and
//! hashes it lacks are appended. A chain whose genesis is not block 0 has no MMR.
//!
//! Importing a block appends its record to `blocks.rlp` and makes it durable, then appends
//! its leaves to the QMTree and commits the block there: the QMTree commit is the commit
//! point. QMTree commits are pipelined (`StoreOptions::pipeline`): a block's `fdatasync`
//! finishes while the next block executes, so a machine crash can lose the last imported
//! block (never a process crash); it is then cut from `blocks.rlp` like any record past the
//! last commit, and importing it again gives the same leaves and root.
//!
//! Opening checks before it writes anything: a directory of another chain (another genesis,
//! or other blocks than the chain file given), or node files without a `genesis.json`, is
//! refused and left exactly as it was. Then a torn record at the end of `blocks.rlp` and any
//! record past the QMTree's last committed block are cut off, and the state is rebuilt by
//! re-executing the committed blocks, each of whose recomputed leaves must equal the stored
//! ones (a data directory that does not match is an error naming the block and txNum, never
//! silently repaired). A committed block whose record is damaged (checksum, length, not a
//! block, or the file cut short) is reported as corruption at its byte offset. The state
//! itself is held in memory (`cairn-exec` has no persistent state store yet), so opening
//! costs one re-execution of the chain.

use super::{
    block::{BlockCommitment, CommitTimings, LeafKind},
    call::{CallBudget, CallProof, CallRequest, execute_call},
};
use crate::{
    chain::Chain,
    chainfile::ChainFile,
    error::{ExecError, Result},
    witness::Recorder,
};
use alloy_consensus::ReceiptEnvelope;
use alloy_primitives::{B256, Bytes};
use cairn_history::{Mmr, MmrFile, MmrResult, MmrStorage};
use cairn_primitives::Block;
use cairn_qmtree::{Backend, FileBackend, MemoryBackend, MemoryTree, QmTree, Store, StoreOptions};
use std::{
    fs::{File, OpenOptions},
    io::Write,
    path::{Path, PathBuf},
};

/// Genesis file name in a data directory.
pub const GENESIS_FILE: &str = "genesis.json";
/// Block log file name in a data directory.
pub const BLOCKS_FILE: &str = "blocks.rlp";
/// QMTree store sub-directory.
pub const QMTREE_DIR: &str = "qmtree";
/// Block-hash MMR file name in a data directory.
pub const MMR_FILE: &str = "mmr.bin";

/// Where a node keeps its block-hash MMR: memory for an in-memory node, [`MMR_FILE`] in a
/// data directory.
#[derive(Debug)]
pub enum NodeMmrStorage {
    /// In memory.
    Memory(Vec<B256>),
    /// In a file.
    File(MmrFile),
}

impl MmrStorage for NodeMmrStorage {
    fn len(&self) -> u64 {
        match self {
            Self::Memory(v) => MmrStorage::len(v),
            Self::File(f) => f.len(),
        }
    }

    fn get(&self, position: u64) -> MmrResult<B256> {
        match self {
            Self::Memory(v) => MmrStorage::get(v, position),
            Self::File(f) => f.get(position),
        }
    }

    fn append(&mut self, nodes: &[B256]) -> MmrResult<()> {
        match self {
            Self::Memory(v) => MmrStorage::append(v, nodes),
            Self::File(f) => f.append(nodes),
        }
    }

    fn truncate(&mut self, len: u64) -> MmrResult<()> {
        match self {
            Self::Memory(v) => MmrStorage::truncate(v, len),
            Self::File(f) => f.truncate(len),
        }
    }
}

/// The node's block-hash MMR.
pub type NodeMmr = Mmr<NodeMmrStorage>;

/// Where one block's leaves sit in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockLayout {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// txNum of the block's first leaf.
    pub first_tx_num: u64,
    /// What each leaf stands for; the last is [`LeafKind::BlockEnd`].
    pub kinds: Vec<LeafKind>,
    /// The QMTree root after the block.
    pub root: B256,
}

impl BlockLayout {
    /// The layout of a committed block whose first leaf is `first_tx_num`.
    fn new(commitment: &BlockCommitment, first_tx_num: u64, root: B256) -> Self {
        Self {
            number: commitment.number,
            hash: commitment.hash,
            first_tx_num,
            kinds: commitment.leaves.iter().map(|l| l.kind).collect(),
            root,
        }
    }

    /// txNum of the closing leaf.
    pub fn closing_tx_num(&self) -> u64 {
        self.first_tx_num + self.kinds.len() as u64 - 1
    }
}

/// What importing one block produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// Its place in the tree.
    pub layout: BlockLayout,
    /// Gas used.
    pub gas_used: u64,
    /// Transactions.
    pub transactions: usize,
    /// Where the commitment time went.
    pub timings: CommitTimings,
}

/// A chain plus its QMTree.
#[derive(Debug)]
pub struct Node<B: Backend = FileBackend> {
    chain: Chain,
    tree: QmTree<B>,
    blocks: Vec<Block>,
    /// Receipts of each imported block (rebuilt by re-execution on open).
    receipts: Vec<Vec<ReceiptEnvelope>>,
    layouts: Vec<BlockLayout>,
    mmr: Option<NodeMmr>,
    log: Option<BlockLog>,
    /// Set when an import failed after the chain advanced: the node must be reopened.
    poisoned: bool,
}

impl Node<MemoryBackend> {
    /// A node held in memory only, at the genesis of `file` (its blocks are not imported).
    ///
    /// # Errors
    /// Genesis errors.
    pub fn in_memory(file: &ChainFile) -> Result<Self> {
        let mut node = Self {
            chain: file.genesis_chain()?,
            tree: MemoryTree::new(),
            blocks: Vec::new(),
            receipts: Vec::new(),
            layouts: Vec::new(),
            mmr: None,
            log: None,
            poisoned: false,
        };
        node.commit_genesis()?;
        node.attach_mmr(NodeMmrStorage::Memory(Vec::new()))?;
        Ok(node)
    }
}

impl Node<FileBackend> {
    /// Opens the node in `dir`, creating it from `genesis` when the directory holds none.
    /// When both exist they must describe the same chain, and the blocks the directory holds
    /// must be the chain file's (as far as both go).
    ///
    /// Everything that can refuse the directory is checked before anything is written: a
    /// directory of another chain is left exactly as it was.
    ///
    /// # Errors
    /// [`ExecError::DataDir`] for a directory of another chain, node files without a
    /// `genesis.json`, or a corrupted block log (naming the byte offset);
    /// [`ExecError::Diverged`] when the directory's blocks are not the chain file's; QMTree
    /// errors; [`ExecError::StoredLeafMismatch`] when re-execution does not reproduce the
    /// stored leaves.
    pub fn open(dir: &Path, genesis: Option<&ChainFile>) -> Result<Self> {
        let genesis_path = dir.join(GENESIS_FILE);
        let log_path = dir.join(BLOCKS_FILE);
        let stored = if genesis_path.exists() {
            Some(ChainFile::load(&genesis_path)?)
        } else {
            None
        };
        let (file, create) = match (stored, genesis) {
            (Some(stored), Some(given)) => {
                let given = ChainFile {
                    blocks: Vec::new(),
                    ..given.clone()
                };
                if stored != given {
                    return Err(data_dir(
                        &genesis_path,
                        "holds another chain (config, genesis or allocation differ)",
                    ));
                }
                (stored, false)
            }
            (Some(stored), None) => (stored, false),
            (None, Some(given)) => {
                if log_path.exists() || dir.join(QMTREE_DIR).exists() {
                    return Err(data_dir(
                        dir,
                        "holds node files (blocks.rlp or qmtree/) but no genesis.json: not a data directory this chain can be created in",
                    ));
                }
                let file = ChainFile {
                    blocks: Vec::new(),
                    ..given.clone()
                };
                (file, true)
            }
            (None, None) => {
                return Err(data_dir(
                    dir,
                    "holds no node (no genesis.json): give a chain to create one",
                ));
            }
        };
        let scan = LogScan::read(&log_path)?;
        if let Some(given) = genesis {
            // A record and the chain file's block at the same height must be the same bytes
            // (both are canonical encodings).
            let first = file.genesis_header()?.number;
            for (index, ((_, raw), given)) in scan.records.iter().zip(&given.blocks).enumerate() {
                if raw != given {
                    // A chain file block that is not canonical is refused as such.
                    given_block(given, index)?;
                    return Err(ExecError::Diverged {
                        path: log_path,
                        number: first + 1 + index as u64,
                    });
                }
            }
        }

        // From here on the directory is this chain's: create or recover it.
        if create {
            std::fs::create_dir_all(dir).map_err(|source| ExecError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
            let tmp = dir.join(format!("{GENESIS_FILE}.tmp"));
            file.save(&tmp)?;
            sync_path(&tmp)?;
            std::fs::rename(&tmp, &genesis_path).map_err(|source| ExecError::Io {
                path: genesis_path.clone(),
                source,
            })?;
            sync_path(dir)?;
        }
        let options = StoreOptions {
            pipeline: true,
            ..StoreOptions::default()
        };
        let tree = Store::open_with(dir.join(QMTREE_DIR), options)?;
        let mut node = Self {
            chain: file.genesis_chain()?,
            tree,
            blocks: Vec::new(),
            receipts: Vec::new(),
            layouts: Vec::new(),
            mmr: None,
            log: None,
            poisoned: false,
        };
        node.commit_genesis()?;
        let committed = node.tree.latest_block().map_or(0, |b| b.number);
        let mut kept = 0;
        for (offset, raw) in &scan.records {
            let block = cairn_primitives::decode_block(raw).map_err(|e| {
                data_dir(
                    &log_path,
                    &format!("corrupted: the record at byte {offset} is not a block: {e}"),
                )
            })?;
            if block.header.number > committed {
                break;
            }
            node.replay_committed(block)?;
            kept = *offset + record_len(raw);
        }
        if node.head_number() != committed {
            let reason = match &scan.stop {
                Some(stop) => format!(
                    "corrupted at byte {}: {}; the intact records end at block {} but the QMTree has committed block {committed}",
                    stop.offset,
                    stop.reason,
                    node.head_number()
                ),
                None => format!(
                    "truncated: its {} bytes end at block {} but the QMTree has committed block {committed}",
                    scan.len,
                    node.head_number()
                ),
            };
            return Err(data_dir(&log_path, &reason));
        }
        if let Some(stop) = &scan.stop
            && stop.offset >= kept
        {
            tracing::warn!(target: "cairn::node", path = %log_path.display(), offset = stop.offset, reason = %stop.reason, "cutting the block log's uncommitted tail");
        }
        let mut log = BlockLog::open(&log_path, scan.len)?;
        log.truncate(kept)?;
        node.log = Some(log);
        if node.chain.first_number() == 0 {
            let file = MmrFile::open(&dir.join(MMR_FILE))?;
            node.attach_mmr(NodeMmrStorage::File(file))?;
        }
        Ok(node)
    }
}

/// Decodes block `index` of a chain file.
fn given_block(raw: &[u8], index: usize) -> Result<Block> {
    cairn_primitives::decode_block(raw).map_err(|source| ExecError::InvalidBlock { index, source })
}

fn data_dir(path: &Path, reason: &str) -> ExecError {
    ExecError::DataDir {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

impl<B: Backend> Node<B> {
    /// Opens the block-hash MMR over `storage` and brings it to the chain: a tail the chain
    /// does not have is cut, the rest must match the chain's hashes, missing hashes are
    /// appended. Chains whose genesis is not block 0 get none.
    fn attach_mmr(&mut self, storage: NodeMmrStorage) -> Result<()> {
        if self.chain.first_number() != 0 {
            return Ok(());
        }
        let hashes = self.chain.canonical_hashes();
        let mut mmr = Mmr::open(storage)?;
        if mmr.leaves() > hashes.len() as u64 {
            tracing::warn!(target: "cairn::node", from = mmr.leaves(), to = hashes.len(), "cutting MMR leaves past the chain");
            mmr.truncate(hashes.len() as u64)?;
        }
        mmr.check(hashes)?;
        let held = mmr.leaves() as usize;
        mmr.append_all(&hashes[held..])?;
        self.mmr = Some(mmr);
        Ok(())
    }

    /// The genesis closing leaf, unless the tree already holds it (which must then match).
    fn commit_genesis(&mut self) -> Result<()> {
        let genesis =
            BlockCommitment::genesis(self.chain.head_hash(), self.chain.head().state_root);
        let number = self.chain.head().number;
        if self.tree.latest_block().is_none() {
            self.tree.append_next(
                genesis.leaves[0].components.pre_state_hash,
                genesis.leaves[0].components.state_change_hash,
                genesis.leaves[0].components.transition_hash,
            )?;
            self.tree.commit_block(number)?;
        }
        self.check_stored(&genesis, 0)?;
        self.layouts.push(BlockLayout {
            number,
            hash: genesis.hash,
            first_tx_num: 0,
            kinds: vec![LeafKind::BlockEnd],
            root: self.tree.root_at(number)?,
        });
        Ok(())
    }

    /// Checks that the stored leaves from `first` equal a recomputed commitment.
    fn check_stored(&self, commitment: &BlockCommitment, first: u64) -> Result<()> {
        for (i, leaf) in commitment.leaves.iter().enumerate() {
            let tx_num = first + i as u64;
            let stored = self.tree.leaf(tx_num)?;
            let c = stored.components;
            let mine = leaf.components;
            if (c.pre_state_hash, c.state_change_hash, c.transition_hash)
                != (
                    mine.pre_state_hash,
                    mine.state_change_hash,
                    mine.transition_hash,
                )
            {
                return Err(ExecError::StoredLeafMismatch {
                    number: commitment.number,
                    tx_num,
                });
            }
        }
        Ok(())
    }

    /// Re-executes an already committed block (on open) and checks its stored leaves.
    fn replay_committed(&mut self, block: Block) -> Result<()> {
        let (executed, commitment) = self.chain.execute_committed(&block)?;
        let first = self
            .layouts
            .last()
            .map_or(0, |l| l.first_tx_num + l.kinds.len() as u64);
        self.check_stored(&commitment, first)?;
        let root = self.tree.root_at(commitment.number)?;
        self.layouts
            .push(BlockLayout::new(&commitment, first, root));
        self.blocks.push(block);
        self.receipts.push(executed.receipts);
        Ok(())
    }

    /// Imports the next block: executes it with commitments, logs it, appends its leaves and
    /// commits its QMTree root.
    ///
    /// # Errors
    /// Block errors leave the node unchanged; an I/O or QMTree failure after execution
    /// poisons it ([`ExecError::Poisoned`] from then on; reopen the data directory).
    pub fn import(&mut self, block: &Block) -> Result<Imported> {
        if self.poisoned {
            return Err(ExecError::Poisoned);
        }
        let (executed, commitment) = self.chain.execute_committed(block)?;
        let result = self.persist(block, &commitment).and_then(|layout| {
            if let Some(mmr) = &mut self.mmr {
                mmr.append(commitment.hash)?;
            }
            Ok(layout)
        });
        if result.is_err() {
            self.poisoned = true;
        }
        let layout = result?;
        self.blocks.push(block.clone());
        self.receipts.push(executed.receipts);
        self.layouts.push(layout.clone());
        Ok(Imported {
            layout,
            gas_used: executed.gas_used,
            transactions: block.body.transactions.len(),
            timings: commitment.timings,
        })
    }

    fn persist(&mut self, block: &Block, commitment: &BlockCommitment) -> Result<BlockLayout> {
        if let Some(log) = &mut self.log {
            log.append(&alloy_rlp::encode(block))?;
        }
        let first = self.tree.leaf_count();
        for leaf in &commitment.leaves {
            let c = leaf.components;
            self.tree
                .append_next(c.pre_state_hash, c.state_change_hash, c.transition_hash)?;
        }
        let root = self.tree.commit_block(commitment.number)?;
        Ok(BlockLayout::new(commitment, first, root))
    }

    /// Runs `request` on the state at the end of block `number` and returns it with a proof
    /// checkable against that block's QMTree root (see [`super::call`]).
    ///
    /// # Errors
    /// [`ExecError::UnknownBlock`]; [`ExecError::CallFailed`] when the EVM rejects the call.
    pub fn call(&self, request: &CallRequest, number: u64) -> Result<CallProof> {
        self.call_within(request, number, CallBudget::default())
    }

    /// [`Node::call`] bounded by `budget` (gas cap and deadline), as a server runs calls for
    /// others.
    ///
    /// # Errors
    /// As [`Node::call`]; [`ExecError::CallFailed`] with [`CallError::GasCap`](super::CallError::GasCap)
    /// or [`CallError::Deadline`](super::CallError::Deadline) when the budget is exceeded.
    pub fn call_within(
        &self,
        request: &CallRequest,
        number: u64,
        budget: CallBudget,
    ) -> Result<CallProof> {
        let layout = self
            .layout(number)
            .ok_or(ExecError::UnknownBlock { number })?;
        let header = self
            .chain
            .header(number)
            .ok_or(ExecError::UnknownBlock { number })?;
        let mut recorder = Recorder::new(&self.chain, number.checked_sub(1));
        let (result, trace) =
            execute_call(self.chain.config(), header, request, &mut recorder, budget)
                .map_err(|source| ExecError::CallFailed { number, source })?;
        let witness = recorder.into_witness(&Default::default());
        let closing = layout.closing_tx_num();
        let closing_leaf = self.tree.leaf(closing)?.components;
        let leaf_proof = self.tree.proof(closing, number)?;
        Ok(CallProof {
            id: CallProof::compute_id(number, request, &result),
            block_number: number,
            chain: self.chain.config().clone(),
            request: request.clone(),
            result,
            transition_hash: trace.root,
            header: alloy_rlp::encode(header).into(),
            witness,
            closing_leaf,
            leaf_proof,
        })
    }

    /// The chain (state, headers).
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The QMTree.
    pub fn tree(&self) -> &QmTree<B> {
        &self.tree
    }

    /// Number of the newest block.
    pub fn head_number(&self) -> u64 {
        self.chain.head().number
    }

    /// The layout of block `number`.
    pub fn layout(&self, number: u64) -> Option<&BlockLayout> {
        let first = self.layouts.first()?.number;
        self.layouts
            .get(usize::try_from(number.checked_sub(first)?).ok()?)
    }

    /// An imported block (not the genesis, whose body is empty).
    pub fn block(&self, number: u64) -> Option<&Block> {
        let first = self.layouts.first()?.number;
        self.blocks
            .get(usize::try_from(number.checked_sub(first + 1)?).ok()?)
    }

    /// The receipts of an imported block (the genesis has none).
    pub fn receipts(&self, number: u64) -> Option<&[ReceiptEnvelope]> {
        let first = self.layouts.first()?.number;
        self.receipts
            .get(usize::try_from(number.checked_sub(first + 1)?).ok()?)
            .map(Vec::as_slice)
    }

    /// The block-hash MMR (leaf `i` is the hash of block `i`), when the chain starts at
    /// block 0.
    pub fn mmr(&self) -> Option<&NodeMmr> {
        self.mmr.as_ref()
    }

    /// The block and leaf kind of a txNum.
    pub fn locate(&self, tx_num: u64) -> Option<(&BlockLayout, LeafKind)> {
        let i = self
            .layouts
            .partition_point(|l| l.first_tx_num <= tx_num)
            .checked_sub(1)?;
        let layout = &self.layouts[i];
        let kind = layout
            .kinds
            .get(usize::try_from(tx_num - layout.first_tx_num).ok()?)?;
        Some((layout, *kind))
    }
}

/// The append-only block log.
#[derive(Debug)]
struct BlockLog {
    path: PathBuf,
    file: File,
    len: u64,
}

fn record_len(raw: &[u8]) -> u64 {
    raw.len() as u64 + 8
}

/// Where reading the block log stopped before its end, and why.
#[derive(Debug)]
struct LogStop {
    offset: u64,
    reason: String,
}

/// The intact records of a block log, read without writing anything.
#[derive(Debug, Default)]
struct LogScan {
    /// Each intact record's offset and block RLP (sharing one buffer).
    records: Vec<(u64, Bytes)>,
    /// The first record that is not intact, if any (a torn write at the end, or damage).
    stop: Option<LogStop>,
    /// The file's length.
    len: u64,
}

impl LogScan {
    /// Reads the log at `path` (none there reads as empty).
    fn read(path: &Path) -> Result<Self> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => Bytes::from(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(ExecError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let mut scan = Self {
            len: bytes.len() as u64,
            ..Self::default()
        };
        let mut at = 0usize;
        while at < bytes.len() {
            let stop = |reason: String| LogStop {
                offset: at as u64,
                reason,
            };
            let left = bytes.len() - at;
            if left < 8 {
                scan.stop = Some(stop(format!(
                    "{left} bytes, too few for a record (length, block, checksum)"
                )));
                break;
            }
            let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap_or_default()) as usize;
            let Some(end) = at.checked_add(4 + len + 4).filter(|e| *e <= bytes.len()) else {
                scan.stop = Some(stop(format!(
                    "the record's length says {len} bytes of block, {} remain",
                    left - 8
                )));
                break;
            };
            let raw = &bytes[at + 4..at + 4 + len];
            let crc = u32::from_be_bytes(bytes[end - 4..end].try_into().unwrap_or_default());
            if crc32fast::hash(raw) != crc {
                scan.stop = Some(stop(format!(
                    "the record's checksum does not match its {len} bytes of block"
                )));
                break;
            }
            scan.records
                .push((at as u64, bytes.slice(at + 4..at + 4 + len)));
            at = end;
        }
        Ok(scan)
    }
}

impl BlockLog {
    /// Opens (creating) the log for appending; `len` is its length as read.
    fn open(path: &Path, len: u64) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| ExecError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            len,
        })
    }

    fn truncate(&mut self, len: u64) -> Result<()> {
        if len < self.len {
            tracing::warn!(target: "cairn::node", path = %self.path.display(), from = self.len, to = len, "truncating uncommitted block records");
            self.file.set_len(len).map_err(|source| ExecError::Io {
                path: self.path.clone(),
                source,
            })?;
            self.file.sync_data().map_err(|source| ExecError::Io {
                path: self.path.clone(),
                source,
            })?;
            self.len = len;
        }
        Ok(())
    }

    fn append(&mut self, rlp: &[u8]) -> Result<()> {
        let io = |source| ExecError::Io {
            path: self.path.clone(),
            source,
        };
        let len = u32::try_from(rlp.len())
            .map_err(|_| data_dir(&self.path, "block larger than 4 GiB"))?;
        let mut record = Vec::with_capacity(rlp.len() + 8);
        record.extend_from_slice(&len.to_be_bytes());
        record.extend_from_slice(rlp);
        record.extend_from_slice(&crc32fast::hash(rlp).to_be_bytes());
        self.file.write_all(&record).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.len += record.len() as u64;
        Ok(())
    }
}

fn sync_path(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|source| ExecError::Io {
            path: path.to_path_buf(),
            source,
        })
}
