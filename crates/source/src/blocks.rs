//! Blocks and headers from a node, checked against the hashes that chain them.

use crate::{
    error::{Result, SourceError},
    rpc::Rpc,
};
use alloy_consensus::Header;
use alloy_primitives::{B256, Bytes};
use cairn_primitives::{Block, TransactionSigned};
use serde_json::{Value, json};

/// Where block bodies come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BodySource {
    /// `eth_getBlockByNumber(n, true)`: every node serves it.
    #[default]
    Json,
    /// `debug_getRawBlock(n)`: the RLP as the node stores it (reth, geth, erigon), with its
    /// hash checked against `eth_getBlockByNumber(n, false)`.
    Raw,
}

/// A block number as a JSON-RPC quantity.
pub(crate) fn quantity(n: u64) -> Value {
    json!(format!("{n:#x}"))
}

const GET_BLOCK: &str = "eth_getBlockByNumber";
const RAW_BLOCK: &str = "debug_getRawBlock";

/// The header of block `number` and its hash, checked to hash to what the node names it.
///
/// # Errors
/// [`SourceError::NoSuchBlock`], [`SourceError::BlockHashMismatch`],
/// [`SourceError::WrongBlock`], and the call's errors.
pub async fn header(rpc: &Rpc, number: u64) -> Result<(Header, B256)> {
    let value: Option<alloy_rpc_types_eth::Header> = rpc
        .call(GET_BLOCK, vec![quantity(number), json!(false)])
        .await?;
    let rpc_header = value.ok_or(SourceError::NoSuchBlock {
        method: GET_BLOCK,
        number,
    })?;
    let claimed = rpc_header.hash;
    let header = rpc_header.inner;
    check_number(GET_BLOCK, number, header.number)?;
    let got = header.hash_slow();
    if got != claimed {
        return Err(SourceError::BlockHashMismatch {
            method: GET_BLOCK,
            number,
            got,
            expected: claimed,
        });
    }
    Ok((header, got))
}

fn check_number(method: &'static str, number: u64, got: u64) -> Result<()> {
    if got == number {
        Ok(())
    } else {
        Err(SourceError::WrongBlock {
            method,
            number,
            got,
        })
    }
}

/// Block `number` with its transactions, checked to hash to what the node names it.
///
/// # Errors
/// As [`header`]; [`SourceError::BadBlock`] for a raw body Cairn cannot decode,
/// [`SourceError::HashesForTransactions`], [`SourceError::BadAnswer`] for a JSON block that
/// does not parse.
pub async fn block(rpc: &Rpc, number: u64, bodies: BodySource) -> Result<Block> {
    match bodies {
        BodySource::Json => {
            type RpcBlock =
                alloy_rpc_types_eth::Block<alloy_rpc_types_eth::Transaction<TransactionSigned>>;
            let value: Option<RpcBlock> = rpc
                .call(GET_BLOCK, vec![quantity(number), json!(true)])
                .await?;
            let rpc_block = value.ok_or(SourceError::NoSuchBlock {
                method: GET_BLOCK,
                number,
            })?;
            if let alloy_rpc_types_eth::BlockTransactions::Hashes(h) = &rpc_block.transactions
                && !h.is_empty()
            {
                return Err(SourceError::HashesForTransactions {
                    method: GET_BLOCK,
                    number,
                });
            }
            let claimed = rpc_block.header.hash;
            let block: Block = rpc_block
                .map_transactions(|tx| tx.into_inner())
                .into_consensus();
            check_number(GET_BLOCK, number, block.header.number)?;
            let got = block.header.hash_slow();
            if got != claimed {
                return Err(SourceError::BlockHashMismatch {
                    method: GET_BLOCK,
                    number,
                    got,
                    expected: claimed,
                });
            }
            Ok(block)
        }
        BodySource::Raw => {
            let raw: Bytes = rpc.call(RAW_BLOCK, vec![quantity(number)]).await?;
            let block =
                cairn_primitives::decode_block(&raw).map_err(|source| SourceError::BadBlock {
                    method: RAW_BLOCK,
                    number,
                    source,
                })?;
            check_number(RAW_BLOCK, number, block.header.number)?;
            let (_, claimed) = header(rpc, number).await?;
            let got = block.header.hash_slow();
            if got != claimed {
                return Err(SourceError::BlockHashMismatch {
                    method: RAW_BLOCK,
                    number,
                    got,
                    expected: claimed,
                });
            }
            Ok(block)
        }
    }
}

/// Blocks `first..=last` and the parent of `first`, each checked against its hash and the
/// next one's parent hash.
///
/// # Errors
/// As [`block`]; [`SourceError::BlockHashMismatch`] when a block does not name the previous
/// one as its parent.
pub async fn blocks(
    rpc: &Rpc,
    first: u64,
    last: u64,
    bodies: BodySource,
) -> Result<(Header, B256, Vec<Block>)> {
    if first == 0 || last < first {
        return Err(SourceError::BadRange { first, last });
    }
    let (parent, parent_hash) = header(rpc, first - 1).await?;
    let mut out: Vec<Block> = Vec::with_capacity((last - first + 1) as usize);
    let mut prev = parent_hash;
    for number in first..=last {
        let block = block(rpc, number, bodies).await?;
        if block.header.parent_hash != prev {
            return Err(SourceError::BlockHashMismatch {
                method: GET_BLOCK,
                number: number - 1,
                got: prev,
                expected: block.header.parent_hash,
            });
        }
        prev = block.header.hash_slow();
        out.push(block);
    }
    Ok((parent, parent_hash, out))
}
