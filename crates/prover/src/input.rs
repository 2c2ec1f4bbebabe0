//! The compact binary encoding of [`ProgramInput`]: what a guest reads from its input.
//!
//! Version 1, integers big-endian:
//!
//! | field | encoding |
//! | --- | --- |
//! | magic | `"CRNI"` (4 bytes) |
//! | version | u16, [`INPUT_FORMAT_VERSION`] |
//! | chain | u32 length, then `abi.encode(ChainConfigAbi)` (canonical; its keccak is `chainConfigHash`) |
//! | blocks | u32 count, then per block u32 length and the block's RLP |
//! | state | u32 count, then per trie node u32 length and the node's RLP |
//! | codes | u32 count, then per bytecode u32 length and the code |
//! | headers | u32 count, then per ancestor header u32 length and its RLP, oldest first |
//!
//! Nothing may follow. The witness's `keys` (preimages of hashed trie keys) are not carried:
//! validation never reads them. Decoding borrows the witness items from the input buffer
//! without copying; every count is checked against the bytes left before anything is
//! allocated.

use crate::{
    error::{Error, InputFault, Result},
    public_values::ChainConfigAbi,
};
use alloc::vec::Vec;
use alloy_primitives::{B256, Bytes, keccak256};
use alloy_sol_types::SolValue;
use cairn_primitives::{Block, ExecutionWitness, ProgramInput};

/// Magic bytes at the start of an encoded input.
pub const INPUT_MAGIC: [u8; 4] = *b"CRNI";
/// The input format version written and read here.
pub const INPUT_FORMAT_VERSION: u16 = 1;

/// A decoded input, with the hash of its chain configuration section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedInput {
    /// The program input (`witness.keys` empty).
    pub input: ProgramInput,
    /// `keccak256` of the chain section: `chainConfigHash`.
    pub chain_config_hash: B256,
}

/// Encodes `input` (see the module docs).
pub fn encode_input(input: &ProgramInput) -> Vec<u8> {
    let chain = ChainConfigAbi::from_config(&input.chain).abi_encode();
    let blocks: Vec<Vec<u8>> = input.blocks.iter().map(alloy_rlp::encode).collect();
    let w = &input.witness;
    let size = 6
        + 4
        + chain.len()
        + [
            blocks.iter().map(Vec::len).sum::<usize>() + 4 * blocks.len(),
            section_size(&w.state),
            section_size(&w.codes),
            section_size(&w.headers),
        ]
        .iter()
        .sum::<usize>()
        + 16;
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&INPUT_MAGIC);
    out.extend_from_slice(&INPUT_FORMAT_VERSION.to_be_bytes());
    put_item(&mut out, &chain);
    put_count(&mut out, blocks.len());
    for block in &blocks {
        put_item(&mut out, block);
    }
    for section in [&w.state, &w.codes, &w.headers] {
        put_count(&mut out, section.len());
        for item in section {
            put_item(&mut out, item);
        }
    }
    out
}

fn section_size(items: &[Bytes]) -> usize {
    items.iter().map(|b| b.len() + 4).sum()
}

fn put_count(out: &mut Vec<u8>, n: usize) {
    // Inputs are far below 4 GiB; a count that large cannot occur.
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
}

fn put_item(out: &mut Vec<u8>, item: &[u8]) {
    put_count(out, item.len());
    out.extend_from_slice(item);
}

/// Decodes an encoded input (see the module docs).
///
/// # Errors
/// [`Error::Input`] naming the fault and the byte offset.
pub fn decode_input(bytes: &Bytes) -> Result<DecodedInput> {
    let mut r = Reader { bytes, at: 0 };
    if r.take(4, "magic")? != INPUT_MAGIC.as_slice() {
        return Err(r.fail_at(0, InputFault::Magic));
    }
    let version = u16::from_be_bytes([r.byte("version")?, r.byte("version")?]);
    if version != INPUT_FORMAT_VERSION {
        return Err(r.fail_at(4, InputFault::Version { found: version }));
    }
    let chain_at = r.at;
    let chain_bytes = r.item("chain")?;
    let chain_abi = <ChainConfigAbi as SolValue>::abi_decode(&chain_bytes)
        .ok()
        .filter(|c| c.abi_encode() == chain_bytes.as_ref())
        .ok_or_else(|| r.fail_at(chain_at, InputFault::ChainConfig))?;
    let chain = chain_abi
        .to_config()
        .map_err(|_| r.fail_at(chain_at, InputFault::ChainConfig))?;
    let count = r.count("blocks")?;
    let mut blocks = Vec::with_capacity(count);
    for index in 0..count {
        let at = r.at;
        let raw = r.item("blocks")?;
        let block = alloy_rlp::decode_exact::<Block>(raw.as_ref())
            .map_err(|_| r.fail_at(at, InputFault::Block { index }))?;
        blocks.push(block);
    }
    let state = r.items("state")?;
    let codes = r.items("codes")?;
    let headers = r.items("headers")?;
    if r.at != bytes.len() {
        return Err(r.fail(InputFault::Trailing {
            bytes: bytes.len() - r.at,
        }));
    }
    Ok(DecodedInput {
        input: ProgramInput {
            chain,
            blocks,
            witness: ExecutionWitness {
                state,
                codes,
                keys: Vec::new(),
                headers,
            },
        },
        chain_config_hash: keccak256(&chain_bytes),
    })
}

struct Reader<'a> {
    bytes: &'a Bytes,
    at: usize,
}

impl Reader<'_> {
    fn fail(&self, fault: InputFault) -> Error {
        self.fail_at(self.at, fault)
    }

    fn fail_at(&self, offset: usize, fault: InputFault) -> Error {
        Error::Input { offset, fault }
    }

    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&[u8]> {
        if self.left() < n {
            return Err(self.fail(InputFault::Truncated { field }));
        }
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    fn byte(&mut self, field: &'static str) -> Result<u8> {
        Ok(self.take(1, field)?[0])
    }

    fn u32(&mut self, field: &'static str) -> Result<u32> {
        let b = self.take(4, field)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A count of length-prefixed items, each at least 4 bytes.
    fn count(&mut self, field: &'static str) -> Result<usize> {
        let at = self.at;
        let count = self.u32(field)?;
        if count as usize > self.left() / 4 {
            return Err(self.fail_at(at, InputFault::Count { field, count }));
        }
        Ok(count as usize)
    }

    /// A length-prefixed item, sharing the input buffer.
    fn item(&mut self, field: &'static str) -> Result<Bytes> {
        let len = self.u32(field)? as usize;
        if self.left() < len {
            return Err(self.fail(InputFault::Truncated { field }));
        }
        let out = self.bytes.slice(self.at..self.at + len);
        self.at += len;
        Ok(out)
    }

    fn items(&mut self, field: &'static str) -> Result<Vec<Bytes>> {
        let count = self.count(field)?;
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            out.push(self.item(field)?);
        }
        Ok(out)
    }
}
