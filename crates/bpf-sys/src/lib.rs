//! `bpf-sys`: the running kernel's eBPF interface, safely.
//!
//! This is a *system* crate: the only place in the eBPF half of kmodkit with `unsafe` and raw
//! syscalls. It does what it is told and has no policy: it creates maps, loads programs
//! (returning the kernel verifier's log when the kernel refuses one), runs programs with
//! `BPF_PROG_TEST_RUN`, opens perf events (tracepoints, uprobes, kprobes, software and hardware
//! events) and attaches programs to them, and reads the BPF ring buffer. Every `unsafe`
//! block carries a `// SAFETY:` comment saying why it is sound.
//!
//! Attributes are laid out byte by byte at the offsets of the kernel's UAPI headers
//! (`include/uapi/linux/bpf.h`, `include/uapi/linux/perf_event.h`) rather than through
//! `#[repr(C)]` mirrors: the unions are large, most fields are zero, and a byte buffer makes
//! "unused bytes are zero", which the kernel checks, hold by construction.
//!
//! Instructions are passed as raw bytes (8 bytes per slot, little-endian, as the kernel reads
//! them), so that any encoder (`bpf-insn`, a test's hand-written bytes) can use this crate.

// A system crate: the one floor where `unsafe` is allowed (each block with a SAFETY line).
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

mod attr;
pub mod loader;
pub mod perfbuf;
pub mod process;
pub mod ringbuf;

use attr::Attr;
pub use perfbuf::{PerfBuf, PerfRecord};
pub use process::GatedChild;
pub use ringbuf::{page_size, RingBuf};

/// Errors from the kernel's eBPF and perf interfaces.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A syscall failed; `op` names it (`BPF_MAP_CREATE`, `perf_event_open`, ...).
    #[error("{op}: {source}")]
    Sys {
        op: &'static str,
        #[source]
        source: io::Error,
    },
    /// The kernel refused a program; `log` is the verifier's log (may be empty when the
    /// refusal came before the verifier ran, e.g. a bad program type).
    #[error("the kernel rejected the program: {source}{}", if log.is_empty() { String::new() } else { format!("\n{log}") })]
    Verifier {
        #[source]
        source: io::Error,
        log: String,
    },
    /// Arguments that cannot be passed to the kernel as given.
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    fn sys(op: &'static str) -> impl FnOnce(io::Error) -> Error {
        move |source| Error::Sys { op, source }
    }

    /// The errno behind the error, when there is one.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Sys { source, .. } | Error::Verifier { source, .. } => source.raw_os_error(),
            Error::Invalid(_) => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// `bpf()` commands (enum bpf_cmd).
mod cmd {
    pub const MAP_CREATE: u32 = 0;
    pub const MAP_LOOKUP_ELEM: u32 = 1;
    pub const MAP_UPDATE_ELEM: u32 = 2;
    pub const MAP_DELETE_ELEM: u32 = 3;
    pub const MAP_GET_NEXT_KEY: u32 = 4;
    pub const PROG_LOAD: u32 = 5;
    pub const PROG_TEST_RUN: u32 = 10;
    pub const RAW_TRACEPOINT_OPEN: u32 = 17;
}

/// Map types (enum bpf_map_type), the ones kmodkit uses.
pub mod map_type {
    pub const HASH: u32 = 1;
    pub const ARRAY: u32 = 2;
    pub const PROG_ARRAY: u32 = 3;
    pub const PERF_EVENT_ARRAY: u32 = 4;
    pub const PERCPU_HASH: u32 = 5;
    pub const PERCPU_ARRAY: u32 = 6;
    pub const STACK_TRACE: u32 = 7;
    pub const LRU_HASH: u32 = 9;
    pub const RINGBUF: u32 = 27;
}

/// Program types (enum bpf_prog_type), the ones kmodkit uses.
pub mod prog_type {
    pub const SOCKET_FILTER: u32 = 1;
    pub const KPROBE: u32 = 2;
    pub const SCHED_CLS: u32 = 3;
    pub const TRACEPOINT: u32 = 5;
    pub const XDP: u32 = 6;
    pub const PERF_EVENT: u32 = 7;
    pub const RAW_TRACEPOINT: u32 = 17;
    pub const TRACING: u32 = 26;
}

/// Attach types (enum bpf_attach_type) for [`ProgSpec::expected_attach_type`].
pub mod attach_type {
    /// A BPF trampoline at a kernel function's entry (`fentry`, bpftrace's `kfunc`).
    pub const TRACE_FENTRY: u32 = 24;
    /// ... and at its return (`fexit`, `kretfunc`).
    pub const TRACE_FEXIT: u32 = 25;
}

/// Update flags for [`map_update`].
pub mod update {
    pub const ANY: u64 = 0;
    pub const NOEXIST: u64 = 1;
    pub const EXIST: u64 = 2;
}

fn bpf(cmd: u32, attr: &mut Attr) -> io::Result<i64> {
    // SAFETY: `attr` is a live, writable 144-byte buffer laid out as `union bpf_attr` for
    // `cmd` with all unused bytes zero, and its size is passed along; every pointer stored in
    // it (by the callers below) refers to a buffer borrowed for the duration of this call
    // with the length written next to it.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd as libc::c_long,
            attr.as_mut_ptr(),
            attr.len() as libc::c_long,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn owned_fd(r: i64) -> OwnedFd {
    // SAFETY: the kernel just returned this new descriptor (r >= 0 was checked by the caller)
    // and nothing else in the process owns it.
    unsafe { OwnedFd::from_raw_fd(r as RawFd) }
}

fn fd_u32(fd: BorrowedFd<'_>) -> u32 {
    fd.as_raw_fd() as u32
}

/// What a map is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapSpec<'a> {
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub flags: u32,
    /// Up to 15 bytes shown by `bpftool map`; other characters are dropped.
    pub name: &'a str,
}

/// `BPF_MAP_CREATE`.
pub fn map_create(spec: &MapSpec<'_>) -> Result<OwnedFd> {
    let mut a = Attr::new();
    a.u32(0, spec.map_type)
        .u32(4, spec.key_size)
        .u32(8, spec.value_size)
        .u32(12, spec.max_entries)
        .u32(16, spec.flags)
        .name(28, spec.name);
    bpf(cmd::MAP_CREATE, &mut a)
        .map(owned_fd)
        .map_err(Error::sys("BPF_MAP_CREATE"))
}

/// What `BPF_MAP_CREATE` takes besides a map's shape: the BTF of its key and value (a
/// descriptor from [`btf_load`] and the two type ids), which a value with a
/// `struct bpf_spin_lock` needs, and for a map of maps a map like its inner maps.
#[derive(Debug, Clone, Copy, Default)]
pub struct MapExtra<'a> {
    pub btf: Option<(BorrowedFd<'a>, u32, u32)>,
    pub inner: Option<BorrowedFd<'a>>,
}

/// `BPF_MAP_CREATE` with BTF or an inner map ([`MapExtra`]).
pub fn map_create_with(spec: &MapSpec<'_>, extra: &MapExtra<'_>) -> Result<OwnedFd> {
    let mut a = Attr::new();
    a.u32(0, spec.map_type)
        .u32(4, spec.key_size)
        .u32(8, spec.value_size)
        .u32(12, spec.max_entries)
        .u32(16, spec.flags)
        .name(28, spec.name);
    if let Some(inner) = extra.inner {
        a.u32(20, fd_u32(inner));
    }
    if let Some((btf, key, value)) = extra.btf {
        a.u32(48, fd_u32(btf)).u32(52, key).u32(56, value);
    }
    bpf(cmd::MAP_CREATE, &mut a)
        .map(owned_fd)
        .map_err(Error::sys("BPF_MAP_CREATE"))
}

/// `BPF_MAP_LOOKUP_ELEM`: fills `value` (which must be the map's value size; for per-CPU maps
/// the value size rounded up to 8 times the number of possible CPUs). `Ok(false)`: no such key.
pub fn map_lookup(map: impl AsFd, key: &[u8], value: &mut [u8]) -> Result<bool> {
    let mut a = Attr::new();
    a.u32(0, fd_u32(map.as_fd()))
        .u64(8, key.as_ptr() as u64)
        .u64(16, value.as_mut_ptr() as u64);
    match bpf(cmd::MAP_LOOKUP_ELEM, &mut a) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(Error::sys("BPF_MAP_LOOKUP_ELEM")(e)),
    }
}

/// `BPF_MAP_UPDATE_ELEM` with [`update`] flags.
pub fn map_update(map: impl AsFd, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
    let mut a = Attr::new();
    a.u32(0, fd_u32(map.as_fd()))
        .u64(8, key.as_ptr() as u64)
        .u64(16, value.as_ptr() as u64)
        .u64(24, flags);
    bpf(cmd::MAP_UPDATE_ELEM, &mut a)
        .map(|_| ())
        .map_err(Error::sys("BPF_MAP_UPDATE_ELEM"))
}

/// `BPF_MAP_DELETE_ELEM`. `Ok(false)`: there was no such key.
pub fn map_delete(map: impl AsFd, key: &[u8]) -> Result<bool> {
    let mut a = Attr::new();
    a.u32(0, fd_u32(map.as_fd())).u64(8, key.as_ptr() as u64);
    match bpf(cmd::MAP_DELETE_ELEM, &mut a) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(Error::sys("BPF_MAP_DELETE_ELEM")(e)),
    }
}

/// `BPF_MAP_GET_NEXT_KEY`: writes the key after `key` (the first key when `key` is None) into
/// `next`; `Ok(false)` at the end.
pub fn map_next_key(map: impl AsFd, key: Option<&[u8]>, next: &mut [u8]) -> Result<bool> {
    let mut a = Attr::new();
    a.u32(0, fd_u32(map.as_fd()))
        .u64(8, key.map_or(0, |k| k.as_ptr() as u64))
        .u64(16, next.as_mut_ptr() as u64);
    match bpf(cmd::MAP_GET_NEXT_KEY, &mut a) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(Error::sys("BPF_MAP_GET_NEXT_KEY")(e)),
    }
}

/// Every key of a map, in the kernel's iteration order.
pub fn map_keys(map: impl AsFd, key_size: usize) -> Result<Vec<Vec<u8>>> {
    let fd = map.as_fd();
    let mut keys: Vec<Vec<u8>> = Vec::new();
    let mut next = vec![0u8; key_size];
    while map_next_key(fd, keys.last().map(Vec::as_slice), &mut next)? {
        keys.push(next.clone());
    }
    Ok(keys)
}

/// What to load with `BPF_PROG_LOAD`.
#[derive(Debug, Clone, Copy)]
pub struct ProgSpec<'a> {
    pub prog_type: u32,
    /// Instructions, 8 bytes per slot.
    pub insns: &'a [u8],
    pub license: &'a str,
    /// Up to 15 bytes; other characters are dropped.
    pub name: &'a str,
    pub expected_attach_type: u32,
    /// The BTF type id (a `FUNC` of vmlinux) a tracing program attaches to; 0 for none.
    pub attach_btf_id: u32,
    /// 0: ask for the log only when the load fails (then 1). 1 or 2: always collect it
    /// (see [`prog_load_with_log`]).
    pub log_level: u32,
}

impl<'a> ProgSpec<'a> {
    pub fn new(prog_type: u32, insns: &'a [u8]) -> ProgSpec<'a> {
        ProgSpec {
            prog_type,
            insns,
            license: "GPL",
            name: "",
            expected_attach_type: 0,
            attach_btf_id: 0,
            log_level: 0,
        }
    }
}

const LOG_SIZE: usize = 16 << 20;

fn prog_load_attr(spec: &ProgSpec<'_>, license: &CString) -> Result<Attr> {
    if spec.insns.is_empty() || !spec.insns.len().is_multiple_of(8) {
        return Err(Error::Invalid(format!(
            "a program is a non-empty multiple of 8 bytes, not {}",
            spec.insns.len()
        )));
    }
    let mut a = Attr::new();
    a.u32(0, spec.prog_type)
        .u32(4, (spec.insns.len() / 8) as u32)
        .u64(8, spec.insns.as_ptr() as u64)
        .u64(16, license.as_ptr() as u64)
        .name(48, spec.name)
        .u32(68, spec.expected_attach_type)
        .u32(108, spec.attach_btf_id);
    Ok(a)
}

fn log_text(log: &[u8]) -> String {
    let end = log.iter().position(|&c| c == 0).unwrap_or(log.len());
    String::from_utf8_lossy(&log[..end]).into_owned()
}

/// `BPF_PROG_LOAD`. On refusal the load is retried with the verifier log on, and the error
/// carries the kernel's log ([`Error::Verifier`]).
pub fn prog_load(spec: &ProgSpec<'_>) -> Result<OwnedFd> {
    if spec.log_level > 0 {
        return prog_load_with_log(spec).map(|(fd, _)| fd);
    }
    let license =
        CString::new(spec.license).map_err(|_| Error::Invalid("NUL in license".into()))?;
    let mut a = prog_load_attr(spec, &license)?;
    match bpf(cmd::PROG_LOAD, &mut a) {
        Ok(r) => Ok(owned_fd(r)),
        Err(_) => prog_load_with_log(&ProgSpec {
            log_level: 1,
            ..*spec
        })
        .map(|(fd, _)| fd),
    }
}

/// `BPF_PROG_LOAD` with the verifier log at `spec.log_level` (at least 1): the program and the
/// log of a successful load (at level 2 that includes the verifier's statistics line,
/// `processed N insns ...`).
pub fn prog_load_with_log(spec: &ProgSpec<'_>) -> Result<(OwnedFd, String)> {
    let license =
        CString::new(spec.license).map_err(|_| Error::Invalid("NUL in license".into()))?;
    let mut a = prog_load_attr(spec, &license)?;
    let mut log = vec![0u8; LOG_SIZE];
    a.u32(24, spec.log_level.max(1))
        .u32(28, log.len() as u32)
        .u64(32, log.as_mut_ptr() as u64);
    match bpf(cmd::PROG_LOAD, &mut a) {
        Ok(r) => Ok((owned_fd(r), log_text(&log))),
        Err(source) => Err(Error::Verifier {
            source,
            log: log_text(&log),
        }),
    }
}

/// `BPF_RAW_TRACEPOINT_OPEN`: attaches a raw tracepoint program to the tracepoint `name`,
/// or (with `None`) a tracing program (fentry/fexit) to the function it was loaded for.
/// The attachment lasts as long as the returned descriptor.
pub fn raw_tracepoint_open(name: Option<&str>, prog: impl AsFd) -> Result<OwnedFd> {
    let cname = name
        .map(|n| CString::new(n).map_err(|_| Error::Invalid("NUL in tracepoint name".into())))
        .transpose()?;
    let mut a = Attr::new();
    a.u64(0, cname.as_ref().map_or(0, |c| c.as_ptr() as u64))
        .u32(8, fd_u32(prog.as_fd()));
    bpf(cmd::RAW_TRACEPOINT_OPEN, &mut a)
        .map(owned_fd)
        .map_err(Error::sys("BPF_RAW_TRACEPOINT_OPEN"))
}

/// `BPF_BTF_LOAD`: BTF type information (a `.BTF` section's bytes) for programs to refer
/// to; on refusal the error carries the kernel's log.
pub fn btf_load(data: &[u8]) -> Result<OwnedFd> {
    let mut log = vec![0u8; 1 << 16];
    let mut a = Attr::new();
    a.u64(0, data.as_ptr() as u64).u32(16, data.len() as u32);
    match bpf(18, &mut a) {
        Ok(r) => Ok(owned_fd(r)),
        Err(_) => {
            a.u64(8, log.as_mut_ptr() as u64)
                .u32(20, log.len() as u32)
                .u32(24, 1);
            match bpf(18, &mut a) {
                Ok(r) => Ok(owned_fd(r)),
                Err(source) => Err(Error::Verifier {
                    source,
                    log: log_text(&log),
                }),
            }
        }
    }
}

/// `BPF_PROG_LOAD` of a program made of several functions (bpf-to-bpf calls, callbacks of
/// `bpf_for_each_map_elem`, `bpf_loop`): `func_info` gives each function's first
/// instruction and its `FUNC` type in the BTF `btf` (loaded with [`btf_load`]), as the
/// kernel requires for callbacks. Like [`prog_load`], a refusal carries the verifier's log.
pub fn prog_load_with_funcs(
    spec: &ProgSpec<'_>,
    btf: BorrowedFd<'_>,
    func_info: &[(u32, u32)],
) -> Result<OwnedFd> {
    let license =
        CString::new(spec.license).map_err(|_| Error::Invalid("NUL in license".into()))?;
    let records: Vec<u8> = func_info
        .iter()
        .flat_map(|(off, ty)| off.to_le_bytes().into_iter().chain(ty.to_le_bytes()))
        .collect();
    let mut a = prog_load_attr(spec, &license)?;
    a.u32(72, fd_u32(btf))
        .u32(76, 8)
        .u64(80, records.as_ptr() as u64)
        .u32(88, func_info.len() as u32);
    if spec.log_level == 0 {
        if let Ok(r) = bpf(cmd::PROG_LOAD, &mut a) {
            return Ok(owned_fd(r));
        }
    }
    let mut log = vec![0u8; LOG_SIZE];
    a.u32(24, spec.log_level.max(1))
        .u32(28, log.len() as u32)
        .u64(32, log.as_mut_ptr() as u64);
    match bpf(cmd::PROG_LOAD, &mut a) {
        Ok(r) => Ok(owned_fd(r)),
        Err(source) => Err(Error::Verifier {
            source,
            log: log_text(&log),
        }),
    }
}

/// Input of [`prog_test_run`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TestRun<'a> {
    /// Packet data (socket filters, XDP, tc); empty for program types without packets.
    pub data_in: &'a [u8],
    /// Room for the packet after the run (0: not wanted).
    pub data_out_size: usize,
    /// The context (`struct __sk_buff`, raw tracepoint arguments, ...); empty for none.
    pub ctx_in: &'a [u8],
    /// Room for the context after the run (0: not wanted).
    pub ctx_out_size: usize,
    /// Runs to average `duration` over (0 means 1).
    pub repeat: u32,
    /// `BPF_F_TEST_RUN_ON_CPU` etc.
    pub flags: u32,
    pub cpu: u32,
}

/// Output of [`prog_test_run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRunResult {
    /// The program's return value (r0, truncated to 32 bits by the kernel).
    pub retval: u32,
    /// Mean nanoseconds per run.
    pub duration_ns: u32,
    pub data_out: Vec<u8>,
    pub ctx_out: Vec<u8>,
}

/// `BPF_PROG_TEST_RUN`: runs a loaded program once (or `repeat` times) in the calling task.
pub fn prog_test_run(prog: impl AsFd, run: &TestRun<'_>) -> Result<TestRunResult> {
    let mut data_out = vec![0u8; run.data_out_size];
    let mut ctx_out = vec![0u8; run.ctx_out_size];
    let ptr = |s: &[u8]| if s.is_empty() { 0 } else { s.as_ptr() as u64 };
    let mut a = Attr::new();
    a.u32(0, fd_u32(prog.as_fd()))
        .u32(8, run.data_in.len() as u32)
        .u32(12, data_out.len() as u32)
        .u64(16, ptr(run.data_in))
        .u64(
            24,
            if data_out.is_empty() {
                0
            } else {
                data_out.as_mut_ptr() as u64
            },
        )
        .u32(32, run.repeat)
        .u32(40, run.ctx_in.len() as u32)
        .u32(44, ctx_out.len() as u32)
        .u64(48, ptr(run.ctx_in))
        .u64(
            56,
            if ctx_out.is_empty() {
                0
            } else {
                ctx_out.as_mut_ptr() as u64
            },
        )
        .u32(64, run.flags)
        .u32(68, run.cpu);
    bpf(cmd::PROG_TEST_RUN, &mut a).map_err(Error::sys("BPF_PROG_TEST_RUN"))?;
    data_out.truncate((a.get_u32(12) as usize).min(data_out.len()));
    ctx_out.truncate((a.get_u32(44) as usize).min(ctx_out.len()));
    Ok(TestRunResult {
        retval: a.get_u32(4),
        duration_ns: a.get_u32(36),
        data_out,
        ctx_out,
    })
}

/// Perf event types (`perf_type_id`) for [`PerfEvent::type_`]; uprobe and kprobe types are
/// dynamic, see [`pmu_type`].
pub mod perf_type {
    pub const HARDWARE: u32 = 0;
    pub const SOFTWARE: u32 = 1;
    pub const TRACEPOINT: u32 = 2;
}

/// What to open with `perf_event_open`.
#[derive(Debug, Clone, Default)]
pub struct PerfEvent {
    pub type_: u32,
    pub config: u64,
    /// sample_period, or sample_freq when `freq`.
    pub sample: u64,
    /// PERF_SAMPLE_* bits (PERF_SAMPLE_RAW for BPF output events).
    pub sample_type: u64,
    pub freq: bool,
    /// config1 as a C string (a uprobe's path, a kprobe's function name), when set.
    pub config1_str: Option<CString>,
    /// config2: a uprobe's file offset, a kprobe's offset.
    pub config2: u64,
    /// Opened disabled: it counts nothing until `PERF_EVENT_IOC_ENABLE` (`perf_attach`).
    pub disabled: bool,
}

impl PerfEvent {
    /// A tracepoint by its id (tracefs `events/CAT/NAME/id`).
    pub fn tracepoint(id: u64) -> PerfEvent {
        PerfEvent {
            type_: perf_type::TRACEPOINT,
            config: id,
            sample: 1,
            ..PerfEvent::default()
        }
    }

    /// A uprobe (or uretprobe) at `offset` in the file `path`, through the `uprobe` PMU.
    pub fn uprobe(path: &Path, offset: u64, ret: bool) -> Result<PerfEvent> {
        use std::os::unix::ffi::OsStrExt;
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| Error::Invalid(format!("NUL in path {}", path.display())))?;
        Ok(PerfEvent {
            type_: pmu_type("uprobe")?,
            config: if ret { pmu_retprobe_bit("uprobe")? } else { 0 },
            sample: 1,
            config1_str: Some(c),
            config2: offset,
            ..PerfEvent::default()
        })
    }

    /// A kprobe (or kretprobe) on `function` + `offset`, through the `kprobe` PMU.
    pub fn kprobe(function: &str, offset: u64, ret: bool) -> Result<PerfEvent> {
        let c =
            CString::new(function).map_err(|_| Error::Invalid("NUL in function name".into()))?;
        Ok(PerfEvent {
            type_: pmu_type("kprobe")?,
            config: if ret { pmu_retprobe_bit("kprobe")? } else { 0 },
            sample: 1,
            config1_str: Some(c),
            config2: offset,
            ..PerfEvent::default()
        })
    }
}

/// The dynamic type number of a PMU (`/sys/bus/event_source/devices/NAME/type`).
pub fn pmu_type(name: &str) -> Result<u32> {
    let p = format!("/sys/bus/event_source/devices/{name}/type");
    let s = std::fs::read_to_string(&p)
        .map_err(|e| Error::Invalid(format!("{p}: {e} (no {name} support in this kernel?)")))?;
    s.trim()
        .parse()
        .map_err(|_| Error::Invalid(format!("{p}: not a number: {s:?}")))
}

/// The config bit that turns a probe PMU event into a return probe (`format/retprobe`, which
/// reads `config:0`).
fn pmu_retprobe_bit(name: &str) -> Result<u64> {
    let p = format!("/sys/bus/event_source/devices/{name}/format/retprobe");
    let s = std::fs::read_to_string(&p).map_err(|e| Error::Invalid(format!("{p}: {e}")))?;
    let bit: u32 = s
        .trim()
        .strip_prefix("config:")
        .and_then(|b| b.parse().ok())
        .ok_or_else(|| Error::Invalid(format!("{p}: unexpected {s:?}")))?;
    Ok(1u64 << bit)
}

/// `perf_event_open(attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC)`; `pid` -1 with a `cpu` means
/// every task on that CPU.
pub fn perf_event_open(ev: &PerfEvent, pid: i32, cpu: i32) -> Result<OwnedFd> {
    const ATTR_SIZE: u32 = 128; // PERF_ATTR_SIZE_VER7
    let mut a = Attr::new();
    a.u32(0, ev.type_)
        .u32(4, ATTR_SIZE)
        .u64(8, ev.config)
        .u64(16, ev.sample)
        .u64(24, ev.sample_type);
    let mut flags = 0u64;
    if ev.disabled {
        flags |= 1;
    }
    if ev.freq {
        flags |= 1 << 10;
    }
    // wakeup_events = 1
    a.u64(40, flags).u32(48, 1);
    if let Some(s) = &ev.config1_str {
        a.u64(56, s.as_ptr() as u64);
    }
    a.u64(64, ev.config2);
    const PERF_FLAG_FD_CLOEXEC: libc::c_long = 8;
    // SAFETY: `a` is a zero-padded `struct perf_event_attr` whose declared size (128) is
    // within the buffer; the config1 string pointer, when set, points into a CString owned
    // by `ev`, which outlives the call. The kernel only reads the attribute.
    let r = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            a.as_mut_ptr(),
            pid as libc::c_long,
            cpu as libc::c_long,
            -1 as libc::c_long,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if r < 0 {
        Err(Error::sys("perf_event_open")(io::Error::last_os_error()))
    } else {
        Ok(owned_fd(r))
    }
}

/// Enables a perf event (`PERF_EVENT_IOC_ENABLE`).
pub fn perf_event_enable(event: impl AsFd) -> Result<()> {
    const ENABLE: libc::c_ulong = 0x2400;
    // SAFETY: an ioctl on a perf event fd borrowed for the call; ENABLE takes no argument.
    let r = unsafe { libc::ioctl(event.as_fd().as_raw_fd(), ENABLE as _, 0) };
    if r < 0 {
        return Err(Error::sys("PERF_EVENT_IOC_ENABLE")(
            io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Attaches a program to a perf event (`PERF_EVENT_IOC_SET_BPF`) and enables the event.
pub fn perf_attach(event: impl AsFd, prog: impl AsFd) -> Result<()> {
    const SET_BPF: libc::c_ulong = 0x4004_2408;
    const ENABLE: libc::c_ulong = 0x2400;
    let ev = event.as_fd().as_raw_fd();
    // SAFETY: an ioctl on a perf event fd borrowed for the call; SET_BPF takes a program fd
    // by value and touches no memory of ours.
    let r = unsafe { libc::ioctl(ev, SET_BPF as _, prog.as_fd().as_raw_fd()) };
    if r < 0 {
        return Err(Error::sys("PERF_EVENT_IOC_SET_BPF")(
            io::Error::last_os_error(),
        ));
    }
    // SAFETY: as above; ENABLE takes no argument.
    let r = unsafe { libc::ioctl(ev, ENABLE as _, 0) };
    if r < 0 {
        return Err(Error::sys("PERF_EVENT_IOC_ENABLE")(
            io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Mounts tracefs at `dir` unless something is mounted there already (`events/` present).
/// Returns whether it mounted.
pub fn ensure_tracefs(dir: &Path) -> Result<bool> {
    use std::os::unix::ffi::OsStrExt;
    if dir.join("events").is_dir() {
        return Ok(false);
    }
    let target = CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| Error::Invalid(format!("NUL in path {}", dir.display())))?;
    // SAFETY: mount(2) with NUL-terminated strings that live across the call and no data.
    let r = unsafe {
        libc::mount(
            c"nodev".as_ptr(),
            target.as_ptr(),
            c"tracefs".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if r < 0 {
        return Err(Error::sys("mount tracefs")(io::Error::last_os_error()));
    }
    Ok(true)
}

/// The soft limit on the main thread's stack (`RLIMIT_STACK`, `ulimit -s`) in bytes;
/// `u64::MAX` when unlimited, None when it cannot be read.
pub fn stack_limit() -> Option<u64> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `struct rlimit` to the pointer, which is to a local.
    if unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut r) } != 0 {
        return None;
    }
    Some(if r.rlim_cur == libc::RLIM_INFINITY {
        u64::MAX
    } else {
        r.rlim_cur
    })
}

/// CLOCK_MONOTONIC in nanoseconds: what `bpf_ktime_get_ns()` returns in a program.
pub fn ktime_get_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec that we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// CLOCK_BOOTTIME in nanoseconds: what `bpf_ktime_get_boot_ns()` returns.
pub fn boottime_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec that we own.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// CLOCK_REALTIME in nanoseconds.
pub fn realtime_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec that we own.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// `strftime(fmt)` of the local time at `secs` since the epoch.
pub fn strftime_at(fmt: &str, secs: i64) -> String {
    let Ok(cfmt) = CString::new(fmt) else {
        return String::new();
    };
    let mut buf = [0u8; 512];
    // SAFETY: localtime_r reads our time_t and writes into our zeroed tm (a plain C struct,
    // for which all-zero is valid); strftime writes at most buf.len() bytes into buf and
    // returns how many it wrote.
    let n = unsafe {
        let t: libc::time_t = secs as libc::time_t;
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        libc::strftime(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            cfmt.as_ptr(),
            &tm,
        )
    };
    String::from_utf8_lossy(&buf[..n.min(buf.len())]).into_owned()
}

/// `strftime(fmt)` of the current local time (the C library's, so that `TZ` and the
/// system zone apply exactly as for bpftrace's `time()`).
pub fn strftime_local(fmt: &str) -> String {
    let Ok(cfmt) = CString::new(fmt) else {
        return String::new();
    };
    let mut buf = [0u8; 512];
    // SAFETY: time(NULL) only returns a value; localtime_r writes into our zeroed tm (a
    // plain C struct, for which all-zero is valid); strftime writes at most buf.len() bytes
    // into buf and returns how many it wrote.
    let n = unsafe {
        let t = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        libc::strftime(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            cfmt.as_ptr(),
            &tm,
        )
    };
    String::from_utf8_lossy(&buf[..n.min(buf.len())]).into_owned()
}

/// Sends signal `sig` to process `pid`.
pub fn kill(pid: i32, sig: i32) -> Result<()> {
    // SAFETY: kill(2) has no memory effects.
    if unsafe { libc::kill(pid, sig) } < 0 {
        Err(Error::sys("kill")(io::Error::last_os_error()))
    } else {
        Ok(())
    }
}

/// Moves the calling thread into a new, empty network namespace (`unshare(CLONE_NEWNET)`):
/// only a loopback device that is down. The namespace is per thread, so a test can give one
/// thread a fresh namespace without touching the others.
pub fn unshare_netns() -> Result<()> {
    // SAFETY: unshare(2) takes a flag word and has no memory effects.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } < 0 {
        Err(Error::sys("unshare(CLONE_NEWNET)")(
            io::Error::last_os_error(),
        ))
    } else {
        Ok(())
    }
}

/// Parses a CPU list like `0-3,5` (`/sys/devices/system/cpu/online`).
pub fn parse_cpu_list(s: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) {
                    out.extend(a..=b);
                }
            }
            None => {
                if let Ok(a) = part.parse() {
                    out.push(a);
                }
            }
        }
    }
    out
}

/// How many CPUs per-CPU maps have slots for (highest possible CPU + 1).
pub fn possible_cpus() -> usize {
    std::fs::read_to_string("/sys/devices/system/cpu/possible")
        .map(|s| {
            parse_cpu_list(&s)
                .iter()
                .max()
                .map_or(1, |m| *m as usize + 1)
        })
        .unwrap_or(1)
}

/// The CPUs online now.
pub fn online_cpus() -> Vec<u32> {
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .map(|s| parse_cpu_list(&s))
        .unwrap_or_else(|_| vec![0])
}

/// Whether `bpf()` works here: creates and drops a one-entry array map.
pub fn available() -> bool {
    map_create(&MapSpec {
        map_type: map_type::ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        flags: 0,
        name: "probe",
    })
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-3,5\n"), vec![0, 1, 2, 3, 5]);
        assert_eq!(parse_cpu_list("0"), vec![0]);
        assert_eq!(parse_cpu_list(""), Vec::<u32>::new());
    }

    #[test]
    fn bad_program_lengths_are_refused_before_the_kernel() {
        let e = prog_load(&ProgSpec::new(prog_type::SOCKET_FILTER, &[0u8; 12])).unwrap_err();
        assert!(matches!(e, Error::Invalid(_)), "{e}");
        let e = prog_load(&ProgSpec::new(prog_type::SOCKET_FILTER, &[])).unwrap_err();
        assert!(matches!(e, Error::Invalid(_)), "{e}");
    }
}
