//! A new private key and a self-signed X.509 v3 certificate fit for module signing, with the
//! extensions the kernel's own `certs/default_x509.genkey` asks for and that shim's MOK tools
//! expect: `basicConstraints` critical CA:FALSE, `keyUsage` digitalSignature, subject and
//! authority key identifiers (SHA-1 of the public key, RFC 5280 §4.2.1.2 method 1), and the
//! code-signing extended key usage.
//!
//! RSA keys are generated with the `rsa` crate (key generation only: see the crate docs);
//! EC keys and every signature are ring's.

use crate::{Cert, Curve, Error};
use der::asn1::{Any, BitString, OctetString, SetOfVec};
use der::{Encode, Tag};
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::{RdnSequence, RelativeDistinguishedName};
use x509_cert::time::{Time, Validity};

/// Key types `keygen` makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeygenAlgo {
    Rsa(usize),
    Ec(Curve),
}

impl KeygenAlgo {
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "rsa2048" => KeygenAlgo::Rsa(2048),
            "rsa3072" => KeygenAlgo::Rsa(3072),
            "rsa4096" => KeygenAlgo::Rsa(4096),
            "p256" => KeygenAlgo::Ec(Curve::P256),
            "p384" => KeygenAlgo::Ec(Curve::P384),
            _ => return None,
        })
    }
}

/// A generated key (PKCS#8 DER) and its certificate (DER).
pub struct Generated {
    pub key_pkcs8: Vec<u8>,
    pub cert_der: Vec<u8>,
}

impl Generated {
    pub fn key_pem(&self) -> String {
        pem("PRIVATE KEY", &self.key_pkcs8)
    }
    pub fn cert_pem(&self) -> String {
        pem("CERTIFICATE", &self.cert_der)
    }
}

fn pem(label: &str, der_bytes: &[u8]) -> String {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der_bytes)
        .expect("PEM encoding of in-memory bytes cannot fail")
}

fn oid(s: &str) -> der::oid::ObjectIdentifier {
    der::oid::ObjectIdentifier::new_unwrap(s)
}

fn time(t: std::time::SystemTime) -> Result<Time, Error> {
    let dt = der::DateTime::from_system_time(t)?;
    // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
    Ok(if dt.year() < 2050 {
        Time::UtcTime(der::asn1::UtcTime::from_date_time(dt)?)
    } else {
        Time::GeneralTime(der::asn1::GeneralizedTime::from_date_time(dt))
    })
}

fn ext(id: &str, critical: bool, value: &impl Encode) -> Result<Extension, Error> {
    Ok(Extension {
        extn_id: oid(id),
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// Generate a key and a self-signed certificate with subject `CN=<cn>`, valid from now for
/// `days` days.
pub fn generate(algo: KeygenAlgo, cn: &str, days: u32) -> Result<Generated, Error> {
    let rng = ring::rand::SystemRandom::new();
    let key_pkcs8 = match algo {
        KeygenAlgo::Rsa(bits) => {
            use pkcs8::EncodePrivateKey;
            let k = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits)
                .map_err(|e| Error::Sign(format!("RSA key generation: {e}")))?;
            k.to_pkcs8_der()
                .map_err(|e| Error::Sign(format!("RSA key encoding: {e}")))?
                .as_bytes()
                .to_vec()
        }
        KeygenAlgo::Ec(curve) => {
            let alg = match curve {
                Curve::P256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                Curve::P384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
            };
            EcdsaKeyPair::generate_pkcs8(alg, &rng)
                .map_err(|e| Error::Sign(format!("EC key generation: {e}")))?
                .as_ref()
                .to_vec()
        }
    };

    // Public key, signature algorithm and signing function for the key type.
    let (spki, sig_alg, rsa_kp, ec_kp) = match algo {
        KeygenAlgo::Rsa(_) => {
            let kp = RsaKeyPair::from_pkcs8(&key_pkcs8)
                .map_err(|e| Error::Sign(format!("generated RSA key rejected: {e}")))?;
            let spki = SubjectPublicKeyInfoOwned {
                algorithm: AlgorithmIdentifierOwned {
                    oid: oid("1.2.840.113549.1.1.1"),
                    parameters: Some(Any::null()),
                },
                subject_public_key: BitString::from_bytes(kp.public_key().as_ref())?,
            };
            let alg = AlgorithmIdentifierOwned {
                oid: oid("1.2.840.113549.1.1.11"),
                parameters: Some(Any::null()),
            };
            (spki, alg, Some(kp), None)
        }
        KeygenAlgo::Ec(curve) => {
            let (alg, sig_oid) = match curve {
                Curve::P256 => (
                    &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                    "1.2.840.10045.4.3.2",
                ),
                Curve::P384 => (
                    &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                    "1.2.840.10045.4.3.3",
                ),
            };
            let kp = EcdsaKeyPair::from_pkcs8(alg, &key_pkcs8, &rng)
                .map_err(|e| Error::Sign(format!("generated EC key rejected: {e}")))?;
            let spki = SubjectPublicKeyInfoOwned {
                algorithm: AlgorithmIdentifierOwned {
                    oid: oid("1.2.840.10045.2.1"),
                    parameters: Some(Any::encode_from(&curve.oid())?),
                },
                subject_public_key: BitString::from_bytes(kp.public_key().as_ref())?,
            };
            let alg = AlgorithmIdentifierOwned {
                oid: oid(sig_oid),
                parameters: None,
            };
            (spki, alg, None, Some(kp))
        }
    };

    let key_id = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        spki.subject_public_key.raw_bytes(),
    );
    let key_id = OctetString::new(key_id.as_ref())?;

    let mut serial = [0u8; 16];
    ring::rand::SecureRandom::fill(&rng, &mut serial)
        .map_err(|_| Error::Sign("no randomness for the serial number".into()))?;
    serial[0] &= 0x7f;
    serial[0] |= 0x40; // positive and without a leading zero byte

    let name = RdnSequence(vec![RelativeDistinguishedName(SetOfVec::try_from(vec![
        x509_cert::attr::AttributeTypeAndValue {
            oid: oid("2.5.4.3"),
            value: Any::new(Tag::Utf8String, cn.as_bytes())?,
        },
    ])?)]);
    let now = std::time::SystemTime::now();
    let validity = Validity {
        not_before: time(now)?,
        not_after: time(now + std::time::Duration::from_secs(u64::from(days) * 86400))?,
    };
    let extensions = vec![
        ext(
            "2.5.29.19",
            true,
            &BasicConstraints {
                ca: false,
                path_len_constraint: None,
            },
        )?,
        ext(
            "2.5.29.15",
            false,
            &KeyUsage(KeyUsages::DigitalSignature.into()),
        )?,
        ext("2.5.29.14", false, &SubjectKeyIdentifier(key_id.clone()))?,
        ext(
            "2.5.29.35",
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(key_id),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?,
        ext(
            "2.5.29.37",
            false,
            &ExtendedKeyUsage(vec![oid("1.3.6.1.5.5.7.3.3")]),
        )?,
    ];
    let tbs = x509_cert::TbsCertificate {
        version: x509_cert::Version::V3,
        serial_number: x509_cert::serial_number::SerialNumber::new(&serial)?,
        signature: sig_alg.clone(),
        issuer: name.clone(),
        validity,
        subject: name,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    let tbs_der = tbs.to_der()?;
    let sig = if let Some(kp) = &rsa_kp {
        let mut sig = vec![0u8; kp.public().modulus_len()];
        kp.sign(&signature::RSA_PKCS1_SHA256, &rng, &tbs_der, &mut sig)
            .map_err(|e| Error::Sign(format!("RSA: {e}")))?;
        sig
    } else if let Some(kp) = &ec_kp {
        kp.sign(&rng, &tbs_der)
            .map_err(|e| Error::Sign(format!("ECDSA: {e}")))?
            .as_ref()
            .to_vec()
    } else {
        unreachable!("one key pair was made above")
    };
    let cert = x509_cert::Certificate {
        tbs_certificate: tbs,
        signature_algorithm: sig_alg,
        signature: BitString::from_bytes(&sig)?,
    };
    let cert_der = cert.to_der()?;
    // Round trip through our own reader as a self-check.
    Cert::from_der(&cert_der)?;
    Ok(Generated {
        key_pkcs8,
        cert_der,
    })
}
