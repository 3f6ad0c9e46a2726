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

    fn uprobe_target(&self, path: &str, symbol: &str) -> Result<(), String> {
        uprobe_offset(path, symbol).map(|_| ())
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
    PathBuf::from(path)
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
