//! eBPF commands: `kmodkit bpf asm|disasm|verify|run|conformance`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

const USAGE: &str = "usage: kmodkit bpf <command> ...

commands:
  conformance FILE.data|DIR...   run bpf_conformance test vectors through the interpreter
";

pub fn main(_name: &str, args: Vec<OsString>) -> u8 {
    let mut args = args.into_iter();
    let Some(sub) = args.next() else {
        eprint!("{USAGE}");
        return 2;
    };
    let rest: Vec<OsString> = args.collect();
    match sub.to_string_lossy().as_ref() {
        "conformance" => conformance(rest),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            0
        }
        other => {
            eprintln!("kmodkit bpf: unknown command `{other}`");
            eprint!("{USAGE}");
            2
        }
    }
}

fn clap_exit(e: clap::Error) -> u8 {
    let code = if e.use_stderr() { 2 } else { 0 };
    let _ = e.print();
    code
}

/// `kmodkit bpf conformance FILE.data|DIR...`
#[derive(clap::Parser)]
#[command(
    name = "kmodkit bpf conformance",
    about = "Run bpf_conformance test vectors (.data files) through the assembler and interpreter"
)]
struct ConformanceArgs {
    /// Vector files, or directories whose *.data files are run.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Also print the passing vectors.
    #[arg(long, short)]
    verbose: bool,
}

fn conformance(args: Vec<OsString>) -> u8 {
    use clap::Parser;
    let a = match ConformanceArgs::try_parse_from(
        std::iter::once(OsString::from("kmodkit bpf conformance")).chain(args),
    ) {
        Ok(a) => a,
        Err(e) => return clap_exit(e),
    };
    let mut files = Vec::new();
    for p in &a.paths {
        if p.is_dir() {
            match std::fs::read_dir(p) {
                Ok(rd) => {
                    let mut v: Vec<PathBuf> = rd
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|x| x == "data"))
                        .collect();
                    v.sort();
                    files.extend(v);
                }
                Err(e) => {
                    eprintln!("kmodkit bpf conformance: {}: {e}", p.display());
                    return 1;
                }
            }
        } else {
            files.push(p.clone());
        }
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for f in &files {
        match run_file(f) {
            Ok(()) => {
                passed += 1;
                if a.verbose {
                    println!("PASS {}", f.display());
                }
            }
            Err(e) => {
                failed += 1;
                println!("FAIL {}: {e}", f.display());
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 && passed > 0 {
        0
    } else {
        1
    }
}

fn run_file(f: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(f).map_err(|e| e.to_string())?;
    bpf_vm::conformance::run_vector(&text).map_err(|e| e.to_string())
}
