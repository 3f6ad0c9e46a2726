//! The PKCS#7 (CMS) SignedData of a module signature, written byte for byte as the kernel's
//! `scripts/sign-file` (OpenSSL's `CMS_sign` with `CMS_NOCERTS | CMS_BINARY | CMS_DETACHED`,
//! `CMS_add1_signer` with `CMS_NOATTR`) writes it, and read back the way the kernel's
//! `crypto/asymmetric_keys/pkcs7_parser.c` reads it.
//!
//! What sign-file's output is, field by field (checked against its bytes):
//! `ContentInfo { signedData, [0] SignedData { version 1 (3 with a key id), digestAlgorithms
//! { {hash OID, no parameters} }, encapContentInfo { id-data } (detached: no content), no
//! certificates, signerInfos { { version 1 (3), sid = issuerAndSerialNumber (the
//! certificate's issuer Name and serial, copied) or [0] subjectKeyIdentifier, digestAlgorithm
//! as above, no signed attributes (the kernel rejects modules signed with them),
//! signatureAlgorithm = rsaEncryption with NULL parameters for RSA, ecdsa-with-SHAxxx without
//! parameters for EC, signature OCTET STRING } } } }`.
//!
//! RustCrypto's `cms::builder::SignerInfoBuilder` always adds signed attributes, so the
//! SignerInfo is assembled here from `cms`'s types directly.

use crate::{Cert, Error, HashAlgo};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{Any, OctetString, SetOfVec};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;

const ID_DATA: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_SIGNED_DATA: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const RSA_ENCRYPTION: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// How the SignerInfo names the signing certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SignerId {
    /// issuerAndSerialNumber (sign-file's default).
    #[default]
    IssuerSerial,
    /// subjectKeyIdentifier (sign-file `-k`).
    KeyId,
}

/// Build the DER SignedData for a raw `signature` over the module made with `hash` by the
/// key of `cert` (`rsa`: RSA PKCS#1 v1.5, else ECDSA).
pub fn build(
    cert: &Cert,
    hash: HashAlgo,
    rsa: bool,
    signature: Vec<u8>,
    id: SignerId,
) -> Result<Vec<u8>, Error> {
    let digest_alg = AlgorithmIdentifierOwned {
        oid: hash.oid(),
        parameters: None,
    };
    let signature_algorithm = if rsa {
        AlgorithmIdentifierOwned {
            oid: RSA_ENCRYPTION,
            parameters: Some(Any::null()),
        }
    } else {
        AlgorithmIdentifierOwned {
            oid: hash.ecdsa_oid(),
            parameters: None,
        }
    };
    let (version, sid) = match id {
        SignerId::IssuerSerial => (
            CmsVersion::V1,
            SignerIdentifier::IssuerAndSerialNumber(cms::cert::IssuerAndSerialNumber {
                issuer: cert.x509().tbs_certificate.issuer.clone(),
                serial_number: cert.x509().tbs_certificate.serial_number.clone(),
            }),
        ),
        SignerId::KeyId => {
            let skid = cert.skid().ok_or_else(|| Error::NoSkid {
                cert: cert.subject(),
            })?;
            (
                CmsVersion::V3,
                SignerIdentifier::SubjectKeyIdentifier(x509_cert::ext::pkix::SubjectKeyIdentifier(
                    OctetString::new(skid)?,
                )),
            )
        }
    };
    let si = SignerInfo {
        version,
        sid,
        digest_alg: digest_alg.clone(),
        signed_attrs: None,
        signature_algorithm,
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    };
    let sd = SignedData {
        version,
        digest_algorithms: SetOfVec::try_from(vec![digest_alg])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: None,
        },
        certificates: None,
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![si])?),
    };
    let ci = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&sd)?,
    };
    Ok(ci.to_der()?)
}

/// Why a module signature is not a well-formed SignedData.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("{0}")]
    Der(#[from] der::Error),
    #[error("content type {0} is not signedData")]
    NotSignedData(der::oid::ObjectIdentifier),
    #[error("SignedData version {0} (1 or 3 expected)")]
    Version(String),
    #[error("digest algorithm {0} has parameters")]
    Parameters(der::oid::ObjectIdentifier),
    #[error("{0}")]
    SignerVersion(String),
    #[error("signer's digest algorithm {0} is not among SignedData's digestAlgorithms")]
    DigestNotListed(der::oid::ObjectIdentifier),
    #[error("SignerInfo algorithm parameters are neither absent nor NULL")]
    SignerParameters,
    #[error("SignerInfo has unsigned attributes")]
    UnsignedAttributes,
}

/// One signer of a parsed module signature.
#[derive(Clone, Debug)]
pub struct Signer {
    pub id: SignerKey,
    /// The digest algorithm, or its OID when it is not one the kernel knows.
    pub hash: Result<HashAlgo, der::oid::ObjectIdentifier>,
    pub signature_algorithm: der::oid::ObjectIdentifier,
    pub has_signed_attrs: bool,
    pub signature: Vec<u8>,
}

/// Which key a SignerInfo names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerKey {
    /// DER issuer Name and serial content octets.
    IssuerSerial {
        issuer: Vec<u8>,
        serial: Vec<u8>,
    },
    KeyId(Vec<u8>),
}

/// A parsed module signature message.
#[derive(Clone, Debug)]
pub struct Message {
    pub content_type: der::oid::ObjectIdentifier,
    pub detached: bool,
    pub signers: Vec<Signer>,
}

/// Parse a DER SignedData (the exact bytes; trailing bytes are an error, as for the kernel's
/// ASN.1 decoder). Beyond the structure, the kernel's version rules are applied (SignedData
/// and SignerInfo version 1 go with issuerAndSerialNumber, 3 with subjectKeyIdentifier), and
/// two checks the kernel leaves out, so that no single changed byte of a signature goes
/// unnoticed: the signer's digest algorithm must be among SignedData's digestAlgorithms, and
/// algorithm parameters must be absent or NULL.
pub fn parse(bytes: &[u8]) -> Result<Message, ParseError> {
    let ci = ContentInfo::from_der(bytes)?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(ParseError::NotSignedData(ci.content_type));
    }
    let sd: SignedData = ci.content.decode_as()?;
    let sd_version = sd.version;
    if !matches!(sd_version, CmsVersion::V1 | CmsVersion::V3) {
        return Err(ParseError::Version(format!("{sd_version:?}")));
    }
    let params_ok = |a: &AlgorithmIdentifierOwned| match a.parameters.as_ref() {
        None => true,
        Some(p) => der::Tagged::tag(p) == der::Tag::Null && p.value().is_empty(),
    };
    for a in sd.digest_algorithms.iter() {
        if !params_ok(a) {
            return Err(ParseError::Parameters(a.oid));
        }
    }
    let mut signers = Vec::new();
    for si in sd.signer_infos.0.iter() {
        let id = match (&si.sid, si.version, sd_version) {
            (SignerIdentifier::IssuerAndSerialNumber(ias), CmsVersion::V1, CmsVersion::V1) => {
                SignerKey::IssuerSerial {
                    issuer: ias.issuer.to_der()?,
                    serial: ias.serial_number.as_bytes().to_vec(),
                }
            }
            (SignerIdentifier::SubjectKeyIdentifier(k), CmsVersion::V3, CmsVersion::V3) => {
                SignerKey::KeyId(k.0.as_bytes().to_vec())
            }
            (_, v, sv) => {
                return Err(ParseError::SignerVersion(format!(
                    "SignerInfo version {v:?} does not fit its signer identifier or SignedData version {sv:?}"
                )))
            }
        };
        if !sd
            .digest_algorithms
            .iter()
            .any(|a| a.oid == si.digest_alg.oid)
        {
            return Err(ParseError::DigestNotListed(si.digest_alg.oid));
        }
        if !params_ok(&si.digest_alg) || !params_ok(&si.signature_algorithm) {
            return Err(ParseError::SignerParameters);
        }
        if si.unsigned_attrs.is_some() {
            return Err(ParseError::UnsignedAttributes);
        }
        signers.push(Signer {
            id,
            hash: HashAlgo::from_oid(&si.digest_alg.oid).ok_or(si.digest_alg.oid),
            signature_algorithm: si.signature_algorithm.oid,
            has_signed_attrs: si.signed_attrs.is_some(),
            signature: si.signature.as_bytes().to_vec(),
        });
    }
    Ok(Message {
        content_type: sd.encap_content_info.econtent_type,
        detached: sd.encap_content_info.econtent.is_none(),
        signers,
    })
}

/// Whether a signature algorithm OID names RSA (`Some(true)`) or ECDSA (`Some(false)`), as
/// the kernel's `pkcs7_sig_note_pkey_algo` accepts them: only `rsaEncryption` for RSA, and
/// `ecdsa-with-*`; anything else is ENOPKG.
pub(crate) fn sig_alg_is_rsa(oid: &der::oid::ObjectIdentifier) -> Option<bool> {
    if *oid == RSA_ENCRYPTION {
        return Some(true);
    }
    HashAlgo::ALL
        .iter()
        .any(|h| h.ecdsa_oid() == *oid)
        .then_some(false)
}
