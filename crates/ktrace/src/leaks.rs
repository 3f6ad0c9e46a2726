//! `kmodkit leaks`: kernel allocations made during a window and not freed by its end.
//!
//! The tracing half is a script in this crate's own language (see [`script`]): the kmem
//! allocation tracepoints record `ptr -> call_site` and `ptr -> bytes_alloc` in two hash maps,
//! the free tracepoints delete the entries. What is left at the end is outstanding. The
//! report groups it by call site, resolved through `/proc/kallsyms` (module symbols are
//! `sym [module]` there) and bounded by the module's core range from `/proc/modules`.
//!
//! With `--module M` the report keeps M's call sites only, named from M's `.ko` (see
//! [`ModuleImage`]), because kallsyms cannot name them: M's `__init` symbols leave it once
//! init has run, and all of M's leave it when M is unloaded, which is where the everyday
//! window (start, load M, use it, unload it) ends. The .ko's sections are placed where M
//! had them: /sys/module/M/sections when M is loaded at the start or the end of the window,
//! and for each load during the window the init and exit function pointers the trace reads
//! from `struct module` at do_init_module(), before the loader can go on to unload it.
//! Without a .ko, kallsyms names what it can.
//!
//! Limits: the maps hold [`MAP_ENTRIES`] entries; a window that fills them is an error
//! rather than a silently incomplete report. An allocation is the module's when its call
//! site (the allocator's return address) is in the module's code: what the module allocates
//! through a kernel helper (kstrdup, kmemdup, ...) is the helper's. The load probe needs
//! kprobes; without them a module loaded and unloaded inside the window is not named.

use crate::driver::{self, Options};
use crate::sema::Env;
pub use crate::symbols::{Kallsyms, Symbol};
use crate::system::SystemEnv;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Trace(#[from] driver::Error),
    #[error("no kmem allocation tracepoints on this kernel (tracepoint:kmem:kmalloc)")]
    NoTracepoints,
    #[error(transparent)]
    Read(#[from] crate::symbols::ReadError),
    #[error("{0} allocations outstanding fill the tracing map: the report would be incomplete; use a shorter --duration or a narrower -c command")]
    Full(usize),
    #[error("{0:?} is not a module name (letters, digits, `_` and `-`)")]
    ModuleName(String),
    #[error("unexpected line in the trace output: {0:?}")]
    Output(String),
    #[error("{path}: {err}")]
    Ko { path: String, err: String },
}

/// The tracing script for the tracepoints this kernel has; `duration_s` adds an interval
/// probe that ends the window.
/// `until_unload` adds a probe that ends the window when that module is unloaded.
/// `load_fields` (where `struct module` keeps its init and exit pointers, see
/// [`ModuleImage::fields`]) adds the probes that record where that module's code is placed
/// when it is loaded during the window.
pub fn script(
    env: &dyn Env,
    duration_s: Option<u64>,
    until_unload: Option<&str>,
    load_fields: Option<LoadFields>,
) -> Result<String, Error> {
    let have = |n: &str| env.tracepoints("kmem", n).is_ok_and(|v| !v.is_empty());
    let alloc: Vec<String> = [
        "kmalloc",
        "kmalloc_node",
        "kmem_cache_alloc",
        "kmem_cache_alloc_node",
    ]
    .iter()
    .filter(|n| have(n))
    .map(|n| format!("tracepoint:kmem:{n}"))
    .collect();
    let free: Vec<String> = ["kfree", "kmem_cache_free"]
        .iter()
        .filter(|n| have(n))
        .map(|n| format!("tracepoint:kmem:{n}"))
        .collect();
    if alloc.is_empty() || free.is_empty() {
        return Err(Error::NoTracepoints);
    }
    let mut s = format!(
        "{} /args->ptr != 0/ {{ @site[(uint64)args->ptr] = (uint64)args->call_site; @bytes[(uint64)args->ptr] = (uint64)args->bytes_alloc; }}\n\
         {} {{ delete(@site[(uint64)args->ptr]); delete(@bytes[(uint64)args->ptr]); }}\n",
        alloc.join(","),
        free.join(",")
    );
    if let Some(d) = duration_s {
        s.push_str(&format!("interval:s:{d} {{ exit(); }}\n"));
    }
    if let Some(m) = until_unload {
        if !valid_module_name(m) {
            return Err(Error::ModuleName(m.to_string()));
        }
        // The kernel's name for the module (`_` for `-`), as the tracepoints give it.
        let m = &normalize(m);
        if let Some(fields) = load_fields {
            s.push_str(&load_probes(m, fields));
        }
        if env
            .tracepoints("module", "module_free")
            .is_ok_and(|v| !v.is_empty())
        {
            s.push_str(&format!(
                "tracepoint:module:module_free /str(args->name) == \"{m}\"/ {{ exit(); }}\n"
            ));
        }
    }
    Ok(s)
}

/// One outstanding allocation as the trace left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outstanding {
    pub ptr: u64,
    pub call_site: u64,
    pub bytes: u64,
}

/// Parses the maps `@site[PTR]: SITE` and `@bytes[PTR]: N` printed at exit.
pub fn parse_output(text: &str) -> Result<Vec<Outstanding>, Error> {
    let mut site: BTreeMap<u64, u64> = BTreeMap::new();
    let mut bytes: BTreeMap<u64, u64> = BTreeMap::new();
    for line in text.lines() {
        let t = line.trim();
        let (map, rest) = if let Some(r) = t.strip_prefix("@site[") {
            (&mut site, r)
        } else if let Some(r) = t.strip_prefix("@bytes[") {
            (&mut bytes, r)
        } else {
            continue;
        };
        let (k, v) = rest
            .split_once("]: ")
            .ok_or_else(|| Error::Output(line.to_string()))?;
        let k = parse_num(k).ok_or_else(|| Error::Output(line.to_string()))?;
        let v = parse_num(v).ok_or_else(|| Error::Output(line.to_string()))?;
        map.insert(k, v);
    }
    Ok(site
        .into_iter()
        .map(|(ptr, call_site)| Outstanding {
            ptr,
            call_site,
            bytes: bytes.get(&ptr).copied().unwrap_or(0),
        })
        .collect())
}

/// A name `--module` accepts: what the kernel allows in a module name.
pub fn valid_module_name(m: &str) -> bool {
    !m.is_empty()
        && m.len() < 56
        && m.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn parse_num(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

// The module's own code, named from its .ko.
//
// A module loaded and unloaded inside the window is gone from kallsyms and
// /sys/module/NAME/sections by the time the report is made, and its `__init` symbols leave
// kallsyms as soon as its init has run. So the report names the module's call sites from its
// `.ko` (symbol table and section sizes) placed at the addresses the module had: read from
// /sys/module/NAME/sections when it is loaded at the start or the end of the window, and for
// a load during the window recorded by the trace itself, synchronously: at do_init_module()
// the `struct module` holds its init and exit function pointers, which place the init and
// the core text (the kernel lays out each in section order, see `layout_sections` in
// kernel/module/main.c).

/// The first word of a load event line in the trace output: `TAG MODULE INIT EXIT` (hex).
const LOAD_TAG: &str = "kmodkit-leaks-load";

/// Offsets in `struct module` of the init and exit function pointers (taken from the
/// relocations of the .ko's `__this_module`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadFields {
    pub init: Option<u64>,
    pub exit: Option<u64>,
}

/// The probes that record a load of module `m`: `module:module_load` fires in the loading
/// task just before it calls do_init_module(mod), which runs the module's init.
fn load_probes(m: &str, f: LoadFields) -> String {
    let field = |o: Option<u64>| o.map_or("0".to_string(), |o| format!("*(arg0 + {o})"));
    format!(
        "tracepoint:module:module_load /str(args->name) == \"{m}\"/ {{ @kmk_loading[tid] = 1; }}\n\
         kprobe:do_init_module /@kmk_loading[tid]/ {{ delete(@kmk_loading[tid]); printf(\"{LOAD_TAG} %lx %lx %lx\\n\", arg0, {}, {}); }}\n",
        field(f.init),
        field(f.exit)
    )
}

/// An executable section of a .ko, placed where the kernel puts it: at `offset` in the
/// module's init text (`.init*` sections) or core text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TextSection {
    name: String,
    size: u64,
    init: bool,
    offset: u64,
}

/// Where a module's sections were while it was loaded: section name -> address.
pub type Placement = BTreeMap<String, u64>;

/// What a module's `.ko` says about its code.
#[derive(Debug, Clone)]
pub struct ModuleImage {
    /// The module name, as the kernel spells it (`_` for `-`).
    pub name: String,
    pub path: std::path::PathBuf,
    text: Vec<TextSection>,
    /// Function symbols: (section, value, size, name), sorted.
    funcs: Vec<(String, u64, u64, String)>,
    /// `init_module` and `cleanup_module`: (section, value).
    init_fn: Option<(String, u64)>,
    exit_fn: Option<(String, u64)>,
    fields: LoadFields,
    /// The `.note.gnu.build-id` section, as the kernel shows it in
    /// /sys/module/NAME/notes/.note.gnu.build-id.
    build_id: Option<Vec<u8>>,
}

const SHF_ALLOC: u64 = 0x2;
const SHF_EXECINSTR: u64 = 0x4;

fn normalize(m: &str) -> String {
    m.replace('-', "_")
}

impl ModuleImage {
    /// Reads a module file (compressed or not).
    pub fn read(path: &std::path::Path) -> Result<ModuleImage, Error> {
        let raw = std::fs::read(path).map_err(|e| Error::Ko {
            path: path.display().to_string(),
            err: e.to_string(),
        })?;
        ModuleImage::parse(path, &raw)
    }

    pub fn parse(path: &std::path::Path, raw: &[u8]) -> Result<ModuleImage, Error> {
        use object::{Object, ObjectSection, ObjectSymbol};
        let err = |e: String| Error::Ko {
            path: path.display().to_string(),
            err: e,
        };
        let m = modfile::Module::parse(raw).map_err(|e| err(e.to_string()))?;
        let name = normalize(
            &m.name()
                .ok_or_else(|| err("no module name (.gnu.linkonce.this_module)".into()))?,
        );
        let f = object::File::parse(m.bytes()).map_err(|e| err(e.to_string()))?;
        let (mut core, mut init) = (0u64, 0u64);
        let mut text = Vec::new();
        let mut names = BTreeMap::new();
        for sec in f.sections() {
            let flags = match sec.flags() {
                object::SectionFlags::Elf { sh_flags } => sh_flags,
                _ => 0,
            };
            let Ok(sname) = sec.name() else { continue };
            names.insert(sec.index().0, sname.to_string());
            if flags & (SHF_ALLOC | SHF_EXECINSTR) != SHF_ALLOC | SHF_EXECINSTR {
                continue;
            }
            // module_init_layout_section(): `.init*` goes to the init layout.
            let is_init = sname.starts_with(".init");
            let size = if is_init { &mut init } else { &mut core };
            let offset = size.next_multiple_of(sec.align().max(1));
            *size = offset + sec.size();
            text.push(TextSection {
                name: sname.to_string(),
                size: sec.size(),
                init: is_init,
                offset,
            });
        }
        let build_id = f
            .section_by_name(".note.gnu.build-id")
            .and_then(|s| s.data().ok())
            .map(<[u8]>::to_vec);
        let mut funcs = Vec::new();
        let (mut init_fn, mut exit_fn, mut this_module) = (None, None, 0);
        for sym in f.symbols() {
            let (Ok(n), Some(idx)) = (sym.name(), sym.section_index()) else {
                continue;
            };
            let Some(sect) = names.get(&idx.0) else {
                continue;
            };
            match n {
                "init_module" => init_fn = Some((sect.clone(), sym.address())),
                "cleanup_module" => exit_fn = Some((sect.clone(), sym.address())),
                "__this_module" => this_module = sym.address(),
                _ => {}
            }
            if sym.kind() == object::SymbolKind::Text && !n.is_empty() {
                funcs.push((sect.clone(), sym.address(), sym.size(), n.to_string()));
            }
        }
        funcs.sort();
        let mut fields = LoadFields {
            init: None,
            exit: None,
        };
        if let Some(sec) = f.section_by_name(".gnu.linkonce.this_module") {
            for (off, rel) in sec.relocations() {
                let object::RelocationTarget::Symbol(i) = rel.target() else {
                    continue;
                };
                let Ok(target) = f.symbol_by_index(i) else {
                    continue;
                };
                let at = off.checked_sub(this_module);
                match target.name() {
                    Ok("init_module") => fields.init = at,
                    Ok("cleanup_module") => fields.exit = at,
                    _ => {}
                }
            }
        }
        Ok(ModuleImage {
            name,
            path: path.to_path_buf(),
            text,
            funcs,
            init_fn,
            exit_fn,
            fields,
            build_id,
        })
    }

    /// Whether this file is the module loaded now, by build id: None when that cannot be
    /// told (not loaded, or no build id on either side).
    pub fn is_loaded_one(&self) -> Option<bool> {
        let live = modsys::state::Sys::default()
            .note(&self.name, ".note.gnu.build-id")
            .ok()?;
        Some(live == *self.build_id.as_ref()?)
    }

    /// Where `struct module` keeps the init and exit pointers; None when the .ko has neither.
    pub fn fields(&self) -> Option<LoadFields> {
        (self.fields.init.is_some() || self.fields.exit.is_some()).then_some(self.fields)
    }

    /// The placement of the text sections implied by the module's init and exit functions
    /// being at `init_addr` and `exit_addr` (0: unknown). A layout whose start is not
    /// page-aligned (the kernel allocates each layout in pages) means the .ko is not the
    /// module that was loaded, and is left out.
    pub fn place(&self, init_addr: u64, exit_addr: u64) -> Placement {
        let mut p = Placement::new();
        for (anchor, addr) in [(&self.init_fn, init_addr), (&self.exit_fn, exit_addr)] {
            let Some((sect, value)) = anchor else {
                continue;
            };
            let Some(t) = self.text.iter().find(|t| t.name == *sect) else {
                continue;
            };
            let Some(start) = addr
                .checked_sub(*value)
                .and_then(|a| a.checked_sub(t.offset))
                .filter(|s| addr != 0 && s % 4096 == 0)
            else {
                continue;
            };
            for u in self.text.iter().filter(|u| u.init == t.init) {
                p.insert(u.name.clone(), start + u.offset);
            }
        }
        p
    }

    /// The function of this module at `addr` under one of `placements` (latest first), or
    /// its section when no symbol covers it.
    pub fn resolve(&self, placements: &[Placement], addr: u64) -> Option<Symbol> {
        for p in placements.iter().rev() {
            for t in &self.text {
                let Some(&base) = p.get(&t.name) else {
                    continue;
                };
                if addr < base || addr - base >= t.size {
                    continue;
                }
                let off = addr - base;
                let is_alias = |n: &str| matches!(n, "init_module" | "cleanup_module");
                let f = self
                    .funcs
                    .iter()
                    .filter(|(s, v, _, _)| *s == t.name && *v <= off)
                    .max_by_key(|(_, v, _, n)| (*v, !is_alias(n)));
                let (name, offset) = match f {
                    Some((_, v, _, n)) => (n.clone(), off - v),
                    None => (t.name.clone(), off),
                };
                return Some(Symbol {
                    name,
                    offset,
                    module: Some(self.name.clone()),
                });
            }
        }
        None
    }
}

/// The sections of loaded module `m` from /sys/module/M/sections; None when it is not loaded.
pub fn sysfs_placement(m: &str) -> Option<Placement> {
    let sections = modsys::state::Sys::default().sections(&normalize(m)).ok()?;
    let mut p = Placement::new();
    for (name, addr) in sections.into_iter().filter(|(_, a)| *a != 0) {
        p.insert(name, addr);
    }
    (!p.is_empty()).then_some(p)
}

/// Whether the running kernel lets the trace record a module's load (see [`script`]):
/// without, a module loaded and unloaded inside the window cannot be named.
pub fn load_probes_available() -> bool {
    can_probe_loads(&SystemEnv::mounted())
}

/// Whether this kernel has what the load probes attach to.
fn can_probe_loads(env: &SystemEnv) -> bool {
    env.kprobes_available()
        && env
            .tracepoints("module", "module_load")
            .is_ok_and(|v| !v.is_empty())
        && std::fs::read_to_string(env.tracefs.join("available_filter_functions")).is_ok_and(|t| {
            t.lines()
                .any(|l| l.split_whitespace().next() == Some("do_init_module"))
        })
}

/// The placements recorded by the load probes in the trace output.
pub fn parse_loads(image: &ModuleImage, text: &str) -> Vec<Placement> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.strip_prefix(LOAD_TAG)?.split_whitespace();
            let _module = w.next()?;
            let hex = |s: &str| u64::from_str_radix(s, 16).ok();
            let (init, exit) = (hex(w.next()?)?, hex(w.next()?)?);
            Some(image.place(init, exit))
        })
        .filter(|p| !p.is_empty())
        .collect()
}

/// Finds the .ko of module `m`: `ko` if given (it must be that module), else a `.ko` named
/// in `command` that is module `m`, else `./M.ko`, else modules.dep of the running kernel.
/// While `m` is loaded, the file must be the one loaded (same build id). None when none is
/// found.
pub fn find_module_file(
    m: &str,
    ko: Option<&std::path::Path>,
    command: Option<&str>,
) -> Result<Option<ModuleImage>, Error> {
    let want = normalize(m);
    if let Some(p) = ko {
        let img = ModuleImage::read(p)?;
        if img.name != want {
            return Err(Error::Ko {
                path: p.display().to_string(),
                err: format!("this is module {}, not {want}", img.name),
            });
        }
        if img.is_loaded_one() == Some(false) {
            return Err(Error::Ko {
                path: p.display().to_string(),
                err: format!("not the {want} that is loaded (their build ids differ)"),
            });
        }
        return Ok(Some(img));
    }
    let is_ko = |w: &str| {
        [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
            .iter()
            .any(|e| w.ends_with(e))
    };
    let mut candidates: Vec<std::path::PathBuf> = command
        .unwrap_or("")
        .split(|c: char| c.is_whitespace() || ";&|()'\"<>".contains(c))
        .filter(|w| is_ko(w))
        .map(std::path::PathBuf::from)
        .collect();
    for n in [m.to_string(), want.clone(), want.replace('_', "-")] {
        candidates.push(std::path::PathBuf::from(format!("{n}.ko")));
    }
    if let Ok(rel) = std::fs::read_to_string("/proc/sys/kernel/osrelease") {
        let dir = std::path::Path::new("/lib/modules").join(rel.trim());
        let ctx = moddb::Context::new(&dir, moddb::Config::default());
        if let Ok(Some((p, _))) = ctx.moddep(&want) {
            candidates.push(p);
        }
    }
    Ok(candidates
        .iter()
        .filter(|p| p.is_file())
        .filter_map(|p| ModuleImage::read(p).ok())
        .find(|img| img.name == want && img.is_loaded_one() != Some(false)))
}

/// A module's code as the report names it: its .ko and where it was while loaded.
#[derive(Debug, Clone)]
pub struct ModuleCode {
    pub image: ModuleImage,
    pub placements: Vec<Placement>,
}

impl ModuleCode {
    pub fn resolve(&self, addr: u64) -> Option<Symbol> {
        self.image.resolve(&self.placements, addr)
    }
}

/// Outstanding allocations of one call site.
#[derive(Debug, Clone)]
pub struct Site {
    pub call_site: u64,
    pub symbol: Option<Symbol>,
    pub count: u64,
    pub bytes: u64,
}

/// Groups by call site, largest byte total first; `module` keeps only that module's sites.
/// `code` names the module's own call sites first (from its .ko), kallsyms the others.
pub fn group(
    out: &[Outstanding],
    syms: &Kallsyms,
    module: Option<&str>,
    code: Option<&ModuleCode>,
) -> Vec<Site> {
    let mut by: BTreeMap<u64, Site> = BTreeMap::new();
    for o in out {
        let s = by.entry(o.call_site).or_insert_with(|| Site {
            call_site: o.call_site,
            symbol: code
                .and_then(|c| c.resolve(o.call_site))
                .or_else(|| syms.resolve(o.call_site)),
            count: 0,
            bytes: 0,
        });
        s.count += 1;
        s.bytes += o.bytes;
    }
    let mut v: Vec<Site> = by
        .into_values()
        .filter(|s| {
            module.is_none_or(|m| {
                s.symbol
                    .as_ref()
                    .is_some_and(|sym| sym.module.as_deref().map(normalize) == Some(normalize(m)))
            })
        })
        .collect();
    v.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.call_site.cmp(&b.call_site)));
    v
}

pub fn report_text(sites: &[Site]) -> String {
    let n: u64 = sites.iter().map(|s| s.count).sum();
    let b: u64 = sites.iter().map(|s| s.bytes).sum();
    let mut s = format!(
        "{n} outstanding allocation(s), {b} bytes, from {} call site(s)\n",
        sites.len()
    );
    for site in sites {
        let name = match &site.symbol {
            Some(sym) => sym.to_string(),
            None => format!("{:#x}", site.call_site),
        };
        s.push_str(&format!(
            "{:>10} bytes in {:>5} allocation(s) from {name}\n",
            site.bytes, site.count
        ));
    }
    s
}

pub fn report_json(sites: &[Site]) -> String {
    let items: Vec<String> = sites
        .iter()
        .map(|s| {
            let (func, off, module) = match &s.symbol {
                Some(sym) => (
                    format!("\"{}\"", crate::output::json_escape(&sym.name)),
                    sym.offset.to_string(),
                    sym.module.as_ref().map_or("null".to_string(), |m| {
                        format!("\"{}\"", crate::output::json_escape(m))
                    }),
                ),
                None => ("null".into(), "null".into(), "null".into()),
            };
            format!(
                "{{\"call_site\": \"{:#x}\", \"function\": {func}, \"offset\": {off}, \"module\": {module}, \"allocations\": {}, \"bytes\": {}}}",
                s.call_site, s.count, s.bytes
            )
        })
        .collect();
    format!("{{\"outstanding\": [{}]}}\n", items.join(", "))
}

/// Collects the trace output, and copies its first line (`Attaching N probes...`, written
/// once the probes are attached) to stderr at once, so a caller knows when the window opened.
struct Announce {
    buf: Vec<u8>,
    announced: bool,
}

impl std::io::Write for Announce {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        if !self.announced {
            if let Some(n) = self.buf.iter().position(|&c| c == b'\n') {
                self.announced = true;
                let mut e = std::io::stderr();
                e.write_all(&self.buf[..=n])?;
                e.flush()?;
            }
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Entries of the outstanding-allocation maps: a full map drops new allocations, so a
/// report with this many is incomplete and is refused.
pub const MAP_ENTRIES: u32 = 65536;

/// What `kmodkit leaks` was asked for.
#[derive(Debug, Default, Clone)]
pub struct Request {
    /// Run this shell command (`/bin/sh -c`) and end the window when it exits.
    pub command: Option<String>,
    pub duration_s: Option<u64>,
    /// Only this module's call sites; the window also ends when it is unloaded.
    pub module: Option<String>,
    /// The module's .ko (see [`find_module_file`]), to name its code.
    pub image: Option<ModuleImage>,
}

/// Traces for the window (until the command exits, or the duration, or the module is
/// unloaded, or Ctrl-C) and returns the outstanding allocations grouped by call site.
pub fn run(req: &Request) -> Result<Vec<Site>, Error> {
    let env = SystemEnv::mounted();
    let module = req.module.as_deref();
    let opts = Options {
        command: req.command.clone(),
        shell: true,
        map_keys_max: MAP_ENTRIES,
        ..Options::default()
    };
    // Without kprobes (or do_init_module, or the module_load tracepoint) the module is
    // placed from sysfs only.
    let fields = req
        .image
        .as_ref()
        .and_then(ModuleImage::fields)
        .filter(|_| can_probe_loads(&env));
    let src = script(&env, req.duration_s, module, fields)?;
    // The module as it is now, should it be unloaded during the window.
    let before = match module {
        Some(_) => Some(Kallsyms::load()?),
        None => None,
    };
    let mut placements: Vec<Placement> = module.and_then(sysfs_placement).into_iter().collect();
    let mut w = Announce {
        buf: Vec::new(),
        announced: false,
    };
    driver::run(&src, "leaks", &opts, &mut w)?;
    let text = String::from_utf8_lossy(&w.buf);
    let out = parse_output(&text)?;
    if out.len() >= MAP_ENTRIES as usize {
        return Err(Error::Full(out.len()));
    }
    let mut syms = Kallsyms::load()?;
    if let Some(b) = before {
        syms.merge_gone(b);
    }
    let code = req.image.clone().map(|image| {
        placements.extend(parse_loads(&image, &text));
        placements.extend(module.and_then(sysfs_placement));
        ModuleCode { image, placements }
    });
    Ok(group(&out, &syms, module, code.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_module_symbols_within_core_only() {
        let k = Kallsyms::parse(
            "ffffffff81000000 T _stext\nffffffff81000100 t foo\nffffffffc0001000 t leaky_init\t[leaky]\nffffffffc0001000 t init_module\t[leaky]\nffffffffc0001040 t leaky_exit\t[leaky]\n",
            "leaky 16384 0 - Live 0xffffffffc0001000\n",
        );
        assert_eq!(
            k.resolve(0xffffffffc000101d).unwrap().to_string(),
            "leaky_init+0x1d [leaky]"
        );
        assert_eq!(
            k.resolve(0xffffffff81000105).unwrap().to_string(),
            "foo+0x5"
        );
        assert!(k.resolve(0xffffffffc0009000).is_none(), "outside the core");
        assert!(k.resolve(0x10).is_none());
        let mut k = k;
        k.set_init_sections(vec![
            (0xffffffffc0009000, ".init.text".into(), "leaky".into()),
            (0xffffffffc0009100, ".init.data".into(), "leaky".into()),
        ]);
        assert_eq!(
            k.resolve(0xffffffffc0009012).unwrap().to_string(),
            ".init.text+0x12 [leaky]"
        );
        assert_eq!(
            k.resolve(0xffffffffc000101d).unwrap().to_string(),
            "leaky_init+0x1d [leaky]",
            "core symbols first"
        );
        assert!(k.resolve(0xffffffffc0209000).is_none(), "too far");
        // After the module is unloaded, the snapshot from before still names its code.
        let mut now = Kallsyms::parse("ffffffff81000000 T _stext\n", "");
        assert!(now.resolve(0xffffffffc000101d).is_none());
        now.merge_gone(k);
        assert_eq!(
            now.resolve(0xffffffffc000101d).unwrap().to_string(),
            "leaky_init+0x1d [leaky]"
        );
    }

    #[test]
    fn parses_and_groups() {
        let out = parse_output(
            "Attaching 3 probes...\n\n\n@bytes[100]: 64\n@bytes[200]: 64\n@bytes[300]: 8\n\n@site[100]: 4096\n@site[200]: 4096\n@site[300]: 5000\n",
        )
        .unwrap();
        assert_eq!(out.len(), 3);
        let k = Kallsyms::parse(
            "0000000000001000 t a [m]\n0000000000001000 t init_module [m]\n0000000000001300 t b\n",
            "",
        );
        let g = group(&out, &k, None, None);
        assert_eq!(g.len(), 2);
        assert_eq!((g[0].count, g[0].bytes), (2, 128));
        assert_eq!(g[0].symbol.as_ref().unwrap().to_string(), "a+0x0 [m]");
        let g = group(&out, &k, Some("m"), None);
        assert_eq!(g.len(), 1);
        assert!(report_text(&g).contains("128 bytes in     2 allocation(s) from a+0x0 [m]"));
        assert!(parse_output("@site[x]: 1").is_err());
    }

    /// kmk_helper.ko as built for Debian's 6.1: core text is .text (empty), .exit.text,
    /// .text.unlikely (where GCC put the cold helper); init text is .init.text.
    fn helper_image() -> ModuleImage {
        let sect = |name: &str, size, init, offset| TextSection {
            name: name.into(),
            size,
            init,
            offset,
        };
        let f = |s: &str, v, z, n: &str| (s.to_string(), v, z, n.to_string());
        let mut funcs = vec![
            f(".exit.text", 0, 5, "kmk_helper_exit"),
            f(".exit.text", 0, 5, "cleanup_module"),
            f(".text.unlikely", 0, 41, "kmk_helper_core"),
            f(".init.text", 0, 41, "kmk_helper_init_part"),
            f(".init.text", 0x29, 21, "kmk_helper_init"),
            f(".init.text", 0x29, 21, "init_module"),
        ];
        funcs.sort();
        ModuleImage {
            name: "kmk_helper".into(),
            path: "kmk_helper.ko".into(),
            text: vec![
                sect(".text", 0, false, 0),
                sect(".exit.text", 5, false, 0),
                sect(".text.unlikely", 0x29, false, 5),
                sect(".init.text", 0x3e, true, 0),
            ],
            funcs,
            init_fn: Some((".init.text".into(), 0x29)),
            exit_fn: Some((".exit.text".into(), 0)),
            fields: LoadFields {
                init: Some(0x138),
                exit: Some(0x350),
            },
            build_id: None,
        }
    }

    #[test]
    fn places_and_names_a_module_from_its_init_and_exit_pointers() {
        let img = helper_image();
        let p = img.place(0xffffffffc03f4029, 0xffffffffc03ef000);
        assert_eq!(p[".text.unlikely"], 0xffffffffc03ef005);
        assert_eq!(p[".init.text"], 0xffffffffc03f4000);
        let code = ModuleCode {
            image: img.clone(),
            placements: vec![p],
        };
        let name = |a| code.resolve(a).map(|s| s.to_string());
        assert_eq!(
            name(0xffffffffc03ef020).as_deref(),
            Some("kmk_helper_core+0x1b [kmk_helper]")
        );
        assert_eq!(
            name(0xffffffffc03f401b).as_deref(),
            Some("kmk_helper_init_part+0x1b [kmk_helper]")
        );
        assert_eq!(
            name(0xffffffffc03f402c).as_deref(),
            Some("kmk_helper_init+0x3 [kmk_helper]"),
            "the function, not its init_module alias"
        );
        assert_eq!(
            name(0xffffffffc03ef002).as_deref(),
            Some("kmk_helper_exit+0x2 [kmk_helper]")
        );
        assert_eq!(name(0xffffffffc03ef02e), None, "past the text");
        assert_eq!(name(0xffffffffc03f4040), None, "past the init text");
        // Pointers that do not fit the layout (another build of the module) place nothing.
        assert!(img.place(0xffffffffc03f4028, 0xffffffffc03ef001).is_empty());
        assert!(img.place(0, 0).is_empty());
        // The load events in the trace output.
        let loads = parse_loads(
            &img,
            "Attaching 7 probes...\nkmodkit-leaks-load ffffffffc03f0000 ffffffffc03f4029 ffffffffc03ef000\n",
        );
        assert_eq!(
            loads,
            vec![img.place(0xffffffffc03f4029, 0xffffffffc03ef000)]
        );
        // The module's sites only, named from the .ko; the kernel's from kallsyms.
        let out = [
            Outstanding {
                ptr: 1,
                call_site: 0xffffffffc03ef020,
                bytes: 512,
            },
            Outstanding {
                ptr: 2,
                call_site: 0xffffffff81000105,
                bytes: 64,
            },
        ];
        let k = Kallsyms::parse("ffffffff81000000 T _stext\nffffffff81000100 t foo\n", "");
        assert_eq!(group(&out, &k, None, Some(&code)).len(), 2);
        let g = group(&out, &k, Some("kmk-helper"), Some(&code));
        assert_eq!(g.len(), 1);
        assert_eq!(
            g[0].symbol.as_ref().unwrap().to_string(),
            "kmk_helper_core+0x1b [kmk_helper]"
        );
    }

    #[test]
    fn load_probes_use_the_kernels_module_name() {
        let p = load_probes(
            "kmk_helper",
            LoadFields {
                init: Some(0x138),
                exit: None,
            },
        );
        assert!(p.contains("*(arg0 + 312), 0)"), "{p}");
    }
}
