//! `transitionHash`: a streaming commitment to every EVM step of a transaction or system call.
//!
//! [`TransitionInspector`] is a revm [`Inspector`]. While a top-level execution runs it turns
//! every interpreter step into one canonical byte record ([below](#step-record)) and hands it
//! to a [`StepSink`]. The default sink, [`CommitmentSink`], feeds a [`TraceHasher`]: records
//! are grouped into chunks of [`CHUNK_STEPS`] steps, each chunk is hashed as soon as it is
//! full, and the chunk hashes are folded into a Merkle frontier. Memory is one chunk plus
//! O(log chunks) hashes plus one pending record per open CALL/CREATE; the trace itself is
//! never kept. Each top-level execution yields one [`TraceCommitment`], in execution order
//! ([`TransitionInspector::take_completed`]), and bumps a shared [`ExecutionCounter`] so
//! that another object (a state-commit hook) can tell which commits followed an EVM
//! execution.
//!
//! # Which executions are traced
//!
//! A *top-level execution* is the first frame of a transaction or of a system call, from the
//! inspector's `frame_start` at journal depth 0 to the matching `frame_end`. A transaction
//! whose first frame needs no interpreter (a transfer to an account without code, a call
//! to a precompile) is still an execution, with zero steps and the
//! [empty commitment](TraceCommitment::EMPTY). A transaction that never reaches a frame
//! produces no commitment and does not move the counter. Withdrawals do not execute.
//!
//! `cairn_stateless::execute_block` inspects the block's system calls (EIP-2935, EIP-4788
//! before the transactions; EIP-7002, EIP-7251 after) like its transactions, so a block
//! yields `system calls + transactions` commitments, in execution order.
//!
//! # Step record
//!
//! Integers of every width (depth, pc, gas, memory offsets and lengths, 256-bit stack words)
//! use one encoding, `int(x) = n ‖ x as n big-endian bytes`, where `n` (one byte, 0..=32) is
//! minimal: no leading zero byte, and zero is the single byte `0x00`.
//!
//! ```text
//! record = op:u8 ‖ int(depth) ‖ int(pc) ‖ int(gas)
//!        ‖ npop:u8  ‖ int(pop_1)  … int(pop_npop)      top of the stack first
//!        ‖ status:u8
//!        ‖ npush:u8 ‖ int(push_1) … int(push_npush)    top of the stack first
//!        ‖ flags:u8                                    bit 0: memory, bit 1: return data
//!        ‖ [int(offset) ‖ int(len) ‖ len bytes]        if bit 0
//!        ‖ [int(len) ‖ len bytes]                      if bit 1
//! ```
//!
//! - `op`, `pc`: the opcode and its offset in the code being executed; `depth`: the call
//!   depth, 0 for the execution's own frame; `gas`: gas left before the step (EIP-3155's
//!   `gas`; for EIP-8037 this is the regular gas, not the state-gas reservoir).
//! - pops: the top `min(inputs, height)` stack items before the step, `inputs` being the
//!   opcode's input count in revm's opcode table (DUP*n* reads *n*, SWAP*n* *n*+1; an
//!   undefined opcode 0). A step that underflows records the items that were there.
//! - `status`: 0 the frame goes on, 1 the frame halted successfully (STOP, RETURN,
//!   SELFDESTRUCT), 2 the frame reverted (REVERT), 3 exceptional halt (out of gas, invalid
//!   jump or opcode, stack under/overflow, static-call violation, …).
//! - pushes, only for status 0: the top `outputs` stack items after the step (DUP*n* gives
//!   *n*+1, SWAP*n* *n*+1). CALL, CALLCODE, DELEGATECALL, STATICCALL, CREATE and CREATE2
//!   push their one item when control comes back to the frame.
//! - memory, only for status 0 and a non-empty region: the region the opcode writes, with
//!   its contents after the step. MSTORE `[offset, 32)`, MSTORE8 `[offset, 1)`,
//!   CALLDATACOPY, CODECOPY, RETURNDATACOPY and MCOPY `[destOffset, size)`, EXTCODECOPY
//!   `[destOffset, size)`, the CALL family `[retOffset, retSize)` (the whole declared
//!   region, read after the callee's output was copied into its first
//!   `min(retSize, returndatasize)` bytes).
//! - return data: RETURN and REVERT with status 1 or 2 carry their output; the CALL and
//!   CREATE families carry the frame's return-data buffer once control comes back (for a
//!   CREATE: the init code's output if it reverted, else empty), even when empty.
//!
//! Records appear in the order the steps *complete*. A CALL/CREATE step completes when
//! control returns to its frame, so its record follows the records of the callee's steps;
//! a call that runs no code (precompile, account without code, failed before the frame)
//! completes at once. Logs, storage and balances are not in the records: they follow from
//! the steps' inputs and outputs (SSTORE's pops, SLOAD's push, …).
//!
//! EIP-8024's DUPN, SWAPN and EXCHANGE (not active before Amsterdam) record the counts of
//! revm's table (0/1, 0/0), which do not cover their deep stack accesses; their effects
//! show in the pops of the steps that use the moved items.
//!
//! # Commitment
//!
//! - Chunk `i` holds records `i·N … i·N + N − 1` with `N =` [`CHUNK_STEPS`] `= 1024`; the
//!   last chunk may be partial. `chunk_hash_i = H(record ‖ record ‖ …)`, the concatenation
//!   of its records (self-delimiting, so the split back into records is unique).
//! - With `m = ⌈steps / N⌉` chunks and depth `d = ⌈log₂ m⌉` (0 for `m ≤ 1`), the tree has
//!   the chunk hashes as leaves, padded with `0x00…00` to `2^d`, and internal nodes
//!   `H(left ‖ right)`. `tree_root` is the root, or `0x00…00` when `m = 0`.
//! - `transitionHash = H(tree_root ‖ steps as 8 big-endian bytes)`. Binding the count fixes
//!   `m` and `d`, so a truncated or extended trace, or a tree of another shape, changes the
//!   hash.
//! - The empty trace (no steps) has `transitionHash = H(0^32 ‖ 0^8) =`
//!   `0x2c34ce1df23b838c5abf2a7f6437cca3d3067ed509ff25f11df6b11b582b51eb`
//!   ([`TraceCommitment::EMPTY`]).
//!
//! A Merkle path for chunk `i` ([`ChunkProof`]) lists `d` siblings from the leaf up; bit `j`
//! of `i` set means the node at level `j` is a right child. A verifier takes `steps` from
//! the commitment, derives `m` and `d`, folds the path and compares
//! `H(root ‖ steps)`: [`ChunkProof::verify`].
//!
//! # Hash function: SHA-256
//!
//! `H` is SHA-256. Measured on the dev chain's actual record stream
//! (`testdata/devchain.json`: 50 blocks, 3,205 executions = 200 system calls + 3,005
//! transactions, 1,187,265 steps, 24.8 MB of records at 20.9 bytes per step, 2,817 chunks
//! averaging 8.8 kB), `cargo bench -p cairn-exec --bench trace -- chunk_hash`, on 2 shared
//! x86-64 cores with SHA-NI, AVX2 and AVX-512:
//!
//! | hash | chunk hashing | per step |
//! |------|---------------|----------|
//! | SHA-256 (`sha2` 0.10, SHA-NI) | 1.18 GiB/s (19.7 ms) | 17 ns |
//! | keccak256 (alloy-primitives, `keccak-asm`) | 0.35 GiB/s (66.4 ms) | 56 ns |
//!
//! (`openssl speed` on the same machine agrees: 1.0 GB/s against 0.22 GB/s for SHA3-256.)
//! SHA-256 is 3.4× faster, and hashing is half of the tracing cost (below): with keccak the
//! traced execution would take about 3.4× the plain one instead of 2.2×. On-chain checks
//! stay cheap with either, because a dispute checks one Merkle path and at most one chunk:
//! the SHA-256 precompile costs `60 + 12·words` gas, so an average chunk (276 words) is
//! about 3.4 k gas plus the call and each level of a path about 0.2 k; the KECCAK256
//! opcode would halve that. A few thousand gas once per dispute against 3.4× the hashing
//! time on every step of every execution.
//!
//! # Cost
//!
//! The dev chain executed bare on an in-memory pre-state (senders known), the variants
//! interleaved so that they share the machine's load (`CAIRN_TRACE_ROUNDS=25 cargo bench
//! -p cairn-exec --bench trace`; fastest of 25 rounds, median in brackets):
//!
//! | variant | time | vs. plain |
//! |---------|------|-----------|
//! | plain revm, no inspector mode | 36.6 ms (44.3) | 1.00× |
//! | inspector mode, no-op inspector | 36.9 ms (46.1) | 1.01× (1.04×) |
//! | [`TransitionInspector`], records encoded and dropped | 58.9 ms (72.8) | 1.61× (1.64×) |
//! | [`TransitionInspector`], records hashed (the commitment) | 79.2 ms (99.2) | 2.17× (2.24×) |
//!
//! That is about 18 ns per step to encode and 17 ns per step to hash, where the plain
//! execution spends about 31 ns per step, all per-transaction work included: this chain's
//! steps are mostly cheap (loops around KECCAK256, MSTORE and jumps), and code with
//! costlier steps pays relatively less. The
//! records are written straight into the chunk buffer with fixed-size stores
//! ([`RecordBuf`]); hashing on a background thread was tried and was slower on this
//! 2-core shared machine (the per-execution hand-over costs more than the hashing it
//! moves), so hashing stays inline.
//!
//! # Disputes
//!
//! Two parties that disagree on an execution exchange nodes of their trees from the root
//! down; [`first_differing_chunk`] is that descent over two lists of chunk hashes (kept with
//! [`CommitmentSink::keeping_chunk_hashes`] or [`TraceHasher::keeping_chunk_hashes`]),
//! [`ChunkTree::proof`] the path that pins the chunk to each root, and at most that chunk
//! ([`RecordedTrace::chunk`]) has to be replayed. The chunks before it hash the same on both
//! sides, so both hold the same records for them; folding those records
//! ([`TraceFold::before_chunk`](super::fold::TraceFold::before_chunk)) gives every open
//! frame's stack, memory and return data at the chunk's start, from which the referee
//! executes the chunk's steps alone. No earlier step is executed again. (The boundary state
//! is derived from the agreed records rather than committed in the chunk hash: a verifier
//! that cannot read the earlier chunks, such as an L1 contract, would need it committed.)
//!
//! # Example
//!
//! ```
//! use cairn_exec::commit::trace::{first_differing_chunk, ChunkTree, TraceCommitment, TraceHasher, CHUNK_STEPS};
//!
//! let mut a = TraceHasher::keeping_chunk_hashes();
//! let mut b = TraceHasher::keeping_chunk_hashes();
//! for step in 0..3 * CHUNK_STEPS {
//!     let record = step.to_be_bytes();
//!     a.push_record(&record);
//!     // b disagrees on one step, in the second chunk.
//!     b.push_record(if step == CHUNK_STEPS + 5 { &[0xff] } else { &record });
//! }
//! let (a, b) = (a.finish(), b.finish());
//! assert_eq!((a.commitment.steps, a.commitment.chunks), (3 * CHUNK_STEPS, 3));
//! assert_eq!(first_differing_chunk(&a.chunk_hashes, &b.chunk_hashes), Some(1));
//! let proof = ChunkTree::new(&a.chunk_hashes).proof(1).unwrap();
//! assert!(proof.verify(&a.commitment, a.chunk_hashes[1]));
//! assert!(!proof.verify(&b.commitment, a.chunk_hashes[1]));
//! assert_eq!(TraceHasher::new().finish().commitment, TraceCommitment::EMPTY);
//! ```

use alloy_primitives::{B256, Bytes, U256, b256};
use revm::{
    Inspector,
    bytecode::opcode::{self, OPCODE_INFO},
    context_interface::{ContextTr, JournalTr},
    handler::FrameResult,
    interpreter::{
        FrameInput, InstructionResult, Interpreter, InterpreterAction,
        interpreter::EthInterpreter,
        interpreter_types::{Jumps, LoopControl, ReturnData},
    },
};
use sha2::{Digest, Sha256};
use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

/// Steps per chunk: the unit a dispute replays.
pub const CHUNK_STEPS: u64 = 1024;

/// Record bytes buffered before they are fed to the running chunk hash, so that a chunk
/// with huge memory copies does not hold them all.
const FEED_THRESHOLD: usize = 1 << 20;

/// `flags` bit: a memory write follows.
pub const FLAG_MEMORY: u8 = 0x01;
/// `flags` bit: return data follows.
pub const FLAG_RETURN_DATA: u8 = 0x02;

/// `H`: SHA-256.
pub fn hash(data: &[u8]) -> B256 {
    B256::new(Sha256::digest(data).into())
}

/// `H(left ‖ right)`, an internal node.
pub fn hash_pair(left: &B256, right: &B256) -> B256 {
    B256::new(
        Sha256::new()
            .chain_update(left)
            .chain_update(right)
            .finalize()
            .into(),
    )
}

/// `transitionHash = H(tree_root ‖ steps as 8 big-endian bytes)`.
pub fn transition_hash(tree_root: &B256, steps: u64) -> B256 {
    B256::new(
        Sha256::new()
            .chain_update(tree_root)
            .chain_update(steps.to_be_bytes())
            .finalize()
            .into(),
    )
}

/// Number of chunks of a trace of `steps` steps: `⌈steps / CHUNK_STEPS⌉`.
pub const fn chunks_for_steps(steps: u64) -> u64 {
    steps.div_ceil(CHUNK_STEPS)
}

/// Depth of the tree over `chunks` leaves: `⌈log₂ chunks⌉`, 0 for at most one chunk (the
/// QMTree's rule).
pub use cairn_qmtree::depth as tree_depth;

/// The commitment to one top-level execution's trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TraceCommitment {
    /// `transitionHash`.
    pub root: B256,
    /// Steps (records) in the trace.
    pub steps: u64,
    /// Chunks: `⌈steps / CHUNK_STEPS⌉`.
    pub chunks: u64,
}

impl TraceCommitment {
    /// The commitment to a trace without steps: `H(0^32 ‖ 0^8)`.
    pub const EMPTY: Self = Self {
        root: b256!("0x2c34ce1df23b838c5abf2a7f6437cca3d3067ed509ff25f11df6b11b582b51eb"),
        steps: 0,
        chunks: 0,
    };

    /// Recomputes a commitment from a trace's chunk hashes and step count; `None` when the
    /// number of hashes is not `⌈steps / CHUNK_STEPS⌉`.
    pub fn from_chunk_hashes(steps: u64, chunk_hashes: &[B256]) -> Option<Self> {
        let chunks = chunks_for_steps(steps);
        if chunk_hashes.len() as u64 != chunks {
            return None;
        }
        Some(Self {
            root: transition_hash(&ChunkTree::new(chunk_hashes).root(), steps),
            steps,
            chunks,
        })
    }
}

/// A commitment together with its chunk hashes (empty unless they were kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedTrace {
    /// The commitment.
    pub commitment: TraceCommitment,
    /// `chunk_hash_0 … chunk_hash_{m-1}`, if the hasher kept them; otherwise empty.
    pub chunk_hashes: Vec<B256>,
}

/// A byte buffer that records are written into at its end.
///
/// The hot path writes each field with fixed-size stores into a zeroed tail of the
/// storage and then advances the length: no capacity check per byte, and no
/// small store read back by a wider load (which stalls store forwarding, as building a
/// record elsewhere and copying it does).
#[derive(Debug, Clone, Default)]
pub struct RecordBuf {
    /// Initialised storage; only `..len` is content.
    bytes: Vec<u8>,
    len: usize,
}

impl RecordBuf {
    /// The content.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Length of the content.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no content.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Empties the buffer, keeping its storage.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Shortens the content to `len` bytes (no-op if already shorter).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Appends bytes.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.tail(bytes.len()).copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// `room` writable bytes after the content; [`RecordBuf::advance`] then keeps what was
    /// written.
    #[inline(always)]
    fn tail(&mut self, room: usize) -> &mut [u8] {
        let end = self.len + room;
        if self.bytes.len() < end {
            self.grow(end);
        }
        &mut self.bytes[self.len..end]
    }

    #[cold]
    fn grow(&mut self, end: usize) {
        let size = end.max(2 * self.bytes.len()).max(1 << 16);
        self.bytes.resize(size, 0);
    }

    #[inline(always)]
    fn advance(&mut self, n: usize) {
        self.len += n;
    }

    fn set(&mut self, at: usize, byte: u8) {
        if let Some(b) = self.bytes[..self.len].get_mut(at) {
            *b = byte;
        }
    }
}

impl PartialEq for RecordBuf {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for RecordBuf {}

/// Streams step records into a [`TraceCommitment`]: one chunk buffered, the tree as a
/// frontier of at most one node per level.
#[derive(Debug, Clone, Default)]
pub struct TraceHasher {
    /// Records of the current chunk not yet fed to `state`.
    buf: RecordBuf,
    /// The current chunk's hash state.
    state: Sha256,
    /// Records in the current chunk.
    in_chunk: u64,
    steps: u64,
    /// Completed chunks.
    chunks: u64,
    /// `frontier[level]`: the left subtree at `level` waiting for its right sibling; valid
    /// where bit `level` of `chunks` is set.
    frontier: Vec<B256>,
    keep: bool,
    kept: Vec<B256>,
}

impl TraceHasher {
    /// A hasher that keeps only the frontier.
    pub fn new() -> Self {
        Self::default()
    }

    /// A hasher that also keeps every chunk hash, for disputes.
    pub fn keeping_chunk_hashes() -> Self {
        Self {
            keep: true,
            ..Self::default()
        }
    }

    /// Appends one step record.
    #[inline]
    pub fn push_record(&mut self, record: &[u8]) {
        self.buf.extend_from_slice(record);
        self.record_appended();
    }

    /// Counts the record just appended to `buf`.
    #[inline]
    fn record_appended(&mut self) {
        self.steps += 1;
        self.in_chunk += 1;
        if self.in_chunk == CHUNK_STEPS {
            self.close_chunk();
        } else if self.buf.len() >= FEED_THRESHOLD {
            self.state.update(self.buf.as_slice());
            self.buf.clear();
        }
    }

    #[cold]
    fn close_chunk(&mut self) {
        self.state.update(self.buf.as_slice());
        self.buf.clear();
        let chunk_hash = B256::new(self.state.finalize_reset().into());
        self.in_chunk = 0;
        if self.keep {
            self.kept.push(chunk_hash);
        }
        let mut node = chunk_hash;
        let mut level = 0;
        let mut index = self.chunks;
        while index & 1 == 1 {
            node = hash_pair(&self.frontier[level], &node);
            index >>= 1;
            level += 1;
        }
        if level == self.frontier.len() {
            self.frontier.push(node);
        } else {
            self.frontier[level] = node;
        }
        self.chunks += 1;
    }

    /// Closes the last chunk, returns the commitment (with the chunk hashes if kept) and
    /// resets the hasher for the next trace.
    pub fn finish(&mut self) -> CommittedTrace {
        if self.in_chunk > 0 {
            self.close_chunk();
        }
        let chunks = self.chunks;
        let depth = tree_depth(chunks) as usize;
        let tree_root = if chunks == 0 {
            B256::ZERO
        } else if chunks.is_power_of_two() {
            self.frontier[depth]
        } else {
            // Fold the frontier with all-zero subtrees on the right.
            let (mut node, mut zero, mut size) = (B256::ZERO, B256::ZERO, chunks);
            for level in 0..depth {
                node = if size & 1 == 1 {
                    hash_pair(&self.frontier[level], &node)
                } else {
                    hash_pair(&node, &zero)
                };
                zero = hash_pair(&zero, &zero);
                size >>= 1;
            }
            node
        };
        let commitment = TraceCommitment {
            root: transition_hash(&tree_root, self.steps),
            steps: self.steps,
            chunks,
        };
        let chunk_hashes = std::mem::take(&mut self.kept);
        self.reset();
        CommittedTrace {
            commitment,
            chunk_hashes,
        }
    }

    /// Drops everything pushed since the last [`TraceHasher::finish`].
    pub fn reset(&mut self) {
        self.buf.clear();
        self.state.reset();
        self.in_chunk = 0;
        self.steps = 0;
        self.chunks = 0;
        self.frontier.clear();
        self.kept.clear();
    }
}

/// The tree over a list of chunk hashes, every level kept: for proofs and bisection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkTree {
    /// `levels[0]`: the leaves padded with zero to `2^depth`; `levels[depth]`: the root.
    levels: Vec<Vec<B256>>,
    chunks: u64,
}

impl ChunkTree {
    /// The tree of depth `⌈log₂ m⌉` over `m` chunk hashes.
    pub fn new(chunk_hashes: &[B256]) -> Self {
        Self::with_depth(chunk_hashes, tree_depth(chunk_hashes.len() as u64))
    }

    /// The tree over `chunk_hashes` padded to `2^depth` leaves (`depth` at least the
    /// natural depth), so that two traces of different lengths can be compared node by
    /// node.
    fn with_depth(chunk_hashes: &[B256], depth: u32) -> Self {
        let width = 1usize << depth;
        let mut leaves = Vec::with_capacity(width);
        leaves.extend_from_slice(chunk_hashes);
        leaves.resize(width.max(chunk_hashes.len()), B256::ZERO);
        let mut levels = vec![leaves];
        while let Some(below) = levels.last().filter(|level| level.len() > 1) {
            let above = below
                .chunks_exact(2)
                .map(|pair| hash_pair(&pair[0], &pair[1]))
                .collect();
            levels.push(above);
        }
        Self {
            levels,
            chunks: chunk_hashes.len() as u64,
        }
    }

    /// Depth of the tree.
    pub fn depth(&self) -> u32 {
        (self.levels.len() - 1) as u32
    }

    /// The tree root (`0x00…00` for no chunks); `transitionHash` is
    /// [`transition_hash`]`(root, steps)`.
    pub fn root(&self) -> B256 {
        if self.chunks == 0 {
            B256::ZERO
        } else {
            self.levels
                .last()
                .and_then(|top| top.first())
                .copied()
                .unwrap_or_default()
        }
    }

    /// The Merkle path of chunk `index`; `None` if there is no such chunk.
    pub fn proof(&self, index: u64) -> Option<ChunkProof> {
        if index >= self.chunks {
            return None;
        }
        let mut i = usize::try_from(index).ok()?;
        let mut siblings = Vec::with_capacity(self.levels.len() - 1);
        for level in &self.levels[..self.levels.len() - 1] {
            siblings.push(level[i ^ 1]);
            i >>= 1;
        }
        Some(ChunkProof { index, siblings })
    }
}

/// The Merkle path of one chunk, leaf to root.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChunkProof {
    /// The chunk's index.
    pub index: u64,
    /// Siblings from the leaf level up: exactly `⌈log₂ chunks⌉` of them.
    pub siblings: Vec<B256>,
}

impl ChunkProof {
    /// Whether `chunk_hash` is chunk [`ChunkProof::index`] of the trace `commitment`
    /// commits to.
    pub fn verify(&self, commitment: &TraceCommitment, chunk_hash: B256) -> bool {
        if commitment.chunks != chunks_for_steps(commitment.steps)
            || self.index >= commitment.chunks
            || self.siblings.len() != tree_depth(commitment.chunks) as usize
        {
            return false;
        }
        let mut node = chunk_hash;
        let mut index = self.index;
        for sibling in &self.siblings {
            node = if index & 1 == 0 {
                hash_pair(&node, sibling)
            } else {
                hash_pair(sibling, &node)
            };
            index >>= 1;
        }
        transition_hash(&node, commitment.steps) == commitment.root
    }
}

/// The first chunk where two traces differ, found by descending their trees from the root:
/// at each level the left children are compared, and the descent goes left if they differ,
/// right otherwise. Traces of different lengths are compared as trees of the larger depth
/// (the shorter one padded with zero leaves), so a trace that is a strict prefix of the
/// other differs at its first missing chunk (no real chunk hashes to the zero padding).
/// `None` when the trees are equal.
pub fn first_differing_chunk(a: &[B256], b: &[B256]) -> Option<u64> {
    let depth = tree_depth(a.len() as u64).max(tree_depth(b.len() as u64));
    let (ta, tb) = (
        ChunkTree::with_depth(a, depth),
        ChunkTree::with_depth(b, depth),
    );
    if ta.levels[depth as usize] == tb.levels[depth as usize] {
        return None;
    }
    let mut index = 0usize;
    for level in (0..depth as usize).rev() {
        let left = 2 * index;
        index = if ta.levels[level][left] != tb.levels[level][left] {
            left
        } else {
            left + 1
        };
    }
    Some(index as u64)
}

/// Where step records go.
///
/// The inspector writes each record straight into the end of [`StepSink::buffer`] (no
/// intermediate copy: this is the hot path) and then calls [`StepSink::commit`]. Until it
/// commits, it may truncate the buffer back to where the record started; the sink must not
/// touch the buffer in between.
pub trait StepSink {
    /// A top-level execution starts: drop anything left from an execution that did not end.
    fn begin(&mut self);
    /// The buffer the next record is appended to.
    fn buffer(&mut self) -> &mut RecordBuf;
    /// One record, in completion order, was written to the buffer from `start` to its end.
    fn commit(&mut self, start: usize);
    /// The top-level execution ended.
    fn end(&mut self);

    /// Appends one whole record.
    fn record(&mut self, record: &[u8]) {
        let buffer = self.buffer();
        let start = buffer.len();
        buffer.extend_from_slice(record);
        self.commit(start);
    }
}

/// Both sinks get every record; the second receives a copy.
impl<A: StepSink, B: StepSink> StepSink for (A, B) {
    fn begin(&mut self) {
        self.0.begin();
        self.1.begin();
    }
    #[inline]
    fn buffer(&mut self) -> &mut RecordBuf {
        self.0.buffer()
    }
    #[inline]
    fn commit(&mut self, start: usize) {
        let record = self.0.buffer().as_slice().get(start..).unwrap_or_default();
        self.1.record(record);
        self.0.commit(start);
    }
    fn end(&mut self) {
        self.0.end();
        self.1.end();
    }
}

/// Hashes each execution's records into a commitment.
#[derive(Debug, Clone, Default)]
pub struct CommitmentSink {
    hasher: TraceHasher,
    completed: Vec<CommittedTrace>,
}

impl CommitmentSink {
    /// A sink whose commitments carry their chunk hashes.
    pub fn keeping_chunk_hashes() -> Self {
        Self {
            hasher: TraceHasher::keeping_chunk_hashes(),
            completed: Vec::new(),
        }
    }

    /// Takes the commitments completed so far, in execution order.
    pub fn take_completed(&mut self) -> Vec<CommittedTrace> {
        std::mem::take(&mut self.completed)
    }
}

impl StepSink for CommitmentSink {
    fn begin(&mut self) {
        self.hasher.reset();
    }
    #[inline]
    fn buffer(&mut self) -> &mut RecordBuf {
        &mut self.hasher.buf
    }
    #[inline]
    fn commit(&mut self, _start: usize) {
        self.hasher.record_appended();
    }
    fn end(&mut self) {
        self.completed.push(self.hasher.finish());
    }
}

/// Keeps every record of every execution (tests, and replaying a disputed chunk).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordLog {
    /// One trace per top-level execution, in order.
    pub traces: Vec<RecordedTrace>,
}

impl StepSink for RecordLog {
    fn begin(&mut self) {
        self.traces.push(RecordedTrace::default());
    }
    fn buffer(&mut self) -> &mut RecordBuf {
        if self.traces.is_empty() {
            self.traces.push(RecordedTrace::default());
        }
        let last = self.traces.len() - 1;
        &mut self.traces[last].bytes
    }
    fn commit(&mut self, _start: usize) {
        if let Some(trace) = self.traces.last_mut() {
            trace.ends.push(trace.bytes.len());
        }
    }
    fn end(&mut self) {}
}

/// The records of one execution, back to back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordedTrace {
    bytes: RecordBuf,
    /// End offset of each record in `bytes`.
    ends: Vec<usize>,
}

impl RecordedTrace {
    /// Number of records.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Record `index`.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        let end = *self.ends.get(index)?;
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        self.bytes.as_slice().get(start..end)
    }

    /// All records in order.
    pub fn records(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// The bytes of chunk `index` (whose hash is `chunk_hash_index`).
    pub fn chunk(&self, index: u64) -> Option<&[u8]> {
        let first = usize::try_from(index.checked_mul(CHUNK_STEPS)?).ok()?;
        if first >= self.len() {
            return None;
        }
        let last = (first + CHUNK_STEPS as usize).min(self.len()) - 1;
        let start = if first == 0 { 0 } else { self.ends[first - 1] };
        self.bytes.as_slice().get(start..self.ends[last])
    }

    /// The commitment to these records.
    pub fn commit(&self, keep_chunk_hashes: bool) -> CommittedTrace {
        let mut hasher = if keep_chunk_hashes {
            TraceHasher::keeping_chunk_hashes()
        } else {
            TraceHasher::new()
        };
        self.records().for_each(|record| hasher.push_record(record));
        hasher.finish()
    }
}

/// Counts completed top-level executions; clones share the count.
#[derive(Debug, Clone, Default)]
pub struct ExecutionCounter(Arc<AtomicU64>);

impl ExecutionCounter {
    /// Top-level executions completed so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.0.fetch_add(1, Ordering::Release);
    }
}

/// Outcome of a step, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum StepStatus {
    /// The frame goes on.
    Continue = 0,
    /// The frame halted successfully (STOP, RETURN, SELFDESTRUCT).
    Halt = 1,
    /// The frame reverted.
    Revert = 2,
    /// Exceptional halt.
    Error = 3,
}

impl StepStatus {
    fn of(result: InstructionResult) -> Self {
        if result.is_ok() {
            Self::Halt
        } else if result.is_revert() {
            Self::Revert
        } else {
            Self::Error
        }
    }

    fn from_byte(byte: u8) -> Option<Self> {
        Some(match byte {
            0 => Self::Continue,
            1 => Self::Halt,
            2 => Self::Revert,
            3 => Self::Error,
            _ => return None,
        })
    }
}

/// A step record, decoded: for third parties and tests. The inspector encodes records
/// directly; [`StepRecord::encode`] produces the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRecord {
    /// Opcode.
    pub op: u8,
    /// Call depth (0 for the execution's own frame).
    pub depth: u64,
    /// Program counter.
    pub pc: u64,
    /// Gas left before the step.
    pub gas: u64,
    /// Items popped, top first.
    pub pops: Vec<U256>,
    /// Outcome.
    pub status: StepStatus,
    /// Items pushed, top first.
    pub pushes: Vec<U256>,
    /// Memory written: offset and contents.
    pub memory: Option<(u64, Bytes)>,
    /// Return data.
    pub return_data: Option<Bytes>,
}

impl StepRecord {
    /// Appends the canonical encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.op);
        put_u64(out, self.depth);
        put_u64(out, self.pc);
        put_u64(out, self.gas);
        out.push(self.pops.len() as u8);
        self.pops.iter().for_each(|w| put_word(out, w));
        out.push(self.status as u8);
        out.push(self.pushes.len() as u8);
        self.pushes.iter().for_each(|w| put_word(out, w));
        out.push(
            if self.memory.is_some() {
                FLAG_MEMORY
            } else {
                0
            } | if self.return_data.is_some() {
                FLAG_RETURN_DATA
            } else {
                0
            },
        );
        if let Some((offset, bytes)) = &self.memory {
            put_u64(out, *offset);
            put_u64(out, bytes.len() as u64);
            out.extend_from_slice(bytes);
        }
        if let Some(bytes) = &self.return_data {
            put_u64(out, bytes.len() as u64);
            out.extend_from_slice(bytes);
        }
    }

    /// Decodes one record from the front of `input`, returning it and the bytes it used;
    /// `None` unless the bytes are a canonical encoding (minimal integers, at most 255
    /// stack items, known status, no unknown flag bits).
    pub fn decode(input: &[u8]) -> Option<(Self, usize)> {
        let mut r = Reader(input, 0);
        let op = r.byte()?;
        let (depth, pc, gas) = (r.u64()?, r.u64()?, r.u64()?);
        let npop = r.byte()?;
        let pops = (0..npop).map(|_| r.word()).collect::<Option<Vec<_>>>()?;
        let status = StepStatus::from_byte(r.byte()?)?;
        let npush = r.byte()?;
        let pushes = (0..npush).map(|_| r.word()).collect::<Option<Vec<_>>>()?;
        let flags = r.byte()?;
        if flags & !(FLAG_MEMORY | FLAG_RETURN_DATA) != 0 {
            return None;
        }
        let memory = if flags & FLAG_MEMORY != 0 {
            let offset = r.u64()?;
            let len = usize::try_from(r.u64()?).ok()?;
            Some((offset, Bytes::copy_from_slice(r.take(len)?)))
        } else {
            None
        };
        let return_data = if flags & FLAG_RETURN_DATA != 0 {
            let len = usize::try_from(r.u64()?).ok()?;
            Some(Bytes::copy_from_slice(r.take(len)?))
        } else {
            None
        };
        Some((
            Self {
                op,
                depth,
                pc,
                gas,
                pops,
                status,
                pushes,
                memory,
                return_data,
            },
            r.1,
        ))
    }
}

struct Reader<'a>(&'a [u8], usize);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let bytes = self.0.get(self.1..self.1.checked_add(n)?)?;
        self.1 += n;
        Some(bytes)
    }
    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    /// A minimal big-endian integer of at most `max` bytes.
    fn int(&mut self, max: usize) -> Option<&'a [u8]> {
        let n = self.byte()? as usize;
        let bytes = self.take(n).filter(|b| n <= max && b.first() != Some(&0))?;
        Some(bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        let bytes = self.int(8)?;
        Some(bytes.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b)))
    }
    fn word(&mut self) -> Option<U256> {
        U256::try_from_be_slice(self.int(32)?)
    }
}

/// `int(v)`, the plain way (the inspector's hot path is [`enc_u64`]).
fn put_u64(out: &mut Vec<u8>, v: u64) {
    let n = (u64::BITS - v.leading_zeros()).div_ceil(8) as usize;
    out.push(n as u8);
    out.extend_from_slice(&v.to_be_bytes()[8 - n..]);
}

/// `int(w)`, the plain way (the inspector's hot path is [`enc_word`]).
fn put_word(out: &mut Vec<u8>, w: &U256) {
    let n = w.byte_len();
    out.push(n as u8);
    out.extend_from_slice(&w.to_be_bytes::<32>()[32 - n..]);
}

/// Stack items a step pops or pushes at most (SWAP16 pops 17, DUP16 pushes 17).
const MAX_ITEMS: usize = 17;

/// Room for either half of a record's fixed part, `op ‖ depth ‖ pc ‖ gas ‖ npop ‖ pops`
/// or `status ‖ npush ‖ pushes ‖ flags`, including the slack of the fixed-size writes.
const ROOM: usize = 1 + 3 * 9 + 1 + MAX_ITEMS * 33 + 2 + 33;

/// `int(v)` at `tail[n..]` (9 bytes of room); returns the new end.
#[inline(always)]
fn enc_u64(tail: &mut [u8], n: usize, v: u64) -> usize {
    let len = (u64::BITS - v.leading_zeros()).div_ceil(8);
    tail[n] = len as u8;
    tail[n + 1..n + 9].copy_from_slice(&v.checked_shl(64 - 8 * len).unwrap_or(0).to_be_bytes());
    n + 1 + len as usize
}

/// `int(w)` at `tail[n..]` (33 bytes of room); returns the new end.
#[inline(always)]
fn enc_word(tail: &mut [u8], n: usize, w: &U256) -> usize {
    let limbs = w.as_limbs();
    if limbs[1] | limbs[2] | limbs[3] == 0 {
        return enc_u64(tail, n, limbs[0]);
    }
    let len = w.byte_len();
    let front = *w << (256 - 8 * len);
    let limbs = front.as_limbs();
    tail[n] = len as u8;
    tail[n + 1..n + 9].copy_from_slice(&limbs[3].to_be_bytes());
    tail[n + 9..n + 17].copy_from_slice(&limbs[2].to_be_bytes());
    tail[n + 17..n + 25].copy_from_slice(&limbs[1].to_be_bytes());
    tail[n + 25..n + 33].copy_from_slice(&limbs[0].to_be_bytes());
    n + 1 + len
}

/// `int(v)` appended to `out`.
fn buf_u64(out: &mut RecordBuf, v: u64) {
    let n = enc_u64(out.tail(9), 0, v);
    out.advance(n);
}

/// `int(w)` appended to `out`.
fn buf_word(out: &mut RecordBuf, w: &U256) {
    let n = enc_word(out.tail(33), 0, w);
    out.advance(n);
}

/// Stack inputs and outputs of an opcode, from revm's table (0/0 if undefined).
#[inline(always)]
pub(crate) fn stack_io(op: u8) -> (usize, usize) {
    match &OPCODE_INFO[op as usize] {
        Some(info) => (info.inputs() as usize, info.outputs() as usize),
        None => (0, 0),
    }
}

/// A memory region; `len == 0` means none.
#[derive(Debug, Clone, Copy, Default)]
struct Region {
    offset: usize,
    len: usize,
}

/// Opcodes that write memory (`write_region` knows their arguments).
static WRITES_MEMORY: [bool; 256] = {
    let mut table = [false; 256];
    let ops = [
        opcode::MSTORE,
        opcode::MSTORE8,
        opcode::CALLDATACOPY,
        opcode::CODECOPY,
        opcode::RETURNDATACOPY,
        opcode::MCOPY,
        opcode::EXTCODECOPY,
        opcode::CALL,
        opcode::CALLCODE,
        opcode::DELEGATECALL,
        opcode::STATICCALL,
    ];
    let mut i = 0;
    while i < ops.len() {
        table[ops[i] as usize] = true;
        i += 1;
    }
    table
};

/// The region `op` writes, from the stack before the step (`stack[len - 1]` is the top).
/// None if the stack is too short, the length is zero, or a value does not fit in memory
/// (the step then fails).
#[inline(never)]
fn write_region(op: u8, stack: &[U256]) -> Region {
    let arg = |i: usize| stack.len().checked_sub(i + 1).map(|at| stack[at]);
    let (offset, len) = match op {
        opcode::MSTORE => (arg(0), Some(U256::from(32))),
        opcode::MSTORE8 => (arg(0), Some(U256::from(1))),
        opcode::CALLDATACOPY | opcode::CODECOPY | opcode::RETURNDATACOPY | opcode::MCOPY => {
            (arg(0), arg(2))
        }
        opcode::EXTCODECOPY => (arg(1), arg(3)),
        opcode::CALL | opcode::CALLCODE => (arg(5), arg(6)),
        opcode::DELEGATECALL | opcode::STATICCALL => (arg(4), arg(5)),
        _ => (None, None),
    };
    let fits = |v: Option<U256>| v.and_then(|v| usize::try_from(v).ok());
    match (fits(offset), fits(len)) {
        (Some(offset), Some(len)) => Region { offset, len },
        _ => Region::default(),
    }
}

/// Appends the memory field for `region` if it is non-empty and lies in memory; returns
/// the flag bit.
fn put_memory(out: &mut RecordBuf, memory: &[u8], region: Region) -> u8 {
    let Region { offset, len } = region;
    if len == 0 {
        return 0;
    }
    let Some(bytes) = offset
        .checked_add(len)
        .and_then(|end| memory.get(offset..end))
    else {
        return 0;
    };
    buf_u64(out, offset as u64);
    buf_u64(out, len as u64);
    out.extend_from_slice(bytes);
    FLAG_MEMORY
}

fn put_bytes(out: &mut RecordBuf, bytes: &[u8]) {
    buf_u64(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A CALL/CREATE record waiting for control to come back to its frame.
#[derive(Debug)]
struct Pending {
    /// Depth of the calling frame.
    depth: usize,
    /// The record up to and including the pops.
    record: Vec<u8>,
    region: Region,
}

/// The `transitionHash` inspector: one [`TraceCommitment`] per top-level execution (see the
/// [module docs](self)).
///
/// Use it by mutable reference (`&mut inspector` is an inspector too) to read the
/// commitments after a block.
#[derive(Debug)]
pub struct TransitionInspector<S = CommitmentSink> {
    sink: S,
    /// `step` wrote the first part of a record at `start` in the sink's buffer and
    /// `step_end` has not completed it.
    open: bool,
    start: usize,
    op: u8,
    outputs: usize,
    region: Region,
    pending: Vec<Pending>,
    /// Record buffers to reuse for pending calls.
    spare: Vec<Vec<u8>>,
    in_execution: bool,
    counter: ExecutionCounter,
}

impl Default for TransitionInspector {
    fn default() -> Self {
        Self::new()
    }
}

impl TransitionInspector {
    /// An inspector producing commitments.
    pub fn new() -> Self {
        Self::with_sink(CommitmentSink::default())
    }

    /// The commitments of the executions completed so far, in order; they are removed.
    pub fn take_completed(&mut self) -> Vec<TraceCommitment> {
        self.sink
            .take_completed()
            .into_iter()
            .map(|trace| trace.commitment)
            .collect()
    }
}

impl<S: StepSink> TransitionInspector<S> {
    /// An inspector feeding records to `sink`.
    pub fn with_sink(sink: S) -> Self {
        Self {
            sink,
            open: false,
            start: 0,
            op: 0,
            outputs: 0,
            region: Region::default(),
            pending: Vec::new(),
            spare: Vec::new(),
            in_execution: false,
            counter: ExecutionCounter::default(),
        }
    }

    /// A handle on the number of completed top-level executions. It moves when an
    /// execution ends, before the executor commits its state.
    pub fn counter(&self) -> ExecutionCounter {
        self.counter.clone()
    }

    /// The sink, mutably.
    pub fn sink_mut(&mut self) -> &mut S {
        &mut self.sink
    }

    /// The sink, consuming the inspector.
    pub fn into_sink(self) -> S {
        self.sink
    }

    fn begin_execution(&mut self) {
        self.open = false;
        for pending in self.pending.drain(..) {
            self.spare.push(pending.record);
        }
        self.in_execution = true;
        self.sink.begin();
    }

    fn end_execution(&mut self) {
        self.in_execution = false;
        self.sink.end();
        self.counter.bump();
    }

    /// Completes the record of the CALL/CREATE that control just came back from.
    #[cold]
    fn resume(&mut self, interp: &Interpreter<EthInterpreter>) {
        let Some(Pending {
            mut record, region, ..
        }) = self.pending.pop()
        else {
            return;
        };
        let out = self.sink.buffer();
        let start = out.len();
        out.extend_from_slice(&record);
        match interp.stack.data().last() {
            Some(top) => {
                out.extend_from_slice(&[StepStatus::Continue as u8, 1]);
                buf_word(out, top);
            }
            None => out.extend_from_slice(&[StepStatus::Continue as u8, 0]),
        }
        let flags_at = out.len();
        out.extend_from_slice(&[FLAG_RETURN_DATA]);
        let memory_flag = put_memory(out, &interp.memory.context_memory(), region);
        out.set(flags_at, FLAG_RETURN_DATA | memory_flag);
        put_bytes(out, interp.return_data.buffer());
        self.sink.commit(start);
        record.clear();
        self.spare.push(record);
    }

    /// Moves the open CALL/CREATE record out of the sink until control comes back.
    #[cold]
    fn suspend(&mut self, depth: usize) {
        let out = self.sink.buffer();
        let mut record = self.spare.pop().unwrap_or_default();
        record.extend_from_slice(out.as_slice().get(self.start..).unwrap_or_default());
        out.truncate(self.start);
        self.pending.push(Pending {
            depth,
            record,
            region: self.region,
        });
    }
}

impl<CTX: ContextTr, S: StepSink> Inspector<CTX, EthInterpreter> for TransitionInspector<S> {
    #[inline]
    fn step(&mut self, interp: &mut Interpreter<EthInterpreter>, _context: &mut CTX) {
        if self.open {
            // The previous step never ran (the interpreter stopped before it).
            let start = self.start;
            self.sink.buffer().truncate(start);
        }
        let depth = interp.input.depth;
        if self.pending.last().is_some_and(|p| p.depth == depth) {
            self.resume(interp);
        }
        let op = interp.bytecode.opcode();
        let (inputs, outputs) = stack_io(op);
        let stack = interp.stack.data().as_slice();
        let popped = &stack[stack.len() - inputs.min(stack.len()).min(MAX_ITEMS)..];
        let out = self.sink.buffer();
        self.start = out.len();
        let tail = out.tail(ROOM);
        tail[0] = op;
        let mut n = enc_u64(tail, 1, depth as u64);
        n = enc_u64(tail, n, interp.bytecode.pc() as u64);
        n = enc_u64(tail, n, interp.gas.remaining());
        tail[n] = popped.len() as u8;
        n += 1;
        for word in popped.iter().rev() {
            n = enc_word(tail, n, word);
        }
        out.advance(n);
        self.region = if WRITES_MEMORY[op as usize] {
            write_region(op, stack)
        } else {
            Region::default()
        };
        self.op = op;
        self.outputs = outputs;
        self.open = true;
    }

    #[inline]
    fn step_end(&mut self, interp: &mut Interpreter<EthInterpreter>, _context: &mut CTX) {
        if !std::mem::take(&mut self.open) {
            return;
        }
        match interp.bytecode.action() {
            None => {
                let stack = interp.stack.data().as_slice();
                let pushed = &stack[stack.len() - self.outputs.min(stack.len()).min(MAX_ITEMS)..];
                let out = self.sink.buffer();
                let tail = out.tail(ROOM);
                tail[0] = StepStatus::Continue as u8;
                tail[1] = pushed.len() as u8;
                let mut n = 2;
                for word in pushed.iter().rev() {
                    n = enc_word(tail, n, word);
                }
                tail[n] = 0;
                out.advance(n + 1);
                if self.region.len != 0 {
                    let flags_at = out.len() - 1;
                    let memory_flag = put_memory(out, &interp.memory.context_memory(), self.region);
                    out.set(flags_at, memory_flag);
                }
            }
            Some(InterpreterAction::NewFrame(_)) => {
                self.suspend(interp.input.depth);
                return;
            }
            Some(InterpreterAction::Return(result)) => {
                let out = self.sink.buffer();
                let status = StepStatus::of(result.result);
                if matches!(self.op, opcode::RETURN | opcode::REVERT) && status != StepStatus::Error
                {
                    out.extend_from_slice(&[status as u8, 0, FLAG_RETURN_DATA]);
                    put_bytes(out, &result.output);
                } else {
                    out.extend_from_slice(&[status as u8, 0, 0]);
                }
            }
        }
        self.sink.commit(self.start);
    }

    fn frame_start(
        &mut self,
        context: &mut CTX,
        _frame_input: &mut FrameInput,
    ) -> Option<FrameResult> {
        if context.journal().depth() == 0 {
            self.begin_execution();
        }
        None
    }

    fn frame_end(
        &mut self,
        context: &mut CTX,
        _frame_input: &FrameInput,
        _frame_result: &mut FrameResult,
    ) {
        if context.journal().depth() == 0 && self.in_execution {
            self.end_execution();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::Address;
    use alloy_primitives::{TxKind, address, keccak256};
    use proptest::prelude::*;
    use revm::{Context, InspectEvm, context::TxEnv};
    use revm::{
        MainBuilder, MainContext,
        bytecode::Bytecode,
        database::{CacheDB, EmptyDB},
        state::AccountInfo,
    };

    fn int_bytes(v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        put_u64(&mut out, v);
        out
    }

    #[test]
    fn integers_are_length_prefixed_minimal_big_endian() {
        assert_eq!(int_bytes(0), [0]);
        assert_eq!(int_bytes(1), [1, 1]);
        assert_eq!(int_bytes(0xff), [1, 0xff]);
        assert_eq!(int_bytes(0x100), [2, 1, 0]);
        assert_eq!(
            int_bytes(u64::MAX),
            [8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
        let mut out = Vec::new();
        put_word(&mut out, &U256::MAX);
        assert_eq!(out[0], 32);
        assert!(out[1..].iter().all(|b| *b == 0xff));
        out.clear();
        put_word(&mut out, &(U256::from(1) << 64));
        assert_eq!(out, [9, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn non_canonical_records_do_not_decode() {
        let record = StepRecord {
            op: 0x01,
            depth: 0,
            pc: 7,
            gas: 100,
            pops: vec![U256::from(2), U256::from(3)],
            status: StepStatus::Continue,
            pushes: vec![U256::from(5)],
            memory: None,
            return_data: None,
        };
        let mut bytes = Vec::new();
        record.encode(&mut bytes);
        assert_eq!(bytes, [0x01, 0, 1, 7, 1, 100, 2, 1, 2, 1, 3, 0, 1, 1, 5, 0]);
        assert_eq!(StepRecord::decode(&bytes), Some((record, bytes.len())));
        // A leading zero byte, a 33-byte word, an unknown status or flag, truncation.
        assert_eq!(
            StepRecord::decode(&[0x01, 0, 2, 0, 7, 1, 100, 0, 0, 0, 0]),
            None
        );
        let mut long = vec![0x50, 0, 0, 0, 1, 33, 1];
        long.extend([0; 32]);
        long.extend([0, 0, 0]);
        assert_eq!(StepRecord::decode(&long), None);
        assert_eq!(StepRecord::decode(&[0x00, 0, 0, 0, 0, 4, 0, 0]), None);
        assert_eq!(StepRecord::decode(&[0x00, 0, 0, 0, 0, 0, 0, 4]), None);
        assert!((0..bytes.len()).all(|n| StepRecord::decode(&bytes[..n]).is_none()));
    }

    fn arb_word() -> impl Strategy<Value = U256> {
        prop_oneof![
            any::<u64>().prop_map(U256::from),
            any::<[u8; 32]>().prop_map(U256::from_be_bytes)
        ]
    }

    fn arb_record() -> impl Strategy<Value = StepRecord> {
        (
            any::<u8>(),
            (any::<u64>(), any::<u64>(), any::<u64>()),
            proptest::collection::vec(arb_word(), 0..18),
            0u8..4,
            proptest::collection::vec(arb_word(), 0..18),
            proptest::option::of((any::<u64>(), proptest::collection::vec(any::<u8>(), 0..80))),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..80)),
        )
            .prop_map(
                |(op, (depth, pc, gas), pops, status, pushes, memory, return_data)| StepRecord {
                    op,
                    depth,
                    pc,
                    gas,
                    pops,
                    status: StepStatus::from_byte(status).unwrap_or(StepStatus::Error),
                    pushes,
                    memory: memory.map(|(offset, bytes)| (offset, bytes.into())),
                    return_data: return_data.map(Bytes::from),
                },
            )
    }

    proptest! {
        #[test]
        fn records_round_trip(record in arb_record(), tail in proptest::collection::vec(any::<u8>(), 0..8)) {
            let mut bytes = Vec::new();
            record.encode(&mut bytes);
            let len = bytes.len();
            bytes.extend(tail);
            prop_assert_eq!(StepRecord::decode(&bytes), Some((record, len)));
        }

        #[test]
        fn fast_and_plain_encoders_agree(v in any::<u64>(), w in arb_word()) {
            let mut plain = Vec::new();
            put_u64(&mut plain, v);
            put_word(&mut plain, &w);
            let mut fast = RecordBuf::default();
            buf_u64(&mut fast, v);
            buf_word(&mut fast, &w);
            prop_assert_eq!(fast.as_slice(), &plain[..]);
        }

        #[test]
        fn bisection_matches_a_linear_scan(
            a in proptest::collection::vec(0u8..3, 0..40),
            edits in proptest::collection::vec((0usize..40, 0u8..3), 0..3),
            cut in 0usize..45,
        ) {
            let a: Vec<B256> = a.iter().map(|v| keccak256([*v])).collect();
            let mut b = a.clone();
            for (at, v) in edits {
                if at < b.len() {
                    b[at] = keccak256([v]);
                }
            }
            b.truncate(cut);
            let linear = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)).map(|i| i as u64);
            prop_assert_eq!(first_differing_chunk(&a, &b), linear);
            prop_assert_eq!(first_differing_chunk(&b, &a), linear);
        }
    }

    /// The commitment computed from the specification, with the whole trace in memory.
    fn naive_commitment(records: &[Vec<u8>]) -> TraceCommitment {
        let chunk_hashes: Vec<B256> = records
            .chunks(CHUNK_STEPS as usize)
            .map(|chunk| hash(&chunk.concat()))
            .collect();
        let mut level = chunk_hashes.clone();
        if !level.is_empty() {
            level.resize(level.len().next_power_of_two(), B256::ZERO);
        }
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|pair| hash(&[pair[0].as_slice(), pair[1].as_slice()].concat()))
                .collect();
        }
        let tree_root = level.first().copied().unwrap_or(B256::ZERO);
        let steps = records.len() as u64;
        TraceCommitment {
            root: hash(&[tree_root.as_slice(), &steps.to_be_bytes()].concat()),
            steps,
            chunks: chunk_hashes.len() as u64,
        }
    }

    fn records(n: u64) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| i.to_le_bytes()[..1 + (i % 5) as usize].to_vec())
            .collect()
    }

    fn streamed(records: &[Vec<u8>]) -> CommittedTrace {
        let mut hasher = TraceHasher::keeping_chunk_hashes();
        records.iter().for_each(|r| hasher.push_record(r));
        hasher.finish()
    }

    #[test]
    fn streaming_matches_the_specification() {
        let n = CHUNK_STEPS;
        for steps in [
            0,
            1,
            2,
            n - 1,
            n,
            n + 1,
            2 * n,
            3 * n,
            4 * n,
            4 * n + 1,
            5 * n + 7,
            8 * n,
            9 * n - 1,
        ] {
            let records = records(steps);
            let trace = streamed(&records);
            assert_eq!(
                trace.commitment,
                naive_commitment(&records),
                "{steps} steps"
            );
            assert_eq!(trace.commitment.chunks, chunks_for_steps(steps));
            assert_eq!(
                TraceCommitment::from_chunk_hashes(steps, &trace.chunk_hashes),
                Some(trace.commitment)
            );
        }
    }

    #[test]
    fn empty_trace_has_the_documented_commitment() {
        assert_eq!(
            TraceHasher::new().finish().commitment,
            TraceCommitment::EMPTY
        );
        assert_eq!(transition_hash(&B256::ZERO, 0), TraceCommitment::EMPTY.root);
        assert_eq!(hash(&[0u8; 40]), TraceCommitment::EMPTY.root);
    }

    #[test]
    fn the_count_is_bound() {
        let n = CHUNK_STEPS;
        let full = records(2 * n + 3);
        let base = streamed(&full).commitment;
        // Truncation and extension, also within the last chunk.
        for steps in [0, 1, n, 2 * n, 2 * n + 2, 2 * n + 4, 3 * n] {
            let other = records(steps);
            assert_ne!(streamed(&other).commitment.root, base.root, "{steps} steps");
        }
        // Same tree, another count.
        let tree_root = ChunkTree::new(&streamed(&full).chunk_hashes).root();
        assert_eq!(transition_hash(&tree_root, base.steps), base.root);
        assert_ne!(transition_hash(&tree_root, base.steps + 1), base.root);
        assert_eq!(
            TraceCommitment::from_chunk_hashes(base.steps + n, &streamed(&full).chunk_hashes),
            None
        );
        // The hasher is reusable after finish.
        let mut hasher = TraceHasher::new();
        full.iter().for_each(|r| hasher.push_record(r));
        assert_eq!(hasher.finish().commitment, base);
        full.iter().for_each(|r| hasher.push_record(r));
        assert_eq!(hasher.finish().commitment, base);
    }

    #[test]
    fn proofs_verify_and_tampering_fails() {
        for chunks in [1u64, 2, 3, 5, 8] {
            let trace = streamed(&records(chunks * CHUNK_STEPS - 1));
            let tree = ChunkTree::new(&trace.chunk_hashes);
            assert_eq!(tree.depth(), tree_depth(chunks));
            assert_eq!(
                transition_hash(&tree.root(), trace.commitment.steps),
                trace.commitment.root
            );
            for i in 0..chunks {
                let proof = tree.proof(i).unwrap();
                let leaf = trace.chunk_hashes[i as usize];
                assert!(proof.verify(&trace.commitment, leaf));
                assert!(!proof.verify(&trace.commitment, B256::repeat_byte(1)));
                let wrong_steps = TraceCommitment {
                    steps: trace.commitment.steps + 1,
                    ..trace.commitment
                };
                assert!(!proof.verify(&wrong_steps, leaf));
                if chunks > 1 {
                    let mut bad = proof.clone();
                    bad.siblings[0] = B256::repeat_byte(2);
                    assert!(!bad.verify(&trace.commitment, leaf));
                    let moved = ChunkProof {
                        index: i ^ 1,
                        ..proof.clone()
                    };
                    assert!(moved.index >= chunks || !moved.verify(&trace.commitment, leaf));
                    let short = ChunkProof {
                        siblings: proof.siblings[1..].to_vec(),
                        ..proof
                    };
                    assert!(!short.verify(&trace.commitment, leaf));
                }
            }
            assert_eq!(tree.proof(chunks), None);
        }
        assert_eq!(ChunkTree::new(&[]).proof(0), None);
        assert_eq!(ChunkTree::new(&[]).root(), B256::ZERO);
    }

    // --- the inspector on hand-written bytecode ---

    const CALLER: Address = address!("0x1000000000000000000000000000000000000001");
    const MAIN: Address = address!("0x2000000000000000000000000000000000000002");
    const CALLEE: Address = address!("0x3000000000000000000000000000000000000003");

    fn run(code: &[u8], callee: &[u8]) -> (Vec<StepRecord>, CommittedTrace, u64) {
        let mut db = CacheDB::new(EmptyDB::default());
        db.insert_account_info(
            CALLER,
            AccountInfo {
                balance: U256::from(10u64.pow(18)),
                ..Default::default()
            },
        );
        for (address, code) in [(MAIN, code), (CALLEE, callee)] {
            let code = Bytecode::new_raw(Bytes::copy_from_slice(code));
            db.insert_account_info(
                address,
                AccountInfo {
                    code_hash: code.hash_slow(),
                    code: Some(code),
                    ..Default::default()
                },
            );
        }
        let inspector = TransitionInspector::with_sink((
            CommitmentSink::keeping_chunk_hashes(),
            RecordLog::default(),
        ));
        let counter = inspector.counter();
        let mut evm = Context::mainnet()
            .with_db(db)
            .build_mainnet_with_inspector(inspector);
        let tx = TxEnv::builder()
            .caller(CALLER)
            .kind(TxKind::Call(MAIN))
            .gas_limit(1_000_000)
            .build()
            .unwrap();
        evm.inspect_tx(tx).unwrap();
        let (commitments, log) = evm.inspector.sink_mut();
        let trace = commitments.take_completed().pop().unwrap();
        let recorded = log.traces.pop().unwrap();
        assert_eq!(recorded.commit(true), trace);
        let records = recorded.records().map(|r| {
            let (record, used) = StepRecord::decode(r).unwrap();
            assert_eq!(used, r.len());
            let mut again = Vec::new();
            record.encode(&mut again);
            assert_eq!(again, r);
            record
        });
        (records.collect(), trace, counter.get())
    }

    fn words(values: &[u64]) -> Vec<U256> {
        values.iter().map(|v| U256::from(*v)).collect()
    }

    #[test]
    fn records_carry_stack_memory_and_return_data() {
        // PUSH1 2, PUSH1 3, ADD, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN
        let code = [
            0x60, 2, 0x60, 3, 0x01, 0x60, 0, 0x52, 0x60, 32, 0x60, 0, 0xf3,
        ];
        let (records, trace, executions) = run(&code, &[]);
        assert_eq!(executions, 1);
        assert_eq!(trace.commitment.steps, 8);
        let ops: Vec<u8> = records.iter().map(|r| r.op).collect();
        assert_eq!(ops, [0x60, 0x60, 0x01, 0x60, 0x52, 0x60, 0x60, 0xf3]);
        let pcs: Vec<u64> = records.iter().map(|r| r.pc).collect();
        assert_eq!(pcs, [0, 2, 4, 5, 7, 8, 10, 12]);
        assert!(records.windows(2).all(|w| w[0].gas > w[1].gas));
        assert!(records.iter().all(|r| r.depth == 0));
        assert_eq!(records[2].pops, words(&[3, 2]));
        assert_eq!(records[2].pushes, words(&[5]));
        assert_eq!(records[4].pops, words(&[0, 5]));
        let five = U256::from(5).to_be_bytes::<32>();
        assert_eq!(records[4].memory, Some((0, Bytes::copy_from_slice(&five))));
        let last = records.last().unwrap();
        assert_eq!(last.status, StepStatus::Halt);
        assert_eq!(last.return_data, Some(Bytes::copy_from_slice(&five)));
    }

    #[test]
    fn a_call_record_follows_the_callee_and_carries_its_result() {
        // Callee: PUSH1 0xaa, PUSH1 0, MSTORE8, PUSH1 1, PUSH1 0, REVERT
        let callee = [0x60, 0xaa, 0x60, 0, 0x53, 0x60, 1, 0x60, 0, 0xfd];
        // Main: CALL(gas, CALLEE, 0, 0, 0, retOffset 0x40, retSize 2), POP, STOP
        let mut code = vec![0x60, 2, 0x60, 0x40, 0x5f, 0x5f, 0x5f, 0x73];
        code.extend_from_slice(CALLEE.as_slice());
        code.extend([0x5a, 0xf1, 0x50, 0x00]);
        let (records, _, _) = run(&code, &callee);
        let call_at = records.iter().position(|r| r.op == 0xf1).unwrap();
        let callee_steps: Vec<&StepRecord> = records.iter().filter(|r| r.depth == 1).collect();
        assert_eq!(callee_steps.len(), 6);
        assert!(
            records[..call_at].iter().filter(|r| r.depth == 1).count() == 6,
            "callee steps come first"
        );
        let revert = callee_steps.last().unwrap();
        assert_eq!(
            (revert.status, revert.return_data.clone()),
            (StepStatus::Revert, Some(Bytes::from_static(&[0xaa])))
        );
        let call = &records[call_at];
        assert_eq!(call.pops.len(), 7);
        assert_eq!(call.pops[1], U256::from_be_slice(CALLEE.as_slice()));
        assert_eq!(call.status, StepStatus::Continue);
        assert_eq!(call.pushes, words(&[0]), "a reverted call pushes 0");
        assert_eq!(call.memory, Some((0x40, Bytes::from_static(&[0xaa, 0]))));
        assert_eq!(call.return_data, Some(Bytes::from_static(&[0xaa])));
        assert_eq!(records[call_at + 1].op, 0x50);
        assert_eq!(records[call_at + 1].pops, words(&[0]));
        assert_eq!(records.last().unwrap().status, StepStatus::Halt);
    }

    #[test]
    fn failing_steps_are_recorded_with_their_status() {
        // ADD on an empty stack: underflow, nothing to pop.
        let (records, _, _) = run(&[0x01], &[]);
        assert_eq!(records.len(), 1);
        assert_eq!(
            (
                records[0].status,
                records[0].pops.len(),
                records[0].pushes.len()
            ),
            (StepStatus::Error, 0, 0)
        );
        // PUSH1 1, INVALID.
        let (records, _, _) = run(&[0x60, 1, 0xfe], &[]);
        assert_eq!(records[1].status, StepStatus::Error);
        assert_eq!(records[1].return_data, None);
        // PUSH1 1, JUMP to a non-JUMPDEST: pops 1, fails.
        let (records, _, _) = run(&[0x60, 1, 0x56], &[]);
        assert_eq!(
            (records[1].status, records[1].pops.clone()),
            (StepStatus::Error, words(&[1]))
        );
    }

    #[test]
    fn a_create_record_pushes_the_address() {
        // Init code: PUSH1 0, PUSH1 0, RETURN (deploys nothing); stored at memory 0 by MSTORE.
        let init = [0x60, 0, 0x60, 0, 0xf3];
        let mut word = [0u8; 32];
        word[..init.len()].copy_from_slice(&init);
        // PUSH32 word, PUSH0, MSTORE, PUSH1 len, PUSH0, PUSH0, CREATE, STOP
        let mut code = vec![0x7f];
        code.extend(word);
        code.extend([0x5f, 0x52, 0x60, init.len() as u8, 0x5f, 0x5f, 0xf0, 0x00]);
        let (records, _, _) = run(&code, &[]);
        let create = records.iter().find(|r| r.op == 0xf0).unwrap();
        assert_eq!(
            create.pushes,
            vec![U256::from_be_slice(MAIN.create(0).as_slice())]
        );
        assert_eq!(create.return_data, Some(Bytes::new()));
        assert_eq!(create.memory, None);
        assert_eq!(records.iter().filter(|r| r.depth == 1).count(), 3);
    }

    #[test]
    fn a_call_without_code_has_no_steps() {
        let (records, trace, executions) = run(&[], &[]);
        assert!(records.is_empty());
        assert_eq!((trace.commitment, executions), (TraceCommitment::EMPTY, 1));
    }

    #[test]
    fn a_long_run_fills_several_chunks() {
        // PUSH2 1000; loop: JUMPDEST, PUSH1 1, SWAP1, SUB, DUP1, PUSH1 3, JUMPI; STOP
        let code = [
            0x61, 0x03, 0xe8, 0x5b, 0x60, 1, 0x90, 0x03, 0x80, 0x60, 3, 0x57, 0x00,
        ];
        let (records, trace, _) = run(&code, &[]);
        assert_eq!(records.len(), 1 + 7 * 1000 + 1);
        assert_eq!(trace.commitment.chunks, chunks_for_steps(7002));
        assert_eq!(trace.chunk_hashes.len(), 7);
    }
}
