//! `qm_*`: roots, leaves, proofs and calls.

use crate::{BLOCKS, Fixture, chain, client, reference};
use alloy_primitives::{B256, Bytes, U256};
use cairn_exec::commit::{CallRequest, LeafKind, Node, verify_call_proof};
use cairn_qmtree::{Proof, verify_leaf};
use cairn_rpc::{BlockParam, ProofInput, ProofKind, QmApiClient, ServeConfig, serve};
use std::sync::{Arc, RwLock};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roots_per_block_equal_the_in_process_ones() {
    let fx = Fixture::new().await;
    let reference = reference();
    for n in 0..=BLOCKS {
        let root = fx.client.root(BlockParam::Number(n)).await.unwrap();
        let layout = reference.layout(n).unwrap();
        assert_eq!(root.root, layout.root, "block {n}");
        assert_eq!(root.root, reference.tree().root_at(n).unwrap(), "block {n}");
        assert_eq!((root.block_number, root.block_hash), (n, layout.hash));
        assert_eq!(
            (root.first_tx_num, root.last_tx_num),
            (layout.first_tx_num, layout.closing_tx_num())
        );
        assert_eq!(root.leaf_count, root.last_tx_num + 1);
    }
    let latest = fx.client.root(BlockParam::Latest).await.unwrap();
    assert_eq!(latest.block_number, BLOCKS);
    let earliest = fx.client.root(BlockParam::Earliest).await.unwrap();
    assert_eq!((earliest.block_number, earliest.first_tx_num), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_leaf_of_every_block_proves_against_its_root() {
    let fx = Fixture::new().await;
    let reference = reference();
    for n in 0..=BLOCKS {
        let root = fx.client.root(BlockParam::Number(n)).await.unwrap();
        for tx_num in root.first_tx_num..=root.last_tx_num {
            let leaf = fx.client.leaf(tx_num.into()).await.unwrap();
            let stored = reference.tree().leaf(tx_num).unwrap();
            assert_eq!(
                (leaf.components, leaf.leaf_hash),
                (stored.components, stored.hash),
                "txNum {tx_num}"
            );
            assert_eq!(leaf.components.hash(), leaf.leaf_hash);
            assert_eq!((leaf.block_number, leaf.block_hash), (n, root.block_hash));
            assert_eq!(leaf.kind, reference.locate(tx_num).unwrap().1);

            let p = fx
                .client
                .leaf_proof(tx_num.into(), Some(BlockParam::Number(n)))
                .await
                .unwrap();
            assert_eq!(
                (p.root, p.leaf_count, p.leaf_hash),
                (root.root, root.leaf_count, leaf.leaf_hash)
            );
            let Proof::Inclusion(inclusion) = &p.proof else {
                panic!("not an inclusion proof")
            };
            verify_leaf(inclusion, &leaf.components, &root.root).unwrap();
            assert_eq!(
                Proof::decode(&p.proof_bytes).unwrap(),
                p.proof,
                "binary and JSON forms agree"
            );

            let v = fx
                .client
                .verify_proof(ProofInput::Tree(p.proof.clone()), root.root, None)
                .await
                .unwrap();
            assert!(v.valid, "txNum {tx_num}: {v:?}");
            assert_eq!(
                (v.kind, v.tx_num, v.leaf_hash),
                (ProofKind::Inclusion, Some(tx_num), Some(leaf.leaf_hash))
            );
            let v = fx
                .client
                .verify_proof(ProofInput::Binary(p.proof_bytes.clone()), root.root, None)
                .await
                .unwrap();
            assert!(v.valid, "binary form, txNum {tx_num}: {v:?}");
        }
        // The closing leaf carries the block's state root and hash.
        let closing = fx.client.leaf(root.last_tx_num.into()).await.unwrap();
        assert_eq!(closing.kind, LeafKind::BlockEnd);
        assert_eq!(
            closing.components.pre_state_hash,
            reference.chain().header(n).unwrap().state_root
        );
        assert_eq!(closing.components.transition_hash, root.block_hash);
    }
    // A leaf of an early block proves against the latest root too (default block).
    let latest = fx.client.root(BlockParam::Latest).await.unwrap();
    let p = fx.client.leaf_proof(1.into(), None).await.unwrap();
    assert_eq!((p.block_number, p.root), (BLOCKS, latest.root));
    assert!(
        fx.client
            .verify_proof(p.proof.into(), latest.root, None)
            .await
            .unwrap()
            .valid
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_proofs_are_invalid_not_errors() {
    let fx = Fixture::new().await;
    let root = fx.client.root(BlockParam::Number(2)).await.unwrap();
    let p = fx
        .client
        .leaf_proof((root.first_tx_num + 1).into(), Some(BlockParam::Number(2)))
        .await
        .unwrap();
    let Proof::Inclusion(good) = p.proof.clone() else {
        panic!()
    };

    let mut leaf = good.clone();
    leaf.leaf_hash.0[0] ^= 1;
    let mut sibling = good.clone();
    sibling.siblings[0].0[31] ^= 1;
    let mut moved = good.clone();
    moved.tx_num += 1;
    let mut short = good.clone();
    short.siblings.pop();
    for (what, bad) in [
        ("leaf hash", leaf),
        ("sibling", sibling),
        ("txNum", moved),
        ("sibling count", short),
    ] {
        let v = fx
            .client
            .verify_proof(Proof::Inclusion(bad).into(), root.root, None)
            .await
            .unwrap();
        assert!(!v.valid, "{what}");
        assert!(v.reason.is_some(), "{what}: a reason is given");
    }
    // Another block's root.
    let other = fx.client.root(BlockParam::Number(3)).await.unwrap();
    let v = fx
        .client
        .verify_proof(p.proof.clone().into(), other.root, None)
        .await
        .unwrap();
    assert!(!v.valid);
    // A flipped byte or a truncated binary proof.
    let mut bytes = p.proof_bytes.to_vec();
    bytes[20] ^= 0x80;
    let v = fx
        .client
        .verify_proof(ProofInput::Binary(bytes.into()), root.root, None)
        .await
        .unwrap();
    assert!(!v.valid);
    let truncated = Bytes::copy_from_slice(&p.proof_bytes[..p.proof_bytes.len() - 1]);
    let v = fx
        .client
        .verify_proof(ProofInput::Binary(truncated), root.root, None)
        .await
        .unwrap();
    assert!(!v.valid && v.kind == ProofKind::Inclusion, "{v:?}");
    assert!(v.reason.unwrap().contains("decode"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_proofs_verify_with_the_older_root() {
    let fx = Fixture::new().await;
    let reference = reference();
    let (old, new) = (
        reference.layout(1).unwrap().root,
        reference.layout(BLOCKS).unwrap().root,
    );
    let range = Proof::Range(reference.tree().range_proof(1, BLOCKS).unwrap());
    let v = fx
        .client
        .verify_proof(range.clone().into(), new, Some(old))
        .await
        .unwrap();
    assert!(v.valid && v.kind == ProofKind::Range, "{v:?}");
    let v = fx
        .client
        .verify_proof(ProofInput::Binary(range.to_bytes().into()), new, Some(old))
        .await
        .unwrap();
    assert!(v.valid, "binary form: {v:?}");
    let v = fx
        .client
        .verify_proof(range.into(), new, Some(B256::repeat_byte(3)))
        .await
        .unwrap();
    assert!(!v.valid, "wrong older root");
}

fn history_call(block: u64) -> CallRequest {
    // EIP-2935's history contract returns the hash of `block` from its storage.
    CallRequest {
        to: Some(alloy_eips::eip2935::HISTORY_STORAGE_ADDRESS),
        input: Bytes::from(U256::from(block).to_be_bytes::<32>().to_vec()),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_proofs_verify_offline_and_detect_tampering() {
    let fx = Fixture::new().await;
    let chain_config = &chain().chain;
    let reference = reference();
    let proof = fx
        .client
        .call(history_call(2), Some(BlockParam::Number(3)))
        .await
        .unwrap();
    assert!(proof.result.success);
    assert_eq!(
        proof.result.output.as_ref(),
        reference.chain().hash(2).unwrap().as_slice()
    );
    // The client trusts only the block's root (here from qm_getRoot, checked against the
    // in-process one).
    let root = fx.client.root(BlockParam::Number(3)).await.unwrap().root;
    assert_eq!(root, reference.layout(3).unwrap().root);
    assert_eq!(
        verify_call_proof(&proof, &root, chain_config).unwrap(),
        proof.result
    );
    let v = fx
        .client
        .verify_proof(proof.clone().into(), root, None)
        .await
        .unwrap();
    assert!(v.valid && v.kind == ProofKind::Call, "{v:?}");
    assert_eq!(
        (v.result.as_ref(), v.block_number),
        (Some(&proof.result), Some(3))
    );

    let mut result = proof.clone();
    result.result.output = Bytes::from(B256::repeat_byte(1).to_vec());
    let mut witness = proof.clone();
    witness.witness.state.pop();
    let mut transition = proof.clone();
    transition.transition_hash = B256::repeat_byte(7);
    let wrong_root = fx.client.root(BlockParam::Number(2)).await.unwrap().root;
    for (what, bad, root) in [
        ("result", &result, root),
        ("witness", &witness, root),
        ("transitionHash", &transition, root),
        ("root", &proof, wrong_root),
    ] {
        assert!(
            verify_call_proof(bad, &root, chain_config).is_err(),
            "altered {what}"
        );
        let v = fx
            .client
            .verify_proof(bad.clone().into(), root, None)
            .await
            .unwrap();
        assert!(!v.valid && v.result.is_none(), "altered {what}: {v:?}");
    }

    // Latest by default; the id names the proof for qm_callProof, which keeps it on disk.
    let latest = fx.client.call(history_call(1), None).await.unwrap();
    assert_eq!(latest.block_number, BLOCKS);
    for p in [&proof, &latest] {
        assert_eq!(&fx.client.call_proof(p.id).await.unwrap(), p);
        assert!(fx.calls_dir().join(format!("{}.json", p.id)).is_file());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_proofs_outlive_the_server() {
    let fx = Fixture::new().await;
    let proof = fx
        .client
        .call(history_call(1), Some(BlockParam::Number(2)))
        .await
        .unwrap();
    fx.server.stop();
    // Another server over the same call store (here with an in-memory copy of the chain).
    let mut node = Node::in_memory(chain()).unwrap();
    node.import(&chain().block(0).unwrap()).unwrap();
    let config = ServeConfig {
        calls_dir: Some(fx.calls_dir()),
        ..Default::default()
    };
    let again = serve(
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(RwLock::new(node)),
        config,
    )
    .await
    .unwrap();
    let c = client(&again.url());
    assert_eq!(c.call_proof(proof.id).await.unwrap(), proof);
    again.stop();
}
