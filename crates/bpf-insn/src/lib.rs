//! The eBPF instruction set (RFC 9669): encoding and decoding in both byte orders, an
//! assembler and a disassembler in LLVM's BPF syntax, the uBPF-style assembly of the
//! bpf_conformance vectors, and (in [`object`]) ELF objects as `clang -target bpf` emits them.
//!
//! This is a pure crate: bytes in, typed values out. The verifier (`bpf-verifier`) and the
//! interpreter (`bpf-vm`) build on [`Insn`].

pub mod asm;
mod asmtext;
pub mod build;
pub mod conformance;
pub mod disasm;
pub mod elfwrite;
pub mod insn;
pub mod objdump;
pub mod object;
pub mod ubpf;

pub use asm::{assemble, assemble_sections, Section};
pub use disasm::{disassemble, format_insn};
pub use insn::{decode_all, encode_all, Endian, Insn};

/// An assembler error at a line and column (both 1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col}: {msg}")]
pub struct AsmError {
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

impl AsmError {
    pub fn new(line: usize, col: usize, msg: impl Into<String>) -> AsmError {
        AsmError {
            line,
            col,
            msg: msg.into(),
        }
    }
}

/// Errors of this crate other than assembly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("instruction bytes of length {len} are not a multiple of 8")]
    Truncated { len: usize },
    #[error("{0}")]
    Format(String),
}
