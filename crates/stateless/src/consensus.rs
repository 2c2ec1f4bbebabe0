//! Header and body rules checked before execution (the consensus-layer validity of an
//! execution payload), against the parent header and the fork schedule.

use crate::error::ConsensusError;
use alloy_consensus::{
    BlockHeader, EMPTY_OMMER_ROOT_HASH, Header,
    constants::MAXIMUM_EXTRA_DATA_SIZE,
    proofs::{calculate_ommers_root, calculate_transaction_root, calculate_withdrawals_root},
};
use alloy_eips::{
    eip1559::{BaseFeeParams, INITIAL_BASE_FEE, calc_next_block_base_fee},
    eip4844::DATA_GAS_PER_BLOB,
};
use alloy_hardforks::{EthereumHardfork, EthereumHardforks};
use alloy_primitives::B256;
use cairn_primitives::{Block, ChainConfig, next_excess_blob_gas};

/// EIP-1559 elasticity: at the London block the parent's gas limit counts double.
const ELASTICITY_MULTIPLIER: u64 = 2;
/// Smallest gas limit a block may have.
pub const MIN_GAS_LIMIT: u64 = 5000;
/// Largest gas limit a block may have (geth's `MaxGasLimit`).
pub const MAX_GAS_LIMIT: u64 = 0x7fff_ffff_ffff_ffff;
/// EIP-7934 (Osaka): largest RLP-encoded block, 10 MiB minus a 2 MiB margin.
pub const MAX_RLP_BLOCK_SIZE: usize = 10_485_760 - 2_097_152;

/// Checks a header against its parent and the fork rules in force at its timestamp.
///
/// Cairn validates proof-of-stake execution payloads: a block before the merge (Paris) is
/// refused with [`ConsensusError::PreMerge`], whatever its contents.
///
/// # Errors
/// The first rule the header breaks.
pub fn validate_header(
    chain: &ChainConfig,
    header: &Header,
    parent: &Header,
    parent_hash: B256,
) -> Result<(), ConsensusError> {
    use ConsensusError as E;
    if !chain.is_paris_active_at_block(header.number) {
        return Err(E::PreMerge {
            fork: chain.fork_name_at(header.timestamp, header.number),
        });
    }
    if header.parent_hash != parent_hash {
        return Err(E::ParentHash {
            got: header.parent_hash,
            expected: parent_hash,
        });
    }
    if parent.number.checked_add(1) != Some(header.number) {
        return Err(E::Number {
            got: header.number,
            parent: parent.number,
        });
    }
    if header.timestamp <= parent.timestamp {
        return Err(E::Timestamp {
            got: header.timestamp,
            parent: parent.timestamp,
        });
    }
    if header.extra_data.len() > MAXIMUM_EXTRA_DATA_SIZE {
        return Err(E::ExtraDataTooLong {
            len: header.extra_data.len(),
        });
    }
    if header.gas_used > header.gas_limit {
        return Err(E::GasUsedExceedsLimit {
            gas_used: header.gas_used,
            gas_limit: header.gas_limit,
        });
    }
    let london_block = chain
        .ethereum_fork_activation(EthereumHardfork::London)
        .transitions_at_block(header.number);
    let parent_gas_limit = if london_block {
        parent.gas_limit.saturating_mul(ELASTICITY_MULTIPLIER)
    } else {
        parent.gas_limit
    };
    if header.gas_limit.abs_diff(parent_gas_limit) >= parent_gas_limit / 1024
        || header.gas_limit < MIN_GAS_LIMIT
        || header.gas_limit > MAX_GAS_LIMIT
    {
        return Err(E::GasLimit {
            got: header.gas_limit,
            parent: parent_gas_limit,
        });
    }

    if !header.difficulty.is_zero() {
        return Err(E::NonZeroDifficulty);
    }
    if !header.nonce.is_zero() {
        return Err(E::NonZeroNonce);
    }
    if header.ommers_hash != EMPTY_OMMER_ROOT_HASH {
        return Err(E::OmmersHash {
            got: header.ommers_hash,
            expected: EMPTY_OMMER_ROOT_HASH,
        });
    }

    if chain.is_london_active_at_block(header.number) {
        let expected = if london_block {
            INITIAL_BASE_FEE
        } else {
            let parent_base_fee = parent.base_fee_per_gas.ok_or(E::MissingField {
                field: "parent baseFeePerGas",
            })?;
            // alloy's formula adds up to an eighth (and at least one) to the parent's base fee
            // in u64 when gas used is within the limit: a forged parent must not overflow it.
            if parent.gas_used > parent.gas_limit {
                return Err(E::InvalidParent {
                    reason: "gas used exceeds the gas limit",
                });
            }
            if parent_base_fee
                .checked_add(parent_base_fee / 8 + 1)
                .is_none()
            {
                return Err(E::InvalidParent {
                    reason: "base fee too large for a successor",
                });
            }
            calc_next_block_base_fee(
                parent.gas_used,
                parent.gas_limit,
                parent_base_fee,
                BaseFeeParams::ethereum(),
            )
        };
        if header.base_fee_per_gas != Some(expected) {
            return Err(E::BaseFee {
                got: header.base_fee_per_gas,
                expected,
            });
        }
    } else if header.base_fee_per_gas.is_some() {
        return Err(E::UnexpectedField {
            field: "baseFeePerGas",
        });
    }

    let ts = header.timestamp;
    presence(
        chain.is_shanghai_active_at_timestamp(ts),
        header.withdrawals_root.is_some(),
        "withdrawalsRoot",
    )?;
    let cancun = chain.is_cancun_active_at_timestamp(ts);
    presence(cancun, header.blob_gas_used.is_some(), "blobGasUsed")?;
    presence(cancun, header.excess_blob_gas.is_some(), "excessBlobGas")?;
    presence(
        cancun,
        header.parent_beacon_block_root.is_some(),
        "parentBeaconBlockRoot",
    )?;
    presence(
        chain.is_prague_active_at_timestamp(ts),
        header.requests_hash.is_some(),
        "requestsHash",
    )?;
    if chain.is_amsterdam_active_at_timestamp(ts) {
        return Err(E::UnsupportedFork { fork: "Amsterdam" });
    }
    presence(
        false,
        header.block_access_list_hash.is_some(),
        "blockAccessListHash",
    )?;
    presence(false, header.slot_number.is_some(), "slotNumber")?;

    if let (Some(params), Some(blob_gas_used), Some(excess)) = (
        chain.blob_params_at(ts),
        header.blob_gas_used,
        header.excess_blob_gas,
    ) {
        if blob_gas_used % DATA_GAS_PER_BLOB != 0 {
            return Err(E::BlobGasUsedNotMultiple { blob_gas_used });
        }
        if blob_gas_used > params.max_blob_gas_per_block() {
            return Err(E::BlobGasUsedExceedsMax {
                blob_gas_used,
                max: params.max_blob_gas_per_block(),
            });
        }
        // At the Cancun block the parent has no blob fields: both count as zero.
        let (parent_excess, parent_used) = (
            parent.excess_blob_gas.unwrap_or(0),
            parent.blob_gas_used.unwrap_or(0),
        );
        let expected = next_excess_blob_gas(
            &params,
            parent_excess,
            parent_used,
            parent.base_fee_per_gas.unwrap_or(0),
        )
        .ok_or(E::ParentBlobGasOverflow {
            excess_blob_gas: parent_excess,
            blob_gas_used: parent_used,
        })?;
        if excess != expected {
            return Err(E::ExcessBlobGas {
                got: excess,
                expected,
            });
        }
    }
    Ok(())
}

fn presence(active: bool, present: bool, field: &'static str) -> Result<(), ConsensusError> {
    match (active, present) {
        (true, false) => Err(ConsensusError::MissingField { field }),
        (false, true) => Err(ConsensusError::UnexpectedField { field }),
        _ => Ok(()),
    }
}

/// Checks a block's body against its header: transactions root, ommers, withdrawals, and
/// (Osaka) the EIP-7934 size limit.
///
/// # Errors
/// The first rule the body breaks.
pub fn validate_body(chain: &ChainConfig, block: &Block) -> Result<(), ConsensusError> {
    use ConsensusError as E;
    let header = &block.header;
    let ommers_hash = calculate_ommers_root(&block.body.ommers);
    if ommers_hash != header.ommers_hash {
        return Err(E::OmmersHash {
            got: ommers_hash,
            expected: header.ommers_hash,
        });
    }
    let tx_root = calculate_transaction_root(&block.body.transactions);
    if tx_root != header.transactions_root {
        return Err(E::TransactionsRoot {
            got: tx_root,
            expected: header.transactions_root,
        });
    }
    match (&block.body.withdrawals, header.withdrawals_root) {
        (Some(withdrawals), Some(expected)) => {
            let got = calculate_withdrawals_root(withdrawals);
            if got != expected {
                return Err(E::WithdrawalsRoot { got, expected });
            }
        }
        (None, None) => {}
        (Some(_), None) => {
            return Err(E::UnexpectedField {
                field: "withdrawals",
            });
        }
        (None, Some(_)) => {
            return Err(E::MissingField {
                field: "withdrawals",
            });
        }
    }
    if chain.is_osaka_active_at_timestamp(header.timestamp()) {
        let size = alloy_rlp::Encodable::length(block);
        if size > MAX_RLP_BLOCK_SIZE {
            return Err(E::BlockTooLarge {
                size,
                max: MAX_RLP_BLOCK_SIZE,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ConsensusError as E;

    /// A Prague parent at genesis and a valid child of it.
    fn pair() -> (ChainConfig, Header, Header) {
        let chain = ChainConfig::at_genesis(1, EthereumHardfork::Prague);
        let parent = Header {
            gas_limit: 30_000_000,
            gas_used: 15_000_000,
            base_fee_per_gas: Some(7),
            withdrawals_root: Some(B256::ZERO),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::ZERO),
            requests_hash: Some(B256::ZERO),
            ..Header::default()
        };
        let child = Header {
            number: 1,
            timestamp: 12,
            base_fee_per_gas: Some(7),
            ..parent.clone()
        };
        (chain, parent, child)
    }

    fn check(chain: &ChainConfig, child: &Header, parent: &Header) -> Result<(), ConsensusError> {
        let child = Header {
            parent_hash: parent.hash_slow(),
            ..child.clone()
        };
        validate_header(chain, &child, parent, parent.hash_slow())
    }

    #[test]
    fn a_valid_child_passes() {
        let (chain, parent, child) = pair();
        check(&chain, &child, &parent).unwrap();
    }

    /// Pre-merge networks are out of scope, and the error says so.
    #[test]
    fn pre_merge_blocks_are_refused() {
        let (_, parent, child) = pair();
        let london = ChainConfig::at_genesis(1, EthereumHardfork::London);
        let err = check(&london, &child, &parent).unwrap_err();
        assert_eq!(err, E::PreMerge { fork: "London" });
        assert!(
            err.to_string()
                .contains("pre-merge networks are out of scope")
        );
        // Mainnet's merge block is the first one accepted.
        let mainnet = ChainConfig::mainnet();
        let at = |number| Header {
            number,
            ..child.clone()
        };
        let parent_at = |number| Header {
            number,
            ..parent.clone()
        };
        assert!(matches!(
            check(&mainnet, &at(15_537_393), &parent_at(15_537_392)),
            Err(E::PreMerge {
                fork: "GrayGlacier"
            })
        ));
        assert!(!matches!(
            check(&mainnet, &at(15_537_394), &parent_at(15_537_393)),
            Err(E::PreMerge { .. })
        ));
    }

    /// Forged parents whose fields would overflow or divide by zero in the fee formulas
    /// give typed errors, not panics.
    #[test]
    fn forged_parent_fields_are_errors() {
        let (chain, parent, child) = pair();

        let rich = Header {
            base_fee_per_gas: Some(u64::MAX),
            ..parent.clone()
        };
        assert!(matches!(
            check(&chain, &child, &rich),
            Err(E::InvalidParent { .. })
        ));

        let overfull = Header {
            gas_used: u64::MAX,
            ..parent.clone()
        };
        assert!(matches!(
            check(&chain, &child, &overfull),
            Err(E::InvalidParent { .. })
        ));

        let excess = Header {
            excess_blob_gas: Some(u64::MAX),
            blob_gas_used: Some(u64::MAX),
            ..parent.clone()
        };
        assert!(matches!(
            check(&chain, &child, &excess),
            Err(E::ParentBlobGasOverflow { .. })
        ));

        // A tiny gas limit makes the EIP-1559 target zero: the base fee stays, the child's
        // gas limit is out of bounds, and nothing divides by zero.
        let tiny = Header {
            gas_limit: 1,
            gas_used: 1,
            ..parent
        };
        assert!(matches!(
            check(&chain, &child, &tiny),
            Err(E::GasLimit { .. })
        ));
    }
}
