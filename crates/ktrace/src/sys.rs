//! A private, minimal system adapter: the `bpf()` and `perf_event_open()` calls, the ring
//! buffer mapping, and two libc conveniences (local time, signals to a child).
//!
//! It exists only because `bpf-sys` is being written at the same time; its functions are
//! shaped like the ones `bpf-sys` will have, so that the runtime switches over by changing
//! imports. Until then this is the one place in `ktrace` with `unsafe`; each block says why
//! it is sound.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

const BPF_MAP_CREATE: u32 = 0;
const BPF_MAP_LOOKUP_ELEM: u32 = 1;
const BPF_MAP_UPDATE_ELEM: u32 = 2;
const BPF_MAP_DELETE_ELEM: u32 = 3;
const BPF_MAP_GET_NEXT_KEY: u32 = 4;
const BPF_PROG_LOAD: u32 = 5;
const BPF_PROG_TEST_RUN: u32 = 10;

/// A `union bpf_attr` or `struct perf_event_attr` being filled in, field by field at the
/// offsets of the kernel's UAPI headers.
struct Attr([u8; 144]);

impl Attr {
    fn new() -> Attr {
        Attr([0; 144])
    }
    fn u32(&mut self, off: usize, v: u32) -> &mut Self {
        self.0[off..off + 4].copy_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(&mut self, off: usize, v: u64) -> &mut Self {
        self.0[off..off + 8].copy_from_slice(&v.to_le_bytes());
        self
    }
    fn get_u32(&self, off: usize) -> u32 {
        u32::from_le_bytes(self.0[off..off + 4].try_into().unwrap_or([0; 4]))
    }
    fn name(&mut self, off: usize, name: &str) -> &mut Self {
        let clean: Vec<u8> = name
            .bytes()
            .filter(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
            .take(15)
            .collect();
        self.0[off..off + clean.len()].copy_from_slice(&clean);
        self
    }
}

fn bpf(cmd: u32, attr: &mut Attr) -> io::Result<i64> {
    // SAFETY: `attr` is a live, writable 144-byte buffer laid out as `union bpf_attr` for
    // `cmd` (unused tail bytes zero); every pointer stored in it refers to a buffer that the
    // caller keeps alive for the duration of this call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd as libc::c_long,
            attr.0.as_mut_ptr(),
            attr.0.len() as libc::c_long,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn fd(r: i64) -> OwnedFd {
    // SAFETY: the kernel just returned this new descriptor to us and nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(r as RawFd) }
}

pub fn map_create(map_type: u32, key_size: u32, value_size: u32, max_entries: u32, name: &str) -> io::Result<OwnedFd> {
    let mut a = Attr::new();
    a.u32(0, map_type)
        .u32(4, key_size)
        .u32(8, value_size)
        .u32(12, max_entries)
        .name(28, name);
    bpf(BPF_MAP_CREATE, &mut a).map(fd)
}

pub fn map_lookup(map: &OwnedFd, key: &[u8], value: &mut [u8]) -> io::Result<bool> {
    let mut a = Attr::new();
    a.u32(0, map.as_raw_fd() as u32)
        .u64(8, key.as_ptr() as u64)
        .u64(16, value.as_mut_ptr() as u64);
    match bpf(BPF_MAP_LOOKUP_ELEM, &mut a) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn map_update(map: &OwnedFd, key: &[u8], value: &[u8], flags: u64) -> io::Result<()> {
    let mut a = Attr::new();
    a.u32(0, map.as_raw_fd() as u32)
        .u64(8, key.as_ptr() as u64)
        .u64(16, value.as_ptr() as u64)
        .u64(24, flags);
    bpf(BPF_MAP_UPDATE_ELEM, &mut a).map(|_| ())
}

pub fn map_delete(map: &OwnedFd, key: &[u8]) -> io::Result<()> {
    let mut a = Attr::new();
    a.u32(0, map.as_raw_fd() as u32).u64(8, key.as_ptr() as u64);
    bpf(BPF_MAP_DELETE_ELEM, &mut a).map(|_| ())
}

/// The key after `key` (the first key when `key` is None); None at the end.
pub fn map_next_key(map: &OwnedFd, key: Option<&[u8]>, next: &mut [u8]) -> io::Result<bool> {
    let mut a = Attr::new();
    a.u32(0, map.as_raw_fd() as u32)
        .u64(8, key.map_or(0, |k| k.as_ptr() as u64))
        .u64(16, next.as_mut_ptr() as u64);
    match bpf(BPF_MAP_GET_NEXT_KEY, &mut a) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Loads a program; on failure returns the error and the kernel verifier's log.
pub fn prog_load(prog_type: u32, insns: &[u8], name: &str) -> Result<OwnedFd, (io::Error, String)> {
    let license = b"GPL\0";
    let mut a = Attr::new();
    a.u32(0, prog_type)
        .u32(4, (insns.len() / 8) as u32)
        .u64(8, insns.as_ptr() as u64)
        .u64(16, license.as_ptr() as u64)
        .name(48, name);
    match bpf(BPF_PROG_LOAD, &mut a) {
        Ok(r) => Ok(fd(r)),
        Err(first) => {
            let mut log = vec![0u8; 4 << 20];
            a.u32(24, 1).u32(28, log.len() as u32).u64(32, log.as_mut_ptr() as u64);
            match bpf(BPF_PROG_LOAD, &mut a) {
                Ok(r) => Ok(fd(r)),
                Err(e) => {
                    let end = log.iter().position(|&c| c == 0).unwrap_or(log.len());
                    let _ = first;
                    Err((e, String::from_utf8_lossy(&log[..end]).into_owned()))
                }
            }
        }
    }
}

/// Runs a raw-tracepoint program once in this task (how BEGIN and END run); its return value.
pub fn prog_test_run(prog: &OwnedFd) -> io::Result<u32> {
    let mut a = Attr::new();
    a.u32(0, prog.as_raw_fd() as u32);
    bpf(BPF_PROG_TEST_RUN, &mut a)?;
    Ok(a.get_u32(4))
}

pub const PERF_TYPE_HARDWARE: u32 = 0;
pub const PERF_TYPE_SOFTWARE: u32 = 1;
pub const PERF_TYPE_TRACEPOINT: u32 = 2;

/// What to open with perf_event_open.
pub struct PerfEvent<'a> {
    pub type_: u32,
    pub config: u64,
    /// sample_period, or sample_freq when `freq`.
    pub sample: u64,
    pub freq: bool,
    /// config1 as a string pointer (uprobe path, kprobe function).
    pub config1_str: Option<&'a CString>,
    pub config2: u64,
}

pub fn perf_event_open(ev: &PerfEvent, pid: i32, cpu: i32) -> io::Result<OwnedFd> {
    let mut a = Attr::new();
    a.u32(0, ev.type_).u32(4, 128).u64(8, ev.config).u64(16, ev.sample);
    let mut flags = 0u64;
    if ev.freq {
        flags |= 1 << 10;
    }
    a.u64(40, flags).u32(48, 1);
    if let Some(s) = ev.config1_str {
        a.u64(56, s.as_ptr() as u64);
    }
    a.u64(64, ev.config2);
    // SAFETY: `a` is a zero-padded `struct perf_event_attr` of the declared size 128; the
    // config1 string pointer, when set, points into a CString the caller keeps alive.
    let r = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            a.0.as_ptr(),
            pid as libc::c_long,
            cpu as libc::c_long,
            -1 as libc::c_long,
            8 as libc::c_long // PERF_FLAG_FD_CLOEXEC,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(fd(r))
    }
}

/// Attaches a program to a perf event and enables it.
pub fn perf_attach(event: &OwnedFd, prog: &OwnedFd) -> io::Result<()> {
    const SET_BPF: libc::c_ulong = 0x4004_2408;
    const ENABLE: libc::c_ulong = 0x2400;
    // SAFETY: both are ioctls on a perf event fd we own; SET_BPF takes a program fd by value,
    // ENABLE takes no argument.
    let r = unsafe { libc::ioctl(event.as_raw_fd(), SET_BPF as _, prog.as_raw_fd()) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    let r = unsafe { libc::ioctl(event.as_raw_fd(), ENABLE as _, 0) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A BPF ring buffer mapped for reading (consumer page read-write, producer page and data
/// read-only, the data mapped twice back to back as the kernel lays it out).
pub struct RingBuf {
    fd: RawFd,
    consumer: *mut u8,
    producer: *mut u8,
    size: usize,
    page: usize,
}

impl RingBuf {
    pub fn new(map: &OwnedFd, size: usize) -> io::Result<RingBuf> {
        // SAFETY: sysconf has no memory effects.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        // SAFETY: mapping a ring buffer map fd as the kernel documents: one shared writable
        // page at offset 0 for the consumer position.
        let consumer = unsafe {
            libc::mmap(std::ptr::null_mut(), page, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, map.as_raw_fd(), 0)
        };
        if consumer == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the producer page and twice the data size, read-only, at offset one page.
        let producer = unsafe {
            libc::mmap(std::ptr::null_mut(), page + 2 * size, libc::PROT_READ, libc::MAP_SHARED, map.as_raw_fd(), page as libc::off_t)
        };
        if producer == libc::MAP_FAILED {
            let e = io::Error::last_os_error();
            // SAFETY: unmapping what we mapped above.
            unsafe { libc::munmap(consumer, page) };
            return Err(e);
        }
        Ok(RingBuf {
            fd: map.as_raw_fd(),
            consumer: consumer as *mut u8,
            producer: producer as *mut u8,
            size,
            page,
        })
    }

    /// Waits up to `timeout_ms` for data (poll on the map fd).
    pub fn wait(&self, timeout_ms: i32) {
        let mut p = libc::pollfd { fd: self.fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, timeout_ms) };
    }

    /// Calls `f` with every committed record, in order, and releases them.
    pub fn consume(&mut self, mut f: impl FnMut(&[u8])) {
        use std::sync::atomic::{AtomicU64, AtomicU32, Ordering};
        // SAFETY: the positions are 8-byte aligned u64s at the start of their pages, shared
        // with the kernel, accessed atomically as libbpf does.
        let cons = unsafe { &*(self.consumer as *const AtomicU64) };
        // SAFETY: as above.
        let prod = unsafe { &*(self.producer as *const AtomicU64) };
        let data = self.producer.wrapping_add(self.page);
        let mut c = cons.load(Ordering::Acquire);
        loop {
            let p = prod.load(Ordering::Acquire);
            if c >= p {
                break;
            }
            let off = (c as usize) & (self.size - 1);
            // SAFETY: the record header lies inside the data area (mapped twice, so reading
            // up to `size` bytes past any offset below `size` stays in the mapping).
            let hdr = unsafe { &*(data.add(off) as *const AtomicU32) }.load(Ordering::Acquire);
            const BUSY: u32 = 1 << 31;
            const DISCARD: u32 = 1 << 30;
            if hdr & BUSY != 0 {
                break;
            }
            let len = (hdr & !(BUSY | DISCARD)) as usize;
            if hdr & DISCARD == 0 {
                // SAFETY: a committed record of `len` bytes follows its 8-byte header, within
                // the double mapping.
                let rec = unsafe { std::slice::from_raw_parts(data.add(off + 8), len) };
                f(rec);
            }
            c += ((len + 8 + 7) & !7) as u64;
            cons.store(c, Ordering::Release);
        }
    }
}

impl Drop for RingBuf {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the two mappings made in `new`.
        unsafe {
            libc::munmap(self.consumer as *mut libc::c_void, self.page);
            libc::munmap(self.producer as *mut libc::c_void, self.page + 2 * self.size);
        }
    }
}

/// `strftime(fmt)` of the current local time.
pub fn local_time(fmt: &str) -> String {
    let Ok(cfmt) = CString::new(fmt) else {
        return String::new();
    };
    // SAFETY: time(NULL) only returns a value; localtime_r writes into our zeroed tm;
    // strftime writes at most buf.len() bytes into buf and returns the count.
    unsafe {
        let t = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        let mut buf = [0u8; 512];
        let n = libc::strftime(buf.as_mut_ptr() as *mut libc::c_char, buf.len(), cfmt.as_ptr(), &tm);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

/// Sends a signal to a process.
pub fn kill(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: kill has no memory effects.
    if unsafe { libc::kill(pid, sig) } < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// CLOCK_MONOTONIC in nanoseconds (what bpf_ktime_get_ns returns).
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: writes one timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Parses a CPU list like `0-3,5`.
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

pub fn possible_cpus() -> usize {
    std::fs::read_to_string("/sys/devices/system/cpu/possible")
        .map(|s| parse_cpu_list(&s).iter().max().map_or(1, |m| *m as usize + 1))
        .unwrap_or(1)
}

pub fn online_cpus() -> Vec<u32> {
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .map(|s| parse_cpu_list(&s))
        .unwrap_or_else(|_| vec![0])
}
