//! QMTree proof decoding (binary and JSON): any input is decoded or refused with an error;
//! a decoded proof re-encodes to itself, and checking it against any roots never panics.
#![no_main]

use alloy_primitives::B256;
use cairn_qmtree::Proof;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(proof) = Proof::decode(data) else {
        return;
    };
    let bytes = proof.to_bytes();
    assert_eq!(Proof::from_bytes(&bytes).ok(), Some(proof.clone()));
    assert_eq!(Proof::from_json(&proof.to_json()).ok(), Some(proof.clone()));
    if !data.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|b| *b == b'{') {
        assert_eq!(bytes, data, "binary proofs have one encoding");
    }
    let root = B256::repeat_byte(0x5a);
    match &proof {
        Proof::Inclusion(p) => {
            if let Ok(top) = cairn_qmtree::inclusion_root(p) {
                assert!(cairn_qmtree::verify_inclusion(p, &top).is_ok());
            }
            let _ = cairn_qmtree::verify_inclusion(p, &root);
        }
        Proof::Range(p) => {
            let _ = cairn_qmtree::verify_range(p, &root, &root);
        }
    }
});
