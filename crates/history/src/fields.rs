//! Reading a subquery's field out of authenticated bytes (a header, an account, a transaction
//! or receipt envelope), by RLP position, exactly as the Solidity verifier reads it.
//!
//! Values become one word: RLP integers, addresses and hashes right-aligned (an empty
//! string is zero); byte strings longer than a word (`logsBloom`, `extraData`, calldata, log
//! data) are read in 32-byte words, left-aligned and zero-padded at the end.

use crate::{
    error::{HistoryError, Result},
    rlp,
    subquery::{AccountField, HeaderField, LogField, ReceiptField, TxField},
};
use alloc::{format, string::String, vec::Vec};
use alloy_primitives::{B256, U256, keccak256};
use serde::{Deserialize, Serialize};

/// An account as the state trie holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountState {
    /// Nonce.
    #[serde(with = "alloy_serde::quantity")]
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// Storage trie root.
    pub storage_root: B256,
    /// keccak256 of the code.
    pub code_hash: B256,
}

impl AccountState {
    /// The account's RLP, the state trie's value.
    pub fn rlp(&self) -> Vec<u8> {
        alloy_rlp::encode(alloy_trie::TrieAccount {
            nonce: self.nonce,
            balance: self.balance,
            storage_root: self.storage_root,
            code_hash: self.code_hash,
        })
    }
}

/// An account field. An account the state trie does not hold reads as zero in all four
/// fields (so `codeHash` 0 tells a missing account from one without code, whose code hash
/// is `keccak256("")`, as `EXTCODEHASH` does).
pub fn account_field(account: Option<&AccountState>, field: AccountField) -> B256 {
    let Some(a) = account else {
        return B256::ZERO;
    };
    match field {
        AccountField::Nonce => B256::from(U256::from(a.nonce)),
        AccountField::Balance => B256::from(a.balance),
        AccountField::StorageRoot => a.storage_root,
        AccountField::CodeHash => a.code_hash,
    }
}

/// Items of a header; `None` unless it is a list of at least 15 items.
pub(crate) fn header_items(rlp_bytes: &[u8]) -> Option<Vec<&[u8]>> {
    rlp::list(rlp_bytes).filter(|items| items.len() >= 15)
}

/// A 32-byte hash item of a header (state, transactions or receipts root).
pub(crate) fn header_hash_item(items: &[&[u8]], index: usize) -> Option<B256> {
    let payload = rlp::string(items.get(index)?)?;
    (payload.len() == 32).then(|| B256::from_slice(payload))
}

/// The header's `number` field.
pub(crate) fn header_number(items: &[&[u8]]) -> Option<u64> {
    let payload = rlp::string(items.get(8)?)?;
    if payload.len() > 8 {
        return None;
    }
    let mut buf = [0u8; 8];
    buf[8 - payload.len()..].copy_from_slice(payload);
    Some(u64::from_be_bytes(buf))
}

/// A header field of block `block` from its RLP.
///
/// # Errors
/// [`HistoryError::MalformedHeader`], [`HistoryError::FieldAbsent`],
/// [`HistoryError::ItemOutOfRange`].
pub fn header_field(block: u64, header: &[u8], field: HeaderField, item: u64) -> Result<B256> {
    if field == HeaderField::Hash {
        return Ok(keccak256(header));
    }
    let items = header_items(header).ok_or(HistoryError::MalformedHeader { block })?;
    let raw = items
        .get(field.code() as usize)
        .ok_or(HistoryError::FieldAbsent {
            block,
            field: field.name(),
        })?;
    let malformed = || HistoryError::MalformedField {
        block,
        what: "the header".into(),
        field: field.name(),
    };
    if field.takes_item() {
        let payload = rlp::string(raw).ok_or_else(malformed)?;
        chunk(block, "the header".into(), field.name(), payload, item)
    } else {
        rlp::word(raw).map(B256::from).ok_or_else(malformed)
    }
}

fn chunk(block: u64, what: String, field: &'static str, bytes: &[u8], item: u64) -> Result<B256> {
    rlp::chunk(bytes, item)
        .map(B256::from)
        .ok_or(HistoryError::ItemOutOfRange {
            block,
            what,
            field,
            item,
            count: bytes.len().div_ceil(32) as u64,
        })
}

/// An EIP-2718 envelope: its type (0 for a legacy RLP list) and its list items.
pub(crate) fn envelope(bytes: &[u8]) -> Option<(u8, Vec<&[u8]>)> {
    match *bytes.first()? {
        0xc0.. => Some((0, rlp::list(bytes)?)),
        ty @ 0..=0x7f => Some((ty, rlp::list(&bytes[1..])?)),
        _ => None,
    }
}

/// Where each field sits in a transaction type's RLP list.
struct TxLayout {
    len: usize,
    chain_id: Option<usize>,
    nonce: usize,
    max_priority_fee: usize,
    max_fee: usize,
    gas_limit: usize,
    to: usize,
    value: usize,
    data: usize,
    access_list: Option<usize>,
    max_fee_per_blob_gas: Option<usize>,
    blob_hashes: Option<usize>,
    authorizations: Option<usize>,
    v: usize,
}

fn tx_layout(ty: u8) -> Option<TxLayout> {
    // Types 2, 3 and 4 share their first nine items.
    let dynamic = |len, extra_blob: bool, auth: bool| TxLayout {
        len,
        chain_id: Some(0),
        nonce: 1,
        max_priority_fee: 2,
        max_fee: 3,
        gas_limit: 4,
        to: 5,
        value: 6,
        data: 7,
        access_list: Some(8),
        max_fee_per_blob_gas: extra_blob.then_some(9),
        blob_hashes: extra_blob.then_some(10),
        authorizations: auth.then_some(9),
        v: len - 3,
    };
    Some(match ty {
        0 => TxLayout {
            len: 9,
            chain_id: None,
            nonce: 0,
            max_priority_fee: 1,
            max_fee: 1,
            gas_limit: 2,
            to: 3,
            value: 4,
            data: 5,
            access_list: None,
            max_fee_per_blob_gas: None,
            blob_hashes: None,
            authorizations: None,
            v: 6,
        },
        1 => TxLayout {
            len: 11,
            chain_id: Some(0),
            nonce: 1,
            max_priority_fee: 2,
            max_fee: 2,
            gas_limit: 3,
            to: 4,
            value: 5,
            data: 6,
            access_list: Some(7),
            max_fee_per_blob_gas: None,
            blob_hashes: None,
            authorizations: None,
            v: 8,
        },
        2 => dynamic(12, false, false),
        3 => dynamic(14, true, false),
        4 => dynamic(13, false, true),
        _ => return None,
    })
}

/// A field of transaction `index` of block `block` from its EIP-2718 encoding.
///
/// # Errors
/// [`HistoryError::MalformedEnvelope`], [`HistoryError::MalformedField`],
/// [`HistoryError::ItemOutOfRange`].
pub fn tx_field(block: u64, index: u64, tx: &[u8], field: TxField, item: u64) -> Result<B256> {
    let bad_envelope = || HistoryError::MalformedEnvelope {
        block,
        what: "transaction",
        index,
    };
    let (ty, items) = envelope(tx).ok_or_else(bad_envelope)?;
    let layout = tx_layout(ty)
        .filter(|l| l.len == items.len())
        .ok_or_else(bad_envelope)?;
    let what = || format!("transaction {index}");
    let malformed = || HistoryError::MalformedField {
        block,
        what: what(),
        field: field.name(),
    };
    let word = |i: usize| rlp::word(items[i]).map(B256::from).ok_or_else(malformed);
    let bytes = |i: usize| rlp::string(items[i]).ok_or_else(malformed);
    let list_len = |i: Option<usize>| -> Result<B256> {
        match i {
            Some(i) => rlp::list(items[i])
                .map(|l| B256::from(U256::from(l.len())))
                .ok_or_else(malformed),
            None => Ok(B256::ZERO),
        }
    };
    let number = |v: u64| B256::from(U256::from(v));
    match field {
        TxField::Type => Ok(number(ty as u64)),
        TxField::ChainId => match layout.chain_id {
            Some(i) => word(i),
            None => {
                // EIP-155: v = 35 + 2 chainId + parity; before it, v is 27 or 28.
                let v = U256::from_be_bytes(word(layout.v)?.0);
                Ok(if v >= U256::from(35) {
                    B256::from((v - U256::from(35)) / U256::from(2))
                } else {
                    B256::ZERO
                })
            }
        },
        TxField::Nonce => word(layout.nonce),
        TxField::GasLimit => word(layout.gas_limit),
        TxField::To => {
            let to = bytes(layout.to)?;
            if !to.is_empty() && to.len() != 20 {
                return Err(malformed());
            }
            word(layout.to)
        }
        TxField::Value => word(layout.value),
        TxField::DataLength => Ok(number(bytes(layout.data)?.len() as u64)),
        TxField::Selector => {
            let data = bytes(layout.data)?;
            Ok(if data.len() >= 4 {
                B256::from(rlp::right_aligned(&data[..4]).expect("4 bytes"))
            } else {
                B256::ZERO
            })
        }
        TxField::DataWord => chunk(block, what(), field.name(), bytes(layout.data)?, item),
        TxField::MaxFeePerGas => word(layout.max_fee),
        TxField::MaxPriorityFeePerGas => word(layout.max_priority_fee),
        TxField::MaxFeePerBlobGas => match layout.max_fee_per_blob_gas {
            Some(i) => word(i),
            None => Ok(B256::ZERO),
        },
        TxField::BlobHashCount => list_len(layout.blob_hashes),
        TxField::BlobHash => {
            let hashes = match layout.blob_hashes {
                Some(i) => rlp::list(items[i]).ok_or_else(malformed)?,
                None => Vec::new(),
            };
            let hash = usize::try_from(item)
                .ok()
                .and_then(|i| hashes.get(i))
                .ok_or(HistoryError::ItemOutOfRange {
                    block,
                    what: what(),
                    field: field.name(),
                    item,
                    count: hashes.len() as u64,
                })?;
            rlp::word(hash).map(B256::from).ok_or_else(malformed)
        }
        TxField::AccessListLength => list_len(layout.access_list),
        TxField::AuthorizationListLength => list_len(layout.authorizations),
        TxField::V => word(layout.v),
        TxField::R => word(layout.v + 1),
        TxField::S => word(layout.v + 2),
        TxField::Hash => Ok(keccak256(tx)),
    }
}

/// A receipt's type and its four items `[status, cumulativeGasUsed, logsBloom, logs]`.
fn receipt_items(block: u64, index: u64, receipt: &[u8]) -> Result<(u8, Vec<&[u8]>)> {
    envelope(receipt)
        .filter(|(ty, items)| *ty <= 4 && items.len() == 4)
        .ok_or(HistoryError::MalformedEnvelope {
            block,
            what: "receipt",
            index,
        })
}

/// A field of the receipt of transaction `index` of block `block` from its EIP-2718
/// encoding.
///
/// # Errors
/// [`HistoryError::MalformedEnvelope`], [`HistoryError::MalformedField`],
/// [`HistoryError::ItemOutOfRange`].
pub fn receipt_field(
    block: u64,
    index: u64,
    receipt: &[u8],
    field: ReceiptField,
    item: u64,
) -> Result<B256> {
    let (ty, items) = receipt_items(block, index, receipt)?;
    let what = || format!("receipt {index}");
    let malformed = || HistoryError::MalformedField {
        block,
        what: what(),
        field: field.name(),
    };
    match field {
        ReceiptField::Type => Ok(B256::from(U256::from(ty))),
        ReceiptField::Status => rlp::word(items[0]).map(B256::from).ok_or_else(malformed),
        ReceiptField::CumulativeGasUsed => {
            rlp::word(items[1]).map(B256::from).ok_or_else(malformed)
        }
        ReceiptField::LogsBloom => {
            let bloom = rlp::string(items[2]).ok_or_else(malformed)?;
            chunk(block, what(), field.name(), bloom, item)
        }
        ReceiptField::LogCount => rlp::list(items[3])
            .map(|logs| B256::from(U256::from(logs.len())))
            .ok_or_else(malformed),
    }
}

/// A field of log `log_index` of the receipt of transaction `tx_index` of block `block`.
///
/// # Errors
/// [`HistoryError::LogOutOfRange`] and the errors of [`receipt_field`].
pub fn log_field(
    block: u64,
    tx_index: u64,
    receipt: &[u8],
    log_index: u64,
    field: LogField,
    item: u64,
) -> Result<B256> {
    let (_, items) = receipt_items(block, tx_index, receipt)?;
    let what = || format!("log {log_index} of receipt {tx_index}");
    let malformed = || HistoryError::MalformedField {
        block,
        what: what(),
        field: field.name(),
    };
    let logs = rlp::list(items[3]).ok_or_else(malformed)?;
    let log = usize::try_from(log_index)
        .ok()
        .and_then(|i| logs.get(i))
        .ok_or(HistoryError::LogOutOfRange {
            block,
            tx_index,
            log_index,
            count: logs.len() as u64,
        })?;
    let log = rlp::list(log)
        .filter(|l| l.len() == 3)
        .ok_or_else(malformed)?;
    let topics = || rlp::list(log[1]).ok_or_else(malformed);
    match field {
        LogField::Address => {
            let address = rlp::string(log[0]).filter(|a| a.len() == 20);
            address
                .and_then(rlp::right_aligned)
                .map(B256::from)
                .ok_or_else(malformed)
        }
        LogField::TopicCount => Ok(B256::from(U256::from(topics()?.len()))),
        LogField::Topic => {
            let topics = topics()?;
            let topic = usize::try_from(item)
                .ok()
                .and_then(|i| topics.get(i))
                .ok_or(HistoryError::ItemOutOfRange {
                    block,
                    what: what(),
                    field: field.name(),
                    item,
                    count: topics.len() as u64,
                })?;
            rlp::word(topic).map(B256::from).ok_or_else(malformed)
        }
        LogField::DataLength => {
            let data = rlp::string(log[2]).ok_or_else(malformed)?;
            Ok(B256::from(U256::from(data.len())))
        }
        LogField::DataWord => {
            let data = rlp::string(log[2]).ok_or_else(malformed)?;
            chunk(block, what(), field.name(), data, item)
        }
    }
}
