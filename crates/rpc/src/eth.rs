//! The `eth_*` and `debug_*` answers, built from a node's chain.

use crate::{
    api::RpcBlock,
    error::{Result, RpcError},
};
use alloy_consensus::{BlockBody, Transaction as _};
use alloy_eips::eip4895::Withdrawals;
use alloy_primitives::KECCAK256_EMPTY as KECCAK_EMPTY;
use alloy_primitives::{Address, Bytes, U256};
use alloy_rlp::Encodable;
use alloy_rpc_types_eth::{BlockTransactions, EIP1186AccountProofResponse, Header, Transaction};
use alloy_serde::storage::JsonStorageKey;
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

/// EIP-1186 proof of `address` and `keys` at the state root of block `number`
/// ([`Chain::account_proof`](cairn_exec::Chain::account_proof)).
pub(crate) fn account_proof<B: Backend>(
    node: &Node<B>,
    address: Address,
    keys: &[JsonStorageKey],
    number: u64,
) -> Result<EIP1186AccountProofResponse> {
    Ok(node.chain().account_proof(address, keys, number)?)
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
