mod bdfg21;
mod gwc19;

pub use bdfg21::{Bdfg21, Bdfg21Proof};
pub use gwc19::{Gwc19, Gwc19Proof};
