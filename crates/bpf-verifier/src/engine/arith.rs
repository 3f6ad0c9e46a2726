//! Arithmetic: scalar ALU operations and pointer arithmetic.

use super::*;

pub(super) fn alu_op(cx: &mut Ctx<'_>, pc: usize, st: &mut State, i: Insn) -> Res<()> {
    let maps = cx.input.maps;
    let is64 = i.class() == class::ALU64;
    let d = i.dst as usize;
    if d == 10 {
        return rej(
            pc,
            Class::Pointer,
            "frame pointer is read only".to_string(),
            None,
            st,
            maps,
        );
    }
    let op = i.op();
    if !i.is_reg_src() {
        if matches!(op, alu::DIV | alu::MOD) && i.imm == 0 {
            return rej(
                pc,
                Class::Cfg,
                "div by zero",
                Some("division by a constant 0 is refused outright".into()),
                st,
                maps,
            );
        }
        let bits = if is64 { 64 } else { 32 };
        if matches!(op, alu::LSH | alu::RSH | alu::ARSH) && (i.imm < 0 || i.imm >= bits) {
            return rej(
                pc,
                Class::Cfg,
                format!("invalid shift {}", i.imm),
                Some(format!("shift amounts are 0..{}", bits - 1)),
                st,
                maps,
            );
        }
    }
    // Source operand. A byte swap has none: its source bit selects the byte order
    // (BPF_TO_BE), not a register (the kernel's check_alu_op for BPF_END reads only dst).
    let src = if i.is_reg_src() && op != alu::END {
        cx.read_reg(pc, st, i.src)?
    } else {
        Reg::Scalar(Scalar::konst(if is64 {
            i.imm as i64 as u64
        } else {
            i.imm as u32 as u64
        }))
    };
    if op == alu::MOV {
        // A move that copies the value unchanged (the whole register; the low half of a
        // value below 2^32; a sign extension of a value without the sign bit) links the
        // copy to its source: both get one scalar id (the kernel's
        // assign_scalar_id_before_mov in check_alu_op). Other moves give an unlinked value.
        let same = |s: &Scalar| match (is64, i.off) {
            (true, 0) => true,
            (false, 0) => s.umax <= u32::MAX as u64,
            (_, off) if (1..64).contains(&off) => s.umax < 1u64 << (off - 1),
            _ => false,
        };
        if let Reg::Scalar(s) = src {
            if i.is_reg_src() && same(&s) {
                let s = cx.link_scalar(st, i.src as usize, s);
                st.cur_mut().regs[d] = Reg::Scalar(s);
                return Ok(());
            }
        }
        let v = if i.off != 0 {
            match src {
                Reg::Scalar(s) => {
                    let r = s.sext(i.off as u32);
                    if is64 {
                        Reg::Scalar(r.unlinked())
                    } else {
                        Reg::Scalar(r.zext32().unlinked())
                    }
                }
                _ => Reg::unknown(),
            }
        } else if is64 {
            // Copies share the pointer's id (NULL checks apply to all copies).
            src
        } else {
            match src {
                Reg::Scalar(s) => Reg::Scalar(s.zext32().unlinked()),
                // Partial copy of a pointer: a privileged loader gets an unknown scalar.
                _ => Reg::Scalar(Scalar::urange(0, u32::MAX as u64)),
            }
        };
        st.cur_mut().regs[d] = v;
        return Ok(());
    }
    let dst = cx.read_reg(pc, st, i.dst)?;
    if op == alu::NEG && matches!(dst, Reg::Ptr(_)) {
        // A privileged loader may negate a pointer: the result is a number.
        st.cur_mut().regs[d] = Reg::unknown();
        return Ok(());
    }
    match (dst, src) {
        (Reg::Scalar(a), Reg::Scalar(b)) => {
            // The result of an operation is a new value, linked to nothing; except that
            // `rX += K` (64-bit, 0 < K <= S32_MAX) on a linked value that has no offset yet
            // stays linked, K above it (the kernel's BPF_ADD_CONST in
            // adjust_reg_min_max_vals).
            let mut r = scalar_alu(i, a, b).unlinked();
            if let Some(k) = b.value() {
                if is64
                    && cx.kernel.linked_scalars()
                    && op == alu::ADD
                    && a.id != 0
                    && a.link_off == 0
                    && (1..=i32::MAX as u64).contains(&k)
                {
                    r.id = a.id;
                    r.link_off = k as i64;
                }
            }
            st.cur_mut().regs[d] = Reg::Scalar(r);
            Ok(())
        }
        (Reg::Ptr(_), _) | (_, Reg::Ptr(_)) => pointer_alu(cx, pc, st, i, dst, src),
        _ => rej(
            pc,
            Class::Uninit,
            "uninitialised operand".to_string(),
            None,
            st,
            maps,
        ),
    }
}

/// ALU operations with a pointer operand: only 64-bit `+`/`-` of a scalar, and the
/// difference of two pointers of one kind (a scalar).
fn pointer_alu(
    cx: &mut Ctx<'_>,
    pc: usize,
    st: &mut State,
    i: Insn,
    dst: Reg,
    src: Reg,
) -> Res<()> {
    let maps = cx.input.maps;
    let is64 = i.class() == class::ALU64;
    let d = i.dst as usize;
    let op = i.op();
    // 32-bit arithmetic on a pointer gives a meaningless number; a privileged loader may
    // have it from a subtraction (the kernel's adjust_ptr_min_max_vals).
    if !is64
        && op == alu::SUB
        && matches!(
            (dst, src),
            (Reg::Ptr(_), Reg::Scalar(_)) | (Reg::Scalar(_), Reg::Ptr(_))
        )
    {
        st.cur_mut().regs[d] = Reg::unknown();
        return Ok(());
    }
    match (dst, src) {
        (Reg::Ptr(p), Reg::Scalar(b)) => {
            if !is64 {
                return rej(
                    pc,
                    Class::Pointer,
                    format!("R{d} 32-bit pointer arithmetic prohibited"),
                    None,
                    st,
                    maps,
                );
            }
            if op != alu::ADD && op != alu::SUB {
                return rej(
                    pc,
                    Class::Pointer,
                    format!(
                        "R{d} pointer arithmetic with {} operator prohibited",
                        alu_name(op)
                    ),
                    Some("only + and - with a scalar are allowed on pointers".into()),
                    st,
                    maps,
                );
            }
            if op == alu::SUB && matches!(p.kind, Kind::Stack(_)) {
                // The kernel refuses any subtraction from a stack pointer (add a negative
                // number instead, as compilers do).
                return rej(
                    pc,
                    Class::Pointer,
                    format!("R{d} subtraction from stack pointer prohibited"),
                    Some(format!("write `r{d} += -N` instead of `r{d} -= N`")),
                    st,
                    maps,
                );
            }
            ptr_arith(cx, pc, st, d, p, b, op == alu::SUB)
        }
        (Reg::Scalar(a), Reg::Ptr(p)) => {
            if !is64 {
                return rej(
                    pc,
                    Class::Pointer,
                    format!("R{} 32-bit pointer arithmetic prohibited", i.src),
                    None,
                    st,
                    maps,
                );
            }
            if op == alu::ADD {
                ptr_arith(cx, pc, st, d, p, a, false)
            } else if op == alu::SUB {
                rej(
                    pc,
                    Class::Pointer,
                    format!("R{d} tried to subtract pointer from scalar"),
                    None,
                    st,
                    maps,
                )
            } else {
                rej(
                    pc,
                    Class::Pointer,
                    format!(
                        "R{} pointer arithmetic with {} operator prohibited",
                        i.src,
                        alu_name(op)
                    ),
                    None,
                    st,
                    maps,
                )
            }
        }
        (Reg::Ptr(a), Reg::Ptr(b)) => {
            // The difference of two pointers is a number a privileged loader may have
            // (the kernel: BPF_SUB with allow_ptr_leaks), at either width.
            let _ = (a, b);
            if op == alu::SUB {
                st.cur_mut().regs[d] = Reg::unknown();
                Ok(())
            } else {
                rej(
                    pc,
                    Class::Pointer,
                    format!(
                        "R{d} pointer {} pointer prohibited",
                        if op == alu::ADD { "+=" } else { "op" }
                    ),
                    None,
                    st,
                    maps,
                )
            }
        }
        _ => rej(
            pc,
            Class::Uninit,
            "uninitialised operand".to_string(),
            None,
            st,
            maps,
        ),
    }
}

pub(super) fn alu_name(op: u8) -> &'static str {
    match op {
        alu::MUL => "*=",
        alu::DIV => "/=",
        alu::OR => "|=",
        alu::AND => "&=",
        alu::LSH => "<<=",
        alu::RSH => ">>=",
        alu::NEG => "neg",
        alu::MOD => "%=",
        alu::XOR => "^=",
        alu::ARSH => "s>>=",
        alu::END => "bswap",
        _ => "?",
    }
}

/// The result of a scalar ALU operation `a OP b` (`i` gives the operation, width and, for
/// byte swaps and sign-extending moves, the operand size).
fn scalar_alu(i: Insn, a: Scalar, b: Scalar) -> Scalar {
    let is64 = i.class() == class::ALU64;
    let op = i.op();
    let (a, b) = if is64 {
        (a, b)
    } else {
        (a.zext32(), b.zext32())
    };
    // A count of the operand's width or more is undefined (the kernel: an unknown result).
    let width = if is64 { 64 } else { 32 };
    let shift = |b: &Scalar| -> Option<u32> { b.value().filter(|&v| v < width).map(|v| v as u32) };
    let r = match op {
        alu::ADD => a.add(&b),
        alu::SUB => a.sub(&b),
        alu::MUL => a.mul(&b),
        alu::OR => a.or(&b),
        alu::AND => a.and(&b),
        alu::XOR => a.xor(&b),
        alu::LSH => match shift(&b) {
            Some(s) => {
                if is64 || a.umax.leading_zeros() >= 32 + s {
                    // (32-bit: no bit is shifted out of the low half, so the ranges shift
                    // too; the kernel's __scalar32_min_max_lsh.)
                    a.lsh(s)
                } else {
                    Scalar::from_tnum(a.t.lshift(s).cast32())
                }
            }
            None => Scalar::unknown(),
        },
        alu::RSH => match shift(&b) {
            Some(s) => a.rsh(s),
            None => Scalar::unknown(),
        },
        alu::ARSH => match shift(&b) {
            Some(s) => {
                if is64 {
                    a.arsh(s)
                } else {
                    let v32 = Scalar::from_tnum(crate::scalar::Tnum {
                        value: (a.t.value as u32 as i32 as i64) as u64,
                        mask: (a.t.mask as u32 as i32 as i64) as u64,
                    });
                    v32.arsh(s)
                }
            }
            None => Scalar::unknown(),
        },
        alu::DIV => {
            if i.off == 0 {
                match b.value() {
                    Some(0) => Scalar::konst(0),
                    Some(c) => Scalar::urange(a.umin / c, a.umax / c),
                    None => Scalar::urange(0, a.umax),
                }
            } else {
                Scalar::unknown()
            }
        }
        alu::MOD => {
            if i.off == 0 {
                match b.value() {
                    Some(0) => a,
                    Some(c) => Scalar::urange(0, (c - 1).min(a.umax)),
                    None => Scalar::urange(0, a.umax),
                }
            } else {
                Scalar::unknown()
            }
        }
        alu::NEG => Scalar::konst(0).sub(&a),
        alu::END => {
            let bits = i.imm as u32;
            let swap = is64 || i.is_reg_src();
            if !swap {
                // le on a little-endian machine: truncation.
                if bits == 64 {
                    a
                } else {
                    let max = (1u64 << bits) - 1;
                    a.and(&Scalar::konst(max))
                }
            } else if let Some(v) = a.value() {
                Scalar::konst(match bits {
                    16 => (v as u16).swap_bytes() as u64,
                    32 => (v as u32).swap_bytes() as u64,
                    _ => v.swap_bytes(),
                })
            } else if bits == 64 {
                Scalar::unknown()
            } else {
                Scalar::urange(0, (1u64 << bits) - 1)
            }
        }
        _ => Scalar::unknown(),
    };
    if is64 || op == alu::END {
        r
    } else {
        r.zext32()
    }
}

pub(super) fn ptr_arith(
    cx: &mut Ctx<'_>,
    pc: usize,
    st: &mut State,
    d: usize,
    p: Ptr,
    b: Scalar,
    sub: bool,
) -> Res<()> {
    let maps = cx.input.maps;
    if p.nullable {
        return rej(
            pc,
            Class::Null,
            format!(
                "R{d} pointer arithmetic on {} prohibited, null-check it first",
                fmt_reg(&Reg::Ptr(p), maps)
            ),
            Some("check the pointer against NULL before computing with it".into()),
            st,
            maps,
        );
    }
    match p.kind {
        // A map pointer plus a known 0 stays itself.
        Kind::MapPtr(_) if !sub && b.value() == Some(0) => {
            st.cur_mut().regs[d] = Reg::Ptr(p);
            return Ok(());
        }
        Kind::MapPtr(_) => {
            return rej(
                pc,
                Class::Pointer,
                format!("R{d} pointer arithmetic on map_ptr prohibited"),
                None,
                st,
                maps,
            )
        }
        Kind::Func(_) => {
            return rej(
                pc,
                Class::Pointer,
                format!("R{d} pointer arithmetic on func prohibited"),
                None,
                st,
                maps,
            )
        }
        // adjust_ptr_min_max_vals: no arithmetic on socket pointers.
        Kind::SockCommon | Kind::Sock | Kind::TcpSock | Kind::XdpSock => {
            return rej(
                pc,
                Class::Pointer,
                format!(
                    "R{d} pointer arithmetic on {} prohibited",
                    sock::type_str(&Reg::Ptr(p))
                ),
                None,
                st,
                maps,
            )
        }
        Kind::PktEnd => {
            return rej(
                pc,
                Class::Pointer,
                format!("R{d} pointer arithmetic on pkt_end prohibited"),
                None,
                st,
                maps,
            )
        }
        Kind::Ctx if !b.is_const() => {
            return rej(
                pc,
                Class::Pointer,
                format!("R{d} variable ctx pointer arithmetic prohibited"),
                None,
                st,
                maps,
            );
        }
        _ => {}
    }
    let mut np = p;
    if let Some(c) = b.value() {
        let c = c as i64;
        let off = if sub {
            p.off.checked_sub(c)
        } else {
            p.off.checked_add(c)
        };
        match off {
            Some(o) if o.unsigned_abs() < (1 << 29) => np.off = o,
            _ => {
                return rej(
                    pc,
                    Class::Bounds,
                    format!("R{d} pointer offset {c} is not allowed (too large)"),
                    None,
                    st,
                    maps,
                )
            }
        }
    } else {
        // `ptr -= scalar` with a variable scalar: the same as adding its negation.
        let b = if sub { Scalar::konst(0).sub(&b) } else { b };
        // The kernel's check_reg_sane_offset, on the offset and on the result.
        let max_off = 1i64 << 29;
        let sane = |s: &Scalar| s.smin != i64::MIN && s.smin.abs() < max_off;
        if b.smin != i64::MIN && !sane(&b) || sane(&b) && !sane(&p.var.add(&b)) {
            let v = if sane(&b) { p.var.add(&b).smin } else { b.smin };
            return rej(
                pc,
                Class::Bounds,
                format!(
                    "value {v} makes {} pointer be out of bounds",
                    fmt_reg(
                        &Reg::Ptr(Ptr {
                            off: 0,
                            var: Scalar::konst(0),
                            ..p
                        }),
                        maps
                    )
                ),
                Some("bound the offset (both ends) before adding it to the pointer".into()),
                st,
                maps,
            );
        }
        if b.smin == i64::MIN || b.smax == i64::MAX {
            // Unbounded variable offsets are refused at the arithmetic (math between
            // pointer and unbounded register) for map values and packets.
            if matches!(
                p.kind,
                Kind::MapValue(_) | Kind::Pkt | Kind::PktMeta | Kind::Mem(_) | Kind::RdMem(_)
            ) {
                return rej(
                    pc,
                    Class::Bounds,
                    format!("math between {} pointer and register with unbounded min value is not allowed", fmt_reg(&Reg::Ptr(p), maps)),
                    Some("compare the offset with a constant before adding it to the pointer".into()),
                    st,
                    maps,
                );
            }
        }
        np.var = p.var.add(&b);
        if matches!(p.kind, Kind::Pkt | Kind::PktMeta) {
            np.id = cx.new_id();
            np.range = 0;
        }
    }
    st.cur_mut().regs[d] = Reg::Ptr(np);
    Ok(())
}

impl Ctx<'_> {
    /// Give register `r` (holding `s`) a scalar id if it has none and is not a constant,
    /// so that a copy of it is linked to it (the kernel's assign_scalar_id_before_mov);
    /// returns the scalar with its id.
    pub(super) fn link_scalar(&mut self, st: &mut State, r: usize, s: Scalar) -> Scalar {
        if s.id != 0 || s.is_const() {
            return s;
        }
        let s = Scalar {
            id: self.new_id(),
            ..s
        };
        st.cur_mut().regs[r] = Reg::Scalar(s);
        s
    }

    /// After a compare refined register `r`, give its bounds to every register and
    /// spilled slot linked to it (the kernel's sync_linked_regs).
    pub(super) fn sync_linked(st: &mut State, s: Scalar) {
        if s.id == 0 {
            return;
        }
        for fr in st.frames.iter_mut() {
            for r in fr
                .regs
                .iter_mut()
                .chain(fr.stack.spills.iter_mut().flatten())
            {
                if let Reg::Scalar(x) = r {
                    if x.id == s.id {
                        let delta = x.link_off.wrapping_sub(s.link_off);
                        let off = x.link_off;
                        *x = if delta == 0 {
                            s
                        } else {
                            // x = s + delta (the kernel's sync_linked_regs, fake_reg).
                            Scalar {
                                id: s.id,
                                link_off: off,
                                ..s.add(&Scalar::konst(delta as u64))
                            }
                        };
                    }
                }
            }
        }
    }
}
