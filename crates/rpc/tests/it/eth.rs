//! `eth_*`: block number, blocks, EIP-1186 proofs.

use crate::{BLOCKS, Fixture, chain, check_account_proof, reference};
use alloy_primitives::{Address, B256, U256};
use alloy_rpc_types_eth::BlockTransactions;
use alloy_serde::storage::JsonStorageKey;
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
use cairn_rpc::{BlockParam, EthApiClient};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_number_and_blocks_match_the_chain() {
    let fx = Fixture::new().await;
    let reference = reference();
    assert_eq!(fx.client.block_number().await.unwrap().to::<u64>(), BLOCKS);
    for n in 0..=BLOCKS {
        let header = reference.chain().header(n).unwrap();
        let hashes = fx
            .client
            .block_by_number(BlockParam::Number(n), false)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            hashes.header.hash,
            reference.chain().hash(n).unwrap(),
            "block {n}"
        );
        assert_eq!(&hashes.header.inner, header);
        let full = fx
            .client
            .block_by_number(BlockParam::Number(n), true)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(full.header, hashes.header);
        // (An empty list reads back as either form.)
        let tx_hashes: Vec<B256> = hashes.transactions.hashes().collect();
        assert!(
            hashes.transactions.is_hashes() || tx_hashes.is_empty(),
            "hashes expected"
        );
        let txs = match &full.transactions {
            BlockTransactions::Full(txs) => txs.clone(),
            other if other.is_empty() => Vec::new(),
            _ => panic!("full transactions expected"),
        };
        assert_eq!(
            txs.iter().map(|t| *t.inner.tx_hash()).collect::<Vec<_>>(),
            tx_hashes
        );
        for (i, tx) in txs.iter().enumerate() {
            assert_eq!(
                (tx.block_hash, tx.block_number, tx.transaction_index),
                (Some(hashes.header.hash), Some(n), Some(i as u64))
            );
        }
        if n == 0 {
            assert!(txs.is_empty());
            continue;
        }
        // The answer holds the block exactly: it re-encodes to the imported RLP.
        let original = &chain().blocks[n as usize - 1];
        let rebuilt = full
            .clone()
            .map_transactions(|t| t.inner.into_inner())
            .into_consensus();
        assert_eq!(alloy_rlp::encode(&rebuilt), original.to_vec(), "block {n}");
        let senders = cairn_stateless::recover_senders(&rebuilt).unwrap();
        assert!(
            txs.iter()
                .zip(&senders)
                .all(|(t, s)| t.inner.signer() == s.signer())
        );
        assert_eq!(full.header.size, Some(U256::from(original.len())));
    }
    let latest = fx
        .client
        .block_by_number(BlockParam::Latest, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.header.number, BLOCKS);
    let earliest = fx
        .client
        .block_by_number(BlockParam::Earliest, true)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(earliest.header.number, 0);
    assert!(
        fx.client
            .block_by_number(BlockParam::Number(BLOCKS + 1), false)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eth_get_proof_verifies_for_present_and_absent_accounts_and_slots() {
    let fx = Fixture::new().await;
    let reference = reference();
    let head = reference.chain();
    // The contract with the most storage at the head, one of its slots, and one it lacks.
    let (address, account) = head
        .accounts()
        .filter(|(_, a)| !a.storage.is_empty())
        .max_by_key(|(address, a)| (a.storage.len(), **address))
        .expect("the dev chain has contracts with storage");
    let (slot, value) = account.storage.iter().min().map(|(k, v)| (*k, *v)).unwrap();
    let absent_slot = U256::from_be_bytes(B256::repeat_byte(0xee).0);
    assert!(!account.storage.contains_key(&absent_slot));
    let keys = vec![
        JsonStorageKey::from(B256::from(slot)),
        JsonStorageKey::from(B256::from(absent_slot)),
    ];

    let state_root = head.head().state_root;
    let p = fx
        .client
        .get_proof(*address, keys.clone(), BlockParam::Latest)
        .await
        .unwrap();
    assert_eq!(
        (p.address, p.nonce, p.balance, p.code_hash),
        (
            *address,
            account.fields.nonce,
            account.fields.balance,
            account.fields.code_hash
        )
    );
    assert_ne!(p.storage_hash, EMPTY_ROOT_HASH);
    assert_eq!(p.storage_proof.len(), 2);
    assert_eq!(
        (p.storage_proof[0].key, p.storage_proof[0].value),
        (keys[0], value)
    );
    assert_eq!(
        (p.storage_proof[1].key, p.storage_proof[1].value),
        (keys[1], U256::ZERO)
    );
    check_account_proof(&p, state_root, true).unwrap();

    // An account that never existed: zeros, empty code hash and storage root, and proofs of
    // absence for it and its slots.
    let nobody = Address::repeat_byte(0xab);
    assert!(head.account(&nobody).is_none());
    let p = fx
        .client
        .get_proof(nobody, keys.clone(), BlockParam::Latest)
        .await
        .unwrap();
    assert_eq!(
        (p.nonce, p.balance, p.code_hash, p.storage_hash),
        (0, U256::ZERO, KECCAK_EMPTY, EMPTY_ROOT_HASH)
    );
    assert!(p.storage_proof.iter().all(|s| s.value.is_zero()));
    check_account_proof(&p, state_root, false).unwrap();

    // Every past block: proofs against that block's state root.
    for n in 0..=BLOCKS {
        let p = fx
            .client
            .get_proof(*address, keys.clone(), BlockParam::Number(n))
            .await
            .unwrap();
        let root = head.header(n).unwrap().state_root;
        let (mut trie, mut nodes) = head.state_at(n).unwrap();
        let present = trie.account(*address, &mut nodes).unwrap().is_some();
        check_account_proof(&p, root, present).unwrap();
        // A proof checked against the wrong root fails.
        if n > 0 && root != state_root {
            let wrong = check_account_proof(&p, state_root, present);
            assert!(
                wrong.is_err(),
                "block {n}'s proof must not verify against the head's root"
            );
        }
    }
    // Slots given as short quantities are echoed as given and read the same slot.
    let short = JsonStorageKey::from(slot);
    let p = fx
        .client
        .get_proof(*address, vec![short], BlockParam::Latest)
        .await
        .unwrap();
    assert_eq!(
        (p.storage_proof[0].key, p.storage_proof[0].value),
        (short, value)
    );
    check_account_proof(&p, state_root, true).unwrap();
}
