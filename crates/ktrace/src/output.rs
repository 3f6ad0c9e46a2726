//! The output runtime's text: maps printed at exit or by `print()`, histograms, `stats`,
//! `avg`, tuple keys, values, byte-identical to bpftrace 0.17 (its `output.cpp` and
//! `BPFtrace::print_map*`: the ordering rules, the 16+8-column histogram rows with a
//! 52-character `@` bar, the blank lines after histograms and stats).
//!
//! This module decodes the raw bytes of map entries (as `codegen` lays them out) and never
//! touches the kernel: the runtime reads the entries and hands them here.

use crate::sema::MapInfo;
use crate::types::Ty;
use std::fmt::Write;

/// Turns addresses and ids into names (`ksym`, `usym`, `probe`).
pub trait Symbolizer {
    fn ksym(&self, addr: u64) -> String;
    fn usym(&self, addr: u64, pid: u64) -> String;
    fn probe(&self, id: u64) -> String;
    /// The symbolized frames of stack `id` (`kstack`, or `ustack` of process `pid`).
    fn stack(&self, id: u64, user: bool, pid: u64, limit: u16) -> Vec<String>;
}

/// Prints addresses in hex; probe ids as numbers. For tests and when nothing better exists.
pub struct NoSymbols;

impl Symbolizer for NoSymbols {
    fn ksym(&self, addr: u64) -> String {
        crate::symbols::hex(addr)
    }
    fn usym(&self, addr: u64, _pid: u64) -> String {
        crate::symbols::hex(addr)
    }
    fn probe(&self, id: u64) -> String {
        id.to_string()
    }
    fn stack(&self, _id: u64, _user: bool, _pid: u64, _limit: u16) -> Vec<String> {
        Vec::new()
    }
}

/// A stack as bpftrace 0.17 prints it: a newline, then each frame on its own line after
/// `indent` spaces (8 in `printf`/`print`, 4 as a map key).
fn stack_to_str(ty: &Ty, b: &[u8], sym: &dyn Symbolizer, indent: usize) -> String {
    let (user, limit) = match ty {
        Ty::Ustack(n) => (true, *n),
        Ty::Kstack(n) => (false, *n),
        _ => (false, 0),
    };
    let frames = sym.stack(u64_at(b, 0), user, u64_at(b, 8), limit);
    let mut s = String::from("\n");
    for f in frames {
        let _ = writeln!(s, "{:indent$}{f}", "");
    }
    s
}

/// One map entry as read from the kernel: the key bytes and, for per-CPU maps, one value
/// per possible CPU (otherwise exactly one).
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: Vec<u8>,
    pub values: Vec<Vec<u8>>,
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    if let Some(s) = b.get(off..off + 8) {
        a.copy_from_slice(s);
    }
    u64::from_le_bytes(a)
}

fn int_at(b: &[u8], off: usize, size: u8, signed: bool) -> i128 {
    let raw = u64_at(b, off);
    let bits = size as u32 * 8;
    let v = if bits >= 64 {
        raw
    } else {
        raw & ((1u64 << bits) - 1)
    };
    if signed {
        if bits >= 64 {
            v as i64 as i128
        } else {
            let shift = 64 - bits;
            (((v << shift) as i64) >> shift) as i128
        }
    } else {
        v as i128
    }
}

fn str_at(b: &[u8], off: usize, n: usize) -> String {
    let s = b.get(off..(off + n).min(b.len())).unwrap_or(&[]);
    let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
    String::from_utf8_lossy(&s[..end]).into_owned()
}

/// A single value of a scalar type, as text (`value_to_str`).
pub fn value_to_str(ty: &Ty, b: &[u8], sym: &dyn Symbolizer) -> String {
    match ty {
        Ty::Int { size, signed } => int_at(b, 0, *size, *signed).to_string(),
        Ty::Str(n) => str_at(b, 0, *n),
        Ty::Tuple(ts) => {
            let mut off = 0;
            let mut parts = Vec::new();
            for t in ts {
                parts.push(value_to_str(t, &b[off.min(b.len())..], sym));
                off += t.size().next_multiple_of(8);
            }
            format!("({})", parts.join(", "))
        }
        Ty::Ksym => sym.ksym(u64_at(b, 0)),
        Ty::Usym => sym.usym(u64_at(b, 0), u64_at(b, 8)),
        Ty::Probe => sym.probe(u64_at(b, 0)),
        Ty::Kstack(_) | Ty::Ustack(_) => stack_to_str(ty, b, sym, 8),
        Ty::Inet => inet_to_str(b),
        Ty::MacAddr => {
            let m: Vec<String> = (0..6)
                .map(|i| format!("{:02X}", b.get(i).copied().unwrap_or(0)))
                .collect();
            m.join(":")
        }
        Ty::Buf(n) => {
            let len = (u64_at(b, 0) as usize).min(*n);
            buf_to_str(b.get(8..8 + len).unwrap_or(&[]))
        }
        Ty::Timestamp(fmt) => timestamp_to_str(fmt, u64_at(b, 0)),
        Ty::CgroupPath(filter) => crate::system::cgroup_paths(u64_at(b, 0), filter),
        _ => (u64_at(b, 0) as i64).to_string(),
    }
}

/// An `ntop()` value, `[family u64][16 bytes]`, as inet_ntop(3) writes it; an unknown
/// family prints nothing.
fn inet_to_str(b: &[u8]) -> String {
    let a = b.get(8..24).unwrap_or(&[]);
    match u64_at(b, 0) {
        2 if a.len() >= 4 => std::net::Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string(),
        10 if a.len() >= 16 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(&a[..16]);
            std::net::Ipv6Addr::from(o).to_string()
        }
        _ => String::new(),
    }
}

/// A `buf()` value as `%r` prints it (bpftrace's `hex_format_buffer`): printable ASCII as
/// is, every other byte as `\xNN`.
pub fn buf_to_str(b: &[u8]) -> String {
    let mut o = String::with_capacity(b.len());
    for &c in b {
        if (32..=126).contains(&c) {
            o.push(c as char);
        } else {
            let _ = write!(o, "\\x{c:02x}");
        }
    }
    o
}

/// A `strftime()` value: `ns` (CLOCK_MONOTONIC, from `nsecs`) placed on the wall clock as
/// bpftrace 0.17 does (boot time = CLOCK_REALTIME - CLOCK_BOOTTIME, plus `ns`), then
/// formatted in local time; `%f` is the microseconds.
pub fn timestamp_to_str(fmt: &str, ns: u64) -> String {
    let boot = bpf_sys::realtime_ns().saturating_sub(bpf_sys::boottime_ns());
    let t = boot + ns;
    let fmt = fmt.replace("%f", &format!("{:06}", (t % 1_000_000_000) / 1000));
    bpf_sys::strftime_at(&fmt, (t / 1_000_000_000) as i64)
}

/// bpftrace's `JsonOutput::json_escape`: quotes, backslashes and control characters.
pub fn json_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) <= 0x1f => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o
}

/// A value in `--json` output: numbers bare, strings and symbols quoted, tuples as arrays.
pub fn value_to_json(ty: &Ty, b: &[u8], sym: &dyn Symbolizer) -> String {
    match ty {
        Ty::Int { .. } => value_to_str(ty, b, sym),
        Ty::Tuple(ts) => {
            let mut off = 0;
            let mut parts = Vec::new();
            for t in ts {
                parts.push(value_to_json(t, &b[off.min(b.len())..], sym));
                off += t.size().next_multiple_of(8);
            }
            format!("[{}]", parts.join(","))
        }
        t if t.is_textual() => format!("\"{}\"", json_escape(&value_to_str(ty, b, sym))),
        _ => value_to_str(ty, b, sym),
    }
}

/// A map key in `--json` output: the key fields' text joined with commas, quoted.
fn key_to_json(map: &MapInfo, key: &[u8], sym: &dyn Symbolizer) -> String {
    let mut off = 0;
    let mut parts = Vec::new();
    for t in &map.keys {
        parts.push(key_field(t, &key[off.min(key.len())..], sym));
        off += t.size().next_multiple_of(8);
    }
    format!("\"{}\"", json_escape(&parts.join(",")))
}

/// One `--json` map line: `{"type": T, "data": {"@m": ...}}`, nothing for an empty map.
fn json_map_line(map: &MapInfo, kind: &str, elems: Vec<(String, String)>) -> String {
    if elems.is_empty() {
        return String::new();
    }
    let body = if map.keys.is_empty() {
        elems
            .into_iter()
            .map(|(_, v)| v)
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        let kv: Vec<String> = elems
            .into_iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        format!("{{{}}}", kv.join(", "))
    };
    format!(
        "{{\"type\": \"{kind}\", \"data\": {{\"{}\": {body}}}}}\n",
        json_escape(&map.display_name())
    )
}

/// Output format: bpftrace's text, or its `-f json` lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// One field of a map key: stacks indented by 4 there, as bpftrace prints them.
fn key_field(t: &Ty, b: &[u8], sym: &dyn Symbolizer) -> String {
    match t {
        Ty::Kstack(_) | Ty::Ustack(_) => stack_to_str(t, b, sym, 4),
        // A pointer key is printed in hex, as bpftrace prints pointers.
        Ty::Ptr(_) => format!("0x{:x}", u64_at(b, 0)),
        _ => value_to_str(t, b, sym),
    }
}

/// `@name[k1, k2]` (or `@name` for a map without keys).
fn key_to_str(map: &MapInfo, key: &[u8], sym: &dyn Symbolizer) -> String {
    if map.keys.is_empty() {
        return map.display_name();
    }
    let mut off = 0;
    let mut parts = Vec::new();
    for t in &map.keys {
        parts.push(key_field(t, &key[off.min(key.len())..], sym));
        off += t.size().next_multiple_of(8);
    }
    format!("{}[{}]", map.display_name(), parts.join(", "))
}

/// The key without its trailing bucket, for histograms.
fn key_prefix(map: &MapInfo, key: &[u8]) -> Vec<u8> {
    let n = if map.keys.is_empty() {
        8
    } else {
        map.keys.iter().map(|t| t.size().next_multiple_of(8)).sum()
    };
    key[..n.min(key.len())].to_vec()
}

fn sum_u64(values: &[Vec<u8>]) -> u64 {
    values
        .iter()
        .fold(0u64, |a, v| a.wrapping_add(u64_at(v, 0)))
}

/// (count, total) summed over CPUs for avg/stats.
fn sum_pair(values: &[Vec<u8>]) -> (i64, i64) {
    values.iter().fold((0i64, 0i64), |(c, t), v| {
        (
            c.wrapping_add(u64_at(v, 0) as i64),
            t.wrapping_add(u64_at(v, 8) as i64),
        )
    })
}

/// min/max over the CPUs that saw a value.
/// A min() or max() map value as bpftrace 0.17 prints it: the largest per-CPU slot (signed
/// for min, unsigned for max); min's slots hold 0xffffffff - v, turned back here.
fn min_max(values: &[Vec<u8>], max: bool) -> i128 {
    if max {
        i128::from(values.iter().map(|v| u64_at(v, 0)).max().unwrap_or(0))
    } else {
        let m = values.iter().map(|v| u64_at(v, 0) as i64).fold(0, i64::max);
        if m == 0 {
            0
        } else {
            i128::from(0xffff_ffffi64 - m)
        }
    }
}

fn hist_label(power: u32) -> String {
    let (p, suffix) = match power {
        40.. => (power - 40, "T"),
        30.. => (power - 30, "G"),
        20.. => (power - 20, "M"),
        10.. => (power - 10, "K"),
        _ => (power, ""),
    };
    format!("{}{suffix}", 1u64 << p)
}

fn lhist_label(n: i64) -> String {
    if n == 0 {
        "0".into()
    } else if n % 1048576 == 0 {
        format!("{}M", n / 1048576)
    } else if n % 1024 == 0 {
        format!("{}K", n / 1024)
    } else {
        n.to_string()
    }
}

fn bar_row(out: &mut String, header: &str, count: u64, max_value: u64, div: u64) {
    // bpftrace computes the bar from 32-bit ints and a float; so do we.
    let v = count as i32;
    let bar = if max_value == 0 {
        0
    } else {
        (v as f32 / max_value as i32 as f32 * 52.0) as i32
    };
    // At most the 52 columns: counts past 31 bits wrap in the casts above, and a wrapped
    // count above a wrapped maximum must not become a bar of 2^31 characters.
    let bar = "@".repeat(bar.clamp(0, 52) as usize);
    let _ = writeln!(out, "{header:<16}{:>8} |{bar:<52}|", count / div);
}

/// Histogram rows for buckets `values` (index 0 is negative, 1 is zero, i>=2 is [2^(i-2), 2^(i-1))).
pub fn hist_to_str(values: &[u64], div: u64) -> String {
    let nz: Vec<usize> = (0..values.len())
        .filter(|&i| (values[i] as i32) > 0)
        .collect();
    let (Some(&min), Some(&max)) = (nz.first(), nz.last()) else {
        return String::new();
    };
    let max_value = values.iter().map(|&v| v as i32).max().unwrap_or(0).max(0) as u64;
    let mut out = String::new();
    for (i, &v) in values.iter().enumerate().take(max + 1).skip(min) {
        let header = match i {
            0 => "(..., 0)".to_string(),
            1 => "[0]".to_string(),
            2 => "[1]".to_string(),
            _ => format!(
                "[{}, {})",
                hist_label(i as u32 - 2),
                hist_label(i as u32 - 1)
            ),
        };
        bar_row(&mut out, &header, v, max_value, div);
    }
    out
}

/// `hist_to_str` as `--json` buckets.
pub fn hist_to_json(values: &[u64], div: u64) -> String {
    let nz: Vec<usize> = (0..values.len())
        .filter(|&i| (values[i] as i32) > 0)
        .collect();
    let (Some(&min), Some(&max)) = (nz.first(), nz.last()) else {
        return "[]".into();
    };
    let mut parts = Vec::new();
    for (i, &v) in values.iter().enumerate().take(max + 1).skip(min) {
        let range = match i {
            0 => "\"max\": -1, ".to_string(),
            1 => "\"min\": 0, \"max\": 0, ".to_string(),
            2 => "\"min\": 1, \"max\": 1, ".to_string(),
            _ => format!(
                "\"min\": {}, \"max\": {}, ",
                1u64 << (i - 2),
                (1u64 << (i - 1)) - 1
            ),
        };
        parts.push(format!("{{{range}\"count\": {}}}", v / div));
    }
    format!("[{}]", parts.join(", "))
}

/// `lhist_to_str` as `--json` buckets.
pub fn lhist_to_json(values: &[u64], min: i64, max: i64, step: i64) -> String {
    let buckets = ((max - min) / step) as usize;
    let nz: Vec<usize> = (0..=buckets + 1)
        .filter(|&i| values.get(i).is_some_and(|&v| v > 0))
        .collect();
    let (Some(&start), Some(&end)) = (nz.first(), nz.last()) else {
        return "[]".into();
    };
    let mut parts = Vec::new();
    for i in start..=end {
        let range = if i == 0 {
            format!("\"max\": {}, ", min - 1)
        } else if i == buckets + 1 {
            format!("\"min\": {max}, ")
        } else {
            format!(
                "\"min\": {}, \"max\": {}, ",
                (i as i64 - 1) * step + min,
                i as i64 * step + min - 1
            )
        };
        parts.push(format!(
            "{{{range}\"count\": {}}}",
            values.get(i).copied().unwrap_or(0)
        ));
    }
    format!("[{}]", parts.join(", "))
}

pub fn lhist_to_str(values: &[u64], min: i64, max: i64, step: i64) -> String {
    let buckets = ((max - min) / step) as usize;
    if values.iter().all(|&v| v == 0) {
        return String::new();
    }
    let max_value = values.iter().map(|&v| v as i32).max().unwrap_or(0).max(0) as u64;
    let nz: Vec<usize> = (0..=buckets + 1)
        .filter(|&i| values.get(i).is_some_and(|&v| v > 0))
        .collect();
    let start = nz.first().copied().unwrap_or(0);
    let end = nz.last().copied().unwrap_or(0);
    let mut out = String::new();
    for i in start..=end {
        let header = if i == 0 {
            format!("(..., {})", lhist_label(min))
        } else if i == buckets + 1 {
            format!("[{}, ...)", lhist_label(max))
        } else {
            format!(
                "[{}, {})",
                lhist_label((i as i64 - 1) * step + min),
                lhist_label(i as i64 * step + min)
            )
        };
        bar_row(
            &mut out,
            &header,
            values.get(i).copied().unwrap_or(0),
            max_value,
            1,
        );
    }
    out
}

/// Sorts entries by their keys, last key field first with stable sorts (bpftrace's
/// `sort_by_key`): integers as unsigned 64-bit, strings bytewise; other types keep order.
fn sort_by_key<T>(map: &MapInfo, items: &mut [(Vec<u8>, T)]) {
    let mut offsets = Vec::new();
    let mut off = 0;
    for t in &map.keys {
        offsets.push(off);
        off += t.size().next_multiple_of(8);
    }
    for (t, &off) in map.keys.iter().zip(&offsets).rev() {
        match t {
            Ty::Int { .. } => items.sort_by_key(|(k, _)| u64_at(k, off)),
            Ty::Str(n) => items.sort_by(|(a, _), (b, _)| {
                let sa = a.get(off..off + n).unwrap_or(&[]);
                let sb = b.get(off..off + n).unwrap_or(&[]);
                let ea = sa.iter().position(|&c| c == 0).unwrap_or(sa.len());
                let eb = sb.iter().position(|&c| c == 0).unwrap_or(sb.len());
                sa[..ea].cmp(&sb[..eb])
            }),
            _ => {}
        }
    }
}

/// The text bpftrace prints for a whole map (`print(@m)` and at exit), with `top` (0 = all)
/// and `div` (0 = 1).
pub fn map_to_str(
    map: &MapInfo,
    entries: &[Entry],
    top: usize,
    div: u64,
    sym: &dyn Symbolizer,
    format: Format,
) -> String {
    let json = format == Format::Json;
    let div = div.max(1);
    let mut out = String::new();
    let skip = |i: usize, total: usize| top > 0 && total > top && i < total - top;
    match &map.value {
        Ty::Hist | Ty::Lhist { .. } => {
            let nbuckets = if map.value == Ty::Hist { 65 } else { 1002 };
            let mut by_key: Vec<(Vec<u8>, Vec<u64>)> = Vec::new();
            for e in entries {
                let prefix = key_prefix(map, &e.key);
                let bucket = u64_at(&e.key, prefix.len()) as usize;
                let idx = match by_key.iter().position(|(k, _)| *k == prefix) {
                    Some(i) => i,
                    None => {
                        by_key.push((prefix, vec![0; nbuckets]));
                        by_key.len() - 1
                    }
                };
                if let Some(b) = by_key[idx].1.get_mut(bucket) {
                    *b = sum_u64(&e.values);
                }
            }
            by_key.sort_by(|a, b| a.0.cmp(&b.0));
            by_key.sort_by_key(|(_, v)| v.iter().fold(0i64, |a, &x| a.wrapping_add(x as i64)));
            let total = by_key.len();
            if json {
                let elems = by_key
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !skip(*i, total))
                    .map(|(_, (k, v))| {
                        let body = match map.value {
                            Ty::Lhist { min, max, step } => lhist_to_json(v, min, max, step),
                            _ => hist_to_json(v, div),
                        };
                        (key_to_json(map, k, sym), body)
                    })
                    .collect();
                return json_map_line(map, "hist", elems);
            }
            let mut elems = Vec::new();
            for (i, (k, v)) in by_key.iter().enumerate() {
                if skip(i, total) {
                    continue;
                }
                let body = match map.value {
                    Ty::Lhist { min, max, step } => lhist_to_str(v, min, max, step),
                    _ => hist_to_str(v, div),
                };
                elems.push(format!("{}: \n{body}", key_to_str(map, k, sym)));
            }
            out.push_str(&elems.join("\n"));
            out.push('\n');
        }
        Ty::Avg | Ty::Stats => {
            let mut items: Vec<(Vec<u8>, (i64, i64))> = entries
                .iter()
                .map(|e| (key_prefix(map, &e.key), sum_pair(&e.values)))
                .collect();
            items.sort_by(|a, b| a.0.cmp(&b.0));
            let avg = |(c, t): (i64, i64)| if c != 0 { t / c } else { 0 };
            items.sort_by_key(|(_, p)| avg(*p));
            let total = items.len();
            if json {
                let elems = items
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !(map.value == Ty::Avg && skip(*i, total)))
                    .map(|(_, (k, p))| {
                        let v = if map.value == Ty::Stats {
                            format!(
                                "{{\"count\": {}, \"average\": {}, \"total\": {}}}",
                                p.0,
                                avg(*p),
                                p.1
                            )
                        } else {
                            (avg(*p) / div as i64).to_string()
                        };
                        (key_to_json(map, k, sym), v)
                    })
                    .collect();
                return json_map_line(map, "stats", elems);
            }
            let mut elems = Vec::new();
            for (i, (k, p)) in items.iter().enumerate() {
                if map.value == Ty::Avg && skip(i, total) {
                    continue;
                }
                let v = if map.value == Ty::Stats {
                    format!("count {}, average {}, total {}", p.0, avg(*p), p.1)
                } else {
                    (avg(*p) / div as i64).to_string()
                };
                elems.push(format!("{}: {v}", key_to_str(map, k, sym)));
            }
            out.push_str(&elems.join("\n"));
            out.push_str("\n\n");
        }
        _ => {
            let mut items: Vec<(Vec<u8>, &Entry)> =
                entries.iter().map(|e| (e.key.clone(), e)).collect();
            let value_of = |e: &Entry| -> i128 {
                match &map.value {
                    Ty::Count => sum_u64(&e.values) as i128,
                    Ty::Sum => sum_u64(&e.values) as i64 as i128,
                    Ty::Min => min_max(&e.values, false),
                    Ty::Max => min_max(&e.values, true),
                    Ty::Int { size, signed } => int_at(&e.values[0], 0, *size, *signed),
                    _ => 0,
                }
            };
            match map.value {
                Ty::Count | Ty::Sum | Ty::Min | Ty::Max | Ty::Int { .. } => {
                    items.sort_by_key(|(_, e)| value_of(e))
                }
                _ => sort_by_key(map, &mut items),
            }
            let total = items.len();
            let mut elems = Vec::new();
            let mut jelems = Vec::new();
            for (i, (k, e)) in items.iter().enumerate() {
                if skip(i, total) {
                    continue;
                }
                let v = match &map.value {
                    Ty::Count | Ty::Sum | Ty::Min | Ty::Max => {
                        (value_of(e) / div as i128).to_string()
                    }
                    Ty::Int { signed, .. } => {
                        if *signed {
                            (value_of(e) as i64 / div as i64).to_string()
                        } else {
                            (value_of(e) as u64 / div).to_string()
                        }
                    }
                    t if json => value_to_json(t, e.values.first().map_or(&[][..], |v| v), sym),
                    t => value_to_str(t, e.values.first().map_or(&[][..], |v| v), sym),
                };
                if json {
                    jelems.push((key_to_json(map, k, sym), v));
                    continue;
                }
                elems.push(format!("{}: {v}", key_to_str(map, k, sym)));
            }
            if json {
                return json_map_line(map, "map", jelems);
            }
            out.push_str(&elems.join("\n"));
            out.push('\n');
        }
    }
    out
}

/// bpftrace's first line.
pub fn attaching(n: usize, format: Format) -> String {
    if format == Format::Json {
        format!("{{\"type\": \"attached_probes\", \"data\": {{\"probes\": {n}}}}}\n")
    } else if n == 1 {
        "Attaching 1 probe...\n".into()
    } else {
        format!("Attaching {n} probes...\n")
    }
}

#[cfg(test)]
mod stack_tests {
    use super::*;

    /// Stack `id` has `id` frames named `f0`, `f1`, …; ustack frames carry the pid.
    struct Frames;

    impl Symbolizer for Frames {
        fn ksym(&self, addr: u64) -> String {
            addr.to_string()
        }
        fn usym(&self, addr: u64, _pid: u64) -> String {
            addr.to_string()
        }
        fn probe(&self, id: u64) -> String {
            id.to_string()
        }
        fn stack(&self, id: u64, user: bool, pid: u64, _limit: u16) -> Vec<String> {
            (0..id)
                .map(|i| {
                    if user {
                        format!("u{pid}_{i}")
                    } else {
                        format!("f{i}+{i}")
                    }
                })
                .collect()
        }
    }

    fn le(v: &[u64]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn stacks_in_values_and_keys() {
        assert_eq!(
            value_to_str(&Ty::Kstack(0), &le(&[2]), &Frames),
            "\n        f0+0\n        f1+1\n"
        );
        assert_eq!(
            value_to_str(&Ty::Ustack(0), &le(&[1, 42]), &Frames),
            "\n        u42_0\n"
        );
        let map = MapInfo {
            name: String::new(),
            keys: vec![Ty::Kstack(0), Ty::Ustack(0)],
            value: Ty::Count,
        };
        let e = Entry {
            key: le(&[2, 1, 7]),
            values: vec![le(&[5])],
        };
        assert_eq!(
            map_to_str(&map, &[e], 0, 1, &Frames, Format::Text),
            "@[\n    f0+0\n    f1+1\n, \n    u7_0\n]: 5\n"
        );
    }
}
