//! The socket buffer behind `__sk_buff` and the helpers that take it (`net/core/filter.c`)
//! for socket filters, tc (`sched_cls`, `sched_act`) and cgroup skb programs: packet
//! access (`bpf_skb_load_bytes`, `_relative`, `bpf_skb_store_bytes`), checksums
//! (`bpf_l3/l4_csum_replace`, `bpf_csum_update`, `bpf_csum_level`), packet reshaping
//! (`bpf_skb_vlan_push/pop`, `bpf_skb_change_proto/tail/head`, `bpf_skb_adjust_room`,
//! `bpf_skb_pull_data`), metadata (`bpf_set_hash`, `bpf_get_hash_recalc`,
//! `bpf_set_hash_invalid`, `bpf_skb_change_type`, `bpf_skb_set_tstamp`,
//! `bpf_skb_ecn_set_ce`, tunnel key and options, xfrm state), redirects and
//! `bpf_fib_lookup`, and the socket's identity (uid, cookie, cgroup ids, classids).
//!
//! The model is the skb `BPF_PROG_TEST_RUN` builds (`bpf_prog_test_run_skb`): the frame is
//! linear, `eth_type_trans` has pulled the Ethernet header (the MAC header stays in the
//! buffer in front of `skb->data`), the network header starts right after it, and tc
//! programs (`is_l2`) see the header pushed back so `skb->data` is the MAC header. The skb
//! is `CHECKSUM_NONE` (until `bpf_csum_level` says otherwise), so checksum helpers only
//! rewrite the checksum field in the packet and `bpf_csum_update` has nothing to update.
//! It has no hash, no VLAN tag, no timestamp, no dst (so no route realm, tunnel or xfrm
//! state until `bpf_skb_set_tunnel_key` attaches one) and is not encapsulated.
//!
//! The fields `__sk_buff` shows (`len`, `pkt_type`, `protocol`, `vlan_*`, `hash`, `tstamp`,
//! `tstamp_type`, `data`, `data_end`) live in the context region, which the helpers update
//! as the kernel updates the skb; the rest of the skb's state is in [`Skb`]. Helpers that
//! move the packet's edges rewrite the packet region in place (same base address, new
//! length), as the verifier invalidates packet pointers across them.
//!
//! Its socket is a fresh one of the calling task (root): uid 0, no net_cls classid, a
//! nonzero cookie, the test process's cgroup v2 (see the `cgroup` module below).
//!
//! The environment is a fresh network namespace: only `lo` (ifindex 1), down, forwarding
//! off, no routes. So `bpf_redirect*` only record their target (`TC_ACT_REDIRECT`),
//! `bpf_clone_redirect` to `lo` is dropped by the down device (`NET_XMIT_CN` on egress,
//! `NET_RX_DROP` on ingress) and fails for any other ifindex, and `bpf_fib_lookup` finds
//! no device or forwarding disabled (`crate::fib`, shared with XDP). The differential test (`bpf_run_diff`) runs the
//! kernel side in such a namespace.
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

/// `__sk_buff` offsets of the fields the helpers read or change.
mod off {
    pub const LEN: usize = 0;
    pub const PKT_TYPE: usize = 4;
    pub const PROTOCOL: usize = 16;
    pub const VLAN_PRESENT: usize = 20;
    pub const VLAN_TCI: usize = 24;
    pub const VLAN_PROTO: usize = 28;
    pub const HASH: usize = 68;
    pub const DATA: usize = 76;
    pub const DATA_END: usize = 80;
    pub const DATA_META: usize = 140;
    pub const TSTAMP: usize = 152;
    pub const TSTAMP_TYPE: usize = 180;
}

/// The skb of a packet run: where its data lives, what is in front of it, and the state
/// `__sk_buff` does not show.
#[derive(Debug, Clone)]
pub struct Skb {
    /// Memory region holding `skb->data .. skb->tail` (the packet the program sees).
    pub region: usize,
    /// Bytes between the MAC header and `skb->data` (the pulled Ethernet header of a
    /// socket filter run; empty when `skb->data` is the MAC header, as for tc).
    pub pulled: Vec<u8>,
    /// Memory region of the `__sk_buff` context: the skb fields it shows live there.
    pub ctx: usize,
    /// Whether the context has `data`/`data_end` (every type but socket filters).
    pub direct: bool,
    /// Offset of the network header from the MAC header.
    pub net: usize,
    /// `skb->sw_hash || skb->l4_hash`: `bpf_get_hash_recalc` keeps `hash` as it is.
    pub hash_set: bool,
    /// `skb->ip_summed == CHECKSUM_UNNECESSARY` (else `CHECKSUM_NONE`), and `csum_level`.
    pub csum_unnecessary: bool,
    pub csum_level: u8,
    /// The tunnel metadata `bpf_skb_set_tunnel_key` attached.
    pub tunnel: Option<Tunnel>,
    /// `skb->encapsulation`, set by `bpf_skb_adjust_room` with an encapsulation flag.
    pub encapsulation: bool,
}

/// The `ip_tunnel_info` of the per-CPU metadata dst `bpf_skb_set_tunnel_key` attaches.
#[derive(Debug, Clone, Default)]
pub struct Tunnel {
    pub ipv6: bool,
    /// `IP_TUNNEL_*` flags as the big-endian 16-bit `TUNNEL_*` word gives them.
    pub flags: u16,
    pub id: u32,
    pub tos: u8,
    pub ttl: u8,
    /// `key.u.ipv4/ipv6.src` and `.dst`: the raw words of the program's key.
    pub src: [u32; 4],
    pub dst: [u32; 4],
    pub label: u32,
    pub opts: Vec<u8>,
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
            HDR_START_NET => Some(self.net),
            _ => None,
        };
        let src = base.and_then(|b| {
            let from = b + offset as usize;
            (offset <= 0xffff && from + len <= frame.len())
                .then(|| frame[from..from + len].to_vec())
        });
        Self::copy_out(pc, mem, to, len, src)
    }

    /// `bpf_skb_store_bytes(skb, offset, from, len, flags)`; `BPF_F_INVALIDATE_HASH` clears
    /// the skb's hash.
    pub fn store_bytes(
        &mut self,
        pc: usize,
        mem: &mut Memory,
        a: [u64; 5],
    ) -> Result<u64, VmError> {
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
        if flags & F_INVALIDATE_HASH != 0 {
            self.clear_hash(mem);
        }
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

/// Helper ids of the skb helpers [`Skb::call`] runs (`enum bpf_func_id`).
pub mod id {
    pub const CLONE_REDIRECT: i64 = 13;
    pub const GET_CGROUP_CLASSID: i64 = 17;
    pub const SKB_VLAN_PUSH: i64 = 18;
    pub const SKB_VLAN_POP: i64 = 19;
    pub const SKB_GET_TUNNEL_KEY: i64 = 20;
    pub const SKB_SET_TUNNEL_KEY: i64 = 21;
    pub const REDIRECT: i64 = 23;
    pub const GET_ROUTE_REALM: i64 = 24;
    pub const SKB_GET_TUNNEL_OPT: i64 = 29;
    pub const SKB_SET_TUNNEL_OPT: i64 = 30;
    pub const SKB_CHANGE_PROTO: i64 = 31;
    pub const SKB_CHANGE_TYPE: i64 = 32;
    pub const GET_HASH_RECALC: i64 = 34;
    pub const SKB_CHANGE_TAIL: i64 = 38;
    pub const SKB_PULL_DATA: i64 = 39;
    pub const CSUM_UPDATE: i64 = 40;
    pub const SET_HASH_INVALID: i64 = 41;
    pub const SKB_CHANGE_HEAD: i64 = 43;
    pub const GET_SOCKET_COOKIE: i64 = 46;
    pub const SET_HASH: i64 = 48;
    pub const SKB_ADJUST_ROOM: i64 = 50;
    pub const SKB_GET_XFRM_STATE: i64 = 66;
    pub const SKB_CGROUP_ID: i64 = 79;
    pub const SKB_ANCESTOR_CGROUP_ID: i64 = 83;
    pub const SKB_ECN_SET_CE: i64 = 97;
    pub const CSUM_LEVEL: i64 = 135;
    pub const SKB_CGROUP_CLASSID: i64 = 151;
    pub const REDIRECT_NEIGH: i64 = 152;
    pub const REDIRECT_PEER: i64 = 155;
    pub const SKB_SET_TSTAMP: i64 = 192;

    /// The ids [`super::Skb::call`] runs.
    pub const ALL: [i64; 30] = [
        CLONE_REDIRECT,
        GET_CGROUP_CLASSID,
        SKB_VLAN_PUSH,
        SKB_VLAN_POP,
        SKB_GET_TUNNEL_KEY,
        SKB_SET_TUNNEL_KEY,
        REDIRECT,
        GET_ROUTE_REALM,
        SKB_GET_TUNNEL_OPT,
        SKB_SET_TUNNEL_OPT,
        SKB_CHANGE_PROTO,
        SKB_CHANGE_TYPE,
        GET_HASH_RECALC,
        SKB_CHANGE_TAIL,
        SKB_PULL_DATA,
        CSUM_UPDATE,
        SET_HASH_INVALID,
        SKB_CHANGE_HEAD,
        GET_SOCKET_COOKIE,
        SET_HASH,
        SKB_ADJUST_ROOM,
        SKB_GET_XFRM_STATE,
        SKB_CGROUP_ID,
        SKB_ANCESTOR_CGROUP_ID,
        SKB_ECN_SET_CE,
        CSUM_LEVEL,
        SKB_CGROUP_CLASSID,
        REDIRECT_NEIGH,
        REDIRECT_PEER,
        SKB_SET_TSTAMP,
    ];
}

const ENOMEM: i64 = 12;
const EPROTO: i64 = 71;
const ENOENT: i64 = 2;
const EOPNOTSUPP: i64 = 95;
const EALREADY: i64 = 114;
const EACCES: i64 = 13;
/// The kernel-internal `ENOTSUPP` some skb helpers return.
const ENOTSUPP: i64 = 524;

const TC_ACT_SHOT: u64 = 2;
const TC_ACT_REDIRECT: u64 = 7;
const BPF_F_INGRESS: u64 = 1;

const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;
const VLAN_HLEN: usize = 4;

/// `BPF_SKB_MAX_LEN` (`SKB_MAX_ALLOC` with 4 KiB pages on x86-64).
const SKB_MAX_LEN: u64 = 16384 - 320;
/// `sizeof(struct bpf_redir_neigh)`, `sizeof(struct bpf_tunnel_key)`.
const REDIR_NEIGH_SIZE: u64 = 20;
const TUNNEL_KEY_SIZE: usize = 44;

/// `TUNNEL_*` bits of the tunnel flags word.
const TUNNEL_CSUM: u16 = 0x01;
const TUNNEL_KEY: u16 = 0x04;
const TUNNEL_SEQ: u16 = 0x08;
const TUNNEL_DONT_FRAGMENT: u16 = 0x0100;
const TUNNEL_NOCACHE: u16 = 0x2000;
/// `TUNNEL_OPTIONS_PRESENT`: GENEVE, VXLAN, ERSPAN and GTP options.
const TUNNEL_OPTIONS_PRESENT: u16 = 0x0800 | 0x1000 | 0x4000 | 0x8000;

/// The cookie `bpf_get_socket_cookie` gives the test run's socket. The kernel numbers
/// sockets from a global counter as they are first asked for, so the value differs from run
/// to run; only that it is nonzero and stable within the run is part of the model.
const SOCKET_COOKIE: u64 = 0x1000;

impl Skb {
    /// The skb of a test run whose data lives in `region`, `pulled` bytes after the MAC
    /// header, with its `__sk_buff` in region `ctx`.
    pub fn new(region: usize, pulled: Vec<u8>, ctx: usize, direct: bool) -> Skb {
        Skb {
            region,
            pulled,
            ctx,
            direct,
            net: ETH_HLEN,
            hash_set: false,
            csum_unnecessary: false,
            csum_level: 0,
            tunnel: None,
            encapsulation: false,
        }
    }

    fn ctx32(&self, mem: &Memory, off: usize) -> u32 {
        let b = &mem.regions[self.ctx].bytes[off..off + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    fn set_ctx(&self, mem: &mut Memory, off: usize, v: &[u8]) {
        mem.regions[self.ctx].bytes[off..off + v.len()].copy_from_slice(v);
    }

    /// `skb->protocol` in host order.
    fn protocol(&self, mem: &Memory) -> u16 {
        let b = &mem.regions[self.ctx].bytes;
        u16::from_be_bytes([b[off::PROTOCOL], b[off::PROTOCOL + 1]])
    }

    fn set_protocol(&self, mem: &mut Memory, p: u16) {
        self.set_ctx(mem, off::PROTOCOL, &(p.to_be_bytes()[..]));
    }

    fn pkt<'m>(&self, mem: &'m mut Memory) -> &'m mut Vec<u8> {
        &mut mem.regions[self.region].bytes
    }

    /// `bpf_compute_data_pointers` and `skb->len` after the packet changed.
    fn publish(&self, mem: &mut Memory) {
        let len = self.data(mem).len() as u32;
        self.set_ctx(mem, off::LEN, &len.to_le_bytes());
        if self.direct {
            let base = Memory::base(self.region);
            let ctx = self.ctx;
            mem.ctx_fields.retain(|f| f.0 != ctx);
            for (o, v) in [
                (off::DATA, base),
                (off::DATA_END, base + len as u64),
                (off::DATA_META, base),
            ] {
                mem.ctx_fields.push((ctx, o, v));
            }
        }
    }

    /// `skb_clear_hash`.
    fn clear_hash(&mut self, mem: &mut Memory) {
        self.hash_set = false;
        self.set_ctx(mem, off::HASH, &[0; 4]);
    }

    /// Runs helper `hid` (one of [`id::ALL`]).
    pub fn call(
        &mut self,
        pc: usize,
        hid: i64,
        a: [u64; 5],
        mem: &mut Memory,
    ) -> Result<u64, VmError> {
        Ok(match hid {
            id::REDIRECT => {
                if a[1] & !BPF_F_INGRESS != 0 {
                    TC_ACT_SHOT
                } else {
                    TC_ACT_REDIRECT
                }
            }
            id::REDIRECT_PEER => {
                if a[1] != 0 {
                    TC_ACT_SHOT
                } else {
                    TC_ACT_REDIRECT
                }
            }
            id::REDIRECT_NEIGH => {
                let plen = a[2] as u32 as u64;
                if (plen != 0 && plen < REDIR_NEIGH_SIZE) || a[3] != 0 {
                    TC_ACT_SHOT
                } else {
                    TC_ACT_REDIRECT
                }
            }
            id::CLONE_REDIRECT => self.clone_redirect(a[1] as u32, a[2]),
            // No net_cls classid (the namespace's task and socket have none), no route.
            id::GET_CGROUP_CLASSID | id::SKB_CGROUP_CLASSID | id::GET_ROUTE_REALM => 0,
            id::SKB_VLAN_PUSH => self.vlan_push(mem, a[1] as u16, a[2] as u16),
            id::SKB_VLAN_POP => self.vlan_pop(mem),
            id::SKB_GET_TUNNEL_KEY => self.get_tunnel_key(pc, mem, a)?,
            id::SKB_SET_TUNNEL_KEY => self.set_tunnel_key(pc, mem, a)?,
            id::SKB_GET_TUNNEL_OPT => self.get_tunnel_opt(pc, mem, a)?,
            id::SKB_SET_TUNNEL_OPT => self.set_tunnel_opt(pc, mem, a)?,
            id::SKB_CHANGE_PROTO => self.change_proto(mem, a[1] as u16, a[2]),
            id::SKB_CHANGE_TYPE => {
                let cur = self.ctx32(mem, off::PKT_TYPE);
                let new = a[1] as u32;
                if cur > 3 || new > 3 {
                    err(EINVAL)
                } else {
                    self.set_ctx(mem, off::PKT_TYPE, &new.to_le_bytes());
                    0
                }
            }
            id::GET_HASH_RECALC => {
                if !self.hash_set {
                    let h = flow_hash(&self.frame(mem), self.net);
                    self.set_ctx(mem, off::HASH, &h.to_le_bytes());
                    self.hash_set = true;
                }
                self.ctx32(mem, off::HASH) as u64
            }
            id::SET_HASH_INVALID => {
                self.clear_hash(mem);
                0
            }
            id::SET_HASH => {
                self.set_ctx(mem, off::HASH, &(a[1] as u32).to_le_bytes());
                self.hash_set = true;
                0
            }
            id::SKB_CHANGE_TAIL => self.change_tail(mem, a[1] as u32 as u64, a[2]),
            id::SKB_CHANGE_HEAD => self.change_head(mem, a[1] as u32 as u64, a[2]),
            id::SKB_PULL_DATA => {
                // Linear data: pulling succeeds up to the packet's length.
                if a[1] as u32 as usize > self.data(mem).len() {
                    err(ENOMEM)
                } else {
                    0
                }
            }
            // Only a CHECKSUM_COMPLETE skb has a checksum to update.
            id::CSUM_UPDATE => err(ENOTSUPP),
            id::GET_SOCKET_COOKIE => SOCKET_COOKIE,
            id::SKB_ADJUST_ROOM => self.adjust_room(mem, a[1] as i32, a[2] as u32, a[3]),
            id::SKB_GET_XFRM_STATE => {
                // No security path: the buffer is cleared.
                let size = a[3] as u32 as usize;
                Self::copy_out(pc, mem, a[2], size, None)?;
                err(EINVAL)
            }
            id::SKB_CGROUP_ID => cgroup::ancestor_id(None),
            id::SKB_ANCESTOR_CGROUP_ID => cgroup::ancestor_id(Some(a[1] as i32)),
            id::SKB_ECN_SET_CE => self.ecn_set_ce(mem),
            id::CSUM_LEVEL => self.csum_level(a[1]),
            id::SKB_SET_TSTAMP => {
                let (ts, ty) = (a[1], a[2] as u32);
                // The delivery time is only kept for IPv4 and IPv6 packets.
                if !matches!(self.protocol(mem), ETH_P_IP | ETH_P_IPV6) {
                    return Ok(err(EOPNOTSUPP));
                }
                match ty {
                    0 => {}
                    1 | 2 if ts != 0 => {}
                    _ => return Ok(err(EINVAL)),
                }
                self.set_ctx(mem, off::TSTAMP, &ts.to_le_bytes());
                self.set_ctx(mem, off::TSTAMP_TYPE, &[ty as u8]);
                0
            }
            _ => return Err(VmError::UnknownHelper { pc, id: hid }),
        })
    }

    /// `bpf_clone_redirect(skb, ifindex, flags)` in the fresh namespace: the only device is
    /// `lo`, down, so a clone sent to it is dropped.
    fn clone_redirect(&self, ifindex: u32, flags: u64) -> u64 {
        if flags & !BPF_F_INGRESS != 0 || ifindex != 1 {
            return err(EINVAL);
        }
        if flags & BPF_F_INGRESS != 0 {
            // ____dev_forward_skb on a device that is down: NET_RX_DROP.
            1
        } else {
            // dev_queue_xmit on a device that is down: its qdisc is noop_qdisc, which drops
            // the clone and says NET_XMIT_CN.
            2
        }
    }

    /// `bpf_skb_vlan_push(skb, vlan_proto, vlan_tci)`: a present tag moves into the packet
    /// (after the MAC addresses) and the new one becomes the skb's tag.
    fn vlan_push(&mut self, mem: &mut Memory, proto: u16, tci: u16) -> u64 {
        let proto = u16::from_be(proto);
        let proto = if proto != ETH_P_8021Q && proto != ETH_P_8021AD {
            ETH_P_8021Q
        } else {
            proto
        };
        if self.ctx32(mem, off::VLAN_PRESENT) != 0 {
            let cur = &mem.regions[self.ctx].bytes;
            let old_proto = [cur[off::VLAN_PROTO], cur[off::VLAN_PROTO + 1]];
            let old_tci = (self.ctx32(mem, off::VLAN_TCI) as u16).to_be_bytes();
            let mut tag = old_proto.to_vec();
            tag.extend_from_slice(&old_tci);
            let pkt = self.pkt(mem);
            let at = 12.min(pkt.len());
            pkt.splice(at..at, tag);
            self.set_ctx(mem, off::PROTOCOL, &old_proto);
            self.net += VLAN_HLEN;
        }
        self.set_ctx(mem, off::VLAN_PRESENT, &1u32.to_le_bytes());
        self.set_ctx(mem, off::VLAN_TCI, &(tci as u32).to_le_bytes());
        self.set_ctx(mem, off::VLAN_PROTO, &[0; 4]);
        self.set_ctx(mem, off::VLAN_PROTO, &proto.to_be_bytes());
        self.publish(mem);
        0
    }

    /// `bpf_skb_vlan_pop(skb)`: drops the skb's tag, or the packet's outer tag, and makes
    /// a next tag in the packet the skb's tag.
    fn vlan_pop(&mut self, mem: &mut Memory) -> u64 {
        let is_vlan = |p: u16| p == ETH_P_8021Q || p == ETH_P_8021AD;
        let r = if self.ctx32(mem, off::VLAN_PRESENT) != 0 {
            for o in [off::VLAN_PRESENT, off::VLAN_TCI, off::VLAN_PROTO] {
                self.set_ctx(mem, o, &[0; 4]);
            }
            Ok(())
        } else if !is_vlan(self.protocol(mem)) {
            return 0;
        } else {
            self.pop_tag(mem).map(|_| ())
        };
        let r = r.and_then(|()| {
            let proto = self.protocol(mem);
            if !is_vlan(proto) {
                return Ok(());
            }
            let tci = self.pop_tag(mem)?;
            self.set_ctx(mem, off::VLAN_PRESENT, &1u32.to_le_bytes());
            self.set_ctx(mem, off::VLAN_TCI, &(tci as u32).to_le_bytes());
            self.set_ctx(mem, off::VLAN_PROTO, &proto.to_be_bytes());
            Ok(())
        });
        self.publish(mem);
        match r {
            Ok(()) => 0,
            Err(e) => e,
        }
    }

    /// `__skb_vlan_pop`: removes the tag after the MAC addresses, returns its TCI.
    fn pop_tag(&mut self, mem: &mut Memory) -> Result<u16, u64> {
        let pkt = self.pkt(mem);
        if pkt.len() < ETH_HLEN + VLAN_HLEN {
            return Err(err(ENOMEM));
        }
        let tci = u16::from_be_bytes([pkt[14], pkt[15]]);
        let encap = u16::from_be_bytes([pkt[16], pkt[17]]);
        let raw = pkt[0] == 0xff && pkt[1] == 0xff;
        pkt.drain(12..16);
        let proto = if encap >= 0x600 {
            encap
        } else if raw {
            0x0001
        } else {
            0x0004
        };
        self.set_protocol(mem, proto);
        self.net = self.net.saturating_sub(VLAN_HLEN).max(ETH_HLEN);
        Ok(tci)
    }

    /// `bpf_skb_change_proto(skb, proto, flags)`: IPv4 <-> IPv6 by making room for the
    /// larger header (zeros after the MAC header) or removing the difference.
    fn change_proto(&mut self, mem: &mut Memory, proto: u16, flags: u64) -> u64 {
        if flags != 0 {
            return err(EINVAL);
        }
        let (from, to) = (self.protocol(mem), u16::from_be(proto));
        let at = self.net;
        let r = if from == ETH_P_IP && to == ETH_P_IPV6 {
            self.pkt(mem).splice(at..at, [0u8; 20]);
            0
        } else if from == ETH_P_IPV6 && to == ETH_P_IP {
            if self.data(mem).len() < at + 20 {
                err(ENOMEM)
            } else {
                self.pkt(mem).drain(at..at + 20);
                0
            }
        } else {
            err(ENOTSUPP)
        };
        if r == 0 {
            self.set_protocol(mem, to);
            self.clear_hash(mem);
        }
        self.publish(mem);
        r
    }

    /// `bpf_skb_change_tail(skb, len, flags)`: trims or extends (with zeros) the packet,
    /// keeping at least up to the network header.
    fn change_tail(&mut self, mem: &mut Memory, new_len: u64, flags: u64) -> u64 {
        let min = self.net as u64;
        if flags != 0 || new_len > SKB_MAX_LEN || new_len < min {
            return err(EINVAL);
        }
        if self.encapsulation {
            return err(ENOTSUPP);
        }
        self.pkt(mem).resize(new_len as usize, 0);
        self.publish(mem);
        0
    }

    /// `bpf_skb_change_head(skb, head_room, flags)`: zeros in front; they become the MAC
    /// header, the network header stays where it was.
    fn change_head(&mut self, mem: &mut Memory, room: u64, flags: u64) -> u64 {
        let len = self.data(mem).len() as u64;
        if flags != 0 || len + room > SKB_MAX_LEN {
            return err(EINVAL);
        }
        let room = room as usize;
        self.pkt(mem).splice(0..0, std::iter::repeat_n(0u8, room));
        self.net += room;
        self.publish(mem);
        0
    }

    /// `bpf_skb_adjust_room(skb, len_diff, mode, flags)`: zeros inserted after the MAC
    /// header (`BPF_ADJ_ROOM_MAC`) or after the base network header (`BPF_ADJ_ROOM_NET`), or
    /// bytes removed there.
    fn adjust_room(&mut self, mem: &mut Memory, diff: i32, mode: u32, flags: u64) -> u64 {
        const FIXED_GSO: u64 = 1;
        const ENCAP_L3_IPV4: u64 = 2;
        const ENCAP_L3_IPV6: u64 = 4;
        const ENCAP_L4_GRE: u64 = 8;
        const ENCAP_L4_UDP: u64 = 16;
        const NO_CSUM_RESET: u64 = 32;
        const ENCAP_L2_ETH: u64 = 64;
        const DECAP_L3_IPV4: u64 = 128;
        const DECAP_L3_IPV6: u64 = 256;
        const ENCAP_L2_SHIFT: u32 = 56;
        const ENCAP_L3: u64 = ENCAP_L3_IPV4 | ENCAP_L3_IPV6;
        const DECAP_L3: u64 = DECAP_L3_IPV4 | DECAP_L3_IPV6;
        const MASK: u64 = FIXED_GSO
            | ENCAP_L3
            | ENCAP_L4_GRE
            | ENCAP_L4_UDP
            | ENCAP_L2_ETH
            | (0xff << ENCAP_L2_SHIFT)
            | DECAP_L3;
        if flags & !(MASK | NO_CSUM_RESET) != 0 {
            return err(EINVAL);
        }
        let abs = diff.unsigned_abs() as usize;
        if abs > 0xfff {
            return err(EFAULT);
        }
        let proto = self.protocol(mem);
        let base = match proto {
            ETH_P_IP => 20,
            ETH_P_IPV6 => 40,
            _ => return err(ENOTSUPP),
        };
        let mut len_min = base;
        let at = match mode {
            0 => self.net + base,
            1 => self.net,
            _ => return err(ENOTSUPP),
        };
        let shrink = diff < 0;
        if flags & DECAP_L3 != 0 {
            if !shrink {
                return err(EINVAL);
            }
            len_min = match flags & DECAP_L3 {
                DECAP_L3_IPV4 => 20,
                DECAP_L3_IPV6 => 40,
                _ => return err(EINVAL),
            };
        }
        let len = self.data(mem).len();
        let len_cur = len.saturating_sub(self.net);
        if shrink && (abs >= len_cur || len_cur - abs < len_min) {
            return err(ENOTSUPP);
        }
        if !shrink && (len + abs) as u64 > SKB_MAX_LEN {
            return err(ENOTSUPP);
        }
        if shrink {
            if flags & !(FIXED_GSO | DECAP_L3 | NO_CSUM_RESET) != 0 {
                return err(EINVAL);
            }
            if at + abs > len {
                return err(ENOMEM);
            }
            if proto == ETH_P_IP && flags & DECAP_L3_IPV6 != 0 {
                self.set_protocol(mem, ETH_P_IPV6);
            } else if proto == ETH_P_IPV6 && flags & DECAP_L3_IPV4 != 0 {
                self.set_protocol(mem, ETH_P_IP);
            }
            self.pkt(mem).drain(at..at + abs);
        } else {
            if flags & DECAP_L3 != 0 {
                return err(EINVAL);
            }
            let encap = flags & ENCAP_L3 != 0;
            let inner_mac = (flags >> ENCAP_L2_SHIFT) as usize;
            if encap {
                if flags & ENCAP_L3 == ENCAP_L3
                    || flags & (ENCAP_L4_GRE | ENCAP_L4_UDP) == ENCAP_L4_GRE | ENCAP_L4_UDP
                    || (flags & ENCAP_L2_ETH != 0 && inner_mac < ETH_HLEN)
                {
                    return err(EINVAL);
                }
                if self.encapsulation {
                    return err(EALREADY);
                }
                if inner_mac > abs {
                    return err(EINVAL);
                }
                self.encapsulation = true;
                if proto == ETH_P_IP && flags & ENCAP_L3_IPV6 != 0 {
                    self.set_protocol(mem, ETH_P_IPV6);
                } else if proto == ETH_P_IPV6 && flags & ENCAP_L3_IPV4 != 0 {
                    self.set_protocol(mem, ETH_P_IP);
                }
            }
            // A frame shorter than the offset: the kernel moves the (zeroed) tailroom in
            // front of the new room, so the zeros simply follow the frame.
            let at = at.min(len);
            self.pkt(mem).splice(at..at, std::iter::repeat_n(0u8, abs));
        }
        if flags & NO_CSUM_RESET == 0 && self.csum_unnecessary {
            self.csum_unnecessary = false;
            self.csum_level = 0;
        }
        self.publish(mem);
        0
    }

    /// `bpf_skb_get_tunnel_key(skb, key, size, flags)`.
    fn get_tunnel_key(&self, pc: usize, mem: &mut Memory, a: [u64; 5]) -> Result<u64, VmError> {
        const TUNINFO_IPV6: u64 = 1;
        const TUNINFO_FLAGS: u64 = 16;
        let (to, size, flags) = (a[1], a[2] as u32 as usize, a[3]);
        let fail =
            |mem: &mut Memory, e: i64| Self::copy_out(pc, mem, to, size, None).map(|_| err(e));
        let Some(t) = &self.tunnel else {
            return fail(mem, EINVAL);
        };
        if flags & !(TUNINFO_IPV6 | TUNINFO_FLAGS) != 0 {
            return fail(mem, EINVAL);
        }
        if t.ipv6 != (flags & TUNINFO_IPV6 != 0) {
            return fail(mem, EPROTO);
        }
        match size {
            TUNNEL_KEY_SIZE | 28 | 24 | 22 => {}
            8 if !t.ipv6 => {}
            _ => return fail(mem, EINVAL),
        }
        let mut k = [0u8; TUNNEL_KEY_SIZE];
        k[0..4].copy_from_slice(&t.id.to_le_bytes());
        k[20] = t.tos;
        k[21] = t.ttl;
        if flags & TUNINFO_FLAGS != 0 {
            k[22..24].copy_from_slice(&t.flags.to_be_bytes());
        }
        if t.ipv6 {
            for i in 0..4 {
                k[4 + 4 * i..8 + 4 * i].copy_from_slice(&t.src[i].to_le_bytes());
                k[28 + 4 * i..32 + 4 * i].copy_from_slice(&t.dst[i].to_le_bytes());
            }
            k[24..28].copy_from_slice(&t.label.to_le_bytes());
        } else {
            k[4..8].copy_from_slice(&t.src[0].to_le_bytes());
            k[28..32].copy_from_slice(&t.dst[0].to_le_bytes());
        }
        Self::copy_out(pc, mem, to, size, Some(k[..size].to_vec()))
    }

    /// `bpf_skb_set_tunnel_key(skb, key, size, flags)`: attaches transmit tunnel metadata.
    fn set_tunnel_key(&mut self, pc: usize, mem: &mut Memory, a: [u64; 5]) -> Result<u64, VmError> {
        const TUNINFO_IPV6: u64 = 1;
        const ZERO_CSUM_TX: u64 = 2;
        const DONT_FRAGMENT: u64 = 4;
        const SEQ_NUMBER: u64 = 8;
        const NO_TUNNEL_KEY: u64 = 16;
        let (from, size, flags) = (a[1], a[2] as u32 as usize, a[3]);
        if flags & !(TUNINFO_IPV6 | ZERO_CSUM_TX | DONT_FRAGMENT | SEQ_NUMBER | NO_TUNNEL_KEY) != 0
        {
            return Ok(err(EINVAL));
        }
        if !matches!(size, TUNNEL_KEY_SIZE | 28 | 24 | 22 | 8) {
            return Ok(err(EINVAL));
        }
        let Some(src) = mem.slice(from, size) else {
            return Err(crate::oob(pc, from, size, "helper read"));
        };
        let mut k = [0u8; TUNNEL_KEY_SIZE];
        k[..size].copy_from_slice(src);
        let w = |o: usize| u32::from_le_bytes([k[o], k[o + 1], k[o + 2], k[o + 3]]);
        let ipv6 = flags & TUNINFO_IPV6 != 0;
        let (ext, label) = (u16::from_le_bytes([k[22], k[23]]), w(24));
        if (!ipv6 && label != 0) || ext != 0 {
            return Ok(err(EINVAL));
        }
        let mut t = Tunnel {
            ipv6,
            flags: TUNNEL_NOCACHE,
            id: w(0),
            tos: k[20],
            ttl: k[21],
            ..Tunnel::default()
        };
        for (bit, on) in [
            (TUNNEL_DONT_FRAGMENT, flags & DONT_FRAGMENT != 0),
            (TUNNEL_CSUM, flags & ZERO_CSUM_TX == 0),
            (TUNNEL_SEQ, flags & SEQ_NUMBER != 0),
            (TUNNEL_KEY, flags & NO_TUNNEL_KEY == 0),
        ] {
            if on {
                t.flags |= bit;
            }
        }
        if ipv6 {
            for i in 0..4 {
                t.dst[i] = w(4 + 4 * i);
                t.src[i] = w(28 + 4 * i);
            }
            t.label = label & 0xfffff;
        } else {
            t.dst[0] = w(4);
            t.src[0] = w(28);
        }
        self.tunnel = Some(t);
        Ok(0)
    }

    /// `bpf_skb_get_tunnel_opt(skb, opt, size)`: the options set, as many bytes as were set.
    fn get_tunnel_opt(&self, pc: usize, mem: &mut Memory, a: [u64; 5]) -> Result<u64, VmError> {
        let (to, size) = (a[1], a[2] as u32 as usize);
        let t = match &self.tunnel {
            Some(t) if t.flags & TUNNEL_OPTIONS_PRESENT != 0 => t,
            _ => return Self::copy_out(pc, mem, to, size, None).map(|_| err(ENOENT)),
        };
        if size < t.opts.len() {
            return Self::copy_out(pc, mem, to, size, None).map(|_| err(ENOMEM));
        }
        let mut b = t.opts.clone();
        b.resize(size, 0);
        Self::copy_out(pc, mem, to, size, Some(b))?;
        Ok(t.opts.len() as u64)
    }

    /// `bpf_skb_set_tunnel_opt(skb, opt, size)`: options of the metadata set by
    /// `bpf_skb_set_tunnel_key`, in multiples of 4 bytes up to 255.
    fn set_tunnel_opt(&mut self, pc: usize, mem: &mut Memory, a: [u64; 5]) -> Result<u64, VmError> {
        let (from, size) = (a[1], a[2] as u32 as usize);
        let Some(t) = &mut self.tunnel else {
            return Ok(err(EINVAL));
        };
        if size % 4 != 0 {
            return Ok(err(EINVAL));
        }
        if size > 255 {
            return Ok(err(ENOMEM));
        }
        let Some(src) = mem.slice(from, size) else {
            return Err(crate::oob(pc, from, size, "helper read"));
        };
        t.opts = src.to_vec();
        if size > 0 {
            t.flags |= TUNNEL_OPTIONS_PRESENT;
        }
        Ok(0)
    }

    /// `INET_ECN_set_ce`: marks an ECN-capable IPv4 or IPv6 packet as congested; 1 if it
    /// did.
    fn ecn_set_ce(&self, mem: &mut Memory) -> u64 {
        let mut frame = self.frame(mem);
        let n = self.net;
        let done = match self.protocol(mem) {
            ETH_P_IP if n + 20 <= frame.len() => {
                let ecn = (frame[n + 1].wrapping_add(1)) & 3;
                if ecn & 2 == 0 {
                    return (ecn == 0) as u64;
                }
                let add = 0xfbffu16.wrapping_add((ecn as u16) << 8);
                let check = u16::from_le_bytes([frame[n + 10], frame[n + 11]]);
                frame[n + 10..n + 12].copy_from_slice(&csum16_add(check, add).to_le_bytes());
                frame[n + 1] |= 3;
                true
            }
            ETH_P_IPV6 if n + 40 <= frame.len() => {
                let ds = (u16::from_be_bytes([frame[n], frame[n + 1]]) >> 4) as u8;
                if ds & 3 == 0 {
                    return 0;
                }
                frame[n + 1] |= 0x30;
                true
            }
            _ => false,
        };
        if done {
            let skip = self.pulled.len();
            self.pkt(mem).copy_from_slice(&frame[skip..]);
        }
        done as u64
    }

    /// `bpf_csum_level(skb, level)` over `ip_summed` and `csum_level`.
    fn csum_level(&mut self, level: u64) -> u64 {
        match level {
            0 => {
                if self.csum_unnecessary {
                    self.csum_level as u64
                } else {
                    err(EACCES)
                }
            }
            1 => {
                if !self.csum_unnecessary {
                    self.csum_unnecessary = true;
                    self.csum_level = 0;
                } else if self.csum_level < 3 {
                    self.csum_level += 1;
                }
                0
            }
            2 => {
                if self.csum_unnecessary {
                    if self.csum_level == 0 {
                        self.csum_unnecessary = false;
                    } else {
                        self.csum_level -= 1;
                    }
                }
                0
            }
            3 => {
                self.csum_unnecessary = false;
                self.csum_level = 0;
                0
            }
            _ => err(EINVAL),
        }
    }
}

/// A flow hash of the frame for `bpf_get_hash_recalc`. The kernel's hashes the dissected
/// flow keys with a key chosen at random at boot, so only its properties are modelled:
/// nonzero, the same for the same flow.
fn flow_hash(frame: &[u8], net: usize) -> u32 {
    let keys = frame.get(net..).unwrap_or(&[]);
    let keys = &keys[..keys.len().min(40)];
    let mut h: u32 = 0x811c_9dc5;
    for &b in keys {
        h = (h ^ b as u32).wrapping_mul(0x0100_0193);
    }
    h.max(1)
}

/// Cgroup ids of the test run's socket: the cgroup (v2) of the process running the test,
/// found as the inode of its directory under the cgroup2 mount (`/proc/self/cgroup`,
/// `/proc/self/mountinfo`). Levels count from that mount's root, which is the hierarchy's
/// root outside a cgroup namespace; when no cgroup2 mount is found the root's id, 1.
mod cgroup {
    use std::os::unix::fs::MetadataExt;
    use std::path::PathBuf;

    fn mount() -> Option<PathBuf> {
        let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        info.lines().find_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let dir = pre.split_whitespace().nth(4)?;
            (post.split_whitespace().next()? == "cgroup2").then(|| PathBuf::from(dir))
        })
    }

    fn own_path() -> Vec<String> {
        let s = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        s.lines()
            .find_map(|l| l.strip_prefix("0::"))
            .unwrap_or("/")
            .split('/')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// `bpf_skb_cgroup_id` (`None`) or `bpf_skb_ancestor_cgroup_id(level)`.
    pub fn ancestor_id(level: Option<i32>) -> u64 {
        let path = own_path();
        let upto = match level {
            None => path.len(),
            Some(l) if l < 0 || l as usize > path.len() => return 0,
            Some(l) => l as usize,
        };
        let Some(mut dir) = mount() else {
            return if upto == 0 { 1 } else { 0 };
        };
        for c in &path[..upto] {
            dir.push(c);
        }
        std::fs::metadata(&dir).map(|m| m.ino()).unwrap_or(0)
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

    /// An IPv4/UDP frame with a valid header checksum and the given TOS byte.
    fn ipv4_frame(tos: u8) -> Vec<u8> {
        let mut f = vec![0u8; 6];
        f.extend_from_slice(&[2, 0x11, 0x22, 0x33, 0x44, 0x55, 0x08, 0x00]);
        f.extend_from_slice(&[
            0x45, tos, 0, 0x2e, 0x12, 0x34, 0x40, 0, 0x40, 0x11, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ]);
        let c = ip_csum(&f[14..34]);
        f[24..26].copy_from_slice(&c.to_le_bytes());
        f.resize(60, 0xab);
        f
    }

    /// Runs tc program `src` over `frame`: its return value and the frame after the run.
    fn run_tc(src: &str, frame: &[u8]) -> (u64, Vec<u8>) {
        let prog = bpf_insn::assemble(src).unwrap();
        let r = crate::run::run(&prog, 3, &[], frame, 1).unwrap();
        (r.ret, r.data_out)
    }

    #[test]
    fn ecn_set_ce_keeps_the_ipv4_checksum_valid() {
        for tos in [0x01u8, 0x02, 0xb9, 0xfe] {
            let (ret, out) = run_tc("r1 = r1\ncall 97\nexit\n", &ipv4_frame(tos));
            assert_eq!(ret, 1, "tos {tos:#x}");
            assert_eq!(out[15] & 3, 3);
            assert_eq!(ip_csum(&out[14..34]), 0, "tos {tos:#x}");
        }
        let (ret, out) = run_tc("r1 = r1\ncall 97\nexit\n", &ipv4_frame(0));
        assert_eq!((ret, out), (0, ipv4_frame(0)));
    }

    #[test]
    fn vlan_and_room_changes_undo() {
        let f = ipv4_frame(0);
        // Two pushes put the first tag in the frame; two pops take it out again.
        let src = "r6 = r1\nr2 = 0x81\nr3 = 5\ncall 18\nr1 = r6\nr2 = 0xa888\nr3 = 6\n\
                   call 18\nr7 = *(u32 *)(r6 + 0)\nr1 = r6\ncall 19\nr1 = r6\ncall 19\n\
                   r0 = *(u32 *)(r6 + 20)\nr0 <<= 16\nr0 += r7\nexit\n";
        let (ret, out) = run_tc(src, &f);
        assert_eq!(
            ret, 64,
            "len 64 after the second push, no tag after two pops"
        );
        assert_eq!(out, f);
        let src = "r6 = r1\nr2 = 12\nr3 = 0\nr4 = 0\ncall 50\nr7 = r0\nr1 = r6\n\
                   r2 = -12\nr3 = 0\nr4 = 0\ncall 50\nr0 += r7\nexit\n";
        assert_eq!(run_tc(src, &f), (0, f.clone()));
        // change_proto 4 -> 6 -> 4 gives the frame back.
        let src = "r6 = r1\nr2 = 0xdd86\nr3 = 0\ncall 31\nr7 = r0\nr1 = r6\n\
                   r2 = 0x8\nr3 = 0\ncall 31\nr0 += r7\nexit\n";
        assert_eq!(run_tc(src, &f), (0, f));
    }

    #[test]
    fn csum_level_walks_ip_summed() {
        let mut skb = Skb::new(0, Vec::new(), 1, true);
        let eacces = err(EACCES);
        let steps = [
            (0, eacces),
            (1, 0),
            (0, 0),
            (1, 0),
            (1, 0),
            (1, 0),
            (1, 0),
            (0, 3),
            (2, 0),
            (0, 2),
            (3, 0),
            (0, eacces),
            (2, 0),
            (0, eacces),
            (4, err(EINVAL)),
        ];
        for (i, (level, want)) in steps.into_iter().enumerate() {
            assert_eq!(skb.csum_level(level), want, "step {i}");
        }
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
