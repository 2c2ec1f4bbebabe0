//! Integration tests for `cairn-qmtree`.

mod codec;
#[cfg(feature = "store")]
mod crash;
#[cfg(feature = "store")]
mod memory;
mod reference;
#[cfg(feature = "store")]
mod store;
mod vectors;
mod workload;
