//! The context of each program type: its size and the fields a program may read or
//! write (`__sk_buff`, `xdp_md`, `pt_regs`, ...).

use super::*;

/// `BPF_PROG_TYPE_LWT_IN`, `_OUT`, `_XMIT`: __sk_buff contexts of lightweight tunnels.
pub(super) const LWT_IN: u32 = 10;
pub(super) const LWT_OUT: u32 = 11;
pub(super) const LWT_XMIT: u32 = 12;
/// `BPF_PROG_TYPE_CGROUP_SOCK` (context `bpf_sock`, not modelled: no field is accessible)
/// and `_CGROUP_SOCK_ADDR` (context `bpf_sock_addr`, read-only here).
pub(super) const CGROUP_SOCK: u32 = 9;
pub(super) const CGROUP_SOCK_ADDR: u32 = 18;
/// `BPF_PROG_TYPE_SK_MSG`: context `sk_msg_md`, its data a packet.
pub(super) const SK_MSG: u32 = 16;
/// `BPF_PROG_TYPE_SK_SKB`: an `__sk_buff` of a socket map's stream.
pub(super) const SK_SKB: u32 = 14;

/// Context layout per program type: (size, writable range).
pub(super) fn ctx_size(pt: u32) -> Option<u32> {
    Some(match pt {
        ptype::SOCKET_FILTER
        | ptype::SCHED_CLS
        | ptype::SCHED_ACT
        | ptype::CGROUP_SKB
        | LWT_IN
        | LWT_OUT
        | LWT_XMIT
        | SK_SKB => 192, // __sk_buff
        ptype::XDP => 24,            // xdp_md
        ptype::KPROBE => 168,        // pt_regs (x86-64)
        ptype::TRACEPOINT => 8192,   // PERF_MAX_TRACE_SIZE
        ptype::PERF_EVENT => 184,    // bpf_perf_event_data
        ptype::RAW_TRACEPOINT => 96, // 12 u64 args
        CGROUP_SOCK => 0,
        CGROUP_SOCK_ADDR => 72, // bpf_sock_addr
        SK_MSG => 80,           // sk_msg_md
        _ => return None,
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
        let pt = self.input.prog_type;
        let maps = self.input.maps;
        let ctxsz = ctx_size(pt).unwrap_or(0) as i64;
        let bad = |why: &str| -> Res<Reg> {
            rej(pc, Class::Bounds, format!("invalid bpf_context access off={off} size={size}{why}"), Some(format!("the context of this program type has {ctxsz} bytes; see its struct for valid fields")), st, maps)
        };
        if off < 0 || off + size as i64 > ctxsz {
            return bad("");
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
            ptype::SOCKET_FILTER
            | ptype::SCHED_CLS
            | ptype::SCHED_ACT
            | ptype::CGROUP_SKB
            | LWT_IN
            | LWT_OUT
            | LWT_XMIT
            | SK_SKB => {
                // __sk_buff (bpf_skb_is_valid_access and the per-type checks): accesses are
                // aligned to their size; u32 fields allow narrow reads; cb[0..4] (48..68)
                // is scratch; tstamp (152) and hwtstamp (184) are u64; flow_keys (144) and
                // sk (168) are pointers this model does not follow.
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
                if denied || within(144, 152) || within(168, 176) {
                    return bad(": this field is not accessible to this program type");
                }
                if within(152, 160) || within(184, 192) {
                    if size != 8 || write && (within(184, 192) || !tc) {
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
                    // Lightweight tunnels may write mark and priority.
                    let lwt_u32 =
                        matches!(pt, LWT_IN | LWT_OUT | LWT_XMIT) && matches!(off, 8 | 32);
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
            _ => bad(": program type not modelled"),
        }
    }
}
