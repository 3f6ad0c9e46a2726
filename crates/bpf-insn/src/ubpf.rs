//! The uBPF-style assembly of the bpf_conformance test vectors: `mov32 %r0, 1`,
//! `ldxw %r0, [%r1+4]`, `stxdw [%r10-8], %r0`, `jeq %r1, 2, +3`, `lddw %r0, 0x11`,
//! `lock fetch add [%r10-8], %r1`, `call 5`, `call local f`, `call %r2`, `exit`.
//! Register names may be written with or without `%`.

use crate::asmtext::{assemble_with, Dialect, FixKind, Parser, Section, Stmt, Target, Tok};
use crate::insn::{alu, atomic, class, jmp, lddw, mem, pseudo, Insn, BPF_K, BPF_X};
use crate::AsmError;

fn alu_name(n: &str) -> Option<(u8, i16)> {
    Some(match n {
        "add" => (alu::ADD, 0),
        "sub" => (alu::SUB, 0),
        "mul" => (alu::MUL, 0),
        "div" => (alu::DIV, 0),
        "sdiv" => (alu::DIV, 1),
        "or" => (alu::OR, 0),
        "and" => (alu::AND, 0),
        "lsh" => (alu::LSH, 0),
        "rsh" => (alu::RSH, 0),
        "mod" => (alu::MOD, 0),
        "smod" => (alu::MOD, 1),
        "xor" => (alu::XOR, 0),
        "mov" => (alu::MOV, 0),
        "arsh" => (alu::ARSH, 0),
        _ => return None,
    })
}

fn jmp_name(n: &str) -> Option<u8> {
    Some(match n {
        "jeq" => jmp::JEQ,
        "jgt" => jmp::JGT,
        "jge" => jmp::JGE,
        "jset" => jmp::JSET,
        "jne" => jmp::JNE,
        "jsgt" => jmp::JSGT,
        "jsge" => jmp::JSGE,
        "jlt" => jmp::JLT,
        "jle" => jmp::JLE,
        "jslt" => jmp::JSLT,
        "jsle" => jmp::JSLE,
        _ => return None,
    })
}

fn size_suffix(n: &str) -> Option<u8> {
    Some(match n {
        "b" => mem::B,
        "h" => mem::H,
        "w" => mem::W,
        "dw" => mem::DW,
        _ => return None,
    })
}

/// An immediate that the instruction's 32-bit field represents: a value in
/// -2^31..2^32, or a 64-bit value equal to the sign extension of its low 32 bits.
fn imm(p: &mut Parser) -> Result<i32, AsmError> {
    let col = p.col();
    let v = p.num()?;
    if v >= i32::MIN as i128 && v <= u32::MAX as i128 {
        return Ok(v as i64 as i32);
    }
    if v >= 0 && v <= u64::MAX as i128 {
        let u = v as u64;
        if u as i32 as i64 as u64 == u {
            return Ok(u as i32);
        }
    }
    Err(AsmError::new(
        p.line,
        col,
        format!("immediate {v} does not fit in 32 bits"),
    ))
}

/// `[%rB+off]`, `[%rB-off]`, `[%rB]`.
fn memref(p: &mut Parser) -> Result<(u8, i16), AsmError> {
    p.expect_punct("[")?;
    let (_, b) = p.reg()?;
    let off = if p.is_punct("+") || p.is_punct("-") {
        let neg = p.is_punct("-");
        p.pos += 1;
        let col = p.col();
        let v = p.num()?;
        let v = if neg { -v } else { v };
        if v < i16::MIN as i128 || v > i16::MAX as i128 {
            return Err(AsmError::new(
                p.line,
                col,
                format!("offset {v} does not fit in 16 bits"),
            ));
        }
        v as i16
    } else {
        0
    };
    p.expect_punct("]")?;
    Ok((b, off))
}

fn one(i: Insn) -> Stmt {
    Stmt {
        insns: vec![i],
        fix: None,
    }
}

fn target_stmt(mut i: Insn, t: Target, kind: FixKind) -> Stmt {
    match t {
        Target::Rel(v) => {
            match kind {
                FixKind::Off => i.off = v as i16,
                FixKind::Imm => i.imm = v as i32,
            }
            one(i)
        }
        l => Stmt {
            insns: vec![i],
            fix: Some((l, kind)),
        },
    }
}

pub(crate) fn parse_stmt(p: &mut Parser) -> Result<Stmt, AsmError> {
    let col = p.col();
    let Some(m) = p.ident() else {
        return p.err("expected an instruction mnemonic");
    };
    let line = p.line;
    let bad = || {
        Err(AsmError::new(
            line,
            col,
            format!("unknown instruction `{m}`"),
        ))
    };
    let st = match m.as_str() {
        "exit" => one(Insn::new(class::JMP | jmp::EXIT, 0, 0, 0, 0)),
        "call" => {
            if p.is_ident("local") {
                p.pos += 1;
                let t = p.target()?;
                target_stmt(
                    Insn::new(class::JMP | jmp::CALL, 0, pseudo::CALL_LOCAL, 0, 0),
                    t,
                    FixKind::Imm,
                )
            } else if let Some((_, r)) = p.try_reg() {
                one(Insn::new(class::JMP | jmp::CALL | BPF_X, r, 0, 0, 0))
            } else {
                let v = imm(p)?;
                one(Insn::new(class::JMP | jmp::CALL, 0, 0, 0, v))
            }
        }
        "ja" => {
            let t = p.target()?;
            target_stmt(Insn::new(class::JMP | jmp::JA, 0, 0, 0, 0), t, FixKind::Off)
        }
        "ja32" => {
            let t = p.target()?;
            target_stmt(
                Insn::new(class::JMP32 | jmp::JA, 0, 0, 0, 0),
                t,
                FixKind::Imm,
            )
        }
        "lddw" => {
            let (_, d) = p.reg()?;
            p.expect_punct(",")?;
            let col = p.col();
            let v = p.num()?;
            if v < i64::MIN as i128 || v > u64::MAX as i128 {
                return Err(AsmError::new(
                    p.line,
                    col,
                    "constant does not fit in 64 bits",
                ));
            }
            Stmt {
                insns: lddw(d, 0, v as u64).to_vec(),
                fix: None,
            }
        }
        "lock" => {
            let fetch = if p.is_ident("fetch") {
                p.pos += 1;
                true
            } else {
                false
            };
            let col = p.col();
            let opn = p.ident().unwrap_or_default();
            let (base, w) = match opn.strip_suffix("32") {
                Some(b) => (b.to_string(), true),
                None => (opn.clone(), false),
            };
            let op = match base.as_str() {
                "add" => atomic::ADD,
                "or" => atomic::OR,
                "and" => atomic::AND,
                "xor" => atomic::XOR,
                "xchg" if !fetch => atomic::XCHG,
                "cmpxchg" if !fetch => atomic::CMPXCHG,
                _ => {
                    return Err(AsmError::new(
                        p.line,
                        col,
                        format!("unknown atomic operation `{opn}`"),
                    ))
                }
            };
            let op = if fetch { op | atomic::FETCH } else { op };
            let (b, o) = memref(p)?;
            p.expect_punct(",")?;
            let (_, s) = p.reg()?;
            let sz = if w { mem::W } else { mem::DW };
            one(Insn::new(class::STX | mem::ATOMIC | sz, b, s, o, op))
        }
        _ => {
            if let Some(rest) = m.strip_prefix("movsx") {
                let (off, cls) = match rest {
                    "832" => (8, class::ALU),
                    "864" => (8, class::ALU64),
                    "1632" => (16, class::ALU),
                    "1664" => (16, class::ALU64),
                    "3264" => (32, class::ALU64),
                    _ => return bad(),
                };
                let (_, d) = p.reg()?;
                p.expect_punct(",")?;
                let (_, s) = p.reg()?;
                one(Insn::new(cls | alu::MOV | BPF_X, d, s, off, 0))
            } else if let Some(bits) = ["le", "be", "bswap", "swap"]
                .iter()
                .find_map(|pre| m.strip_prefix(pre).map(|b| (*pre, b)))
                .and_then(|(pre, b)| {
                    b.parse::<i32>()
                        .ok()
                        .filter(|b| matches!(b, 16 | 32 | 64))
                        .map(|b| (pre, b))
                })
            {
                let code = match bits.0 {
                    "le" => class::ALU | alu::END,
                    "be" => class::ALU | alu::END | BPF_X,
                    _ => class::ALU64 | alu::END,
                };
                let (_, d) = p.reg()?;
                one(Insn::new(code, d, 0, 0, bits.1))
            } else if m == "neg" || m == "neg32" || m == "neg64" {
                let cls = if m == "neg32" {
                    class::ALU
                } else {
                    class::ALU64
                };
                let (_, d) = p.reg()?;
                one(Insn::new(cls | alu::NEG, d, 0, 0, 0))
            } else if let Some(sz) = m.strip_prefix("ldxs").and_then(size_suffix) {
                let (_, d) = p.reg()?;
                p.expect_punct(",")?;
                let (b, o) = memref(p)?;
                if sz == mem::DW {
                    return bad();
                }
                one(Insn::new(class::LDX | mem::MEMSX | sz, d, b, o, 0))
            } else if let Some(sz) = m.strip_prefix("ldx").and_then(size_suffix) {
                let (_, d) = p.reg()?;
                p.expect_punct(",")?;
                let (b, o) = memref(p)?;
                one(Insn::new(class::LDX | mem::MEM | sz, d, b, o, 0))
            } else if let Some(sz) = m.strip_prefix("stx").and_then(size_suffix) {
                let (b, o) = memref(p)?;
                p.expect_punct(",")?;
                let (_, s) = p.reg()?;
                one(Insn::new(class::STX | mem::MEM | sz, b, s, o, 0))
            } else if let Some(sz) = m.strip_prefix("st").and_then(size_suffix) {
                let (b, o) = memref(p)?;
                p.expect_punct(",")?;
                let v = imm(p)?;
                one(Insn::new(class::ST | mem::MEM | sz, b, 0, o, v))
            } else if let Some(sz) = m.strip_prefix("ldabs").and_then(size_suffix) {
                let v = imm(p)?;
                one(Insn::new(class::LD | mem::ABS | sz, 0, 0, 0, v))
            } else if let Some(sz) = m.strip_prefix("ldind").and_then(size_suffix) {
                let (_, s) = p.reg()?;
                p.expect_punct(",")?;
                let v = imm(p)?;
                one(Insn::new(class::LD | mem::IND | sz, 0, s, 0, v))
            } else {
                let (base, is32) = match m.strip_suffix("32") {
                    Some(b) => (b, true),
                    None => (m.strip_suffix("64").unwrap_or(&m), false),
                };
                if let Some((op, off)) = alu_name(base) {
                    let cls = if is32 { class::ALU } else { class::ALU64 };
                    let (_, d) = p.reg()?;
                    p.expect_punct(",")?;
                    if let Some((_, s)) = p.try_reg() {
                        one(Insn::new(cls | op | BPF_X, d, s, off, 0))
                    } else {
                        let v = imm(p)?;
                        one(Insn::new(cls | op | BPF_K, d, 0, off, v))
                    }
                } else if let Some(op) = jmp_name(base) {
                    let cls = if is32 { class::JMP32 } else { class::JMP };
                    let (_, d) = p.reg()?;
                    p.expect_punct(",")?;
                    let mut i = Insn::new(cls | op, d, 0, 0, 0);
                    if let Some((_, s)) = p.try_reg() {
                        i.code |= BPF_X;
                        i.src = s;
                    } else {
                        i.imm = imm(p)?;
                    }
                    p.expect_punct(",")?;
                    let t = p.target()?;
                    target_stmt(i, t, FixKind::Off)
                } else {
                    return bad();
                }
            }
        }
    };
    let _ = Tok::Punct("");
    p.expect_end()?;
    Ok(st)
}

/// Assemble uBPF-style source (one section).
pub fn assemble(src: &str) -> Result<Vec<Insn>, AsmError> {
    let secs: Vec<Section> = assemble_with(
        src,
        &Dialect {
            parse_stmt,
            exit_label_is_last_exit: true,
        },
    )?;
    Ok(secs.into_iter().flat_map(|s| s.insns).collect())
}
