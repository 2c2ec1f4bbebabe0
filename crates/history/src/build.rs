//! Building query proofs from a [`HistorySource`].

use crate::{
    error::{HistoryError, Result},
    fields::{self, AccountState},
    mmr::{Mmr, MmrStorage},
    proof::{
        BlockProof, DataProof, MAX_SUBQUERIES, MmrAnchor, PROOF_VERSION, QueryProof, SubqueryProof,
        verify_query, verify_subquery,
    },
    results::{result_leaf, results_root},
    source::HistorySource,
    subquery::Subquery,
    trie::ordered_trie_proof,
};
use alloy_primitives::{Address, B256, Bytes, keccak256};
use alloy_rpc_types_eth::EIP1186AccountProofResponse;
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, Nibbles, proof::verify_proof};
use std::collections::{BTreeMap, BTreeSet};

/// The MMR a proof is anchored to, at a given size (blocks `0..size`).
#[derive(Debug)]
pub struct MmrAt<'a, S> {
    /// The MMR.
    pub mmr: &'a Mmr<S>,
    /// The size to prove against (at most the MMR's leaves).
    pub size: u64,
}

impl<S> Clone for MmrAt<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for MmrAt<'_, S> {}

impl<'a, S: MmrStorage> MmrAt<'a, S> {
    /// The MMR as it is.
    pub fn current(mmr: &'a Mmr<S>) -> Self {
        Self {
            mmr,
            size: mmr.leaves(),
        }
    }
}

fn source_error<E: core::error::Error + Send + Sync + 'static>(
    what: impl FnOnce() -> String,
) -> impl FnOnce(E) -> HistoryError {
    move |e| HistoryError::Source {
        what: what(),
        source: Box::new(e),
    }
}

/// Proves `subqueries` with data from `source`: headers (checked against their hashes and,
/// with `mmr`, against the MMR's leaves), EIP-1186 account and storage proofs, and the
/// transactions and receipts tries rebuilt from the block's transactions and receipts
/// (their roots checked against the header). The proof is verified before it is returned:
/// a source that lies gets an error naming the block, address, slot or index, never an
/// answer.
///
/// # Errors
/// [`HistoryError::EmptyQuery`], [`HistoryError::TooManySubqueries`], a subquery's own
/// error, [`HistoryError::UnknownBlock`], [`HistoryError::Source`], or the verification
/// failure of what the source gave.
pub fn prove_query<H, S>(
    source: &H,
    subqueries: &[Subquery],
    mmr: Option<MmrAt<'_, S>>,
) -> Result<QueryProof>
where
    H: HistorySource,
    S: MmrStorage,
{
    if subqueries.is_empty() {
        return Err(HistoryError::EmptyQuery);
    }
    if subqueries.len() > MAX_SUBQUERIES {
        return Err(HistoryError::TooManySubqueries {
            given: subqueries.len(),
            max: MAX_SUBQUERIES,
        });
    }
    for sq in subqueries {
        sq.check()?;
    }
    let numbers: BTreeSet<u64> = subqueries.iter().map(Subquery::block).collect();
    let mut blocks = Vec::with_capacity(numbers.len());
    for &number in &numbers {
        blocks.push(block_proof(source, number, mmr)?);
    }
    let header = |number: u64| -> &Bytes {
        let i = blocks
            .binary_search_by_key(&number, |b| b.number)
            .expect("every subquery's block was fetched");
        &blocks[i].header
    };

    // One eth_getProof per (block, account), with all of its slots.
    let mut accounts: BTreeMap<(u64, Address), BTreeSet<B256>> = BTreeMap::new();
    for sq in subqueries {
        match sq {
            Subquery::Account { block, address, .. } => {
                accounts.entry((*block, *address)).or_default();
            }
            Subquery::Storage { block, .. } | Subquery::Mapping { block, .. } => {
                let (address, slot) = sq.storage_slot()?.expect("storage or mapping");
                accounts.entry((*block, address)).or_default().insert(slot);
            }
            _ => {}
        }
    }
    let mut account_proofs = BTreeMap::new();
    for ((number, address), slots) in accounts {
        let slots: Vec<B256> = slots.into_iter().collect();
        let response = source
            .account_proof(number, address, &slots)
            .map_err(source_error(|| {
                format!("eth_getProof of {address} at block {number}")
            }))?
            .ok_or(HistoryError::Pruned {
                block: number,
                what: "state",
            })?;
        let state_root = fields::header_hash_item(
            &fields::header_items(header(number))
                .ok_or(HistoryError::MalformedHeader { block: number })?,
            3,
        )
        .ok_or(HistoryError::MalformedHeader { block: number })?;
        let account = account_state(state_root, &response);
        account_proofs.insert((number, address), (response, account));
    }

    // The transactions and receipts of each block they are asked of, rebuilt once.
    let mut txs: BTreeMap<u64, Vec<Bytes>> = BTreeMap::new();
    let mut receipts: BTreeMap<u64, Vec<Bytes>> = BTreeMap::new();
    for sq in subqueries {
        let number = sq.block();
        match sq {
            Subquery::Tx { .. } if !txs.contains_key(&number) => {
                let list = source
                    .transactions(number)
                    .map_err(source_error(|| format!("transactions of block {number}")))?
                    .ok_or(HistoryError::UnknownBlock { block: number })?;
                check_root(number, header(number), 4, "transactions", &list)?;
                txs.insert(number, list);
            }
            Subquery::Receipt { .. } | Subquery::Log { .. } if !receipts.contains_key(&number) => {
                let list = source
                    .receipts(number)
                    .map_err(source_error(|| format!("receipts of block {number}")))?
                    .ok_or(HistoryError::Pruned {
                        block: number,
                        what: "receipts",
                    })?;
                check_root(number, header(number), 5, "receipts", &list)?;
                receipts.insert(number, list);
            }
            _ => {}
        }
    }

    let mut proofs = Vec::with_capacity(subqueries.len());
    let mut leaves = Vec::with_capacity(subqueries.len());
    for (index, sq) in subqueries.iter().enumerate() {
        let number = sq.block();
        let data = match sq {
            Subquery::Header { .. } => DataProof::Header,
            Subquery::Account { address, .. } => {
                let (response, account) = &account_proofs[&(number, *address)];
                DataProof::Account {
                    account_proof: response.account_proof.clone(),
                    account: *account,
                }
            }
            Subquery::Storage { .. } | Subquery::Mapping { .. } => {
                let (address, slot) = sq.storage_slot()?.expect("storage or mapping");
                let (response, account) = &account_proofs[&(number, address)];
                let entry = response
                    .storage_proof
                    .iter()
                    .find(|p| p.key.as_b256() == slot);
                match (account, entry) {
                    (None, _) => DataProof::Storage {
                        account_proof: response.account_proof.clone(),
                        account: None,
                        storage_proof: Vec::new(),
                        value: Default::default(),
                    },
                    (Some(account), Some(entry)) => DataProof::Storage {
                        account_proof: response.account_proof.clone(),
                        account: Some(*account),
                        storage_proof: entry.proof.clone(),
                        value: entry.value,
                    },
                    (Some(_), None) => {
                        return Err(HistoryError::MissingSlot {
                            block: number,
                            address,
                            slot,
                        });
                    }
                }
            }
            Subquery::Tx { index: i, .. } => {
                let list = &txs[&number];
                let (_, proof) = ordered_trie_proof(list, Some(*i));
                let proof = proof.ok_or(HistoryError::TxOutOfRange {
                    block: number,
                    index: *i,
                    count: list.len() as u64,
                })?;
                DataProof::Transaction {
                    proof,
                    transaction: list[*i as usize].clone(),
                }
            }
            Subquery::Receipt { index: i, .. } | Subquery::Log { tx_index: i, .. } => {
                let list = &receipts[&number];
                let (_, proof) = ordered_trie_proof(list, Some(*i));
                let proof = proof.ok_or(HistoryError::TxOutOfRange {
                    block: number,
                    index: *i,
                    count: list.len() as u64,
                })?;
                DataProof::Receipt {
                    proof,
                    receipt: list[*i as usize].clone(),
                }
            }
        };
        let result = verify_subquery(index, sq, header(number), &data)?;
        leaves.push(result_leaf(sq, &result)?);
        proofs.push(SubqueryProof {
            subquery: sq.clone(),
            result,
            proof: data,
        });
    }
    let proof = QueryProof {
        version: PROOF_VERSION,
        mmr: match mmr {
            Some(at) => Some(MmrAnchor {
                size: at.size,
                root: at.mmr.root_at(at.size)?,
            }),
            None => None,
        },
        blocks,
        subqueries: proofs,
        results_root: results_root(&leaves),
    };
    verify_query(&proof)?;
    Ok(proof)
}

/// A block's header from the source, checked against the hash it claims and the MMR.
fn block_proof<H: HistorySource, S: MmrStorage>(
    source: &H,
    number: u64,
    mmr: Option<MmrAt<'_, S>>,
) -> Result<BlockProof> {
    let header = source
        .header(number)
        .map_err(source_error(|| format!("header of block {number}")))?
        .ok_or(HistoryError::UnknownBlock { block: number })?;
    let block = BlockProof {
        number,
        hash: header.hash,
        header: header.rlp,
        mmr_proof: None,
    };
    crate::proof::verify_block(&block, None)?;
    let Some(at) = mmr else {
        return Ok(block);
    };
    if number >= at.size {
        return Err(HistoryError::NotInMmr {
            block: number,
            size: at.size,
        });
    }
    let leaf = at.mmr.leaf(number)?;
    if leaf != block.hash {
        return Err(HistoryError::MmrLeaf {
            block: number,
            leaf,
            hash: block.hash,
        });
    }
    Ok(BlockProof {
        mmr_proof: Some(at.mmr.proof(number, at.size)?),
        ..block
    })
}

/// The rebuilt root of a block's transactions or receipts must be the header's.
fn check_root(
    number: u64,
    header: &[u8],
    item: usize,
    trie: &'static str,
    values: &[Bytes],
) -> Result<()> {
    let expected = fields::header_items(header)
        .and_then(|items| fields::header_hash_item(&items, item))
        .ok_or(HistoryError::MalformedHeader { block: number })?;
    let (got, _) = ordered_trie_proof(values, None);
    if got != expected {
        return Err(HistoryError::TrieRoot {
            block: number,
            trie,
            got,
            expected,
        });
    }
    Ok(())
}

/// The account an EIP-1186 answer stands for: `None` when it proves absence. Nodes report
/// an absent account as zero nonce and balance with the empty code hash and storage root
/// (or zeros for them); such an answer is an exclusion proof when one verifies.
fn account_state(state_root: B256, response: &EIP1186AccountProofResponse) -> Option<AccountState> {
    let or_empty = |h: B256, empty: B256| if h.is_zero() { empty } else { h };
    let account = AccountState {
        nonce: response.nonce,
        balance: response.balance,
        storage_root: or_empty(response.storage_hash, EMPTY_ROOT_HASH),
        code_hash: or_empty(response.code_hash, KECCAK_EMPTY),
    };
    let looks_absent = account.nonce == 0
        && account.balance.is_zero()
        && account.storage_root == EMPTY_ROOT_HASH
        && account.code_hash == KECCAK_EMPTY;
    if looks_absent {
        let key = Nibbles::unpack(keccak256(response.address));
        if verify_proof(state_root, key, None, &response.account_proof).is_ok() {
            return None;
        }
    }
    Some(account)
}
