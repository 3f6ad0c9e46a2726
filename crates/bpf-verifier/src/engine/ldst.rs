//! Load and store instructions: `LDX`, `ST`/`STX` (with atomics), `lddw` (constants,
//! map pointers, direct map values) and the legacy packet loads `LD_ABS`/`LD_IND`. The
//! accesses themselves are checked in `memory`.

use super::*;

/// `LDX`: a load through a pointer register.
pub(super) fn load(cx: &mut Ctx<'_>, pc: usize, st: &mut State, i: Insn) -> Res<Next> {
    let d = i.dst;
    let s = i.src;
    let size = size_bytes(i.code);
    if d == 10 {
        return rej(
            pc,
            Class::Pointer,
            "frame pointer is read only".to_string(),
            None,
            st,
            cx.input.maps,
        );
    }
    let v = cx.access(pc, st, s, i.off, size, None, false)?;
    if i.mode() == mem::MEMSX && matches!(v, Reg::Ptr(_)) {
        // A sign-extending load of a context field that holds a pointer (data, data_end).
        return rej(
            pc,
            Class::Bounds,
            format!("invalid bpf_context access off={} size={size}: a sign-extending load of a pointer field", i.off),
            None,
            st,
            cx.input.maps,
        );
    }
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
            Reg::Scalar(sc) => Reg::Scalar(sc.sext(size as u32 * 8).unlinked()),
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
    let d = i.dst;
    let s = i.src;
    let size = size_bytes(i.code);
    if i.mode() == mem::ATOMIC {
        // A pointer operand leaks its value, which a privileged loader may.
        cx.read_reg(pc, st, s)?;
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
    let mut v = if i.class() == class::ST {
        Reg::Scalar(Scalar::konst(i.imm as i64 as u64))
    } else {
        cx.read_reg(pc, st, s)?
    };
    // A spill to the stack of a scalar that fits in the stored bytes links the spilled
    // copy to the register (the kernel's check_stack_write_fixed_off: "Make sure that reg
    // had an ID to build a relation on spill").
    if let (Reg::Scalar(sc), Reg::Ptr(p)) = (v, st.cur().regs[d as usize]) {
        if i.class() == class::STX
            && cx.kernel.linked_scalars()
            && matches!(p.kind, Kind::Stack(_))
            && p.var.is_const()
            && (size == 8 || sc.umax < 1u64 << (size * 8))
        {
            v = Reg::Scalar(cx.link_scalar(st, s as usize, sc));
        }
    }
    // Before 6.12 (as far as checked: Debian's 6.1) an unbounded scalar is not spilled as
    // a register (check_stack_write_fixed_off needed register_is_bounded): the slot holds
    // some value, linked to nothing.
    if let (Reg::Scalar(sc), Reg::Ptr(p)) = (v, st.cur().regs[d as usize]) {
        if !cx.kernel.linked_scalars()
            && matches!(p.kind, Kind::Stack(_))
            && sc.unlinked() == Scalar::unknown()
        {
            v = Reg::Scalar(Scalar::unknown());
        }
    }
    // Storing a pointer anywhere but the stack leaks its value: allowed to a privileged
    // loader (the kernel's is_pointer_value() is false with allow_ptr_leaks), at any size;
    // what is stored is then a number. Spills to the stack are checked in `memory`.
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
    // check_ld_abs: a failing load ends the program, which would leak a held reference.
    sock::check_ld_abs(pc, st, maps)?;
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
    // check_ld_abs: mark_reg_unknown(R0), whatever the load's size.
    f.regs[0] = Reg::unknown();
    // In a subprogram a failing load returns 0 to the caller (see ldabs.rs; the subprogram
    // itself was checked at load time by check_subprog_ld_abs).
    if let Some(ret) = subprog_load(cx, pc, st)? {
        return Ok(Next::Branch((pc + 1, st.clone()), ret));
    }
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
        pseudo::FUNC if !cx.func_info => {
            return rej(
                pc,
                Class::Cfg,
                "missing btf func_info",
                Some("a callback (`lddw rX, <function>`) needs BTF function info, as clang emits for an object (`.BTF.ext`); raw instructions have none".into()),
                st,
                maps,
            );
        }
        pseudo::FUNC => Reg::Ptr(Ptr {
            kind: Kind::Func((pc as i64 + 1 + i.imm as i64) as u32),
            off: 0,
            var: Scalar::konst(0),
            id: 0,
            nullable: false,
            range: 0,
        }),
        other => {
            return rej(
                pc,
                Class::Unsupported,
                format!("lddw pseudo source {other} (BTF ids) is not modelled"),
                None,
                st,
                maps,
            );
        }
    };
    st.cur_mut().regs[d as usize] = v;
    Ok(Next::Goto(pc + 2))
}
