//! The compact input encoding: round trip, strict decoding, and the guest on it.

use crate::common::fixture;
use alloy_primitives::Bytes;
use cairn_prover::{Error, InputFault, decode_input, encode_input, guest};

#[test]
fn round_trip_without_keys() {
    let batch = fixture().batch(1, 4);
    let bytes = Bytes::from(encode_input(&batch.input));
    let decoded = decode_input(&bytes).unwrap();
    let mut expected = batch.input.clone();
    expected.witness.keys.clear();
    assert_eq!(decoded.input, expected);
    assert_eq!(decoded.chain_config_hash, fixture().chain_config_hash);
    assert_eq!(
        guest::public_values(&bytes).unwrap(),
        batch.public_values,
        "the guest proves what the witness run proved"
    );
}

#[test]
fn every_truncation_and_some_damage_is_a_typed_error() {
    let bytes = encode_input(&fixture().batch(3, 3).input);
    for len in (0..bytes.len()).step_by(7) {
        let cut = Bytes::copy_from_slice(&bytes[..len]);
        assert!(
            matches!(decode_input(&cut), Err(Error::Input { .. })),
            "truncated to {len}"
        );
    }
    let mut b = bytes.clone();
    b[0] = b'X';
    assert!(matches!(
        decode_input(&b.into()),
        Err(Error::Input {
            fault: InputFault::Magic,
            ..
        })
    ));
    let mut b = bytes.clone();
    b[5] = 9;
    assert!(matches!(
        decode_input(&b.into()),
        Err(Error::Input {
            fault: InputFault::Version { found: 9 },
            ..
        })
    ));
    let mut b = bytes.clone();
    b.push(0);
    assert!(matches!(
        decode_input(&b.into()),
        Err(Error::Input {
            fault: InputFault::Trailing { bytes: 1 },
            ..
        })
    ));
    // A count far beyond the bytes left is refused before allocating.
    let mut b = bytes[..6].to_vec();
    b.extend_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        decode_input(&b.into()),
        Err(Error::Input {
            fault: InputFault::Truncated { .. },
            ..
        })
    ));
    // Damage anywhere never panics.
    for at in (6..bytes.len()).step_by(53) {
        let mut b = bytes.clone();
        b[at] ^= 0xff;
        let _ = guest::run(&b.into());
    }
}
