//! The witness-backed state database the EVM reads through.

use crate::{
    error::{Result, WitnessError},
    source::WitnessSource,
    state::{StateDiff, StateTrie},
};
use alloc::collections::{BTreeMap, BTreeSet};
use alloy_primitives::{Address, B256, U256};
use alloy_trie::KECCAK_EMPTY;
use revm::{Database, bytecode::Bytecode, state::AccountInfo};

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
        }
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

    /// Applies a block's net state change to the tries and returns the new state root; the
    /// block becomes available to BLOCKHASH.
    ///
    /// # Errors
    /// Trie errors when a node needed for the update (e.g. a sibling of a deleted node) is
    /// missing from the witness.
    pub fn commit_block(&mut self, number: u64, hash: B256, diff: &StateDiff) -> Result<B256> {
        let root = self.state.apply(diff, &mut self.source)?;
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
            Ok(Some(code)) => Bytecode::new_raw_checked(code)
                .map_err(|source| WitnessError::InvalidCode { code_hash, source }),
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
