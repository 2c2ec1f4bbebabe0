// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title RLPReader
/// @notice Reads RLP items in memory by position, the way cairn-history reads them in Rust:
///         a list is a sequence of item encodings; a string item's payload is its value.
///         Every read is bounds-checked and reverts on malformed input.
library RLPReader {
    /// An item's encoding (prefix included): `len` bytes at memory address `ptr`.
    struct Item {
        uint256 len;
        uint256 ptr;
    }

    error MalformedRlp();

    /// The whole of `b` as one item.
    function toItem(bytes memory b) internal pure returns (Item memory item) {
        uint256 ptr;
        assembly {
            ptr := add(b, 32)
        }
        item = Item(b.length, ptr);
    }

    /// The payload's offset within the item, its length, and whether the item is a list.
    /// The payload must end exactly at the item's end.
    function header(Item memory item) internal pure returns (uint256 offset, uint256 len, bool list) {
        if (item.len == 0) revert MalformedRlp();
        uint256 b0;
        uint256 ptr = item.ptr;
        assembly {
            b0 := byte(0, mload(ptr))
        }
        if (b0 < 0x80) {
            (offset, len) = (0, 1);
        } else if (b0 < 0xb8) {
            (offset, len) = (1, b0 - 0x80);
        } else if (b0 < 0xc0) {
            (offset, len) = _long(item, b0 - 0xb7);
        } else if (b0 < 0xf8) {
            (offset, len, list) = (1, b0 - 0xc0, true);
        } else {
            (offset, len) = _long(item, b0 - 0xf7);
            list = true;
        }
        if (offset + len != item.len) revert MalformedRlp();
    }

    function _long(Item memory item, uint256 lenOfLen) private pure returns (uint256 offset, uint256 len) {
        if (item.len < 1 + lenOfLen || lenOfLen > 8) revert MalformedRlp();
        uint256 ptr = item.ptr;
        assembly {
            len := shr(sub(256, mul(8, lenOfLen)), mload(add(ptr, 1)))
        }
        offset = 1 + lenOfLen;
    }

    /// The length of the item starting at `ptr` with at most `max` bytes available.
    function _itemLength(uint256 ptr, uint256 max) private pure returns (uint256) {
        if (max == 0) revert MalformedRlp();
        uint256 b0;
        assembly {
            b0 := byte(0, mload(ptr))
        }
        uint256 total;
        if (b0 < 0x80) {
            total = 1;
        } else if (b0 < 0xb8) {
            total = 1 + b0 - 0x80;
        } else if (b0 < 0xc0) {
            total = _longTotal(ptr, max, b0 - 0xb7);
        } else if (b0 < 0xf8) {
            total = 1 + b0 - 0xc0;
        } else {
            total = _longTotal(ptr, max, b0 - 0xf7);
        }
        if (total > max) revert MalformedRlp();
        return total;
    }

    function _longTotal(uint256 ptr, uint256 max, uint256 lenOfLen) private pure returns (uint256 total) {
        if (max < 1 + lenOfLen || lenOfLen > 8) revert MalformedRlp();
        uint256 len;
        assembly {
            len := shr(sub(256, mul(8, lenOfLen)), mload(add(ptr, 1)))
        }
        total = 1 + lenOfLen + len;
    }

    /// The items of a list item; reverts for a string.
    function toList(Item memory item) internal pure returns (Item[] memory items) {
        (uint256 offset, uint256 len, bool list) = header(item);
        if (!list) revert MalformedRlp();
        uint256 ptr = item.ptr + offset;
        uint256 end = ptr + len;
        uint256 count;
        for (uint256 p = ptr; p < end; count++) {
            p += _itemLength(p, end - p);
        }
        items = new Item[](count);
        for (uint256 i = 0; i < count; i++) {
            uint256 l = _itemLength(ptr, end - ptr);
            items[i] = Item(l, ptr);
            ptr += l;
        }
    }

    /// The items of a list held in `b`.
    function toList(bytes memory b) internal pure returns (Item[] memory) {
        return toList(toItem(b));
    }

    /// The payload of a string item: memory address and length.
    function payload(Item memory item) internal pure returns (uint256 ptr, uint256 len) {
        (uint256 offset, uint256 l, bool list) = header(item);
        if (list) revert MalformedRlp();
        return (item.ptr + offset, l);
    }

    /// The payload of a string item, copied.
    function toBytes(Item memory item) internal pure returns (bytes memory out) {
        (uint256 ptr, uint256 len) = payload(item);
        out = new bytes(len);
        uint256 dest;
        assembly {
            dest := add(out, 32)
        }
        _copy(ptr, dest, len);
        assembly {
            // Zero what the word copy carried past the end (free memory at worst).
            mstore(add(dest, len), 0)
        }
    }

    /// A string item of at most 32 bytes, right-aligned (integers, addresses, hashes).
    function toWord(Item memory item) internal pure returns (bytes32 w) {
        (uint256 ptr, uint256 len) = payload(item);
        if (len > 32) revert MalformedRlp();
        if (len == 0) return bytes32(0);
        assembly {
            w := shr(sub(256, mul(8, len)), mload(ptr))
        }
    }

    /// A string item as a number.
    function toUint(Item memory item) internal pure returns (uint256) {
        return uint256(toWord(item));
    }

    /// Whether the item is a list.
    function isList(Item memory item) internal pure returns (bool list) {
        (,, list) = header(item);
    }

    /// Copies `len` bytes from `src` to `dest` (memory addresses).
    function _copy(uint256 src, uint256 dest, uint256 len) internal pure {
        assembly {
            for { let i := 0 } lt(i, len) { i := add(i, 32) } {
                mstore(add(dest, i), mload(add(src, i)))
            }
        }
    }

    /// keccak256 of the item's whole encoding.
    function hash(Item memory item) internal pure returns (bytes32 h) {
        uint256 ptr = item.ptr;
        uint256 len = item.len;
        assembly {
            h := keccak256(ptr, len)
        }
    }
}
