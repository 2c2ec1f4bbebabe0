mod bgh19;

pub use bgh19::{Bgh19, Bgh19Proof};
