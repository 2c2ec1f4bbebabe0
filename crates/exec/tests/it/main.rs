//! Integration tests for `cairn-exec`: the development chain, witness generation and
//! stateless validation from generated witnesses.

mod commit;
mod devchain;
mod trace;
