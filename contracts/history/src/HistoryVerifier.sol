// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IHistoryVerifier} from "./IHistoryVerifier.sol";
import {RLPReader} from "./RLPReader.sol";
import {MerklePatricia} from "./MerklePatricia.sol";
import {BlockHashMmr} from "./BlockHashMmr.sol";
import {HistoryFields} from "./HistoryFields.sol";

/// @title HistoryVerifier
/// @notice cairn-history's proofs checked on chain (see `IHistoryVerifier`).
contract HistoryVerifier is IHistoryVerifier {
    using RLPReader for RLPReader.Item;

    uint256 internal constant HEADER = 1;
    uint256 internal constant ACCOUNT = 2;
    uint256 internal constant STORAGE = 3;
    uint256 internal constant MAPPING = 4;
    uint256 internal constant TX = 5;
    uint256 internal constant RECEIPT = 6;
    uint256 internal constant LOG = 7;
    uint256 internal constant MAX_MAPPING_DEPTH = 4;

    error HeaderHashMismatch(bytes32 got, bytes32 expected);
    error HeaderNumberMismatch(uint256 got, uint256 expected);
    error UnknownKind(uint256 kind);
    error BadWord(uint256 word);
    error AbsentEntry();
    error MappingKeysMismatch();
    error StorageOfAbsentAccount();
    error BlockTooOld(uint256 blockNumber);
    error LengthMismatch();

    /// @inheritdoc IHistoryVerifier
    function verifySubquery(
        bytes32 blockHash,
        Subquery calldata subquery,
        bytes calldata header,
        DataProof calldata proof
    ) external pure returns (bytes32) {
        return _verify(blockHash, subquery, header, proof);
    }

    /// @inheritdoc IHistoryVerifier
    function verifySubqueryInMmr(
        bytes32 root,
        MmrProof calldata mmrProof,
        Subquery calldata subquery,
        bytes calldata header,
        DataProof calldata proof
    ) external pure returns (bytes32) {
        if (mmrProof.index != subquery.blockNumber) revert BlockHashMmr.InvalidMmrProof();
        bytes32 blockHash = keccak256(header);
        BlockHashMmr.verify(root, blockHash, mmrProof.size, mmrProof.index, mmrProof.siblings, mmrProof.peaks);
        return _verify(blockHash, subquery, header, proof);
    }

    /// @inheritdoc IHistoryVerifier
    function verifyRecentSubquery(Subquery calldata subquery, bytes calldata header, DataProof calldata proof)
        external
        view
        returns (bytes32)
    {
        bytes32 blockHash = blockhash(subquery.blockNumber);
        if (blockHash == bytes32(0)) revert BlockTooOld(subquery.blockNumber);
        return _verify(blockHash, subquery, header, proof);
    }

    /// @inheritdoc IHistoryVerifier
    function verifyBlockHash(bytes32 root, MmrProof calldata mmrProof, bytes32 blockHash) external pure {
        BlockHashMmr.verify(root, blockHash, mmrProof.size, mmrProof.index, mmrProof.siblings, mmrProof.peaks);
    }

    /// @inheritdoc IHistoryVerifier
    function mmrRoot(uint256 size, bytes32[32] calldata peaks) external pure returns (bytes32) {
        return BlockHashMmr.root(size, peaks);
    }

    /// @inheritdoc IHistoryVerifier
    function resultLeaf(Subquery calldata subquery, bytes32 result) public pure returns (bytes32) {
        return keccak256(abi.encode(subquery, result));
    }

    /// @inheritdoc IHistoryVerifier
    function resultsRoot(Subquery[] calldata subqueries, bytes32[] calldata results) external pure returns (bytes32) {
        if (subqueries.length != results.length) revert LengthMismatch();
        if (subqueries.length == 0) return bytes32(0);
        uint256 width = 1;
        while (width < subqueries.length) width <<= 1;
        bytes32[] memory level = new bytes32[](width);
        for (uint256 i = 0; i < subqueries.length; i++) {
            level[i] = resultLeaf(subqueries[i], results[i]);
        }
        for (; width > 1; width >>= 1) {
            for (uint256 i = 0; i < width / 2; i++) {
                level[i] = keccak256(abi.encodePacked(level[2 * i], level[2 * i + 1]));
            }
        }
        return level[0];
    }

    /// @inheritdoc IHistoryVerifier
    function mappingSlot(bytes32 slot, bytes[] calldata keys) external pure returns (bytes32) {
        return _mappingSlot(slot, keys);
    }

    function _mappingSlot(bytes32 slot, bytes[] memory keys) internal pure returns (bytes32) {
        for (uint256 i = 0; i < keys.length; i++) {
            slot = keccak256(abi.encodePacked(keys[i], slot));
        }
        return slot;
    }

    function _keysHash(bytes[] memory keys) internal pure returns (bytes32) {
        bytes32[] memory hashes = new bytes32[](keys.length);
        for (uint256 i = 0; i < keys.length; i++) {
            hashes[i] = keccak256(keys[i]);
        }
        return keccak256(abi.encodePacked(hashes));
    }

    /// A word that must hold a small number (a field code, index or count).
    function _small(bytes32 w, uint256 which) internal pure returns (uint256 n) {
        n = uint256(w);
        if (n > type(uint64).max) revert BadWord(which);
    }

    function _address(bytes32 w) internal pure returns (address) {
        if (uint256(w) >> 160 != 0) revert BadWord(2);
        return address(uint160(uint256(w)));
    }

    function _verify(bytes32 blockHash, Subquery calldata sq, bytes memory header, DataProof calldata proof)
        internal
        pure
        returns (bytes32)
    {
        bytes32 got = keccak256(header);
        if (got != blockHash) revert HeaderHashMismatch(got, blockHash);
        RLPReader.Item[] memory items = RLPReader.toList(header);
        if (items.length < 15) revert RLPReader.MalformedRlp();
        uint256 number = items[8].toUint();
        if (number != sq.blockNumber) revert HeaderNumberMismatch(number, sq.blockNumber);
        uint256 kind = sq.kind;
        if (kind == HEADER) {
            if (sq.w4 != 0 || sq.w5 != 0) revert BadWord(4);
            return HistoryFields.headerField(header, _small(sq.w2, 2), _small(sq.w3, 3));
        }
        if (kind == ACCOUNT) {
            if (sq.w4 != 0 || sq.w5 != 0) revert BadWord(4);
            return _account(items[3].toWord(), _address(sq.w2), _small(sq.w3, 3), proof.accountProof);
        }
        if (kind == STORAGE || kind == MAPPING) {
            bytes32 slot = sq.w3;
            if (kind == MAPPING) {
                uint256 depth = _small(sq.w4, 4);
                bytes[] memory keys = proof.mappingKeys;
                if (depth == 0 || depth > MAX_MAPPING_DEPTH || keys.length != depth || _keysHash(keys) != sq.w5) {
                    revert MappingKeysMismatch();
                }
                slot = _mappingSlot(slot, keys);
            } else if (sq.w4 != 0 || sq.w5 != 0) {
                revert BadWord(4);
            }
            return _storage(items[3].toWord(), _address(sq.w2), slot, proof.accountProof, proof.storageProof);
        }
        if (kind == TX || kind == RECEIPT || kind == LOG) {
            bytes32 root = kind == TX ? items[4].toWord() : items[5].toWord();
            bytes memory value = _trieEntry(root, _small(sq.w2, 2), proof.trieProof);
            if (kind == TX) {
                if (sq.w5 != 0) revert BadWord(5);
                return HistoryFields.txField(value, _small(sq.w3, 3), _small(sq.w4, 4));
            }
            if (kind == RECEIPT) {
                if (sq.w5 != 0) revert BadWord(5);
                return HistoryFields.receiptField(value, _small(sq.w3, 3), _small(sq.w4, 4));
            }
            return HistoryFields.logField(value, _small(sq.w3, 3), _small(sq.w4, 4), _small(sq.w5, 5));
        }
        revert UnknownKind(kind);
    }

    /// The account's four items, or none when the proof shows it absent.
    function _accountItems(bytes32 stateRoot, address who, bytes[] memory proof)
        internal
        pure
        returns (bool exists, RLPReader.Item[] memory fields)
    {
        bytes memory value;
        (exists, value) = MerklePatricia.get(stateRoot, abi.encodePacked(keccak256(abi.encodePacked(who))), proof);
        if (exists) {
            fields = RLPReader.toList(value);
            if (fields.length != 4) revert RLPReader.MalformedRlp();
        }
    }

    function _account(bytes32 stateRoot, address who, uint256 field, bytes[] memory proof)
        internal
        pure
        returns (bytes32)
    {
        if (field > 3) revert HistoryFields.BadField(field);
        (bool exists, RLPReader.Item[] memory fields) = _accountItems(stateRoot, who, proof);
        return exists ? fields[field].toWord() : bytes32(0);
    }

    function _storage(
        bytes32 stateRoot,
        address who,
        bytes32 slot,
        bytes[] memory accountProof,
        bytes[] memory storageProof
    ) internal pure returns (bytes32) {
        (bool exists, RLPReader.Item[] memory fields) = _accountItems(stateRoot, who, accountProof);
        if (!exists) {
            if (storageProof.length != 0) revert StorageOfAbsentAccount();
            return bytes32(0);
        }
        (bool set, bytes memory value) =
            MerklePatricia.get(fields[2].toWord(), abi.encodePacked(keccak256(abi.encodePacked(slot))), storageProof);
        return set ? RLPReader.toItem(value).toWord() : bytes32(0);
    }

    /// Entry `index` of a transactions or receipts trie (key `rlp(index)`); it must exist.
    function _trieEntry(bytes32 root, uint256 index, bytes[] memory proof) internal pure returns (bytes memory) {
        bytes memory key;
        if (index == 0) {
            key = hex"80";
        } else if (index < 0x80) {
            key = abi.encodePacked(uint8(index));
        } else {
            uint256 len = 0;
            for (uint256 x = index; x > 0; x >>= 8) len++;
            key = new bytes(len + 1);
            key[0] = bytes1(uint8(0x80 + len));
            for (uint256 i = 0; i < len; i++) {
                key[len - i] = bytes1(uint8(index >> (8 * i)));
            }
        }
        (bool exists, bytes memory value) = MerklePatricia.get(root, key, proof);
        if (!exists) revert AbsentEntry();
        return value;
    }
}
