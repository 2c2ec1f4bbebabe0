//! The EEST zkEVM fixtures' `executionWitness` (the reference witness content of the
//! execution specs) against what Cairn's rules put in a witness for the same block.
//!
//! The fixture blocks are Amsterdam blocks, which the EVM crates in use cannot execute, so
//! nothing here runs the EVM. Each block's EIP-7928 block access list names every account
//! and slot it touches, with the post-values of what it changes; from the pre-state that
//! gives, without execution:
//! - the state reads: the proof paths of every listed account and slot;
//! - the block's net state change, hence its updates to the tries (checked: applied to the
//!   pre-state they must give the header's state root, or the block is not analysed);
//! - the trie nodes Cairn's minimal rules read (reads, then the updates writes first), its
//!   complete rules (the updates in every order) and strict validation (sorted key order).
//!
//! Codes cannot be derived the same way (whether a contract's code was loaded is only known
//! by executing), so they are compared with the pre-state code of the accessed accounts, and
//! with code the block deploys; headers by count and shape.

use crate::{
    case::{chain_config, genesis},
    fixture::{AccessListAccount, BlockchainTest},
    runner::{RunnerError, fixture_files, load_cases},
};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256, map::B256Map};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
use cairn_primitives::Block;
use cairn_trie::{NodeProvider, ProviderError};
use cairn_witness::{AccountDiff, AccountFields, StateDiff, StateTrie, UpdateOrder};
use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    path::Path,
};

/// A node store that remembers what was asked of it.
struct Recording<'a> {
    store: &'a B256Map<Bytes>,
    seen: BTreeSet<B256>,
}

impl<'a> Recording<'a> {
    fn new(store: &'a B256Map<Bytes>) -> Self {
        Self {
            store,
            seen: BTreeSet::new(),
        }
    }
}

impl NodeProvider for Recording<'_> {
    fn trie_node(&mut self, hash: &B256) -> Result<Option<Bytes>, ProviderError> {
        let node = self.store.get(hash).cloned();
        if node.is_some() {
            self.seen.insert(*hash);
        }
        Ok(node)
    }
}

/// One block: the fixture's witness against Cairn's rules.
#[derive(Debug, Clone, Default)]
pub struct BlockComparison {
    /// `<file>::<case>`.
    pub case: String,
    /// Position of the block in the case.
    pub block: usize,
    /// Why the block could not be analysed, if so.
    pub unanalysed: Option<String>,
    /// Trie nodes in the fixture's witness.
    pub eest_nodes: usize,
    /// Nodes Cairn's minimal rules read (state reads, then the updates writes first).
    pub minimal_nodes: usize,
    /// Nodes Cairn's complete rules read (state reads, then the updates in every order).
    pub complete_nodes: usize,
    /// Nodes strict validation reads (state reads, then the updates in sorted key order).
    pub sorted_nodes: usize,
    /// Fixture nodes that Cairn's complete rules do not read.
    pub eest_not_complete: usize,
    /// Of those, nodes that are in no state trie of the case so far (neither the pre-state
    /// nor an earlier block's post-state).
    pub eest_not_prestate: usize,
    /// Nodes Cairn's complete rules read that the fixture lacks.
    pub complete_not_eest: usize,
    /// Fixture nodes that Cairn's minimal rules do not read.
    pub eest_not_minimal: usize,
    /// Nodes Cairn's minimal rules read that the fixture lacks.
    pub minimal_not_eest: usize,
    /// Nodes sorted key order reads that the fixture lacks (what reth's order would miss).
    pub sorted_not_eest: usize,
    /// Codes in the fixture's witness.
    pub eest_codes: usize,
    /// Distinct pre-state codes of the accounts the block accesses (an upper bound on what
    /// execution can load from the pre-state).
    pub accessed_codes: usize,
    /// Fixture codes that are no accessed account's pre-state code.
    pub eest_codes_not_accessed: usize,
    /// Fixture codes that the block also deploys (kept for a pre-state account of the same
    /// code hash: what Cairn's complete witness does and its minimal one may not).
    pub eest_codes_also_deployed: usize,
    /// Accessed accounts' pre-state codes that the block also deploys and the fixture
    /// leaves out (EIP-8025 counts on the deployment; Cairn's complete witness includes
    /// such a code when its pre-state account's code is loaded).
    pub deployed_not_eest: usize,
    /// Headers in the fixture's witness.
    pub eest_headers: usize,
}

/// Every valid block of the zkEVM fixtures under a folder, compared. Its `Display` is a
/// table (`e-min`: fixture nodes outside Cairn's minimal rules, `min-e`: the reverse, `cmp`
/// for complete, `srt` for sorted order; `acc`: accessed accounts' pre-state codes, `e-acc`:
/// fixture codes outside them, `e&dep`: fixture codes the block also deploys, `dep-e`:
/// accessed pre-state codes the block also deploys that the fixture leaves out) and totals.
#[derive(Debug, Clone, Default)]
pub struct ZkevmComparison {
    /// Per block, in file and case order.
    pub blocks: Vec<BlockComparison>,
}

impl ZkevmComparison {
    /// The blocks that were analysed.
    pub fn analysed(&self) -> impl Iterator<Item = &BlockComparison> {
        self.blocks.iter().filter(|b| b.unanalysed.is_none())
    }
}

/// Compares every block the fixtures under `dir` say is valid.
///
/// # Errors
/// [`RunnerError`] when the folder cannot be read.
pub fn compare_zkevm(dir: &Path) -> Result<ZkevmComparison, RunnerError> {
    let mut out = ZkevmComparison::default();
    for file in fixture_files(dir)? {
        let file_name = file
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let cases = match load_cases(&file) {
            Ok(cases) => cases,
            Err(reason) => {
                out.blocks.push(BlockComparison {
                    case: file_name,
                    unanalysed: Some(reason),
                    ..Default::default()
                });
                continue;
            }
        };
        for (name, test) in cases {
            let short = name.rsplit("::").next().unwrap_or(&name);
            compare_case(&format!("{file_name}::{short}"), &test, &mut out.blocks);
        }
    }
    Ok(out)
}

/// Compares the valid blocks of one case, in order (each block's pre-state is the previous
/// one's post-state, rebuilt from its access list).
pub fn compare_case(case: &str, test: &BlockchainTest, out: &mut Vec<BlockComparison>) {
    let fail = |block, reason: String| BlockComparison {
        case: case.into(),
        block,
        unanalysed: Some(reason),
        ..Default::default()
    };
    let chain = match chain_config(test).and_then(|config| genesis(test, config)) {
        Ok(chain) => chain,
        Err(e) => return out.push(fail(0, e)),
    };
    let mut store = chain.nodes().clone();
    let mut root = chain.head().state_root;
    for (i, fb) in test.blocks.iter().enumerate() {
        let valid = fb
            .stateless_output_bytes
            .as_ref()
            .and_then(|b| b.get(32))
            .is_some_and(|f| *f == 1);
        if !valid || fb.expect_exception.is_some() {
            continue;
        }
        match compare_block(case, i, fb, root, &mut store) {
            Ok((comparison, post)) => {
                out.push(comparison);
                root = post;
            }
            Err(reason) => {
                // Later blocks start from a state this one should have made.
                out.push(fail(i, reason));
                return;
            }
        }
    }
}

fn compare_block(
    case: &str,
    index: usize,
    fb: &crate::fixture::FixtureBlock,
    pre_root: B256,
    store: &mut B256Map<Bytes>,
) -> Result<(BlockComparison, B256), String> {
    let block = alloy_rlp::decode_exact::<Block>(&fb.rlp).map_err(|e| format!("rlp: {e}"))?;
    let access = fb
        .block_access_list
        .as_ref()
        .ok_or("no block access list")?;
    let witness = fb.execution_witness.clone().ok_or("no executionWitness")?;
    let witness = cairn_witness::json::from_value(witness).map_err(|e| e.to_string())?;

    // The reads: every listed account and slot, on the pre-state.
    let mut trie = StateTrie::new(pre_root);
    let mut reads = Recording::new(store);
    let mut pre = BTreeMap::new();
    for a in access {
        let account = trie
            .account(a.address, &mut reads)
            .map_err(|e| format!("pre-state read: {e}"))?;
        pre.insert(a.address, account);
        let slots = a
            .storage_reads
            .iter()
            .chain(a.storage_changes.iter().map(|c| &c.slot));
        for slot in slots {
            trie.storage(a.address, *slot, &mut reads)
                .map_err(|e| format!("pre-state read: {e}"))?;
        }
    }
    let read_nodes = reads.seen;

    // The updates, in each order.
    let diff = state_diff(access, &pre);
    let mut reached = BTreeMap::new();
    for order in UpdateOrder::ALL {
        let mut copy = trie.clone();
        let mut recording = Recording::new(store);
        let root = copy
            .apply_ordered(&diff, order, &mut recording)
            .map_err(|e| format!("{order}: {e}"))?;
        if root != block.header.state_root {
            return Err(format!(
                "the access list's changes give root {root}, the header says {}",
                block.header.state_root
            ));
        }
        reached.insert(order, recording.seen);
    }
    let with = |orders: &[UpdateOrder]| -> BTreeSet<B256> {
        orders
            .iter()
            .flat_map(|o| reached[o].iter())
            .chain(&read_nodes)
            .copied()
            .collect()
    };
    let minimal = with(&[UpdateOrder::WritesFirst]);
    let complete = with(&UpdateOrder::ALL);
    let sorted = with(&[UpdateOrder::Sorted]);
    let eest: BTreeSet<B256> = witness.state.iter().map(keccak256).collect();

    // Codes: the accessed accounts' pre-state code, and what the block deploys.
    let accessed: BTreeSet<B256> = pre
        .values()
        .flatten()
        .map(|a| a.code_hash)
        .filter(|h| *h != KECCAK_EMPTY)
        .collect();
    let deployed: BTreeSet<B256> = access
        .iter()
        .flat_map(|a| &a.code_changes)
        .filter(|c| !c.new_code.is_empty())
        .map(|c| keccak256(&c.new_code))
        .collect();
    let eest_codes: BTreeSet<B256> = witness.codes.iter().map(keccak256).collect();

    let comparison = BlockComparison {
        case: case.into(),
        block: index,
        unanalysed: None,
        eest_nodes: eest.len(),
        minimal_nodes: minimal.len(),
        complete_nodes: complete.len(),
        sorted_nodes: sorted.len(),
        eest_not_complete: eest.difference(&complete).count(),
        eest_not_prestate: eest.iter().filter(|h| !store.contains_key(*h)).count(),
        complete_not_eest: complete.difference(&eest).count(),
        eest_not_minimal: eest.difference(&minimal).count(),
        minimal_not_eest: minimal.difference(&eest).count(),
        sorted_not_eest: sorted.difference(&eest).count(),
        eest_codes: eest_codes.len(),
        accessed_codes: accessed.len(),
        eest_codes_not_accessed: eest_codes.difference(&accessed).count(),
        eest_codes_also_deployed: eest_codes.intersection(&deployed).count(),
        deployed_not_eest: accessed
            .intersection(&deployed)
            .filter(|h| !eest_codes.contains(*h))
            .count(),
        eest_headers: witness.headers.len(),
    };

    // The post-state, for the next block.
    let mut post = StateTrie::new(pre_root);
    post.record_written();
    let post_root = post
        .apply(&diff, &mut &*store)
        .map_err(|e| format!("post-state: {e}"))?;
    for node in post.take_written() {
        store.insert(keccak256(&node), node);
    }
    Ok((comparison, post_root))
}

/// The block's net change from its access list: the last post-value of every changed field
/// and slot, on top of the pre-state account. An account left empty is removed (EIP-161).
fn state_diff(
    access: &[AccessListAccount],
    pre: &BTreeMap<Address, Option<alloy_trie::TrieAccount>>,
) -> StateDiff {
    let mut diff = StateDiff::default();
    for a in access {
        let changed = !(a.nonce_changes.is_empty()
            && a.balance_changes.is_empty()
            && a.code_changes.is_empty()
            && a.storage_changes.is_empty());
        if !changed {
            continue;
        }
        let before = pre.get(&a.address).copied().flatten();
        let mut info = before.map_or_else(AccountFields::default, |b| AccountFields {
            nonce: b.nonce,
            balance: b.balance,
            code_hash: b.code_hash,
        });
        if let Some(n) = a.nonce_changes.last() {
            info.nonce = n.post_nonce.to();
        }
        if let Some(b) = a.balance_changes.last() {
            info.balance = b.post_balance;
        }
        if let Some(c) = a.code_changes.last() {
            info.code_hash = if c.new_code.is_empty() {
                KECCAK_EMPTY
            } else {
                keccak256(&c.new_code)
            };
        }
        let storage: BTreeMap<U256, U256> = a
            .storage_changes
            .iter()
            .filter_map(|s| s.slot_changes.last().map(|c| (s.slot, c.post_value)))
            .collect();
        let has_storage = before.is_some_and(|b| b.storage_root != EMPTY_ROOT_HASH)
            || storage.values().any(|v| !v.is_zero());
        let empty = info.nonce == 0 && info.balance.is_zero() && info.code_hash == KECCAK_EMPTY;
        diff.accounts.insert(
            a.address,
            AccountDiff {
                info: (!empty || has_storage).then_some(info),
                storage_wiped: false,
                storage,
            },
        );
    }
    diff
}

impl fmt::Display for ZkevmComparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<72} {:>4} {:>4} {:>4} {:>4}  {:>5} {:>5} {:>5} {:>5} {:>5}  {:>5} {:>5} {:>5} {:>5} {:>5}",
            "case (block)",
            "eest",
            "min",
            "cmp",
            "sort",
            "e-min",
            "min-e",
            "e-cmp",
            "cmp-e",
            "srt-e",
            "codes",
            "acc",
            "e-acc",
            "e&dep",
            "dep-e"
        )?;
        for b in &self.blocks {
            let name = format!("{} ({})", b.case, b.block);
            let name = name.get(..72).unwrap_or(&name);
            if let Some(reason) = &b.unanalysed {
                writeln!(f, "{name:<72} not analysed: {reason}")?;
                continue;
            }
            writeln!(
                f,
                "{name:<72} {:>4} {:>4} {:>4} {:>4}  {:>5} {:>5} {:>5} {:>5} {:>5}  {:>5} {:>5} {:>5} {:>5} {:>5}",
                b.eest_nodes,
                b.minimal_nodes,
                b.complete_nodes,
                b.sorted_nodes,
                b.eest_not_minimal,
                b.minimal_not_eest,
                b.eest_not_complete,
                b.complete_not_eest,
                b.sorted_not_eest,
                b.eest_codes,
                b.accessed_codes,
                b.eest_codes_not_accessed,
                b.eest_codes_also_deployed,
                b.deployed_not_eest
            )?;
        }
        let analysed: Vec<_> = self.analysed().collect();
        let sum = |f: fn(&BlockComparison) -> usize| analysed.iter().map(|b| f(b)).sum::<usize>();
        let count = |f: fn(&BlockComparison) -> bool| analysed.iter().filter(|b| f(b)).count();
        writeln!(
            f,
            "{} of {} valid blocks analysed (the access list's changes give the header's state root)",
            analysed.len(),
            self.blocks.len()
        )?;
        writeln!(
            f,
            "nodes: EEST {}, Cairn minimal {}, Cairn complete {}, sorted order {}",
            sum(|b| b.eest_nodes),
            sum(|b| b.minimal_nodes),
            sum(|b| b.complete_nodes),
            sum(|b| b.sorted_nodes)
        )?;
        writeln!(
            f,
            "blocks whose EEST nodes equal Cairn minimal {}, equal Cairn complete {}; EEST nodes outside Cairn complete {} (of them outside the pre-state trie {}); complete nodes EEST lacks {} in {} blocks; sorted-order nodes EEST lacks {} in {} blocks",
            count(|b| b.eest_not_minimal == 0 && b.minimal_not_eest == 0),
            count(|b| b.eest_not_complete == 0 && b.complete_not_eest == 0),
            sum(|b| b.eest_not_complete),
            sum(|b| b.eest_not_prestate),
            sum(|b| b.complete_not_eest),
            count(|b| b.complete_not_eest > 0),
            sum(|b| b.sorted_not_eest),
            count(|b| b.sorted_not_eest > 0)
        )?;
        writeln!(
            f,
            "codes: EEST {}, accessed accounts' pre-state codes {}; EEST codes that are no accessed account's pre-state code {}; EEST codes the block also deploys {} in {} blocks; accessed pre-state codes the block also deploys that EEST leaves out {} in {} blocks",
            sum(|b| b.eest_codes),
            sum(|b| b.accessed_codes),
            sum(|b| b.eest_codes_not_accessed),
            sum(|b| b.eest_codes_also_deployed),
            count(|b| b.eest_codes_also_deployed > 0),
            sum(|b| b.deployed_not_eest),
            count(|b| b.deployed_not_eest > 0)
        )?;
        writeln!(
            f,
            "headers: EEST {} in all, {} blocks with the parent alone",
            sum(|b| b.eest_headers),
            count(|b| b.eest_headers == 1)
        )
    }
}
