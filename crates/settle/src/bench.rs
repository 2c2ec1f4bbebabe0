//! Gas and latency figures on a real L1 (anvil): `commitBatch` and `verifyBatch` of dev-chain
//! batches settled end to end, the binding alone against tree size, and `verifyBatch` with
//! two attest proofs against tree size.

use crate::{
    contracts::{CairnRollup, binding_abi, public_values_abi},
    deploy::{Anchor, Deployment, deploy},
    dev::{DevAttester, dev_config},
    error::{Error, Result, TxKind},
    l1::{Ctx, L1},
    settler::{ONCHAIN_ATTEST_LEN, read_tip},
    vectors::synthetic,
};
use alloy_primitives::Bytes;
use alloy_sol_types::SolCall;
use cairn_prover::{
    AttestBackend, AttestDomain, BatchBinding, PROGRAM_ID, PublicValues, SignerRegistry,
};
use std::{fmt::Write, sync::Arc, time::Duration};

/// One dev-chain batch settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettleRow {
    /// The rollup batch.
    pub batch: u64,
    /// Its blocks.
    pub blocks: (u64, u64),
    /// QMTree leaves after it.
    pub leaves: u64,
    /// `commitBatch` gas.
    pub commit_gas: u64,
    /// `verifyBatch` gas.
    pub verify_gas: u64,
    /// `verifyBatch` calldata bytes.
    pub verify_calldata: usize,
    /// From picking the `.seg` file up to recording the batch settled.
    pub latency: Duration,
}

/// One tree size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeRow {
    /// Leaves after the batch.
    pub leaves: u64,
    /// Inclusion-proof depth.
    pub depth: u32,
    /// Range-proof nodes.
    pub range_nodes: usize,
    /// `verifyBinding` calldata bytes.
    pub binding_calldata: usize,
    /// `eth_estimateGas` of `verifyBinding` as a transaction (21,000, calldata and the
    /// EIP-7623 calldata floor included).
    pub binding_gas: u64,
    /// The binding verifier's execution alone (measured in the EVM by `GasProbe`).
    pub binding_execution: u64,
    /// `commitBatch` gas (receipt).
    pub commit_gas: u64,
    /// `verifyBatch` gas with two attest proofs (receipt).
    pub verify_gas: u64,
    /// `verifyBatch`'s execution alone (`GasProbe`).
    pub verify_execution: u64,
    /// `verifyBatch` calldata bytes.
    pub verify_calldata: usize,
}

/// Calldata tokens (EIP-7623): zero bytes count 1, others 4.
pub fn calldata_tokens(data: &[u8]) -> u64 {
    data.iter().map(|b| if *b == 0 { 1 } else { 4 }).sum()
}

/// The EIP-7623 (Prague) floor of a transaction with this calldata: 21,000 + 10 per token.
pub fn calldata_floor(data: &[u8]) -> u64 {
    21_000 + 10 * calldata_tokens(data)
}

/// Execution gas of `input` sent to `to`, measured inside the EVM by the `GasProbe` at
/// `probe` (state changes are not kept: an `eth_call`).
///
/// # Errors
/// RPC errors; [`Error::WouldRevert`] when the probed call reverts.
pub async fn execution_gas(
    l1: &L1,
    probe: alloy_primitives::Address,
    to: alloy_primitives::Address,
    input: Bytes,
) -> Result<u64> {
    let ctx = Ctx {
        batch: 0,
        kind: TxKind::Verify,
    };
    let out = l1
        .call(
            probe,
            &crate::contracts::GasProbe::probeCall {
                target: to,
                data: input,
            },
            None,
            ctx,
        )
        .await?;
    if !out.ok {
        return Err(Error::WouldRevert {
            batch: 0,
            kind: TxKind::Verify,
            revert: Box::new(crate::contracts::Revert::decode(&out.result)),
        });
    }
    u64::try_from(out.gasUsed).map_err(|_| Error::RpcGarbage {
        url: l1.url().to_string(),
        method: "eth_call",
        reason: "gas above 2^64".into(),
    })
}

/// Deploys a `GasProbe`.
///
/// # Errors
/// Transaction errors.
pub async fn deploy_probe(l1: &L1) -> Result<alloy_primitives::Address> {
    let ctx = Ctx {
        batch: 0,
        kind: TxKind::Deploy,
    };
    let tx = l1
        .prepare(
            None,
            crate::contracts::GasProbe::BYTECODE.clone(),
            l1.nonce(true).await?,
            ctx,
        )
        .await?;
    l1.broadcast(&tx, ctx).await?;
    let mined = l1.confirm(&tx, ctx).await?;
    mined
        .receipt
        .contract_address
        .ok_or_else(|| Error::RpcInconsistent {
            url: l1.url().to_string(),
            what: "a creation receipt without an address".into(),
        })
}

/// `verifyBatch`'s calldata for a batch.
pub fn verify_calldata(
    batch: u64,
    pv: &PublicValues,
    binding: &BatchBinding,
    proofs: Vec<CairnRollup::Proof>,
) -> Bytes {
    CairnRollup::verifyBatchCall {
        batch,
        pv: public_values_abi(pv),
        binding: binding_abi(binding),
        proofs,
    }
    .abi_encode()
    .into()
}

async fn send(l1: &L1, to: alloy_primitives::Address, input: Bytes, kind: TxKind) -> Result<u64> {
    let ctx = Ctx { batch: 0, kind };
    let tx = l1
        .prepare(Some(to), input, l1.nonce(true).await?, ctx)
        .await?;
    l1.broadcast(&tx, ctx).await?;
    let mined = l1.confirm(&tx, ctx).await?;
    if !mined.success {
        return Err(Error::Reverted {
            batch: 0,
            kind,
            tx: tx.hash,
            block: mined.block,
            revert: Box::new(l1.revert_reason(&tx, mined.block, ctx).await),
        });
    }
    Ok(mined.receipt.gas_used)
}

/// For each tree size: the binding alone (`verifyBinding`, estimated), and a rollup anchored
/// at the synthetic tree's root before a 10-block batch that commits and verifies it with two
/// attest proofs (receipts). Every synthetic binding is checked by the Rust verifier first.
///
/// # Errors
/// RPC and transaction errors; [`Error::Prover`] if a synthetic binding does not verify.
pub async fn by_tree_size(
    l1: &L1,
    attesters: &[DevAttester],
    sizes: &[u64],
) -> Result<Vec<SizeRow>> {
    let mut rows = Vec::with_capacity(sizes.len());
    let probe = deploy_probe(l1).await?;
    for &size in sizes {
        let (binding, pv) = synthetic(size, 10, 9, &size.to_be_bytes());
        binding.verify(&pv)?;
        let anchor = Anchor {
            chain_id: pv.chainId,
            chain_config_hash: pv.chainConfigHash,
            block: pv.firstBlock - 1,
            state_root: pv.initialStateRoot,
            qm_root: binding.rootBefore,
        };
        let mut config = dev_config(attesters);
        config.program_id = Some(PROGRAM_ID);
        let deployment = deploy(l1, &config, anchor).await?;
        let call = CairnRollup::verifyBindingCall {
            pv: public_values_abi(&pv),
            binding: binding_abi(&binding),
        };
        let input: Bytes = call.abi_encode().into();
        let ctx = Ctx {
            batch: 1,
            kind: TxKind::Verify,
        };
        let binding_gas = l1
            .estimate_gas(Some(deployment.rollup), input.clone(), ctx)
            .await?;
        let commit_gas = send(
            l1,
            deployment.rollup,
            CairnRollup::commitBatchCall {
                batch: 1,
                publicValuesHash: pv.hash(),
                root: binding.rootAfter,
            }
            .abi_encode()
            .into(),
            TxKind::Commit,
        )
        .await?;
        let binding_execution = execution_gas(l1, probe, deployment.rollup, input.clone()).await?;
        let proofs = attest_proofs(&deployment, attesters, &pv)?;
        let verify_input = verify_calldata(1, &pv, &binding, proofs);
        let verify_execution =
            execution_gas(l1, probe, deployment.rollup, verify_input.clone()).await?;
        let verify_gas = send(l1, deployment.rollup, verify_input.clone(), TxKind::Verify).await?;
        let tip = read_tip(l1, deployment.rollup).await?;
        if tip.qm_root != binding.rootAfter || tip.state_root != pv.finalStateRoot {
            return Err(Error::RpcInconsistent {
                url: l1.url().to_string(),
                what: "the synthetic batch did not settle".into(),
            });
        }
        rows.push(SizeRow {
            leaves: size,
            depth: cairn_qmtree::depth(size),
            range_nodes: binding.rangeNodes.len(),
            binding_calldata: input.len(),
            binding_gas,
            binding_execution,
            commit_gas,
            verify_gas,
            verify_execution,
            verify_calldata: verify_input.len(),
        });
    }
    Ok(rows)
}

/// Attest proofs of `pv` by every attester, for its verifier in `deployment`, as `verifyBatch`
/// takes them.
///
/// # Errors
/// Signing errors.
pub fn attest_proofs(
    deployment: &Deployment,
    attesters: &[DevAttester],
    pv: &PublicValues,
) -> Result<Vec<CairnRollup::Proof>> {
    attesters
        .iter()
        .map(|a| {
            let verifier = deployment
                .proof_types
                .iter()
                .find(|t| t.id == a.proof_type)
                .map(|t| t.address)
                .unwrap_or_default();
            let backend = AttestBackend::new(
                AttestDomain {
                    chain_id: deployment.l1_chain_id,
                    verifying_contract: verifier,
                },
                Some(a.signer.clone()),
                Arc::new(SignerRegistry::new()),
            )
            .with_program_id(deployment.program_id);
            let proof = backend.attest(pv.clone())?.encode();
            Ok(CairnRollup::Proof {
                proofType: a.proof_type,
                data: Bytes::copy_from_slice(&proof[..ONCHAIN_ATTEST_LEN]),
            })
        })
        .collect()
}

/// The settle table.
pub fn settle_table(rows: &[SettleRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>5} {:>9} {:>7} {:>11} {:>11} {:>9} {:>10}",
        "batch", "blocks", "leaves", "commit gas", "verify gas", "calldata", "latency"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:>5} {:>9} {:>7} {:>11} {:>11} {:>8}B {:>8.1}ms",
            r.batch,
            format!("{}-{}", r.blocks.0, r.blocks.1),
            r.leaves,
            r.commit_gas,
            r.verify_gas,
            r.verify_calldata,
            r.latency.as_secs_f64() * 1e3
        );
    }
    if !rows.is_empty() {
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let _ = writeln!(
            out,
            "median: commit {} gas, verify {} gas, latency {:.1} ms per batch",
            median(rows.iter().map(|r| r.commit_gas as f64).collect()),
            median(rows.iter().map(|r| r.verify_gas as f64).collect()),
            median(rows.iter().map(|r| r.latency.as_secs_f64() * 1e3).collect()),
        );
    }
    out
}

/// The tree-size table.
pub fn size_table(rows: &[SizeRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>8} {:>5} {:>5} | {:>8} {:>8} {:>8} | {:>7} {:>8} {:>8} {:>8}",
        "leaves",
        "depth",
        "range",
        "calldata",
        "tx gas",
        "exec",
        "commit",
        "calldata",
        "tx gas",
        "exec",
    );
    let _ = writeln!(
        out,
        "{:>20} | {:^26} | {:^35}",
        "", "binding alone", "two-attest verifyBatch"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:>8} {:>5} {:>5} | {:>7}B {:>8} {:>8} | {:>7} {:>7}B {:>8} {:>8}",
            if r.leaves.is_power_of_two() {
                format!("2^{}", r.leaves.trailing_zeros())
            } else {
                r.leaves.to_string()
            },
            r.depth,
            r.range_nodes,
            r.binding_calldata,
            r.binding_gas,
            r.binding_execution,
            r.commit_gas,
            r.verify_calldata,
            r.verify_gas,
            r.verify_execution,
        );
    }
    out
}

/// The default tree sizes: 2^10, 2^12, …, 2^32 leaves.
pub fn default_sizes() -> Vec<u64> {
    (10..=32).step_by(2).map(|k| 1u64 << k).collect()
}
