//! The settler on anvil: ten consecutive dev-chain batches with two required proof types,
//! catching up with batches settled by someone else, and refusing files that fail the policy.

use crate::common::{BATCH, BLOCKS, anvil, chain, fast, stack};
use cairn_settle::{
    RunOptions, SegDir, Settler, Step,
    dev::{DevOptions, dev_node, run_dev, write_seg},
    settler::read_tip,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_batches_settle_with_two_required_proof_types() {
    let Some(anvil) = anvil() else { return };
    let dir = tempfile::tempdir().unwrap();
    let node = dev_node(cairn_exec::devchain::DevChainParams {
        seed: 3,
        blocks: BLOCKS as usize,
        txs_per_block: 8,
    })
    .unwrap();
    let opts = DevOptions {
        batches: BLOCKS / BATCH,
        batch_blocks: BATCH,
        seg_dir: dir.path().join("seg"),
        store: dir.path().join("settle.db"),
        l1: fast(),
    };
    let run = run_dev(&anvil.url(), &node, &opts, |_| {}).await.unwrap();
    // Two required proof types, two distinct attest signer sets.
    let required: Vec<_> = run
        .deployment
        .proof_types
        .iter()
        .filter(|t| t.required)
        .collect();
    assert_eq!(required.len(), 2);
    assert_ne!(required[0].address, required[1].address);
    assert_eq!(run.rows.len(), 10);
    for (i, row) in run.rows.iter().enumerate() {
        let i = i as u64;
        assert_eq!(row.batch, i + 1);
        assert_eq!(row.blocks, (i * BATCH + 1, (i + 1) * BATCH));
        assert!(
            row.commit_gas > 21_000 && row.verify_gas > 21_000,
            "{row:?}"
        );
    }
    // The rollup's final state root and QMTree root are the node's at the last block.
    assert_eq!(run.tip.last_verified, 10);
    assert_eq!(run.tip.last_block, BLOCKS);
    assert_eq!(
        run.tip.state_root,
        node.block(BLOCKS).unwrap().header.state_root
    );
    assert_eq!(run.tip.qm_root, node.tree().root_at(BLOCKS).unwrap());
    assert_eq!(run.tip.state_root, run.node_state_root);
    assert_eq!(run.tip.qm_root, run.node_qm_root);

    // A second settler over the same files and store has nothing to do: no batch twice.
    let l1 = crate::common::client(&anvil.url(), 0).await;
    let nonce = l1.nonce(true).await.unwrap();
    let mut again = Settler::new(
        l1.clone(),
        run.deployment.clone(),
        &opts.store,
        SegDir::new(&opts.seg_dir).unwrap(),
    )
    .await
    .unwrap();
    let step = again.step().await.unwrap();
    assert!(
        matches!(step, Step::Waiting { next_block, .. } if next_block == BLOCKS + 1),
        "{step:?}"
    );
    assert_eq!(l1.nonce(true).await.unwrap(), nonce, "nothing sent");
    let settled = again.store().settled().unwrap();
    assert_eq!(settled.len(), 10);
    assert!(
        settled
            .iter()
            .all(|s| s.commit_tx.is_some() && s.origin.ends_with(".seg"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catches_up_with_batches_settled_by_another_sender() {
    let Some(anvil) = anvil() else { return };
    let s = stack(&anvil.url()).await;
    let c = chain();
    // Batch 1 settled directly (not by the settler).
    s.settle(1, c.batch(1, 2)).await;
    let dir = tempfile::tempdir().unwrap();
    write_seg(dir.path(), &s.seg(c.batch(1, 2))).unwrap();
    write_seg(dir.path(), &s.seg(c.batch(3, 4))).unwrap();
    let mut settler = Settler::new(
        s.l1.clone(),
        s.deployment.clone(),
        &dir.path().join("settle.db"),
        SegDir::new(dir.path()).unwrap(),
    )
    .await
    .unwrap();
    let mut steps = Vec::new();
    let run = RunOptions {
        exit_when_idle: true,
        ..RunOptions::default()
    };
    settler
        .run(&run, |step| steps.push(step.clone()))
        .await
        .unwrap();
    assert!(
        matches!(steps[0], Step::CaughtUp { through: 1 }),
        "{steps:?}"
    );
    assert!(matches!(&steps[1], Step::Settled(b, _) if b.batch == 2 && b.first_block == 3));
    let settled = settler.store().settled().unwrap();
    assert_eq!(settled[0].origin, "l1");
    assert_eq!(settled[0].commit_tx, None);
    assert_eq!(read_tip(&s.l1, s.rollup()).await.unwrap().last_verified, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_failing_the_policy_are_never_submitted() {
    let Some(anvil) = anvil() else { return };
    let s = stack(&anvil.url()).await;
    let c = chain();
    let dir = tempfile::tempdir().unwrap();
    // One proof only (type 2 missing); another with a proof by an unregistered key.
    let mut one = s.seg(c.batch(1, 2));
    one.proofs.truncate(1);
    write_seg(dir.path(), &one).unwrap();
    let mut forged = s.seg(c.batch(1, 3));
    let outsider = cairn_prover::AttestSigner::from_bytes(&[0x55; 32]).unwrap();
    let domain = cairn_prover::AttestDomain {
        chain_id: s.deployment.l1_chain_id,
        verifying_contract: s.deployment.proof_types[1].address,
    };
    forged.proofs[1].proof = cairn_prover::AttestBackend::new(
        domain,
        Some(outsider),
        std::sync::Arc::new(cairn_prover::SignerRegistry::new()),
    )
    .attest(forged.public_values.clone())
    .unwrap()
    .encode()
    .into();
    write_seg(dir.path(), &forged).unwrap();
    let nonce = s.l1.nonce(true).await.unwrap();
    let mut settler = Settler::new(
        s.l1.clone(),
        s.deployment.clone(),
        &dir.path().join("settle.db"),
        SegDir::new(dir.path()).unwrap(),
    )
    .await
    .unwrap();
    let step = settler.step().await.unwrap();
    let Step::Waiting {
        next_block,
        refused,
    } = step
    else {
        panic!("{step:?}")
    };
    assert_eq!(next_block, 1);
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(
        refused.iter().any(|(_, why)| why.contains("attest-b")),
        "{refused:?}"
    );
    assert!(
        refused.iter().any(|(_, why)| why.contains("signer")),
        "{refused:?}"
    );
    assert_eq!(s.l1.nonce(true).await.unwrap(), nonce, "nothing was sent");
    // The same file again: not checked again, nothing sent.
    let step = settler.step().await.unwrap();
    assert!(
        matches!(step, Step::Waiting { ref refused, .. } if refused.is_empty()),
        "{step:?}"
    );
    // A good file replaces the one-proof file: it settles.
    write_seg(dir.path(), &s.seg(c.batch(1, 2))).unwrap();
    let step = settler.step().await.unwrap();
    assert!(
        matches!(step, Step::Settled(ref b, _) if b.batch == 1),
        "{step:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_commitment_stops_the_settler_with_what_to_do() {
    let Some(anvil) = anvil() else { return };
    let s = stack(&anvil.url()).await;
    let c = chain();
    // Someone (the proposer, elsewhere) committed batch 1 with other values.
    s.commit(
        1,
        c.batch(1, 3).public_values.hash(),
        c.batch(1, 3).binding.rootAfter,
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_seg(dir.path(), &s.seg(c.batch(1, 2))).unwrap();
    let mut settler = Settler::new(
        s.l1.clone(),
        s.deployment.clone(),
        &dir.path().join("settle.db"),
        SegDir::new(dir.path()).unwrap(),
    )
    .await
    .unwrap();
    let err = settler.step().await.unwrap_err();
    assert!(
        matches!(&err, cairn_settle::Error::CommittedOther(c) if c.batch == 1),
        "{err}"
    );
    assert!(err.to_string().contains("revertBatches(0)"), "{err}");
    assert_eq!(settler.store().last_settled().unwrap(), 0);
}
