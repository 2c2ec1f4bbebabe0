// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// What one proof of a batch states (`cairn_prover::PublicValues`, field for field).
/// `publicValuesHash = keccak256(abi.encode(publicValues))`: 13 static words, 416 bytes.
struct PublicValues {
    uint64 chainId;
    bytes32 chainConfigHash;
    uint64 firstBlock;
    uint64 lastBlock;
    bytes32 parentHash;
    bytes32 lastBlockHash;
    bytes32 blockHashesCommitment;
    bytes32 initialStateRoot;
    bytes32 finalStateRoot;
    uint64 totalGasUsed;
    bytes32 depositsHash;
    bytes32 withdrawalsRoot;
    bytes32 stateDiffCommitment;
}

/// The QMTree binding of a batch (`cairn_prover::BatchBinding`, field for field): a range
/// proof between the per-block roots of blocks `firstBlock - 1` and `lastBlock`, and those
/// two blocks' closing leaves with their inclusion proofs.
struct BatchBinding {
    bytes32 rootBefore;
    bytes32 rootAfter;
    uint64 leafCountBefore;
    uint64 leafCountAfter;
    bytes32[] rangeNodes;
    bytes32 previousLeafBefore;
    bytes32[] siblingsBefore;
    bytes32 previousLeafAfter;
    bytes32[] siblingsAfter;
}

/// One proof of a batch: the proof type (the deployment's name for a verifier: an attest
/// signer set, a ZK verifier) and the bytes that verifier reads.
struct Proof {
    uint8 proofType;
    bytes data;
}
