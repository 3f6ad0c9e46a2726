//! Errors of the trust crate: every one names what was being read and what was wrong.

use std::path::PathBuf;

/// Everything that can go wrong while reading keys, certificates and keyrings, or signing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: {msg}")]
    Key { what: String, msg: String },
    #[error("{what}: {msg}")]
    Cert { what: String, msg: String },
    #[error("unknown or unsupported hash algorithm '{0}' (expected sha1, sha224, sha256, sha384 or sha512)")]
    UnknownHash(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("private key does not match the certificate's public key ({cert})")]
    KeyMismatch { cert: String },
    #[error("certificate {cert} has no subject key identifier (needed for -k)")]
    NoSkid { cert: String },
    #[error("signing failed: {0}")]
    Sign(String),
    #[error("{what}: {msg}")]
    Image { what: String, msg: String },
    #[error("{what}: {msg}")]
    Module { what: String, msg: String },
    #[error(transparent)]
    Efi(#[from] efivars::Error),
    #[error("DER encoding failed: {0}")]
    Der(#[from] der::Error),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn key(what: impl Into<String>, msg: impl std::fmt::Display) -> Self {
        Error::Key {
            what: what.into(),
            msg: msg.to_string(),
        }
    }
    pub(crate) fn cert(what: impl Into<String>, msg: impl std::fmt::Display) -> Self {
        Error::Cert {
            what: what.into(),
            msg: msg.to_string(),
        }
    }
}
