//! An [`Object`] (parsed by `bpf-insn`, CO-RE already resolved) into the running kernel, the
//! way libbpf's `bpf_object__load` does it: the object's BTF (`BPF_BTF_LOAD`), its maps with
//! their BTF key and value types, global data as array maps holding the section's bytes
//! (`.rodata` frozen, as libbpf does, so the verifier may treat its contents as constants),
//! maps pinned by name reused from or pinned under a pin root, then every program with its
//! function and line info and its map references turned into file descriptors (and
//! `.rodata` bound to it, as libbpf binds it). Attaching is
//! separate ([`attach`]): tracepoint (perf event) and raw tracepoint programs, XDP and tc
//! (tcx) programs on a network interface through BPF links.
//!
//! Policy (which programs, whether to attach, where the pin root is) is the caller's; this
//! module does what the object says. Every system call goes through `super::bpf`.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use bpf_insn::object::{MapDef, Object, Program};

use crate::attr::Attr;
use crate::{bpf, owned_fd, Error, Result};

const BTF_LOAD: u32 = 18;
const OBJ_PIN: u32 = 6;
const OBJ_GET: u32 = 7;
const OBJ_GET_INFO_BY_FD: u32 = 15;
const RAW_TRACEPOINT_OPEN: u32 = 17;
const MAP_FREEZE: u32 = 22;
const PROG_BIND_MAP: u32 = 35;
const LINK_CREATE: u32 = 28;

/// `enum bpf_attach_type` values used here.
pub mod attach_type {
    pub const XDP: u32 = 37;
    pub const TCX_INGRESS: u32 = 46;
    pub const TCX_EGRESS: u32 = 47;
}

/// The attach type libbpf gives a section at load time (`expected_attach_type`, from its
/// section table: cgroup hooks, socket and XDP variants). The kernel requires it for some
/// types (sock_addr, sockopt hooks) and checks the program against it (return values).
pub fn expected_attach_type(section: &str) -> u32 {
    let s = section.strip_prefix('?').unwrap_or(section);
    match s {
        "xdp" | "xdp.frags" => return attach_type::XDP,
        "tcx/ingress" => return attach_type::TCX_INGRESS,
        "tcx/egress" => return attach_type::TCX_EGRESS,
        _ => {}
    }
    // enum bpf_attach_type
    let table: &[(&str, u32)] = &[
        ("cgroup_skb/ingress", 0),
        ("cgroup_skb/egress", 1),
        ("cgroup/sock_create", 2),
        ("cgroup/sock", 2),
        ("sockops", 3),
        ("sk_skb/stream_parser", 4),
        ("sk_skb/stream_verdict", 5),
        ("cgroup/dev", 6),
        ("sk_msg", 7),
        ("cgroup/bind4", 8),
        ("cgroup/bind6", 9),
        ("cgroup/connect4", 10),
        ("cgroup/connect6", 11),
        ("cgroup/post_bind4", 12),
        ("cgroup/post_bind6", 13),
        ("cgroup/sendmsg4", 14),
        ("cgroup/sendmsg6", 15),
        ("flow_dissector", 17),
        ("cgroup/sysctl", 18),
        ("cgroup/recvmsg4", 19),
        ("cgroup/recvmsg6", 20),
        ("cgroup/getsockopt", 21),
        ("cgroup/setsockopt", 22),
        ("cgroup/getpeername4", 29),
        ("cgroup/getpeername6", 30),
        ("cgroup/getsockname4", 31),
        ("cgroup/getsockname6", 32),
        ("xdp/devmap", 33),
        ("xdp.frags/devmap", 33),
        ("cgroup/sock_release", 34),
        ("xdp/cpumap", 35),
        ("xdp.frags/cpumap", 35),
        ("sk_lookup", 36),
        ("sk_reuseport/migrate", 40),
        ("sk_reuseport", 39),
        ("netfilter", 45),
        ("cgroup/connect_unix", 49),
        ("cgroup/sendmsg_unix", 50),
        ("cgroup/recvmsg_unix", 51),
        ("cgroup/getpeername_unix", 52),
        ("cgroup/getsockname_unix", 53),
    ];
    table
        .iter()
        .find(|(name, _)| s == *name || s.strip_prefix(name).is_some_and(|r| r.starts_with('/')))
        .map_or(0, |(_, t)| *t)
}

/// The load flags libbpf gives a section: `BPF_F_SLEEPABLE` for sleepable ones (`syscall`,
/// the `.s` variants such as `uprobe.s` or `lsm.s/...`).
pub fn prog_flags(section: &str) -> u32 {
    const SLEEPABLE: u32 = 1 << 4;
    let s = section.strip_prefix('?').unwrap_or(section);
    let kind = s.split('/').next().unwrap_or(s);
    if kind == "syscall" || kind.ends_with(".s") {
        SLEEPABLE
    } else {
        0
    }
}

/// `BPF_F_MMAPABLE` and `BPF_F_RDONLY_PROG`, the flags libbpf gives global data maps.
const F_MMAPABLE: u32 = 0x400;
const F_RDONLY_PROG: u32 = 0x80;

/// How to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The object's name (its file name without `.o`): global data maps are named after it
    /// as libbpf names them (`callback.bss`).
    pub obj_name: String,
    /// Where maps with `pinning = LIBBPF_PIN_BY_NAME` are found and pinned (libbpf's default
    /// is /sys/fs/bpf).
    pub pin_root: Option<PathBuf>,
    /// Load the other programs when the kernel refuses one (its reason goes to
    /// [`Loaded::refused`]) instead of failing.
    pub keep_going: bool,
}

/// A map in the kernel.
#[derive(Debug)]
pub struct LoadedMap {
    /// The name the kernel knows (`bpftool map` shows it).
    pub name: String,
    pub def: MapDef,
    pub fd: OwnedFd,
    pub id: u32,
    /// Where it is pinned, and whether an existing pin was reused.
    pub pinned: Option<PathBuf>,
    pub reused: bool,
}

/// A program in the kernel.
#[derive(Debug)]
pub struct LoadedProg {
    pub name: String,
    pub section: String,
    pub prog_type: u32,
    pub fd: OwnedFd,
    pub id: u32,
    /// The kernel's tag (a hash of the instructions), as `bpftool prog` prints it.
    pub tag: [u8; 8],
}

/// Everything an object put in the kernel; dropping it closes the descriptors (what is not
/// pinned or attached elsewhere goes away).
#[derive(Debug)]
pub struct Loaded {
    pub btf: Option<OwnedFd>,
    pub maps: Vec<LoadedMap>,
    pub progs: Vec<LoadedProg>,
    /// What was done differently from the object's wish (BTF refused, ...), for the user.
    pub warnings: Vec<String>,
    /// With [`LoadOptions::keep_going`]: the programs the kernel refused, with its log.
    pub refused: Vec<(String, Error)>,
}

/// libbpf's name for a global data map: up to 8 characters of the object's name and the
/// section name, in 15 characters the kernel accepts (`internal_map_name`).
pub fn internal_map_name(obj: &str, section: &str) -> String {
    let sfx = section.len().clamp(7, 15);
    let pfx = if section.get(1..).unwrap_or("").contains('.') {
        0
    } else {
        (16 - sfx - 1).min(obj.len())
    };
    let raw: String = obj
        .chars()
        .take(pfx)
        .chain(section.chars().take(sfx))
        .collect();
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `BPF_BTF_LOAD`; a refusal carries the kernel's BTF log.
pub fn btf_load(data: &[u8]) -> Result<OwnedFd> {
    let mut log = vec![0u8; 1 << 20];
    let mut a = Attr::new();
    a.u64(0, data.as_ptr() as u64)
        .u64(8, log.as_mut_ptr() as u64)
        .u32(16, data.len() as u32)
        .u32(20, log.len() as u32)
        .u32(24, 1);
    match bpf(BTF_LOAD, &mut a) {
        Ok(r) => Ok(owned_fd(r)),
        Err(source) => Err(Error::Invalid(format!(
            "BPF_BTF_LOAD: {source}\n{}",
            crate::log_text(&log).trim_end()
        ))),
    }
}

/// `BPF_OBJ_PIN`: `fd` (a map or program) appears at `path` on a bpf filesystem.
pub fn obj_pin(fd: BorrowedFd<'_>, path: &Path) -> Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::Invalid("NUL in pin path".into()))?;
    let mut a = Attr::new();
    a.u64(0, c.as_ptr() as u64).u32(8, fd.as_raw_fd() as u32);
    bpf(OBJ_PIN, &mut a)
        .map(|_| ())
        .map_err(Error::sys("BPF_OBJ_PIN"))
}

/// `BPF_OBJ_GET`: the object pinned at `path`.
pub fn obj_get(path: &Path) -> Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::Invalid("NUL in pin path".into()))?;
    let mut a = Attr::new();
    a.u64(0, c.as_ptr() as u64);
    bpf(OBJ_GET, &mut a)
        .map(owned_fd)
        .map_err(Error::sys("BPF_OBJ_GET"))
}

/// `BPF_MAP_FREEZE`: user space may no longer write the map.
pub fn map_freeze(map: BorrowedFd<'_>) -> Result<()> {
    let mut a = Attr::new();
    a.u32(0, map.as_raw_fd() as u32);
    bpf(MAP_FREEZE, &mut a)
        .map(|_| ())
        .map_err(Error::sys("BPF_MAP_FREEZE"))
}

/// `BPF_PROG_BIND_MAP`: `map` lives as long as `prog`, used by it or not.
pub fn prog_bind_map(prog: BorrowedFd<'_>, map: BorrowedFd<'_>) -> Result<()> {
    let mut a = Attr::new();
    a.u32(0, prog.as_raw_fd() as u32)
        .u32(4, map.as_raw_fd() as u32);
    bpf(PROG_BIND_MAP, &mut a)
        .map(|_| ())
        .map_err(Error::sys("BPF_PROG_BIND_MAP"))
}

/// `BPF_OBJ_GET_INFO_BY_FD` into `info` (zeroed; the kernel fills what it knows).
fn obj_info(fd: BorrowedFd<'_>, info: &mut [u8]) -> Result<()> {
    let mut a = Attr::new();
    a.u32(0, fd.as_raw_fd() as u32)
        .u32(4, info.len() as u32)
        .u64(8, info.as_mut_ptr() as u64);
    bpf(OBJ_GET_INFO_BY_FD, &mut a)
        .map(|_| ())
        .map_err(Error::sys("BPF_OBJ_GET_INFO_BY_FD"))
}

fn u32_le(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// A program's id and tag (`struct bpf_prog_info`: type, id, tag[8]).
pub fn prog_id_tag(fd: BorrowedFd<'_>) -> Result<(u32, [u8; 8])> {
    let mut info = [0u8; 64];
    obj_info(fd, &mut info)?;
    let mut tag = [0u8; 8];
    tag.copy_from_slice(&info[8..16]);
    Ok((u32_le(&info, 4), tag))
}

/// A map's id, type, key and value size, max entries and flags (`struct bpf_map_info`).
pub fn map_info(fd: BorrowedFd<'_>) -> Result<[u32; 6]> {
    let mut info = [0u8; 64];
    obj_info(fd, &mut info)?;
    Ok([
        u32_le(&info, 4),
        u32_le(&info, 0),
        u32_le(&info, 8),
        u32_le(&info, 12),
        u32_le(&info, 16),
        u32_le(&info, 20),
    ])
}

/// `BPF_MAP_CREATE` with BTF key/value types when `btf` is given.
fn map_create_btf(
    def: &MapDef,
    name: &str,
    flags: u32,
    btf: Option<(BorrowedFd<'_>, u32, u32)>,
) -> io::Result<OwnedFd> {
    let mut a = Attr::new();
    a.u32(0, def.map_type)
        .u32(4, def.key_size)
        .u32(8, def.value_size)
        .u32(12, def.max_entries)
        .u32(16, flags)
        .name(28, name);
    if let Some((fd, k, v)) = btf {
        a.u32(48, fd.as_raw_fd() as u32).u32(52, k).u32(56, v);
    }
    bpf(crate::cmd::MAP_CREATE, &mut a).map(owned_fd)
}

/// Loads `obj`'s BTF, maps and programs. A refused BTF is a warning (the maps and programs
/// load without it, as libbpf does on old kernels); a refused program is an error that
/// carries the verifier log.
pub fn load(obj: &Object, opts: &LoadOptions) -> Result<Loaded> {
    let mut warnings = Vec::new();
    let btf = match &obj.btf_raw {
        Some(raw) => match btf_load(raw) {
            Ok(fd) => Some(fd),
            Err(e) => {
                warnings.push(format!("the kernel refused the object's BTF: {e}"));
                None
            }
        },
        None => None,
    };
    let mut maps = Vec::new();
    for (i, def) in obj.maps.iter().enumerate() {
        let extra = obj.map_btf.get(i).copied().unwrap_or_default();
        let name = if def.data.is_some() {
            internal_map_name(&opts.obj_name, &def.section)
        } else {
            def.name.clone()
        };
        let mut pinned = None;
        if extra.pinning == 1 {
            let root = opts
                .pin_root
                .clone()
                .unwrap_or_else(|| PathBuf::from("/sys/fs/bpf"));
            let path = root.join(&def.name);
            if path.exists() {
                let fd = obj_get(&path)?;
                let [id, t, k, v, n, _] = map_info(fd.as_fd())?;
                if (t, k, v, n) != (def.map_type, def.key_size, def.value_size, def.max_entries) {
                    return Err(Error::Invalid(format!(
                        "map `{}`: the map pinned at {} has type {t}, key {k}, value {v}, \
                         {n} entries; the object wants {}, {}, {}, {}",
                        def.name,
                        path.display(),
                        def.map_type,
                        def.key_size,
                        def.value_size,
                        def.max_entries
                    )));
                }
                maps.push(LoadedMap {
                    name,
                    def: def.clone(),
                    fd,
                    id,
                    pinned: Some(path),
                    reused: true,
                });
                continue;
            }
            pinned = Some(path);
        }
        let mut flags = def.flags;
        if def.data.is_some() {
            flags |= F_MMAPABLE;
            if def.readonly {
                flags |= F_RDONLY_PROG;
            }
        }
        let with_btf = btf
            .as_ref()
            .filter(|_| extra.key_type_id != 0 || extra.value_type_id != 0)
            .map(|b| (b.as_fd(), extra.key_type_id, extra.value_type_id));
        let fd = match map_create_btf(def, &name, flags, with_btf) {
            Ok(fd) => fd,
            // As libbpf: a map whose BTF the kernel refuses is created without it.
            Err(_) if with_btf.is_some() => map_create_btf(def, &name, flags, None)
                .map_err(|e| Error::Invalid(format!("map `{name}`: BPF_MAP_CREATE: {e}")))?,
            Err(e) => return Err(Error::Invalid(format!("map `{name}`: BPF_MAP_CREATE: {e}"))),
        };
        if let Some(data) = &def.data {
            crate::map_update(&fd, &0u32.to_le_bytes(), data, 0)?;
            if def.readonly {
                map_freeze(fd.as_fd())?;
            }
        }
        if let Some(p) = &pinned {
            obj_pin(fd.as_fd(), p)?;
        }
        let [id, ..] = map_info(fd.as_fd())?;
        maps.push(LoadedMap {
            name,
            def: def.clone(),
            fd,
            id,
            pinned,
            reused: false,
        });
    }
    let mut progs = Vec::new();
    let mut refused = Vec::new();
    for p in &obj.programs {
        let prog_type = p.prog_type.ok_or_else(|| {
            Error::Invalid(format!(
                "program `{}`: no program type for section `{}`",
                p.name, p.section
            ))
        })?;
        let fd = match load_program(obj, p, prog_type, &maps, btf.as_ref().map(|b| b.as_fd())) {
            Ok(fd) => fd,
            Err(e) if opts.keep_going => {
                refused.push((p.name.clone(), e));
                continue;
            }
            Err(e) => return Err(e),
        };
        // As libbpf: `.rodata` stays with every program (bpftool reads metadata from it).
        if let Some(ro) = maps.iter().find(|m| m.def.section == ".rodata") {
            prog_bind_map(fd.as_fd(), ro.fd.as_fd())?;
        }
        let (id, tag) = prog_id_tag(fd.as_fd())?;
        progs.push(LoadedProg {
            name: p.name.clone(),
            section: p.section.clone(),
            prog_type,
            fd,
            id,
            tag,
        });
    }
    Ok(Loaded {
        btf,
        maps,
        progs,
        warnings,
        refused,
    })
}

fn load_program(
    obj: &Object,
    p: &Program,
    prog_type: u32,
    maps: &[LoadedMap],
    btf: Option<BorrowedFd<'_>>,
) -> Result<OwnedFd> {
    // Map references by index become file descriptors, as libbpf writes them.
    let mut insns = p.insns.clone();
    let fds: Vec<i32> = maps.iter().map(|m| m.fd.as_raw_fd()).collect();
    bpf_insn::insn::map_indices_to_fds(&mut insns, &fds)
        .map_err(|k| Error::Invalid(format!("program `{}`: map index {k} out of range", p.name)))?;
    let code = bpf_insn::encode_all(&insns, obj.endian);
    let license = CString::new(obj.license.as_deref().unwrap_or("GPL"))
        .map_err(|_| Error::Invalid("NUL in license".into()))?;
    let func_info: Vec<u8> = p
        .func_info
        .iter()
        .flat_map(|&(at, t)| [at as u32, t])
        .flat_map(u32::to_le_bytes)
        .collect();
    let line_info: Vec<u8> = p
        .line_info
        .iter()
        .flat_map(|(at, l)| [*at as u32, l.file_name_off, l.line_off, l.line_col])
        .flat_map(u32::to_le_bytes)
        .collect();
    let attr = |log: &mut Vec<u8>, level: u32| {
        let mut a = Attr::new();
        a.u32(0, prog_type)
            .u32(4, insns.len() as u32)
            .u64(8, code.as_ptr() as u64)
            .u64(16, license.as_ptr() as u64)
            .name(48, &p.name)
            .u32(44, prog_flags(&p.section))
            .u32(68, expected_attach_type(&p.section));
        if level > 0 {
            a.u32(24, level)
                .u32(28, log.len() as u32)
                .u64(32, log.as_mut_ptr() as u64);
        }
        if let Some(b) = btf.filter(|_| !p.func_info.is_empty()) {
            a.u32(72, b.as_raw_fd() as u32)
                .u32(76, 8)
                .u64(80, func_info.as_ptr() as u64)
                .u32(88, p.func_info.len() as u32)
                .u32(92, 16)
                .u64(96, line_info.as_ptr() as u64)
                .u32(104, p.line_info.len() as u32);
        }
        a
    };
    let mut none = Vec::new();
    if let Ok(r) = bpf(crate::cmd::PROG_LOAD, &mut attr(&mut none, 0)) {
        return Ok(owned_fd(r));
    }
    let mut log = vec![0u8; 16 << 20];
    match bpf(crate::cmd::PROG_LOAD, &mut attr(&mut log, 1)) {
        Ok(r) => Ok(owned_fd(r)),
        Err(source) => Err(Error::Verifier {
            source,
            log: format!("program `{}`: {}", p.name, crate::log_text(&log)),
        }),
    }
}

/// A program attached: the descriptor that keeps it attached, and what to.
#[derive(Debug)]
pub struct Attachment {
    pub program: String,
    /// `tracepoint syscalls/sys_enter_getppid`, `raw_tracepoint sys_enter`.
    pub target: String,
    pub fd: OwnedFd,
}

/// `BPF_RAW_TRACEPOINT_OPEN`.
pub fn raw_tracepoint_open(name: &str, prog: BorrowedFd<'_>) -> Result<OwnedFd> {
    let c = CString::new(name).map_err(|_| Error::Invalid("NUL in tracepoint name".into()))?;
    let mut a = Attr::new();
    a.u64(0, c.as_ptr() as u64).u32(8, prog.as_raw_fd() as u32);
    bpf(RAW_TRACEPOINT_OPEN, &mut a)
        .map(owned_fd)
        .map_err(Error::sys("BPF_RAW_TRACEPOINT_OPEN"))
}

/// `BPF_LINK_CREATE` of `prog` on network interface `ifindex` (XDP, tcx).
pub fn link_create(prog: BorrowedFd<'_>, ifindex: u32, attach_type: u32) -> Result<OwnedFd> {
    let mut a = Attr::new();
    a.u32(0, prog.as_raw_fd() as u32)
        .u32(4, ifindex)
        .u32(8, attach_type);
    bpf(LINK_CREATE, &mut a)
        .map(owned_fd)
        .map_err(Error::sys("BPF_LINK_CREATE"))
}

/// The index of network interface `name` in this process's network namespace (from
/// /sys/class/net, which `ip netns exec` mounts for the namespace).
pub fn ifindex(name: &str) -> Result<u32> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return Err(Error::Invalid(format!("`{name}` is not an interface name")));
    }
    let p = Path::new("/sys/class/net").join(name).join("ifindex");
    std::fs::read_to_string(&p)
        .map_err(|e| Error::Invalid(format!("interface `{name}`: {}: {e}", p.display())))?
        .trim()
        .parse()
        .map_err(|_| Error::Invalid(format!("{}: not a number", p.display())))
}

/// The file offset of a symbol in an ELF file: (path, symbol) -> offset, for uprobes.
pub type SymbolOffset<'a> = &'a dyn Fn(&str, &str) -> std::result::Result<u64, String>;

/// Where programs attach besides what their section names say.
pub struct AttachTo<'a> {
    /// The tracefs mount, for tracepoint ids.
    pub tracefs: &'a Path,
    /// The network interface for XDP and tc programs: (name, index).
    pub iface: Option<(&'a str, u32)>,
    /// Finds uprobe targets (`uprobe/PATH:FUNC`).
    pub symbol_offset: SymbolOffset<'a>,
}

/// Attaches `prog` as its section name says, as libbpf's auto-attach does:
/// `tracepoint/CAT/NAME` (`tp/`) through a perf event on the tracepoint (its id read from
/// `tracefs`), `raw_tracepoint/NAME` (`raw_tp/`) with `BPF_RAW_TRACEPOINT_OPEN`,
/// `uprobe/PATH:FUNC` and `kprobe/FUNC` (and return probes) through perf events, and, on
/// the interface `to.iface`, `xdp` and `tc`/`tcx/ingress`/`tcx/egress` through BPF links (a
/// plain `tc` program on ingress). Other sections are refused with a reason.
pub fn attach(prog: &LoadedProg, to: &AttachTo<'_>) -> Result<Attachment> {
    let sec = prog.section.as_str();
    let after = |p: &[&str]| p.iter().find_map(|x| sec.strip_prefix(x));
    if let Some(tp) = after(&["tracepoint/", "tp/"]) {
        let Some((cat, name)) = tp.split_once('/') else {
            return Err(Error::Invalid(format!(
                "program `{}`: section `{sec}` is not tracepoint/CATEGORY/NAME",
                prog.name
            )));
        };
        let id_path = to.tracefs.join("events").join(cat).join(name).join("id");
        let id: u64 = std::fs::read_to_string(&id_path)
            .map_err(|e| Error::Invalid(format!("{}: {e}", id_path.display())))?
            .trim()
            .parse()
            .map_err(|_| Error::Invalid(format!("{}: not a number", id_path.display())))?;
        let ev = crate::perf_event_open(&crate::PerfEvent::tracepoint(id), -1, 0)?;
        crate::perf_attach(&ev, &prog.fd)?;
        return Ok(Attachment {
            program: prog.name.clone(),
            target: format!("tracepoint {cat}/{name}"),
            fd: ev,
        });
    }
    if let Some(name) = after(&["raw_tracepoint/", "raw_tp/"]) {
        let fd = raw_tracepoint_open(name, prog.fd.as_fd())?;
        return Ok(Attachment {
            program: prog.name.clone(),
            target: format!("raw_tracepoint {name}"),
            fd,
        });
    }
    // libbpf's `uprobe/PATH:FUNC[+OFFSET]`, `uretprobe/...`, `kprobe/FUNC[+OFFSET]`,
    // `kretprobe/FUNC`.
    for (prefix, ret, user) in [
        ("uprobe/", false, true),
        ("uretprobe/", true, true),
        ("kprobe/", false, false),
        ("kretprobe/", true, false),
    ] {
        let Some(spec) = sec.strip_prefix(prefix) else {
            continue;
        };
        let (what, plus) = match spec.rsplit_once('+') {
            Some((w, o)) => {
                let o = o
                    .strip_prefix("0x")
                    .map_or_else(|| o.parse(), |h| u64::from_str_radix(h, 16));
                (
                    w,
                    o.map_err(|_| Error::Invalid(format!("section `{sec}`: bad offset")))?,
                )
            }
            None => (spec, 0),
        };
        let (ev, target) = if user {
            let Some((path, func)) = what.rsplit_once(':') else {
                return Err(Error::Invalid(format!(
                    "program `{}`: section `{sec}` is not {prefix}PATH:FUNCTION",
                    prog.name
                )));
            };
            let off = (to.symbol_offset)(path, func).map_err(Error::Invalid)? + plus;
            (
                crate::PerfEvent::uprobe(Path::new(path), off, ret)?,
                format!("{} {path}:{func}", prefix.trim_end_matches('/')),
            )
        } else {
            (
                crate::PerfEvent::kprobe(what, plus, ret)?,
                format!("{} {what}", prefix.trim_end_matches('/')),
            )
        };
        let fd = crate::perf_event_open(&ev, -1, 0)?;
        crate::perf_attach(&fd, &prog.fd)?;
        return Ok(Attachment {
            program: prog.name.clone(),
            target: target
                + &if plus > 0 {
                    format!("+{plus:#x}")
                } else {
                    String::new()
                },
            fd,
        });
    }
    let net = match sec {
        "xdp" => Some((attach_type::XDP, "xdp")),
        "tc" | "classifier" | "tcx/ingress" => Some((attach_type::TCX_INGRESS, "tcx ingress")),
        "tcx/egress" => Some((attach_type::TCX_EGRESS, "tcx egress")),
        _ => None,
    };
    if let Some((t, what)) = net {
        let Some((ifname, idx)) = to.iface else {
            return Err(Error::Invalid(format!(
                "program `{}` (section `{sec}`) attaches to a network interface: name one",
                prog.name
            )));
        };
        let fd = link_create(prog.fd.as_fd(), idx, t)?;
        return Ok(Attachment {
            program: prog.name.clone(),
            target: format!("{what} {ifname}"),
            fd,
        });
    }
    Err(Error::Invalid(format!(
        "program `{}`: attaching section `{sec}` is not supported (tracepoint/, raw_tp/, \
         uprobe/, uretprobe/, kprobe/, kretprobe/, xdp, tc and tcx/ are)",
        prog.name
    )))
}

#[cfg(test)]
mod tests {
    use super::internal_map_name;

    #[test]
    fn global_data_maps_are_named_as_libbpf_names_them() {
        assert_eq!(internal_map_name("callbacks", ".bss"), "callback.bss");
        assert_eq!(internal_map_name("callbacks", ".rodata"), "callback.rodata");
        assert_eq!(internal_map_name("x", ".data"), "x.data");
        assert_eq!(
            internal_map_name("core_task", ".rodata.str1.1"),
            ".rodata.str1.1"
        );
    }
}
