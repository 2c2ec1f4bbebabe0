//! `cairn_*`: historical-data proofs from the served chain, anchored to its block-hash MMR.

use crate::{BLOCKS, Fixture, reference, rpc_error};
use alloy_primitives::{Address, B256, U64, U256};
use cairn_history::{
    AccountField, HeaderField, LogField, Mmr, ReceiptField, Subquery, TxField, verify_query,
};
use cairn_rpc::{BlockParam, HistoryApiClient, codes};
use jsonrpsee::core::{client::ClientT, rpc_params};
use serde_json::{Value, json};

fn query(node: &cairn_exec::commit::Node<cairn_qmtree::MemoryBackend>) -> Vec<Subquery> {
    let (contract, slot) = node
        .chain()
        .accounts()
        .find_map(|(a, acc)| acc.storage.keys().next().map(|s| (*a, *s)))
        .unwrap();
    vec![
        Subquery::Header {
            block: 1,
            field: HeaderField::StateRoot,
            item: 0,
        },
        Subquery::Account {
            block: 2,
            address: contract,
            field: AccountField::CodeHash,
        },
        Subquery::Storage {
            block: BLOCKS,
            address: contract,
            slot: B256::from(slot),
        },
        Subquery::Tx {
            block: 2,
            index: 0,
            field: TxField::Hash,
            item: 0,
        },
        Subquery::Receipt {
            block: 2,
            index: 0,
            field: ReceiptField::Status,
            item: 0,
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_proofs_verify_locally_and_on_the_server() {
    let fx = Fixture::new().await;
    let node = reference();
    let subqueries = query(&node);
    let proof = fx
        .client
        .query_proof(subqueries.clone(), None)
        .await
        .unwrap();
    let verified = verify_query(&proof).unwrap();
    // Anchored to the MMR of every block the node holds, which a local rebuild agrees with.
    let mut mmr = Mmr::default();
    mmr.append_all(node.chain().canonical_hashes()).unwrap();
    assert_eq!(verified.mmr.unwrap().root, mmr.root());
    assert_eq!(verified.mmr.unwrap().size, BLOCKS + 1);
    assert_eq!(
        verified.results[3],
        *node.block(2).unwrap().body.transactions[0].tx_hash()
    );

    let verdict = fx.client.verify_query_proof(proof.clone()).await.unwrap();
    assert!(verdict.valid && verdict.on_this_chain, "{verdict:?}");
    assert_eq!(verdict.results_root, Some(proof.results_root));

    // Against an older MMR: still valid and on this chain.
    let older = fx
        .client
        .query_proof(subqueries.clone(), Some(U64::from(3)))
        .await;
    let (code, message) = rpc_error(older);
    assert_eq!(code, codes::UNKNOWN_BLOCK, "{message}");
    assert!(
        message.contains("block 4 is not in the MMR of 3 blocks"),
        "{message}"
    );
    let older = fx
        .client
        .query_proof(subqueries[..1].to_vec(), Some(U64::from(3)))
        .await
        .unwrap();
    assert_eq!(older.mmr.unwrap().size, 3);
    let verdict = fx.client.verify_query_proof(older).await.unwrap();
    assert!(verdict.valid && verdict.on_this_chain, "{verdict:?}");

    // Altered: invalid, with the reason, not an error.
    let mut bad = proof.clone();
    bad.subqueries[2].result = B256::repeat_byte(9);
    let verdict = fx.client.verify_query_proof(bad).await.unwrap();
    assert!(!verdict.valid);
    assert!(verdict.reason.unwrap().contains("subquery 2"));
    // Valid but about another chain: an MMR root this node never had.
    let mut foreign = proof.clone();
    foreign.mmr.as_mut().unwrap().root = B256::repeat_byte(1);
    let verdict = fx.client.verify_query_proof(foreign).await.unwrap();
    assert!(!verdict.valid && !verdict.on_this_chain);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mmr_proofs() {
    let fx = Fixture::new().await;
    let node = reference();
    for block in 0..=BLOCKS {
        let r = fx
            .client
            .mmr_proof(BlockParam::Number(block), None)
            .await
            .unwrap();
        assert_eq!(r.block_hash, node.chain().hash(block).unwrap());
        r.proof.verify(&r.block_hash, &r.mmr_root).unwrap();
        let at2 = fx
            .client
            .mmr_proof(BlockParam::Number(block.min(1)), Some(U64::from(2)))
            .await
            .unwrap();
        at2.proof.verify(&at2.block_hash, &at2.mmr_root).unwrap();
    }
    let latest = fx.client.mmr_proof(BlockParam::Latest, None).await.unwrap();
    assert_eq!(latest.block_number, BLOCKS);
    let (code, _) = rpc_error(
        fx.client
            .mmr_proof(BlockParam::Number(BLOCKS + 1), None)
            .await,
    );
    assert_eq!(code, codes::UNKNOWN_BLOCK);
    let (code, message) = rpc_error(
        fx.client
            .mmr_proof(BlockParam::Number(3), Some(U64::from(2)))
            .await,
    );
    assert_eq!(code, codes::UNKNOWN_BLOCK, "{message}");
    let (code, message) = rpc_error(
        fx.client
            .mmr_proof(BlockParam::Number(0), Some(U64::from(99)))
            .await,
    );
    assert_eq!(code, codes::INVALID_PARAMS, "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queries_get_codes_and_reasons() {
    let fx = Fixture::new().await;
    let raw = |params: jsonrpsee::core::params::ArrayParams| {
        let client = fx.client.clone();
        async move {
            rpc_error(
                client
                    .request::<Value, _>("cairn_getQueryProof", params)
                    .await,
            )
        }
    };
    // A slot of the wrong length does not parse.
    let (code, message) = raw(rpc_params![vec![json!({"type": "storage", "block": "0x1",
        "address": Address::ZERO, "slot": "0x0102"})]])
    .await;
    assert_eq!(code, codes::INVALID_PARAMS, "{message}");
    // Unknown block.
    let (code, message) = raw(rpc_params![vec![
        json!({"type": "header", "block": "0x99", "field": "number"})
    ]])
    .await;
    assert_eq!(code, codes::UNKNOWN_BLOCK, "{message}");
    assert!(message.contains("unknown block 153"), "{message}");
    // A transaction index the block does not have, a log index its receipt does not have.
    let (code, message) = raw(rpc_params![vec![
        json!({"type": "tx", "block": "0x1", "index": "0x400", "field": "nonce"})
    ]])
    .await;
    assert_eq!(code, codes::INVALID_PARAMS, "{message}");
    assert!(message.contains("block 1 has"), "{message}");
    let sq = Subquery::Log {
        block: 1,
        tx_index: 0,
        log_index: 50,
        field: LogField::Address,
        item: 0,
    };
    let (code, message) = rpc_error(fx.client.query_proof(vec![sq], None).await);
    assert_eq!(code, codes::INVALID_PARAMS, "{message}");
    // Empty and oversized queries.
    let (code, _) = rpc_error(fx.client.query_proof(vec![], None).await);
    assert_eq!(code, codes::INVALID_PARAMS);
    let many = vec![
        Subquery::Header {
            block: 0,
            field: HeaderField::Number,
            item: 0
        };
        cairn_history::MAX_SUBQUERIES + 1
    ];
    let (code, message) = rpc_error(fx.client.query_proof(many, None).await);
    assert_eq!(code, codes::INVALID_PARAMS, "{message}");
    // The server still answers.
    let ok = fx
        .client
        .query_proof(
            vec![Subquery::Storage {
                block: 1,
                address: Address::repeat_byte(0x42),
                slot: B256::from(U256::from(1)),
            }],
            None,
        )
        .await
        .unwrap();
    assert_eq!(ok.subqueries[0].result, B256::ZERO);
}
