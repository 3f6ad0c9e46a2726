//! ELF objects as `clang -target bpf` emits them, read the way libbpf reads them (without
//! touching the kernel): programs by SEC() name, BTF-defined (`.maps`) and legacy (`maps`)
//! map definitions, global data (`.rodata*`, `.data*`, `.bss*`) as single-entry array maps,
//! relocations (map and global-data references on `lddw`, BPF-to-BPF calls, callbacks: an
//! `lddw` of a function, as `bpf_loop` and `bpf_for_each_map_elem` take), the license, and
//! `.BTF`/`.BTF.ext` (read with the `btf` crate: function and line info per program, CO-RE
//! relocations, which [`Object::relocate_core`] resolves against a target kernel's BTF).
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

use crate::insn::{class, jmp, pseudo, Endian, Insn};
use crate::Error;
use btf::ext::{BtfExt, CoreRelo, FuncInfo, LineInfo};
use btf::{Btf, Kind};

/// A map definition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    /// A map of maps (`__array(values, struct {...})` in a BTF definition): the inner
    /// map's definition, as libbpf creates the inner map template from it.
    pub inner: Option<Box<MapDef>>,
    /// The offset of the `struct bpf_spin_lock` in the value, when the value's BTF type has
    /// one (the kernel's `btf_record` of the map, BPF_SPIN_LOCK).
    pub spin_lock: Option<u32>,
    /// The value's special fields, which the kernel lets no load or store touch (or only
    /// its own kinds of access): `(offset, size, name)` of each `struct bpf_spin_lock`,
    /// `bpf_timer`, `bpf_wq`, `bpf_list_head`, `bpf_list_node`, `bpf_rb_root`,
    /// `bpf_rb_node`, `bpf_refcount` and `__kptr` pointer (an array of them: the whole array).
    pub btf_fields: Vec<(u32, u32, String)>,
}

/// What libbpf reads of a map besides its shape: the `pinning` attribute and the BTF ids of
/// key and value (kept beside [`MapDef`], index for index, in [`Object::map_btf`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MapBtf {
    /// `LIBBPF_PIN_BY_NAME` (1) pins the map under the pin root by its name; 0: no pinning.
    pub pinning: u32,
    pub key_type_id: u32,
    pub value_type_id: u32,
}

/// A CO-RE relocation of a program, at instruction `insn` (after subprogram appending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgCoreRelo {
    pub insn: usize,
    pub relo: CoreRelo,
}

/// What [`Object::relocate_core`] did to one instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreReport {
    pub program: String,
    pub insn: usize,
    /// `byte_off struct task_struct (0:54)`.
    pub what: String,
    /// The instruction's constant before, and after (None: poisoned).
    pub old: i64,
    pub new: Option<i64>,
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
    /// `.BTF.ext` function info rebased to this program: (insn index, BTF `FUNC` id).
    pub func_info: Vec<(usize, u32)>,
    /// `.BTF.ext` line info rebased to this program (string offsets into the object's BTF).
    pub line_info: Vec<(usize, LineInfo)>,
    /// CO-RE relocations still to resolve ([`Object::relocate_core`]).
    pub core_relos: Vec<ProgCoreRelo>,
    /// kfunc calls (`call` with pseudo source KFUNC) still to resolve
    /// ([`Object::resolve_externs`]): (insn index, function name).
    pub kfunc_calls: Vec<(usize, String)>,
    /// `lddw` of kernel variables (`extern ... __ksym`) still to resolve: (insn, name).
    pub ksym_refs: Vec<(usize, String)>,
}

/// An extern variable of `.kconfig` (`extern int CONFIG_HZ __kconfig;`), laid out in the
/// `.kconfig` global data map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KconfigVar {
    pub name: String,
    pub offset: u32,
    pub size: u32,
    /// The variable's BTF type (after modifiers), to tell `bool`/`char`/`int` from arrays.
    pub type_id: u32,
    /// `__weak`: a missing option is 0 rather than an error.
    pub weak: bool,
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
    /// The object's `.BTF` as the kernel takes it (`DATASEC` sizes and offsets filled in).
    pub btf_raw: Option<Vec<u8>>,
    /// Pinning and BTF key/value ids of [`Object::maps`], index for index.
    pub map_btf: Vec<MapBtf>,
    /// `.kconfig` externs and the index of their map in [`Object::maps`].
    pub kconfig: Vec<KconfigVar>,
    pub kconfig_map: Option<usize>,
    /// Weak extern symbols (unresolved weak kfuncs and options are not errors).
    pub weak_externs: Vec<String>,
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
        ("cgroup/post_bind4", 9),
        ("cgroup/post_bind6", 9),
        ("cgroup/bind", 18),
        ("cgroup/connect", 18),
        ("cgroup/sendmsg", 18),
        ("cgroup/recvmsg", 18),
        ("cgroup/getpeername", 18),
        ("cgroup/getsockname", 18),
        // The address families of the sock_addr hooks (`cgroup/connect4`, `.../bind6`, ...).
        ("cgroup/bind4", 18),
        ("cgroup/bind6", 18),
        ("cgroup/connect4", 18),
        ("cgroup/connect6", 18),
        ("cgroup/connect_unix", 18),
        ("cgroup/sendmsg4", 18),
        ("cgroup/sendmsg6", 18),
        ("cgroup/sendmsg_unix", 18),
        ("cgroup/recvmsg4", 18),
        ("cgroup/recvmsg6", 18),
        ("cgroup/recvmsg_unix", 18),
        ("cgroup/getpeername4", 18),
        ("cgroup/getpeername6", 18),
        ("cgroup/getpeername_unix", 18),
        ("cgroup/getsockname4", 18),
        ("cgroup/getsockname6", 18),
        ("cgroup/getsockname_unix", 18),
        ("tcx/", 3),
        ("cgroup/sysctl", 23),
        ("cgroup/getsockopt", 25),
        ("cgroup/setsockopt", 25),
        ("struct_ops", 27),
        ("sk_lookup", 30),
        ("syscall", 31),
        ("netfilter", 32),
    ];
    // `?` in front only turns autoload off (libbpf).
    let sec = sec.strip_prefix('?').unwrap_or(sec);
    // Longest matching prefix wins (`raw_tp.w/` over `raw_tp/`, `cgroup/skb` over `cgroup/sock`);
    // a prefix ending in `/` also matches its name alone (`SEC("kprobe")`, libbpf's `kprobe+`).
    TABLE
        .iter()
        .filter(|(p, _)| {
            sec == *p
                || p.strip_suffix('/') == Some(sec)
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

/// A BTF-defined map: the struct `st_id` of `.maps` variable `name`, whose members are
/// `__uint(x, N)` (`int (*x)[N]`), `__type(x, T)` (`T *x`) and, for a map of maps,
/// `__array(values, struct {...})` (`struct {...} *values[]`: the inner map's definition,
/// `depth` 1; libbpf allows no deeper nesting).
fn btf_map_def(b: &Btf, st_id: u32, name: &str, depth: u32) -> Result<(MapDef, MapBtf), Error> {
    if !matches!(b.get(st_id).map(|t| &t.kind), Some(Kind::Struct { .. })) {
        return Err(ferr(format!(
            "map `{name}`: BTF definition is not a struct"
        )));
    }
    let mut def = MapDef {
        name: name.to_string(),
        section: ".maps".into(),
        ..MapDef::default()
    };
    let mut extra = MapBtf::default();
    let mut values = None;
    for m in b.members(st_id) {
        let mn = b.str_at(m.name_off);
        let pointee = match b.get(b.resolve(m.type_id)).map(|t| &t.kind) {
            Some(Kind::Ptr(t)) => Some(*t),
            _ => None,
        };
        let uint = || -> Result<u32, Error> {
            match pointee.and_then(|t| b.get(b.resolve(t))).map(|t| &t.kind) {
                Some(Kind::Array { len, .. }) => Ok(*len),
                _ => Err(ferr(format!("map `{name}`: member `{mn}` is not __uint()"))),
            }
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
            "pinning" => extra.pinning = uint()?,
            "key" => {
                def.key_size = size()?;
                extra.key_type_id = pointee.unwrap_or(0);
            }
            "value" => {
                def.value_size = size()?;
                extra.value_type_id = pointee.unwrap_or(0);
                def.spin_lock = spin_lock_offset(b, pointee.unwrap_or(0), 0);
                special_fields(b, pointee.unwrap_or(0), 0, 0, &mut def.btf_fields);
            }
            // `struct {...} *values[]`: an array of pointers to the inner definition (of a
            // map of maps; a program array's are functions).
            "values" if depth == 0 => values = Some(m.type_id),
            _ => {} // numa_node, map_extra: not modelled
        }
    }
    // ARRAY_OF_MAPS, HASH_OF_MAPS.
    if let (Some(v), 12 | 13) = (values, def.map_type) {
        let inner = match b.get(b.resolve(v)).map(|t| &t.kind) {
            Some(Kind::Array { elem, .. }) => match b.get(b.resolve(*elem)).map(|t| &t.kind) {
                Some(Kind::Ptr(t)) => Some(b.resolve(*t)),
                _ => None,
            },
            _ => None,
        };
        let Some(inner) = inner else {
            return Err(ferr(format!(
                "map `{name}`: member `values` is not __array()"
            )));
        };
        let (d, _) = btf_map_def(b, inner, &format!("{name}.inner"), depth + 1)?;
        def.inner = Some(Box::new(d));
    }
    Ok((def, extra))
}

/// The offset of the `struct bpf_spin_lock` in type `id` (in it, or in a struct member of
/// it, as the kernel's `btf_parse_fields` finds it), if any.
fn spin_lock_offset(b: &Btf, id: u32, depth: u32) -> Option<u32> {
    let id = b.resolve(id);
    let t = b.get(id)?;
    if depth > 8 {
        return None;
    }
    match &t.kind {
        Kind::Struct { .. } if b.str_at(t.name_off) == "bpf_spin_lock" => Some(0),
        Kind::Struct { members, .. } => members
            .iter()
            .find_map(|m| spin_lock_offset(b, m.type_id, depth + 1).map(|o| o + m.bit_offset / 8)),
        // An array's first element (more than one lock: the kernel refuses the map).
        Kind::Array { elem, .. } => spin_lock_offset(b, *elem, depth + 1),
        // Global data: the variables of the section.
        Kind::Datasec { vars, .. } => vars.iter().find_map(|v| {
            let var = b.get(v.type_id)?;
            let Kind::Var { type_id, .. } = var.kind else {
                return None;
            };
            spin_lock_offset(b, type_id, depth + 1).map(|o| o + v.offset)
        }),
        _ => None,
    }
}

/// The special fields of type `id` at offset `at` (see [`MapDef::btf_fields`]), as the
/// kernel's `btf_parse_fields` finds them: by struct name, `__kptr` type tags on pointers,
/// in nested structs, arrays and a global data section's variables.
fn special_fields(b: &Btf, id: u32, at: u32, depth: u32, out: &mut Vec<(u32, u32, String)>) {
    const NAMES: &[&str] = &[
        "bpf_spin_lock",
        "bpf_res_spin_lock",
        "bpf_timer",
        "bpf_wq",
        "bpf_list_head",
        "bpf_list_node",
        "bpf_rb_root",
        "bpf_rb_node",
        "bpf_refcount",
        "bpf_task_work",
    ];
    if depth > 8 {
        return;
    }
    let id = b.resolve(id);
    let Some(t) = b.get(id) else {
        return;
    };
    match &t.kind {
        Kind::Struct { size, .. } if NAMES.contains(&b.str_at(t.name_off)) => {
            out.push((at, *size, b.str_at(t.name_off).to_string()));
        }
        Kind::Struct { members, .. } => {
            for m in members {
                special_fields(b, m.type_id, at + m.bit_offset / 8, depth + 1, out);
            }
        }
        Kind::Ptr(p) => {
            if let Some(Kind::TypeTag(_)) = b.get(*p).map(|t| &t.kind) {
                let tag = b.name(*p);
                if ["kptr", "kptr_untrusted", "percpu_kptr", "kptr_ref"].contains(&tag) {
                    out.push((at, 8, "kptr".into()));
                }
            }
        }
        Kind::Array { elem, len, .. } => {
            let mut inner = Vec::new();
            special_fields(b, *elem, 0, depth + 1, &mut inner);
            if let Some((_, _, name)) = inner.into_iter().next() {
                let size = b.size_of(*elem).unwrap_or(0) as u32;
                out.push((at, size.saturating_mul(*len), name));
            }
        }
        Kind::Datasec { vars, .. } => {
            for v in vars {
                if let Some(Kind::Var { type_id, .. }) = b.get(v.type_id).map(|t| &t.kind) {
                    special_fields(b, *type_id, at + v.offset, depth + 1, out);
                }
            }
        }
        _ => {}
    }
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
        // Old LLVM wrote EM_NONE; libbpf accepts it too.
        if hdr.e_machine(en) != elf::EM_BPF && hdr.e_machine(en) != elf::EM_NONE {
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
                // A `.bss` becomes one map value; the kernel's limit is far below this.
                let size = sh.sh_size(en);
                if size > 1 << 28 {
                    return Err(ferr(format!("section `{name}`: {size} bytes of zeros")));
                }
                vec![0u8; size as usize]
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
            Some(b) => Some(Btf::parse(b).map_err(|e| ferr(format!("section `.BTF`: {e}")))?),
            None => None,
        };
        let ext = match (&btf, &btf_ext) {
            (Some(_), Some(e)) => {
                BtfExt::parse(e).map_err(|e| ferr(format!("section `.BTF.ext`: {e}")))?
            }
            _ => BtfExt::default(),
        };

        // Symbols.
        let mut funcs: Vec<Func> = Vec::new();
        let mut maps: Vec<MapDef> = Vec::new();
        let mut map_btf: Vec<MapBtf> = Vec::new();
        // (section, offset) -> map index, for map symbols; section -> map index for data.
        let mut map_at: HashMap<(usize, u64), usize> = HashMap::new();
        let mut data_map: HashMap<usize, usize> = HashMap::new();
        let mut legacy_syms: Vec<(usize, u64, u64, String)> = Vec::new();
        // `.maps` symbols by name: older clang leaves the DATASEC offsets 0 and libbpf
        // takes them from the symbol table.
        let mut btf_map_syms: HashMap<String, u64> = HashMap::new();
        // (section name, symbol name) -> offset: the DATASEC offsets the kernel needs.
        let mut var_offsets: HashMap<(String, String), u32> = HashMap::new();
        for sym in file.symbols() {
            let Some(si) = sym.section_index().map(|i| i.0) else {
                continue;
            };
            let es = sym.elf_symbol();
            let name = sym.name().unwrap_or("").to_string();
            let st = es.st_type();
            if st == elf::STT_OBJECT || st == elf::STT_NOTYPE && !name.is_empty() {
                if let Some(sn) = sec_names.get(&si) {
                    var_offsets.insert((sn.clone(), name.clone()), sym.address() as u32);
                }
            }
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
                && st != elf::STT_SECTION
                && !name.is_empty()
            {
                legacy_syms.push((si, sym.address(), es.st_size(en), name));
            } else if sec_names.get(&si).is_some_and(|n| n == ".maps")
                && st != elf::STT_SECTION
                && !name.is_empty()
            {
                btf_map_syms.insert(name, sym.address());
            }
        }
        // Legacy maps: struct bpf_map_def { type, key_size, value_size, max_entries, map_flags }.
        legacy_syms.sort_by_key(|s| (s.0, s.1));
        let mut per_section: HashMap<usize, usize> = HashMap::new();
        for s in &legacy_syms {
            *per_section.entry(s.0).or_default() += 1;
        }
        for (si, off, size, name) in legacy_syms {
            let d = &sec_data[&si];
            let off = off as usize;
            // Without a symbol size, libbpf divides the section among its symbols.
            let size = if size == 0 {
                d.len() / per_section[&si].max(1)
            } else {
                size as usize
            };
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
                ..MapDef::default()
            });
            map_btf.push(MapBtf::default());
        }
        // BTF-defined maps: DATASEC `.maps` with one VAR per map.
        if let Some((si, _)) = sec_names.iter().find(|(_, n)| n.as_str() == ".maps") {
            let si = *si;
            let b = btf
                .as_ref()
                .ok_or_else(|| ferr("section `.maps` needs BTF (.BTF section missing)"))?;
            let ds = b
                .named(".maps", |k| matches!(k, Kind::Datasec { .. }))
                .ok_or_else(|| ferr("BTF has no DATASEC `.maps`"))?;
            let Some(Kind::Datasec { vars, .. }) = b.get(ds).map(|t| t.kind.clone()) else {
                return Err(ferr("BTF has no DATASEC `.maps`"));
            };
            for v in vars {
                let var = b
                    .get(v.type_id)
                    .ok_or_else(|| ferr(format!("BTF: .maps var {} missing", v.type_id)))?;
                let name = b.str_at(var.name_off).to_string();
                let Kind::Var { type_id, .. } = var.kind else {
                    return Err(ferr(format!("BTF: .maps entry `{name}` is not a VAR")));
                };
                let (def, extra) = btf_map_def(b, b.resolve(type_id), &name, 0)?;
                let offset = btf_map_syms
                    .get(&name)
                    .copied()
                    .unwrap_or(u64::from(v.offset));
                map_at.insert((si, offset), maps.len());
                maps.push(def);
                map_btf.push(extra);
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
            let value_type_id = btf
                .as_ref()
                .and_then(|b| b.named(&name, |k| matches!(k, Kind::Datasec { .. })))
                .unwrap_or(0);
            let spin_lock = btf
                .as_ref()
                .filter(|_| value_type_id != 0)
                .and_then(|b| spin_lock_offset(b, value_type_id, 0));
            let mut btf_fields = Vec::new();
            if let (Some(b), true) = (&btf, value_type_id != 0) {
                special_fields(b, value_type_id, 0, 0, &mut btf_fields);
            }
            map_btf.push(MapBtf {
                pinning: 0,
                key_type_id: 0,
                value_type_id,
            });
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
                spin_lock,
                btf_fields,
                ..MapDef::default()
            });
        }

        // Externs: `.kconfig` variables get a global data map of their own, laid out in BTF
        // order at natural alignment; kfuncs are resolved later against the target's BTF.
        let weak_externs: Vec<String> = file
            .symbols()
            .filter(|s| s.section_index().is_none() && s.elf_symbol().st_bind() == elf::STB_WEAK)
            .filter_map(|s| s.name().ok().map(str::to_string))
            .collect();
        let mut kconfig = Vec::new();
        let mut kconfig_map = None;
        if let Some(b) = &btf {
            if let Some(ds) = b.named(".kconfig", |k| matches!(k, Kind::Datasec { .. })) {
                if let Some(Kind::Datasec { vars, .. }) = b.get(ds).map(|t| &t.kind) {
                    // libbpf's order: descending alignment, then name.
                    let mut found = Vec::new();
                    for v in vars {
                        let Some(Kind::Var { type_id, .. }) = b.get(v.type_id).map(|t| &t.kind)
                        else {
                            continue;
                        };
                        let name = b.name(v.type_id).to_string();
                        let size = b.size_of(*type_id).unwrap_or(0) as u32;
                        if size == 0 {
                            return Err(ferr(format!("kconfig extern `{name}` has no size")));
                        }
                        let align = match b.get(b.resolve(*type_id)).map(|t| &t.kind) {
                            Some(Kind::Array { elem, .. }) => b.size_of(*elem).unwrap_or(1),
                            _ => u64::from(size),
                        }
                        .clamp(1, 8) as u32;
                        found.push((align, name, size, b.resolve(*type_id)));
                    }
                    found.sort_by(|x, y| y.0.cmp(&x.0).then_with(|| x.1.cmp(&y.1)));
                    let mut off = 0u32;
                    for (align, name, size, type_id) in found {
                        off = off.div_ceil(align).saturating_mul(align);
                        if off.saturating_add(size) > 1 << 20 {
                            return Err(ferr(format!(
                                "kconfig extern `{name}`: .kconfig larger than 1 MiB"
                            )));
                        }
                        kconfig.push(KconfigVar {
                            weak: weak_externs.contains(&name),
                            name,
                            offset: off,
                            size,
                            type_id,
                        });
                        off += size;
                    }
                    if off > 0 {
                        kconfig_map = Some(maps.len());
                        map_btf.push(MapBtf {
                            pinning: 0,
                            key_type_id: 0,
                            value_type_id: ds,
                        });
                        maps.push(MapDef {
                            name: ".kconfig".into(),
                            map_type: 2,
                            key_size: 4,
                            value_size: off,
                            max_entries: 1,
                            flags: 0,
                            data: Some(vec![0; off as usize]),
                            section: ".kconfig".into(),
                            readonly: true,
                            ..MapDef::default()
                        });
                    }
                }
            }
        }
        let kconfig_at: HashMap<String, (usize, u32)> = kconfig
            .iter()
            .filter_map(|k| kconfig_map.map(|m| (k.name.clone(), (m, k.offset))))
            .collect();

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

        // `.BTF.ext` records by section name.
        let sec_of = |off: u32| btf.as_ref().map_or("", |b| b.str_at(off)).to_string();
        let info = ExtInfo {
            funcs: ext
                .func_info
                .iter()
                .flat_map(|s| s.records.iter().map(move |r| (sec_of(s.sec_name_off), *r)))
                .collect(),
            lines: ext
                .line_info
                .iter()
                .flat_map(|s| s.records.iter().map(move |r| (sec_of(s.sec_name_off), *r)))
                .collect(),
            core: ext
                .core_relos
                .iter()
                .flat_map(|s| s.records.iter().map(move |r| (sec_of(s.sec_name_off), *r)))
                .collect(),
        };
        let kconfig_size = kconfig_map.map(|m| maps[m].value_size);
        let btf_raw = match &btf_data {
            Some(raw) => Some(
                btf::ext::fixup_datasecs(
                    raw,
                    |sec| {
                        if sec == ".kconfig" {
                            return kconfig_size;
                        }
                        sec_names
                            .iter()
                            .find(|(_, n)| n.as_str() == sec)
                            .map(|(i, _)| sec_data[i].len() as u32)
                    },
                    |sec, var| {
                        if sec == ".kconfig" {
                            return kconfig_at.get(var).map(|k| k.1);
                        }
                        var_offsets
                            .get(&(sec.to_string(), var.to_string()))
                            .copied()
                    },
                )
                .and_then(|b| btf::ext::sanitize_externs(&b))
                .map_err(|e| ferr(format!("section `.BTF`: {e}")))?,
            ),
            None => None,
        };

        let insns_of: HashMap<usize, Vec<Insn>> = exec
            .iter()
            .map(|&si| Ok((si, crate::insn::decode_all(&sec_data[&si], endian)?)))
            .collect::<Result<_, Error>>()?;

        // Programs: global functions in non-.text executable sections; a section without
        // function symbols is one program.
        let mut programs = Vec::new();
        // `.text` holds subprograms; only an object with nothing else has its programs there.
        let only_text = exec.iter().all(|si| sec_names[si] == ".text");
        for &si in &exec {
            let sname = sec_names[&si].clone();
            if sname == ".text" && !only_text {
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
                    f,
                    &sname,
                    &funcs,
                    &insns_of,
                    &relocs,
                    &sec_names,
                    &map_at,
                    &data_map,
                    &info,
                    btf.as_ref(),
                    &kconfig_at,
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
            btf_raw,
            map_btf,
            kconfig,
            kconfig_map,
            weak_externs,
        })
    }
}

/// `call 0xbad2310`: what libbpf writes where a CO-RE relocation has no target, so that the
/// kernel refuses the program only if the instruction is reachable.
pub const CORE_POISON_HELPER: i32 = 0xbad2310;

impl Object {
    /// Resolves every program's CO-RE relocations against `target` (a kernel's BTF) and
    /// patches the instructions as libbpf does: the constant of an ALU instruction, the offset
    /// of a load or store (and its width, when the field's size differs), or both halves of
    /// an `lddw`; an unmatched field or type becomes a call to an invalid helper. The
    /// relocations are consumed; the report lists each with its old and new constant.
    pub fn relocate_core(&mut self, target: &Btf) -> Result<Vec<CoreReport>, Error> {
        use btf::co_re::{self, Resolved};
        let mut report = Vec::new();
        let Some(local) = &self.btf else {
            if self.programs.iter().any(|p| !p.core_relos.is_empty()) {
                return Err(ferr("CO-RE relocations without a .BTF section"));
            }
            return Ok(report);
        };
        for p in &mut self.programs {
            for r in std::mem::take(&mut p.core_relos) {
                let what = co_re::describe(local, &r.relo);
                let e =
                    |m: String| ferr(format!("program `{}` insn {}: {what}: {m}", p.name, r.insn));
                let res = co_re::resolve(local, &r.relo, target).map_err(|x| e(x.to_string()))?;
                let Some(insn) = p.insns.get(r.insn).copied() else {
                    return Err(e("instruction out of range".into()));
                };
                let cls = insn.code & 7;
                let old = if cls == class::LDX || cls == class::ST || cls == class::STX {
                    i64::from(insn.off)
                } else if insn.is_lddw() {
                    let hi = p.insns.get(r.insn + 1).map_or(0, |i| i.imm);
                    (i64::from(hi) << 32) | i64::from(insn.imm as u32)
                } else {
                    i64::from(insn.imm)
                };
                let new = match res {
                    Resolved::Poison => {
                        let i = &mut p.insns[r.insn];
                        *i = Insn {
                            code: class::JMP | jmp::CALL,
                            dst: 0,
                            src: 0,
                            off: 0,
                            imm: CORE_POISON_HELPER,
                        };
                        if insn.is_lddw() {
                            // The second slot becomes `r0 = 0`, a valid instruction.
                            if let Some(n) = p.insns.get_mut(r.insn + 1) {
                                *n = Insn {
                                    code: class::ALU64 | crate::insn::alu::MOV,
                                    dst: 0,
                                    src: 0,
                                    off: 0,
                                    imm: 0,
                                };
                            }
                        }
                        None
                    }
                    Resolved::Value { value, field_size } => {
                        let v = value as i64;
                        let i = &mut p.insns[r.insn];
                        if cls == class::ALU || cls == class::ALU64 {
                            if insn.code & crate::insn::BPF_X != 0 {
                                return Err(e("ALU instruction with a register source".into()));
                            }
                            i.imm = i32::try_from(v)
                                .map_err(|_| e(format!("value {v} does not fit imm")))?;
                        } else if cls == class::LDX || cls == class::ST || cls == class::STX {
                            i.off = i16::try_from(v)
                                .map_err(|_| e(format!("offset {v} does not fit a load")))?;
                            let width = match field_size {
                                Some(1) => Some(crate::insn::mem::B),
                                Some(2) => Some(crate::insn::mem::H),
                                Some(4) => Some(crate::insn::mem::W),
                                Some(8) => Some(crate::insn::mem::DW),
                                _ => None,
                            };
                            if let (Some(w), true) =
                                (width, insn.code & 0xe0 == crate::insn::mem::MEM)
                            {
                                i.code = (insn.code & !0x18) | w;
                            }
                        } else if insn.is_lddw() {
                            i.imm = value as u32 as i32;
                            match p.insns.get_mut(r.insn + 1) {
                                Some(n) => n.imm = (value >> 32) as u32 as i32,
                                None => return Err(e("lddw in the last slot".into())),
                            }
                        } else {
                            return Err(e(format!(
                                "cannot relocate instruction {:#04x}",
                                insn.code
                            )));
                        }
                        Some(v)
                    }
                };
                report.push(CoreReport {
                    program: p.name.clone(),
                    insn: r.insn,
                    what,
                    old,
                    new,
                });
            }
        }
        Ok(report)
    }
}

impl Object {
    /// Whether the object has externs to resolve ([`Object::resolve_externs`]).
    pub fn has_externs(&self) -> bool {
        !self.kconfig.is_empty()
            || self
                .programs
                .iter()
                .any(|p| !p.kfunc_calls.is_empty() || !p.ksym_refs.is_empty())
    }

    /// Resolves externs as libbpf does: each kfunc call's `imm` becomes the BTF id of the
    /// function in `target` (an unresolved `__weak` kfunc stays a call to id 0, which the
    /// kernel refuses unless it is dead code; any other unresolved kfunc is an error); each `.kconfig` variable is filled from `config` (a kernel `.config`:
    /// `CONFIG_X=y|m|n|number|"string"`), `LINUX_KERNEL_VERSION` from `kernel_version`
    /// (`KERNEL_VERSION(a, b, c)`). Options the config lacks are 0 when `__weak`, errors
    /// otherwise. A kernel variable (`extern T x __ksym`) with a type becomes an `lddw` of its
    /// BTF id in `target` (pseudo source BTF_ID); without one (`const void`), its address
    /// from `kallsyms` (a missing `__weak` one is 0).
    pub fn resolve_externs(
        &mut self,
        target: &Btf,
        config: &str,
        kernel_version: u32,
        kallsyms: &dyn Fn(&str) -> Option<u64>,
    ) -> Result<(), Error> {
        let local = self.btf.clone();
        for p in &mut self.programs {
            for (at, name) in std::mem::take(&mut p.ksym_refs) {
                let typed = local.as_ref().and_then(|b| {
                    let v = b.named(&name, |k| matches!(k, Kind::Var { .. }))?;
                    match b.get(v).map(|t| &t.kind) {
                        Some(Kind::Var { type_id, .. }) => Some(b.resolve(*type_id) != 0),
                        _ => None,
                    }
                });
                if typed == Some(true) {
                    let id = target
                        .named(&name, |k| matches!(k, Kind::Var { .. }))
                        .ok_or_else(|| {
                            ferr(format!(
                                "program `{}`: kernel variable `{name}` is not in the target \
                                 kernel's BTF (only per-CPU variables are)",
                                p.name
                            ))
                        })?;
                    p.insns[at].src = pseudo::BTF_ID;
                    p.insns[at].imm = id as i32;
                    p.insns[at + 1].imm = 0;
                    continue;
                }
                let addr = match kallsyms(&name) {
                    Some(a) => a,
                    None if self.weak_externs.contains(&name) => 0,
                    None => {
                        return Err(ferr(format!(
                            "program `{}`: kernel symbol `{name}` is not in kallsyms",
                            p.name
                        )))
                    }
                };
                p.insns[at].imm = addr as u32 as i32;
                p.insns[at + 1].imm = (addr >> 32) as u32 as i32;
            }
        }
        for p in &mut self.programs {
            for (at, name) in std::mem::take(&mut p.kfunc_calls) {
                match target.func_named(&name) {
                    Some(id) => {
                        p.insns[at].imm = id as i32;
                        p.insns[at].off = 0;
                    }
                    // As libbpf 1.1 (Debian's bpftool) writes it: a kfunc call to id 0,
                    // which the kernel accepts only where the verifier proves it dead.
                    None if self.weak_externs.contains(&name) => {
                        p.insns[at].imm = 0;
                        p.insns[at].off = 0;
                    }
                    None => {
                        return Err(ferr(format!(
                            "program `{}`: kfunc `{name}` is not in the target kernel's BTF",
                            p.name
                        )))
                    }
                }
            }
        }
        let Some(m) = self.kconfig_map else {
            return Ok(());
        };
        let values: HashMap<&str, &str> = config
            .lines()
            .filter_map(|l| l.trim().split_once('='))
            .collect();
        let mut data = self.maps[m].data.clone().unwrap_or_default();
        for k in &self.kconfig {
            let at = k.offset as usize;
            let Some(slot) = data.get_mut(at..at + k.size as usize) else {
                return Err(ferr(format!("kconfig `{}` lies outside its map", k.name)));
            };
            let is_array = matches!(
                self.btf
                    .as_ref()
                    .and_then(|b| b.get(k.type_id))
                    .map(|t| &t.kind),
                Some(Kind::Array { .. })
            );
            let raw = if k.name == "LINUX_KERNEL_VERSION" {
                Some(kernel_version.to_string())
            } else {
                values.get(k.name.as_str()).map(|v| v.to_string())
            };
            let Some(raw) = raw else {
                if k.weak {
                    continue;
                }
                return Err(ferr(format!(
                    "kconfig `{}` is not set in the kernel's config (declare it __weak to default to 0)",
                    k.name
                )));
            };
            if is_array {
                let text = raw.trim_matches('"');
                let n = text.len().min(slot.len().saturating_sub(1));
                slot[..n].copy_from_slice(&text.as_bytes()[..n]);
                continue;
            }
            if slot.len() > 8 {
                return Err(ferr(format!(
                    "kconfig `{}`: a {}-byte variable is neither an integer nor a char array",
                    k.name,
                    slot.len()
                )));
            }
            let v: u64 = match raw.as_str() {
                "y" => 1,
                "m" => 2,
                "n" => 0,
                t => {
                    let parsed = if let Some(h) = t.strip_prefix("0x") {
                        u64::from_str_radix(h, 16).ok()
                    } else {
                        t.parse::<i64>().ok().map(|v| v as u64)
                    };
                    parsed.ok_or_else(|| {
                        ferr(format!("kconfig `{}`: value `{t}` is not a number", k.name))
                    })?
                }
            };
            let bytes = match self.endian {
                Endian::Little => v.to_le_bytes(),
                Endian::Big => v.to_be_bytes(),
            };
            match self.endian {
                Endian::Little => slot.copy_from_slice(&bytes[..slot.len().min(8)]),
                Endian::Big => slot.copy_from_slice(&bytes[8 - slot.len().min(8)..]),
            }
        }
        self.maps[m].data = Some(data);
        Ok(())
    }
}

/// `KERNEL_VERSION(a, b, c)` of a release string (`6.18.44-fc`), as libbpf computes
/// `LINUX_KERNEL_VERSION` (the patch level saturates at 255).
pub fn kernel_version_code(release: &str) -> Option<u32> {
    let mut it = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    let a = it.next()??;
    let b = it.next()??;
    let c = it.next().flatten().unwrap_or(0);
    Some((a << 16) + (b << 8) + c.min(255))
}

/// `.BTF.ext` records with their section names resolved.
struct ExtInfo {
    funcs: Vec<(String, FuncInfo)>,
    lines: Vec<(String, LineInfo)>,
    core: Vec<(String, CoreRelo)>,
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
    info: &ExtInfo,
    btf: Option<&Btf>,
    kconfig_at: &HashMap<String, (usize, u32)>,
) -> Result<Program, Error> {
    let mut kfunc_calls = Vec::new();
    let mut ksym_refs = Vec::new();
    let mut func_info = Vec::new();
    let mut line_info = Vec::new();
    let mut core_relos = Vec::new();
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
        let len = if len == 0 {
            all.len().saturating_sub(start)
        } else {
            len
        };
        if start.checked_add(len).is_none_or(|end| end > all.len()) {
            return Err(ferr(format!(
                "function `{name}` in `{}` extends past its section",
                sec_names[&si]
            )));
        }
        let base = out.len();
        placed.push((si, start, base));
        fnames.push((base, name.clone()));
        out.extend_from_slice(&all[start..start + len]);
        let here = |sec: &str, off: u32| {
            let slot = (off / 8) as usize;
            (sec == sec_names[&si] && slot >= start && slot < start + len)
                .then(|| base + slot - start)
        };
        for (sec, l) in &info.lines {
            if let Some(at) = here(sec, l.insn_off) {
                let s = |off| btf.map_or("", |b| b.str_at(off)).to_string();
                out_lines.push((
                    at,
                    SourceLine {
                        file: s(l.file_name_off),
                        line: l.line(),
                        col: l.col(),
                        text: s(l.line_off),
                    },
                ));
                line_info.push((at, *l));
            }
        }
        for (sec, f) in &info.funcs {
            if let Some(at) = here(sec, f.insn_off) {
                func_info.push((at, f.type_id));
            }
        }
        for (sec, r) in &info.core {
            if let Some(at) = here(sec, r.insn_off) {
                core_relos.push(ProgCoreRelo { insn: at, relo: *r });
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
                if at + 1 >= out.len() {
                    return Err(ferr(format!("{}: lddw in the last slot", where_())));
                }
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
                    let Some(&(m, off)) = kconfig_at.get(&r.sym_name) else {
                        // A kernel variable (`__ksym`): its BTF id or address comes from
                        // the target ([`Object::resolve_externs`]).
                        out[at].src = 0;
                        out[at].imm = 0;
                        out[at + 1].imm = 0;
                        ksym_refs.push((at, r.sym_name.clone()));
                        continue;
                    };
                    out[at].src = pseudo::MAP_IDX_VALUE;
                    out[at].imm = m as i32;
                    out[at + 1].imm = (off as i64 + insn.imm as i64) as i32;
                    continue;
                };
                if insns_of.contains_key(&ss) {
                    // A function's address (a callback of bpf_loop, bpf_for_each_map_elem,
                    // timers): `lddw` with pseudo source FUNC and a pc-relative target.
                    let off = r.sym_value as i64 + insn.imm as i64;
                    if off < 0 || off % 8 != 0 {
                        return Err(ferr(format!(
                            "{}: function reference to byte {off}, not an instruction",
                            where_()
                        )));
                    }
                    out[at].src = pseudo::FUNC;
                    out[at + 1].imm = 0;
                    calls.push((at, ss, (off / 8) as usize));
                } else if let Some(&m) = map_at.get(&(ss, r.sym_value)) {
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
                    // An extern function: a kfunc, whose BTF id in the target kernel
                    // becomes the call's imm ([`Object::resolve_externs`]).
                    out[at].src = pseudo::CALL_KFUNC;
                    out[at].imm = 0;
                    kfunc_calls.push((at, r.sym_name.clone()));
                    continue;
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
            if tslot >= insns_of.get(&ts).map_or(0, Vec::len) {
                return Err(ferr(format!(
                    "call or function reference to instruction {tslot}, past the end of `{}`",
                    sec_names.get(&ts).map(String::as_str).unwrap_or("?")
                )));
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
    func_info.sort_by_key(|f| f.0);
    line_info.sort_by_key(|l| l.0);
    core_relos.sort_by_key(|r| r.insn);
    Ok(Program {
        kfunc_calls,
        ksym_refs,
        func_info,
        line_info,
        core_relos,
        name: entry.name.clone(),
        section: sname.to_string(),
        prog_type: prog_type_of_section(sname),
        insns: out,
        lines: out_lines,
        funcs: fnames,
    })
}
