//! `cairn-source` end to end: inputs built from Cairn's own server and from anvil validate
//! to the same outputs as the node's own witnesses; recorded caches replay offline; lying,
//! silent and incomplete nodes give typed errors.

mod anvil;
mod deletions;
mod errors;
mod serve;

use cairn_primitives::ProgramOutput;
use cairn_source::{Fetched, SourceError, WitnessProvider};

/// Validates an input under Cairn's and the strict rules; both must agree.
pub(crate) fn validate(fetched: &Fetched) -> ProgramOutput {
    let output = cairn_stateless::validate(&fetched.input).expect("input validates");
    let strict = cairn_stateless::validate_strict(&fetched.input).expect("strict validation");
    assert_eq!(output, strict);
    output
}

/// The seam's one conformance check, run for every provider: the input of each span
/// validates (Cairn's and the strict rules) to the expected output. Returns the inputs.
pub(crate) async fn conformance<P: WitnessProvider<Error = SourceError>>(
    provider: &P,
    spans: &[(u64, u64)],
    expected: &[ProgramOutput],
) -> Vec<Fetched> {
    let mut out = Vec::with_capacity(spans.len());
    for (&(first, last), expected) in spans.iter().zip(expected) {
        let fetched = provider
            .program_input(first, last)
            .await
            .unwrap_or_else(|e| panic!("blocks {first}..={last}: {e}"));
        assert_eq!(&validate(&fetched), expected, "blocks {first}..={last}");
        assert_eq!(fetched.input.blocks.len() as u64, last - first + 1);
        out.push(fetched);
    }
    out
}
