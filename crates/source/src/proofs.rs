//! The `eth_getProof` builder, for nodes without the debug API.
//!
//! 1. **Pre-flight**: the blocks execute against the state at the parent of the first,
//!    read lazily over RPC (a revm `Database`): an account is one `eth_getProof` (its proof is
//!    kept), its code one `eth_getCode` (checked against the proven code hash), a slot one
//!    `eth_getProof` with that key (its proof is kept), a BLOCKHASH one header (checked
//!    against its hash). Every proof is verified against the root it hangs from before its
//!    value is used.
//! 2. **Witness**: the proofs' nodes, the codes, and the headers from the oldest one
//!    BLOCKHASH read to the parent.
//! 3. **Deletion repair**: the input goes through the stateless program; where it stops on
//!    a trie node that a deletion needs (the proofs at the parent do not hold the nodes a
//!    collapse restructures), the node is found and added, and the program runs again:
//!    - *case 1* (a collapse sibling leaf): the exclusion proof of the deleted key at the
//!      block that deleted it ends in the leaf that replaced the collapsed branch; its path
//!      minus the nibbles the collapse prepended gives back the sibling;
//!    - *case 2* (a branch or extension the collapse restructures): a node of that proof, an
//!      extension shortened likewise, a proof at the parent of another key under the node's
//!      path (a key whose hash starts with that path is searched for, up to
//!      [`MAX_SEARCH_NIBBLES`] nibbles), or `debug_dbGet`; otherwise
//!      [`SourceError::UnrepairableDeletion`] names the node and the key.

use crate::{
    blocks::{self, BodySource, quantity},
    error::{Result, SourceError},
    provider::{FetchStats, Fetched, MergedWitness, WitnessProvider},
    rpc::Rpc,
};
use alloy_consensus::Header;
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_rpc_types_eth::EIP1186AccountProofResponse;
use alloy_trie::{
    EMPTY_ROOT_HASH, KECCAK_EMPTY, Nibbles, TrieAccount,
    nodes::{ExtensionNode, LeafNode, TrieNode},
};
use cairn_primitives::{Block, ChainConfig, ProgramInput};
use cairn_stateless::{StatelessError, WitnessRules};
use cairn_trie::TrieError;
use cairn_witness::WitnessError;
use revm::{
    Database,
    bytecode::Bytecode,
    database::{State, states::bundle_state::BundleRetention},
    state::AccountInfo,
};
use serde_json::json;
use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::Instant,
};
use tokio::runtime::Handle;

/// Longest node path a key search covers (16^6 ≈ 17 M hashes, a few seconds).
pub const MAX_SEARCH_NIBBLES: usize = 6;

/// Validation passes the repair loop may take before it gives up (each adds a node).
const MAX_REPAIRS: usize = 4096;

/// Another node's `eth_getProof` / `eth_getCode` / `eth_getBlockByNumber`, turned into a
/// program input (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct ProofRpc {
    rpc: Arc<Rpc>,
    chain: ChainConfig,
    bodies: BodySource,
    key_search: usize,
}

impl ProofRpc {
    /// Over a connection to a node of `chain`.
    pub fn new(rpc: Arc<Rpc>, chain: ChainConfig, bodies: BodySource) -> Self {
        Self {
            rpc,
            chain,
            bodies,
            key_search: MAX_SEARCH_NIBBLES,
        }
    }

    /// Searches keys under a missing node's path only up to `nibbles` nibbles (at most
    /// [`MAX_SEARCH_NIBBLES`]; 0: never, so case 2 goes straight to `debug_dbGet`).
    #[must_use]
    pub fn with_key_search(mut self, nibbles: usize) -> Self {
        self.key_search = nibbles.min(MAX_SEARCH_NIBBLES);
        self
    }
}

impl WitnessProvider for ProofRpc {
    type Error = SourceError;

    async fn program_input(&self, first: u64, last: u64) -> Result<Fetched> {
        let start = Instant::now();
        let before = self.rpc.stats();
        let (parent, _parent_hash, blocks) =
            blocks::blocks(&self.rpc, first, last, self.bodies).await?;

        // 1. Pre-flight: the EVM is synchronous, so it runs on a blocking thread that waits
        // for each answer.
        let pre = {
            let rpc = Arc::clone(&self.rpc);
            let chain = self.chain.clone();
            let blocks = blocks.clone();
            let parent = parent.clone();
            let handle = Handle::current();
            tokio::task::spawn_blocking(move || preflight(rpc, handle, &chain, &blocks, &parent))
                .await??
        };

        // 2. The witness: proof nodes, codes, headers from the oldest BLOCKHASH to the parent.
        let mut witness = MergedWitness::default();
        witness.add_nodes(pre.nodes.iter());
        for code in pre.codes.values() {
            witness.add_code(code);
        }
        witness.add_header(first - 1, alloy_rlp::encode(&parent).into());
        let oldest = pre.hashes.keys().next().copied().unwrap_or(first - 1);
        let mut child_parent = parent.parent_hash;
        for number in (oldest..first - 1).rev() {
            let (header, hash) = match pre.hashes.get(&number) {
                Some((header, hash)) => (header.clone(), *hash),
                None => blocks::header(&self.rpc, number).await?,
            };
            if hash != child_parent {
                return Err(SourceError::BlockHashMismatch {
                    method: "eth_getBlockByNumber",
                    number,
                    got: hash,
                    expected: child_parent,
                });
            }
            child_parent = header.parent_hash;
            witness.add_header(number, alloy_rlp::encode(&header).into());
        }
        let mut input = ProgramInput {
            chain: self.chain.clone(),
            blocks,
            witness: witness.finish(),
        };

        // 3. Deletion repair, until both Cairn's and the strict rules accept the input.
        let mut repair = Repair::new(Arc::clone(&self.rpc), first, parent.state_root);
        repair.key_search = self.key_search;
        for rules in [WitnessRules::CAIRN, WitnessRules::STRICT] {
            for pass in 0.. {
                let attempt = {
                    let input = input.clone();
                    tokio::task::spawn_blocking(move || {
                        cairn_stateless::validate_with_rules(&input, rules)
                    })
                    .await?
                };
                let Err(error) = attempt else { break };
                let missing = Missing::from_error(&error).filter(|_| pass < MAX_REPAIRS);
                let Some(missing) = missing else {
                    return Err(SourceError::Invalid {
                        first,
                        last,
                        source: Box::new(error),
                    });
                };
                let header = &input.blocks[(missing.block - first) as usize].header;
                let node = repair.find(&missing, header.state_root).await?;
                witness.add_nodes([&node]);
                input.witness = witness.finish();
            }
        }
        Ok(Fetched {
            input,
            stats: FetchStats {
                rpc: self.rpc.stats() - before,
                wall: start.elapsed(),
                repairs_leaf: repair.leaf,
                repairs_branch: repair.branch,
                repairs_db_get: repair.db_get,
            },
        })
    }
}

/// What the pre-flight read.
#[derive(Debug, Default)]
struct PreFlight {
    nodes: Vec<Bytes>,
    codes: BTreeMap<B256, Bytes>,
    hashes: BTreeMap<u64, (Header, B256)>,
}

fn preflight(
    rpc: Arc<Rpc>,
    handle: Handle,
    chain: &ChainConfig,
    blocks: &[Block],
    parent: &Header,
) -> Result<PreFlight> {
    let db = RemoteDb {
        rpc,
        handle,
        block: parent.number,
        root: parent.state_root,
        accounts: HashMap::new(),
        read: PreFlight::default(),
        failure: None,
    };
    let mut state = State::builder()
        .with_database(db)
        .with_bundle_update()
        .build();
    for block in blocks {
        let number = block.header.number;
        let fail = |source: Box<dyn std::error::Error + Send + Sync>| SourceError::PreFlight {
            block: number,
            source,
        };
        let txs = cairn_stateless::recover_senders(block).map_err(|e| fail(Box::new(e)))?;
        let outcome = cairn_stateless::execute_block(
            chain,
            block,
            &txs,
            &mut state,
            cairn_stateless::Eip7610,
        );
        if let Some(failure) = state.database.failure.take() {
            return Err(failure);
        }
        outcome.map_err(|e| fail(Box::new(e)))?;
        state.merge_transitions(BundleRetention::PlainState);
    }
    Ok(state.database.read)
}

/// A revm database over a remote node's state at one block, every answer proven.
#[derive(Debug)]
struct RemoteDb {
    rpc: Arc<Rpc>,
    handle: Handle,
    block: u64,
    root: B256,
    /// Proven accounts (`None`: absent).
    accounts: HashMap<Address, Option<TrieAccount>>,
    read: PreFlight,
    /// The first error, kept because revm may turn a database error into a halt.
    failure: Option<SourceError>,
}

impl RemoteDb {
    fn fail<T>(&mut self, e: SourceError) -> Result<T> {
        self.failure.get_or_insert(e);
        Err(SourceError::ReadFailed { block: self.block })
    }

    fn proof(&mut self, address: Address, slots: &[U256]) -> Result<EIP1186AccountProofResponse> {
        let keys: Vec<B256> = slots.iter().map(|s| B256::from(*s)).collect();
        let fut = self.rpc.call::<EIP1186AccountProofResponse>(
            "eth_getProof",
            vec![json!(address), json!(keys), quantity(self.block)],
        );
        let proof = self.handle.block_on(fut)?;
        let account = verify_account(self.block, self.root, address, &proof)?;
        self.read.nodes.extend(proof.account_proof.iter().cloned());
        let storage_root = account.map_or(EMPTY_ROOT_HASH, |a| a.storage_root);
        for (slot, sp) in slots.iter().zip(&proof.storage_proof) {
            if sp.key.as_b256() != B256::from(*slot) {
                return Err(SourceError::ProofForOtherKey {
                    block: self.block,
                    address,
                    answered: format!("slot {}", sp.key.as_b256()),
                });
            }
            verify_storage(
                self.block,
                storage_root,
                address,
                *slot,
                sp.value,
                &sp.proof,
            )?;
            self.read.nodes.extend(sp.proof.iter().cloned());
        }
        if proof.storage_proof.len() != slots.len() {
            return Err(SourceError::ProofForOtherKey {
                block: self.block,
                address,
                answered: format!("{} slots of {}", proof.storage_proof.len(), slots.len()),
            });
        }
        self.accounts.insert(address, account);
        Ok(proof)
    }

    fn account(&mut self, address: Address) -> Result<Option<TrieAccount>> {
        if let Some(a) = self.accounts.get(&address) {
            return Ok(*a);
        }
        self.proof(address, &[])?;
        Ok(self.accounts.get(&address).copied().flatten())
    }

    fn basic_inner(&mut self, address: Address) -> Result<Option<AccountInfo>> {
        let Some(account) = self.account(address)? else {
            return Ok(None);
        };
        let code = if account.code_hash == KECCAK_EMPTY {
            None
        } else {
            let code = match self.read.codes.get(&account.code_hash) {
                Some(code) => code.clone(),
                None => {
                    let fut = self
                        .rpc
                        .call::<Bytes>("eth_getCode", vec![json!(address), quantity(self.block)]);
                    let code = self.handle.block_on(fut)?;
                    let got = keccak256(&code);
                    if got != account.code_hash {
                        return Err(SourceError::CodeHashMismatch {
                            block: self.block,
                            address,
                            got,
                            expected: account.code_hash,
                        });
                    }
                    self.read.codes.insert(got, code.clone());
                    code
                }
            };
            Some(
                Bytecode::new_raw_checked(code).map_err(|source| SourceError::BadCode {
                    block: self.block,
                    address,
                    source,
                })?,
            )
        };
        Ok(Some(AccountInfo {
            balance: account.balance,
            nonce: account.nonce,
            code_hash: account.code_hash,
            code,
            ..Default::default()
        }))
    }
}

impl revm::database_interface::DBErrorMarker for SourceError {}

impl Database for RemoteDb {
    type Error = SourceError;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>> {
        match self.basic_inner(address) {
            Ok(info) => Ok(info),
            Err(e) => self.fail(e),
        }
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode> {
        if code_hash == KECCAK_EMPTY {
            return Ok(Bytecode::default());
        }
        match self.read.codes.get(&code_hash) {
            Some(code) => Ok(Bytecode::new_raw(code.clone())),
            None => self.fail(SourceError::UnknownCode {
                block: self.block,
                code_hash,
            }),
        }
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256> {
        let result = (|| {
            let Some(account) = self.account(address)? else {
                return Ok(U256::ZERO);
            };
            if account.storage_root == EMPTY_ROOT_HASH {
                return Ok(U256::ZERO);
            }
            let proof = self.proof(address, &[index])?;
            Ok(proof.storage_proof.first().map_or(U256::ZERO, |p| p.value))
        })();
        match result {
            Ok(v) => Ok(v),
            Err(e) => self.fail(e),
        }
    }

    fn block_hash(&mut self, number: u64) -> Result<B256> {
        if let Some((_, hash)) = self.read.hashes.get(&number) {
            return Ok(*hash);
        }
        let fut = blocks::header(&self.rpc, number);
        match self.handle.block_on(fut) {
            Ok((header, hash)) => {
                self.read.hashes.insert(number, (header, hash));
                Ok(hash)
            }
            Err(e) => self.fail(e),
        }
    }
}

impl cairn_stateless::StorageProbe for RemoteDb {
    fn has_storage(&mut self, address: Address) -> bool {
        match self.account(address) {
            Ok(account) => account.is_some_and(|a| a.storage_root != EMPTY_ROOT_HASH),
            Err(e) => {
                self.failure.get_or_insert(e);
                false
            }
        }
    }
}

/// Checks an account proof against `root`; returns the proven account (`None`: absent).
fn verify_account(
    block: u64,
    root: B256,
    address: Address,
    proof: &EIP1186AccountProofResponse,
) -> Result<Option<TrieAccount>> {
    if proof.address != address {
        return Err(SourceError::ProofForOtherKey {
            block,
            address,
            answered: proof.address.to_string(),
        });
    }
    let key = Nibbles::unpack(keccak256(address));
    let account = TrieAccount {
        nonce: proof.nonce,
        balance: proof.balance,
        storage_root: proof.storage_hash,
        code_hash: proof.code_hash,
    };
    // Nodes answer an absent account as empty (some with zero hashes): it is absent when
    // the proof says so, an existing empty account otherwise.
    let looks_absent = proof.nonce == 0
        && proof.balance.is_zero()
        && (proof.code_hash == KECCAK_EMPTY || proof.code_hash.is_zero())
        && (proof.storage_hash == EMPTY_ROOT_HASH || proof.storage_hash.is_zero());
    if looks_absent
        && alloy_trie::proof::verify_proof(root, key, None, &proof.account_proof).is_ok()
    {
        return Ok(None);
    }
    alloy_trie::proof::verify_proof(
        root,
        key,
        Some(alloy_rlp::encode(account)),
        &proof.account_proof,
    )
    .map_err(|source| SourceError::AccountProof {
        block,
        address,
        root,
        source: Box::new(source),
    })?;
    Ok(Some(account))
}

fn verify_storage(
    block: u64,
    root: B256,
    address: Address,
    slot: U256,
    value: U256,
    proof: &[Bytes],
) -> Result<()> {
    let key = Nibbles::unpack(keccak256(B256::from(slot)));
    let expected = (!value.is_zero()).then(|| alloy_rlp::encode(value));
    alloy_trie::proof::verify_proof(root, key, expected, proof).map_err(|source| {
        SourceError::StorageProof {
            block,
            address,
            slot,
            root,
            source: Box::new(source),
        }
    })
}

/// A node the stateless program stopped on.
#[derive(Debug, Clone)]
struct Missing {
    block: u64,
    address: Address,
    slot: Option<U256>,
    hash: B256,
    path: Nibbles,
}

impl Missing {
    fn from_error(error: &StatelessError) -> Option<Self> {
        let StatelessError::WitnessIncomplete { block, source } = error else {
            return None;
        };
        let (address, slot, trie) = match source {
            WitnessError::Account { address, source } => (*address, None, source),
            WitnessError::Storage {
                address,
                slot,
                source,
            } => (*address, Some(*slot), source),
            _ => return None,
        };
        let TrieError::MissingNode { hash, path } = trie.as_ref() else {
            return None;
        };
        Some(Self {
            block: *block,
            address,
            slot,
            hash: *hash,
            path: *path,
        })
    }

    fn key(&self) -> String {
        match self.slot {
            Some(slot) => format!("account {} slot {slot:#x}", self.address),
            None => format!("account {}", self.address),
        }
    }
}

/// Finds the nodes deletions need, counting what it found.
#[derive(Debug)]
struct Repair {
    rpc: Arc<Rpc>,
    /// First block of the range (proofs for a key search are taken at its parent).
    first: u64,
    parent_root: B256,
    /// Candidate nodes by hash.
    candidates: HashMap<B256, Bytes>,
    /// Child proofs already fetched: (block, address, slot).
    fetched: std::collections::HashSet<(u64, Address, Option<U256>)>,
    /// Longest path a key search covers.
    key_search: usize,
    leaf: u64,
    branch: u64,
    db_get: u64,
}

impl Repair {
    fn new(rpc: Arc<Rpc>, first: u64, parent_root: B256) -> Self {
        Self {
            rpc,
            first,
            parent_root,
            candidates: HashMap::new(),
            fetched: Default::default(),
            key_search: MAX_SEARCH_NIBBLES,
            leaf: 0,
            branch: 0,
            db_get: 0,
        }
    }

    fn take(&mut self, hash: &B256) -> Option<Bytes> {
        let node = self.candidates.get(hash)?.clone();
        self.count(hash, &node);
        Some(node)
    }

    /// Counts a repair by what the node is: a leaf is case 1, a branch or extension case 2.
    fn count(&mut self, hash: &B256, node: &Bytes) {
        let is_leaf = matches!(
            <TrieNode as alloy_rlp::Decodable>::decode(&mut node.as_ref()),
            Ok(TrieNode::Leaf(_))
        );
        if is_leaf {
            self.leaf += 1;
        } else {
            self.branch += 1;
        }
        tracing::debug!(target: "cairn::source", %hash, case = if is_leaf { 1 } else { 2 }, "deletion repaired");
    }

    fn unrepairable(&self, missing: &Missing, reason: String) -> SourceError {
        SourceError::UnrepairableDeletion {
            block: missing.block,
            node: missing.hash,
            path: hex_path(&missing.path),
            key: missing.key(),
            reason,
        }
    }

    async fn find(&mut self, missing: &Missing, block_root: B256) -> Result<Bytes> {
        if let Some(node) = self.take(&missing.hash) {
            return Ok(node);
        }
        // Case 1 (and case 2 where the child proof holds the node): the deleted key's proof
        // at the block that deleted it.
        let id = (missing.block, missing.address, missing.slot);
        if self.fetched.insert(id) {
            let slots: Vec<B256> = missing.slot.iter().map(|s| B256::from(*s)).collect();
            let proof: EIP1186AccountProofResponse = self
                .rpc
                .call(
                    "eth_getProof",
                    vec![
                        json!(missing.address),
                        json!(slots),
                        quantity(missing.block),
                    ],
                )
                .await?;
            let account = verify_account(missing.block, block_root, missing.address, &proof)?;
            self.derive(&proof.account_proof);
            if let (Some(slot), Some(sp)) = (missing.slot, proof.storage_proof.first()) {
                let root = account.map_or(EMPTY_ROOT_HASH, |a| a.storage_root);
                verify_storage(
                    missing.block,
                    root,
                    missing.address,
                    slot,
                    sp.value,
                    &sp.proof,
                )?;
                self.derive(&sp.proof);
            }
            if let Some(node) = self.take(&missing.hash) {
                return Ok(node);
            }
        }
        // Case 2: a proof at the parent of another key under the node's path.
        let mut tried = Vec::new();
        if missing.path.len() <= self.key_search {
            let prefix = missing.path;
            let storage = missing.slot.is_some();
            let key = tokio::task::spawn_blocking(move || search_key(&prefix, storage)).await?;
            if let Some(key) = key {
                let (address, slots) = match (missing.slot, key) {
                    (Some(_), k) => (missing.address, vec![B256::from(k)]),
                    (None, k) => (Address::from_slice(&k.to_be_bytes::<32>()[12..]), vec![]),
                };
                let proof: EIP1186AccountProofResponse = self
                    .rpc
                    .call(
                        "eth_getProof",
                        vec![json!(address), json!(slots), quantity(self.first - 1)],
                    )
                    .await?;
                let account = verify_account(self.first - 1, self.parent_root, address, &proof)?;
                let mut nodes = proof.account_proof.clone();
                if let Some(sp) = proof.storage_proof.first() {
                    let root = account.map_or(EMPTY_ROOT_HASH, |a| a.storage_root);
                    let slot = U256::from_be_bytes(sp.key.as_b256().0);
                    verify_storage(self.first - 1, root, address, slot, sp.value, &sp.proof)?;
                    nodes.extend(sp.proof.iter().cloned());
                }
                for node in nodes {
                    if keccak256(&node) == missing.hash {
                        tracing::debug!(target: "cairn::source", block = missing.block, node = %missing.hash, path = %hex_path(&missing.path), "found through a key search");
                        self.count(&missing.hash, &node);
                        return Ok(node);
                    }
                }
                tried.push("a proof of a key under its path".to_string());
            }
        } else {
            tried.push(format!(
                "no key search (the path is longer than {} nibbles)",
                self.key_search
            ));
        }
        // Last: the node by hash, where the node serves its database.
        if !self.rpc.known_missing("debug_dbGet") {
            match self
                .rpc
                .call::<Option<Bytes>>("debug_dbGet", vec![json!(missing.hash)])
                .await
            {
                Ok(Some(node)) => {
                    let got = keccak256(&node);
                    if got != missing.hash {
                        return Err(SourceError::NodeHashMismatch {
                            hash: missing.hash,
                            got,
                        });
                    }
                    self.count(&missing.hash, &node);
                    self.db_get += 1;
                    return Ok(node);
                }
                Ok(None) => tried.push("debug_dbGet (not found)".into()),
                Err(SourceError::MethodUnavailable { .. }) => {
                    tried.push("debug_dbGet (not served)".into());
                }
                // geth answers an unknown key with an error ("not found").
                Err(SourceError::Call { code, message, .. }) => {
                    tried.push(format!("debug_dbGet (error {code}: {message})"));
                }
                Err(e) => return Err(e),
            }
        } else {
            tried.push("debug_dbGet (not served)".into());
        }
        Err(self.unrepairable(
            missing,
            format!(
                "tried the exclusion proof at the block, {}",
                tried.join(", ")
            ),
        ))
    }

    /// Adds every node of a proof at a child state as a candidate, and the nodes the
    /// collapses it shows may have replaced: each leaf and extension with 1.. nibbles of its
    /// path removed (the nibbles a collapse prepends).
    fn derive(&mut self, proof: &[Bytes]) {
        for raw in proof {
            self.candidates
                .entry(keccak256(raw))
                .or_insert_with(|| raw.clone());
            let Ok(node) = <TrieNode as alloy_rlp::Decodable>::decode(&mut raw.as_ref()) else {
                continue;
            };
            match node {
                TrieNode::Leaf(leaf) => {
                    for cut in 1..leaf.key.len() {
                        let shorter = LeafNode::new(leaf.key.slice(cut..), leaf.value.clone());
                        let encoded = Bytes::from(alloy_rlp::encode(&shorter));
                        self.candidates
                            .entry(keccak256(&encoded))
                            .or_insert(encoded);
                    }
                }
                TrieNode::Extension(ext) => {
                    for cut in 1..ext.key.len() {
                        let shorter = ExtensionNode::new(ext.key.slice(cut..), ext.child.clone());
                        let encoded = Bytes::from(alloy_rlp::encode(&shorter));
                        self.candidates
                            .entry(keccak256(&encoded))
                            .or_insert(encoded);
                    }
                }
                _ => {}
            }
        }
    }
}

/// A key (a slot, or an address in the low 20 bytes) whose hash starts with `prefix`.
fn search_key(prefix: &Nibbles, storage: bool) -> Option<U256> {
    let limit = 1u64 << (4 * prefix.len() as u32 + 8);
    for i in 0..limit {
        let key = U256::from(i) + U256::from(0x5eed_0000_0000u64);
        let bytes = key.to_be_bytes::<32>();
        let hash = if storage {
            keccak256(bytes)
        } else {
            keccak256(&bytes[12..])
        };
        let nibbles = Nibbles::unpack(hash);
        if nibbles.starts_with(prefix) {
            return Some(key);
        }
    }
    None
}

/// A nibble path as hex digits (`""` for the root).
fn hex_path(path: &Nibbles) -> String {
    path.to_vec()
        .iter()
        .filter_map(|n| char::from_digit(u32::from(*n), 16))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Case 1 in small: a branch's last other child, a leaf, collapses into a leaf with the
    /// branch's nibble prepended; the candidates from the collapsed leaf hold the original.
    #[test]
    fn a_collapsed_leaf_gives_back_the_sibling() {
        let value = alloy_rlp::encode(U256::from(0xdead_beef_u64));
        let suffix = Nibbles::unpack(keccak256(b"sibling")).slice(3..);
        let sibling = LeafNode::new(suffix, value.clone());
        let mut prefixed = vec![0x7, 0x2];
        prefixed.extend(suffix.to_vec());
        let collapsed = LeafNode::new(Nibbles::from_nibbles(&prefixed), value);
        let rpc = Arc::new(Rpc::new("http://127.0.0.1:1", Default::default()).unwrap());
        let mut repair = Repair::new(rpc, 1, B256::ZERO);
        repair.derive(&[Bytes::from(alloy_rlp::encode(&collapsed))]);
        let want = Bytes::from(alloy_rlp::encode(&sibling));
        assert_eq!(repair.take(&keccak256(&want)), Some(want));
        assert_eq!((repair.leaf, repair.branch), (1, 0));
        assert_eq!(repair.take(&B256::repeat_byte(9)), None);
    }

    #[test]
    fn key_search_finds_a_key_under_a_path() {
        let prefix = Nibbles::from_nibbles([0xa, 0x3, 0x0]);
        let slot = search_key(&prefix, true).unwrap();
        assert!(Nibbles::unpack(keccak256(B256::from(slot))).starts_with(&prefix));
        let address = search_key(&prefix, false).unwrap();
        let address = Address::from_slice(&address.to_be_bytes::<32>()[12..]);
        assert!(Nibbles::unpack(keccak256(address)).starts_with(&prefix));
    }

    #[test]
    fn paths_print_as_hex_nibbles() {
        assert_eq!(hex_path(&Nibbles::from_nibbles([0xa, 0x3, 0x0])), "a30");
        assert_eq!(hex_path(&Nibbles::default()), "");
    }
}
