//! The world state as tries over a node source: the account trie and one storage trie per
//! account, read and written by address and slot.

use crate::error::{Result, WitnessError};
use alloc::{collections::BTreeMap, vec::Vec};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256, map::AddressMap};
use alloy_rlp::{Decodable, Encodable};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, Nibbles, TrieAccount};
use cairn_trie::{NodeProvider, SparseTrie};

/// An account's fields other than its storage root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountFields {
    /// Nonce.
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// Keccak hash of the code ([`KECCAK_EMPTY`] for none).
    pub code_hash: B256,
}

impl Default for AccountFields {
    fn default() -> Self {
        Self {
            nonce: 0,
            balance: U256::ZERO,
            code_hash: KECCAK_EMPTY,
        }
    }
}

/// The net change of one account over a block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountDiff {
    /// The account after the block; `None` when it no longer exists.
    pub info: Option<AccountFields>,
    /// The old storage was discarded (the account was destroyed or created) before `storage`
    /// was written.
    pub storage_wiped: bool,
    /// Slots written, with their final values (zero deletes the slot).
    pub storage: BTreeMap<U256, U256>,
}

/// The net state change of a block, by address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateDiff {
    /// Changed accounts.
    pub accounts: BTreeMap<Address, AccountDiff>,
}

impl StateDiff {
    /// The diff recorded by revm's `State` over a block (after `merge_transitions`).
    pub fn from_bundle(bundle: &revm::database::BundleState) -> Self {
        let mut accounts = BTreeMap::new();
        for (address, account) in &bundle.state {
            let storage: BTreeMap<U256, U256> = account
                .storage
                .iter()
                .filter(|(_, slot)| slot.is_changed() || account.status.was_destroyed())
                .map(|(k, slot)| (*k, slot.present_value))
                .collect();
            let wiped = account.status.was_destroyed();
            let fields = |i: &revm::state::AccountInfo| AccountFields {
                nonce: i.nonce,
                balance: i.balance,
                code_hash: i.code_hash,
            };
            let info = account.info.as_ref().map(fields);
            let unchanged =
                !wiped && storage.is_empty() && info == account.original_info.as_ref().map(fields);
            if !unchanged {
                accounts.insert(
                    *address,
                    AccountDiff {
                        info,
                        storage_wiped: wiped,
                        storage,
                    },
                );
            }
        }
        Self { accounts }
    }
}

/// The order in which a block's net updates go into a trie.
///
/// Every order gives the same root, but not the same reads: deleting a key can leave a
/// branch with a single entry, which then merges with that remaining child, so the child
/// must be decoded (a witness must carry it). Whether a branch ever drops to one entry
/// depends on the order: written first, a new key beside a deleted one keeps the branch
/// alive; deleted first, it collapses and is split again.
///
/// [`UpdateOrder::DeletionsFirst`] reaches every node that any order of the same updates
/// can reach: a node on the path of an updated key is read in every order (the walk to
/// the key passes through it, or an earlier update already decoded it), and a collapse
/// needs the untouched child `c` of a branch exactly when every other child's keys are
/// all deleted by the update, which deleting first always brings about while `c` still
/// holds a key. Inserting keys never makes a branch lose an entry, and a branch created
/// by an insertion keeps the inserted key, so no other collapse can need an original node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UpdateOrder {
    /// Writes, then deletions (geth's order, and the EIP-8025 replay order): a branch that
    /// loses a child and gains another never collapses, so the fewest sibling nodes are
    /// needed. Cairn's own validation uses it.
    #[default]
    WritesFirst,
    /// Deletions, then writes: every collapse that any order can cause happens.
    DeletionsFirst,
    /// By hashed key, writes and deletions interleaved (reth's order).
    Sorted,
}

impl UpdateOrder {
    /// Every order, [`UpdateOrder::WritesFirst`] first.
    pub const ALL: [Self; 3] = [Self::WritesFirst, Self::DeletionsFirst, Self::Sorted];

    /// Puts `items` in this order, given each item's trie key and whether it deletes.
    /// Writes-first and deletions-first keep the given order within each group.
    fn arrange<T>(self, items: &mut [T], key: impl Fn(&T) -> (&Nibbles, bool)) {
        match self {
            Self::WritesFirst => items.sort_by_key(|item| key(item).1),
            Self::DeletionsFirst => items.sort_by_key(|item| !key(item).1),
            Self::Sorted => items.sort_by(|a, b| key(a).0.cmp(key(b).0)),
        }
    }
}

impl core::fmt::Display for UpdateOrder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::WritesFirst => "writes first",
            Self::DeletionsFirst => "deletions first",
            Self::Sorted => "sorted key order",
        })
    }
}

/// The account trie plus the storage tries opened so far.
#[derive(Debug, Clone)]
pub struct StateTrie {
    accounts: SparseTrie,
    storage: AddressMap<SparseTrie>,
    record: bool,
}

impl StateTrie {
    /// State known only by its root.
    pub fn new(root: B256) -> Self {
        Self {
            accounts: SparseTrie::from_root(root),
            storage: AddressMap::default(),
            record: false,
        }
    }

    /// Remember the encodings of all nodes hashed from now on (see
    /// [`StateTrie::take_written`]), for a node store that persists new state.
    pub fn record_written(&mut self) {
        self.record = true;
        self.accounts.record_written();
        self.storage
            .values_mut()
            .for_each(SparseTrie::record_written);
    }

    /// Node encodings written since the last call, from the account and storage tries.
    pub fn take_written(&mut self) -> Vec<Bytes> {
        let mut out = self.accounts.take_written();
        for trie in self.storage.values_mut() {
            out.append(&mut trie.take_written());
        }
        out
    }

    fn open(&self, root: B256) -> SparseTrie {
        let mut trie = SparseTrie::from_root(root);
        if self.record {
            trie.record_written();
        }
        trie
    }

    /// Reads an account; `None` when the trie proves it absent.
    ///
    /// # Errors
    /// [`WitnessError::Account`] for a missing node, [`WitnessError::InvalidAccount`] for a
    /// leaf that is not an account.
    pub fn account(
        &mut self,
        address: Address,
        nodes: &mut impl NodeProvider,
    ) -> Result<Option<TrieAccount>> {
        let key = Nibbles::unpack(keccak256(address));
        let leaf = self
            .accounts
            .get(&key, nodes)
            .map_err(|source| WitnessError::Account {
                address,
                source: source.into(),
            })?;
        leaf.map(|mut rlp| TrieAccount::decode(&mut rlp))
            .transpose()
            .map_err(|source| WitnessError::InvalidAccount { address, source })
    }

    /// Opens (once) the storage trie of `address` at its current root.
    fn storage_trie(
        &mut self,
        address: Address,
        nodes: &mut impl NodeProvider,
    ) -> Result<&mut SparseTrie> {
        if !self.storage.contains_key(&address) {
            let root = self
                .account(address, nodes)?
                .map_or(EMPTY_ROOT_HASH, |a| a.storage_root);
            let trie = self.open(root);
            self.storage.insert(address, trie);
        }
        Ok(self.storage.get_mut(&address).expect("inserted above"))
    }

    /// Reads a storage slot (zero when absent).
    ///
    /// # Errors
    /// [`WitnessError::Storage`] for a missing node, or an account-trie error while finding
    /// the storage root.
    pub fn storage(
        &mut self,
        address: Address,
        slot: U256,
        nodes: &mut impl NodeProvider,
    ) -> Result<U256> {
        let trie = self.storage_trie(address, nodes)?;
        let key = Nibbles::unpack(keccak256(slot.to_be_bytes::<32>()));
        let leaf = trie
            .get(&key, nodes)
            .map_err(|source| WitnessError::Storage {
                address,
                slot,
                source: source.into(),
            })?;
        match leaf {
            None => Ok(U256::ZERO),
            Some(mut rlp) => {
                U256::decode(&mut rlp).map_err(|source| WitnessError::InvalidStorageValue {
                    address,
                    slot,
                    source,
                })
            }
        }
    }

    /// Applies a block's net changes in [`UpdateOrder::WritesFirst`] and returns the new
    /// state root.
    ///
    /// # Errors
    /// Trie errors naming the account, slot and missing node.
    pub fn apply(&mut self, diff: &StateDiff, nodes: &mut impl NodeProvider) -> Result<B256> {
        self.apply_ordered(diff, UpdateOrder::WritesFirst, nodes)
    }

    /// Applies a block's net changes, each trie's updates in `order`, and returns the new
    /// state root. The root is the same in every order; the nodes read are not: a branch
    /// that loses all but one entry collapses and needs its remaining child, which happens
    /// under one order and not another (see [`UpdateOrder`]).
    ///
    /// Storage tries are updated first (account by account), then the account trie.
    ///
    /// # Errors
    /// Trie errors naming the account, slot and missing node.
    pub fn apply_ordered(
        &mut self,
        diff: &StateDiff,
        order: UpdateOrder,
        nodes: &mut impl NodeProvider,
    ) -> Result<B256> {
        let mut updates: Vec<(Nibbles, Address, Option<TrieAccount>)> =
            Vec::with_capacity(diff.accounts.len());
        for (address, change) in &diff.accounts {
            let address = *address;
            let key = Nibbles::unpack(keccak256(address));
            let Some(info) = change.info else {
                updates.push((key, address, None));
                continue;
            };
            let storage_root = if change.storage_wiped || !change.storage.is_empty() {
                if change.storage_wiped {
                    let trie = self.open(EMPTY_ROOT_HASH);
                    self.storage.insert(address, trie);
                }
                let trie = self.storage_trie(address, nodes)?;
                let mut slots: Vec<(Nibbles, &U256, &U256)> = change
                    .storage
                    .iter()
                    .map(|(slot, value)| {
                        let key = Nibbles::unpack(keccak256(slot.to_be_bytes::<32>()));
                        (key, slot, value)
                    })
                    .collect();
                order.arrange(&mut slots, |(key, _, value)| (key, value.is_zero()));
                for (key, slot, value) in slots {
                    let encoded = if value.is_zero() {
                        Vec::new()
                    } else {
                        alloy_rlp::encode(value)
                    };
                    trie.insert(&key, encoded, nodes)
                        .map_err(|source| WitnessError::Storage {
                            address,
                            slot: *slot,
                            source: source.into(),
                        })?;
                }
                trie.root()
            } else {
                match self.storage.get_mut(&address) {
                    Some(trie) => trie.root(),
                    None => self
                        .account(address, nodes)?
                        .map_or(EMPTY_ROOT_HASH, |a| a.storage_root),
                }
            };
            updates.push((
                key,
                address,
                Some(TrieAccount {
                    nonce: info.nonce,
                    balance: info.balance,
                    storage_root,
                    code_hash: info.code_hash,
                }),
            ));
        }
        order.arrange(&mut updates, |(key, _, account)| (key, account.is_none()));
        for (key, address, account) in updates {
            let encoded = account.map(|a| {
                let mut out = Vec::with_capacity(a.length());
                a.encode(&mut out);
                out
            });
            let result = match encoded {
                Some(encoded) => self.accounts.insert(&key, encoded, nodes),
                None => {
                    let trie = self.open(EMPTY_ROOT_HASH);
                    self.storage.insert(address, trie);
                    self.accounts.remove(&key, nodes).map(drop)
                }
            };
            result.map_err(|source| WitnessError::Account {
                address,
                source: source.into(),
            })?;
        }
        Ok(self.accounts.root())
    }

    /// The current state root.
    pub fn root(&mut self) -> B256 {
        self.accounts.root()
    }

    /// An EIP-1186 proof: the account proof and one proof per slot, root first.
    ///
    /// # Errors
    /// Trie errors when a node on a path is missing.
    pub fn proof(
        &mut self,
        address: Address,
        slots: &[U256],
        nodes: &mut impl NodeProvider,
    ) -> Result<(Vec<Bytes>, Vec<Vec<Bytes>>)> {
        let key = Nibbles::unpack(keccak256(address));
        let account_proof =
            self.accounts
                .proof(&key, nodes)
                .map_err(|source| WitnessError::Account {
                    address,
                    source: source.into(),
                })?;
        let trie = self.storage_trie(address, nodes)?;
        let mut storage_proofs = Vec::with_capacity(slots.len());
        for slot in slots {
            let key = Nibbles::unpack(keccak256(slot.to_be_bytes::<32>()));
            storage_proofs.push(trie.proof(&key, nodes).map_err(|source| {
                WitnessError::Storage {
                    address,
                    slot: *slot,
                    source: source.into(),
                }
            })?);
        }
        Ok((account_proof, storage_proofs))
    }
}
