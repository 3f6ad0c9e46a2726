//! X.509 certificates: reading (PEM, DER, several in one file), the facts `certs` shows, and
//! the public key operation a module signature needs (verification, through ring).

use crate::algo::{Curve, KeyAlgo};
pub use crate::hex::hex;
use crate::{Error, HashAlgo};
use der::{Decode, Encode};
use sha2::Digest;
use x509_cert::Certificate;

/// A parsed certificate with its original DER bytes.
#[derive(Clone, Debug)]
pub struct Cert {
    der: Vec<u8>,
    cert: Certificate,
    issuer_der: Vec<u8>,
    skid: Option<Vec<u8>>,
}

const SKID_OID: der::oid::ObjectIdentifier = der::oid::ObjectIdentifier::new_unwrap("2.5.29.14");

impl Cert {
    /// One DER certificate; bytes after it are an error.
    pub fn from_der(der_bytes: &[u8]) -> Result<Self, der::Error> {
        let cert = Certificate::from_der(der_bytes)?;
        let issuer_der = cert.tbs_certificate.issuer.to_der()?;
        let skid = cert
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == SKID_OID)
            .and_then(|e| der::asn1::OctetString::from_der(e.extn_value.as_bytes()).ok())
            .map(|o| o.as_bytes().to_vec());
        Ok(Cert {
            der: der_bytes.to_vec(),
            cert,
            issuer_der,
            skid,
        })
    }

    /// Every certificate in a file: PEM (any number of `CERTIFICATE` blocks) or one DER.
    pub fn parse_file(bytes: &[u8], what: &str) -> Result<Vec<Cert>, Error> {
        if let Some(text) = pem_text(bytes) {
            let mut out = Vec::new();
            let mut rest = text;
            while let Some(i) = rest.find("-----BEGIN ") {
                let block = &rest[i..];
                let Some(e) = block.find("-----END ") else {
                    return Err(Error::cert(what, "PEM block without an END line"));
                };
                let end = block[e..]
                    .find('\n')
                    .map(|n| e + n + 1)
                    .unwrap_or(block.len());
                let (label, doc) = der::pem::decode_vec(&block.as_bytes()[..end])
                    .map_err(|err| Error::cert(what, format!("malformed PEM: {err}")))?;
                if label == "CERTIFICATE" || label == "X509 CERTIFICATE" {
                    out.push(
                        Cert::from_der(&doc)
                            .map_err(|err| Error::cert(what, format!("certificate: {err}")))?,
                    );
                }
                rest = &block[end..];
            }
            if out.is_empty() {
                return Err(Error::cert(what, "no CERTIFICATE block in PEM file"));
            }
            return Ok(out);
        }
        Cert::from_der(bytes)
            .map(|c| vec![c])
            .map_err(|e| Error::cert(what, format!("not a DER or PEM X.509 certificate: {e}")))
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }
    pub fn x509(&self) -> &Certificate {
        &self.cert
    }
    /// The issuer Name, DER, as the signer's IssuerAndSerialNumber repeats it.
    pub fn issuer_der(&self) -> &[u8] {
        &self.issuer_der
    }
    /// The serial number's content octets (two's complement, as encoded).
    pub fn serial(&self) -> &[u8] {
        self.cert.tbs_certificate.serial_number.as_bytes()
    }
    pub fn skid(&self) -> Option<&[u8]> {
        self.skid.as_deref()
    }
    pub fn subject(&self) -> String {
        self.cert.tbs_certificate.subject.to_string()
    }
    pub fn issuer(&self) -> String {
        self.cert.tbs_certificate.issuer.to_string()
    }
    /// The subject's commonName, or the whole subject when there is none.
    pub fn common_name(&self) -> String {
        let cn = der::oid::ObjectIdentifier::new_unwrap("2.5.4.3");
        for rdn in self.cert.tbs_certificate.subject.0.iter() {
            for atv in rdn.0.iter() {
                if atv.oid == cn {
                    return String::from_utf8_lossy(atv.value.value()).into_owned();
                }
            }
        }
        self.subject()
    }
    /// How the kernel names a key in its log: `CN: hex(skid or serial)`.
    pub fn kernel_description(&self) -> String {
        let id = self.skid().unwrap_or(self.serial());
        format!("{}: {}", self.common_name(), hex(id))
    }
    pub fn not_before(&self) -> String {
        self.cert.tbs_certificate.validity.not_before.to_string()
    }
    pub fn not_after(&self) -> String {
        self.cert.tbs_certificate.validity.not_after.to_string()
    }
    pub fn fingerprint_sha256(&self) -> [u8; 32] {
        sha2::Sha256::digest(&self.der).into()
    }
    /// Why this certificate is a poor choice to sign with at `now`, if it is: outside its
    /// validity period, or a keyUsage without digitalSignature. (The kernel checks neither;
    /// `kmodkit sign` refuses such certificates unless forced, `sign-file` signs as the
    /// original does.)
    pub fn signing_problem(&self, now: std::time::SystemTime) -> Option<String> {
        let v = &self.cert.tbs_certificate.validity;
        if now > v.not_after.to_system_time() {
            return Some(format!("certificate expired on {}", v.not_after));
        }
        if now < v.not_before.to_system_time() {
            return Some(format!("certificate is not valid before {}", v.not_before));
        }
        let ku = self.extension(const_oid::ObjectIdentifier::new_unwrap("2.5.29.15"))?;
        let ku = x509_cert::ext::pkix::KeyUsage::from_der(ku).ok()?;
        (!ku.digital_signature())
            .then(|| "certificate's keyUsage does not allow digitalSignature".to_string())
    }

    /// Whether basicConstraints says CA:TRUE.
    pub fn is_ca(&self) -> bool {
        self.extension(const_oid::ObjectIdentifier::new_unwrap("2.5.29.19"))
            .and_then(|b| x509_cert::ext::pkix::BasicConstraints::from_der(b).ok())
            .is_some_and(|b| b.ca)
    }

    fn extension(&self, oid: der::oid::ObjectIdentifier) -> Option<&[u8]> {
        self.cert
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == oid)
            .map(|e| e.extn_value.as_bytes())
    }

    /// The bytes inside the SubjectPublicKeyInfo BIT STRING.
    pub fn public_key_bits(&self) -> &[u8] {
        self.cert
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes()
    }

    /// The public-key algorithm, or why it is one this crate does not handle.
    pub fn key_algo(&self) -> Result<KeyAlgo, AlgoError> {
        let spki = &self.cert.tbs_certificate.subject_public_key_info;
        let oid = spki.algorithm.oid;
        if oid == der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1") {
            let k =
                pkcs1::RsaPublicKey::from_der(self.public_key_bits()).map_err(AlgoError::RsaKey)?;
            let m = k.modulus.as_bytes();
            let lead = m.iter().position(|&b| b != 0).unwrap_or(m.len());
            let bits = m[lead..]
                .first()
                .map(|b| (m.len() - lead) * 8 - b.leading_zeros() as usize)
                .unwrap_or(0);
            return Ok(KeyAlgo::Rsa { bits });
        }
        if oid == der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1") {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<der::oid::ObjectIdentifier>().ok())
                .ok_or(AlgoError::NoCurve)?;
            return Curve::from_oid(&curve)
                .map(KeyAlgo::Ec)
                .ok_or(AlgoError::Curve(curve));
        }
        Err(AlgoError::Algorithm(oid))
    }

    /// Check `signature` over `message` with this certificate's key and `hash`.
    pub fn verify(
        &self,
        hash: HashAlgo,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), VerifyFailure> {
        use ring::signature as s;
        let algo = self
            .key_algo()
            .map_err(|e| VerifyFailure::Unsupported(e.to_string()))?;
        let alg: &'static dyn s::VerificationAlgorithm = match (algo, hash) {
            (KeyAlgo::Rsa { bits }, HashAlgo::Sha1) if bits >= 1024 => {
                &s::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY
            }
            (KeyAlgo::Rsa { bits }, HashAlgo::Sha256) if bits < 2048 => {
                &s::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY
            }
            (KeyAlgo::Rsa { bits }, HashAlgo::Sha512) if bits < 2048 => {
                &s::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY
            }
            (KeyAlgo::Rsa { .. }, HashAlgo::Sha256) => &s::RSA_PKCS1_2048_8192_SHA256,
            (KeyAlgo::Rsa { .. }, HashAlgo::Sha384) => &s::RSA_PKCS1_2048_8192_SHA384,
            (KeyAlgo::Rsa { .. }, HashAlgo::Sha512) => &s::RSA_PKCS1_2048_8192_SHA512,
            (KeyAlgo::Ec(Curve::P256), HashAlgo::Sha256) => &s::ECDSA_P256_SHA256_ASN1,
            (KeyAlgo::Ec(Curve::P256), HashAlgo::Sha384) => &s::ECDSA_P256_SHA384_ASN1,
            (KeyAlgo::Ec(Curve::P384), HashAlgo::Sha256) => &s::ECDSA_P384_SHA256_ASN1,
            (KeyAlgo::Ec(Curve::P384), HashAlgo::Sha384) => &s::ECDSA_P384_SHA384_ASN1,
            (a, h) => {
                return Err(VerifyFailure::Unsupported(format!(
                    "{a} with {h} is not supported"
                )))
            }
        };
        s::UnparsedPublicKey::new(alg, self.public_key_bits())
            .verify(message, signature)
            .map_err(|_| VerifyFailure::Bad)
    }
}

/// Why a certificate's public key is not one this crate handles.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AlgoError {
    #[error("RSA public key: {0}")]
    RsaKey(der::Error),
    #[error("EC key without a named curve")]
    NoCurve,
    #[error("unsupported curve {0}")]
    Curve(der::oid::ObjectIdentifier),
    #[error("unsupported public key algorithm {0}")]
    Algorithm(der::oid::ObjectIdentifier),
}

/// Why [`Cert::verify`] failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyFailure {
    Unsupported(String),
    Bad,
}

fn pem_text(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    text.contains("-----BEGIN ").then_some(text)
}
