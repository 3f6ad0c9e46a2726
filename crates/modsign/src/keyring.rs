//! Keyrings: the certificates a module may be signed by, gathered from files of many kinds.

use crate::pkcs7::SignerKey;
use crate::{Cert, Error};
use std::path::Path;

/// One trusted certificate and where it came from.
#[derive(Clone, Debug)]
pub struct TrustedCert {
    pub cert: Cert,
    /// e.g. `vmlinuz-6.1.0-56-amd64`, `OVMF_VARS.fd:db`.
    pub source: String,
}

/// What kind of source a file was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    Certificate,
    KernelImage,
    SignatureList,
    Varstore,
    Directory,
}

/// A set of trusted certificates, looked up the way the kernel's asymmetric key type finds
/// a PKCS#7 signer: by issuer and serial number, or by subject key identifier.
#[derive(Clone, Debug, Default)]
pub struct Keyring {
    certs: Vec<TrustedCert>,
}

/// Variables of a varstore whose certificates are keys: `db`, and shim's `MokList*`.
const VARSTORE_KEY_VARS: &[&str] = &["db", "MokList", "MokListRT", "MokListX"];

impl Keyring {
    pub fn new() -> Self {
        Keyring::default()
    }

    pub fn add(&mut self, cert: Cert, source: impl Into<String>) {
        if !self.certs.iter().any(|c| c.cert.der() == cert.der()) {
            self.certs.push(TrustedCert {
                cert,
                source: source.into(),
            });
        }
    }

    pub fn certs(&self) -> &[TrustedCert] {
        &self.certs
    }

    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    /// The certificate a signer names.
    pub fn find(&self, id: &SignerKey) -> Option<&Cert> {
        self.certs.iter().map(|t| &t.cert).find(|c| match id {
            SignerKey::IssuerSerial { issuer, serial } => {
                c.serial() == serial.as_slice() && c.issuer_der() == issuer.as_slice()
            }
            SignerKey::KeyId(k) => c.skid() == Some(k.as_slice()),
        })
    }

    /// Add every certificate of a source file or directory; returns what kind it was and
    /// how many certificates it held.
    pub fn add_path(&mut self, path: &Path) -> Result<(SourceKind, usize), Error> {
        let (kind, certs) = load_path(path)?;
        let n = certs.len();
        for c in certs {
            self.add(c.cert, c.source);
        }
        Ok((kind, n))
    }
}

/// The certificates in a file or directory, with what kind of source it was.
pub fn load_path(path: &Path) -> Result<(SourceKind, Vec<TrustedCert>), Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| Error::io(path, e))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        entries.sort();
        let mut out = Vec::new();
        for p in entries {
            // Files of a directory that are not certificates are passed over.
            if let Ok((_, certs)) = load_file(&p) {
                out.extend(certs);
            }
        }
        if out.is_empty() {
            return Err(Error::cert(
                path.display().to_string(),
                "directory holds no certificate",
            ));
        }
        return Ok((SourceKind::Directory, out));
    }
    load_file(path)
}

fn load_file(path: &Path) -> Result<(SourceKind, Vec<TrustedCert>), Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let what = path.display().to_string();
    load_bytes(&bytes, &name, &what)
}

/// Classify `bytes` and take the certificates out of them. `name` labels the certificates'
/// source, `what` names the input in errors.
pub fn load_bytes(
    bytes: &[u8],
    name: &str,
    what: &str,
) -> Result<(SourceKind, Vec<TrustedCert>), Error> {
    let tag = |certs: Vec<Cert>, source: &str| -> Vec<TrustedCert> {
        certs
            .into_iter()
            .map(|cert| TrustedCert {
                cert,
                source: source.to_string(),
            })
            .collect()
    };
    // A certificate file: PEM, or exactly one DER certificate.
    if let Ok(certs) = Cert::parse_file(bytes, what) {
        return Ok((SourceKind::Certificate, tag(certs, name)));
    }
    // An edk2 vars file.
    if bytes.len() > 44 && &bytes[40..44] == b"_FVH" {
        let store = efivars::Varstore::parse(bytes)?;
        let mut out = Vec::new();
        for var in store.variables() {
            if !VARSTORE_KEY_VARS.contains(&var.name.as_str()) {
                continue;
            }
            let lists = efivars::SignatureList::parse_all(&var.data)?;
            for (_, der_bytes) in efivars::SignatureList::x509_certs(&lists) {
                let cert = Cert::from_der(der_bytes)
                    .map_err(|e| Error::cert(format!("{what}: variable {}", var.name), e))?;
                out.push(TrustedCert {
                    cert,
                    source: format!("{name}:{}", var.name),
                });
            }
        }
        return Ok((SourceKind::Varstore, out));
    }
    // An EFI signature list (e.g. from efi-readvar, or /sys/firmware/efi/efivars minus its
    // 4-byte attribute prefix).
    for skip in [0usize, 4] {
        if bytes.len() <= skip {
            continue;
        }
        if let Ok(lists) = efivars::SignatureList::parse_all(&bytes[skip..]) {
            let known = !lists.is_empty()
                && lists.iter().all(|l| {
                    l.sig_type == efivars::CERT_X509 || l.sig_type == efivars::CERT_SHA256
                });
            if known {
                let mut out = Vec::new();
                for (_, der_bytes) in efivars::SignatureList::x509_certs(&lists) {
                    let cert = Cert::from_der(der_bytes)
                        .map_err(|e| Error::cert(format!("{what}: signature list"), e))?;
                    out.push(TrustedCert {
                        cert,
                        source: name.to_string(),
                    });
                }
                return Ok((SourceKind::SignatureList, out));
            }
        }
    }
    // Anything else is taken for a kernel image.
    let certs = crate::image::kernel_certs(bytes, what)?;
    Ok((SourceKind::KernelImage, tag(certs, name)))
}
