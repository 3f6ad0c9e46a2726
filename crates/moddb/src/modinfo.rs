//! What `modinfo` knows (libkmod's `kmod_module_new_from_*` and `kmod_module_get_info`), so
//! the tool only prints: which module an argument names (a file, a module name, an alias),
//! and a module's info entries: its `.modinfo` (or the builtin modinfo) followed by the
//! signature entries kmod builds (`sig_id`, `signer`, `sig_key`, `sig_hashalgo`,
//! `signature`).
//!
//! No module pool is kept across arguments. libkmod's pool holds a module object only while
//! somebody references it, and modinfo drops each argument's modules before the next, so
//! `modinfo a/x.ko b/x.ko` (two builds of one module) describes both.
//!
//! The module directory's indexes are opened on first use (a file argument needs none).
//! modinfo reads no modprobe.d configuration (kmod passes an empty config path list).

use crate::{Config, Context, Error, ModuleRef};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The module extensions taken as file names (plus `.ko.gz`, which kmodkit reads although
/// Debian's kmod 30 is built without zlib).
pub const MODULE_EXTS: &[&str] = &[".ko", ".ko.gz", ".ko.xz", ".ko.zst"];

/// One module to describe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    pub name: String,
    /// `None` for a builtin module (or one missing from modules.dep).
    pub path: Option<PathBuf>,
    /// libkmod's `kmod_module_is_builtin`: its modinfo comes from modules.builtin.modinfo.
    pub builtin: bool,
}

/// What an argument names, as modinfo decides it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Query {
    /// An existing regular file with a module extension.
    File(PathBuf),
    /// `-m`: a module name.
    Name(String),
    /// Anything else: an alias (a module name is an alias of itself).
    Alias(String),
}

impl Query {
    /// modinfo's choice: `-m` takes a name, an existing module file is a file, the rest an
    /// alias.
    pub fn of(arg: &OsStr, by_name: bool) -> Query {
        if by_name {
            return Query::Name(arg.to_string_lossy().into_owned());
        }
        let p = Path::new(arg);
        let name = arg.as_bytes();
        let is_file = p.metadata().is_ok_and(|m| m.is_file())
            && MODULE_EXTS
                .iter()
                .any(|e| name.len() > e.len() && name.ends_with(e.as_bytes()));
        if is_file {
            Query::File(p.to_path_buf())
        } else {
            Query::Alias(arg.to_string_lossy().into_owned())
        }
    }
}

/// Why an argument named no module; the text is kmod's (after `modinfo: ERROR: `).
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("Module name {0} not found.")]
    NameNotFound(String),
    /// kmod's `alias_normalize` rejected it (unbalanced brackets).
    #[error("Module alias {0} not found.")]
    InvalidAlias(String),
    #[error("Module {0} not found.")]
    NotFound(String),
    /// An index could not be read (a damaged `.bin` file), named with its cause.
    #[error(transparent)]
    Index(#[from] Error),
}

/// Why a module's info could not be read; the text is what kmod prints after
/// `could not get modinfo from 'NAME': ` (strerror, and for a bad ELF file the file and the
/// reason, which kmod does not give).
#[derive(Debug, thiserror::Error)]
pub enum InfoError {
    #[error("{0}")]
    Io(String),
    #[error("{errno} ({path}: {source})")]
    Elf {
        errno: &'static str,
        path: String,
        source: modfile::Error,
    },
    /// modules.builtin.modinfo has no entry for the module (libkmod: ENOSYS).
    #[error("Function not implemented")]
    NoBuiltinEntry,
    #[error(transparent)]
    Index(#[from] Error),
}

/// A module's info entries, in kmod's order.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// The lookups and reads of one modinfo invocation.
pub struct Modinfo {
    dirname: PathBuf,
    read: ReadFn,
    db: Option<Context>,
}

/// How files are read (a plain function, so that the index context can share it).
pub type ReadFn = fn(&Path) -> std::io::Result<crate::source::Bytes>;

impl Modinfo {
    /// Lookups under `dirname` (`<root>/lib/modules/<release>`), files read with `read`.
    pub fn new(dirname: PathBuf, read: ReadFn) -> Modinfo {
        Modinfo {
            dirname,
            read,
            db: None,
        }
    }

    fn db(&mut self) -> &Context {
        let (dirname, read) = (&self.dirname, self.read);
        self.db.get_or_insert_with(|| {
            Context::new(dirname, Config::default()).with_reader(Box::new(read))
        })
    }

    /// The modules `query` names (several for an alias that matches several).
    pub fn lookup(&mut self, query: &Query) -> Result<Vec<Module>, LookupError> {
        match query {
            Query::File(p) => Ok(vec![Module {
                name: crate::live::module_name(p),
                path: Some(absolute(p)),
                builtin: false,
            }]),
            Query::Name(n) => match self.db().lookup_name(n)? {
                Some(m) => Ok(vec![module(m)]),
                None => Err(LookupError::NameNotFound(n.clone())),
            },
            Query::Alias(a) => {
                if crate::alias_normalize(a).is_err() {
                    return Err(LookupError::InvalidAlias(a.clone()));
                }
                let found = self.db().lookup_alias(a)?;
                if found.is_empty() {
                    return Err(LookupError::NotFound(a.clone()));
                }
                Ok(found.into_iter().map(module).collect())
            }
        }
    }

    /// `kmod_module_get_info`: `.modinfo` (or the builtin modinfo) then the signature
    /// entries. `Ok(None)`: nothing to read (a builtin module without a
    /// modules.builtin.modinfo file, or a module neither builtin nor in modules.dep), where
    /// kmod prints nothing more.
    pub fn info(&mut self, m: &Module) -> Result<Option<Entries>, InfoError> {
        const ENOENT: &str = "No such file or directory";
        if m.builtin {
            return match self.db().builtin_modinfo(&m.name) {
                Ok(Some(e)) => Ok(Some(e)),
                Ok(None) if m.path.is_none() => Ok(None),
                Ok(None) => Err(InfoError::Io(ENOENT.into())),
                Err(Error::NoBuiltinModinfo { .. }) => Err(InfoError::NoBuiltinEntry),
                Err(e) => Err(e.into()),
            };
        }
        let Some(path) = &m.path else {
            return Ok(None);
        };
        file_info(self.read, path).map(Some)
    }

    /// Whether [`Modinfo::info`] of `m` reads only its file (no index), so that
    /// [`file_info`] can do it on another thread.
    pub fn is_file_only(m: &Module) -> bool {
        !m.builtin && m.path.is_some()
    }

    /// The file reader, for [`file_info`].
    pub fn reader(&self) -> ReadFn {
        self.read
    }
}

/// [`Modinfo::info`] of a module file: read with `read`, then [`module_info`]. Needs no
/// index, so a caller can describe many files at once.
pub fn file_info(read: ReadFn, path: &Path) -> Result<Entries, InfoError> {
    let bytes = read(path).map_err(|e| InfoError::Io(strerror(&e)))?;
    module_info(path, &bytes)
}

fn module(m: ModuleRef) -> Module {
    Module {
        name: m.name,
        path: m.path,
        builtin: m.builtin,
    }
}

/// The info entries of one module file's bytes (read from `path`, named in errors).
pub fn module_info(path: &Path, bytes: &[u8]) -> Result<Entries, InfoError> {
    let module = modfile::Module::parse(bytes).map_err(|source| InfoError::Elf {
        errno: match source {
            modfile::Error::NotElf => "Exec format error",
            _ => "Invalid argument",
        },
        path: path.display().to_string(),
        source,
    })?;
    if module.elf().section_by_name(".modinfo").is_none() {
        return Err(InfoError::Io("No such file or directory".into()));
    }
    let mut entries: Entries = module
        .modinfo()
        .iter()
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    if let Some(si) = module.signature().ok().flatten().and_then(|s| s.info()) {
        entries.push((b"sig_id".to_vec(), si.id_type.as_bytes().to_vec()));
        entries.push((b"signer".to_vec(), si.signer));
        entries.push((b"sig_key".to_vec(), hex_wrapped(&si.key_id)));
        entries.push((b"sig_hashalgo".to_vec(), si.hash_algo.as_bytes().to_vec()));
        entries.push((b"signature".to_vec(), hex_wrapped(&si.signature)));
    }
    Ok(entries)
}

/// strerror text without Rust's " (os error N)" suffix, as kmod prints it.
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// libkmod's `path_make_absolute_cwd`: absolute paths as given, relative ones joined to the
/// current directory with a `/` (no normalisation: `./x.ko` becomes `/cwd/./x.ko`).
pub fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        return p.to_path_buf();
    }
    match std::env::current_dir() {
        Ok(cwd) => {
            let mut s: OsString = cwd.into_os_string();
            s.push("/");
            s.push(p.as_os_str());
            PathBuf::from(s)
        }
        Err(_) => p.to_path_buf(),
    }
}

/// kmod's `kmod_module_hex_to_str`: `AA:BB:...`, a line break and two tabs after every
/// 20th byte except the last.
pub fn hex_wrapped(bytes: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = Vec::with_capacity(bytes.len() * 3 + bytes.len() / 20 * 3);
    for (i, b) in bytes.iter().enumerate() {
        s.push(HEX[(b >> 4) as usize]);
        s.push(HEX[(b & 15) as usize]);
        if i + 1 < bytes.len() {
            s.push(b':');
            if (i + 1) % 20 == 0 {
                s.extend_from_slice(b"\n\t\t");
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_wraps_after_twenty_bytes() {
        assert_eq!(hex_wrapped(&[0xab, 0x01]), b"AB:01");
        let h = hex_wrapped(&[0u8; 21]);
        assert!(h.starts_with(b"00:00"));
        assert_eq!(h.windows(3).filter(|w| w == b"\n\t\t").count(), 1);
        assert!(h.ends_with(b":\n\t\t00"));
        assert!(hex_wrapped(&[]).is_empty());
    }
}
