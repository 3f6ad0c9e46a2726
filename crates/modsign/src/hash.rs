//! Digest algorithms a module signature may use, with the OIDs OpenSSL's CMS writes.

use const_oid::ObjectIdentifier;

const fn oid(s: &str) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(s)
}

/// A digest algorithm of `CONFIG_MODULE_SIG_HASH`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlgo {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlgo {
    pub const ALL: [HashAlgo; 5] = [
        HashAlgo::Sha1,
        HashAlgo::Sha224,
        HashAlgo::Sha256,
        HashAlgo::Sha384,
        HashAlgo::Sha512,
    ];

    /// By name as `EVP_get_digestbyname` knows it (`sha256`, `SHA256`, `SHA2-256`).
    pub fn from_name(name: &str) -> Option<Self> {
        let n = name.to_ascii_lowercase();
        Some(match n.as_str() {
            "sha1" | "sha-1" => HashAlgo::Sha1,
            "sha224" | "sha2-224" | "sha-224" => HashAlgo::Sha224,
            "sha256" | "sha2-256" | "sha-256" => HashAlgo::Sha256,
            "sha384" | "sha2-384" | "sha-384" => HashAlgo::Sha384,
            "sha512" | "sha2-512" | "sha-512" => HashAlgo::Sha512,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            HashAlgo::Sha1 => "sha1",
            HashAlgo::Sha224 => "sha224",
            HashAlgo::Sha256 => "sha256",
            HashAlgo::Sha384 => "sha384",
            HashAlgo::Sha512 => "sha512",
        }
    }

    /// The digest algorithm OID (written with absent parameters, as OpenSSL does).
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            HashAlgo::Sha1 => oid("1.3.14.3.2.26"),
            HashAlgo::Sha224 => oid("2.16.840.1.101.3.4.2.4"),
            HashAlgo::Sha256 => oid("2.16.840.1.101.3.4.2.1"),
            HashAlgo::Sha384 => oid("2.16.840.1.101.3.4.2.2"),
            HashAlgo::Sha512 => oid("2.16.840.1.101.3.4.2.3"),
        }
    }

    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        HashAlgo::ALL.into_iter().find(|h| h.oid() == *oid)
    }

    /// `ecdsa-with-SHAxxx`, the signature algorithm OpenSSL's CMS names for an EC key.
    pub fn ecdsa_oid(self) -> ObjectIdentifier {
        match self {
            HashAlgo::Sha1 => oid("1.2.840.10045.4.1"),
            HashAlgo::Sha224 => oid("1.2.840.10045.4.3.1"),
            HashAlgo::Sha256 => oid("1.2.840.10045.4.3.2"),
            HashAlgo::Sha384 => oid("1.2.840.10045.4.3.3"),
            HashAlgo::Sha512 => oid("1.2.840.10045.4.3.4"),
        }
    }
}

impl std::fmt::Display for HashAlgo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
