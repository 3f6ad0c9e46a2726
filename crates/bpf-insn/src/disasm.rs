//! Disassembly in the syntax of LLVM's BPF backend, as `llvm-objdump -d` prints it.
//!
//! For the instructions LLVM 14 (Debian 12's `llvm`) knows, the text is exactly what its
//! `llvm-objdump -d` prints. The cpu=v4 instructions it does not know (signed div/mod,
//! sign-extending moves and loads, `bswap`, `gotol`, `BPF_ST` immediates) are printed as
//! newer LLVM prints them. `lddw` with a pseudo source, which LLVM never prints, uses
//! `rD = NAME(IMM, IMM2) ll` (see [`PSEUDO_NAMES`]) so that the assembler reads it back.

use crate::insn::{alu, atomic, class, jmp, lddw_value, mem, pseudo, Insn, BPF_X};

/// Names of `lddw` pseudo sources 1..=6 in our syntax.
pub const PSEUDO_NAMES: [&str; 7] = [
    "",
    "map_fd",
    "map_value",
    "btf_id",
    "func",
    "map_idx",
    "map_idx_value",
];

fn size_name(code: u8, signed: bool) -> &'static str {
    match (code & 0x18, signed) {
        (mem::W, false) => "u32",
        (mem::H, false) => "u16",
        (mem::B, false) => "u8",
        (mem::DW, false) => "u64",
        (mem::W, true) => "s32",
        (mem::H, true) => "s16",
        (mem::B, true) => "s8",
        _ => "s64",
    }
}

fn mem_ref(base: u8, off: i16) -> String {
    if off < 0 {
        format!("r{base} - {}", -(off as i32))
    } else {
        format!("r{base} + {off}")
    }
}

fn rel(off: i64) -> String {
    if off < 0 {
        format!("{off}")
    } else {
        format!("+{off}")
    }
}

/// Operator text of an ALU operation, `None` for NEG/END/MOV (special forms).
fn alu_op(op: u8, signed: bool) -> Option<&'static str> {
    Some(match op {
        alu::ADD => "+=",
        alu::SUB => "-=",
        alu::MUL => "*=",
        alu::DIV if signed => "s/=",
        alu::DIV => "/=",
        alu::OR => "|=",
        alu::AND => "&=",
        alu::LSH => "<<=",
        alu::RSH => ">>=",
        alu::MOD if signed => "s%=",
        alu::MOD => "%=",
        alu::XOR => "^=",
        alu::ARSH => "s>>=",
        _ => return None,
    })
}

/// Comparison text of a conditional jump.
pub fn jmp_op(op: u8) -> Option<&'static str> {
    Some(match op {
        jmp::JEQ => "==",
        jmp::JGT => ">",
        jmp::JGE => ">=",
        jmp::JSET => "&",
        jmp::JNE => "!=",
        jmp::JSGT => "s>",
        jmp::JSGE => "s>=",
        jmp::JLT => "<",
        jmp::JLE => "<=",
        jmp::JSLT => "s<",
        jmp::JSLE => "s<=",
        _ => return None,
    })
}

/// Text of the instruction at `pc` and the number of slots it takes (1, or 2 for `lddw`).
/// Undefined encodings give `<unknown>` and one slot, as llvm-objdump does.
pub fn format_insn(insns: &[Insn], pc: usize) -> (String, usize) {
    let i = insns[pc];
    if !crate::insn::is_valid(insns, pc) {
        return ("<unknown>".to_string(), 1);
    }
    let d = i.dst;
    let s = i.src;
    let text = match i.class() {
        class::ALU | class::ALU64 => {
            let r = if i.class() == class::ALU64 { 'r' } else { 'w' };
            let srcv = if i.is_reg_src() {
                format!("{r}{s}")
            } else {
                format!("{}", i.imm)
            };
            match i.op() {
                alu::NEG => format!("{r}{d} = -{r}{d}"),
                alu::END => {
                    if i.class() == class::ALU64 {
                        format!("r{d} = bswap{} r{d}", i.imm)
                    } else if i.code & BPF_X != 0 {
                        format!("r{d} = be{} r{d}", i.imm)
                    } else {
                        format!("r{d} = le{} r{d}", i.imm)
                    }
                }
                alu::MOV => {
                    if i.is_reg_src() && i.off != 0 {
                        format!("{r}{d} = (s{}){r}{s}", i.off)
                    } else {
                        format!("{r}{d} = {srcv}")
                    }
                }
                op => {
                    let o = alu_op(op, i.off == 1).unwrap_or("?=");
                    format!("{r}{d} {o} {srcv}")
                }
            }
        }
        class::JMP | class::JMP32 => {
            let r = if i.class() == class::JMP { 'r' } else { 'w' };
            match i.op() {
                jmp::JA if i.class() == class::JMP32 => format!("gotol {}", rel(i.imm as i64)),
                jmp::JA => format!("goto {}", rel(i.off as i64)),
                jmp::JCOND => format!("may_goto {}", rel(i.off as i64)),
                jmp::CALL if i.is_reg_src() => {
                    let reg = if i.dst != 0 { i.dst as i32 } else { i.imm };
                    format!("callx r{reg}")
                }
                jmp::CALL => match i.src {
                    pseudo::CALL_LOCAL => format!("call {}", rel(i.imm as i64)),
                    pseudo::CALL_KFUNC if i.off != 0 => format!("call kfunc({}, {})", i.imm, i.off),
                    pseudo::CALL_KFUNC => format!("call kfunc({})", i.imm),
                    _ if i.imm < 0 => format!("call {:#x}", i.imm as u32),
                    _ => format!("call {}", i.imm),
                },
                jmp::EXIT => "exit".to_string(),
                op => {
                    let o = jmp_op(op).unwrap_or("?");
                    let srcv = if i.is_reg_src() {
                        format!("{r}{s}")
                    } else {
                        format!("{}", i.imm)
                    };
                    format!("if {r}{d} {o} {srcv} goto {}", rel(i.off as i64))
                }
            }
        }
        class::LD => {
            if i.is_lddw() {
                let hi = insns[pc + 1];
                let text = if s == 0 {
                    format!("r{d} = {} ll", lddw_value(&i, &hi) as i64)
                } else {
                    let name = PSEUDO_NAMES[s as usize];
                    format!("r{d} = {name}({}, {}) ll", i.imm, hi.imm)
                };
                return (text, 2);
            }
            let sz = size_name(i.code, false);
            if i.mode() == mem::ABS {
                format!("r0 = *({sz} *)skb[{}]", i.imm)
            } else if i.imm == 0 {
                format!("r0 = *({sz} *)skb[r{s}]")
            } else if i.imm < 0 {
                format!("r0 = *({sz} *)skb[r{s} - {}]", -(i.imm as i64))
            } else {
                format!("r0 = *({sz} *)skb[r{s} + {}]", i.imm)
            }
        }
        class::LDX => {
            let sx = i.mode() == mem::MEMSX;
            format!(
                "r{d} = *({} *)({})",
                size_name(i.code, sx),
                mem_ref(s, i.off)
            )
        }
        class::ST => format!(
            "*({} *)({}) = {}",
            size_name(i.code, false),
            mem_ref(d, i.off),
            i.imm
        ),
        class::STX => {
            let sz = size_name(i.code, false);
            let m = mem_ref(d, i.off);
            if i.mode() == mem::MEM {
                format!("*({sz} *)({m}) = r{s}")
            } else {
                let w = i.code & 0x18 == mem::W;
                let r = if w { 'w' } else { 'r' };
                match i.imm {
                    atomic::ADD => format!("lock *({sz} *)({m}) += r{s}"),
                    atomic::OR | atomic::AND | atomic::XOR => {
                        let o = alu_op(i.imm as u8, false).unwrap_or("?=");
                        format!("lock *({sz} *)({m}) {o} {r}{s}")
                    }
                    atomic::XCHG => {
                        let f = if w { "xchg32_32" } else { "xchg_64" };
                        format!("{r}{s} = {f}({m}, {r}{s})")
                    }
                    atomic::CMPXCHG => {
                        let f = if w { "cmpxchg32_32" } else { "cmpxchg_64" };
                        format!("{r}0 = {f}({m}, {r}0, {r}{s})")
                    }
                    op => {
                        let name = match op & !atomic::FETCH {
                            atomic::ADD => "add",
                            atomic::OR => "or",
                            atomic::AND => "and",
                            _ => "xor",
                        };
                        format!("{r}{s} = atomic_fetch_{name}(({sz} *)({m}), {r}{s})")
                    }
                }
            }
        }
        _ => "<unknown>".to_string(),
    };
    (text, 1)
}

/// Whether LLVM 14's BPF disassembler (as Debian 12's `llvm-objdump -d` runs it, without
/// the alu32 feature) decodes this instruction. It does not know the cpu=v4 additions,
/// `may_goto` (LLVM 19), `BPF_ST`, JSET, MOD, 32-bit atomics other than add, and prints no
/// pseudo sources.
pub fn llvm14_known(insns: &[Insn], pc: usize) -> bool {
    let i = insns[pc];
    if !crate::insn::is_valid(insns, pc) {
        return false;
    }
    let c = i.class();
    let alu = c == class::ALU || c == class::ALU64;
    !(alu && (i.off != 0 || (c == class::ALU64 && i.op() == alu::END))
        || i.code == class::JMP32 | jmp::JA
        || c == class::LDX && i.mode() == mem::MEMSX
        || c == class::ST
        || i.code == class::JMP | jmp::CALL | BPF_X && i.dst != 0
        || c == class::STX && i.mode() == mem::ATOMIC && i.code & 0x18 == mem::W && i.imm != 0
        || (c == class::JMP || c == class::JMP32) && i.op() == jmp::JSET
        || i.is_may_goto()
        || alu && i.op() == alu::MOD)
}

/// The text `llvm-objdump -d` (LLVM 14) prints for the instruction at `pc` (without the
/// branch-target annotation), and its slot count.
pub fn format_insn_llvm14(insns: &[Insn], pc: usize) -> (String, usize) {
    if !llvm14_known(insns, pc) {
        return ("<unknown>".to_string(), 1);
    }
    let i = insns[pc];
    if i.is_call() {
        return (format!("call {}", i.imm), 1);
    }
    if i.is_lddw() {
        let v = lddw_value(&i, &insns[pc + 1]) as i64;
        return (format!("r{} = {v} ll", i.dst), 2);
    }
    if i.class() == class::LD && i.mode() == mem::IND {
        return (
            format!("r0 = *({} *)skb[r{}]", size_name(i.code, false), i.src),
            1,
        );
    }
    format_insn(insns, pc)
}

/// One line per instruction: `  pc: text`, with `lddw` on one line.
pub fn disassemble(insns: &[Insn]) -> String {
    let mut out = String::new();
    let mut pc = 0;
    while pc < insns.len() {
        let (t, n) = format_insn(insns, pc);
        out.push_str(&format!("{pc:>8}:\t{t}\n"));
        pc += n;
    }
    out
}
