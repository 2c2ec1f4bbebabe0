//! Cairn's prover (Tier 2): public values, the guest program, prover backends, the QMTree
//! batch binding, and `.seg` proof files.
//!
//! A batch of consecutive blocks, its parent and its execution witness are encoded
//! ([`input`]) and given to a [`ProverBackend`]; the backend runs the [`guest`] program
//! (`input bytes → public-value bytes`) and returns a proof of the [`PublicValues`]. A
//! [`BatchBinding`] ties those public values to two per-block QMTree roots, and a [`Seg`] file
//! carries public values, binding and proofs; [`policy`] accepts a batch when proofs from
//! enough distinct backends verify.
//!
//! Key types: [`PublicValues`] (a `sol!` struct), [`BatchBinding`] (a `sol!` struct),
//! [`AttestDomain`] / [`attest_digest`], [`ProverBackend`] with [`ExecBackend`],
//! [`AttestBackend`] and [`RemoteBackend`], [`Seg`], [`Policy`], [`PROGRAM_ID`].
//!
//! The guest-grade part (public values, input encoding, the guest, program id, binding, the
//! attest message and signature check) builds `no_std + alloc` with `--no-default-features`;
//! the backends, the transport and the files need `std` (the default).
//!
//! ```
//! use cairn_prover::{BatchBinding, PublicValues, attest_digest, AttestDomain, PROGRAM_ID};
//!
//! let pv = PublicValues { chainId: 1, firstBlock: 1, lastBlock: 10, ..Default::default() };
//! let bytes = pv.encode(); // abi.encode(PublicValues): 13 words
//! assert_eq!(bytes.len(), 416);
//! assert_eq!(PublicValues::decode(&bytes)?, pv);
//! // What an attester signs for an off-chain verifier of chain 1:
//! let digest = attest_digest(&AttestDomain::offchain(1), &PROGRAM_ID, &pv.hash());
//! // A binding that proves nothing is refused.
//! assert!(BatchBinding::default().verify(&pv).is_err());
//! # let _ = digest;
//! # Ok::<(), cairn_prover::Error>(())
//! ```
//!
//! # Public values
//!
//! ```solidity
//! struct PublicValues {
//!     uint64  chainId;               // EIP-155 id of the proven chain
//!     bytes32 chainConfigHash;       // see below
//!     uint64  firstBlock;
//!     uint64  lastBlock;
//!     bytes32 parentHash;            // hash of block firstBlock - 1
//!     bytes32 lastBlockHash;         // hash of block lastBlock
//!     bytes32 blockHashesCommitment; // keccak256(abi.encodePacked(bytes32[] hashes)), oldest first
//!     bytes32 initialStateRoot;      // state root of block firstBlock - 1
//!     bytes32 finalStateRoot;        // state root of block lastBlock
//!     uint64  totalGasUsed;
//!     bytes32 depositsHash;          // L2, zero on L1
//!     bytes32 withdrawalsRoot;       // L2, zero on L1
//!     bytes32 stateDiffCommitment;   // L2, zero on L1
//! }
//! ```
//!
//! The canonical encoding is `abi.encode(publicValues)`: 13 static 32-byte words in field
//! order, 416 bytes; `publicValuesHash = keccak256(abi.encode(publicValues))`. Decoding is
//! strict (exact length, `uint64` words with zero high bytes). A zkVM guest commits exactly
//! these bytes.
//!
//! **`chainConfigHash`** = `keccak256(abi.encode(ChainConfigAbi))` with
//!
//! ```solidity
//! struct ForkAbi { string name; uint8 condition; uint64 value; bool hasForkBlock;
//!                  uint64 forkBlock; uint256 totalDifficulty; }
//! struct BlobParamsAbi { string fork; uint64 target; uint64 max; uint128 baseFeeUpdateFraction; }
//! struct ChainConfigAbi { uint64 chainId; ForkAbi[] forks; BlobParamsAbi[] blobSchedule;
//!                         bool hasDepositContract; address depositContract; }
//! ```
//!
//! Forks and blob entries in fork order (as alloy-hardforks orders them), fork names as
//! alloy-hardforks spells them (`"Prague"`, `"Bpo1"`); `condition` 0 = block number, 1 =
//! timestamp, 2 = total difficulty (`value` = activation block, `forkBlock` and
//! `totalDifficulty` set), 3 = never; unused fields zero; no deposit contract: flag false and
//! the zero address. A proof made under another fork schedule, blob schedule or deposit
//! contract carries another hash; a verifier compares it with its own
//! ([`chain_config_hash`]). The same bytes are the chain section of the program input, so the
//! guest hashes what it runs.
//!
//! **`blockHashesCommitment`** binds the exact set of blocks: with the hashes of blocks
//! `firstBlock..=lastBlock` in order, `keccak256(h_first ‖ … ‖ h_last)`
//! ([`cairn_primitives::block_hashes_commitment`]).
//!
//! # Program id
//!
//! [`PROGRAM_ID`] (32 bytes) names the exact program and its input format:
//! `keccak256("cairn.program.v1" ‖ GUEST_SOURCE_HASH)`, where [`GUEST_SOURCE_HASH`] is a
//! Keccak-256 over the guest's sources (the `cairn-primitives`, `cairn-trie`,
//! `cairn-witness` and `cairn-stateless` sources and this crate's `guest.rs`, `input.rs` and
//! `public_values.rs`, which define the input format version) and the versions of the
//! `revm*`, `alloy-*` and `k256` crates in `Cargo.lock`, computed at build time. Any change
//! to what the guest runs gives a new id, as a zkVM's verifying key would. Every proof
//! carries its program id; a verifier for another id rejects it.
//!
//! # Program input
//!
//! The guest's input bytes are the compact encoding of [`ProgramInput`](cairn_primitives::ProgramInput)
//! described in [`input`]: magic `CRNI`, version, the chain section, blocks as RLP, and the
//! witness's nodes, codes and headers as length-prefixed items.
//!
//! # QMTree binding
//!
//! ```solidity
//! struct BatchBinding {
//!     bytes32 rootBefore;         // QMTree root after block firstBlock - 1
//!     bytes32 rootAfter;          // QMTree root after block lastBlock
//!     uint64  leafCountBefore;    // leaves after block firstBlock - 1
//!     uint64  leafCountAfter;     // leaves after block lastBlock
//!     bytes32[] rangeNodes;       // range proof leafCountBefore -> leafCountAfter
//!     bytes32 previousLeafBefore; // previousLeafHash of the closing leaf of firstBlock - 1
//!     bytes32[] siblingsBefore;   // its inclusion proof under rootBefore, bottom-up
//!     bytes32 previousLeafAfter;  // previousLeafHash of the closing leaf of lastBlock
//!     bytes32[] siblingsAfter;    // its inclusion proof under rootAfter, bottom-up
//! }
//! ```
//!
//! Encoded as `abi.encode(binding)`. Every block's last QMTree leaf is its closing leaf
//! `(preStateHash = state root, stateChangeHash = EMPTY_CHANGE_HASH, transitionHash = block
//! hash)`, and the block's root is the root over the leaves up to it. Verification
//! ([`BatchBinding::verify`]), with `leaf(a, b, c, d) = keccak256(0x00 ‖ a ‖ b ‖ c ‖ d)`,
//! `node(l, r) = keccak256(0x01 ‖ l ‖ r)`, `E[h]` the empty subtree of height `h`
//! ([`cairn_qmtree::EMPTY_SUBTREE`]), `depth(n) = ceil(log2 n)` and
//! [`EMPTY_CHANGE_HASH`] `= keccak256("cairn.stateChange.v1" ‖ 0x00000000)`:
//!
//! 1. `1 ≤ leafCountBefore < leafCountAfter`.
//! 2. For the leaf before: `L = leaf(pv.initialStateRoot, EMPTY_CHANGE_HASH, pv.parentHash,
//!    previousLeafBefore)`, `t = leafCountBefore − 1`; `siblingsBefore.length =
//!    depth(leafCountBefore)`; for every level `h` where bit `h` of `t` is 0,
//!    `siblingsBefore[h] = E[h]` (nothing follows the leaf: it is the last of its tree);
//!    fold `x = L`, for each `h`: `x = node(s_h, x)` if bit `h` of `t` is 1, else
//!    `node(x, s_h)`; require `x = rootBefore`.
//! 3. The same for the leaf after, with `pv.finalStateRoot`, `pv.lastBlockHash`,
//!    `previousLeafAfter`, `siblingsAfter`, `leafCountAfter` and `rootAfter`.
//! 4. The range proof `(leafCountBefore, leafCountAfter, rangeNodes)` takes `rootBefore` to
//!    `rootAfter` ([`cairn_qmtree::verify_range`]: rebuild the old root from its frontier,
//!    then walk up from leaf `leafCountBefore`).
//! 5. The caller checks `rootBefore` and `rootAfter` against the per-block roots it trusts
//!    for blocks `firstBlock − 1` and `lastBlock` (a node's own tree, `cairn verify
//!    --roots-from`, or roots stored by an L1 contract).
//!
//! Because a leaf preimage (129 bytes, prefix `0x00`) is never a node preimage and the
//! right siblings are empty, each root fixes its leaf count and its closing leaf; so the
//! binding ties the proof to exactly the blocks between the two roots. A proof of a shifted
//! range, another range or another chain has other block hashes or state roots, whose
//! closing leaves are not under the trusted roots.
//!
//! # Attestations (`attest` backend)
//!
//! **No TEE exists here.** The `attest` backend signs with a secp256k1 key from an Ethereum
//! v3 keystore file; whoever holds the key and its password can attest anything. It has the
//! shape of Cocoon's SGX row and ethrex's TDX prover so that a real enclave slots in: the
//! enclave holds the key, and the place where a signer is registered
//! ([`backend::attest::SignerRegistry::register`]) is where its SGX/TDX quote is checked
//! (the [`backend::attest::QuoteVerifier`] seam; no quote verifier is built here, so a
//! registration carrying a quote is refused, and one without is the operator's word).
//!
//! The signed digest is `keccak256(domainSeparator ‖ programId ‖ publicValuesHash)` (96
//! bytes hashed), with the EIP-712 domain separator of `{name: "Cairn Attest", version:
//! "1", chainId, verifyingContract}`:
//! `keccak256(abi.encode(keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
//! keccak256("Cairn Attest"), keccak256("1"), chainId, verifyingContract))`. `chainId` and
//! `verifyingContract` are those of the verifier (an L1 contract and its chain; off-chain
//! verifiers use the proven chain's id and the zero address), so an attestation does not
//! verify on another chain or against another deployment. Signatures are 65 bytes `r ‖ s ‖
//! v` with `v ∈ {27, 28}` and low `s` (EIP-2); verification is `ecrecover` against the
//! registered signer set. An attest proof is [`AttestProof`]: version, domain, program id,
//! signature and public values.
//!
//! # Backends
//!
//! | backend | kind | proof | verify |
//! | --- | --- | --- | --- |
//! | [`ExecBackend`] | `exec` | `0x01 ‖ programId ‖ input` | re-run the guest on the input |
//! | [`AttestBackend`] | `tee` | [`AttestProof`] | domain, program id, `ecrecover`, registry |
//! | [`RemoteBackend`] | the server's | the server's | the server's `Verify` |
//!
//! `exec` is the reference and the dev default: its proof is the input itself, so any
//! holder of a `.seg` can re-execute it; it is never counted as a proof by an L1 contract.
//! `remote` speaks eth-act/ere's `ZkvmService` over twirp (the interface SP1, RISC Zero,
//! ZisK and OpenVM servers expose; see [`backend::remote`]); [`server`] serves the same
//! interface from a local backend (`cairn prover-server`).
//!
//! # `.seg` files
//!
//! All integers big-endian.
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 8 | magic `CAIRNSEG` |
//! | 8 | 2 | format version, 1 ([`SEG_VERSION`]) |
//! | 10 | 2 | flags, 0 |
//! | 12 | 8 | first block |
//! | 20 | 8 | last block |
//! | 28 | 32 | program id |
//! | 60 | 4 | `P`, public-values length (≤ 64 KiB) |
//! | 64 | `P` | public values, `abi.encode` |
//! | | 4 | `B`, binding length (≤ 1 MiB) |
//! | | `B` | binding, `abi.encode` |
//! | | 1 | `N`, proof count (1 to 16) |
//! | | | `N` times: kind (1: 0 exec, 1 tee, 2 zk), name length (1), name (ASCII `a-z0-9._-`, ≤ 32), proof length (4, ≤ 1 GiB), proof |
//! | | 32 | `keccak256` of every byte before it |
//!
//! One proof per backend identity (kind and name). The header's range must equal the public
//! values'. Files are written atomically (temporary file, `fsync`, rename, directory
//! `fsync`); reading reports a truncated, corrupt (checksum), forged (inconsistent) or
//! other-version file as a typed [`SegFault`]. [`Seg::from_bytes`] is the fuzzing entry point.
//!
//! # Multi-proof policy
//!
//! [`Policy`]: a batch is accepted when its binding holds, every proof in it that has a
//! verifier verifies for the file's program id and public values, the required backends
//! are among them, and at least `min_distinct` distinct backend identities verified.
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

extern crate alloc;

pub mod attest;
pub mod binding;
mod error;
pub mod guest;
pub mod input;
pub mod public_values;

#[cfg(feature = "std")]
pub mod backend;
#[cfg(feature = "std")]
pub mod batch;
#[cfg(feature = "std")]
pub mod bench;
#[cfg(feature = "std")]
pub mod policy;
#[cfg(feature = "std")]
pub mod seg;
#[cfg(feature = "std")]
pub mod server;
#[cfg(feature = "std")]
mod twirp;

mod program {
    include!(concat!(env!("OUT_DIR"), "/program_id.rs"));
}

pub use attest::{AttestDomain, AttestProof, attest_digest, recover_signer};
pub use binding::{BatchBinding, BoundRoots, EMPTY_CHANGE_HASH, closing_leaf};
#[cfg(feature = "std")]
pub use error::SegFault;
pub use error::{BindingFault, Error, InputFault, Result};
pub use input::{DecodedInput, INPUT_FORMAT_VERSION, decode_input, encode_input};
pub use program::{GUEST_SOURCE_HASH, PROGRAM_ID};
pub use public_values::{
    ChainConfigAbi, PUBLIC_VALUES_LEN, PublicValues, PublicValuesFault, chain_config_hash,
};

#[cfg(feature = "std")]
pub use backend::{
    BackendId, BackendKind, CancellationToken, Claim, Proved, ProverBackend,
    attest::{AttestBackend, AttestSigner, SignerRegistry},
    exec::ExecBackend,
    remote::{RemoteBackend, RemoteOptions, ServerIdentity},
    verify_claim,
};
#[cfg(feature = "std")]
pub use policy::Policy;
#[cfg(feature = "std")]
pub use seg::{SEG_VERSION, Seg, SegProof};
