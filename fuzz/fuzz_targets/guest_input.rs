//! The guest program on mutated input bytes (what a zkVM guest reads from stdin): decoding
//! and validation end in public values or a typed error, never a panic; accepted input
//! decodes to a batch whose public values the guest committed.
#![no_main]

use alloy_primitives::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = Bytes::copy_from_slice(data);
    let Ok(public_values) = cairn_prover::guest::run(&input) else {
        return;
    };
    let decoded = cairn_prover::decode_input(&input).expect("the guest accepted it");
    let pv = cairn_prover::PublicValues::decode(&public_values).expect("the guest's encoding");
    let last = decoded.input.blocks.last().expect("validation refuses an empty batch");
    assert_eq!(pv.lastBlock, last.header.number);
});
