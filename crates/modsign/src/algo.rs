//! Public-key algorithms (RSA of a size, ECDSA on a named curve): a leaf module that keys
//! ([`crate::key`]), certificates ([`crate::cert`]) and tokens ([`crate::pkcs11`]) all name,
//! so that none of them imports another for it.

use crate::HashAlgo;
use ring::signature;

/// An elliptic curve ring can sign with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
}

impl Curve {
    pub fn oid(self) -> der::oid::ObjectIdentifier {
        match self {
            Curve::P256 => der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7"),
            Curve::P384 => der::oid::ObjectIdentifier::new_unwrap("1.3.132.0.34"),
        }
    }
    pub fn from_oid(oid: &der::oid::ObjectIdentifier) -> Option<Self> {
        [Curve::P256, Curve::P384]
            .into_iter()
            .find(|c| c.oid() == *oid)
    }
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
        }
    }
    /// ring's signing algorithm for this curve and hash. ring signs ECDSA only with the
    /// hash that matches the curve's strength.
    pub(crate) fn signing_alg(
        self,
        hash: HashAlgo,
    ) -> Option<&'static signature::EcdsaSigningAlgorithm> {
        match (self, hash) {
            (Curve::P256, HashAlgo::Sha256) => Some(&signature::ECDSA_P256_SHA256_ASN1_SIGNING),
            (Curve::P384, HashAlgo::Sha384) => Some(&signature::ECDSA_P384_SHA384_ASN1_SIGNING),
            _ => None,
        }
    }
}

/// The public-key algorithm of a key or certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgo {
    Rsa { bits: usize },
    Ec(Curve),
}

impl std::fmt::Display for KeyAlgo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyAlgo::Rsa { bits } => write!(f, "RSA-{bits}"),
            KeyAlgo::Ec(c) => write!(f, "ECDSA {}", c.name()),
        }
    }
}
