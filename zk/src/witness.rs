//! The storage statement's witness (a header and an `eth_getProof` answer), its native
//! verification, and its translation into axiom-eth's circuit input.
//!
//! Native verification runs first, always: the circuit is unsatisfiable exactly when these
//! checks fail (header hash, account proof into `stateRoot`, storage proof into
//! `storageRoot`, shapes the circuit can hold), so the prover reports a typed error instead
//! of spending minutes on a proof that cannot exist.

use std::path::Path;

use alloy_consensus::Header;
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_rlp::{Decodable, Encodable};
use alloy_trie::{Nibbles, TrieAccount, proof::verify_proof};
use axiom_eth::{
    mpt::MPTInput,
    storage::circuit::{EthBlockStorageInput, EthStorageInput},
};
use ethers_core::types::{H160, H256, U256 as EU256};
use serde::{Deserialize, Serialize};

use crate::{
    error::{Result, ZkError},
    rpc::{AccountProofJson, Rpc},
};

/// Bytes of an RLP-encoded account the storage circuit takes (axiom-eth's
/// `ACCOUNT_PROOF_VALUE_MAX_BYTE_LEN`).
const ACCOUNT_VALUE_MAX_BYTES: usize = 90;
/// Bytes of an RLP-encoded slot value (`STORAGE_PROOF_VALUE_MAX_BYTE_LEN`).
const STORAGE_VALUE_MAX_BYTES: usize = 33;

/// Everything the storage circuit needs for (address, slots) at one block: the node's exact
/// RLP header and its `eth_getProof` answer. Serialized as JSON (`cairn-zk witness`), so a
/// proof can be made away from the node.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StorageWitness {
    /// Block number.
    pub block_number: u64,
    /// The block hash the node reported (checked against the header).
    pub block_hash: B256,
    /// The RLP-encoded header (keccak of it is the block hash).
    pub header_rlp: Bytes,
    /// `eth_getProof(address, slots, block_number)`.
    pub proof: AccountProofJson,
}

/// What a storage proof states: the values of `slots` of `address` at the block with
/// `block_hash` (and `block_number`). This is what the public instances encode and what the
/// native verification computes.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StorageClaim {
    /// The block hash (the root of trust).
    pub block_hash: B256,
    /// The block number (decoded from the header in-circuit).
    pub block_number: u64,
    /// The account.
    pub address: Address,
    /// (slot, value) pairs.
    pub slots: Vec<(B256, U256)>,
}

/// The trie shapes a circuit configuration accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrieLimits {
    /// Maximum nodes of the account proof (leaf included).
    pub account_max_depth: usize,
    /// Maximum nodes of a storage proof (leaf included).
    pub storage_max_depth: usize,
}

impl StorageWitness {
    /// Fetches the header and `eth_getProof` answer from a node.
    ///
    /// # Errors
    /// [`ZkError::Rpc`], [`ZkError::BlockNotFound`], [`ZkError::HeaderHashMismatch`].
    pub fn fetch(rpc: &Rpc, block: u64, address: Address, slots: &[B256]) -> Result<Self> {
        let (header, block_hash) = rpc.header(block)?;
        let proof = rpc.proof(address, slots, block)?;
        Ok(Self {
            block_number: block,
            block_hash,
            header_rlp: alloy_rlp::encode(&header).into(),
            proof,
        })
    }

    /// Reads a witness JSON file.
    ///
    /// # Errors
    /// [`ZkError::Io`], [`ZkError::ProofFile`] on bad JSON.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(ZkError::io(path))?;
        serde_json::from_str(&text).map_err(|e| ZkError::ProofFile {
            path: path.to_path_buf(),
            reason: format!("not a storage witness: {e}"),
        })
    }

    /// Verifies the witness natively and returns what it proves: the header hashes to the
    /// block hash and has a shape the circuit takes, the account proof proves the account
    /// into the header's `stateRoot`, each storage proof proves its value into the account's
    /// `storageRoot`, and every proof fits `limits`.
    ///
    /// # Errors
    /// The typed reason the circuit would be unsatisfiable.
    pub fn verify(&self, limits: TrieLimits) -> Result<StorageClaim> {
        let block = self.block_number;
        let got = keccak256(&self.header_rlp);
        if got != self.block_hash {
            return Err(ZkError::HeaderHashMismatch {
                block,
                got,
                expected: self.block_hash,
            });
        }
        let header = Header::decode(&mut self.header_rlp.as_ref())
            .map_err(|source| ZkError::HeaderRlp { block, source })?;
        check_header_shape(&header, block)?;

        let p = &self.proof;
        let account = TrieAccount {
            nonce: p.nonce.to(),
            balance: p.balance,
            storage_root: p.storage_hash,
            code_hash: p.code_hash,
        };
        let empty = account.nonce == 0
            && account.balance.is_zero()
            && account.code_hash == alloy_trie::KECCAK_EMPTY;
        if empty || p.account_proof.is_empty() {
            return Err(ZkError::EmptySlot {
                block,
                what: format!("account {}", p.address),
            });
        }
        if p.balance >= U256::from(1u8) << 96 {
            return Err(ZkError::HeaderUnsupported {
                block,
                reason: format!(
                    "account {} balance {} exceeds the circuit's 12 bytes",
                    p.address, p.balance
                ),
            });
        }
        let account_rlp = alloy_rlp::encode(account);
        verify_proof(
            header.state_root,
            Nibbles::unpack(keccak256(p.address)),
            Some(account_rlp),
            &p.account_proof,
        )
        .map_err(|e| ZkError::AccountProof {
            block,
            address: p.address,
            state_root: header.state_root,
            reason: e.to_string(),
        })?;
        check_depth(
            "account",
            &p.account_proof,
            keccak256(p.address),
            limits.account_max_depth,
        )?;

        let mut slots = Vec::with_capacity(p.storage_proof.len());
        for s in &p.storage_proof {
            if s.value.is_zero() {
                return Err(ZkError::EmptySlot {
                    block,
                    what: format!("slot {} of {}", s.key, p.address),
                });
            }
            verify_proof(
                p.storage_hash,
                Nibbles::unpack(keccak256(s.key)),
                Some(alloy_rlp::encode(s.value)),
                &s.proof,
            )
            .map_err(|e| ZkError::StorageProof {
                block,
                address: p.address,
                slot: s.key,
                storage_root: p.storage_hash,
                reason: e.to_string(),
            })?;
            check_depth(
                "storage",
                &s.proof,
                keccak256(s.key),
                limits.storage_max_depth,
            )?;
            slots.push((s.key, s.value));
        }
        Ok(StorageClaim {
            block_hash: self.block_hash,
            block_number: block,
            address: p.address,
            slots,
        })
    }

    /// axiom-eth's input for `EthBlockStorageCircuit`. Call [`Self::verify`] first: this
    /// assumes a verified witness.
    ///
    /// # Errors
    /// [`ZkError::AccountProof`] / [`ZkError::StorageProof`] when a proof's last node cannot
    /// be read.
    pub fn to_axiom_input(&self, limits: TrieLimits) -> Result<EthBlockStorageInput> {
        let block = self.block_number;
        let header = Header::decode(&mut self.header_rlp.as_ref())
            .map_err(|source| ZkError::HeaderRlp { block, source })?;
        let p = &self.proof;
        let acct_key = keccak256(p.address);
        let (acct_nodes, acct_value) =
            terminal(&p.account_proof, acct_key).map_err(|reason| ZkError::AccountProof {
                block,
                address: p.address,
                state_root: header.state_root,
                reason,
            })?;
        let acct_pf = MPTInput {
            path: H256(acct_key.0).into(),
            value: acct_value,
            root_hash: H256(header.state_root.0),
            proof: acct_nodes,
            slot_is_empty: false,
            value_max_byte_len: ACCOUNT_VALUE_MAX_BYTES,
            max_depth: limits.account_max_depth,
            max_key_byte_len: 32,
            key_byte_len: None,
        };
        let mut storage_pfs = Vec::with_capacity(p.storage_proof.len());
        for s in &p.storage_proof {
            let key = keccak256(s.key);
            let (nodes, value) =
                terminal(&s.proof, key).map_err(|reason| ZkError::StorageProof {
                    block,
                    address: p.address,
                    slot: s.key,
                    storage_root: p.storage_hash,
                    reason,
                })?;
            storage_pfs.push((
                EU256::from_big_endian(s.key.as_slice()),
                EU256::from_big_endian(&s.value.to_be_bytes::<32>()),
                MPTInput {
                    path: H256(key.0).into(),
                    value,
                    root_hash: H256(p.storage_hash.0),
                    proof: nodes,
                    slot_is_empty: false,
                    value_max_byte_len: STORAGE_VALUE_MAX_BYTES,
                    max_depth: limits.storage_max_depth,
                    max_key_byte_len: 32,
                    key_byte_len: None,
                },
            ));
        }
        let nonce: u64 = p.nonce.to();
        let acct_state = vec![
            nonce.to_be_bytes().to_vec(),
            p.balance.to_be_bytes::<32>()[20..].to_vec(),
            p.storage_hash.to_vec(),
            p.code_hash.to_vec(),
        ];
        Ok(EthBlockStorageInput {
            block: Default::default(),
            block_number: block as u32,
            block_hash: H256(self.block_hash.0),
            block_header: self.header_rlp.to_vec(),
            storage: EthStorageInput {
                addr: H160(p.address.0.0),
                acct_pf,
                acct_state,
                storage_pfs,
            },
        })
    }
}

/// The header must fit axiom-eth's mainnet header layout: at most the 20 fields of Cancun (no
/// `requestsHash`), and the byte widths of its variable fields.
fn check_header_shape(header: &Header, block: u64) -> Result<()> {
    let unsupported = |reason: String| Err(ZkError::HeaderUnsupported { block, reason });
    if header.requests_hash.is_some() {
        return unsupported(
            "post-Prague header (requestsHash, 21 fields): axiom-eth 0.4.3 decodes at most the 20 fields of Cancun"
                .into(),
        );
    }
    if header.extra_data.len() > 32 {
        return unsupported(format!(
            "extraData of {} bytes (at most 32)",
            header.extra_data.len()
        ));
    }
    for (name, value) in [
        ("number", header.number),
        ("gasLimit", header.gas_limit),
        ("gasUsed", header.gas_used),
        ("timestamp", header.timestamp),
    ] {
        if value > u64::from(u32::MAX) {
            return unsupported(format!("{name} {value} exceeds 4 bytes"));
        }
    }
    if header.difficulty >= U256::from(1u8) << 56 {
        return unsupported(format!("difficulty {} exceeds 7 bytes", header.difficulty));
    }
    Ok(())
}

fn check_depth(trie: &'static str, proof: &[Bytes], key: B256, max_depth: usize) -> Result<()> {
    let depth = terminal(proof, key)
        .map(|(nodes, _)| nodes.len())
        .unwrap_or(proof.len());
    if depth > max_depth {
        return Err(ZkError::ProofTooDeep {
            trie,
            depth,
            max_depth,
        });
    }
    Ok(())
}

/// The raw RLP encodings of the items of an RLP list.
fn list_items(node: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut buf = node;
    let header = alloy_rlp::Header::decode(&mut buf).map_err(|e| e.to_string())?;
    if !header.list {
        return Err("trie node is not an RLP list".into());
    }
    let mut payload = &buf[..header.payload_length];
    let mut items = Vec::new();
    while !payload.is_empty() {
        let start = payload;
        let h = alloy_rlp::Header::decode(&mut payload).map_err(|e| e.to_string())?;
        let used = start.len() - payload.len() + h.payload_length;
        items.push(&start[..used]);
        payload = &payload[h.payload_length..];
    }
    Ok(items)
}

/// The payload of an RLP string item.
fn string_payload(item: &[u8]) -> Result<Vec<u8>, String> {
    let mut buf = item;
    let h = alloy_rlp::Header::decode(&mut buf).map_err(|e| e.to_string())?;
    if h.list {
        return Err("expected an RLP string, found a list".into());
    }
    Ok(buf[..h.payload_length].to_vec())
}

/// The proof as axiom-eth's MPT chip wants it (the terminal leaf as its own node, extracted
/// when the node embedded it in the last branch) and the leaf's value (the RLP-encoded
/// account or slot value).
fn terminal(proof: &[Bytes], key: B256) -> Result<(Vec<Vec<u8>>, Vec<u8>), String> {
    let last = proof.last().ok_or("empty proof")?;
    let mut nodes: Vec<Vec<u8>> = proof.iter().map(|n| n.to_vec()).collect();
    let items = list_items(last)?;
    match items.len() {
        2 => Ok((nodes, string_payload(items[1])?)),
        17 => {
            // The leaf is embedded in the branch at the nibble after the path walked so far.
            let walked = walked_nibbles(proof)?;
            let nibble = *Nibbles::unpack(key)
                .to_vec()
                .get(walked - 1)
                .ok_or("proof walks past the key")?;
            let leaf = items[nibble as usize];
            let leaf_items =
                list_items(leaf).map_err(|_| "branch child is not an embedded leaf")?;
            if leaf_items.len() != 2 {
                return Err("embedded child is not a leaf".into());
            }
            let value = string_payload(leaf_items[1])?;
            nodes.push(leaf.to_vec());
            Ok((nodes, value))
        }
        n => Err(format!("trie node with {n} items")),
    }
}

/// Nibbles of the key consumed by the nodes of `proof` (branches take one, extensions and
/// leaves their hex-prefix path).
fn walked_nibbles(proof: &[Bytes]) -> Result<usize, String> {
    let mut walked = 0;
    for node in proof {
        let items = list_items(node)?;
        if items.len() == 2 {
            let path = string_payload(items[0])?;
            let first = *path.first().ok_or("empty hex-prefix path")?;
            let odd = matches!(first >> 4, 1 | 3);
            walked += 2 * (path.len() - 1) + usize::from(odd);
        } else {
            walked += 1;
        }
    }
    Ok(walked)
}

/// A header's RLP, as the node encodes it (for tests and fixtures).
pub fn header_rlp(header: &Header) -> Bytes {
    let mut out = Vec::with_capacity(header.length());
    header.encode(&mut out);
    out.into()
}
