//! KZG parameters (the structured reference string) for BN254.
//!
//! **Dev parameters are insecure.** When no ceremony file is present, [`load_or_generate`]
//! creates parameters locally from a fixed seed: whoever knows the seed (anyone reading this
//! source) knows the toxic waste and can forge proofs. They are for tests and development
//! only, named `insecure_dev_kzg_bn254_{k}.srs`, and every command that uses them says so.
//!
//! For anything real, put ceremony parameters in the params directory as
//! `kzg_bn254_{k}.srs` (the raw halo2 `ParamsKZG::write` format of the perpetual powers of
//! tau files that Axiom and PSE publish, e.g. `kzg_bn254_23.srs`): a ceremony file of any
//! `k` at least as large as the circuit's is read and downsized, and is always preferred
//! over dev parameters.

use std::{
    fs::File,
    io::{BufReader, BufWriter, Read},
    path::{Path, PathBuf},
};

use axiom_eth::halo2_proofs::{
    SerdeFormat,
    halo2curves::bn256::Bn256,
    poly::{commitment::Params, kzg::commitment::ParamsKZG},
};
use rand::SeedableRng;

use crate::error::{Result, ZkError};

/// The public seed of the insecure dev parameters.
const DEV_SEED: u64 = 0xca12_2b0d;

/// The largest `k` any file may claim (BN254's 2-adicity is 28).
const MAX_K: u32 = 28;

/// Where a set of parameters came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamsSource {
    /// A ceremony file `kzg_bn254_{k}.srs` (downsized from its own `k`).
    Ceremony {
        /// The file read.
        path: PathBuf,
        /// Its `k` before downsizing.
        file_k: u32,
    },
    /// Generated locally from a public seed: insecure, dev only.
    InsecureDev {
        /// The cache file.
        path: PathBuf,
    },
}

impl ParamsSource {
    /// Whether these are insecure dev parameters.
    pub fn is_insecure(&self) -> bool {
        matches!(self, Self::InsecureDev { .. })
    }
}

impl std::fmt::Display for ParamsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ceremony { path, file_k } => {
                write!(f, "ceremony params {} (k = {file_k})", path.display())
            }
            Self::InsecureDev { path } => write!(
                f,
                "INSECURE dev params {} (generated from a public seed: anyone can forge proofs; put a ceremony kzg_bn254_<k>.srs in the params dir for real use)",
                path.display()
            ),
        }
    }
}

/// Parameters of exactly `2^k` points: a ceremony file `kzg_bn254_{K}.srs` with `K >= k`
/// from `dir` when there is one, otherwise cached (or freshly generated) insecure dev
/// parameters.
///
/// # Errors
/// [`ZkError::Params`] on an unreadable, truncated or inconsistent file; [`ZkError::Io`]
/// when the cache cannot be written.
pub fn load_or_generate(dir: &Path, k: u32) -> Result<(ParamsKZG<Bn256>, ParamsSource)> {
    if let Some((path, file_k)) = find_ceremony(dir, k) {
        let mut params = read_file(&path, SerdeFormat::RawBytes)?;
        params.downsize(k);
        return Ok((params, ParamsSource::Ceremony { path, file_k }));
    }
    let path = dir.join(format!("insecure_dev_kzg_bn254_{k}.srs"));
    if path.is_file() {
        let params = read_file(&path, SerdeFormat::Processed)?;
        if params.k() != k {
            return Err(ZkError::Params {
                path,
                reason: format!("holds k = {}, expected {k}", params.k()),
            });
        }
        return Ok((params, ParamsSource::InsecureDev { path }));
    }
    // The seed is public on purpose: these parameters must never be mistaken for secure ones.
    // `setup` draws tau first, so one seed gives the same tau at every `k`: proofs of
    // circuits of different sizes can be aggregated and verified with one deciding key.
    let rng = rand_chacha::ChaCha20Rng::seed_from_u64(DEV_SEED);
    let params = ParamsKZG::<Bn256>::setup(k, rng);
    std::fs::create_dir_all(dir).map_err(ZkError::io(dir))?;
    let tmp = path.with_extension("srs.tmp");
    {
        let mut w = BufWriter::new(File::create(&tmp).map_err(ZkError::io(&tmp))?);
        params
            .write_custom(&mut w, SerdeFormat::Processed)
            .map_err(ZkError::io(&tmp))?;
        std::io::Write::flush(&mut w).map_err(ZkError::io(&tmp))?;
    }
    std::fs::rename(&tmp, &path).map_err(ZkError::io(&path))?;
    Ok((params, ParamsSource::InsecureDev { path }))
}

/// The smallest ceremony file in `dir` with `k >= want`.
fn find_ceremony(dir: &Path, want: u32) -> Option<(PathBuf, u32)> {
    (want..=MAX_K)
        .map(|k| (dir.join(format!("kzg_bn254_{k}.srs")), k))
        .find(|(p, _)| p.is_file())
}

/// Reads a params file, checking its `k` and every point (no panics on bad files).
pub fn read_file(path: &Path, format: SerdeFormat) -> Result<ParamsKZG<Bn256>> {
    let bad = |reason: String| ZkError::Params {
        path: path.to_path_buf(),
        reason,
    };
    let mut reader = BufReader::new(File::open(path).map_err(ZkError::io(path))?);
    let mut k = [0u8; 4];
    reader
        .read_exact(&mut k)
        .map_err(|e| bad(format!("no header: {e}")))?;
    let file_k = u32::from_le_bytes(k);
    if file_k == 0 || file_k > MAX_K {
        return Err(bad(format!("claims k = {file_k}, not a BN254 params file")));
    }
    let mut chained = std::io::Cursor::new(k).chain(reader);
    ParamsKZG::<Bn256>::read_custom(&mut chained, format)
        .map_err(|e| bad(format!("unreadable (k = {file_k}): {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axiom_eth::halo2_proofs::poly::commitment::ParamsProver;

    #[test]
    fn bad_params_files_are_typed_errors() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("kzg_bn254_12.srs");
        std::fs::write(&garbage, [0xffu8; 64]).unwrap();
        assert!(matches!(
            read_file(&garbage, SerdeFormat::RawBytes),
            Err(ZkError::Params { .. })
        ));
        // A plausible header and a truncated body.
        let mut body = 5u32.to_le_bytes().to_vec();
        body.extend_from_slice(&[1u8; 100]);
        std::fs::write(&garbage, &body).unwrap();
        let err = read_file(&garbage, SerdeFormat::RawBytes).unwrap_err();
        assert!(matches!(err, ZkError::Params { .. }), "{err}");
        // A ceremony file that is unreadable is reported, not replaced by dev params.
        assert!(matches!(
            load_or_generate(dir.path(), 4),
            Err(ZkError::Params { .. })
        ));
    }

    #[test]
    fn dev_params_share_tau_across_sizes_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let (small, source) = load_or_generate(dir.path(), 4).unwrap();
        assert!(source.is_insecure());
        assert!(source.to_string().contains("INSECURE"));
        let (big, _) = load_or_generate(dir.path(), 6).unwrap();
        // Same tau: the same [tau]_2 and the first G1 powers agree.
        assert_eq!(small.s_g2(), big.s_g2());
        assert_eq!(small.get_g()[..16], big.get_g()[..16]);
        // Cached and read back.
        let (again, _) = load_or_generate(dir.path(), 4).unwrap();
        assert_eq!(again.get_g(), small.get_g());
        // A ceremony file of a larger k is preferred and downsized.
        let ceremony = dir.path().join("kzg_bn254_6.srs");
        let mut w = std::fs::File::create(&ceremony).unwrap();
        big.write_custom(&mut w, SerdeFormat::RawBytes).unwrap();
        drop(w);
        let (down, source) = load_or_generate(dir.path(), 5).unwrap();
        assert_eq!(down.k(), 5);
        assert_eq!(
            source,
            ParamsSource::Ceremony {
                path: ceremony,
                file_k: 6
            }
        );
    }
}
