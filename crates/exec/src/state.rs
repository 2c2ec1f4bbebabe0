//! The flat, latest-only view of the world state that full execution reads.

use crate::error::FlatDbError;
use alloy_primitives::{
    Address, B256, Bytes, U256,
    map::{AddressMap, B256Map, HashMap},
};
use alloy_trie::KECCAK_EMPTY;
use cairn_witness::{AccountFields, StateDiff};
use revm::{Database, bytecode::Bytecode, state::AccountInfo};

/// An account in the flat state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlatAccount {
    /// Nonce, balance, code hash.
    pub fields: AccountFields,
    /// Non-zero storage slots.
    pub storage: HashMap<U256, U256>,
}

/// Accounts, storage and code at the head.
#[derive(Debug, Clone, Default)]
pub struct FlatState {
    /// Live accounts.
    pub accounts: AddressMap<FlatAccount>,
    /// All code ever deployed, by hash.
    pub codes: B256Map<Bytes>,
}

impl FlatState {
    /// Applies a block's net changes.
    pub fn apply(&mut self, diff: &StateDiff) {
        for (address, change) in &diff.accounts {
            let Some(fields) = change.info else {
                self.accounts.remove(address);
                continue;
            };
            let account = self.accounts.entry(*address).or_default();
            account.fields = fields;
            if change.storage_wiped {
                account.storage.clear();
            }
            for (slot, value) in &change.storage {
                if value.is_zero() {
                    account.storage.remove(slot);
                } else {
                    account.storage.insert(*slot, *value);
                }
            }
        }
    }
}

/// A revm database over the flat state and the canonical header hashes.
#[derive(Debug)]
pub(crate) struct FlatDb<'a> {
    pub(crate) state: &'a FlatState,
    pub(crate) hashes: &'a [B256],
    /// Number of the first block in `hashes`.
    pub(crate) first: u64,
}

impl cairn_stateless::StorageProbe for FlatDb<'_> {
    fn has_storage(&mut self, address: Address) -> bool {
        self.state
            .accounts
            .get(&address)
            .is_some_and(|a| !a.storage.is_empty())
    }
}

impl Database for FlatDb<'_> {
    type Error = FlatDbError;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, FlatDbError> {
        Ok(self.state.accounts.get(&address).map(|a| AccountInfo {
            balance: a.fields.balance,
            nonce: a.fields.nonce,
            code_hash: a.fields.code_hash,
            code: None,
            ..Default::default()
        }))
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, FlatDbError> {
        if code_hash == KECCAK_EMPTY {
            return Ok(Bytecode::default());
        }
        let code = self
            .state
            .codes
            .get(&code_hash)
            .ok_or(FlatDbError::MissingCode { code_hash })?;
        Bytecode::new_raw_checked(code.clone())
            .map_err(|source| FlatDbError::InvalidCode { code_hash, source })
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, FlatDbError> {
        Ok(self
            .state
            .accounts
            .get(&address)
            .and_then(|a| a.storage.get(&index))
            .copied()
            .unwrap_or_default())
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, FlatDbError> {
        number
            .checked_sub(self.first)
            .and_then(|n| usize::try_from(n).ok())
            .and_then(|n| self.hashes.get(n))
            .copied()
            .ok_or(FlatDbError::MissingHeader { number })
    }
}
