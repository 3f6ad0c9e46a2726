//! Private keys: PEM or DER, PKCS#1 (`RSA PRIVATE KEY`), PKCS#8 (`PRIVATE KEY`) or SEC1
//! (`EC PRIVATE KEY`), RSA of any size ring accepts (2048..8192 bits) and ECDSA P-256/P-384.
//!
//! Every private-key operation goes through `ring`, whose RSA and ECDSA signing are
//! constant-time (the `rsa` crate's signing carries the Marvin timing advisory,
//! RUSTSEC-2023-0071, so it is used only to *generate* RSA keys, see [`crate::keygen`]).
//! The parsing of the containers is RustCrypto's (`pkcs1`, `pkcs8`, `sec1`).
//! A key may also live on a PKCS#11 token ([`PrivateKey::from_pkcs11_uri`]); it then signs
//! there, and everything after the raw signature is shared with file keys.

pub use crate::algo::{Curve, KeyAlgo};
use crate::{Error, HashAlgo};
use der::Decode;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};

enum Material {
    Rsa(RsaKeyPair),
    Ec {
        curve: Curve,
        private: Vec<u8>,
        public: Vec<u8>,
    },
    Pkcs11(crate::pkcs11::Pkcs11Key),
}

/// A private key, loaded and checked.
pub struct PrivateKey {
    material: Material,
}

/// Where a key came from, for messages.
fn pem_label(bytes: &[u8]) -> Option<(String, Vec<u8>)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let start = text.find("-----BEGIN ")?;
    let (label, doc) = der::pem::decode_vec(&text.as_bytes()[start..]).ok()?;
    Some((label.to_string(), doc))
}

impl PrivateKey {
    /// The RSA key a `pkcs11:` URI names on a token (see [`crate::pkcs11`]).
    pub fn from_pkcs11_uri(
        uri: &str,
        module: Option<&std::path::Path>,
        env_pin: Option<&str>,
    ) -> Result<Self, Error> {
        Ok(PrivateKey {
            material: Material::Pkcs11(crate::pkcs11::Pkcs11Key::open(uri, module, env_pin)?),
        })
    }

    /// Read a key from PEM or DER bytes. `what` names the source in errors. An encrypted
    /// key is refused, saying so; see [`PrivateKey::from_bytes_with_passphrase`].
    pub fn from_bytes(bytes: &[u8], what: &str) -> Result<Self, Error> {
        Self::from_bytes_with_passphrase(bytes, what, None)
    }

    /// Read a key from PEM or DER bytes, decrypting an encrypted PKCS#8 PEM key
    /// (`ENCRYPTED PRIVATE KEY`, PBES2 as `openssl genpkey -aes256` writes it) with
    /// `passphrase`, as sign-file does with `KBUILD_SIGN_PIN`. Old-style PEM encryption
    /// (`Proc-Type: 4,ENCRYPTED` headers) is named as such and refused.
    pub fn from_bytes_with_passphrase(
        bytes: &[u8],
        what: &str,
        passphrase: Option<&str>,
    ) -> Result<Self, Error> {
        let trimmed = bytes
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(0);
        if bytes[trimmed..].starts_with(b"-----BEGIN ") {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| Error::key(what, "PEM file is not valid text"))?;
            // The first private key block (a file may also hold a certificate, as
            // kbuild's signing_key.pem does).
            let mut rest = text;
            while let Some(i) = rest.find("-----BEGIN ") {
                let block = &rest[i..];
                let end_label = block
                    .find("-----END ")
                    .and_then(|e| block[e..].find("\n").map(|n| e + n + 1))
                    .unwrap_or(block.len());
                if block[..end_label].contains("Proc-Type: 4,ENCRYPTED") {
                    let cipher = block[..end_label]
                        .lines()
                        .find_map(|l| l.strip_prefix("DEK-Info: "))
                        .and_then(|d| d.split(',').next())
                        .unwrap_or("unknown cipher");
                    return Err(Error::key(
                        what,
                        format!(
                            "encrypted private key in the old PEM format (Proc-Type: 4,ENCRYPTED, {cipher}), which is not supported: convert it to encrypted PKCS#8 (`openssl pkey -in KEY -aes256 -out NEW`) and give the passphrase in KBUILD_SIGN_PIN"
                        ),
                    ));
                }
                let (label, doc) = pem_label(&block.as_bytes()[..end_label])
                    .ok_or_else(|| Error::key(what, "malformed PEM block"))?;
                match label.as_str() {
                    "PRIVATE KEY" => return Self::from_pkcs8(&doc, what),
                    "RSA PRIVATE KEY" => return Self::from_pkcs1(&doc, what),
                    "EC PRIVATE KEY" => return Self::from_sec1(&doc, what),
                    "ENCRYPTED PRIVATE KEY" => {
                        return Self::from_encrypted_pkcs8(&doc, what, passphrase)
                    }
                    _ => rest = &block[end_label..],
                }
            }
            return Err(Error::key(what, "no private key PEM block in file"));
        }
        if pkcs8::EncryptedPrivateKeyInfo::from_der(bytes).is_ok() {
            return Self::from_encrypted_pkcs8(bytes, what, passphrase);
        }
        Self::from_pkcs8(bytes, what)
            .or_else(|_| Self::from_pkcs1(bytes, what))
            .or_else(|_| Self::from_sec1(bytes, what))
            .map_err(|_| {
                Error::key(
                    what,
                    "not a private key (expected PEM, or DER PKCS#8, PKCS#1 or SEC1)",
                )
            })
    }

    fn from_encrypted_pkcs8(
        der_bytes: &[u8],
        what: &str,
        passphrase: Option<&str>,
    ) -> Result<Self, Error> {
        let Some(pass) = passphrase else {
            return Err(Error::key(
                what,
                "encrypted private key (PKCS#8): give its passphrase in KBUILD_SIGN_PIN",
            ));
        };
        let info = pkcs8::EncryptedPrivateKeyInfo::from_der(der_bytes)
            .map_err(|e| Error::key(what, format!("encrypted private key (PKCS#8): {e}")))?;
        let doc = info.decrypt(pass).map_err(|e| {
            Error::key(
                what,
                format!(
                    "encrypted private key (PKCS#8): cannot decrypt with the passphrase in KBUILD_SIGN_PIN ({e}; wrong passphrase?)"
                ),
            )
        })?;
        Self::from_pkcs8(doc.as_bytes(), what)
    }

    fn from_pkcs8(der_bytes: &[u8], what: &str) -> Result<Self, Error> {
        let info = pkcs8::PrivateKeyInfo::from_der(der_bytes)
            .map_err(|e| Error::key(what, format!("PKCS#8: {e}")))?;
        let rsa = der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
        let ec = der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
        if info.algorithm.oid == rsa {
            let kp = RsaKeyPair::from_pkcs8(der_bytes)
                .map_err(|e| Error::key(what, format!("RSA key rejected: {e}")))?;
            return Ok(PrivateKey {
                material: Material::Rsa(kp),
            });
        }
        if info.algorithm.oid == ec {
            let curve_oid = info
                .algorithm
                .parameters_oid()
                .map_err(|_| Error::key(what, "EC key without a named curve"))?;
            let curve = Curve::from_oid(&curve_oid).ok_or_else(|| {
                Error::key(
                    what,
                    format!("unsupported curve {curve_oid} (P-256 and P-384 are)"),
                )
            })?;
            return Self::from_sec1_inner(info.private_key, Some(curve), what);
        }
        Err(Error::key(
            what,
            format!(
                "unsupported key algorithm {} (RSA and ECDSA are)",
                info.algorithm.oid
            ),
        ))
    }

    fn from_pkcs1(der_bytes: &[u8], what: &str) -> Result<Self, Error> {
        let kp = RsaKeyPair::from_der(der_bytes)
            .map_err(|e| Error::key(what, format!("RSA key rejected: {e}")))?;
        Ok(PrivateKey {
            material: Material::Rsa(kp),
        })
    }

    fn from_sec1(der_bytes: &[u8], what: &str) -> Result<Self, Error> {
        Self::from_sec1_inner(der_bytes, None, what)
    }

    fn from_sec1_inner(der_bytes: &[u8], curve: Option<Curve>, what: &str) -> Result<Self, Error> {
        let k = sec1::EcPrivateKey::from_der(der_bytes)
            .map_err(|e| Error::key(what, format!("EC private key: {e}")))?;
        let curve = match (curve, k.parameters.and_then(|p| p.named_curve())) {
            (Some(c), _) => c,
            (None, Some(oid)) => Curve::from_oid(&oid).ok_or_else(|| {
                Error::key(
                    what,
                    format!("unsupported curve {oid} (P-256 and P-384 are)"),
                )
            })?,
            (None, None) => return Err(Error::key(what, "EC key without a named curve")),
        };
        let public = k
            .public_key
            .ok_or_else(|| Error::key(what, "EC private key does not carry its public key"))?
            .to_vec();
        let key = PrivateKey {
            material: Material::Ec {
                curve,
                private: k.private_key.to_vec(),
                public,
            },
        };
        // Check the pair now, so that a broken key fails at load time.
        let alg = match curve {
            Curve::P256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            Curve::P384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        };
        if let Material::Ec {
            private, public, ..
        } = &key.material
        {
            EcdsaKeyPair::from_private_key_and_public_key(
                alg,
                private,
                public,
                &ring::rand::SystemRandom::new(),
            )
            .map_err(|e| Error::key(what, format!("EC key rejected: {e}")))?;
        }
        Ok(key)
    }

    pub fn algo(&self) -> KeyAlgo {
        match &self.material {
            Material::Rsa(kp) => KeyAlgo::Rsa {
                bits: kp.public().modulus_len() * 8,
            },
            Material::Ec { curve, .. } => KeyAlgo::Ec(*curve),
            Material::Pkcs11(k) => k.algo(),
        }
    }

    /// The bytes inside the SubjectPublicKeyInfo BIT STRING of the matching certificate:
    /// DER RSAPublicKey, or the EC point.
    pub fn public_key_bits(&self) -> Vec<u8> {
        match &self.material {
            Material::Rsa(kp) => kp.public_key().as_ref().to_vec(),
            Material::Ec { public, .. } => public.clone(),
            Material::Pkcs11(k) => k.public_key_bits().to_vec(),
        }
    }

    /// A signer for `hash`; fails when ring cannot sign that combination.
    pub fn signer(&self, hash: HashAlgo) -> Result<Signer<'_>, Error> {
        let rng = ring::rand::SystemRandom::new();
        match &self.material {
            Material::Rsa(kp) => {
                let pad: &'static dyn signature::RsaEncoding = match hash {
                    HashAlgo::Sha256 => &signature::RSA_PKCS1_SHA256,
                    HashAlgo::Sha384 => &signature::RSA_PKCS1_SHA384,
                    HashAlgo::Sha512 => &signature::RSA_PKCS1_SHA512,
                    _ => {
                        return Err(Error::Unsupported(format!(
                            "RSA signing with {hash} is not supported (sha256, sha384, sha512 are)"
                        )))
                    }
                };
                Ok(Signer {
                    inner: SignerInner::Rsa(kp, pad),
                    rng,
                    hash,
                })
            }
            Material::Ec {
                curve,
                private,
                public,
            } => {
                let alg = curve.signing_alg(hash).ok_or_else(|| {
                    Error::Unsupported(format!(
                        "ECDSA {} signing with {hash} is not supported (P-256 signs with sha256, P-384 with sha384)",
                        curve.name()
                    ))
                })?;
                let kp = EcdsaKeyPair::from_private_key_and_public_key(alg, private, public, &rng)
                    .map_err(|e| Error::Sign(format!("EC key rejected: {e}")))?;
                Ok(Signer {
                    inner: SignerInner::Ec(Box::new(kp)),
                    rng,
                    hash,
                })
            }
            // The token signs (PKCS#1 v1.5 over the DigestInfo, or ECDSA over the digest)
            // with any of the kernel's hashes.
            Material::Pkcs11(k) => Ok(Signer {
                inner: SignerInner::Pkcs11(k),
                rng,
                hash,
            }),
        }
    }
}

enum SignerInner<'a> {
    Rsa(&'a RsaKeyPair, &'static dyn signature::RsaEncoding),
    Ec(Box<EcdsaKeyPair>),
    Pkcs11(&'a crate::pkcs11::Pkcs11Key),
}

/// A key bound to a hash algorithm: signs messages (ring hashes them).
pub struct Signer<'a> {
    inner: SignerInner<'a>,
    rng: ring::rand::SystemRandom,
    hash: HashAlgo,
}

impl Signer<'_> {
    pub fn hash(&self) -> HashAlgo {
        self.hash
    }

    /// Whether the key is RSA (the PKCS#7 then names rsaEncryption, else ecdsa-with-*).
    pub fn is_rsa(&self) -> bool {
        match &self.inner {
            SignerInner::Rsa(..) => true,
            SignerInner::Ec(..) => false,
            SignerInner::Pkcs11(k) => matches!(k.algo(), KeyAlgo::Rsa { .. }),
        }
    }

    /// Sign `msg`: PKCS#1 v1.5 (deterministic) or DER-encoded ECDSA (randomized).
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, Error> {
        match &self.inner {
            SignerInner::Rsa(kp, pad) => {
                let mut sig = vec![0u8; kp.public().modulus_len()];
                kp.sign(*pad, &self.rng, msg, &mut sig)
                    .map_err(|e| Error::Sign(format!("RSA: {e}")))?;
                Ok(sig)
            }
            SignerInner::Ec(kp) => kp
                .sign(&self.rng, msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|e| Error::Sign(format!("ECDSA: {e}"))),
            SignerInner::Pkcs11(k) => k.sign(self.hash, msg),
        }
    }
}
