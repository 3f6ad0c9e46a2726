//! eBPF commands: `kmodkit bpf asm|disasm|verify|run|conformance`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context};

use super::{clap_exit, usage, Exit, Outcome};

#[path = "bpf_selftests.rs"]
mod selftests;
pub(crate) use selftests::SelftestsArgs;
#[path = "bpf_target.rs"]
mod target;

const USAGE: &str = "usage: kmodkit bpf <command> ...

commands:
  asm FILE.s -o OUT.o|OUT.bin     assemble LLVM-syntax (or --ubpf) source
  disasm FILE.o|FILE.bin          disassemble (objects exactly as llvm-objdump -d)
  verify FILE [--type T] [--prog NAME] [--target KERNEL] [--map T,K,V,N]... [--live] [--json]
                                  check programs as the verifier of KERNEL would (a release such as
                                  6.1 or 6.12.117+deb12-amd64, a kernel image, or a linux-image .deb;
                                  default: the running kernel); --live also asks the running kernel
  probe-helpers [--type T]... [--json]   which helpers the running kernel offers each program type
  run FILE [--prog NAME] [--data FILE] [--repeat N] [--json]   run a program in the interpreter
  conformance FILE.data|DIR...    run bpf_conformance test vectors through the interpreter
  load OBJ [--attach] [--btf FILE] [--dump-maps] [-- CMD...]   load (and attach) an object in the kernel
  selftests DIR|OBJ... [--btf FILE] [-v] [--json]   compare the verifier with the kernel's verifier tests
";

pub fn main(_name: &str, args: Vec<OsString>) -> Outcome {
    let mut args = args.into_iter();
    let Some(sub) = args.next() else {
        return Err(usage(USAGE.trim_end()));
    };
    let rest: Vec<OsString> = args.collect();
    match sub.to_string_lossy().as_ref() {
        "conformance" => conformance(rest),
        "asm" => asm(rest),
        "verify" => verify(rest),
        "run" => run(rest),
        "disasm" => disasm(rest),
        "load" => load(rest),
        "probe-helpers" => probe_helpers(rest),
        "selftests" => selftests::selftests(rest),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        other => Err(usage(format!(
            "kmodkit bpf: unknown command `{other}`\n{}",
            USAGE.trim_end()
        ))),
    }
}

/// Parses a subcommand's arguments; `Err` is the outcome of a parse failure (or of
/// `--help`/`--version`, which end the command successfully).
fn parse<P: clap::Parser>(name: &str, args: Vec<OsString>) -> Result<P, Outcome> {
    P::try_parse_from(std::iter::once(OsString::from(name)).chain(args)).map_err(clap_exit)
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

/// `paths`, each directory replaced by its files ending in `.EXT`, in name order.
pub(crate) fn files_in(paths: &[PathBuf], ext: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let rd = std::fs::read_dir(p).with_context(|| p.display().to_string())?;
            let mut v: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == ext))
                .collect();
            v.sort();
            files.extend(v);
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

fn conformance(args: Vec<OsString>) -> Outcome {
    let a: ConformanceArgs = match parse("kmodkit bpf conformance", args) {
        Ok(a) => a,
        Err(outcome) => return outcome,
    };
    let files = files_in(&a.paths, "data")?;
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
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Exit::status(1))
    }
}

fn run_file(f: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(f).map_err(|e| e.to_string())?;
    bpf_vm::conformance::run_vector(&text).map_err(|e| e.to_string())
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

fn asm(args: Vec<OsString>) -> Outcome {
    let a: AsmArgs = match parse("kmodkit bpf asm", args) {
        Ok(a) => a,
        Err(outcome) => return outcome,
    };
    let src = std::fs::read_to_string(&a.input).with_context(|| a.input.display().to_string())?;
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
    // The error is `line:col: what was expected`.
    let sections = sections.map_err(|e| anyhow!("{}:{e}", a.input.display()))?;
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
    safeio::replace(&a.output, &bytes, None)?;
    Ok(ExitCode::SUCCESS)
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

fn disasm(args: Vec<OsString>) -> Outcome {
    let a: DisasmArgs = match parse("kmodkit bpf disasm", args) {
        Ok(a) => a,
        Err(outcome) => return outcome,
    };
    let file = a.file.display().to_string();
    let data = std::fs::read(&a.file).with_context(|| file.clone())?;
    let text = if data.starts_with(b"\x7fELF") {
        bpf_insn::objdump::objdump(&data, &a.file.to_string_lossy()).with_context(|| file)?
    } else {
        let endian = if a.big_endian {
            bpf_insn::Endian::Big
        } else {
            bpf_insn::Endian::Little
        };
        bpf_insn::disassemble(&bpf_insn::decode_all(&data, endian).with_context(|| file)?)
    };
    // A closed pipe (`| head -1`) ends the process by SIGPIPE (main restores its default).
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// `load_programs` with the program type given by name (`--type`), for `verify` and `run`:
/// an unknown type is a usage error (2), a file that cannot be loaded an error (1).
fn load_typed(
    cmd: &str,
    path: &Path,
    type_name: Option<&str>,
    btf: Option<&Path>,
) -> anyhow::Result<Loaded> {
    let t = match type_name {
        None => None,
        Some(n) => match bpf_insn::object::prog_type_from_name(n) {
            Some(t) => Some(t),
            None => {
                return Err(usage(format!(
                    "kmodkit bpf {cmd}: unknown program type `{n}`"
                )))
            }
        },
    };
    load_programs(path, t, btf).map_err(|e| anyhow!("{e}"))
}

/// The programs of a file, its maps, and its BTF (an object's own: function prototypes).
struct Loaded {
    progs: Vec<bpf_insn::object::Program>,
    maps: Vec<bpf_insn::object::MapDef>,
    btf: Option<btf::Btf>,
}

/// Programs of a file: an ELF object, LLVM-syntax assembly (`.s`) or raw instructions.
fn load_programs(
    path: &Path,
    type_override: Option<u32>,
    btf: Option<&Path>,
) -> Result<Loaded, String> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if data.starts_with(b"\x7fELF") {
        let mut obj = bpf_insn::object::Object::parse(&data)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        // CO-RE relocations are resolved against the running kernel, as libbpf would, or
        // against the target kernel's image.
        if obj.programs.iter().any(|p| !p.core_relos.is_empty()) || obj.has_externs() {
            let target = ktrace::system::load_btf(btf.unwrap_or(Path::new(HOST_BTF)))?;
            obj.relocate_core(&target)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            resolve_externs(&mut obj, &target, None)
                .map_err(|e| format!("{}: {e:#}", path.display()))?;
        }
        let mut progs = obj.programs;
        if let Some(t) = type_override {
            for p in &mut progs {
                p.prog_type = Some(t);
            }
        }
        return Ok(Loaded {
            progs,
            maps: obj.maps,
            btf: obj.btf,
        });
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
    Ok(Loaded {
        progs: vec![bpf_insn::object::Program {
            name: name.clone(),
            section: name,
            prog_type: type_override,
            insns,
            lines: vec![],
            funcs: vec![],
            func_info: vec![],
            line_info: vec![],
            core_relos: vec![],
            kfunc_calls: vec![],
            ksym_refs: vec![],
        }],
        maps: vec![],
        btf: None,
    })
}

/// `kmodkit bpf verify FILE`
#[derive(clap::Parser)]
#[command(
    name = "kmodkit bpf verify",
    about = "Verify eBPF programs as a given kernel's verifier does for a privileged (CAP_BPF+CAP_PERFMON) loader",
    after_help = "--target KERNEL selects the kernel whose verifier is modelled: a release (6.1, 6.12, \
                  6.12.117+deb12-amd64, 6.18.44), a kernel image (bzImage or vmlinux: its version string) \
                  or a Debian linux-image .deb (its Version). Default: the running kernel. What \
                  changes with the version: the helpers (and which program types get them), \
                  cpu v4 instructions (6.6), may_goto (6.9), bounded loops (5.3), the complexity \
                  limit (1M processed instructions since 5.2), and array lookups with a constant \
                  key that need no NULL check (6.13)."
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
    /// The kernel whose verifier to model: a release, a kernel image or a linux-image .deb (default: the running kernel).
    #[arg(long, value_name = "KERNEL")]
    target: Option<OsString>,
    /// A map for assembly or raw programs (`map_idx(N)` is the Nth): TYPE,KEY_SIZE,VALUE_SIZE,MAX_ENTRIES.
    #[arg(long = "map", value_name = "T,K,V,N")]
    maps: Vec<String>,
    /// Also load each program into the running kernel and print its verdict next to ours.
    #[arg(long)]
    live: bool,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// `--map TYPE,KEY,VALUE,ENTRIES`
fn parse_map(i: usize, s: &str) -> anyhow::Result<bpf_insn::object::MapDef> {
    let v: Vec<u32> = s
        .split(',')
        .map(|x| x.trim().parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            usage(format!(
                "kmodkit bpf verify: --map `{s}`: want TYPE,KEY_SIZE,VALUE_SIZE,MAX_ENTRIES"
            ))
        })?;
    let [map_type, key_size, value_size, max_entries] = v[..] else {
        return Err(usage(format!(
            "kmodkit bpf verify: --map `{s}`: want TYPE,KEY_SIZE,VALUE_SIZE,MAX_ENTRIES"
        )));
    };
    Ok(bpf_insn::object::MapDef {
        name: format!("map{i}"),
        map_type,
        key_size,
        value_size,
        max_entries,
        flags: 0,
        data: None,
        section: String::new(),
        readonly: false,
        ..Default::default()
    })
}

fn verify(args: Vec<OsString>) -> Outcome {
    let a: VerifyArgs = match parse("kmodkit bpf verify", args) {
        Ok(a) => a,
        Err(outcome) => return outcome,
    };
    let target = target::resolve(a.target.as_deref())
        .map_err(|e| usage(format!("kmodkit bpf verify: --target: {e:#}")))?;
    let Loaded { progs, maps, btf } = load_typed(
        "verify",
        &a.file,
        a.prog_type.as_deref(),
        target.image.as_deref(),
    )?;
    let progs: Vec<_> = progs
        .into_iter()
        .filter(|p| {
            a.prog
                .as_ref()
                .is_none_or(|n| &p.name == n || &p.section == n)
        })
        .collect();
    if progs.is_empty() {
        return Err(anyhow!(
            "{}: no program{}",
            a.file.display(),
            a.prog
                .as_ref()
                .map(|n| format!(" named `{n}`"))
                .unwrap_or_default()
        ));
    }
    let mut maps = maps;
    for (i, m) in a.maps.iter().enumerate() {
        maps.push(parse_map(i, m)?);
    }
    let infos = bpf_verifier::map_infos(&maps);
    let mut opts = bpf_verifier::Options::for_kernel(target.kernel);
    // The target's BTF, read once: the attach targets of BTF-typed programs (fentry/fexit/
    // fmod_ret/tp_btf/iter, LSM), kernel types met anywhere (bpf_get_current_task_btf, map
    // pointer fields) and kfunc calls (resolved by the loader in it), which need it.
    let kernel_btf =
        ktrace::system::load_btf(target.image.as_deref().unwrap_or(Path::new(HOST_BTF)))
            .map(std::sync::Arc::new);
    let kfunc = |i: &bpf_insn::Insn| i.is_call() && i.src == bpf_insn::insn::pseudo::CALL_KFUNC;
    if let (Err(e), true) = (&kernel_btf, progs.iter().any(|p| p.insns.iter().any(kfunc))) {
        return Err(anyhow!("{}: the kernel's BTF: {e}", a.file.display()));
    }
    opts.kfunc_btf = kernel_btf.as_ref().ok().cloned();
    // The license also decides whether kernel structs (BTF pointers) may be read.
    let data = std::fs::read(&a.file).with_context(|| a.file.display().to_string())?;
    opts.gpl = !data.starts_with(b"\x7fELF")
        || bpf_insn::object::Object::parse(&data)
            .ok()
            .and_then(|o| o.license)
            .is_some_and(|l| bpf_verifier::gpl_compatible(&l));
    if !a.json {
        println!("target: {} (verifier of {})", target.name, target.kernel);
    }
    let mut rejected = 0;
    let mut json = Vec::new();
    for p in &progs {
        let Some(pt) = p.prog_type else {
            return Err(usage(format!("kmodkit bpf verify: {}: program `{}` (section `{}`): unknown program type; pass --type", a.file.display(), p.name, p.section)));
        };
        let (attach, attach_error) = if matches!(pt, 26 | 29) {
            match &kernel_btf {
                Ok(b) => match bpf_verifier::Attach::from_btf(b, pt, &p.section) {
                    Ok(t) => (Some(t), None),
                    Err(e) => (None, Some(e)),
                },
                Err(e) => (None, Some(format!("the kernel's BTF: {e}"))),
            }
        } else {
            (None, None)
        };
        let input = bpf_verifier::Input {
            insns: &p.insns,
            prog_type: pt,
            maps: &infos,
        };
        let start = std::time::Instant::now();
        // The section names a cgroup program's hook (its return values).
        let opts = bpf_verifier::Options {
            attach,
            attach_error,
            ..opts.for_program(btf.as_ref(), p, pt)
        };
        let res = bpf_verifier::verify(&input, &opts);
        let us = start.elapsed().as_micros();
        let live = if a.live {
            Some(
                target::kernel_verdict(&p.insns, pt, &p.section, &infos).with_context(|| {
                    format!(
                        "{}: loading `{}` into the running kernel",
                        a.file.display(),
                        p.name
                    )
                })?,
            )
        } else {
            None
        };
        let live_json = live.as_ref().map(|l| match l {
            Ok(k) => serde_json::json!({"accepted": true, "time_us": k.time_us,
                "insns_processed": k.insns_processed, "peak_states": k.peak_states}),
            Err(m) => serde_json::json!({"accepted": false, "message": m}),
        });
        if let (Some(l), false) = (&live, a.json) {
            match l {
                Ok(k) => println!(
                    "{}: running kernel: accepted ({} processed, {} us)",
                    p.name, k.insns_processed, k.time_us
                ),
                Err(m) => println!("{}: running kernel: rejected: {m}", p.name),
            }
        }
        match res {
            Ok(v) => {
                if a.json {
                    json.push(serde_json::json!({"program": p.name, "section": p.section, "type": bpf_insn::object::prog_type_name(pt),
                        "target": target.name, "target_version": target.kernel.to_string(), "kernel": live_json,
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
                        "target": target.name, "target_version": target.kernel.to_string(), "kernel": live_json,
                        "accepted": false, "insn": r.pc, "time_us": us, "class": format!("{:?}", r.class), "message": r.msg, "hint": r.hint,
                        "registers": r.regs, "explain": explain_json(p, &r),
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
                    for l in explain_lines(p, &r) {
                        println!("  {l}");
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
        // The reasons are printed above, with the accepted programs.
        Err(Exit::status(1))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

/// How a cause or the failing instruction reads: its text (a helper call by name) and
/// the branch the path took.
fn cause_text(p: &bpf_insn::object::Program, pc: usize, branch: Option<bool>) -> String {
    let mut t = format!("insn {pc}: {}", bpf_insn::format_insn(&p.insns, pc).0);
    if let Some(i) = p.insns.get(pc).filter(|i| i.is_call() && i.src == 0) {
        if let Some(h) = bpf_verifier::helpers::proto(i.imm) {
            t.push_str(&format!(" (bpf_{})", h.name));
        }
    }
    match branch {
        Some(true) => t.push_str("  (taken)"),
        Some(false) => t.push_str("  (not taken)"),
        None => {}
    }
    t
}

/// The runs of the path, the last `n` of them.
fn path_text(path: &[(usize, usize)], n: usize) -> String {
    let runs: Vec<String> = path
        .iter()
        .rev()
        .take(n)
        .rev()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    let more = path.len().saturating_sub(n);
    let head = if more > 0 {
        format!("... {more} earlier runs, ")
    } else {
        String::new()
    };
    format!("{head}{}", runs.join(", "))
}

/// `why:` (the instructions that led to the error, in path order) and `path:` lines.
fn explain_lines(p: &bpf_insn::object::Program, r: &bpf_verifier::Rejection) -> Vec<String> {
    let Some(e) = &r.explain else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if !e.causes.is_empty() {
        out.push("why: how the values at the error got there, along the path taken:".into());
        // Each instruction under its source line (from BTF line info), when it has one.
        let mut last_line = None;
        let steps = e.causes.iter().map(|c| (c.pc, c.branch, ""));
        for (pc, branch, mark) in steps.chain([(r.pc, None, "  <- rejected")]) {
            let line = p.line_of(pc);
            if let Some(l) = line.filter(|_| line != last_line) {
                let file = l.file.rsplit('/').next().unwrap_or(&l.file);
                out.push(format!("  {file}:{}: {}", l.line, l.text.trim()));
                last_line = line;
            }
            let indent = if last_line.is_some() { "    " } else { "  " };
            out.push(format!("{indent}{}{mark}", cause_text(p, pc, branch)));
        }
    }
    out.push(format!("path: insns {}", path_text(&e.path, 12)));
    out
}

fn explain_json(p: &bpf_insn::object::Program, r: &bpf_verifier::Rejection) -> serde_json::Value {
    let Some(e) = &r.explain else {
        return serde_json::Value::Null;
    };
    let causes: Vec<serde_json::Value> = e
        .causes
        .iter()
        .map(|c| {
            serde_json::json!({
                "insn": c.pc,
                "text": bpf_insn::format_insn(&p.insns, c.pc).0,
                "branch": c.branch.map(|t| if t { "taken" } else { "not taken" }),
                "line": p.line_of(c.pc).map(|l| l.line),
            })
        })
        .collect();
    let path: Vec<[usize; 2]> = e
        .path
        .iter()
        .rev()
        .take(100)
        .rev()
        .map(|&(a, b)| [a, b])
        .collect();
    serde_json::json!({"causes": causes, "path": path, "path_runs": e.path.len()})
}

/// Prepare `obj` (read from `path`) for loading into a kernel: CO-RE relocations resolved
/// against `btf` (default: the running kernel's), `.kconfig` externs from `kconfig`, ksyms
/// and kfuncs from the BTF. The relocations made.
pub(crate) fn for_kernel(
    obj: &mut bpf_insn::object::Object,
    path: &Path,
    btf: Option<&Path>,
    kconfig: Option<&Path>,
) -> anyhow::Result<Vec<bpf_insn::object::CoreReport>> {
    if !needs_btf(obj) {
        return Ok(Vec::new());
    }
    let target =
        ktrace::system::load_btf(btf.unwrap_or(Path::new(HOST_BTF))).map_err(|e| anyhow!("{e}"))?;
    for_kernel_btf(obj, path, &target, kconfig)
}

/// Whether preparing `obj` for a kernel needs that kernel's BTF (CO-RE, externs).
pub(crate) fn needs_btf(obj: &bpf_insn::object::Object) -> bool {
    obj.programs.iter().any(|p| !p.core_relos.is_empty()) || obj.has_externs()
}

/// [`for_kernel`] with the kernel's BTF already read.
pub(crate) fn for_kernel_btf(
    obj: &mut bpf_insn::object::Object,
    path: &Path,
    target: &btf::Btf,
    kconfig: Option<&Path>,
) -> anyhow::Result<Vec<bpf_insn::object::CoreReport>> {
    let core = obj
        .relocate_core(target)
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    resolve_externs(obj, target, kconfig).with_context(|| path.display().to_string())?;
    Ok(core)
}

/// `kmodkit bpf probe-helpers`
#[derive(clap::Parser)]
#[command(
    name = "kmodkit bpf probe-helpers",
    about = "List the helpers the running kernel offers each program type (as bpftool feature probe), by loading a call of each"
)]
pub(crate) struct ProbeArgs {
    /// Program types to probe (default: socket_filter kprobe sched_cls sched_act tracepoint xdp perf_event cgroup_skb cgroup_sock cgroup_device raw_tracepoint cgroup_sock_addr cgroup_sysctl).
    #[arg(long = "type")]
    types: Vec<String>,
    /// Highest helper id to try.
    #[arg(long, default_value_t = 211)]
    max_id: i32,
    /// Machine-readable output: {type: [ids]}.
    #[arg(long)]
    json: bool,
}

fn probe_helpers(args: Vec<OsString>) -> Outcome {
    let a: ProbeArgs = match parse("kmodkit bpf probe-helpers", args) {
        Ok(a) => a,
        Err(outcome) => return outcome,
    };
    let names: Vec<String> = if a.types.is_empty() {
        "socket_filter kprobe sched_cls sched_act tracepoint xdp perf_event cgroup_skb cgroup_sock cgroup_device raw_tracepoint cgroup_sock_addr cgroup_sysctl"
            .split(' ')
            .map(String::from)
            .collect()
    } else {
        a.types.clone()
    };
    let mut out = serde_json::Map::new();
    for n in &names {
        let Some(t) = bpf_insn::object::prog_type_from_name(n) else {
            return Err(usage(format!(
                "kmodkit bpf probe-helpers: unknown program type `{n}`"
            )));
        };
        let ids = target::probe_helpers(t, a.max_id)?;
        if a.json {
            out.insert(n.clone(), ids.into());
        } else {
            println!(
                "{n}: {}",
                ids.iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
    }
    if a.json {
        println!("{}", serde_json::Value::Object(out));
    }
    Ok(ExitCode::SUCCESS)
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
    /// Also run it in the running kernel (BPF_PROG_TEST_RUN, fresh maps) and compare the
    /// return value and the packet.
    #[arg(long)]
    live: bool,
    #[arg(long)]
    json: bool,
}

fn run(args: Vec<OsString>) -> Outcome {
    let a: RunArgs = match parse("kmodkit bpf run", args) {
        Ok(a) => a,
        Err(outcome) => return outcome,
    };
    let Loaded { progs, maps, btf } = load_typed("run", &a.file, a.prog_type.as_deref(), None)?;
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
        let msg = format!(
            "{}: {} programs match{}; choose one with --prog",
            a.file.display(),
            sel.len(),
            if names.is_empty() {
                String::new()
            } else {
                format!(" ({})", names.join(", "))
            }
        );
        return Err(if sel.is_empty() {
            anyhow!(msg)
        } else {
            usage(format!("kmodkit bpf run: {msg}"))
        });
    }
    let p = sel.remove(0);
    let Some(pt) = p.prog_type else {
        return Err(usage(format!(
            "kmodkit bpf run: program `{}`: unknown program type; pass --type",
            p.name
        )));
    };
    if !a.no_verify {
        let infos = bpf_verifier::map_infos(&maps);
        let input = bpf_verifier::Input {
            insns: &p.insns,
            prog_type: pt,
            maps: &infos,
        };
        let opts = bpf_verifier::Options::default().for_program(btf.as_ref(), &p, pt);
        if let Err(r) = bpf_verifier::verify(&input, &opts) {
            let hint = r.hint.as_ref().map(|h| format!("\n  hint: {h}"));
            let why: String = explain_lines(&p, &r)
                .iter()
                .map(|l| format!("\n  {l}"))
                .collect();
            return Err(anyhow!(
                "{}: the verifier rejects `{}`: {r}{}{why}",
                a.file.display(),
                p.name,
                hint.unwrap_or_default()
            ));
        }
    }
    let data = match &a.data {
        Some(d) => std::fs::read(d).with_context(|| d.display().to_string())?,
        None => Vec::new(),
    };
    let inits: Vec<bpf_vm::run::MapInit> = maps.iter().map(bpf_vm::run::MapInit::from).collect();
    let start = std::time::Instant::now();
    let res = bpf_vm::run::run(&p.insns, pt, &inits, &data, a.repeat);
    let ns = start.elapsed().as_nanos() / a.repeat.max(1) as u128;
    match res {
        Ok(r) => {
            if let Some(out) = &a.data_out {
                safeio::replace(out, &r.data_out, None)?;
            }
            let live = if a.live {
                let k = target::kernel_test_run(&p.insns, pt, &inits, &data, a.repeat)
                    .with_context(|| {
                        format!("{}: `{}` in the running kernel", a.file.display(), p.name)
                    })?;
                // The kernel returns r0 truncated to 32 bits.
                let agrees =
                    k.retval == r.ret as u32 && (data.is_empty() || k.data_out == r.data_out);
                Some((k, agrees))
            } else {
                None
            };
            if a.json {
                let kernel = live.as_ref().map(|(k, agrees)| {
                    serde_json::json!({"retval": k.retval, "duration_ns": k.duration_ns, "agrees": agrees})
                });
                println!(
                    "{}",
                    serde_json::json!({"program": p.name, "retval": r.ret, "instructions": r.steps, "duration_ns": ns, "printk": r.printk, "kernel": kernel})
                );
            } else {
                for l in &r.printk {
                    println!("{l}");
                }
                println!("Return value: {}, duration (average): {ns}ns", r.ret);
                if let Some((k, agrees)) = &live {
                    println!(
                        "Kernel: return value {}, duration (average): {}ns: {}",
                        k.retval,
                        k.duration_ns,
                        if *agrees {
                            "the same result"
                        } else if k.retval != r.ret as u32 {
                            "a different return value"
                        } else {
                            "a different packet"
                        }
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(anyhow!("{}: `{}`: {e}", a.file.display(), p.name)),
    }
}

/// The running kernel's BTF.
const HOST_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Fills `.kconfig` externs from `kconfig` (a `.config`, possibly compressed; default the
/// running kernel's /proc/config.gz) and the running kernel's version, and resolves kfunc
/// calls against `target`.
fn resolve_externs(
    obj: &mut bpf_insn::object::Object,
    target: &btf::Btf,
    kconfig: Option<&Path>,
) -> anyhow::Result<()> {
    if !obj.has_externs() {
        return Ok(());
    }
    let config = if obj.kconfig.is_empty() {
        String::new()
    } else {
        let p = kconfig.unwrap_or(Path::new("/proc/config.gz"));
        let raw = std::fs::read(p).with_context(|| p.display().to_string())?;
        let text = modfile::decompress(&raw).map_err(|e| anyhow!("{}: {e}", p.display()))?;
        String::from_utf8_lossy(&text).into_owned()
    };
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let version = bpf_insn::object::kernel_version_code(release.trim()).unwrap_or(0);
    let kallsyms = if obj.programs.iter().any(|p| !p.ksym_refs.is_empty()) {
        std::fs::read_to_string("/proc/kallsyms").context("/proc/kallsyms")?
    } else {
        String::new()
    };
    let lookup = |name: &str| {
        kallsyms.lines().find_map(|l| {
            let mut f = l.split_whitespace();
            let addr = f.next()?;
            let _kind = f.next()?;
            (f.next()? == name).then(|| u64::from_str_radix(addr, 16).ok())?
        })
    };
    obj.resolve_externs(target, &config, version, &lookup)?;
    Ok(())
}

/// `kmodkit bpf load OBJ`
#[derive(clap::Parser)]
#[command(
    name = "kmodkit bpf load",
    about = "Load a clang/libbpf-style object into the running kernel (maps, global data, BTF, CO-RE) and optionally attach its programs",
    after_help = "With --attach and a command, the programs stay attached while the command runs; \
                  with --attach and no command, until standard input is closed. \
                  Maps are printed (--dump-maps) after that."
)]
pub(crate) struct LoadArgs {
    /// A BPF ELF object (clang -target bpf -g).
    object: PathBuf,
    /// Attach programs as their section names say: tracepoint/, raw_tp/, uprobe/, kprobe/; xdp and tc (tcx) on --iface.
    #[arg(long)]
    attach: bool,
    /// The network interface XDP and tc programs attach to.
    #[arg(long, value_name = "NAME")]
    iface: Option<String>,
    /// Resolve CO-RE relocations against this BTF (raw BTF, a vmlinux, or a kernel image)
    /// instead of the running kernel's.
    #[arg(long, value_name = "FILE")]
    btf: Option<PathBuf>,
    /// The kernel config that fills `.kconfig` externs (default /proc/config.gz).
    #[arg(long, value_name = "FILE")]
    kconfig: Option<PathBuf>,
    /// Resolve CO-RE and print the relocations; load nothing.
    #[arg(long)]
    core_only: bool,
    /// Pin every program under DIR (on a bpf filesystem) by its name, as `bpftool prog loadall`.
    #[arg(long, value_name = "DIR")]
    pin: Option<PathBuf>,
    /// Where maps with `pinning = LIBBPF_PIN_BY_NAME` live (default /sys/fs/bpf).
    #[arg(long, value_name = "DIR")]
    pin_root: Option<PathBuf>,
    /// Print every map's entries at the end (as `bpftool map dump`).
    #[arg(long)]
    dump_maps: bool,
    /// Also print the CO-RE relocations.
    #[arg(long)]
    show_core: bool,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    /// A command to run while the programs are loaded (and attached).
    #[arg(last = true)]
    command: Vec<OsString>,
}

fn hex_bytes(b: &[u8]) -> Vec<String> {
    b.iter().map(|x| format!("0x{x:02x}")).collect()
}

fn load(args: Vec<OsString>) -> Outcome {
    let a: LoadArgs = match parse("kmodkit bpf load", args) {
        Ok(a) => a,
        Err(outcome) => return outcome,
    };
    let path = &a.object;
    let data = std::fs::read(path).with_context(|| path.display().to_string())?;
    let mut obj =
        bpf_insn::object::Object::parse(&data).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let core = for_kernel(&mut obj, path, a.btf.as_deref(), a.kconfig.as_deref())?;
    let mut out = serde_json::Map::new();
    let core_json: Vec<serde_json::Value> = core
        .iter()
        .map(|r| {
            serde_json::json!({
                "program": r.program, "insn": r.insn, "relocation": r.what,
                "old": r.old, "new": r.new,
            })
        })
        .collect();
    if a.show_core || a.core_only {
        if a.json {
            out.insert("core".into(), core_json.into());
        } else {
            for r in &core {
                let new = r.new.map_or("poisoned".to_string(), |v| v.to_string());
                println!(
                    "core {} insn {}: {}: {} -> {new}",
                    r.program, r.insn, r.what, r.old
                );
            }
        }
    }
    if a.core_only {
        if a.json {
            println!("{}", serde_json::Value::Object(out));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let obj_name = path
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".o").to_string())
        .unwrap_or_default();
    let loaded = bpf_sys::loader::load(
        &obj,
        &bpf_sys::loader::LoadOptions {
            obj_name,
            pin_root: a.pin_root.clone(),
            keep_going: false,
        },
    )
    .with_context(|| format!("{}: loading into the kernel", path.display()))?;
    for w in &loaded.warnings {
        eprintln!("kmodkit bpf load: warning: {w}");
    }
    let tag = |t: &[u8; 8]| t.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let mut progs_json = Vec::new();
    for p in &loaded.progs {
        if let Some(dir) = &a.pin {
            bpf_sys::loader::obj_pin(std::os::fd::AsFd::as_fd(&p.fd), &dir.join(&p.name))
                .with_context(|| format!("pinning `{}` under {}", p.name, dir.display()))?;
        }
        let ty = bpf_insn::object::prog_type_name(p.prog_type);
        if a.json {
            progs_json.push(serde_json::json!({
                "name": p.name, "section": p.section, "type": ty, "id": p.id, "tag": tag(&p.tag),
            }));
        } else {
            println!(
                "prog {}: {ty} id {} tag {} (section {})",
                p.name,
                p.id,
                tag(&p.tag),
                p.section
            );
        }
    }
    let mut maps_json = Vec::new();
    for m in &loaded.maps {
        let pin = m
            .pinned
            .as_ref()
            .map(|p| {
                format!(
                    " pinned {}{}",
                    p.display(),
                    if m.reused { " (reused)" } else { "" }
                )
            })
            .unwrap_or_default();
        if !a.json {
            println!(
                "map {}: type {} id {} key {} value {} max_entries {}{pin}",
                m.name, m.def.map_type, m.id, m.def.key_size, m.def.value_size, m.def.max_entries
            );
        }
    }
    let mut attachments = Vec::new();
    if a.attach {
        let tracefs = Path::new("/sys/kernel/tracing");
        if loaded
            .progs
            .iter()
            .any(|p| p.prog_type == 5 || p.prog_type == 2)
        {
            let _ = bpf_sys::ensure_tracefs(tracefs);
        }
        let iface = match &a.iface {
            Some(n) => Some((n.as_str(), bpf_sys::loader::ifindex(n)?)),
            None => None,
        };
        let to = bpf_sys::loader::AttachTo {
            tracefs,
            iface,
            symbol_offset: &ktrace::system::uprobe_offset,
        };
        for p in &loaded.progs {
            let at = bpf_sys::loader::attach(p, &to)
                .with_context(|| format!("attaching `{}`", p.name))?;
            if !a.json {
                println!("attached {}: {}", at.program, at.target);
            }
            attachments.push(at);
        }
    }
    let mut status = ExitCode::SUCCESS;
    if let Some((cmd, rest)) = a.command.split_first() {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let st = std::process::Command::new(cmd)
            .args(rest)
            .status()
            .with_context(|| format!("running {}", cmd.to_string_lossy()))?;
        if !st.success() {
            status = ExitCode::from(st.code().unwrap_or(1).clamp(1, 255) as u8);
        }
    } else if a.attach {
        // Stay attached until standard input is closed.
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
    }
    drop(attachments);
    for m in &loaded.maps {
        if !a.dump_maps {
            break;
        }
        let entries = dump_map(m).with_context(|| format!("dumping map `{}`", m.name))?;
        if a.json {
            let e: Vec<serde_json::Value> = entries
                .iter()
                .map(|(k, v)| serde_json::json!({"key": hex_bytes(k), "value": hex_bytes(v)}))
                .collect();
            maps_json.push(serde_json::json!({
                "name": m.name, "id": m.id, "type": m.def.map_type, "entries": e,
            }));
        } else {
            println!("map {} entries:", m.name);
            for (k, v) in &entries {
                let h = |b: &[u8]| {
                    b.iter()
                        .map(|x| format!("{x:02x}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                println!("key: {}  value: {}", h(k), h(v));
            }
            println!(
                "Found {} element{}",
                entries.len(),
                if entries.len() == 1 { "" } else { "s" }
            );
        }
    }
    if a.json {
        if !a.dump_maps {
            maps_json = loaded
                .maps
                .iter()
                .map(|m| serde_json::json!({"name": m.name, "id": m.id, "type": m.def.map_type}))
                .collect();
        }
        out.insert("programs".into(), progs_json.into());
        out.insert("maps".into(), maps_json.into());
        println!("{}", serde_json::Value::Object(out));
    }
    Ok(status)
}

/// A map's entries in the kernel's key order (values of per-CPU maps: every CPU's, one after
/// the other, each rounded up to 8 bytes, as the kernel returns them).
fn dump_map(m: &bpf_sys::loader::LoadedMap) -> anyhow::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    // Ring buffers, perf event arrays and program/map-in-map arrays have no values to read.
    if matches!(m.def.map_type, 3 | 4 | 12 | 13 | 27) {
        return Ok(Vec::new());
    }
    let percpu = matches!(m.def.map_type, 5 | 6 | 10 | 21);
    let vsize = if percpu {
        (m.def.value_size as usize).div_ceil(8) * 8 * bpf_sys::possible_cpus()
    } else {
        m.def.value_size as usize
    };
    let mut out = Vec::new();
    for k in bpf_sys::map_keys(&m.fd, m.def.key_size as usize)? {
        let mut v = vec![0u8; vsize];
        if bpf_sys::map_lookup(&m.fd, &k, &mut v)? {
            out.push((k, v));
        }
    }
    Ok(out)
}
