//! A small dev chain, imported into a committing node, and batches of it.

use alloy_primitives::B256;
use cairn_exec::{
    commit::Node,
    devchain::{DevChainParams, generate},
};
use cairn_prover::{
    AttestDomain, AttestSigner, Claim, PROGRAM_ID, SignerRegistry,
    backend::attest::{Evidence, NoTee, Registration},
    batch::{Batch, from_node},
    chain_config_hash, encode_input,
    policy::Trusted,
};
use std::{collections::BTreeMap, sync::OnceLock};

pub(crate) const BLOCKS: u64 = 8;

pub(crate) struct Fixture {
    batches: BTreeMap<(u64, u64), Batch>,
    roots: Vec<B256>,
    pub(crate) chain_id: u64,
    pub(crate) chain_config_hash: B256,
}

pub(crate) fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let file = generate(DevChainParams {
            seed: 11,
            blocks: BLOCKS as usize,
            txs_per_block: 12,
        })
        .expect("dev chain");
        let mut node = Node::in_memory(&file).expect("genesis");
        for i in 0..file.blocks.len() {
            node.import(&file.block(i).unwrap()).expect("import");
        }
        let mut batches = BTreeMap::new();
        for (first, last) in [(1, 4), (5, 8), (2, 5), (3, 3)] {
            batches.insert((first, last), from_node(&node, first, last).expect("batch"));
        }
        let roots = (0..=BLOCKS)
            .map(|n| node.tree().root_at(n).unwrap())
            .collect();
        Fixture {
            batches,
            roots,
            chain_id: file.chain.chain_id,
            chain_config_hash: chain_config_hash(&file.chain),
        }
    })
}

impl Fixture {
    pub(crate) fn batch(&self, first: u64, last: u64) -> &Batch {
        &self.batches[&(first, last)]
    }

    pub(crate) fn input(&self, first: u64, last: u64) -> alloy_primitives::Bytes {
        encode_input(&self.batch(first, last).input).into()
    }

    pub(crate) fn claim(&self, first: u64, last: u64) -> Claim {
        Claim {
            program_id: PROGRAM_ID,
            public_values: self.batch(first, last).public_values.clone(),
        }
    }

    pub(crate) fn trusted(&self, first: u64, last: u64) -> Trusted {
        Trusted {
            chain_id: self.chain_id,
            chain_config_hash: self.chain_config_hash,
            root_before: self.roots[(first - 1) as usize],
            root_after: self.roots[last as usize],
        }
    }
}

/// A fixed attest signer and a registry holding it.
pub(crate) fn signer() -> (AttestSigner, SignerRegistry) {
    let signer = AttestSigner::from_bytes(&[7u8; 32]).unwrap();
    let mut registry = SignerRegistry::new();
    registry
        .register(
            Registration {
                address: signer.address(),
                evidence: Evidence::None,
                note: Some("test".into()),
            },
            &PROGRAM_ID,
            &NoTee,
        )
        .unwrap();
    (signer, registry)
}

pub(crate) fn domain() -> AttestDomain {
    AttestDomain::offchain(fixture().chain_id)
}
