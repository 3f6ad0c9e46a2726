//! Conditional jumps: deciding branches, refining scalar ranges on each side, NULL
//! checks and packet range checks.

use super::*;

/// Refine `a OP b` (scalars) on the taken (`true`) and not-taken side.
pub(super) fn refine(a: &Scalar, b: &Scalar, op: u8, taken: bool) -> Option<(Scalar, Scalar)> {
    // Normalise to the taken-side condition.
    let op = if taken { op } else { negate(op) };
    let (mut a, mut b) = (*a, *b);
    match op {
        jmp::JEQ => {
            let lo = a.umin.max(b.umin);
            let hi = a.umax.min(b.umax);
            let slo = a.smin.max(b.smin);
            let shi = a.smax.min(b.smax);
            let t = a.t.intersect(b.t);
            if lo > hi || slo > shi || (a.t.value ^ b.t.value) & !(a.t.mask | b.t.mask) != 0 {
                return None;
            }
            let (u32lo, u32hi) = (a.u32min.max(b.u32min), a.u32max.min(b.u32max));
            let (s32lo, s32hi) = (a.s32min.max(b.s32min), a.s32max.min(b.s32max));
            for x in [&mut a, &mut b] {
                x.umin = lo;
                x.umax = hi;
                x.smin = slo;
                x.smax = shi;
                x.u32min = u32lo;
                x.u32max = u32hi;
                x.s32min = s32lo;
                x.s32max = s32hi;
                x.t = t;
                x.sync();
            }
        }
        jmp::JNE => {
            if let (Some(x), Some(y)) = (a.value(), b.value()) {
                if x == y {
                    return None;
                }
            }
            if let Some(y) = b.value() {
                if a.umin == y && a.umin < a.umax {
                    a.umin += 1;
                } else if a.umax == y && a.umin < a.umax {
                    a.umax -= 1;
                }
                if a.smin == y as i64 && a.smin < a.smax {
                    a.smin += 1;
                } else if a.smax == y as i64 && a.smin < a.smax {
                    a.smax -= 1;
                }
                a.sync();
            }
        }
        jmp::JGT => {
            // a > b
            if a.umax <= b.umin {
                return None;
            }
            a.umin = a.umin.max(b.umin.saturating_add(1));
            b.umax = b.umax.min(a.umax - 1);
            a.sync();
            b.sync();
        }
        jmp::JGE => {
            if a.umax < b.umin {
                return None;
            }
            a.umin = a.umin.max(b.umin);
            b.umax = b.umax.min(a.umax);
            a.sync();
            b.sync();
        }
        jmp::JLT => {
            if a.umin >= b.umax {
                return None;
            }
            a.umax = a.umax.min(b.umax - 1);
            b.umin = b.umin.max(a.umin.saturating_add(1));
            a.sync();
            b.sync();
        }
        jmp::JLE => {
            if a.umin > b.umax {
                return None;
            }
            a.umax = a.umax.min(b.umax);
            b.umin = b.umin.max(a.umin);
            a.sync();
            b.sync();
        }
        jmp::JSGT => {
            if a.smax <= b.smin {
                return None;
            }
            a.smin = a.smin.max(b.smin.saturating_add(1));
            b.smax = b.smax.min(a.smax - 1);
            a.sync();
            b.sync();
        }
        jmp::JSGE => {
            if a.smax < b.smin {
                return None;
            }
            a.smin = a.smin.max(b.smin);
            b.smax = b.smax.min(a.smax);
            a.sync();
            b.sync();
        }
        jmp::JSLT => {
            if a.smin >= b.smax {
                return None;
            }
            a.smax = a.smax.min(b.smax - 1);
            b.smin = b.smin.max(a.smin.saturating_add(1));
            a.sync();
            b.sync();
        }
        jmp::JSLE => {
            if a.smin > b.smax {
                return None;
            }
            a.smax = a.smax.min(b.smax);
            b.smin = b.smin.max(a.smin);
            a.sync();
            b.sync();
        }
        jmp::JSET => {
            // (a & b) != 0
            if let Some(y) = b.value() {
                if a.t.value & y != 0 {
                    // certainly set: nothing to refine
                } else if (a.t.value | a.t.mask) & y == 0 {
                    return None;
                }
            }
        }
        0xff => {
            // (a & b) == 0
            if let Some(y) = b.value() {
                if a.t.value & y != 0 {
                    return None;
                }
                a.t.mask &= !y;
                a.sync();
            }
        }
        _ => {}
    }
    if a.is_empty() || b.is_empty() {
        return None;
    }
    Some((a, b))
}

/// Refine a JMP32 compare `a OP b`: the compare of the low halves is the 64-bit compare of
/// their zero-extensions (unsigned compares, equality, bit tests) or sign-extensions
/// (signed compares); what it learns is put back into the 32-bit bounds and the low bits
/// of each register (the kernel's reg_set_min_max on the subregisters, is_branch_taken
/// with `is_jmp32`).
pub(super) fn refine32(a: &Scalar, b: &Scalar, op: u8, taken: bool) -> Option<(Scalar, Scalar)> {
    let signed = matches!(op, jmp::JSGT | jmp::JSGE | jmp::JSLT | jmp::JSLE);
    let proj = |s: &Scalar| if signed { s.sext32_low() } else { s.zext32() };
    let (pa, pb) = refine(&proj(a), &proj(b), op, taken)?;
    Some((a.with_low32(&pa)?, b.with_low32(&pb)?))
}

/// The condition that holds when a jump with `op` is not taken (`0xff` stands for
/// "`a & b == 0`", the negation of `JSET`).
fn negate(op: u8) -> u8 {
    match op {
        jmp::JEQ => jmp::JNE,
        jmp::JNE => jmp::JEQ,
        jmp::JGT => jmp::JLE,
        jmp::JLE => jmp::JGT,
        jmp::JGE => jmp::JLT,
        jmp::JLT => jmp::JGE,
        jmp::JSGT => jmp::JSLE,
        jmp::JSLE => jmp::JSGT,
        jmp::JSGE => jmp::JSLT,
        jmp::JSLT => jmp::JSGE,
        jmp::JSET => 0xff, // not-taken JSET: (a & b) == 0
        o => o,
    }
}

pub(super) fn jmp_op(cx: &mut Ctx<'_>, pc: usize, st: &mut State, i: Insn) -> Res<Next> {
    let maps = cx.input.maps;
    let is32 = i.class() == class::JMP32;
    match i.op() {
        jmp::JA => {
            let t = (pc as i64 + 1 + i.jump_offset()) as usize;
            Ok(Next::Goto(t))
        }
        jmp::EXIT => exit(cx, pc, st),
        jmp::CALL => call(cx, pc, st, i),
        // may_goto: the jump (the budget ran out) or one more iteration.
        0xe0 if !is32 => {
            let t = (pc as i64 + 1 + i.off as i64) as usize;
            let mut more = st.clone();
            more.may_goto_depth += 1;
            Ok(Next::Branch((t, st.clone()), (pc + 1, more)))
        }
        op => {
            let target = (pc as i64 + 1 + i.off as i64) as usize;
            let a = cx.read_reg(pc, st, i.dst)?;
            let b = if i.is_reg_src() {
                cx.read_reg(pc, st, i.src)?
            } else {
                Reg::Scalar(Scalar::konst(if is32 {
                    i.imm as u32 as u64
                } else {
                    i.imm as i64 as u64
                }))
            };
            match (a, b) {
                (Reg::Scalar(sa), Reg::Scalar(sb)) => {
                    let (mut t, mut f) = if is32 {
                        (refine32(&sa, &sb, op, true), refine32(&sa, &sb, op, false))
                    } else {
                        (refine(&sa, &sb, op, true), refine(&sa, &sb, op, false))
                    };
                    // Older kernels decide `==`/`!=` only between constants, and nothing
                    // between two registers unless the source is a constant: both ways are
                    // explored, as they are there.
                    let konst = |s: &Scalar| {
                        if is32 {
                            s.t.mask as u32 == 0
                        } else {
                            s.is_const()
                        }
                    };
                    if !cx.kernel.range_branches()
                        && (i.is_reg_src() && !konst(&sb)
                            || matches!(op, jmp::JEQ | jmp::JNE) && !konst(&sa))
                    {
                        t = t.or(Some((sa, sb)));
                        f = f.or(Some((sa, sb)));
                    }
                    let mk = |r: Option<(Scalar, Scalar)>, st: &State| -> Option<State> {
                        r.map(|(x, y)| {
                            let mut s2 = st.clone();
                            s2.cur_mut().regs[i.dst as usize] = Reg::Scalar(x);
                            Ctx::sync_linked(&mut s2, x);
                            if i.is_reg_src() {
                                s2.cur_mut().regs[i.src as usize] = Reg::Scalar(y);
                                Ctx::sync_linked(&mut s2, y);
                            }
                            s2
                        })
                    };
                    let ts = mk(t, st);
                    let fs = mk(f, st);
                    branch(pc, target, ts, fs)
                }
                // A NULL check is a comparison of the pointer (dst) with the immediate 0
                // (check_cond_jmp_op: BPF_K, imm 0); a register holding 0 checks nothing.
                (Reg::Ptr(p), Reg::Scalar(sb))
                    if p.nullable
                        && !i.is_reg_src()
                        && sb.value() == Some(0)
                        && !is32
                        && matches!(op, jmp::JEQ | jmp::JNE) =>
                {
                    // NULL check: on the `== 0` side the pointer is 0; on the other it is valid.
                    let mut null_st = st.clone();
                    Ctx::for_id(&mut null_st, p.id, &mut |r| *r = Reg::konst(0));
                    sock::null_side(&mut null_st, p.id);
                    let mut ok_st = st.clone();
                    Ctx::for_id(&mut ok_st, p.id, &mut |r| {
                        if let Reg::Ptr(q) = r {
                            q.nullable = false;
                            maps::not_null(&cx.inner, q);
                        }
                    });
                    if op == jmp::JEQ {
                        branch(pc, target, Some(null_st), Some(ok_st))
                    } else {
                        branch(pc, target, Some(ok_st), Some(null_st))
                    }
                }
                // is_branch_taken: a pointer that cannot be NULL (the kernel's reg_not_null:
                // sockets, map values and keys, memory) is never equal to 0.
                (Reg::Ptr(p), Reg::Scalar(sb)) | (Reg::Scalar(sb), Reg::Ptr(p))
                    if (sock::is_sock(p.kind)
                        || matches!(
                            p.kind,
                            Kind::MapValue(_) | Kind::MapKey(_) | Kind::Mem(_) | Kind::RdMem(_)
                        ))
                        && !p.nullable
                        && sb.value() == Some(0)
                        && !is32
                        && matches!(op, jmp::JEQ | jmp::JNE) =>
                {
                    if op == jmp::JEQ {
                        branch(pc, target, None, Some(st.clone()))
                    } else {
                        branch(pc, target, Some(st.clone()), None)
                    }
                }
                (Reg::Ptr(pa), Reg::Ptr(pb)) if !is32 => {
                    // Packet bounds: pkt (+K) vs pkt_end.
                    // Packet bounds: pkt (+K) vs pkt_end, and pkt_meta (+K) vs the unmoved
                    // start of the packet (the kernel's try_match_pkt_pointers); pkt_meta vs
                    // pkt_end bounds nothing.
                    let bounds = |a: &Ptr, b: &Ptr| {
                        a.kind == Kind::Pkt && b.kind == Kind::PktEnd
                            || a.kind == Kind::PktMeta
                                && b.kind == Kind::Pkt
                                && b.off == 0
                                && b.var.value() == Some(0)
                    };
                    let (pk, swapped) = if bounds(&pa, &pb) {
                        (Some(pa), false)
                    } else if bounds(&pb, &pa) {
                        (Some(pb), true)
                    } else {
                        (None, false)
                    };
                    let Some(pk) = pk else {
                        // Other pointer comparisons: root may compare pointers; both sides live.
                        // On the side where they are equal, a NULL-able pointer equal to one
                        // known not to be NULL is not NULL (check_cond_jmp_op with
                        // reg_not_null; that register only, mark_ptr_not_null_reg).
                        let not_null = |q: &Ptr| {
                            !q.nullable
                                && q.var.smin > -(1 << 29)
                                && q.var.smax < 1 << 29
                                && (sock::is_sock(q.kind)
                                    || matches!(q.kind, Kind::MapValue(_) | Kind::MapKey(_)))
                        };
                        let mut eq = st.clone();
                        let r = if not_null(&pa) && pb.nullable {
                            Some(i.src)
                        } else if not_null(&pb) && pa.nullable {
                            Some(i.dst)
                        } else {
                            None
                        };
                        if let (Some(r), true) = (
                            r,
                            matches!(op, jmp::JEQ | jmp::JNE) && cx.kernel.linked_scalars(),
                        ) {
                            if let Reg::Ptr(q) = &mut eq.cur_mut().regs[r as usize] {
                                q.nullable = false;
                                maps::not_null(&cx.inner, q);
                            }
                        }
                        return if op == jmp::JEQ {
                            branch(pc, target, Some(eq), Some(st.clone()))
                        } else if op == jmp::JNE {
                            branch(pc, target, Some(st.clone()), Some(eq))
                        } else {
                            branch(pc, target, Some(st.clone()), Some(st.clone()))
                        };
                    };
                    // Normalise to `pk OP end`.
                    let op = if swapped {
                        match op {
                            jmp::JGT => jmp::JLT,
                            jmp::JLT => jmp::JGT,
                            jmp::JGE => jmp::JLE,
                            jmp::JLE => jmp::JGE,
                            o => o,
                        }
                    } else {
                        op
                    };
                    // Which side knows pk <= end (range = off) or pk < end (range = off+... we use off).
                    let (safe_taken, safe_fall) = match op {
                        jmp::JGT => (false, true), // pk > end taken -> fallthrough pk <= end
                        jmp::JGE => (false, true), // pk >= end taken -> fallthrough pk < end
                        jmp::JLT => (true, false), // pk < end taken
                        jmp::JLE => (true, false), // pk <= end taken
                        _ => (false, false),
                    };
                    // `pk < end` (and `!(pk >= end)`) proves one byte more than `pk <= end`
                    // (the kernel's range_right_open).
                    let open = matches!(op, jmp::JLT | jmp::JGE);
                    let range = if pk.var.is_const() {
                        pk.off + pk.var.t.value as i64
                    } else {
                        pk.off
                    } + i64::from(open);
                    // A pointer beyond the largest packet (MAX_PACKET_OFF) or before its
                    // start proves nothing (the kernel's find_good_pkt_pointers).
                    let proves = pk.off >= 0
                        && !(pk.off == 0 && open)
                        && pk.var.umax.saturating_add(pk.off as u64) <= 0xffff;
                    let mark = |mut s: State| -> State {
                        if !proves {
                            return s;
                        }
                        Ctx::for_id(&mut s, pk.id, &mut |r| {
                            if let Reg::Ptr(q) = r {
                                q.range = q.range.max(range);
                            }
                        });
                        s
                    };
                    let ts = if safe_taken {
                        mark(st.clone())
                    } else {
                        st.clone()
                    };
                    let fs = if safe_fall {
                        mark(st.clone())
                    } else {
                        st.clone()
                    };
                    branch(pc, target, Some(ts), Some(fs))
                }
                _ => {
                    // Pointer vs scalar comparisons other than NULL checks: privileged loaders
                    // may compare; both outcomes are possible.
                    let _ = maps;
                    branch(pc, target, Some(st.clone()), Some(st.clone()))
                }
            }
        }
    }
}

pub(super) fn branch(
    pc: usize,
    target: usize,
    taken: Option<State>,
    fall: Option<State>,
) -> Res<Next> {
    Ok(match (taken, fall) {
        (Some(t), Some(f)) => Next::Branch((pc + 1, f), (target, t)),
        (Some(t), None) => Next::Move(target, t),
        (None, Some(f)) => Next::Move(pc + 1, f),
        (None, None) => Next::End,
    })
}
