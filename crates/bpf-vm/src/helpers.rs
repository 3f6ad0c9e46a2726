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
        }
    }
}

fn read(mem: &Memory, pc: usize, addr: u64, size: usize) -> Result<Vec<u8>, VmError> {
    mem.slice(addr, size)
        .map(|s| s.to_vec())
        .ok_or_else(|| crate::oob(pc, addr, size, "helper read"))
}

impl StdHelpers {
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

    fn printk(
        &self,
        pc: usize,
        fmt: &[u8],
        args: [u64; 3],
        mem: &Memory,
    ) -> Result<String, VmError> {
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
                let line = self.printk(pc, &fmt, [a[2], a[3], a[4]], mem)?;
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
            | id::PROBE_READ_USER
            | id::PROBE_READ_KERNEL
            | id::PROBE_READ_USER_STR
            | id::PROBE_READ_KERNEL_STR => {
                // Only the interpreter's own memory is readable; anything else faults as a
                // bad address does in the kernel: -EFAULT and a zeroed destination.
                let size = a[1] as usize;
                let src = mem.slice(a[2], size).map(|s| s.to_vec());
                let is_str = matches!(hid, id::PROBE_READ_USER_STR | id::PROBE_READ_KERNEL_STR);
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
                let data = read(mem, pc, a[1], a[2] as usize)?;
                self.maps[m].records.push(data);
                0
            }
            id::RINGBUF_RESERVE => {
                let m = self.map_of(pc, hid, a[0])?;
                if a[1] == 0 || a[1] > self.maps[m].spec.max_entries as u64 {
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
                let Some(skb) = &self.skb else {
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
