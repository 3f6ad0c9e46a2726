//! Memory access: loads and stores through stack, map value, context, packet and
//! ring-buffer pointers, and the context layouts per program type.

use super::*;

/// Context layout per program type: (size, writable range).
pub(super) fn ctx_size(pt: u32) -> Option<u32> {
    Some(match pt {
        ptype::SOCKET_FILTER | ptype::SCHED_CLS | ptype::SCHED_ACT | ptype::CGROUP_SKB => 192, // __sk_buff
        ptype::XDP => 24,            // xdp_md
        ptype::KPROBE => 168,        // pt_regs (x86-64)
        ptype::TRACEPOINT => 8192,   // PERF_MAX_TRACE_SIZE
        ptype::PERF_EVENT => 184,    // bpf_perf_event_data
        ptype::RAW_TRACEPOINT => 96, // 12 u64 args
        _ => return None,
    })
}

impl Ctx<'_> {
    /// Check a memory access through `ptr + off` of `size` bytes; for loads returns the
    /// value read.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn access(
        &mut self,
        pc: usize,
        st: &mut State,
        reg: u8,
        off: i16,
        size: usize,
        write: Option<Reg>,
        atomic: bool,
    ) -> Res<Reg> {
        let maps = self.input.maps;
        let p = match self.read_reg(pc, st, reg)? {
            Reg::Ptr(p) => p,
            Reg::Scalar(s) => {
                let what = if s.value() == Some(0) {
                    "NULL"
                } else {
                    "a scalar"
                };
                return rej(
                    pc,
                    Class::Pointer,
                    format!("R{reg} invalid mem access 'scalar': R{reg} is {what}, not a pointer"),
                    None,
                    st,
                    maps,
                );
            }
            Reg::Uninit => unreachable!("read_reg rejects uninit"),
        };
        if p.nullable {
            let hint = match p.kind {
                Kind::MapValue(_) => Some(format!("check the result of bpf_map_lookup_elem against NULL (`if (!r{reg}) ...`) before using it")),
                Kind::Mem(_) => Some("check the result of bpf_ringbuf_reserve against NULL before using it".into()),
                _ => None,
            };
            return rej(
                pc,
                Class::Null,
                format!(
                    "R{reg} invalid mem access '{}': R{reg} may be NULL here",
                    fmt_reg(&Reg::Ptr(p), maps)
                ),
                hint,
                st,
                maps,
            );
        }
        let lo = p.off as i128 + off as i128 + p.var.smin as i128;
        let hi = p.off as i128 + off as i128 + p.var.smax as i128 + size as i128;
        let is_write = write.is_some();
        let bounds = |what: String, hint: Option<String>, st: &State| -> Res<Reg> {
            rej(pc, Class::Bounds, what, hint, st, maps)
        };
        match p.kind {
            Kind::Stack(fr) => self.stack_access(pc, st, reg, (p, fr), off, size, write, atomic),
            Kind::MapValue(m) => {
                self.map_value_access(pc, st, reg, (p, m), off, size, write, atomic)
            }
            Kind::Mem(sz) => {
                if lo < 0 || hi > sz as i128 {
                    return bounds(
                        format!(
                            "invalid access to memory, mem_size={sz} off={} size={size}",
                            p.off + off as i64
                        ),
                        None,
                        st,
                    );
                }
                Ok(write.unwrap_or(Reg::unknown()))
            }
            Kind::Ctx => {
                if atomic {
                    return rej(
                        pc,
                        Class::Pointer,
                        format!("BPF_ATOMIC stores into R{reg} ctx is not allowed"),
                        None,
                        st,
                        maps,
                    );
                }
                if !p.var.is_const() || p.var.t.value != 0 {
                    return rej(
                        pc,
                        Class::Pointer,
                        format!("variable ctx access var_off={} disallowed", p.var),
                        None,
                        st,
                        maps,
                    );
                }
                let o = p.off + off as i64;
                self.ctx_access(pc, st, reg, o, size, is_write)
            }
            Kind::Pkt | Kind::PktMeta => {
                self.packet_access(pc, st, reg, p, off, size, write, atomic)
            }
            Kind::PktEnd => rej(
                pc,
                Class::Pointer,
                format!("R{reg} invalid mem access 'pkt_end'"),
                None,
                st,
                maps,
            ),
            Kind::MapPtr(_) => rej(
                pc,
                Class::Pointer,
                format!("R{reg} invalid mem access 'map_ptr': a map is not memory"),
                Some("use bpf_map_lookup_elem to get a pointer to a value".into()),
                st,
                maps,
            ),
        }
    }

    /// An access to the value of map `m`: inside `value_size`, constants from frozen maps,
    /// no writes into them.
    #[allow(clippy::too_many_arguments)]
    fn map_value_access(
        &self,
        pc: usize,
        st: &State,
        reg: u8,
        (p, m): (Ptr, u32),
        off: i16,
        size: usize,
        write: Option<Reg>,
        atomic: bool,
    ) -> Res<Reg> {
        let maps = self.input.maps;
        let lo = p.off as i128 + off as i128 + p.var.smin as i128;
        let hi = p.off as i128 + off as i128 + p.var.smax as i128 + size as i128;
        let bounds = |what: String, hint: Option<String>, st: &State| -> Res<Reg> {
            rej(pc, Class::Bounds, what, hint, st, maps)
        };
        let vs = maps.get(m as usize).map(|m| m.value_size).unwrap_or(0) as i128;
        if p.var.smin == i64::MIN || p.var.smax == i64::MAX || p.var.umax == u64::MAX {
            return bounds(
                    format!("R{reg} unbounded memory access: the variable offset of the map value pointer has no upper bound"),
                    Some("compare the index with the value size before adding it to the pointer".into()),
                    st,
                );
        }
        if lo < 0 || hi > vs {
            return bounds(
                    format!("invalid access to map value, value_size={vs} off={} size={size}: R{reg} range [{lo}, {hi}) is outside [0, {vs})", p.off + off as i64),
                    Some(format!("the access must stay within the {vs}-byte map value")),
                    st,
                );
        }
        if let (None, Some(data)) = (write, maps.get(m as usize).and_then(|m| m.frozen.as_ref())) {
            if p.var.is_const() && !atomic {
                let o = (lo) as usize;
                if let Some(b) = data.get(o..o + size) {
                    let mut v = [0u8; 8];
                    v[..size].copy_from_slice(b);
                    return Ok(Reg::konst(u64::from_le_bytes(v)));
                }
            }
        }
        if write.is_some() && maps.get(m as usize).is_some_and(|m| m.frozen.is_some()) {
            return rej(pc, Class::Pointer, format!("write into map forbidden, value_size={vs} off={lo} size={size}: the map is read-only"), None, st, maps);
        }
        Ok(write.unwrap_or(Reg::unknown()))
    }

    /// An access to the packet (or its metadata): below a checked `data_end`, never written
    /// by socket filters, no atomics.
    #[allow(clippy::too_many_arguments)]
    fn packet_access(
        &self,
        pc: usize,
        st: &State,
        reg: u8,
        p: Ptr,
        off: i16,
        size: usize,
        write: Option<Reg>,
        atomic: bool,
    ) -> Res<Reg> {
        let maps = self.input.maps;
        let is_write = write.is_some();
        let bounds = |what: String, hint: Option<String>, st: &State| -> Res<Reg> {
            rej(pc, Class::Bounds, what, hint, st, maps)
        };
        if atomic {
            return rej(
                pc,
                Class::Pointer,
                format!("BPF_ATOMIC stores into R{reg} pkt is not allowed"),
                None,
                st,
                maps,
            );
        }
        if is_write && self.input.prog_type == ptype::SOCKET_FILTER {
            return rej(
                pc,
                Class::Pointer,
                "cannot write into packet".to_string(),
                None,
                st,
                maps,
            );
        }
        let lo_f = p.off + off as i64;
        if lo_f < 0 || p.var.smin < 0 {
            return bounds(
                format!(
                    "invalid access to packet, off={lo_f} size={size}, R{reg}(id={},off={},r={})",
                    p.id, p.off, p.range
                ),
                None,
                st,
            );
        }
        if lo_f + size as i64 > p.range {
            return bounds(
                    format!("invalid access to packet, off={lo_f} size={size}, R{reg}(id={},off={},r={})", p.id, p.off, p.range),
                    Some(format!("R{reg} offset is outside of the packet: compare R{reg} + {} with data_end before the access", lo_f + size as i64)),
                    st,
                );
        }
        Ok(write.unwrap_or(Reg::unknown()))
    }

    /// An access to the stack of frame `fr`: bounds, alignment, the frame's and the call
    /// chain's depth, and spilled registers.
    #[allow(clippy::too_many_arguments)]
    fn stack_access(
        &mut self,
        pc: usize,
        st: &mut State,
        reg: u8,
        (p, fr): (Ptr, u8),
        off: i16,
        size: usize,
        write: Option<Reg>,
        atomic: bool,
    ) -> Res<Reg> {
        let maps = self.input.maps;
        let lo = p.off as i128 + off as i128 + p.var.smin as i128;
        let hi = p.off as i128 + off as i128 + p.var.smax as i128 + size as i128;
        let is_write = write.is_some();
        let bounds = |what: String, hint: Option<String>, st: &State| -> Res<Reg> {
            rej(pc, Class::Bounds, what, hint, st, maps)
        };
        if p.var.smin < p.var.smax || !p.var.is_const() {
            // Variable offset: allowed for privileged loaders within bounds.
            if p.var.smin == i64::MIN || p.var.smax == i64::MAX {
                return bounds(
                    format!("invalid unbounded variable-offset access to stack R{reg}"),
                    Some("bound the offset with a comparison first".into()),
                    st,
                );
            }
        }
        if lo < -(STACK as i128) || hi > 0 {
            return bounds(
                    format!("invalid {} of stack R{reg} off={} size={size}: outside the 512-byte stack [-512, 0)", if is_write { "write" } else { "read" }, p.off + off as i64),
                    Some("stack offsets are negative from r10 and at least -512".into()),
                    st,
                );
        }
        // The stack is always accessed with strict alignment.
        if !self.helper_access
            && p.var.is_const()
            && (p.off + off as i64 + p.var.t.value as i64).rem_euclid(size as i64) != 0
        {
            return bounds(
                format!(
                    "misaligned stack access off {}+{}+{} size {size}",
                    p.var.t.value as i64, p.off, off
                ),
                Some(format!(
                    "{size}-byte stack accesses must be {size}-byte aligned"
                )),
                st,
            );
        }
        if let Some(Reg::Ptr(_)) = write {
            if size != 8 {
                return rej(
                    pc,
                    Class::Pointer,
                    "invalid size of register spill".to_string(),
                    None,
                    st,
                    maps,
                );
            }
        }
        let f = fr as usize;
        let func = st.frames[f].func;
        let depth = (-lo) as usize;
        let d = st.frames[f].stack.depth.max(depth);
        st.frames[f].stack.depth = d;
        let e = self.func_depth.entry(func).or_insert(0);
        *e = (*e).max(d);
        // Combined depth along the call chain.
        let total: usize = st
            .frames
            .iter()
            .map(|fr| self.func_depth.get(&fr.func).copied().unwrap_or(0))
            .sum();
        if total > STACK {
            return bounds(
                format!(
                    "combined stack size of {} calls is {total}. Too large",
                    st.frames.len()
                ),
                None,
                st,
            );
        }
        let start = (STACK as i128 + lo) as usize;
        let end = (STACK as i128 + hi) as usize;
        let var = !p.var.is_const();
        let stack = &mut st.frames[f].stack;
        if let Some(v) = write {
            return stack_store(stack, (start, end), var, size, atomic, v);
        }
        // Read.
        if !var && size == 8 && start.is_multiple_of(8) {
            if let Some(r) = stack.spills[start / 8] {
                if (start..end).all(|b| stack.bytes[b] == SLOT_SPILL || stack.bytes[b] == SLOT_ZERO)
                {
                    return Ok(r);
                }
            }
        }
        let all_zero = (start..end).all(|b| stack.bytes[b] == SLOT_ZERO);
        // A partial read of a spilled pointer is a pointer leak, allowed for root: scalar.
        Ok(if all_zero {
            Reg::konst(0)
        } else {
            Reg::unknown()
        })
    }

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
            ptype::SOCKET_FILTER | ptype::SCHED_CLS | ptype::SCHED_ACT | ptype::CGROUP_SKB => {
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
                    if !(cb || tc_u32 && size == 4) {
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

/// `LDX`: a load through a pointer register.
pub(super) fn load(cx: &mut Ctx<'_>, pc: usize, st: &mut State, i: Insn) -> Res<Next> {
    let d = i.dst;
    let s = i.src;
    let size = size_bytes(i.code);
    let v = cx.access(pc, st, s, i.off, size, None, false)?;
    let v = match v {
        Reg::Ptr(p) if size == 8 => Reg::Ptr(p),
        Reg::Scalar(sc) if size == 8 => Reg::Scalar(sc),
        Reg::Ptr(p) => {
            // Narrow ctx loads that give pointers (xdp data) keep them.
            if matches!(p.kind, Kind::Pkt | Kind::PktEnd | Kind::PktMeta) {
                Reg::Ptr(p)
            } else {
                Reg::Scalar(Scalar::urange(0, (1u64 << (size * 8)) - 1))
            }
        }
        Reg::Scalar(sc) => {
            let max = (1u64 << (size * 8)) - 1;
            if sc.umax <= max {
                Reg::Scalar(sc)
            } else {
                Reg::Scalar(Scalar::urange(0, max))
            }
        }
        Reg::Uninit => Reg::unknown(),
    };
    let v = if i.mode() == mem::MEMSX {
        match v {
            Reg::Scalar(sc) => Reg::Scalar(sc.sext(size as u32 * 8)),
            _ => Reg::Scalar(Scalar::unknown_signed(size as u32 * 8)),
        }
    } else {
        v
    };
    if let Reg::Ptr(p) = v {
        if matches!(p.kind, Kind::Pkt | Kind::PktEnd | Kind::PktMeta) && p.id == 0 {
            let id = cx.new_id();
            st.cur_mut().regs[d as usize] = Reg::Ptr(Ptr { id, ..p });
            return Ok(Next::Goto(pc + 1));
        }
    }
    st.cur_mut().regs[d as usize] = v;
    Ok(Next::Goto(pc + 1))
}

/// `ST`/`STX`: a store of an immediate or a register, including atomic operations.
pub(super) fn store(cx: &mut Ctx<'_>, pc: usize, st: &mut State, i: Insn) -> Res<Next> {
    let maps = cx.input.maps;
    let d = i.dst;
    let s = i.src;
    let size = size_bytes(i.code);
    if i.mode() == mem::ATOMIC {
        let sv = cx.read_reg(pc, st, s)?;
        if let Reg::Ptr(_) = sv {
            return rej(
                pc,
                Class::Pointer,
                format!("R{s} leaks addr into mem"),
                None,
                st,
                maps,
            );
        }
        if i.imm == atomic::CMPXCHG {
            cx.read_reg(pc, st, 0)?;
        }
        cx.access(pc, st, d, i.off, size, None, true)?;
        cx.access(pc, st, d, i.off, size, Some(Reg::unknown()), true)?;
        if i.imm == atomic::CMPXCHG {
            st.cur_mut().regs[0] = Reg::unknown();
        } else if i.imm & atomic::FETCH != 0 {
            st.cur_mut().regs[s as usize] = if size == 4 {
                Reg::Scalar(Scalar::urange(0, u32::MAX as u64))
            } else {
                Reg::unknown()
            };
        }
        return Ok(Next::Goto(pc + 1));
    }
    let v = if i.class() == class::ST {
        Reg::Scalar(Scalar::konst(i.imm as i64 as u64))
    } else {
        cx.read_reg(pc, st, s)?
    };
    // Storing a pointer into anything but the stack leaks it (allowed for root only
    // into map values? The kernel forbids pointer stores into ctx/packet.)
    if let Reg::Ptr(_) = v {
        if let Reg::Ptr(dp) = cx.read_reg(pc, st, d)? {
            if !matches!(dp.kind, Kind::Stack(_)) && size != 8 {
                return rej(
                    pc,
                    Class::Pointer,
                    format!("R{s} partial store of a pointer"),
                    None,
                    st,
                    maps,
                );
            }
            if matches!(dp.kind, Kind::Ctx | Kind::Pkt | Kind::PktMeta) {
                return rej(
                    pc,
                    Class::Pointer,
                    format!("R{s} leaks addr into ctx/packet"),
                    None,
                    st,
                    maps,
                );
            }
        }
    }
    let stored = if size < 8 {
        match v {
            Reg::Scalar(sc) if sc.umax < (1u64 << (size * 8)) => v,
            Reg::Scalar(_) => Reg::unknown(),
            _ => Reg::unknown(),
        }
    } else {
        v
    };
    cx.access(pc, st, d, i.off, size, Some(stored), false)?;
    Ok(Next::Goto(pc + 1))
}

/// `LD`: the 16-byte `lddw` (constants, map pointers, direct map values) or the legacy
/// packet loads `LD_ABS`/`LD_IND`.
pub(super) fn ld(cx: &mut Ctx<'_>, pc: usize, st: &mut State, i: Insn) -> Res<Next> {
    if i.is_lddw() {
        return lddw(cx, pc, st, i);
    }
    let maps = cx.input.maps;
    let s = i.src;
    // Legacy LD_ABS / LD_IND.
    if !matches!(
        cx.input.prog_type,
        ptype::SOCKET_FILTER | ptype::SCHED_CLS | ptype::SCHED_ACT
    ) {
        return rej(
            pc,
            Class::Helper,
            "BPF_LD_[ABS|IND] instructions not allowed for this program type".to_string(),
            None,
            st,
            maps,
        );
    }
    match cx.read_reg(pc, st, 6)? {
        Reg::Ptr(p) if p.kind == Kind::Ctx && p.off == 0 => {}
        _ => {
            return rej(
                pc,
                Class::Pointer,
                "at the time of BPF_LD_ABS|IND R6 != pointer to skb".to_string(),
                None,
                st,
                maps,
            )
        }
    }
    if i.mode() == mem::IND {
        if let Reg::Ptr(_) = cx.read_reg(pc, st, s)? {
            return rej(
                pc,
                Class::Pointer,
                format!("R{s} pointer used as packet offset"),
                None,
                st,
                maps,
            );
        }
    }
    let f = st.cur_mut();
    for r in 1..=5 {
        f.regs[r] = Reg::Uninit;
    }
    let size = size_bytes(i.code);
    f.regs[0] = Reg::Scalar(Scalar::urange(0, (1u64 << (size * 8)) - 1));
    Ok(Next::Goto(pc + 1))
}

fn lddw(cx: &mut Ctx<'_>, pc: usize, st: &mut State, i: Insn) -> Res<Next> {
    let maps = cx.input.maps;
    let d = i.dst;
    let hi = cx.input.insns[pc + 1];
    let v = match i.src {
        0 => Reg::konst(lddw_value(&i, &hi)),
        pseudo::MAP_FD | pseudo::MAP_IDX => {
            let m = i.imm as u32;
            if maps.get(m as usize).is_none() {
                return rej(
                    pc,
                    Class::Cfg,
                    format!("fd {} is not pointing to valid bpf_map", i.imm),
                    None,
                    st,
                    maps,
                );
            }
            Reg::Ptr(Ptr {
                kind: Kind::MapPtr(m),
                off: 0,
                var: Scalar::konst(0),
                id: 0,
                nullable: false,
                range: 0,
            })
        }
        pseudo::MAP_VALUE | pseudo::MAP_IDX_VALUE => {
            let m = i.imm as u32;
            let Some(mi) = maps.get(m as usize) else {
                return rej(
                    pc,
                    Class::Cfg,
                    format!("fd {} is not pointing to valid bpf_map", i.imm),
                    None,
                    st,
                    maps,
                );
            };
            if mi.map_type != 2 || mi.max_entries != 1 && hi.imm as u32 >= mi.value_size {
                return rej(
                    pc,
                    Class::Cfg,
                    "direct value access is only for array maps".to_string(),
                    None,
                    st,
                    maps,
                );
            }
            let off = hi.imm as u32 as i64;
            if off >= mi.value_size as i64 {
                return rej(
                    pc,
                    Class::Bounds,
                    format!(
                        "invalid access to map value pointer, value_size={} off={off}",
                        mi.value_size
                    ),
                    None,
                    st,
                    maps,
                );
            }
            Reg::Ptr(Ptr {
                kind: Kind::MapValue(m),
                off,
                var: Scalar::konst(0),
                id: 0,
                nullable: false,
                range: 0,
            })
        }
        other => {
            return rej(
                pc,
                Class::Unsupported,
                format!("lddw pseudo source {other} (BTF ids, functions) is not modelled"),
                None,
                st,
                maps,
            );
        }
    };
    st.cur_mut().regs[d as usize] = v;
    Ok(Next::Goto(pc + 2))
}

/// A store of `v` into stack bytes `start..end` (`var`: at a variable offset): spills a
/// full register, zeroes, or destroys the spills it partly overwrites.
fn stack_store(
    stack: &mut Stack,
    (start, end): (usize, usize),
    var: bool,
    size: usize,
    atomic: bool,
    v: Reg,
) -> Res<Reg> {
    if var {
        for b in start..end {
            stack.bytes[b] = SLOT_MISC;
            stack.spills[b / 8] = None;
        }
        return Ok(v);
    }
    if size == 8 && start.is_multiple_of(8) && !atomic {
        // Spill of a full register.
        stack.spills[start / 8] = Some(v);
        for b in start..end {
            stack.bytes[b] = SLOT_SPILL;
        }
        if let Reg::Scalar(s) = v {
            if s.value() == Some(0) {
                for b in start..end {
                    stack.bytes[b] = SLOT_ZERO;
                }
                stack.spills[start / 8] = Some(v);
            }
        }
        return Ok(v);
    }
    // Partial overwrite of a spilled pointer destroys it.
    for b in start..end {
        if stack.bytes[b] == SLOT_SPILL || stack.bytes[b] == SLOT_ZERO {
            let slot = b / 8;
            if let Some(Reg::Ptr(_)) = stack.spills[slot] {
                for k in slot * 8..slot * 8 + 8 {
                    stack.bytes[k] = SLOT_MISC;
                }
            } else {
                for k in slot * 8..slot * 8 + 8 {
                    if stack.bytes[k] == SLOT_SPILL || stack.bytes[k] == SLOT_ZERO {
                        stack.bytes[k] = SLOT_MISC;
                    }
                }
            }
            stack.spills[slot] = None;
        }
    }
    let zero = matches!(v, Reg::Scalar(s) if s.value() == Some(0));
    for b in start..end {
        stack.bytes[b] = if zero { SLOT_ZERO } else { SLOT_MISC };
    }
    Ok(v)
}
