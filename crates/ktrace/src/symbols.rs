//! Address → name, the way bpftrace 0.17 prints `ksym()`, `usym()` and `func`: kernel
//! addresses through /proc/kallsyms ([`Kallsyms`], also the resolver of [`crate::leaks`]), user addresses
//! through /proc/PID/maps and the mapped file's ELF symbol tables (.symtab, then .dynsym).
//! Names are bare (no `+offset`); what cannot be resolved prints as `0x` and hex, and a
//! process that has exited no longer resolves (bpftrace 0.17 prints hex then too).

use object::{Object, ObjectSegment, ObjectSymbol, SymbolKind};
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::path::PathBuf;

/// A file of the running kernel's symbol information could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {err}")]
pub struct ReadError {
    pub path: String,
    pub err: String,
}

/// A resolved code address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Symbol {
    pub name: String,
    pub offset: u64,
    /// The module, or None for the kernel image.
    pub module: Option<String>,
}

impl std::fmt::Display for Symbol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}+{:#x}", self.name, self.offset)?;
        if let Some(m) = &self.module {
            write!(f, " [{m}]")?;
        }
        Ok(())
    }
}

/// Text symbols from /proc/kallsyms plus the modules' core ranges from /proc/modules.
#[derive(Debug, Default)]
pub struct Kallsyms {
    syms: Vec<(u64, String, Option<String>)>,
    modules: BTreeMap<String, (u64, u64)>,
    /// Start of each module's `.init.*` section (from /sys/module/NAME/sections), sorted:
    /// the kernel frees init code and its symbols after init, but keeps these addresses.
    init_sections: Vec<(u64, String, String)>,
}

impl Kallsyms {
    pub fn load() -> Result<Kallsyms, ReadError> {
        let read = |p: &str| {
            std::fs::read_to_string(p).map_err(|e| ReadError {
                path: p.to_string(),
                err: e.to_string(),
            })
        };
        let mut k = Kallsyms::parse(
            &read("/proc/kallsyms")?,
            &read("/proc/modules").unwrap_or_default(),
        );
        let mut init = Vec::new();
        let sys = modsys::state::Sys::default();
        for m in k.modules.keys() {
            let Ok(sections) = sys.sections(m) else {
                continue;
            };
            for (sect, a) in sections {
                if sect.starts_with(".init.") {
                    init.push((a, sect, m.clone()));
                }
            }
        }
        k.set_init_sections(init);
        Ok(k)
    }

    /// Adds what `older` knew of modules that are gone from `self` (unloaded since): their
    /// symbols, core ranges and init sections.
    pub fn merge_gone(&mut self, older: Kallsyms) {
        let gone: Vec<String> = older
            .modules
            .keys()
            .filter(|m| !self.modules.contains_key(*m))
            .cloned()
            .collect();
        let is_gone = |m: &Option<String>| m.as_ref().is_some_and(|m| gone.contains(m));
        self.syms
            .extend(older.syms.into_iter().filter(|(_, _, m)| is_gone(m)));
        Self::sort_syms(&mut self.syms);
        for m in &gone {
            self.modules.insert(m.clone(), older.modules[m]);
        }
        let mut init = std::mem::take(&mut self.init_sections);
        init.extend(
            older
                .init_sections
                .into_iter()
                .filter(|(_, _, m)| gone.contains(m)),
        );
        self.set_init_sections(init);
    }

    /// Sets the modules' init section starts as (address, section, module).
    pub fn set_init_sections(&mut self, mut v: Vec<(u64, String, String)>) {
        v.retain(|(a, _, _)| *a != 0);
        v.sort();
        self.init_sections = v;
    }

    /// An address in a module's freed init code, named by the section: the init section
    /// with the greatest start at or below it, when no module core or later section lies
    /// between, and within 1 MiB (init sections of a module are small and contiguous).
    fn resolve_init(&self, addr: u64) -> Option<Symbol> {
        let i = self.init_sections.partition_point(|(a, _, _)| *a <= addr);
        let (start, sect, module) = self.init_sections.get(i.checked_sub(1)?)?;
        if addr - start >= 1 << 20
            || self
                .modules
                .values()
                .any(|(b, sz)| *b <= addr && (*b > *start || addr < b + sz))
        {
            return None;
        }
        Some(Symbol {
            name: sect.clone(),
            offset: addr - start,
            module: Some(module.clone()),
        })
    }

    /// Aliases sort first at their address, so the lookup (the last symbol at or below the
    /// address) names the function, not the module_init()/module_exit() alias.
    fn sort_syms(syms: &mut [(u64, String, Option<String>)]) {
        syms.sort_by(|a, b| {
            let alias = |n: &str| !matches!(n, "init_module" | "cleanup_module");
            (a.0, alias(&a.1), &a.1).cmp(&(b.0, alias(&b.1), &b.1))
        });
    }

    pub fn parse(kallsyms: &str, modules: &str) -> Kallsyms {
        let mut syms = Vec::new();
        for l in kallsyms.lines() {
            let mut w = l.split_whitespace();
            let (Some(a), Some(ty), Some(name)) = (w.next(), w.next(), w.next()) else {
                continue;
            };
            if !matches!(ty, "t" | "T" | "W" | "w") {
                continue;
            }
            let Ok(addr) = u64::from_str_radix(a, 16) else {
                continue;
            };
            if addr == 0 {
                continue;
            }
            let module = w
                .next()
                .and_then(|m| m.strip_prefix('[')?.strip_suffix(']'))
                .map(str::to_string);
            syms.push((addr, name.to_string(), module));
        }
        Self::sort_syms(&mut syms);
        let mut mods = BTreeMap::new();
        for l in modules.lines() {
            let w: Vec<&str> = l.split_whitespace().collect();
            if w.len() >= 6 {
                if let (Ok(size), Some(addr)) = (w[1].parse::<u64>(), parse_num(w[5])) {
                    mods.insert(w[0].to_string(), (addr, size));
                }
            }
        }
        Kallsyms {
            syms,
            modules: mods,
            init_sections: Vec::new(),
        }
    }

    /// The nearest text symbol at or below `addr`; None when there is none, or when it is a
    /// module's and `addr` lies outside that module's core (e.g. in its freed init code).
    pub fn resolve(&self, addr: u64) -> Option<Symbol> {
        self.resolve_core(addr).or_else(|| self.resolve_init(addr))
    }

    fn resolve_core(&self, addr: u64) -> Option<Symbol> {
        let i = self.syms.partition_point(|(a, _, _)| *a <= addr);
        let (a, name, module) = self.syms.get(i.checked_sub(1)?)?;
        // Past the kernel image's last symbol, where module memory begins: not the kernel's
        // (no function is a MiB long; modules live a GiB above the kernel's text).
        if module.is_none()
            && (addr - a >= 1 << 20
                || self.modules.values().any(|(b, _)| *b > *a && *b <= addr)
                || self
                    .init_sections
                    .iter()
                    .any(|(b, _, _)| *b > *a && *b <= addr))
        {
            return None;
        }
        if let Some(m) = module {
            if let Some((base, size)) = self.modules.get(m) {
                if addr < *base || addr >= base + size {
                    return None;
                }
            }
        }
        Some(Symbol {
            name: name.clone(),
            offset: addr - a,
            module: module.clone(),
        })
    }
}

fn parse_num(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// bpftrace's fallback: the address as `std::ostream << (void *)addr` writes it.
pub fn hex(addr: u64) -> String {
    if addr == 0 {
        "0".to_string()
    } else {
        format!("0x{addr:x}")
    }
}

/// One executable mapping of a process: [start, end) at file offset `off` of `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    pub off: u64,
    pub path: PathBuf,
}

/// The file-backed mappings of a /proc/PID/maps text.
pub fn parse_maps(text: &str) -> Vec<Mapping> {
    let mut out = Vec::new();
    for l in text.lines() {
        let mut w = l.split_whitespace();
        let (Some(range), Some(_perms), Some(off), Some(_dev), Some(_inode), Some(path)) =
            (w.next(), w.next(), w.next(), w.next(), w.next(), w.next())
        else {
            continue;
        };
        if !path.starts_with('/') {
            continue;
        }
        let Some((s, e)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end), Ok(off)) = (
            u64::from_str_radix(s, 16),
            u64::from_str_radix(e, 16),
            u64::from_str_radix(off, 16),
        ) else {
            continue;
        };
        out.push(Mapping {
            start,
            end,
            off,
            path: PathBuf::from(path),
        });
    }
    out
}

/// The function symbols of one ELF file, by virtual address, and its loadable segments
/// (to turn a file offset into a virtual address).
#[derive(Debug, Default)]
pub struct ElfSyms {
    /// (address, size, name), sorted by address.
    syms: Vec<(u64, u64, String)>,
    /// (file offset, file size, virtual address) of each segment.
    segs: Vec<(u64, u64, u64)>,
}

impl ElfSyms {
    pub fn parse(data: &[u8]) -> Option<ElfSyms> {
        let file = object::File::parse(data).ok()?;
        let mut syms: Vec<(u64, u64, String)> = file
            .symbols()
            .chain(file.dynamic_symbols())
            .filter(|s| s.kind() == SymbolKind::Text && s.address() != 0)
            .filter_map(|s| Some((s.address(), s.size(), s.name().ok()?.to_string())))
            .filter(|(_, _, n)| !n.is_empty())
            .collect();
        syms.sort();
        syms.dedup_by_key(|s| s.0);
        let segs = file
            .segments()
            .map(|s| {
                let (o, n) = s.file_range();
                (o, n, s.address())
            })
            .collect();
        Some(ElfSyms { syms, segs })
    }

    /// The function containing virtual address `va` (a size-0 symbol matches only exactly).
    pub fn resolve(&self, va: u64) -> Option<&str> {
        self.resolve_off(va).map(|(n, _)| n)
    }

    /// The function containing `va` and the offset of `va` into it.
    pub fn resolve_off(&self, va: u64) -> Option<(&str, u64)> {
        let i = self.syms.partition_point(|(a, _, _)| *a <= va);
        let (a, size, name) = self.syms.get(i.checked_sub(1)?)?;
        (va < a + (*size).max(1)).then_some((name.as_str(), va - a))
    }

    /// The virtual address of file offset `off`.
    fn vaddr(&self, off: u64) -> u64 {
        self.segs
            .iter()
            .find(|(o, n, _)| off >= *o && off < o + n)
            .map(|(o, _, va)| off - o + va)
            .unwrap_or(off)
    }
}

/// Caches kallsyms, each process's maps and each file's symbols for the life of a session.
#[derive(Default)]
pub struct SymCache {
    kallsyms: Option<Option<Kallsyms>>,
    maps: HashMap<u64, Vec<Mapping>>,
    elfs: HashMap<PathBuf, Option<ElfSyms>>,
}

impl SymCache {
    /// Reads kallsyms now rather than at the first kernel address.
    pub fn load_kallsyms(&mut self) {
        self.kallsyms.get_or_insert_with(|| Kallsyms::load().ok());
    }

    pub fn ksym(&mut self, addr: u64) -> String {
        let k = self.kallsyms.get_or_insert_with(|| Kallsyms::load().ok());
        k.as_ref()
            .and_then(|k| k.resolve(addr))
            .map(|s| s.name)
            .unwrap_or_else(|| hex(addr))
    }

    pub fn usym(&mut self, addr: u64, pid: u64) -> String {
        self.try_usym(addr, pid)
            .map(|(n, _)| n)
            .unwrap_or_else(|| hex(addr))
    }

    /// A `kstack` frame as bpftrace 0.17 prints it: `name+offset` (decimal), hex if unknown.
    pub fn kframe(&mut self, addr: u64) -> String {
        let k = self.kallsyms.get_or_insert_with(|| Kallsyms::load().ok());
        k.as_ref()
            .and_then(|k| k.resolve(addr))
            .map(|s| format!("{}+{}", s.name, s.offset))
            .unwrap_or_else(|| hex(addr))
    }

    /// A `ustack` frame: `name+offset` (decimal), or bare hex once the process is gone.
    pub fn uframe(&mut self, addr: u64, pid: u64) -> String {
        self.try_usym(addr, pid)
            .map(|(n, off)| format!("{n}+{off}"))
            .unwrap_or_else(|| hex(addr))
    }

    fn try_usym(&mut self, addr: u64, pid: u64) -> Option<(String, u64)> {
        // Like bpftrace 0.17: once the process is gone, its addresses stay unresolved.
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            self.maps.remove(&pid);
            return None;
        }
        let find = |maps: &[Mapping]| {
            maps.iter()
                .find(|m| addr >= m.start && addr < m.end)
                .cloned()
        };
        let mut m = self.maps.get(&pid).and_then(|v| find(v));
        if m.is_none() {
            // Not cached or mapped since: read the maps again (fails once the process is gone).
            let text = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
            let v = parse_maps(&text);
            m = find(&v);
            self.maps.insert(pid, v);
        }
        let m = m?;
        // Through the process's view of the file, so a deleted or namespaced binary still reads.
        let root = PathBuf::from(format!("/proc/{pid}/map_files/{:x}-{:x}", m.start, m.end));
        let elf = self.elfs.entry(m.path.clone()).or_insert_with(|| {
            let data = std::fs::read(&m.path)
                .or_else(|_| std::fs::read(&root))
                .ok()?;
            ElfSyms::parse(&data)
        });
        let elf = elf.as_ref()?;
        elf.resolve_off(elf.vaddr(addr - m.start + m.off))
            .map(|(n, off)| (n.to_string(), off))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_lines() {
        let t = "55d1-55d2 r-xp 00001000 08:01 42 /usr/bin/x\n7ff0-7ff1 rw-p 00000000 00:00 0 \n7ff2-7ff3 r--p 00000000 00:00 0 [vdso]\n";
        let m = parse_maps(t);
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].start, m[0].end, m[0].off), (0x55d1, 0x55d2, 0x1000));
        assert_eq!(hex(0), "0");
        assert_eq!(hex(0x1f), "0x1f");
    }

    #[test]
    fn resolves_own_function() {
        // This test binary's own symbol for a function of this crate, through our maps.
        let addr = hex as fn(u64) -> String as usize as u64;
        let mut c = SymCache::default();
        let name = c.usym(addr, std::process::id() as u64);
        assert!(name.contains("symbols3hex"), "{name}");
        assert_eq!(c.usym(8, std::process::id() as u64), "0x8");
    }
}
