// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IProofVerifier} from "./IProofVerifier.sol";
import {Owned, ZeroAddress} from "./Owned.sol";

/// Not a 126-byte version-1 attest proof.
error AttestMalformed(uint256 length);
/// The proof was signed for another chain or another verifier contract.
error AttestWrongDomain(uint64 chainId, address verifyingContract);
/// The proof attests another program.
error AttestWrongProgram(bytes32 expected, bytes32 got);
/// The signature's form is invalid (`v` not 27 or 28, `r` or `s` zero, `s` in the upper half
/// of the curve order) or no key recovers from it.
error AttestBadSignature();
/// The signature recovers to an address that is not a registered signer (never registered,
/// or revoked; or the proof is for other public values, which recover another address).
error AttestUnknownSigner(address signer);
/// Registering a signer twice, or revoking one that is not registered.
error AttestSignerState(address signer, bool registered);

/// Verifies attestations of Cairn's `attest` backend: `ecrecover` of a signature over
/// `keccak256(domainSeparator ‖ programId ‖ publicValuesHash)`, against a signer set the owner
/// registers and revokes. The EIP-712 domain is `{name: "Cairn Attest", version: "1", chainId,
/// verifyingContract: this contract}`, so a signature verifies only on this chain and against
/// this deployment. Each deployment is one signer set; a rollup registers two deployments as
/// two proof types to require two independent sets. No TEE quote is checked here: a
/// registration is the owner's word that the key is held where it should be.
///
/// Proof bytes (126): `0x01 ‖ chainId (8, big-endian) ‖ verifyingContract (20) ‖ programId
/// (32) ‖ r (32) ‖ s (32) ‖ v (1)`, the first 126 bytes of the Rust `AttestProof` encoding
/// (its public values are the ones the rollup already holds).
contract AttestVerifier is IProofVerifier, Owned {
    uint256 internal constant PROOF_LEN = 126;
    /// secp256k1 order / 2: EIP-2's bound on `s`.
    uint256 internal constant HALF_ORDER =
        0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    bytes32 internal constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );

    uint256 private immutable cachedChainId;
    bytes32 private immutable cachedSeparator;

    mapping(address => bool) public isSigner;
    address[] private signerList;
    mapping(address => uint256) private signerSlot; // index + 1 in signerList

    event SignerAdded(address indexed signer);
    event SignerRevoked(address indexed signer);

    constructor(address owner_, address[] memory initialSigners) Owned(owner_) {
        cachedChainId = block.chainid;
        cachedSeparator = separator(block.chainid);
        for (uint256 i; i < initialSigners.length; ++i) {
            add(initialSigners[i]);
        }
    }

    /// The EIP-712 domain separator (recomputed if the chain id changed since deployment).
    function domainSeparator() public view returns (bytes32) {
        return block.chainid == cachedChainId ? cachedSeparator : separator(block.chainid);
    }

    /// The digest a signer signs for `programId` and `publicValuesHash`.
    function digest(bytes32 programId, bytes32 publicValuesHash) public view returns (bytes32 d) {
        bytes32 separator_ = domainSeparator();
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, separator_)
            mstore(add(p, 32), programId)
            mstore(add(p, 64), publicValuesHash)
            d := keccak256(p, 96)
        }
    }

    /// The registered signers.
    function signers() external view returns (address[] memory) {
        return signerList;
    }

    /// Registers `signer`.
    function addSigner(address signer) external onlyOwner {
        add(signer);
    }

    /// Revokes `signer`: its attestations no longer verify, including ones already made.
    function revokeSigner(address signer) external onlyOwner {
        uint256 slot = signerSlot[signer];
        if (slot == 0) revert AttestSignerState(signer, false);
        address moved = signerList[signerList.length - 1];
        signerList[slot - 1] = moved;
        signerSlot[moved] = slot;
        signerList.pop();
        delete signerSlot[signer];
        delete isSigner[signer];
        emit SignerRevoked(signer);
    }

    /// @inheritdoc IProofVerifier
    function verifyProof(bytes32 programId, bytes32 publicValuesHash, bytes calldata proof)
        external
        view
        override
    {
        if (proof.length != PROOF_LEN || proof[0] != 0x01) revert AttestMalformed(proof.length);
        uint256 chainId;
        address verifying;
        bytes32 claimed;
        bytes32 r;
        bytes32 s;
        uint256 v;
        assembly ("memory-safe") {
            let o := proof.offset
            chainId := shr(192, calldataload(add(o, 1)))
            verifying := shr(96, calldataload(add(o, 9)))
            claimed := calldataload(add(o, 29))
            r := calldataload(add(o, 61))
            s := calldataload(add(o, 93))
            v := byte(0, calldataload(add(o, 125)))
        }
        if (chainId != block.chainid || verifying != address(this)) {
            revert AttestWrongDomain(uint64(chainId), verifying);
        }
        if (claimed != programId) revert AttestWrongProgram(programId, claimed);
        if ((v != 27 && v != 28) || r == 0 || s == 0 || uint256(s) > HALF_ORDER) {
            revert AttestBadSignature();
        }
        address signer = ecrecover(digest(programId, publicValuesHash), uint8(v), r, s);
        if (signer == address(0)) revert AttestBadSignature();
        if (!isSigner[signer]) revert AttestUnknownSigner(signer);
    }

    function add(address signer) private {
        if (signer == address(0)) revert ZeroAddress();
        if (isSigner[signer]) revert AttestSignerState(signer, true);
        isSigner[signer] = true;
        signerList.push(signer);
        signerSlot[signer] = signerList.length;
        emit SignerAdded(signer);
    }

    function separator(uint256 chainId) private view returns (bytes32) {
        return keccak256(
            abi.encode(
                DOMAIN_TYPEHASH, keccak256("Cairn Attest"), keccak256("1"), chainId, address(this)
            )
        );
    }
}
