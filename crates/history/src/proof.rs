//! Query proofs: the answer to a list of subqueries, with everything needed to check it
//! against block hashes (and, through an MMR, against one root for all blocks), and their
//! verification.

use crate::{
    error::{HistoryError, Result},
    fields::{self, AccountState},
    mmr::MmrProof,
    results::{result_leaf, results_root},
    subquery::Subquery,
    trie::verify_ordered,
};
use alloc::{boxed::Box, vec::Vec};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_trie::{Nibbles, proof::verify_proof};
use serde::{Deserialize, Serialize};

/// The proof format version this build writes and reads.
pub const PROOF_VERSION: u32 = 1;
/// The most subqueries one query may hold.
pub const MAX_SUBQUERIES: usize = 128;

/// The MMR a query proof is anchored to: its size (blocks `0..size`) and root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MmrAnchor {
    /// Leaves (blocks from the genesis).
    #[serde(with = "alloy_serde::quantity")]
    pub size: u64,
    /// The root.
    pub root: B256,
}

/// A block a query is about: its header, which must hash to `hash`, and, when the proof is
/// anchored to an MMR, the inclusion of `hash` as leaf `number`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockProof {
    /// Block number.
    #[serde(with = "alloy_serde::quantity")]
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// The header's RLP.
    pub header: Bytes,
    /// Inclusion of `hash` in the anchor MMR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mmr_proof: Option<MmrProof>,
}

/// What proves one subquery's result from its block's header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum DataProof {
    /// The header alone.
    Header,
    /// An account through the state trie (`eth_getProof`'s `accountProof`); `account` is
    /// `None` for an exclusion proof.
    Account {
        /// State trie nodes, root first.
        account_proof: Vec<Bytes>,
        /// The account.
        account: Option<AccountState>,
    },
    /// A storage slot: the account, then the slot through its storage trie; a slot of an
    /// account that does not exist is zero with no storage proof.
    Storage {
        /// State trie nodes, root first.
        account_proof: Vec<Bytes>,
        /// The account.
        account: Option<AccountState>,
        /// Storage trie nodes, root first.
        storage_proof: Vec<Bytes>,
        /// The slot's value (zero: proven absent).
        value: U256,
    },
    /// A transaction through the transactions trie.
    Transaction {
        /// Trie nodes, root first.
        proof: Vec<Bytes>,
        /// Its EIP-2718 encoding.
        transaction: Bytes,
    },
    /// A receipt through the receipts trie (also for log subqueries).
    Receipt {
        /// Trie nodes, root first.
        proof: Vec<Bytes>,
        /// Its EIP-2718 encoding.
        receipt: Bytes,
    },
}

impl DataProof {
    /// The kind's name.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Header => "header",
            Self::Account { .. } => "account",
            Self::Storage { .. } => "storage",
            Self::Transaction { .. } => "transaction",
            Self::Receipt { .. } => "receipt",
        }
    }

    /// Bytes of proof material: trie nodes and the values they prove.
    pub fn size(&self) -> usize {
        let nodes = |n: &[Bytes]| n.iter().map(|b| b.len()).sum::<usize>();
        match self {
            Self::Header => 0,
            Self::Account { account_proof, .. } => nodes(account_proof),
            Self::Storage {
                account_proof,
                storage_proof,
                ..
            } => nodes(account_proof) + nodes(storage_proof),
            Self::Transaction { proof, transaction } => nodes(proof) + transaction.len(),
            Self::Receipt { proof, receipt } => nodes(proof) + receipt.len(),
        }
    }
}

/// One subquery with its result and proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubqueryProof {
    /// The subquery.
    pub subquery: Subquery,
    /// Its result.
    pub result: B256,
    /// The proof of the result from the block's header.
    pub proof: DataProof,
}

/// The answer to a query: results, `resultsRoot`, and their proofs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryProof {
    /// [`PROOF_VERSION`].
    pub version: u32,
    /// The MMR every block is proven in, when the proof is anchored to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mmr: Option<MmrAnchor>,
    /// The blocks the subqueries are about, by ascending number.
    pub blocks: Vec<BlockProof>,
    /// The subqueries in query order.
    pub subqueries: Vec<SubqueryProof>,
    /// The Keccak results root over `(subquery, result)` leaves.
    pub results_root: B256,
}

/// What a verified query proof establishes, given that its anchors are trusted: the MMR
/// root (when there is one) or else each block hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Results in query order.
    pub results: Vec<B256>,
    /// The results root.
    pub results_root: B256,
    /// The blocks `(number, hash)` the results are about.
    pub blocks: Vec<(u64, B256)>,
    /// The MMR the blocks are proven in.
    pub mmr: Option<MmrAnchor>,
}

/// Verifies a whole query proof: every header against its block hash (and the MMR when
/// anchored), every subquery's proof against its header, every result, and the results
/// root. The caller must then trust the anchors it returns.
///
/// # Errors
/// The first check that fails, naming its block, subquery, address, slot or index.
pub fn verify_query(proof: &QueryProof) -> Result<Verified> {
    if proof.version != PROOF_VERSION {
        return Err(HistoryError::Version {
            got: proof.version,
            expected: PROOF_VERSION,
        });
    }
    if proof.subqueries.is_empty() {
        return Err(HistoryError::EmptyQuery);
    }
    if proof.subqueries.len() > MAX_SUBQUERIES {
        return Err(HistoryError::TooManySubqueries {
            given: proof.subqueries.len(),
            max: MAX_SUBQUERIES,
        });
    }
    let mut previous = None;
    for block in &proof.blocks {
        if previous.is_some_and(|p| p >= block.number) {
            return Err(HistoryError::BlockOrder {
                block: block.number,
            });
        }
        previous = Some(block.number);
        verify_block(block, proof.mmr.as_ref())?;
    }
    let mut results = Vec::with_capacity(proof.subqueries.len());
    let mut leaves = Vec::with_capacity(proof.subqueries.len());
    for (index, sq) in proof.subqueries.iter().enumerate() {
        let number = sq.subquery.block();
        let block = proof
            .blocks
            .binary_search_by_key(&number, |b| b.number)
            .map(|i| &proof.blocks[i])
            .map_err(|_| HistoryError::MissingBlock {
                index,
                block: number,
            })?;
        let got = verify_subquery(index, &sq.subquery, &block.header, &sq.proof)?;
        if got != sq.result {
            return Err(HistoryError::ResultMismatch {
                index,
                got,
                expected: sq.result,
            });
        }
        leaves.push(result_leaf(&sq.subquery, &got)?);
        results.push(got);
    }
    let root = results_root(&leaves);
    if root != proof.results_root {
        return Err(HistoryError::ResultsRoot {
            got: root,
            expected: proof.results_root,
        });
    }
    Ok(Verified {
        results,
        results_root: root,
        blocks: proof.blocks.iter().map(|b| (b.number, b.hash)).collect(),
        mmr: proof.mmr,
    })
}

/// Checks a block's header against its hash and number, and its MMR inclusion when the
/// proof is anchored.
///
/// # Errors
/// [`HistoryError::HeaderHash`], [`HistoryError::HeaderNumber`],
/// [`HistoryError::MalformedHeader`], [`HistoryError::BlockMmr`],
/// [`HistoryError::MmrAnchor`].
pub fn verify_block(block: &BlockProof, anchor: Option<&MmrAnchor>) -> Result<()> {
    let number = block.number;
    let got = keccak256(&block.header);
    if got != block.hash {
        return Err(HistoryError::HeaderHash {
            block: number,
            got,
            expected: block.hash,
        });
    }
    let items = fields::header_items(&block.header)
        .ok_or(HistoryError::MalformedHeader { block: number })?;
    let header_number =
        fields::header_number(&items).ok_or(HistoryError::MalformedHeader { block: number })?;
    if header_number != number {
        return Err(HistoryError::HeaderNumber {
            block: number,
            got: header_number,
        });
    }
    match (anchor, &block.mmr_proof) {
        (None, None) => Ok(()),
        (Some(anchor), Some(p)) => {
            if p.size != anchor.size || p.index != number {
                return Err(HistoryError::MmrAnchor {
                    block: number,
                    reason: "its MMR proof is for another leaf or MMR size than the anchor",
                });
            }
            p.verify(&block.hash, &anchor.root)
                .map_err(|source| HistoryError::BlockMmr {
                    block: number,
                    source,
                })
        }
        (Some(_), None) => Err(HistoryError::MmrAnchor {
            block: number,
            reason: "the proof is anchored to an MMR but this block has no MMR proof",
        }),
        (None, Some(_)) => Err(HistoryError::MmrAnchor {
            block: number,
            reason: "this block has an MMR proof but the proof names no MMR anchor",
        }),
    }
}

/// Verifies one subquery's proof against its block's header (already checked against the
/// block hash) and returns the result.
///
/// # Errors
/// [`HistoryError::ProofKind`] for a proof of another kind, then the proof's own failure.
pub fn verify_subquery(
    index: usize,
    subquery: &Subquery,
    header: &[u8],
    proof: &DataProof,
) -> Result<B256> {
    subquery.check()?;
    let block = subquery.block();
    let items = fields::header_items(header).ok_or(HistoryError::MalformedHeader { block })?;
    let root = |i: usize| {
        fields::header_hash_item(&items, i).ok_or(HistoryError::MalformedHeader { block })
    };
    let wrong_kind = || HistoryError::ProofKind {
        index,
        kind: subquery.kind_name(),
        given: proof.kind(),
    };
    match (subquery, proof) {
        (Subquery::Header { field, item, .. }, DataProof::Header) => {
            fields::header_field(block, header, *field, *item)
        }
        (
            Subquery::Account { address, field, .. },
            DataProof::Account {
                account_proof,
                account,
            },
        ) => {
            verify_account(block, root(3)?, address, account_proof, account.as_ref())?;
            Ok(fields::account_field(account.as_ref(), *field))
        }
        (
            Subquery::Storage { .. } | Subquery::Mapping { .. },
            DataProof::Storage {
                account_proof,
                account,
                storage_proof,
                value,
            },
        ) => {
            let (address, slot) = subquery.storage_slot()?.expect("storage or mapping");
            verify_account(block, root(3)?, &address, account_proof, account.as_ref())?;
            let Some(account) = account else {
                if !storage_proof.is_empty() || !value.is_zero() {
                    return Err(HistoryError::StorageOfAbsentAccount {
                        block,
                        address,
                        slot,
                    });
                }
                return Ok(B256::ZERO);
            };
            let key = Nibbles::unpack(keccak256(slot));
            let expected = (!value.is_zero()).then(|| alloy_rlp::encode(value));
            let mut verdict = verify_proof(account.storage_root, key, expected, storage_proof);
            if verdict.is_err() && value.is_zero() {
                // A zero slot is absent from a canonical storage trie; some dev nodes
                // (anvil) keep it as a leaf holding rlp(0). Either proves zero.
                let kept = verify_proof(
                    account.storage_root,
                    key,
                    Some(alloc::vec![0x80]),
                    storage_proof,
                );
                if kept.is_ok() {
                    verdict = kept;
                }
            }
            verdict.map_err(|source| HistoryError::StorageProof {
                block,
                address,
                slot,
                root: account.storage_root,
                source: Box::new(source),
            })?;
            Ok(B256::from(*value))
        }
        (
            Subquery::Tx {
                index: tx,
                field,
                item,
                ..
            },
            DataProof::Transaction { proof, transaction },
        ) => {
            let root = root(4)?;
            verify_ordered(root, *tx, transaction, proof).map_err(|source| {
                HistoryError::TrieProof {
                    block,
                    trie: "transactions",
                    index: *tx,
                    root,
                    source: Box::new(source),
                }
            })?;
            fields::tx_field(block, *tx, transaction, *field, *item)
        }
        (
            Subquery::Receipt {
                index: tx,
                field,
                item,
                ..
            },
            DataProof::Receipt { proof, receipt },
        ) => {
            verify_receipt(block, root(5)?, *tx, receipt, proof)?;
            fields::receipt_field(block, *tx, receipt, *field, *item)
        }
        (
            Subquery::Log {
                tx_index,
                log_index,
                field,
                item,
                ..
            },
            DataProof::Receipt { proof, receipt },
        ) => {
            verify_receipt(block, root(5)?, *tx_index, receipt, proof)?;
            fields::log_field(block, *tx_index, receipt, *log_index, *field, *item)
        }
        _ => Err(wrong_kind()),
    }
}

fn verify_account(
    block: u64,
    state_root: B256,
    address: &Address,
    proof: &[Bytes],
    account: Option<&AccountState>,
) -> Result<()> {
    verify_proof(
        state_root,
        Nibbles::unpack(keccak256(address)),
        account.map(AccountState::rlp),
        proof,
    )
    .map_err(|source| HistoryError::AccountProof {
        block,
        address: *address,
        root: state_root,
        source: Box::new(source),
    })
}

fn verify_receipt(
    block: u64,
    root: B256,
    index: u64,
    receipt: &[u8],
    proof: &[Bytes],
) -> Result<()> {
    verify_ordered(root, index, receipt, proof).map_err(|source| HistoryError::TrieProof {
        block,
        trie: "receipts",
        index,
        root,
        source: Box::new(source),
    })
}
