//! Proof codecs: round trips and bad input.

use alloy_primitives::B256;
use cairn_qmtree::{Error, MemoryTree, Proof};

fn sample() -> (MemoryTree, Proof, Proof) {
    let mut t = MemoryTree::new();
    for b in 0..4u64 {
        for i in 0..7u64 {
            let h = B256::with_last_byte((b * 7 + i) as u8);
            t.append_next(h, h, h).unwrap();
        }
        t.commit_block(b).unwrap();
    }
    let inclusion = Proof::Inclusion(t.proof(9, 3).unwrap());
    let range = Proof::Range(t.range_proof(1, 3).unwrap());
    (t, inclusion, range)
}

#[test]
fn binary_and_json_round_trip() {
    let (_, inclusion, range) = sample();
    for p in [inclusion, range] {
        assert_eq!(Proof::from_bytes(&p.to_bytes()).unwrap(), p);
        assert_eq!(Proof::from_json(&p.to_json()).unwrap(), p);
        assert_eq!(Proof::decode(p.to_json().as_bytes()).unwrap(), p);
        assert_eq!(Proof::decode(&p.to_bytes()).unwrap(), p);
    }
}

#[test]
fn json_shape() {
    let (_, inclusion, _) = sample();
    let v: serde_json::Value = serde_json::from_str(&inclusion.to_json()).unwrap();
    assert_eq!(v["type"], "inclusion");
    assert_eq!(v["txNum"], 9);
    assert_eq!(v["leafCount"], 28);
    assert!(v["leafHash"].as_str().unwrap().starts_with("0x"));
    assert!(v["siblings"].is_array());
}

#[test]
fn wrong_lengths_are_rejected() {
    let (_, inclusion, range) = sample();
    for p in [inclusion, range] {
        let bytes = p.to_bytes();
        for len in [0, 1, 16, 17, bytes.len() - 1, bytes.len() - 32] {
            let err = Proof::from_bytes(&bytes[..len]).unwrap_err();
            assert!(matches!(err, Error::ProofLength { .. }), "{len}: {err}");
        }
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[0; 32]);
        assert!(matches!(
            Proof::from_bytes(&longer),
            Err(Error::ProofLength { .. })
        ));
    }
}

#[test]
fn bad_json_is_rejected() {
    let (_, inclusion, _) = sample();
    let json = inclusion.to_json();
    let Proof::Inclusion(p) = &inclusion else {
        unreachable!()
    };
    let not_hex = json.replacen(&format!("{}", p.leaf_hash), "0xnothex", 1);
    assert!(matches!(
        Proof::from_json(&not_hex),
        Err(Error::ProofJson { .. })
    ));
    assert!(matches!(
        Proof::from_json("{"),
        Err(Error::ProofJson { .. })
    ));
    assert!(matches!(
        Proof::from_json(r#"{"type":"inclusion"}"#),
        Err(Error::ProofJson { .. })
    ));
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["siblings"].as_array_mut().unwrap().pop();
    assert!(matches!(
        Proof::from_json(&v.to_string()),
        Err(Error::ProofLength { .. })
    ));
    assert!(matches!(
        Proof::decode(b"  {\xff"),
        Err(Error::ProofNotUtf8 { .. })
    ));
}

#[test]
fn unknown_tag_and_out_of_range() {
    let (_, inclusion, _) = sample();
    let mut bytes = inclusion.to_bytes();
    bytes[0] = 0x07;
    assert!(matches!(
        Proof::from_bytes(&bytes),
        Err(Error::UnknownProofTag { tag: 0x07 })
    ));
    let mut bytes = inclusion.to_bytes();
    bytes[9..17].copy_from_slice(&5u64.to_be_bytes()); // leafCount 5 < txNum 9
    assert!(matches!(
        Proof::from_bytes(&bytes),
        Err(Error::TxOutOfRange {
            tx_num: 9,
            leaf_count: 5
        })
    ));
}

#[test]
fn proof_at_2_pow_32_leaves_has_32_siblings() {
    let p = cairn_qmtree::InclusionProof {
        tx_num: 123_456_789,
        leaf_count: 1 << 32,
        leaf_hash: B256::ZERO,
        siblings: vec![B256::ZERO; 32],
    };
    assert_eq!(p.to_bytes().len(), 1073);
    assert_eq!(
        Proof::from_bytes(&p.to_bytes()).unwrap(),
        Proof::Inclusion(p)
    );
}
