//! eBPF commands: `kmodkit bpf asm|disasm|verify|run|conformance`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

const USAGE: &str = "usage: kmodkit bpf <command> ...

commands:
  asm FILE.s -o OUT.o|OUT.bin     assemble LLVM-syntax (or --ubpf) source
  disasm FILE.o|FILE.bin          disassemble (objects exactly as llvm-objdump -d)
  verify FILE [--type T] [--prog NAME] [--json]   check programs as the kernel verifier would
  run FILE [--prog NAME] [--data FILE] [--repeat N] [--json]   run a program in the interpreter
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
        "verify" => verify(rest),
        "run" => run(rest),
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

/// Until this file's commands return `Outcome`: `super::clap_exit` as a status.
fn clap_exit(e: clap::Error) -> u8 {
    match super::clap_exit(e) {
        Ok(_) => 0,
        Err(_) => 2,
    }
}

/// `kmodkit bpf conformance FILE.data|DIR...`
#[derive(clap::Parser)]
#[command(
    name = "kmodkit bpf conformance",
    about = "Run bpf_conformance test vectors (.data files) through the assembler and interpreter"
)]
pub(crate) struct ConformanceArgs {
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
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
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
#[command(
    name = "kmodkit bpf asm",
    about = "Assemble eBPF (LLVM syntax, or uBPF syntax with --ubpf)"
)]
pub(crate) struct AsmArgs {
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
    let a = match AsmArgs::try_parse_from(
        std::iter::once(OsString::from("kmodkit bpf asm")).chain(args),
    ) {
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
    let endian = if a.big_endian {
        bpf_insn::Endian::Big
    } else {
        bpf_insn::Endian::Little
    };
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
#[command(
    name = "kmodkit bpf disasm",
    about = "Disassemble an eBPF object (as llvm-objdump -d) or raw instructions"
)]
pub(crate) struct DisasmArgs {
    file: PathBuf,
    /// Raw input is big-endian.
    #[arg(long)]
    big_endian: bool,
}

fn disasm(args: Vec<OsString>) -> u8 {
    use clap::Parser;
    let a = match DisasmArgs::try_parse_from(
        std::iter::once(OsString::from("kmodkit bpf disasm")).chain(args),
    ) {
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
        let endian = if a.big_endian {
            bpf_insn::Endian::Big
        } else {
            bpf_insn::Endian::Little
        };
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

/// `load_programs` with the program type given by name (`--type`), for `verify` and `run`:
/// an unknown type is a usage error (2), a file that cannot be loaded an error (1), each
/// reported under the subcommand's name.
fn load_typed(
    cmd: &str,
    path: &Path,
    type_name: Option<&str>,
) -> Result<
    (
        Vec<bpf_insn::object::Program>,
        Vec<bpf_insn::object::MapDef>,
    ),
    u8,
> {
    let t = match type_name {
        None => None,
        Some(n) => match bpf_insn::object::prog_type_from_name(n) {
            Some(t) => Some(t),
            None => {
                eprintln!("kmodkit bpf {cmd}: unknown program type `{n}`");
                return Err(2);
            }
        },
    };
    load_programs(path, t).map_err(|e| {
        eprintln!("kmodkit bpf {cmd}: {e}");
        1
    })
}

/// Programs of a file: an ELF object, LLVM-syntax assembly (`.s`) or raw instructions.
fn load_programs(
    path: &Path,
    type_override: Option<u32>,
) -> Result<
    (
        Vec<bpf_insn::object::Program>,
        Vec<bpf_insn::object::MapDef>,
    ),
    String,
> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if data.starts_with(b"\x7fELF") {
        let obj = bpf_insn::object::Object::parse(&data)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut progs = obj.programs;
        if let Some(t) = type_override {
            for p in &mut progs {
                p.prog_type = Some(t);
            }
        }
        return Ok((progs, obj.maps));
    }
    let insns = if path
        .extension()
        .is_some_and(|e| e == "s" || e == "S" || e == "asm")
    {
        let text =
            String::from_utf8(data).map_err(|_| format!("{}: not UTF-8 text", path.display()))?;
        bpf_insn::assemble(&text).map_err(|e| format!("{}:{e}", path.display()))?
    } else {
        bpf_insn::decode_all(&data, bpf_insn::Endian::Little)
            .map_err(|e| format!("{}: {e}", path.display()))?
    };
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((
        vec![bpf_insn::object::Program {
            name: name.clone(),
            section: name,
            prog_type: type_override,
            insns,
            lines: vec![],
            funcs: vec![],
        }],
        vec![],
    ))
}

fn map_infos(maps: &[bpf_insn::object::MapDef]) -> Vec<bpf_verifier::MapInfo> {
    maps.iter()
        .map(|m| bpf_verifier::MapInfo {
            name: m.name.clone(),
            map_type: m.map_type,
            key_size: m.key_size,
            value_size: m.value_size,
            max_entries: m.max_entries,
            frozen: if m.readonly { m.data.clone() } else { None },
        })
        .collect()
}

/// `kmodkit bpf verify FILE`
#[derive(clap::Parser)]
#[command(
    name = "kmodkit bpf verify",
    about = "Verify eBPF programs as a current kernel does for a privileged (CAP_BPF+CAP_PERFMON) loader"
)]
pub(crate) struct VerifyArgs {
    /// ELF object, LLVM-syntax assembly (.s) or raw instructions.
    file: PathBuf,
    /// Program type (xdp, socket_filter, kprobe, tracepoint, sched_cls, ...); default: from the section name.
    #[arg(long = "type")]
    prog_type: Option<String>,
    /// Only this program (function or section name).
    #[arg(long)]
    prog: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

fn verify(args: Vec<OsString>) -> u8 {
    use clap::Parser;
    let a = match VerifyArgs::try_parse_from(
        std::iter::once(OsString::from("kmodkit bpf verify")).chain(args),
    ) {
        Ok(a) => a,
        Err(e) => return clap_exit(e),
    };
    let (progs, maps) = match load_typed("verify", &a.file, a.prog_type.as_deref()) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let progs: Vec<_> = progs
        .into_iter()
        .filter(|p| {
            a.prog
                .as_ref()
                .is_none_or(|n| &p.name == n || &p.section == n)
        })
        .collect();
    if progs.is_empty() {
        eprintln!(
            "kmodkit bpf verify: {}: no program{}",
            a.file.display(),
            a.prog
                .as_ref()
                .map(|n| format!(" named `{n}`"))
                .unwrap_or_default()
        );
        return 1;
    }
    let infos = map_infos(&maps);
    let mut rejected = 0;
    let mut json = Vec::new();
    for p in &progs {
        let Some(pt) = p.prog_type else {
            eprintln!("kmodkit bpf verify: {}: program `{}` (section `{}`): unknown program type; pass --type", a.file.display(), p.name, p.section);
            return 2;
        };
        let input = bpf_verifier::Input {
            insns: &p.insns,
            prog_type: pt,
            maps: &infos,
        };
        let start = std::time::Instant::now();
        let res = bpf_verifier::verify(&input, &bpf_verifier::Options::default());
        let us = start.elapsed().as_micros();
        match res {
            Ok(v) => {
                if a.json {
                    json.push(serde_json::json!({"program": p.name, "section": p.section, "type": bpf_insn::object::prog_type_name(pt),
                        "accepted": true, "insns": p.insns.len(), "insns_processed": v.insns_processed, "states": v.states_stored,
                        "stack_depth": v.max_stack_depth, "time_us": us}));
                } else {
                    println!(
                        "{}: accepted ({} insns, {} processed, {} states, stack {} bytes, {} us)",
                        p.name,
                        p.insns.len(),
                        v.insns_processed,
                        v.states_stored,
                        v.max_stack_depth,
                        us
                    );
                }
            }
            Err(r) => {
                rejected += 1;
                let src = p.line_of(r.pc);
                if a.json {
                    json.push(serde_json::json!({"program": p.name, "section": p.section, "type": bpf_insn::object::prog_type_name(pt),
                        "accepted": false, "insn": r.pc, "time_us": us, "class": format!("{:?}", r.class), "message": r.msg, "hint": r.hint,
                        "registers": r.regs,
                        "source": src.map(|l| serde_json::json!({"file": l.file, "line": l.line, "column": l.col, "text": l.text}))}));
                } else {
                    println!("{}: rejected", p.name);
                    println!("  error: {}", r);
                    if let Some(i) = p.insns.get(r.pc) {
                        let _ = i;
                        println!(
                            "  insn {}: {}",
                            r.pc,
                            bpf_insn::format_insn(&p.insns, r.pc).0
                        );
                    }
                    if let Some(l) = src {
                        println!("  --> {}:{}:{}", l.file, l.line, l.col);
                        println!("   | {}", l.text.trim_end());
                    }
                    if !r.regs.is_empty() {
                        println!("  registers: {}", r.regs);
                    }
                    if let Some(h) = &r.hint {
                        println!("  hint: {h}");
                    }
                }
            }
        }
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        );
    }
    if rejected > 0 {
        1
    } else {
        0
    }
}

/// `kmodkit bpf run FILE`
#[derive(clap::Parser)]
#[command(
    name = "kmodkit bpf run",
    about = "Verify, then run an eBPF program in the interpreter (as BPF_PROG_TEST_RUN)"
)]
pub(crate) struct RunArgs {
    /// ELF object, LLVM-syntax assembly (.s) or raw instructions.
    file: PathBuf,
    /// Program (function or section name); required when the file has several.
    #[arg(long)]
    prog: Option<String>,
    /// Program type, overriding the section name.
    #[arg(long = "type")]
    prog_type: Option<String>,
    /// Packet (or context bytes for tracing types).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Write the packet after the run here.
    #[arg(long)]
    data_out: Option<PathBuf>,
    /// Run this many times (maps keep their contents between runs).
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Run even if the verifier rejects the program (memory is checked either way).
    #[arg(long)]
    no_verify: bool,
    #[arg(long)]
    json: bool,
}

fn run(args: Vec<OsString>) -> u8 {
    use clap::Parser;
    let a = match RunArgs::try_parse_from(
        std::iter::once(OsString::from("kmodkit bpf run")).chain(args),
    ) {
        Ok(a) => a,
        Err(e) => return clap_exit(e),
    };
    let (progs, maps) = match load_typed("run", &a.file, a.prog_type.as_deref()) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let mut sel: Vec<_> = progs
        .into_iter()
        .filter(|p| {
            a.prog
                .as_ref()
                .is_none_or(|n| &p.name == n || &p.section == n)
        })
        .collect();
    if sel.len() != 1 {
        let names: Vec<String> = sel.iter().map(|p| p.name.clone()).collect();
        eprintln!(
            "kmodkit bpf run: {}: {} programs match{}; choose one with --prog",
            a.file.display(),
            sel.len(),
            if names.is_empty() {
                String::new()
            } else {
                format!(" ({})", names.join(", "))
            }
        );
        return if sel.is_empty() { 1 } else { 2 };
    }
    let p = sel.remove(0);
    let Some(pt) = p.prog_type else {
        eprintln!(
            "kmodkit bpf run: program `{}`: unknown program type; pass --type",
            p.name
        );
        return 2;
    };
    if !a.no_verify {
        let infos = map_infos(&maps);
        let input = bpf_verifier::Input {
            insns: &p.insns,
            prog_type: pt,
            maps: &infos,
        };
        if let Err(r) = bpf_verifier::verify(&input, &bpf_verifier::Options::default()) {
            eprintln!(
                "kmodkit bpf run: {}: the verifier rejects `{}`: {r}",
                a.file.display(),
                p.name
            );
            if let Some(h) = r.hint {
                eprintln!("  hint: {h}");
            }
            return 1;
        }
    }
    let data = match &a.data {
        Some(d) => match std::fs::read(d) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("kmodkit bpf run: {}: {e}", d.display());
                return 1;
            }
        },
        None => Vec::new(),
    };
    let inits: Vec<bpf_vm::run::MapInit> = maps
        .iter()
        .map(|m| bpf_vm::run::MapInit {
            spec: bpf_vm::MapSpec {
                name: m.name.clone(),
                map_type: m.map_type,
                key_size: m.key_size,
                value_size: m.value_size,
                max_entries: m.max_entries,
                flags: m.flags,
            },
            data: m.data.clone(),
        })
        .collect();
    let start = std::time::Instant::now();
    let res = bpf_vm::run::run(&p.insns, pt, &inits, &data, a.repeat);
    let ns = start.elapsed().as_nanos() / a.repeat.max(1) as u128;
    match res {
        Ok(r) => {
            if let Some(out) = &a.data_out {
                if let Err(e) = write_atomic(out, &r.data_out) {
                    eprintln!("kmodkit bpf run: {}: {e}", out.display());
                    return 1;
                }
            }
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({"program": p.name, "retval": r.ret, "instructions": r.steps, "duration_ns": ns, "printk": r.printk})
                );
            } else {
                for l in &r.printk {
                    println!("{l}");
                }
                println!("Return value: {}, duration (average): {ns}ns", r.ret);
            }
            0
        }
        Err(e) => {
            eprintln!("kmodkit bpf run: {}: `{}`: {e}", a.file.display(), p.name);
            1
        }
    }
}
