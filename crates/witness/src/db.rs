//! The witness-backed state database the EVM reads through.

use crate::{
    error::{Result, WitnessError},
    source::WitnessSource,
    state::{StateDiff, StateTrie, UpdateOrder},
};
use alloc::{
    collections::{BTreeMap, BTreeSet},
    vec::Vec,
};
use alloy_primitives::{Address, B256, U256, map::B256Set};
use alloy_trie::KECCAK_EMPTY;
use revm::{Database, bytecode::Bytecode, state::AccountInfo};

/// What a [`WitnessDb`] demands of its source beyond what Cairn's own validation needs.
///
/// Cairn's validation ([`WitnessRules::CAIRN`]) finds code by hash wherever the batch
/// already has it (revm's state cache shares the code of a contract deployed in the batch
/// with every account of the same code hash) and applies updates writes first. Other
/// stateless clients look the code of a pre-state account up only in the witness and apply
/// updates in their own order (reth: sorted by hashed key), so a witness that only Cairn
/// can use is too small for them. [`WitnessRules::STRICT`] validates as they do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WitnessRules {
    /// Code of an account that existed before the batch comes only from the source: the
    /// stateless program drops code that the source did not serve from the EVM's cache
    /// after every execution, so code deployed in the batch never stands in for it.
    pub prestate_code_from_source: bool,
    /// The order in which each block's updates go into the tries.
    pub order: UpdateOrder,
    /// Before applying a block's updates, also apply them in every other order on a copy of
    /// the tries, so that a recording source serves every node any order reaches (and the
    /// roots are checked to agree).
    pub reach_all_orders: bool,
}

impl WitnessRules {
    /// Cairn's own validation: code shared by hash, writes first.
    pub const CAIRN: Self = Self {
        prestate_code_from_source: false,
        order: UpdateOrder::WritesFirst,
        reach_all_orders: false,
    };

    /// Strict validation: pre-state code only from the witness, updates in sorted key
    /// order, so a witness that only Cairn could use is rejected.
    pub const STRICT: Self = Self {
        prestate_code_from_source: true,
        order: UpdateOrder::Sorted,
        reach_all_orders: false,
    };

    /// Generating a complete witness: pre-state code only from the source, and every order
    /// applied, so the recorded witness satisfies every validator.
    pub const COMPLETE: Self = Self {
        prestate_code_from_source: true,
        order: UpdateOrder::WritesFirst,
        reach_all_orders: true,
    };
}

/// A revm [`Database`] that answers every read from a [`WitnessSource`] and proves it: accounts
/// and slots through the state tries, code by hash, block hashes from the verified header
/// chain (plus blocks executed in this batch). A read the source cannot prove is an error,
/// never a silent zero.
#[derive(Debug)]
pub struct WitnessDb<S> {
    source: S,
    state: StateTrie,
    /// Hashes of blocks executed in this batch, which BLOCKHASH may also ask for.
    executed: BTreeMap<u64, B256>,
    /// Every address and slot read, for the witness's `keys`.
    keys: Option<BTreeSet<(Address, Option<U256>)>>,
    /// The first read that failed. The EVM turns database errors into strings (system calls)
    /// or boxes; keeping the typed error here lets the caller tell an incomplete witness from
    /// an invalid block.
    failure: Option<WitnessError>,
    rules: WitnessRules,
    /// Code hashes the source served (kept only with `prestate_code_from_source`).
    served_codes: B256Set,
}

impl<S: WitnessSource> WitnessDb<S> {
    /// A database over `source`, with the state at `state_root`.
    pub fn new(source: S, state_root: B256) -> Self {
        Self {
            source,
            state: StateTrie::new(state_root),
            executed: BTreeMap::new(),
            keys: None,
            failure: None,
            rules: WitnessRules::CAIRN,
            served_codes: B256Set::default(),
        }
    }

    /// Holds the source to `rules` (see [`WitnessRules`]).
    pub fn with_rules(mut self, rules: WitnessRules) -> Self {
        self.rules = rules;
        self
    }

    /// The rules in force.
    pub fn rules(&self) -> WitnessRules {
        self.rules
    }

    /// Whether the source served the code with this hash (tracked only when
    /// [`WitnessRules::prestate_code_from_source`] is set; always `false` otherwise).
    pub fn served_code(&self, code_hash: &B256) -> bool {
        self.served_codes.contains(code_hash)
    }

    /// Also remember every address and slot read (for the witness's `keys` list).
    pub fn record_keys(mut self) -> Self {
        self.keys = Some(BTreeSet::new());
        self
    }

    /// Addresses (with `None`) and slots read so far, if recording.
    pub fn keys(&self) -> Option<&BTreeSet<(Address, Option<U256>)>> {
        self.keys.as_ref()
    }

    /// The first read error since the last call, if any.
    pub fn take_failure(&mut self) -> Option<WitnessError> {
        self.failure.take()
    }

    fn note<T>(&mut self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            self.failure.get_or_insert_with(|| e.clone());
        }
        result
    }

    /// Applies a block's net state change to the tries, in the order of the rules, and
    /// returns the new state root; the block becomes available to BLOCKHASH.
    ///
    /// # Errors
    /// Trie errors when a node needed for the update (e.g. a sibling of a deleted node) is
    /// missing from the witness; [`WitnessError::OrderDependentRoot`] if, reaching all
    /// orders, two orders disagree (a trie fault, never the input's).
    pub fn commit_block(&mut self, number: u64, hash: B256, diff: &StateDiff) -> Result<B256> {
        let order = self.rules.order;
        let mut probes = Vec::new();
        if self.rules.reach_all_orders {
            for other in UpdateOrder::ALL.into_iter().filter(|o| *o != order) {
                let mut copy = self.state.clone();
                probes.push((other, copy.apply_ordered(diff, other, &mut self.source)?));
            }
        }
        let root = self.state.apply_ordered(diff, order, &mut self.source)?;
        if let Some((other, got)) = probes.into_iter().find(|(_, r)| *r != root) {
            return Err(WitnessError::OrderDependentRoot {
                order: other,
                got,
                expected: root,
            });
        }
        self.executed.insert(number, hash);
        Ok(root)
    }

    /// Whether `address` has non-empty storage (its storage root is not the empty root).
    /// A read the witness cannot prove counts as "no" and is kept as the failure.
    pub fn has_storage(&mut self, address: Address) -> bool {
        let account = self.state.account(address, &mut self.source);
        self.note(account)
            .ok()
            .flatten()
            .is_some_and(|a| a.storage_root != alloy_trie::EMPTY_ROOT_HASH)
    }

    /// The underlying source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// Gives back the source.
    pub fn into_source(self) -> S {
        self.source
    }

    /// The state tries (e.g. to build proofs).
    pub fn state_mut(&mut self) -> (&mut StateTrie, &mut S) {
        (&mut self.state, &mut self.source)
    }
}

impl<S: WitnessSource> Database for WitnessDb<S> {
    type Error = WitnessError;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>> {
        if let Some(keys) = &mut self.keys {
            keys.insert((address, None));
        }
        let account = self.state.account(address, &mut self.source);
        Ok(self.note(account)?.map(|a| AccountInfo {
            balance: a.balance,
            nonce: a.nonce,
            code_hash: a.code_hash,
            // Loaded through `code_by_hash`, so that only code the EVM runs must be present.
            code: None,
            ..Default::default()
        }))
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode> {
        if code_hash == KECCAK_EMPTY {
            return Ok(Bytecode::default());
        }
        let code = match self.source.code(&code_hash) {
            Ok(Some(code)) => {
                if self.rules.prestate_code_from_source {
                    self.served_codes.insert(code_hash);
                }
                Bytecode::new_raw_checked(code)
                    .map_err(|source| WitnessError::InvalidCode { code_hash, source })
            }
            Ok(None) => Err(WitnessError::MissingCode { code_hash }),
            Err(e) => Err(WitnessError::Source(e.into())),
        };
        self.note(code)
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256> {
        if let Some(keys) = &mut self.keys {
            keys.insert((address, Some(index)));
        }
        let value = self.state.storage(address, index, &mut self.source);
        self.note(value)
    }

    fn block_hash(&mut self, number: u64) -> Result<B256> {
        if let Some(hash) = self.executed.get(&number) {
            return Ok(*hash);
        }
        let hash = match self.source.ancestor_hash(number) {
            Ok(Some(hash)) => Ok(hash),
            Ok(None) => Err(WitnessError::MissingBlockHash { number }),
            Err(e) => Err(WitnessError::Source(e.into())),
        };
        self.note(hash)
    }
}
