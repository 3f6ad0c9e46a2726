//! `tracelang`: the bpftrace-compatible tracing language, compiled straight to eBPF
//! instructions. Text in; programs, map specifications and the table of user-space actions
//! out.
//!
//! The pipeline, one module per stage, each usable and testable alone:
//! [`lexer`] (tokens, scanned on demand) -> [`parser`] (hand-written Pratt parser to the
//! [`ast`]) -> [`sema`] (types of expressions, maps and variables; probe expansion through
//! the [`sema::Env`] trait, which the caller implements) -> [`codegen`] (lowering to
//! `bpf_insn::Insn`s). [`kernel`] gives the language the kernel's types from BTF (casts,
//! member chains, enum constants, `sizeof`/`offsetof`, a script's own structs), asked of
//! [`sema::Env::btf`] only when a script uses them. [`printf`] parses formats at compile time and applies them to event
//! values. Errors in a script are [`diag::Diagnostic`]s pointing at the source
//! (`file:line:col`, the line, a caret), produced before anything is loaded.
//!
//! Owns: the language (syntax, types, semantics), its limits (nesting depth,
//! [`codegen::MAX_INSNS`]), the lowering to eBPF and the printf formats.
//! Must not touch: files, processes, `/proc`, `/sys` or the `bpf()` syscall. This is a
//! *format* crate: it depends on format crates only (`bpf-insn` for the instruction type
//! and its builders). What the running system says (tracepoints, their formats, uprobe
//! targets) comes in through [`sema::Env`]; loading, attaching and printing live in the
//! `ktrace` runtime crate.
//!
//! No input aborts the process: every recursive path of the parser has a depth limit
//! ([`parser::MAX_DEPTH`]), code generation stops at the kernel's instruction limit before
//! its buffers grow past it, and printf widths are bounded. [`fuzz_one`] runs every stage
//! on arbitrary bytes for the fuzzers.
//!
//! Compatibility is with what bpftrace 0.17 *does*, checked side by side by the runtime's
//! oracle tests (crates/kmodkit/tests/trace_oracle.rs).
//!
//! Dependencies: `codespan-reporting` renders rustc-style diagnostics (a small, well-kept
//! crate that does exactly that layout).

#![forbid(unsafe_code)]

pub mod ast;
pub mod codegen;
pub mod config;
pub mod diag;
pub mod kernel;
pub mod lexer;
pub mod parser;
pub mod printf;
pub mod sema;
pub mod types;

mod sample;
pub use sample::SampleEnv;

/// Runs the lexer, parser, analysis and code generator on `data` (as UTF-8, lossily) against
/// [`SampleEnv`], rendering any diagnostic. It must return for every input, without
/// panicking and without allocating more than the limits allow: this is the body of the
/// fuzz target (cargo-fuzz or AFL) and of the smoke tests. Returns whether the input
/// compiled.
pub fn fuzz_one(data: &[u8]) -> bool {
    let src = String::from_utf8_lossy(data);
    let mut lx = lexer::Lexer::new(&src);
    while let Ok((tok, _)) = lx.next_token() {
        if tok == lexer::Tok::Eof {
            break;
        }
    }
    let prog = match parser::parse(&src) {
        Ok(p) => p,
        Err(d) => {
            let _ = d.render("fuzz.bt", &src);
            return false;
        }
    };
    let positional = ["1".to_string(), "str".to_string()];
    let a = match sema::analyse(
        &prog,
        &SampleEnv,
        &sema::Options {
            positional: &positional,
            unsafe_ok: true,
            dry_run: true,
        },
    ) {
        Ok(a) => a,
        Err(d) => {
            let _ = d.render("fuzz.bt", &src);
            return false;
        }
    };
    // The same limit checks as the real one (MAX_INSNS), at a size that keeps each input cheap.
    let opts = codegen::Options {
        max_insns: 16 * 1024,
        ..Default::default()
    };
    match codegen::compile(&prog, &a, &opts) {
        Ok(_) => true,
        Err(d) => {
            let _ = d.render("fuzz.bt", &src);
            false
        }
    }
}
