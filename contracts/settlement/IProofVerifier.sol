// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// What `CairnRollup` calls for each proof of a batch: returns when `proof` proves that the
/// program `programId` produced the public values hashing to `publicValuesHash`, and reverts
/// with an error saying why otherwise.
interface IProofVerifier {
    function verifyProof(bytes32 programId, bytes32 publicValuesHash, bytes calldata proof)
        external
        view;
}
