//! The `.seg` proof-file reader: any bytes are parsed or refused with a typed fault; a parsed
//! file writes back to the same bytes, and checking its binding never panics.
#![no_main]

use cairn_prover::Seg;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(seg) = Seg::from_bytes(data) else {
        return;
    };
    let bytes = seg.to_bytes().expect("a parsed .seg encodes");
    assert_eq!(Seg::from_bytes(&bytes).ok(), Some(seg.clone()));
    let _ = seg.binding.verify(&seg.public_values);
});
