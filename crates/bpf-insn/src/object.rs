//! ELF objects as `clang -target bpf` emits them, read the way libbpf reads them (without
//! touching the kernel): programs by SEC() name, BTF-defined (`.maps`) and legacy (`maps`)
//! map definitions, global data (`.rodata*`, `.data*`, `.bss*`) as single-entry array maps,
//! relocations (map and global-data references on `lddw`, BPF-to-BPF calls), the license,
//! and BTF/BTF.ext line information.
//!
//! A loaded [`Program`] is self-contained: the subprograms it calls are appended after it
//! and its calls patched; map references become `lddw` with pseudo source `MAP_IDX` (5) or
//! `MAP_IDX_VALUE` (6) whose `imm` is an index into [`Object::maps`], which is what the
//! kernel accepts with `fd_array` and what the verifier and interpreter read.

use std::collections::HashMap;

use object::elf;
use object::read::elf::{ElfFile64, FileHeader, SectionHeader, Sym};
use object::{
    Endianness, Object as _, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget,
};

use crate::btf::{self, Btf, LineInfo};
use crate::insn::{class, jmp, pseudo, Endian, Insn};
use crate::Error;

/// A map definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDef {
    pub name: String,
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub flags: u32,
    /// Global-data maps: the section's initial bytes (zeros for `.bss`).
    pub data: Option<Vec<u8>>,
    /// The section the definition came from (`.maps`, `maps`, `.rodata`, ...).
    pub section: String,
    /// Read-only global data (`.rodata*`): the kernel freezes such maps.
    pub readonly: bool,
}

/// A source position of an instruction (from `.BTF.ext` line info).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLine {
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub text: String,
}

/// One program, ready for the verifier, the interpreter or `BPF_PROG_LOAD`.
#[derive(Debug, Clone)]
pub struct Program {
    /// Function name (the symbol).
    pub name: String,
    /// ELF section name (`xdp`, `tracepoint/syscalls/sys_enter_openat`, ...).
    pub section: String,
    /// Program type guessed from the section name as libbpf does (`BPF_PROG_TYPE_*`).
    pub prog_type: Option<u32>,
    pub insns: Vec<Insn>,
    /// Source lines by instruction index (after subprogram appending).
    pub lines: Vec<(usize, SourceLine)>,
    /// Where each appended function starts: (insn index, function name).
    pub funcs: Vec<(usize, String)>,
}

impl Program {
    /// The source line that covers instruction `pc`, if line info exists.
    pub fn line_of(&self, pc: usize) -> Option<&SourceLine> {
        self.lines
            .iter()
            .rev()
            .find(|(i, _)| *i <= pc)
            .map(|(_, l)| l)
    }
}

#[derive(Debug, Clone)]
pub struct Object {
    pub programs: Vec<Program>,
    pub maps: Vec<MapDef>,
    pub license: Option<String>,
    pub endian: Endian,
    pub btf: Option<Btf>,
}

/// `BPF_PROG_TYPE_*` from a SEC() name, following libbpf's section table (prefixes).
pub fn prog_type_of_section(sec: &str) -> Option<u32> {
    const TABLE: &[(&str, u32)] = &[
        ("socket", 1),
        ("sk_reuseport", 21),
        ("kprobe/", 2),
        ("kretprobe/", 2),
        ("uprobe", 2),
        ("uretprobe", 2),
        ("ksyscall/", 2),
        ("kretsyscall/", 2),
        ("usdt/", 2),
        ("kprobe.multi/", 2),
        ("tc", 3),
        ("classifier", 3),
        ("action", 4),
        ("tracepoint/", 5),
        ("tp/", 5),
        ("raw_tracepoint/", 17),
        ("raw_tp/", 17),
        ("raw_tracepoint.w/", 24),
        ("raw_tp.w/", 24),
        ("tp_btf/", 26),
        ("fentry/", 26),
        ("fmod_ret/", 26),
        ("fexit/", 26),
        ("fentry.s/", 26),
        ("fexit.s/", 26),
        ("iter/", 26),
        ("iter.s/", 26),
        ("freplace/", 28),
        ("lsm/", 29),
        ("lsm.s/", 29),
        ("xdp", 6),
        ("perf_event", 7),
        ("lwt_in", 10),
        ("lwt_out", 11),
        ("lwt_xmit", 12),
        ("lwt_seg6local", 19),
        ("sockops", 13),
        ("sk_skb", 14),
        ("sk_msg", 16),
        ("lirc_mode2", 20),
        ("flow_dissector", 22),
        ("cgroup_skb/", 8),
        ("cgroup/skb", 8),
        ("cgroup/sock_create", 9),
        ("cgroup/sock_release", 9),
        ("cgroup/sock", 9),
        ("cgroup/post_bind", 9),
        ("cgroup/dev", 15),
        ("cgroup/bind", 18),
        ("cgroup/connect", 18),
        ("cgroup/sendmsg", 18),
        ("cgroup/recvmsg", 18),
        ("cgroup/getpeername", 18),
        ("cgroup/getsockname", 18),
        ("cgroup/sysctl", 23),
        ("cgroup/getsockopt", 25),
        ("cgroup/setsockopt", 25),
        ("struct_ops", 27),
        ("sk_lookup", 30),
        ("syscall", 31),
        ("netfilter", 32),
    ];
    // Longest matching prefix wins (`raw_tp.w/` over `raw_tp/`, `cgroup/skb` over `cgroup/sock`).
    TABLE
        .iter()
        .filter(|(p, _)| {
            sec == *p
                || sec.starts_with(p)
                    && (p.ends_with('/')
                        || sec[p.len()..].starts_with('/')
                        || sec[p.len()..].starts_with('.'))
        })
        .max_by_key(|(p, _)| p.len())
        .map(|(_, t)| *t)
}

/// Names of program types (`--type` values and messages).
pub const PROG_TYPE_NAMES: &[(&str, u32)] = &[
    ("socket_filter", 1),
    ("kprobe", 2),
    ("sched_cls", 3),
    ("sched_act", 4),
    ("tracepoint", 5),
    ("xdp", 6),
    ("perf_event", 7),
    ("cgroup_skb", 8),
    ("cgroup_sock", 9),
    ("lwt_in", 10),
    ("lwt_out", 11),
    ("lwt_xmit", 12),
    ("sock_ops", 13),
    ("sk_skb", 14),
    ("cgroup_device", 15),
    ("sk_msg", 16),
    ("raw_tracepoint", 17),
    ("cgroup_sock_addr", 18),
    ("lwt_seg6local", 19),
    ("lirc_mode2", 20),
    ("sk_reuseport", 21),
    ("flow_dissector", 22),
    ("cgroup_sysctl", 23),
    ("raw_tracepoint_writable", 24),
    ("cgroup_sockopt", 25),
    ("tracing", 26),
    ("struct_ops", 27),
    ("ext", 28),
    ("lsm", 29),
    ("sk_lookup", 30),
    ("syscall", 31),
    ("netfilter", 32),
];

pub fn prog_type_name(t: u32) -> &'static str {
    PROG_TYPE_NAMES
        .iter()
        .find(|(_, v)| *v == t)
        .map(|(n, _)| *n)
        .unwrap_or("unknown")
}

pub fn prog_type_from_name(n: &str) -> Option<u32> {
    let n = n
        .strip_prefix("BPF_PROG_TYPE_")
        .unwrap_or(n)
        .to_ascii_lowercase();
    let n = match n.as_str() {
        "socket" => "socket_filter",
        "tc" | "classifier" => "sched_cls",
        other => other,
    };
    PROG_TYPE_NAMES
        .iter()
        .find(|(k, _)| *k == n)
        .map(|(_, v)| *v)
}

const R_BPF_64_64: u32 = 1;
const R_BPF_64_ABS64: u32 = 2;
const R_BPF_64_ABS32: u32 = 3;
const R_BPF_64_NODYLD32: u32 = 4;
const R_BPF_64_32: u32 = 10;

struct Func {
    section: usize,
    name: String,
    start: usize,
    len: usize,
    global: bool,
}

struct Reloc {
    /// Slot index within the section.
    slot: usize,
    sym_section: Option<usize>,
    sym_value: u64,
    sym_name: String,
    sym_type: u8,
    r_type: u32,
}

fn ferr(msg: impl Into<String>) -> Error {
    Error::Format(msg.into())
}

fn u32_at(b: &[u8], off: usize, big: bool) -> Option<u32> {
    let s = b.get(off..off + 4)?;
    let a = [s[0], s[1], s[2], s[3]];
    Some(if big {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    })
}

impl Object {
    /// Parse an ELF BPF object.
    pub fn parse(data: &[u8]) -> Result<Object, Error> {
        let file = ElfFile64::<Endianness>::parse(data)
            .map_err(|e| ferr(format!("not a 64-bit ELF object: {e}")))?;
        let en = file.endian();
        let hdr = file.elf_header();
        if hdr.e_machine(en) != elf::EM_BPF {
            return Err(ferr(format!(
                "ELF machine {} is not BPF (247)",
                hdr.e_machine(en)
            )));
        }
        let big = !file.is_little_endian();
        let endian = if big { Endian::Big } else { Endian::Little };

        // Sections by index.
        let mut sec_names: HashMap<usize, String> = HashMap::new();
        let mut sec_data: HashMap<usize, Vec<u8>> = HashMap::new();
        let mut exec: Vec<usize> = Vec::new();
        let mut license = None;
        let mut btf_data = None;
        let mut btf_ext = None;
        for s in file.sections() {
            let idx = s.index().0;
            let name = s
                .name()
                .map_err(|e| ferr(format!("section {idx}: bad name: {e}")))?
                .to_string();
            let sh = s.elf_section_header();
            let flags = sh.sh_flags(en);
            let typ = sh.sh_type(en);
            let bytes = if typ == elf::SHT_NOBITS {
                vec![0u8; sh.sh_size(en) as usize]
            } else {
                s.data()
                    .map_err(|e| ferr(format!("section `{name}`: {e}")))?
                    .to_vec()
            };
            if typ == elf::SHT_PROGBITS
                && flags & u64::from(elf::SHF_EXECINSTR) != 0
                && !bytes.is_empty()
            {
                if bytes.len() % 8 != 0 {
                    return Err(ferr(format!(
                        "section `{name}`: size {} is not a multiple of 8",
                        bytes.len()
                    )));
                }
                exec.push(idx);
            }
            match name.as_str() {
                "license" => {
                    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                    license = Some(String::from_utf8_lossy(&bytes[..end]).into_owned());
                }
                ".BTF" => btf_data = Some(bytes.clone()),
                ".BTF.ext" => btf_ext = Some(bytes.clone()),
                _ => {}
            }
            sec_names.insert(idx, name);
            sec_data.insert(idx, bytes);
        }
        let btf = match &btf_data {
            Some(b) => Some(Btf::parse(b, big)?),
            None => None,
        };

        // Symbols.
        let mut funcs: Vec<Func> = Vec::new();
        let mut maps: Vec<MapDef> = Vec::new();
        // (section, offset) -> map index, for map symbols; section -> map index for data.
        let mut map_at: HashMap<(usize, u64), usize> = HashMap::new();
        let mut data_map: HashMap<usize, usize> = HashMap::new();
        let mut legacy_syms: Vec<(usize, u64, u64, String)> = Vec::new();
        for sym in file.symbols() {
            let Some(si) = sym.section_index().map(|i| i.0) else {
                continue;
            };
            let es = sym.elf_symbol();
            let name = sym.name().unwrap_or("").to_string();
            let st = es.st_type();
            if exec.contains(&si) && st == elf::STT_FUNC {
                let start = (sym.address() / 8) as usize;
                let len = (es.st_size(en) / 8) as usize;
                funcs.push(Func {
                    section: si,
                    name,
                    start,
                    len,
                    global: es.st_bind() == elf::STB_GLOBAL || es.st_bind() == elf::STB_WEAK,
                });
            } else if sec_names
                .get(&si)
                .is_some_and(|n| n == "maps" || n.starts_with("maps/"))
                && st == elf::STT_OBJECT
            {
                legacy_syms.push((si, sym.address(), es.st_size(en), name));
            }
        }
        // Legacy maps: struct bpf_map_def { type, key_size, value_size, max_entries, map_flags }.
        legacy_syms.sort_by_key(|s| (s.0, s.1));
        for (si, off, size, name) in legacy_syms {
            let d = &sec_data[&si];
            let off = off as usize;
            let size = if size == 0 { 20 } else { size as usize };
            if size < 16 || off + size > d.len() {
                return Err(ferr(format!(
                    "legacy map `{name}`: definition of {size} bytes at {off} is out of range"
                )));
            }
            let f = |i: usize| u32_at(d, off + 4 * i, big).unwrap_or(0);
            map_at.insert((si, off as u64), maps.len());
            maps.push(MapDef {
                name,
                map_type: f(0),
                key_size: f(1),
                value_size: f(2),
                max_entries: f(3),
                flags: if size >= 20 { f(4) } else { 0 },
                data: None,
                section: sec_names[&si].clone(),
                readonly: false,
            });
        }
        // BTF-defined maps: DATASEC `.maps` with one VAR per map.
        if let Some((si, _)) = sec_names.iter().find(|(_, n)| n.as_str() == ".maps") {
            let si = *si;
            let b = btf
                .as_ref()
                .ok_or_else(|| ferr("section `.maps` needs BTF (.BTF section missing)"))?;
            let ds = b
                .find(btf::KIND_DATASEC, ".maps")
                .ok_or_else(|| ferr("BTF has no DATASEC `.maps`"))?;
            let vars = b.types[ds as usize].members.clone();
            for (var_id, offset, _size) in vars {
                let var = b
                    .get(var_id)
                    .ok_or_else(|| ferr(format!("BTF: .maps var {var_id} missing")))?;
                let name = b.str_at(var.name_off).to_string();
                let st_id = b.resolve(var.size_type);
                let st = b
                    .get(st_id)
                    .ok_or_else(|| ferr(format!("map `{name}`: BTF type {st_id} missing")))?;
                if st.kind != btf::KIND_STRUCT {
                    return Err(ferr(format!(
                        "map `{name}`: BTF definition is not a struct"
                    )));
                }
                let mut def = MapDef {
                    name: name.clone(),
                    map_type: 0,
                    key_size: 0,
                    value_size: 0,
                    max_entries: 0,
                    flags: 0,
                    data: None,
                    section: ".maps".into(),
                    readonly: false,
                };
                for &(mname, mtype, _) in &st.members {
                    let mn = b.str_at(mname);
                    // `__uint(x, N)` is `int (*x)[N]`; `__type(x, T)` is `T *x`.
                    let ptr = b.get(b.resolve(mtype));
                    let pointee = ptr
                        .filter(|p| p.kind == btf::KIND_PTR)
                        .map(|p| b.resolve(p.size_type));
                    let uint = || -> Result<u32, Error> {
                        pointee
                            .and_then(|t| b.get(t))
                            .and_then(|a| a.array)
                            .map(|(_, n)| n)
                            .ok_or_else(|| {
                                ferr(format!("map `{name}`: member `{mn}` is not __uint()"))
                            })
                    };
                    let size = || -> Result<u32, Error> {
                        pointee
                            .and_then(|t| b.size_of(t))
                            .map(|s| s as u32)
                            .ok_or_else(|| ferr(format!("map `{name}`: member `{mn}` has no size")))
                    };
                    match mn {
                        "type" => def.map_type = uint()?,
                        "max_entries" => def.max_entries = uint()?,
                        "map_flags" => def.flags = uint()?,
                        "key_size" => def.key_size = uint()?,
                        "value_size" => def.value_size = uint()?,
                        "key" => def.key_size = size()?,
                        "value" => def.value_size = size()?,
                        _ => {} // pinning, numa_node, values (inner maps): not modelled
                    }
                }
                map_at.insert((si, offset as u64), maps.len());
                maps.push(def);
            }
        }
        // Global data sections.
        let mut data_secs: Vec<usize> = sec_names
            .iter()
            .filter(|(_, n)| {
                [".rodata", ".data", ".bss"]
                    .iter()
                    .any(|p| n.as_str() == *p || n.starts_with(&format!("{p}.")))
            })
            .map(|(i, _)| *i)
            .collect();
        data_secs.sort();
        for si in data_secs {
            let name = sec_names[&si].clone();
            let d = sec_data[&si].clone();
            if d.is_empty() {
                continue;
            }
            data_map.insert(si, maps.len());
            maps.push(MapDef {
                name: name.clone(),
                map_type: 2,
                key_size: 4,
                value_size: d.len() as u32,
                max_entries: 1,
                flags: 0,
                data: Some(d),
                readonly: name.starts_with(".rodata"),
                section: name,
            });
        }

        // Relocations per executable section.
        let mut relocs: HashMap<usize, Vec<Reloc>> = HashMap::new();
        for s in file.sections() {
            let si = s.index().0;
            if !exec.contains(&si) {
                continue;
            }
            let mut v = Vec::new();
            for (off, r) in s.relocations() {
                let r_type = match r.flags() {
                    RelocationFlags::Elf { r_type } => r_type,
                    _ => 0,
                };
                let RelocationTarget::Symbol(sidx) = r.target() else {
                    return Err(ferr(format!(
                        "section `{}`: relocation at {off:#x} has no symbol",
                        sec_names[&si]
                    )));
                };
                let sym = file.symbol_by_index(sidx).map_err(|e| {
                    ferr(format!(
                        "section `{}`: relocation at {off:#x}: {e}",
                        sec_names[&si]
                    ))
                })?;
                v.push(Reloc {
                    slot: (off / 8) as usize,
                    sym_section: sym.section_index().map(|i| i.0),
                    sym_value: sym.address(),
                    sym_name: sym.name().unwrap_or("").to_string(),
                    sym_type: sym.elf_symbol().st_type(),
                    r_type,
                });
            }
            relocs.insert(si, v);
        }

        // Line info.
        let lines: Vec<LineInfo> = match (&btf, &btf_ext) {
            (Some(b), Some(e)) => btf::parse_line_info(e, b, big).unwrap_or_default(),
            _ => Vec::new(),
        };

        let insns_of: HashMap<usize, Vec<Insn>> = exec
            .iter()
            .map(|&si| Ok((si, crate::insn::decode_all(&sec_data[&si], endian)?)))
            .collect::<Result<_, Error>>()?;

        // Programs: global functions in non-.text executable sections; a section without
        // function symbols is one program.
        let mut programs = Vec::new();
        for &si in &exec {
            let sname = sec_names[&si].clone();
            if sname == ".text" {
                continue;
            }
            let mut entries: Vec<&Func> = funcs
                .iter()
                .filter(|f| f.section == si && f.global)
                .collect();
            entries.sort_by_key(|f| f.start);
            let whole;
            if entries.is_empty() {
                whole = Func {
                    section: si,
                    name: sname.clone(),
                    start: 0,
                    len: insns_of[&si].len(),
                    global: true,
                };
                entries.push(&whole);
            }
            for f in entries {
                let p = link_program(
                    f, &sname, &funcs, &insns_of, &relocs, &sec_names, &map_at, &data_map, &lines,
                )?;
                programs.push(p);
            }
        }
        Ok(Object {
            programs,
            maps,
            license,
            endian,
            btf,
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn link_program(
    entry: &Func,
    sname: &str,
    funcs: &[Func],
    insns_of: &HashMap<usize, Vec<Insn>>,
    relocs: &HashMap<usize, Vec<Reloc>>,
    sec_names: &HashMap<usize, String>,
    map_at: &HashMap<(usize, u64), usize>,
    data_map: &HashMap<usize, usize>,
    lines: &[LineInfo],
) -> Result<Program, Error> {
    let mut out: Vec<Insn> = Vec::new();
    let mut out_lines = Vec::new();
    let mut placed: Vec<(usize, usize, usize)> = Vec::new(); // (section, start slot, out index)
    let mut fnames = Vec::new();
    // Work list of (section, start, len, name).
    let mut queue: Vec<(usize, usize, usize, String)> =
        vec![(entry.section, entry.start, entry.len, entry.name.clone())];
    let mut qi = 0;
    // Call fix-ups: (out index, target section, target slot).
    let mut calls: Vec<(usize, usize, usize)> = Vec::new();
    while qi < queue.len() {
        let (si, start, len, name) = queue[qi].clone();
        qi += 1;
        let all = &insns_of[&si];
        let len = if len == 0 { all.len() - start } else { len };
        if start + len > all.len() {
            return Err(ferr(format!(
                "function `{name}` in `{}` extends past its section",
                sec_names[&si]
            )));
        }
        let base = out.len();
        placed.push((si, start, base));
        fnames.push((base, name.clone()));
        out.extend_from_slice(&all[start..start + len]);
        for l in lines.iter().filter(|l| &l.section == &sec_names[&si]) {
            let slot = (l.insn_off / 8) as usize;
            if slot >= start && slot < start + len {
                out_lines.push((
                    base + slot - start,
                    SourceLine {
                        file: l.file.clone(),
                        line: l.line,
                        col: l.col,
                        text: l.line_text.clone(),
                    },
                ));
            }
        }
        let empty = Vec::new();
        let rs = relocs.get(&si).unwrap_or(&empty);
        for r in rs
            .iter()
            .filter(|r| r.slot >= start && r.slot < start + len)
        {
            let at = base + r.slot - start;
            let insn = out[at];
            let where_ = || {
                format!(
                    "`{}` insn {} (symbol `{}`)",
                    sec_names[&si], r.slot, r.sym_name
                )
            };
            if insn.is_lddw() {
                if !matches!(
                    r.r_type,
                    R_BPF_64_64 | R_BPF_64_ABS64 | R_BPF_64_NODYLD32 | R_BPF_64_ABS32
                ) {
                    return Err(ferr(format!(
                        "{}: relocation type {} on lddw",
                        where_(),
                        r.r_type
                    )));
                }
                let Some(ss) = r.sym_section else {
                    return Err(ferr(format!(
                        "{}: undefined symbol (extern or kconfig is not supported)",
                        where_()
                    )));
                };
                if let Some(&m) = map_at.get(&(ss, r.sym_value)) {
                    out[at].src = pseudo::MAP_IDX;
                    out[at].imm = m as i32;
                } else if let Some(&m) = data_map.get(&ss) {
                    let off = if r.sym_type == elf::STT_SECTION {
                        insn.imm as u32 as u64
                    } else {
                        r.sym_value + insn.imm as u32 as u64
                    };
                    out[at].src = pseudo::MAP_IDX_VALUE;
                    out[at].imm = m as i32;
                    out[at + 1].imm = off as u32 as i32;
                } else {
                    return Err(ferr(format!(
                        "{}: lddw refers to section `{}`, which is neither maps nor global data",
                        where_(),
                        sec_names.get(&ss).map(String::as_str).unwrap_or("?")
                    )));
                }
            } else if insn.is_call() && insn.src == pseudo::CALL_LOCAL
                || insn.is_call() && r.r_type == R_BPF_64_32
            {
                let Some(ss) = r.sym_section else {
                    return Err(ferr(format!("{}: call to an undefined function", where_())));
                };
                // libbpf: target slot = symbol offset / 8 + imm + 1.
                let t = r.sym_value as i64 / 8 + insn.imm as i64 + 1;
                if t < 0 {
                    return Err(ferr(format!(
                        "{}: call target before the section start",
                        where_()
                    )));
                }
                out[at].src = pseudo::CALL_LOCAL;
                calls.push((at, ss, t as usize));
            } else {
                return Err(ferr(format!(
                    "{}: relocation type {} on an instruction that is neither lddw nor call",
                    where_(),
                    r.r_type
                )));
            }
        }
        // Calls inside the function without relocation (pc-relative, same section).
        for k in 0..len {
            let at = base + k;
            let i = out[at];
            if i.code == class::JMP | jmp::CALL
                && i.src == pseudo::CALL_LOCAL
                && !rs.iter().any(|r| r.slot == start + k)
            {
                let t = (start + k) as i64 + 1 + i.imm as i64;
                if t < 0 {
                    return Err(ferr(format!(
                        "`{}` insn {}: call before the section start",
                        sec_names[&si],
                        start + k
                    )));
                }
                calls.push((at, si, t as usize));
            }
        }
        // Queue the callees of this function.
        for &(_, ts, tslot) in calls.iter() {
            if placed.iter().any(|&(s, st, _)| s == ts && st == tslot)
                || queue.iter().any(|q| q.0 == ts && q.1 == tslot)
            {
                continue;
            }
            let f = funcs.iter().find(|f| f.section == ts && f.start == tslot);
            let (len, name) = match f {
                Some(f) => (f.len, f.name.clone()),
                None => {
                    // Not at a function symbol: take up to the next function start.
                    let next = funcs
                        .iter()
                        .filter(|f| f.section == ts && f.start > tslot)
                        .map(|f| f.start)
                        .min()
                        .unwrap_or(insns_of[&ts].len());
                    (next - tslot, format!("{}+{}", sec_names[&ts], tslot))
                }
            };
            queue.push((ts, tslot, len, name));
        }
    }
    for (at, ts, tslot) in calls {
        let Some(&(_, st, base)) = placed.iter().find(|&&(s, st, _)| s == ts && st == tslot) else {
            return Err(ferr(format!(
                "call at {at}: target {tslot} in `{}` not placed",
                sec_names[&ts]
            )));
        };
        let _ = st;
        out[at].imm = (base as i64 - at as i64 - 1) as i32;
    }
    out_lines.sort_by_key(|l| l.0);
    Ok(Program {
        name: entry.name.clone(),
        section: sname.to_string(),
        prog_type: prog_type_of_section(sname),
        insns: out,
        lines: out_lines,
        funcs: fnames,
    })
}
