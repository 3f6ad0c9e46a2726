//! A private, minimal eBPF instruction encoder (and a one-line-per-instruction printer for
//! `-d`). It exists only until `bpf-insn` offers the same; the codegen uses nothing here that
//! the ISA crate will not have, so the swap is mechanical.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    /// dst in the low nibble, src in the high nibble.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    pub fn to_bytes(self) -> [u8; 8] {
        let o = self.off.to_le_bytes();
        let i = self.imm.to_le_bytes();
        [self.code, self.regs, o[0], o[1], i[0], i[1], i[2], i[3]]
    }
    pub fn dst(self) -> u8 {
        self.regs & 0xf
    }
    pub fn src(self) -> u8 {
        self.regs >> 4
    }
}

// Classes
pub const LD: u8 = 0x00;
pub const LDX: u8 = 0x01;
pub const ST: u8 = 0x02;
pub const STX: u8 = 0x03;
pub const JMP: u8 = 0x05;
pub const ALU64: u8 = 0x07;
// Sizes
pub const W: u8 = 0x00;
pub const H: u8 = 0x08;
pub const B: u8 = 0x10;
pub const DW: u8 = 0x18;
/// Mode of atomic read-modify-write stores.
pub const ATOMIC: u8 = 0xc0;
const MEM: u8 = 0x60;
const IMM: u8 = 0x00;
const K: u8 = 0x00;
const X: u8 = 0x08;
// ALU ops
pub const ADD: u8 = 0x00;
pub const SUB: u8 = 0x10;
pub const MUL: u8 = 0x20;
pub const DIV: u8 = 0x30;
pub const OR: u8 = 0x40;
pub const AND: u8 = 0x50;
pub const LSH: u8 = 0x60;
pub const RSH: u8 = 0x70;
pub const NEG: u8 = 0x80;
pub const MOD: u8 = 0x90;
pub const XOR: u8 = 0xa0;
pub const MOV: u8 = 0xb0;
pub const ARSH: u8 = 0xc0;
// JMP ops
pub const JA: u8 = 0x00;
pub const JEQ: u8 = 0x10;
pub const JGT: u8 = 0x20;
pub const JGE: u8 = 0x30;
pub const JSET: u8 = 0x40;
pub const JNE: u8 = 0x50;
pub const JSGT: u8 = 0x60;
pub const JSGE: u8 = 0x70;
pub const CALL: u8 = 0x80;
pub const EXIT: u8 = 0x90;
pub const JLT: u8 = 0xa0;
pub const JLE: u8 = 0xb0;
pub const JSLT: u8 = 0xc0;
pub const JSLE: u8 = 0xd0;

/// `src` field of `ld_imm64` that makes the immediate a map file descriptor.
pub const PSEUDO_MAP_FD: u8 = 1;

fn regs(dst: u8, src: u8) -> u8 {
    (src << 4) | (dst & 0xf)
}

pub fn alu_imm(op: u8, dst: u8, imm: i32) -> Insn {
    Insn {
        code: ALU64 | op | K,
        regs: regs(dst, 0),
        off: 0,
        imm,
    }
}
pub fn alu_reg(op: u8, dst: u8, src: u8) -> Insn {
    Insn {
        code: ALU64 | op | X,
        regs: regs(dst, src),
        off: 0,
        imm: 0,
    }
}
pub fn mov_imm(dst: u8, imm: i32) -> Insn {
    alu_imm(MOV, dst, imm)
}
pub fn mov_reg(dst: u8, src: u8) -> Insn {
    alu_reg(MOV, dst, src)
}
pub fn ld_imm64(dst: u8, src: u8, v: u64) -> [Insn; 2] {
    [
        Insn {
            code: LD | DW | IMM,
            regs: regs(dst, src),
            off: 0,
            imm: v as u32 as i32,
        },
        Insn {
            code: 0,
            regs: 0,
            off: 0,
            imm: (v >> 32) as u32 as i32,
        },
    ]
}
pub fn ldx(size: u8, dst: u8, src: u8, off: i16) -> Insn {
    Insn {
        code: LDX | size | MEM,
        regs: regs(dst, src),
        off,
        imm: 0,
    }
}
pub fn stx(size: u8, dst: u8, src: u8, off: i16) -> Insn {
    Insn {
        code: STX | size | MEM,
        regs: regs(dst, src),
        off,
        imm: 0,
    }
}
/// `lock *(size *)(dst + off) += src` (BPF_ATOMIC with BPF_ADD, no fetch).
pub fn atomic_add(size: u8, dst: u8, src: u8, off: i16) -> Insn {
    Insn {
        code: STX | size | ATOMIC,
        regs: regs(dst, src),
        off,
        imm: 0,
    }
}
pub fn st(size: u8, dst: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code: ST | size | MEM,
        regs: regs(dst, 0),
        off,
        imm,
    }
}
pub fn jmp_imm(op: u8, dst: u8, imm: i32, off: i16) -> Insn {
    Insn {
        code: JMP | op | K,
        regs: regs(dst, 0),
        off,
        imm,
    }
}
pub fn jmp_reg(op: u8, dst: u8, src: u8, off: i16) -> Insn {
    Insn {
        code: JMP | op | X,
        regs: regs(dst, src),
        off,
        imm: 0,
    }
}
pub fn call(helper: i32) -> Insn {
    Insn {
        code: JMP | CALL,
        regs: 0,
        off: 0,
        imm: helper,
    }
}
pub fn exit() -> Insn {
    Insn {
        code: JMP | EXIT,
        regs: 0,
        off: 0,
        imm: 0,
    }
}

/// One instruction as text, in the kernel verifier log's style.
pub fn disasm(insns: &[Insn]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < insns.len() {
        let x = insns[i];
        let (d, s) = (x.dst(), x.src());
        let class = x.code & 7;
        let text = match class {
            LD => {
                let hi = insns.get(i + 1).map_or(0, |n| n.imm as u32 as u64);
                let v = (hi << 32) | x.imm as u32 as u64;
                i += 1;
                if s == PSEUDO_MAP_FD {
                    format!("r{d} = map[{}] ll", x.imm)
                } else {
                    format!("r{d} = {v:#x} ll")
                }
            }
            LDX | STX | ST => {
                let sz = match x.code & 0x18 {
                    W => "u32",
                    H => "u16",
                    B => "u8",
                    _ => "u64",
                };
                match class {
                    LDX => format!("r{d} = *({sz} *)(r{s} {:+})", x.off),
                    STX if x.code & 0xe0 == ATOMIC => {
                        format!("lock *({sz} *)(r{d} {:+}) += r{s}", x.off)
                    }
                    STX => format!("*({sz} *)(r{d} {:+}) = r{s}", x.off),
                    _ => format!("*({sz} *)(r{d} {:+}) = {}", x.off, x.imm),
                }
            }
            ALU64 => {
                let op = match x.code & 0xf0 {
                    ADD => "+=",
                    SUB => "-=",
                    MUL => "*=",
                    DIV => "/=",
                    OR => "|=",
                    AND => "&=",
                    LSH => "<<=",
                    RSH => ">>=",
                    NEG => "= -",
                    MOD => "%=",
                    XOR => "^=",
                    MOV => "=",
                    _ => "s>>=",
                };
                if x.code & X != 0 {
                    format!("r{d} {op} r{s}")
                } else {
                    format!("r{d} {op} {}", x.imm)
                }
            }
            JMP => match x.code & 0xf0 {
                CALL => format!("call {}", x.imm),
                EXIT => "exit".to_string(),
                JA => format!("goto {:+}", x.off),
                op => {
                    let o = match op {
                        JEQ => "==",
                        JGT => ">",
                        JGE => ">=",
                        JSET => "&",
                        JNE => "!=",
                        JSGT => "s>",
                        JSGE => "s>=",
                        JLT => "<",
                        JLE => "<=",
                        JSLT => "s<",
                        _ => "s<=",
                    };
                    if x.code & X != 0 {
                        format!("if r{d} {o} r{s} goto {:+}", x.off)
                    } else {
                        format!("if r{d} {o} {} goto {:+}", x.imm, x.off)
                    }
                }
            },
            _ => format!("(code {:#04x})", x.code),
        };
        let idx = if class == LD { i - 1 } else { i };
        out.push_str(&format!("{idx:4}: {text}\n"));
        i += 1;
    }
    out
}
