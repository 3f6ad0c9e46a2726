//! Private keys on a PKCS#11 token, named by an RFC 7512 `pkcs11:` URI, as sign-file takes
//! them (through OpenSSL's engine or provider). The token is reached through the `cryptoki`
//! crate, which loads the module library (`libsofthsm2.so`, a vendor's HSM library, ...).
//!
//! RSA keys sign with `CKM_RSA_PKCS` over the DER DigestInfo of the hash computed here: this
//! is PKCS#1 v1.5 exactly as a key file signs (deterministic, so the PKCS#7 is the same byte
//! for byte), it works with every token that can sign RSA at all, and the module's bytes
//! need not be sent to the token. EC keys (P-256, P-384) sign with `CKM_ECDSA` over the
//! digest; the token's raw `r || s` is DER-encoded as OpenSSL writes ECDSA signatures. Their
//! EC point is read from the public key object of the same id (or label). The PKCS#7 assembly is the file-key path's
//! ([`crate::pkcs7::build`] through [`crate::SigningKey`]).
//!
//! URI attributes understood (values percent-decoded): in the path `token`, `manufacturer`,
//! `serial`, `model`, `slot-id`, `object`, `id`, `type` (must be `private` when given),
//! `pin-value` (accepted in the path too, as libp11 does); in the query `pin-value`,
//! `pin-source` (`file:` path or a plain path, first line), `module-path`. Other standard
//! attributes (`library-*`, `slot-*`) are accepted and not used for matching. The PIN, in
//! order: the URI's, else `KBUILD_SIGN_PIN` (as sign-file), else none (no login).

use crate::algo::{Curve, KeyAlgo};
use crate::{Error, HashAlgo};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use der::Decode;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Debian's SoftHSM2 module, the default module library.
pub const DEFAULT_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// A parsed `pkcs11:` URI.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Uri {
    pub token: Option<String>,
    pub manufacturer: Option<String>,
    pub serial: Option<String>,
    pub model: Option<String>,
    pub slot_id: Option<u64>,
    pub object: Option<String>,
    pub id: Option<Vec<u8>>,
    pub pin_value: Option<String>,
    pub pin_source: Option<String>,
    pub module_path: Option<String>,
}

/// Why a `pkcs11:` URI could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UriError(pub String);

impl From<String> for UriError {
    fn from(s: String) -> Self {
        UriError(s)
    }
}

impl From<&str> for UriError {
    fn from(s: &str) -> Self {
        UriError(s.to_string())
    }
}

fn pct_decode(s: &str) -> Result<Vec<u8>, UriError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent-encoding at byte {i} of '{s}'"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn pct_string(s: &str) -> Result<String, UriError> {
    String::from_utf8(pct_decode(s)?).map_err(|_| format!("'{s}' is not UTF-8 once decoded").into())
}

/// The URI with any `pin-value` replaced, for messages.
pub fn redact(uri: &str) -> String {
    uri.split_inclusive([';', '?', '&'])
        .map(|part| {
            let (body, sep) = match part.char_indices().last() {
                Some((i, ';' | '?' | '&')) => (&part[..i], &part[i..]),
                _ => (part, ""),
            };
            if body.starts_with("pin-value=") {
                format!("pin-value=***{sep}")
            } else {
                part.to_string()
            }
        })
        .collect()
}

impl Uri {
    /// Whether `key` names a PKCS#11 object rather than a file.
    pub fn is_uri(key: &str) -> bool {
        key.len() >= 7 && key[..7].eq_ignore_ascii_case("pkcs11:")
    }

    pub fn parse(uri: &str) -> Result<Self, UriError> {
        if !Self::is_uri(uri) {
            return Err("does not start with 'pkcs11:'".into());
        }
        let rest = &uri[7..];
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut u = Uri::default();
        let mut set = |name: &str, value: &str, in_query: bool| -> Result<(), UriError> {
            match (name, in_query) {
                ("token", false) => u.token = Some(pct_string(value)?),
                ("manufacturer", false) => u.manufacturer = Some(pct_string(value)?),
                ("serial", false) => u.serial = Some(pct_string(value)?),
                ("model", false) => u.model = Some(pct_string(value)?),
                ("slot-id", false) => {
                    u.slot_id = Some(
                        pct_string(value)?
                            .parse()
                            .map_err(|_| format!("slot-id '{value}' is not a number"))?,
                    )
                }
                ("object", false) => u.object = Some(pct_string(value)?),
                ("id", false) => u.id = Some(pct_decode(value)?),
                ("type", false) => {
                    let t = pct_string(value)?;
                    if t != "private" {
                        return Err(format!(
                            "type={t}: a signing key must be a private key (type=private)"
                        )
                        .into());
                    }
                }
                ("pin-value", _) => u.pin_value = Some(pct_string(value)?),
                ("pin-source", true) => u.pin_source = Some(pct_string(value)?),
                ("module-path", true) => u.module_path = Some(pct_string(value)?),
                (
                    "library-manufacturer"
                    | "library-description"
                    | "library-version"
                    | "slot-manufacturer"
                    | "slot-description",
                    false,
                )
                | ("module-name", true) => {}
                (n, q) => {
                    return Err(format!(
                        "unknown {} attribute '{n}'",
                        if q { "query" } else { "path" }
                    )
                    .into())
                }
            }
            Ok(())
        };
        for a in path.split(';').filter(|a| !a.is_empty()) {
            let (n, v) = a
                .split_once('=')
                .ok_or_else(|| format!("path attribute '{}' has no '='", redact(a)))?;
            set(n, v, false)?;
        }
        if let Some(q) = query {
            for a in q.split('&').filter(|a| !a.is_empty()) {
                let (n, v) = a
                    .split_once('=')
                    .ok_or_else(|| format!("query attribute '{}' has no '='", redact(a)))?;
                set(n, v, true)?;
            }
        }
        if u.object.is_none() && u.id.is_none() {
            return Err("names no key (give object= or id=)".into());
        }
        Ok(u)
    }

    fn describe_object(&self) -> String {
        let mut parts = Vec::new();
        if let Some(o) = &self.object {
            parts.push(format!("label '{o}'"));
        }
        if let Some(id) = &self.id {
            parts.push(format!("id {}", crate::hex::hex(id)));
        }
        parts.join(", ")
    }
}

/// A private key on a token, with an open (logged-in) session.
pub struct Pkcs11Key {
    what: String,
    session: Mutex<Session>,
    handle: ObjectHandle,
    kind: Kind,
    // Keeps the library loaded and initialized as long as the session lives.
    _ctx: Pkcs11,
}

/// The key's algorithm and public half (DER RSAPublicKey, or the EC point).
enum Kind {
    Rsa { modulus_len: usize, public: Vec<u8> },
    Ec { curve: Curve, public: Vec<u8> },
}

fn attrs(
    session: &Session,
    handle: ObjectHandle,
    types: &[AttributeType],
    what: &str,
    token: &str,
) -> Result<Vec<Attribute>, Error> {
    session
        .get_attributes(handle, types)
        .map_err(|e| p11(what, &format!("token '{token}': C_GetAttributeValue"), e))
}

fn key_kind(
    session: &Session,
    handle: ObjectHandle,
    what: &str,
    token: &str,
) -> Result<Kind, Error> {
    let key_type = attrs(session, handle, &[AttributeType::KeyType], what, token)?
        .into_iter()
        .find_map(|a| match a {
            Attribute::KeyType(k) => Some(k),
            _ => None,
        });
    if key_type == Some(KeyType::RSA) {
        let (mut modulus, mut exponent) = (None, None);
        for a in attrs(
            session,
            handle,
            &[AttributeType::Modulus, AttributeType::PublicExponent],
            what,
            token,
        )? {
            match a {
                Attribute::Modulus(m) => modulus = Some(m),
                Attribute::PublicExponent(e) => exponent = Some(e),
                _ => {}
            }
        }
        let (Some(modulus), Some(exponent)) = (modulus, exponent) else {
            return Err(Error::key(
                what,
                format!(
                    "token '{token}': the RSA key does not reveal its modulus and public exponent"
                ),
            ));
        };
        let modulus = strip_int(&modulus);
        let public = pkcs1::RsaPublicKey {
            modulus: pkcs1::UintRef::new(modulus)
                .map_err(|e| Error::key(what, format!("RSA modulus: {e}")))?,
            public_exponent: pkcs1::UintRef::new(strip_int(&exponent))
                .map_err(|e| Error::key(what, format!("RSA exponent: {e}")))?,
        };
        return Ok(Kind::Rsa {
            modulus_len: modulus.len(),
            public: der::Encode::to_der(&public)?,
        });
    }
    if key_type == Some(KeyType::EC) {
        let mut params = None;
        let mut id = None;
        let mut label = None;
        for a in attrs(
            session,
            handle,
            &[
                AttributeType::EcParams,
                AttributeType::Id,
                AttributeType::Label,
            ],
            what,
            token,
        )? {
            match a {
                Attribute::EcParams(p) => params = Some(p),
                Attribute::Id(i) => id = Some(i),
                Attribute::Label(l) => label = Some(l),
                _ => {}
            }
        }
        let curve = params
            .as_deref()
            .and_then(|p| der::oid::ObjectIdentifier::from_der(p).ok())
            .and_then(|oid| Curve::from_oid(&oid))
            .ok_or_else(|| {
                Error::Unsupported(format!(
                    "{what}: the token's EC key is not on a supported curve (P-256 and P-384 are)"
                ))
            })?;
        // The EC point is an attribute of the public key object of the same id (or label).
        let mut template = vec![Attribute::Class(ObjectClass::PUBLIC_KEY)];
        match (id, label) {
            (Some(i), _) if !i.is_empty() => template.push(Attribute::Id(i)),
            (_, Some(l)) => template.push(Attribute::Label(l)),
            _ => {}
        }
        let pubs = session
            .find_objects(&template)
            .map_err(|e| p11(what, &format!("token '{token}': C_FindObjects"), e))?;
        let point = match pubs.as_slice() {
            [h] => attrs(session, *h, &[AttributeType::EcPoint], what, token)?
                .into_iter()
                .find_map(|a| match a {
                    Attribute::EcPoint(p) => Some(p),
                    _ => None,
                }),
            _ => None,
        }
        .ok_or_else(|| {
            Error::key(
                what,
                format!("token '{token}': no public key object (with CKA_EC_POINT) of the same id for the EC key"),
            )
        })?;
        // CKA_EC_POINT is a DER OCTET STRING; some tokens give the bare point.
        let public = der::asn1::OctetString::from_der(&point)
            .map(|o| o.as_bytes().to_vec())
            .unwrap_or(point);
        return Ok(Kind::Ec { curve, public });
    }
    Err(Error::Unsupported(format!(
        "{what}: the token's key is {} (PKCS#11 signing supports RSA and EC keys)",
        key_type
            .map(|k| k.to_string())
            .unwrap_or_else(|| "of unknown type".into())
    )))
}

/// DER `Ecdsa-Sig-Value` from PKCS#11's raw `r || s`.
fn ecdsa_der(raw: &[u8]) -> Vec<u8> {
    let int = |b: &[u8]| {
        let b = strip_int(b);
        let mut v = vec![0x02];
        let pad = b[0] & 0x80 != 0;
        v.push((b.len() + usize::from(pad)) as u8);
        if pad {
            v.push(0);
        }
        v.extend_from_slice(b);
        v
    };
    let (r, s) = raw.split_at(raw.len() / 2);
    let body = [int(r), int(s)].concat();
    // At most 2 * (2 + 49) bytes for P-384: short-form length.
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

fn p11(what: &str, step: &str, e: cryptoki::error::Error) -> Error {
    let msg = match &e {
        cryptoki::error::Error::Pkcs11(RvError::PinIncorrect, _) => {
            format!("{step}: PIN incorrect")
        }
        cryptoki::error::Error::Pkcs11(RvError::PinLocked, _) => format!("{step}: PIN locked"),
        _ => format!("{step}: {e}"),
    };
    Error::key(what, msg)
}

fn strip_int(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&x| x == 0).count();
    &b[n.min(b.len().saturating_sub(1))..]
}

impl Pkcs11Key {
    /// Open the key `uri` names through the module library `module` (when `None`: the URI's
    /// `module-path`, else `$KMODKIT_PKCS11_MODULE`, else [`DEFAULT_MODULE`]). `env_pin` is
    /// the PIN sign-file would take from `KBUILD_SIGN_PIN`.
    pub fn open(
        uri_str: &str,
        module: Option<&Path>,
        env_pin: Option<&str>,
    ) -> Result<Self, Error> {
        let what = redact(uri_str);
        let uri = Uri::parse(uri_str).map_err(|m| Error::key(&what, m))?;
        let module: PathBuf = match module {
            Some(m) => m.to_path_buf(),
            None => uri
                .module_path
                .clone()
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("KMODKIT_PKCS11_MODULE").map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from(DEFAULT_MODULE)),
        };
        if !module.exists() {
            return Err(Error::key(
                &what,
                format!(
                    "PKCS#11 module {} does not exist (--pkcs11-module or KMODKIT_PKCS11_MODULE names another; Debian's softhsm2 package ships the default)",
                    module.display()
                ),
            ));
        }
        let ctx = Pkcs11::new(&module).map_err(|e| {
            Error::key(
                &what,
                format!("loading PKCS#11 module {}: {e}", module.display()),
            )
        })?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(())
            | Err(cryptoki::error::Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(p11(&what, "C_Initialize", e)),
        }
        let pin = match (&uri.pin_value, &uri.pin_source) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(src)) => {
                let path = src.strip_prefix("file:").unwrap_or(src);
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Error::key(&what, format!("pin-source {path}: {e}")))?;
                Some(text.lines().next().unwrap_or("").to_string())
            }
            (None, None) => env_pin.map(str::to_string),
        };
        let slots = ctx
            .get_slots_with_token()
            .map_err(|e| p11(&what, "C_GetSlotList", e))?;
        let mut last_err = None;
        for slot in slots {
            if uri.slot_id.is_some_and(|id| id != slot.id()) {
                continue;
            }
            let info = ctx
                .get_token_info(slot)
                .map_err(|e| p11(&what, "C_GetTokenInfo", e))?;
            let fits = |want: &Option<String>, have: &str| {
                want.as_deref().is_none_or(|w| w == have.trim_end())
            };
            if !(fits(&uri.token, info.label())
                && fits(&uri.manufacturer, info.manufacturer_id())
                && fits(&uri.serial, info.serial_number())
                && fits(&uri.model, info.model()))
            {
                continue;
            }
            let token = info.label().trim_end().to_string();
            let session = ctx
                .open_ro_session(slot)
                .map_err(|e| p11(&what, &format!("token '{token}': C_OpenSession"), e))?;
            if let Some(pin) = &pin {
                match session.login(UserType::User, Some(&AuthPin::from(pin.clone()))) {
                    Ok(())
                    | Err(cryptoki::error::Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
                    Err(e) => return Err(p11(&what, &format!("token '{token}': login"), e)),
                }
            }
            let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
            if let Some(o) = &uri.object {
                template.push(Attribute::Label(o.as_bytes().to_vec()));
            }
            if let Some(id) = &uri.id {
                template.push(Attribute::Id(id.clone()));
            }
            let found = session
                .find_objects(&template)
                .map_err(|e| p11(&what, &format!("token '{token}': C_FindObjects"), e))?;
            match found.len() {
                0 => {
                    last_err = Some(Error::key(
                        &what,
                        format!(
                            "token '{token}' has no private key with {}{}",
                            uri.describe_object(),
                            if pin.is_none() {
                                " (no PIN given: pin-value in the URI or KBUILD_SIGN_PIN; private objects are visible only after login)"
                            } else {
                                ""
                            }
                        ),
                    ));
                    continue;
                }
                1 => {}
                n => {
                    return Err(Error::key(
                        &what,
                        format!(
                        "token '{token}' has {n} private keys with {}; name one by object= and id=",
                        uri.describe_object()
                    ),
                    ))
                }
            }
            let handle = found[0];
            let kind = key_kind(&session, handle, &what, &token)?;
            return Ok(Pkcs11Key {
                what,
                session: Mutex::new(session),
                handle,
                kind,
                _ctx: ctx,
            });
        }
        Err(last_err.unwrap_or_else(|| {
            let mut which = Vec::new();
            for (n, v) in [
                ("token", &uri.token),
                ("manufacturer", &uri.manufacturer),
                ("serial", &uri.serial),
                ("model", &uri.model),
            ] {
                if let Some(v) = v {
                    which.push(format!("{n}={v}"));
                }
            }
            if let Some(s) = uri.slot_id {
                which.push(format!("slot-id={s}"));
            }
            Error::key(
                &what,
                format!(
                    "no token {} in PKCS#11 module {}",
                    if which.is_empty() {
                        "present".to_string()
                    } else {
                        format!("matches {}", which.join(", "))
                    },
                    module.display(),
                ),
            )
        }))
    }

    /// The key's algorithm.
    pub fn algo(&self) -> KeyAlgo {
        match &self.kind {
            Kind::Rsa { modulus_len, .. } => KeyAlgo::Rsa {
                bits: modulus_len * 8,
            },
            Kind::Ec { curve, .. } => KeyAlgo::Ec(*curve),
        }
    }

    /// The bytes of the matching certificate's SubjectPublicKeyInfo BIT STRING: DER
    /// RSAPublicKey, or the EC point.
    pub fn public_key_bits(&self) -> &[u8] {
        match &self.kind {
            Kind::Rsa { public, .. } | Kind::Ec { public, .. } => public,
        }
    }

    /// Sign `msg` hashed with `hash`: RSA PKCS#1 v1.5 (CKM_RSA_PKCS over the DigestInfo),
    /// or ECDSA (CKM_ECDSA over the digest, returned DER-encoded as OpenSSL writes it).
    pub fn sign(&self, hash: HashAlgo, msg: &[u8]) -> Result<Vec<u8>, Error> {
        let (mechanism, input) = match &self.kind {
            Kind::Rsa { .. } => {
                let mut digest_info = digest_info_prefix(hash).to_vec();
                digest_info.extend_from_slice(&digest(hash, msg));
                (Mechanism::RsaPkcs, digest_info)
            }
            Kind::Ec { .. } => (Mechanism::Ecdsa, digest(hash, msg)),
        };
        let session = self
            .session
            .lock()
            .map_err(|_| Error::Sign(format!("{}: session lock poisoned", self.what)))?;
        let sig = session
            .sign(&mechanism, self.handle, &input)
            .map_err(|e| Error::Sign(format!("{}: C_Sign: {e}", self.what)))?;
        drop(session);
        let want = match &self.kind {
            Kind::Rsa { modulus_len, .. } => *modulus_len,
            Kind::Ec { curve, .. } => match curve {
                Curve::P256 => 64,
                Curve::P384 => 96,
            },
        };
        if sig.len() != want {
            return Err(Error::Sign(format!(
                "{}: token returned a {}-byte signature ({want} expected)",
                self.what,
                sig.len()
            )));
        }
        Ok(match &self.kind {
            Kind::Rsa { .. } => sig,
            Kind::Ec { .. } => ecdsa_der(&sig),
        })
    }
}

/// DER of `DigestInfo { AlgorithmIdentifier { hash OID, NULL }, OCTET STRING digest }` up to
/// the digest (RFC 8017 section 9.2, note 1).
fn digest_info_prefix(hash: HashAlgo) -> &'static [u8] {
    match hash {
        HashAlgo::Sha1 => &[
            0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
            0x14,
        ],
        HashAlgo::Sha224 => &[
            0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x04, 0x05, 0x00, 0x04, 0x1c,
        ],
        HashAlgo::Sha256 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        HashAlgo::Sha384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        HashAlgo::Sha512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
    }
}

fn digest(hash: HashAlgo, msg: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    match hash {
        HashAlgo::Sha1 => ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, msg)
            .as_ref()
            .to_vec(),
        HashAlgo::Sha224 => sha2::Sha224::digest(msg).to_vec(),
        HashAlgo::Sha256 => ring::digest::digest(&ring::digest::SHA256, msg)
            .as_ref()
            .to_vec(),
        HashAlgo::Sha384 => ring::digest::digest(&ring::digest::SHA384, msg)
            .as_ref()
            .to_vec(),
        HashAlgo::Sha512 => ring::digest::digest(&ring::digest::SHA512, msg)
            .as_ref()
            .to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_parsing() {
        let u = Uri::parse("pkcs11:token=kmk;object=signer;pin-value=1234").unwrap();
        assert_eq!(u.token.as_deref(), Some("kmk"));
        assert_eq!(u.object.as_deref(), Some("signer"));
        assert_eq!(u.pin_value.as_deref(), Some("1234"));
        let u = Uri::parse("pkcs11:token=a%20b;id=%01%ff?pin-value=x&module-path=/l.so").unwrap();
        assert_eq!(u.token.as_deref(), Some("a b"));
        assert_eq!(u.id.as_deref(), Some(&[1u8, 0xff][..]));
        assert_eq!(u.module_path.as_deref(), Some("/l.so"));
        assert!(Uri::parse("pkcs11:token=kmk").is_err());
        assert!(Uri::parse("pkcs11:object=x;type=cert").is_err());
        assert!(Uri::parse("pkcs11:object=x;id=%zz").is_err());
        assert!(Uri::parse("pkcs11:object=x;bogus=1").is_err());
        assert_eq!(
            redact("pkcs11:object=s;pin-value=1234;token=t"),
            "pkcs11:object=s;pin-value=***;token=t"
        );
        assert_eq!(
            redact("pkcs11:object=s?pin-value=1"),
            "pkcs11:object=s?pin-value=***"
        );
    }

    #[test]
    fn digest_info_prefix_matches_der() {
        // The prefix encodes SEQUENCE { SEQUENCE { oid, NULL }, OCTET STRING (len) }.
        for h in HashAlgo::ALL {
            let p = digest_info_prefix(h);
            let oid = der::Encode::to_der(&h.oid()).unwrap();
            assert_eq!(&p[4..4 + oid.len()], &oid[..], "{h}");
            let dlen = digest(h, b"").len();
            assert_eq!(p[p.len() - 1] as usize, dlen, "{h}");
            assert_eq!(p[1] as usize, p.len() - 2 + dlen, "{h}");
        }
    }
}
