//! The eBPF instruction word (RFC 9669 §3) and the opcode constants.
//!
//! An instruction is kept in its encoded shape, `{code, dst, src, off, imm}`: that is what
//! the kernel, the verifier and the interpreter all look at, and it makes encoding exact by
//! construction. The wide `lddw` (`BPF_LD | BPF_IMM | BPF_DW`) takes two slots: the second
//! slot has opcode 0 and carries the upper 32 bits of the constant in its `imm`.

use crate::Error;

/// Instruction classes (low 3 bits of the opcode).
pub mod class {
    pub const LD: u8 = 0x00;
    pub const LDX: u8 = 0x01;
    pub const ST: u8 = 0x02;
    pub const STX: u8 = 0x03;
    pub const ALU: u8 = 0x04;
    pub const JMP: u8 = 0x05;
    pub const JMP32: u8 = 0x06;
    pub const ALU64: u8 = 0x07;
}

/// Source operand flag of ALU and JMP opcodes.
pub const BPF_K: u8 = 0x00;
pub const BPF_X: u8 = 0x08;

/// Arithmetic operations (high 4 bits of ALU/ALU64 opcodes).
pub mod alu {
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
    pub const END: u8 = 0xd0;
}

/// Jump operations (high 4 bits of JMP/JMP32 opcodes).
pub mod jmp {
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
    /// `may_goto`: `BPF_JMP | BPF_JCOND`, a jump the kernel takes once a per-program
    /// budget of iterations is spent (Linux 6.9).
    pub const JCOND: u8 = 0xe0;
}

/// Load/store size (bits 3-4) and mode (bits 5-7).
pub mod mem {
    pub const W: u8 = 0x00;
    pub const H: u8 = 0x08;
    pub const B: u8 = 0x10;
    pub const DW: u8 = 0x18;
    pub const IMM: u8 = 0x00;
    pub const ABS: u8 = 0x20;
    pub const IND: u8 = 0x40;
    pub const MEM: u8 = 0x60;
    pub const MEMSX: u8 = 0x80;
    pub const ATOMIC: u8 = 0xc0;
}

/// Atomic operations (the `imm` of `BPF_STX | BPF_ATOMIC`).
pub mod atomic {
    pub const FETCH: i32 = 0x01;
    pub const ADD: i32 = 0x00;
    pub const OR: i32 = 0x40;
    pub const AND: i32 = 0x50;
    pub const XOR: i32 = 0xa0;
    pub const XCHG: i32 = 0xe0 | FETCH;
    pub const CMPXCHG: i32 = 0xf0 | FETCH;
}

/// `src` values of `lddw` (pseudo sources, resolved by the loader/kernel).
pub mod pseudo {
    pub const MAP_FD: u8 = 1;
    pub const MAP_VALUE: u8 = 2;
    pub const BTF_ID: u8 = 3;
    pub const FUNC: u8 = 4;
    pub const MAP_IDX: u8 = 5;
    pub const MAP_IDX_VALUE: u8 = 6;
    /// `src` of a call: helper (0), BPF-to-BPF call (1), kfunc (2).
    pub const CALL_HELPER: u8 = 0;
    pub const CALL_LOCAL: u8 = 1;
    pub const CALL_KFUNC: u8 = 2;
}

/// Byte order of encoded instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Endian {
    #[default]
    Little,
    Big,
}

/// One 8-byte instruction slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Insn {
    pub code: u8,
    /// Destination register, 0..=15 (only 0..=10 are valid registers).
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

/// Access size in bytes of a load/store opcode.
pub fn size_bytes(code: u8) -> usize {
    match code & 0x18 {
        mem::W => 4,
        mem::H => 2,
        mem::B => 1,
        _ => 8,
    }
}

impl Insn {
    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            dst,
            src,
            off,
            imm,
        }
    }

    pub fn class(&self) -> u8 {
        self.code & 0x07
    }

    /// ALU/JMP operation (high nibble).
    pub fn op(&self) -> u8 {
        self.code & 0xf0
    }

    /// Whether an ALU/JMP instruction takes its source from a register.
    pub fn is_reg_src(&self) -> bool {
        self.code & BPF_X != 0
    }

    /// Load/store mode (bits 5-7).
    pub fn mode(&self) -> u8 {
        self.code & 0xe0
    }

    /// Whether this is the first slot of a 16-byte `lddw`.
    pub fn is_lddw(&self) -> bool {
        self.code == class::LD | mem::IMM | mem::DW
    }

    pub fn is_exit(&self) -> bool {
        self.code == class::JMP | jmp::EXIT
    }

    /// `may_goto off` (`BPF_JMP | BPF_JCOND | BPF_K`, every other field 0).
    pub fn is_may_goto(&self) -> bool {
        self.code == class::JMP | jmp::JCOND && self.src == 0 && self.dst == 0 && self.imm == 0
    }

    pub fn is_call(&self) -> bool {
        self.code == class::JMP | jmp::CALL
    }

    /// A conditional or unconditional jump with a pc-relative target (not call/exit).
    pub fn is_jump(&self) -> bool {
        let c = self.class();
        (c == class::JMP || c == class::JMP32)
            && self.op() != jmp::CALL
            && self.op() != jmp::EXIT
            && !(c == class::JMP32 && self.op() == jmp::JA && self.code & BPF_X != 0)
    }

    /// Relative offset (in slots, from the next instruction) of a jump: `off`, or `imm`
    /// for the 32-bit `gotol` (`BPF_JMP32 | BPF_JA`).
    pub fn jump_offset(&self) -> i64 {
        if self.code == class::JMP32 | jmp::JA {
            self.imm as i64
        } else {
            self.off as i64
        }
    }

    pub fn encode(&self, endian: Endian) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = self.code;
        match endian {
            Endian::Little => {
                b[1] = (self.dst & 0xf) | (self.src << 4);
                b[2..4].copy_from_slice(&self.off.to_le_bytes());
                b[4..8].copy_from_slice(&self.imm.to_le_bytes());
            }
            Endian::Big => {
                b[1] = (self.dst << 4) | (self.src & 0xf);
                b[2..4].copy_from_slice(&self.off.to_be_bytes());
                b[4..8].copy_from_slice(&self.imm.to_be_bytes());
            }
        }
        b
    }

    pub fn decode(b: [u8; 8], endian: Endian) -> Insn {
        match endian {
            Endian::Little => Insn {
                code: b[0],
                dst: b[1] & 0xf,
                src: b[1] >> 4,
                off: i16::from_le_bytes([b[2], b[3]]),
                imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            },
            Endian::Big => Insn {
                code: b[0],
                dst: b[1] >> 4,
                src: b[1] & 0xf,
                off: i16::from_be_bytes([b[2], b[3]]),
                imm: i32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            },
        }
    }
}

/// Decode a byte string of instruction slots.
pub fn decode_all(bytes: &[u8], endian: Endian) -> Result<Vec<Insn>, Error> {
    if !bytes.len().is_multiple_of(8) {
        return Err(Error::Truncated { len: bytes.len() });
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|c| {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            Insn::decode(a, endian)
        })
        .collect())
}

/// Encode instruction slots to bytes.
pub fn encode_all(insns: &[Insn], endian: Endian) -> Vec<u8> {
    let mut out = Vec::with_capacity(insns.len() * 8);
    for i in insns {
        out.extend_from_slice(&i.encode(endian));
    }
    out
}

/// The 64-bit constant of an `lddw` whose two slots are `lo` and `hi`.
/// Turn map references by index (`lddw` pseudo sources `MAP_IDX`, `MAP_IDX_VALUE`) into
/// references by file descriptor (`MAP_FD`, `MAP_VALUE`), map `i` being `fds[i]`, as a
/// kernel without `fd_array` needs. `Err(i)`: an index with no descriptor.
pub fn map_indices_to_fds(insns: &mut [Insn], fds: &[i32]) -> Result<(), i32> {
    for i in insns.iter_mut() {
        if i.is_lddw() && (i.src == pseudo::MAP_IDX || i.src == pseudo::MAP_IDX_VALUE) {
            let fd = usize::try_from(i.imm)
                .ok()
                .and_then(|k| fds.get(k))
                .ok_or(i.imm)?;
            i.src = if i.src == pseudo::MAP_IDX {
                pseudo::MAP_FD
            } else {
                pseudo::MAP_VALUE
            };
            i.imm = *fd;
        }
    }
    Ok(())
}

pub fn lddw_value(lo: &Insn, hi: &Insn) -> u64 {
    (lo.imm as u32 as u64) | ((hi.imm as u32 as u64) << 32)
}

/// The two slots of `dst = imm64` with pseudo source `src`.
pub fn lddw(dst: u8, src: u8, value: u64) -> [Insn; 2] {
    [
        Insn::new(
            class::LD | mem::IMM | mem::DW,
            dst,
            src,
            0,
            value as u32 as i32,
        ),
        Insn::new(0, 0, 0, 0, (value >> 32) as u32 as i32),
    ]
}

/// Whether an opcode/field combination is a defined instruction of RFC 9669 (plus the
/// legacy packet loads and the kernel's `callx`). This is the decoder's validity check; the
/// verifier applies the stricter rules of a program type on top.
pub fn is_valid(insns: &[Insn], pc: usize) -> bool {
    let i = &insns[pc];
    let reg_ok = |r: u8| r <= 10;
    match i.class() {
        class::ALU | class::ALU64 => {
            let is64 = i.class() == class::ALU64;
            if !reg_ok(i.dst) {
                return false;
            }
            match i.op() {
                alu::END => {
                    if is64 && i.is_reg_src() {
                        return false;
                    }
                    matches!(i.imm, 16 | 32 | 64) && i.src == 0 && i.off == 0
                }
                alu::NEG => i.src == 0 && i.off == 0 && i.imm == 0 && !i.is_reg_src(),
                alu::DIV | alu::MOD => {
                    (i.off == 0 || i.off == 1)
                        && if i.is_reg_src() {
                            reg_ok(i.src) && i.imm == 0
                        } else {
                            i.src == 0
                        }
                }
                alu::MOV => {
                    if i.is_reg_src() {
                        let sx_ok = match i.off {
                            0 => true,
                            8 | 16 => true,
                            32 => is64,
                            _ => false,
                        };
                        sx_ok && reg_ok(i.src) && i.imm == 0
                    } else {
                        i.src == 0 && i.off == 0
                    }
                }
                0xe0 | 0xf0 => false,
                _ => {
                    i.off == 0
                        && if i.is_reg_src() {
                            reg_ok(i.src) && i.imm == 0
                        } else {
                            i.src == 0
                        }
                }
            }
        }
        class::JMP | class::JMP32 => {
            let is32 = i.class() == class::JMP32;
            match i.op() {
                jmp::JA => {
                    if i.is_reg_src() {
                        return false;
                    }
                    i.dst == 0 && i.src == 0 && if is32 { i.off == 0 } else { i.imm == 0 }
                }
                jmp::CALL => {
                    if is32 {
                        return false;
                    }
                    if i.is_reg_src() {
                        // callx: the register is in dst (newer LLVM) or imm (older).
                        i.src == 0 && i.off == 0 && reg_ok(i.dst) && (0..=10).contains(&i.imm)
                    } else {
                        i.dst == 0 && i.src <= 2 && (i.off == 0 || i.src == pseudo::CALL_KFUNC)
                    }
                }
                jmp::EXIT => {
                    !is32 && !i.is_reg_src() && i.dst == 0 && i.src == 0 && i.off == 0 && i.imm == 0
                }
                jmp::JCOND => i.is_may_goto(),
                0xf0 => false,
                _ => {
                    reg_ok(i.dst)
                        && if i.is_reg_src() {
                            reg_ok(i.src) && i.imm == 0
                        } else {
                            i.src == 0
                        }
                }
            }
        }
        class::LD => {
            if i.is_lddw() {
                let Some(hi) = insns.get(pc + 1) else {
                    return false;
                };
                return reg_ok(i.dst)
                    && i.src <= 6
                    && i.off == 0
                    && *hi == Insn::new(0, 0, 0, 0, hi.imm);
            }
            // Legacy packet loads: ABS/IND, sizes W/H/B.
            let m = i.mode();
            (m == mem::ABS || m == mem::IND)
                && i.code & 0x18 != mem::DW
                && i.dst == 0
                && i.off == 0
                && (m == mem::IND && reg_ok(i.src) || m == mem::ABS && i.src == 0)
        }
        class::LDX => {
            let m = i.mode();
            reg_ok(i.dst)
                && reg_ok(i.src)
                && i.imm == 0
                && (m == mem::MEM || (m == mem::MEMSX && i.code & 0x18 != mem::DW))
        }
        class::ST => reg_ok(i.dst) && i.src == 0 && i.mode() == mem::MEM,
        class::STX => {
            if !(reg_ok(i.dst) && reg_ok(i.src)) {
                return false;
            }
            match i.mode() {
                mem::MEM => i.imm == 0,
                mem::ATOMIC => {
                    matches!(i.code & 0x18, mem::W | mem::DW)
                        && matches!(
                            i.imm,
                            0x00 | 0x01 | 0x40 | 0x41 | 0x50 | 0x51 | 0xa0 | 0xa1 | 0xe1 | 0xf1
                        )
                }
                _ => false,
            }
        }
        _ => false,
    }
}
