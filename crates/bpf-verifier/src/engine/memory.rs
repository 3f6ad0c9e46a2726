//! Memory access through a pointer: the stack (bounds, alignment, depth, spills), map
//! values, packets and ring-buffer records; context accesses are in `context`.

use super::*;

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
                    "R{reg} invalid mem access '{}': R{reg} ({}) may be NULL here",
                    sock::type_str(&Reg::Ptr(p)),
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
        // Atomic operations are always checked with strict alignment; everything with
        // BPF_F_STRICT_ALIGNMENT (packets from NET_IP_ALIGN, 2).
        let strict = self.strict_alignment
            && !self.helper_access
            && !matches!(
                p.kind,
                Kind::Stack(_) | Kind::PktEnd | Kind::MapPtr(_) | Kind::Func(_)
            );
        if strict && size > 1 && matches!(p.kind, Kind::Pkt | Kind::PktMeta) {
            let fixed = (2 + p.off + off as i64) as u64;
            if (fixed.wrapping_add(p.var.t.value) | p.var.t.mask) & (size as u64 - 1) != 0 {
                return bounds(
                    format!("misaligned packet access off 2+{}+{}+{off} size {size}", p.var, p.off),
                    Some(format!("with BPF_F_STRICT_ALIGNMENT, {size}-byte packet accesses are {size}-byte aligned from NET_IP_ALIGN (2)")),
                    st,
                );
            }
        }
        if (atomic || strict) && size > 1 && !matches!(p.kind, Kind::Pkt | Kind::PktMeta) {
            let a = size as u64 - 1;
            let fixed = (p.off + off as i64) as u64;
            if (fixed.wrapping_add(p.var.t.value) | p.var.t.mask) & a != 0 {
                let what = if matches!(p.kind, Kind::MapValue(_)) {
                    "value"
                } else {
                    ""
                };
                return bounds(
                    format!(
                        "misaligned {what} access off ({}+{}+{}) size {size}",
                        p.var, p.off, off
                    ),
                    Some(format!(
                        "atomic operations need a {size}-byte aligned address"
                    )),
                    st,
                );
            }
        }
        match p.kind {
            Kind::Stack(fr) => self.stack_access(pc, st, reg, (p, fr), off, size, write, atomic),
            Kind::MapValue(m) => {
                let v = self.map_value_access(pc, st, reg, (p, m), off, size, write, atomic)?;
                maps::lock_overlap(self, pc, st, &p, m, off, size)?;
                Ok(v)
            }
            Kind::RdMem(sz) => {
                // check_mem_region_access of PTR_TO_MEM | MEM_RDONLY.
                if is_write || atomic {
                    return rej(
                        pc,
                        Class::Pointer,
                        format!("R{reg} cannot write into rdonly_mem"),
                        None,
                        st,
                        maps,
                    );
                }
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
                Ok(Reg::unknown())
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
                if p.off != 0 {
                    return rej(
                        pc,
                        Class::Pointer,
                        format!("dereference of modified ctx ptr R{reg} off={} disallowed", p.off),
                        Some("use the context pointer unchanged, with the field's offset in the load or store".into()),
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
            Kind::Func(_) => rej(
                pc,
                Class::Pointer,
                format!("R{reg} invalid mem access 'func': a function is not memory"),
                None,
                st,
                maps,
            ),
            Kind::MapKey(m) => {
                if is_write {
                    return rej(
                        pc,
                        Class::Pointer,
                        format!("write to change key R{reg} not allowed"),
                        None,
                        st,
                        maps,
                    );
                }
                let ks = maps.get(m as usize).map_or(0, |m| m.key_size) as i128;
                if p.var.smin == i64::MIN || p.var.smax == i64::MAX || lo < 0 || hi > ks {
                    return bounds(
                        format!(
                            "invalid access to map key, key_size={ks} off={} size={size}",
                            p.off + off as i64
                        ),
                        None,
                        st,
                    );
                }
                Ok(Reg::unknown())
            }
            Kind::SockCommon | Kind::Sock | Kind::TcpSock | Kind::XdpSock => {
                self.sock_access(pc, st, reg, p, off, size, is_write, atomic)
            }
            Kind::Btf(..) => self.btf_access(pc, st, reg, p, off, size, is_write || atomic),
            Kind::MapPtr(m) => {
                if let Some(r) =
                    self.map_ptr_access(pc, st, reg, p, m, off, size, is_write || atomic)
                {
                    return r;
                }
                rej(
                    pc,
                    Class::Pointer,
                    format!("R{reg} invalid mem access 'map_ptr': a map is not memory"),
                    Some("use bpf_map_lookup_elem to get a pointer to a value".into()),
                    st,
                    maps,
                )
            }
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
        let flags = maps.get(m as usize).map_or(0, |m| m.flags);
        if flags & 0x80 != 0 && (write.is_some() || atomic) {
            return rej(pc, Class::Pointer, format!("write into map forbidden, value_size={vs} off={lo} size={size}: the map is read-only for programs (BPF_F_RDONLY_PROG)"), None, st, maps);
        }
        if flags & 0x100 != 0 && (write.is_none() || atomic) {
            return rej(pc, Class::Pointer, format!("read from map forbidden, value_size={vs} off={lo} size={size}: the map is write-only for programs (BPF_F_WRONLY_PROG)"), None, st, maps);
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
        // Direct packet writes: not for socket filters, cgroup skb and the lwt_in/out hooks
        // (the kernel's may_access_direct_pkt_data).
        if is_write
            && matches!(
                self.input.prog_type,
                ptype::SOCKET_FILTER | ptype::CGROUP_SKB | LWT_IN | LWT_OUT
            )
        {
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
        self.fastcall_access(pc, func, lo);
        // The combined depth of call chains is checked once every function is verified
        // (global::check_max_stack_depth).
        let start = (STACK as i128 + lo) as usize;
        let end = (STACK as i128 + hi) as usize;
        let var = !p.var.is_const();
        // An iterator's slots are the kfuncs' alone: a load of them is an "invalid read
        // from stack" (check_stack_read_fixed_off), and this model refuses stores too
        // (the kernel lets some of them destroy the iterator).
        let special = &st.frames[f].stack.bytes[start..end];
        if special.contains(&SLOT_ITER) || special.contains(&SLOT_DYNPTR) {
            return rej(
                pc,
                Class::Pointer,
                format!(
                    "invalid {} of stack R{reg} off={} size={size}: the slots hold an iterator or a dynptr",
                    if is_write { "write" } else { "read" },
                    p.off + off as i64
                ),
                Some("an iterator or a dynptr is only used through its kfuncs or helpers".into()),
                st,
                maps,
            );
        }
        let stack = &mut st.frames[f].stack;
        if let Some(v) = write {
            return stack_store(stack, (start, end), var, size, atomic, v);
        }
        // Read.
        let spilled = |b: usize| stack.bytes[b] == SLOT_SPILL || stack.bytes[b] == SLOT_ZERO;
        if !var && size == 8 && start.is_multiple_of(8) && stack.narrow[start / 8] == 0 {
            if let Some(r) = stack.spills[start / 8] {
                if (start..end).all(spilled) {
                    return Ok(r);
                }
            }
        }
        // A narrow fill from the slot's lowest address of a spilled scalar that fits.
        if !var && size < 8 && start.is_multiple_of(8) {
            let slot = start / 8;
            let spill_size = match stack.narrow[slot] {
                0 => 8,
                n => usize::from(n),
            };
            if let Some(Reg::Scalar(s)) = stack.spills[slot] {
                if size <= spill_size && (start..end).all(spilled) {
                    // The low `size` bytes of the spilled value; a value that fits keeps
                    // its link to the register spilled (the kernel's
                    // check_stack_read_fixed_off: "Break the relation on a narrowing
                    // fill", then coerce_reg_to_size).
                    if s.umax < 1u64 << (8 * size) {
                        return Ok(Reg::Scalar(s));
                    }
                    let low = if size == 4 {
                        s.zext32()
                    } else {
                        s.and(&Scalar::konst((1u64 << (8 * size)) - 1))
                    };
                    return Ok(Reg::Scalar(low.unlinked()));
                }
            }
        }
        let all_zero = (start..end).all(|b| stack.bytes[b] == SLOT_ZERO);
        // A partial read of a spilled pointer: refused even for root ("invalid size of
        // register fill").
        if !var && !self.helper_access {
            for slot in start / 8..end.div_ceil(8) {
                let whole = start == slot * 8 && end == slot * 8 + 8;
                if !whole
                    && matches!(stack.spills[slot], Some(Reg::Ptr(_)))
                    && (slot * 8..slot * 8 + 8).all(|b| stack.bytes[b] == SLOT_SPILL)
                {
                    return rej(
                        pc,
                        Class::Pointer,
                        "invalid size of register fill".to_string(),
                        Some("a spilled pointer can only be read back whole (8 bytes)".into()),
                        st,
                        maps,
                    );
                }
            }
        }
        Ok(if all_zero {
            Reg::konst(0)
        } else {
            Reg::unknown()
        })
    }
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
            stack.narrow[b / 8] = 0;
        }
        return Ok(v);
    }
    if size == 8 && start.is_multiple_of(8) && !atomic {
        // Spill of a full register.
        stack.spills[start / 8] = Some(v);
        stack.narrow[start / 8] = 0;
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
            stack.narrow[slot] = 0;
        }
    }
    let zero = matches!(v, Reg::Scalar(s) if s.value() == Some(0));
    // A narrow spill of a scalar that fits, at the slot's lowest address: kept, so that a
    // fill of the same bytes gets it back (the kernel's save_register_state with a size).
    if let Reg::Scalar(s) = v {
        if !atomic && start.is_multiple_of(8) && size < 8 && s.umax < 1u64 << (8 * size) {
            let slot = start / 8;
            stack.spills[slot] = Some(v);
            stack.narrow[slot] = size as u8;
            for b in start..end {
                stack.bytes[b] = if zero { SLOT_ZERO } else { SLOT_SPILL };
            }
            return Ok(v);
        }
    }
    for b in start..end {
        stack.bytes[b] = if zero { SLOT_ZERO } else { SLOT_MISC };
    }
    Ok(v)
}
