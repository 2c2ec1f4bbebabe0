//! `cairn validate` on mutated bundles: a bundle (chain, blocks, witness) is decoded and
//! validated; every mutation ends in an output or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(input) = cairn_witness::json::input_from_json(text) else {
        return;
    };
    match cairn_stateless::validate(&input) {
        Ok(output) => {
            // What was proven is about these blocks.
            let last = input.blocks.last().expect("validate refuses an empty batch");
            assert_eq!(output.last_block_hash, last.header.hash_slow());
            assert_eq!(output.final_state_root, last.header.state_root);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
