//! The module database: kmod's index files (text and `.bin`), `depmod`, modprobe.d and
//! modprobe's resolution of a name or alias into an ordered plan, and the execution of that
//! plan against a live kernel given as a trait.
//!
//! What this crate owns: the knowledge of how kmod 30 (libkmod, tools/depmod.c,
//! tools/modprobe.c, tools/modinfo.c) builds and reads `/lib/modules/<release>/modules.*`,
//! which module a name or alias resolves to, and what modprobe does with it. It reads module
//! directories, configuration folders and module files (through `modfile`), and writes
//! nothing: depmod hands its files to a [`depmod::Store`]. It never talks to the running
//! kernel: what is loaded, and loading itself, go through [`live::LiveKernel`].
//!
//! Layering: this is a *format* crate and may not depend on a system crate (the layering test
//! in crates/testsupport/tests/layers.rs checks it). So the traits for what needs the system
//! ([`live::LiveKernel`], [`depmod::Store`]) are defined here, next to the decisions that use
//! them, and `modsys` (a system crate, which may depend on this one) implements them for the
//! real kernel (`modsys::live::Kernel`) and the real file system (`modsys::live::IndexStore`,
//! through `safeio`). Tests run plans against [`live::Recorded`], a recorded kernel state.
//!
//! Reproduced behaviour is kmod's, including its quirks, because the contract is byte-identical
//! output: see each module's documentation for the rules it follows.
//!
//! - [`source`]: how files are read (the bottom of the crate); [`confdir`]: configuration
//!   folders (`/etc`, `/run`, `/usr/local/lib`, `/lib`, override by name), one rule for
//!   modprobe.d, depmod.d and modules-load.d.
//! - [`index`]: the `.bin` trie reader (both of libkmod's value orders) and [`index::writer`]
//!   its writer; [`text`]: the text files; [`builtin`]: `modules.builtin.modinfo`.
//! - [`Context`]: lookups by name and alias in libkmod's order; [`modinfo`]: modinfo's
//!   lookups and info entries (signature fields included).
//! - [`depmod`]: the whole of kmod 30's depmod, [`config`]: modprobe.d, [`modprobe`]: the plan,
//!   [`live`]: the live-kernel trait and the plan's execution, [`probe`]: modprobe's run over
//!   its arguments.
//!
//! A damaged `.bin` index (cut short, not an index) is an error naming the file, the offset
//! and what was expected there, where libkmod finds nothing or crashes.
//!
//! Two kmod releases are reproduced, chosen with [`Kmod`]: kmod 34 (Debian 13's 34.2, the
//! default) and kmod 30 (Debian 12). Where they differ: depmod's `.bin` tries are laid out in
//! pre-order (root first) by 34 and post-order by 30; 34 writes `modules.weakdep` (from the
//! modules' `weakdep` modinfo key), reads `weakdep` lines in modprobe.d and shows them with
//! `modprobe -c`; 34 no longer reads `*.alias` files in modprobe.d; for a module listed twice
//! in modules.order, 34 keeps its first position and 30 its last; libkmod's messages name
//! other source lines.
//!
//! Known, deliberate differences from kmod: `depmod -vv` does not print libkmod's debug
//! lines (they contain pointers); a dependency-cycle report that would walk without end in
//! kmod (a path from one cycle into another) stops after a bounded number of steps.
//!
//! Crates used, and why: `rayon` to read and parse thousands of module files on every core
//! (kmod uses one) and to build the output files concurrently; `regex` for depmod.d's kernel
//! version patterns (kmod uses POSIX extended regular expressions through `regcomp`; the
//! patterns seen in practice, like `6\.1.*` or `.*`, mean the same in both); `serde` for
//! `modprobe --explain --json`. Shell-style matching (`fnmatch`) is written here because
//! its exact rules decide which module an alias resolves to.

pub mod builtin;
pub mod confdir;
pub mod config;
mod context;
pub mod depmod;
pub mod exec;
pub mod fnmatch;
pub mod index;
pub mod live;
pub mod modinfo;
pub mod modprobe;
pub mod modules_load;
pub mod probe;
pub mod source;
pub mod text;

pub use config::Config;
pub use context::{Context, ModuleRef, Source};

use std::path::PathBuf;

/// Which kmod release to reproduce where releases differ (see the crate documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kmod {
    /// kmod 30 (Debian 12).
    V30,
    /// kmod 34 (Debian 13's 34.2).
    #[default]
    V34,
}

impl Kmod {
    /// `"30"` or `"34"` (also `"34.2"`) to a release; anything else is `None`.
    pub fn parse(s: &str) -> Option<Kmod> {
        match s.trim() {
            "30" => Some(Kmod::V30),
            "34" | "34.2" => Some(Kmod::V34),
            _ => None,
        }
    }

    /// What `--version` prints as the version (`kmod version N`).
    pub fn version(self) -> &'static str {
        match self {
            Kmod::V30 => "30",
            Kmod::V34 => "34.2",
        }
    }
}

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
    /// A file ends before something it points at: `what` was expected at `offset`.
    #[error("{path}: truncated at offset {offset}: expected {what}")]
    Truncated {
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
