//! KZG proofs of the point-evaluation precompile (EIP-4844), verified with only what a
//! verifier needs.
//!
//! With `revm/c-kzg`, revm 43 verifies a point evaluation through
//! `c_kzg::ethereum_kzg_settings(8)`, whose first use in a process loads the whole trusted
//! setup: 4,096 G1 points in two forms, their FFTs for computing cell proofs (EIP-7594) and
//! fixed-base tables (the `8`). A verifier computes no proofs; checking one is the pairing
//! equation `e(C - [y]₁, G₂) = e(π, [τ]₂ - [z]₂)`, which needs one point of the setup,
//! `[τ]₂`. revm's blst backend does exactly that (decompressing `[τ]₂` once, lazily), so
//! Cairn verifies through it: the native build does not enable `revm/c-kzg` at all, and
//! [`install`] makes the choice explicit through revm's crypto-provider hook, so that a
//! dependency enabling `c-kzg` later cannot bring the cold start back. Every other precompile
//! keeps revm's default implementation.

use revm::precompile::{Crypto, PrecompileHalt, kzg_point_evaluation};

/// revm's default crypto, except that KZG proofs are verified with blst against `[τ]₂` alone,
/// without loading the trusted setup.
#[derive(Debug, Clone, Copy, Default)]
pub struct VerifierCrypto;

impl Crypto for VerifierCrypto {
    fn verify_kzg_proof(
        &self,
        z: &[u8; 32],
        y: &[u8; 32],
        commitment: &[u8; 48],
        proof: &[u8; 48],
    ) -> Result<(), PrecompileHalt> {
        if kzg_point_evaluation::blst::verify_kzg_proof(commitment, z, y, proof) {
            Ok(())
        } else {
            Err(PrecompileHalt::BlobVerifyKzgProofFailed)
        }
    }
}

/// Makes [`VerifierCrypto`] revm's crypto provider for this process, unless one is already in
/// force (installed by the embedding program, or revm's default once a precompile has run
/// before). Block execution calls this first, so callers need not.
///
/// Returns whether [`VerifierCrypto`] is the provider in force.
pub fn install() -> bool {
    static INSTALLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *INSTALLED.get_or_init(|| {
        let ours = revm::precompile::install_crypto(VerifierCrypto);
        if !ours {
            tracing::debug!(target: "cairn::stateless", "another crypto provider is in force for KZG proofs");
        }
        ours
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::hex;

    /// c-kzg's `verify_kzg_proof_case_correct_proof_4_4` vector (also revm's).
    const COMMITMENT: [u8; 48] = hex!(
        "8f59a8d2a1a625a17f3fea0fe5eb8c896db3764f3185481bc22f91b4aaffcca25f26936857bc3a7c2539ea8ec3a952b7"
    );
    const Z: [u8; 32] = hex!("73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000000");
    const Y: [u8; 32] = hex!("1522a4a7f34e1ea350ae07c29c96c7e79655aa926122e95fe69fcbd932ca49e9");
    const PROOF: [u8; 48] = hex!(
        "a62ad71d14c5719385c0686f1871430475bf3a00f0aa3f7b8dd99a9abc2160744faf0070725e00b60ad9a026a15b1a8c"
    );

    /// A correct proof passes; a wrong evaluation, a proof that is not a point, and a
    /// non-canonical field element fail. (The conformance suite's point-evaluation cases
    /// cover the rest of the precompile's edge cases through both paths.)
    #[test]
    fn verifies_and_refuses() {
        let mut wrong_y = Y;
        wrong_y[31] ^= 1;
        let mut not_a_point = PROOF;
        not_a_point[0] = 0xff;
        let mut z_too_large = Z;
        z_too_large[31] = 0x01; // the BLS modulus itself
        for (z, y, proof, ok) in [
            (Z, Y, PROOF, true),
            (Z, wrong_y, PROOF, false),
            (Z, Y, not_a_point, false),
            (z_too_large, Y, PROOF, false),
        ] {
            let verdict = VerifierCrypto.verify_kzg_proof(&z, &y, &COMMITMENT, &proof);
            assert_eq!(verdict.is_ok(), ok, "z {z:?} y {y:?}");
        }
    }

    #[test]
    fn install_puts_the_verifier_in_force() {
        install();
        assert!(install(), "no other provider was installed first");
        assert_eq!(
            format!("{:?}", revm::precompile::crypto()),
            "VerifierCrypto"
        );
    }
}
