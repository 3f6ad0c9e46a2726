//! The context of each program type: its size and the fields a program may read or
//! write (`__sk_buff`, `xdp_md`, `pt_regs`, ...).

use super::*;

/// `BPF_PROG_TYPE_LWT_IN`, `_OUT`, `_XMIT`: __sk_buff contexts of lightweight tunnels.
pub(super) const LWT_IN: u32 = 10;
pub(super) const LWT_OUT: u32 = 11;
pub(super) const LWT_XMIT: u32 = 12;
/// `BPF_PROG_TYPE_CGROUP_SOCK_ADDR` (context `bpf_sock_addr`, read-only here); the
/// cgroup_sock context (`bpf_sock`) is `ptype::CGROUP_SOCK`'s below.
pub(super) const CGROUP_SOCK_ADDR: u32 = 18;
/// `BPF_PROG_TYPE_SK_MSG`: context `sk_msg_md`, its data a packet.
pub(super) const SK_MSG: u32 = 16;
/// `BPF_PROG_TYPE_SK_SKB`: an `__sk_buff` of a socket map's stream.
pub(super) const SK_SKB: u32 = 14;

/// Program types whose context is an `__sk_buff`.
pub(super) fn is_sk_buff(pt: u32) -> bool {
    matches!(
        pt,
        ptype::SOCKET_FILTER
            | ptype::SCHED_CLS
            | ptype::SCHED_ACT
            | ptype::CGROUP_SKB
            | LWT_IN
            | LWT_OUT
            | LWT_XMIT
            | SK_SKB
    )
}

/// Context layout per program type: (size, writable range).
pub(super) fn ctx_size(pt: u32) -> Option<u32> {
    Some(match pt {
        t if is_sk_buff(t) => 192,   // __sk_buff
        ptype::XDP => 24,            // xdp_md
        ptype::KPROBE => 168,        // pt_regs (x86-64)
        ptype::TRACEPOINT => 8192,   // PERF_MAX_TRACE_SIZE
        ptype::PERF_EVENT => 184,    // bpf_perf_event_data
        ptype::RAW_TRACEPOINT => 96, // 12 u64 args
        ptype::CGROUP_SOCK => 80,    // bpf_sock (as sock_create sees it)
        ptype::CGROUP_DEVICE => 12,  // bpf_cgroup_dev_ctx
        ptype::CGROUP_SYSCTL => 8,   // bpf_sysctl
        CGROUP_SOCK_ADDR => 72,      // bpf_sock_addr
        SK_MSG => 80,                // sk_msg_md
        t => return net_ctx_size(t), // progtypes.rs
    })
}

impl Ctx<'_> {
    pub(super) fn ctx_access(
        &mut self,
        pc: usize,
        st: &State,
        _reg: u8,
        off: i64,
        size: usize,
        write: bool,
    ) -> Res<Reg> {
        if let Some(r) = self.btf_ctx_access(pc, st, off, size, write) {
            return r;
        }
        if let Some(r) = self.net_ctx_access(pc, st, off, size, write) {
            return r;
        }
        let pt = self.input.prog_type;
        let maps = self.input.maps;
        let ctxsz = ctx_size(pt).unwrap_or(0) as i64;
        let bad = |why: &str| -> Res<Reg> {
            rej(pc, Class::Bounds, format!("invalid bpf_context access off={off} size={size}{why}"), Some(format!("the context of this program type has {ctxsz} bytes; see its struct for valid fields")), st, maps)
        };
        if off < 0 || off + size as i64 > ctxsz {
            return bad("");
        }
        if let Some((_, (a, b))) = newer_field(pt, &self.kernel, off, size) {
            return bad(&format!(
                ": this field arrived in {a}.{b}, after {}",
                self.kernel
            ));
        }
        let pkt = |kind: Kind, id: u32| {
            Reg::Ptr(Ptr {
                kind,
                off: 0,
                var: Scalar::konst(0),
                id,
                nullable: false,
                range: 0,
            })
        };
        match pt {
            ptype::XDP => {
                if write || size != 4 || off % 4 != 0 {
                    return bad(if write { ": xdp_md is read-only" } else { "" });
                }
                Ok(match off {
                    0 => pkt(Kind::Pkt, 0),
                    4 => pkt(Kind::PktEnd, 0),
                    8 => pkt(Kind::PktMeta, 0),
                    _ => Reg::Scalar(Scalar::urange(0, u32::MAX as u64)),
                })
            }
            t if is_sk_buff(t) => {
                // __sk_buff (bpf_skb_is_valid_access and the per-type checks): accesses are
                // aligned to their size; u32 fields allow narrow reads; cb[0..4] (48..68)
                // is scratch; tstamp (152) and hwtstamp (184) are u64; flow_keys (144) is a
                // pointer this model does not follow; sk (168) a NULL-able sock_common, read
                // as a u64 by every __sk_buff type (bpf_skb_is_valid_access; see `sock`).
                let tc = matches!(pt, ptype::SCHED_CLS | ptype::SCHED_ACT);
                let within = |lo: i64, hi: i64| off < hi && off + size as i64 > lo;
                if off % size as i64 != 0 {
                    return bad(": misaligned");
                }
                let cb = within(48, 68);
                if cb && off + size as i64 > 68 {
                    return bad("");
                }
                let denied = match pt {
                    ptype::SOCKET_FILTER => {
                        within(72, 84) || within(88, 144) || within(152, 164) || within(184, 192)
                    }
                    ptype::CGROUP_SKB => within(72, 76) || within(140, 152) || within(160, 164),
                    // lwt_is_valid_access: no tc_classid, family..local_port, data_meta,
                    // tstamp, wire_len, hwtstamp.
                    LWT_IN | LWT_OUT | LWT_XMIT => {
                        within(72, 76) || within(88, 144) || within(152, 164) || within(184, 192)
                    }
                    // sk_skb_is_valid_access: no tc_classid, data_meta, tstamp, wire_len,
                    // hwtstamp, mark.
                    SK_SKB => {
                        within(72, 76)
                            || within(140, 144)
                            || within(152, 164)
                            || within(184, 192)
                            || within(8, 12)
                    }
                    _ => within(88, 140),
                };
                if denied || within(144, 152) {
                    return bad(": this field is not accessible to this program type");
                }
                if within(168, 176) {
                    if write || size != 8 {
                        return bad(": skb->sk is a read-only u64 pointer");
                    }
                    let id = self.new_id();
                    return Ok(sock::skb_sk(id));
                }
                if within(152, 160) || within(184, 192) {
                    // tstamp may be written by tc and (with CAP_BPF) cgroup_skb programs
                    // (tc_cls_act_is_valid_access, cg_skb_is_valid_access).
                    let cg = pt == ptype::CGROUP_SKB;
                    if size != 8 || write && (within(184, 192) || !(tc || cg)) {
                        return bad("");
                    }
                    return Ok(Reg::unknown());
                }
                if !cb && size > 4 {
                    return bad("");
                }
                if write {
                    // tc may write mark, queue_mapping, priority, tc_index, tc_classid;
                    // every skb type may write cb[].
                    let tc_u32 = tc && matches!(off, 8 | 12 | 32 | 44 | 72);
                    // Lightweight tunnels and cgroup_skb (cg_skb_is_valid_access) may write
                    // mark and priority.
                    let lwt_u32 = matches!(pt, LWT_IN | LWT_OUT | LWT_XMIT | ptype::CGROUP_SKB)
                        && matches!(off, 8 | 32);
                    // A socket map's stream programs may write tc_index and priority only.
                    if pt == SK_SKB {
                        if !(matches!(off, 32 | 44) && size == 4) {
                            return bad(": this field is read-only");
                        }
                        return Ok(Reg::unknown());
                    }
                    if !(cb || (tc_u32 || lwt_u32) && size == 4) {
                        return bad(": this field is read-only");
                    }
                    return Ok(Reg::unknown());
                }
                if within(76, 84) || within(140, 144) {
                    if size != 4 {
                        return bad("");
                    }
                    return Ok(match off {
                        76 => pkt(Kind::Pkt, 0),
                        80 => pkt(Kind::PktEnd, 0),
                        _ => pkt(Kind::PktMeta, 0),
                    });
                }
                Ok(Reg::Scalar(Scalar::urange(
                    0,
                    if size == 8 {
                        u64::MAX
                    } else {
                        (1u64 << (size * 8)) - 1
                    },
                )))
            }
            ptype::KPROBE | ptype::PERF_EVENT => {
                if write {
                    return bad(": the context is read-only");
                }
                if off % size as i64 != 0 {
                    return bad(": misaligned");
                }
                // bpf_perf_event_data: the pt_regs part is read in whole longs.
                if pt == ptype::PERF_EVENT && off < 168 && size != 8 {
                    return bad(": pt_regs fields are read as u64");
                }
                Ok(Reg::unknown())
            }
            ptype::TRACEPOINT => {
                if write {
                    return bad(": the context is read-only");
                }
                // The first 8 bytes (common fields header pointer) are not readable.
                if off < 8 {
                    return bad(": tracepoint fields start at offset 8");
                }
                if off % size as i64 != 0 {
                    return bad(": misaligned");
                }
                Ok(Reg::unknown())
            }
            SK_MSG => {
                // sk_msg_is_valid_access: read-only; data and data_end are u64 packet
                // pointers, the other fields u32 (the `sk` pointer is not modelled).
                if write {
                    return bad(": sk_msg_md is read-only");
                }
                if off % size as i64 != 0 {
                    return bad(": misaligned");
                }
                match (off, size) {
                    (0, 8) => Ok(pkt(Kind::Pkt, 0)),
                    (8, 8) => Ok(pkt(Kind::PktEnd, 0)),
                    (16..=68, 4) => Ok(Reg::Scalar(Scalar::urange(0, u32::MAX as u64))),
                    _ => bad(""),
                }
            }
            CGROUP_SOCK_ADDR => {
                // sock_addr_is_valid_access, reads only (writes and the `sk` pointer are not
                // modelled): user_family, family, type, protocol as u32; the addresses and
                // user_port also narrower.
                if write {
                    return bad(": writes to bpf_sock_addr are not modelled");
                }
                if off % size as i64 != 0 {
                    return bad(": misaligned");
                }
                let whole_u32 = matches!(off, 0 | 28 | 32 | 36);
                let narrow_ok = (4..28).contains(&off) || (40..60).contains(&off);
                let ip6_wide = size == 8 && matches!(off, 8 | 16 | 48);
                if whole_u32 && size == 4 || narrow_ok && size <= 4 || ip6_wide {
                    return Ok(Reg::Scalar(Scalar::urange(
                        0,
                        if size == 8 {
                            u64::MAX
                        } else {
                            (1u64 << (size * 8)) - 1
                        },
                    )));
                }
                bad(": not a readable field of bpf_sock_addr")
            }
            ptype::RAW_TRACEPOINT => {
                if write || size != 8 || off % 8 != 0 {
                    return bad(": raw tracepoint arguments are read-only u64s");
                }
                Ok(Reg::unknown())
            }
            ptype::CGROUP_SOCK => {
                // bpf_sock as a sock_create program sees it (the attach type a load without
                // one gets): bound_dev_if, mark and priority read and written as u32;
                // src_ip4, src_ip6 and src_port (post_bind only) not at all; family, type,
                // protocol, state and rx_queue_mapping read, narrow reads from their first
                // byte; dst_ip4, dst_ip6 read, narrow reads anywhere; dst_port a u16 (or the
                // u32 it is padded to).
                // `sock_filter_is_valid_access`, `bpf_sock_is_valid_access`.
                let end = off + size as i64;
                if off % size as i64 != 0 || size > 4 {
                    return bad(": fields are at most u32, aligned");
                }
                // An aligned access of at most 4 bytes stays inside one u32 field.
                let field = off - off % 4;
                if matches!(field, 0 | 16 | 20) {
                    if size != 4 {
                        return bad(": bound_dev_if, mark and priority are u32");
                    }
                } else if write {
                    return bad(": only bound_dev_if, mark and priority may be written");
                } else if (24..48).contains(&off) {
                    return bad(": src_ip4, src_ip6 and src_port are for post_bind programs");
                } else if field == 48 && !(size == 4 || end <= 50) {
                    return bad(": dst_port is a u16");
                } else if matches!(field, 4 | 8 | 12 | 72 | 76) && off != field {
                    // Narrow reads of these fields only at their first byte (the kernel
                    // matches their exact offsets; the addresses are byte ranges).
                    return bad(": a narrow read starts at the field");
                }
                Ok(Reg::Scalar(Scalar::urange(0, (1u64 << (size * 8)) - 1)))
            }
            ptype::CGROUP_DEVICE | ptype::CGROUP_SYSCTL => {
                // bpf_cgroup_dev_ctx { u32 access_type, major, minor } (read-only; narrow
                // reads of access_type); bpf_sysctl { u32 write, file_pos } (narrow reads of
                // both; file_pos may be written as a u32). `cgroup_dev_is_valid_access`,
                // `sysctl_is_valid_access`.
                if off % size as i64 != 0 || size > 4 {
                    return bad(": fields are u32");
                }
                let narrow_ok = pt == ptype::CGROUP_SYSCTL || off < 4;
                if write {
                    if pt == ptype::CGROUP_DEVICE || off < 4 || size != 4 {
                        return bad(": only bpf_sysctl.file_pos may be written, as a u32");
                    }
                } else if size != 4 && !narrow_ok {
                    return bad(": major and minor are read as u32");
                }
                Ok(Reg::Scalar(Scalar::urange(0, (1u64 << (size * 8)) - 1)))
            }
            _ => bad(": program type not modelled"),
        }
    }
}

/// Context fields newer than the target kernel: `Some((offset, release))` when the access
/// touches a field that `kernel` does not have yet (`__sk_buff`: tstamp and wire_len 5.0,
/// gso_segs and sk 5.1, gso_size 5.7, hwtstamp 5.16, tstamp_type 5.18; `xdp_md`:
/// egress_ifindex 5.8).
fn newer_field(pt: u32, kernel: &Kernel, off: i64, size: usize) -> Option<(i64, (u32, u32))> {
    let fields: &[(i64, i64, (u32, u32))] = match pt {
        t if is_sk_buff(t) => &[
            (152, 164, (5, 0)),
            (164, 176, (5, 1)),
            (176, 180, (5, 7)),
            (180, 184, (5, 18)),
            (184, 192, (5, 16)),
        ],
        ptype::XDP => &[(20, 24, (5, 8))],
        _ => &[],
    };
    let end = off + size as i64;
    fields
        .iter()
        .find(|(lo, hi, v)| off < *hi && end > *lo && !kernel.at_least(*v))
        .map(|(lo, _, v)| (*lo, *v))
}
