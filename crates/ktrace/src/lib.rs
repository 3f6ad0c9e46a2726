//! `ktrace`: the bpftrace-compatible tracing language, compiled straight to eBPF.
//!
//! The pipeline, one module per stage, each usable and testable alone:
//! [`lexer`] (tokens, scanned on demand) -> [`parser`] (hand-written Pratt parser to the
//! [`ast`]) -> [`sema`] (types of expressions, maps and variables; probe expansion against
//! the running system through [`sema::Env`]) -> `codegen` (lowering to eBPF instructions)
//! -> `runtime` (maps, programs and attachments in the kernel, events read from a ring
//! buffer) -> [`output`] (bpftrace 0.17's exact text for maps, histograms and printf, or its
//! `-f json` lines). [`driver`] strings the stages together for `kmodkit trace`; [`tools`]
//! holds the classic tools as scripts. Errors in a script are [`diag::Diagnostic`]s pointing
//! at the source, produced before anything is loaded.
//!
//! Compatibility is with what bpftrace 0.17 *does*, checked side by side (see
//! crates/kmodkit/tests/trace_oracle.rs), quirks included: its first-match wildcards, its
//! min()/max() per-CPU semantics, its 31-bit hist() cap, its `-l` listing, and `-p` not
//! narrowing uprobes. The instruction encoder in [`insn`] is private to this crate.
//!
//! Owns: the language, its compiler and runtime, the tracefs/ELF knowledge it needs
//! (tracepoint formats, uprobe offsets). Must not touch: module loading, the generic eBPF
//! crates (`bpf-insn`, `bpf-sys`, ...), which it only uses.
//!
//! Dependencies: `codespan-reporting` renders rustc-style diagnostics (a small, well-kept
//! crate that does exactly that layout); `object` reads ELF symbol tables for uprobes;
//! `signal-hook` turns Ctrl-C into a flag safely. Every syscall (bpf(), perf events, mount,
//! signals, clocks) goes through the `bpf-sys` system crate: this crate has no `unsafe`.

#![forbid(unsafe_code)]

pub mod ast;
pub mod codegen;
pub mod diag;
pub mod driver;
pub mod insn;
pub mod leaks;
pub mod lexer;
pub mod output;
pub mod parser;
pub mod printf;
pub mod runtime;
pub mod sema;
pub mod symbols;
pub mod system;
pub mod tools;
pub mod types;
