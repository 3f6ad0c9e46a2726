//! Instruction builders: one function per instruction shape a code generator emits
//! (`dst = imm`, `dst op= src`, loads, stores, jumps, calls), so generators write
//! `mov_imm(1, 0)` rather than spelling opcode bits. Only 64-bit ALU and JMP forms are
//! here, the ones the tracing compiler needs; everything else is [`Insn::new`].

use crate::insn::{class, jmp, mem, pseudo, BPF_K, BPF_X};
use crate::Insn;

/// `dst op= imm` (64-bit ALU; `op` is one of [`crate::insn::alu`]).
pub fn alu_imm(op: u8, dst: u8, imm: i32) -> Insn {
    Insn::new(class::ALU64 | op | BPF_K, dst, 0, 0, imm)
}

/// `dst op= src` (64-bit ALU).
pub fn alu_reg(op: u8, dst: u8, src: u8) -> Insn {
    Insn::new(class::ALU64 | op | BPF_X, dst, src, 0, 0)
}

/// `dst = imm` (sign-extended to 64 bits).
pub fn mov_imm(dst: u8, imm: i32) -> Insn {
    alu_imm(crate::insn::alu::MOV, dst, imm)
}

/// `dst = src`.
pub fn mov_reg(dst: u8, src: u8) -> Insn {
    alu_reg(crate::insn::alu::MOV, dst, src)
}

/// `dst = *(size *)(src + off)` (`size` is one of [`mem::W`], `H`, `B`, `DW`).
pub fn ldx(size: u8, dst: u8, src: u8, off: i16) -> Insn {
    Insn::new(class::LDX | size | mem::MEM, dst, src, off, 0)
}

/// `*(size *)(dst + off) = src`.
pub fn stx(size: u8, dst: u8, src: u8, off: i16) -> Insn {
    Insn::new(class::STX | size | mem::MEM, dst, src, off, 0)
}

/// `*(size *)(dst + off) = imm`.
pub fn st(size: u8, dst: u8, off: i16, imm: i32) -> Insn {
    Insn::new(class::ST | size | mem::MEM, dst, 0, off, imm)
}

/// `lock *(size *)(dst + off) += src` (`BPF_ATOMIC` with `BPF_ADD`, no fetch).
pub fn atomic_add(size: u8, dst: u8, src: u8, off: i16) -> Insn {
    Insn::new(
        class::STX | size | mem::ATOMIC,
        dst,
        src,
        off,
        crate::insn::atomic::ADD,
    )
}

/// `if dst op imm goto +off` (`op` is one of [`crate::insn::jmp`]; `JA` ignores `dst`).
pub fn jmp_imm(op: u8, dst: u8, imm: i32, off: i16) -> Insn {
    Insn::new(class::JMP | op | BPF_K, dst, 0, off, imm)
}

/// `if dst op src goto +off`.
pub fn jmp_reg(op: u8, dst: u8, src: u8, off: i16) -> Insn {
    Insn::new(class::JMP | op | BPF_X, dst, src, off, 0)
}

/// `call helper` (a kernel helper by number).
pub fn call(helper: i32) -> Insn {
    Insn::new(class::JMP | jmp::CALL, 0, pseudo::CALL_HELPER, 0, helper)
}

/// `exit`.
pub fn exit() -> Insn {
    Insn::new(class::JMP | jmp::EXIT, 0, 0, 0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::{alu, Endian};

    #[test]
    fn encodings_match_the_kernel_macros() {
        // BPF_MOV64_REG(BPF_REG_9, BPF_REG_1)
        assert_eq!(
            mov_reg(9, 1).encode(Endian::Little),
            [0xbf, 0x19, 0, 0, 0, 0, 0, 0]
        );
        // BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -8)
        assert_eq!(
            alu_imm(alu::ADD, 2, -8).encode(Endian::Little),
            [0x07, 0x02, 0, 0, 0xf8, 0xff, 0xff, 0xff]
        );
        // BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_0, -8)
        assert_eq!(
            stx(mem::DW, 10, 0, -8).encode(Endian::Little),
            [0x7b, 0x0a, 0xf8, 0xff, 0, 0, 0, 0]
        );
        // BPF_ATOMIC_OP(BPF_DW, BPF_ADD, BPF_REG_0, BPF_REG_1, 0)
        assert_eq!(
            atomic_add(mem::DW, 0, 1, 0).encode(Endian::Little),
            [0xdb, 0x10, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            call(14).encode(Endian::Little),
            [0x85, 0, 0, 0, 14, 0, 0, 0]
        );
        assert_eq!(exit().encode(Endian::Little), [0x95, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            jmp_imm(jmp::JNE, 0, 7, 3).encode(Endian::Little),
            [0x55, 0, 3, 0, 7, 0, 0, 0]
        );
    }
}
