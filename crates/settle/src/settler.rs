//! The settler: follows a [`ProofSource`], checks each batch against the native multi-proof
//! policy, and settles it on the rollup (`commitBatch`, then `verifyBatch`), one batch at a
//! time, in order.
//!
//! Restart safety comes from three rules:
//! 1. the rollup is the truth: every step starts from its state (last settled batch, last
//!    committed batch), so a batch the rollup settled is never sent again and the next batch
//!    is always the one after it (nothing is skipped);
//! 2. every transaction is written to the [`Store`] before it is broadcast, so after a crash
//!    the settler waits for (and re-broadcasts) the transaction it already signed instead of
//!    signing another;
//! 3. a batch is recorded as settled only after the `verifyBatch` receipt is confirmed,
//!    carries the rollup's `BatchVerified` event for exactly this batch and public values, and
//!    the rollup reports the batch settled.

use crate::{
    contracts::{AttestVerifier, CairnRollup},
    deploy::{DeployedProofType, Deployment, VerifierKind},
    error::{CommitmentConflict, Error, Result, TxKind},
    l1::{Ctx, L1, Mined, SignedTx},
    source::{Candidate, ProofSource},
    store::{Identity, SettledBatch, Store, TxState},
};
use alloy_primitives::{Address, B256, Bytes};
use alloy_sol_types::{SolCall, SolEvent};
use cairn_prover::{
    AttestBackend, AttestDomain, BackendId, Policy, ProverBackend, PublicValues, Seg,
    SignerRegistry,
    backend::{
        CancellationToken, Proved,
        attest::{Evidence, NoTee, Registration},
    },
    policy::{ProofOutcome, Trusted, verify_seg},
};
use std::{
    collections::HashSet,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};
use tracing::{info, warn};

/// The rollup's state, read at the start of every step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollupTip {
    /// Last settled batch.
    pub last_verified: u64,
    /// Last committed batch.
    pub last_committed: u64,
    /// Last settled block.
    pub last_block: u64,
    /// State root after it.
    pub state_root: B256,
    /// QMTree root after it.
    pub qm_root: B256,
}

/// Timings and gas of one settled batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCost {
    /// Gas of our `commitBatch` (0 when it was already committed).
    pub commit_gas: u64,
    /// Gas of the `verifyBatch`.
    pub verify_gas: u64,
    /// Calldata bytes of the `verifyBatch`.
    pub verify_calldata: usize,
    /// QMTree leaves after the batch.
    pub leaves: u64,
    /// Time from picking the batch up to recording it settled.
    pub latency: Duration,
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A batch was settled.
    Settled(Box<SettledBatch>, BatchCost),
    /// Batches settled on L1 by someone else (or before a crash) were recorded.
    CaughtUp {
        /// The rollup's last settled batch.
        through: u64,
    },
    /// No proof file continues the settled chain yet.
    Waiting {
        /// The block the next batch must start at.
        next_block: u64,
        /// Candidates that were refused (origin and reason).
        refused: Vec<(String, String)>,
    },
}

/// Counters of what the settler got over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Transactions dropped because another transaction took their nonce.
    pub nonce_taken: u64,
    /// Steps retried after a transient failure.
    pub transient_failures: u64,
    /// Our transactions that reverted after an estimate said they would not (a race).
    pub raced_reverts: u64,
}

/// How [`Settler::run`] loops.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Return when no proof file continues the settled chain.
    pub exit_when_idle: bool,
    /// Interval between looks at the source while waiting.
    pub idle_poll: Duration,
    /// Stop after settling this many batches.
    pub max_batches: Option<u64>,
    /// Return the error after this many consecutive transient failures (`None`: keep trying).
    pub max_transient_failures: Option<u64>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            exit_when_idle: false,
            idle_poll: Duration::from_secs(2),
            max_batches: None,
            max_transient_failures: None,
        }
    }
}

/// A [`ProverBackend`] under another identity: the attest backend verifying the proofs of
/// one signer set, named after the `.seg` backend identity of its proof type.
#[derive(Debug)]
struct Named {
    id: BackendId,
    inner: AttestBackend,
}

#[async_trait::async_trait]
impl ProverBackend for Named {
    fn id(&self) -> BackendId {
        self.id.clone()
    }

    fn program_id(&self) -> B256 {
        self.inner.program_id()
    }

    async fn prove(&self, input: Bytes, cancel: CancellationToken) -> cairn_prover::Result<Proved> {
        self.inner.prove(input, cancel).await
    }

    async fn verify(&self, proof: Bytes) -> cairn_prover::Result<PublicValues> {
        self.inner.verify(proof).await
    }
}

/// Blocks per `eth_getLogs` request.
pub const LOG_WINDOW: u64 = 10_000;

/// Bytes of the on-chain attest proof: the `AttestProof` encoding without its public values.
pub const ONCHAIN_ATTEST_LEN: usize = 126;

/// The proofs `verifyBatch` gets from a `.seg` file: one per deployed proof type the file has
/// a proof for (attest proofs without their public values, which the rollup holds).
pub fn onchain_proofs(seg: &Seg, types: &[DeployedProofType]) -> Vec<CairnRollup::Proof> {
    types
        .iter()
        .filter_map(|t| {
            let id = t.backend_id().ok()?;
            let proof = seg.proofs.iter().find(|p| p.backend == id)?;
            let data = match t.verifier {
                VerifierKind::Attest => {
                    Bytes::copy_from_slice(proof.proof.get(..ONCHAIN_ATTEST_LEN)?)
                }
                VerifierKind::Zk => proof.proof.clone(),
            };
            Some(CairnRollup::Proof {
                proofType: t.id,
                data,
            })
        })
        .collect()
}

/// A file's identity for the refused set: the hash of its bytes.
fn content_hash(seg: &Seg) -> B256 {
    seg.to_bytes()
        .map(alloy_primitives::keccak256)
        .unwrap_or_default()
}

/// The settler.
#[derive(Debug)]
pub struct Settler<S> {
    l1: L1,
    deployment: Deployment,
    store: Store,
    source: S,
    /// Candidates refused by the policy (origin and content hash), not tried again.
    refused: HashSet<(String, B256)>,
    stats: Stats,
}

impl<S: ProofSource> Settler<S> {
    /// A settler of `deployment` over `l1`, recording in the store at `store_path`.
    ///
    /// # Errors
    /// [`Error::WrongL1Chain`] when the RPC is not the deployment's chain; [`Error::Config`]
    /// when no rollup is deployed at its address; store errors.
    pub async fn new(l1: L1, deployment: Deployment, store_path: &Path, source: S) -> Result<Self> {
        if l1.chain_id() != deployment.l1_chain_id {
            return Err(Error::WrongL1Chain {
                url: l1.url().to_string(),
                expected: deployment.l1_chain_id,
                got: l1.chain_id(),
            });
        }
        if l1.code(deployment.rollup).await?.is_empty() {
            return Err(Error::Config {
                path: store_path.to_path_buf(),
                reason: format!(
                    "no contract at the rollup address {} on chain {}",
                    deployment.rollup, deployment.l1_chain_id
                ),
            });
        }
        let store = Store::open(
            store_path,
            Identity {
                l1_chain_id: deployment.l1_chain_id,
                rollup: deployment.rollup,
                sender: l1.address(),
            },
        )?;
        Ok(Self {
            l1,
            deployment,
            store,
            source,
            refused: HashSet::new(),
            stats: Stats::default(),
        })
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The L1 client.
    pub fn l1(&self) -> &L1 {
        &self.l1
    }

    fn ctx(batch: u64, kind: TxKind) -> Ctx {
        Ctx { batch, kind }
    }

    async fn view<C: SolCall>(&self, call: C) -> Result<C::Return> {
        self.l1
            .call(
                self.deployment.rollup,
                &call,
                None,
                Self::ctx(0, TxKind::Verify),
            )
            .await
    }

    /// Reads the rollup's state.
    ///
    /// # Errors
    /// RPC errors.
    pub async fn tip(&self) -> Result<RollupTip> {
        let tip = read_tip(&self.l1, self.deployment.rollup).await?;
        if tip.last_committed < tip.last_verified {
            return Err(Error::RpcInconsistent {
                url: self.l1.url().to_string(),
                what: format!(
                    "the rollup reports batch {} settled but only {} committed",
                    tip.last_verified, tip.last_committed
                ),
            });
        }
        Ok(tip)
    }

    /// Settles batches until told to stop (see [`RunOptions`]); `on_step` sees every step.
    ///
    /// # Errors
    /// The first error that is not transient, or a transient one repeated beyond
    /// [`RunOptions::max_transient_failures`].
    pub async fn run(&mut self, opts: &RunOptions, mut on_step: impl FnMut(&Step)) -> Result<()> {
        let mut settled = 0u64;
        let mut failures = 0u64;
        let mut backoff = Duration::from_millis(250);
        loop {
            match self.step().await {
                Ok(step) => {
                    failures = 0;
                    backoff = Duration::from_millis(250);
                    on_step(&step);
                    match step {
                        Step::Settled(..) => {
                            settled += 1;
                            if opts.max_batches.is_some_and(|m| settled >= m) {
                                return Ok(());
                            }
                        }
                        Step::CaughtUp { .. } => {}
                        Step::Waiting { .. } if opts.exit_when_idle => return Ok(()),
                        Step::Waiting { .. } => tokio::time::sleep(opts.idle_poll).await,
                    }
                }
                Err(e) if e.is_transient() => {
                    failures += 1;
                    self.stats.transient_failures += 1;
                    if matches!(e, Error::NonceTaken { .. }) {
                        self.stats.nonce_taken += 1;
                    }
                    if opts.max_transient_failures.is_some_and(|m| failures > m) {
                        return Err(e);
                    }
                    warn!(target: "cairn::settle", error = %e, retry_in_ms = backoff.as_millis() as u64, "transient failure; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One step: catch up with the rollup, or settle the next batch, or report waiting.
    ///
    /// # Errors
    /// See [`Error`]; [`Error::is_transient`] tells which a retry may get over.
    pub async fn step(&mut self) -> Result<Step> {
        let tip = self.tip().await?;
        let local = self.store.last_settled()?;
        if local > tip.last_verified {
            return Err(Error::StoreAhead {
                path: self.store.path().to_path_buf(),
                batch: local,
                on_chain: tip.last_verified,
            });
        }
        if local < tip.last_verified {
            self.catch_up(local, tip.last_verified).await?;
            return Ok(Step::CaughtUp {
                through: tip.last_verified,
            });
        }
        let batch = tip.last_verified + 1;
        let next_block = tip.last_block + 1;
        let started = Instant::now();
        let mut refused = Vec::new();
        let mut chosen = None;
        for candidate in self.source.candidates(next_block).await? {
            let key = (candidate.origin.clone(), content_hash(&candidate.seg));
            if self.refused.contains(&key) {
                continue;
            }
            match self.check_policy(&candidate, &tip).await {
                Ok(()) => {
                    chosen = Some(candidate);
                    break;
                }
                Err(Error::Rejected { origin, reason, .. }) => {
                    warn!(target: "cairn::settle", %origin, %reason, "proof file refused by the policy");
                    self.refused.insert(key);
                    refused.push((origin, reason));
                }
                Err(e) => return Err(e),
            }
        }
        let Some(candidate) = chosen else {
            return Ok(Step::Waiting {
                next_block,
                refused,
            });
        };
        let (settled, cost) = self.settle(batch, &candidate, &tip, started).await?;
        Ok(Step::Settled(Box::new(settled), cost))
    }

    /// Records batches `from + 1 ..= through`, which the rollup settled, from its events
    /// (read in windows of [`LOG_WINDOW`] blocks from the rollup's creation, as RPC providers
    /// bound `eth_getLogs` ranges).
    async fn catch_up(&mut self, from: u64, through: u64) -> Result<()> {
        let head = self.l1.block_number().await?;
        let mut found = std::collections::BTreeMap::new();
        let mut start = self.deployment.deploy_block;
        while start <= head && (found.len() as u64) < through - from {
            let end = start.saturating_add(LOG_WINDOW - 1).min(head);
            let logs = self
                .l1
                .logs(
                    self.deployment.rollup,
                    CairnRollup::BatchVerified::SIGNATURE_HASH,
                    start,
                    end,
                )
                .await?;
            for log in logs {
                if let Ok(event) = CairnRollup::BatchVerified::decode_log_data(log.data())
                    && event.batch > from
                    && event.batch <= through
                {
                    found.insert(event.batch, (event, log));
                }
            }
            start = end + 1;
        }
        for batch in from + 1..=through {
            let Some((event, log)) = found.remove(&batch) else {
                return Err(Error::RpcInconsistent {
                    url: self.l1.url().to_string(),
                    what: format!(
                        "the rollup reports batch {through} settled but has no BatchVerified event for batch {batch}"
                    ),
                });
            };
            info!(target: "cairn::settle", batch, first = event.firstBlock, last = event.lastBlock, "found settled on L1; recorded");
            self.store.record_settled(&SettledBatch {
                batch,
                first_block: event.firstBlock,
                last_block: event.lastBlock,
                public_values_hash: event.publicValuesHash,
                state_root: event.stateRoot,
                qm_root: event.qmRoot,
                commit_tx: None,
                verify_tx: log.transaction_hash.unwrap_or_default(),
                verify_block: log.block_number.unwrap_or_default(),
                origin: "l1".into(),
            })?;
        }
        Ok(())
    }

    /// The native multi-proof policy: the file's binding, its chain and roots against the
    /// rollup's, every attest proof against its signer set as the rollup holds it now, a proof
    /// of every required type; ZK proofs by their on-chain verifier (`eth_call`).
    async fn check_policy(&self, candidate: &Candidate, tip: &RollupTip) -> Result<()> {
        let seg = &candidate.seg;
        let pv = &seg.public_values;
        let reject = |reason: String| Error::Rejected {
            origin: candidate.origin.clone(),
            first: pv.firstBlock,
            last: pv.lastBlock,
            reason,
        };
        if seg.program_id != self.deployment.program_id {
            return Err(reject(format!(
                "program {} is not the rollup's {}",
                seg.program_id, self.deployment.program_id
            )));
        }
        if pv.initialStateRoot != tip.state_root {
            return Err(reject(format!(
                "starts from state root {}, the rollup's is {}",
                pv.initialStateRoot, tip.state_root
            )));
        }
        let mut verifiers: Vec<Arc<dyn ProverBackend>> = Vec::new();
        let mut require = Vec::new();
        // ZK proofs verified by their on-chain verifier (`eth_call`), counted for the policy.
        let mut zk_verified = Vec::new();
        for t in &self.deployment.proof_types {
            let id = t.backend_id()?;
            if t.required {
                require.push(id.to_string());
            }
            // The rollup's current route (the owner may have replaced the verifier).
            let address = self
                .view(CairnRollup::verifierOfCall { proofType: t.id })
                .await?;
            if address.is_zero() {
                continue;
            }
            match t.verifier {
                VerifierKind::Attest => {
                    let signers = self
                        .l1
                        .call(
                            address,
                            &AttestVerifier::signersCall {},
                            None,
                            Self::ctx(0, TxKind::Verify),
                        )
                        .await?;
                    let mut registry = SignerRegistry::new();
                    for address in signers {
                        registry.register(
                            Registration {
                                address,
                                evidence: Evidence::None,
                                note: None,
                            },
                            &self.deployment.program_id,
                            &NoTee,
                        )?;
                    }
                    let domain = AttestDomain {
                        chain_id: self.deployment.l1_chain_id,
                        verifying_contract: address,
                    };
                    let inner = AttestBackend::new(domain, None, Arc::new(registry))
                        .with_program_id(self.deployment.program_id);
                    verifiers.push(Arc::new(Named { id, inner }));
                }
                VerifierKind::Zk => {
                    if let Some(proof) = seg.proofs.iter().find(|p| p.backend == id) {
                        // Every IProofVerifier has AttestVerifier's `verifyProof` ABI.
                        let call = AttestVerifier::verifyProofCall {
                            programId: self.deployment.program_id,
                            publicValuesHash: pv.hash(),
                            proof: proof.proof.clone(),
                        };
                        self.l1
                            .call(address, &call, None, Self::ctx(0, TxKind::Verify))
                            .await
                            .map_err(|e| match e {
                                Error::WouldRevert { revert, .. } => {
                                    reject(format!("the {id} proof: {revert}"))
                                }
                                other => other,
                            })?;
                        zk_verified.push(id.to_string());
                    }
                }
            }
        }
        let policy = Policy {
            require: require
                .iter()
                .filter(|r| !zk_verified.contains(r))
                .cloned()
                .collect(),
            min_distinct: 1,
        };
        if policy.require.is_empty() {
            // Every required proof is a ZK proof, checked on chain above: what is left is the
            // binding and the chain, against the rollup's.
            let roots = seg.binding.verify(pv).map_err(|e| reject(e.to_string()))?;
            if pv.chainId != self.deployment.anchor.chain_id
                || pv.chainConfigHash != self.deployment.anchor.chain_config_hash
            {
                return Err(reject("another chain or chain configuration".into()));
            }
            if roots.root_before != tip.qm_root {
                return Err(reject(format!(
                    "QMTree root before the batch {} is not the rollup's {}",
                    roots.root_before, tip.qm_root
                )));
            }
            return Ok(());
        }
        let trusted = Trusted {
            chain_id: self.deployment.anchor.chain_id,
            chain_config_hash: self.deployment.anchor.chain_config_hash,
            root_before: tip.qm_root,
            root_after: seg.binding.rootAfter,
        };
        let report = verify_seg(seg, &verifiers, &policy, Some(&trusted))
            .await
            .map_err(|e| reject(e.to_string()))?;
        report.verdict.map_err(|e| {
            // Say why each failed proof failed, not only that one did.
            let failed: Vec<String> = report
                .proofs
                .iter()
                .filter_map(|(id, outcome)| match outcome {
                    ProofOutcome::Failed(why) => Some(format!("{id}: {why}")),
                    _ => None,
                })
                .collect();
            if failed.is_empty() {
                reject(e.to_string())
            } else {
                reject(format!("{e} ({})", failed.join("; ")))
            }
        })
    }

    /// Commits (unless the rollup holds the commitment already) and verifies `batch`.
    async fn settle(
        &mut self,
        batch: u64,
        candidate: &Candidate,
        tip: &RollupTip,
        started: Instant,
    ) -> Result<(SettledBatch, BatchCost)> {
        let seg = &candidate.seg;
        let pv_hash = seg.public_values.hash();
        let root = seg.binding.rootAfter;
        let mut cost = BatchCost {
            leaves: seg.binding.leafCountAfter,
            ..Default::default()
        };
        let mut commit_tx = None;

        // Commit.
        if tip.last_committed >= batch {
            let held = self.view(CairnRollup::commitmentOfCall { batch }).await?;
            if held.publicValuesHash != pv_hash || held.root != root {
                return Err(Error::CommittedOther(Box::new(CommitmentConflict {
                    batch,
                    committed_hash: held.publicValuesHash,
                    committed_root: held.root,
                    ours_hash: pv_hash,
                    ours_root: root,
                })));
            }
            // Ours, from before a restart? Then its record is completed here.
            for record in self.store.pending(batch, TxKind::Commit)? {
                if let Some(receipt) = self.l1.receipt(record.tx.hash).await?
                    && receipt.status()
                {
                    self.store
                        .set_state(record.tx.hash, TxState::Mined, receipt.block_number)?;
                    commit_tx = Some(record.tx.hash);
                    cost.commit_gas = receipt.gas_used;
                } else {
                    self.store
                        .set_state(record.tx.hash, TxState::Dropped, None)?;
                }
            }
        } else {
            let input: Bytes = CairnRollup::commitBatchCall {
                batch,
                publicValuesHash: pv_hash,
                root,
            }
            .abi_encode()
            .into();
            let mined = match self.transact(batch, TxKind::Commit, input).await {
                Ok(mined) => mined,
                Err(e @ Error::Reverted { .. }) => {
                    // Committed by someone else in between? Then carry on from the rollup.
                    if self.tip().await?.last_committed >= batch {
                        self.stats.raced_reverts += 1;
                        warn!(target: "cairn::settle", batch, error = %e, "commit raced another; continuing from the rollup's state");
                        return Box::pin(self.settle(
                            batch,
                            candidate,
                            &self.tip().await?,
                            started,
                        ))
                        .await;
                    }
                    return Err(e);
                }
                Err(e) => return Err(e),
            };
            self.check_event(
                &mined,
                |log| {
                    CairnRollup::BatchCommitted::decode_log_data(log.data()).is_ok_and(|e| {
                        e.batch == batch && e.publicValuesHash == pv_hash && e.qmRoot == root
                    })
                },
                "BatchCommitted",
                batch,
            )?;
            commit_tx = Some(mined.receipt.transaction_hash);
            cost.commit_gas = mined.receipt.gas_used;
            info!(target: "cairn::settle", batch, tx = %mined.receipt.transaction_hash, block = mined.block, gas = mined.receipt.gas_used, "committed");
        }

        // Verify.
        let proofs = onchain_proofs(seg, &self.deployment.proof_types);
        let input: Bytes = CairnRollup::verifyBatchCall {
            batch,
            pv: crate::contracts::public_values_abi(&seg.public_values),
            binding: crate::contracts::binding_abi(&seg.binding),
            proofs,
        }
        .abi_encode()
        .into();
        cost.verify_calldata = input.len();
        let mined = match self.transact(batch, TxKind::Verify, input).await {
            Ok(mined) => mined,
            Err(e @ (Error::Reverted { .. } | Error::WouldRevert { .. })) => {
                if self.tip().await?.last_verified >= batch {
                    // Settled by someone else (or by our own earlier transaction).
                    self.stats.raced_reverts += 1;
                    warn!(target: "cairn::settle", batch, error = %e, "batch settled by another transaction");
                    let local = self.store.last_settled()?;
                    self.catch_up(local, batch).await?;
                    let settled = self
                        .store
                        .settled()?
                        .into_iter()
                        .find(|s| s.batch == batch)
                        .ok_or(e)?;
                    cost.latency = started.elapsed();
                    return Ok((settled, cost));
                }
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        let pv = &seg.public_values;
        self.check_event(
            &mined,
            |log| {
                CairnRollup::BatchVerified::decode_log_data(log.data()).is_ok_and(|e| {
                    e.batch == batch
                        && e.firstBlock == pv.firstBlock
                        && e.lastBlock == pv.lastBlock
                        && e.stateRoot == pv.finalStateRoot
                        && e.qmRoot == root
                        && e.publicValuesHash == pv_hash
                })
            },
            "BatchVerified",
            batch,
        )?;
        let now_verified = self.view(CairnRollup::lastVerifiedBatchCall {}).await?;
        if now_verified < batch {
            return Err(Error::RpcInconsistent {
                url: self.l1.url().to_string(),
                what: format!(
                    "verifyBatch({batch}) succeeded in block {} but the rollup's last settled batch is {now_verified}",
                    mined.block
                ),
            });
        }
        cost.verify_gas = mined.receipt.gas_used;
        let settled = SettledBatch {
            batch,
            first_block: pv.firstBlock,
            last_block: pv.lastBlock,
            public_values_hash: pv_hash,
            state_root: pv.finalStateRoot,
            qm_root: root,
            commit_tx,
            verify_tx: mined.receipt.transaction_hash,
            verify_block: mined.block,
            origin: candidate.origin.clone(),
        };
        self.store.record_settled(&settled)?;
        cost.latency = started.elapsed();
        info!(target: "cairn::settle", batch, first = pv.firstBlock, last = pv.lastBlock, tx = %mined.receipt.transaction_hash, gas = mined.receipt.gas_used, "settled");
        Ok((settled, cost))
    }

    /// The receipt must carry the rollup's event as `matches` describes it.
    fn check_event(
        &self,
        mined: &Mined,
        matches: impl Fn(&alloy_rpc_types_eth::Log) -> bool,
        event: &str,
        batch: u64,
    ) -> Result<()> {
        let found = mined
            .logs()
            .iter()
            .any(|log| log.address() == self.deployment.rollup && matches(log));
        if found {
            return Ok(());
        }
        Err(Error::RpcInconsistent {
            url: self.l1.url().to_string(),
            what: format!(
                "the receipt of {} (batch {batch}) reports success without the rollup's {event} event for it",
                mined.receipt.transaction_hash
            ),
        })
    }

    /// Sends `input` to the rollup as the `kind` transaction of `batch`, or waits for the one
    /// already recorded; returns it mined and confirmed, or [`Error::Reverted`].
    async fn transact(&mut self, batch: u64, kind: TxKind, input: Bytes) -> Result<Mined> {
        let ctx = Self::ctx(batch, kind);
        // A transaction signed before a restart: wait for it (broadcasting it again).
        let mut resumed = None;
        for record in self.store.pending(batch, kind)? {
            match self.l1.broadcast(&record.tx, ctx).await {
                Ok(()) => {
                    resumed = Some(record.tx);
                    break;
                }
                Err(Error::NonceTaken { .. }) => {
                    self.store
                        .set_state(record.tx.hash, TxState::Dropped, None)?;
                    self.stats.nonce_taken += 1;
                }
                Err(e) => return Err(e),
            }
        }
        let tx = match resumed {
            Some(tx) => {
                info!(target: "cairn::settle", batch, %kind, tx = %tx.hash, nonce = tx.nonce, "resuming a transaction signed before a restart");
                tx
            }
            None => {
                let nonce = self.l1.nonce(true).await?;
                let tx = self
                    .l1
                    .prepare(Some(self.deployment.rollup), input, nonce, ctx)
                    .await?;
                // Durable before it leaves: a crash from here on finds it.
                self.store.record_sent(batch, kind, &tx)?;
                self.l1.broadcast(&tx, ctx).await.inspect_err(|e| {
                    if matches!(e, Error::NonceTaken { .. }) {
                        let _ = self.store.set_state(tx.hash, TxState::Dropped, None);
                    }
                })?;
                tx
            }
        };
        self.wait(&tx, batch, kind).await
    }

    async fn wait(&mut self, tx: &SignedTx, batch: u64, kind: TxKind) -> Result<Mined> {
        let ctx = Self::ctx(batch, kind);
        let mined = match self.l1.confirm(tx, ctx).await {
            Ok(mined) => mined,
            Err(e @ Error::NonceTaken { .. }) => {
                self.store.set_state(tx.hash, TxState::Dropped, None)?;
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        if !mined.success {
            self.store
                .set_state(tx.hash, TxState::Reverted, Some(mined.block))?;
            let revert = Box::new(self.l1.revert_reason(tx, mined.block, ctx).await);
            return Err(Error::Reverted {
                batch,
                kind,
                tx: tx.hash,
                block: mined.block,
                revert,
            });
        }
        self.store
            .set_state(tx.hash, TxState::Mined, Some(mined.block))?;
        Ok(mined)
    }
}

/// The rollup's current tip read through `l1` (for tools and tests).
///
/// # Errors
/// RPC errors.
pub async fn read_tip(l1: &L1, rollup: Address) -> Result<RollupTip> {
    let ctx = Ctx {
        batch: 0,
        kind: TxKind::Verify,
    };
    Ok(RollupTip {
        last_verified: l1
            .call(rollup, &CairnRollup::lastVerifiedBatchCall {}, None, ctx)
            .await?,
        last_committed: l1
            .call(rollup, &CairnRollup::lastCommittedBatchCall {}, None, ctx)
            .await?,
        last_block: l1
            .call(rollup, &CairnRollup::lastBlockCall {}, None, ctx)
            .await?,
        state_root: l1
            .call(rollup, &CairnRollup::stateRootCall {}, None, ctx)
            .await?,
        qm_root: l1
            .call(rollup, &CairnRollup::qmRootCall {}, None, ctx)
            .await?,
    })
}
