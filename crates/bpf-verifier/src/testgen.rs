//! Program generator for fuzzing: turns arbitrary bytes into instruction streams that look
//! like real programs often enough for the verifier to accept some (stack stores and loads
//! near r10, map lookups with and without NULL checks, packet accesses with and without
//! bounds checks, forward and backward jumps, calls), plus raw random instructions.
//! The fuzz target and the smoke test run what the verifier accepts in the interpreter.

use bpf_insn::insn::{alu, class, jmp, lddw, mem, pseudo, Insn, BPF_K, BPF_X};

struct Bytes<'a> {
    b: &'a [u8],
    i: usize,
}

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let v = self.b.get(self.i).copied().unwrap_or(0);
        self.i += 1;
        v
    }
    fn done(&self) -> bool {
        self.i >= self.b.len()
    }
}

/// Build a program (at most `max` slots, always ending in `exit`) from `data`.
pub fn program(data: &[u8], max: usize) -> Vec<Insn> {
    let mut b = Bytes { b: data, i: 0 };
    let mut out: Vec<Insn> = Vec::new();
    // Most random programs would die on their first uninitialised register: start from
    // initialised ones (r1 stays the context).
    if b.u8() & 7 != 0 {
        for r in [0u8, 2, 3, 4, 5, 6, 7, 8, 9] {
            out.push(Insn::new(
                class::ALU64 | alu::MOV | BPF_K,
                r,
                0,
                0,
                (b.u8() % 16) as i32,
            ));
        }
    }
    let alu_ops = [
        alu::ADD,
        alu::SUB,
        alu::MUL,
        alu::DIV,
        alu::OR,
        alu::AND,
        alu::LSH,
        alu::RSH,
        alu::MOD,
        alu::XOR,
        alu::MOV,
        alu::ARSH,
        alu::NEG,
    ];
    let jmp_ops = [
        jmp::JEQ,
        jmp::JGT,
        jmp::JGE,
        jmp::JSET,
        jmp::JNE,
        jmp::JSGT,
        jmp::JSGE,
        jmp::JLT,
        jmp::JLE,
        jmp::JSLT,
        jmp::JSLE,
    ];
    let sizes = [mem::B, mem::H, mem::W, mem::DW];
    while !b.done() && out.len() + 4 < max {
        let k = b.u8();
        let r = |x: u8| x % 10;
        match k % 16 {
            0..=3 => {
                let op = alu_ops[(b.u8() as usize) % alu_ops.len()];
                let cls = if b.u8() & 1 == 0 {
                    class::ALU64
                } else {
                    class::ALU
                };
                let d = r(b.u8());
                if b.u8() & 1 == 0 {
                    out.push(Insn::new(cls | op | BPF_K, d, 0, 0, (b.u8() as i8) as i32));
                } else if op != alu::NEG {
                    out.push(Insn::new(cls | op | BPF_X, d, r(b.u8()), 0, 0));
                }
            }
            4 | 5 => {
                // stack store/load
                let sz = sizes[(b.u8() % 4) as usize];
                let off = -((b.u8() as i16 % 72) + 1);
                if k & 16 == 0 {
                    out.push(Insn::new(class::STX | mem::MEM | sz, 10, r(b.u8()), off, 0));
                } else {
                    out.push(Insn::new(class::LDX | mem::MEM | sz, r(b.u8()), 10, off, 0));
                }
            }
            6 => {
                // map lookup of key at fp-8, maybe NULL-checked, then an access
                let m = (b.u8() % 2) as i32;
                out.push(Insn::new(
                    class::ST | mem::MEM | mem::DW,
                    10,
                    0,
                    -8,
                    (b.u8() % 4) as i32,
                ));
                out.push(Insn::new(class::ALU64 | alu::MOV | BPF_X, 2, 10, 0, 0));
                out.push(Insn::new(class::ALU64 | alu::ADD | BPF_K, 2, 0, 0, -8));
                out.extend(lddw(1, pseudo::MAP_IDX, m as u64));
                out.push(Insn::new(class::JMP | jmp::CALL, 0, 0, 0, 1));
                if b.u8() & 3 != 0 {
                    out.push(Insn::new(class::JMP | jmp::JEQ | BPF_K, 0, 0, 1, 0));
                }
                let sz = sizes[(b.u8() % 4) as usize];
                out.push(Insn::new(
                    class::LDX | mem::MEM | sz,
                    r(b.u8()),
                    0,
                    (b.u8() % 72) as i16,
                    0,
                ));
            }
            7 => {
                // packet pointers from an XDP-like context in r1 (if still the context)
                out.push(Insn::new(class::LDX | mem::MEM | mem::W, 2, 1, 0, 0));
                out.push(Insn::new(class::LDX | mem::MEM | mem::W, 3, 1, 4, 0));
                let n = (b.u8() % 32) as i32;
                out.push(Insn::new(class::ALU64 | alu::MOV | BPF_X, 4, 2, 0, 0));
                out.push(Insn::new(class::ALU64 | alu::ADD | BPF_K, 4, 0, 0, n));
                if b.u8() & 3 != 0 {
                    out.push(Insn::new(class::JMP | jmp::JGT | BPF_X, 4, 3, 1, 0));
                }
                let sz = sizes[(b.u8() % 4) as usize];
                out.push(Insn::new(
                    class::LDX | mem::MEM | sz,
                    r(b.u8()),
                    2,
                    (b.u8() % 40) as i16,
                    0,
                ));
            }
            8 | 9 => {
                let op = jmp_ops[(b.u8() as usize) % jmp_ops.len()];
                let cls = if b.u8() & 1 == 0 {
                    class::JMP
                } else {
                    class::JMP32
                };
                let off = (b.u8() % 8) as i16 - 2;
                out.push(Insn::new(
                    cls | op | BPF_K,
                    r(b.u8()),
                    0,
                    off,
                    (b.u8() as i8) as i32,
                ));
            }
            10 => out.push(Insn::new(
                class::JMP | jmp::CALL,
                0,
                0,
                0,
                [5, 7, 8, 14][(b.u8() % 4) as usize],
            )),
            11 => {
                let v = u64::from_le_bytes([
                    b.u8(),
                    b.u8(),
                    b.u8(),
                    b.u8(),
                    b.u8(),
                    b.u8(),
                    b.u8(),
                    b.u8(),
                ]);
                out.extend(lddw(r(b.u8()), 0, v));
            }
            12 => {
                // raw random instruction
                let i = Insn::new(
                    b.u8(),
                    b.u8() % 11,
                    b.u8() % 11,
                    (b.u8() as i8) as i16,
                    (b.u8() as i8) as i32,
                );
                out.push(i);
            }
            13 => {
                // pointer arithmetic on a stack pointer with a bounded/unbounded scalar
                let s = r(b.u8());
                out.push(Insn::new(
                    class::ALU64 | alu::AND | BPF_K,
                    s,
                    0,
                    0,
                    (b.u8() % 64) as i32,
                ));
                out.push(Insn::new(class::ALU64 | alu::MOV | BPF_X, 6, 10, 0, 0));
                out.push(Insn::new(class::ALU64 | alu::ADD | BPF_K, 6, 0, 0, -72));
                out.push(Insn::new(class::ALU64 | alu::ADD | BPF_X, 6, s, 0, 0));
                out.push(Insn::new(class::LDX | mem::MEM | mem::B, 0, 6, 0, 0));
            }
            14 => out.push(Insn::new(
                class::ALU64 | alu::MOV | BPF_K,
                r(b.u8()),
                0,
                0,
                (b.u8() as i8) as i32,
            )),
            _ => {
                let sz = sizes[(b.u8() % 4) as usize];
                out.push(Insn::new(
                    class::STX | mem::ATOMIC | sz,
                    10,
                    r(b.u8()),
                    -8,
                    [0, 1, 0x41, 0xe1, 0xf1][(b.u8() % 5) as usize],
                ));
            }
        }
    }
    out.push(Insn::new(class::ALU64 | alu::MOV | BPF_K, 0, 0, 0, 0));
    out.push(Insn::new(class::JMP | jmp::EXIT, 0, 0, 0, 0));
    out
}
