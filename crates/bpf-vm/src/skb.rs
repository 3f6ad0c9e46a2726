//! The socket buffer behind `__sk_buff` and the packet helpers that work on it
//! (`net/core/filter.c`): `bpf_skb_load_bytes`, `bpf_skb_load_bytes_relative`,
//! `bpf_skb_store_bytes`, `bpf_l3_csum_replace`, `bpf_l4_csum_replace`,
//! `bpf_get_socket_uid`.
//!
//! The model is the skb `BPF_PROG_TEST_RUN` builds (`bpf_prog_test_run_skb`): the frame is
//! linear, `eth_type_trans` has pulled the Ethernet header (the MAC header stays in the
//! buffer in front of `skb->data`), the network header starts right after it, and tc
//! programs (`is_l2`) see the header pushed back so `skb->data` is the MAC header. The skb
//! is `CHECKSUM_NONE`, so checksum helpers only rewrite the checksum field in the packet.
//! Its socket is a fresh one of the calling task (root): uid 0.
//!
//! The checksum arithmetic is the kernel's ones' complement arithmetic on 16-bit words as
//! the CPU loads them (little-endian on x86-64, where the kernel oracle runs), so a program
//! passes `from`/`to` exactly as it would to the kernel (network byte order values).

use crate::{Memory, VmError};

const EFAULT: i64 = 14;
const EINVAL: i64 = 22;

/// `BPF_HDR_START_MAC` / `BPF_HDR_START_NET` of `bpf_skb_load_bytes_relative`.
const HDR_START_MAC: u64 = 0;
const HDR_START_NET: u64 = 1;

/// Flags of `bpf_skb_store_bytes`.
const F_RECOMPUTE_CSUM: u64 = 1;
const F_INVALIDATE_HASH: u64 = 2;
/// Flags of the checksum helpers.
const F_HDR_FIELD_MASK: u64 = 0xf;
const F_PSEUDO_HDR: u64 = 0x10;
const F_MARK_MANGLED_0: u64 = 0x20;
const F_MARK_ENFORCE: u64 = 0x40;
/// `BPF_F_IPV6` (Linux 6.16 and later; older kernels refuse it with -EINVAL): only matters
/// for `CHECKSUM_COMPLETE`/`CHECKSUM_PARTIAL` skbs, so it changes nothing here.
const F_IPV6: u64 = 0x80;
const CSUM_MANGLED_0: u16 = 0xffff;

const ETH_HLEN: usize = 14;

/// The skb of a packet run: where its data lives and what is in front of it.
#[derive(Debug, Clone)]
pub struct Skb {
    /// Memory region holding `skb->data .. skb->tail` (the packet the program sees).
    pub region: usize,
    /// Bytes between the MAC header and `skb->data` (the pulled Ethernet header of a
    /// socket filter run; empty when `skb->data` is the MAC header, as for tc).
    pub pulled: Vec<u8>,
}

fn err(e: i64) -> u64 {
    (-e) as u64
}

impl Skb {
    fn data<'m>(&self, mem: &'m Memory) -> &'m [u8] {
        &mem.regions[self.region].bytes
    }

    /// The frame from the MAC header to the tail.
    fn frame(&self, mem: &Memory) -> Vec<u8> {
        let mut f = self.pulled.clone();
        f.extend_from_slice(self.data(mem));
        f
    }

    /// Copy `len` bytes of `src` to the program's buffer `to`, or zero it and fail.
    fn copy_out(
        pc: usize,
        mem: &mut Memory,
        to: u64,
        len: usize,
        src: Option<Vec<u8>>,
    ) -> Result<u64, VmError> {
        let Some(dst) = mem.slice_mut(to, len) else {
            return Err(crate::oob(pc, to, len, "helper write"));
        };
        match src {
            Some(b) => {
                dst.copy_from_slice(&b);
                Ok(0)
            }
            None => {
                dst.fill(0);
                Ok(err(EFAULT))
            }
        }
    }

    /// `bpf_skb_load_bytes(skb, offset, to, len)`: bytes from `skb->data + offset`.
    pub fn load_bytes(&self, pc: usize, mem: &mut Memory, a: [u64; 5]) -> Result<u64, VmError> {
        let (offset, to, len) = (a[1] as u32 as u64, a[2], a[3] as u32 as usize);
        let data = self.data(mem);
        let src = (offset <= i32::MAX as u64 && offset + len as u64 <= data.len() as u64)
            .then(|| data[offset as usize..offset as usize + len].to_vec());
        Self::copy_out(pc, mem, to, len, src)
    }

    /// `bpf_skb_load_bytes_relative(skb, offset, to, len, start_header)`: bytes from the
    /// MAC or network header, up to the tail.
    pub fn load_bytes_relative(
        &self,
        pc: usize,
        mem: &mut Memory,
        a: [u64; 5],
    ) -> Result<u64, VmError> {
        let (offset, to, len, start) = (a[1] as u32 as u64, a[2], a[3] as u32 as usize, a[4]);
        let frame = self.frame(mem);
        let base = match start {
            HDR_START_MAC => Some(0),
            HDR_START_NET => Some(ETH_HLEN),
            _ => None,
        };
        let src = base.and_then(|b| {
            let from = b + offset as usize;
            (offset <= 0xffff && from + len <= frame.len())
                .then(|| frame[from..from + len].to_vec())
        });
        Self::copy_out(pc, mem, to, len, src)
    }

    /// `bpf_skb_store_bytes(skb, offset, from, len, flags)`.
    pub fn store_bytes(&self, pc: usize, mem: &mut Memory, a: [u64; 5]) -> Result<u64, VmError> {
        let (offset, from, len, flags) = (a[1] as u32 as u64, a[2], a[3] as u32 as usize, a[4]);
        if flags & !(F_RECOMPUTE_CSUM | F_INVALIDATE_HASH) != 0 {
            return Ok(err(EINVAL));
        }
        if offset > i32::MAX as u64 || offset + len as u64 > self.data(mem).len() as u64 {
            return Ok(err(EFAULT));
        }
        let Some(src) = mem.slice(from, len).map(|s| s.to_vec()) else {
            return Err(crate::oob(pc, from, len, "helper read"));
        };
        let off = offset as usize;
        mem.regions[self.region].bytes[off..off + len].copy_from_slice(&src);
        Ok(0)
    }

    /// The 16-bit checksum field at `offset` of the data, if the helpers may touch it.
    fn csum_field(&self, mem: &Memory, offset: u64) -> Result<usize, u64> {
        if offset > 0xffff || offset & 1 != 0 || offset + 2 > self.data(mem).len() as u64 {
            return Err(err(EFAULT));
        }
        Ok(offset as usize)
    }

    fn get16(&self, mem: &Memory, off: usize) -> u16 {
        let d = self.data(mem);
        u16::from_le_bytes([d[off], d[off + 1]])
    }

    fn put16(&self, mem: &mut Memory, off: usize, v: u16) {
        mem.regions[self.region].bytes[off..off + 2].copy_from_slice(&v.to_le_bytes());
    }

    /// `bpf_l3_csum_replace(skb, offset, from, to, flags)`: update an IP header checksum
    /// for a field changed from `from` to `to` (size 2 or 4 in `flags`), or by a
    /// precomputed difference `to` (size 0).
    pub fn l3_csum_replace(&self, mem: &mut Memory, a: [u64; 5]) -> u64 {
        let (offset, from, to, flags) = (a[1] as u32 as u64, a[2], a[3], a[4]);
        if flags & !F_HDR_FIELD_MASK != 0 {
            return err(EINVAL);
        }
        let off = match self.csum_field(mem, offset) {
            Ok(o) => o,
            Err(e) => return e,
        };
        let sum = self.get16(mem, off);
        let new = match flags & F_HDR_FIELD_MASK {
            0 if from != 0 => return err(EINVAL),
            0 => csum_fold(csum_add(to as u32, !(sum as u32))),
            2 => !csum16_add(csum16_add(!sum, !(from as u16)), to as u16),
            4 => csum_fold(csum_add(csum_add(!(sum as u32), !(from as u32)), to as u32)),
            _ => return err(EINVAL),
        };
        self.put16(mem, off, new);
        0
    }

    /// `bpf_l4_csum_replace(skb, offset, from, to, flags)`: as `l3_csum_replace` for a
    /// TCP/UDP checksum (`BPF_F_PSEUDO_HDR` changes nothing on a `CHECKSUM_NONE` skb;
    /// `BPF_F_MARK_MANGLED_0` keeps a zero UDP checksum zero and writes a computed zero
    /// as 0xffff).
    pub fn l4_csum_replace(&self, mem: &mut Memory, a: [u64; 5]) -> u64 {
        let (offset, from, to, flags) = (a[1] as u32 as u64, a[2], a[3], a[4]);
        let allowed = F_MARK_MANGLED_0 | F_MARK_ENFORCE | F_PSEUDO_HDR | F_IPV6 | F_HDR_FIELD_MASK;
        if flags & !allowed != 0 {
            return err(EINVAL);
        }
        let off = match self.csum_field(mem, offset) {
            Ok(o) => o,
            Err(e) => return e,
        };
        let mmzero = flags & F_MARK_MANGLED_0 != 0;
        let sum = self.get16(mem, off);
        if mmzero && flags & F_MARK_ENFORCE == 0 && sum == 0 {
            return 0;
        }
        // inet_proto_csum_replace4 over the words of { ~from, to }.
        let replace4 = |from: u32, to: u32| {
            let init = !(sum as u32);
            let words = [!from, to];
            csum_fold(csum_partial(&words, init))
        };
        let mut new = match flags & F_HDR_FIELD_MASK {
            0 if from != 0 => return err(EINVAL),
            0 => csum_fold(csum_add(to as u32, !(sum as u32))),
            2 => replace4(from as u16 as u32, to as u16 as u32),
            4 => replace4(from as u32, to as u32),
            _ => return err(EINVAL),
        };
        if mmzero && new == 0 {
            new = CSUM_MANGLED_0;
        }
        self.put16(mem, off, new);
        0
    }
}

/// `csum16_add`: ones' complement addition of 16-bit values.
fn csum16_add(a: u16, b: u16) -> u16 {
    let (r, carry) = a.overflowing_add(b);
    r.wrapping_add(carry as u16)
}

/// `csum_add`: ones' complement addition of 32-bit partial sums.
fn csum_add(a: u32, b: u32) -> u32 {
    let (r, carry) = a.overflowing_add(b);
    r.wrapping_add(carry as u32)
}

/// `csum_fold`: a 32-bit partial sum folded to 16 bits and complemented.
fn csum_fold(s: u32) -> u16 {
    let s = (s & 0xffff) + (s >> 16);
    let s = (s & 0xffff) + (s >> 16);
    !(s as u16)
}

/// `csum_partial` of 32-bit words as they lie in memory (little-endian), with `init`.
fn csum_partial(words: &[u32], init: u32) -> u32 {
    words.iter().fold(init, |acc, &w| csum_add(acc, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checksum of `bytes` (as the IP header checksum is computed).
    fn ip_csum(bytes: &[u8]) -> u16 {
        let mut s = 0u32;
        for c in bytes.chunks(2) {
            s = csum_add(
                s,
                u16::from_le_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32,
            );
        }
        csum_fold(s)
    }

    #[test]
    fn incremental_updates_match_recomputing() {
        let mut hdr = [
            0x45u8, 0, 0, 0x2e, 0x12, 0x34, 0x40, 0, 0x40, 0x11, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let c = ip_csum(&hdr);
        hdr[10..12].copy_from_slice(&c.to_le_bytes());
        assert_eq!(ip_csum(&hdr), 0);
        // Change the source address 10.0.0.1 -> 192.168.7.9 (4 bytes) and the id (2 bytes).
        let old = u32::from_le_bytes([10, 0, 0, 1]);
        let new = u32::from_le_bytes([192, 168, 7, 9]);
        let sum = u16::from_le_bytes([hdr[10], hdr[11]]);
        let upd = csum_fold(csum_add(csum_add(!(sum as u32), !old), new));
        hdr[12..16].copy_from_slice(&new.to_le_bytes());
        hdr[10..12].copy_from_slice(&upd.to_le_bytes());
        assert_eq!(ip_csum(&hdr), 0);
        let old16 = u16::from_le_bytes([0x12, 0x34]);
        let new16 = u16::from_le_bytes([0xbe, 0xef]);
        let sum = u16::from_le_bytes([hdr[10], hdr[11]]);
        let upd = !csum16_add(csum16_add(!sum, !old16), new16);
        hdr[4..6].copy_from_slice(&new16.to_le_bytes());
        hdr[10..12].copy_from_slice(&upd.to_le_bytes());
        assert_eq!(ip_csum(&hdr), 0);
    }
}
