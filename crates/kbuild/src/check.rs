//! What `kmodkit build` checks in each result before calling it good: the kernel would
//! otherwise refuse the module (`version magic '...' should be '...'`, `disagrees about
//! version of symbol X`, `Unknown symbol X`) only at load time, on the target machine.

use crate::headers::Export;
use crate::{Error, Result};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

/// One reason the module will not load (cleanly) into the target kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// vermagic's release differs from the target release.
    Vermagic { found: String, expected: String },
    /// No `vermagic=` in `.modinfo` at all.
    NoVermagic,
    /// An undefined symbol nobody exports (neither the kernel nor its modules).
    Unresolved { symbol: String },
    /// The symbol exists with another CRC: built against different headers.
    CrcMismatch {
        symbol: String,
        module_crc: u64,
        kernel_crc: u32,
        exporter: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Vermagic { found, expected } => {
                write!(f, "vermagic is '{found}' but the kernel is '{expected}': it would refuse the module (\"version magic ... should be ...\")")
            }
            Problem::NoVermagic => write!(f, "no vermagic in .modinfo (was this built by Kbuild?)"),
            Problem::Unresolved { symbol } => write!(f, "symbol '{symbol}' is not exported by the kernel or its modules (Unknown symbol)"),
            Problem::CrcMismatch { symbol, module_crc, kernel_crc, exporter } => write!(
                f,
                "symbol '{symbol}' has CRC 0x{module_crc:08x} in the module but 0x{kernel_crc:08x} in {exporter} (disagrees about version of symbol)"
            ),
        }
    }
}

/// Check a built module against the kernel it is meant for: its release and the exports
/// (with CRCs) of that kernel's `Module.symvers`.
pub fn check(
    module: &Path,
    release: &str,
    symvers: &HashMap<String, Export>,
) -> Result<Vec<Problem>> {
    let bytes = modsys::file::read(module).map_err(Error::io(module))?;
    let m = modfile::Module::parse(&bytes).map_err(|source| Error::Module {
        path: module.to_path_buf(),
        source,
    })?;
    let mut problems = Vec::new();
    let expected = release.to_string();
    match m.modinfo().get("vermagic") {
        None => problems.push(Problem::NoVermagic),
        Some(v) => {
            let v = String::from_utf8_lossy(v);
            let release = v.split(' ').next().unwrap_or_default();
            if release != expected {
                problems.push(Problem::Vermagic {
                    found: v.trim_end().to_string(),
                    expected: expected.clone(),
                });
            }
        }
    }
    let versions = m.versions().map_err(|source| Error::Module {
        path: module.to_path_buf(),
        source,
    })?;
    let has_modversions = !versions.is_empty();
    let deps = m.dependency_symbols().map_err(|source| Error::Module {
        path: module.to_path_buf(),
        source,
    })?;
    for sym in deps {
        // Symbols the module defines for itself via weak references are fine unresolved.
        if sym.bind == modfile::Bind::Weak {
            continue;
        }
        match symvers.get(&sym.name) {
            None => problems.push(Problem::Unresolved { symbol: sym.name }),
            Some(e)
                if has_modversions
                    && sym.crc as u32 != e.crc
                    && versions.iter().any(|v| v.name == sym.name) =>
            {
                problems.push(Problem::CrcMismatch {
                    symbol: sym.name,
                    module_crc: sym.crc,
                    kernel_crc: e.crc,
                    exporter: e.module.clone(),
                })
            }
            Some(_) => {}
        }
    }
    Ok(problems)
}
