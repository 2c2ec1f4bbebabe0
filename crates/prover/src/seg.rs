//! `.seg` proof files: one file per batch, with its public values, QMTree binding and one or
//! more proofs. The layout is in the crate docs.

use crate::{
    backend::{BackendId, BackendKind, valid_name},
    binding::BatchBinding,
    error::{Error, Result, SegFault},
    public_values::PublicValues,
};
use alloy_primitives::{B256, Bytes, keccak256};
use std::{
    fs::{self, File},
    io::Write,
    path::{Path, PathBuf},
};

/// Magic bytes at the start of a `.seg` file.
pub const SEG_MAGIC: [u8; 8] = *b"CAIRNSEG";
/// The format version written and read here.
pub const SEG_VERSION: u16 = 1;
/// Most proofs in one file.
pub const MAX_PROOFS: usize = 16;
/// Largest public-values section.
pub const MAX_PUBLIC_VALUES: u32 = 64 * 1024;
/// Largest binding section.
pub const MAX_BINDING: u32 = 1024 * 1024;
/// Largest single proof (an exec proof carries the batch's input).
pub const MAX_PROOF: u32 = 1 << 30;
/// Fixed header: magic, version, flags, first and last block, program id.
const HEADER_LEN: usize = 8 + 2 + 2 + 8 + 8 + 32;
const CHECKSUM_LEN: usize = 32;

/// One proof in a `.seg` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegProof {
    /// The backend that made it.
    pub backend: BackendId,
    /// The proof bytes, in that backend's format.
    pub proof: Bytes,
}

/// A proof file: a batch, its public values, its QMTree binding, and its proofs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seg {
    /// The program the proofs are of.
    pub program_id: B256,
    /// The batch's public values (their range is the file's range).
    pub public_values: PublicValues,
    /// The QMTree binding.
    pub binding: BatchBinding,
    /// The proofs, one per backend.
    pub proofs: Vec<SegProof>,
}

impl Seg {
    /// First block of the batch.
    pub fn first_block(&self) -> u64 {
        self.public_values.firstBlock
    }

    /// Last block of the batch.
    pub fn last_block(&self) -> u64 {
        self.public_values.lastBlock
    }

    /// The file's bytes (see the crate docs for the layout).
    ///
    /// # Errors
    /// [`Error::Seg`] when the contents cannot be written in the format: no proof, more than
    /// [`MAX_PROOFS`], two proofs of one backend, an invalid backend name, a section above its
    /// limit.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.check_proofs()?;
        let pv = self.public_values.encode();
        let binding = self.binding.encode();
        let len32 = |field: &'static str, n: usize, max: u32| {
            u32::try_from(n)
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| field_err(field, format!("{n} bytes exceed the limit of {max}")))
        };
        let mut out = Vec::with_capacity(
            HEADER_LEN
                + 8
                + pv.len()
                + binding.len()
                + 1
                + self
                    .proofs
                    .iter()
                    .map(|p| p.proof.len() + 38)
                    .sum::<usize>()
                + CHECKSUM_LEN,
        );
        out.extend_from_slice(&SEG_MAGIC);
        out.extend_from_slice(&SEG_VERSION.to_be_bytes());
        out.extend_from_slice(&0u16.to_be_bytes());
        out.extend_from_slice(&self.first_block().to_be_bytes());
        out.extend_from_slice(&self.last_block().to_be_bytes());
        out.extend_from_slice(self.program_id.as_slice());
        out.extend_from_slice(&len32("public values", pv.len(), MAX_PUBLIC_VALUES)?.to_be_bytes());
        out.extend_from_slice(&pv);
        out.extend_from_slice(&len32("binding", binding.len(), MAX_BINDING)?.to_be_bytes());
        out.extend_from_slice(&binding);
        out.push(self.proofs.len() as u8);
        for p in &self.proofs {
            out.push(p.backend.kind.code());
            out.push(p.backend.name.len() as u8);
            out.extend_from_slice(p.backend.name.as_bytes());
            out.extend_from_slice(&len32("proof", p.proof.len(), MAX_PROOF)?.to_be_bytes());
            out.extend_from_slice(&p.proof);
        }
        let checksum = keccak256(&out);
        out.extend_from_slice(checksum.as_slice());
        Ok(out)
    }

    fn check_proofs(&self) -> Result<()> {
        if self.proofs.is_empty() || self.proofs.len() > MAX_PROOFS {
            return Err(field_err(
                "proof count",
                format!("{} proofs, expected 1 to {MAX_PROOFS}", self.proofs.len()),
            ));
        }
        for (i, p) in self.proofs.iter().enumerate() {
            if !valid_name(&p.backend.name) {
                return Err(field_err(
                    "backend name",
                    format!("{:?} is not a backend name", p.backend.name),
                ));
            }
            if self.proofs[..i].iter().any(|q| q.backend == p.backend) {
                return Err(Error::Seg(SegFault::DuplicateProof {
                    backend: p.backend.to_string(),
                }));
            }
        }
        Ok(())
    }

    /// Parses a `.seg` file's bytes: magic and version first, then the checksum (a file that
    /// fails it is reported as truncated when its structure runs past its end, as corrupt
    /// otherwise), then every section, then consistency (the header's range is the public
    /// values', one proof per backend). Never panics, whatever the bytes; this is the fuzzing
    /// entry point.
    ///
    /// # Errors
    /// [`Error::Seg`] with the [`SegFault`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let len = bytes.len() as u64;
        if bytes.len() < 10 {
            return Err(Error::Seg(SegFault::Truncated {
                section: "header",
                needed: HEADER_LEN as u64,
                len,
            }));
        }
        if bytes[..8] != SEG_MAGIC {
            return Err(Error::Seg(SegFault::NotASeg));
        }
        let version = u16::from_be_bytes([bytes[8], bytes[9]]);
        if version != SEG_VERSION {
            return Err(Error::Seg(SegFault::UnsupportedVersion {
                found: version,
                supported: SEG_VERSION,
            }));
        }
        let parsed = parse(bytes);
        let body_end = bytes.len().saturating_sub(CHECKSUM_LEN);
        let (seg, end) = match parsed {
            Err(fault @ SegFault::Truncated { .. }) => return Err(Error::Seg(fault)),
            Err(fault) => {
                // A damaged length field reads as some other fault; the checksum tells.
                check_checksum(bytes, body_end)?;
                return Err(Error::Seg(fault));
            }
            Ok(ok) => ok,
        };
        if end + CHECKSUM_LEN > bytes.len() {
            return Err(Error::Seg(SegFault::Truncated {
                section: "checksum",
                needed: (end + CHECKSUM_LEN) as u64,
                len,
            }));
        }
        check_checksum(bytes, body_end)?;
        if end < body_end {
            return Err(Error::Seg(SegFault::TrailingBytes {
                bytes: (body_end - end) as u64,
            }));
        }
        Ok(seg)
    }

    /// Reads and parses a `.seg` file.
    ///
    /// # Errors
    /// [`Error::Io`]; [`Error::SegFile`] naming the path and the fault.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes).map_err(|e| match e {
            Error::Seg(fault) => Error::SegFile {
                path: path.to_path_buf(),
                fault,
            },
            other => other,
        })
    }

    /// Writes the file atomically: a temporary file in the same directory, written and
    /// `fsync`ed, renamed over `path`, then the directory `fsync`ed. On any failure the
    /// temporary file is removed and `path` is untouched. Returns the bytes written.
    ///
    /// # Errors
    /// As [`Seg::to_bytes`]; [`Error::Io`].
    pub fn write_atomic(&self, path: &Path) -> Result<u64> {
        let bytes = self.to_bytes()?;
        write_atomic(path, &bytes)?;
        Ok(bytes.len() as u64)
    }
}

fn field_err(field: &'static str, reason: String) -> Error {
    Error::Seg(SegFault::Field { field, reason })
}

fn check_checksum(bytes: &[u8], body_end: usize) -> Result<()> {
    // A file shorter than a checksum has none (body_end is then 0).
    let Some(stored) = bytes
        .get(body_end..)
        .filter(|stored| stored.len() == CHECKSUM_LEN)
    else {
        return Err(Error::Seg(SegFault::Truncated {
            section: "checksum",
            needed: (body_end + CHECKSUM_LEN) as u64,
            len: bytes.len() as u64,
        }));
    };
    let computed = keccak256(&bytes[..body_end]);
    let stored = B256::from_slice(stored);
    if computed != stored {
        return Err(Error::Seg(SegFault::ChecksumMismatch { stored, computed }));
    }
    Ok(())
}

/// Parses the sections; returns the file and where its structure ends (before the checksum).
fn parse(bytes: &[u8]) -> core::result::Result<(Seg, usize), SegFault> {
    let mut r = Cursor { bytes, at: 10 };
    let flags = r.u16("header")?;
    if flags != 0 {
        return Err(SegFault::Field {
            field: "flags",
            reason: format!("{flags:#06x}, expected 0"),
        });
    }
    let first = r.u64("header")?;
    let last = r.u64("header")?;
    let program_id = B256::from_slice(r.take(32, "header")?);
    let pv_len = r.u32("public values")?;
    if pv_len > MAX_PUBLIC_VALUES {
        return Err(SegFault::Field {
            field: "public values",
            reason: format!("{pv_len} bytes exceed the limit of {MAX_PUBLIC_VALUES}"),
        });
    }
    let pv_bytes = r.take(pv_len as usize, "public values")?;
    let bind_len = r.u32("binding")?;
    if bind_len > MAX_BINDING {
        return Err(SegFault::Field {
            field: "binding",
            reason: format!("{bind_len} bytes exceed the limit of {MAX_BINDING}"),
        });
    }
    let bind_bytes = r.take(bind_len as usize, "binding")?;
    let count = r.u8("proof count")? as usize;
    if count == 0 || count > MAX_PROOFS {
        return Err(SegFault::Field {
            field: "proof count",
            reason: format!("{count} proofs, expected 1 to {MAX_PROOFS}"),
        });
    }
    let mut proofs: Vec<SegProof> = Vec::with_capacity(count);
    for _ in 0..count {
        let code = r.u8("proof")?;
        let kind = BackendKind::from_code(code).ok_or_else(|| SegFault::Field {
            field: "backend kind",
            reason: format!("unknown kind {code}"),
        })?;
        let name_len = r.u8("proof")? as usize;
        let name = r.take(name_len, "proof")?;
        let name = core::str::from_utf8(name)
            .ok()
            .filter(|n| valid_name(n))
            .ok_or_else(|| SegFault::Field {
                field: "backend name",
                reason: format!("{:?} is not a backend name", String::from_utf8_lossy(name)),
            })?;
        let proof_len = r.u32("proof")?;
        if proof_len > MAX_PROOF {
            return Err(SegFault::Field {
                field: "proof",
                reason: format!("{proof_len} bytes exceed the limit of {MAX_PROOF}"),
            });
        }
        let proof = Bytes::copy_from_slice(r.take(proof_len as usize, "proof")?);
        let backend = BackendId {
            kind,
            name: name.to_string(),
        };
        if proofs.iter().any(|p| p.backend == backend) {
            return Err(SegFault::DuplicateProof {
                backend: backend.to_string(),
            });
        }
        proofs.push(SegProof { backend, proof });
    }
    let end = r.at;
    let public_values = PublicValues::decode(pv_bytes).map_err(|e| match e {
        Error::PublicValues { reason } => SegFault::PublicValues(reason),
        _ => SegFault::Binding,
    })?;
    let binding = BatchBinding::decode(bind_bytes).map_err(|_| SegFault::Binding)?;
    if (first, last) != (public_values.firstBlock, public_values.lastBlock) {
        return Err(SegFault::RangeMismatch {
            header: (first, last),
            public_values: (public_values.firstBlock, public_values.lastBlock),
        });
    }
    Ok((
        Seg {
            program_id,
            public_values,
            binding,
            proofs,
        },
        end,
    ))
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(
        &mut self,
        n: usize,
        section: &'static str,
    ) -> core::result::Result<&'a [u8], SegFault> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len());
        let Some(end) = end else {
            return Err(SegFault::Truncated {
                section,
                needed: self.at as u64 + n as u64 + CHECKSUM_LEN as u64,
                len: self.bytes.len() as u64,
            });
        };
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u8(&mut self, section: &'static str) -> core::result::Result<u8, SegFault> {
        Ok(self.take(1, section)?[0])
    }

    fn u16(&mut self, section: &'static str) -> core::result::Result<u16, SegFault> {
        let b = self.take(2, section)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, section: &'static str) -> core::result::Result<u32, SegFault> {
        let b = self.take(4, section)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, section: &'static str) -> core::result::Result<u64, SegFault> {
        let mut w = [0u8; 8];
        w.copy_from_slice(self.take(8, section)?);
        Ok(u64::from_be_bytes(w))
    }
}

/// Writes `bytes` to `path` atomically (temporary file, `fsync`, rename, directory `fsync`);
/// on failure the temporary file is removed and `path` is untouched.
///
/// # Errors
/// [`Error::Io`] naming the file that failed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "seg".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let result = (|| {
        let mut file = File::create(&tmp).map_err(io(&tmp))?;
        file.write_all(bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        drop(file);
        fs::rename(&tmp, path).map_err(io(path))?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&dir))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
