//! Commitments: every executed step becomes a QMTree leaf; the data directory survives
//! restarts; `qm_call` proofs verify offline.

use alloy_primitives::{B256, Bytes, U256};
use cairn_exec::{
    ChainFile,
    commit::{CallRequest, LeafKind, Node, verify_call_proof},
    devchain::{DevChainParams, generate},
};
use cairn_qmtree::verify_leaf;

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
}
