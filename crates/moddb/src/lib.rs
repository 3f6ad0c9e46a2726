//! The module database: kmod's index files (text and `.bin`), `depmod`, modprobe.d and
//! modprobe's resolution of a name or alias into an ordered plan.
//!
//! What this crate owns: the knowledge of how kmod 30 (libkmod, tools/depmod.c,
//! tools/modprobe.c) builds and reads `/lib/modules/<release>/modules.*`, and which module a
//! name or alias resolves to. It reads module files through `modfile` and touches the file
//! system only to read a module directory and to replace index files atomically; it never talks
//! to the running kernel (what is loaded is passed in by the caller).
//!
//! Reproduced behaviour is kmod's, including its quirks, because the contract is byte-identical
//! output: see each module's documentation for the rules it follows.

pub mod builtin;
pub mod config;
mod context;
pub mod depmod;
pub mod fnmatch;
pub mod index;
pub mod modprobe;
pub mod text;

pub use config::Config;
pub use context::{Context, ModuleRef, Source};

use std::path::PathBuf;

/// Everything that can go wrong reading or writing the module database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: offset {offset:#x}: expected {what}")]
    Index {
        path: PathBuf,
        offset: usize,
        what: String,
    },
    #[error("{path}:{line}: {what}")]
    Syntax {
        path: PathBuf,
        line: usize,
        what: String,
    },
    /// `modules.builtin.modinfo` exists but has no entry for the module (libkmod: ENOSYS).
    #[error("{path}: no entry for builtin module {name}")]
    NoBuiltinModinfo { path: PathBuf, name: String },
    #[error("invalid alias {0:?}: unbalanced brackets")]
    InvalidAlias(String),
    #[error("{path}: {source}")]
    Module {
        path: PathBuf,
        #[source]
        source: modfile::Error,
    },
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// libkmod's `modname_normalize`: up to the first `.`, with `-` turned into `_`.
pub fn modname_normalize(name: &str) -> String {
    name.split('.').next().unwrap_or_default().replace('-', "_")
}

/// libkmod's `alias_normalize`: `-` becomes `_` outside bracket expressions; a `]` without
/// `[` or an unclosed `[` is invalid.
pub fn alias_normalize(alias: &str) -> Result<String, Error> {
    let mut out = Vec::with_capacity(alias.len());
    let b = alias.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'-' => out.push(b'_'),
            b']' => return Err(Error::InvalidAlias(alias.to_string())),
            b'[' => {
                while i < b.len() && b[i] != b']' {
                    out.push(b[i]);
                    i += 1;
                }
                if i == b.len() {
                    return Err(Error::InvalidAlias(alias.to_string()));
                }
                out.push(b']');
            }
            c => out.push(c),
        }
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}
