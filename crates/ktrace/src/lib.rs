//! `ktrace`: the runtime of the bpftrace-compatible tracing language. The language itself
//! (lexer, parser, types, code generator, printf formats) is the pure `tracelang` crate;
//! this crate puts its programs into the running kernel and prints what they report.
//!
//! [`system`] answers `tracelang`'s questions about the running system (tracepoints and
//! their tracefs formats, uprobe targets); [`runtime`] creates the maps, loads and attaches
//! the programs through `bpf-sys` and reads events from a ring buffer; [`output`] prints
//! them as bpftrace 0.17 does (its exact text for maps, histograms and printf, or its
//! `-f json` lines); [`symbols`] resolves addresses (kallsyms, /proc/PID/maps, ELF symbol
//! tables). [`driver`] strings the stages together for `kmodkit trace`; [`tools`] holds the
//! classic tools as scripts; [`leaks`] is `kmodkit leaks`, a script of the language plus a
//! report.
//!
//! Compatibility is with what bpftrace 0.17 *does*, checked side by side (see
//! crates/kmodkit/tests/trace_oracle.rs), quirks included: its first-match wildcards, its
//! min()/max() per-CPU semantics, its 31-bit hist() cap, its `-l` listing, and `-p` not
//! narrowing uprobes.
//!
//! Owns: loading, attaching, event reading and printing for scripts of the language, and
//! the tracefs/ELF/kallsyms knowledge that needs (tracepoint formats, uprobe offsets,
//! symbol names). Must not touch: the language (syntax, types, code generation: all in
//! `tracelang`), module loading, the generic eBPF crates (`bpf-insn`, `bpf-sys`, ...),
//! which it only uses.
//!
//! The language's modules are re-exported under their old paths (`ktrace::parser`,
//! `ktrace::sema`, ...) so that callers written against them keep working.
//!
//! Dependencies: `object` reads ELF symbol tables for uprobes; `signal-hook` turns Ctrl-C
//! into a flag safely. Every syscall (bpf(), perf events, mount, signals, clocks) goes
//! through the `bpf-sys` system crate: this crate has no `unsafe`.

#![forbid(unsafe_code)]

pub use tracelang::{ast, codegen, diag, lexer, parser, printf, sema, types};

pub mod driver;
pub mod leaks;
pub mod output;
pub mod runtime;
pub mod symbols;
pub mod system;
pub mod tools;
