//! `.seg` files: round trip, atomic writes, and typed errors for truncated, corrupt, forged
//! and other-version files.

use crate::common::fixture;
use alloy_primitives::{B256, Bytes, keccak256};
use cairn_prover::{
    BackendId, BackendKind, Error, ExecBackend, PROGRAM_ID, Seg, SegFault, SegProof,
};

fn sample() -> Seg {
    let fx = fixture();
    let batch = fx.batch(1, 4);
    Seg {
        program_id: PROGRAM_ID,
        public_values: batch.public_values.clone(),
        binding: batch.binding.clone(),
        proofs: vec![
            SegProof {
                backend: BackendId::exec(),
                proof: ExecBackend::encode_proof(&PROGRAM_ID, &fx.input(1, 4)),
            },
            SegProof {
                backend: BackendId::new(BackendKind::Zk, "sp1").unwrap(),
                proof: Bytes::from_static(b"opaque"),
            },
        ],
    }
}

fn fault(bytes: &[u8]) -> SegFault {
    match Seg::from_bytes(bytes) {
        Err(Error::Seg(fault)) => fault,
        other => panic!("expected a .seg fault, got {other:?}"),
    }
}

/// Recomputes the trailing checksum, as a forger would.
fn reseal(bytes: &mut [u8]) {
    let n = bytes.len() - 32;
    let sum = keccak256(&bytes[..n]);
    bytes[n..].copy_from_slice(sum.as_slice());
}

#[test]
fn round_trip_and_layout() {
    let seg = sample();
    let bytes = seg.to_bytes().unwrap();
    assert_eq!(&bytes[..8], b"CAIRNSEG");
    assert_eq!(&bytes[8..10], &[0, 1]);
    assert_eq!(u64::from_be_bytes(bytes[12..20].try_into().unwrap()), 1);
    assert_eq!(u64::from_be_bytes(bytes[20..28].try_into().unwrap()), 4);
    assert_eq!(&bytes[28..60], PROGRAM_ID.as_slice());
    assert_eq!(Seg::from_bytes(&bytes).unwrap(), seg);
}

#[test]
fn every_truncation_is_a_typed_error() {
    let bytes = sample().to_bytes().unwrap();
    for len in 0..bytes.len() {
        match Seg::from_bytes(&bytes[..len]) {
            Err(Error::Seg(SegFault::Truncated { .. } | SegFault::ChecksumMismatch { .. })) => {}
            other => panic!("truncated to {len}: {other:?}"),
        }
    }
    // Cut inside the last proof: reported as truncated, naming the section.
    assert!(matches!(
        fault(&bytes[..bytes.len() - 40]),
        SegFault::Truncated {
            section: "proof",
            ..
        }
    ));
}

/// Found by the `seg_reader` fuzz target: a header with bad flags, shorter than a checksum,
/// used to panic while reading the checksum.
#[test]
fn a_file_shorter_than_its_checksum_is_truncated_not_a_panic() {
    let mut bytes = b"CAIRNSEG\x00\x01\x2a\x00".to_vec();
    bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0x9d, 0xef, 0x0c, 0xaf]);
    assert_eq!(bytes.len(), 21);
    assert!(matches!(
        fault(&bytes),
        SegFault::Truncated {
            section: "checksum",
            needed: 32,
            len: 21
        }
    ));
}

#[test]
fn corruption_is_caught_by_the_checksum() {
    let bytes = sample().to_bytes().unwrap();
    for at in (10..bytes.len()).step_by(97) {
        let mut b = bytes.clone();
        b[at] ^= 0x80;
        match Seg::from_bytes(&b) {
            Err(Error::Seg(_)) => {}
            other => panic!("flipped byte {at}: {other:?}"),
        }
    }
    let mut b = bytes;
    let mid = b.len() / 2;
    b[mid] ^= 1;
    assert!(matches!(fault(&b), SegFault::ChecksumMismatch { .. }));
}

#[test]
fn other_versions_and_other_files_are_named() {
    let mut bytes = sample().to_bytes().unwrap();
    bytes[9] = 2;
    assert_eq!(
        fault(&bytes),
        SegFault::UnsupportedVersion {
            found: 2,
            supported: 1
        }
    );
    assert_eq!(fault(b"{\"not\": \"a seg\"}"), SegFault::NotASeg);
}

#[test]
fn forged_files_are_refused_even_with_a_valid_checksum() {
    let bytes = sample().to_bytes().unwrap();
    // Header range moved to another batch.
    let mut b = bytes.clone();
    b[27] = 9;
    reseal(&mut b);
    assert!(matches!(fault(&b), SegFault::RangeMismatch { .. }));
    // Nonzero flags.
    let mut b = bytes.clone();
    b[11] = 1;
    reseal(&mut b);
    assert!(matches!(fault(&b), SegFault::Field { field: "flags", .. }));
    // Extra bytes before the checksum.
    let mut b = bytes[..bytes.len() - 32].to_vec();
    b.push(0);
    b.extend_from_slice(&[0; 32]);
    reseal(&mut b);
    assert!(matches!(fault(&b), SegFault::TrailingBytes { bytes: 1 }));
    // Two proofs from one backend cannot be written.
    let mut seg = sample();
    seg.proofs[1].backend = BackendId::exec();
    assert!(matches!(
        seg.to_bytes(),
        Err(Error::Seg(SegFault::DuplicateProof { .. }))
    ));
    // Nor zero proofs.
    let mut seg = sample();
    seg.proofs.clear();
    assert!(seg.to_bytes().is_err());
}

#[test]
fn atomic_write_leaves_the_file_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("batch.seg");
    let seg = sample();
    let written = seg.write_atomic(&path).unwrap();
    assert_eq!(written, std::fs::metadata(&path).unwrap().len());
    assert_eq!(Seg::read(&path).unwrap(), seg);
    // A file that cannot be written leaves no file and no temporary behind.
    let mut bad = seg.clone();
    bad.proofs.clear();
    let other = dir.path().join("bad.seg");
    assert!(bad.write_atomic(&other).is_err());
    assert!(!other.exists());
    let missing = dir.path().join("no/such/dir/x.seg");
    assert!(matches!(seg.write_atomic(&missing), Err(Error::Io { .. })));
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("batch.seg")]);
    // Reading names the path.
    std::fs::write(dir.path().join("junk.seg"), b"CAIRNSEG\x00\x07").unwrap();
    let err = Seg::read(&dir.path().join("junk.seg")).unwrap_err();
    assert!(err.to_string().contains("junk.seg"), "{err}");
    let _ = B256::ZERO;
}
