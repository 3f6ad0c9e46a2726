//! Out-of-tree kernel modules: a skeleton that builds as is, Kbuild runs against the headers
//! of each installed kernel with the results checked (vermagic, exported symbols and their
//! modversions CRCs), and a DKMS-compatible lifecycle (add, build, install, uninstall,
//! unbuild, remove, status, autoinstall) over DKMS's own state tree layout.
//!
//! This is orchestration: it runs `make`, `bash` (to read `dkms.conf`, which *is* a bash
//! fragment — evaluating it with bash is the only way to be compatible with the packages
//! that compute values in it), `patch` and `strip`, and moves files. It does not sign and
//! does not index: the caller passes those steps in ([`dkms::Hooks`]), so that this crate
//! stays independent of the signing and depmod crates.

pub mod check;
pub mod conf;
pub mod dkms;
pub mod headers;
pub mod kernel;
pub mod make;
pub mod skeleton;
pub mod skeleton_rust;

use std::path::PathBuf;

/// What went wrong, with the file or command it concerns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("kernel headers for {release} not found at {dir} (install the package linux-headers-{release})")]
    NoHeaders { release: String, dir: PathBuf },
    #[error("build for {release} failed (exit status {status}); log: {log}\n{excerpt}")]
    BuildFailed {
        release: String,
        status: String,
        log: PathBuf,
        excerpt: String,
    },
    #[error("{path}: {source}")]
    Module {
        path: PathBuf,
        source: modfile::Error,
    },
    /// A DKMS-style failure: message lines and DKMS's exit status.
    #[error("{message}")]
    Dkms { code: u8, message: String },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }

    /// The exit status a command should end with for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Dkms { code, .. } => *code,
            _ => 1,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
