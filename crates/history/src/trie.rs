//! The transactions and receipts tries of a block, rebuilt from their EIP-2718 encodings
//! (no JSON-RPC method serves their proofs), with alloy-trie's `HashBuilder` and its proof
//! retainer; proofs are checked with alloy-trie's `verify_proof`.

use alloc::vec::Vec;
use alloy_primitives::{B256, Bytes};
use alloy_trie::{
    HashBuilder, Nibbles,
    proof::{ProofRetainer, ProofVerificationError, verify_proof},
};

/// The key of entry `index` of a transactions or receipts trie: `rlp(index)`.
pub fn index_key(index: u64) -> Nibbles {
    Nibbles::unpack(alloy_rlp::encode(index))
}

/// Rebuilds an ordered trie (key `rlp(i)`, value `values[i]`) and returns its root with the
/// proof of entry `index` (root first; nodes embedded in their parent are not listed, as in
/// `eth_getProof`). `None` for the proof when `index` is out of range.
pub fn ordered_trie_proof(values: &[Bytes], index: Option<u64>) -> (B256, Option<Vec<Bytes>>) {
    let target = index.filter(|i| *i < values.len() as u64).map(index_key);
    let mut entries: Vec<(Nibbles, &Bytes)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (index_key(i as u64), v))
        .collect();
    entries.sort_unstable_by_key(|a| a.0);
    let mut builder = HashBuilder::default();
    if let Some(target) = target {
        builder = builder.with_proof_retainer(ProofRetainer::new(alloc::vec![target]));
    }
    for (key, value) in &entries {
        builder.add_leaf(*key, value);
    }
    let root = builder.root();
    let proof = target.map(|target| {
        builder
            .take_proof_nodes()
            .matching_nodes_sorted(&target)
            .into_iter()
            .filter(|(path, node)| path.is_empty() || node.len() >= 32)
            .map(|(_, node)| node)
            .collect()
    });
    (root, proof)
}

/// Verifies that entry `index` of the ordered trie with `root` is `value`.
///
/// # Errors
/// alloy-trie's verdict.
pub fn verify_ordered(
    root: B256,
    index: u64,
    value: &[u8],
    proof: &[Bytes],
) -> Result<(), ProofVerificationError> {
    verify_proof(root, index_key(index), Some(value.to_vec()), proof)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;

    #[test]
    fn rebuilt_roots_match_alloy_and_proofs_verify() {
        for n in [1usize, 2, 3, 16, 17, 127, 128, 129, 300] {
            let values: Vec<Bytes> = (0..n)
                .map(|i| Bytes::from(keccak256(i.to_be_bytes()).repeat(1 + i % 3)))
                .collect();
            let expected = alloy_trie::root::ordered_trie_root_encoded(&values);
            let (root, none) = ordered_trie_proof(&values, None);
            assert_eq!(root, expected);
            assert!(none.is_none());
            for index in [0, 1, n / 2, n - 1].into_iter().filter(|i| *i < n) {
                let (root, proof) = ordered_trie_proof(&values, Some(index as u64));
                assert_eq!(root, expected);
                let proof = proof.unwrap();
                verify_ordered(root, index as u64, &values[index], &proof).unwrap();
                assert!(verify_ordered(root, index as u64, b"other", &proof).is_err());
            }
            assert!(ordered_trie_proof(&values, Some(n as u64)).1.is_none());
        }
    }
}
