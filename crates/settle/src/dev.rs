//! The dev setup behind `cairn settle --dev` and the tests: anvil as L1, two attest signer
//! sets registered as two required proof types, the embedded dev chain imported into a
//! committing node, and its batches proved by both attesters into `.seg` files.
//!
//! **The dev keys are public** (derived from fixed strings): anything they sign proves
//! nothing outside a dev chain.

use crate::{
    deploy::{Anchor, DeployConfig, Deployment, ProofTypeConfig, VerifierKind},
    error::Result,
};
use alloy_primitives::{Bytes, keccak256};
use cairn_exec::{
    commit::Node,
    devchain::{DevChainParams, generate},
};
use cairn_prover::{
    AttestBackend, AttestDomain, AttestSigner, BackendId, BackendKind, PROGRAM_ID, ProverBackend,
    Seg, SegProof, SignerRegistry,
    backend::{
        CancellationToken,
        attest::{Evidence, NoTee, Registration},
    },
    batch::from_node,
    encode_input,
};
use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

/// A dev attester: the `.seg` identity of its proofs, its proof type, and its (public) key.
#[derive(Debug, Clone)]
pub struct DevAttester {
    /// `.seg` backend identity (`tee/attest-a`).
    pub backend: BackendId,
    /// The rollup's proof type.
    pub proof_type: u8,
    /// The signing key (derived from a public string: dev only).
    pub signer: AttestSigner,
}

/// The two dev attesters: `tee/attest-a` (proof type 1) and `tee/attest-b` (proof type 2).
pub fn dev_attesters() -> Vec<DevAttester> {
    ["a", "b"]
        .iter()
        .zip([1u8, 2])
        .map(|(name, proof_type)| DevAttester {
            backend: BackendId {
                kind: BackendKind::Tee,
                name: format!("attest-{name}"),
            },
            proof_type,
            signer: AttestSigner::from_bytes(
                keccak256(format!("cairn.dev.attest.{name}")).as_slice(),
            )
            .expect("a keccak hash is a valid secp256k1 key with overwhelming probability"),
        })
        .collect()
}

/// A deployment configuration requiring one proof per attester.
pub fn dev_config(attesters: &[DevAttester]) -> DeployConfig {
    DeployConfig {
        owner: None,
        proposer: None,
        program_id: None,
        chain: Default::default(),
        proof: attesters
            .iter()
            .map(|a| ProofTypeConfig {
                id: a.proof_type,
                backend: a.backend.to_string(),
                required: true,
                verifier: VerifierKind::Attest,
                signers: vec![a.signer.address()],
                zk_verifier: None,
                hash_index: 0,
            })
            .collect(),
    }
}

/// The dev chain (`blocks` blocks) imported into an in-memory committing node.
///
/// # Errors
/// Generation and import errors.
pub fn dev_node(params: DevChainParams) -> Result<Node<cairn_qmtree::MemoryBackend>> {
    let file = generate(params)?;
    let mut node = Node::in_memory(&file)?;
    for i in 0..file.blocks.len() {
        node.import(&file.block(i)?)?;
    }
    Ok(node)
}

/// The anchor of a node at its genesis.
///
/// # Errors
/// QMTree errors.
pub fn genesis_anchor<B: cairn_qmtree::Backend>(node: &Node<B>) -> Result<Anchor> {
    Anchor::from_node(node, 0)
}

/// Proves blocks `first..=last` of `node` with every attester (each runs the stateless
/// program on the batch's input and signs its public values for its verifier on L1) and
/// returns the `.seg` contents.
///
/// # Errors
/// Batch, proving and attestation errors.
pub async fn prove_batch<B: cairn_qmtree::Backend>(
    node: &Node<B>,
    first: u64,
    last: u64,
    attesters: &[DevAttester],
    deployment: &Deployment,
) -> Result<Seg> {
    let batch = from_node(node, first, last)?;
    let input: Bytes = encode_input(&batch.input).into();
    let mut proofs = Vec::with_capacity(attesters.len());
    for a in attesters {
        let verifier = deployment
            .proof_types
            .iter()
            .find(|t| t.id == a.proof_type)
            .map(|t| t.address)
            .unwrap_or_default();
        let domain = AttestDomain {
            chain_id: deployment.l1_chain_id,
            verifying_contract: verifier,
        };
        let mut registry = SignerRegistry::new();
        registry.register(
            Registration {
                address: a.signer.address(),
                evidence: Evidence::None,
                note: Some("dev".into()),
            },
            &PROGRAM_ID,
            &NoTee,
        )?;
        let backend = AttestBackend::new(domain, Some(a.signer.clone()), Arc::new(registry));
        let proved = backend
            .prove(input.clone(), CancellationToken::new())
            .await?;
        if proved.public_values != batch.public_values {
            return Err(cairn_prover::Error::PublicValuesMismatch {
                first,
                last,
                claimed: batch.public_values.hash(),
                proven: proved.public_values.hash(),
            }
            .into());
        }
        proofs.push(SegProof {
            backend: a.backend.clone(),
            proof: proved.proof,
        });
    }
    Ok(Seg {
        program_id: PROGRAM_ID,
        public_values: batch.public_values,
        binding: batch.binding,
        proofs,
    })
}

/// Writes `seg` to `dir` as `blocks-<first>-<last>.seg` (atomically) and returns the path.
///
/// # Errors
/// [`cairn_prover::Error`] I/O errors.
pub fn write_seg(dir: &Path, seg: &Seg) -> Result<PathBuf> {
    let path = dir.join(format!(
        "blocks-{:08}-{:08}.seg",
        seg.first_block(),
        seg.last_block()
    ));
    seg.write_atomic(&path)?;
    Ok(path)
}

/// The block ranges of `batches` batches of `size` blocks from block 1.
pub fn ranges(batches: u64, size: u64) -> Vec<(u64, u64)> {
    (0..batches)
        .map(|i| (1 + i * size, (i + 1) * size))
        .collect()
}

/// Default dev-chain parameters for `cairn settle --dev` (the embedded dev chain).
pub fn dev_chain_params() -> DevChainParams {
    DevChainParams::default()
}

/// What a dev run does.
#[derive(Debug, Clone)]
pub struct DevOptions {
    /// Batches to prove and settle.
    pub batches: u64,
    /// Blocks per batch.
    pub batch_blocks: u64,
    /// Where the `.seg` files go.
    pub seg_dir: PathBuf,
    /// The settler's store.
    pub store: PathBuf,
    /// L1 client options.
    pub l1: crate::l1::L1Options,
}

/// What a dev run did.
#[derive(Debug, Clone)]
pub struct DevRun {
    /// The deployment.
    pub deployment: Deployment,
    /// One row per settled batch.
    pub rows: Vec<crate::bench::SettleRow>,
    /// The rollup's state at the end.
    pub tip: crate::settler::RollupTip,
    /// The node's state root after the last settled block.
    pub node_state_root: alloy_primitives::B256,
    /// The node's QMTree root after the last settled block.
    pub node_qm_root: alloy_primitives::B256,
}

/// Deploys the dev contracts on the L1 at `rpc` (anvil: the sender is its first dev
/// account), proves `opts.batches` batches of `node` into `.seg` files with both dev
/// attesters, and settles them with the [`Settler`](crate::Settler) following that
/// directory; `on_row` sees each settled batch.
///
/// # Errors
/// Deployment, proving, settling and RPC errors.
pub async fn run_dev<B: cairn_qmtree::Backend>(
    rpc: &str,
    node: &Node<B>,
    opts: &DevOptions,
    mut on_row: impl FnMut(&crate::bench::SettleRow),
) -> Result<DevRun> {
    use crate::{
        error::Error,
        l1::{KeySource, L1, load_signer},
        settler::{RunOptions, Settler, Step, read_tip},
        source::SegDir,
    };
    let signer = load_signer(&KeySource::PrivateKey(
        cairn_devtools::ANVIL_KEYS[0].to_string(),
    ))?;
    let l1 = L1::connect(rpc, signer, None, opts.l1.clone()).await?;
    let attesters = dev_attesters();
    let deployment =
        crate::deploy::deploy(&l1, &dev_config(&attesters), genesis_anchor(node)?).await?;
    let last_needed = opts.batches * opts.batch_blocks;
    if node.head_number() < last_needed {
        return Err(Error::Config {
            path: opts.seg_dir.clone(),
            reason: format!(
                "{} batches of {} blocks need block {last_needed}; the chain ends at {}",
                opts.batches,
                opts.batch_blocks,
                node.head_number()
            ),
        });
    }
    std::fs::create_dir_all(&opts.seg_dir).map_err(|source| Error::Io {
        path: opts.seg_dir.clone(),
        source,
    })?;
    for (first, last) in ranges(opts.batches, opts.batch_blocks) {
        let seg = prove_batch(node, first, last, &attesters, &deployment).await?;
        write_seg(&opts.seg_dir, &seg)?;
    }
    let mut settler = Settler::new(
        l1.clone(),
        deployment.clone(),
        &opts.store,
        SegDir::new(&opts.seg_dir)?,
    )
    .await?;
    let mut rows = Vec::new();
    let run = RunOptions {
        exit_when_idle: true,
        ..RunOptions::default()
    };
    settler
        .run(&run, |step| {
            if let Step::Settled(s, cost) = step {
                let row = crate::bench::SettleRow {
                    batch: s.batch,
                    blocks: (s.first_block, s.last_block),
                    leaves: cost.leaves,
                    commit_gas: cost.commit_gas,
                    verify_gas: cost.verify_gas,
                    verify_calldata: cost.verify_calldata,
                    latency: cost.latency,
                };
                on_row(&row);
                rows.push(row);
            }
        })
        .await?;
    let tip = read_tip(&l1, deployment.rollup).await?;
    let last = tip.last_block;
    let node_state_root = if last == 0 {
        genesis_anchor(node)?.state_root
    } else {
        node.block(last)
            .map(|b| b.header.state_root)
            .unwrap_or_default()
    };
    let node_qm_root = node
        .tree()
        .root_at(last)
        .map_err(|e| Error::Prover(e.into()))?;
    Ok(DevRun {
        deployment,
        rows,
        tip,
        node_state_root,
        node_qm_root,
    })
}
