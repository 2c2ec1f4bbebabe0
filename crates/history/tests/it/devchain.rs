//! Proofs from a node's own chain: the dev chain holds legacy, EIP-2930, EIP-1559, EIP-4844
//! and EIP-7702 transactions with logs, storage writes and clears, and withdrawals.

use crate::{dev_file, dev_node, prove, prove_all};
use alloy_consensus::{Transaction as _, TxReceipt, Typed2718};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use cairn_exec::commit::Node;
use cairn_history::{
    AccountField, DataProof, HeaderField, HistoryError, HistorySource, LogField, MmrAt, QueryProof,
    ReceiptField, SourceHeader, Subquery, TxField, prove_query, verify_query,
};
use cairn_qmtree::MemoryBackend;
use std::collections::BTreeSet;

fn word<T>(v: T) -> B256
where
    U256: alloy_primitives::ruint::UintTryFrom<T>,
{
    B256::from(U256::from(v))
}

fn addr_word(a: Address) -> B256 {
    B256::left_padding_from(a.as_slice())
}

fn data_word(data: &[u8], i: usize) -> B256 {
    let mut w = [0u8; 32];
    let chunk = &data[32 * i..data.len().min(32 * i + 32)];
    w[..chunk.len()].copy_from_slice(chunk);
    B256::from(w)
}

#[test]
fn every_transaction_type_with_its_receipt_and_logs() {
    let (file, node) = dev_node();
    let mut subqueries = Vec::new();
    let mut expected = Vec::new();
    let mut types = BTreeSet::new();
    let mut logs_seen = 0;
    for i in 0..file.blocks.len() {
        let block = file.block(i).unwrap();
        let number = block.header.number;
        let receipts = node.receipts(number).unwrap();
        for (index, tx) in block.body.transactions.iter().enumerate() {
            types.insert(tx.ty());
            let index = index as u64;
            let mut push = |field: TxField, item: u64, value: B256| {
                subqueries.push(Subquery::Tx {
                    block: number,
                    index,
                    field,
                    item,
                });
                expected.push(value);
            };
            let sig = tx.signature();
            let v = if tx.ty() == 0 {
                tx.chain_id()
                    .map_or(27 + sig.v() as u64, |c| 35 + 2 * c + sig.v() as u64)
            } else {
                sig.v() as u64
            };
            push(TxField::Type, 0, word(tx.ty()));
            push(TxField::ChainId, 0, word(tx.chain_id().unwrap_or(0)));
            push(TxField::Nonce, 0, word(tx.nonce()));
            push(TxField::GasLimit, 0, word(tx.gas_limit()));
            push(TxField::To, 0, tx.to().map_or(B256::ZERO, addr_word));
            push(TxField::Value, 0, word(tx.value()));
            let input = tx.input();
            push(TxField::DataLength, 0, word(input.len() as u64));
            let selector = if input.len() >= 4 {
                word(u32::from_be_bytes(input[..4].try_into().unwrap()))
            } else {
                B256::ZERO
            };
            push(TxField::Selector, 0, selector);
            if !input.is_empty() {
                let last = (input.len() - 1) / 32;
                push(TxField::DataWord, 0, data_word(input, 0));
                push(TxField::DataWord, last as u64, data_word(input, last));
            }
            push(TxField::MaxFeePerGas, 0, word(tx.max_fee_per_gas()));
            push(
                TxField::MaxPriorityFeePerGas,
                0,
                word(
                    tx.max_priority_fee_per_gas()
                        .unwrap_or_else(|| tx.max_fee_per_gas()),
                ),
            );
            push(
                TxField::MaxFeePerBlobGas,
                0,
                word(tx.max_fee_per_blob_gas().unwrap_or(0)),
            );
            let blobs = tx.blob_versioned_hashes().unwrap_or_default();
            push(TxField::BlobHashCount, 0, word(blobs.len() as u64));
            for (b, hash) in blobs.iter().enumerate() {
                push(TxField::BlobHash, b as u64, *hash);
            }
            push(
                TxField::AccessListLength,
                0,
                word(tx.access_list().map_or(0, |l| l.len() as u64)),
            );
            push(
                TxField::AuthorizationListLength,
                0,
                word(tx.authorization_list().map_or(0, |l| l.len() as u64)),
            );
            push(TxField::V, 0, word(v));
            push(TxField::R, 0, word(sig.r()));
            push(TxField::S, 0, word(sig.s()));
            push(TxField::Hash, 0, *tx.tx_hash());

            let receipt = &receipts[index as usize];
            let mut push = |field: ReceiptField, item: u64, value: B256| {
                subqueries.push(Subquery::Receipt {
                    block: number,
                    index,
                    field,
                    item,
                });
                expected.push(value);
            };
            push(ReceiptField::Type, 0, word(receipt.ty()));
            push(ReceiptField::Status, 0, word(receipt.status() as u8));
            push(
                ReceiptField::CumulativeGasUsed,
                0,
                word(receipt.cumulative_gas_used()),
            );
            push(ReceiptField::LogCount, 0, word(receipt.logs().len() as u64));
            let bloom = receipt.bloom();
            for chunk in [0, 7] {
                push(
                    ReceiptField::LogsBloom,
                    chunk,
                    data_word(bloom.as_slice(), chunk as usize),
                );
            }
            for (l, log) in receipt.logs().iter().enumerate() {
                logs_seen += 1;
                let mut push = |field: LogField, item: u64, value: B256| {
                    subqueries.push(Subquery::Log {
                        block: number,
                        tx_index: index,
                        log_index: l as u64,
                        field,
                        item,
                    });
                    expected.push(value);
                };
                push(LogField::Address, 0, addr_word(log.address));
                push(LogField::TopicCount, 0, word(log.topics().len() as u64));
                for (t, topic) in log.topics().iter().enumerate() {
                    push(LogField::Topic, t as u64, *topic);
                }
                push(LogField::DataLength, 0, word(log.data.data.len() as u64));
                for w in 0..log.data.data.len().div_ceil(32) {
                    push(LogField::DataWord, w as u64, data_word(&log.data.data, w));
                }
            }
        }
    }
    assert_eq!(
        types,
        BTreeSet::from([0, 1, 2, 3, 4]),
        "the dev chain has every type"
    );
    assert!(logs_seen > 0, "the dev chain has logs");
    let results = prove_all(&node, &subqueries);
    for ((sq, got), want) in subqueries.iter().zip(&results).zip(&expected) {
        assert_eq!(got, want, "{sq}");
    }
}

#[test]
fn headers_accounts_and_storage_at_past_blocks() {
    let (file, node) = dev_node();
    let chain = node.chain();
    let mut subqueries = Vec::new();
    let mut expected = Vec::new();
    for number in 0..=node.head_number() {
        let header = chain.header(number).unwrap();
        let mut push = |field: HeaderField, item: u64, value: B256| {
            subqueries.push(Subquery::Header {
                block: number,
                field,
                item,
            });
            expected.push(value);
        };
        push(HeaderField::ParentHash, 0, header.parent_hash);
        push(HeaderField::Beneficiary, 0, addr_word(header.beneficiary));
        push(HeaderField::StateRoot, 0, header.state_root);
        push(HeaderField::TransactionsRoot, 0, header.transactions_root);
        push(HeaderField::ReceiptsRoot, 0, header.receipts_root);
        push(
            HeaderField::LogsBloom,
            3,
            data_word(header.logs_bloom.as_slice(), 3),
        );
        push(HeaderField::Number, 0, word(header.number));
        push(HeaderField::GasLimit, 0, word(header.gas_limit));
        push(HeaderField::GasUsed, 0, word(header.gas_used));
        push(HeaderField::Timestamp, 0, word(header.timestamp));
        push(HeaderField::MixHash, 0, header.mix_hash);
        push(
            HeaderField::BaseFeePerGas,
            0,
            word(header.base_fee_per_gas.unwrap()),
        );
        push(
            HeaderField::WithdrawalsRoot,
            0,
            header.withdrawals_root.unwrap(),
        );
        push(
            HeaderField::ExcessBlobGas,
            0,
            word(header.excess_blob_gas.unwrap()),
        );
        push(HeaderField::RequestsHash, 0, header.requests_hash.unwrap());
        push(HeaderField::Hash, 0, chain.hash(number).unwrap());
    }
    // Accounts and slots that changed over the chain, at every block, plus ones that never
    // existed.
    let mut addresses: Vec<Address> = chain.accounts().map(|(a, _)| *a).take(6).collect();
    addresses.push(Address::repeat_byte(0xee));
    let contracts: Vec<(Address, Vec<U256>)> = chain
        .accounts()
        .filter(|(_, a)| !a.storage.is_empty())
        .take(3)
        .map(|(a, acc)| (*a, acc.storage.keys().take(4).copied().collect()))
        .collect();
    assert!(!contracts.is_empty(), "the dev chain writes storage");
    for number in 0..=node.head_number() {
        let (mut trie, mut nodes) = chain.state_at(number).unwrap();
        for address in &addresses {
            let account = trie.account(*address, &mut nodes).unwrap();
            for field in AccountField::ALL {
                subqueries.push(Subquery::Account {
                    block: number,
                    address: *address,
                    field: *field,
                });
                expected.push(match (&account, field) {
                    (None, _) => B256::ZERO,
                    (Some(a), AccountField::Nonce) => word(a.nonce),
                    (Some(a), AccountField::Balance) => word(a.balance),
                    (Some(a), AccountField::StorageRoot) => a.storage_root,
                    (Some(a), AccountField::CodeHash) => a.code_hash,
                });
            }
        }
        for (address, slots) in &contracts {
            let exists = trie.account(*address, &mut nodes).unwrap().is_some();
            for slot in slots.iter().chain([&U256::from(0xdead_beefu64)]) {
                subqueries.push(Subquery::Storage {
                    block: number,
                    address: *address,
                    slot: B256::from(*slot),
                });
                expected.push(if exists {
                    word(trie.storage(*address, *slot, &mut nodes).unwrap())
                } else {
                    B256::ZERO
                });
            }
        }
    }
    let results = prove_all(&node, &subqueries);
    for ((sq, got), want) in subqueries.iter().zip(&results).zip(&expected) {
        assert_eq!(got, want, "{sq}");
    }
    // Some slot reads differently at two blocks, and the never-written one is zero.
    let mut values = std::collections::BTreeMap::<_, BTreeSet<B256>>::new();
    for (sq, r) in subqueries.iter().zip(&results) {
        if let Subquery::Storage { address, slot, .. } = sq {
            values.entry((*address, *slot)).or_default().insert(*r);
        }
    }
    assert!(values.values().any(|v| v.len() > 1), "no slot changed");
    assert!(
        values
            .iter()
            .filter(|((_, s), _)| *s == B256::from(U256::from(0xdead_beefu64)))
            .all(|(_, v)| v.len() == 1 && v.contains(&B256::ZERO))
    );
    assert_eq!(file.blocks.len() as u64, node.head_number());
}

/// One query with a subquery of each kind, for the tampering and error tests.
fn mixed_query(node: &Node<MemoryBackend>) -> Vec<Subquery> {
    let chain = node.chain();
    let number = 3;
    let (contract, slot) = chain
        .accounts()
        .find_map(|(a, acc)| acc.storage.keys().next().map(|s| (*a, *s)))
        .unwrap();
    let block = node.block(number).unwrap();
    let (tx, log) = node
        .receipts(number)
        .unwrap()
        .iter()
        .enumerate()
        .find(|(_, r)| !r.logs().is_empty())
        .map(|(i, _)| (i as u64, 0))
        .unwrap();
    assert!(!block.body.transactions.is_empty());
    vec![
        Subquery::Header {
            block: number,
            field: HeaderField::StateRoot,
            item: 0,
        },
        Subquery::Account {
            block: number,
            address: contract,
            field: AccountField::Balance,
        },
        Subquery::Storage {
            block: number,
            address: contract,
            slot: B256::from(slot),
        },
        Subquery::Tx {
            block: number,
            index: tx,
            field: TxField::Hash,
            item: 0,
        },
        Subquery::Receipt {
            block: number,
            index: tx,
            field: ReceiptField::CumulativeGasUsed,
            item: 0,
        },
        Subquery::Log {
            block: number,
            tx_index: tx,
            log_index: log,
            field: LogField::Topic,
            item: 0,
        },
    ]
}

/// Flips the low bit of every byte of `bytes` in turn and asserts `rejected` says so for
/// each.
fn each_byte_flipped(bytes: &Bytes, mut rejected: impl FnMut(Bytes) -> bool, what: &str) -> usize {
    for i in 0..bytes.len() {
        let mut bad = bytes.to_vec();
        bad[i] ^= 1;
        assert!(
            rejected(bad.into()),
            "{what}: flipping byte {i} was accepted"
        );
    }
    bytes.len()
}

#[test]
fn any_altered_byte_is_rejected() {
    let (_, node) = dev_node();
    let proof = prove(&node, &mixed_query(&node));
    verify_query(&proof).unwrap();
    let rejects = |p: &QueryProof| verify_query(p).is_err();
    let mut flipped = 0;
    flipped += each_byte_flipped(
        &proof.blocks[0].header,
        |h| {
            let mut p = proof.clone();
            p.blocks[0].header = h;
            rejects(&p)
        },
        "header",
    );
    for (s, sq) in proof.subqueries.iter().enumerate() {
        let nodes: Vec<(usize, usize, Bytes)> = match &sq.proof {
            DataProof::Header => vec![],
            DataProof::Account { account_proof, .. } => account_proof
                .iter()
                .enumerate()
                .map(|(i, n)| (0, i, n.clone()))
                .collect(),
            DataProof::Storage {
                account_proof,
                storage_proof,
                ..
            } => account_proof
                .iter()
                .enumerate()
                .map(|(i, n)| (0, i, n.clone()))
                .chain(
                    storage_proof
                        .iter()
                        .enumerate()
                        .map(|(i, n)| (1, i, n.clone())),
                )
                .collect(),
            DataProof::Transaction { proof, transaction } => proof
                .iter()
                .enumerate()
                .map(|(i, n)| (0, i, n.clone()))
                .chain([(2, 0, transaction.clone())])
                .collect(),
            DataProof::Receipt { proof, receipt } => proof
                .iter()
                .enumerate()
                .map(|(i, n)| (0, i, n.clone()))
                .chain([(2, 0, receipt.clone())])
                .collect(),
        };
        for (list, i, node_bytes) in nodes {
            flipped += each_byte_flipped(
                &node_bytes,
                |bad| {
                    let mut p = proof.clone();
                    match &mut p.subqueries[s].proof {
                        DataProof::Account { account_proof, .. } => account_proof[i] = bad,
                        DataProof::Storage {
                            account_proof,
                            storage_proof,
                            ..
                        } => {
                            if list == 0 {
                                account_proof[i] = bad
                            } else {
                                storage_proof[i] = bad
                            }
                        }
                        DataProof::Transaction { proof, transaction } => {
                            if list == 0 {
                                proof[i] = bad
                            } else {
                                *transaction = bad
                            }
                        }
                        DataProof::Receipt { proof, receipt } => {
                            if list == 0 {
                                proof[i] = bad
                            } else {
                                *receipt = bad
                            }
                        }
                        DataProof::Header => unreachable!(),
                    }
                    rejects(&p)
                },
                &format!("subquery {s} ({})", sq.subquery.kind_name()),
            );
        }
        // The claimed result.
        let mut p = proof.clone();
        p.subqueries[s].result.0[31] ^= 1;
        assert!(rejects(&p));
    }
    // Every hash of the MMR path, the anchor and the results root.
    let mmr = proof.blocks[0].mmr_proof.clone().unwrap();
    for i in 0..mmr.siblings.len() + mmr.peaks.len() {
        for byte in 0..32 {
            let mut p = proof.clone();
            let path = p.blocks[0].mmr_proof.as_mut().unwrap();
            if i < path.siblings.len() {
                path.siblings[i].0[byte] ^= 1;
            } else {
                path.peaks[i - mmr.siblings.len()].0[byte] ^= 1;
            }
            assert!(rejects(&p), "MMR hash {i} byte {byte}");
            flipped += 1;
        }
    }
    for byte in 0..32 {
        let mut p = proof.clone();
        p.mmr.as_mut().unwrap().root.0[byte] ^= 1;
        assert!(rejects(&p));
        let mut p = proof.clone();
        p.results_root.0[byte] ^= 1;
        assert!(rejects(&p));
        let mut p = proof.clone();
        p.blocks[0].hash.0[byte] ^= 1;
        assert!(rejects(&p));
    }
    assert!(flipped > 3000, "{flipped} bytes flipped");
}

#[test]
fn bad_requests_get_typed_errors() {
    let (_, node) = dev_node();
    let head = node.head_number();
    let mmr = MmrAt::current(node.mmr().unwrap());
    let prove = |sq: Subquery| prove_query(&node, &[sq], Some(mmr));
    let unknown = prove(Subquery::Header {
        block: head + 1,
        field: HeaderField::Number,
        item: 0,
    });
    assert!(
        matches!(unknown, Err(HistoryError::UnknownBlock { block }) if block == head + 1),
        "{unknown:?}"
    );
    let count = node.block(2).unwrap().body.transactions.len() as u64;
    let out = prove(Subquery::Tx {
        block: 2,
        index: count,
        field: TxField::Nonce,
        item: 0,
    });
    assert!(
        matches!(out, Err(HistoryError::TxOutOfRange { block: 2, index, .. }) if index == count),
        "{out:?}"
    );
    let word = prove(Subquery::Tx {
        block: 2,
        index: 0,
        field: TxField::DataWord,
        item: 1 << 20,
    });
    assert!(
        matches!(word, Err(HistoryError::ItemOutOfRange { block: 2, .. })),
        "{word:?}"
    );
    let log = prove(Subquery::Log {
        block: 2,
        tx_index: 0,
        log_index: 99,
        field: LogField::Address,
        item: 0,
    });
    assert!(
        matches!(
            log,
            Err(HistoryError::LogOutOfRange {
                block: 2,
                log_index: 99,
                ..
            })
        ),
        "{log:?}"
    );
    let item = prove(Subquery::Header {
        block: 1,
        field: HeaderField::Number,
        item: 1,
    });
    assert!(
        matches!(item, Err(HistoryError::ItemNotAllowed { .. })),
        "{item:?}"
    );
    // An MMR that ends before the block.
    let short = MmrAt {
        mmr: node.mmr().unwrap(),
        size: 3,
    };
    let past = prove_query(
        &node,
        &[Subquery::Header {
            block: 3,
            field: HeaderField::Number,
            item: 0,
        }],
        Some(short),
    );
    assert!(
        matches!(past, Err(HistoryError::NotInMmr { block: 3, size: 3 })),
        "{past:?}"
    );
    assert!(matches!(
        prove_query(&node, &[], Some(mmr)),
        Err(HistoryError::EmptyQuery)
    ));
}

/// A source that lies in one way about what the node holds.
struct Lying<'a> {
    node: &'a Node<MemoryBackend>,
    lie: Lie,
}

#[derive(Clone, Copy)]
enum Lie {
    HeaderHash,
    AccountBalance,
    StorageValue,
    DroppedSlot,
    Transactions,
    Receipts,
}

impl HistorySource for Lying<'_> {
    type Error = cairn_exec::ExecError;

    fn head(&self) -> Result<u64, Self::Error> {
        self.node.head()
    }

    fn header(&self, number: u64) -> Result<Option<SourceHeader>, Self::Error> {
        let mut h = self.node.header(number)?;
        if let (Lie::HeaderHash, Some(h)) = (self.lie, &mut h) {
            h.hash = keccak256(h.hash);
        }
        Ok(h)
    }

    fn account_proof(
        &self,
        number: u64,
        address: Address,
        slots: &[B256],
    ) -> Result<Option<alloy_rpc_types_eth::EIP1186AccountProofResponse>, Self::Error> {
        let mut p = HistorySource::account_proof(self.node, number, address, slots)?;
        if let Some(p) = &mut p {
            match self.lie {
                Lie::AccountBalance => p.balance += U256::from(1),
                Lie::StorageValue => p.storage_proof[0].value += U256::from(1),
                Lie::DroppedSlot => p.storage_proof.clear(),
                _ => {}
            }
        }
        Ok(p)
    }

    fn transactions(&self, number: u64) -> Result<Option<Vec<Bytes>>, Self::Error> {
        let mut txs = HistorySource::transactions(self.node, number)?;
        if let (Lie::Transactions, Some(txs)) = (self.lie, &mut txs) {
            txs.swap(0, 1);
        }
        Ok(txs)
    }

    fn receipts(&self, number: u64) -> Result<Option<Vec<Bytes>>, Self::Error> {
        let mut receipts = HistorySource::receipts(self.node, number)?;
        if let (Lie::Receipts, Some(r)) = (self.lie, &mut receipts) {
            r.pop();
        }
        Ok(receipts)
    }
}

#[test]
fn a_lying_source_gets_an_error_naming_what_it_lied_about() {
    let (_, node) = dev_node();
    let query = mixed_query(&node);
    let (address, slot) = match &query[2] {
        Subquery::Storage { address, slot, .. } => (*address, *slot),
        _ => unreachable!(),
    };
    let run = |lie| {
        let source = Lying { node: &node, lie };
        prove_query(&source, &query, None::<MmrAt<'_, Vec<B256>>>).unwrap_err()
    };
    assert!(matches!(
        run(Lie::HeaderHash),
        HistoryError::HeaderHash { block: 3, .. }
    ));
    let e = run(Lie::AccountBalance);
    assert!(
        matches!(e, HistoryError::AccountProof { block: 3, address: a, .. } if a == address),
        "{e}"
    );
    let e = run(Lie::StorageValue);
    assert!(
        matches!(e, HistoryError::StorageProof { block: 3, address: a, slot: s, .. } if a == address && s == slot),
        "{e}"
    );
    assert!(e.to_string().contains(&slot.to_string()), "{e}");
    assert!(matches!(
        run(Lie::DroppedSlot),
        HistoryError::MissingSlot { block: 3, .. }
    ));
    assert!(matches!(
        run(Lie::Transactions),
        HistoryError::TrieRoot {
            block: 3,
            trie: "transactions",
            ..
        }
    ));
    assert!(matches!(
        run(Lie::Receipts),
        HistoryError::TrieRoot {
            block: 3,
            trie: "receipts",
            ..
        }
    ));
    // An MMR of another chain: its leaf is not the source's hash.
    let mut other = cairn_history::Mmr::default();
    other.append_all(&vec![B256::repeat_byte(1); 10]).unwrap();
    let e = prove_query(&node, &query, Some(MmrAt::current(&other))).unwrap_err();
    assert!(matches!(e, HistoryError::MmrLeaf { block: 3, .. }), "{e}");
}

#[test]
fn the_datadir_node_keeps_its_mmr_across_restarts() {
    let file = dev_file();
    let dir = tempfile::tempdir().unwrap();
    let root_after = |n: usize| {
        let mut mmr = cairn_history::Mmr::default();
        let chain = {
            let mut node = Node::in_memory(&file).unwrap();
            for i in 0..n {
                node.import(&file.block(i).unwrap()).unwrap();
            }
            node.chain().canonical_hashes().to_vec()
        };
        mmr.append_all(&chain).unwrap();
        mmr.root()
    };
    {
        let mut node = Node::open(dir.path(), Some(&file)).unwrap();
        for i in 0..3 {
            node.import(&file.block(i).unwrap()).unwrap();
        }
        assert_eq!(node.mmr().unwrap().root(), root_after(3));
    }
    let mmr_file = dir.path().join(cairn_exec::commit::node::MMR_FILE);
    {
        let mut node = Node::open(dir.path(), None).unwrap();
        assert_eq!(node.mmr().unwrap().leaves(), 4);
        assert_eq!(node.mmr().unwrap().root(), root_after(3));
        node.import(&file.block(3).unwrap()).unwrap();
        assert_eq!(node.mmr().unwrap().root(), root_after(4));
        // Proofs from the file-backed MMR.
        let proof = prove_query(
            &node,
            &[Subquery::Header {
                block: 2,
                field: HeaderField::Hash,
                item: 0,
            }],
            Some(MmrAt::current(node.mmr().unwrap())),
        )
        .unwrap();
        verify_query(&proof).unwrap();
    }
    // Lost: rebuilt from the chain. Damaged: an error naming the node.
    std::fs::remove_file(&mmr_file).unwrap();
    assert_eq!(
        Node::open(dir.path(), None).unwrap().mmr().unwrap().root(),
        root_after(4)
    );
    let mut bytes = std::fs::read(&mmr_file).unwrap();
    bytes[32 + 32 * 3] ^= 1; // leaf 2 (post-order position 3)
    std::fs::write(&mmr_file, &bytes).unwrap();
    let err = Node::open(dir.path(), None).unwrap_err();
    assert!(err.to_string().contains("MMR leaf 2"), "{err}");
}
