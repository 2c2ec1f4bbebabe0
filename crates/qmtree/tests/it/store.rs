//! The file store: recovery, corruption, bad input, rewind, inspect.

use std::{fs, os::unix::fs::FileExt, path::Path};

use cairn_qmtree::{Error, FORMAT_VERSION, MemoryTree, Store, StoreOptions, inspect};

use crate::workload;

const SEED: u64 = 11;
/// The commit ring at the start of `leaves.dat`.
const RING: u64 = 4096;

fn nosync() -> StoreOptions {
    StoreOptions {
        create: true,
        sync: false,
        pipeline: false,
    }
}

/// A store with blocks 0..blocks of the workload.
fn build(dir: &Path, blocks: u64) -> Store {
    let mut s = Store::open_with(dir, nosync()).unwrap();
    for b in 0..blocks {
        workload::append_block(&mut s, SEED, b).unwrap();
    }
    s
}

fn reference(blocks: u64) -> MemoryTree {
    let mut t = MemoryTree::new();
    for b in 0..blocks {
        workload::append_block(&mut t, SEED, b).unwrap();
    }
    t
}

fn flip_byte(path: &Path, offset: u64) {
    let f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, offset).unwrap();
    b[0] ^= 0x40;
    f.write_all_at(&b, offset).unwrap();
}

#[test]
fn reopen_drops_uncommitted_data_and_continues() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = build(dir.path(), 40);
    let committed = s.latest_block().unwrap();
    // Uncommitted: enough leaves to spill components and a subtree to disk.
    for _ in 0..5000 {
        let (a, b, c) = workload::contents(99, s.leaf_count());
        s.append_next(a, b, c).unwrap();
    }
    drop(s);
    let mut s = Store::open_with(dir.path(), nosync()).unwrap();
    assert_eq!(s.latest_block(), Some(committed));
    assert_eq!(s.leaf_count(), committed.leaf_count);
    let len = fs::metadata(dir.path().join("leaves.dat")).unwrap().len();
    assert_eq!(len, RING + committed.leaf_count * 100);
    for b in 40..60 {
        workload::append_block(&mut s, SEED, b).unwrap();
    }
    let mut r = reference(60);
    assert_eq!(s.current_root(), r.current_root());
    for b in (0..60).step_by(7) {
        assert_eq!(s.root_at(b).unwrap(), r.root_at(b).unwrap());
    }
}

#[test]
fn bytes_past_the_last_block_record_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let s = build(dir.path(), 10);
    let latest = s.latest_block();
    drop(s);
    let blocks = dir.path().join("blocks.dat");
    let good = fs::read(&blocks).unwrap();
    let mut bytes = good.clone();
    bytes.extend_from_slice(&[0xAB; 77]);
    fs::write(&blocks, bytes).unwrap();
    // No commit writes a record its ring entry does not name: this is not
    // a crash's leftover, and nothing is cut.
    match Store::open(dir.path()) {
        Err(Error::BadRecord { path, offset, .. }) => {
            assert!(path.ends_with("blocks.dat"));
            assert_eq!(offset, 10 * 128);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fs::metadata(&blocks).unwrap().len(), 10 * 128 + 77);
    // Zeros past the end (preallocation) are fine.
    let mut bytes = good;
    bytes.extend_from_slice(&[0; 300]);
    fs::write(&blocks, bytes).unwrap();
    let s = Store::open(dir.path()).unwrap();
    assert_eq!(s.latest_block(), latest);
    drop(s);
    assert_eq!(fs::metadata(&blocks).unwrap().len(), 10 * 128);
}

/// The audit's repro: a store closed cleanly, then `blocks.dat` cut by one
/// record. Neither `inspect` nor a read-write open shows one block fewer.
#[test]
fn blocks_dat_cut_by_one_record_is_an_error() {
    for sync in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions {
            sync,
            ..StoreOptions::default()
        };
        let mut s = Store::open_with(dir.path(), options).unwrap();
        for b in 0..30 {
            workload::append_block(&mut s, SEED, b).unwrap();
        }
        let leaves_len = RING + s.leaf_count() * 100;
        drop(s);
        let blocks = dir.path().join("blocks.dat");
        fs::OpenOptions::new()
            .write(true)
            .open(&blocks)
            .unwrap()
            .set_len(29 * 128)
            .unwrap();
        for e in [
            inspect(dir.path(), true).unwrap_err(),
            Store::open_with(dir.path(), options).unwrap_err(),
        ] {
            match e {
                Error::BadRecord { path, offset, .. } => {
                    assert!(path.ends_with("blocks.dat"), "{path:?}");
                    assert_eq!(offset, 29 * 128);
                }
                other => panic!("sync {sync}: {other:?}"),
            }
        }
        let len = fs::metadata(dir.path().join("leaves.dat")).unwrap().len();
        assert_eq!(len, leaves_len, "committed leaves were cut");
    }
}

#[test]
fn corrupted_records_are_typed_errors_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let s = build(dir.path(), 60); // > 2048 leaves: full subtrees exist
    let n = s.leaf_count();
    assert!(n > 2 * 2048, "{n}");
    let good_root = s.root_at(30).unwrap();
    drop(s);

    // A leaf hash in a full subtree: proofs through it fail, roots stay right.
    flip_byte(&dir.path().join("subtrees.dat"), 5 * 32 + 3);
    let s = Store::open(dir.path()).unwrap();
    assert_eq!(s.root_at(30).unwrap(), good_root);
    match s.proof(5, 59) {
        Err(Error::Corrupted { path, offset }) => {
            assert!(path.ends_with("subtrees.dat"));
            assert_eq!(offset, 0);
        }
        other => panic!("{other:?}"),
    }
    drop(s);

    // A block record in the middle: reading it fails.
    flip_byte(&dir.path().join("blocks.dat"), 10 * 128 + 20);
    let s = Store::open(dir.path()).unwrap();
    match s.root_at(10) {
        Err(Error::Corrupted { path, offset }) => {
            assert!(path.ends_with("blocks.dat"));
            assert_eq!(offset, 10 * 128);
        }
        other => panic!("{other:?}"),
    }
    drop(s);
    // One of the last blocks' records (the commit ring checks those): the
    // open fails.
    flip_byte(&dir.path().join("blocks.dat"), 50 * 128 + 20);
    match Store::open(dir.path()) {
        Err(Error::Corrupted { path, offset }) => {
            assert!(path.ends_with("blocks.dat"));
            assert_eq!(offset, 50 * 128);
        }
        other => panic!("{other:?}"),
    }
    flip_byte(&dir.path().join("blocks.dat"), 50 * 128 + 20);

    // A leaf in the open subtree: the open itself fails.
    let tx = n - 3;
    flip_byte(&dir.path().join("leaves.dat"), RING + tx * 100 + 40);
    match Store::open(dir.path()) {
        Err(Error::Corrupted { path, offset }) => {
            assert!(path.ends_with("leaves.dat"));
            assert_eq!(offset, RING + tx * 100);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn tampering_that_keeps_checksums_is_caught_by_recomputation() {
    let dir = tempfile::tempdir().unwrap();
    let s = build(dir.path(), 60);
    let n = s.leaf_count();
    drop(s);
    // Rewrite leaf 100's first component and fix its CRC.
    let leaves = dir.path().join("leaves.dat");
    let f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&leaves)
        .unwrap();
    let mut rec = [0u8; 100];
    f.read_exact_at(&mut rec, RING + 100 * 100).unwrap();
    rec[0] ^= 1;
    let mut h = crc32fast::Hasher::new();
    h.update(&100u64.to_le_bytes());
    h.update(&rec[..96]);
    rec[96..].copy_from_slice(&h.finalize().to_le_bytes());
    f.write_all_at(&rec, RING + 100 * 100).unwrap();
    drop(f);
    // Leaf 100 is in a full subtree: opening works, `leaf` notices, and the
    // deep check names the leaf's record.
    let s = Store::open(dir.path()).unwrap();
    assert!(matches!(
        s.leaf(100),
        Err(Error::Inconsistent { tx_num: 100, .. })
    ));
    drop(s);
    match inspect(dir.path(), true) {
        Err(Error::BadRecord { path, offset, .. }) => {
            assert!(path.ends_with("leaves.dat"), "{path:?}");
            assert_eq!(offset, RING + 100 * 100);
        }
        other => panic!("{other:?}"),
    }
    let quick = inspect(dir.path(), false).unwrap();
    assert_eq!(quick.leaves, n);
}

#[test]
fn missing_truncated_foreign_and_locked() {
    let dir = tempfile::tempdir().unwrap();
    let s = build(dir.path(), 20);
    assert!(matches!(Store::open(dir.path()), Err(Error::Locked { .. })));
    drop(s);

    // Truncated data file.
    let leaves = dir.path().join("leaves.dat");
    let len = fs::metadata(&leaves).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&leaves)
        .unwrap()
        .set_len(len - 1)
        .unwrap();
    assert!(
        matches!(Store::open(dir.path()), Err(Error::Truncated { expected, actual, .. }) if expected == len && actual == len - 1)
    );

    // Missing data file.
    fs::remove_file(&leaves).unwrap();
    assert!(
        matches!(Store::open(dir.path()), Err(Error::MissingFile { path }) if path.ends_with("leaves.dat"))
    );

    // Another format version (checksum fixed up, so only the version differs):
    // older ones (1: no commit ring; 2: the ring at the end of leaves.dat,
    // and roots wrapped with the leaf count) and a newer one.
    let format = dir.path().join("FORMAT");
    let good = fs::read(&format).unwrap();
    for version in [1, 2, FORMAT_VERSION + 1] {
        let mut header = good.clone();
        header[8..12].copy_from_slice(&version.to_le_bytes());
        let mut h = crc32fast::Hasher::new();
        h.update(&0u64.to_le_bytes());
        h.update(&header[..60]);
        let sum = h.finalize();
        header[60..].copy_from_slice(&sum.to_le_bytes());
        fs::write(&format, &header).unwrap();
        assert!(
            matches!(
                Store::open(dir.path()),
                Err(Error::UnsupportedFormat { found, supported: FORMAT_VERSION, .. }) if found == version
            ),
            "version {version}"
        );
    }

    // Not a store at all.
    fs::write(&format, b"hello, world").unwrap();
    assert!(matches!(
        Store::open(dir.path()),
        Err(Error::NotAStore { .. })
    ));

    // Data files without FORMAT: never created by us.
    fs::remove_file(&format).unwrap();
    assert!(
        matches!(Store::open(dir.path()), Err(Error::MissingFile { path }) if path.ends_with("FORMAT"))
    );

    // Inspect does not create a store.
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        inspect(empty.path(), true),
        Err(Error::MissingFile { .. })
    ));
}

#[test]
fn rewind_is_durable_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = build(dir.path(), 600);
    assert!(matches!(
        s.rewind(50),
        Err(Error::RewindTooDeep {
            target: 50,
            latest: 599,
            max: 512
        })
    ));
    assert!(matches!(
        s.rewind(600),
        Err(Error::BlockNotFound { block: 600 })
    ));
    let target = s.rewind(590 - 500).unwrap();
    assert_eq!(s.leaf_count(), target.leaf_count);
    drop(s);
    let mut s = Store::open_with(dir.path(), nosync()).unwrap();
    assert_eq!(s.latest_block(), Some(target));
    assert!(matches!(
        s.root_at(91),
        Err(Error::BlockNotFound { block: 91 })
    ));
    // Replay with different content after the reorg.
    let mut r = reference(91);
    for b in 91..120 {
        for _ in 0..workload::block_leaves(SEED + 1, b) {
            let (a, bb, c) = workload::contents(SEED + 1, s.leaf_count());
            s.append_next(a, bb, c).unwrap();
            r.append_next(a, bb, c).unwrap();
        }
        assert_eq!(s.commit_block(b).unwrap(), r.commit_block(b).unwrap());
    }
    let p = s.range_proof(10, 119).unwrap();
    cairn_qmtree::verify_range(&p, &r.root_at(10).unwrap(), &r.root_at(119).unwrap()).unwrap();
    drop(s);
    let report = inspect(dir.path(), true).unwrap();
    assert_eq!(report.latest_block, Some(119));
    assert_eq!(report.checked_blocks, 120);
    assert!(
        report.tree_bytes_per_leaf <= 36.0,
        "{}",
        report.tree_bytes_per_leaf
    );
}

#[test]
fn empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap();
    assert_eq!(s.latest_block(), None);
    assert_eq!(s.current_root(), cairn_qmtree::EMPTY_ROOT);
    assert!(matches!(
        s.root_at(0),
        Err(Error::BlockNotFound { block: 0 })
    ));
    s.commit_block(5).unwrap();
    drop(s);
    let report = inspect(dir.path(), true).unwrap();
    assert_eq!(
        (report.blocks, report.leaves, report.first_block),
        (1, 0, Some(5))
    );
}
