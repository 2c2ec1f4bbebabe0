// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title BlockHashMmr
/// @notice Inclusion of a block hash in Cairn's block-hash Merkle mountain range.
/// @dev Leaf `i` is the hash of block `i`. An MMR of `size` leaves (0 < size < 2^32) has a
///      peak per set bit `h` of `size`: the perfect Keccak tree of the `2^h` leaves that bit
///      stands for (higher bits cover earlier blocks); its root is
///      `keccak256(abi.encodePacked(uint256(size), bytes32[32] peaksByHeight))`, absent
///      peaks zero. Leaf `i` sits under the peak of height `msb(i ^ size)`; a proof gives
///      its siblings bottom-up and the other peaks in ascending height.
library BlockHashMmr {
    error InvalidMmrProof();

    /// The root from the peaks by height.
    function root(uint256 size, bytes32[32] memory peaks) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(size, peaks));
    }

    /// The root that `leaf` at `index` of an MMR of `size` leaves and its proof recompute;
    /// reverts for a proof of the wrong shape.
    function rootOf(
        bytes32 leaf,
        uint256 size,
        uint256 index,
        bytes32[] memory siblings,
        bytes32[] memory otherPeaks
    ) internal pure returns (bytes32) {
        if (size == 0 || size >= 2 ** 32 || index >= size) revert InvalidMmrProof();
        uint256 height = 0;
        for (uint256 x = index ^ size; x > 1; x >>= 1) {
            height++;
        }
        if (siblings.length != height) revert InvalidMmrProof();
        bytes32 node = leaf;
        for (uint256 k = 0; k < height; k++) {
            node = (index >> k) & 1 == 0
                ? keccak256(abi.encodePacked(node, siblings[k]))
                : keccak256(abi.encodePacked(siblings[k], node));
        }
        bytes32[32] memory peaks;
        uint256 given = 0;
        for (uint256 h = 0; h < 32; h++) {
            if ((size >> h) & 1 == 1) {
                if (h == height) {
                    peaks[h] = node;
                } else {
                    if (given == otherPeaks.length) revert InvalidMmrProof();
                    peaks[h] = otherPeaks[given++];
                }
            }
        }
        if (given != otherPeaks.length) revert InvalidMmrProof();
        return root(size, peaks);
    }

    /// Reverts unless `leaf` is leaf `index` of the MMR with `mmrRoot`.
    function verify(
        bytes32 mmrRoot,
        bytes32 leaf,
        uint256 size,
        uint256 index,
        bytes32[] memory siblings,
        bytes32[] memory otherPeaks
    ) internal pure {
        if (rootOf(leaf, size, index, siblings, otherPeaks) != mmrRoot) revert InvalidMmrProof();
    }
}
