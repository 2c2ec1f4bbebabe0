// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {RLPReader} from "./RLPReader.sol";

/// @title HistoryFields
/// @notice Reads a subquery's field out of authenticated RLP (a header, a transaction or a
///         receipt envelope) by position, exactly as cairn-history does: integers,
///         addresses and hashes right-aligned in a word; long byte strings in 32-byte words
///         (`item`), left-aligned and zero-padded.
library HistoryFields {
    using RLPReader for RLPReader.Item;

    error BadField(uint256 field);
    error ItemOutOfRange(uint256 item);
    error MalformedEnvelope();

    // Header field codes that are read in words; 64 is the block hash.
    uint256 internal constant HEADER_LOGS_BLOOM = 6;
    uint256 internal constant HEADER_EXTRA_DATA = 12;
    uint256 internal constant HEADER_HASH = 64;

    /// Word `item` of the bytes at `ptr` of `len` bytes; reverts past the end.
    function chunk(uint256 ptr, uint256 len, uint256 item) internal pure returns (bytes32 w) {
        if (item >= (len + 31) / 32) revert ItemOutOfRange(item);
        uint256 start = item * 32;
        uint256 n = len - start < 32 ? len - start : 32;
        assembly {
            w := mload(add(ptr, start))
        }
        // Keep the first n bytes.
        if (n < 32) w &= bytes32(~(type(uint256).max >> (8 * n)));
    }

    /// A header field (codes 0..20: the header's RLP positions; 64: its hash).
    function headerField(bytes memory header, uint256 field, uint256 item) internal pure returns (bytes32) {
        if (field == HEADER_HASH) {
            if (item != 0) revert BadField(field);
            return keccak256(header);
        }
        RLPReader.Item[] memory items = RLPReader.toList(header);
        if (field > 20 || field >= items.length) revert BadField(field);
        if (field == HEADER_LOGS_BLOOM || field == HEADER_EXTRA_DATA) {
            (uint256 ptr, uint256 len) = items[field].payload();
            return chunk(ptr, len, item);
        }
        if (item != 0) revert BadField(field);
        return items[field].toWord();
    }

    /// An EIP-2718 envelope: its type (0 for a legacy list) and its list items.
    function envelope(bytes memory raw) internal pure returns (uint256 ty, RLPReader.Item[] memory items) {
        if (raw.length == 0) revert MalformedEnvelope();
        uint8 first = uint8(raw[0]);
        RLPReader.Item memory body = RLPReader.toItem(raw);
        if (first >= 0xc0) {
            ty = 0;
        } else if (first <= 0x7f) {
            ty = first;
            body = RLPReader.Item(body.len - 1, body.ptr + 1);
        } else {
            revert MalformedEnvelope();
        }
        items = body.toList();
    }

    /// Where a transaction type keeps each field: positions packed one byte each, in the
    /// order len, chainId(255: none), nonce, maxPriorityFee, maxFee, gasLimit, to, value, data,
    /// accessList(255), maxFeePerBlobGas(255), blobHashes(255), authorizations(255), v.
    function _layout(uint256 ty) private pure returns (uint256[14] memory l) {
        uint256 n = 255;
        if (ty == 0) return [uint256(9), n, 0, 1, 1, 2, 3, 4, 5, n, n, n, n, 6];
        if (ty == 1) return [uint256(11), 0, 1, 2, 2, 3, 4, 5, 6, 7, n, n, n, 8];
        if (ty == 2) return [uint256(12), 0, 1, 2, 3, 4, 5, 6, 7, 8, n, n, n, 9];
        if (ty == 3) return [uint256(14), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, n, 11];
        if (ty == 4) return [uint256(13), 0, 1, 2, 3, 4, 5, 6, 7, 8, n, n, 9, 10];
        revert MalformedEnvelope();
    }

    function _listLen(RLPReader.Item[] memory items, uint256 at) private pure returns (bytes32) {
        if (at == 255) return bytes32(0);
        return bytes32(items[at].toList().length);
    }

    /// A transaction field (codes as cairn-history's `TxField`).
    function txField(bytes memory raw, uint256 field, uint256 item) internal pure returns (bytes32) {
        (uint256 ty, RLPReader.Item[] memory items) = envelope(raw);
        uint256[14] memory l = _layout(ty);
        if (items.length != l[0]) revert MalformedEnvelope();
        if (item != 0 && field != 8 && field != 13) revert BadField(field);
        if (field == 0) return bytes32(ty);
        if (field == 1) {
            if (l[1] != 255) return items[l[1]].toWord();
            uint256 v = items[l[13]].toUint();
            return v >= 35 ? bytes32((v - 35) / 2) : bytes32(0);
        }
        if (field == 2) return items[l[2]].toWord();
        if (field == 3) return items[l[5]].toWord();
        if (field == 4) {
            (, uint256 toLen) = items[l[6]].payload();
            if (toLen != 0 && toLen != 20) revert MalformedEnvelope();
            return items[l[6]].toWord();
        }
        if (field == 5) return items[l[7]].toWord();
        if (field == 6 || field == 7 || field == 8) {
            (uint256 ptr, uint256 len) = items[l[8]].payload();
            if (field == 6) return bytes32(len);
            if (field == 8) return chunk(ptr, len, item);
            if (len < 4) return bytes32(0);
            bytes32 w;
            assembly {
                w := shr(224, mload(ptr))
            }
            return w;
        }
        if (field == 9) return items[l[4]].toWord();
        if (field == 10) return items[l[3]].toWord();
        if (field == 11) return l[10] == 255 ? bytes32(0) : items[l[10]].toWord();
        if (field == 12) return _listLen(items, l[11]);
        if (field == 13) {
            if (l[11] == 255) revert ItemOutOfRange(item);
            RLPReader.Item[] memory hashes = items[l[11]].toList();
            if (item >= hashes.length) revert ItemOutOfRange(item);
            return hashes[item].toWord();
        }
        if (field == 14) return _listLen(items, l[9]);
        if (field == 15) return _listLen(items, l[12]);
        if (field == 16) return items[l[13]].toWord();
        if (field == 17) return items[l[13] + 1].toWord();
        if (field == 18) return items[l[13] + 2].toWord();
        if (field == 19) return keccak256(raw);
        revert BadField(field);
    }

    function _receipt(bytes memory raw) private pure returns (uint256 ty, RLPReader.Item[] memory items) {
        (ty, items) = envelope(raw);
        if (ty > 4 || items.length != 4) revert MalformedEnvelope();
    }

    /// A receipt field (codes as cairn-history's `ReceiptField`).
    function receiptField(bytes memory raw, uint256 field, uint256 item) internal pure returns (bytes32) {
        (uint256 ty, RLPReader.Item[] memory items) = _receipt(raw);
        if (item != 0 && field != 3) revert BadField(field);
        if (field == 0) return bytes32(ty);
        if (field == 1) return items[0].toWord();
        if (field == 2) return items[1].toWord();
        if (field == 3) {
            (uint256 ptr, uint256 len) = items[2].payload();
            return chunk(ptr, len, item);
        }
        if (field == 4) return bytes32(items[3].toList().length);
        revert BadField(field);
    }

    /// A field of log `logIndex` of a receipt (codes as cairn-history's `LogField`).
    function logField(bytes memory raw, uint256 logIndex, uint256 field, uint256 item)
        internal
        pure
        returns (bytes32)
    {
        (, RLPReader.Item[] memory items) = _receipt(raw);
        RLPReader.Item[] memory logs = items[3].toList();
        if (logIndex >= logs.length) revert ItemOutOfRange(logIndex);
        RLPReader.Item[] memory log = logs[logIndex].toList();
        if (log.length != 3) revert MalformedEnvelope();
        if (item != 0 && field != 2 && field != 4) revert BadField(field);
        if (field == 0) {
            (, uint256 addressLen) = log[0].payload();
            if (addressLen != 20) revert MalformedEnvelope();
            return log[0].toWord();
        }
        if (field == 1) return bytes32(log[1].toList().length);
        if (field == 2) {
            RLPReader.Item[] memory topics = log[1].toList();
            if (item >= topics.length) revert ItemOutOfRange(item);
            return topics[item].toWord();
        }
        (uint256 ptr, uint256 len) = log[2].payload();
        if (field == 3) return bytes32(len);
        if (field == 4) return chunk(ptr, len, item);
        revert BadField(field);
    }
}
