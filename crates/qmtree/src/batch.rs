//! Batched Keccak-256 for the tree's single-block preimages.
//!
//! Leaf (129 bytes) and node (65 bytes) preimages both fit one Keccak-f\[1600\]
//! block (rate 136), so a batch of them is a batch of independent
//! permutations. On x86-64 CPUs with AVX-512F this module runs eight
//! permutations at once, one per 64-bit lane of the 25 `zmm` registers that
//! hold the eight states (the XKCP `times8` layout: rotations are `vprolq`,
//! χ is one `vpternlogq`). Elsewhere, and for short batches, it falls back to
//! one-at-a-time hashing with the crate's scalar Keccak (`keccak-asm` when the
//! `asm-keccak` feature is on). Both paths are checked against each other in
//! the tests.

use alloy_primitives::{B256, keccak256_uncached};

use crate::hash::{LeafComponents, node_preimage};

/// Keccak-256 rate in bytes.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
const RATE: usize = 136;
/// Rate in 64-bit lanes.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
const RATE_LANES: usize = RATE / 8;
/// Batches shorter than this go through the scalar path.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
const MIN_SIMD_BATCH: usize = 3;

/// Which Keccak implementation batched hashing uses on this machine.
pub fn batch_backend() -> &'static str {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if x86::Avx512::detect().is_some() {
        return "avx512f x8 (cairn-qmtree kernel)";
    }
    scalar_backend()
}

/// Which Keccak implementation single hashes use.
pub fn scalar_backend() -> &'static str {
    if cfg!(feature = "asm-keccak") {
        "keccak-asm 0.1 (CRYPTOGAMS keccak1600-x86_64, via alloy-primitives asm-keccak)"
    } else {
        "sha3 (RustCrypto, via alloy-primitives)"
    }
}

/// `out[i] = node_hash(children[2i], children[2i + 1])`.
///
/// `out.len()` must be `children.len() / 2`; extra children are ignored.
pub(crate) fn hash_pairs(children: &[B256], out: &mut [B256]) {
    debug_assert!(children.len() >= out.len() * 2);
    run(out, |i| {
        node_preimage(&children[2 * i], &children[2 * i + 1])
    });
}

/// `out[i] = leaves[i].hash()`.
pub(crate) fn hash_leaves(leaves: &[LeafComponents], out: &mut [B256]) {
    debug_assert_eq!(leaves.len(), out.len());
    run(out, |i| leaves[i].preimage());
}

/// `out[i] = keccak256(preimage(i))` for preimages shorter than one Keccak
/// block (`N < RATE`), eight at a time where the CPU allows.
fn run<const N: usize>(out: &mut [B256], preimage: impl Fn(usize) -> [u8; N]) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if out.len() >= MIN_SIMD_BATCH
        && let Some(avx) = x86::Avx512::detect()
    {
        let mut start = 0;
        while start < out.len() {
            let n = (out.len() - start).min(8);
            if n < MIN_SIMD_BATCH {
                break;
            }
            let mut lanes = [[0u64; 8]; RATE_LANES];
            for j in 0..n {
                // One padded Keccak block: preimage ‖ 0x01 ‖ 0…0 ‖ 0x80.
                const { assert!(N < RATE) };
                let mut block = [0u8; RATE];
                block[..N].copy_from_slice(&preimage(start + j));
                block[N] = 0x01;
                block[RATE - 1] |= 0x80;
                for (k, lane) in lanes.iter_mut().enumerate() {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(&block[8 * k..8 * k + 8]);
                    lane[j] = u64::from_le_bytes(w);
                }
            }
            let digest = avx.absorb_x8(&lanes);
            for j in 0..n {
                let o = &mut out[start + j].0;
                for (k, lane) in digest.iter().enumerate() {
                    o[8 * k..8 * k + 8].copy_from_slice(&lane[j].to_le_bytes());
                }
            }
            start += n;
        }
        for (i, o) in out.iter_mut().enumerate().skip(start) {
            *o = keccak256_uncached(preimage(i));
        }
        return;
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = keccak256_uncached(preimage(i));
    }
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod x86 {
    use core::arch::x86_64::{
        __m512i, _mm512_loadu_si512, _mm512_rol_epi64, _mm512_set1_epi64, _mm512_setzero_si512,
        _mm512_storeu_si512, _mm512_ternarylogic_epi64, _mm512_xor_si512,
    };

    use super::RATE_LANES;

    /// Keccak-f\[1600\] round constants.
    const RC: [u64; 24] = [
        0x0000000000000001,
        0x0000000000008082,
        0x800000000000808A,
        0x8000000080008000,
        0x000000000000808B,
        0x0000000080000001,
        0x8000000080008081,
        0x8000000000008009,
        0x000000000000008A,
        0x0000000000000088,
        0x0000000080008009,
        0x000000008000000A,
        0x000000008000808B,
        0x800000000000008B,
        0x8000000000008089,
        0x8000000000008003,
        0x8000000000008002,
        0x8000000000000080,
        0x000000000000800A,
        0x800000008000000A,
        0x8000000080008081,
        0x8000000000008080,
        0x0000000080000001,
        0x8000000080008008,
    ];

    /// Proof that the running CPU supports AVX-512F.
    #[derive(Clone, Copy, Debug)]
    pub(super) struct Avx512(());

    impl Avx512 {
        /// `Some` when the CPU supports AVX-512F (the check is cached by std).
        #[inline]
        pub(super) fn detect() -> Option<Self> {
            std::is_x86_feature_detected!("avx512f").then_some(Self(()))
        }

        /// Absorbs eight single blocks (lane `k` of message `j` at
        /// `lanes[k][j]`) into zero states, permutes, and returns the first
        /// four lanes of each state (`[k][j]`), i.e. the eight digests.
        #[inline]
        pub(super) fn absorb_x8(self, lanes: &[[u64; 8]; RATE_LANES]) -> [[u64; 8]; 4] {
            // SAFETY: `self` exists only if AVX-512F was detected at run time.
            unsafe { absorb_x8(lanes) }
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn xor3(a: __m512i, b: __m512i, c: __m512i) -> __m512i {
        _mm512_ternarylogic_epi64::<0x96>(a, b, c)
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn chi(a: __m512i, b: __m512i, c: __m512i) -> __m512i {
        _mm512_ternarylogic_epi64::<0xD2>(a, b, c)
    }

    #[target_feature(enable = "avx512f")]
    fn absorb_x8(lanes: &[[u64; 8]; RATE_LANES]) -> [[u64; 8]; 4] {
        let mut a = [_mm512_setzero_si512(); 25];
        for (k, lane) in lanes.iter().enumerate() {
            // SAFETY: `lane` is 64 readable bytes; the load is unaligned.
            a[k] = unsafe { _mm512_loadu_si512(lane.as_ptr().cast()) };
        }
        for rc in RC {
            // θ: column parities and their mixing.
            let c0 = xor3(xor3(a[0], a[5], a[10]), a[15], a[20]);
            let c1 = xor3(xor3(a[1], a[6], a[11]), a[16], a[21]);
            let c2 = xor3(xor3(a[2], a[7], a[12]), a[17], a[22]);
            let c3 = xor3(xor3(a[3], a[8], a[13]), a[18], a[23]);
            let c4 = xor3(xor3(a[4], a[9], a[14]), a[19], a[24]);
            let d0 = _mm512_xor_si512(c4, _mm512_rol_epi64::<1>(c1));
            let d1 = _mm512_xor_si512(c0, _mm512_rol_epi64::<1>(c2));
            let d2 = _mm512_xor_si512(c1, _mm512_rol_epi64::<1>(c3));
            let d3 = _mm512_xor_si512(c2, _mm512_rol_epi64::<1>(c4));
            let d4 = _mm512_xor_si512(c3, _mm512_rol_epi64::<1>(c0));
            // ρ and π: rotate each lane and move it to its new position.
            let b0 = _mm512_xor_si512(a[0], d0);
            let b10 = _mm512_rol_epi64::<1>(_mm512_xor_si512(a[1], d1));
            let b20 = _mm512_rol_epi64::<62>(_mm512_xor_si512(a[2], d2));
            let b5 = _mm512_rol_epi64::<28>(_mm512_xor_si512(a[3], d3));
            let b15 = _mm512_rol_epi64::<27>(_mm512_xor_si512(a[4], d4));
            let b16 = _mm512_rol_epi64::<36>(_mm512_xor_si512(a[5], d0));
            let b1 = _mm512_rol_epi64::<44>(_mm512_xor_si512(a[6], d1));
            let b11 = _mm512_rol_epi64::<6>(_mm512_xor_si512(a[7], d2));
            let b21 = _mm512_rol_epi64::<55>(_mm512_xor_si512(a[8], d3));
            let b6 = _mm512_rol_epi64::<20>(_mm512_xor_si512(a[9], d4));
            let b7 = _mm512_rol_epi64::<3>(_mm512_xor_si512(a[10], d0));
            let b17 = _mm512_rol_epi64::<10>(_mm512_xor_si512(a[11], d1));
            let b2 = _mm512_rol_epi64::<43>(_mm512_xor_si512(a[12], d2));
            let b12 = _mm512_rol_epi64::<25>(_mm512_xor_si512(a[13], d3));
            let b22 = _mm512_rol_epi64::<39>(_mm512_xor_si512(a[14], d4));
            let b23 = _mm512_rol_epi64::<41>(_mm512_xor_si512(a[15], d0));
            let b8 = _mm512_rol_epi64::<45>(_mm512_xor_si512(a[16], d1));
            let b18 = _mm512_rol_epi64::<15>(_mm512_xor_si512(a[17], d2));
            let b3 = _mm512_rol_epi64::<21>(_mm512_xor_si512(a[18], d3));
            let b13 = _mm512_rol_epi64::<8>(_mm512_xor_si512(a[19], d4));
            let b14 = _mm512_rol_epi64::<18>(_mm512_xor_si512(a[20], d0));
            let b24 = _mm512_rol_epi64::<2>(_mm512_xor_si512(a[21], d1));
            let b9 = _mm512_rol_epi64::<61>(_mm512_xor_si512(a[22], d2));
            let b19 = _mm512_rol_epi64::<56>(_mm512_xor_si512(a[23], d3));
            let b4 = _mm512_rol_epi64::<14>(_mm512_xor_si512(a[24], d4));
            // χ: a ^ (!b & c) is ternary-logic table 0xD2.
            a[0] = chi(b0, b1, b2);
            a[1] = chi(b1, b2, b3);
            a[2] = chi(b2, b3, b4);
            a[3] = chi(b3, b4, b0);
            a[4] = chi(b4, b0, b1);
            a[5] = chi(b5, b6, b7);
            a[6] = chi(b6, b7, b8);
            a[7] = chi(b7, b8, b9);
            a[8] = chi(b8, b9, b5);
            a[9] = chi(b9, b5, b6);
            a[10] = chi(b10, b11, b12);
            a[11] = chi(b11, b12, b13);
            a[12] = chi(b12, b13, b14);
            a[13] = chi(b13, b14, b10);
            a[14] = chi(b14, b10, b11);
            a[15] = chi(b15, b16, b17);
            a[16] = chi(b16, b17, b18);
            a[17] = chi(b17, b18, b19);
            a[18] = chi(b18, b19, b15);
            a[19] = chi(b19, b15, b16);
            a[20] = chi(b20, b21, b22);
            a[21] = chi(b21, b22, b23);
            a[22] = chi(b22, b23, b24);
            a[23] = chi(b23, b24, b20);
            a[24] = chi(b24, b20, b21);
            // ι
            a[0] = _mm512_xor_si512(a[0], _mm512_set1_epi64(rc as i64));
        }
        let mut out = [[0u64; 8]; 4];
        for (k, lane) in out.iter_mut().enumerate() {
            // SAFETY: `lane` is 64 writable bytes; the store is unaligned.
            unsafe { _mm512_storeu_si512(lane.as_mut_ptr().cast(), a[k]) };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use alloc::{vec, vec::Vec};

    use super::*;
    use crate::hash::node_hash;

    fn h(i: u64) -> B256 {
        keccak256_uncached(i.to_be_bytes())
    }

    #[test]
    fn pairs_match_scalar_for_every_batch_length() {
        for n in 0..40 {
            let children: Vec<B256> = (0..2 * n as u64).map(h).collect();
            let mut out = vec![B256::ZERO; n];
            hash_pairs(&children, &mut out);
            for i in 0..n {
                assert_eq!(
                    out[i],
                    node_hash(&children[2 * i], &children[2 * i + 1]),
                    "n={n} i={i}"
                );
            }
        }
    }

    #[test]
    fn leaves_match_scalar_for_every_batch_length() {
        for n in 0..40 {
            let leaves: Vec<LeafComponents> = (0..n as u64)
                .map(|i| LeafComponents {
                    pre_state_hash: h(4 * i),
                    state_change_hash: h(4 * i + 1),
                    transition_hash: h(4 * i + 2),
                    previous_leaf_hash: h(4 * i + 3),
                })
                .collect();
            let mut out = vec![B256::ZERO; n];
            hash_leaves(&leaves, &mut out);
            for i in 0..n {
                assert_eq!(out[i], leaves[i].hash(), "n={n} i={i}");
            }
        }
    }
}
