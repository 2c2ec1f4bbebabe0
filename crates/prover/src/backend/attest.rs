//! `attest`: the TEE-style backend. **No TEE exists here**: the key lives in an Ethereum v3
//! keystore file, not in an enclave, and a signature is only as good as the custody of that
//! key. The registration of a signer is where a real enclave's SGX/TDX quote would be checked
//! ([`QuoteVerifier`]); this build has no quote verifier, so a registration carrying a quote
//! is refused and a plain one is the operator's word.

use super::{BackendId, CancellationToken, Proved, ProverBackend, run_blocking};
use crate::{
    PROGRAM_ID,
    attest::{AttestDomain, AttestProof, attest_digest},
    error::{Error, Result},
    guest,
    public_values::PublicValues,
};
use alloy_primitives::{Address, B256, Bytes, Signature, hex};
use k256::ecdsa::SigningKey;
use serde::{Deserialize, Serialize};
use std::{
    collections::BTreeMap,
    fmt, fs,
    path::{Path, PathBuf},
    sync::Arc,
    time::Instant,
};

/// Environment variable holding a keystore password (when no password file is given).
pub const PASSWORD_ENV: &str = "CAIRN_KEYSTORE_PASSWORD";

/// A secp256k1 signing key, loaded from a keystore. Its `Debug` shows the address only; the
/// key is never printed or logged.
#[derive(Clone)]
pub struct AttestSigner {
    key: SigningKey,
    address: Address,
}

impl fmt::Debug for AttestSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttestSigner")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// Largest scrypt cost (`n`) accepted in a keystore: geth's standard 2^18.
const MAX_SCRYPT_N: u64 = 1 << 18;
/// Largest scrypt `r` and `p` accepted.
const MAX_SCRYPT_RP: u64 = 16;
/// Largest PBKDF2 iteration count accepted.
const MAX_PBKDF2_C: u64 = 10_000_000;

impl AttestSigner {
    /// A signer from raw key bytes.
    ///
    /// # Errors
    /// [`Error::BadSignature`] when the bytes are not a valid secp256k1 secret key.
    pub fn from_bytes(key: &[u8]) -> Result<Self> {
        let key = SigningKey::from_slice(key).map_err(|_| Error::BadSignature {
            reason: "not a valid secp256k1 secret key",
        })?;
        let address = Address::from_public_key(key.verifying_key());
        Ok(Self { key, address })
    }

    /// A fresh random key.
    pub fn random() -> Self {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let address = Address::from_public_key(key.verifying_key());
        Self { key, address }
    }

    /// The signer's address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Signs a digest: 65 bytes `r ‖ s ‖ v`, low `s`, `v` 27 or 28.
    ///
    /// # Errors
    /// [`Error::BadSignature`] if signing fails (it does not for a valid key).
    pub fn sign_digest(&self, digest: &B256) -> Result<[u8; 65]> {
        let (sig, recid) = self
            .key
            .sign_prehash_recoverable(digest.as_slice())
            .map_err(|_| Error::BadSignature {
                reason: "signing failed",
            })?;
        Ok(Signature::from_signature_and_parity(sig, recid.is_y_odd())
            .normalized_s()
            .as_bytes())
    }

    /// Creates an Ethereum v3 keystore (scrypt, AES-128-CTR) holding a fresh key at `path`,
    /// readable by its owner only (0600), written atomically; refuses to overwrite a file.
    ///
    /// # Errors
    /// [`Error::Keystore`] when `path` exists; [`Error::Io`].
    pub fn create_keystore(path: &Path, password: &[u8]) -> Result<Self> {
        if path.exists() {
            return Err(Error::Keystore {
                path: path.to_path_buf(),
                reason: "already exists; not overwriting a key".into(),
            });
        }
        let signer = Self::random();
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // A private directory next to the target (0700), so the file is never readable by
        // others, even before its mode is set; then a rename into place.
        let private = tempfile::Builder::new()
            .prefix(".cairn-keystore-")
            .tempdir_in(&dir)
            .map_err(|source| Error::Io {
                path: dir.clone(),
                source,
            })?;
        let name = "key.json";
        eth_keystore::encrypt_key(
            private.path(),
            &mut rand::rngs::OsRng,
            signer.key.to_bytes(),
            password,
            Some(name),
        )
        .map_err(|e| Error::Keystore {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let tmp = private.path().join(name);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600)).map_err(io(&tmp))?;
        }
        fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(io(&tmp))?;
        fs::rename(&tmp, path).map_err(io(path))?;
        fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&dir))?;
        Ok(signer)
    }

    /// Opens an Ethereum v3 keystore (scrypt or PBKDF2, AES-128-CTR). The file is checked
    /// before decryption (cipher, lengths, and KDF costs bounded by geth's standard ones), so
    /// a hostile file cannot exhaust memory or time. Warns when the file is readable by others.
    ///
    /// # Errors
    /// [`Error::Io`]; [`Error::Keystore`] for a malformed file, a wrong password (MAC
    /// mismatch), or KDF parameters beyond the bounds.
    pub fn open_keystore(path: &Path, password: &[u8]) -> Result<Self> {
        let refuse = |reason: String| Error::Keystore {
            path: path.to_path_buf(),
            reason,
        };
        let text = fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        check_keystore(&text).map_err(refuse)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(meta) = fs::metadata(path)
                && meta.permissions().mode() & 0o077 != 0
            {
                tracing::warn!(target: "cairn::prover", path = %path.display(), "keystore is readable by group or others; chmod 600 it");
            }
        }
        let key = eth_keystore::decrypt_key(path, password).map_err(|e| match e {
            eth_keystore::KeystoreError::MacMismatch => refuse("wrong password".into()),
            other => refuse(other.to_string()),
        })?;
        Self::from_bytes(&key).map_err(|_| refuse("holds no valid secp256k1 key".into()))
    }
}

/// Checks a v3 keystore's shape and costs before eth-keystore sees it.
fn check_keystore(text: &str) -> std::result::Result<(), String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let crypto = v
        .get("crypto")
        .or_else(|| v.get("Crypto"))
        .ok_or("no crypto section")?;
    let hex_len = |field: &serde_json::Value, name: &str| -> std::result::Result<usize, String> {
        let s = field.as_str().ok_or(format!("{name} is not a string"))?;
        hex::decode(s)
            .map(|b| b.len())
            .map_err(|_| format!("{name} is not hex"))
    };
    if v.get("version").and_then(|x| x.as_u64()) != Some(3) {
        return Err("not a version 3 keystore".into());
    }
    if crypto.get("cipher").and_then(|c| c.as_str()) != Some("aes-128-ctr") {
        return Err("cipher is not aes-128-ctr".into());
    }
    let iv = crypto
        .get("cipherparams")
        .and_then(|p| p.get("iv"))
        .ok_or("no cipherparams.iv")?;
    if hex_len(iv, "iv")? != 16 {
        return Err("iv is not 16 bytes".into());
    }
    if hex_len(
        crypto.get("ciphertext").ok_or("no ciphertext")?,
        "ciphertext",
    )? != 32
    {
        return Err("ciphertext is not 32 bytes".into());
    }
    if hex_len(crypto.get("mac").ok_or("no mac")?, "mac")? != 32 {
        return Err("mac is not 32 bytes".into());
    }
    let params = crypto.get("kdfparams").ok_or("no kdfparams")?;
    let num = |name: &str| params.get(name).and_then(|x| x.as_u64());
    if num("dklen") != Some(32) {
        return Err("kdfparams.dklen is not 32".into());
    }
    hex_len(params.get("salt").ok_or("no salt")?, "salt")?;
    match crypto.get("kdf").and_then(|k| k.as_str()) {
        Some("scrypt") => {
            let (n, r, p) = (
                num("n").unwrap_or(0),
                num("r").unwrap_or(0),
                num("p").unwrap_or(0),
            );
            if !n.is_power_of_two() || !(2..=MAX_SCRYPT_N).contains(&n) {
                return Err(format!("scrypt n {n} is not a power of two up to 2^18"));
            }
            if !(1..=MAX_SCRYPT_RP).contains(&r) || !(1..=MAX_SCRYPT_RP).contains(&p) {
                return Err(format!("scrypt r {r} or p {p} out of 1..=16"));
            }
        }
        Some("pbkdf2") => {
            let c = num("c").unwrap_or(0);
            if !(1..=MAX_PBKDF2_C).contains(&c) {
                return Err(format!("pbkdf2 c {c} out of 1..=10000000"));
            }
            if params.get("prf").and_then(|x| x.as_str()) != Some("hmac-sha256") {
                return Err("pbkdf2 prf is not hmac-sha256".into());
            }
        }
        _ => return Err("kdf is neither scrypt nor pbkdf2".into()),
    }
    Ok(())
}

/// Evidence that a signing key is held where it should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Evidence {
    /// None: the operator registering the key vouches for it (no TEE; the only kind this
    /// build can accept).
    None,
    /// An Intel SGX quote whose report data commits to the signer address.
    Sgx {
        /// The quote.
        quote: Bytes,
    },
    /// An Intel TDX quote whose report data commits to the signer address.
    Tdx {
        /// The quote.
        quote: Bytes,
    },
}

/// Checks a signer's evidence at registration: where a real SGX/TDX quote check goes (DCAP
/// quote verification, the enclave measurement against the program id, the report data
/// against the signer address).
pub trait QuoteVerifier: Send + Sync + fmt::Debug {
    /// Accepts or refuses `evidence` for `signer` running `program_id`.
    ///
    /// # Errors
    /// [`Error::Attestation`] saying why.
    fn check(&self, signer: Address, program_id: &B256, evidence: &Evidence) -> Result<()>;
}

/// The only [`QuoteVerifier`] of this build: accepts registrations without evidence (the
/// operator's word) and refuses quotes, which it cannot check.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTee;

impl QuoteVerifier for NoTee {
    fn check(&self, signer: Address, _program_id: &B256, evidence: &Evidence) -> Result<()> {
        match evidence {
            Evidence::None => Ok(()),
            Evidence::Sgx { .. } | Evidence::Tdx { .. } => Err(Error::Attestation {
                signer,
                reason: "this build has no SGX/TDX quote verifier: a quote cannot be checked, \
                         so the registration is refused"
                    .into(),
            }),
        }
    }
}

/// One registered signer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// The signer's address.
    pub address: Address,
    /// Its evidence.
    #[serde(default = "no_evidence")]
    pub evidence: Evidence,
    /// Free text (who runs it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn no_evidence() -> Evidence {
    Evidence::None
}

/// The registry file's form: `{"signers": [{"address": "0x…", "evidence": {"type": "none"},
/// "note": "…"}]}`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    signers: Vec<Registration>,
}

/// The signers whose attestations are accepted; each was checked by a [`QuoteVerifier`] when
/// it was registered.
#[derive(Debug, Clone, Default)]
pub struct SignerRegistry {
    signers: BTreeMap<Address, Registration>,
}

impl SignerRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a signer after `verifier` accepted its evidence for `program_id`.
    ///
    /// # Errors
    /// The verifier's refusal.
    pub fn register(
        &mut self,
        registration: Registration,
        program_id: &B256,
        verifier: &dyn QuoteVerifier,
    ) -> Result<()> {
        verifier.check(registration.address, program_id, &registration.evidence)?;
        self.signers.insert(registration.address, registration);
        Ok(())
    }

    /// Loads a registry file, checking each registration with `verifier`.
    ///
    /// # Errors
    /// [`Error::Io`]; [`Error::Registry`] for a malformed file; the verifier's refusal.
    pub fn load(path: &Path, program_id: &B256, verifier: &dyn QuoteVerifier) -> Result<Self> {
        let text = fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file: RegistryFile = serde_json::from_str(&text).map_err(|e| Error::Registry {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let mut registry = Self::new();
        for registration in file.signers {
            registry.register(registration, program_id, verifier)?;
        }
        Ok(registry)
    }

    /// The registry file's JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&RegistryFile {
            signers: self.signers.values().cloned().collect(),
        })
        .unwrap_or_default()
    }

    /// Whether `signer` is registered.
    pub fn contains(&self, signer: &Address) -> bool {
        self.signers.contains_key(signer)
    }

    /// The registered addresses.
    pub fn addresses(&self) -> impl Iterator<Item = &Address> {
        self.signers.keys()
    }

    /// Number of signers.
    pub fn len(&self) -> usize {
        self.signers.len()
    }

    /// Whether no signer is registered.
    pub fn is_empty(&self) -> bool {
        self.signers.is_empty()
    }
}

/// The `attest` backend: proves by running the guest and signing
/// `keccak256(domainSeparator ‖ programId ‖ publicValuesHash)`; verifies by `ecrecover`
/// against its [`SignerRegistry`]. A backend without a signer only verifies.
#[derive(Debug, Clone)]
pub struct AttestBackend {
    program_id: B256,
    domain: AttestDomain,
    signer: Option<AttestSigner>,
    registry: Arc<SignerRegistry>,
}

impl AttestBackend {
    /// A backend for this build's program in `domain`.
    pub fn new(
        domain: AttestDomain,
        signer: Option<AttestSigner>,
        registry: Arc<SignerRegistry>,
    ) -> Self {
        Self {
            program_id: PROGRAM_ID,
            domain,
            signer,
            registry,
        }
    }

    /// The same backend claiming another program id: for tests of what verifiers of other
    /// programs do, never for real proofs.
    #[doc(hidden)]
    pub fn with_program_id(mut self, program_id: B256) -> Self {
        self.program_id = program_id;
        self
    }

    /// The domain it signs and verifies in.
    pub fn domain(&self) -> AttestDomain {
        self.domain
    }

    /// The signer's address, if it can sign.
    pub fn signer_address(&self) -> Option<Address> {
        self.signer.as_ref().map(AttestSigner::address)
    }

    /// The registry it verifies against.
    pub fn registry(&self) -> &SignerRegistry {
        &self.registry
    }

    /// Signs `public_values` for this backend's program and domain.
    ///
    /// # Errors
    /// [`Error::NoSigningKey`].
    pub fn attest(&self, public_values: PublicValues) -> Result<AttestProof> {
        let signer = self.signer.as_ref().ok_or(Error::NoSigningKey)?;
        let digest = attest_digest(&self.domain, &self.program_id, &public_values.hash());
        Ok(AttestProof {
            domain: self.domain,
            program_id: self.program_id,
            signature: signer.sign_digest(&digest)?,
            public_values,
        })
    }

    /// Checks an attest proof: domain, program id, signature form, `ecrecover`, registry.
    ///
    /// # Errors
    /// [`Error::DomainMismatch`], [`Error::WrongProgram`], [`Error::BadSignature`],
    /// [`Error::UnknownSigner`].
    pub fn check(&self, proof: &AttestProof) -> Result<Address> {
        if proof.domain != self.domain {
            return Err(Error::DomainMismatch {
                expected: self.domain,
                got: proof.domain,
            });
        }
        if proof.program_id != self.program_id {
            return Err(Error::WrongProgram {
                expected: self.program_id,
                got: proof.program_id,
            });
        }
        let signer = proof.signer()?;
        if !self.registry.contains(&signer) {
            return Err(Error::UnknownSigner { signer });
        }
        Ok(signer)
    }
}

#[async_trait::async_trait]
impl ProverBackend for AttestBackend {
    fn id(&self) -> BackendId {
        BackendId::attest()
    }

    fn program_id(&self) -> B256 {
        self.program_id
    }

    async fn prove(&self, input: Bytes, cancel: CancellationToken) -> Result<Proved> {
        let started = Instant::now();
        if self.signer.is_none() {
            return Err(Error::NoSigningKey);
        }
        let public_values = run_blocking(&cancel, move || guest::public_values(&input)).await?;
        let proof = self.attest(public_values.clone())?;
        Ok(Proved {
            public_values,
            proof: proof.encode().into(),
            elapsed: started.elapsed(),
        })
    }

    async fn verify(&self, proof: Bytes) -> Result<PublicValues> {
        let proof = AttestProof::decode(&proof)?;
        self.check(&proof)?;
        Ok(proof.public_values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keystore_round_trip_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.json");
        let signer = AttestSigner::create_keystore(&path, b"pw").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let again = AttestSigner::open_keystore(&path, b"pw").unwrap();
        assert_eq!(again.address(), signer.address());
        assert!(format!("{again:?}").contains("address"));
        assert!(matches!(
            AttestSigner::open_keystore(&path, b"other"),
            Err(Error::Keystore { reason, .. }) if reason == "wrong password"
        ));
        assert!(
            AttestSigner::create_keystore(&path, b"pw").is_err(),
            "no overwrite"
        );
        // A hostile file: scrypt cost far beyond the bound is refused before decryption.
        let text = fs::read_to_string(&path).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["crypto"]["kdfparams"]["n"] = serde_json::json!(1u64 << 40);
        fs::write(&path, v.to_string()).unwrap();
        assert!(matches!(
            AttestSigner::open_keystore(&path, b"pw"),
            Err(Error::Keystore { .. })
        ));
        v["crypto"]["kdfparams"]["n"] = serde_json::json!(8192);
        v["crypto"]["cipherparams"]["iv"] = serde_json::json!("00");
        fs::write(&path, v.to_string()).unwrap();
        assert!(matches!(
            AttestSigner::open_keystore(&path, b"pw"),
            Err(Error::Keystore { .. })
        ));
    }

    #[test]
    fn signatures_recover_the_signer() {
        let signer = AttestSigner::random();
        let digest = B256::repeat_byte(7);
        let sig = signer.sign_digest(&digest).unwrap();
        assert_eq!(
            crate::attest::recover_signer(&digest, &sig).unwrap(),
            signer.address()
        );
    }

    #[test]
    fn quotes_are_refused_without_a_verifier() {
        let mut registry = SignerRegistry::new();
        let address = Address::repeat_byte(1);
        let quoted = Registration {
            address,
            evidence: Evidence::Sgx {
                quote: Bytes::from_static(b"quote"),
            },
            note: None,
        };
        assert!(matches!(
            registry.register(quoted, &PROGRAM_ID, &NoTee),
            Err(Error::Attestation { .. })
        ));
        assert!(registry.is_empty());
        let plain = Registration {
            address,
            evidence: Evidence::None,
            note: Some("dev".into()),
        };
        registry.register(plain, &PROGRAM_ID, &NoTee).unwrap();
        assert!(registry.contains(&address));
    }
}
