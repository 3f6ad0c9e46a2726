//! `kmodkit leaks`: kernel allocations made during a window and not freed by its end.
//!
//! The tracing half is a script in this crate's own language (see [`script`]): the kmem
//! allocation tracepoints record `ptr -> call_site` and `ptr -> bytes_alloc` in two hash maps,
//! the free tracepoints delete the entries. What is left at the end is outstanding. The
//! report groups it by call site, resolved through `/proc/kallsyms` (module symbols are
//! `sym [module]` there) and bounded by the module's core range from `/proc/modules`.
//!
//! Limits: the maps hold [`MAP_ENTRIES`] entries; a window that fills them is an error
//! rather than a silently incomplete report. A module's `__init` code is freed after its
//! init runs and its symbols leave kallsyms, so call sites there are named by section,
//! `.init.text+0x1d [module]`, from the addresses the kernel keeps in
//! /sys/module/NAME/sections.

use crate::driver::{self, Options};
use crate::sema::Env;
pub use crate::symbols::{Kallsyms, Symbol};
use crate::system::SystemEnv;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Trace(#[from] driver::Error),
    #[error("no kmem allocation tracepoints on this kernel (tracepoint:kmem:kmalloc)")]
    NoTracepoints,
    #[error("{0}")]
    Read(#[from] crate::symbols::ReadError),
    #[error("{0} allocations outstanding fill the tracing map: the report would be incomplete; use a shorter --duration or a narrower -c command")]
    Full(usize),
    #[error("{0:?} is not a module name (letters, digits, `_` and `-`)")]
    ModuleName(String),
    #[error("unexpected line in the trace output: {0:?}")]
    Output(String),
}

/// The tracing script for the tracepoints this kernel has; `duration_s` adds an interval
/// probe that ends the window.
/// `until_unload` adds a probe that ends the window when that module is unloaded.
pub fn script(
    env: &dyn Env,
    duration_s: Option<u64>,
    until_unload: Option<&str>,
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

/// Outstanding allocations of one call site.
#[derive(Debug, Clone)]
pub struct Site {
    pub call_site: u64,
    pub symbol: Option<Symbol>,
    pub count: u64,
    pub bytes: u64,
}

/// Groups by call site, largest byte total first; `module` keeps only that module's sites.
pub fn group(out: &[Outstanding], syms: &Kallsyms, module: Option<&str>) -> Vec<Site> {
    let mut by: BTreeMap<u64, Site> = BTreeMap::new();
    for o in out {
        let s = by.entry(o.call_site).or_insert_with(|| Site {
            call_site: o.call_site,
            symbol: syms.resolve(o.call_site),
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
                    .is_some_and(|sym| sym.module.as_deref() == Some(m))
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

/// Traces for the window (until `command` exits, or `duration_s`, or `module` is unloaded,
/// or Ctrl-C) and returns the
/// outstanding allocations grouped by call site.
pub fn run(
    command: Option<String>,
    duration_s: Option<u64>,
    module: Option<&str>,
) -> Result<Vec<Site>, Error> {
    let env = SystemEnv::mounted();
    let src = script(&env, duration_s, module)?;
    // Symbols as they are now, for the module should it be unloaded during the window.
    let before = match module {
        Some(_) => Some(Kallsyms::load()?),
        None => None,
    };
    let opts = Options {
        command,
        map_keys_max: MAP_ENTRIES,
        ..Options::default()
    };
    let mut w = Announce {
        buf: Vec::new(),
        announced: false,
    };
    driver::run(&src, "leaks", &opts, &mut w)?;
    let out = parse_output(&String::from_utf8_lossy(&w.buf))?;
    if out.len() >= MAP_ENTRIES as usize {
        return Err(Error::Full(out.len()));
    }
    let mut syms = Kallsyms::load()?;
    if let Some(b) = before {
        syms.merge_gone(b);
    }
    Ok(group(&out, &syms, module))
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
        let g = group(&out, &k, None);
        assert_eq!(g.len(), 2);
        assert_eq!((g[0].count, g[0].bytes), (2, 128));
        assert_eq!(g[0].symbol.as_ref().unwrap().to_string(), "a+0x0 [m]");
        let g = group(&out, &k, Some("m"));
        assert_eq!(g.len(), 1);
        assert!(report_text(&g).contains("128 bytes in     2 allocation(s) from a+0x0 [m]"));
        assert!(parse_output("@site[x]: 1").is_err());
    }
}
