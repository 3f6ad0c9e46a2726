//! Name and alias lookups over a module directory, in libkmod's order.
//!
//! libkmod (v30) resolves only through the `.bin` indexes, never the text files: a missing or
//! invalid `.bin` file means "not in this index". [`Context::lookup_alias`] follows
//! `kmod_module_new_from_lookup` (config aliases, modules.dep, modules.symbols, install/remove
//! commands, modules.alias, modules.builtin, modules.builtin.alias) and stops at the first
//! source that yields anything; [`Context::lookup_name`] follows
//! `kmod_module_new_from_name_lookup` (modules.dep, modules.builtin, modules.builtin.alias).

use crate::index::{Index, ReadMode};
use crate::{alias_normalize, fnmatch::fnmatch, modname_normalize, Config, Error};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Dep = 0,
    Alias = 1,
    Symbol = 2,
    BuiltinAlias = 3,
    Builtin = 4,
}

const FILES: [&str; 5] = [
    "modules.dep.bin",
    "modules.alias.bin",
    "modules.symbols.bin",
    "modules.builtin.alias.bin",
    "modules.builtin.bin",
];

/// How a module was found (for `--explain` and for modprobe's decisions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// modules.dep by its own name.
    Name,
    /// A modprobe.d `alias` line (pattern, file, line).
    ConfigAlias { pattern: String },
    /// modules.symbols (`symbol:NAME`).
    Symbol,
    /// A modprobe.d `install` (`remove == false`) or `remove` command for this name.
    Command { remove: bool, command: String },
    /// modules.alias.
    Alias,
    /// modules.builtin.
    Builtin,
    /// modules.builtin.alias.
    BuiltinAlias,
}

/// A module a lookup found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleRef {
    /// The module's name (normalised).
    pub name: String,
    /// Absolute path from modules.dep; `None` if the module is not in modules.dep.
    pub path: Option<PathBuf>,
    /// Built into the kernel (found through a builtin index, or listed in modules.builtin).
    pub builtin: bool,
    /// modules.dep's dependencies, absolute paths in file order (empty when not listed).
    pub deps: Vec<PathBuf>,
    /// The alias it was found for, when not found by name.
    pub alias: Option<String>,
    pub source: Source,
}

/// A module directory (`<root>/lib/modules/<release>`) and a modprobe.d configuration.
pub struct Context {
    dirname: PathBuf,
    config: Config,
    read: Box<crate::source::Reader>,
    indexes: [OnceLock<Option<Index>>; 5],
}

impl Context {
    /// A context over `dirname` with `config` (use `Config::default()` for none, as modinfo).
    pub fn new(dirname: &Path, config: Config) -> Context {
        Context {
            dirname: dirname.to_path_buf(),
            config,
            read: Box::new(crate::source::read_whole),
            indexes: Default::default(),
        }
    }

    /// Read index files with `read` (e.g. a system crate's mapping) instead of reading them
    /// whole.
    pub fn with_reader(mut self, read: Box<crate::source::Reader>) -> Context {
        self.read = read;
        self
    }

    /// libkmod's `kmod_load_resources`: map every index up front (which changes the order of
    /// equal-priority values, see [`ReadMode`]). All of them or none, except
    /// modules.builtin.alias.bin, which may be missing. Returns whether they were mapped.
    pub fn load_resources(&mut self) -> bool {
        let mut loaded: Vec<Option<Index>> = Vec::new();
        for (i, f) in FILES.iter().enumerate() {
            let idx = Index::open(&self.dirname.join(f), ReadMode::Mapped, &*self.read)
                .ok()
                .flatten();
            if idx.is_none() && i != Kind::BuiltinAlias as usize {
                return false;
            }
            loaded.push(idx);
        }
        for (i, idx) in loaded.into_iter().enumerate() {
            if idx.is_some() {
                self.indexes[i] = OnceLock::from(idx);
            }
        }
        true
    }

    pub fn dirname(&self) -> &Path {
        &self.dirname
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The index of kind `k`, read on first use. A missing file is `None` (libkmod treats it
    /// as empty); a damaged one is an error naming it, not kept, so every lookup reports it.
    fn index(&self, k: Kind) -> Result<Option<&Index>, Error> {
        let slot = &self.indexes[k as usize];
        if let Some(i) = slot.get() {
            return Ok(i.as_ref());
        }
        let idx = Index::open(
            &self.dirname.join(FILES[k as usize]),
            ReadMode::File,
            &*self.read,
        )?;
        Ok(slot.get_or_init(|| idx).as_ref())
    }

    fn search(&self, k: Kind, key: &str) -> Result<Option<String>, Error> {
        match self.index(k)? {
            Some(i) => Ok(i
                .search(key.as_bytes())?
                .map(|v| String::from_utf8_lossy(&v).into_owned())),
            None => Ok(None),
        }
    }

    fn search_wild(&self, k: Kind, key: &str) -> Result<Vec<String>, Error> {
        match self.index(k)? {
            Some(i) => Ok(i
                .search_wild(key.as_bytes())?
                .into_iter()
                .map(|v| String::from_utf8_lossy(&v.value).into_owned())
                .collect()),
            None => Ok(Vec::new()),
        }
    }

    /// libkmod's `path_join` of a modules.dep path: absolute as written, else under dirname.
    fn dep_path(&self, p: &str) -> PathBuf {
        if p.starts_with('/') {
            PathBuf::from(p)
        } else {
            let mut s = self.dirname.clone().into_os_string();
            s.push("/");
            s.push(p);
            PathBuf::from(s)
        }
    }

    /// modules.dep's line for `name`: (path, dependencies).
    pub fn moddep(&self, name: &str) -> Result<Option<(PathBuf, Vec<PathBuf>)>, Error> {
        let Some(line) = self.search(Kind::Dep, name)? else {
            return Ok(None);
        };
        let Some((p, deps)) = line.split_once(':') else {
            return Ok(None);
        };
        Ok(Some((
            self.dep_path(p),
            deps.split([' ', '\t'])
                .filter(|d| !d.is_empty())
                .map(|d| self.dep_path(d))
                .collect(),
        )))
    }

    /// `kmod_dump_index` of modules.alias (`symbols == false`) or modules.symbols: every key
    /// with each of its values, as `alias KEY VALUE` lines in trie order.
    pub fn dump_index(&self, symbols: bool) -> Result<Vec<u8>, Error> {
        let k = if symbols { Kind::Symbol } else { Kind::Alias };
        let mut out = Vec::new();
        if let Some(idx) = self.index(k)? {
            for (key, values) in idx.entries()? {
                for v in values {
                    out.extend_from_slice(b"alias ");
                    out.extend_from_slice(&key);
                    out.push(b' ');
                    out.extend_from_slice(&v.value);
                    out.push(b'\n');
                }
            }
        }
        Ok(out)
    }

    /// Is `name` listed in modules.builtin.bin?
    pub fn is_builtin(&self, name: &str) -> Result<bool, Error> {
        Ok(self.search(Kind::Builtin, name)?.is_some())
    }

    /// A module created by name (`kmod_module_new_from_name`/`_from_alias`): its path and
    /// dependencies come lazily from modules.dep, its builtin flag from modules.builtin.
    fn module(
        &self,
        name: &str,
        alias: Option<&str>,
        builtin: bool,
        source: Source,
    ) -> Result<ModuleRef, Error> {
        let (path, deps) = match self.moddep(name)? {
            Some((p, d)) => (Some(p), d),
            None => (None, Vec::new()),
        };
        let builtin = builtin || self.is_builtin(name)?;
        Ok(ModuleRef {
            name: name.to_string(),
            path,
            builtin,
            deps,
            alias: alias.map(str::to_string),
            source,
        })
    }

    /// `kmod_module_new_from_name_lookup`: modules.dep, then modules.builtin, then
    /// modules.builtin.alias (whose first match is taken).
    pub fn lookup_name(&self, name: &str) -> Result<Option<ModuleRef>, Error> {
        let name = modname_normalize(name);
        if !name.contains(':') && self.search(Kind::Dep, &name)?.is_some() {
            return self.module(&name, None, false, Source::Name).map(Some);
        }
        if self.search(Kind::Builtin, &name)?.is_some() {
            return self.module(&name, None, true, Source::Builtin).map(Some);
        }
        if let Some(real) = self.search_wild(Kind::BuiltinAlias, &name)?.first() {
            return self
                .module(real, Some(&name), true, Source::BuiltinAlias)
                .map(Some);
        }
        Ok(None)
    }

    /// `kmod_module_new_from_lookup`: every module the first matching source yields.
    pub fn lookup_alias(&self, alias: &str) -> Result<Vec<ModuleRef>, Error> {
        let alias = alias_normalize(alias)?;
        let a = alias.as_str();
        let mut out = Vec::new();
        for (pattern, modname, _) in &self.config.aliases {
            if fnmatch(pattern.as_bytes(), a.as_bytes()) {
                let src = Source::ConfigAlias {
                    pattern: pattern.clone(),
                };
                out.push(self.module(modname, Some(pattern), false, src)?);
            }
        }
        if !out.is_empty() {
            return Ok(out);
        }
        if !a.contains(':') && self.search(Kind::Dep, a)?.is_some() {
            return Ok(vec![self.module(a, None, false, Source::Name)?]);
        }
        if a.starts_with("symbol:") {
            for real in self.search_wild(Kind::Symbol, a)? {
                out.push(self.module(&real, Some(a), false, Source::Symbol)?);
            }
            if !out.is_empty() {
                return Ok(out);
            }
        }
        for (remove, list) in [(false, &self.config.install), (true, &self.config.remove)] {
            if let Some((_, command, _)) = list.iter().find(|(m, _, _)| m == a) {
                let src = Source::Command {
                    remove,
                    command: command.clone(),
                };
                return Ok(vec![self.module(a, None, false, src)?]);
            }
        }
        for real in self.search_wild(Kind::Alias, a)? {
            out.push(self.module(&real, Some(a), false, Source::Alias)?);
        }
        if !out.is_empty() {
            return Ok(out);
        }
        if self.search(Kind::Builtin, a)?.is_some() {
            return Ok(vec![self.module(a, None, true, Source::Builtin)?]);
        }
        for real in self.search_wild(Kind::BuiltinAlias, a)? {
            out.push(self.module(&real, Some(a), true, Source::BuiltinAlias)?);
        }
        Ok(out)
    }

    /// The builtin module's `.modinfo` entries from modules.builtin.modinfo: `Ok(None)` when
    /// the file does not exist (an old kernel), [`Error::NoBuiltinModinfo`] when it has no
    /// entry for `name`.
    #[allow(clippy::type_complexity)]
    pub fn builtin_modinfo(&self, name: &str) -> Result<Option<Vec<(Vec<u8>, Vec<u8>)>>, Error> {
        let path = self.dirname.join("modules.builtin.modinfo");
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(path, e)),
        };
        match crate::builtin::modinfo(&data, name) {
            Some(v) => Ok(Some(v)),
            None => Err(Error::NoBuiltinModinfo {
                path,
                name: name.to_string(),
            }),
        }
    }
}
