//! QMTree binding test vectors, shared by the Rust verifier
//! ([`cairn_prover::BatchBinding::verify`]) and the Solidity one (`QMTreeBinding`, through
//! `CairnRollup.verifyBinding`): honest bindings of a dev chain and of large synthetic trees,
//! and mutations of them that each rule must reject. The committed file
//! (`contracts/settlement/test/binding-vectors.json`) is what [`generate`] returns; tests
//! check both verifiers against it and that it is still what the generator gives.
//!
//! Large trees (up to 2^40 leaves) come from [`SparseTree`]: a tree whose first `prefix`
//! leaves are known only by their frontier (arbitrary hashes standing for complete subtrees)
//! followed by explicit leaves, which is all a binding near the end of the tree touches.

use crate::error::{Error, Result};
use alloy_primitives::{B256, hex, keccak256};
use cairn_prover::{BatchBinding, BindingFault, PublicValues, binding::Side, closing_leaf};
use cairn_qmtree::{EMPTY_SUBTREE, depth, node_hash};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A QMTree whose first `prefix` leaves are known by their frontier only.
#[derive(Debug, Clone)]
pub struct SparseTree {
    prefix: u64,
    frontier: BTreeMap<u32, B256>,
    leaves: Vec<B256>,
}

impl SparseTree {
    /// A tree of `prefix` leaves whose frontier nodes are derived from `seed`.
    pub fn new(prefix: u64, seed: &[u8]) -> Self {
        let frontier = (0..64)
            .filter(|h| (prefix >> h) & 1 == 1)
            .map(|h: u32| (h, keccak256([seed, b"frontier", &h.to_be_bytes()].concat())))
            .collect();
        Self {
            prefix,
            frontier,
            leaves: Vec::new(),
        }
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: B256) {
        self.leaves.push(leaf);
    }

    /// Leaves in the tree.
    pub fn len(&self) -> u64 {
        self.prefix + self.leaves.len() as u64
    }

    /// Whether the tree is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Node `(h, j)` of the tree of its first `n` leaves (`n <= len`).
    fn node(&self, h: u32, j: u64, n: u64) -> B256 {
        let start = u128::from(j) << h;
        let end = (u128::from(j) + 1) << h;
        if start >= u128::from(n) {
            return EMPTY_SUBTREE[h as usize];
        }
        if end <= u128::from(self.prefix) {
            // A complete subtree inside the prefix is always one of its frontier nodes when a
            // binding asks for it (its parent reaches past the prefix).
            debug_assert_eq!(j + 1, self.prefix >> h);
            return self.frontier.get(&h).copied().unwrap_or_default();
        }
        if h == 0 {
            return self.leaves[(j - self.prefix) as usize];
        }
        node_hash(&self.node(h - 1, 2 * j, n), &self.node(h - 1, 2 * j + 1, n))
    }

    /// The root of the tree of its first `n` leaves.
    pub fn root(&self, n: u64) -> B256 {
        self.node(depth(n), 0, n)
    }

    /// The inclusion-proof siblings of leaf `t` in the tree of `n` leaves, bottom-up.
    pub fn siblings(&self, t: u64, n: u64) -> Vec<B256> {
        (0..depth(n))
            .map(|h| self.node(h, (t >> h) ^ 1, n))
            .collect()
    }

    /// The range-proof nodes from `old` to `new` leaves (`cairn_qmtree::RangeProof::nodes`).
    pub fn range_nodes(&self, old: u64, new: u64) -> Vec<B256> {
        let mut nodes: Vec<B256> = (0..64)
            .filter(|h| (old >> h) & 1 == 1)
            .map(|h| self.node(h, (old >> h) - 1, old))
            .collect();
        nodes.push(self.node(0, old, new));
        for h in 0..depth(new) {
            if (old >> h) & 1 == 0 && (u128::from((old >> h) + 1) << h) < u128::from(new) {
                nodes.push(self.node(h, (old >> h) + 1, new));
            }
        }
        nodes
    }
}

/// A synthetic batch at the end of a tree of `size` leaves: `blocks` blocks of `steps` step
/// leaves plus a closing leaf each, after the closing leaf of the block before them; returns
/// the binding and the public values it binds.
pub fn synthetic(size: u64, blocks: u64, steps: u64, seed: &[u8]) -> (BatchBinding, PublicValues) {
    let batch_leaves = blocks * (steps + 1);
    let before = size - batch_leaves;
    let mut tree = SparseTree::new(before - 1, seed);
    let word = |tag: &str, i: u64| keccak256([seed, tag.as_bytes(), &i.to_be_bytes()].concat());
    let mut previous = word("previous", 0);
    let anchor = closing_leaf(word("state", 0), word("hash", 0), previous).hash();
    tree.push(anchor);
    let previous_before = previous;
    previous = anchor;
    let mut previous_after = B256::ZERO;
    for b in 1..=blocks {
        for s in 0..steps {
            let leaf = cairn_qmtree::LeafComponents {
                pre_state_hash: word("pre", b * 1000 + s),
                state_change_hash: word("change", b * 1000 + s),
                transition_hash: word("transition", b * 1000 + s),
                previous_leaf_hash: previous,
            }
            .hash();
            tree.push(leaf);
            previous = leaf;
        }
        previous_after = previous;
        let closing = closing_leaf(word("state", b), word("hash", b), previous).hash();
        tree.push(closing);
        previous = closing;
    }
    debug_assert_eq!(tree.len(), size);
    let binding = BatchBinding {
        rootBefore: tree.root(before),
        rootAfter: tree.root(size),
        leafCountBefore: before,
        leafCountAfter: size,
        rangeNodes: tree.range_nodes(before, size),
        previousLeafBefore: previous_before,
        siblingsBefore: tree.siblings(before - 1, before),
        previousLeafAfter: previous_after,
        siblingsAfter: tree.siblings(size - 1, size),
    };
    let pv = PublicValues {
        chainId: 1,
        firstBlock: 1_000,
        lastBlock: 1_000 + blocks - 1,
        parentHash: word("hash", 0),
        lastBlockHash: word("hash", blocks),
        initialStateRoot: word("state", 0),
        finalStateRoot: word("state", blocks),
        ..Default::default()
    };
    (binding, pv)
}

/// One vector: public values, binding, and the outcome both verifiers must give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vector {
    /// What it tests.
    pub name: String,
    /// `abi.encode(publicValues)`, hex.
    pub public_values: String,
    /// `abi.encode(binding)`, hex.
    pub binding: String,
    /// `ok`, or the failed rule: `LeafCounts`, `SiblingCount(Before)`, `NotLastLeaf(After)`,
    /// `LeafNotUnderRoot(Before)`, `Range`.
    pub expect: String,
}

impl Vector {
    fn new(name: &str, pv: &PublicValues, binding: &BatchBinding) -> Self {
        Self {
            name: name.to_string(),
            public_values: hex::encode_prefixed(pv.encode()),
            binding: hex::encode_prefixed(binding.encode()),
            expect: outcome(binding.verify(pv)),
        }
    }

    /// The public values and binding.
    ///
    /// # Errors
    /// [`Error::Config`] for a vector that does not decode.
    pub fn decode(&self) -> Result<(PublicValues, BatchBinding)> {
        let bad = |e: String| Error::Config {
            path: format!("vector {}", self.name).into(),
            reason: e,
        };
        let pv = hex::decode(&self.public_values).map_err(|e| bad(e.to_string()))?;
        let binding = hex::decode(&self.binding).map_err(|e| bad(e.to_string()))?;
        Ok((
            PublicValues::decode(&pv).map_err(|e| bad(e.to_string()))?,
            BatchBinding::decode(&binding).map_err(|e| bad(e.to_string()))?,
        ))
    }
}

/// The name of a verification outcome, as the vectors spell it.
pub fn outcome<T>(result: cairn_prover::Result<T>) -> String {
    let side = |s: Side| match s {
        Side::Before => "Before",
        Side::After => "After",
    };
    match result {
        Ok(_) => "ok".into(),
        Err(cairn_prover::Error::Binding { fault }) => match fault {
            BindingFault::LeafCounts { .. } => "LeafCounts".into(),
            BindingFault::SiblingCount { side: s, .. } => format!("SiblingCount({})", side(s)),
            BindingFault::NotLastLeaf { side: s } => format!("NotLastLeaf({})", side(s)),
            BindingFault::LeafNotUnderRoot { side: s } => {
                format!("LeafNotUnderRoot({})", side(s))
            }
            BindingFault::Range => "Range".into(),
            BindingFault::Encoding => "Encoding".into(),
        },
        Err(other) => format!("error: {other}"),
    }
}

/// Every mutation of an honest binding that one rule must reject.
fn mutations(name: &str, pv: &PublicValues, b: &BatchBinding, out: &mut Vec<Vector>) {
    let mut add = |what: &str, pv: &PublicValues, b: &BatchBinding| {
        out.push(Vector::new(&format!("{name}: {what}"), pv, b));
    };
    let flip = |h: B256| {
        let mut x = h;
        x.0[31] ^= 1;
        x
    };
    add("honest", pv, b);
    let mut m = b.clone();
    m.leafCountBefore = 0;
    add("no leaves before", pv, &m);
    let mut m = b.clone();
    m.leafCountBefore = m.leafCountAfter;
    add("empty range", pv, &m);
    let mut m = b.clone();
    std::mem::swap(&mut m.leafCountBefore, &mut m.leafCountAfter);
    add("counts swapped", pv, &m);
    let mut m = b.clone();
    m.siblingsBefore.push(B256::ZERO);
    add("extra sibling before", pv, &m);
    let mut m = b.clone();
    m.siblingsAfter.pop();
    add("missing sibling after", pv, &m);
    // A right sibling that is not empty (only where the leaf has one).
    let t = b.leafCountBefore - 1;
    if let Some(h) = (0..b.siblingsBefore.len()).find(|h| (t >> h) & 1 == 0) {
        let mut m = b.clone();
        m.siblingsBefore[h] = flip(m.siblingsBefore[h]);
        add("nonempty right sibling before", pv, &m);
    }
    let t = b.leafCountAfter - 1;
    if let Some(h) = (0..b.siblingsAfter.len()).find(|h| (t >> h) & 1 == 0) {
        let mut m = b.clone();
        m.siblingsAfter[h] = flip(m.siblingsAfter[h]);
        add("nonempty right sibling after", pv, &m);
    }
    if let Some(h) = (0..b.siblingsAfter.len()).find(|h| (t >> h) & 1 == 1) {
        let mut m = b.clone();
        m.siblingsAfter[h] = flip(m.siblingsAfter[h]);
        add("altered left sibling after", pv, &m);
    }
    let mut m = b.clone();
    m.previousLeafBefore = flip(m.previousLeafBefore);
    add("other previous leaf before", pv, &m);
    let mut m = b.clone();
    m.previousLeafAfter = flip(m.previousLeafAfter);
    add("other previous leaf after", pv, &m);
    for (what, field) in [
        ("parentHash", 0),
        ("initialStateRoot", 1),
        ("lastBlockHash", 2),
        ("finalStateRoot", 3),
    ] {
        let mut p = pv.clone();
        match field {
            0 => p.parentHash = flip(p.parentHash),
            1 => p.initialStateRoot = flip(p.initialStateRoot),
            2 => p.lastBlockHash = flip(p.lastBlockHash),
            _ => p.finalStateRoot = flip(p.finalStateRoot),
        }
        add(&format!("public values with another {what}"), &p, b);
    }
    let mut m = b.clone();
    m.rootBefore = flip(m.rootBefore);
    add("other root before", pv, &m);
    let mut m = b.clone();
    m.rootAfter = flip(m.rootAfter);
    add("other root after", pv, &m);
    let mut m = b.clone();
    m.rangeNodes.pop();
    add("range proof missing a node", pv, &m);
    let mut m = b.clone();
    m.rangeNodes.push(B256::ZERO);
    add("range proof with an extra node", pv, &m);
    for i in [0, b.rangeNodes.len() / 2, b.rangeNodes.len() - 1] {
        let mut m = b.clone();
        m.rangeNodes[i] = flip(m.rangeNodes[i]);
        add(&format!("range node {i} altered"), pv, &m);
    }
    let mut m = b.clone();
    m.leafCountAfter += 1;
    add("one leaf more after", pv, &m);
    let mut m = b.clone();
    m.leafCountBefore -= 1;
    add("one leaf less before", pv, &m);
}

/// Honest bindings of a dev chain (blocks and their QMTree from a node): `(name, pv, binding)`.
///
/// # Errors
/// Dev-chain and batch errors.
pub fn dev_chain_bindings() -> Result<Vec<(String, PublicValues, BatchBinding)>> {
    use cairn_exec::{
        commit::Node,
        devchain::{DevChainParams, generate},
    };
    let file = generate(DevChainParams {
        seed: 5,
        blocks: 12,
        txs_per_block: 5,
    })?;
    let mut node = Node::in_memory(&file)?;
    for i in 0..file.blocks.len() {
        node.import(&file.block(i)?)?;
    }
    let mut out = Vec::new();
    for (first, last) in [(1, 1), (1, 6), (4, 9), (7, 12), (12, 12)] {
        let batch = cairn_prover::batch::from_node(&node, first, last)?;
        out.push((
            format!("dev chain {first}..={last}"),
            batch.public_values,
            batch.binding,
        ));
    }
    Ok(out)
}

/// The shared vectors (deterministic).
///
/// # Errors
/// Dev-chain errors.
pub fn generate() -> Result<Vec<Vector>> {
    let mut out = Vec::new();
    let dev = dev_chain_bindings()?;
    for (i, (name, pv, binding)) in dev.iter().enumerate() {
        if i == 1 {
            mutations(name, pv, binding, &mut out);
        } else {
            out.push(Vector::new(&format!("{name}: honest"), pv, binding));
        }
    }
    // A binding of one range with the public values of another.
    out.push(Vector::new(
        "dev chain 4..=9 binding, 7..=12 public values",
        &dev[3].1,
        &dev[2].2,
    ));
    for (size, blocks, steps) in [
        (1u64 << 10, 3, 4),
        ((1 << 16) + 3, 5, 2),
        ((1 << 20) - 1, 1, 0),
        (1 << 32, 10, 9),
        ((1 << 32) + 1, 2, 3),
        ((1 << 40) - 7, 4, 1),
    ] {
        let (binding, pv) = synthetic(size, blocks, steps, &size.to_be_bytes());
        let name = format!("tree of {size} leaves, {blocks} blocks");
        if size == 1 << 32 {
            mutations(&name, &pv, &binding, &mut out);
        } else {
            out.push(Vector::new(&format!("{name}: honest"), &pv, &binding));
        }
    }
    // Extremes of the leaf counts.
    let (mut b, pv) = synthetic(1 << 12, 1, 0, b"max");
    b.leafCountAfter = u64::MAX;
    out.push(Vector::new("leafCountAfter 2^64 - 1", &pv, &b));
    let (mut b, pv) = synthetic(1 << 12, 1, 0, b"max");
    b.leafCountBefore = 1;
    b.siblingsBefore.clear();
    out.push(Vector::new("leafCountBefore 1, no siblings", &pv, &b));
    Ok(out)
}

/// Where the committed vectors live.
pub fn vectors_path() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../contracts/settlement/test/binding-vectors.json")
}

/// The committed vectors.
///
/// # Errors
/// [`Error::Config`] when the file does not parse.
pub fn committed() -> Result<Vec<Vector>> {
    serde_json::from_str(include_str!(
        "../../../contracts/settlement/test/binding-vectors.json"
    ))
    .map_err(|e| Error::Config {
        path: vectors_path(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_tree_without_prefix_is_the_qmtree() {
        let mut tree = cairn_qmtree::MemoryTree::new();
        let mut sparse = SparseTree::new(0, b"");
        for i in 0..37u64 {
            let h = B256::with_last_byte(i as u8 + 1);
            tree.append_next(h, h, h).unwrap();
            tree.commit_block(i).unwrap();
            sparse.push(tree.leaf(i).unwrap().hash);
        }
        for n in [1, 2, 5, 16, 17, 37] {
            assert_eq!(sparse.root(n), tree.root_at(n - 1).unwrap(), "{n}");
            assert_eq!(
                sparse.siblings(n - 1, n),
                tree.proof(n - 1, n - 1).unwrap().siblings
            );
        }
        for (old, new) in [(1, 2), (3, 17), (16, 37), (5, 6)] {
            assert_eq!(
                sparse.range_nodes(old, new),
                tree.range_proof(old - 1, new - 1).unwrap().nodes,
                "{old}..{new}"
            );
        }
    }

    #[test]
    fn synthetic_bindings_verify() {
        for size in [1 << 10, (1 << 32) + 5, (1 << 40) - 7] {
            let (binding, pv) = synthetic(size, 3, 2, b"t");
            binding.verify(&pv).unwrap();
        }
    }
}
