//! The running system as semantic analysis and the runtime see it: tracepoints and their
//! format files under tracefs, kprobe support, and uprobe targets (symbol -> file offset,
//! read with `object`).

use crate::sema::{wildcard_match, Env};
use crate::types::{parse_tp_format, TpField};
use object::{Object, ObjectSegment, ObjectSymbol};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub const TRACEFS: &str = "/sys/kernel/tracing";

pub struct SystemEnv {
    pub tracefs: PathBuf,
    /// Where the kernel's types come from: `--btf FILE`, else [`VMLINUX_BTF`].
    pub btf_path: Option<PathBuf>,
    /// The BTF, read on the first question that needs it (most scripts never ask).
    btf: OnceLock<Result<Arc<btf::Btf>, String>>,
}

/// The running kernel's BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

impl Default for SystemEnv {
    fn default() -> Self {
        SystemEnv {
            tracefs: PathBuf::from(TRACEFS),
            btf_path: None,
            btf: OnceLock::new(),
        }
    }
}

/// Reads BTF from `path`: raw BTF (`/sys/kernel/btf/vmlinux`, `bpftool btf dump ... format
/// raw`'s input), an ELF file with a `.BTF` section (a `vmlinux`), or a kernel image
/// (a bzImage or a compressed payload, decompressed first).
pub fn load_btf(path: &Path) -> Result<btf::Btf, String> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let what = |e: btf::Error| format!("{}: {e}", path.display());
    if data.starts_with(&btf::MAGIC.to_le_bytes()) || data.starts_with(&btf::MAGIC.to_be_bytes()) {
        return btf::Btf::parse(&data).map_err(what);
    }
    if data.starts_with(b"\x7fELF") {
        return btf::from_elf(&data, None).map_err(what);
    }
    match modsign::image::decompress_payload(&data) {
        Some(payload) => btf::find_in_image(&payload).map_err(what),
        None => btf::find_in_image(&data).map_err(|_| {
            format!(
                "{}: no BTF found (not raw BTF, not an ELF file with .BTF, not a kernel image)",
                path.display()
            )
        }),
    }
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?'])
}

fn list_dir(p: &Path) -> std::io::Result<Vec<String>> {
    let mut v: Vec<String> = std::fs::read_dir(p)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    Ok(v)
}

impl SystemEnv {
    /// The system's tracefs, mounted first when it is not (as bpftrace does). A failure to
    /// mount is reported later, by the first probe that needs it.
    pub fn mounted() -> SystemEnv {
        let env = SystemEnv::default();
        let _ = bpf_sys::ensure_tracefs(&env.tracefs);
        env
    }

    fn events(&self) -> Result<PathBuf, String> {
        let ev = self.tracefs.join("events");
        if !ev.is_dir() {
            return Err(format!(
                "{} is not there: tracefs is not mounted",
                ev.display()
            ));
        }
        Ok(ev)
    }

    /// Every tracepoint as (category, name), sorted.
    pub fn all_tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        self.tracepoints("*", "*")
    }
}

impl Env for SystemEnv {
    fn tracepoints(&self, category: &str, name: &str) -> Result<Vec<(String, String)>, String> {
        let ev = self.events()?;
        // One named tracepoint: its own directory says it exists, without the kernel
        // generating the list of all of them (about 1 ms, a sixth of the time to attach).
        // Only `ftrace` holds pseudo-events, which the list below leaves out.
        if !is_glob(category)
            && !is_glob(name)
            && category != "ftrace"
            && [category, name]
                .iter()
                .all(|p| !p.contains('/') && !p.starts_with('.'))
            && ev.join(category).join(name).join("format").exists()
        {
            return Ok(vec![(category.to_string(), name.to_string())]);
        }
        // The kernel's list of real tracepoints (what bpftrace matches against); the events
        // directory also has pseudo-events such as ftrace:*, which cannot be attached.
        if let Ok(list) = std::fs::read_to_string(self.tracefs.join("available_events")) {
            let mut out: Vec<(String, String)> = list
                .lines()
                .filter_map(|l| l.split_once(':'))
                .filter(|(c, n)| wildcard_match(category, c) && wildcard_match(name, n))
                .map(|(c, n)| (c.to_string(), n.to_string()))
                .collect();
            out.sort();
            out.dedup();
            return Ok(out);
        }
        let cats = if is_glob(category) {
            list_dir(&ev)
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter(|c| wildcard_match(category, c))
                .collect()
        } else {
            vec![category.to_string()]
        };
        let mut out = Vec::new();
        for c in cats {
            if is_glob(name) {
                for n in list_dir(&ev.join(&c)).unwrap_or_default() {
                    if wildcard_match(name, &n) && ev.join(&c).join(&n).join("format").exists() {
                        out.push((c.clone(), n));
                    }
                }
            } else if ev.join(&c).join(name).join("format").exists() {
                out.push((c.clone(), name.to_string()));
            }
        }
        Ok(out)
    }

    fn tracepoint_format(&self, category: &str, name: &str) -> Result<Vec<TpField>, String> {
        let p = self.events()?.join(category).join(name).join("format");
        let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(parse_tp_format(&text))
    }

    fn kprobes_available(&self) -> bool {
        Path::new("/sys/bus/event_source/devices/kprobe").exists()
            || self.tracefs.join("kprobe_events").exists()
    }

    fn kprobe_functions(&self) -> Result<Vec<(String, Option<String>)>, String> {
        kprobe_functions(&self.tracefs).map_err(|e| {
            format!(
                "{}: {e}",
                self.tracefs.join("available_filter_functions").display()
            )
        })
    }

    fn uprobe_target(&self, path: &str, symbol: &str) -> Result<(), String> {
        if symbol.is_empty() {
            // The file alone (a dry run: bpftrace -d does not look the symbol up).
            let p = resolve_binary(path);
            let data = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            return object::File::parse(&*data)
                .map(|_| ())
                .map_err(|e| format!("{}: not an ELF file: {e}", p.display()));
        }
        uprobe_offset(path, symbol).map(|_| ())
    }

    fn uprobe_symbols(&self, path: &str, pattern: &str) -> Result<Vec<String>, String> {
        uprobe_symbols(path, pattern)
    }

    fn user_symbol(&self, path: &str, name: &str) -> Option<u64> {
        let data = std::fs::read(resolve_binary(path)).ok()?;
        let file = object::File::parse(&*data).ok()?;
        let found = file
            .symbols()
            .chain(file.dynamic_symbols())
            .find(|s| s.name() == Ok(name) && s.kind() == object::SymbolKind::Data);
        found.map(|s| s.address())
    }

    fn uprobe_path(&self, path: &str) -> String {
        resolve_binary(path).display().to_string()
    }

    fn kernel_symbol(&self, name: &str) -> Option<u64> {
        let text = std::fs::read_to_string("/proc/kallsyms").ok()?;
        text.lines().find_map(|l| {
            let mut f = l.split_whitespace();
            let (addr, _, sym) = (f.next()?, f.next()?, f.next()?);
            (sym == name)
                .then(|| u64::from_str_radix(addr, 16).ok())
                .flatten()
        })
    }

    fn include_defines(&self, header: &str) -> Vec<(String, String)> {
        if header.contains("..") {
            return Vec::new();
        }
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let build = format!("/lib/modules/{}/build", release.trim());
        let dirs = [
            format!("{build}/include"),
            format!("{build}/arch/x86/include"),
            format!("{build}/include/uapi"),
            format!("{build}/arch/x86/include/uapi"),
            format!("{build}/arch/x86/include/generated"),
            "/usr/include".to_string(),
            "/usr/include/x86_64-linux-gnu".to_string(),
        ];
        let mut out = Vec::new();
        let mut seen = Vec::new();
        include_tree(header, &dirs, 0, &mut seen, &mut out);
        // Without the running kernel's headers (the host's kernel has none installed),
        // the kernel-internal constants the shipped tools use, whose values have not
        // changed in the kernel's history (newer bpftrace tools define them this way too).
        for (h, name, value) in STABLE_KERNEL_DEFINES {
            if *h == header && !out.iter().any(|(n, _)| n == name) {
                out.push((name.to_string(), value.to_string()));
            }
        }
        out
    }

    fn btf(&self) -> Result<Arc<btf::Btf>, String> {
        self.btf
            .get_or_init(|| {
                let path = self
                    .btf_path
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(VMLINUX_BTF));
                load_btf(&path).map(Arc::new)
            })
            .clone()
    }
}

/// (header, name, value) of kernel-internal `#define`s that are the same in every kernel
/// version: the task states of include/linux/sched.h.
const STABLE_KERNEL_DEFINES: &[(&str, &str, &str)] = &[
    ("linux/sched.h", "TASK_RUNNING", "0x00000000"),
    ("linux/sched.h", "TASK_INTERRUPTIBLE", "0x00000001"),
    ("linux/sched.h", "TASK_UNINTERRUPTIBLE", "0x00000002"),
    ("linux/sched.h", "__TASK_STOPPED", "0x00000004"),
    ("linux/sched.h", "__TASK_TRACED", "0x00000008"),
    ("linux/sched.h", "EXIT_DEAD", "0x00000010"),
    ("linux/sched.h", "EXIT_ZOMBIE", "0x00000020"),
];

/// Headers an include reads at most (its own includes counted), and how deep they nest:
/// enough for `<sys/socket.h>` to reach `AF_INET` through `<bits/socket.h>`, without
/// reading the whole kernel's headers for `<linux/sched.h>`.
const MAX_HEADERS: usize = 64;
const MAX_INCLUDE_DEPTH: usize = 3;

/// The defines of `header` (found in the first of `dirs` that has it) and of the headers
/// it includes, each header read once.
fn include_tree(
    header: &str,
    dirs: &[String],
    depth: usize,
    seen: &mut Vec<String>,
    out: &mut Vec<(String, String)>,
) {
    if header.contains("..") || seen.len() >= MAX_HEADERS || seen.iter().any(|s| s == header) {
        return;
    }
    seen.push(header.to_string());
    let Some(text) = dirs
        .iter()
        .find_map(|d| std::fs::read_to_string(Path::new(d).join(header)).ok())
    else {
        return;
    };
    if depth < MAX_INCLUDE_DEPTH {
        for l in text.lines() {
            let Some(d) = l.trim_start().strip_prefix('#') else {
                continue;
            };
            if let Some(inc) = d.trim_start().strip_prefix("include") {
                let name = inc.trim().trim_matches(['<', '>', '"']);
                let name = name.split(['>', '"']).next().unwrap_or("");
                if !name.is_empty() {
                    include_tree(name, dirs, depth + 1, seen, out);
                }
            }
        }
    }
    out.extend(header_defines(&text));
}

/// The object-like `#define NAME VALUE` lines of a C header (function-like macros and
/// continued lines left out): what a script's `#include` gives it, as clang's preprocessor
/// would for integer constants.
pub fn header_defines(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let d = l.trim_start().strip_prefix('#')?.trim_start();
            let d = d.strip_prefix("define")?;
            if !d.starts_with([' ', '\t']) || l.trim_end().ends_with('\\') {
                return None;
            }
            let d = d.trim();
            let (name, value) = d.split_once([' ', '\t'])?;
            if name.contains('(') {
                return None;
            }
            Some((name.to_string(), value.trim().to_string()))
        })
        .collect()
}

/// Resolves a binary name through PATH when it has no slash.
/// Frames kept per stack: the kernel's `perf_event_max_stack` (0 when unreadable, which the
/// code generator takes as the kernel's default).
pub fn perf_event_max_stack() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/perf_event_max_stack")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Resolves a uprobe target as bpftrace does: a path as given; a bare name first through
/// PATH (an executable), then as a shared library (`libc`, `libssl`, `c`) through the
/// dynamic linker's cache (/etc/ld.so.cache, in its order of preference) and then the
/// standard library directories. A name found nowhere is returned as is (opening it then
/// gives the error).
pub fn resolve_binary(path: &str) -> PathBuf {
    if path.contains('/') {
        return PathBuf::from(path);
    }
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = Path::new(dir).join(path);
        if p.is_file() {
            return p;
        }
    }
    if let Some(lib) = resolve_library(path) {
        return lib;
    }
    PathBuf::from(path)
}

/// The standard directories the dynamic linker searches after its cache.
const LIBRARY_DIRS: &[&str] = &[
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
];

/// A shared library by name: `libc` (or `c`) is the first `libc.so*` of the linker's cache,
/// else of the standard directories (versioned names sorted, the plain `.so` last).
pub fn resolve_library(name: &str) -> Option<PathBuf> {
    if name.is_empty() || name.contains('/') {
        return None;
    }
    let stem = if name.starts_with("lib") {
        name.to_string()
    } else {
        format!("lib{name}")
    };
    let prefix = format!("{stem}.so");
    let matches = |n: &str| n == prefix || n.starts_with(&format!("{prefix}."));
    if let Ok(cache) = std::fs::read("/etc/ld.so.cache") {
        if let Some(p) = ld_so_cache(&cache)
            .into_iter()
            .find(|(k, _)| matches(k))
            .map(|(_, v)| PathBuf::from(v))
        {
            return Some(p);
        }
    }
    for dir in LIBRARY_DIRS {
        let mut found: Vec<String> = list_dir(Path::new(dir))
            .unwrap_or_default()
            .into_iter()
            .filter(|n| matches(n))
            .collect();
        // libc.so.6 before libc.so (often a linker script, not an ELF file).
        found.sort_by_key(|n| (n == &prefix, n.clone()));
        if let Some(n) = found.first() {
            return Some(Path::new(dir).join(n));
        }
    }
    None
}

/// The (soname, path) entries of an ld.so.cache in glibc's "new" format
/// (`glibc-ld.so.cache1.1`: a 48-byte header, then 24-byte entries whose string offsets
/// count from the header), in file order. Anything malformed ends the list.
pub fn ld_so_cache(data: &[u8]) -> Vec<(String, String)> {
    const MAGIC: &[u8] = b"glibc-ld.so.cache1.1";
    let Some(start) = data.windows(MAGIC.len()).position(|w| w == MAGIC) else {
        return Vec::new();
    };
    let c = &data[start..];
    let u32_at =
        |o: usize| -> Option<u32> { Some(u32::from_le_bytes(c.get(o..o + 4)?.try_into().ok()?)) };
    let cstr = |o: usize| -> Option<String> {
        let s = c.get(o..)?;
        let end = s.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&s[..end]).into_owned())
    };
    let n = u32_at(20).unwrap_or(0) as usize;
    let mut out = Vec::new();
    for i in 0..n.min(c.len() / 24) {
        let e = 48 + i * 24;
        let (Some(k), Some(v)) = (u32_at(e + 4), u32_at(e + 8)) else {
            break;
        };
        match (cstr(k as usize), cstr(v as usize)) {
            (Some(k), Some(v)) => out.push((k, v)),
            _ => break,
        }
    }
    out
}

/// The function symbols (defined, nonzero address) of the ELF file at `path` that
/// `pattern` names, as bpftrace 0.17 matches them: the symbol's own name, or its C++
/// demangled name (`ns::K::get(int)`, as c++filt prints it); with `*`, every symbol whose
/// name or demangled name matches. Mangled names, sorted, each once.
pub fn uprobe_symbols(path: &str, pattern: &str) -> Result<Vec<String>, String> {
    let p = resolve_binary(path);
    let data = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    let file = object::File::parse(&*data)
        .map_err(|e| format!("{}: not an ELF file: {e}", p.display()))?;
    let glob = pattern.contains('*');
    let mut out: Vec<String> = file
        .symbols()
        .chain(file.dynamic_symbols())
        .filter(|s| s.address() != 0 && s.is_definition() && s.kind() == object::SymbolKind::Text)
        .filter_map(|s| s.name().ok().map(str::to_string))
        .filter(|name| {
            let demangled = demangle(name);
            if glob {
                tracelang::sema::wildcard_match(pattern, name)
                    || demangled.is_some_and(|d| tracelang::sema::wildcard_match(pattern, &d))
            } else {
                name == pattern || demangled.as_deref() == Some(pattern)
            }
        })
        .collect();
    out.sort();
    out.dedup();
    if out.is_empty() && !glob {
        return Err(format!("{}: no symbol `{pattern}`", p.display()));
    }
    Ok(out)
}

/// A C++ symbol's demangled name (`_ZN2ns1K3getEi` -> `ns::K::get(int)`); None for others.
pub fn demangle(name: &str) -> Option<String> {
    if !name.starts_with("_Z") {
        return None;
    }
    let sym = cpp_demangle::Symbol::new(name).ok()?;
    sym.demangle(&cpp_demangle::DemangleOptions::default()).ok()
}

/// The file offset of `symbol` in the ELF file at `path` (what a uprobe attaches to).
pub fn uprobe_offset(path: &str, symbol: &str) -> Result<u64, String> {
    let p = resolve_binary(path);
    let data = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    let file = object::File::parse(&*data)
        .map_err(|e| format!("{}: not an ELF file: {e}", p.display()))?;
    let addr = file
        .symbols()
        .chain(file.dynamic_symbols())
        .find(|s| s.name() == Ok(symbol) && s.address() != 0)
        .map(|s| s.address())
        .ok_or_else(|| format!("{}: no symbol `{symbol}`", p.display()))?;
    for seg in file.segments() {
        let (foff, fsize) = seg.file_range();
        if addr >= seg.address() && addr < seg.address() + fsize {
            return Ok(addr - seg.address() + foff);
        }
    }
    Ok(addr)
}

/// `cgroup_path(id, filter)` as bpftrace 0.17 prints it: for every cgroup hierarchy in
/// /proc/mounts whose name matches `filter` (a v1 hierarchy is named by its mount
/// point's last component, the v2 one `unified`), `NAME:PATH` where PATH is the directory
/// whose inode is `id` under that mount (`/` for the mount itself; hierarchies without it
/// left out); `unified` first, the others by name, joined with commas.
pub fn cgroup_paths(id: u64, filter: &str) -> String {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let mut roots: Vec<(String, String)> = mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split(' ');
            let (dev, dir) = (f.next()?, f.next()?);
            let name = match dev {
                "cgroup2" => "unified".to_string(),
                "cgroup" => Path::new(dir).file_name()?.to_string_lossy().into_owned(),
                _ => return None,
            };
            Some((name, dir.to_string()))
        })
        .filter(|(n, _)| wildcard_match(filter, n))
        .collect();
    roots.sort_by(|a, b| match (a.0 == "unified", b.0 == "unified") {
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.0.cmp(&b.0),
    });
    let parts: Vec<String> = roots
        .iter()
        .map(|(name, dir)| (name, cgroup_path_in(Path::new(dir), id)))
        .filter(|(_, p)| !p.is_empty())
        .map(|(name, p)| format!("{name}:{p}"))
        .collect();
    parts.join(",")
}

/// The path under `base` of the directory with inode `id` (`/` for `base` itself).
fn cgroup_path_in(base: &Path, id: u64) -> String {
    use std::os::unix::fs::MetadataExt;
    if std::fs::metadata(base).is_ok_and(|m| m.ino() == id) {
        return "/".into();
    }
    let mut stack = vec![base.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if !ft.is_dir() {
                continue;
            }
            let p = e.path();
            if e.metadata().is_ok_and(|m| m.ino() == id) {
                return p
                    .strip_prefix(base)
                    .map(|r| format!("/{}", r.display()))
                    .unwrap_or_default();
            }
            stack.push(p);
        }
    }
    String::new()
}

/// Functions a kprobe can attach to, with their module: tracefs's available_filter_functions
/// (`name [module]` lines), less the kernel's kprobe blacklist when debugfs shows it; sorted,
/// each once.
pub fn kprobe_functions(tracefs: &Path) -> std::io::Result<Vec<(String, Option<String>)>> {
    let text = std::fs::read_to_string(tracefs.join("available_filter_functions"))?;
    let black: std::collections::HashSet<String> =
        std::fs::read_to_string("/sys/kernel/debug/kprobes/blacklist")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
            .collect();
    let mut v: Vec<(String, Option<String>)> = text
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let f = w.next()?;
            let m = w.next().map(|m| m.trim_matches(['[', ']']).to_string());
            Some((f.to_string(), m))
        })
        .filter(|(f, _)| !black.contains(f) && !f.starts_with("__ftrace_invalid_address__"))
        .collect();
    v.sort();
    v.dedup();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cache in glibc's new format with two entries, written by hand.
    fn cache(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut strings = Vec::new();
        let table = 48 + 24 * entries.len();
        let mut offs = Vec::new();
        for (k, v) in entries {
            let ko = table + strings.len();
            strings.extend_from_slice(k.as_bytes());
            strings.push(0);
            let vo = table + strings.len();
            strings.extend_from_slice(v.as_bytes());
            strings.push(0);
            offs.push((ko as u32, vo as u32));
        }
        let mut b = b"glibc-ld.so.cache1.1".to_vec();
        b.extend_from_slice(&(entries.len() as u32).to_le_bytes());
        b.extend_from_slice(&(strings.len() as u32).to_le_bytes());
        b.resize(48, 0);
        for (k, v) in offs {
            b.extend_from_slice(&0x303i32.to_le_bytes());
            b.extend_from_slice(&k.to_le_bytes());
            b.extend_from_slice(&v.to_le_bytes());
            b.extend_from_slice(&[0; 12]);
        }
        b.extend_from_slice(&strings);
        b
    }

    #[test]
    fn ld_so_cache_entries_in_order() {
        let c = cache(&[
            ("libssl.so.3", "/lib/x86_64-linux-gnu/libssl.so.3"),
            ("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"),
        ]);
        assert_eq!(
            ld_so_cache(&c),
            vec![
                (
                    "libssl.so.3".to_string(),
                    "/lib/x86_64-linux-gnu/libssl.so.3".to_string()
                ),
                (
                    "libc.so.6".to_string(),
                    "/lib/x86_64-linux-gnu/libc.so.6".to_string()
                ),
            ]
        );
        // Truncated or foreign bytes give what is whole, never a panic.
        for n in 0..c.len() {
            let _ = ld_so_cache(&c[..n]);
        }
        assert!(ld_so_cache(b"not a cache").is_empty());
    }

    #[test]
    fn library_names_resolve_like_the_dynamic_linker() {
        // This host's libc (every glibc system has one in its cache).
        if let Some(p) = resolve_library("libc") {
            assert!(p.to_string_lossy().contains("libc.so"), "{}", p.display());
            assert_eq!(resolve_library("c"), Some(p));
        }
        assert_eq!(resolve_library("no-such-library-kmodkit"), None);
        assert_eq!(resolve_library("../libc"), None);
    }

    #[test]
    fn task_states_come_with_or_without_kernel_headers() {
        // From the running kernel's headers when installed, else from the stable table:
        // either way runqlat's `#include <linux/sched.h>` gives TASK_RUNNING = 0.
        let defs = SystemEnv::default().include_defines("linux/sched.h");
        let v = defs
            .iter()
            .find(|(n, _)| n == "TASK_RUNNING")
            .map(|(_, v)| v);
        assert!(
            v.is_some_and(|v| crate::lexer::parse_int(v) == Some(0)),
            "{v:?}"
        );
    }
}
