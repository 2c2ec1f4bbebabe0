//! Byte layouts of the store's files (documented in the crate docs).

use alloy_primitives::B256;

use crate::{
    hash::LeafComponents,
    shape::{GROUP_LEAVES, GROUPS_PER_SUBTREE, STORED_INTERNAL_NODES, SUBTREE_LEAVES, upper_count},
    tree::{BlockInfo, Subtree},
};

/// Store format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 3;
/// Magic at the start of the `FORMAT` file.
pub(crate) const MAGIC: [u8; 8] = *b"CAIRNQMT";
/// Size of the `FORMAT` file.
pub(crate) const HEADER_LEN: usize = 64;

/// `leaves.dat` record: three components and a CRC.
pub(crate) const LEAF_RECORD: usize = 3 * 32 + 4;
/// One checksummed group of 32 leaf hashes in a subtree record.
pub(crate) const GROUP_RECORD: usize = GROUP_LEAVES as usize * 32 + 4;
/// The checksummed internal-node section of a subtree record.
pub(crate) const INTERNAL_RECORD: usize = STORED_INTERNAL_NODES * 32 + 4;
/// `subtrees.dat` record: 64 groups then the internal section.
pub(crate) const SUBTREE_RECORD: usize =
    GROUPS_PER_SUBTREE as usize * GROUP_RECORD + INTERNAL_RECORD;
/// `upper.dat` record: a node and a CRC.
pub(crate) const UPPER_RECORD: usize = 32 + 4;
/// `blocks.dat` record.
pub(crate) const BLOCK_RECORD: usize = 128;

/// Offset of leaf record `tx` in `leaves.dat` (after the commit ring).
pub(crate) const fn leaf_offset(tx: u64) -> u64 {
    RING_BYTES + tx * LEAF_RECORD as u64
}

/// Committed file lengths for a tree of `leaf_count` leaves:
/// (`leaves.dat`, `subtrees.dat`, `upper.dat`).
pub(crate) const fn data_lengths(leaf_count: u64) -> (u64, u64, u64) {
    let full = leaf_count / SUBTREE_LEAVES;
    (
        leaf_offset(leaf_count),
        full * SUBTREE_RECORD as u64,
        upper_count(full) * UPPER_RECORD as u64,
    )
}

fn crc(index: u64, data: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&index.to_le_bytes());
    h.update(data);
    h.finalize()
}

fn crc_at(buf: &[u8]) -> u32 {
    let n = buf.len();
    u32::from_le_bytes([buf[n - 4], buf[n - 3], buf[n - 2], buf[n - 1]])
}

fn read_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn read_u64(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// The `FORMAT` file.
pub(crate) fn encode_header() -> [u8; HEADER_LEN] {
    let mut b = [0u8; HEADER_LEN];
    b[..8].copy_from_slice(&MAGIC);
    let fields = [
        FORMAT_VERSION,
        crate::shape::SUBTREE_HEIGHT,
        crate::shape::GROUP_HEIGHT,
        LEAF_RECORD as u32,
        SUBTREE_RECORD as u32,
        UPPER_RECORD as u32,
        BLOCK_RECORD as u32,
    ];
    for (i, f) in fields.iter().enumerate() {
        b[8 + 4 * i..12 + 4 * i].copy_from_slice(&f.to_le_bytes());
    }
    let c = crc(0, &b[..HEADER_LEN - 4]);
    b[HEADER_LEN - 4..].copy_from_slice(&c.to_le_bytes());
    b
}

/// What is wrong with a `FORMAT` file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeaderProblem {
    Magic,
    Checksum,
    Version(u32),
    Layout,
}

pub(crate) fn check_header(b: &[u8; HEADER_LEN]) -> Result<(), HeaderProblem> {
    if b[..8] != MAGIC {
        return Err(HeaderProblem::Magic);
    }
    if crc(0, &b[..HEADER_LEN - 4]) != crc_at(b) {
        return Err(HeaderProblem::Checksum);
    }
    let version = read_u32(b, 8);
    if version != FORMAT_VERSION {
        return Err(HeaderProblem::Version(version));
    }
    if b[..] != encode_header()[..] {
        return Err(HeaderProblem::Layout);
    }
    Ok(())
}

pub(crate) fn encode_leaf(tx_num: u64, c: &LeafComponents, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(c.pre_state_hash.as_slice());
    out.extend_from_slice(c.state_change_hash.as_slice());
    out.extend_from_slice(c.transition_hash.as_slice());
    let sum = crc(tx_num, &out[start..]);
    out.extend_from_slice(&sum.to_le_bytes());
}

/// Decodes a `leaves.dat` record; `None` on checksum mismatch.
pub(crate) fn decode_leaf(tx_num: u64, b: &[u8]) -> Option<LeafComponents> {
    if crc(tx_num, &b[..96]) != crc_at(&b[..LEAF_RECORD]) {
        return None;
    }
    Some(LeafComponents {
        pre_state_hash: B256::from_slice(&b[..32]),
        state_change_hash: B256::from_slice(&b[32..64]),
        transition_hash: B256::from_slice(&b[64..96]),
        previous_leaf_hash: B256::ZERO,
    })
}

/// Checksum index of group `group` of subtree `subtree`.
fn group_index(subtree: u64, group: u64) -> u64 {
    subtree * (GROUPS_PER_SUBTREE + 1) + group
}

/// Appends `hashes ‖ crc(index, hashes)`: the layout of every record of hashes.
fn encode_hashes(index: u64, hashes: &[B256], out: &mut Vec<u8>) {
    let start = out.len();
    for h in hashes {
        out.extend_from_slice(h.as_slice());
    }
    let sum = crc(index, &out[start..]);
    out.extend_from_slice(&sum.to_le_bytes());
}

/// Reads an `N`-hash record written by [`encode_hashes`]; `None` on a checksum mismatch.
fn decode_hashes<const N: usize>(index: u64, b: &[u8]) -> Option<[B256; N]> {
    let len = 32 * N;
    if crc(index, &b[..len]) != crc_at(&b[..len + 4]) {
        return None;
    }
    let mut out = [B256::ZERO; N];
    for (o, chunk) in out.iter_mut().zip(b.chunks_exact(32)) {
        *o = B256::from_slice(chunk);
    }
    Some(out)
}

pub(crate) fn encode_subtree(index: u64, s: &Subtree, out: &mut Vec<u8>) {
    for (g, leaves) in s.leaves.chunks_exact(GROUP_LEAVES as usize).enumerate() {
        encode_hashes(group_index(index, g as u64), leaves, out);
    }
    encode_hashes(group_index(index, GROUPS_PER_SUBTREE), &s.internal, out);
}

/// Byte offset of group `group` inside a subtree record.
pub(crate) const fn group_offset(group: u64) -> u64 {
    group * GROUP_RECORD as u64
}

/// Byte offset of the internal section inside a subtree record.
pub(crate) const INTERNAL_OFFSET: u64 = group_offset(GROUPS_PER_SUBTREE);

pub(crate) fn decode_group(
    subtree: u64,
    group: u64,
    b: &[u8],
) -> Option<[B256; GROUP_LEAVES as usize]> {
    decode_hashes(group_index(subtree, group), b)
}

pub(crate) fn decode_internal(subtree: u64, b: &[u8]) -> Option<[B256; STORED_INTERNAL_NODES]> {
    decode_hashes(group_index(subtree, GROUPS_PER_SUBTREE), b)
}

pub(crate) fn encode_upper(pos: u64, node: &B256) -> [u8; UPPER_RECORD] {
    let mut b = [0u8; UPPER_RECORD];
    b[..32].copy_from_slice(node.as_slice());
    let sum = crc(pos, &b[..32]);
    b[32..].copy_from_slice(&sum.to_le_bytes());
    b
}

pub(crate) fn decode_upper(pos: u64, b: &[u8]) -> Option<B256> {
    decode_hashes::<1>(pos, b).map(|[h]| h)
}

pub(crate) fn encode_block(b: &BlockInfo) -> [u8; BLOCK_RECORD] {
    let mut r = [0u8; BLOCK_RECORD];
    r[0..8].copy_from_slice(&b.number.to_le_bytes());
    r[8..16].copy_from_slice(&b.leaf_count.to_le_bytes());
    r[16..48].copy_from_slice(b.root.as_slice());
    r[48..80].copy_from_slice(b.last_leaf_hash.as_slice());
    let (l, s, u) = data_lengths(b.leaf_count);
    r[80..88].copy_from_slice(&l.to_le_bytes());
    r[88..96].copy_from_slice(&s.to_le_bytes());
    r[96..104].copy_from_slice(&u.to_le_bytes());
    let sum = crc(b.number, &r[..BLOCK_RECORD - 4]);
    r[BLOCK_RECORD - 4..].copy_from_slice(&sum.to_le_bytes());
    r
}

/// Slots in the commit ring at the start of `leaves.dat`.
pub(crate) const RING_SLOTS: u64 = 32;
/// A commit-ring slot.
pub(crate) const RING_RECORD: usize = 128;
/// The commit ring: the first page of `leaves.dat`.
pub(crate) const RING_BYTES: u64 = RING_SLOTS * RING_RECORD as u64;
/// Magic at the start of a commit-ring entry.
const RING_MAGIC: [u8; 4] = *b"QMTR";
/// Ring flag: the block's leaf records were durable before the entry was
/// written, so recovery need not check them.
pub(crate) const RING_DATA_SYNCED: u32 = 1;
/// Ring flag: written by a rewind; `blocks.dat` records past the entry's
/// index are void.
pub(crate) const RING_REWIND: u32 = 2;
/// Ring flag: every `subtrees.dat` and `upper.dat` record the block needs
/// was durable when the entry was written.
pub(crate) const RING_TREE_SYNCED: u32 = 4;

/// A commit-ring entry: the store's evidence of its last committed block,
/// independent of `blocks.dat`, and a block record that is durable before
/// its `blocks.dat` record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RingEntry {
    /// Write sequence number; the entry lives in slot `seq % RING_SLOTS`.
    pub(crate) seq: u64,
    /// The block.
    pub(crate) info: BlockInfo,
    /// Its record's index in `blocks.dat`.
    pub(crate) index: u64,
    /// Leaves before the block: its leaves are `prev_leaf_count..info.leaf_count`.
    pub(crate) prev_leaf_count: u64,
    /// `blocks.dat` records `0..durable` were durable when the entry was written.
    pub(crate) durable: u64,
    /// CRC-32 of the block's bytes in `leaves.dat`.
    pub(crate) data_crc: u32,
    /// [`RING_DATA_SYNCED`], [`RING_REWIND`] and [`RING_TREE_SYNCED`].
    pub(crate) flags: u32,
}

impl RingEntry {
    pub(crate) const fn data_synced(&self) -> bool {
        self.flags & RING_DATA_SYNCED != 0
    }

    pub(crate) const fn rewind(&self) -> bool {
        self.flags & RING_REWIND != 0
    }

    pub(crate) const fn tree_synced(&self) -> bool {
        self.flags & RING_TREE_SYNCED != 0
    }
}

pub(crate) fn encode_ring(e: &RingEntry) -> [u8; RING_RECORD] {
    let mut r = [0u8; RING_RECORD];
    r[0..4].copy_from_slice(&RING_MAGIC);
    r[4..8].copy_from_slice(&e.flags.to_le_bytes());
    r[8..16].copy_from_slice(&e.seq.to_le_bytes());
    r[16..24].copy_from_slice(&e.info.number.to_le_bytes());
    r[24..32].copy_from_slice(&e.index.to_le_bytes());
    r[32..40].copy_from_slice(&e.info.leaf_count.to_le_bytes());
    r[40..48].copy_from_slice(&e.prev_leaf_count.to_le_bytes());
    r[48..56].copy_from_slice(&e.durable.to_le_bytes());
    r[56..88].copy_from_slice(e.info.root.as_slice());
    r[88..120].copy_from_slice(e.info.last_leaf_hash.as_slice());
    r[120..124].copy_from_slice(&e.data_crc.to_le_bytes());
    let sum = crc(e.seq, &r[..RING_RECORD - 4]);
    r[RING_RECORD - 4..].copy_from_slice(&sum.to_le_bytes());
    r
}

/// Decodes a commit-ring slot; `None` for anything but a well-formed entry
/// (an empty slot is all zeros).
pub(crate) fn decode_ring(r: &[u8]) -> Option<RingEntry> {
    let r = r.get(..RING_RECORD)?;
    let seq = read_u64(r, 8);
    let entry = RingEntry {
        seq,
        info: BlockInfo {
            number: read_u64(r, 16),
            leaf_count: read_u64(r, 32),
            root: B256::from_slice(&r[56..88]),
            last_leaf_hash: B256::from_slice(&r[88..120]),
        },
        index: read_u64(r, 24),
        prev_leaf_count: read_u64(r, 40),
        durable: read_u64(r, 48),
        data_crc: read_u32(r, 120),
        flags: read_u32(r, 4),
    };
    (r[..4] == RING_MAGIC
        && crc(seq, &r[..RING_RECORD - 4]) == crc_at(r)
        && entry.flags & !(RING_DATA_SYNCED | RING_REWIND | RING_TREE_SYNCED) == 0
        && entry.prev_leaf_count <= entry.info.leaf_count
        && entry.index <= entry.info.number
        && entry.durable <= entry.index + 1)
        .then_some(entry)
}

/// What is wrong with a block record.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BlockProblem {
    Checksum,
    Lengths,
}

pub(crate) fn decode_block(r: &[u8]) -> Result<BlockInfo, BlockProblem> {
    let number = read_u64(r, 0);
    if crc(number, &r[..BLOCK_RECORD - 4]) != crc_at(&r[..BLOCK_RECORD]) {
        return Err(BlockProblem::Checksum);
    }
    let leaf_count = read_u64(r, 8);
    if (read_u64(r, 80), read_u64(r, 88), read_u64(r, 96)) != data_lengths(leaf_count)
        || r[104..BLOCK_RECORD - 4].iter().any(|&b| b != 0)
    {
        return Err(BlockProblem::Lengths);
    }
    Ok(BlockInfo {
        number,
        leaf_count,
        root: B256::from_slice(&r[16..48]),
        last_leaf_hash: B256::from_slice(&r[48..80]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(LEAF_RECORD, 100);
        assert_eq!(SUBTREE_RECORD, 69_860);
        // Tree data per leaf stays under 36 bytes (subtrees + upper nodes).
        let per_leaf = (SUBTREE_RECORD as f64 + UPPER_RECORD as f64) / SUBTREE_LEAVES as f64;
        assert!(per_leaf <= 36.0, "{per_leaf}");
    }

    #[test]
    fn block_roundtrip_and_tamper() {
        let b = BlockInfo {
            number: 9,
            leaf_count: 5000,
            root: B256::repeat_byte(7),
            last_leaf_hash: B256::repeat_byte(8),
        };
        let mut r = encode_block(&b);
        assert_eq!(decode_block(&r), Ok(b));
        r[20] ^= 1;
        assert_eq!(decode_block(&r), Err(BlockProblem::Checksum));
    }

    #[test]
    fn ring_roundtrip_and_tamper() {
        let e = RingEntry {
            seq: 40,
            info: BlockInfo {
                number: 12,
                leaf_count: 5000,
                root: B256::repeat_byte(7),
                last_leaf_hash: B256::repeat_byte(8),
            },
            index: 10,
            prev_leaf_count: 4800,
            durable: 9,
            data_crc: 0xDEAD_BEEF,
            flags: RING_DATA_SYNCED,
        };
        let r = encode_ring(&e);
        assert_eq!(decode_ring(&r), Some(e));
        assert_eq!(decode_ring(&[0u8; RING_RECORD]), None);
        for i in 0..RING_RECORD {
            let mut t = r;
            t[i] ^= 0x10;
            assert_eq!(decode_ring(&t), None, "byte {i}");
        }
        // A block record is never taken for a ring entry.
        assert_eq!(decode_ring(&encode_block(&e.info)), None);
        assert_eq!(RING_BYTES, 4096);
    }

    #[test]
    fn header_checks() {
        let mut h = encode_header();
        assert_eq!(check_header(&h), Ok(()));
        h[8] ^= 0x40;
        assert_eq!(check_header(&h), Err(HeaderProblem::Checksum));
        for version in [1, 2, FORMAT_VERSION + 1] {
            h[8..12].copy_from_slice(&version.to_le_bytes());
            let c = crc(0, &h[..HEADER_LEN - 4]);
            h[HEADER_LEN - 4..].copy_from_slice(&c.to_le_bytes());
            assert_eq!(check_header(&h), Err(HeaderProblem::Version(version)));
        }
    }
}
