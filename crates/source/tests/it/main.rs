//! `cairn-source` end to end: inputs built from Cairn's own server and from anvil validate
//! to the same outputs as the node's own witnesses; recorded caches replay offline; lying,
//! silent and incomplete nodes give typed errors.

mod anvil;
mod deletions;
mod errors;
mod serve;

use cairn_primitives::ProgramOutput;
use cairn_source::Fetched;

/// Validates an input under Cairn's and the strict rules; both must agree.
pub(crate) fn validate(fetched: &Fetched) -> ProgramOutput {
    let output = cairn_stateless::validate(&fetched.input).expect("input validates");
    let strict = cairn_stateless::validate_strict(&fetched.input).expect("strict validation");
    assert_eq!(output, strict);
    output
}
