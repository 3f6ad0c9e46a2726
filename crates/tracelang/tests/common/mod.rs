//! The compile pipeline the tracelang tests share: parse, analyse against the fixed sample
//! system, generate code; any diagnostic rendered against `t.bt`.

use tracelang::ast::Program;
use tracelang::codegen::{self, Compiled};
use tracelang::{parser, sema, SampleEnv};

/// Parse and analyse `src` (`dry_run` as `-d` sets it).
#[allow(dead_code)] // not every test file analyses on its own
pub fn analyse(src: &str, dry_run: bool) -> Result<(Program, sema::Analysis), String> {
    let prog = parser::parse(src).map_err(|d| d.render("t.bt", src))?;
    let a = sema::analyse(
        &prog,
        &SampleEnv,
        &sema::Options {
            positional: &[],
            unsafe_ok: false,
            dry_run,
        },
    )
    .map_err(|d| d.render("t.bt", src))?;
    Ok((prog, a))
}

/// The whole pipeline with the default code generation options.
pub fn compile(src: &str, dry_run: bool) -> Result<Compiled, String> {
    let (prog, a) = analyse(src, dry_run)?;
    codegen::compile(&prog, &a, &codegen::Options::default()).map_err(|d| d.render("t.bt", src))
}
