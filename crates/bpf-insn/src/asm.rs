//! Assembler for the LLVM BPF syntax that [`crate::disasm`] prints (and `llvm-objdump -d`,
//! `clang -S -target bpf` use): `r0 = *(u32 *)(r1 + 4)`, `if r1 > 5 goto +2`, `w0 += 1`,
//! `lock *(u64 *)(r1 + 0) += r2`, `r1 = 42 ll`, `call 1`, `exit`, with labels.
//!
//! A jump or call target may be a label (`goto out`, `if r0 == 0 goto out`, `call func`:
//! a label as call target makes a BPF-to-BPF call, `src = 1`). Comments start with `#`,
//! `//` or `;`. Directives (`.globl x`, `.p2align 3`, ...) are accepted and ignored, except
//! the section directives, written as clang and gas write them, which start a new section
//! in [`assemble_sections`]: `.text`, `.section NAME`, `.section NAME,"ax",@progbits`
//! (flags and type ignored), `.section "NAME"`. The lexer, the directives and the label
//! resolution are shared with the uBPF syntax ([`crate::ubpf`]) in a private module that
//! knows neither dialect.

pub use crate::asmtext::Section;
use crate::asmtext::{
    assemble_with, stmt, with_target, Dialect, FixKind, Parser, Stmt, Target, Tok,
};
use crate::insn::{alu, atomic, class, jmp, lddw, mem, pseudo, Insn, BPF_K, BPF_X};
use crate::AsmError;

fn size_code(s: &str) -> Option<(u8, bool)> {
    Some(match s {
        "u8" => (mem::B, false),
        "u16" => (mem::H, false),
        "u32" => (mem::W, false),
        "u64" => (mem::DW, false),
        "s8" => (mem::B, true),
        "s16" => (mem::H, true),
        "s32" => (mem::W, true),
        "s64" => (mem::DW, true),
        _ => return None,
    })
}

/// Parse `(u32 *)` returning (size, signed).
fn parse_size_cast(p: &mut Parser) -> Result<(u8, bool), AsmError> {
    p.expect_punct("(")?;
    let col = p.col();
    let Some(s) = p.ident() else {
        return p.err("expected a size (u8, u16, u32, u64)");
    };
    let Some(sz) = size_code(&s) else {
        return Err(AsmError::new(p.line, col, format!("unknown size `{s}`")));
    };
    p.expect_punct("*")?;
    p.expect_punct(")")?;
    Ok(sz)
}

/// Parse `rB + off` / `rB - off` (no parentheses).
fn parse_addr(p: &mut Parser) -> Result<(u8, i16), AsmError> {
    let (_, base) = p.reg()?;
    if p.is_punct(")") || p.is_punct(",") || p.is_punct("]") {
        return Ok((base, 0));
    }
    let col = p.col();
    let neg = if p.eat_punct("-") {
        true
    } else {
        p.expect_punct("+")?;
        false
    };
    let v = p.num()?;
    let v = if neg { -v } else { v };
    if v < i16::MIN as i128 || v > i16::MAX as i128 {
        return Err(AsmError::new(
            p.line,
            col,
            format!("offset {v} does not fit in 16 bits"),
        ));
    }
    Ok((base, v as i16))
}

/// Parse `*(u32 *)(r1 + 4)`: (size, signed, base, off). The leading `*` must be next.
fn parse_deref(p: &mut Parser) -> Result<(u8, bool, u8, i16), AsmError> {
    p.expect_punct("*")?;
    let (sz, signed) = parse_size_cast(p)?;
    p.expect_punct("(")?;
    let (b, o) = parse_addr(p)?;
    p.expect_punct(")")?;
    Ok((sz, signed, b, o))
}

fn alu_from_punct(op: &str) -> Option<(u8, bool)> {
    Some(match op {
        "+=" => (alu::ADD, false),
        "-=" => (alu::SUB, false),
        "*=" => (alu::MUL, false),
        "/=" => (alu::DIV, false),
        "s/=" => (alu::DIV, true),
        "|=" => (alu::OR, false),
        "&=" => (alu::AND, false),
        "<<=" => (alu::LSH, false),
        ">>=" => (alu::RSH, false),
        "%=" => (alu::MOD, false),
        "s%=" => (alu::MOD, true),
        "^=" => (alu::XOR, false),
        "s>>=" => (alu::ARSH, false),
        _ => return None,
    })
}

pub(crate) fn jmp_from_punct(op: &str) -> Option<u8> {
    Some(match op {
        "==" => jmp::JEQ,
        ">" => jmp::JGT,
        ">=" => jmp::JGE,
        "&" => jmp::JSET,
        "!=" => jmp::JNE,
        "s>" => jmp::JSGT,
        "s>=" => jmp::JSGE,
        "<" => jmp::JLT,
        "<=" => jmp::JLE,
        "s<" => jmp::JSLT,
        "s<=" => jmp::JSLE,
        _ => return None,
    })
}

fn parse_llvm_stmt(p: &mut Parser) -> Result<Stmt, AsmError> {
    // exit / call / callx / goto / gotol / if / lock / store
    if p.is_ident("exit") {
        p.pos += 1;
        p.expect_end()?;
        return Ok(stmt(Insn::new(class::JMP | jmp::EXIT, 0, 0, 0, 0)));
    }
    if p.is_ident("callx") {
        p.pos += 1;
        let (_, r) = p.reg()?;
        p.expect_end()?;
        return Ok(stmt(Insn::new(class::JMP | jmp::CALL | BPF_X, r, 0, 0, 0)));
    }
    if p.is_ident("call") {
        p.pos += 1;
        if p.is_ident("kfunc") {
            p.pos += 1;
            p.expect_punct("(")?;
            let id = p.imm32()?;
            let off = if p.eat_punct(",") {
                let col = p.col();
                let v = p.num()?;
                i16::try_from(v).map_err(|_| {
                    AsmError::new(p.line, col, "kfunc module index does not fit in 16 bits")
                })?
            } else {
                0
            };
            p.expect_punct(")")?;
            p.expect_end()?;
            return Ok(stmt(Insn::new(
                class::JMP | jmp::CALL,
                0,
                pseudo::CALL_KFUNC,
                off,
                id,
            )));
        }
        // `call +N` / `call -N`: BPF-to-BPF call by relative offset; `call N`: helper N.
        if p.is_punct("+") || p.is_punct("-") {
            let v = p.num()?;
            p.expect_end()?;
            if v < i32::MIN as i128 || v > i32::MAX as i128 {
                return p.err("call offset does not fit in 32 bits");
            }
            return Ok(stmt(Insn::new(
                class::JMP | jmp::CALL,
                0,
                pseudo::CALL_LOCAL,
                0,
                v as i32,
            )));
        }
        let t = p.target()?;
        p.expect_end()?;
        return Ok(match t {
            Target::Rel(v) => {
                if v < i32::MIN as i64 || v > u32::MAX as i64 {
                    return p.err("helper id does not fit in 32 bits");
                }
                stmt(Insn::new(class::JMP | jmp::CALL, 0, 0, 0, v as i32))
            }
            l => with_target(
                Insn::new(class::JMP | jmp::CALL, 0, pseudo::CALL_LOCAL, 0, 0),
                l,
                FixKind::Imm,
            ),
        });
    }
    if p.is_ident("may_goto") {
        p.pos += 1;
        let t = p.target()?;
        p.expect_end()?;
        if let Target::Rel(v) = t {
            if v < i16::MIN as i64 || v > i16::MAX as i64 {
                return p.err("jump offset does not fit in 16 bits");
            }
        }
        return Ok(with_target(
            Insn::new(class::JMP | jmp::JCOND, 0, 0, 0, 0),
            t,
            FixKind::Off,
        ));
    }
    if p.is_ident("goto") || p.is_ident("gotol") {
        let long = p.is_ident("gotol");
        p.pos += 1;
        let t = p.target()?;
        p.expect_end()?;
        return Ok(if long {
            with_target(
                Insn::new(class::JMP32 | jmp::JA, 0, 0, 0, 0),
                t,
                FixKind::Imm,
            )
        } else {
            if let Target::Rel(v) = t {
                if v < i16::MIN as i64 || v > i16::MAX as i64 {
                    return p.err("jump offset does not fit in 16 bits (use gotol)");
                }
            }
            with_target(Insn::new(class::JMP | jmp::JA, 0, 0, 0, 0), t, FixKind::Off)
        });
    }
    if p.is_ident("if") {
        p.pos += 1;
        let (w, d) = p.reg()?;
        let op = match p.peek() {
            Some(Tok::Punct(o)) => jmp_from_punct(o),
            _ => None,
        };
        let Some(op) = op else {
            return p.err("expected a comparison (==, !=, >, >=, <, <=, s>, s>=, s<, s<=, &)");
        };
        p.pos += 1;
        let cls = if w { class::JMP32 } else { class::JMP };
        let mut insn = Insn::new(cls | op, d, 0, 0, 0);
        if let Some((w2, s)) = p.try_reg() {
            if w2 != w {
                return p.err("both operands of a comparison must be rN or both wN");
            }
            insn.code |= BPF_X;
            insn.src = s;
        } else {
            insn.imm = p.imm32()?;
        }
        p.expect_ident("goto")?;
        let t = p.target()?;
        p.expect_end()?;
        if let Target::Rel(v) = t {
            if v < i16::MIN as i64 || v > i16::MAX as i64 {
                return p.err("jump offset does not fit in 16 bits");
            }
        }
        return Ok(with_target(insn, t, FixKind::Off));
    }
    if p.is_ident("lock") {
        p.pos += 1;
        let (sz, signed, b, o) = parse_deref(p)?;
        if signed || !(sz == mem::W || sz == mem::DW) {
            return p.err("atomic operations take u32 or u64");
        }
        let op = match p.peek() {
            Some(Tok::Punct("+=")) => atomic::ADD,
            Some(Tok::Punct("|=")) => atomic::OR,
            Some(Tok::Punct("&=")) => atomic::AND,
            Some(Tok::Punct("^=")) => atomic::XOR,
            _ => return p.err("expected +=, |=, &= or ^="),
        };
        p.pos += 1;
        let (_, s) = p.reg()?;
        p.expect_end()?;
        return Ok(stmt(Insn::new(class::STX | mem::ATOMIC | sz, b, s, o, op)));
    }
    if p.is_punct("*") {
        let (sz, signed, b, o) = parse_deref(p)?;
        if signed {
            return p.err("stores take unsigned sizes");
        }
        p.expect_punct("=")?;
        if let Some((_, s)) = p.try_reg() {
            p.expect_end()?;
            return Ok(stmt(Insn::new(class::STX | mem::MEM | sz, b, s, o, 0)));
        }
        let imm = p.imm32()?;
        p.expect_end()?;
        return Ok(stmt(Insn::new(class::ST | mem::MEM | sz, b, 0, o, imm)));
    }
    // Register destination forms.
    let (w, d) = p.reg()?;
    let cls = if w { class::ALU } else { class::ALU64 };
    let op_tok = match p.peek() {
        Some(Tok::Punct(o)) => *o,
        _ => return p.err("expected an assignment operator"),
    };
    p.pos += 1;
    if op_tok != "=" {
        let Some((op, signed)) = alu_from_punct(op_tok) else {
            return p.err(format!("unknown operator `{op_tok}`"));
        };
        let off = if signed { 1 } else { 0 };
        if let Some((w2, s)) = p.try_reg() {
            if w2 != w {
                return p.err("both operands must be rN or both wN");
            }
            p.expect_end()?;
            return Ok(stmt(Insn::new(cls | op | BPF_X, d, s, off, 0)));
        }
        let imm = p.imm32()?;
        p.expect_end()?;
        return Ok(stmt(Insn::new(cls | op | BPF_K, d, 0, off, imm)));
    }
    // `rD = ...`
    if p.is_punct("*") {
        // load: `*(u32 *)(rB + off)` or `*(u8 *)skb[...]`
        p.pos += 1;
        let (sz, signed) = parse_size_cast(p)?;
        if p.is_ident("skb") {
            p.pos += 1;
            p.expect_punct("[")?;
            let insn = if let Some((_, s)) = p.try_reg() {
                let imm = if p.is_punct("+") || p.is_punct("-") {
                    p.imm32()?
                } else {
                    0
                };
                Insn::new(class::LD | mem::IND | sz, 0, s, 0, imm)
            } else {
                let imm = p.imm32()?;
                Insn::new(class::LD | mem::ABS | sz, 0, 0, 0, imm)
            };
            p.expect_punct("]")?;
            p.expect_end()?;
            if d != 0 {
                return p.err("legacy packet loads write r0");
            }
            return Ok(stmt(insn));
        }
        p.expect_punct("(")?;
        let (b, o) = parse_addr(p)?;
        p.expect_punct(")")?;
        p.expect_end()?;
        if signed && sz == mem::DW {
            return p.err("there is no sign-extending 64-bit load; use u64");
        }
        let mode = if signed { mem::MEMSX } else { mem::MEM };
        return Ok(stmt(Insn::new(class::LDX | mode | sz, d, b, o, 0)));
    }
    if p.is_punct("-") && matches!(p.peek_at(1), Some(Tok::Ident(_))) {
        p.pos += 1;
        let (w2, s) = p.reg()?;
        if w2 != w || s != d {
            return p.err("negation is `rD = -rD` with the same register");
        }
        p.expect_end()?;
        return Ok(stmt(Insn::new(cls | alu::NEG, d, 0, 0, 0)));
    }
    if p.is_punct("(") {
        // movsx: `rD = (s8)rS`
        p.pos += 1;
        let col = p.col();
        let t = p.ident().unwrap_or_default();
        let off = match t.as_str() {
            "s8" => 8,
            "s16" => 16,
            "s32" => 32,
            _ => return Err(AsmError::new(p.line, col, "expected s8, s16 or s32")),
        };
        p.expect_punct(")")?;
        let (w2, s) = p.reg()?;
        if w2 != w {
            return p.err("both operands must be rN or both wN");
        }
        p.expect_end()?;
        return Ok(stmt(Insn::new(cls | alu::MOV | BPF_X, d, s, off, 0)));
    }
    if let Some(Tok::Ident(name)) = p.peek().cloned() {
        let swap = [
            ("be", class::ALU | BPF_X),
            ("le", class::ALU),
            ("bswap", class::ALU64),
        ]
        .into_iter()
        .find_map(|(pre, code)| {
            name.strip_prefix(pre)
                .and_then(|n| n.parse::<i32>().ok())
                .filter(|n| matches!(n, 16 | 32 | 64))
                .map(|n| (code, n))
        });
        if let Some((code, bits)) = swap {
            p.pos += 1;
            let (_, s) = p.reg()?;
            if s != d {
                return p.err("byte swaps are `rD = be16 rD` with the same register");
            }
            p.expect_end()?;
            return Ok(stmt(Insn::new(code | alu::END, d, 0, 0, bits)));
        }
        if let Some(opname) = name.strip_prefix("atomic_fetch_") {
            p.pos += 1;
            let op = match opname {
                "add" => atomic::ADD,
                "or" => atomic::OR,
                "and" => atomic::AND,
                "xor" => atomic::XOR,
                _ => return p.err(format!("unknown atomic operation `{name}`")),
            };
            p.expect_punct("(")?;
            let (sz, _s, b, o) = {
                let (sz, signed) = parse_size_cast(p)?;
                p.expect_punct("(")?;
                let (b, o) = parse_addr(p)?;
                p.expect_punct(")")?;
                (sz, signed, b, o)
            };
            p.expect_punct(",")?;
            let (_, s) = p.reg()?;
            p.expect_punct(")")?;
            p.expect_end()?;
            if s != d {
                return p.err("atomic_fetch_* returns into its source register");
            }
            return Ok(stmt(Insn::new(
                class::STX | mem::ATOMIC | sz,
                b,
                s,
                o,
                op | atomic::FETCH,
            )));
        }
        if matches!(
            name.as_str(),
            "xchg_64" | "xchg32_32" | "cmpxchg_64" | "cmpxchg32_32"
        ) {
            p.pos += 1;
            let sz = if name.ends_with("_64") {
                mem::DW
            } else {
                mem::W
            };
            p.expect_punct("(")?;
            let (b, o) = parse_addr(p)?;
            p.expect_punct(",")?;
            let cmp = name.starts_with("cmp");
            if cmp {
                let (_, r0) = p.reg()?;
                if r0 != 0 || d != 0 {
                    return p.err("cmpxchg compares with r0 and returns into r0");
                }
                p.expect_punct(",")?;
            }
            let (_, s) = p.reg()?;
            p.expect_punct(")")?;
            p.expect_end()?;
            if !cmp && s != d {
                return p.err("xchg returns into its source register");
            }
            let op = if cmp { atomic::CMPXCHG } else { atomic::XCHG };
            return Ok(stmt(Insn::new(class::STX | mem::ATOMIC | sz, b, s, o, op)));
        }
        if let Some(ps) = crate::disasm::PSEUDO_NAMES
            .iter()
            .position(|n| !n.is_empty() && *n == name)
        {
            p.pos += 1;
            p.expect_punct("(")?;
            let a = p.imm32()?;
            p.expect_punct(",")?;
            let b = p.imm32()?;
            p.expect_punct(")")?;
            p.expect_ident("ll")?;
            p.expect_end()?;
            let mut v = lddw(d, ps as u8, 0);
            v[0].imm = a;
            v[1].imm = b;
            return Ok(Stmt {
                insns: v.to_vec(),
                fix: None,
            });
        }
    }
    if let Some((w2, s)) = p.try_reg() {
        if w2 != w {
            return p.err("both operands must be rN or both wN");
        }
        p.expect_end()?;
        return Ok(stmt(Insn::new(cls | alu::MOV | BPF_X, d, s, 0, 0)));
    }
    let col = p.col();
    let v = p.num()?;
    if p.is_ident("ll") {
        p.pos += 1;
        p.expect_end()?;
        if w {
            return p.err("64-bit constants load into rN");
        }
        if v < i64::MIN as i128 || v > u64::MAX as i128 {
            return Err(AsmError::new(
                p.line,
                col,
                "constant does not fit in 64 bits",
            ));
        }
        return Ok(Stmt {
            insns: lddw(d, 0, v as u64).to_vec(),
            fix: None,
        });
    }
    p.expect_end()?;
    if v < i32::MIN as i128 || v > u32::MAX as i128 {
        return Err(AsmError::new(
            p.line,
            col,
            format!("immediate {v} does not fit in 32 bits (use `{v} ll`)"),
        ));
    }
    Ok(stmt(Insn::new(
        cls | alu::MOV | BPF_K,
        d,
        0,
        0,
        v as i64 as i32,
    )))
}

/// Assemble LLVM-syntax source into sections (`.section NAME` starts one; the first is `.text`).
pub fn assemble_sections(src: &str) -> Result<Vec<Section>, AsmError> {
    assemble_with(
        src,
        &Dialect {
            parse_stmt: parse_llvm_stmt,
            exit_label_is_last_exit: false,
        },
    )
}

/// Assemble LLVM-syntax source into one instruction stream (sections concatenated).
pub fn assemble(src: &str) -> Result<Vec<Insn>, AsmError> {
    let secs = assemble_sections(src)?;
    if secs.len() > 1 {
        return Err(AsmError::new(
            1,
            1,
            "source has several sections; use assemble_sections",
        ));
    }
    Ok(secs.into_iter().next().map(|s| s.insns).unwrap_or_default())
}
