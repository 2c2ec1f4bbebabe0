//! The `eth_*` and `debug_*` answers, built from a node's chain.

use crate::{
    api::RpcBlock,
    error::{Result, RpcError},
};
use alloy_consensus::{BlockBody, Transaction as _};
use alloy_eips::eip4895::Withdrawals;
use alloy_primitives::{Address, Bytes, U256};
use alloy_rlp::Encodable;
use alloy_rpc_types_eth::{
    BlockTransactions, EIP1186AccountProofResponse, EIP1186StorageProof, Header, Transaction,
};
use alloy_serde::storage::JsonStorageKey;
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
use cairn_exec::commit::Node;
use cairn_primitives::Block;
use cairn_qmtree::Backend;
use cairn_witness::json::{WitnessFormat, to_value};

/// Block `number` in the RPC shape (the genesis with an empty body), or `None` when the
/// node does not hold it.
pub(crate) fn block<B: Backend>(
    node: &Node<B>,
    number: u64,
    full: bool,
) -> Result<Option<RpcBlock>> {
    let chain = node.chain();
    let (Some(header), Some(hash)) = (chain.header(number), chain.hash(number)) else {
        return Ok(None);
    };
    let genesis;
    let block = match node.block(number) {
        Some(block) => block,
        None => {
            // The genesis: no transactions, and an empty withdrawals list once Shanghai is on.
            let body = BlockBody {
                transactions: Vec::new(),
                ommers: Vec::new(),
                withdrawals: header.withdrawals_root.map(|_| Withdrawals::default()),
            };
            genesis = Block {
                header: header.clone(),
                body,
            };
            &genesis
        }
    };
    let transactions = if full {
        let senders = cairn_stateless::recover_senders(block)
            .map_err(|source| RpcError::Senders { number, source })?;
        BlockTransactions::Full(
            senders
                .into_iter()
                .enumerate()
                .map(|(index, tx)| Transaction {
                    effective_gas_price: Some(tx.effective_gas_price(header.base_fee_per_gas)),
                    inner: tx.cloned(),
                    block_hash: Some(hash),
                    block_number: Some(number),
                    transaction_index: Some(index as u64),
                    block_timestamp: None,
                })
                .collect(),
        )
    } else {
        BlockTransactions::Hashes(
            block
                .body
                .transactions
                .iter()
                .map(|tx| *tx.tx_hash())
                .collect(),
        )
    };
    Ok(Some(RpcBlock {
        header: Header {
            hash,
            inner: header.clone(),
            total_difficulty: None,
            size: Some(U256::from(block.length())),
        },
        uncles: block.body.ommers.iter().map(|h| h.hash_slow()).collect(),
        transactions,
        withdrawals: block.body.withdrawals.clone(),
    }))
}

/// EIP-1186 proof of `address` and `keys` at the state root of block `number`. An absent
/// account reads as zero balance and nonce, the empty code hash and the empty storage root,
/// with proofs of its (and its slots') absence.
pub(crate) fn account_proof<B: Backend>(
    node: &Node<B>,
    address: Address,
    keys: &[JsonStorageKey],
    number: u64,
) -> Result<EIP1186AccountProofResponse> {
    let (mut trie, mut nodes) = node.chain().state_at(number)?;
    let slots: Vec<U256> = keys
        .iter()
        .map(|k| U256::from_be_bytes(k.as_b256().0))
        .collect();
    let (account_proof, storage_proofs) = trie.proof(address, &slots, &mut nodes)?;
    let account = trie.account(address, &mut nodes)?;
    let mut storage_proof = Vec::with_capacity(keys.len());
    for ((key, slot), proof) in keys.iter().zip(slots).zip(storage_proofs) {
        let value = if account.is_some() {
            trie.storage(address, slot, &mut nodes)?
        } else {
            U256::ZERO
        };
        storage_proof.push(EIP1186StorageProof {
            key: *key,
            value,
            proof,
        });
    }
    let (balance, nonce, code_hash, storage_hash) = match account {
        Some(a) => (a.balance, a.nonce, a.code_hash, a.storage_root),
        None => (U256::ZERO, 0, KECCAK_EMPTY, EMPTY_ROOT_HASH),
    };
    Ok(EIP1186AccountProofResponse {
        address,
        balance,
        code_hash,
        nonce,
        storage_hash,
        account_proof,
        storage_proof,
    })
}

/// Block `number` as RLP (the genesis with an empty body).
pub(crate) fn raw_block<B: Backend>(node: &Node<B>, number: u64) -> Result<Bytes> {
    if let Some(block) = node.block(number) {
        return Ok(alloy_rlp::encode(block).into());
    }
    let head = node.head_number();
    let header = node
        .chain()
        .header(number)
        .ok_or(RpcError::UnknownBlock { number, head })?;
    let genesis = Block {
        header: header.clone(),
        body: BlockBody {
            transactions: Vec::new(),
            ommers: Vec::new(),
            withdrawals: header.withdrawals_root.map(|_| Withdrawals::default()),
        },
    };
    Ok(alloy_rlp::encode(&genesis).into())
}

/// The code of `address` at the state root of block `number` (empty for an absent account
/// or one without code).
pub(crate) fn code<B: Backend>(node: &Node<B>, address: Address, number: u64) -> Result<Bytes> {
    let (mut trie, mut nodes) = node.chain().state_at(number)?;
    let Some(account) = trie.account(address, &mut nodes)? else {
        return Ok(Bytes::new());
    };
    if account.code_hash == KECCAK_EMPTY {
        return Ok(Bytes::new());
    }
    node.chain()
        .code(&account.code_hash)
        .cloned()
        .ok_or(RpcError::MissingCode {
            number,
            address,
            code_hash: account.code_hash,
        })
}

/// The execution witness of imported block `number`, generated from the chain, in reth's
/// JSON form. The stateless program must accept the block from it, or the node is damaged.
pub(crate) fn execution_witness<B: Backend>(
    node: &Node<B>,
    number: u64,
    kind: cairn_exec::WitnessKind,
) -> Result<serde_json::Value> {
    let Some(block) = node.block(number) else {
        return Err(RpcError::GenesisWitness { number });
    };
    // Generated witnesses come sorted (headers in chain order), so the same block always
    // gets the same answer.
    let run = node
        .chain()
        .witness_with(std::slice::from_ref(block), kind)?;
    run.result
        .map_err(|source| RpcError::WitnessRun { number, source })?;
    Ok(to_value(&run.witness, WitnessFormat::Reth)?)
}
