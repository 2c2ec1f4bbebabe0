//! Witness JSON decoding (reth, geth and EEST forms), then indexing: any input is decoded or
//! refused with an error, never a panic; a decoded witness re-encodes and decodes to itself.
#![no_main]

use cairn_witness::json::{WitnessFormat, from_json, to_value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(witness) = from_json(text) else {
        return;
    };
    // Hashing every node, code and header and checking the header chain must not panic.
    let _ = cairn_witness::WitnessMaps::new(&witness);
    let again = to_value(&witness, WitnessFormat::Reth)
        .map(|v| v.to_string())
        .expect("a decoded witness encodes");
    let back = from_json(&again).expect("an encoded witness decodes");
    assert_eq!(back.state, witness.state);
    assert_eq!(back.codes, witness.codes);
    assert_eq!(back.headers, witness.headers);
});
