use cairn_exec::devchain::{DevChainParams, generate};
use cairn_primitives::ProgramInput;

fn small() -> cairn_exec::ChainFile {
    generate(DevChainParams {
        seed: 7,
        blocks: 6,
        txs_per_block: 20,
    })
    .expect("generator builds valid blocks")
}

#[test]
fn generation_is_deterministic() {
    let a = small();
    let b = small();
    assert_eq!(a, b);
    assert_eq!(a.blocks.len(), 6);
}

#[test]
fn every_block_validates_from_its_generated_witness() {
    let file = small();
    let mut chain = file.genesis_chain().unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    for i in 0..file.blocks.len() {
        let block = file.block(i).unwrap();
        for tx in &block.body.transactions {
            kinds.insert(alloy_consensus::Typed2718::ty(tx));
        }
        let run = chain.witness(std::slice::from_ref(&block)).unwrap();
        run.result.as_ref().expect("recording run validates");
        let again = chain.witness(std::slice::from_ref(&block)).unwrap();
        assert_eq!(
            again.witness, run.witness,
            "witness generation is deterministic"
        );
        let executed = chain.execute(&block).unwrap();
        let input = ProgramInput {
            chain: file.chain.clone(),
            blocks: vec![block.clone()],
            witness: run.witness,
        };
        let out = cairn_stateless::validate(&input).unwrap();
        assert_eq!(out.final_state_root, executed.state_root);
        assert_eq!(out.last_block_hash, executed.hash);
        assert_eq!(out.total_gas_used, executed.gas_used);
    }
    assert_eq!(
        kinds,
        [0u8, 1, 2, 3, 4].into_iter().collect(),
        "all five transaction types appear"
    );
}

#[test]
fn a_batch_validates_from_one_witness() {
    let file = small();
    let mut chain = file.genesis_chain().unwrap();
    let blocks: Vec<_> = (0..file.blocks.len())
        .map(|i| file.block(i).unwrap())
        .collect();
    let run = chain.witness(&blocks).unwrap();
    let (recorded, _) = run.result.expect("recording run validates");
    for b in &blocks {
        chain.execute(b).unwrap();
    }
    let input = ProgramInput {
        chain: file.chain,
        blocks,
        witness: run.witness,
    };
    let out = cairn_stateless::validate(&input).unwrap();
    assert_eq!(out, recorded);
    assert_eq!(out.final_state_root, chain.head().state_root);
    assert_eq!(out.last_block_hash, chain.head_hash());
}

/// The committed sample chain is exactly what the generator makes with its defaults, so
/// README command 1 runs on data anyone can regenerate (`cairn devchain --out ...`).
#[test]
fn committed_dev_chain_is_the_default_generation() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/devchain.json");
    let committed = cairn_exec::ChainFile::load(&path).expect("testdata/devchain.json");
    assert_eq!(committed, generate(DevChainParams::default()).unwrap());
}
