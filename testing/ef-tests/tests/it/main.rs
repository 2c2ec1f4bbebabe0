//! Conformance over `$CAIRN_FIXTURES`; without it, the tests say so and skip.

mod conformance;
mod fold;
mod witness;
