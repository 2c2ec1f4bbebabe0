//! cairn-history's integration tests: proofs from a node's own chain (the dev chain, every
//! transaction type), from anvil over JSON-RPC with contracts compiled by solc-js, and
//! checked again by the Solidity verifier on anvil.

mod anvil;
mod devchain;
mod eth;
mod vectors;

use alloy_primitives::B256;
use cairn_exec::{
    ChainFile,
    commit::Node,
    devchain::{DevChainParams, generate},
};
use cairn_history::{MmrAt, QueryProof, Subquery, prove_query, verify_query};
use cairn_qmtree::MemoryBackend;

/// The dev chain every node test uses: six blocks with every transaction type and logs.
pub(crate) fn dev_file() -> ChainFile {
    generate(DevChainParams {
        seed: 7,
        blocks: 6,
        txs_per_block: 20,
    })
    .expect("the generator builds valid blocks")
}

/// An in-memory node with the dev chain imported.
pub(crate) fn dev_node() -> (ChainFile, Node<MemoryBackend>) {
    let file = dev_file();
    let mut node = Node::in_memory(&file).unwrap();
    for i in 0..file.blocks.len() {
        node.import(&file.block(i).unwrap()).unwrap();
    }
    (file, node)
}

/// Proves `subqueries` (in chunks of at most 128) from the node, anchored to its MMR,
/// verifies each proof, and returns the results in order.
pub(crate) fn prove_all(node: &Node<MemoryBackend>, subqueries: &[Subquery]) -> Vec<B256> {
    let mut results = Vec::new();
    for chunk in subqueries.chunks(cairn_history::MAX_SUBQUERIES) {
        let proof = prove(node, chunk);
        let verified = verify_query(&proof).unwrap();
        assert_eq!(verified.mmr.unwrap().root, node.mmr().unwrap().root());
        results.extend(verified.results);
    }
    results
}

pub(crate) fn prove(node: &Node<MemoryBackend>, subqueries: &[Subquery]) -> QueryProof {
    let mmr = node.mmr().expect("the dev chain starts at block 0");
    prove_query(node, subqueries, Some(MmrAt::current(mmr))).unwrap()
}
