//! Helper functions (`call N`) of the interpreter.

use std::time::Instant;

use crate::maps::{Map, MapSpec, EINVAL};
use crate::skb::Skb;
use crate::xdp::Xdp;
use crate::{Memory, RegionKind, VmError};

/// Map pointers (what `lddw rX, map_fd(N)` yields) live outside every region.
pub const MAP_PTR_TAG: u64 = 0xffff_0000_0000_0000;

/// What the interpreter calls for `call N` and for map pseudo loads.
pub trait Helpers {
    fn call(
        &mut self,
        pc: usize,
        id: i64,
        args: [u64; 5],
        mem: &mut Memory,
    ) -> Result<u64, VmError>;
    /// The value `lddw` with a map-fd pseudo source gives for `fd`.
    fn map_ptr(&self, fd: i64) -> Option<u64>;
    /// The address of an array map's first value (map-value pseudo source).
    fn map_value_ptr(&mut self, fd: i64, mem: &mut Memory) -> Option<u64>;
    /// For `bpf_for_each_map_elem`: the (key, value) addresses of the elements of the map
    /// behind `ptr`, in the order the kernel visits them; `None` if `ptr` is not a map.
    fn map_elems(&mut self, _ptr: u64, _mem: &mut Memory) -> Option<Vec<(u64, u64)>> {
        None
    }
}

/// Helper ids (`enum bpf_func_id` in the kernel's uapi).
pub mod id {
    pub const MAP_LOOKUP_ELEM: i64 = 1;
    pub const MAP_UPDATE_ELEM: i64 = 2;
    pub const MAP_DELETE_ELEM: i64 = 3;
    pub const KTIME_GET_NS: i64 = 5;
    pub const TRACE_PRINTK: i64 = 6;
    pub const GET_PRANDOM_U32: i64 = 7;
    pub const GET_SMP_PROCESSOR_ID: i64 = 8;
    pub const GET_CURRENT_PID_TGID: i64 = 14;
    pub const GET_CURRENT_UID_GID: i64 = 15;
    pub const GET_CURRENT_COMM: i64 = 16;
    pub const KTIME_GET_BOOT_NS: i64 = 125;
    pub const PROBE_READ: i64 = 4;
    pub const PROBE_READ_STR: i64 = 45;
    pub const GET_CGROUP_CLASSID: i64 = 17;
    pub const GET_CURRENT_TASK: i64 = 35;
    pub const PROBE_READ_USER: i64 = 112;
    pub const PROBE_READ_KERNEL: i64 = 113;
    pub const PROBE_READ_USER_STR: i64 = 114;
    pub const PROBE_READ_KERNEL_STR: i64 = 115;
    pub const RINGBUF_OUTPUT: i64 = 130;
    pub const RINGBUF_RESERVE: i64 = 131;
    pub const RINGBUF_SUBMIT: i64 = 132;
    pub const RINGBUF_DISCARD: i64 = 133;
    pub const SKB_STORE_BYTES: i64 = 9;
    pub const L3_CSUM_REPLACE: i64 = 10;
    pub const L4_CSUM_REPLACE: i64 = 11;
    pub const SKB_LOAD_BYTES: i64 = 26;
    pub const GET_SOCKET_UID: i64 = 47;
    pub const SKB_LOAD_BYTES_RELATIVE: i64 = 68;
    pub const CSUM_DIFF: i64 = 28;
    pub const XDP_ADJUST_HEAD: i64 = 44;
    pub const XDP_ADJUST_META: i64 = 54;
    pub const XDP_ADJUST_TAIL: i64 = 65;
    pub const XDP_GET_BUFF_LEN: i64 = 188;
    pub const XDP_LOAD_BYTES: i64 = 189;
    pub const XDP_STORE_BYTES: i64 = 190;
    pub const TAIL_CALL: i64 = 12;
    pub const PERF_EVENT_READ: i64 = 22;
    pub const REDIRECT: i64 = 23;
    pub const PERF_EVENT_OUTPUT: i64 = 25;
    pub const GET_STACKID: i64 = 27;
    pub const GET_NUMA_NODE_ID: i64 = 42;
    pub const REDIRECT_MAP: i64 = 51;
    pub const PERF_EVENT_READ_VALUE: i64 = 55;
    pub const GET_STACK: i64 = 67;
    pub const GET_CURRENT_CGROUP_ID: i64 = 80;
    pub const SEND_SIGNAL: i64 = 109;
    pub const SEND_SIGNAL_THREAD: i64 = 117;
    pub const JIFFIES64: i64 = 118;
    pub const GET_NS_CURRENT_PID_TGID: i64 = 120;
    pub const GET_CURRENT_ANCESTOR_CGROUP_ID: i64 = 123;
    pub const RINGBUF_QUERY: i64 = 134;
    pub const SNPRINTF_BTF: i64 = 149;
    pub const KTIME_GET_COARSE_NS: i64 = 160;
    pub const FOR_EACH_MAP_ELEM: i64 = 164;
    pub const GET_FUNC_IP: i64 = 173;
    pub const GET_ATTACH_COOKIE: i64 = 174;
    pub const GET_BRANCH_SNAPSHOT: i64 = 176;
    pub const TRACE_VPRINTK: i64 = 177;
    pub const LOOP: i64 = 181;
    pub const MAP_LOOKUP_PERCPU_ELEM: i64 = 195;
    pub const KTIME_GET_TAI_NS: i64 = 208;
    pub const FIB_LOOKUP: i64 = 69;
    pub const GET_LOCAL_STORAGE: i64 = 81;
    pub const STRTOL: i64 = 105;
    pub const STRTOUL: i64 = 106;
    pub const CHECK_MTU: i64 = 163;
}

/// `-errno` values of the helpers below.
const EFAULT: i64 = 14;
const ENOENT: i64 = 2;
const E2BIG: i64 = 7;
const EAGAIN: i64 = 11;

fn neg(e: i64) -> u64 {
    (-e) as u64
}

/// The kernel's `__bpf_strtoull` (kernel/bpf/helpers.c, 6.12): leading white space (the
/// kernel's `isspace`, with 0xa0), an optional `-`, then at most 63 bytes parsed as
/// `_parse_integer_fixup_radix` + `_parse_integer` do. `Ok((value, negative, consumed))`
/// or `Err(-errno)`.
fn strtoull(buf: &[u8], flags: u64) -> Result<(u64, bool, u64), i64> {
    const ERANGE: i64 = 34;
    let mut base = (flags & 0x1f) as u32;
    if buf.is_empty() || !matches!(base, 0 | 8 | 10 | 16) || flags & !0x1f != 0 {
        return Err(EINVAL);
    }
    let space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0);
    let mut at = buf.iter().take_while(|&&c| space(c)).count();
    let negative = buf.get(at) == Some(&b'-');
    if negative {
        at += 1;
    }
    if at == buf.len() {
        return Err(EINVAL);
    }
    let consumed = at;
    // The copy into `char str[64]`, NUL-terminated.
    let mut s: Vec<u8> = buf[at..].iter().take(63).copied().collect();
    s.push(0);
    let lower = |c: u8| c | 0x20;
    let mut i = 0;
    if base == 0 {
        base = if s[0] == b'0' {
            if lower(s[1]) == b'x' && s.get(2).is_some_and(|c| c.is_ascii_hexdigit()) {
                16
            } else {
                8
            }
        } else {
            10
        };
    }
    if base == 16 && s[0] == b'0' && lower(s[1]) == b'x' {
        i = 2;
    }
    let (mut res, mut digits, mut overflow) = (0u64, 0u64, false);
    while let Some(&c) = s.get(i) {
        let val = match c {
            b'0'..=b'9' => u64::from(c - b'0'),
            _ if (b'a'..=b'f').contains(&lower(c)) => u64::from(lower(c) - b'a' + 10),
            _ => break,
        };
        if val >= u64::from(base) {
            break;
        }
        if res & (!0u64 << 60) != 0 && res > (u64::MAX - val) / u64::from(base) {
            overflow = true;
        }
        res = res.wrapping_mul(u64::from(base)).wrapping_add(val);
        digits += 1;
        i += 1;
    }
    if overflow {
        return Err(ERANGE);
    }
    if digits == 0 {
        return Err(EINVAL);
    }
    Ok((res, negative, consumed as u64 + i as u64))
}

/// The common helpers over user-space maps. Maps are numbered by their index, which is
/// what `lddw` map pseudo loads carry in `imm`.
#[derive(Debug)]
pub struct StdHelpers {
    pub maps: Vec<Map>,
    /// Lines written by `bpf_trace_printk`.
    pub printk: Vec<String>,
    start: Instant,
    rng: u64,
    /// Reserved ring-buffer records: region index -> map index.
    reserved: Vec<(usize, usize)>,
    /// The socket buffer of a packet run (socket filters, tc, cgroup skb), for the packet
    /// helpers.
    pub skb: Option<Skb>,
    /// The XDP buffer of an XDP run, for the XDP helpers.
    pub xdp: Option<Xdp>,
    /// Signals `bpf_send_signal` would have sent to the current task: the interpreter
    /// records them instead of signalling itself.
    pub signals: Vec<u32>,
    /// The current task as the kernel would see it, read once when first needed.
    task: Option<Task>,
}

/// What the task-related helpers report: the calling process, as in `BPF_PROG_TEST_RUN`.
#[derive(Debug, Clone, Default)]
struct Task {
    /// Cgroup v2 ids from the root (1) down to the process's cgroup.
    cgroups: Vec<u64>,
    /// Device and inode of the process's pid namespace (`/proc/self/ns/pid`).
    pidns: (u64, u64),
}

impl Task {
    fn read() -> Task {
        use std::os::unix::fs::MetadataExt;
        let mut cgroups = Vec::new();
        let path = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        if let Some(p) = path.lines().find_map(|l| l.strip_prefix("0::")) {
            let mut dir = std::path::PathBuf::from("/sys/fs/cgroup");
            if let Ok(m) = std::fs::metadata(&dir) {
                cgroups.push(m.ino());
                for c in p.split('/').filter(|c| !c.is_empty()) {
                    dir.push(c);
                    match std::fs::metadata(&dir) {
                        Ok(m) => cgroups.push(m.ino()),
                        Err(_) => break,
                    }
                }
            }
        }
        let pidns = std::fs::metadata("/proc/self/ns/pid")
            .map(|m| (m.dev(), m.ino()))
            .unwrap_or_default();
        Task { cgroups, pidns }
    }
}

impl Default for StdHelpers {
    fn default() -> Self {
        StdHelpers {
            maps: Vec::new(),
            printk: Vec::new(),
            start: Instant::now(),
            rng: 0x2545_f491_4f6c_dd1d,
            reserved: Vec::new(),
            skb: None,
            xdp: None,
            signals: Vec::new(),
            task: None,
        }
    }
}

fn read(mem: &Memory, pc: usize, addr: u64, size: usize) -> Result<Vec<u8>, VmError> {
    mem.slice(addr, size)
        .map(|s| s.to_vec())
        .ok_or_else(|| crate::oob(pc, addr, size, "helper read"))
}

impl StdHelpers {
    fn task(&mut self) -> &Task {
        self.task.get_or_insert_with(Task::read)
    }

    /// Bytes of packet a perf event output may copy from the context (`BPF_F_CTXLEN_MASK`),
    /// or `None` for a context without a packet.
    fn packet_len(&self, mem: &Memory) -> Option<u64> {
        if let Some(x) = &self.xdp {
            return Some(x.buff_len());
        }
        self.skb
            .as_ref()
            .map(|s| mem.regions[s.region].bytes.len() as u64)
    }

    /// Index `flags` names in a perf event array (`BPF_F_INDEX_MASK`, with
    /// `BPF_F_CURRENT_CPU` = CPU 0: the interpreter is one CPU); `Err(-errno)` as the
    /// kernel's checks give it. Every slot is empty, so a valid index is `-ENOENT`.
    fn perf_slot(&self, m: usize, flags: u64, extra_mask: u64) -> u64 {
        const INDEX_MASK: u64 = 0xffff_ffff;
        if flags & !(INDEX_MASK | extra_mask) != 0 {
            return neg(EINVAL);
        }
        let index = match flags & INDEX_MASK {
            INDEX_MASK => 0,
            i => i,
        };
        if index >= self.maps[m].spec.max_entries as u64 {
            return neg(E2BIG);
        }
        neg(ENOENT)
    }

    pub fn add_map(
        &mut self,
        spec: MapSpec,
        mem: &mut Memory,
    ) -> Result<usize, crate::maps::MapError> {
        self.maps.push(Map::new(spec, mem)?);
        Ok(self.maps.len() - 1)
    }

    fn map_of(&self, pc: usize, id: i64, ptr: u64) -> Result<usize, VmError> {
        if ptr & MAP_PTR_TAG == MAP_PTR_TAG {
            let i = (ptr & 0xffff_ffff) as usize;
            if i < self.maps.len() {
                return Ok(i);
            }
        }
        Err(VmError::Helper {
            pc,
            id,
            msg: format!("argument {ptr:#x} is not a map"),
        })
    }

    fn printk(&self, pc: usize, fmt: &[u8], args: &[u64], mem: &Memory) -> Result<String, VmError> {
        let fmt = fmt.split(|&b| b == 0).next().unwrap_or(&[]);
        let fmt = String::from_utf8_lossy(fmt);
        let mut out = String::new();
        let mut argi = 0;
        let mut it = fmt.chars().peekable();
        while let Some(c) = it.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            let mut spec = String::new();
            while let Some(&n) = it.peek() {
                spec.push(n);
                it.next();
                if n.is_ascii_alphabetic() && n != 'l' && n != 'h' || n == '%' {
                    break;
                }
            }
            if spec == "%" {
                out.push('%');
                continue;
            }
            let a = args.get(argi).copied().unwrap_or(0);
            argi += 1;
            let conv = spec.chars().last().unwrap_or('d');
            let long = spec.contains("ll");
            match conv {
                'd' | 'i' => {
                    if long {
                        out.push_str(&(a as i64).to_string())
                    } else {
                        out.push_str(&(a as i32).to_string())
                    }
                }
                'u' => {
                    if long {
                        out.push_str(&a.to_string())
                    } else {
                        out.push_str(&(a as u32).to_string())
                    }
                }
                'x' => {
                    if long {
                        out.push_str(&format!("{a:x}"))
                    } else {
                        out.push_str(&format!("{:x}", a as u32))
                    }
                }
                'p' => out.push_str(&format!("0x{a:x}")),
                'c' => out.push(a as u8 as char),
                's' => {
                    let mut s = Vec::new();
                    let mut p = a;
                    loop {
                        let b = read(mem, pc, p, 1)?[0];
                        if b == 0 || s.len() >= 512 {
                            break;
                        }
                        s.push(b);
                        p += 1;
                    }
                    out.push_str(&String::from_utf8_lossy(&s));
                }
                _ => out.push_str(&format!("%{spec}")),
            }
        }
        Ok(out)
    }
}

impl Helpers for StdHelpers {
    fn map_ptr(&self, fd: i64) -> Option<u64> {
        if fd >= 0 && (fd as usize) < self.maps.len() {
            Some(MAP_PTR_TAG | fd as u64)
        } else {
            None
        }
    }

    fn map_value_ptr(&mut self, fd: i64, _mem: &mut Memory) -> Option<u64> {
        self.maps.get(usize::try_from(fd).ok()?)?.first_value()
    }

    fn map_elems(&mut self, ptr: u64, mem: &mut Memory) -> Option<Vec<(u64, u64)>> {
        let m = self.map_of(0, 0, ptr).ok()?;
        let map = &self.maps[m];
        let keys = map.keys();
        let values: Vec<Option<u64>> = keys.iter().map(|k| map.lookup(k)).collect();
        // The keys, read-only, in one region.
        let base = mem.add(RegionKind::Scratch, keys.concat(), false);
        let ks = map.spec.key_size as u64;
        Some(
            values
                .into_iter()
                .enumerate()
                .filter_map(|(i, v)| Some((base + i as u64 * ks, v?)))
                .collect(),
        )
    }

    fn call(&mut self, pc: usize, hid: i64, a: [u64; 5], mem: &mut Memory) -> Result<u64, VmError> {
        Ok(match hid {
            id::MAP_LOOKUP_ELEM => {
                let m = self.map_of(pc, hid, a[0])?;
                let key = read(mem, pc, a[1], self.maps[m].spec.key_size as usize)?;
                self.maps[m].lookup(&key).unwrap_or(0)
            }
            id::MAP_UPDATE_ELEM => {
                let m = self.map_of(pc, hid, a[0])?;
                let key = read(mem, pc, a[1], self.maps[m].spec.key_size as usize)?;
                let val = read(mem, pc, a[2], self.maps[m].spec.value_size as usize)?;
                self.maps[m].update(mem, &key, &val, a[3]) as u64
            }
            id::MAP_DELETE_ELEM => {
                let m = self.map_of(pc, hid, a[0])?;
                let key = read(mem, pc, a[1], self.maps[m].spec.key_size as usize)?;
                self.maps[m].delete(mem, &key) as u64
            }
            id::KTIME_GET_NS | id::KTIME_GET_BOOT_NS => self.start.elapsed().as_nanos() as u64,
            id::TRACE_PRINTK => {
                let size = a[1] as usize;
                if size == 0 || size > 4096 {
                    return Ok((-EINVAL) as u64);
                }
                let fmt = read(mem, pc, a[0], size)?;
                let line = self.printk(pc, &fmt, &a[2..], mem)?;
                let n = line.len() as u64;
                self.printk.push(line);
                n
            }
            id::GET_PRANDOM_U32 => {
                // xorshift64*: deterministic, so runs are reproducible.
                self.rng ^= self.rng >> 12;
                self.rng ^= self.rng << 25;
                self.rng ^= self.rng >> 27;
                (self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32 as u64
            }
            id::GET_SMP_PROCESSOR_ID => 0,
            id::PROBE_READ
            | id::PROBE_READ_STR
            | id::PROBE_READ_USER
            | id::PROBE_READ_KERNEL
            | id::PROBE_READ_USER_STR
            | id::PROBE_READ_KERNEL_STR => {
                // Only the interpreter's own memory is readable; anything else faults as a
                // bad address does in the kernel: -EFAULT and a zeroed destination.
                let size = a[1] as usize;
                let src = mem.slice(a[2], size).map(|s| s.to_vec());
                let is_str = matches!(
                    hid,
                    id::PROBE_READ_STR | id::PROBE_READ_USER_STR | id::PROBE_READ_KERNEL_STR
                );
                let Some(dst) = mem.slice_mut(a[0], size) else {
                    return Err(crate::oob(pc, a[0], size, "helper write"));
                };
                dst.fill(0);
                match src {
                    Some(b) if is_str => {
                        let n = b
                            .iter()
                            .position(|&c| c == 0)
                            .map(|p| p + 1)
                            .unwrap_or(size);
                        dst[..n].copy_from_slice(&b[..n]);
                        if n == size && size > 0 {
                            dst[size - 1] = 0;
                        }
                        n as u64
                    }
                    Some(b) => {
                        dst.copy_from_slice(&b);
                        0
                    }
                    None => (-14i64) as u64,
                }
            }
            // bpf_strtol / bpf_strtoul: the result is zeroed first, set on success.
            id::STRTOL | id::STRTOUL => {
                let buf = read(mem, pc, a[0], a[1] as usize)?;
                let Some(out) = mem.slice_mut(a[3], 8) else {
                    return Err(crate::oob(pc, a[3], 8, "helper write"));
                };
                out.fill(0);
                let r = strtoull(&buf, a[2]).and_then(|(v, negative, n)| {
                    if hid == id::STRTOUL {
                        return if negative { Err(EINVAL) } else { Ok((v, n)) };
                    }
                    // __bpf_strtoll: the value must fit in a long long.
                    let v = if negative { v.wrapping_neg() } else { v };
                    if (v as i64 > 0 && negative) || (v as i64) < 0 && !negative {
                        return Err(34);
                    }
                    Ok((v, n))
                });
                match r {
                    Ok((v, n)) => {
                        out.copy_from_slice(&v.to_le_bytes());
                        n
                    }
                    Err(e) => neg(e),
                }
            }
            id::CHECK_MTU => {
                return Err(VmError::Unsupported {
                    pc,
                    id: hid,
                    why: "the MTU check needs the kernel's network devices",
                })
            }
            id::GET_LOCAL_STORAGE => {
                return Err(VmError::Unsupported {
                    pc,
                    id: hid,
                    why: "cgroup storage maps are not modelled by the interpreter",
                })
            }
            id::GET_CURRENT_TASK => 0xffff_8880_0000_0000,
            id::GET_CURRENT_PID_TGID => {
                let p = std::process::id() as u64;
                (p << 32) | p
            }
            id::GET_CURRENT_UID_GID => 0,
            id::GET_CURRENT_COMM => {
                let size = a[1] as usize;
                let Some(buf) = mem.slice_mut(a[0], size) else {
                    return Err(crate::oob(pc, a[0], size, "helper write"));
                };
                buf.fill(0);
                let comm = b"kmodkit";
                let n = comm.len().min(size.saturating_sub(1));
                buf[..n].copy_from_slice(&comm[..n]);
                0
            }
            id::RINGBUF_OUTPUT => {
                let m = self.map_of(pc, hid, a[0])?;
                // BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP
                if a[3] & !3 != 0 {
                    return Ok(neg(EINVAL));
                }
                let data = read(mem, pc, a[1], a[2] as usize)?;
                if !self.maps[m].ring_reserve(a[2]) {
                    return Ok(neg(EAGAIN));
                }
                self.maps[m].records.push(data);
                0
            }
            id::RINGBUF_RESERVE => {
                let m = self.map_of(pc, hid, a[0])?;
                if a[1] == 0 || a[2] != 0 || !self.maps[m].ring_reserve(a[1]) {
                    0
                } else {
                    let base = mem.add(RegionKind::Scratch, vec![0; a[1] as usize], true);
                    self.reserved.push((mem.regions.len() - 1, m));
                    base
                }
            }
            id::RINGBUF_SUBMIT | id::RINGBUF_DISCARD => {
                let region = (a[0] >> 32).wrapping_sub(1) as usize;
                let Some(pos) = self.reserved.iter().position(|r| r.0 == region) else {
                    return Err(VmError::Helper {
                        pc,
                        id: hid,
                        msg: format!("{:#x} is not a reserved ring buffer record", a[0]),
                    });
                };
                let (r, m) = self.reserved.remove(pos);
                if hid == id::RINGBUF_SUBMIT {
                    let data = mem.regions[r].bytes.clone();
                    self.maps[m].records.push(data);
                }
                mem.regions[r].live = false;
                0
            }
            // The skb helpers of socket filters, tc and cgroup skb programs (skb.rs).
            hid if crate::sock::id::ALL.contains(&hid) => crate::sock::helper(hid, a),
            hid if crate::skb::id::ALL.contains(&hid) && self.skb.is_some() => {
                match &mut self.skb {
                    Some(skb) => skb.call(pc, hid, a, mem)?,
                    None => return Err(VmError::UnknownHelper { pc, id: hid }),
                }
            }
            id::SKB_LOAD_BYTES
            | id::SKB_LOAD_BYTES_RELATIVE
            | id::SKB_STORE_BYTES
            | id::L3_CSUM_REPLACE
            | id::L4_CSUM_REPLACE
            | id::GET_SOCKET_UID => {
                let Some(skb) = &mut self.skb else {
                    return Err(VmError::Helper {
                        pc,
                        id: hid,
                        msg: "a packet helper in a run without a socket buffer".into(),
                    });
                };
                match hid {
                    id::SKB_LOAD_BYTES => skb.load_bytes(pc, mem, a)?,
                    id::SKB_LOAD_BYTES_RELATIVE => skb.load_bytes_relative(pc, mem, a)?,
                    id::SKB_STORE_BYTES => skb.store_bytes(pc, mem, a)?,
                    id::L3_CSUM_REPLACE => skb.l3_csum_replace(mem, a),
                    id::L4_CSUM_REPLACE => skb.l4_csum_replace(mem, a),
                    // The test run's socket belongs to the calling task, root here.
                    _ => 0,
                }
            }
            id::CSUM_DIFF => {
                let (from, to) = (a[1] as usize, a[3] as usize);
                if from > 512 || to > 512 {
                    return Ok((-EINVAL) as u64);
                }
                let from = if from > 0 {
                    read(mem, pc, a[0], from)?
                } else {
                    Vec::new()
                };
                let to = if to > 0 {
                    read(mem, pc, a[2], to)?
                } else {
                    Vec::new()
                };
                csum_diff(&from, &to, a[4] as u32)
            }
            id::XDP_ADJUST_HEAD
            | id::XDP_ADJUST_META
            | id::XDP_ADJUST_TAIL
            | id::XDP_GET_BUFF_LEN
            | id::XDP_LOAD_BYTES
            | id::XDP_STORE_BYTES => {
                let Some(xdp) = &mut self.xdp else {
                    return Err(VmError::Helper {
                        pc,
                        id: hid,
                        msg: "an XDP helper in a run without an XDP buffer".into(),
                    });
                };
                match hid {
                    id::XDP_ADJUST_HEAD => xdp.adjust_head(mem, a[1]),
                    id::XDP_ADJUST_META => xdp.adjust_meta(mem, a[1]),
                    id::XDP_ADJUST_TAIL => xdp.adjust_tail(mem, a[1]),
                    id::XDP_GET_BUFF_LEN => xdp.buff_len(),
                    id::XDP_LOAD_BYTES => xdp.load_bytes(pc, mem, a)?,
                    _ => xdp.store_bytes(pc, mem, a)?,
                }
            }
            id::RINGBUF_QUERY => {
                let m = &self.maps[self.map_of(pc, hid, a[0])?];
                match a[1] {
                    // BPF_RB_AVAIL_DATA, BPF_RB_PROD_POS (nothing consumes: CONS_POS is 0)
                    0 | 3 => m.produced,
                    1 => m.spec.max_entries as u64,
                    _ => 0,
                }
            }
            id::KTIME_GET_COARSE_NS | id::KTIME_GET_TAI_NS => {
                self.start.elapsed().as_nanos() as u64
            }
            // At HZ=250, from the start of the run.
            id::JIFFIES64 => (self.start.elapsed().as_nanos() / 4_000_000) as u64,
            id::GET_NUMA_NODE_ID | id::GET_FUNC_IP | id::GET_ATTACH_COOKIE => 0,
            // Outside a socket buffer: the task's net_cls class id, which cgroup v2 has not.
            id::GET_CGROUP_CLASSID if self.skb.is_none() => 0,
            id::GET_CURRENT_CGROUP_ID => self.task().cgroups.last().copied().unwrap_or(0),
            id::GET_CURRENT_ANCESTOR_CGROUP_ID => {
                let level = a[0] as i32;
                match usize::try_from(level) {
                    Ok(l) => self.task().cgroups.get(l).copied().unwrap_or(0),
                    Err(_) => 0,
                }
            }
            id::GET_NS_CURRENT_PID_TGID => {
                let pidns = self.task().pidns;
                let size = a[3] as usize;
                let Some(buf) = mem.slice_mut(a[2], size) else {
                    return Err(crate::oob(pc, a[2], size, "helper write"));
                };
                buf.fill(0);
                // sizeof(struct bpf_pidns_info); dev must fit a dev_t; the namespace must
                // be the task's.
                if size != 8 || a[0] >> 32 != 0 || (a[0], a[1]) != pidns {
                    return Ok(neg(EINVAL));
                }
                let p = std::process::id();
                buf[..4].copy_from_slice(&p.to_le_bytes());
                buf[4..].copy_from_slice(&p.to_le_bytes());
                0
            }
            id::SEND_SIGNAL | id::SEND_SIGNAL_THREAD => {
                let sig = a[0] as u32;
                // valid_signal(): up to _NSIG (64); 0 only checks permission.
                if sig > 64 {
                    return Ok(neg(EINVAL));
                }
                if sig != 0 {
                    self.signals.push(sig);
                }
                0
            }
            id::TRACE_VPRINTK => {
                let (size, data_len) = (a[1] as usize, a[3]);
                // MAX_BPRINTF_VARARGS: 12 arguments of 8 bytes.
                if size == 0 || size > 4096 || data_len & 7 != 0 || data_len > 96 {
                    return Ok(neg(EINVAL));
                }
                let fmt = read(mem, pc, a[0], size)?;
                let raw = if data_len > 0 {
                    read(mem, pc, a[2], data_len as usize)?
                } else {
                    Vec::new()
                };
                let args: Vec<u64> = raw
                    .chunks(8)
                    .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                    .collect();
                let line = self.printk(pc, &fmt, &args, mem)?;
                let n = line.len() as u64;
                self.printk.push(line);
                n
            }
            id::MAP_LOOKUP_PERCPU_ELEM => {
                let m = self.map_of(pc, hid, a[0])?;
                let key = read(mem, pc, a[1], self.maps[m].spec.key_size as usize)?;
                // One CPU: CPU 0's value; any other CPU does not exist.
                if a[2] as u32 != 0 {
                    0
                } else {
                    self.maps[m].lookup(&key).unwrap_or(0)
                }
            }
            // The interpreter has no kernel or user call chain to capture: the kernel's
            // answer when it cannot get one is -EFAULT (and a cleared buffer).
            id::GET_STACK => {
                let size = a[2] as usize;
                let Some(buf) = mem.slice_mut(a[1], size) else {
                    return Err(crate::oob(pc, a[1], size, "helper write"));
                };
                buf.fill(0);
                // BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_USER_BUILD_ID
                let (flags, build_id) = (a[3], a[3] & (1 << 11) != 0);
                let elem = if build_id { 32 } else { 8 };
                if flags & !(0xff | 1 << 8 | 1 << 11) != 0
                    || (build_id && flags & (1 << 8) == 0)
                    || !size.is_multiple_of(elem)
                {
                    return Ok(neg(EINVAL));
                }
                neg(EFAULT)
            }
            id::GET_STACKID => {
                self.map_of(pc, hid, a[1])?;
                // BPF_F_SKIP_FIELD_MASK | USER_STACK | FAST_STACK_CMP | REUSE_STACKID
                if a[2] & !(0xff | 7 << 8) != 0 {
                    return Ok(neg(EINVAL));
                }
                neg(EFAULT)
            }
            // No last-branch records on this machine model (as in a VM without LBR).
            id::GET_BRANCH_SNAPSHOT => {
                if a[2] != 0 {
                    neg(EINVAL)
                } else {
                    neg(ENOENT)
                }
            }
            id::SNPRINTF_BTF => {
                // BTF_F_ALL; sizeof(struct btf_ptr); a type id.
                let ptr = if a[3] == 16 {
                    read(mem, pc, a[2], 16)?
                } else {
                    Vec::new()
                };
                if a[4] & !0xf != 0 || ptr.len() != 16 || ptr[8..12] == [0; 4] {
                    return Ok(neg(EINVAL));
                }
                return Err(VmError::Unsupported {
                    pc,
                    id: hid,
                    why: "printing a kernel type needs the kernel's BTF, which the interpreter does not load",
                });
            }
            // Prog arrays are empty (no program can be put in one here): the call falls
            // through, as a tail call to an empty slot does.
            id::TAIL_CALL => {
                self.map_of(pc, hid, a[1])?;
                0
            }
            id::PERF_EVENT_READ => {
                let m = self.map_of(pc, hid, a[0])?;
                self.perf_slot(m, a[1], 0)
            }
            id::PERF_EVENT_READ_VALUE => {
                let m = self.map_of(pc, hid, a[0])?;
                let size = a[3] as usize;
                let Some(buf) = mem.slice_mut(a[2], size) else {
                    return Err(crate::oob(pc, a[2], size, "helper write"));
                };
                buf.fill(0);
                // sizeof(struct bpf_perf_event_value)
                if size != 24 {
                    return Ok(neg(EINVAL));
                }
                self.perf_slot(m, a[1], 0)
            }
            id::PERF_EVENT_OUTPUT => {
                let m = self.map_of(pc, hid, a[1])?;
                read(mem, pc, a[3], a[4] as usize)?;
                // Packet programs may append BPF_F_CTXLEN_MASK bytes of their packet.
                const CTXLEN_MASK: u64 = 0xfffff << 32;
                match self.packet_len(mem) {
                    Some(len) => {
                        if a[2] & !(0xffff_ffff | CTXLEN_MASK) == 0 && (a[2] >> 32) > len {
                            return Ok(neg(EFAULT));
                        }
                        self.perf_slot(m, a[2], CTXLEN_MASK)
                    }
                    None => self.perf_slot(m, a[2], 0),
                }
            }
            id::REDIRECT if self.xdp.is_some() => {
                // XDP_ABORTED for any flag, else XDP_REDIRECT.
                if a[1] != 0 {
                    0
                } else {
                    4
                }
            }
            id::FIB_LOOKUP => crate::fib::lookup(pc, mem, a)?,
            id::REDIRECT_MAP => {
                let m = self.map_of(pc, hid, a[0])?;
                // Lower bits: the action when the lookup fails (the map is empty);
                // devmaps also take BPF_F_BROADCAST and BPF_F_EXCLUDE_INGRESS.
                let flag_mask = match self.maps[m].spec.map_type {
                    14 | 25 => 3 << 3,
                    _ => 0,
                };
                if a[2] & !(3 | flag_mask) != 0 {
                    0
                } else if a[2] & (1 << 3) != 0 {
                    4
                } else {
                    a[2] & 3
                }
            }
            _ => return Err(VmError::UnknownHelper { pc, id: hid }),
        })
    }
}

/// `bpf_csum_diff(from, from_size, to, to_size, seed)` as Linux 6.13 and later compute it,
/// the same on every architecture: the ones' complement sum of `to` less that of `from`,
/// seeded, folded to 16 bits, for any sizes up to 512 bytes. (Before 6.13 sizes had to be
/// multiples of 4 and the result was x86's unfolded 32-bit sum.) The words are added as
/// the CPU loads them (little-endian, as on the x86-64 kernel the results are compared
/// with).
fn csum_diff(from: &[u8], to: &[u8], seed: u32) -> u64 {
    // csum_partial: a 32-bit ones' complement sum of 32-bit words, with end-around carry.
    fn partial(b: &[u8], seed: u32) -> u32 {
        let mut acc = seed as u64;
        // A tail of 1 to 3 bytes is a word padded with zeros, as x86-64 loads it.
        for w in b.chunks(4) {
            let mut word = [0u8; 4];
            word[..w.len()].copy_from_slice(w);
            acc += u32::from_le_bytes(word) as u64;
        }
        while acc >> 32 != 0 {
            acc = (acc & 0xffff_ffff) + (acc >> 32);
        }
        acc as u32
    }
    fn add(a: u32, b: u32) -> u32 {
        let r = a.wrapping_add(b);
        r.wrapping_add((r < b) as u32)
    }
    fn fold(sum: u32) -> u16 {
        (sum.wrapping_add(sum.rotate_right(16)) >> 16) as u16
    }
    let sum = match (from.is_empty(), to.is_empty()) {
        (false, false) => add(partial(to, seed), !partial(from, 0)),
        (true, false) => partial(to, seed),
        (false, true) => !partial(from, !seed),
        (true, true) => seed,
    };
    fold(sum) as u64
}

#[cfg(test)]
mod strtox_tests {
    use super::strtoull;

    #[test]
    fn parses_as_the_kernels_strtoull() {
        assert_eq!(strtoull(b"  -42", 0), Ok((42, true, 5)));
        assert_eq!(strtoull(b"0x1fz", 0), Ok((31, false, 4)));
        assert_eq!(strtoull(b"0x1f", 10), Ok((0, false, 1)));
        assert_eq!(strtoull(b"08", 0), Ok((0, false, 1)));
        assert_eq!(strtoull(b"600\0", 0), Ok((600, false, 3)));
        assert_eq!(strtoull(b"-", 0), Err(22));
        assert_eq!(strtoull(b"z", 0), Err(22));
        assert_eq!(strtoull(b"1", 2), Err(22));
        assert_eq!(strtoull(b"1", 0x20), Err(22));
        assert_eq!(strtoull(b"18446744073709551616", 10), Err(34));
        assert_eq!(
            strtoull(b"18446744073709551615", 10),
            Ok((u64::MAX, false, 20))
        );
    }
}
