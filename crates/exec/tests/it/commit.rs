//! Commitments: every executed step becomes a QMTree leaf; the data directory survives
//! restarts; `qm_call` proofs verify offline.

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use cairn_exec::{
    ChainFile,
    commit::{CallRequest, LeafKind, Node, verify_call_proof},
    devchain::{DevChainParams, generate},
};
use cairn_qmtree::verify_leaf;
use cairn_witness::AccountFields;
use revm::{database::State, inspector::NoOpInspector, state::EvmState};
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

fn small() -> ChainFile {
    generate(DevChainParams {
        seed: 11,
        blocks: 5,
        txs_per_block: 12,
    })
    .unwrap()
}

#[test]
fn every_step_is_a_leaf_and_every_leaf_proves() {
    let file = small();
    let mut node = Node::in_memory(&file).unwrap();
    for i in 0..file.blocks.len() {
        let block = file.block(i).unwrap();
        let parent_root = node.chain().head().state_root;
        let imported = node.import(&block).unwrap();
        let layout = &imported.layout;
        let txs = block.body.transactions.len();
        let tx_leaves = layout
            .kinds
            .iter()
            .filter(|k| matches!(k, LeafKind::Transaction { .. }))
            .count();
        assert_eq!(tx_leaves, txs);
        assert_eq!(
            layout.kinds.first(),
            Some(&LeafKind::PreBlock { index: 0 }),
            "EIP-2935 call first"
        );
        assert_eq!(layout.kinds.last(), Some(&LeafKind::BlockEnd));
        assert!(layout.kinds.contains(&LeafKind::Withdrawals));
        let tree = node.tree();
        let first = tree.leaf(layout.first_tx_num).unwrap().components;
        assert_eq!(
            first.pre_state_hash, parent_root,
            "the first step starts from the parent's root"
        );
        let closing = tree.leaf(layout.closing_tx_num()).unwrap().components;
        assert_eq!(closing.pre_state_hash, block.header.state_root);
        assert_eq!(closing.transition_hash, block.header.hash_slow());
        let empty = cairn_exec::commit::trace::TraceCommitment::EMPTY.root;
        for (offset, kind) in layout.kinds.iter().enumerate() {
            let transition = tree
                .leaf(layout.first_tx_num + offset as u64)
                .unwrap()
                .components
                .transition_hash;
            match kind {
                // System contracts run code; withdrawals run none.
                LeafKind::PreBlock { .. } | LeafKind::PostBlock { .. } => {
                    assert_ne!(transition, empty, "{kind:?}")
                }
                LeafKind::Withdrawals => assert_eq!(transition, empty),
                _ => {}
            }
        }
        for tx_num in 0..tree.leaf_count() {
            let proof = tree.proof(tx_num, layout.number).unwrap();
            let leaf = tree.leaf(tx_num).unwrap().components;
            verify_leaf(&proof, &leaf, &layout.root).unwrap();
        }
        // Consecutive leaves chain, and a step's post-state is the next step's pre-state
        // unless it changed nothing.
        for tx_num in layout.first_tx_num + 1..=layout.closing_tx_num() {
            let leaf = tree.leaf(tx_num).unwrap();
            assert_eq!(
                leaf.components.previous_leaf_hash,
                tree.leaf(tx_num - 1).unwrap().hash
            );
        }
    }
}

#[test]
fn a_data_directory_survives_restarts() {
    let file = small();
    let dir = tempfile::tempdir().unwrap();
    {
        let mut node = Node::open(dir.path(), Some(&file)).unwrap();
        for i in 0..3 {
            node.import(&file.block(i).unwrap()).unwrap();
        }
    }
    let mut reference = Node::in_memory(&file).unwrap();
    for i in 0..file.blocks.len() {
        reference.import(&file.block(i).unwrap()).unwrap();
    }
    let mut node = Node::open(dir.path(), None).unwrap();
    assert_eq!(node.head_number(), 3);
    for i in 3..file.blocks.len() {
        node.import(&file.block(i).unwrap()).unwrap();
    }
    for n in 0..=5 {
        assert_eq!(
            node.tree().root_at(n).unwrap(),
            reference.tree().root_at(n).unwrap(),
            "block {n}"
        );
    }
    // The same directory cannot be opened for another chain.
    let other = generate(DevChainParams {
        seed: 12,
        blocks: 1,
        txs_per_block: 1,
    })
    .unwrap();
    drop(node);
    let err = Node::open(dir.path(), Some(&other)).unwrap_err();
    assert!(err.to_string().contains("another chain"), "{err}");
}

/// Every file under `dir` with its bytes (a directory maps to `None`).
fn snapshot(dir: &std::path::Path) -> BTreeMap<std::path::PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path.clone());
                out.insert(path, None);
            } else {
                out.insert(path.clone(), Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}

/// Offsets of the records of a block log (`u32_be(len) ‖ rlp ‖ u32_be(crc)`).
fn record_offsets(log: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= log.len() {
        out.push(at);
        at += 8 + u32::from_be_bytes(log[at..at + 4].try_into().unwrap()) as usize;
    }
    out
}

/// A data directory of 3 committed blocks of `small()`, with a torn (uncommitted) record at
/// the end of its block log, as a kill during an import leaves it.
fn datadir_with_torn_tail() -> tempfile::TempDir {
    let file = small();
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::open(dir.path(), Some(&file)).unwrap();
    for i in 0..3 {
        node.import(&file.block(i).unwrap()).unwrap();
    }
    drop(node);
    let log = dir.path().join("blocks.rlp");
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.extend_from_slice(&[0, 0, 1, 0, 0xf9, 0x01]);
    std::fs::write(&log, bytes).unwrap();
    dir
}

/// Opening another chain's directory fails and writes nothing: not the genesis file, not the
/// block log's torn tail, not the QMTree store.
#[test]
fn another_chains_directory_is_left_untouched() {
    let dir = datadir_with_torn_tail();
    let before = snapshot(dir.path());

    // Another genesis.
    let other = generate(DevChainParams {
        seed: 12,
        blocks: 1,
        txs_per_block: 1,
    })
    .unwrap();
    let err = Node::open(dir.path(), Some(&other)).unwrap_err();
    assert!(err.to_string().contains("holds another chain"), "{err}");
    assert_eq!(snapshot(dir.path()), before);

    // The same genesis, other blocks.
    let same_genesis = generate(DevChainParams {
        seed: 11,
        blocks: 4,
        txs_per_block: 3,
    })
    .unwrap();
    assert_eq!(same_genesis.genesis, small().genesis);
    let err = Node::open(dir.path(), Some(&same_genesis)).unwrap_err();
    assert!(
        matches!(err, cairn_exec::ExecError::Diverged { number: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("holds another chain"), "{err}");
    assert_eq!(snapshot(dir.path()), before);

    // Node files without a genesis file: nothing is created in their directory.
    std::fs::remove_file(dir.path().join("genesis.json")).unwrap();
    let before = snapshot(dir.path());
    let err = Node::open(dir.path(), Some(&small())).unwrap_err();
    assert!(err.to_string().contains("no genesis.json"), "{err}");
    assert_eq!(snapshot(dir.path()), before);

    // No node and no chain: the directory is not even created.
    let absent = dir.path().join("absent");
    Node::open(&absent, None).unwrap_err();
    assert!(!absent.exists());
}

/// The right chain recovers the torn tail (cutting it) and continues.
#[test]
fn a_torn_tail_is_cut_by_the_right_chain() {
    let dir = datadir_with_torn_tail();
    let log = dir.path().join("blocks.rlp");
    let torn = std::fs::read(&log).unwrap().len();
    let file = small();
    let mut node = Node::open(dir.path(), Some(&file)).unwrap();
    assert_eq!(node.head_number(), 3);
    assert_eq!(std::fs::read(&log).unwrap().len(), torn - 6);
    node.import(&file.block(3).unwrap()).unwrap();
}

/// Damage inside the committed blocks of `blocks.rlp` is reported as corruption at its
/// offset (never as a short chain), and the directory is left as it was.
#[test]
fn a_corrupted_block_log_says_so() {
    let file = small();
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::open(dir.path(), Some(&file)).unwrap();
    for i in 0..3 {
        node.import(&file.block(i).unwrap()).unwrap();
    }
    drop(node);
    let log = dir.path().join("blocks.rlp");
    let good = std::fs::read(&log).unwrap();
    let offsets = record_offsets(&good);
    assert_eq!(offsets.len(), 3);
    let second = offsets[1];

    let open_fails = |bytes: &[u8], expected: &str| {
        std::fs::write(&log, bytes).unwrap();
        let before = snapshot(dir.path());
        let err = Node::open(dir.path(), None).unwrap_err().to_string();
        assert!(err.contains(expected), "{err}");
        assert!(err.contains("blocks.rlp"), "{err}");
        assert_eq!(snapshot(dir.path()), before, "a failed open writes nothing");
    };

    // A flipped byte in block 2's RLP.
    let mut flipped = good.clone();
    flipped[second + 100] ^= 0x40;
    open_fails(
        &flipped,
        &format!("corrupted at byte {second}: the record's checksum does not match"),
    );
    // Block 2's length field points past the end.
    let mut long = good.clone();
    long[second] = 0x7f;
    open_fails(
        &long,
        &format!("corrupted at byte {second}: the record's length says"),
    );
    // Cut inside block 2.
    open_fails(&good[..second + 20], &format!("corrupted at byte {second}"));
    // Cut exactly after block 1: no damaged record, but committed blocks are missing.
    open_fails(&good[..second], "truncated: its");
    // A record that passes its checksum but is not a block.
    let mut junk = good[..offsets[2]].to_vec();
    let body = [0xc1, 0x80];
    junk.extend_from_slice(&(body.len() as u32).to_be_bytes());
    junk.extend_from_slice(&body);
    junk.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
    open_fails(
        &junk,
        &format!(
            "corrupted: the record at byte {} is not a block",
            offsets[2]
        ),
    );

    std::fs::write(&log, &good).unwrap();
    assert_eq!(Node::open(dir.path(), None).unwrap().head_number(), 3);
}

#[test]
fn call_proofs_verify_offline_and_detect_tampering() {
    let file = small();
    let mut node = Node::in_memory(&file).unwrap();
    for i in 0..file.blocks.len() {
        node.import(&file.block(i).unwrap()).unwrap();
    }
    // EIP-2935's history contract returns the hash of block 3 from storage.
    let request = CallRequest {
        to: Some(alloy_eips::eip2935::HISTORY_STORAGE_ADDRESS),
        input: Bytes::from(U256::from(3).to_be_bytes::<32>().to_vec()),
        ..Default::default()
    };
    let proof = node.call(&request, 5).unwrap();
    assert!(proof.result.success);
    assert_eq!(
        proof.result.output.as_ref(),
        node.chain().hash(3).unwrap().as_slice()
    );
    let root = node.layout(5).unwrap().root;
    let chain = file.chain;
    assert_eq!(
        verify_call_proof(&proof, &root, &chain).unwrap(),
        proof.result
    );

    let mut bad = proof.clone();
    bad.result.output = Bytes::from(B256::repeat_byte(1).to_vec());
    assert!(
        verify_call_proof(&bad, &root, &chain).is_err(),
        "altered result"
    );
    let mut bad = proof.clone();
    bad.witness.state.pop();
    assert!(
        verify_call_proof(&bad, &root, &chain).is_err(),
        "witness missing a node"
    );
    // Any byte of any node, code or header changed: the proof fails (the witness is
    // minimal, so the changed item was needed and now hashes to something else).
    assert!(!proof.witness.state.is_empty() && !proof.witness.codes.is_empty());
    for (part, count) in [
        ("state", proof.witness.state.len()),
        ("codes", proof.witness.codes.len()),
        ("header", 1),
    ] {
        for i in 0..count {
            let mut bad = proof.clone();
            let item = match part {
                "state" => &mut bad.witness.state[i],
                "codes" => &mut bad.witness.codes[i],
                _ => &mut bad.header,
            };
            let mut bytes = item.to_vec();
            let at = bytes.len() / 2;
            bytes[at] ^= 0x01;
            *item = Bytes::from(bytes);
            assert!(
                verify_call_proof(&bad, &root, &chain).is_err(),
                "{part}[{i}] altered"
            );
        }
    }
    assert!(
        verify_call_proof(&proof, &node.layout(4).unwrap().root, &chain).is_err(),
        "another block's root"
    );
    let mut bad = proof.clone();
    bad.transition_hash = B256::repeat_byte(7);
    assert!(
        verify_call_proof(&bad, &root, &chain).is_err(),
        "altered transitionHash"
    );
    let mut bad = proof;
    bad.closing_leaf.pre_state_hash = B256::repeat_byte(9);
    assert!(
        verify_call_proof(&bad, &root, &chain).is_err(),
        "altered leaf"
    );

    // A call the EVM refuses (more value than the caller holds) is a typed error.
    let broke = CallRequest {
        from: Some(Address::repeat_byte(0xee)),
        to: Some(alloy_eips::eip2935::HISTORY_STORAGE_ADDRESS),
        value: Some(U256::from(1)),
        ..Default::default()
    };
    let err = node.call(&broke, 5).unwrap_err();
    assert!(
        matches!(
            &err,
            cairn_exec::ExecError::CallFailed {
                number: 5,
                source: cairn_exec::commit::CallError::Rejected(_)
            }
        ),
        "{err}"
    );
}

/// An independent model of the state for checking each step's leaf: plain maps, rooted by
/// alloy-trie's reference functions (a full rehash every time, no incremental trie), with
/// the `stateChangeHash` encoding written out again from the crate docs.
#[derive(Debug, Clone, Default)]
struct Model(BTreeMap<Address, (AccountFields, BTreeMap<U256, U256>)>);

impl Model {
    fn of(chain: &cairn_exec::Chain) -> Self {
        Self(
            chain
                .accounts()
                .map(|(a, acc)| {
                    (
                        *a,
                        (
                            acc.fields,
                            acc.storage.iter().map(|(k, v)| (*k, *v)).collect(),
                        ),
                    )
                })
                .collect(),
        )
    }

    fn root(&self) -> B256 {
        alloy_trie::root::state_root_unhashed(self.0.iter().map(|(address, (f, storage))| {
            let storage_root = alloy_trie::root::storage_root_unhashed(
                storage.iter().map(|(k, v)| (B256::from(*k), *v)),
            );
            (
                *address,
                alloy_trie::TrieAccount {
                    nonce: f.nonce,
                    balance: f.balance,
                    storage_root,
                    code_hash: f.code_hash,
                },
            )
        }))
    }

    /// Applies one committed EVM state (revm's rules: untouched accounts are skipped,
    /// self-destructed and touched empty ones removed, created ones start with empty
    /// storage) and returns the documented encoding of the change.
    fn step(&mut self, state: &EvmState) -> Vec<u8> {
        let mut listed = Vec::new();
        let mut addresses: Vec<_> = state.keys().copied().collect();
        addresses.sort();
        for address in addresses {
            let account = &state[&address];
            if !account.is_touched() {
                continue;
            }
            let old = self.0.get(&address).map(|(f, _)| *f);
            let fields = AccountFields {
                nonce: account.info.nonce,
                balance: account.info.balance,
                code_hash: account.info.code_hash,
            };
            let gone = account.is_selfdestructed() || (!account.is_created() && account.is_empty());
            let created = !account.is_selfdestructed() && account.is_created();
            let new = (!gone).then_some(fields);
            let destroyed = gone && old.is_some();
            let before = match (created, self.0.get(&address)) {
                (false, Some((_, storage))) => storage.clone(),
                _ => BTreeMap::new(),
            };
            let mut slots = BTreeMap::new();
            if new.is_some() {
                for (key, slot) in &account.storage {
                    let previous = before.get(key).copied().unwrap_or_default();
                    if slot.present_value != previous {
                        slots.insert(*key, (previous, slot.present_value));
                    }
                }
            }
            if old == new && slots.is_empty() && !created && !destroyed {
                continue;
            }
            match new {
                None => {
                    self.0.remove(&address);
                }
                Some(fields) => {
                    let mut storage = before;
                    for (key, (_, value)) in &slots {
                        if value.is_zero() {
                            storage.remove(key);
                        } else {
                            storage.insert(*key, *value);
                        }
                    }
                    self.0.insert(address, (fields, storage));
                }
            }
            listed.push((address, created, destroyed, old, new, slots));
        }
        let mut out = b"cairn.stateChange.v1".to_vec();
        out.extend((listed.len() as u32).to_be_bytes());
        for (address, created, destroyed, old, new, slots) in listed {
            out.extend(address.as_slice());
            out.push(u8::from(created) | u8::from(destroyed) << 1);
            for side in [old, new] {
                match side {
                    None => out.push(0),
                    Some(f) => {
                        out.push(1);
                        out.extend(f.nonce.to_be_bytes());
                        out.extend(f.balance.to_be_bytes::<32>());
                        out.extend(f.code_hash.as_slice());
                    }
                }
            }
            out.extend((slots.len() as u32).to_be_bytes());
            for (key, (old, new)) in slots {
                out.extend(key.to_be_bytes::<32>());
                out.extend(old.to_be_bytes::<32>());
                out.extend(new.to_be_bytes::<32>());
            }
        }
        out
    }
}

/// Every step leaf's `preStateHash` is the full-rehash root of the state after the steps
/// before it, and its `stateChangeHash` the documented encoding of what the step changed,
/// both recomputed from revm's committed states by the model above.
#[test]
fn step_leaves_match_an_independent_recomputation() {
    let file = small();
    let mut chain = file.genesis_chain().unwrap();
    let (mut steps, mut slot_changes) = (0usize, 0usize);
    for i in 0..file.blocks.len() {
        let block = file.block(i).unwrap();
        // revm's committed states, one per step, on the parent state.
        let commits: Arc<Mutex<Vec<EvmState>>> = Arc::default();
        let log = Arc::clone(&commits);
        let mut state = State::builder()
            .with_database(crate::trace::Db(&chain))
            .build();
        state.set_state_hook(Some(Box::new(move |s: EvmState| {
            log.lock().unwrap().push(s)
        })));
        let txs = cairn_stateless::recover_senders(&block).unwrap();
        cairn_stateless::execute_block(chain.config(), &block, &txs, &mut state, NoOpInspector)
            .unwrap();
        let commits = std::mem::take(&mut *commits.lock().unwrap());

        let mut model = Model::of(&chain);
        assert_eq!(model.root(), chain.head().state_root);
        let (executed, commitment) = chain.execute_committed(&block).unwrap();
        let (closing, step_leaves) = commitment.leaves.split_last().unwrap();
        assert_eq!(step_leaves.len(), commits.len(), "block {i}");
        for (k, (leaf, commit)) in step_leaves.iter().zip(&commits).enumerate() {
            assert_eq!(
                leaf.components.pre_state_hash,
                model.root(),
                "block {i} step {k}"
            );
            let encoded = model.step(commit);
            slot_changes += usize::from(encoded.len() > 200);
            assert_eq!(
                leaf.components.state_change_hash,
                keccak256(&encoded),
                "block {i} step {k} ({:?})",
                leaf.kind
            );
            steps += 1;
        }
        assert_eq!(model.root(), executed.state_root);
        assert_eq!(closing.components.pre_state_hash, executed.state_root);
    }
    assert!(steps > 60 && slot_changes > 10, "{steps} steps checked");
}
