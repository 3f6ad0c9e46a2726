//! Signing and verifying a module's bytes: the appended-signature framing
//! (`[module][PKCS#7][struct module_signature][magic]`) and the checks the kernel makes
//! (kernel/module/signing.c, kernel/module_signature.c, crypto/asymmetric_keys/pkcs7_*.c).

use crate::cert::hex;
use crate::pkcs7::{self, SignerId, SignerKey};
use crate::{Cert, Error, HashAlgo, Keyring, PrivateKey};

/// The trailer magic (`MODULE_SIG_STRING`).
pub const MAGIC: &[u8; 28] = modfile::SIG_MAGIC;
/// `sizeof(struct module_signature)`.
pub const MODSIG_SIZE: usize = 12;
const PKEY_ID_PKCS7: u8 = 2;

/// What follows a module's content once signed: the PKCS#7, the 12-byte
/// `struct module_signature` (all zero except `id_type` = 2 and the big-endian length) and
/// the magic.
pub fn trailer(pkcs7: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(pkcs7.len() + MODSIG_SIZE + MAGIC.len());
    out.extend_from_slice(pkcs7);
    out.extend_from_slice(&[0, 0, PKEY_ID_PKCS7, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&(pkcs7.len() as u32).to_be_bytes());
    out.extend_from_slice(MAGIC);
    out
}

/// The module's content without its appended signature (all of it when unsigned).
/// Fails when the trailer magic is there but the frame before it cannot be right.
pub fn unsigned_content(data: &[u8]) -> Result<&[u8], Error> {
    match parse_frame(data) {
        Ok(Some((content, _))) => Ok(content),
        Ok(None) => Ok(data),
        Err(f) => Err(Error::Module {
            what: "appended signature".into(),
            msg: f.to_string(),
        }),
    }
}

/// A private key and the certificate it belongs to, checked to match.
pub struct SigningKey {
    key: PrivateKey,
    cert: Cert,
}

impl SigningKey {
    /// Pair `key` with `cert`; fails as OpenSSL's `CMS_add1_signer` does when the key is not
    /// the certificate's.
    pub fn new(key: PrivateKey, cert: Cert) -> Result<Self, Error> {
        if key.public_key_bits() != cert.public_key_bits() {
            return Err(Error::KeyMismatch {
                cert: cert.subject(),
            });
        }
        Ok(SigningKey { key, cert })
    }

    pub fn cert(&self) -> &Cert {
        &self.cert
    }
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// A signer for `hash` and signer id, reusable across many modules (and threads).
    pub fn module_signer(&self, hash: HashAlgo, id: SignerId) -> Result<ModuleSigner<'_>, Error> {
        if id == SignerId::KeyId && self.cert.skid().is_none() {
            return Err(Error::NoSkid {
                cert: self.cert.subject(),
            });
        }
        Ok(ModuleSigner {
            signer: self.key.signer(hash)?,
            cert: &self.cert,
            id,
        })
    }
}

/// Signs module contents with one key, hash and signer id.
pub struct ModuleSigner<'a> {
    signer: crate::key::Signer<'a>,
    cert: &'a Cert,
    id: SignerId,
}

impl ModuleSigner<'_> {
    /// The detached PKCS#7 over `content`, as sign-file writes it.
    pub fn pkcs7(&self, content: &[u8]) -> Result<Vec<u8>, Error> {
        let sig = self.signer.sign(content)?;
        pkcs7::build(
            self.cert,
            self.signer.hash(),
            self.signer.is_rsa(),
            sig,
            self.id,
        )
    }

    /// `content` followed by its signature trailer (sign-file: the whole input is the
    /// content, an old signature included).
    pub fn sign(&self, content: &[u8]) -> Result<Vec<u8>, Error> {
        let p7 = self.pkcs7(content)?;
        let mut out = Vec::with_capacity(content.len() + p7.len() + 40);
        out.extend_from_slice(content);
        out.extend_from_slice(&trailer(&p7));
        Ok(out)
    }

    /// Replace any signature `module` has with a new one.
    pub fn resign(&self, module: &[u8]) -> Result<Vec<u8>, Error> {
        self.sign(unsigned_content(module)?)
    }
}

/// Why the kernel would refuse a module's signature, with the errno it would return.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// No trailer magic: ENODATA.
    NoSignature,
    /// `id_type` is not PKCS#7: ENOPKG.
    NotPkcs7(u8),
    /// Non-zero fields in `struct module_signature`, a length that does not fit, or a PKCS#7
    /// the ASN.1 decoder rejects: EBADMSG.
    Malformed(String),
    /// PKCS#7 content type is not data, or it carries signed attributes: EKEYREJECTED.
    Rejected(String),
    /// An algorithm the kernel (or this crate) cannot check: ENOPKG.
    Unsupported(String),
    /// No trusted key matches the signer: ENOKEY.
    UnknownKey(String),
    /// The key matched but the signature does not verify: EKEYREJECTED.
    BadSignature(String),
}

impl Failure {
    /// The errno name the kernel's `mod_verify_sig` path returns.
    pub fn errno(&self) -> &'static str {
        match self {
            Failure::NoSignature => "ENODATA",
            Failure::NotPkcs7(_) | Failure::Unsupported(_) => "ENOPKG",
            Failure::Malformed(_) => "EBADMSG",
            Failure::Rejected(_) | Failure::BadSignature(_) => "EKEYREJECTED",
            Failure::UnknownKey(_) => "ENOKEY",
        }
    }
    /// A short machine-friendly kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::NoSignature => "no-signature",
            Failure::NotPkcs7(_) => "unsupported",
            Failure::Unsupported(_) => "unsupported",
            Failure::Malformed(_) => "malformed",
            Failure::Rejected(_) => "rejected",
            Failure::UnknownKey(_) => "unknown-key",
            Failure::BadSignature(_) => "bad-signature",
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::NoSignature => write!(f, "no signature (module is unsigned)"),
            Failure::NotPkcs7(t) => write!(
                f,
                "unsupported: not signed with expected PKCS#7 message (id_type {t})"
            ),
            Failure::Malformed(m) => write!(f, "malformed signature: {m}"),
            Failure::Rejected(m) => write!(f, "rejected: {m}"),
            Failure::Unsupported(m) => write!(f, "unsupported algorithm: {m}"),
            Failure::UnknownKey(m) => write!(f, "unknown key: {m}"),
            Failure::BadSignature(m) => write!(f, "bad signature: {m}"),
        }
    }
}

/// A signature that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The trusted key, as the kernel names it (`CN: key id`).
    pub signer: String,
    pub hash: HashAlgo,
    /// Bytes covered by the signature (everything before it).
    pub content_len: usize,
}

/// Split off the trailer as the kernel does: `Ok(None)` when there is no magic.
/// A module split into (signed content, PKCS#7).
type Frame<'a> = (&'a [u8], &'a [u8]);

fn parse_frame(data: &[u8]) -> Result<Option<Frame<'_>>, Failure> {
    let Some(body) = data.len().checked_sub(MAGIC.len()) else {
        return Ok(None);
    };
    if &data[body..] != MAGIC {
        return Ok(None);
    }
    let data = &data[..body];
    if data.len() <= MODSIG_SIZE {
        return Err(Failure::Malformed(format!(
            "only {} bytes before the signature magic, struct module_signature needs {MODSIG_SIZE}",
            data.len()
        )));
    }
    let ms_at = data.len() - MODSIG_SIZE;
    let ms = &data[ms_at..];
    let sig_len = u32::from_be_bytes([ms[8], ms[9], ms[10], ms[11]]) as usize;
    if sig_len >= ms_at {
        return Err(Failure::Malformed(format!(
            "struct module_signature at offset {ms_at}: signature length {sig_len} does not fit in the {ms_at} bytes before it"
        )));
    }
    if ms[2] != PKEY_ID_PKCS7 {
        return Err(Failure::NotPkcs7(ms[2]));
    }
    if ms[0] != 0 || ms[1] != 0 || ms[3] != 0 || ms[4] != 0 || ms[5..8] != [0, 0, 0] {
        return Err(Failure::Malformed(format!(
            "struct module_signature at offset {ms_at}: PKCS#7 signature info has unexpected non-zero params"
        )));
    }
    let content_len = ms_at - sig_len;
    Ok(Some((&data[..content_len], &data[content_len..ms_at])))
}

/// Verify `data` (a whole, uncompressed module file) against `keyring`, as the kernel's
/// `mod_verify_sig` would.
pub fn verify(data: &[u8], keyring: &Keyring) -> Result<Verified, Failure> {
    let (content, sig) = parse_frame(data)?.ok_or(Failure::NoSignature)?;
    verify_detached(content, sig, keyring)
}

/// Verify a detached PKCS#7 `sig` over `content`.
pub fn verify_detached(content: &[u8], sig: &[u8], keyring: &Keyring) -> Result<Verified, Failure> {
    let offset = content.len();
    let msg = pkcs7::parse(sig)
        .map_err(|e| Failure::Malformed(format!("PKCS#7 at offset {offset}: {e}")))?;
    if msg.content_type != der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1") {
        return Err(Failure::Rejected(
            "Invalid module sig (not pkcs7-data)".into(),
        ));
    }
    if !msg.detached {
        return Err(Failure::Malformed(
            "PKCS#7 carries its own content (a module signature is detached)".into(),
        ));
    }
    if msg.signers.is_empty() {
        return Err(Failure::Malformed("PKCS#7 has no signer".into()));
    }
    if msg.signers.iter().any(|s| s.has_signed_attrs) {
        return Err(Failure::Rejected(
            "Invalid module sig (has authattrs)".into(),
        ));
    }
    // Parser stage: every signer's algorithms must be known.
    for s in &msg.signers {
        if let Err(oid) = &s.hash {
            return Err(Failure::Unsupported(format!("digest algorithm {oid}")));
        }
        if pkcs7::sig_alg_is_rsa(&s.signature_algorithm).is_none() {
            return Err(Failure::Unsupported(format!(
                "signature algorithm {}",
                s.signature_algorithm
            )));
        }
    }
    // Trust stage (pkcs7_validate_trust): the first signer that verifies wins; unknown keys
    // are skipped; a known key with a bad signature makes the result EKEYREJECTED.
    let mut result = Err(Failure::UnknownKey(describe_signer(&msg.signers[0].id)));
    for s in &msg.signers {
        let hash = *s
            .hash
            .as_ref()
            .map_err(|oid| Failure::Unsupported(format!("digest algorithm {oid}")))?;
        let Some(cert) = keyring.find(&s.id) else {
            continue;
        };
        let rsa_sig = pkcs7::sig_alg_is_rsa(&s.signature_algorithm) == Some(true);
        // The kernel takes the hash from digestAlgorithm alone; an `ecdsa-with-SHAxxx` that
        // names another hash is refused here too, so that no changed byte goes unnoticed.
        if !rsa_sig && s.signature_algorithm != hash.ecdsa_oid() {
            result = Err(Failure::BadSignature(format!(
                "signature algorithm {} does not match digest algorithm {hash}",
                s.signature_algorithm
            )));
            continue;
        }
        let rsa_key = matches!(cert.key_algo(), Ok(crate::KeyAlgo::Rsa { .. }));
        if rsa_sig != rsa_key {
            result = Err(Failure::BadSignature(format!(
                "signature algorithm {} does not fit the key of {}",
                s.signature_algorithm,
                cert.kernel_description()
            )));
            continue;
        }
        match cert.verify(hash, content, &s.signature) {
            Ok(()) => {
                return Ok(Verified {
                    signer: cert.kernel_description(),
                    hash,
                    content_len: content.len(),
                })
            }
            Err(crate::cert::VerifyFailure::Unsupported(m)) => {
                return Err(Failure::Unsupported(m));
            }
            Err(crate::cert::VerifyFailure::Bad) => {
                result = Err(Failure::BadSignature(format!(
                    "{hash} signature does not verify with key '{}'",
                    cert.kernel_description()
                )));
            }
        }
    }
    result
}

fn describe_signer(id: &SignerKey) -> String {
    match id {
        SignerKey::IssuerSerial { issuer, serial } => {
            let name = <x509_cert::name::Name as der::Decode>::from_der(issuer)
                .map(|n| n.to_string())
                .unwrap_or_else(|_| "?".into());
            format!("no trusted key for issuer '{name}' serial {}", hex(serial))
        }
        SignerKey::KeyId(k) => format!("no trusted key with subject key id {}", hex(k)),
    }
}
