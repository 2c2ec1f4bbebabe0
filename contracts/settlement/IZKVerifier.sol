// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// The ZK verifier interface as Kroma's verifier contract defines it (its `public` becomes
/// `external`, as interfaces require): `target_circuit_final_pair` are the proof's public
/// instances (for an aggregated Halo2 proof, the KZG accumulator limbs, then the statement's
/// instances).
interface IZKVerifier {
    function verify(uint256[] calldata proof, uint256[] calldata target_circuit_final_pair)
        external
        view
        returns (bool);
}
