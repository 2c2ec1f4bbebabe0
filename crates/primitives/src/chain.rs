//! Chain configuration: chain id, fork schedule, blob schedule.

use crate::error::{PrimitivesError, Result};
use alloc::{string::ToString, vec::Vec};
use alloy_eips::{eip4844, eip7594, eip7840::BLOB_BASE_COST, eip7840::BlobParams};
use alloy_hardforks::{EthereumHardfork, EthereumHardforks, ForkCondition};
use alloy_primitives::{Address, U256, address};
use serde::{Deserialize, Serialize};

/// The mainnet deposit contract (EIP-6110), also used by the EEST fixtures.
pub const MAINNET_DEPOSIT_CONTRACT: Address =
    address!("0x00000000219ab540356cbb839cbe05303d7705fa");

/// Forks in activation order, from genesis onwards, as EEST networks name them.
const ORDER: &[EthereumHardfork] = &[
    EthereumHardfork::Frontier,
    EthereumHardfork::Homestead,
    EthereumHardfork::Tangerine,
    EthereumHardfork::SpuriousDragon,
    EthereumHardfork::Byzantium,
    EthereumHardfork::Constantinople,
    EthereumHardfork::Petersburg,
    EthereumHardfork::Istanbul,
    EthereumHardfork::MuirGlacier,
    EthereumHardfork::Berlin,
    EthereumHardfork::London,
    EthereumHardfork::ArrowGlacier,
    EthereumHardfork::GrayGlacier,
    EthereumHardfork::Paris,
    EthereumHardfork::Shanghai,
    EthereumHardfork::Cancun,
    EthereumHardfork::Prague,
    EthereumHardfork::Osaka,
    EthereumHardfork::Bpo1,
    EthereumHardfork::Bpo2,
    EthereumHardfork::Bpo3,
    EthereumHardfork::Bpo4,
    EthereumHardfork::Bpo5,
    EthereumHardfork::Amsterdam,
];

/// One fork and the condition that activates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkEntry {
    /// The fork.
    pub fork: EthereumHardfork,
    /// When it activates.
    pub activation: ForkCondition,
}

/// Largest `max` a blob schedule entry may give: far above any real schedule, and low
/// enough that no blob-gas product overflows.
pub const MAX_BLOBS_PER_BLOCK_LIMIT: u64 = 65_535;

/// Blob parameters (EIP-7840) that take effect with a fork.
///
/// Decoding checks them ([`BlobScheduleEntry::check`]): a zero update fraction would divide
/// by zero in the blob fee, and a target above the maximum would underflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "UncheckedBlobScheduleEntry")]
pub struct BlobScheduleEntry {
    /// The fork these parameters start with.
    pub fork: EthereumHardfork,
    /// Target blobs per block.
    pub target: u64,
    /// Maximum blobs per block.
    pub max: u64,
    /// Blob base-fee update fraction.
    pub base_fee_update_fraction: u128,
}

/// A [`BlobScheduleEntry`] as read, before [`BlobScheduleEntry::check`].
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UncheckedBlobScheduleEntry {
    fork: EthereumHardfork,
    target: u64,
    max: u64,
    base_fee_update_fraction: u128,
}

impl TryFrom<UncheckedBlobScheduleEntry> for BlobScheduleEntry {
    type Error = PrimitivesError;

    fn try_from(raw: UncheckedBlobScheduleEntry) -> Result<Self> {
        let entry = Self {
            fork: raw.fork,
            target: raw.target,
            max: raw.max,
            base_fee_update_fraction: raw.base_fee_update_fraction,
        };
        entry.check()?;
        Ok(entry)
    }
}

impl BlobScheduleEntry {
    /// Checks that the blob fee and excess-gas formulas are defined for these parameters.
    ///
    /// # Errors
    /// [`PrimitivesError::InvalidBlobParams`] unless `1 <= baseFeeUpdateFraction`,
    /// `target <= max` and `max <=` [`MAX_BLOBS_PER_BLOCK_LIMIT`].
    pub fn check(&self) -> Result<()> {
        let reason = if self.base_fee_update_fraction == 0 {
            "baseFeeUpdateFraction is zero"
        } else if self.target > self.max {
            "target exceeds max"
        } else if self.max > MAX_BLOBS_PER_BLOCK_LIMIT {
            "max exceeds 65535"
        } else {
            return Ok(());
        };
        Err(PrimitivesError::InvalidBlobParams {
            fork: self.fork,
            reason,
        })
    }
}

/// The excess blob gas (EIP-4844, with EIP-7918's reserve price where `params` carry a blob
/// base cost) of the block after a parent with these blob fields, or `None` when the
/// parent's fields are so large that it does not fit in a `u64` (no valid chain gets there).
///
/// Computed in 128-bit integers, unlike alloy-eips' `next_block_excess_blob_gas_osaka`,
/// whose u64 sums overflow on a forged parent header.
pub fn next_excess_blob_gas(
    params: &BlobParams,
    parent_excess: u64,
    parent_used: u64,
    parent_base_fee: u64,
) -> Option<u64> {
    let gas_per_blob = u128::from(eip4844::DATA_GAS_PER_BLOB);
    let (excess, used) = (u128::from(parent_excess), u128::from(parent_used));
    let target = u128::from(params.target_blob_count) * gas_per_blob;
    let next = excess + used;
    if next < target {
        return Some(0);
    }
    let reserve = U256::from(params.blob_base_cost) * U256::from(parent_base_fee);
    let result =
        if reserve > U256::from(gas_per_blob) * U256::from(params.calc_blob_fee(parent_excess)) {
            let max = u128::from(params.max_blob_count);
            let spread = max.checked_sub(u128::from(params.target_blob_count))?;
            excess + (used * spread).checked_div(max).unwrap_or(0)
        } else {
            next - target
        };
    u64::try_from(result).ok()
}

/// Everything about a chain that execution depends on besides state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainConfig {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Fork schedule, kept sorted by fork.
    pub forks: Vec<ForkEntry>,
    /// Blob schedule; forks without an entry use their EIP defaults.
    #[serde(default)]
    pub blob_schedule: Vec<BlobScheduleEntry>,
    /// EIP-6110 deposit contract, if the chain has one.
    #[serde(default)]
    pub deposit_contract: Option<Address>,
}

impl ChainConfig {
    /// Builds a config from a fork list (sorted here) and a chain id.
    pub fn new(
        chain_id: u64,
        forks: impl IntoIterator<Item = (EthereumHardfork, ForkCondition)>,
    ) -> Self {
        let mut forks: Vec<ForkEntry> = forks
            .into_iter()
            .map(|(fork, activation)| ForkEntry { fork, activation })
            .collect();
        forks.sort_by_key(|f| f.fork);
        Self {
            chain_id,
            forks,
            blob_schedule: Vec::new(),
            deposit_contract: Some(MAINNET_DEPOSIT_CONTRACT),
        }
    }

    /// Ethereum mainnet.
    pub fn mainnet() -> Self {
        Self::new(1, EthereumHardfork::mainnet())
    }

    /// A chain with every fork up to and including `last` active at genesis.
    pub fn at_genesis(chain_id: u64, last: EthereumHardfork) -> Self {
        let upto = ORDER
            .iter()
            .position(|f| *f == last)
            .map_or(ORDER.len(), |i| i + 1);
        Self::new(
            chain_id,
            ORDER[..upto].iter().map(|f| (*f, genesis_condition(*f))),
        )
    }

    /// The fork schedule of an execution-spec-tests network: a fork name (`"Prague"`) or a
    /// transition (`"PragueToOsakaAtTime15k"`, `"BerlinToLondonAt5"`).
    ///
    /// # Errors
    /// [`PrimitivesError::UnknownNetwork`] when the name is not recognised.
    pub fn eest_network(name: &str, chain_id: u64) -> Result<Self> {
        let unknown = || PrimitivesError::UnknownNetwork {
            name: name.to_string(),
        };
        if let Some((from, rest)) = name.split_once("To") {
            let (to, at) = rest.split_once("At").ok_or_else(unknown)?;
            let mut config = Self::at_genesis(chain_id, eest_fork(from).ok_or_else(unknown)?);
            let to = eest_fork(to).ok_or_else(unknown)?;
            let activation = if let Some(time) = at.strip_prefix("Time") {
                ForkCondition::Timestamp(parse_count(time).ok_or_else(unknown)?)
            } else {
                ForkCondition::Block(parse_count(at).ok_or_else(unknown)?)
            };
            let start = ORDER.iter().position(|f| *f == to).ok_or_else(unknown)?;
            let from_pos = ORDER
                .iter()
                .position(|f| config.forks.last().is_some_and(|l| l.fork == *f));
            for fork in &ORDER[from_pos.map_or(start, |p| p + 1)..=start] {
                config.set_fork(*fork, activation);
            }
            return Ok(config);
        }
        Ok(Self::at_genesis(
            chain_id,
            eest_fork(name).ok_or_else(unknown)?,
        ))
    }

    /// Sets (or replaces) the activation of one fork.
    pub fn set_fork(&mut self, fork: EthereumHardfork, activation: ForkCondition) {
        match self.forks.binary_search_by_key(&fork, |f| f.fork) {
            Ok(i) => self.forks[i].activation = activation,
            Err(i) => self.forks.insert(i, ForkEntry { fork, activation }),
        }
    }

    /// Adds blob parameters for a fork, by its EEST name (`"Cancun"`, `"BPO1"`).
    ///
    /// # Errors
    /// [`PrimitivesError::UnknownFork`] for a name that is not a fork,
    /// [`PrimitivesError::InvalidBlobParams`] as [`BlobScheduleEntry::check`].
    pub fn set_blob_params(
        &mut self,
        fork_name: &str,
        target: u64,
        max: u64,
        fraction: u128,
    ) -> Result<()> {
        let fork = eest_fork(fork_name).ok_or_else(|| PrimitivesError::UnknownFork {
            name: fork_name.to_string(),
        })?;
        let entry = BlobScheduleEntry {
            fork,
            target,
            max,
            base_fee_update_fraction: fraction,
        };
        entry.check()?;
        self.blob_schedule.retain(|e| e.fork != fork);
        self.blob_schedule.push(entry);
        self.blob_schedule.sort_by_key(|e| e.fork);
        Ok(())
    }

    /// The blob parameters in force at `timestamp`, or `None` before Cancun.
    pub fn blob_params_at(&self, timestamp: u64) -> Option<BlobParams> {
        if !self.is_cancun_active_at_timestamp(timestamp) {
            return None;
        }
        let osaka = self.is_osaka_active_at_timestamp(timestamp);
        let active = |fork: EthereumHardfork| {
            self.ethereum_fork_activation(fork)
                .active_at_timestamp(timestamp)
        };
        let scheduled = self
            .blob_schedule
            .iter()
            .rev()
            .find(|e| active(e.fork))
            .map(|e| BlobParams {
                target_blob_count: e.target,
                max_blob_count: e.max,
                update_fraction: e.base_fee_update_fraction,
                min_blob_fee: eip4844::BLOB_TX_MIN_BLOB_GASPRICE,
                max_blobs_per_tx: e.max,
                blob_base_cost: 0,
            });
        let mut params = scheduled.unwrap_or_else(|| {
            let defaults = [
                (EthereumHardfork::Bpo2, BlobParams::bpo2()),
                (EthereumHardfork::Bpo1, BlobParams::bpo1()),
                (EthereumHardfork::Osaka, BlobParams::osaka()),
                (EthereumHardfork::Prague, BlobParams::prague()),
            ];
            defaults
                .into_iter()
                .find(|(f, _)| active(*f))
                .map_or_else(BlobParams::cancun, |(_, p)| p)
        });
        if osaka {
            // EIP-7594 caps blobs per transaction; EIP-7918 bounds the blob base fee.
            params.max_blobs_per_tx = params
                .max_blobs_per_tx
                .min(eip7594::MAX_BLOBS_PER_TX_FUSAKA);
            params.blob_base_cost = BLOB_BASE_COST;
        }
        Some(params)
    }

    /// The name of the newest fork active at a block.
    pub fn fork_name_at(&self, timestamp: u64, number: u64) -> &'static str {
        self.forks
            .iter()
            .rev()
            .find(|f| {
                f.activation
                    .active_at_timestamp_or_number(timestamp, number)
            })
            .map_or("Frontier", |f| fork_display_name(f.fork))
    }
}

impl EthereumHardforks for ChainConfig {
    fn ethereum_fork_activation(&self, fork: EthereumHardfork) -> ForkCondition {
        self.forks
            .binary_search_by_key(&fork, |f| f.fork)
            .map_or(ForkCondition::Never, |i| self.forks[i].activation)
    }
}

fn genesis_condition(fork: EthereumHardfork) -> ForkCondition {
    match fork {
        EthereumHardfork::Paris => ForkCondition::TTD {
            activation_block_number: 0,
            fork_block: None,
            total_difficulty: U256::ZERO,
        },
        f if f >= EthereumHardfork::Shanghai => ForkCondition::Timestamp(0),
        _ => ForkCondition::Block(0),
    }
}

/// Parses `15k` / `5` style counts used in EEST transition names.
fn parse_count(s: &str) -> Option<u64> {
    match s.strip_suffix('k') {
        Some(k) => k.parse::<u64>().ok()?.checked_mul(1000),
        None => s.parse().ok(),
    }
}

fn eest_fork(name: &str) -> Option<EthereumHardfork> {
    Some(match name {
        "Frontier" => EthereumHardfork::Frontier,
        "Homestead" => EthereumHardfork::Homestead,
        "EIP150" | "Tangerine" => EthereumHardfork::Tangerine,
        "EIP158" | "SpuriousDragon" => EthereumHardfork::SpuriousDragon,
        "Byzantium" => EthereumHardfork::Byzantium,
        "Constantinople" => EthereumHardfork::Constantinople,
        "ConstantinopleFix" | "Petersburg" => EthereumHardfork::Petersburg,
        "Istanbul" => EthereumHardfork::Istanbul,
        "MuirGlacier" => EthereumHardfork::MuirGlacier,
        "Berlin" => EthereumHardfork::Berlin,
        "London" => EthereumHardfork::London,
        "ArrowGlacier" => EthereumHardfork::ArrowGlacier,
        "GrayGlacier" => EthereumHardfork::GrayGlacier,
        "Paris" | "Merge" => EthereumHardfork::Paris,
        "Shanghai" => EthereumHardfork::Shanghai,
        "Cancun" => EthereumHardfork::Cancun,
        "Prague" => EthereumHardfork::Prague,
        "Osaka" => EthereumHardfork::Osaka,
        "BPO1" => EthereumHardfork::Bpo1,
        "BPO2" => EthereumHardfork::Bpo2,
        "BPO3" => EthereumHardfork::Bpo3,
        "BPO4" => EthereumHardfork::Bpo4,
        "BPO5" => EthereumHardfork::Bpo5,
        "Amsterdam" => EthereumHardfork::Amsterdam,
        _ => return None,
    })
}

fn fork_display_name(fork: EthereumHardfork) -> &'static str {
    match fork {
        EthereumHardfork::Frontier => "Frontier",
        EthereumHardfork::Homestead => "Homestead",
        EthereumHardfork::Dao => "Dao",
        EthereumHardfork::Tangerine => "Tangerine",
        EthereumHardfork::SpuriousDragon => "SpuriousDragon",
        EthereumHardfork::Byzantium => "Byzantium",
        EthereumHardfork::Constantinople => "Constantinople",
        EthereumHardfork::Petersburg => "Petersburg",
        EthereumHardfork::Istanbul => "Istanbul",
        EthereumHardfork::MuirGlacier => "MuirGlacier",
        EthereumHardfork::Berlin => "Berlin",
        EthereumHardfork::London => "London",
        EthereumHardfork::ArrowGlacier => "ArrowGlacier",
        EthereumHardfork::GrayGlacier => "GrayGlacier",
        EthereumHardfork::Paris => "Paris",
        EthereumHardfork::Shanghai => "Shanghai",
        EthereumHardfork::Cancun => "Cancun",
        EthereumHardfork::Prague => "Prague",
        EthereumHardfork::Osaka => "Osaka",
        EthereumHardfork::Bpo1 => "BPO1",
        EthereumHardfork::Bpo2 => "BPO2",
        EthereumHardfork::Bpo3 => "BPO3",
        EthereumHardfork::Bpo4 => "BPO4",
        EthereumHardfork::Bpo5 => "BPO5",
        EthereumHardfork::Amsterdam => "Amsterdam",
        EthereumHardfork::Bogota => "Bogota",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_network() {
        let c = ChainConfig::eest_network("PragueToOsakaAtTime15k", 1).unwrap();
        assert!(c.is_prague_active_at_timestamp(0));
        assert!(!c.is_osaka_active_at_timestamp(14_999));
        assert!(c.is_osaka_active_at_timestamp(15_000));
        assert_eq!(c.fork_name_at(15_000, 3), "Osaka");
        let c = ChainConfig::eest_network("BerlinToLondonAt5", 1).unwrap();
        assert!(!c.is_london_active_at_block(4));
        assert!(c.is_london_active_at_block(5));
        assert!(ChainConfig::eest_network("Nope", 1).is_err());
        assert!(ChainConfig::eest_network("PragueToNope", 1).is_err());
    }

    #[test]
    fn blob_schedule_entries_are_checked() {
        let mut c = ChainConfig::eest_network("Osaka", 1).unwrap();
        for (target, max, fraction) in [(6, 9, 0), (10, 9, 5), (1, 70_000, 5)] {
            assert!(matches!(
                c.set_blob_params("Osaka", target, max, fraction),
                Err(PrimitivesError::InvalidBlobParams { .. })
            ));
        }
        let json = |fraction: u64| {
            format!(
                r#"{{"chainId":1,"forks":[],"blobSchedule":[{{"fork":"Osaka","target":6,"max":9,"baseFeeUpdateFraction":{fraction}}}]}}"#
            )
        };
        serde_json::from_str::<ChainConfig>(&json(5_007_716)).unwrap();
        let err = serde_json::from_str::<ChainConfig>(&json(0)).unwrap_err();
        assert!(
            err.to_string().contains("baseFeeUpdateFraction is zero"),
            "{err}"
        );
    }

    #[test]
    fn next_excess_blob_gas_is_total() {
        let osaka = ChainConfig::eest_network("Osaka", 1)
            .unwrap()
            .blob_params_at(0)
            .unwrap();
        // Agrees with alloy-eips where that one does not overflow.
        for (excess, used, base_fee) in [
            (0, 0, 7),
            (10_000_000, 786_432, 1_000_000_000),
            (1 << 20, 131_072, 1),
        ] {
            assert_eq!(
                next_excess_blob_gas(&osaka, excess, used, base_fee),
                Some(osaka.next_block_excess_blob_gas_osaka(excess, used, base_fee))
            );
        }
        assert_eq!(next_excess_blob_gas(&osaka, u64::MAX, u64::MAX, 7), None);
    }

    #[test]
    fn blob_params_follow_schedule() {
        let mut c = ChainConfig::eest_network("Osaka", 1).unwrap();
        assert_eq!(c.blob_params_at(0).unwrap().max_blob_count, 9);
        assert_eq!(c.blob_params_at(0).unwrap().max_blobs_per_tx, 6);
        c.set_blob_params("Osaka", 3, 4, 5).unwrap();
        let p = c.blob_params_at(0).unwrap();
        assert_eq!(
            (p.target_blob_count, p.max_blob_count, p.update_fraction),
            (3, 4, 5)
        );
        assert_eq!(p.max_blobs_per_tx, 4);
        assert_eq!(
            ChainConfig::eest_network("Shanghai", 1)
                .unwrap()
                .blob_params_at(0),
            None
        );
    }

    #[test]
    fn serde_roundtrip() {
        let c = ChainConfig::mainnet();
        let json = serde_json::to_string(&c).unwrap();
        let back: ChainConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(c, back);
    }
}
