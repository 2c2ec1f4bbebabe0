//! Strict block decoding: the one way Cairn turns block bytes into a [`Block`].
//!
//! Blocks arrive as RLP from validation bundles, chain files, data directories, fixtures and
//! JSON-RPC. alloy's decoder is lenient in places: alloy-eips 2.5's `network_decode` compares
//! a typed transaction's length with the byte *after* its string header instead of the header
//! itself, so an envelope declaring `0xb8ff` or `0xb873` where `0xb877` is right decodes as the
//! same block. [`decode_block`] therefore accepts exactly the canonical encoding: every length
//! exact, nothing trailing, and re-encoding the decoded block gives back the input.

use crate::{
    Block,
    error::{PrimitivesError, Result},
};
use alloc::vec::Vec;
use alloy_rlp::Encodable;
use core::fmt;

/// The part of a block's encoding a byte offset falls in, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockPart {
    /// The list header around the whole block.
    ListHeader,
    /// The block header.
    Header,
    /// The list header of the transactions.
    TransactionsHeader,
    /// Transaction `n` (from 0) of the body.
    Transaction(usize),
    /// The ommers list.
    Ommers,
    /// The withdrawals list.
    Withdrawals,
}

impl fmt::Display for BlockPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ListHeader => f.write_str("the block's list header"),
            Self::Header => f.write_str("the header"),
            Self::TransactionsHeader => f.write_str("the transaction list's header"),
            Self::Transaction(i) => write!(f, "transaction {i}"),
            Self::Ommers => f.write_str("the ommers"),
            Self::Withdrawals => f.write_str("the withdrawals"),
        }
    }
}

/// Decodes one block from its RLP, strictly: the bytes must be exactly one block in its
/// canonical encoding.
///
/// # Errors
/// [`PrimitivesError::BlockRlp`] when the bytes do not decode (with the block number when at
/// least the header does), [`PrimitivesError::BlockNotCanonical`] when they decode but are
/// not the block's canonical encoding (with the first differing byte and the part it is in).
///
/// ```
/// use cairn_primitives::{Block, PrimitivesError, decode_block};
///
/// let block = Block::default();
/// let mut raw = alloy_rlp::encode(&block);
/// assert_eq!(decode_block(&raw).unwrap(), block);
///
/// raw.push(0x80); // one more item after the block
/// let err = decode_block(&raw).unwrap_err();
/// assert!(matches!(err, PrimitivesError::BlockRlp { number: Some(0), .. }), "{err}");
/// ```
pub fn decode_block(raw: &[u8]) -> Result<Block> {
    let block: Block =
        alloy_rlp::decode_exact(raw).map_err(|source| PrimitivesError::BlockRlp {
            number: header_number(raw),
            source,
        })?;
    let mut canonical = Vec::with_capacity(raw.len());
    block.encode(&mut canonical);
    if canonical != raw {
        let offset = raw
            .iter()
            .zip(&canonical)
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| raw.len().min(canonical.len()));
        return Err(PrimitivesError::BlockNotCanonical {
            number: block.header.number,
            offset,
            part: part_at(&block, offset),
            got: raw.get(offset).copied(),
            canonical: canonical.get(offset).copied(),
        });
    }
    Ok(block)
}

/// The number in the header of a block whose body does not decode, if the header does.
fn header_number(raw: &[u8]) -> Option<u64> {
    let mut buf = raw;
    let outer = alloy_rlp::Header::decode(&mut buf).ok()?;
    if !outer.list {
        return None;
    }
    let header: alloy_consensus::Header = alloy_rlp::Decodable::decode(&mut buf).ok()?;
    Some(header.number)
}

/// Which part of `block`'s canonical encoding holds byte `offset`.
fn part_at(block: &Block, offset: usize) -> BlockPart {
    let payload = block.length() - alloy_rlp::length_of_length(block.length());
    let mut at = block.length() - payload;
    if offset < at {
        return BlockPart::ListHeader;
    }
    at += block.header.length();
    if offset < at {
        return BlockPart::Header;
    }
    let txs = &block.body.transactions;
    let txs_payload: usize = txs.iter().map(Encodable::length).sum();
    at += alloy_rlp::length_of_length(txs_payload);
    if offset < at {
        return BlockPart::TransactionsHeader;
    }
    for (i, tx) in txs.iter().enumerate() {
        at += tx.length();
        if offset < at {
            return BlockPart::Transaction(i);
        }
    }
    at += block.body.ommers.length();
    if offset < at || block.body.withdrawals.is_none() {
        return BlockPart::Ommers;
    }
    BlockPart::Withdrawals
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block with one EIP-1559 transaction, whose envelope needs a `0xb8 <len>` header.
    fn block_with_typed_tx() -> (Block, Vec<u8>, usize) {
        use alloy_consensus::{Signed, TxEip1559};
        use alloy_primitives::{Bytes, Signature};
        let tx = TxEip1559 {
            chain_id: 1,
            input: Bytes::from_static(&[0x60; 16]),
            ..TxEip1559::default()
        };
        let tx = crate::TransactionSigned::Eip1559(Signed::new_unhashed(
            tx,
            Signature::test_signature(),
        ));
        let mut block = Block::default();
        block.header.number = 7;
        block.body.transactions.push(tx);
        let raw = alloy_rlp::encode(&block);
        // The string header `0xb8 <len>` right before the type byte.
        let at = (0..raw.len() - 2)
            .find(|&i| raw[i] == 0xb8 && raw[i + 2] == 0x02)
            .expect("a typed transaction's string header");
        (block, raw, at)
    }

    /// alloy-eips 2.5 accepts a typed transaction whose string header declares the wrong
    /// length; the canonical check refuses it and names the transaction.
    #[test]
    fn a_wrong_envelope_length_is_refused() {
        let (block, raw, at) = block_with_typed_tx();
        assert_eq!(decode_block(&raw).unwrap(), block);
        let right = raw[at + 1];
        for wrong in [0xff, right - 4, right + 1, right - 1] {
            let mut mutated = raw.clone();
            mutated[at + 1] = wrong;
            // What alloy alone says (accepted, or an error for a length past the input).
            let lenient = alloy_rlp::decode_exact::<Block>(&mutated);
            let err = decode_block(&mutated).unwrap_err();
            match lenient {
                Ok(_) => assert_eq!(
                    err,
                    PrimitivesError::BlockNotCanonical {
                        number: 7,
                        offset: at + 1,
                        part: BlockPart::Transaction(0),
                        got: Some(wrong),
                        canonical: Some(right),
                    }
                ),
                Err(_) => assert!(
                    matches!(
                        err,
                        PrimitivesError::BlockRlp {
                            number: Some(7),
                            ..
                        }
                    ),
                    "{err}"
                ),
            }
        }
    }

    #[test]
    fn the_empty_block_round_trips() {
        let raw = alloy_rlp::encode(Block::default());
        assert_eq!(decode_block(&raw).unwrap(), Block::default());
    }

    #[test]
    fn trailing_and_truncated_bytes_are_refused() {
        let mut raw = alloy_rlp::encode(Block::default());
        raw.push(0);
        assert!(matches!(
            decode_block(&raw),
            Err(PrimitivesError::BlockRlp {
                number: Some(0),
                ..
            })
        ));
        raw.truncate(raw.len() - 2);
        assert!(matches!(
            decode_block(&raw),
            Err(PrimitivesError::BlockRlp { .. })
        ));
        assert!(matches!(
            decode_block(&[]),
            Err(PrimitivesError::BlockRlp { number: None, .. })
        ));
    }
}
