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
    open: Option<crate::source::OpenAt>,
    db: Option<Context>,
}

/// How [`file_info`] gets a module file's bytes: `read` gives the whole file; `open`, when
/// set, opens it for reads at offsets so that only the pieces modinfo shows are read.
#[derive(Clone, Copy)]
pub struct Files {
    read: ReadFn,
    open: Option<crate::source::OpenAt>,
}

/// How files are read (a plain function, so that the index context can share it).
pub type ReadFn = fn(&Path) -> std::io::Result<crate::source::Bytes>;

impl Modinfo {
    /// Lookups under `dirname` (`<root>/lib/modules/<release>`), files read with `read`.
    pub fn new(dirname: PathBuf, read: ReadFn) -> Modinfo {
        Modinfo {
            dirname,
            read,
            open: None,
            db: None,
        }
    }

    /// Module files opened with `open` and read in pieces (see [`Files`]).
    pub fn with_open_at(mut self, open: crate::source::OpenAt) -> Modinfo {
        self.open = Some(open);
        self
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
            Query::File(p) => Ok(vec![Modinfo::file_module(p)]),
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
        file_info(self.reader(), path).map(Some)
    }

    /// The module a [`Query::File`] names (what [`Modinfo::lookup`] returns for it; needs
    /// no index, so any thread can do it).
    pub fn file_module(p: &Path) -> Module {
        Module {
            name: crate::live::module_name(p),
            path: Some(absolute(p)),
            builtin: false,
        }
    }

    /// Whether [`Modinfo::info`] of `m` reads only its file (no index), so that
    /// [`file_info`] can do it on another thread.
    pub fn is_file_only(m: &Module) -> bool {
        !m.builtin && m.path.is_some()
    }

    /// The file readers, for [`file_info`].
    pub fn reader(&self) -> Files {
        Files {
            read: self.read,
            open: self.open,
        }
    }
}

/// A module file argument opened once for both of modinfo's questions: is it a module file
/// ([`Query::of`]), and what is in it ([`file_info`]). `None` where [`Query::of`] must
/// decide (`-m`, no module extension, no `open` in `files`, or the file does not open as a
/// regular file: then it is stat'ed as kmod does, and opened again if it is a file).
pub fn open_file_arg(files: Files, arg: &OsStr, by_name: bool) -> Option<(Module, Opened)> {
    let open = files.open?;
    let name = arg.as_bytes();
    let ext = MODULE_EXTS
        .iter()
        .any(|e| name.len() > e.len() && name.ends_with(e.as_bytes()));
    if by_name || !ext {
        return None;
    }
    let f = open(Path::new(arg)).ok().filter(|f| f.is_file())?;
    Some((Modinfo::file_module(Path::new(arg)), Opened(f)))
}

/// A module file opened by [`open_file_arg`].
pub struct Opened(Box<dyn crate::source::ReadAt>);

impl Opened {
    /// [`file_info`] of the file, `path` naming it in errors.
    pub fn info(&self, path: &Path) -> Result<Entries, InfoError> {
        opened_info(&*self.0, path)
    }
}

/// [`Modinfo::info`] of a module file: read with `files`, then [`module_info`]. Needs no
/// index, so a caller can describe many files at once.
pub fn file_info(files: Files, path: &Path) -> Result<Entries, InfoError> {
    let io = |e: std::io::Error| InfoError::Io(strerror(&e));
    let Some(open) = files.open else {
        let bytes = (files.read)(path).map_err(io)?;
        return module_info(path, &bytes);
    };
    let f = open(path).map_err(io)?;
    opened_info(&*f, path)
}

/// [`file_info`] of a file already opened with [`Files`]'s `open`.
fn opened_info(f: &dyn crate::source::ReadAt, path: &Path) -> Result<Entries, InfoError> {
    let io = |e: std::io::Error| InfoError::Io(strerror(&e));
    if let Some(entries) = sparse::info(f).map_err(io)? {
        return Ok(entries);
    }
    // Small, compressed or unusual: the whole file, through the one parser that names
    // what is wrong with it.
    let mut bytes =
        vec![0; usize::try_from(f.size()).map_err(|_| InfoError::Io("File too large".into()))?];
    f.read_exact_at(&mut bytes, 0).map_err(io)?;
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
    Ok(entries(
        &module.modinfo(),
        module.signature().ok().flatten().and_then(|s| s.info()),
    ))
}

/// The entries of a module's `.modinfo` and signature, in kmod's order.
fn entries(info: &modfile::ModInfo, sig: Option<modfile::SignatureInfo>) -> Entries {
    let mut entries: Entries = Vec::with_capacity(info.len() + 5);
    entries.extend(info.iter().map(|(k, v)| (k.to_vec(), v.to_vec())));
    if let Some(si) = sig {
        entries.push((b"sig_id".to_vec(), si.id_type.as_bytes().to_vec()));
        entries.push((b"signer".to_vec(), si.signer));
        entries.push((b"sig_key".to_vec(), hex_wrapped(&si.key_id)));
        entries.push((b"sig_hashalgo".to_vec(), si.hash_algo.as_bytes().to_vec()));
        entries.push((b"signature".to_vec(), hex_wrapped(&si.signature)));
    }
    entries
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
    for (n, line) in bytes.chunks(20).enumerate() {
        if n > 0 {
            s.extend_from_slice(b":\n\t\t");
        }
        for (i, b) in line.iter().enumerate() {
            let sep: &[u8] = if i == 0 { b"" } else { b":" };
            s.extend_from_slice(sep);
            s.extend_from_slice(&[HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
        }
    }
    s
}

/// modinfo's reads of a large plain module: the ELF header, the section header table and
/// names, `.modinfo` and the signature at the end, each with a `pread`, instead of the
/// whole file. Only the common shape is handled here; anything else (compressed, too
/// small to be worth it, not ELF, a header or table [`modfile`] would reject, no
/// `.modinfo`) is left to the whole-file path, so that the output and the errors are the
/// parser's own.
mod sparse {
    use super::Entries;
    use crate::source::ReadAt;
    use modfile::{ModInfo, ModuleSignature, SIG_MAGIC};
    use std::io;

    /// Files up to this size are read whole.
    const WHOLE: u64 = 12 * 1024;
    /// The first read: the ELF header and, in most modules, `.modinfo`.
    const HEAD: u64 = 4 * 1024;
    /// The last read starts at least this far before the section header table, to take the
    /// section names with it (they precede the table in what `ld -r` writes).
    const BEFORE_TABLE: u64 = 1024;
    /// Longest `struct module_signature` + trailer.
    const TRAILER: u64 = 12 + SIG_MAGIC.len() as u64;

    /// Pieces of a file read at offsets, kept so that a later request inside an earlier
    /// piece reads nothing.
    struct Pieces<'f> {
        file: &'f dyn ReadAt,
        len: u64,
        chunks: Vec<(u64, Vec<u8>)>,
    }

    /// Where a requested range lies: chunk, start in it, length.
    type At = (usize, usize, usize);

    impl Pieces<'_> {
        /// `n` bytes from `off`; `None` if they are not all inside the file.
        fn locate(&mut self, off: u64, n: u64) -> io::Result<Option<At>> {
            let Some(end) = off.checked_add(n).filter(|&e| e <= self.len) else {
                return Ok(None);
            };
            let n = n as usize;
            for (i, (start, c)) in self.chunks.iter().enumerate() {
                if *start <= off && end <= start + c.len() as u64 {
                    return Ok(Some((i, (off - start) as usize, n)));
                }
            }
            let mut c = vec![0; n];
            self.file.read_exact_at(&mut c, off)?;
            self.chunks.push((off, c));
            Ok(Some((self.chunks.len() - 1, 0, n)))
        }

        fn at(&self, (i, s, n): At) -> &[u8] {
            &self.chunks[i].1[s..s + n]
        }

        fn get(&mut self, off: u64, n: u64) -> io::Result<Option<&[u8]>> {
            Ok(self.locate(off, n)?.map(|a| self.at(a)))
        }
    }

    fn uint(b: &[u8], big_endian: bool) -> u64 {
        let fold = |v: u64, x: &u8| (v << 8) | u64::from(*x);
        if big_endian {
            b.iter().fold(0, fold)
        } else {
            b.iter().rev().fold(0, fold)
        }
    }

    /// The entries, or `None` where the whole file must be read.
    pub(super) fn info(file: &dyn ReadAt) -> io::Result<Option<Entries>> {
        let len = file.size();
        if len <= WHOLE {
            return Ok(None);
        }
        let mut p = Pieces {
            file,
            len,
            chunks: Vec::with_capacity(4),
        };
        let Some(h) = p.get(0, HEAD)? else {
            return Ok(None);
        };
        if &h[..4] != b"\x7fELF" || !matches!(h[4], 1 | 2) || !matches!(h[5], 1 | 2) {
            return Ok(None);
        }
        let (is64, be) = (h[4] == 2, h[5] == 2);
        let rd = |b: &[u8], off: usize, n: usize| uint(&b[off..off + n], be);
        let (shoff, shentsize, shnum, shstrndx) = if is64 {
            (rd(h, 40, 8), rd(h, 58, 2), rd(h, 60, 2), rd(h, 62, 2))
        } else {
            (rd(h, 32, 4), rd(h, 46, 2), rd(h, 48, 2), rd(h, 50, 2))
        };
        if shentsize != if is64 { 64 } else { 40 } || shstrndx == 0 || shstrndx >= shnum {
            return Ok(None);
        }
        // One read from a little before the table to the end of the file: the table, the
        // section names and the signature in the common layout. (Copying from the page
        // cache is most of the cost: a few small reads beat one large one.)
        let from = shoff
            .saturating_sub(BEFORE_TABLE)
            .min(len - TRAILER.min(len))
            & !4095;
        if p.locate(from, len - from)?.is_none() {
            return Ok(None);
        }
        let Some(table) = p.locate(shoff, shnum * shentsize)? else {
            return Ok(None);
        };
        // (offset, size, name offset) of a section whose data lies inside the file.
        let section = |t: &[u8], i: u64| {
            let s = &t[(i * shentsize) as usize..][..shentsize as usize];
            let (name, off, size) = if is64 {
                (rd(s, 0, 4), rd(s, 24, 8), rd(s, 32, 8))
            } else {
                (rd(s, 0, 4), rd(s, 16, 4), rd(s, 20, 4))
            };
            off.checked_add(size)
                .filter(|&e| e <= len)
                .map(|_| (off, size, name))
        };
        let Some((names_off, names_size, _)) = section(p.at(table), shstrndx) else {
            return Ok(None);
        };
        let Some(names) = p.locate(names_off, names_size)? else {
            return Ok(None);
        };
        let (t, names) = (p.at(table), p.at(names));
        if names.last() != Some(&0) {
            return Ok(None);
        }
        let Some((off, size, _)) = (1..shnum).filter_map(|i| section(t, i)).find(|&(_, _, n)| {
            let name = names.get(n as usize..).unwrap_or_default();
            name.iter().position(|&b| b == 0).map(|e| &name[..e]) == Some(b".modinfo")
        }) else {
            return Ok(None);
        };
        let Some(modinfo) = p.locate(off, size)? else {
            return Ok(None);
        };

        // The signature: its framing from the trailer, then the bytes it frames.
        let mut signed = None;
        if let Some(tr) = p.get(len - TRAILER.min(len), TRAILER)? {
            if tr.len() as u64 == TRAILER && tr.ends_with(SIG_MAGIC) {
                // `struct module_signature`'s sig_len is big-endian on every machine.
                let framed = u64::from(tr[3]) + u64::from(tr[4]) + uint(&tr[8..12], true);
                if let Some(start) = (len - TRAILER).checked_sub(framed) {
                    signed = p.locate(start, framed + TRAILER)?;
                }
            }
        }
        let sig = signed.and_then(|s| {
            ModuleSignature::find(p.at(s))
                .ok()
                .flatten()
                .and_then(|s| s.info())
        });
        Ok(Some(super::entries(&ModInfo::parse(p.at(modinfo)), sig)))
    }
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
