// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title IHistoryVerifier
/// @notice Verifies cairn-history's proofs of historical Ethereum data on chain: a header
///         against a block hash (given, from `blockhash`, or proven in a block-hash MMR), then
///         one subquery's result from that header through RLP and Merkle-Patricia proofs.
/// @dev Self-contained (no imports) so that alloy's `sol!` can bind it from this file.
///      Encodings are cairn-history's: a subquery is six words `[kind, blockNumber, w2, w3,
///      w4, w5]` (kinds 1 header, 2 account, 3 storage, 4 mapping, 5 tx, 6 receipt, 7 log),
///      a result one word, `leaf = keccak256(abi.encode(subquery, result))`, and the results
///      root the Keccak Merkle root of the leaves padded with zeros to a power of two.
interface IHistoryVerifier {
    /// A subquery's six words.
    struct Subquery {
        uint256 kind;
        uint256 blockNumber;
        bytes32 w2;
        bytes32 w3;
        bytes32 w4;
        bytes32 w5;
    }

    /// Inclusion of a block hash as leaf `index` of the MMR of `size` blocks: siblings
    /// bottom-up, then the MMR's other peaks in ascending height.
    struct MmrProof {
        uint256 size;
        uint256 index;
        bytes32[] siblings;
        bytes32[] peaks;
    }

    /// What proves a result from a header: state-trie nodes (account, storage, mapping),
    /// storage-trie nodes (storage, mapping), transactions- or receipts-trie nodes (tx,
    /// receipt, log), and the mapping keys `h(k)` (mapping).
    struct DataProof {
        bytes[] accountProof;
        bytes[] storageProof;
        bytes[] trieProof;
        bytes[] mappingKeys;
    }

    /// The result of `subquery`, from `header`, which must hash to `blockHash`.
    function verifySubquery(
        bytes32 blockHash,
        Subquery calldata subquery,
        bytes calldata header,
        DataProof calldata proof
    ) external pure returns (bytes32 result);

    /// The result of `subquery`, from `header`, whose hash must be leaf `blockNumber` of the
    /// MMR with `mmrRoot`.
    function verifySubqueryInMmr(
        bytes32 mmrRoot,
        MmrProof calldata mmrProof,
        Subquery calldata subquery,
        bytes calldata header,
        DataProof calldata proof
    ) external pure returns (bytes32 result);

    /// The result of `subquery` about one of the last 256 blocks, trusting `blockhash`.
    function verifyRecentSubquery(Subquery calldata subquery, bytes calldata header, DataProof calldata proof)
        external
        view
        returns (bytes32 result);

    /// Reverts unless `blockHash` is leaf `mmrProof.index` of the MMR with `mmrRoot`.
    function verifyBlockHash(bytes32 mmrRoot, MmrProof calldata mmrProof, bytes32 blockHash) external pure;

    /// The root of an MMR of `size` blocks from its peaks by height.
    function mmrRoot(uint256 size, bytes32[32] calldata peaks) external pure returns (bytes32);

    /// `keccak256(abi.encode(subquery, result))`.
    function resultLeaf(Subquery calldata subquery, bytes32 result) external pure returns (bytes32);

    /// The results root of a query.
    function resultsRoot(Subquery[] calldata subqueries, bytes32[] calldata results) external pure returns (bytes32);

    /// The raw slot of a (nested) Solidity mapping at `slot` read at keys `h(k)`.
    function mappingSlot(bytes32 slot, bytes[] calldata keys) external pure returns (bytes32);
}
