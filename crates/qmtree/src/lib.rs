//! The QMTree: Cairn's append-only execution commitment tree.
//!
//! One leaf per transaction, indexed by its global transaction number
//! (txNum); one root per block; inclusion proofs of `log2(N)` hashes; range
//! (consistency) proofs between blocks; and a crash-safe file store.
//!
//! Key types: [`QmTree`] (generic over a [`Backend`]), [`MemoryTree`] (in
//! RAM), `Store` (on disk, feature `store`), [`LeafComponents`],
//! [`InclusionProof`], [`RangeProof`], and the verifiers [`verify_leaf`],
//! [`verify_inclusion`] and [`verify_range`], which, with the hashing and
//! the codecs, build without `std` (`--no-default-features`).
//!
//! ```
//! use cairn_qmtree::{MemoryTree, verify_leaf, verify_range};
//! use alloy_primitives::B256;
//!
//! let mut tree = MemoryTree::new();
//! for block in 0..3u64 {
//!     for i in 0..5u8 {
//!         let h = B256::repeat_byte(i + 1);
//!         tree.append_next(h, h, h)?; // previousLeafHash is filled in
//!     }
//!     tree.commit_block(block)?;
//! }
//! let proof = tree.proof(7, 2)?; // leaf 7, against block 2's root
//! let leaf = tree.leaf(7)?.components;
//! verify_leaf(&proof, &leaf, &tree.root_at(2)?)?;
//! let range = tree.range_proof(0, 2)?;
//! verify_range(&range, &tree.root_at(0)?, &tree.root_at(2)?)?;
//! # Ok::<(), cairn_qmtree::Error>(())
//! ```
//!
//! # Hashing
//!
//! Keccak-256 throughout (`keccak256`, as in Ethereum).
//!
//! - **Leaf**: `leaf = keccak256(0x00 ‖ preStateHash ‖ stateChangeHash ‖
//!   transitionHash ‖ previousLeafHash)`, a 129-byte preimage (one Keccak
//!   block). `previousLeafHash` of leaf `i` is the hash of leaf `i − 1`, and
//!   32 zero bytes for leaf 0; [`QmTree::append`] rejects a leaf that does
//!   not chain.
//! - **Internal node**: `node = keccak256(0x01 ‖ left ‖ right)` (65 bytes).
//!   The prefixes keep leaves and nodes apart.
//! - **Empty subtrees**: `E[0]` is 32 zero bytes and
//!   `E[h + 1] = keccak256(0x01 ‖ E[h] ‖ E[h])` ([`EMPTY_SUBTREE`]).
//!
//! # Shape and roots
//!
//! Leaf `i` is txNum `i`. A tree of `n ≥ 1` leaves has depth
//! `d = ceil(log2 n)` (`d = 0` for one leaf): it is the perfect binary
//! tree over `2^d` slots in which slots `n .. 2^d` are empty. **Padding
//! rule**: every node whose slots are all empty has the value `E[h]` for
//! its height `h` (leaves are height 0); every other node is
//! `node(left, right)`. Equivalently, with leaf hashes `L[0..n)` and
//! `L[j] = 0x00…00` for `n ≤ j < 2^d`, it is the plain Merkle tree of `L`.
//! The **root** is its top node `T` (the leaf hash itself when `n = 1`);
//! the empty tree's root is `E[0]`, 32 zero bytes ([`EMPTY_ROOT`]). There
//! is no wrapper around `T`: the root does not state the leaf count. The
//! root of block `b` is the root over leaves `[0, lastTxNum(b)]`, i.e.
//! `n = lastTxNum(b) + 1`; a block without transactions has the root of the
//! block before it.
//!
//! Below, node `(h, i)` is the node at height `h` covering leaf slots
//! `[i·2^h, (i + 1)·2^h)`; a node is *complete* when all its slots hold
//! leaves.
//!
//! # Proofs
//!
//! Binary forms are big-endian (EVM-friendly); JSON forms are
//! `{"type": "inclusion" | "range", …}` with camelCase fields, integers as
//! Ethereum hex quantities (`"0x1a"`; a JSON number is accepted too, see
//! [`quantity`]) and hashes as `0x`-prefixed hex. JSON parsing is strict:
//! unknown fields, a missing field, a decimal string, or a hash that is not
//! `0x` and exactly 64 hex digits are errors ([`Proof::from_json`]).
//!
//! **Inclusion proof** ([`InclusionProof`]) of leaf `t` in a tree of depth
//! `d`: `ceil(d/8) + 32 + 32·d` bytes, no tag and no leaf count:
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | `k = ceil(d/8)` | index `t`, big-endian |
//! | `k` | 32 | leaf hash |
//! | `k + 32` | 32·d | siblings, bottom-up: for `h` in `0..d`, node `(h, (t >> h) ^ 1)` |
//!
//! Every sibling is present, `E[h]` for those that cover no leaf. A reader
//! takes `d` from the length `L`: `d = (L − 32) div 32`, and requires
//! `(L − 32) mod 32 = ceil(d/8)`, `d ≤ 64` and `t < 2^d`; anything else is
//! an error. JSON: `{"type": "inclusion", "txNum", "leafHash", "siblings"}`.
//! To verify against a root: reject a leaf hash of 32 zero bytes (an empty
//! slot); `x = leafHash`; for `h` in `0..d`, with `s` the `h`-th sibling,
//! `x = node(s, x)` if bit `h` of `t` is 1, else `node(x, s)`; accept if
//! `x = root` ([`verify_inclusion`]). At `n = 2^32` leaves, `d = 32` and
//! the proof is `4 + 32 + 1024 = 1060` bytes.
//!
//! **Why a leaf hash must be checked.** The depth comes from the proof, not
//! from the root, so [`verify_inclusion`] alone shows only that the leaf
//! hash is *some* node under the root: an internal node `(h, i)` with the
//! siblings above it is a well-formed proof of "leaf `i`" in a tree of
//! depth `d − h`. A leaf is only meaningful as the hash of its components:
//! a verifier that has them checks `keccak256(0x00 ‖ components) =
//! leafHash` ([`verify_leaf`]). A leaf preimage (`0x00`, 129 bytes) is
//! never a node preimage (`0x01`, 65 bytes), so a leaf hash cannot be an
//! internal node, and no keccak output is 32 zero bytes, so it cannot be an
//! empty slot. The hashing from the leaf to the root then fixes the depth,
//! the index, and the leaf's place in the tree. [`InclusionProof::is_last_leaf`]
//! (every right-hand sibling empty, `d = ceil(log2(t + 1))`) then shows that
//! the tree has `t + 1` leaves.
//!
//! **Range proof** ([`RangeProof`]), `17 + 32·k` bytes: tag `0x02`, old size
//! `m` (u64), new size `n` (u64), then `k` nodes. JSON: `{"type": "range",
//! "oldSize", "newSize", "nodes"}`. Empty when `m = 0` (then the old root
//! must be `E[0]`) or `m = n` (then the roots must be equal). Otherwise, in
//! order:
//! 1. the old frontier: for each set bit `h` of `m`, ascending, node
//!    `(h, (m >> h) − 1)` — these rebuild the old root: start from
//!    `E[z]` with `z` the lowest set bit, and for `h` in `z..d(m)` hash
//!    `node(F_h, x)` if bit `h` is set, else `node(x, E[h])` (when `m` is a
//!    power of two the single frontier node is the root);
//! 2. leaf `m` of the new tree;
//! 3. for each level `h < d(n)` (ascending) where bit `h` of `m` is 0 and
//!    `((m >> h) + 1) << h < n`: node `(h, (m >> h) + 1)` of the new tree.
//!
//! The verifier rebuilds the old root from 1, then walks up from leaf `m`:
//! at level `h`, `x = node(F_h, x)` if bit `h` of `m` is 1, else
//! `x = node(x, s)` with `s` from 3 or `E[h]`; after `d(n)` levels `x` is
//! the new root. Accept if both roots match ([`verify_range`]). Both come
//! from the same frontier, so the old leaves are a prefix of the new ones.
//! The roots do not bind `m` and `n` (sizes with the same tree shape give
//! the same hashes): a verifier that relies on them compares them with the
//! leaf counts it trusts (the blocks' `lastTxNum + 1`).
//!
//! **Telling the binary forms apart** ([`Proof::from_bytes`]): a range
//! proof's length is `17 (mod 32)`; an inclusion proof's is
//! `ceil(d/8) (mod 32)`, at most 8 ([`is_range_proof_len`]).
//!
//! # Store
//!
//! A data directory (feature `store`) holds, all little-endian:
//!
//! - `FORMAT` (64 bytes): magic `CAIRNQMT`, then u32s: format version
//!   (`FORMAT_VERSION` = 3), subtree height 11, lowest stored internal
//!   level 5, and the strides 100, 69 860, 36, 128; zero padding; a CRC-32
//!   of bytes 0..60 at 60. Another version is refused (1: no commit ring;
//!   2: the ring at the end of `leaves.dat`, and roots that wrapped the
//!   leaf count).
//! - `leaves.dat`: the **commit ring** (4096 bytes, below), then one
//!   100-byte record per leaf, leaf `i` at offset `4096 + 100·i`:
//!   `preStateHash ‖ stateChangeHash ‖ transitionHash ‖ crc32`.
//!   `previousLeafHash` is not stored: it is the previous leaf's hash.
//! - `subtrees.dat`: one 69 860-byte record per full 2048-leaf subtree `s`
//!   (written when it fills; the open subtree lives in memory): 64 groups of
//!   `32 leaf hashes (1024 bytes) ‖ crc32`, then the internal nodes of
//!   levels 5 to 11 (64 + 32 + 16 + 8 + 4 + 2 + 1 = 127 hashes, level by
//!   level, left to right; the last is the subtree root) `‖ crc32`. Levels 1
//!   to 4 are recomputed from a group when a proof needs them.
//! - `upper.dat`: 36-byte records `node ‖ crc32` of the nodes above the
//!   subtrees (levels ≥ 12), in the order they complete: when subtree `s`
//!   fills, the nodes it completes, low to high. Node `(11 + j, i)` is
//!   record `f((i + 1)·2^j − 1) + j − 1` with `f(m) = m − popcount(m)`.
//! - `blocks.dat`: one 128-byte record per committed block, record `i` for
//!   the `i`-th block of the store: block number, leaf count
//!   (`lastTxNum + 1`), root, last leaf hash, the committed lengths of
//!   `leaves.dat` (`4096 + 100·n`), `subtrees.dat`, `upper.dat` (u64s), zero
//!   padding, crc32.
//! - `LOCK`: held (flock) while a process has the store open.
//!
//! Each CRC-32 (IEEE, as zlib's) is over the little-endian u64 record index
//! (txNum; `65·s + g` for group `g` of subtree `s`, `65·s + 64` for its
//! internal section; upper position; block number; sequence number for a
//! ring entry; 0 for `FORMAT`) followed by the record's bytes. Tree data is
//! 34.1 bytes per leaf.
//!
//! **The commit ring** is the store's evidence of its last committed block,
//! independent of `blocks.dat`: 32 slots of 128 bytes, each all zeros or an
//! entry; entry number `q` (a sequence number counting every entry the
//! store wrote) is in slot `q mod 32`.
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 4 | magic `QMTR` |
//! | 4 | 4 | flags: 1 = the block's leaf bytes were durable before the entry; 2 = rewind; 4 = every tree record the block needs was durable |
//! | 8 | 8 | sequence number `q` |
//! | 16 | 8 | block number |
//! | 24 | 8 | record index `i` of the block in `blocks.dat` |
//! | 32 | 8 | leaf count `n` |
//! | 40 | 8 | leaf count `p` of the block before (its leaves are `p..n`) |
//! | 48 | 8 | durable: `blocks.dat` records `0..durable` were durable when the entry was written |
//! | 56 | 32 | root |
//! | 88 | 32 | last leaf hash |
//! | 120 | 4 | CRC-32 (plain) of the block's bytes in `leaves.dat` (`4096 + 100·p .. 4096 + 100·n`) |
//! | 124 | 4 | CRC-32 over `q` and bytes 0..124 |
//!
//! Each commit writes an entry for its block; so does a rewind (flag 2, for
//! the block rewound to), and so do a clean close and a read-write open
//! whose newest entry does not say every record is durable (an entry for
//! the last block, flags 1 and 4, `durable` = every record). The newest
//! entry always names the last committed block.
//!
//! **Commit** ([`QmTree::commit_block`]). Leaf records are written as
//! leaves arrive, subtree and upper records when a subtree fills. Then:
//! (1) if more than 16 full subtrees' records were written since
//! `subtrees.dat` and `upper.dat` were last synced, both are `fdatasync`ed
//! (tree records are recomputable from the leaf records, so they need not
//! be durable at every commit); (2) if the slot about to be reused holds an
//! entry whose `blocks.dat`
//! record was written after the last sync of `blocks.dat`, that file is
//! `fdatasync`ed (at most once per 32 entries); (3) the entry is written,
//! and `leaves.dat` is `fdatasync`ed — one sync makes the leaf records and
//! the entry durable together; `commit_block` returns after it; (4) the
//! `blocks.dat` record is written, not synced. The entry has flag 4 when
//! neither tree file had writes not yet synced at (3). A block with more than 4 MiB of leaf
//! records syncs them before writing its entry (flag 1), so that recovery
//! never re-reads more than that. Steady state: one `fdatasync` per block,
//! plus one per 32 blocks for `blocks.dat` and two per 16 subtrees for the
//! tree files. With `StoreOptions::sync` off, the same writes happen
//! without the syncs.
//!
//! **Preallocation** (with `sync`). The data files are grown ahead of their
//! data with zeros actually written (in steps of their size so far,
//! 256 KiB to 16 MiB, 1 MiB for `blocks.dat`), so that the `fdatasync` of a
//! commit writes into allocated blocks inside the file size and has no
//! metadata to commit through the filesystem journal. A file's committed
//! length is therefore the one the last block gives, never the file size.
//! A clean close gives the space back.
//!
//! **Why nothing committed is lost, and no root is wrong.** A returned
//! commit's entry and leaf records are durable (step 3). Its `blocks.dat`
//! record may not be, until a later sync of `blocks.dat` (step 2, a rewind,
//! a clean close, a recovering open); its entry is only overwritten after
//! that sync. So every committed block is durable in `blocks.dat` below the
//! newest entry's `durable` mark, or in an entry of the ring. Its tree
//! records are durable, or among those of the last 16 full subtrees
//! written after the newest flag-4 entry, which recovery checks and
//! recomputes from the (durable) leaf records. Writeback may store an entry before the leaf
//! records it covers; if a crash comes in between, the entry's CRC of those
//! bytes does not match, and that commit (which never returned, or was in
//! flight: see below) is dropped. Only the newest entry can be in that
//! state: an entry is only written once the one before it is durable.
//!
//! **Pipelined commits** (`StoreOptions::pipeline`). Step (3)'s
//! `fdatasync` is handed to a thread of the store, and `commit_block`
//! returns once the entry is written; the caller hashes and writes the
//! next block's leaves while the disk syncs. The next commit (before its
//! steps (1)–(3)), a rewind, a clean close and `Store::sync` first wait for
//! that sync, so entries are still written one durable step at a time and
//! every block still gets its own sync: the files go through exactly the
//! states of unpipelined commits, and recovery is the same. What changes
//! is when a block is durable: a machine crash (not a process crash: the
//! written entry is in the page cache) can lose the last returned commit.
//! `Store::durable_block` names the last durable block. A failed sync is
//! reported by the call that waits for it, naming `leaves.dat`, and
//! poisons the store. The two sides poll each other for up to 50 µs and
//! 250 µs before sleeping, since waking a sleeping thread costs a large
//! share of a sync on some machines.
//!
//! **Open.** (1) The newest well-formed entry is the last commit, unless it
//! lacks flag 1 and its CRC does not match its leaf bytes: then it was
//! interrupted and entry `q − 1` is. Every other slot must hold the entry
//! its sequence number puts there (or zeros, before the first 32 entries),
//! except the slot the next entry would use, which a crash can leave torn;
//! a ring without entries means a store without commits, whose
//! `blocks.dat` holds no record. (2) The entries from the newest rewind
//! entry on are the current history: each step keeps the block or moves to
//! the next one. (3) `blocks.dat` must hold records `0..durable` (of the
//! newest entry) and each record the history names must equal its entry;
//! a record at or past `durable` that is missing or torn, which a crash
//! can do, is restored from its entry, and every record from `durable` to
//! the last must have one. Past the last record there may only be zeros,
//! unless the newest entry is a rewind entry: the records past it are then
//! void. (4) `leaves.dat` must reach the last block's length, and the tree
//! files the length of their durable part. Unless the newest entry has
//! flag 4, the records of the full subtrees after the newest flag-4 entry
//! of the history (at most the last 16) and the upper records they
//! completed are checked; from the first one missing or failing its
//! checksum, they are recomputed from the leaf records. (5) A read-write
//! open then writes the restored and recomputed records, cuts `blocks.dat`
//! to the last record and syncs every file, writes an entry saying every
//! record is durable (flags 1 and 4) if the newest one did not say so, and
//! cuts `leaves.dat`, `subtrees.dat` and `upper.dat` at the last block's
//! lengths (uncommitted data and preallocated zeros); a read-only open
//! (`inspect`) reads through the entries and keeps recomputed records in
//! memory instead. (6) The open subtree and the O(log N) frontier are
//! rebuilt and must reproduce the committed root. Anything else — a file
//! shorter than the last block needs, a checksum mismatch, a damaged ring
//! entry, ring entries that disagree, a `blocks.dat` record missing, zeroed
//! or different below the durable mark, a record past the last commit, or
//! another format version — is a typed error naming the file and offset,
//! never a silent repair. After a clean close the newest entry says every
//! record is durable, so a `blocks.dat` cut short or with its last records
//! zeroed, or a torn tree record, is an error. (Corruption in the newest block's leaf records,
//! when its entry lacks flag 1 and its `blocks.dat` record is not there,
//! cannot be told from an interrupted commit: that block is dropped.)
//!
//! **Rewind** ([`QmTree::rewind`]) to one of the last
//! [`MAX_REWIND_BLOCKS`] blocks: (1) `blocks.dat` and the tree files are
//! synced; (2) a rewind entry for the target (every record up to it
//! durable) is written and
//! `leaves.dat` synced; (3) `blocks.dat` is cut after the target's record;
//! (4) `leaves.dat`, `subtrees.dat` and `upper.dat` are cut at its lengths;
//! each cut durably. A crash before (2) is durable reopens at the old head,
//! after it at the target.
//!
//! **Clean close** (dropping the store): (1) `blocks.dat` and the tree
//! files are synced; (2) an entry for the last block with every record
//! durable is written and synced; (3) preallocated space is given back. A
//! crash at any point reopens at the same block.
//!
//! Memory is the open subtree (≤ 2048 leaves and their internal nodes), the
//! frontier, and the components since the last commit (and, for a
//! read-only open after a crash, up to 16 recomputed subtree records).

#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

extern crate alloc;

mod batch;
mod error;
mod hash;
mod proof;
pub mod quantity;
mod shape;
mod tree;

#[cfg(feature = "store")]
pub mod bench;
#[cfg(feature = "store")]
mod store;

pub use batch::{batch_backend, scalar_backend};
pub use error::{Error, Result};
pub use hash::{
    EMPTY_ROOT, EMPTY_SUBTREE, LEAF_PREFIX, LEAF_PREIMAGE_LEN, LeafComponents, NODE_PREFIX,
    NODE_PREIMAGE_LEN, node_hash,
};
pub use proof::{
    InclusionProof, MAX_PROOF_DEPTH, Proof, RANGE_HEADER_LEN, RANGE_PROOF_TAG, RangeProof,
    inclusion_proof_len, inclusion_root, is_range_proof_len, verify_inclusion, verify_leaf,
    verify_range,
};
pub use shape::depth;
#[cfg(feature = "store")]
pub use store::{
    BLOCKS_FILE, FORMAT_FILE, FORMAT_VERSION, FileBackend, FileReport, InspectReport, LEAVES_FILE,
    LOCK_FILE, SUBTREES_FILE, Store, StoreOptions, UPPER_FILE, inspect,
};
pub use tree::{
    Backend, BlockInfo, Leaf, MAX_REWIND_BLOCKS, MemoryBackend, MemoryTree, QmTree, Subtree,
};

/// Leaves per stored subtree.
pub const SUBTREE_LEAVES: u64 = shape::SUBTREE_LEAVES;

/// Hashes many leaves at once (SIMD where the CPU has it); `out[i]` is
/// `leaves[i].hash()`.
///
/// # Panics
/// Never; extra `out` entries are left as they are.
pub fn hash_leaves(leaves: &[LeafComponents], out: &mut [alloy_primitives::B256]) {
    let n = leaves.len().min(out.len());
    batch::hash_leaves(&leaves[..n], &mut out[..n]);
}

/// Hashes many nodes at once; `out[i] = node_hash(children[2i], children[2i + 1])`.
pub fn hash_pairs(children: &[alloy_primitives::B256], out: &mut [alloy_primitives::B256]) {
    let n = (children.len() / 2).min(out.len());
    batch::hash_pairs(&children[..2 * n], &mut out[..n]);
}
