//! Shared fixtures: a dev chain with its batches, anvil, and a deployed dev stack.

use alloy_primitives::{Address, B256, Bytes};
use alloy_sol_types::SolCall;
use cairn_devtools::{ANVIL_KEYS, Anvil, require};
use cairn_prover::{PublicValues, Seg, SegProof, batch::Batch};
use cairn_settle::{
    Deployment, Error, L1, L1Options, Revert, TxKind,
    bench::{attest_proofs, verify_calldata},
    contracts::CairnRollup,
    deploy::{Anchor, deploy},
    dev::{DevAttester, dev_attesters, dev_config, dev_node},
    l1::{Ctx, KeySource, load_signer},
};
use std::{collections::BTreeMap, sync::OnceLock, time::Duration};

/// Blocks of the test chain, and of each batch.
pub(crate) const BLOCKS: u64 = 20;
pub(crate) const BATCH: u64 = 2;

pub(crate) struct Chain {
    pub(crate) batches: BTreeMap<(u64, u64), Batch>,
    pub(crate) anchor: Anchor,
}

/// The dev chain (20 blocks) in a committing node, with its batches of 2 blocks and a few
/// other ranges.
pub(crate) fn chain() -> &'static Chain {
    static CHAIN: OnceLock<Chain> = OnceLock::new();
    CHAIN.get_or_init(|| {
        let node = dev_node(cairn_exec::devchain::DevChainParams {
            seed: 3,
            blocks: BLOCKS as usize,
            txs_per_block: 8,
        })
        .expect("dev chain");
        let mut batches = BTreeMap::new();
        let mut ranges: Vec<(u64, u64)> = (0..BLOCKS / BATCH)
            .map(|i| (i * BATCH + 1, (i + 1) * BATCH))
            .collect();
        ranges.extend([(1, 3), (2, 3)]);
        for (first, last) in ranges {
            batches.insert(
                (first, last),
                cairn_prover::batch::from_node(&node, first, last).expect("batch"),
            );
        }
        let anchor = Anchor::from_node(&node, 0).expect("anchor");
        Chain { batches, anchor }
    })
}

impl Chain {
    pub(crate) fn batch(&self, first: u64, last: u64) -> &Batch {
        &self.batches[&(first, last)]
    }
}

/// Anvil, or `None` (the test prints why it skips) when it cannot be installed.
pub(crate) fn anvil() -> Option<Anvil> {
    require(Anvil::spawn(&[]))
}

/// Quick waits for anvil (it mines on each transaction).
pub(crate) fn fast() -> L1Options {
    L1Options {
        confirmations: 1,
        poll_interval: Duration::from_millis(20),
        rpc_timeout: Duration::from_secs(5),
        rpc_attempts: 3,
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        rebroadcast_after: Duration::from_secs(2),
        receipt_timeout: Duration::from_secs(30),
        gas_margin_percent: 25,
        fee_percent: 100,
    }
}

/// A client of `url` with anvil's dev account `key`.
pub(crate) async fn client(url: &str, key: usize) -> L1 {
    let signer = load_signer(&KeySource::PrivateKey(ANVIL_KEYS[key].into())).unwrap();
    L1::connect(url, signer, None, fast()).await.unwrap()
}

/// A deployed dev stack: rollup and two attest verifiers (types 1 and 2, both required),
/// owner and proposer anvil's account 0.
pub(crate) struct Stack {
    pub(crate) l1: L1,
    pub(crate) deployment: Deployment,
    pub(crate) attesters: Vec<DevAttester>,
}

pub(crate) async fn stack(url: &str) -> Stack {
    let l1 = client(url, 0).await;
    let attesters = dev_attesters();
    let deployment = deploy(&l1, &dev_config(&attesters), chain().anchor)
        .await
        .unwrap();
    Stack {
        l1,
        deployment,
        attesters,
    }
}

fn ctx(batch: u64, kind: TxKind) -> Ctx {
    Ctx { batch, kind }
}

impl Stack {
    pub(crate) fn rollup(&self) -> Address {
        self.deployment.rollup
    }

    /// Sends a transaction to `to` and waits; a revert (found by the estimate, or mined) is
    /// returned decoded.
    pub(crate) async fn send_from(&self, l1: &L1, to: Address, input: Bytes) -> Result<(), Revert> {
        let c = ctx(0, TxKind::Verify);
        let nonce = l1.nonce(true).await.unwrap();
        let tx = match l1.prepare(Some(to), input, nonce, c).await {
            Ok(tx) => tx,
            Err(Error::WouldRevert { revert, .. }) => return Err(*revert),
            Err(e) => panic!("{e}"),
        };
        l1.broadcast(&tx, c).await.unwrap();
        let mined = l1.confirm(&tx, c).await.unwrap();
        if mined.success {
            Ok(())
        } else {
            Err(l1.revert_reason(&tx, mined.block, c).await)
        }
    }

    pub(crate) async fn send(&self, input: Bytes) -> Result<(), Revert> {
        self.send_from(&self.l1, self.rollup(), input).await
    }

    pub(crate) async fn commit(&self, batch: u64, pv_hash: B256, root: B256) -> Result<(), Revert> {
        self.send(
            CairnRollup::commitBatchCall {
                batch,
                publicValuesHash: pv_hash,
                root,
            }
            .abi_encode()
            .into(),
        )
        .await
    }

    pub(crate) fn proofs(&self, pv: &PublicValues) -> Vec<CairnRollup::Proof> {
        attest_proofs(&self.deployment, &self.attesters, pv).unwrap()
    }

    pub(crate) async fn verify(
        &self,
        batch: u64,
        b: &Batch,
        proofs: Vec<CairnRollup::Proof>,
    ) -> Result<(), Revert> {
        self.send(verify_calldata(batch, &b.public_values, &b.binding, proofs))
            .await
    }

    /// Commits and verifies `b` as `batch` with both attest proofs.
    pub(crate) async fn settle(&self, batch: u64, b: &Batch) {
        self.commit(batch, b.public_values.hash(), b.binding.rootAfter)
            .await
            .unwrap();
        self.verify(batch, b, self.proofs(&b.public_values))
            .await
            .unwrap();
    }

    /// A `.seg` file of `b` with both attesters' proofs for this deployment.
    pub(crate) fn seg(&self, b: &Batch) -> Seg {
        let proofs = self
            .attesters
            .iter()
            .map(|a| {
                let verifier = self
                    .deployment
                    .proof_types
                    .iter()
                    .find(|t| t.id == a.proof_type)
                    .unwrap()
                    .address;
                let backend = cairn_prover::AttestBackend::new(
                    cairn_prover::AttestDomain {
                        chain_id: self.deployment.l1_chain_id,
                        verifying_contract: verifier,
                    },
                    Some(a.signer.clone()),
                    std::sync::Arc::new(cairn_prover::SignerRegistry::new()),
                );
                SegProof {
                    backend: a.backend.clone(),
                    proof: backend
                        .attest(b.public_values.clone())
                        .unwrap()
                        .encode()
                        .into(),
                }
            })
            .collect();
        Seg {
            program_id: cairn_prover::PROGRAM_ID,
            public_values: b.public_values.clone(),
            binding: b.binding.clone(),
            proofs,
        }
    }
}

/// The name of a revert (`MissingProofType`), for assertions.
pub(crate) fn name(r: &Result<(), Revert>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(revert) => revert.name(),
    }
}
