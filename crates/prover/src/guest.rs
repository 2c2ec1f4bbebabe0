//! The guest program: input bytes to public-value bytes. This is exactly what a zkVM guest's
//! `main` runs: read the input, validate, commit the public values.
//!
//! ```ignore
//! // An SP1/RISC Zero/ZisK/OpenVM guest, with its SDK's I/O:
//! let input = read_vec();
//! let public_values = cairn_prover::guest::run(input.into()).expect("valid batch");
//! commit_slice(&public_values);
//! ```

use crate::{error::Result, input::decode_input, public_values::PublicValues};
use alloc::vec::Vec;
use alloy_primitives::Bytes;

/// Decodes `input` ([`crate::input`]), validates the batch statelessly, and returns its
/// public values.
///
/// # Errors
/// Input decoding errors; [`crate::Error::Invalid`] when the batch does not validate.
pub fn public_values(input: &Bytes) -> Result<PublicValues> {
    let decoded = decode_input(input)?;
    let output = cairn_stateless::validate(&decoded.input)?;
    Ok(PublicValues::from_output(
        &output,
        decoded.chain_config_hash,
    ))
}

/// [`public_values`], encoded: the bytes a zkVM guest commits (`abi.encode(PublicValues)`).
///
/// # Errors
/// As [`public_values`].
pub fn run(input: &Bytes) -> Result<Vec<u8>> {
    public_values(input).map(|pv| pv.encode())
}
