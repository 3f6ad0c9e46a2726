//! Out-of-tree kernel modules: a skeleton that builds as is, Kbuild runs against the headers
//! of each installed kernel with the results checked (vermagic, exported symbols and their
//! modversions CRCs), and a DKMS-compatible lifecycle (add, build, install, uninstall,
//! unbuild, remove, status, autoinstall) over DKMS's own state tree layout.
//!
//! This is orchestration: it runs `make`, `bash` (to read `dkms.conf`, which *is* a bash
//! fragment — evaluating it with bash is the only way to be compatible with the packages
//! that compute values in it), `patch` and `strip`, and moves files. Signing and indexing
//! are library calls into `modsign` and `moddb` ([`sign`]), not runs of another program;
//! where a kernel's files are (headers, config, image) is the `kernels` crate's knowledge.
//! Files in the DKMS and install trees are written with `safeio`, and every path built from
//! outside data is checked to stay inside its tree ([`trees`]).

pub mod check;
pub mod conf;
pub mod dkms;
pub mod headers;
pub mod kernel;
pub mod make;
pub mod sign;
pub mod skeleton;
pub mod skeleton_rust;
pub mod trees;

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
    #[error(transparent)]
    Kernel(#[from] kernels::Error),
    #[error(transparent)]
    File(#[from] safeio::Error),
    #[error("{0}")]
    Sign(String),
    #[error("depmod: {0}")]
    Depmod(String),
    /// A value from dkms.conf or the command line that would put a path outside its tree.
    #[error("Error! {origin}: {field}=\"{value}\" refused: {why}")]
    Refused {
        field: String,
        value: String,
        origin: String,
        why: String,
    },
    /// A path that resolves outside its tree (a symlink planted in the tree).
    #[error("Error! {} is outside {} ({why}): refusing to write or delete it", path.display(), tree.display())]
    Outside {
        path: PathBuf,
        tree: PathBuf,
        why: String,
    },
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
            // DKMS's status for a conf it refuses ("Bad conf file").
            Error::Refused { .. } | Error::Outside { .. } => 8,
            _ => 1,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
