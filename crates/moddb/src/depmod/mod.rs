//! `depmod`: scan a module tree and write kmod's index files, byte for byte as kmod's
//! tools/depmod.c does (kmod 34 or kmod 30, [`Options::kmod`]: they differ in the `.bin`
//! layout, `modules.weakdep`, `-m`/`-o`, and modules listed twice in modules.order).
//!
//! The order of everything written is kmod's: modules by modules.order line (the rest in the
//! iteration order of kmod's name hash, see [`hash`]), dependencies by a topological sort
//! whose tie-breaking is reproduced step by step, modules.symbols in symbol-hash order. The
//! one thing done differently is the work: module files are read and parsed in parallel
//! (rayon), then everything order-dependent runs sequentially over the results.
//!
//! Output files are built in memory and handed to a [`Store`] as one set: the real store
//! (`modsys::live::write_index_set`) stages each under a unique temporary name, then renames
//! them all into place under a lock on the directory, so a reader sees old files or new ones
//! and two depmods never interleave their sets.

pub mod cfg;
pub mod hash;

/// The trie writer, now beside its reader in [`crate::index`].
pub use crate::index::writer;
use crate::index::writer::Trie;
use crate::{alias_normalize, Error};
use cfg::{Cfg, Search};
use rayon::prelude::*;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Message levels, as kmod's log prefixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Fatal = 2,
    Error = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Fatal => "FATAL",
            Level::Error => "ERROR",
            Level::Warning => "WARNING",
            Level::Notice => "NOTICE",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
        }
    }
}

/// Where depmod's messages go: `message` for stderr lines (already filtered by verbosity),
/// `show` for what kmod prints on stdout with `-v`.
pub struct Log<'a> {
    pub verbose: i32,
    pub message: &'a mut dyn FnMut(Level, &str),
    pub show: &'a mut dyn FnMut(&str),
}

impl Log<'_> {
    fn at(&mut self, l: Level, s: String) {
        if (l as i32) <= self.verbose {
            (self.message)(l, &s);
        }
    }
    pub(crate) fn err(&mut self, s: String) {
        self.at(Level::Error, s)
    }
    pub(crate) fn warn(&mut self, s: String) {
        self.at(Level::Warning, s)
    }
    pub(crate) fn info(&mut self, s: String) {
        self.at(Level::Info, s)
    }
    fn show(&mut self, s: String) {
        if self.verbose > Level::Warning as i32 {
            (self.show)(&s);
        }
    }
}

/// strerror text of an I/O error, without Rust's " (os error N)".
pub fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// What to do (depmod's command line, parsed).
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `-b`: absolute root directory.
    pub basedir: Option<String>,
    pub kversion: String,
    /// `-C` paths; `None` for the default depmod.d directories.
    pub config_paths: Option<Vec<PathBuf>>,
    /// `-E Module.symvers`.
    pub symvers: Option<PathBuf>,
    /// `-F System.map`.
    pub system_map: Option<PathBuf>,
    /// `-e`.
    pub print_unknown: bool,
    /// `-w`.
    pub warn_dups: bool,
    /// `-P`.
    pub sym_prefix: u8,
    /// Scan the whole tree (`-a`, or no module arguments).
    pub all: bool,
    /// `-A`: do nothing if modules.dep is newer than every module.
    pub quick: bool,
    /// `-n`: write the text files to this stream instead of the directory.
    pub dry_run: bool,
    /// Absolute module paths given on the command line (when not `all`).
    pub modules: Vec<String>,
    /// Which kmod's output to reproduce.
    pub kmod: crate::Kmod,
    /// `-m`/`--moduledir` (kmod 34): the module directory under the base directory, instead
    /// of `/lib/modules`.
    pub moduledir: Option<String>,
    /// `-o`/`--outdir` (kmod 31+): absolute directory to write under instead of the base
    /// directory (the module directory path is appended to it).
    pub outdir: Option<String>,
}

/// kmod's built-in module directory (Debian's kmod 30 and 34).
pub const MODULE_DIRECTORY: &str = "/lib/modules";

impl Options {
    /// `<basedir>/lib/modules/<kversion>` (the module directory given with `-m` instead of
    /// `lib/modules`, leading slashes dropped, as kmod 34 does).
    pub fn dirname(&self) -> String {
        self.dir_under(self.basedir.as_deref().unwrap_or(""))
    }

    /// Where the files are written: [`Options::dirname`] under `-o`'s directory if given.
    pub fn outdirname(&self) -> String {
        match &self.outdir {
            Some(o) => self.dir_under(o),
            None => self.dirname(),
        }
    }

    fn dir_under(&self, root: &str) -> String {
        let m = self.moduledir.as_deref().unwrap_or(MODULE_DIRECTORY);
        format!("{root}/{}/{}", m.trim_start_matches('/'), self.kversion)
    }
}

/// Extensions kmod 30 (Debian: +XZ +ZSTD -ZLIB) recognises as module files.
const KMOD_EXTS: [&str; 3] = [".ko", ".ko.xz", ".ko.zst"];

fn has_kmod_ext(name: &str) -> bool {
    KMOD_EXTS.iter().any(|e| name.ends_with(e))
}

/// libkmod's `path_to_modname`: the base name up to its first '.', '-' made '_'.
fn path_to_modname(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    crate::modname_normalize(base)
}

/// A module found in the tree.
struct Mod {
    path: String,
    /// Offset of the last '/' in `path`.
    baselen: usize,
    /// Path relative to the module directory, if inside it.
    relpath: Option<String>,
    /// `relpath` cut to `dir/` + as many base-name bytes as `modname` has + ".ko" (kmod's
    /// `uncrelpath`, matched against modules.order).
    uncrelpath: Option<String>,
    modname: String,
    sort_idx: i64,
}

/// What a module file yielded.
#[derive(Default)]
struct Loaded {
    exports: Vec<modfile::Symbol>,
    deps: Vec<modfile::Symbol>,
    /// `.modinfo` (key, value) pairs.
    info: Vec<(String, String)>,
    /// kmod's "failed to load symbols" message, if any.
    error: Option<String>,
}

struct Symbol {
    owner: Option<usize>,
    crc: u64,
}

/// The scanning and dependency state of one depmod run.
struct Depmod {
    dirname: String,
    cfg: Cfg,
    /// Modules by name, each with its record (kmod's `modules_by_name`).
    by_name: hash::FxMap<String, Mod>,
}

pub use crate::source::{read_whole, Bytes, Reader};

/// The result of a run, for the caller's exit status.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Files written (or printed with `-n`).
    Written,
    /// `-A` found everything up to date.
    UpToDate,
    /// Dependency cycles were found; nothing was written.
    Cycles,
}

/// Where depmod's output files go (unless `-n`): the whole set of one run at once, in kmod's
/// order, so that a store can replace them together and keep two runs from interleaving.
/// `modsys::live::write_index_set` is the real one (safeio's staged files, committed under
/// a lock on the directory); this crate writes no files itself.
pub trait Store {
    fn write_set(&mut self, dir: &Path, files: Vec<(&'static str, Vec<u8>)>) -> Result<(), Error>;
}

/// A [`Store`] that keeps the files in memory (for tests and for callers that only want the
/// bytes).
#[derive(Debug, Default)]
pub struct InMemory {
    pub dir: PathBuf,
    pub files: Vec<(&'static str, Vec<u8>)>,
}

impl Store for InMemory {
    fn write_set(&mut self, dir: &Path, files: Vec<(&'static str, Vec<u8>)>) -> Result<(), Error> {
        self.dir = dir.to_path_buf();
        self.files = files;
        Ok(())
    }
}

/// Run depmod. `out` receives the text files with `-n` (kmod writes them to stdout); `store`
/// gets the files otherwise.
pub fn run(
    opts: &Options,
    read: &Reader,
    out: &mut dyn Write,
    log: &mut Log<'_>,
    store: &mut dyn Store,
) -> Result<Outcome, Error> {
    let dirname = opts.dirname();
    if opts.quick {
        if opts.dry_run {
            return Ok(Outcome::UpToDate);
        }
        if up_to_date(&dirname) {
            return Ok(Outcome::UpToDate);
        }
    }
    let mut d = Depmod {
        dirname: dirname.clone(),
        cfg: Cfg::default(),
        by_name: hash::FxMap::default(),
    };
    let mut symbols: hash::FxMap<String, Symbol> = hash::FxMap::default();
    let strip = |name: &str| -> String {
        match name.as_bytes().first() {
            Some(&c) if c == opts.sym_prefix => name[1..].to_string(),
            _ => name.to_string(),
        }
    };
    let fake = |symbols: &mut hash::FxMap<String, Symbol>| {
        for s in ["__this_module", "_GLOBAL_OFFSET_TABLE_"] {
            symbols.insert(
                s.into(),
                Symbol {
                    owner: None,
                    crc: 0,
                },
            );
        }
        let toc = strip("TOC.");
        if !symbols.contains_key(&toc) {
            symbols.insert(
                "TOC.".into(),
                Symbol {
                    owner: None,
                    crc: 0,
                },
            );
        }
    };
    let mut print_unknown = opts.print_unknown;
    if let Some(f) = &opts.symvers {
        load_symvers(f, &strip, &mut symbols, log)?;
        fake(&mut symbols);
    } else if let Some(f) = &opts.system_map {
        load_system_map(f, opts.sym_prefix, &mut symbols, log)?;
        fake(&mut symbols);
    } else if print_unknown {
        log.warn("-e needs -E or -F\n".into());
        print_unknown = false;
    }
    let check_symvers = opts.symvers.is_some();

    if opts.all {
        let paths: Vec<PathBuf> = match &opts.config_paths {
            Some(p) => p.clone(),
            None => cfg::default_paths(opts.kmod)
                .iter()
                .map(PathBuf::from)
                .collect(),
        };
        d.cfg = Cfg::load(&opts.kversion, &paths, log);
        d.search(log)?;
    } else {
        for p in &opts.modules {
            if !p.starts_with('/') {
                return Err(Error::Other(format!("{p}: not absolute path.")));
            }
            if let Err(e) = std::fs::metadata(p) {
                return Err(Error::Other(format!(
                    "could not create module {p}: {}",
                    strerror(&e)
                )));
            }
            let m = d.new_mod(p);
            if d.by_name.contains_key(&m.modname) {
                return Err(Error::Other(format!(
                    "could not add module {p}: File exists"
                )));
            }
            d.by_name.insert(m.modname.clone(), m);
        }
    }

    // kmod's array: hash iteration order, then a stable sort by modules.order position.
    let mut mods: Vec<Mod> = d.by_name.drain().map(|(_, m)| m).collect();
    mods.sort_by_cached_key(|m| {
        (
            hash::superfast(m.modname.as_bytes()) & 511,
            m.modname.clone(),
        )
    });
    d.sort_by_order(&mut mods, opts.kmod, log);

    // Read every module in parallel.
    let loaded: Vec<Loaded> = mods
        .par_iter()
        .map(|m| load_module(&m.path, read, opts.kmod))
        .collect();

    for (i, l) in loaded.iter().enumerate() {
        if let Some(e) = &l.error {
            log.err(format!(
                "failed to load symbols from {}: {}\n",
                mods[i].path, e
            ));
        }
        for s in &l.exports {
            symbols.insert(
                strip(&s.name),
                Symbol {
                    owner: Some(i),
                    crc: s.crc,
                },
            );
        }
    }

    // Dependencies from undefined symbols: resolved for every module at once (the symbol
    // table is only read), then counted and reported in module order.
    let n = mods.len();
    enum Found {
        Unknown(usize),
        Disagrees(usize),
        Dep(usize, usize),
    }
    let found: Vec<Vec<Found>> = loaded
        .par_iter()
        .map(|l| {
            let mut f = Vec::new();
            let mut seen: Vec<usize> = Vec::new();
            for (k, s) in l.deps.iter().enumerate() {
                let mut name = s.name.as_str();
                if let Some(r) = name.strip_prefix('.') {
                    name = r;
                }
                if name.as_bytes().first() == Some(&opts.sym_prefix) {
                    name = &name[1..];
                }
                let weak = s.bind == modfile::Bind::Weak;
                let Some(sym) = symbols.get(name) else {
                    if print_unknown && !weak {
                        f.push(Found::Unknown(k));
                    }
                    continue;
                };
                if check_symvers && sym.crc != s.crc && !weak && print_unknown {
                    f.push(Found::Disagrees(k));
                }
                let Some(owner) = sym.owner else { continue };
                if seen.contains(&owner) {
                    continue;
                }
                seen.push(owner);
                f.push(Found::Dep(k, owner));
            }
            f
        })
        .collect();
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut users = vec![0u32; n];
    for (i, f) in found.into_iter().enumerate() {
        let m = &mods[i];
        let l = &loaded[i];
        for x in f {
            match x {
                Found::Unknown(k) => log.warn(format!(
                    "{} needs unknown symbol {}\n",
                    m.path, l.deps[k].name
                )),
                Found::Disagrees(k) => log.warn(format!(
                    "{} disagrees about version of symbol {}\n",
                    m.path, l.deps[k].name
                )),
                Found::Dep(k, owner) => {
                    deps[i].push(owner);
                    users[owner] += 1;
                    let mut name = l.deps[k].name.as_str();
                    if let Some(r) = name.strip_prefix('.') {
                        name = r;
                    }
                    if name.as_bytes().first() == Some(&opts.sym_prefix) {
                        name = &name[1..];
                    }
                    log.show(format!(
                        "{} needs \"{}\": {}\n",
                        m.path, name, mods[owner].path
                    ));
                }
            }
        }
    }

    // Topological sort, exactly as depmod_calculate_dependencies.
    let mut dep_sort_idx = vec![i64::from(i32::MAX); n];
    let mut left = users.clone();
    let mut roots: Vec<usize> = (0..n).filter(|&i| left[i] == 0).collect();
    let mut n_sorted = 0;
    while let Some(src) = roots.pop() {
        dep_sort_idx[src] = n_sorted;
        n_sorted += 1;
        for &dst in &deps[src] {
            left[dst] -= 1;
            if left[dst] == 0 {
                roots.push(dst);
            }
        }
    }
    if (n_sorted as usize) < n {
        report_cycles(&mods, &deps, &left, log);
        return Ok(Outcome::Cycles);
    }

    let mut ctx = Output {
        mods: &mods,
        loaded: &loaded,
        deps: &deps,
        dep_sort_idx: &dep_sort_idx,
        symbols: &symbols,
        dirname: &dirname,
        warn_dups: opts.warn_dups,
        kmod: opts.kmod,
        dep_lines: Vec::new(),
    };
    let files = files(opts.kmod);
    ctx.dep_lines = (0..n).into_par_iter().map(|i| ctx.dep_line(i)).collect();
    if opts.dry_run {
        for (_, f) in &files {
            let mut msgs = Vec::new();
            let text = f(&ctx, &mut msgs, true);
            for (l, m) in msgs {
                log.at(l, m);
            }
            if let Some(text) = text {
                out.write_all(&text).map_err(|e| Error::io("<stdout>", e))?;
            }
        }
        return Ok(Outcome::Written);
    }
    // Build every file (in parallel), then replace them in kmod's order, printing each
    // file's messages as kmod would while writing it.
    let built: Vec<(Option<Vec<u8>>, Msgs)> = files
        .par_iter()
        .map(|(_, f)| {
            let mut msgs = Vec::new();
            let bytes = f(&ctx, &mut msgs, false);
            (bytes, msgs)
        })
        .collect();
    let mut set = Vec::new();
    for ((name, _), (bytes, msgs)) in files.iter().zip(built) {
        for (l, m) in msgs {
            log.at(l, m);
        }
        if let Some(bytes) = bytes {
            set.push((*name, bytes));
        }
    }
    store.write_set(Path::new(&opts.outdirname()), set)?;
    Ok(Outcome::Written)
}

type Msgs = Vec<(Level, String)>;

impl Depmod {
    fn new_mod(&self, path: &str) -> Mod {
        let modname = path_to_modname(path);
        let baselen = path.rfind('/').unwrap_or(0);
        let d = &self.dirname;
        let relpath = (path.len() > d.len()
            && path.starts_with(d.as_str())
            && path.as_bytes()[d.len()] == b'/')
            .then(|| path[d.len() + 1..].to_string());
        let uncrelpath = relpath.as_ref().map(|r| {
            let rb = r.as_bytes();
            let slash = baselen - (d.len() + 1);
            let len = (slash + 1 + modname.len() + 3).min(rb.len());
            let mut u = rb[..len].to_vec();
            // kmod copies then writes ".ko"-length bytes of the original name; a name
            // shorter than that keeps what it has.
            if u.len() < slash + 1 + modname.len() + 3 {
                u.resize(slash + 1 + modname.len() + 3, 0);
            }
            String::from_utf8_lossy(&u).into_owned()
        });
        Mod {
            path: path.to_string(),
            baselen,
            relpath,
            uncrelpath,
            modname,
            sort_idx: 1,
        }
    }

    /// `depmod_module_is_higher_priority`: whether the module already found (`old`) wins
    /// over `newpath`.
    fn old_wins(&self, old: &Mod, newpath: &str, baselen: usize, modnamelen: usize) -> bool {
        let dn = self.dirname.len();
        let newlen = baselen + modnamelen;
        let oldlen = old.baselen + old.modname.len() + 1;
        let (nb, ob) = (newpath.as_bytes(), old.path.as_bytes());
        let rel = |p: &[u8], len: usize| -> Option<Vec<u8>> {
            (p.starts_with(self.dirname.as_bytes()) && len > dn)
                .then(|| p.get(dn + 1..len.min(p.len())).unwrap_or_default().to_vec())
        };
        let relnew = rel(nb, newlen);
        let relold = rel(ob, oldlen);
        for ov in &self.cfg.overrides {
            if relnew.as_deref() == Some(ov.as_bytes()) {
                return false;
            }
            if relold.as_deref() == Some(ov.as_bytes()) {
                return true;
            }
        }
        let under = |rel: &Option<Vec<u8>>, dir: &str| -> bool {
            rel.as_ref().is_some_and(|r| {
                r.len() > dir.len() && r[dir.len()] == b'/' && r.starts_with(dir.as_bytes())
            })
        };
        let starts = |p: &[u8], len: usize, dir: &str| -> bool {
            len > dir.len() && p.get(dir.len()) == Some(&b'/') && p.starts_with(dir.as_bytes())
        };
        let (mut bprio, mut oldprio, mut newprio) = (-1i64, -1i64, -1i64);
        let mut i = 0i64;
        for se in &self.cfg.searches {
            match se {
                Search::Builtin => bprio = i,
                Search::External => {
                    for ext in &self.cfg.externals {
                        if starts(nb, newlen, ext) {
                            newprio = i;
                        }
                        if starts(ob, oldlen, ext) {
                            oldprio = i;
                        }
                        i += 1;
                    }
                }
                Search::Path(p) => {
                    if under(&relnew, p) {
                        newprio = i;
                    } else if under(&relold, p) {
                        oldprio = i;
                    }
                }
            }
            i += 1;
        }
        if newprio < 0 {
            newprio = bprio;
        }
        if oldprio < 0 {
            oldprio = bprio;
        }
        newprio <= oldprio
    }

    fn search_file(&mut self, path: &str, name: &str) {
        if !has_kmod_ext(name) {
            return;
        }
        let modname = path_to_modname(path);
        if let Some(old) = self.by_name.get(&modname) {
            let baselen = path.len() - name.len();
            if self.old_wins(old, path, baselen, modname.len()) {
                return;
            }
            self.by_name.remove(&modname);
        }
        let m = self.new_mod(path);
        self.by_name.insert(modname, m);
    }

    fn excluded(&self, name: &str) -> bool {
        name == "build" || name == "source" || self.cfg.excludes.iter().any(|e| e == name)
    }

    fn search_dir(&mut self, dir: &str, log: &mut Log<'_>) -> std::io::Result<()> {
        let rd = std::fs::read_dir(dir)?;
        for e in rd {
            let Ok(e) = e else { continue };
            let name = e.file_name().to_string_lossy().into_owned();
            if self.excluded(&name) {
                continue;
            }
            let path = format!("{dir}/{name}");
            let is_dir = match e.file_type() {
                Ok(t) if t.is_file() => false,
                Ok(t) if t.is_dir() => true,
                _ => match std::fs::metadata(&path) {
                    Ok(m) if m.is_file() => false,
                    Ok(m) if m.is_dir() => true,
                    Ok(_) => {
                        log.err(format!("unsupported file type {path}\n"));
                        continue;
                    }
                    Err(err) => {
                        log.err(format!("fstatat({name}): {}\n", strerror(&err)));
                        continue;
                    }
                },
            };
            if is_dir {
                if let Err(err) = self.search_dir(&path, log) {
                    log.err(format!("openat({name}, O_RDONLY): {}\n", strerror(&err)));
                }
            } else {
                self.search_file(&path, &name);
            }
        }
        Ok(())
    }

    /// `depmod_modules_search`: the module directory, then external directories.
    fn search(&mut self, log: &mut Log<'_>) -> Result<(), Error> {
        let dirname = self.dirname.clone();
        if let Err(e) = self.search_dir(&dirname, log) {
            log.err(format!(
                "could not open directory {dirname}: {}\n",
                strerror(&e)
            ));
            return Err(Error::Other(format!(
                "could not search modules: {}",
                strerror(&e)
            )));
        }
        for ext in self.cfg.externals.clone() {
            if let Err(e) = self.search_dir(&ext, log) {
                log.err(format!(
                    "could not open directory {ext}: {}\n",
                    strerror(&e)
                ));
            }
        }
        Ok(())
    }

    /// `depmod_modules_sort`: modules listed in modules.order first, in its order (a module
    /// listed twice: its last line with kmod 30, its first with kmod 34).
    fn sort_by_order(&self, mods: &mut [Mod], kmod: crate::Kmod, log: &mut Log<'_>) {
        let file = format!("{}/modules.order", self.dirname);
        let Ok(data) = std::fs::read(&file) else {
            log.warn(format!(
                "could not open modules.order at {}: No such file or directory\n",
                self.dirname
            ));
            return;
        };
        let lines: Vec<&[u8]> = data.split_inclusive(|&b| b == b'\n').collect();
        if let Some(pos) = lines.iter().position(|l| !l.ends_with(b"\n")) {
            log.err(format!(
                "{}/modules.order:{} corrupted line misses '\\n'\n",
                self.dirname,
                pos + 1
            ));
            return;
        }
        let total = lines.len() as i64 + 1;
        let by_unc: HashMap<&str, usize> = mods
            .iter()
            .enumerate()
            .filter_map(|(i, m)| m.uncrelpath.as_deref().map(|u| (u, i)))
            .collect();
        let mut idx_of: Vec<i64> = mods.iter().map(|m| m.sort_idx).collect();
        for (n, l) in lines.iter().enumerate() {
            let l = &l[..l.len() - 1];
            if let Some(&i) = std::str::from_utf8(l).ok().and_then(|s| by_unc.get(s)) {
                // Both are negative, increasing with the line: only the ties differ.
                match kmod {
                    crate::Kmod::V30 => idx_of[i] = n as i64 + 1 - total,
                    crate::Kmod::V34 if idx_of[i] >= 0 => idx_of[i] = n as i64 + 1 - total,
                    crate::Kmod::V34 => {}
                }
            }
        }
        for (m, i) in mods.iter_mut().zip(idx_of) {
            m.sort_idx = i;
        }
        mods.sort_by_key(|m| m.sort_idx);
    }
}

/// Read one module: exported symbols, undefined symbols, `.modinfo`.
fn load_module(path: &str, read: &Reader, kmod: crate::Kmod) -> Loaded {
    let mut l = Loaded::default();
    let bytes = match read(Path::new(path)) {
        Ok(b) => b,
        Err(e) => {
            l.error = Some(strerror(&e));
            return l;
        }
    };
    let module = match modfile::Module::parse(&bytes) {
        Ok(m) => m,
        Err(e) => {
            l.error = Some(e.to_string());
            return l;
        }
    };
    match module.exported_symbols() {
        Ok(s) => l.exports = s,
        Err(e) => l.error = Some(e.to_string()),
    }
    l.deps = module.dependency_symbols().unwrap_or_default();
    l.info = module
        .modinfo()
        .iter()
        .filter(|(k, _)| {
            *k == b"alias" || *k == b"softdep" || (kmod >= crate::Kmod::V34 && *k == b"weakdep")
        })
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect();
    l
}

fn load_symvers(
    file: &Path,
    strip: &dyn Fn(&str) -> String,
    symbols: &mut hash::FxMap<String, Symbol>,
    log: &mut Log<'_>,
) -> Result<(), Error> {
    let data = std::fs::read(file).map_err(|e| {
        Error::Other(format!(
            "could not load {}: {}",
            file.display(),
            strerror(&e)
        ))
    })?;
    for (n, line) in String::from_utf8_lossy(&data).lines().enumerate() {
        let mut w = line.split([' ', '\t']).filter(|s| !s.is_empty());
        let (Some(ver), Some(sym), Some(wh)) = (w.next(), w.next(), w.next()) else {
            continue;
        };
        if wh != "vmlinux" {
            continue;
        }
        let hex = ver
            .strip_prefix("0x")
            .or_else(|| ver.strip_prefix("0X"))
            .unwrap_or(ver);
        let Ok(crc) = u64::from_str_radix(hex, 16) else {
            log.err(format!(
                "{}:{} Invalid symbol version {}: Success\n",
                file.display(),
                n + 1,
                ver
            ));
            continue;
        };
        symbols.insert(strip(sym), Symbol { owner: None, crc });
    }
    Ok(())
}

fn load_system_map(
    file: &Path,
    prefix: u8,
    symbols: &mut hash::FxMap<String, Symbol>,
    log: &mut Log<'_>,
) -> Result<(), Error> {
    let data = std::fs::read(file).map_err(|e| {
        Error::Other(format!(
            "could not load {}: {}",
            file.display(),
            strerror(&e)
        ))
    })?;
    for (n, line) in String::from_utf8_lossy(&data)
        .split_inclusive('\n')
        .enumerate()
    {
        let mut parts = line.splitn(3, ' ');
        let (Some(_), Some(_), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
            log.err(format!(
                "{}:{}: invalid line: {}",
                file.display(),
                n + 1,
                line
            ));
            continue;
        };
        let mut p = rest;
        if p.as_bytes().first() == Some(&prefix) {
            p = &p[1..];
        }
        let Some(sym) = p.strip_prefix("__ksymtab_") else {
            continue;
        };
        let sym = sym.split('\n').next().unwrap_or(sym);
        symbols.insert(
            sym.to_string(),
            Symbol {
                owner: None,
                crc: 0,
            },
        );
    }
    Ok(())
}

const MAX_CYCLE_WALK: usize = 4_000_000;

/// `depmod_report_cycles`: walk from every module still holding users and print each cycle.
fn report_cycles(mods: &[Mod], deps: &[Vec<usize>], users: &[u32], log: &mut Log<'_>) {
    let mut roots: Vec<usize> = (0..mods.len()).filter(|&i| users[i] > 0).collect();
    let mut visited = vec![false; mods.len()];
    let mut loop_set: std::collections::HashSet<&str> = Default::default();
    let remove = |roots: &mut Vec<usize>, m: usize| {
        if let Some(p) = roots.iter().position(|&r| r == m) {
            roots.remove(p);
        }
    };
    // Vertices: (module, parent vertex).
    while !roots.is_empty() {
        let root = roots.remove(0);
        let mut verts: Vec<(usize, Option<usize>)> = vec![(root, None)];
        let mut stack = vec![0usize];
        while let Some(v) = stack.pop() {
            let m = verts[v].0;
            if visited[m] && m == root {
                let mut chain = Vec::new();
                let mut p = verts[v].1;
                while let Some(pv) = p {
                    chain.push(verts[pv].0);
                    loop_set.insert(&mods[verts[pv].0].modname);
                    p = verts[pv].1;
                }
                let mut s = String::new();
                for &c in chain.iter().rev() {
                    s.push_str(&mods[c].modname);
                    s.push_str(" -> ");
                    remove(&mut roots, c);
                }
                s.push_str(&mods[m].modname);
                log.err(format!("Cycle detected: {s}\n"));
                continue;
            }
            visited[m] = true;
            if deps[m].is_empty() {
                remove(&mut roots, m);
                continue;
            }
            // kmod 30's walk has no bound: a path from a cycle root into a different cycle
            // loops (and allocates) forever. Stop where kmod would exhaust memory instead.
            if verts.len() > MAX_CYCLE_WALK {
                log.err(format!(
                    "Cycle report from {} stopped after {MAX_CYCLE_WALK} steps (a path leads into another cycle)\n",
                    mods[root].modname
                ));
                break;
            }
            for &d in &deps[m] {
                verts.push((d, Some(v)));
                stack.push(verts.len() - 1);
            }
        }
    }
    log.err(format!(
        "Found {} modules in dependency cycles!\n",
        loop_set.len()
    ));
}

/// Everything the output files are made from.
struct Output<'a> {
    mods: &'a [Mod],
    loaded: &'a [Loaded],
    deps: &'a [Vec<usize>],
    dep_sort_idx: &'a [i64],
    symbols: &'a hash::FxMap<String, Symbol>,
    dirname: &'a str,
    warn_dups: bool,
    kmod: crate::Kmod,
    /// modules.dep's line of each module (shared by the text and binary files).
    dep_lines: Vec<String>,
}

type Builder = fn(&Output<'_>, &mut Msgs, bool) -> Option<Vec<u8>>;

/// The files depmod writes, in its order; a builder returns `None` when it writes nothing
/// (binary files with `-n`, a builtin index without its source file).
fn files(kmod: crate::Kmod) -> Vec<(&'static str, Builder)> {
    FILES
        .iter()
        .copied()
        .filter(|(name, _)| kmod >= crate::Kmod::V34 || *name != "modules.weakdep")
        .collect()
}

/// The names of the files depmod writes, in its order.
pub fn file_names(kmod: crate::Kmod) -> Vec<&'static str> {
    files(kmod).into_iter().map(|(n, _)| n).collect()
}

const FILES: [(&str, Builder); 11] = [
    ("modules.dep", out_deps),
    ("modules.dep.bin", out_deps_bin),
    ("modules.alias", out_aliases),
    ("modules.alias.bin", out_aliases_bin),
    ("modules.softdep", out_softdeps),
    ("modules.weakdep", out_weakdeps),
    ("modules.symbols", out_symbols),
    ("modules.symbols.bin", out_symbols_bin),
    ("modules.builtin.bin", out_builtin_bin),
    ("modules.builtin.alias.bin", out_builtin_alias_bin),
    ("modules.devname", out_devname),
];

impl Output<'_> {
    fn shown_path(&self, i: usize) -> &str {
        let m = &self.mods[i];
        m.relpath.as_deref().unwrap_or(&m.path)
    }

    /// All dependencies, transitively, sorted by topological index.
    fn all_deps(&self, i: usize) -> Vec<usize> {
        let mut seen = vec![];
        let mut stack: Vec<usize> = self.deps[i].iter().rev().copied().collect();
        let mut mark = std::collections::HashSet::new();
        while let Some(d) = stack.pop() {
            if !mark.insert(d) {
                continue;
            }
            seen.push(d);
            stack.extend(self.deps[d].iter().rev());
        }
        seen.sort_by_key(|&d| self.dep_sort_idx[d]);
        seen
    }

    fn dep_line(&self, i: usize) -> String {
        let mut s = String::with_capacity(128);
        s.push_str(self.shown_path(i));
        s.push(':');
        for d in self.all_deps(i) {
            s.push(' ');
            s.push_str(self.shown_path(d));
        }
        s
    }

    /// Symbols with an owner, in kmod's hash iteration order.
    fn symbol_order(&self) -> Vec<(&str, usize)> {
        let mut v: Vec<(&str, usize)> = self
            .symbols
            .iter()
            .filter_map(|(k, s)| s.owner.map(|o| (k.as_str(), o)))
            .collect();
        v.sort_by_cached_key(|&(name, _)| (hash::superfast(name.as_bytes()) & 2047, name));
        v
    }
}

fn out_deps(o: &Output<'_>, _: &mut Msgs, _: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(o.mods.len() * 64);
    for i in 0..o.mods.len() {
        out.extend_from_slice(o.dep_lines[i].as_bytes());
        out.push(b'\n');
    }
    Some(out)
}

fn out_deps_bin(o: &Output<'_>, msgs: &mut Msgs, dry: bool) -> Option<Vec<u8>> {
    if dry {
        return None;
    }
    let mut t = Trie::new();
    for (i, m) in o.mods.iter().enumerate() {
        let line = &o.dep_lines[i];
        if t.insert(m.modname.as_bytes(), line.as_bytes(), i as u32) && o.warn_dups {
            msgs.push((Level::Warning, format!("duplicate module deps:\n{line}\n")));
        }
    }
    Some(t.write_for(o.kmod))
}

fn out_aliases(o: &Output<'_>, _: &mut Msgs, _: bool) -> Option<Vec<u8>> {
    let mut out = b"# Aliases extracted from modules themselves.\n".to_vec();
    for (m, l) in o.mods.iter().zip(o.loaded) {
        for (k, v) in &l.info {
            if k == "alias" {
                out.extend_from_slice(format!("alias {v} {}\n", m.modname).as_bytes());
            }
        }
    }
    Some(out)
}

fn out_aliases_bin(o: &Output<'_>, msgs: &mut Msgs, dry: bool) -> Option<Vec<u8>> {
    if dry {
        return None;
    }
    let mut t = Trie::new();
    for (i, (m, l)) in o.mods.iter().zip(o.loaded).enumerate() {
        for (k, v) in &l.info {
            if k != "alias" {
                continue;
            }
            let Ok(a) = alias_normalize(v) else {
                msgs.push((Level::Warning, format!("Unmatched bracket in {v}\n")));
                continue;
            };
            if t.insert(a.as_bytes(), m.modname.as_bytes(), i as u32) && o.warn_dups {
                msgs.push((
                    Level::Warning,
                    format!("duplicate module alias:\n{a} {}\n", m.modname),
                ));
            }
        }
    }
    Some(t.write_for(o.kmod))
}

fn out_softdeps(o: &Output<'_>, _: &mut Msgs, _: bool) -> Option<Vec<u8>> {
    let mut out = b"# Soft dependencies extracted from modules themselves.\n".to_vec();
    for (m, l) in o.mods.iter().zip(o.loaded) {
        for (k, v) in &l.info {
            if k == "softdep" {
                out.extend_from_slice(format!("softdep {} {v}\n", m.modname).as_bytes());
            }
        }
    }
    Some(out)
}

fn out_weakdeps(o: &Output<'_>, _: &mut Msgs, _: bool) -> Option<Vec<u8>> {
    let mut out = b"# Weak dependencies extracted from modules themselves.\n".to_vec();
    for (m, l) in o.mods.iter().zip(o.loaded) {
        for (k, v) in &l.info {
            if k == "weakdep" {
                out.extend_from_slice(format!("weakdep {} {v}\n", m.modname).as_bytes());
            }
        }
    }
    Some(out)
}

fn out_symbols(o: &Output<'_>, _: &mut Msgs, _: bool) -> Option<Vec<u8>> {
    let mut out = b"# Aliases for symbols, used by symbol_request().\n".to_vec();
    for (name, owner) in o.symbol_order() {
        out.extend_from_slice(
            format!("alias symbol:{name} {}\n", o.mods[owner].modname).as_bytes(),
        );
    }
    Some(out)
}

fn out_symbols_bin(o: &Output<'_>, msgs: &mut Msgs, dry: bool) -> Option<Vec<u8>> {
    if dry {
        return None;
    }
    let mut t = Trie::new();
    for (name, owner) in o.symbol_order() {
        let key = format!("symbol:{name}");
        let m = &o.mods[owner].modname;
        if t.insert(key.as_bytes(), m.as_bytes(), owner as u32) && o.warn_dups {
            msgs.push((
                Level::Warning,
                format!("duplicate module syms:\n{key} {m}\n"),
            ));
        }
    }
    Some(t.write_for(o.kmod))
}

fn out_builtin_bin(o: &Output<'_>, msgs: &mut Msgs, dry: bool) -> Option<Vec<u8>> {
    if dry {
        return None;
    }
    let Some(data) = open_or_warn(o.dirname, "modules.builtin", msgs) else {
        // kmod still renames its (empty) temporary file into place.
        return Some(Vec::new());
    };
    let mut t = Trie::new();
    for line in data.split_inclusive(|&b| b == b'\n') {
        if !line.first().is_some_and(|c| c.is_ascii_alphabetic()) {
            msgs.push((
                Level::Error,
                format!(
                    "Invalid modules.builtin line: {}",
                    String::from_utf8_lossy(line)
                ),
            ));
            continue;
        }
        let base = line.rsplit(|&b| b == b'/').next().unwrap_or(line);
        let name: Vec<u8> = base
            .iter()
            .take_while(|&&b| b != b'.')
            .map(|&b| if b == b'-' { b'_' } else { b })
            .collect();
        t.insert(&name, b"", 0);
    }
    Some(t.write_for(o.kmod))
}

/// `output_builtin_alias_bin`'s stream reading of `modname.key=value\0` strings, including
/// its quirk: a string without `=` makes it skip to the end of the *next* string.
fn out_builtin_alias_bin(o: &Output<'_>, msgs: &mut Msgs, dry: bool) -> Option<Vec<u8>> {
    if dry {
        return None;
    }
    let Some(data) = open_or_warn(o.dirname, "modules.builtin.modinfo", msgs) else {
        return Some(Vec::new());
    };
    let mut t = Trie::new();
    let mut pos = 0usize;
    // Read up to `end`, NUL or EOF; returns the bytes and whether `end` stopped it.
    let read_to = |pos: &mut usize, end: u8| -> (Vec<u8>, bool) {
        let start = *pos;
        while *pos < data.len() {
            let c = data[*pos];
            *pos += 1;
            if c == end || c == 0 {
                return (data[start..*pos - 1].to_vec(), c == end);
            }
        }
        (data[start..].to_vec(), false)
    };
    while pos < data.len() {
        let (modname, ok) = read_to(&mut pos, b'.');
        if !ok || modname.is_empty() {
            continue;
        }
        let (key, ok) = read_to(&mut pos, b'=');
        if !ok || key != b"alias" {
            read_to(&mut pos, 0);
            continue;
        }
        let (value, ok) = read_to(&mut pos, 0);
        if !ok || value.is_empty() {
            continue;
        }
        let v = String::from_utf8_lossy(&value);
        let Ok(a) = alias_normalize(&v) else {
            msgs.push((Level::Warning, format!("Unmatched bracket in {v}\n")));
            continue;
        };
        t.insert(a.as_bytes(), &modname, 0);
    }
    Some(t.write_for(o.kmod))
}

/// kmod's `dfdopen` for reading: the file's bytes, or a warning naming it.
fn open_or_warn(dirname: &str, name: &str, msgs: &mut Msgs) -> Option<Vec<u8>> {
    match std::fs::read(format!("{dirname}/{name}")) {
        Ok(d) => Some(d),
        Err(e) => {
            msgs.push((
                Level::Warning,
                format!("could not open {name} at {dirname}: {}\n", strerror(&e)),
            ));
            None
        }
    }
}

/// `sscanf(value, "<prefix>%u-%u")`.
fn major_minor(value: &str, prefix: &str) -> Option<(u32, u32)> {
    let rest = value.strip_prefix(prefix)?;
    let num = |s: &str| -> Option<(u32, usize)> {
        let t = s.trim_start();
        let skipped = s.len() - t.len();
        let t2 = t.strip_prefix('+').unwrap_or(t);
        let sign = t.len() - t2.len();
        let digits = t2.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let v = t2[..digits]
            .parse::<u64>()
            .map(|v| v as u32)
            .unwrap_or(u32::MAX);
        Some((v, skipped + sign + digits))
    };
    let (maj, n) = num(rest)?;
    let rest = rest[n..].strip_prefix('-')?;
    let (min, _) = num(rest)?;
    Some((maj, min))
}

fn out_devname(o: &Output<'_>, msgs: &mut Msgs, _: bool) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for (m, l) in o.mods.iter().zip(o.loaded) {
        let mut devname: Option<&str> = None;
        let mut kind = None;
        for (k, v) in &l.info {
            if k != "alias" {
                continue;
            }
            if let Some(d) = v.strip_prefix("devname:") {
                devname = Some(d);
            } else if let Some(mm) = major_minor(v, "char-major-") {
                kind = Some(('c', mm));
            } else if let Some(mm) = major_minor(v, "block-major-") {
                kind = Some(('b', mm));
            }
            if kind.is_some() && devname.is_some() {
                break;
            }
        }
        let Some(dev) = devname else { continue };
        match kind {
            Some((t, (maj, min))) => {
                if out.is_empty() {
                    out.extend_from_slice(b"# Device nodes to trigger on-demand module loading.\n");
                }
                out.extend_from_slice(format!("{} {dev} {t}{maj}:{min}\n", m.modname).as_bytes());
            }
            None => msgs.push((
                Level::Error,
                format!(
                    "Module '{}' has devname ({dev}) but lacks major and minor information. Ignoring.\n",
                    m.modname
                ),
            )),
        }
    }
    Some(out)
}

/// `depfile_up_to_date`: modules.dep exists and no module file is newer.
fn up_to_date(dirname: &str) -> bool {
    let Ok(dep) = std::fs::metadata(format!("{dirname}/modules.dep")) else {
        return false;
    };
    let Ok(mtime) = dep.modified() else {
        return false;
    };
    fn walk(dir: &Path, mtime: std::time::SystemTime) -> bool {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return true;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name == "build" || name == "source" {
                continue;
            }
            let Ok(md) = std::fs::metadata(e.path()) else {
                continue;
            };
            if md.is_dir() {
                if !walk(&e.path(), mtime) {
                    return false;
                }
            } else if md.is_file() && has_kmod_ext(&name) {
                let secs = |t: std::time::SystemTime| {
                    t.duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0)
                };
                if md.modified().map(secs).unwrap_or(0) > secs(mtime) {
                    return false;
                }
            }
        }
        true
    }
    walk(Path::new(dirname), mtime)
}
