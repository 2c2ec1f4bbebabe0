//! Subqueries, their fields, Solidity mapping keys, and the fixed-size encoding a contract or a
//! circuit recomputes (see the crate docs for the tables).

use crate::error::{HistoryError, Result};
use alloc::{string::String, vec::Vec};
use alloy_primitives::{Address, B256, Bytes, I256, U256, keccak256};
use core::{fmt, str::FromStr};
use serde::{Deserialize, Serialize};

/// The most keys a mapping subquery may chain (`mapping(a => mapping(b => ...))`).
pub const MAX_MAPPING_DEPTH: usize = 4;

/// Subquery type codes: word 0 of the encoding.
pub mod kind {
    /// A block header field.
    pub const HEADER: u8 = 1;
    /// An account field.
    pub const ACCOUNT: u8 = 2;
    /// A storage slot.
    pub const STORAGE: u8 = 3;
    /// A Solidity mapping entry (nested or not).
    pub const MAPPING: u8 = 4;
    /// A transaction field.
    pub const TX: u8 = 5;
    /// A receipt field.
    pub const RECEIPT: u8 = 6;
    /// A field of one log of a receipt.
    pub const LOG: u8 = 7;
}

/// Defines a field enum with fixed numeric codes, camelCase names, and serde that writes the
/// name and reads the name or the code.
macro_rules! fields {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal, $text:literal, $takes_item:literal;)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every field, in code order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];

            /// The field's code in the encoding.
            pub const fn code(self) -> u64 {
                match self { $(Self::$variant => $code,)* }
            }

            /// The field with this code.
            pub fn from_code(code: u64) -> Option<Self> {
                match code { $($code => Some(Self::$variant),)* _ => None }
            }

            /// The field's name (camelCase, as in JSON).
            pub const fn name(self) -> &'static str {
                match self { $(Self::$variant => $text,)* }
            }

            /// Whether the field takes an `item` (a word or list index); others need `item == 0`.
            pub const fn takes_item(self) -> bool {
                match self { $(Self::$variant => $takes_item,)* }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $name {
            type Err = HistoryError;

            fn from_str(s: &str) -> Result<Self> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|f| f.name().eq_ignore_ascii_case(s))
                    .or_else(|| s.parse::<u64>().ok().and_then(Self::from_code))
                    .ok_or(HistoryError::UnknownField { kind: stringify!($name) })
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        write!(f, "a {} name or code", stringify!($name))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> core::result::Result<$name, E> {
                        v.parse().map_err(|_| E::custom(alloc::format!("unknown {}: {v:?}", stringify!($name))))
                    }
                    fn visit_u64<E: serde::de::Error>(self, v: u64) -> core::result::Result<$name, E> {
                        $name::from_code(v).ok_or_else(|| E::custom(alloc::format!("unknown {} code {v}", stringify!($name))))
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

fields! {
    /// A header field: codes 0..=20 are positions in the header's RLP list; `hash` is the
    /// block hash. `logsBloom` and `extraData` are read in 32-byte words (`item`).
    HeaderField {
        /// 0.
        ParentHash = 0, "parentHash", false;
        /// 1.
        OmmersHash = 1, "ommersHash", false;
        /// 2: the fee recipient.
        Beneficiary = 2, "beneficiary", false;
        /// 3.
        StateRoot = 3, "stateRoot", false;
        /// 4.
        TransactionsRoot = 4, "transactionsRoot", false;
        /// 5.
        ReceiptsRoot = 5, "receiptsRoot", false;
        /// 6: 256 bytes, words 0..8.
        LogsBloom = 6, "logsBloom", true;
        /// 7.
        Difficulty = 7, "difficulty", false;
        /// 8.
        Number = 8, "number", false;
        /// 9.
        GasLimit = 9, "gasLimit", false;
        /// 10.
        GasUsed = 10, "gasUsed", false;
        /// 11.
        Timestamp = 11, "timestamp", false;
        /// 12: words of at most 32 bytes.
        ExtraData = 12, "extraData", true;
        /// 13: `prevRandao` since the merge.
        MixHash = 13, "mixHash", false;
        /// 14: 8 bytes, as a number.
        Nonce = 14, "nonce", false;
        /// 15 (London).
        BaseFeePerGas = 15, "baseFeePerGas", false;
        /// 16 (Shanghai).
        WithdrawalsRoot = 16, "withdrawalsRoot", false;
        /// 17 (Cancun).
        BlobGasUsed = 17, "blobGasUsed", false;
        /// 18 (Cancun).
        ExcessBlobGas = 18, "excessBlobGas", false;
        /// 19 (Cancun).
        ParentBeaconBlockRoot = 19, "parentBeaconBlockRoot", false;
        /// 20 (Prague).
        RequestsHash = 20, "requestsHash", false;
        /// 64: keccak256 of the header.
        Hash = 64, "hash", false;
    }
}

fields! {
    /// An account field (the four items of the state trie's account RLP).
    AccountField {
        /// 0.
        Nonce = 0, "nonce", false;
        /// 1.
        Balance = 1, "balance", false;
        /// 2.
        StorageRoot = 2, "storageRoot", false;
        /// 3.
        CodeHash = 3, "codeHash", false;
    }
}

fields! {
    /// A transaction field, uniform across transaction types.
    TxField {
        /// 0: the EIP-2718 type (0 for legacy).
        Type = 0, "type", false;
        /// 1: legacy: from `v` per EIP-155 (0 before it).
        ChainId = 1, "chainId", false;
        /// 2.
        Nonce = 2, "nonce", false;
        /// 3.
        GasLimit = 3, "gasLimit", false;
        /// 4: 0 for a contract creation.
        To = 4, "to", false;
        /// 5.
        Value = 5, "value", false;
        /// 6: calldata length in bytes.
        DataLength = 6, "dataLength", false;
        /// 7: the first 4 bytes of calldata as a number (0 when shorter).
        Selector = 7, "selector", false;
        /// 8: calldata word `item` (bytes `32 item .. 32 item + 32`, zero-padded).
        DataWord = 8, "dataWord", true;
        /// 9: legacy and EIP-2930: `gasPrice`.
        MaxFeePerGas = 9, "maxFeePerGas", false;
        /// 10: legacy and EIP-2930: `gasPrice`.
        MaxPriorityFeePerGas = 10, "maxPriorityFeePerGas", false;
        /// 11: 0 unless EIP-4844.
        MaxFeePerBlobGas = 11, "maxFeePerBlobGas", false;
        /// 12: 0 unless EIP-4844.
        BlobHashCount = 12, "blobHashCount", false;
        /// 13: blob versioned hash `item`.
        BlobHash = 13, "blobHash", true;
        /// 14: entries of the access list (0 for legacy).
        AccessListLength = 14, "accessListLength", false;
        /// 15: entries of the EIP-7702 authorization list (0 for other types).
        AuthorizationListLength = 15, "authorizationListLength", false;
        /// 16: legacy: `v`; typed: `yParity`.
        V = 16, "v", false;
        /// 17.
        R = 17, "r", false;
        /// 18.
        S = 18, "s", false;
        /// 19: keccak256 of the EIP-2718 encoding.
        Hash = 19, "hash", false;
    }
}

fields! {
    /// A receipt field.
    ReceiptField {
        /// 0: the EIP-2718 type.
        Type = 0, "type", false;
        /// 1: 1 success, 0 failure (before Byzantium: the post-state root).
        Status = 1, "status", false;
        /// 2.
        CumulativeGasUsed = 2, "cumulativeGasUsed", false;
        /// 3: 256 bytes, words 0..8.
        LogsBloom = 3, "logsBloom", true;
        /// 4.
        LogCount = 4, "logCount", false;
    }
}

fields! {
    /// A field of one log.
    LogField {
        /// 0: the emitting contract.
        Address = 0, "address", false;
        /// 1.
        TopicCount = 1, "topicCount", false;
        /// 2: topic `item`.
        Topic = 2, "topic", true;
        /// 3: data length in bytes.
        DataLength = 3, "dataLength", false;
        /// 4: data word `item`.
        DataWord = 4, "dataWord", true;
    }
}

/// A Solidity mapping key, encoded `h(k)` per the storage layout rules: value types padded to
/// 32 bytes as in memory, `string` and `bytes` as their raw bytes.
///
/// JSON: `{"address": "0x.."}`, `{"uint": "0x2a"}`, `{"int": "-1"}`, `{"bool": true}`,
/// `{"fixedBytes": "0x1234"}` (`bytesN`), `{"string": "alice"}`, `{"bytes": "0x.."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MappingKey {
    /// `address` (and contract types): left-padded.
    Address(Address),
    /// `uintN`, enums: big-endian, left-padded.
    Uint(U256),
    /// `intN`: two's complement, sign-extended.
    Int(I256),
    /// `bool`: 0 or 1.
    Bool(bool),
    /// `bytesN` (1 to 32 bytes): right-padded.
    FixedBytes(Bytes),
    /// `string`: the UTF-8 bytes, unpadded.
    String(String),
    /// `bytes`: unpadded.
    Bytes(Bytes),
}

impl MappingKey {
    /// `h(k)`: the bytes hashed with the mapping's slot.
    ///
    /// # Errors
    /// [`HistoryError::FixedBytesLength`] for a `bytesN` key outside 1..=32 bytes.
    pub fn encode(&self) -> Result<Vec<u8>> {
        Ok(match self {
            Self::Address(a) => B256::left_padding_from(a.as_slice()).to_vec(),
            Self::Uint(u) => u.to_be_bytes::<32>().to_vec(),
            Self::Int(i) => i.to_be_bytes::<32>().to_vec(),
            Self::Bool(b) => U256::from(*b as u8).to_be_bytes::<32>().to_vec(),
            Self::FixedBytes(b) => {
                if b.is_empty() || b.len() > 32 {
                    return Err(HistoryError::FixedBytesLength { len: b.len() });
                }
                B256::right_padding_from(b).to_vec()
            }
            Self::String(s) => s.as_bytes().to_vec(),
            Self::Bytes(b) => b.to_vec(),
        })
    }
}

impl FromStr for MappingKey {
    type Err = HistoryError;

    /// `kind:value`: `address:0x..`, `uint:42` or `uint:0x2a`, `int:-1`, `bool:true`,
    /// `bytes32:0x..` (any `bytesN`), `string:alice`, `bytes:0x..`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || HistoryError::BadMappingKey { key: s.into() };
        let (kind, value) = s.split_once(':').ok_or_else(bad)?;
        Ok(match kind {
            "address" => Self::Address(value.parse().map_err(|_| bad())?),
            "uint" => Self::Uint(value.parse().map_err(|_| bad())?),
            "int" => Self::Int(
                value
                    .parse()
                    .or_else(|_| I256::from_hex_str(value))
                    .map_err(|_| bad())?,
            ),
            "bool" => Self::Bool(value.parse().map_err(|_| bad())?),
            "string" => Self::String(value.into()),
            "bytes" => Self::Bytes(value.parse().map_err(|_| bad())?),
            k if k
                .strip_prefix("bytes")
                .and_then(|n| n.parse::<u8>().ok())
                .is_some() =>
            {
                let b: Bytes = value.parse().map_err(|_| bad())?;
                Self::FixedBytes(b)
            }
            _ => return Err(bad()),
        })
    }
}

/// The raw storage slot of a (nested) mapping entry: `slot_0 = p`,
/// `slot_i = keccak256(h(k_i) ‖ slot_{i-1})`.
///
/// # Errors
/// Key encoding errors.
pub fn mapping_slot(slot: B256, keys: &[MappingKey]) -> Result<B256> {
    let mut slot = slot;
    let mut buf = Vec::new();
    for key in keys {
        buf.clear();
        buf.extend_from_slice(&key.encode()?);
        buf.extend_from_slice(slot.as_slice());
        slot = keccak256(&buf);
    }
    Ok(slot)
}

/// `keysHash = keccak256(keccak256(h(k_1)) ‖ … ‖ keccak256(h(k_n)))`: how a mapping subquery
/// commits to its keys in a fixed-size word.
///
/// # Errors
/// Key encoding errors.
pub fn keys_hash(keys: &[MappingKey]) -> Result<B256> {
    let mut buf = Vec::with_capacity(32 * keys.len());
    for key in keys {
        buf.extend_from_slice(keccak256(key.encode()?).as_slice());
    }
    Ok(keccak256(&buf))
}

/// One statement about a block: the value of a field of its header, an account, a storage
/// slot, a mapping entry, a transaction, a receipt or a log. Its answer is one 32-byte word.
///
/// JSON: `{"type": "storage", "block": "0x10", "address": "0x..", "slot": "0x..."}` and so
/// on; numbers are hex quantities (decimal accepted), fields are names (or codes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Subquery {
    /// A header field.
    Header {
        /// Block number.
        #[serde(with = "alloy_serde::quantity")]
        block: u64,
        /// The field.
        field: HeaderField,
        /// Word index for `logsBloom` and `extraData`.
        #[serde(default, with = "alloy_serde::quantity")]
        item: u64,
    },
    /// An account field at the end of `block`.
    Account {
        /// Block number.
        #[serde(with = "alloy_serde::quantity")]
        block: u64,
        /// The account.
        address: Address,
        /// The field.
        field: AccountField,
    },
    /// A storage slot at the end of `block` (zero when unset).
    Storage {
        /// Block number.
        #[serde(with = "alloy_serde::quantity")]
        block: u64,
        /// The contract.
        address: Address,
        /// The raw slot.
        slot: B256,
    },
    /// A Solidity mapping entry: `mapping` declared at `slot`, read at `keys` (one per level).
    Mapping {
        /// Block number.
        #[serde(with = "alloy_serde::quantity")]
        block: u64,
        /// The contract.
        address: Address,
        /// The mapping's own slot (`p`).
        slot: B256,
        /// The keys, outermost first.
        keys: Vec<MappingKey>,
    },
    /// A transaction field, by index in the block.
    Tx {
        /// Block number.
        #[serde(with = "alloy_serde::quantity")]
        block: u64,
        /// Transaction index.
        #[serde(with = "alloy_serde::quantity")]
        index: u64,
        /// The field.
        field: TxField,
        /// Word or list index for `dataWord` and `blobHash`.
        #[serde(default, with = "alloy_serde::quantity")]
        item: u64,
    },
    /// A receipt field, by transaction index.
    Receipt {
        /// Block number.
        #[serde(with = "alloy_serde::quantity")]
        block: u64,
        /// Transaction index.
        #[serde(with = "alloy_serde::quantity")]
        index: u64,
        /// The field.
        field: ReceiptField,
        /// Word index for `logsBloom`.
        #[serde(default, with = "alloy_serde::quantity")]
        item: u64,
    },
    /// A field of log `log_index` of the receipt of transaction `tx_index`.
    Log {
        /// Block number.
        #[serde(with = "alloy_serde::quantity")]
        block: u64,
        /// Transaction index.
        #[serde(with = "alloy_serde::quantity")]
        tx_index: u64,
        /// Log index within the receipt.
        #[serde(with = "alloy_serde::quantity")]
        log_index: u64,
        /// The field.
        field: LogField,
        /// Topic index for `topic`, word index for `dataWord`.
        #[serde(default, with = "alloy_serde::quantity")]
        item: u64,
    },
}

/// The size of a subquery's encoding: six 32-byte words.
pub const SUBQUERY_BYTES: usize = 192;

impl Subquery {
    /// The block the subquery is about.
    pub const fn block(&self) -> u64 {
        match self {
            Self::Header { block, .. }
            | Self::Account { block, .. }
            | Self::Storage { block, .. }
            | Self::Mapping { block, .. }
            | Self::Tx { block, .. }
            | Self::Receipt { block, .. }
            | Self::Log { block, .. } => *block,
        }
    }

    /// The type code ([`kind`]).
    pub const fn kind(&self) -> u8 {
        match self {
            Self::Header { .. } => kind::HEADER,
            Self::Account { .. } => kind::ACCOUNT,
            Self::Storage { .. } => kind::STORAGE,
            Self::Mapping { .. } => kind::MAPPING,
            Self::Tx { .. } => kind::TX,
            Self::Receipt { .. } => kind::RECEIPT,
            Self::Log { .. } => kind::LOG,
        }
    }

    /// The type's name (`"storage"`, ...).
    pub const fn kind_name(&self) -> &'static str {
        match self {
            Self::Header { .. } => "header",
            Self::Account { .. } => "account",
            Self::Storage { .. } => "storage",
            Self::Mapping { .. } => "mapping",
            Self::Tx { .. } => "tx",
            Self::Receipt { .. } => "receipt",
            Self::Log { .. } => "log",
        }
    }

    /// Checks what can be checked without data: `item` only where the field takes one,
    /// mapping depth and key lengths.
    ///
    /// # Errors
    /// [`HistoryError::ItemNotAllowed`], [`HistoryError::MappingDepth`],
    /// [`HistoryError::FixedBytesLength`].
    pub fn check(&self) -> Result<()> {
        let item_rule = |name: &'static str, takes: bool, item: u64| {
            if !takes && item != 0 {
                Err(HistoryError::ItemNotAllowed { field: name, item })
            } else {
                Ok(())
            }
        };
        match self {
            Self::Header { field, item, .. } => item_rule(field.name(), field.takes_item(), *item),
            Self::Tx { field, item, .. } => item_rule(field.name(), field.takes_item(), *item),
            Self::Receipt { field, item, .. } => item_rule(field.name(), field.takes_item(), *item),
            Self::Log { field, item, .. } => item_rule(field.name(), field.takes_item(), *item),
            Self::Mapping { keys, .. } => {
                if keys.is_empty() || keys.len() > MAX_MAPPING_DEPTH {
                    return Err(HistoryError::MappingDepth {
                        depth: keys.len(),
                        max: MAX_MAPPING_DEPTH,
                    });
                }
                for key in keys {
                    key.encode()?;
                }
                Ok(())
            }
            Self::Account { .. } | Self::Storage { .. } => Ok(()),
        }
    }

    /// The raw storage slot a storage or mapping subquery reads (`None` for other types).
    ///
    /// # Errors
    /// Key encoding errors.
    pub fn storage_slot(&self) -> Result<Option<(Address, B256)>> {
        Ok(match self {
            Self::Storage { address, slot, .. } => Some((*address, *slot)),
            Self::Mapping {
                address,
                slot,
                keys,
                ..
            } => Some((*address, mapping_slot(*slot, keys)?)),
            _ => None,
        })
    }

    /// The fixed-size encoding: six 32-byte words `[type, block, w2, w3, w4, w5]`, numbers
    /// big-endian, addresses left-padded, unused words zero (see the crate docs).
    ///
    /// # Errors
    /// Mapping key encoding errors.
    pub fn words(&self) -> Result<[B256; 6]> {
        let n = |v: u64| B256::from(U256::from(v));
        let a = |a: &Address| B256::left_padding_from(a.as_slice());
        let mut w = [B256::ZERO; 6];
        w[0] = n(self.kind() as u64);
        w[1] = n(self.block());
        match self {
            Self::Header { field, item, .. } => {
                w[2] = n(field.code());
                w[3] = n(*item);
            }
            Self::Account { address, field, .. } => {
                w[2] = a(address);
                w[3] = n(field.code());
            }
            Self::Storage { address, slot, .. } => {
                w[2] = a(address);
                w[3] = *slot;
            }
            Self::Mapping {
                address,
                slot,
                keys,
                ..
            } => {
                w[2] = a(address);
                w[3] = *slot;
                w[4] = n(keys.len() as u64);
                w[5] = keys_hash(keys)?;
            }
            Self::Tx {
                index, field, item, ..
            } => {
                w[2] = n(*index);
                w[3] = n(field.code());
                w[4] = n(*item);
            }
            Self::Receipt {
                index, field, item, ..
            } => {
                w[2] = n(*index);
                w[3] = n(field.code());
                w[4] = n(*item);
            }
            Self::Log {
                tx_index,
                log_index,
                field,
                item,
                ..
            } => {
                w[2] = n(*tx_index);
                w[3] = n(*log_index);
                w[4] = n(field.code());
                w[5] = n(*item);
            }
        }
        Ok(w)
    }

    /// The subquery's encoding as bytes ([`SUBQUERY_BYTES`] long).
    ///
    /// # Errors
    /// Mapping key encoding errors.
    pub fn encode(&self) -> Result<[u8; SUBQUERY_BYTES]> {
        let mut out = [0u8; SUBQUERY_BYTES];
        for (i, w) in self.words()?.iter().enumerate() {
            out[32 * i..32 * i + 32].copy_from_slice(w.as_slice());
        }
        Ok(out)
    }
}

impl fmt::Display for Subquery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let item = |f: &mut fmt::Formatter<'_>, takes: bool, item: u64| {
            if takes { write!(f, "[{item}]") } else { Ok(()) }
        };
        match self {
            Self::Header {
                block,
                field,
                item: i,
            } => {
                write!(f, "header {field}")?;
                item(f, field.takes_item(), *i)?;
                write!(f, " of block {block}")
            }
            Self::Account {
                block,
                address,
                field,
            } => write!(f, "{field} of account {address} at block {block}"),
            Self::Storage {
                block,
                address,
                slot,
            } => write!(f, "slot {slot} of {address} at block {block}"),
            Self::Mapping {
                block,
                address,
                slot,
                keys,
            } => write!(
                f,
                "mapping at slot {slot} of {address}, {} key(s), at block {block}",
                keys.len()
            ),
            Self::Tx {
                block,
                index,
                field,
                item: i,
            } => {
                write!(f, "tx {index} {field}")?;
                item(f, field.takes_item(), *i)?;
                write!(f, " in block {block}")
            }
            Self::Receipt {
                block,
                index,
                field,
                item: i,
            } => {
                write!(f, "receipt {index} {field}")?;
                item(f, field.takes_item(), *i)?;
                write!(f, " in block {block}")
            }
            Self::Log {
                block,
                tx_index,
                log_index,
                field,
                item: i,
            } => {
                write!(f, "log {log_index} of tx {tx_index} {field}")?;
                item(f, field.takes_item(), *i)?;
                write!(f, " in block {block}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, b256, hex};

    #[test]
    fn solidity_mapping_slots() {
        // mapping(address => uint) at slot 0: keccak256(pad(addr) ‖ pad(0)).
        let who = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        let slot = mapping_slot(B256::ZERO, &[MappingKey::Address(who)]).unwrap();
        let mut buf = [0u8; 64];
        buf[12..32].copy_from_slice(who.as_slice());
        assert_eq!(slot, keccak256(buf));
        // mapping(string => uint) at slot 3: keccak256(bytes(key) ‖ pad(3)).
        let slot = mapping_slot(
            B256::from(U256::from(3)),
            &[MappingKey::String("alice".into())],
        )
        .unwrap();
        let mut buf = b"alice".to_vec();
        buf.extend_from_slice(&U256::from(3).to_be_bytes::<32>());
        assert_eq!(slot, keccak256(&buf));
        // Nested: the inner slot is the outer one.
        let outer = mapping_slot(B256::ZERO, &[MappingKey::Address(who)]).unwrap();
        let nested = mapping_slot(
            B256::ZERO,
            &[MappingKey::Address(who), MappingKey::Uint(U256::from(7))],
        )
        .unwrap();
        assert_eq!(
            nested,
            mapping_slot(outer, &[MappingKey::Uint(U256::from(7))]).unwrap()
        );
        // Value types pad as in memory.
        assert_eq!(
            MappingKey::Int(I256::MINUS_ONE).encode().unwrap(),
            [0xff; 32]
        );
        assert_eq!(MappingKey::Bool(true).encode().unwrap()[31], 1);
        assert_eq!(
            MappingKey::FixedBytes(hex!("1234").into())
                .encode()
                .unwrap()[..3],
            [0x12, 0x34, 0]
        );
        assert!(MappingKey::FixedBytes(Bytes::new()).encode().is_err());
    }

    #[test]
    fn keys_parse() {
        assert_eq!(
            "uint:42".parse::<MappingKey>().unwrap(),
            MappingKey::Uint(U256::from(42))
        );
        assert_eq!(
            "uint:0x2a".parse::<MappingKey>().unwrap(),
            MappingKey::Uint(U256::from(42))
        );
        assert_eq!(
            "int:-1".parse::<MappingKey>().unwrap(),
            MappingKey::Int(I256::MINUS_ONE)
        );
        assert_eq!(
            "string:a:b".parse::<MappingKey>().unwrap(),
            MappingKey::String("a:b".into())
        );
        assert!(matches!(
            "bytes4:0x12345678".parse::<MappingKey>().unwrap(),
            MappingKey::FixedBytes(_)
        ));
        for bad in ["uint", "nope:1", "uint:x", "address:0x12"] {
            assert!(bad.parse::<MappingKey>().is_err(), "{bad}");
        }
    }

    #[test]
    fn json_shapes() {
        let sq: Subquery = serde_json::from_str(
            r#"{"type":"storage","block":"0x10","address":"0x00000000000000000000000000000000000000aa","slot":"0x0000000000000000000000000000000000000000000000000000000000000001"}"#,
        )
        .unwrap();
        assert_eq!(sq.block(), 16);
        let sq: Subquery =
            serde_json::from_str(r#"{"type":"header","block":5,"field":"stateRoot"}"#).unwrap();
        assert_eq!(
            sq,
            Subquery::Header {
                block: 5,
                field: HeaderField::StateRoot,
                item: 0
            }
        );
        let sq: Subquery = serde_json::from_str(
            r#"{"type":"log","block":"0x5","txIndex":"0x1","logIndex":"0x0","field":2,"item":"0x1"}"#,
        )
        .unwrap();
        assert!(matches!(
            sq,
            Subquery::Log {
                field: LogField::Topic,
                item: 1,
                ..
            }
        ));
        let back: Subquery = serde_json::from_str(&serde_json::to_string(&sq).unwrap()).unwrap();
        assert_eq!(back, sq);
        let json = serde_json::to_value(&sq).unwrap();
        assert_eq!(json["field"], "topic");
        assert_eq!(json["txIndex"], "0x1");
        assert!(
            serde_json::from_str::<Subquery>(r#"{"type":"header","block":5,"field":"nope"}"#)
                .is_err()
        );
        // A slot of the wrong length does not parse.
        assert!(serde_json::from_str::<Subquery>(
            r#"{"type":"storage","block":1,"address":"0x00000000000000000000000000000000000000aa","slot":"0x01"}"#
        )
        .is_err());
    }

    #[test]
    fn encoding_words() {
        let sq = Subquery::Log {
            block: 0x10,
            tx_index: 2,
            log_index: 3,
            field: LogField::Topic,
            item: 1,
        };
        let enc = sq.encode().unwrap();
        assert_eq!(enc[31], kind::LOG);
        assert_eq!(enc[63], 0x10);
        assert_eq!((enc[95], enc[127], enc[159], enc[191]), (2, 3, 2, 1));
        let mapping = Subquery::Mapping {
            block: 1,
            address: Address::repeat_byte(0xaa),
            slot: b256!("0000000000000000000000000000000000000000000000000000000000000002"),
            keys: vec![MappingKey::String("alice".into())],
        };
        let w = mapping.words().unwrap();
        assert_eq!(w[2][12..], [0xaa; 20]);
        assert_eq!(w[4], B256::from(U256::from(1)));
        assert_eq!(w[5], keccak256(keccak256(b"alice")));
        assert!(
            Subquery::Tx {
                block: 1,
                index: 0,
                field: TxField::Nonce,
                item: 1
            }
            .check()
            .is_err()
        );
        assert!(
            Subquery::Mapping {
                block: 1,
                address: Address::ZERO,
                slot: B256::ZERO,
                keys: vec![]
            }
            .check()
            .is_err()
        );
    }
}
