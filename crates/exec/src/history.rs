//! A chain's answers for historical-data proofs: EIP-1186 account proofs at any block it
//! holds ([`Chain::account_proof`], also what `eth_getProof` serves), and the node as a
//! [`HistorySource`] for `cairn-history`'s query builder.

use crate::{
    chain::Chain,
    commit::Node,
    error::{ExecError, Result},
};
use alloy_eips::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_rpc_types_eth::{EIP1186AccountProofResponse, EIP1186StorageProof};
use alloy_serde::storage::JsonStorageKey;
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
use cairn_history::{HistorySource, SourceHeader};
use cairn_qmtree::Backend;

impl Chain {
    /// EIP-1186 proof of `address` and `keys` at the state root of block `number`. An absent
    /// account reads as zero balance and nonce, the empty code hash and the empty storage
    /// root, with proofs of its (and its slots') absence.
    ///
    /// # Errors
    /// [`ExecError::UnknownBlock`]; [`ExecError::Store`] when the node store lacks a node.
    pub fn account_proof(
        &self,
        address: Address,
        keys: &[JsonStorageKey],
        number: u64,
    ) -> Result<EIP1186AccountProofResponse> {
        let (mut trie, mut nodes) = self.state_at(number)?;
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
}

/// The node answers from what it holds: every header, every past state, every imported
/// block and its receipts.
impl<B: Backend> HistorySource for Node<B> {
    type Error = ExecError;

    fn head(&self) -> Result<u64> {
        Ok(self.head_number())
    }

    fn header(&self, number: u64) -> Result<Option<SourceHeader>> {
        let chain = self.chain();
        Ok(chain
            .header(number)
            .zip(chain.hash(number))
            .map(|(header, hash)| SourceHeader {
                rlp: alloy_rlp::encode(header).into(),
                hash,
            }))
    }

    fn account_proof(
        &self,
        number: u64,
        address: Address,
        slots: &[B256],
    ) -> Result<Option<EIP1186AccountProofResponse>> {
        if self.chain().header(number).is_none() {
            return Ok(None);
        }
        let keys: Vec<JsonStorageKey> = slots.iter().map(|s| JsonStorageKey::from(*s)).collect();
        self.chain().account_proof(address, &keys, number).map(Some)
    }

    fn transactions(&self, number: u64) -> Result<Option<Vec<Bytes>>> {
        if number == self.chain().first_number() {
            return Ok(Some(Vec::new()));
        }
        Ok(self.block(number).map(|block| {
            block
                .body
                .transactions
                .iter()
                .map(|tx| tx.encoded_2718().into())
                .collect()
        }))
    }

    fn receipts(&self, number: u64) -> Result<Option<Vec<Bytes>>> {
        if number == self.chain().first_number() {
            return Ok(Some(Vec::new()));
        }
        Ok(self
            .receipts(number)
            .map(|receipts| receipts.iter().map(|r| r.encoded_2718().into()).collect()))
    }
}
