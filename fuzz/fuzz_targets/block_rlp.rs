//! Block RLP decoding: `decode_block` accepts exactly the canonical encodings (re-encoding an
//! accepted block gives the input back), and whatever it accepts alloy's decoder accepts too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match cairn_primitives::decode_block(data) {
        Ok(block) => {
            assert_eq!(alloy_rlp::encode(&block), data, "accepted bytes are canonical");
            let lenient = alloy_rlp::decode_exact::<cairn_primitives::Block>(data);
            assert_eq!(lenient.as_ref().ok(), Some(&block));
            // Hashing and the consensus checks of the body must not panic either.
            let _ = block.header.hash_slow();
            let chain = cairn_primitives::ChainConfig::mainnet();
            let _ = cairn_stateless::consensus::validate_body(&chain, &block);
        }
        Err(e) => {
            // The error names what it can and formats without panicking.
            let _ = e.to_string();
        }
    }
});
