//! A deterministic development chain with a realistic transaction mix.
//!
//! From a seed, [`generate`] builds (and imports, so every block is valid) a chain under
//! Osaka with the Prague system contracts in genesis and, per block: EIP-1559 transfers
//! (some creating accounts), storage writes and clears through a `Store` contract, hashing
//! loops that log through a `Worker` contract, legacy and EIP-2930 transactions, blob
//! transactions, contract deployments, a contract that self-destructs in its creating
//! transaction, EIP-7702 delegations (set, re-delegated, cleared) and calls through the
//! delegated account, and withdrawals.

use crate::{
    chain::{BlockAttributes, GenesisAccount, genesis_state_root},
    chainfile::{AllocEntry, ChainFile},
    error::Result,
};
use alloy_consensus::{
    EMPTY_OMMER_ROOT_HASH, Header, SignableTransaction, TxEip1559, TxEip2930, TxEip4844, TxEip7702,
    TxLegacy,
};
use alloy_eips::{
    eip2930::{AccessList, AccessListItem},
    eip4895::Withdrawal,
    eip7685::EMPTY_REQUESTS_HASH,
    eip7702::Authorization,
};
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind, U64, U256, keccak256};
use alloy_trie::EMPTY_ROOT_HASH;
use cairn_primitives::{ChainConfig, EthereumHardfork, TransactionSigned};
use k256::ecdsa::SigningKey;
use std::collections::BTreeMap;

/// `Store`: for each 64-byte `(slot, value)` pair of calldata, `SSTORE(slot, value)`.
pub const STORE_RUNTIME: &[u8] = &[
    0x5f, 0x5b, 0x80, 0x36, 0x11, 0x15, 0x60, 0x17, 0x57, 0x80, 0x60, 0x20, 0x01, 0x35, 0x81, 0x35,
    0x55, 0x60, 0x40, 0x01, 0x60, 0x01, 0x56, 0x5b, 0x00,
];

/// `Worker(n, seed)`: hashes `seed` `n` times, stores the result in slot 0 and logs it
/// with topic `n`.
pub const WORKER_RUNTIME: &[u8] = &[
    0x60, 0x00, 0x35, 0x60, 0x20, 0x35, 0x5f, 0x52, 0x5b, 0x80, 0x15, 0x60, 0x1b, 0x57, 0x60, 0x20,
    0x5f, 0x20, 0x5f, 0x52, 0x60, 0x01, 0x90, 0x03, 0x60, 0x08, 0x56, 0x5b, 0x5f, 0x51, 0x5f, 0x55,
    0x60, 0x00, 0x35, 0x60, 0x20, 0x5f, 0xa1, 0x00,
];

/// Init code that deploys `runtime` (at most 255 bytes).
pub fn deploy_code(runtime: &[u8]) -> Bytes {
    let mut code = vec![
        0x60,
        runtime.len() as u8,
        0x80,
        0x60,
        0x09,
        0x5f,
        0x39,
        0x5f,
        0xf3,
    ];
    code.extend_from_slice(runtime);
    code.into()
}

/// Init code that self-destructs to `beneficiary` (the contract dies in its creating
/// transaction, so EIP-6780 removes it).
pub fn self_destruct_code(beneficiary: Address) -> Bytes {
    let mut code = vec![0x73];
    code.extend_from_slice(beneficiary.as_slice());
    code.push(0xff);
    code.into()
}

/// Parameters of the generated chain.
#[derive(Debug, Clone, Copy)]
pub struct DevChainParams {
    /// RNG seed; the same seed gives the same chain, byte for byte.
    pub seed: u64,
    /// Blocks after genesis.
    pub blocks: usize,
    /// Transactions per block (besides the scripted ones).
    pub txs_per_block: usize,
}

impl Default for DevChainParams {
    fn default() -> Self {
        Self {
            seed: 0xca12_2026,
            blocks: 50,
            txs_per_block: 60,
        }
    }
}

/// Chain id of the development chain.
pub const DEV_CHAIN_ID: u64 = 20_261;
const GWEI: u128 = 1_000_000_000;

/// splitmix64: small, fast, deterministic.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn word(&mut self) -> B256 {
        let mut w = [0u8; 32];
        for chunk in w.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_be_bytes());
        }
        B256::from(w)
    }
}

struct Account {
    key: SigningKey,
    address: Address,
    nonce: u64,
}

fn sign(key: &SigningKey, hash: B256) -> Result<Signature> {
    let (sig, recid) = key.sign_prehash_recoverable(hash.as_slice())?;
    Ok(Signature::from((sig, recid)))
}

fn signed<T>(key: &SigningKey, tx: T) -> Result<TransactionSigned>
where
    T: SignableTransaction<Signature>,
    TransactionSigned: From<alloy_consensus::Signed<T>>,
{
    let sig = sign(key, tx.signature_hash())?;
    Ok(tx.into_signed(sig).into())
}

/// A post-merge genesis header (Prague/Osaka fields present, 36 M gas limit, initial base
/// fee, no extra data) over a state with root `state_root`.
pub fn genesis_header(state_root: B256) -> Header {
    Header {
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        state_root,
        transactions_root: EMPTY_ROOT_HASH,
        receipts_root: EMPTY_ROOT_HASH,
        gas_limit: 36_000_000,
        base_fee_per_gas: Some(alloy_eips::eip1559::INITIAL_BASE_FEE),
        withdrawals_root: Some(EMPTY_ROOT_HASH),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(B256::ZERO),
        requests_hash: Some(EMPTY_REQUESTS_HASH),
        ..Default::default()
    }
}

/// Generates the development chain.
///
/// # Errors
/// Only if the generator builds an invalid block (a bug), or signing fails.
pub fn generate(params: DevChainParams) -> Result<ChainFile> {
    let mut rng = Rng(params.seed);
    let mut accounts: Vec<Account> = Vec::new();
    let mut counter = 0u64;
    while accounts.len() < 16 {
        let seed = keccak256([params.seed.to_be_bytes(), counter.to_be_bytes()].concat());
        counter += 1;
        if let Ok(key) = SigningKey::from_slice(seed.as_slice()) {
            let address = Address::from_public_key(key.verifying_key());
            accounts.push(Account {
                key,
                address,
                nonce: 0,
            });
        }
    }

    let config = ChainConfig::at_genesis(DEV_CHAIN_ID, EthereumHardfork::Osaka);
    let mut alloc: BTreeMap<Address, AllocEntry> = BTreeMap::new();
    for a in &accounts {
        alloc.insert(
            a.address,
            AllocEntry {
                balance: U256::from(1_000u128 * GWEI * GWEI),
                ..Default::default()
            },
        );
    }
    for (address, code) in [
        (
            alloy_eips::eip4788::BEACON_ROOTS_ADDRESS,
            &alloy_eips::eip4788::BEACON_ROOTS_CODE,
        ),
        (
            alloy_eips::eip2935::HISTORY_STORAGE_ADDRESS,
            &alloy_eips::eip2935::HISTORY_STORAGE_CODE,
        ),
        (
            alloy_eips::eip7002::WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS,
            &alloy_eips::eip7002::WITHDRAWAL_REQUEST_PREDEPLOY_CODE,
        ),
        (
            alloy_eips::eip7251::CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS,
            &alloy_eips::eip7251::CONSOLIDATION_REQUEST_PREDEPLOY_CODE,
        ),
    ] {
        alloc.insert(
            address,
            AllocEntry {
                nonce: U64::from(1),
                code: code.clone(),
                ..Default::default()
            },
        );
    }
    let genesis_alloc = alloc.iter().map(|(address, a)| {
        (
            *address,
            GenesisAccount {
                nonce: a.nonce.to(),
                balance: a.balance,
                code: a.code.clone(),
                storage: a.storage.clone(),
            },
        )
    });
    let genesis = Header {
        extra_data: Bytes::from_static(b"cairn devchain"),
        ..genesis_header(genesis_state_root(genesis_alloc.clone())?)
    };
    let mut chain = crate::Chain::from_genesis(config.clone(), genesis.clone(), genesis_alloc)?;
    let mut file = ChainFile {
        chain: config,
        genesis: alloy_rlp::encode(&genesis).into(),
        alloc,
        blocks: Vec::new(),
    };

    let chain_id = DEV_CHAIN_ID;
    let store = accounts[0].address.create(0);
    let worker = accounts[1].address.create(0);
    let delegated = accounts[2].address;
    let mut withdrawal_index = 0u64;
    let fee = |tip: u128| (50 * GWEI, tip * GWEI);

    for number in 1..=params.blocks as u64 {
        let mut txs = Vec::new();
        // Scripted transactions: deployments, then EIP-7702 delegation changes.
        if number == 1 {
            for (i, runtime) in [(0, STORE_RUNTIME), (1, WORKER_RUNTIME)] {
                let a = &mut accounts[i];
                let (max_fee, tip) = fee(1);
                let tx = TxEip1559 {
                    chain_id,
                    nonce: a.nonce,
                    gas_limit: 200_000,
                    max_fee_per_gas: max_fee,
                    max_priority_fee_per_gas: tip,
                    to: TxKind::Create,
                    input: deploy_code(runtime),
                    ..Default::default()
                };
                txs.push(signed(&a.key, tx)?);
                a.nonce += 1;
            }
        }
        if let Some(target) = match number {
            2 => Some(store),
            25 => Some(worker),
            40 => Some(Address::ZERO),
            _ => None,
        } {
            let auth = Authorization {
                chain_id: U256::from(chain_id),
                address: target,
                nonce: accounts[2].nonce,
            };
            let sig = sign(&accounts[2].key, auth.signature_hash())?;
            let auth = auth.into_signed(sig);
            accounts[2].nonce += 1;
            let relayer = &mut accounts[3];
            let (max_fee, tip) = fee(2);
            let mut input = rng.word().to_vec();
            input.extend_from_slice(&U256::from(number).to_be_bytes::<32>());
            let tx = TxEip7702 {
                chain_id,
                nonce: relayer.nonce,
                gas_limit: 200_000,
                max_fee_per_gas: max_fee,
                max_priority_fee_per_gas: tip,
                to: delegated,
                authorization_list: vec![auth],
                input: input.into(),
                ..Default::default()
            };
            txs.push(signed(&relayer.key, tx)?);
            relayer.nonce += 1;
        }

        for j in 0..params.txs_per_block {
            let sender = 4 + (rng.below(12) as usize);
            let recipient = accounts[rng.below(16) as usize].address;
            let fresh = Address::from_word(keccak256(
                [
                    params.seed.to_be_bytes(),
                    number.to_be_bytes(),
                    (j as u64).to_be_bytes(),
                ]
                .concat(),
            ));
            let a = &mut accounts[sender];
            let (max_fee, tip) = fee(1 + rng.below(3) as u128);
            let nonce = a.nonce;
            let kind = rng.below(100);
            let store_calldata = |rng: &mut Rng| {
                let pairs = 1 + rng.below(6);
                let mut data = Vec::new();
                for _ in 0..pairs {
                    data.extend_from_slice(&U256::from(rng.below(48)).to_be_bytes::<32>());
                    let value = if rng.below(10) < 3 {
                        B256::ZERO
                    } else {
                        rng.word()
                    };
                    data.extend_from_slice(value.as_slice());
                }
                (Bytes::from(data), 40_000 + 25_000 * pairs)
            };
            let tx = match kind {
                0..30 => signed(
                    &a.key,
                    TxEip1559 {
                        chain_id,
                        nonce,
                        gas_limit: 21_000,
                        max_fee_per_gas: max_fee,
                        max_priority_fee_per_gas: tip,
                        to: TxKind::Call(if rng.below(3) == 0 { fresh } else { recipient }),
                        value: U256::from(rng.below(1_000_000) + 1) * U256::from(GWEI),
                        ..Default::default()
                    },
                )?,
                30..55 => {
                    let (input, gas_limit) = store_calldata(&mut rng);
                    signed(
                        &a.key,
                        TxEip1559 {
                            chain_id,
                            nonce,
                            gas_limit,
                            max_fee_per_gas: max_fee,
                            max_priority_fee_per_gas: tip,
                            to: TxKind::Call(store),
                            input,
                            ..Default::default()
                        },
                    )?
                }
                55..70 => {
                    let n = 20 + rng.below(280);
                    let mut input = U256::from(n).to_be_bytes::<32>().to_vec();
                    input.extend_from_slice(rng.word().as_slice());
                    signed(
                        &a.key,
                        TxEip1559 {
                            chain_id,
                            nonce,
                            gas_limit: 60_000 + n * 100,
                            max_fee_per_gas: max_fee,
                            max_priority_fee_per_gas: tip,
                            to: TxKind::Call(worker),
                            input: input.into(),
                            ..Default::default()
                        },
                    )?
                }
                70..75 => signed(
                    &a.key,
                    TxLegacy {
                        chain_id: Some(chain_id),
                        nonce,
                        gas_price: max_fee,
                        gas_limit: 21_000,
                        to: TxKind::Call(recipient),
                        value: U256::from(GWEI),
                        ..Default::default()
                    },
                )?,
                75..80 => {
                    let (input, gas_limit) = store_calldata(&mut rng);
                    let access_list = AccessList(vec![AccessListItem {
                        address: store,
                        storage_keys: vec![B256::ZERO],
                    }]);
                    signed(
                        &a.key,
                        TxEip2930 {
                            chain_id,
                            nonce,
                            gas_price: max_fee,
                            gas_limit: gas_limit + 5_000,
                            to: TxKind::Call(store),
                            access_list,
                            input,
                            ..Default::default()
                        },
                    )?
                }
                80..85 => {
                    // Calls land in the code the delegated account currently points to.
                    let (input, gas_limit) = store_calldata(&mut rng);
                    signed(
                        &a.key,
                        TxEip1559 {
                            chain_id,
                            nonce,
                            gas_limit: gas_limit + 20_000,
                            max_fee_per_gas: max_fee,
                            max_priority_fee_per_gas: tip,
                            to: TxKind::Call(delegated),
                            input,
                            ..Default::default()
                        },
                    )?
                }
                85..90 => signed(
                    &a.key,
                    TxEip1559 {
                        chain_id,
                        nonce,
                        gas_limit: 120_000,
                        max_fee_per_gas: max_fee,
                        max_priority_fee_per_gas: tip,
                        to: TxKind::Create,
                        value: U256::from(7),
                        input: self_destruct_code(recipient),
                        ..Default::default()
                    },
                )?,
                90..95 => signed(
                    &a.key,
                    TxEip1559 {
                        chain_id,
                        nonce,
                        gas_limit: 200_000,
                        max_fee_per_gas: max_fee,
                        max_priority_fee_per_gas: tip,
                        to: TxKind::Create,
                        input: deploy_code(if rng.below(2) == 0 {
                            STORE_RUNTIME
                        } else {
                            WORKER_RUNTIME
                        }),
                        ..Default::default()
                    },
                )?,
                _ => {
                    let mut blob = rng.word();
                    blob.0[0] = 0x01; // EIP-4844 KZG versioned hash
                    signed(
                        &a.key,
                        TxEip4844 {
                            chain_id,
                            nonce,
                            gas_limit: 21_000,
                            max_fee_per_gas: max_fee,
                            max_priority_fee_per_gas: tip,
                            to: recipient,
                            value: U256::from(1),
                            blob_versioned_hashes: vec![blob],
                            max_fee_per_blob_gas: 10 * GWEI,
                            ..Default::default()
                        },
                    )?
                }
            };
            a.nonce += 1;
            txs.push(tx);
        }

        let withdrawals = (0..2)
            .map(|_| {
                withdrawal_index += 1;
                Withdrawal {
                    index: withdrawal_index,
                    validator_index: rng.below(1000),
                    address: accounts[rng.below(16) as usize].address,
                    amount: 1 + rng.below(32_000_000_000),
                }
            })
            .collect();
        let attrs = BlockAttributes {
            timestamp: number * 12,
            beneficiary: Address::repeat_byte(0xc0),
            prev_randao: rng.word(),
            gas_limit: chain.head().gas_limit,
            withdrawals,
            parent_beacon_block_root: keccak256(number.to_be_bytes()),
            extra_data: Bytes::from_static(b"cairn"),
        };
        let block = chain.build_block(attrs, txs)?;
        chain.execute(&block)?;
        file.blocks.push(alloy_rlp::encode(&block).into());
    }
    Ok(file)
}
