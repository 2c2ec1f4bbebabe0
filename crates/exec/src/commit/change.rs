//! `stateChangeHash`: a canonical hash of exactly the state mutations one execution step (a
//! transaction, a system call, the withdrawals) made.
//!
//! # Encoding
//!
//! ```text
//! change      = "cairn.stateChange.v1" ‖ u32(len(accounts)) ‖ account*     (accounts ascending by address)
//! account     = address (20) ‖ flags (1) ‖ old ‖ new ‖ u32(len(slots)) ‖ slot*   (slots ascending by key)
//! flags       = bit 0: created (storage starts empty), bit 1: destroyed (account and storage removed)
//! old, new    = 0x00                                                  (account absent)
//!             | 0x01 ‖ u64(nonce) ‖ u256(balance) ‖ code_hash (32)    (account present)
//! slot        = key (32) ‖ old value (32) ‖ new value (32)
//! stateChangeHash = keccak256(change)
//! ```
//!
//! Integers are big-endian and fixed-width. An account is listed when its fields change, any
//! of its slots changes value, or it is created or destroyed; a slot is listed when its value
//! changes. Reads, and writes of a slot's current value, leave no trace. `old` is the value
//! before the step, `new` after it. An empty change (no account listed) hashes to
//! [`EMPTY_CHANGE_HASH`].

use alloy_primitives::{
    Address, B256, U256, keccak256,
    map::{AddressSet, HashMap},
};
use cairn_witness::{AccountDiff, AccountFields, StateDiff};
use revm::state::EvmState;
use std::collections::BTreeMap;

/// Domain tag at the start of every encoded change.
pub const CHANGE_DOMAIN: &[u8] = b"cairn.stateChange.v1";

/// `keccak256(CHANGE_DOMAIN ‖ u32(0))`: the hash of a step that changed nothing.
pub static EMPTY_CHANGE_HASH: std::sync::LazyLock<B256> =
    std::sync::LazyLock::new(|| StateChange::default().hash());

/// One account's change within a step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountChange {
    /// The account was created in this step (its storage starts empty).
    pub created: bool,
    /// The account was removed in this step (self-destruct or EIP-161 touch of an empty account).
    pub destroyed: bool,
    /// Before the step (`None`: absent).
    pub old: Option<AccountFields>,
    /// After the step (`None`: absent).
    pub new: Option<AccountFields>,
    /// Changed slots: key → (old, new).
    pub slots: BTreeMap<U256, (U256, U256)>,
}

/// The exact state change of one step, by address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateChange {
    /// Changed accounts, ascending by address.
    pub accounts: BTreeMap<Address, AccountChange>,
}

impl StateChange {
    /// The canonical encoding (see the module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(CHANGE_DOMAIN.len() + 4 + self.accounts.len() * 160);
        out.extend_from_slice(CHANGE_DOMAIN);
        out.extend_from_slice(&(self.accounts.len() as u32).to_be_bytes());
        for (address, change) in &self.accounts {
            out.extend_from_slice(address.as_slice());
            out.push(u8::from(change.created) | (u8::from(change.destroyed) << 1));
            for fields in [&change.old, &change.new] {
                match fields {
                    None => out.push(0),
                    Some(f) => {
                        out.push(1);
                        out.extend_from_slice(&f.nonce.to_be_bytes());
                        out.extend_from_slice(&f.balance.to_be_bytes::<32>());
                        out.extend_from_slice(f.code_hash.as_slice());
                    }
                }
            }
            out.extend_from_slice(&(change.slots.len() as u32).to_be_bytes());
            for (key, (old, new)) in &change.slots {
                out.extend_from_slice(&key.to_be_bytes::<32>());
                out.extend_from_slice(&old.to_be_bytes::<32>());
                out.extend_from_slice(&new.to_be_bytes::<32>());
            }
        }
        out
    }

    /// `keccak256(encode())`.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }

    /// The same change as a [`StateDiff`] for the state tries.
    pub fn to_diff(&self) -> StateDiff {
        let accounts = self
            .accounts
            .iter()
            .map(|(address, c)| {
                let diff = AccountDiff {
                    info: c.new,
                    storage_wiped: c.created || c.destroyed,
                    storage: c.slots.iter().map(|(k, (_, new))| (*k, *new)).collect(),
                };
                (*address, diff)
            })
            .collect();
        StateDiff { accounts }
    }
}

/// What the state looks like between steps of a block: the state at the block's start
/// (through `base`) with the steps so far applied on top. It supplies the `old` side of each
/// step's [`StateChange`].
pub(crate) struct Overlay<'a> {
    base: &'a crate::state::FlatState,
    accounts: HashMap<Address, Option<AccountFields>>,
    /// Slot values written so far, by account; an account in `wiped` reads zero for
    /// unwritten slots.
    slots: HashMap<Address, HashMap<U256, U256>>,
    wiped: AddressSet,
}

impl<'a> Overlay<'a> {
    pub(crate) fn new(base: &'a crate::state::FlatState) -> Self {
        Self {
            base,
            accounts: HashMap::default(),
            slots: HashMap::default(),
            wiped: AddressSet::default(),
        }
    }

    fn account(&self, address: &Address) -> Option<AccountFields> {
        match self.accounts.get(address) {
            Some(a) => *a,
            None => self.base.accounts.get(address).map(|a| a.fields),
        }
    }

    fn slot(&self, address: &Address, key: &U256) -> U256 {
        if let Some(v) = self.slots.get(address).and_then(|s| s.get(key)) {
            return *v;
        }
        if self.wiped.contains(address) {
            return U256::ZERO;
        }
        self.base
            .accounts
            .get(address)
            .and_then(|a| a.storage.get(key))
            .copied()
            .unwrap_or_default()
    }

    /// The change a committed EVM state makes, following revm's own commit rules (untouched
    /// accounts are skipped; self-destructed ones are removed; created ones start with empty
    /// storage; touched empty ones are removed under EIP-161). The overlay moves past it.
    pub(crate) fn step(&mut self, state: &EvmState) -> StateChange {
        let mut change = StateChange::default();
        for (address, account) in state {
            if !account.is_touched() {
                continue;
            }
            let old = self.account(address);
            let (created, destroyed, new) = if account.is_selfdestructed() {
                (false, old.is_some(), None)
            } else if account.is_created() {
                (true, false, Some(fields(&account.info)))
            } else if account.is_empty() {
                (false, old.is_some(), None)
            } else {
                (false, false, Some(fields(&account.info)))
            };
            let mut slots = BTreeMap::new();
            if new.is_some() {
                for (key, slot) in &account.storage {
                    let previous = self.slot(address, key);
                    if slot.present_value != previous {
                        slots.insert(*key, (previous, slot.present_value));
                    }
                }
            }
            if old == new && slots.is_empty() && !created && !destroyed {
                continue;
            }
            // Apply to the overlay.
            if created || destroyed || new.is_none() {
                self.wiped.insert(*address);
                self.slots.remove(address);
            }
            if !slots.is_empty() {
                let written = self.slots.entry(*address).or_default();
                for (key, (_, value)) in &slots {
                    written.insert(*key, *value);
                }
            }
            self.accounts.insert(*address, new);
            change.accounts.insert(
                *address,
                AccountChange {
                    created,
                    destroyed,
                    old,
                    new,
                    slots,
                },
            );
        }
        change
    }
}

fn fields(info: &revm::state::AccountInfo) -> AccountFields {
    AccountFields {
        nonce: info.nonce,
        balance: info.balance,
        code_hash: info.code_hash,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_canonical_and_documented() {
        let mut change = StateChange::default();
        let a = Address::repeat_byte(2);
        let b = Address::repeat_byte(1);
        for address in [a, b] {
            change.accounts.insert(
                address,
                AccountChange {
                    old: None,
                    new: Some(AccountFields {
                        nonce: 1,
                        balance: U256::from(5),
                        code_hash: B256::ZERO,
                    }),
                    slots: [(U256::from(9), (U256::ZERO, U256::from(3)))]
                        .into_iter()
                        .collect(),
                    ..Default::default()
                },
            );
        }
        let bytes = change.encode();
        let header = CHANGE_DOMAIN.len() + 4;
        assert_eq!(&bytes[..CHANGE_DOMAIN.len()], CHANGE_DOMAIN);
        assert_eq!(&bytes[CHANGE_DOMAIN.len()..header], &2u32.to_be_bytes());
        // Ascending address order: 0x0101.. before 0x0202..
        assert_eq!(&bytes[header..header + 20], b.as_slice());
        let per_account = 20 + 1 + 1 + (1 + 8 + 32 + 32) + 4 + 96;
        assert_eq!(bytes.len(), header + 2 * per_account);
        assert_eq!(StateChange::default().hash(), *EMPTY_CHANGE_HASH);
        assert_ne!(change.hash(), *EMPTY_CHANGE_HASH);
    }
}
