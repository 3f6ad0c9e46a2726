//! The XDP buffer behind `xdp_md` and the helpers that move its edges or copy through it
//! (`net/core/filter.c`): `bpf_xdp_adjust_head`, `bpf_xdp_adjust_meta`,
//! `bpf_xdp_adjust_tail`, `bpf_xdp_get_buff_len`, `bpf_xdp_load_bytes`,
//! `bpf_xdp_store_bytes`.
//!
//! The model is the buffer `BPF_PROG_TEST_RUN` builds (`bpf_prog_test_run_xdp`): one zeroed
//! page, [`HEADROOM`] bytes of headroom (whose first [`XDP_FRAME_SIZE`] bytes the kernel
//! keeps for a `struct xdp_frame`), the packet, and at the end the room of a
//! `struct skb_shared_info` that the tail may not grow into. The packet region holds the
//! page from its start to `data_end`; only `data_meta .. data_end` is accessible
//! ([`crate::Region::lo`]), so an access the verifier would refuse is still an error here.
//! The test run's output is `data_meta .. data_end`: the metadata, then the packet.

use crate::{Memory, VmError};

/// `XDP_PACKET_HEADROOM`.
pub const HEADROOM: usize = 256;
/// The buffer: a page (`frame_sz` of the test run's xdp_buff).
const FRAME: usize = 4096;
/// `sizeof(struct xdp_frame)` on 64-bit machines: the start of the headroom it occupies.
const XDP_FRAME_SIZE: usize = 40;
/// `SKB_DATA_ALIGN(sizeof(struct skb_shared_info))` on x86-64: the end of the page is kept
/// for it.
const SHINFO: usize = 320;
/// Largest metadata `bpf_xdp_adjust_meta` allows, in multiples of 4 bytes: what
/// `skb_shared_info.meta_len` (a u8) holds, as in current kernels (until Linux 6.6 it was
/// 32 bytes).
const META_MAX: usize = 255;
const ETH_HLEN: usize = 14;
/// The packet a test run takes at most (`max_data_sz`); longer input is cut.
pub const MAX_DATA: usize = FRAME - HEADROOM - SHINFO;

const EINVAL: i64 = 22;
const EACCES: i64 = 13;
const EFAULT: i64 = 14;

fn err(e: i64) -> u64 {
    (-e) as u64
}

/// Offsets in the page of `data_meta`, `data` and `data_end`, and where the page lives.
#[derive(Debug, Clone)]
pub struct Xdp {
    pub region: usize,
    pub ctx: usize,
    meta: usize,
    data: usize,
    end: usize,
}

impl Xdp {
    /// The buffer of a test run over `packet` (cut to [`MAX_DATA`]) and its `xdp_md` context;
    /// returns the context's address and the buffer.
    pub fn build(mem: &mut Memory, packet: &[u8]) -> (u64, Xdp) {
        let packet = &packet[..packet.len().min(MAX_DATA)];
        let mut page = vec![0u8; HEADROOM];
        page.extend_from_slice(packet);
        mem.add(crate::RegionKind::Packet, page, true);
        let region = mem.regions.len() - 1;
        let ctx_addr = mem.add(crate::RegionKind::Context, vec![0u8; 24], false);
        let ctx = mem.regions.len() - 1;
        // ingress_ifindex = 1 (loopback), as BPF_PROG_TEST_RUN without ctx_in.
        mem.regions[ctx].bytes[12..16].copy_from_slice(&1u32.to_le_bytes());
        let x = Xdp {
            region,
            ctx,
            meta: HEADROOM,
            data: HEADROOM,
            end: HEADROOM + packet.len(),
        };
        x.publish(mem);
        (ctx_addr, x)
    }

    /// Makes the region and the context's `data`, `data_end`, `data_meta` say where the
    /// edges are now.
    fn publish(&self, mem: &mut Memory) {
        let r = &mut mem.regions[self.region];
        r.bytes.resize(self.end, 0);
        r.lo = self.meta;
        let base = Memory::base(self.region);
        mem.ctx_fields.retain(|f| f.0 != self.ctx);
        for (off, at) in [(0, self.data), (4, self.end), (8, self.meta)] {
            mem.ctx_fields.push((self.ctx, off, base + at as u64));
        }
    }

    fn page<'m>(&self, mem: &'m mut Memory) -> &'m mut Vec<u8> {
        &mut mem.regions[self.region].bytes
    }

    /// What the test run copies out: `data_meta .. data_end`.
    pub fn output(&self, mem: &Memory) -> Vec<u8> {
        mem.regions[self.region].bytes[self.meta..self.end].to_vec()
    }

    /// `bpf_xdp_adjust_head(ctx, delta)`: moves `data` (and the metadata with it), keeping
    /// the `xdp_frame` room in front and an Ethernet header's length of packet.
    pub fn adjust_head(&mut self, mem: &mut Memory, delta: u64) -> u64 {
        let delta = delta as i32 as i64;
        let metalen = self.data - self.meta;
        let data = self.data as i64 + delta;
        if data < (XDP_FRAME_SIZE + metalen) as i64 || data > (self.end - ETH_HLEN) as i64 {
            return err(EINVAL);
        }
        let data = data as usize;
        let meta = data - metalen;
        if metalen > 0 {
            self.page(mem).copy_within(self.meta..self.data, meta);
        }
        self.meta = meta;
        self.data = data;
        self.publish(mem);
        0
    }

    /// `bpf_xdp_adjust_meta(ctx, delta)`: moves `data_meta`, within the headroom after the
    /// `xdp_frame`, to a multiple of 4 bytes of at most [`META_MAX`].
    pub fn adjust_meta(&mut self, mem: &mut Memory, delta: u64) -> u64 {
        let meta = self.meta as i64 + delta as i32 as i64;
        if meta < XDP_FRAME_SIZE as i64 || meta > self.data as i64 {
            return err(EINVAL);
        }
        let metalen = self.data - meta as usize;
        if !metalen.is_multiple_of(4) || metalen > META_MAX {
            return err(EACCES);
        }
        self.meta = meta as usize;
        self.publish(mem);
        0
    }

    /// `bpf_xdp_adjust_tail(ctx, delta)`: moves `data_end`, at least an Ethernet header after
    /// `data` and not into the `skb_shared_info` room; bytes it grows over read as zero.
    pub fn adjust_tail(&mut self, mem: &mut Memory, delta: u64) -> u64 {
        let end = self.end as i64 + delta as i32 as i64;
        if end > (FRAME - SHINFO) as i64 || end < (self.data + ETH_HLEN) as i64 {
            return err(EINVAL);
        }
        let end = end as usize;
        let page = self.page(mem);
        if end > self.end {
            // The region ends at data_end: what lies past it is the zeroed page.
            page.resize(end, 0);
            page[self.end..end].fill(0);
        }
        self.end = end;
        self.publish(mem);
        0
    }

    /// `bpf_xdp_get_buff_len(ctx)`: the packet's length (one buffer, no fragments).
    pub fn buff_len(&self) -> u64 {
        (self.end - self.data) as u64
    }

    /// The packet bytes at `off .. off+len` from `data`, if inside the packet.
    fn span(&self, off: u64, len: u64) -> Result<std::ops::Range<usize>, u64> {
        // The kernel refuses offsets and lengths past 0xffff before looking at the packet.
        if off > 0xffff || len > 0xffff {
            return Err(err(EFAULT));
        }
        let (off, len) = (off as usize, len as usize);
        if off + len > self.end - self.data {
            return Err(err(EINVAL));
        }
        Ok(self.data + off..self.data + off + len)
    }

    /// `bpf_xdp_load_bytes(ctx, off, buf, len)`.
    pub fn load_bytes(&self, pc: usize, mem: &mut Memory, a: [u64; 5]) -> Result<u64, VmError> {
        let range = match self.span(a[1], a[3]) {
            Ok(r) => r,
            Err(e) => return Ok(e),
        };
        let bytes = mem.regions[self.region].bytes[range].to_vec();
        let Some(dst) = mem.slice_mut(a[2], bytes.len()) else {
            return Err(crate::oob(pc, a[2], bytes.len(), "helper write"));
        };
        dst.copy_from_slice(&bytes);
        Ok(0)
    }

    /// `bpf_xdp_store_bytes(ctx, off, buf, len)`.
    pub fn store_bytes(&self, pc: usize, mem: &mut Memory, a: [u64; 5]) -> Result<u64, VmError> {
        let range = match self.span(a[1], a[3]) {
            Ok(r) => r,
            Err(e) => return Ok(e),
        };
        let Some(src) = mem.slice(a[2], range.len()).map(<[u8]>::to_vec) else {
            return Err(crate::oob(pc, a[2], range.len(), "helper read"));
        };
        self.page(mem)[range].copy_from_slice(&src);
        Ok(0)
    }
}
