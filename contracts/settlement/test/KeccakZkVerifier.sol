// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IZKVerifier} from "../IZKVerifier.sol";

/// TEST ONLY, NOT A PROOF SYSTEM: a contract with Kroma's ZK verifier interface that accepts a
/// "proof" whose single word is `keccak256` of the instances. It stands in for a generated
/// Halo2 verifier in the tests of the router (plugging a ZK verifier into a deployed rollup)
/// and of `ZkProofVerifier`'s instance check; it is never deployed by `cairn deploy`.
contract KeccakZkVerifier is IZKVerifier {
    function verify(uint256[] calldata proof, uint256[] calldata target_circuit_final_pair)
        external
        pure
        returns (bool)
    {
        return proof.length == 1
            && proof[0] == uint256(keccak256(abi.encodePacked(target_circuit_final_pair)));
    }
}
