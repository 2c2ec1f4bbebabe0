//! A batch from a node's own state: the program input (one witness for the whole range) and
//! the QMTree binding, from a data directory written by `cairn replay --datadir`.

use crate::{
    binding::BatchBinding,
    error::{Error, Result},
    public_values::{PublicValues, chain_config_hash},
};
use cairn_exec::commit::Node;
use cairn_primitives::ProgramInput;
use cairn_qmtree::Backend;

/// A batch ready to prove: its input, the public values its witness run produced, and its
/// binding to the node's QMTree.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The program input.
    pub input: ProgramInput,
    /// What the stateless program proved while the witness was recorded.
    pub public_values: PublicValues,
    /// The binding to the node's per-block roots.
    pub binding: BatchBinding,
}

/// Builds the batch of blocks `first..=last` from `node`: the blocks, one witness for the
/// whole range (`Chain::witness`, which runs the stateless program against the full state),
/// and the binding between the roots of blocks `first - 1` and `last`, checked before it is
/// returned.
///
/// # Errors
/// [`Error::BatchRange`] for a range the node cannot prove (block 0, past the head, empty);
/// [`Error::Invalid`] when the stateless program rejects the batch; execution and QMTree
/// errors.
pub fn from_node<B: Backend>(node: &Node<B>, first: u64, last: u64) -> Result<Batch> {
    let range = |reason: String| Error::BatchRange {
        first,
        last,
        reason,
    };
    if first == 0 {
        return Err(range(
            "the genesis block has no parent to prove from; start at 1".into(),
        ));
    }
    if first > last {
        return Err(range("the first block is after the last".into()));
    }
    let head = node.head_number();
    if last > head {
        return Err(range(format!("the node's head is block {head}")));
    }
    let blocks = (first..=last)
        .map(|n| {
            node.block(n)
                .cloned()
                .ok_or_else(|| range(format!("block {n} is not in the node")))
        })
        .collect::<Result<Vec<_>>>()?;
    let run = node.chain().witness(&blocks)?;
    let (output, _) = run.result?;
    let chain = node.chain().config().clone();
    let public_values = PublicValues::from_output(&output, chain_config_hash(&chain));

    let layout = |n: u64| {
        node.layout(n)
            .ok_or_else(|| range(format!("block {n} has no QMTree layout")))
    };
    let (before, after) = (layout(first - 1)?, layout(last)?);
    let (t_before, t_after) = (before.closing_tx_num(), after.closing_tx_num());
    let tree = node.tree();
    let proof_before = tree.proof(t_before, first - 1)?;
    let proof_after = tree.proof(t_after, last)?;
    let range_proof = tree.range_proof(first - 1, last)?;
    let binding = BatchBinding {
        rootBefore: tree.root_at(first - 1)?,
        rootAfter: tree.root_at(last)?,
        leafCountBefore: range_proof.old_size,
        leafCountAfter: range_proof.new_size,
        rangeNodes: range_proof.nodes,
        previousLeafBefore: tree.leaf(t_before)?.components.previous_leaf_hash,
        siblingsBefore: proof_before.siblings,
        previousLeafAfter: tree.leaf(t_after)?.components.previous_leaf_hash,
        siblingsAfter: proof_after.siblings,
    };
    binding.verify(&public_values)?;
    Ok(Batch {
        input: ProgramInput {
            chain,
            blocks,
            witness: run.witness,
        },
        public_values,
        binding,
    })
}
