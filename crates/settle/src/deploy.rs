//! Deployment: the configuration file `cairn deploy` reads (TOML), the deployment it prints
//! (JSON, the settler's input), and the deployment itself.
//!
//! ```toml
//! # Owner (configures the rollup and the signer sets) and proposer (commits batches);
//! # both default to the deploying account.
//! owner = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
//! # program_id = "0x…"    # default: this build's PROGRAM_ID
//!
//! [chain]                 # the proven chain and the last block already settled
//! datadir = "data/"       # take them from a `cairn replay --datadir` directory …
//! anchor_block = 0        # … at this block (default 0, the genesis)
//! # or give them: chain_id, chain_config_hash, anchor_state_root, anchor_qm_root
//!
//! [[proof]]               # one per proof type
//! id = 1                  # the proof type (0..=255)
//! backend = "tee/attest-a"  # which proof of a .seg file it reads (kind/name)
//! verifier = "attest"     # an AttestVerifier with these signers
//! signers = ["0x…"]
//! required = true         # every batch needs it (default true)
//!
//! [[proof]]
//! id = 3
//! backend = "zk/halo2"
//! verifier = "zk"         # a ZkProofVerifier in front of a Kroma-interface verifier
//! zk_verifier = "0x…"
//! hash_index = 12         # where the public-values hash (high, low limbs) sits in the instances
//! ```

use crate::{
    contracts::{AttestVerifier, CairnRollup, ZkProofVerifier},
    error::{Error, Result, TxKind},
    l1::{Ctx, L1},
};
use alloy_primitives::{Address, B256, Bytes};
use alloy_sol_types::SolConstructor;
use cairn_prover::{BackendId, BackendKind, PROGRAM_ID};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Which verifier contract a proof type routes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerifierKind {
    /// An `AttestVerifier` (a signer set).
    Attest,
    /// A `ZkProofVerifier` in front of a Kroma-interface ZK verifier.
    Zk,
}

/// One proof type of a deployment configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofTypeConfig {
    /// The proof type (the rollup's name for it).
    pub id: u8,
    /// The `.seg` backend identity whose proofs it reads (`kind/name`).
    pub backend: String,
    /// Whether every batch needs a proof of this type.
    #[serde(default = "yes")]
    pub required: bool,
    /// The verifier contract.
    pub verifier: VerifierKind,
    /// For `attest`: the initial signers.
    #[serde(default)]
    pub signers: Vec<Address>,
    /// For `zk`: the Kroma-interface verifier (e.g. a generated Halo2 verifier). Without it
    /// the type is routed nowhere until the owner plugs a verifier in (`setVerifier`).
    #[serde(default)]
    pub zk_verifier: Option<Address>,
    /// For `zk`: index of the public-values hash's high limb in the instances.
    #[serde(default)]
    pub hash_index: u64,
}

fn yes() -> bool {
    true
}

/// The proven chain and the anchor (the last block already settled).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainSection {
    /// A data directory (`cairn replay --datadir`) to take the chain and anchor from.
    #[serde(default)]
    pub datadir: Option<PathBuf>,
    /// The anchor block (default 0, the genesis).
    #[serde(default)]
    pub anchor_block: u64,
    /// The proven chain's id (without `datadir`).
    #[serde(default)]
    pub chain_id: Option<u64>,
    /// Its `chainConfigHash` (without `datadir`).
    #[serde(default)]
    pub chain_config_hash: Option<B256>,
    /// State root of the anchor block (without `datadir`).
    #[serde(default)]
    pub anchor_state_root: Option<B256>,
    /// QMTree root after the anchor block (without `datadir`).
    #[serde(default)]
    pub anchor_qm_root: Option<B256>,
}

/// `cairn deploy`'s configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployConfig {
    /// Owner of the rollup and the signer sets (default: the deployer).
    #[serde(default)]
    pub owner: Option<Address>,
    /// Proposer (default: the deployer).
    #[serde(default)]
    pub proposer: Option<Address>,
    /// Program id (default: this build's).
    #[serde(default)]
    pub program_id: Option<B256>,
    /// The proven chain.
    #[serde(default)]
    pub chain: ChainSection,
    /// The proof types.
    #[serde(default)]
    pub proof: Vec<ProofTypeConfig>,
}

/// The proven chain at the anchor block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Anchor {
    /// The proven chain's id.
    pub chain_id: u64,
    /// Its `chainConfigHash`.
    pub chain_config_hash: B256,
    /// The anchor block.
    pub block: u64,
    /// Its state root.
    pub state_root: B256,
    /// The QMTree root after it.
    pub qm_root: B256,
}

impl Anchor {
    /// The anchor of a node at block `number` (its chain, state root and QMTree root).
    ///
    /// # Errors
    /// [`Error::Config`] when the node has no such block; QMTree errors.
    pub fn from_node<B: cairn_qmtree::Backend>(
        node: &cairn_exec::commit::Node<B>,
        number: u64,
    ) -> Result<Self> {
        let config = node.chain().config();
        let state_root = if number == 0 {
            // The genesis is the tree's first closing leaf: its state root is the leaf's.
            node.tree()
                .leaf(0)
                .map_err(|e| Error::Prover(e.into()))?
                .components
                .pre_state_hash
        } else {
            node.block(number)
                .ok_or_else(|| Error::Config {
                    path: PathBuf::from("chain.anchor_block"),
                    reason: format!("the node has no block {number}"),
                })?
                .header
                .state_root
        };
        Ok(Self {
            chain_id: config.chain_id,
            chain_config_hash: cairn_prover::chain_config_hash(config),
            block: number,
            state_root,
            qm_root: node
                .tree()
                .root_at(number)
                .map_err(|e| Error::Prover(e.into()))?,
        })
    }
}

/// One deployed proof type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployedProofType {
    /// The proof type.
    pub id: u8,
    /// The `.seg` backend identity it reads (`kind/name`).
    pub backend: String,
    /// Whether every batch needs it.
    pub required: bool,
    /// The verifier's kind.
    pub verifier: VerifierKind,
    /// The `IProofVerifier` the rollup was deployed routing it to (zero: none yet). The
    /// owner may route it elsewhere later; the settler reads the rollup's current route.
    pub address: Address,
}

impl DeployedProofType {
    /// The backend identity.
    ///
    /// # Errors
    /// [`Error::Config`] for a malformed identity.
    pub fn backend_id(&self) -> Result<BackendId> {
        parse_backend_id(&self.backend)
    }
}

/// Parses `kind/name`.
///
/// # Errors
/// [`Error::Config`].
pub fn parse_backend_id(s: &str) -> Result<BackendId> {
    let bad = || Error::Config {
        path: PathBuf::from("backend"),
        reason: format!("{s:?} is not a backend identity kind/name (tee/attest-a, zk/halo2)"),
    };
    let (kind, name) = s.split_once('/').ok_or_else(bad)?;
    let kind = match kind {
        "exec" => BackendKind::Exec,
        "tee" => BackendKind::Tee,
        "zk" => BackendKind::Zk,
        _ => return Err(bad()),
    };
    BackendId::new(kind, name).ok_or_else(bad)
}

/// What `cairn deploy` prints and `cairn settle` reads: where everything is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// The L1 chain id.
    pub l1_chain_id: u64,
    /// The rollup.
    pub rollup: Address,
    /// The L1 block of the rollup's creation (where its events start).
    pub deploy_block: u64,
    /// Its owner.
    pub owner: Address,
    /// Its proposer.
    pub proposer: Address,
    /// The program id it accepts.
    pub program_id: B256,
    /// The proven chain and anchor.
    pub anchor: Anchor,
    /// The proof types.
    pub proof_types: Vec<DeployedProofType>,
}

impl Deployment {
    /// Reads a deployment file.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Config`].
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let deployment: Self = serde_json::from_str(&text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        for p in &deployment.proof_types {
            p.backend_id().map_err(|e| Error::Config {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        }
        Ok(deployment)
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Writes the JSON to `path` atomically (temporary file, `fsync`, rename).
    ///
    /// # Errors
    /// I/O errors naming the path.
    pub fn save(&self, path: &Path) -> Result<()> {
        cairn_prover::seg::write_atomic(path, format!("{}\n", self.to_json()).as_bytes())?;
        Ok(())
    }
}

impl DeployConfig {
    /// Reads a configuration file.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Config`] (syntax, unknown fields, missing settings).
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let config: Self = toml::from_str(&text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            reason: one_line_toml_error(&text, &e),
        })?;
        config.check().map_err(|reason| Error::Config {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(config)
    }

    /// Checks what the types cannot: proof types distinct and complete, the chain given one
    /// way.
    ///
    /// # Errors
    /// What is wrong.
    pub fn check(&self) -> std::result::Result<(), String> {
        if !self.proof.iter().any(|p| p.required) {
            return Err("no required proof type: every batch would settle without a proof".into());
        }
        for (i, p) in self.proof.iter().enumerate() {
            if self.proof[..i].iter().any(|q| q.id == p.id) {
                return Err(format!("proof type {} appears twice", p.id));
            }
            if self.proof[..i].iter().any(|q| q.backend == p.backend) {
                return Err(format!("backend {} appears twice", p.backend));
            }
            parse_backend_id(&p.backend).map_err(|e| e.to_string())?;
            match p.verifier {
                VerifierKind::Attest if p.signers.is_empty() => {
                    return Err(format!(
                        "proof type {}: an attest verifier needs signers",
                        p.id
                    ));
                }
                _ => {}
            }
        }
        let c = &self.chain;
        let explicit = [
            c.chain_id.is_some(),
            c.chain_config_hash.is_some(),
            c.anchor_state_root.is_some(),
            c.anchor_qm_root.is_some(),
        ];
        match (&c.datadir, explicit) {
            (Some(_), e) if e.iter().any(|x| *x) => {
                Err("[chain]: give either datadir or the chain's values, not both".into())
            }
            (None, e) if !e.iter().all(|x| *x) => Err(
                "[chain]: give datadir, or chain_id, chain_config_hash, anchor_state_root and anchor_qm_root"
                    .into(),
            ),
            _ => Ok(()),
        }
    }

    /// The anchor: from the data directory (opening it re-executes its chain) or the values.
    ///
    /// # Errors
    /// Data-directory errors; [`Error::Config`].
    pub fn anchor(&self) -> Result<Anchor> {
        let c = &self.chain;
        if let Some(dir) = &c.datadir {
            let node = cairn_exec::commit::Node::open(dir, None)?;
            return Anchor::from_node(&node, c.anchor_block);
        }
        let missing = |what: &str| Error::Config {
            path: PathBuf::from("[chain]"),
            reason: format!("{what} is missing"),
        };
        Ok(Anchor {
            chain_id: c.chain_id.ok_or_else(|| missing("chain_id"))?,
            chain_config_hash: c
                .chain_config_hash
                .ok_or_else(|| missing("chain_config_hash"))?,
            block: c.anchor_block,
            state_root: c
                .anchor_state_root
                .ok_or_else(|| missing("anchor_state_root"))?,
            qm_root: c.anchor_qm_root.ok_or_else(|| missing("anchor_qm_root"))?,
        })
    }
}

/// A TOML error as one line: `line L, column C: message`.
fn one_line_toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

/// Sends a contract creation and returns the new contract's address.
async fn create(l1: &L1, nonce: &mut u64, init: Bytes) -> Result<(Address, u64)> {
    let ctx = Ctx {
        batch: 0,
        kind: TxKind::Deploy,
    };
    let tx = l1.prepare(None, init, *nonce, ctx).await?;
    l1.broadcast(&tx, ctx).await?;
    let mined = l1.confirm(&tx, ctx).await?;
    if !mined.success {
        return Err(Error::Reverted {
            batch: 0,
            kind: TxKind::Deploy,
            tx: tx.hash,
            block: mined.block,
            revert: Box::new(crate::contracts::Revert::Other(Bytes::new())),
        });
    }
    *nonce += 1;
    let address = mined
        .receipt
        .contract_address
        .ok_or_else(|| Error::RpcInconsistent {
            url: l1.url().to_string(),
            what: format!(
                "the receipt of creation {} has no contract address",
                tx.hash
            ),
        })?;
    if l1.code(address).await?.is_empty() {
        return Err(Error::RpcInconsistent {
            url: l1.url().to_string(),
            what: format!("no code at {address}, created by {}", tx.hash),
        });
    }
    Ok((address, mined.block))
}

fn with_args(code: &Bytes, args: Vec<u8>) -> Bytes {
    let mut init = code.to_vec();
    init.extend_from_slice(&args);
    init.into()
}

/// Deploys the verifiers and the rollup of `config` with anchor `anchor`.
///
/// # Errors
/// Transaction and RPC errors; a creation that reverts.
pub async fn deploy(l1: &L1, config: &DeployConfig, anchor: Anchor) -> Result<Deployment> {
    let deployer = l1.address();
    let owner = config.owner.unwrap_or(deployer);
    let proposer = config.proposer.unwrap_or(deployer);
    let program_id = config.program_id.unwrap_or(PROGRAM_ID);
    let mut nonce = l1.nonce(true).await?;
    let mut proof_types = Vec::with_capacity(config.proof.len());
    for p in &config.proof {
        let init = match (p.verifier, p.zk_verifier) {
            (VerifierKind::Attest, _) => Some(with_args(
                &AttestVerifier::BYTECODE,
                AttestVerifier::constructorCall {
                    owner_: owner,
                    initialSigners: p.signers.clone(),
                }
                .abi_encode(),
            )),
            (VerifierKind::Zk, Some(zk)) => Some(with_args(
                &ZkProofVerifier::BYTECODE,
                ZkProofVerifier::constructorCall {
                    zkVerifier_: zk,
                    programId_: program_id,
                    hashIndex_: alloy_primitives::U256::from(p.hash_index),
                }
                .abi_encode(),
            )),
            (VerifierKind::Zk, None) => None,
        };
        let address = match init {
            Some(init) => create(l1, &mut nonce, init).await?.0,
            None => Address::ZERO,
        };
        proof_types.push(DeployedProofType {
            id: p.id,
            backend: p.backend.clone(),
            required: p.required,
            verifier: p.verifier,
            address,
        });
    }
    let rollup_config = CairnRollup::Config {
        owner,
        proposer,
        chainId: anchor.chain_id,
        chainConfigHash: anchor.chain_config_hash,
        programId: program_id,
        required: proof_types
            .iter()
            .filter(|p| p.required)
            .map(|p| p.id)
            .collect(),
        routedTypes: proof_types
            .iter()
            .filter(|p| !p.address.is_zero())
            .map(|p| p.id)
            .collect(),
        routedVerifiers: proof_types
            .iter()
            .filter(|p| !p.address.is_zero())
            .map(|p| p.address)
            .collect(),
        anchorBlock: anchor.block,
        anchorStateRoot: anchor.state_root,
        anchorQmRoot: anchor.qm_root,
    };
    let init = with_args(
        &CairnRollup::BYTECODE,
        CairnRollup::constructorCall {
            config: rollup_config,
        }
        .abi_encode(),
    );
    let (rollup, deploy_block) = create(l1, &mut nonce, init).await?;
    Ok(Deployment {
        l1_chain_id: l1.chain_id(),
        rollup,
        deploy_block,
        owner,
        proposer,
        program_id,
        anchor,
        proof_types,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_files_are_checked() {
        let good = r#"
            [chain]
            chain_id = 1
            chain_config_hash = "0x0000000000000000000000000000000000000000000000000000000000000001"
            anchor_state_root = "0x0000000000000000000000000000000000000000000000000000000000000002"
            anchor_qm_root = "0x0000000000000000000000000000000000000000000000000000000000000003"
            [[proof]]
            id = 1
            backend = "tee/attest-a"
            verifier = "attest"
            signers = ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"]
        "#;
        let config: DeployConfig = toml::from_str(good).unwrap();
        config.check().unwrap();
        assert!(config.proof[0].required);
        assert_eq!(config.anchor().unwrap().qm_root, B256::with_last_byte(3));
        let mut twice = config.clone();
        twice.proof.push(twice.proof[0].clone());
        assert!(twice.check().unwrap_err().contains("twice"));
        let mut none = config.clone();
        none.proof[0].required = false;
        assert!(none.check().is_err());
        let mut half = config;
        half.chain.anchor_qm_root = None;
        assert!(half.check().is_err());
        assert!(toml::from_str::<DeployConfig>("typo = 1").is_err());
        assert!(parse_backend_id("tee/Attest").is_err());
        assert_eq!(
            parse_backend_id("zk/halo2").unwrap().to_string(),
            "zk/halo2"
        );
    }
}
