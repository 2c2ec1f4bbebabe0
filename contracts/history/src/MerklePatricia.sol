// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {RLPReader} from "./RLPReader.sol";

/// @title MerklePatricia
/// @notice Reads one key of an Ethereum Merkle-Patricia trie from a proof in
///         `eth_getProof` form: the nodes on the key's path, root first, each hashed node
///         listed and each node embedded in its parent (shorter than 32 bytes) not. Proves
///         the key's value or its absence; every listed node must be used.
library MerklePatricia {
    using RLPReader for RLPReader.Item;

    /// keccak256(rlp("")): the root of an empty trie.
    bytes32 internal constant EMPTY_ROOT = 0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421;

    error InvalidProof();

    /// The value at `key` in the trie with `root` (`exists` false, `value` empty when the
    /// proof shows the key absent). Reverts when the proof does not hold together.
    function get(bytes32 root, bytes memory key, bytes[] memory proof)
        internal
        pure
        returns (bool exists, bytes memory value)
    {
        if (root == EMPTY_ROOT) {
            // An empty trie: no node (geth) or the empty string (reth, anvil).
            if (proof.length == 0 || (proof.length == 1 && proof[0].length == 1 && proof[0][0] == 0x80)) {
                return (false, value);
            }
            revert InvalidProof();
        }
        Walk memory w;
        w.key = key;
        w.expected = root;
        w.hashed = true;
        while (!w.done) {
            _step(w, proof);
        }
        if (w.used != proof.length) revert InvalidProof();
        return (w.exists, w.value);
    }

    /// Where a walk down the trie is.
    struct Walk {
        bytes key;
        uint256 pos; // nibbles of the key consumed
        uint256 used; // proof nodes consumed
        bytes32 expected; // hash of the next proof node, when `hashed`
        bool hashed; // the next node is the next proof node (else `node`, embedded)
        RLPReader.Item node;
        bool done;
        bool exists;
        bytes value;
    }

    /// Decodes the next node and moves to its child on the key's path, or ends the walk.
    function _step(Walk memory w, bytes[] memory proof) private pure {
        if (w.hashed) {
            if (w.used == proof.length || keccak256(proof[w.used]) != w.expected) revert InvalidProof();
            w.node = RLPReader.toItem(proof[w.used]);
            w.used++;
        }
        RLPReader.Item[] memory items = w.node.toList();
        RLPReader.Item memory child;
        if (items.length == 17) {
            if (w.pos == w.key.length * 2) {
                w.value = items[16].toBytes();
                w.exists = w.value.length > 0;
                w.done = true;
                return;
            }
            child = items[_nibble(w.key, w.pos)];
            w.pos++;
        } else if (items.length == 2) {
            (bool matches, uint256 nibbles, bool leaf) = _matchPath(items[0], w.key, w.pos);
            if (!matches) {
                // The key leaves the trie here: absent.
                w.done = true;
                return;
            }
            w.pos += nibbles;
            if (leaf) {
                if (w.pos == w.key.length * 2) {
                    w.value = items[1].toBytes();
                    w.exists = true;
                }
                w.done = true;
                return;
            }
            child = items[1];
        } else {
            revert InvalidProof();
        }
        // The child: empty (absent), a hash, or a node embedded in place.
        if (child.isList()) {
            if (child.len >= 32) revert InvalidProof();
            w.node = child;
            w.hashed = false;
            return;
        }
        (uint256 p, uint256 l) = child.payload();
        if (l == 0) {
            w.done = true;
            return;
        }
        if (l != 32) revert InvalidProof();
        bytes32 h;
        assembly {
            h := mload(p)
        }
        w.expected = h;
        w.hashed = true;
    }

    /// Decodes a leaf or extension's hex-prefix path and compares it with `key` from nibble
    /// `pos`: whether it matches, its nibble count, and whether the node is a leaf.
    function _matchPath(RLPReader.Item memory path, bytes memory key, uint256 pos)
        private
        pure
        returns (bool matches, uint256 nibbles, bool leaf)
    {
        (uint256 ptr, uint256 len) = path.payload();
        if (len == 0) revert InvalidProof();
        uint256 flag = _byteAt(ptr, 0) >> 4;
        if (flag > 3) revert InvalidProof();
        leaf = flag >= 2;
        uint256 skip = (flag & 1) == 1 ? 1 : 2;
        nibbles = len * 2 - skip;
        matches = pos + nibbles <= key.length * 2;
        for (uint256 i = 0; matches && i < nibbles; i++) {
            uint256 n = skip + i;
            uint256 b = _byteAt(ptr, n / 2);
            matches = (n % 2 == 0 ? b >> 4 : b & 0x0f) == _nibble(key, pos + i);
        }
    }

    function _nibble(bytes memory key, uint256 i) private pure returns (uint256) {
        uint8 b = uint8(key[i / 2]);
        return i % 2 == 0 ? b >> 4 : b & 0x0f;
    }

    function _byteAt(uint256 ptr, uint256 i) private pure returns (uint256 b) {
        assembly {
            b := byte(0, mload(add(ptr, i)))
        }
    }
}
