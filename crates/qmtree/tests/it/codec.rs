//! Proof codecs: round trips, bad input, and the leaf check.

use alloy_primitives::B256;
use cairn_qmtree::{
    EMPTY_SUBTREE, Error, InclusionProof, MemoryTree, Proof, RangeProof, inclusion_proof_len,
    is_range_proof_len, verify_inclusion, verify_leaf,
};

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

fn inclusion(p: &Proof) -> &InclusionProof {
    match p {
        Proof::Inclusion(i) => i,
        Proof::Range(_) => panic!("not an inclusion proof"),
    }
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
    let (_, inclusion, range) = sample();
    let v: serde_json::Value = serde_json::from_str(&inclusion.to_json()).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["leafHash", "siblings", "txNum", "type"]);
    assert_eq!(v["type"], "inclusion");
    assert_eq!(v["txNum"], "0x9", "an Ethereum hex quantity");
    assert!(v["leafHash"].as_str().unwrap().starts_with("0x"));
    // 28 leaves: depth 5, every sibling present.
    assert_eq!(v["siblings"].as_array().unwrap().len(), 5);
    let v: serde_json::Value = serde_json::from_str(&range.to_json()).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["newSize", "nodes", "oldSize", "type"]);
    assert!(v["oldSize"].as_str().unwrap().starts_with("0x"));
    // A JSON number is read too.
    let mut v: serde_json::Value = serde_json::from_str(&inclusion.to_json()).unwrap();
    v["txNum"] = 9.into();
    assert_eq!(Proof::from_json(&v.to_string()).unwrap(), inclusion);
}

#[test]
fn binary_layout_and_kinds() {
    let (t, p, range) = sample();
    let p = inclusion(&p);
    let bytes = p.to_bytes();
    // index 9 in one byte, leaf hash, 5 siblings.
    assert_eq!(bytes.len(), 1 + 32 + 5 * 32);
    assert_eq!(bytes[0], 9);
    assert_eq!(&bytes[1..33], p.leaf_hash.as_slice());
    // Leaf 27 of 28: its right siblings at levels 2 and 3 cover no leaf.
    let last = t.proof(27, 3).unwrap();
    assert_eq!(last.siblings[2], EMPTY_SUBTREE[2]);
    assert!(last.is_last_leaf());
    assert!(!p.is_last_leaf());
    assert!(is_range_proof_len(range.to_bytes().len()));
    for d in 0..=64 {
        assert!(!is_range_proof_len(inclusion_proof_len(d)), "depth {d}");
    }
    assert_eq!(inclusion_proof_len(0), 32);
    assert_eq!(inclusion_proof_len(8), 1 + 32 + 256);
    assert_eq!(inclusion_proof_len(9), 2 + 32 + 288);
    assert_eq!(inclusion_proof_len(64), 8 + 32 + 2048);
}

#[test]
fn wrong_lengths_are_rejected() {
    let (_, inclusion, range) = sample();
    let bytes = inclusion.to_bytes();
    for len in [0, 1, 16, 31, 33, bytes.len() - 1, bytes.len() + 1] {
        let mut b = bytes.clone();
        b.resize(len, 0);
        let err = Proof::from_bytes(&b).unwrap_err();
        assert!(
            matches!(err, Error::InclusionProofLength { len: l } if l == len)
                || matches!(err, Error::ProofLength { .. }),
            "{len}: {err}"
        );
    }
    // Depth 65 has the index length of a valid shape but is too deep.
    let too_deep = vec![0u8; inclusion_proof_len(65)];
    assert!(matches!(
        Proof::from_bytes(&too_deep),
        Err(Error::InclusionProofLength { .. })
    ));
    let bytes = range.to_bytes();
    for len in [17, bytes.len() - 32, bytes.len() + 32] {
        let mut b = bytes.clone();
        b.resize(len, 0);
        let err = Proof::from_bytes(&b).unwrap_err();
        assert!(matches!(err, Error::ProofLength { .. }), "{len}: {err}");
    }
}

#[test]
fn bad_json_is_rejected() {
    let (_, p, range) = sample();
    let json = p.to_json();
    let leaf = format!("{}", inclusion(&p).leaf_hash);
    let digits = leaf.trim_start_matches("0x").to_string();
    for bad in [
        json.replacen(&leaf, "0xnothex", 1),
        json.replacen(&leaf, &digits, 1),
        json.replacen(&leaf, &format!("0x{}", &digits[2..]), 1),
        json.replacen(&leaf, &format!("{leaf}00"), 1),
        json.replacen("\"txNum\"", "\"leafCount\": 28, \"txNum\"", 1),
        json.replacen("\"txNum\": \"0x9\"", "\"txNum\": \"9\"", 1),
        json.replacen("\"txNum\": \"0x9\"", "\"txNum\": -9", 1),
        json.replacen("\"txNum\": \"0x9\"", "\"txNum\": 9.5", 1),
        json.replacen("\"txNum\": \"0x9\"", "\"txNum\": \"0x\"", 1),
        "{".into(),
        r#"{"type":"inclusion"}"#.into(),
        r#"{"type":"nope","txNum":0,"leafHash":"0x00","siblings":[]}"#.into(),
        range
            .to_json()
            .replacen("\"oldSize\"", "\"extra\": 1, \"oldSize\"", 1),
    ] {
        assert!(
            matches!(Proof::from_json(&bad), Err(Error::ProofJson { .. })),
            "accepted: {bad}"
        );
    }
    // Upper-case hex is hex.
    let upper = json.replacen(&digits, &digits.to_uppercase(), 1);
    assert_eq!(Proof::from_json(&upper).unwrap(), p);
    // Shape errors after parsing.
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["txNum"] = 40.into();
    assert!(matches!(
        Proof::from_json(&v.to_string()),
        Err(Error::IndexBeyondDepth {
            tx_num: 40,
            depth: 5
        })
    ));
    let mut v: serde_json::Value = serde_json::from_str(&range.to_json()).unwrap();
    v["nodes"].as_array_mut().unwrap().pop();
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
fn unknown_range_tag_and_index_beyond_depth() {
    let (_, inclusion, range) = sample();
    let mut bytes = range.to_bytes();
    bytes[0] = 0x07;
    assert!(matches!(
        Proof::from_bytes(&bytes),
        Err(Error::UnknownProofTag { tag: 0x07 })
    ));
    // Depth 5, index 32.
    let mut bytes = inclusion.to_bytes();
    bytes[0] = 32;
    assert!(matches!(
        Proof::from_bytes(&bytes),
        Err(Error::IndexBeyondDepth {
            tx_num: 32,
            depth: 5
        })
    ));
    let p = RangeProof {
        old_size: 5,
        new_size: 4,
        nodes: vec![],
    };
    assert!(matches!(
        Proof::from_bytes(&p.to_bytes()),
        Err(Error::RangeSizes { .. })
    ));
}

#[test]
fn the_leaf_check_pins_the_depth() {
    let (t, p, _) = sample();
    let p = inclusion(&p).clone();
    let root = t.root_at(3).unwrap();
    let leaf = t.leaf(9).unwrap().components;
    verify_leaf(&p, &leaf, &root).unwrap();
    // An internal node passed off as a leaf one level up verifies without
    // the leaf check, and fails with it.
    let shallow = InclusionProof {
        tx_num: 9 >> 1,
        leaf_hash: cairn_qmtree::node_hash(&p.siblings[0], &p.leaf_hash),
        siblings: p.siblings[1..].to_vec(),
    };
    verify_inclusion(&shallow, &root).unwrap();
    assert!(matches!(
        verify_leaf(&shallow, &leaf, &root),
        Err(Error::LeafMismatch { tx_num: 4, .. })
    ));
    // An empty slot is never a leaf.
    let empty = InclusionProof {
        tx_num: 28,
        leaf_hash: B256::ZERO,
        siblings: t.proof(27, 3).unwrap().siblings,
    };
    assert!(matches!(
        verify_inclusion(&empty, &root),
        Err(Error::EmptyLeaf { tx_num: 28 })
    ));
}

#[test]
fn proof_at_2_pow_32_leaves_is_1060_bytes() {
    let p = InclusionProof {
        tx_num: 123_456_789,
        leaf_hash: B256::repeat_byte(1),
        siblings: vec![B256::ZERO; 32],
    };
    assert_eq!(p.to_bytes().len(), 1060);
    assert_eq!(p.encoded_len(), 1060);
    assert_eq!(
        Proof::from_bytes(&p.to_bytes()).unwrap(),
        Proof::Inclusion(p)
    );
}
