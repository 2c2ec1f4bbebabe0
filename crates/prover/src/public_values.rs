//! The public values of a batch proof, their canonical encoding and hash, and the chain
//! configuration hash.
//!
//! See the crate docs for the definitions; this module is their single implementation.

use crate::error::{Error, Result};
use alloc::{string::String, vec::Vec};
use alloy_hardforks::{EthereumHardfork, ForkCondition};
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::{SolValue, sol};
use cairn_primitives::{BlobScheduleEntry, ChainConfig, ForkEntry, ProgramOutput};

sol! {
    /// What one proof of a batch states: everything a verifier (native, or an L1 contract)
    /// needs to accept the batch. `abi.encode(PublicValues)` is the canonical encoding (448
    /// bytes: 13 static words) and `keccak256` of it is `publicValuesHash`.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct PublicValues {
        /// EIP-155 chain id of the proven chain.
        uint64 chainId;
        /// `chainConfigHash` of the proven chain's configuration.
        bytes32 chainConfigHash;
        /// Number of the first block of the batch.
        uint64 firstBlock;
        /// Number of the last block of the batch.
        uint64 lastBlock;
        /// Hash of the parent of the first block.
        bytes32 parentHash;
        /// Hash of the last block.
        bytes32 lastBlockHash;
        /// `keccak256(abi.encodePacked(bytes32[] blockHashes))`, oldest first.
        bytes32 blockHashesCommitment;
        /// State root of the first block's parent.
        bytes32 initialStateRoot;
        /// State root after the last block.
        bytes32 finalStateRoot;
        /// Gas used by all blocks of the batch.
        uint64 totalGasUsed;
        /// L2: commitment to the batch's deposits (zero on L1).
        bytes32 depositsHash;
        /// L2: root of the batch's withdrawals Merkle tree (zero on L1).
        bytes32 withdrawalsRoot;
        /// L2: commitment to the batch's state diff (zero on L1).
        bytes32 stateDiffCommitment;
    }

    /// One fork of the chain configuration, as hashed into `chainConfigHash`.
    #[derive(Debug, PartialEq, Eq)]
    struct ForkAbi {
        /// The fork's name as alloy-hardforks spells it (`"Prague"`, `"Bpo1"`).
        string name;
        /// 0 block number, 1 timestamp, 2 total difficulty (the merge), 3 never.
        uint8 condition;
        /// The block number or timestamp; for 2, the activation block number.
        uint64 value;
        /// For 2: whether `forkBlock` is set.
        bool hasForkBlock;
        /// For 2: the block at which the terminal total difficulty was reached.
        uint64 forkBlock;
        /// For 2: the terminal total difficulty.
        uint256 totalDifficulty;
    }

    /// Blob parameters (EIP-7840) of one fork, as hashed into `chainConfigHash`.
    #[derive(Debug, PartialEq, Eq)]
    struct BlobParamsAbi {
        /// The fork's name.
        string fork;
        /// Target blobs per block.
        uint64 target;
        /// Maximum blobs per block.
        uint64 max;
        /// Blob base-fee update fraction.
        uint128 baseFeeUpdateFraction;
    }

    /// The whole chain configuration, canonically: `chainConfigHash =
    /// keccak256(abi.encode(ChainConfigAbi))` with forks and blob schedule sorted by fork.
    #[derive(Debug, PartialEq, Eq)]
    struct ChainConfigAbi {
        /// EIP-155 chain id.
        uint64 chainId;
        /// Fork schedule, in fork order.
        ForkAbi[] forks;
        /// Blob schedule, in fork order.
        BlobParamsAbi[] blobSchedule;
        /// Whether the chain has an EIP-6110 deposit contract.
        bool hasDepositContract;
        /// The deposit contract (zero when there is none).
        address depositContract;
    }
}

/// Length of the canonical encoding of [`PublicValues`].
pub const PUBLIC_VALUES_LEN: usize = 13 * 32;

impl PublicValues {
    /// The public values of a validated batch on L1 (L2 fields zero).
    pub fn from_output(output: &ProgramOutput, chain_config_hash: B256) -> Self {
        Self {
            chainId: output.chain_id,
            chainConfigHash: chain_config_hash,
            firstBlock: output.first_block_number,
            lastBlock: output.last_block_number,
            parentHash: output.parent_hash,
            lastBlockHash: output.last_block_hash,
            blockHashesCommitment: output.block_hashes_commitment,
            initialStateRoot: output.initial_state_root,
            finalStateRoot: output.final_state_root,
            totalGasUsed: output.total_gas_used,
            depositsHash: B256::ZERO,
            withdrawalsRoot: B256::ZERO,
            stateDiffCommitment: B256::ZERO,
        }
    }

    /// The canonical encoding: `abi.encode(publicValues)`, [`PUBLIC_VALUES_LEN`] bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.abi_encode()
    }

    /// `publicValuesHash = keccak256(abi.encode(publicValues))`.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }

    /// Decodes the canonical encoding, strictly: exactly [`PUBLIC_VALUES_LEN`] bytes, every
    /// `uint64` word zero above its low 8 bytes (so the encoding of a value is unique).
    ///
    /// # Errors
    /// [`Error::PublicValues`] naming what is wrong.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != PUBLIC_VALUES_LEN {
            return Err(Error::PublicValues {
                reason: PublicValuesFault::Length { got: bytes.len() },
            });
        }
        let values = <Self as SolValue>::abi_decode(bytes).map_err(|_| Error::PublicValues {
            reason: PublicValuesFault::NotCanonical,
        })?;
        // The decoder accepts dirty high bytes in `uint64` words; re-encoding tells.
        if values.encode() != bytes {
            return Err(Error::PublicValues {
                reason: PublicValuesFault::NotCanonical,
            });
        }
        Ok(values)
    }
}

/// Why bytes are not canonical public values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicValuesFault {
    /// Not [`PUBLIC_VALUES_LEN`] bytes.
    Length {
        /// Bytes given.
        got: usize,
    },
    /// A `uint64` field with bits above its 64 set (another encoding of some value).
    NotCanonical,
}

impl core::fmt::Display for PublicValuesFault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Length { got } => write!(f, "{got} bytes, expected {PUBLIC_VALUES_LEN}"),
            Self::NotCanonical => f.write_str("a uint64 field has bits above bit 63 set"),
        }
    }
}

const CONDITION_BLOCK: u8 = 0;
const CONDITION_TIMESTAMP: u8 = 1;
const CONDITION_TTD: u8 = 2;
const CONDITION_NEVER: u8 = 3;

impl ChainConfigAbi {
    /// The canonical form of a chain configuration (forks and blob schedule sorted by fork).
    pub fn from_config(config: &ChainConfig) -> Self {
        let mut forks: Vec<&ForkEntry> = config.forks.iter().collect();
        forks.sort_by_key(|f| f.fork);
        let mut blobs: Vec<&BlobScheduleEntry> = config.blob_schedule.iter().collect();
        blobs.sort_by_key(|b| b.fork);
        Self {
            chainId: config.chain_id,
            forks: forks
                .into_iter()
                .map(|f| {
                    let (condition, value, fork_block, total_difficulty) = match f.activation {
                        ForkCondition::Block(n) => (CONDITION_BLOCK, n, None, U256::ZERO),
                        ForkCondition::Timestamp(t) => (CONDITION_TIMESTAMP, t, None, U256::ZERO),
                        ForkCondition::TTD {
                            activation_block_number,
                            fork_block,
                            total_difficulty,
                        } => (
                            CONDITION_TTD,
                            activation_block_number,
                            fork_block,
                            total_difficulty,
                        ),
                        ForkCondition::Never => (CONDITION_NEVER, 0, None, U256::ZERO),
                    };
                    ForkAbi {
                        name: String::from(f.fork.name()),
                        condition,
                        value,
                        hasForkBlock: fork_block.is_some(),
                        forkBlock: fork_block.unwrap_or(0),
                        totalDifficulty: total_difficulty,
                    }
                })
                .collect(),
            blobSchedule: blobs
                .into_iter()
                .map(|b| BlobParamsAbi {
                    fork: String::from(b.fork.name()),
                    target: b.target,
                    max: b.max,
                    baseFeeUpdateFraction: b.base_fee_update_fraction,
                })
                .collect(),
            hasDepositContract: config.deposit_contract.is_some(),
            depositContract: config.deposit_contract.unwrap_or(Address::ZERO),
        }
    }

    /// Back to a [`ChainConfig`], checking that this is the canonical form of one.
    ///
    /// # Errors
    /// [`Error::ChainConfig`] for an unknown fork name, an unknown condition, fields set that
    /// the condition does not use, blob parameters that fail their check, or a form that is not
    /// canonical (unsorted, or a zero deposit contract flagged as present).
    pub fn to_config(&self) -> Result<ChainConfig> {
        let bad = |reason: &'static str| Error::ChainConfig { reason };
        let mut forks = Vec::with_capacity(self.forks.len());
        for f in &self.forks {
            let fork = fork_by_name(&f.name).ok_or(bad("unknown fork name"))?;
            let plain = !f.hasForkBlock && f.forkBlock == 0 && f.totalDifficulty.is_zero();
            let activation = match f.condition {
                CONDITION_BLOCK if plain => ForkCondition::Block(f.value),
                CONDITION_TIMESTAMP if plain => ForkCondition::Timestamp(f.value),
                CONDITION_TTD if f.hasForkBlock || f.forkBlock == 0 => ForkCondition::TTD {
                    activation_block_number: f.value,
                    fork_block: f.hasForkBlock.then_some(f.forkBlock),
                    total_difficulty: f.totalDifficulty,
                },
                CONDITION_NEVER if plain && f.value == 0 => ForkCondition::Never,
                _ => return Err(bad("a fork condition is unknown or has stray fields")),
            };
            forks.push(ForkEntry { fork, activation });
        }
        let mut blob_schedule = Vec::with_capacity(self.blobSchedule.len());
        for b in &self.blobSchedule {
            let entry = BlobScheduleEntry {
                fork: fork_by_name(&b.fork).ok_or(bad("unknown fork name in the blob schedule"))?,
                target: b.target,
                max: b.max,
                base_fee_update_fraction: b.baseFeeUpdateFraction,
            };
            entry
                .check()
                .map_err(|_| bad("blob parameters fail their check"))?;
            blob_schedule.push(entry);
        }
        if !forks.is_sorted_by_key(|f| f.fork) || !blob_schedule.is_sorted_by_key(|b| b.fork) {
            return Err(bad("forks or blob schedule not in fork order"));
        }
        if !self.hasDepositContract && self.depositContract != Address::ZERO {
            return Err(bad("a deposit contract address without the flag"));
        }
        Ok(ChainConfig {
            chain_id: self.chainId,
            forks,
            blob_schedule,
            deposit_contract: self.hasDepositContract.then_some(self.depositContract),
        })
    }
}

fn fork_by_name(name: &str) -> Option<EthereumHardfork> {
    EthereumHardfork::VARIANTS
        .iter()
        .find(|f| f.name() == name)
        .copied()
}

/// `chainConfigHash = keccak256(abi.encode(ChainConfigAbi))` of the canonical form of `config`
/// ([`ChainConfigAbi::from_config`]): chain id, fork schedule, blob schedule and deposit
/// contract. A proof made under another configuration carries another hash.
pub fn chain_config_hash(config: &ChainConfig) -> B256 {
    keccak256(ChainConfigAbi::from_config(config).abi_encode())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::b256;

    fn sample() -> PublicValues {
        PublicValues {
            chainId: 1,
            chainConfigHash: B256::repeat_byte(1),
            firstBlock: 5,
            lastBlock: 14,
            parentHash: B256::repeat_byte(2),
            lastBlockHash: B256::repeat_byte(3),
            blockHashesCommitment: B256::repeat_byte(4),
            initialStateRoot: B256::repeat_byte(5),
            finalStateRoot: B256::repeat_byte(6),
            totalGasUsed: 21_000,
            ..Default::default()
        }
    }

    #[test]
    fn encoding_is_thirteen_words_in_field_order() {
        let pv = sample();
        let bytes = pv.encode();
        assert_eq!(bytes.len(), PUBLIC_VALUES_LEN);
        assert_eq!(bytes[31], 1, "chainId in word 0");
        assert_eq!(&bytes[32..64], B256::repeat_byte(1).as_slice());
        assert_eq!(bytes[2 * 32 + 31], 5);
        assert_eq!(bytes[3 * 32 + 31], 14);
        assert_eq!(&bytes[9 * 32 + 29..10 * 32], &[0, 0x52, 0x08]);
        assert_eq!(PublicValues::decode(&bytes).unwrap(), pv);
        assert_eq!(pv.hash(), keccak256(&bytes));
    }

    #[test]
    fn decoding_is_strict() {
        let mut bytes = sample().encode();
        assert!(PublicValues::decode(&bytes[..PUBLIC_VALUES_LEN - 1]).is_err());
        bytes[0] = 1; // chainId above 2^64
        assert!(matches!(
            PublicValues::decode(&bytes),
            Err(Error::PublicValues {
                reason: PublicValuesFault::NotCanonical
            })
        ));
    }

    #[test]
    fn chain_config_round_trips_and_hash_depends_on_every_part() {
        let mut config = ChainConfig::mainnet();
        config.set_blob_params("Osaka", 6, 9, 5_007_716).unwrap();
        let abi = ChainConfigAbi::from_config(&config);
        let back = abi.to_config().unwrap();
        assert_eq!(back, config);
        let h = chain_config_hash(&config);
        let mut other = config.clone();
        other.chain_id = 2;
        assert_ne!(chain_config_hash(&other), h);
        let mut other = config.clone();
        other.set_fork(EthereumHardfork::Osaka, ForkCondition::Timestamp(1));
        assert_ne!(chain_config_hash(&other), h);
        let mut other = config.clone();
        other.deposit_contract = None;
        assert_ne!(chain_config_hash(&other), h);
        let mut other = config.clone();
        other.set_blob_params("Osaka", 6, 10, 5_007_716).unwrap();
        assert_ne!(chain_config_hash(&other), h);
        // Order of the input lists does not matter.
        let mut shuffled = config.clone();
        shuffled.forks.reverse();
        assert_eq!(chain_config_hash(&shuffled), h);
    }

    #[test]
    fn non_canonical_configs_are_refused() {
        let config = ChainConfig::eest_network("Prague", 1).unwrap();
        let mut abi = ChainConfigAbi::from_config(&config);
        abi.forks.swap(0, 1);
        assert!(abi.to_config().is_err());
        let mut abi = ChainConfigAbi::from_config(&config);
        abi.forks[0].name = "Nope".into();
        assert!(abi.to_config().is_err());
        let mut abi = ChainConfigAbi::from_config(&config);
        abi.forks[0].condition = 9;
        assert!(abi.to_config().is_err());
    }

    #[test]
    fn mainnet_hash_is_stable() {
        // Pinned: changing the definition changes every deployed contract's expectation.
        assert_eq!(
            chain_config_hash(&ChainConfig::mainnet()),
            b256!("c204f0804defb661b992b5f7a1514d1eb8ef6cd11b4d7958e40d5126791ad50f")
        );
    }
}
