//! The signature appended to a module, and what modinfo shows of it.
//!
//! Layout (include/linux/module_signature.h):
//! `[ELF][signer][key id][signature][struct module_signature, 12 bytes][SIG_MAGIC, 28 bytes]`.
//! For PKCS#7 signatures (`id_type` 2, all current kernels) `signer` and `key id` are empty and
//! `signature` is a DER SignedData whose first SignerInfo names the key (issuer and serial)
//! and carries the hash algorithm and the signature bytes.

use crate::Error;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use der::{Decode, SliceReader};

/// The trailer every signed module ends with.
pub const SIG_MAGIC: &[u8; 28] = b"~Module signature appended~\n";

/// Size of `struct module_signature`.
pub const MODSIG_SIZE: usize = 12;

/// `enum pkey_id_type`: how the key is identified.
pub const ID_TYPES: [&str; 3] = ["PGP", "X509", "PKCS#7"];
/// `enum pkey_algo`, as kmod knows it.
pub const ALGOS: [&str; 2] = ["DSA", "RSA"];
/// `enum pkey_hash_algo`, as kmod knows it.
pub const HASH_ALGOS: [&str; 9] = [
    "md4", "md5", "sha1", "rmd160", "sha256", "sha384", "sha512", "sha224", "sm3",
];

/// An appended signature: the `struct module_signature` fields and the pieces they frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleSignature<'a> {
    pub algo: u8,
    pub hash: u8,
    pub id_type: u8,
    /// Signer name (empty for PKCS#7).
    pub signer: &'a [u8],
    /// Key identifier (empty for PKCS#7).
    pub key_id: &'a [u8],
    /// The signature: for PKCS#7 the DER SignedData.
    pub sig: &'a [u8],
    /// Length of the signed content: the module without everything appended.
    pub content_len: usize,
}

/// What kmod's modinfo prints about a signature (`sig_id`, `signer`, `sig_key`,
/// `sig_hashalgo`, `signature`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureInfo {
    pub id_type: &'static str,
    pub signer: Vec<u8>,
    pub key_id: Vec<u8>,
    pub hash_algo: &'static str,
    pub signature: Vec<u8>,
}

impl<'a> ModuleSignature<'a> {
    /// Find the appended signature. `Ok(None)`: no trailer magic (the module is unsigned).
    /// `Err`: the magic is there but the structure before it cannot be right.
    pub fn find(data: &'a [u8]) -> Result<Option<Self>, Error> {
        let Some(body_len) = data.len().checked_sub(SIG_MAGIC.len()) else {
            return Ok(None);
        };
        if &data[body_len..] != SIG_MAGIC {
            return Ok(None);
        }
        let Some(ms) = body_len.checked_sub(MODSIG_SIZE) else {
            return Err(Error::truncated(
                "struct module_signature",
                0,
                MODSIG_SIZE as u64,
                body_len,
            ));
        };
        let m = &data[ms..body_len];
        let (algo, hash, id_type, signer_len, key_id_len) =
            (m[0], m[1], m[2], m[3] as usize, m[4] as usize);
        let sig_len = u32::from_be_bytes([m[8], m[9], m[10], m[11]]) as usize;
        let framed = signer_len + key_id_len + sig_len;
        if sig_len == 0 {
            return Err(Error::malformed(
                "struct module_signature",
                ms as u64,
                "signature length is 0",
            ));
        }
        if framed > ms {
            return Err(Error::malformed(
                "struct module_signature",
                ms as u64,
                format!(
                    "signer ({signer_len}) + key id ({key_id_len}) + signature ({sig_len}) = {framed} bytes, \
                     but only {ms} bytes precede the trailer"
                ),
            ));
        }
        let sig_start = ms - sig_len;
        let key_start = sig_start - key_id_len;
        let content_len = key_start - signer_len;
        Ok(Some(ModuleSignature {
            algo,
            hash,
            id_type,
            signer: &data[content_len..key_start],
            key_id: &data[key_start..sig_start],
            sig: &data[sig_start..ms],
            content_len,
        }))
    }

    /// The fields modinfo prints, decided as kmod 30 (built with OpenSSL) decides them:
    /// `None` where kmod prints no signature fields at all (unknown algorithm, hash or id
    /// type numbers; a PKCS#7 blob OpenSSL's PKCS7 parser would not accept or that names its
    /// key by subject key identifier).
    pub fn info(&self) -> Option<SignatureInfo> {
        let id_type = *ID_TYPES.get(self.id_type as usize)?;
        ALGOS.get(self.algo as usize)?;
        let hash_algo = *HASH_ALGOS.get(self.hash as usize)?;
        if self.id_type != 2 {
            return Some(SignatureInfo {
                id_type,
                signer: self.signer.to_vec(),
                key_id: self.key_id.to_vec(),
                hash_algo,
                signature: self.sig.to_vec(),
            });
        }
        let p = Pkcs7Signer::parse(self.sig).ok()?;
        Some(SignatureInfo {
            id_type,
            signer: p.issuer_cn.unwrap_or_default(),
            key_id: p.serial_magnitude,
            hash_algo: hash_name(&p.digest_oid).unwrap_or("unknown"),
            signature: p.signature,
        })
    }
}

/// The name kmod gives a digest algorithm OID.
pub fn hash_name(oid: &der::oid::ObjectIdentifier) -> Option<&'static str> {
    Some(match oid.to_string().as_str() {
        "1.2.840.113549.2.4" => "md4",
        "1.2.840.113549.2.5" => "md5",
        "1.3.14.3.2.26" => "sha1",
        "1.3.36.3.2.1" => "rmd160",
        "2.16.840.1.101.3.4.2.1" => "sha256",
        "2.16.840.1.101.3.4.2.2" => "sha384",
        "2.16.840.1.101.3.4.2.3" => "sha512",
        "2.16.840.1.101.3.4.2.4" => "sha224",
        "1.2.156.10197.1.401" => "sm3",
        _ => return None,
    })
}

/// The first SignerInfo of a PKCS#7 SignedData, as modinfo needs it.
#[derive(Clone, Debug)]
pub struct Pkcs7Signer {
    /// The first commonName of the issuer (or, as OpenSSL's lookup loop leaves it, the last
    /// attribute of a name that has no commonName); bytes up to the first NUL.
    pub issuer_cn: Option<Vec<u8>>,
    /// The serial number's magnitude, big-endian, without leading zero bytes.
    pub serial_magnitude: Vec<u8>,
    pub digest_oid: der::oid::ObjectIdentifier,
    pub signature: Vec<u8>,
}

impl Pkcs7Signer {
    /// Parse DER `ContentInfo { signedData }` (trailing bytes after it are ignored).
    pub fn parse(der_bytes: &[u8]) -> Result<Self, der::Error> {
        let mut reader = SliceReader::new(der_bytes)?;
        let ci = ContentInfo::decode(&mut reader)?;
        let sd: SignedData = ci.content.decode_as()?;
        let si = sd
            .signer_infos
            .0
            .get(0)
            .ok_or_else(|| der::Error::from(der::ErrorKind::Failed))?;
        let SignerIdentifier::IssuerAndSerialNumber(ias) = &si.sid else {
            return Err(der::ErrorKind::Failed.into());
        };
        let cn_oid = der::oid::ObjectIdentifier::new_unwrap("2.5.4.3");
        let mut last = None;
        let mut cn = None;
        for atv in ias.issuer.0.iter().flat_map(|rdn| rdn.0.iter()) {
            let bytes = atv.value.value();
            let bytes = &bytes[..bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len())];
            if atv.oid == cn_oid {
                cn = Some(bytes.to_vec());
                break;
            }
            last = Some(bytes.to_vec());
        }
        Ok(Pkcs7Signer {
            issuer_cn: cn.or(last),
            serial_magnitude: magnitude(ias.serial_number.as_bytes()),
            digest_oid: si.digest_alg.oid,
            signature: si.signature.as_bytes().to_vec(),
        })
    }
}

/// The magnitude of a two's-complement big-endian integer, without leading zeros.
fn magnitude(bytes: &[u8]) -> Vec<u8> {
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        // Negative: magnitude = two's complement.
        let mut v: Vec<u8> = bytes.iter().map(|b| !b).collect();
        for b in v.iter_mut().rev() {
            let (n, carry) = b.overflowing_add(1);
            *b = n;
            if !carry {
                break;
            }
        }
        let start = v.iter().position(|&b| b != 0).unwrap_or(v.len());
        return v[start..].to_vec();
    }
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes[start..].to_vec()
}
