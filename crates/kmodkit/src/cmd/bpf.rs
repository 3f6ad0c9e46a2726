//! eBPF commands: `kmodkit bpf asm|disasm|verify|run|conformance`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

const USAGE: &str = "usage: kmodkit bpf <command> ...

commands:
  asm FILE.s -o OUT.o|OUT.bin     assemble LLVM-syntax (or --ubpf) source
  disasm FILE.o|FILE.bin          disassemble (objects exactly as llvm-objdump -d)
  conformance FILE.data|DIR...    run bpf_conformance test vectors through the interpreter
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
        "asm" => asm(rest),
        "disasm" => disasm(rest),
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

/// Write `bytes` to `path` atomically: a temporary file in the same directory, then rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// `kmodkit bpf asm FILE.s -o OUT`
#[derive(clap::Parser)]
#[command(name = "kmodkit bpf asm", about = "Assemble eBPF (LLVM syntax, or uBPF syntax with --ubpf)")]
struct AsmArgs {
    /// Source file.
    input: PathBuf,
    /// Output: an ELF object if it ends in .o, raw instructions otherwise.
    #[arg(short, long)]
    output: PathBuf,
    /// Source is in the uBPF/bpf_conformance syntax (`mov %r0, 1`).
    #[arg(long)]
    ubpf: bool,
    /// Big-endian output.
    #[arg(long)]
    big_endian: bool,
}

fn asm(args: Vec<OsString>) -> u8 {
    use clap::Parser;
    let a = match AsmArgs::try_parse_from(std::iter::once(OsString::from("kmodkit bpf asm")).chain(args)) {
        Ok(a) => a,
        Err(e) => return clap_exit(e),
    };
    let src = match std::fs::read_to_string(&a.input) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kmodkit bpf asm: {}: {e}", a.input.display());
            return 1;
        }
    };
    let sections = if a.ubpf {
        bpf_insn::ubpf::assemble(&src).map(|insns| {
            vec![bpf_insn::Section {
                name: ".text".into(),
                insns,
                labels: vec![],
            }]
        })
    } else {
        bpf_insn::assemble_sections(&src)
    };
    let sections = match sections {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kmodkit bpf asm: {}:{e}", a.input.display());
            return 1;
        }
    };
    let endian = if a.big_endian { bpf_insn::Endian::Big } else { bpf_insn::Endian::Little };
    let bytes = if a.output.extension().is_some_and(|e| e == "o") {
        bpf_insn::elfwrite::write_object(&sections, endian)
    } else {
        let all: Vec<bpf_insn::Insn> = sections.into_iter().flat_map(|s| s.insns).collect();
        bpf_insn::encode_all(&all, endian)
    };
    match write_atomic(&a.output, &bytes) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("kmodkit bpf asm: {}: {e}", a.output.display());
            1
        }
    }
}

/// `kmodkit bpf disasm FILE`
#[derive(clap::Parser)]
#[command(name = "kmodkit bpf disasm", about = "Disassemble an eBPF object (as llvm-objdump -d) or raw instructions")]
struct DisasmArgs {
    file: PathBuf,
    /// Raw input is big-endian.
    #[arg(long)]
    big_endian: bool,
}

fn disasm(args: Vec<OsString>) -> u8 {
    use clap::Parser;
    let a = match DisasmArgs::try_parse_from(std::iter::once(OsString::from("kmodkit bpf disasm")).chain(args)) {
        Ok(a) => a,
        Err(e) => return clap_exit(e),
    };
    let data = match std::fs::read(&a.file) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("kmodkit bpf disasm: {}: {e}", a.file.display());
            return 1;
        }
    };
    if data.starts_with(b"\x7fELF") {
        match bpf_insn::objdump::objdump(&data, &a.file.to_string_lossy()) {
            Ok(t) => {
                print!("{t}");
                0
            }
            Err(e) => {
                eprintln!("kmodkit bpf disasm: {}: {e}", a.file.display());
                1
            }
        }
    } else {
        let endian = if a.big_endian { bpf_insn::Endian::Big } else { bpf_insn::Endian::Little };
        match bpf_insn::decode_all(&data, endian) {
            Ok(insns) => {
                print!("{}", bpf_insn::disassemble(&insns));
                0
            }
            Err(e) => {
                eprintln!("kmodkit bpf disasm: {}: {e}", a.file.display());
                1
            }
        }
    }
}
