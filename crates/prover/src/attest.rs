//! The attest backend's message, signature envelope and signature check (no TEE here: see the
//! crate docs). Everything in this module is `no_std`, so that a verifier of any kind checks
//! the same thing; the keystore, the signer and the registry are in `backend::attest`.

use crate::{
    error::{Error, Result},
    public_values::{PUBLIC_VALUES_LEN, PublicValues},
};
use alloc::{borrow::Cow, vec::Vec};
use alloy_primitives::{Address, B256, Signature, U256, keccak256};
use alloy_sol_types::Eip712Domain;

/// EIP-712 domain name of attestations.
pub const ATTEST_DOMAIN_NAME: &str = "Cairn Attest";
/// EIP-712 domain version of attestations.
pub const ATTEST_DOMAIN_VERSION: &str = "1";
/// Version byte at the start of an attest proof.
pub const ATTEST_PROOF_VERSION: u8 = 1;
/// Bytes of an attest proof: version, domain chain id, verifying contract, program id,
/// signature, public values.
pub const ATTEST_PROOF_LEN: usize = 1 + 8 + 20 + 32 + 65 + PUBLIC_VALUES_LEN;

/// Where an attestation may be used: the chain and contract that verify it. Signatures for
/// one domain do not verify in another, so an attestation cannot be replayed on another
/// chain or against another deployment.
///
/// Off-chain verifiers (`cairn verify`) use the proven chain's id and the zero address unless
/// told otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttestDomain {
    /// EIP-155 id of the chain where the verifier runs (the L1 of a rollup contract).
    pub chain_id: u64,
    /// The verifying contract (zero for an off-chain verifier).
    pub verifying_contract: Address,
}

impl AttestDomain {
    /// The off-chain domain of a proven chain: its chain id and the zero address.
    pub const fn offchain(chain_id: u64) -> Self {
        Self {
            chain_id,
            verifying_contract: Address::ZERO,
        }
    }

    /// The EIP-712 domain separator:
    /// `keccak256(abi.encode(keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
    /// keccak256("Cairn Attest"), keccak256("1"), chainId, verifyingContract))`.
    pub fn separator(&self) -> B256 {
        Eip712Domain::new(
            Some(Cow::Borrowed(ATTEST_DOMAIN_NAME)),
            Some(Cow::Borrowed(ATTEST_DOMAIN_VERSION)),
            Some(U256::from(self.chain_id)),
            Some(self.verifying_contract),
            None,
        )
        .separator()
    }
}

impl core::fmt::Display for AttestDomain {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "chain {} contract {}",
            self.chain_id, self.verifying_contract
        )
    }
}

/// The digest an attester signs:
/// `keccak256(domainSeparator ‖ programId ‖ publicValuesHash)` (96 bytes hashed).
pub fn attest_digest(domain: &AttestDomain, program_id: &B256, public_values_hash: &B256) -> B256 {
    let mut preimage = [0u8; 96];
    preimage[..32].copy_from_slice(domain.separator().as_slice());
    preimage[32..64].copy_from_slice(program_id.as_slice());
    preimage[64..].copy_from_slice(public_values_hash.as_slice());
    keccak256(preimage)
}

/// An attest proof: a signature over [`attest_digest`], with what it signs.
///
/// Bytes ([`ATTEST_PROOF_LEN`]):
///
/// | offset | size | field |
/// | --- | --- | --- |
/// | 0 | 1 | version, 1 |
/// | 1 | 8 | domain chain id (u64, big-endian) |
/// | 9 | 20 | domain verifying contract |
/// | 29 | 32 | program id |
/// | 61 | 65 | signature `r ‖ s ‖ v`, `v` ∈ {27, 28}, `s` ≤ n/2 |
/// | 126 | 416 | public values (`abi.encode`) |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestProof {
    /// The domain the signature is for.
    pub domain: AttestDomain,
    /// The program it attests.
    pub program_id: B256,
    /// 65 bytes `r ‖ s ‖ v`.
    pub signature: [u8; 65],
    /// The attested public values.
    pub public_values: PublicValues,
}

impl AttestProof {
    /// The bytes (see the type docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ATTEST_PROOF_LEN);
        out.push(ATTEST_PROOF_VERSION);
        out.extend_from_slice(&self.domain.chain_id.to_be_bytes());
        out.extend_from_slice(self.domain.verifying_contract.as_slice());
        out.extend_from_slice(self.program_id.as_slice());
        out.extend_from_slice(&self.signature);
        out.extend_from_slice(&self.public_values.encode());
        out
    }

    /// Parses the bytes.
    ///
    /// # Errors
    /// [`Error::MalformedProof`] for another length or version; public-value errors.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != ATTEST_PROOF_LEN {
            return Err(Error::MalformedProof {
                reason: "attest proof of the wrong length",
            });
        }
        if bytes[0] != ATTEST_PROOF_VERSION {
            return Err(Error::MalformedProof {
                reason: "attest proof of an unknown version",
            });
        }
        let mut chain_id = [0u8; 8];
        chain_id.copy_from_slice(&bytes[1..9]);
        let mut signature = [0u8; 65];
        signature.copy_from_slice(&bytes[61..126]);
        Ok(Self {
            domain: AttestDomain {
                chain_id: u64::from_be_bytes(chain_id),
                verifying_contract: Address::from_slice(&bytes[9..29]),
            },
            program_id: B256::from_slice(&bytes[29..61]),
            signature,
            public_values: PublicValues::decode(&bytes[126..])?,
        })
    }

    /// The signer: `ecrecover` of the signature over this proof's digest, after checking the
    /// signature's form (`v` 27 or 28, `0 < r < n`, `0 < s ≤ n/2`).
    ///
    /// # Errors
    /// [`Error::BadSignature`].
    pub fn signer(&self) -> Result<Address> {
        let digest = attest_digest(&self.domain, &self.program_id, &self.public_values.hash());
        recover_signer(&digest, &self.signature)
    }
}

/// `ecrecover(digest, v, r, s)` with the signature's form checked first: `v` 27 or 28, `r`
/// and `s` non-zero, `r < n`, `s ≤ n/2` (EIP-2: one signature per message and key).
///
/// # Errors
/// [`Error::BadSignature`].
pub fn recover_signer(digest: &B256, signature: &[u8; 65]) -> Result<Address> {
    let bad = |reason| Error::BadSignature { reason };
    if !matches!(signature[64], 27 | 28) {
        return Err(bad("v is not 27 or 28"));
    }
    let sig = Signature::from_raw_array(signature).map_err(|_| bad("malformed signature"))?;
    if sig.r().is_zero() || sig.s().is_zero() {
        return Err(bad("r or s is zero"));
    }
    if sig.normalize_s().is_some() {
        return Err(bad("s is in the upper half of the curve order"));
    }
    sig.recover_address_from_prehash(digest)
        .map_err(|_| bad("no public key recovers from it"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::address;

    #[test]
    fn domain_separator_is_eip712() {
        // The same formula by hand.
        let d = AttestDomain {
            chain_id: 1,
            verifying_contract: address!("0x00000000000000000000000000000000000000aa"),
        };
        let type_hash = keccak256(
            "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
        );
        let mut enc = Vec::new();
        enc.extend_from_slice(type_hash.as_slice());
        enc.extend_from_slice(keccak256(ATTEST_DOMAIN_NAME).as_slice());
        enc.extend_from_slice(keccak256(ATTEST_DOMAIN_VERSION).as_slice());
        enc.extend_from_slice(&U256::from(1).to_be_bytes::<32>());
        enc.extend_from_slice(B256::left_padding_from(d.verifying_contract.as_slice()).as_slice());
        assert_eq!(d.separator(), keccak256(&enc));
        assert_ne!(d.separator(), AttestDomain::offchain(1).separator());
        assert_ne!(
            AttestDomain::offchain(1).separator(),
            AttestDomain::offchain(2).separator()
        );
    }

    #[test]
    fn digest_binds_every_part() {
        let d = AttestDomain::offchain(1);
        let (p, h) = (B256::repeat_byte(1), B256::repeat_byte(2));
        let base = attest_digest(&d, &p, &h);
        assert_ne!(attest_digest(&AttestDomain::offchain(5), &p, &h), base);
        assert_ne!(attest_digest(&d, &B256::repeat_byte(3), &h), base);
        assert_ne!(attest_digest(&d, &p, &B256::repeat_byte(3)), base);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let digest = B256::repeat_byte(9);
        let mut sig = [1u8; 65];
        sig[64] = 0;
        assert!(recover_signer(&digest, &sig).is_err());
        sig[64] = 27;
        sig[32..64].copy_from_slice(&[0xff; 32]);
        assert!(recover_signer(&digest, &sig).is_err(), "high s");
        let zero = [0u8; 65];
        assert!(recover_signer(&digest, &zero).is_err());
    }
}
