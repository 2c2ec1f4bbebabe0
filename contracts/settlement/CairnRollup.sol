// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {PublicValues, BatchBinding, Proof} from "./CairnTypes.sol";
import {QMTreeBinding, BindingSide} from "./QMTreeBinding.sol";
import {IProofVerifier} from "./IProofVerifier.sol";
import {Owned} from "./Owned.sol";

/// The caller is not the proposer.
error NotProposer(address caller);
/// `commitBatch` for another batch than the next one.
error CommitOutOfOrder(uint64 expected, uint64 got);
/// `verifyBatch` for another batch than the next one to settle.
error BatchOutOfOrder(uint64 expected, uint64 got);
/// `verifyBatch` for a batch that is not committed.
error BatchNotCommitted(uint64 batch);
/// The public values do not hash to the committed `publicValuesHash`.
error PublicValuesMismatch(uint64 batch, bytes32 committed, bytes32 given);
/// The public values are of another chain.
error WrongChain(uint64 expected, uint64 got);
/// The public values are of another chain configuration.
error WrongChainConfig(bytes32 expected, bytes32 got);
/// The batch does not start right after the last settled block.
error BlockGap(uint64 expected, uint64 got);
/// The batch ends before it starts.
error EmptyBatch(uint64 firstBlock, uint64 lastBlock);
/// The batch does not start from the last settled state root.
error StateRootMismatch(bytes32 expected, bytes32 got);
/// A binding root is not the one the rollup holds: before the batch, the last settled QMTree
/// root; after it, the committed one.
error QmRootMismatch(BindingSide side, bytes32 expected, bytes32 got);
/// Two proofs of one type.
error DuplicateProofType(uint8 proofType);
/// No verifier is registered for a proof's type.
error NoVerifier(uint8 proofType);
/// A required proof type has no proof.
error MissingProofType(uint8 proofType);
/// The constructor's proof types and verifiers differ in length.
error RoutesLength();
/// `revertBatches` to a batch that is settled or not committed.
error CannotRevert(uint64 lastVerified, uint64 lastCommitted, uint64 to);

/// Cairn's rollup: the owner-configured sequence of proved batches of one chain.
///
/// The proposer commits each batch (`commitBatch`: its public-values hash and the QMTree root
/// after it); `verifyBatch` settles it when every proof type the deployment requires verifies
/// (on-chain multi-proof, the set fixed at deployment) and its QMTree binding verifies.
/// Batches settle strictly in order, each starting at the block after the last settled one,
/// from the last settled state root and QMTree root. Each proof type routes to a verifier
/// (`IProofVerifier`) that the owner sets and replaces (`setVerifier`): an attest signer set,
/// a ZK verifier behind `ZkProofVerifier`; a new verifier plugs in without redeploying.
contract CairnRollup is Owned {
    struct Tip {
        uint64 lastVerifiedBatch;
        uint64 lastCommittedBatch;
        uint64 lastBlock;
    }

    struct Commitment {
        bytes32 publicValuesHash;
        bytes32 qmRoot;
    }

    /// Bit `t` set: a proof of type `t` is required.
    uint256 public immutable requiredProofTypes;
    /// The proven chain.
    uint64 public immutable chainId;
    /// Its `chainConfigHash`.
    bytes32 public immutable chainConfigHash;

    Tip private tip;
    /// State root after the last settled block.
    bytes32 public stateRoot;
    /// QMTree root after the last settled block.
    bytes32 public qmRoot;
    /// The program whose proofs are accepted (a new program version is a new rollup, anchored
    /// where this one stands).
    bytes32 public immutable programId;
    address public proposer;
    /// The router: proof type to verifier.
    mapping(uint8 => IProofVerifier) private routes;
    mapping(uint64 => Commitment) private commitments;

    event BatchCommitted(uint64 indexed batch, bytes32 publicValuesHash, bytes32 qmRoot);
    event BatchVerified(
        uint64 indexed batch,
        uint64 firstBlock,
        uint64 lastBlock,
        bytes32 stateRoot,
        bytes32 qmRoot,
        bytes32 publicValuesHash
    );
    event BatchesReverted(uint64 fromBatch, uint64 toBatch);
    event VerifierSet(uint8 indexed proofType, address verifier);
    event ProposerSet(address proposer);

    /// What a deployment fixes: the owner and proposer, the proven chain, the program, the
    /// proof types every batch needs, the first routes (proof type to verifier), and the anchor
    /// (the last block already settled; for a new chain, its genesis).
    struct Config {
        address owner;
        address proposer;
        uint64 chainId;
        bytes32 chainConfigHash;
        bytes32 programId;
        uint8[] required;
        uint8[] routedTypes;
        IProofVerifier[] routedVerifiers;
        uint64 anchorBlock;
        bytes32 anchorStateRoot;
        bytes32 anchorQmRoot;
    }

    constructor(Config memory config) Owned(config.owner) {
        uint256 mask;
        for (uint256 i; i < config.required.length; ++i) {
            mask |= uint256(1) << config.required[i];
        }
        requiredProofTypes = mask;
        chainId = config.chainId;
        chainConfigHash = config.chainConfigHash;
        proposer = config.proposer;
        programId = config.programId;
        tip.lastBlock = config.anchorBlock;
        stateRoot = config.anchorStateRoot;
        qmRoot = config.anchorQmRoot;
        emit ProposerSet(config.proposer);
        if (config.routedTypes.length != config.routedVerifiers.length) revert RoutesLength();
        for (uint256 i; i < config.routedTypes.length; ++i) {
            routes[config.routedTypes[i]] = config.routedVerifiers[i];
            emit VerifierSet(config.routedTypes[i], address(config.routedVerifiers[i]));
        }
    }

    /// The verifier proof type `proofType` routes to (zero: none).
    function verifierOf(uint8 proofType) external view returns (IProofVerifier) {
        return routes[proofType];
    }

    /// The last settled batch (0: none yet).
    function lastVerifiedBatch() external view returns (uint64) {
        return tip.lastVerifiedBatch;
    }

    /// The last committed batch.
    function lastCommittedBatch() external view returns (uint64) {
        return tip.lastCommittedBatch;
    }

    /// The last settled block.
    function lastBlock() external view returns (uint64) {
        return tip.lastBlock;
    }

    /// What `commitBatch` recorded for a batch not settled yet (zeros otherwise).
    function commitmentOf(uint64 batch)
        external
        view
        returns (bytes32 publicValuesHash, bytes32 root)
    {
        Commitment storage c = commitments[batch];
        return (c.publicValuesHash, c.qmRoot);
    }

    /// Commits the next batch: the hash of its public values and the QMTree root after it.
    function commitBatch(uint64 batch, bytes32 publicValuesHash, bytes32 root) external {
        if (msg.sender != proposer) revert NotProposer(msg.sender);
        uint64 next = tip.lastCommittedBatch + 1;
        if (batch != next) revert CommitOutOfOrder(next, batch);
        tip.lastCommittedBatch = batch;
        commitments[batch] = Commitment(publicValuesHash, root);
        emit BatchCommitted(batch, publicValuesHash, root);
    }

    /// Settles the next committed batch: its public values match the commitment and extend
    /// the settled chain, its binding ties them to the settled and committed QMTree roots,
    /// and a proof of every required type verifies.
    function verifyBatch(
        uint64 batch,
        PublicValues calldata pv,
        BatchBinding calldata binding,
        Proof[] calldata proofs
    ) external {
        Tip memory t = tip;
        if (batch != t.lastVerifiedBatch + 1) revert BatchOutOfOrder(t.lastVerifiedBatch + 1, batch);
        if (batch > t.lastCommittedBatch) revert BatchNotCommitted(batch);
        Commitment storage c = commitments[batch];
        // keccak256(abi.encode(pv)) of the calldata words as they are: a non-canonical encoding
        // (a dirty uint64) hashes to something else than the committed hash and is refused.
        bytes32 pvHash;
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, pv, 416)
            pvHash := keccak256(p, 416)
        }
        if (pvHash != c.publicValuesHash) revert PublicValuesMismatch(batch, c.publicValuesHash, pvHash);
        if (pv.chainId != chainId) revert WrongChain(chainId, pv.chainId);
        if (pv.chainConfigHash != chainConfigHash) {
            revert WrongChainConfig(chainConfigHash, pv.chainConfigHash);
        }
        if (pv.firstBlock != t.lastBlock + 1) revert BlockGap(t.lastBlock + 1, pv.firstBlock);
        if (pv.lastBlock < pv.firstBlock) revert EmptyBatch(pv.firstBlock, pv.lastBlock);
        if (pv.initialStateRoot != stateRoot) revert StateRootMismatch(stateRoot, pv.initialStateRoot);
        QMTreeBinding.verify(pv, binding);
        if (binding.rootBefore != qmRoot) revert QmRootMismatch(BindingSide.Before, qmRoot, binding.rootBefore);
        if (binding.rootAfter != c.qmRoot) revert QmRootMismatch(BindingSide.After, c.qmRoot, binding.rootAfter);
        checkProofs(pvHash, proofs);

        tip = Tip(batch, t.lastCommittedBatch, pv.lastBlock);
        stateRoot = pv.finalStateRoot;
        qmRoot = binding.rootAfter;
        delete commitments[batch];
        emit BatchVerified(batch, pv.firstBlock, pv.lastBlock, pv.finalStateRoot, binding.rootAfter, pvHash);
    }

    /// Checks a binding against public values without touching state (reverts with the
    /// failed rule; returns the two roots it binds them to).
    function verifyBinding(PublicValues calldata pv, BatchBinding calldata binding)
        external
        pure
        returns (bytes32 rootBefore, bytes32 rootAfter)
    {
        QMTreeBinding.verify(pv, binding);
        return (binding.rootBefore, binding.rootAfter);
    }

    /// Drops the commitments of the unsettled batches after `to`, so the proposer can commit
    /// them again (a commitment that can never verify would otherwise stall the rollup).
    function revertBatches(uint64 to) external onlyOwner {
        Tip memory t = tip;
        if (to < t.lastVerifiedBatch || to >= t.lastCommittedBatch) {
            revert CannotRevert(t.lastVerifiedBatch, t.lastCommittedBatch, to);
        }
        for (uint64 b = to + 1; b <= t.lastCommittedBatch; ++b) {
            delete commitments[b];
        }
        emit BatchesReverted(to + 1, t.lastCommittedBatch);
        tip.lastCommittedBatch = to;
    }

    /// Routes proof type `proofType` to `verifier` (zero removes it).
    function setVerifier(uint8 proofType, IProofVerifier verifier) external onlyOwner {
        routes[proofType] = verifier;
        emit VerifierSet(proofType, address(verifier));
    }

    function setProposer(address proposer_) external onlyOwner {
        proposer = proposer_;
        emit ProposerSet(proposer_);
    }

    function checkProofs(bytes32 pvHash, Proof[] calldata proofs) private view {
        uint256 seen;
        for (uint256 i; i < proofs.length; ++i) {
            uint8 kind = proofs[i].proofType;
            uint256 bit = uint256(1) << kind;
            if (seen & bit != 0) revert DuplicateProofType(kind);
            seen |= bit;
        }
        uint256 missing = requiredProofTypes & ~seen;
        if (missing != 0) {
            uint8 lowest;
            while ((missing >> lowest) & 1 == 0) ++lowest;
            revert MissingProofType(lowest);
        }
        for (uint256 i; i < proofs.length; ++i) {
            uint8 kind = proofs[i].proofType;
            IProofVerifier verifier = routes[kind];
            if (address(verifier) == address(0)) revert NoVerifier(kind);
            verifier.verifyProof(programId, pvHash, proofs[i].data);
        }
    }
}
