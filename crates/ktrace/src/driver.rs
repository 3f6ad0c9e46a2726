//! One call that does what `kmodkit trace` does with a script: parse, check, compile, and
//! (unless it is a dry run) load, attach, run and print. The CLI only parses arguments.

use crate::codegen;
use crate::diag::Diagnostics;
use crate::parser;
use crate::runtime::{RunError, Session};
use crate::sema::{self, Env};
use crate::system::SystemEnv;
use crate::types::ProbeKind;
use bpf_sys::GatedChild;
use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

#[derive(Debug, Default, Clone)]
pub struct Options {
    /// `-c CMD`: run this command (split on spaces, as bpftrace does) and trace until it exits.
    pub command: Option<String>,
    /// `-p PID`: uprobes attach to this process only.
    pub pid: Option<i32>,
    /// `-d`: print the compiled programs and stop before loading.
    pub dump: bool,
    pub unsafe_ok: bool,
    /// `--json`: bpftrace's `-f json` lines instead of text.
    pub json: bool,
    /// `$1`, `$2`, ...
    pub positional: Vec<String>,
    /// Entries per map (bpftrace's BPFTRACE_MAP_KEYS_MAX); 0 for its default, 4096.
    pub map_keys_max: u32,
    /// Run `command` with `/bin/sh -c` instead of splitting it on spaces (`kmodkit leaks`).
    pub shell: bool,
    /// `--btf FILE`: the kernel's types from this file (raw BTF, a vmlinux, a kernel
    /// image) instead of /sys/kernel/btf/vmlinux, for dry runs against another kernel.
    pub btf: Option<std::path::PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The script is wrong: diagnostics already rendered against the source.
    #[error("{0}")]
    Script(String),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("cannot run `{cmd}`: {err}")]
    Command { cmd: String, err: String },
}

/// Parses and checks a script; the error is the rendered diagnostics.
pub fn check(
    src: &str,
    file_name: &str,
    env: &dyn Env,
    opts: &Options,
) -> Result<(crate::ast::Program, sema::Analysis), Error> {
    let prog = parser::parse(src).map_err(|d| Error::Script(d.render(file_name, src)))?;
    let a = sema::analyse(
        &prog,
        env,
        &sema::Options {
            positional: &opts.positional,
            unsafe_ok: opts.unsafe_ok,
            dry_run: opts.dump,
        },
    )
    .map_err(|d: Diagnostics| Error::Script(d.render(file_name, src)))?;
    Ok((prog, a))
}

/// Stack for the compiler's recursive passes. The parser bounds nesting
/// (`tracelang::parser::MAX_DEPTH`), and at that bound a debug build needs about 4 MiB;
/// a thread of its own makes that independent of the caller's thread and `ulimit -s`.
const COMPILER_STACK: usize = 64 << 20;

/// The main thread's stack limit (`ulimit -s`) from which the compiler runs on the calling
/// thread: the default, 8 MiB, is twice what the deepest script needs.
const INLINE_STACK: u64 = 8 << 20;

/// Compiles `src`: parsing and analysis, then `between` on the calling thread (it starts
/// the `-c` command, which must be the caller's child, and gives the code generator its
/// options from the script's config), then code generation.
///
/// On the main thread with a stack limit of at least [`INLINE_STACK`], all on this thread;
/// otherwise parsing, analysis and code generation run on one thread with
/// [`COMPILER_STACK`]. Starting a thread (its stack, its malloc arena) is a measurable part
/// of the time to attach, so it is done only when needed.
fn compile_on_own_stack(
    src: &str,
    file_name: &str,
    env: &SystemEnv,
    opts: &Options,
    between: impl FnOnce(&tracelang::config::Settings) -> Result<codegen::Options, Error>,
) -> Result<codegen::Compiled, Error> {
    let main_thread = std::thread::current().name() == Some("main");
    if main_thread && bpf_sys::stack_limit().is_some_and(|l| l >= INLINE_STACK) {
        let (prog, a) = check(src, file_name, env, opts)?;
        let copts = between(&a.config)?;
        return codegen::compile(&prog, &a, &copts)
            .map_err(|d| Error::Script(d.render(file_name, src)));
    }
    std::thread::scope(|s| {
        let (checked_tx, checked_rx) = std::sync::mpsc::channel();
        let (opts_tx, opts_rx) = std::sync::mpsc::channel::<codegen::Options>();
        let t = std::thread::Builder::new()
            .name("tracelang".into())
            .stack_size(COMPILER_STACK)
            .spawn_scoped(s, move || -> Result<Option<codegen::Compiled>, Error> {
                let (prog, a) = check(src, file_name, env, opts)?;
                let _ = checked_tx.send(a.config.clone());
                // No options: `between` failed, and its error is the one reported.
                let Ok(copts) = opts_rx.recv() else {
                    return Ok(None);
                };
                codegen::compile(&prog, &a, &copts)
                    .map(Some)
                    .map_err(|d| Error::Script(d.render(file_name, src)))
            })
            .map_err(|e| Error::Script(format!("cannot start the compiler: {e}\n")))?;
        // No settings: the script is wrong, and the compiler's error comes from `join`.
        let mut failed = None;
        if let Ok(config) = checked_rx.recv() {
            match between(&config) {
                Ok(copts) => {
                    let _ = opts_tx.send(copts);
                }
                Err(e) => failed = Some(e),
            }
        }
        drop(opts_tx);
        let compiled = t.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        match (failed, compiled) {
            (Some(e), _) => Err(e),
            (None, Some(c)) => Ok(c),
            (None, None) => Err(Error::Script("the compiler stopped early\n".into())),
        }
    })
}

/// Starts `cmd` (split on spaces, as bpftrace does, or with `/bin/sh -c` when `shell`) held
/// before its exec, so that probes are attached first.
fn spawn_gated(cmd: &str, shell: bool) -> Result<GatedChild, Error> {
    let words: Vec<String> = match shell {
        true => vec!["/bin/sh".into(), "-c".into(), cmd.to_string()],
        false => cmd
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect(),
    };
    GatedChild::spawn(&words).map_err(|e| Error::Command {
        cmd: cmd.to_string(),
        err: e.to_string(),
    })
}

/// Runs a script to completion, writing bpftrace's output to `out`.
pub fn run(src: &str, file_name: &str, opts: &Options, out: &mut dyn Write) -> Result<(), Error> {
    let mut env = SystemEnv::mounted();
    env.btf_path = opts.btf.clone();
    let mut child = None;
    let compiled = compile_on_own_stack(src, file_name, &env, opts, |config| {
        if let (Some(c), false) = (&opts.command, opts.dump) {
            child = Some(spawn_gated(c, opts.shell)?);
        }
        Ok(codegen::Options {
            cpid: child.as_ref().map_or(0, |c| c.id() as u64),
            start_ns: bpf_sys::ktime_get_ns(),
            // The environment's value wins over the script's config block, as in bpftrace.
            map_keys_max: match (opts.map_keys_max, config.max_map_keys) {
                (0, Some(n)) => u32::try_from(n).unwrap_or(u32::MAX),
                (n, _) => n,
            },
            max_stack: crate::system::perf_event_max_stack(),
            cpus: bpf_sys::possible_cpus() as u32,
            max_insns: 0,
        })
    })?;
    if opts.dump {
        for p in &compiled.progs {
            let _ = writeln!(out, "; {} ({} instructions)", p.name, p.insns.len());
            let _ = out.write_all(bpf_insn::disassemble(&p.insns).as_bytes());
        }
        return Ok(());
    }
    let interrupted = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&interrupted));
    }
    let result = (|| -> Result<(), Error> {
        let mut s = Session::load(compiled, opts.pid)?;
        if opts.json {
            s.format = crate::output::Format::Json;
        }
        out.write_all(crate::output::attaching(s.attached, s.format).as_bytes())
            .map_err(RunError::from)?;
        out.flush().map_err(RunError::from)?;
        s.run_special(&ProbeKind::Begin)?;
        let exited_early = s.drain(out);
        if let Some(c) = child.as_mut() {
            c.release().map_err(RunError::from)?;
        }
        if !exited_early {
            let pid = opts.pid;
            s.poll_loop(out, &interrupted, || {
                if let Some(c) = child.as_mut() {
                    return !matches!(c.try_wait(), Ok(None));
                }
                if let Some(p) = pid {
                    return !process_alive(p);
                }
                false
            });
        }
        s.finish(out)?;
        Ok(())
    })();
    if let Some(c) = child.as_mut() {
        let _ = c.terminate();
        let _ = c.wait();
    }
    result
}

/// Whether process `pid` still runs: it exists and is not a zombie waiting for its parent.
fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !matches!(rest.trim_start().chars().next(), Some('Z' | 'X'))),
        Err(_) => false,
    }
}

/// `-l [PATTERN]`: probe names, one per line, bpftrace's spelling.
pub fn list(pattern: Option<&str>, out: &mut dyn Write) -> Result<(), Error> {
    list_with(pattern, &ListOptions::default(), out)
}

/// How `-l` lists.
#[derive(Debug, Default, Clone)]
pub struct ListOptions {
    /// `-lv`: each probe's arguments with their types, indented under it.
    pub verbose: bool,
    /// `--btf FILE` for kfunc listings.
    pub btf: Option<std::path::PathBuf>,
}

/// The `-lv` lines of a tracepoint: its format's fields as declared, less the common ones.
fn tracepoint_fields(env: &SystemEnv, category: &str, name: &str) -> Vec<String> {
    let p = env
        .tracefs
        .join("events")
        .join(category)
        .join(name)
        .join("format");
    let text = std::fs::read_to_string(p).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("field:"))
        .filter_map(|l| l.split(';').next())
        .map(str::trim)
        .filter(|d| {
            !d.rsplit([' ', '*'])
                .next()
                .is_some_and(|n| n.starts_with("common_"))
        })
        .map(|d| format!("    {d}"))
        .collect()
}

/// The `-lv` lines of a kfunc: its parameters as C declares them, then `retval`.
fn kfunc_params(b: &btf::Btf, func: u32) -> Vec<String> {
    let Some((ret, params)) = b.func_proto(func) else {
        return Vec::new();
    };
    let decl = |ty: u32, name: &str| {
        let t = b.c_type(ty);
        if t.ends_with('*') {
            format!("    {t}{name}")
        } else {
            format!("    {t} {name}")
        }
    };
    let mut v: Vec<String> = params
        .iter()
        .filter(|p| p.type_id != 0)
        .map(|p| decl(p.type_id, b.str_at(p.name_off)))
        .collect();
    if ret != 0 {
        v.push(decl(ret, "retval"));
    }
    v
}

/// `-l`/`-lv` with options.
pub fn list_with(
    pattern: Option<&str>,
    lo: &ListOptions,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let mut env = SystemEnv::mounted();
    env.btf_path = lo.btf.clone();
    let pat = pattern.unwrap_or("*");
    let mut names: Vec<String> = Vec::new();
    // `-lv` details, by probe name.
    let mut details: std::collections::HashMap<String, Vec<String>> = Default::default();
    let (ty, rest) = pat.split_once(':').unwrap_or(("*", pat));
    if sema::wildcard_match(ty, "tracepoint") || ty == "t" {
        let (c, n) = rest.split_once(':').unwrap_or((rest, "*"));
        let (c, n) = if pat.contains(':') {
            (c, n)
        } else {
            ("*", "*")
        };
        if let Ok(tps) = env.tracepoints(c, n) {
            for (c, n) in tps {
                let full = format!("tracepoint:{c}:{n}");
                if lo.verbose {
                    details.insert(full.clone(), tracepoint_fields(&env, &c, &n));
                }
                names.push(full);
            }
        }
    }
    // kfuncs and raw tracepoints come from BTF: listed when the pattern names their type
    // (bpftrace 0.17 lists no kfuncs on a kernel without BPF trampolines, as here).
    let kfunc_ty = ["kfunc", "kretfunc", "fentry", "fexit"]
        .into_iter()
        .find(|t| *t == ty);
    let raw_ty = matches!(ty, "rawtracepoint" | "rt");
    if kfunc_ty.is_some() || raw_ty {
        let b = env
            .btf()
            .map_err(|e| Error::Script(format!("cannot list {ty} probes: {e}\n")))?;
        let func_pat = rest.rsplit(':').next().unwrap_or("*");
        if let Some(kt) = kfunc_ty {
            for (f, id) in sema::kernel_funcs(&b) {
                if sema::wildcard_match(func_pat, f) {
                    let full = format!("{kt}:{f}");
                    if lo.verbose {
                        details.insert(full.clone(), kfunc_params(&b, id));
                    }
                    names.push(full);
                }
            }
        } else {
            for id in 1..b.len() as u32 {
                if let Some(n) = b.name(id).strip_prefix("btf_trace_") {
                    if sema::wildcard_match(func_pat, n) {
                        names.push(format!("rawtracepoint:{n}"));
                    }
                }
            }
        }
    }
    if let Some(path) = rest
        .split_once(':')
        .map(|(p, _)| p)
        .filter(|_| matches!(ty, "uprobe" | "u" | "uretprobe" | "ur"))
    {
        let sym_pat = rest.split_once(':').map_or("*", |(_, s)| s);
        let bin = crate::system::resolve_binary(path);
        if let Ok(data) = std::fs::read(&bin) {
            if let Ok(f) = object::File::parse(&*data) {
                use object::{Object, ObjectSymbol};
                let mut syms: Vec<String> = f
                    .symbols()
                    .chain(f.dynamic_symbols())
                    .filter(|s| s.kind() == object::SymbolKind::Text && s.address() != 0)
                    .filter_map(|s| s.name().ok().map(str::to_string))
                    .filter(|n| sema::wildcard_match(sym_pat, n))
                    .collect();
                syms.sort();
                syms.dedup();
                names.extend(syms.into_iter().map(|s| format!("uprobe:{path}:{s}")));
            }
        }
    }
    if (ty == "k" || sema::wildcard_match(ty, "kprobe")) && env.kprobes_available() {
        names.extend(
            crate::system::kprobe_functions(&env.tracefs)
                .unwrap_or_default()
                .into_iter()
                .map(|(f, _)| f)
                .filter(|f| sema::wildcard_match(rest, f))
                .map(|f| format!("kprobe:{f}")),
        );
    }
    // bpftrace 0.17 lists software and hardware events as `TYPE:TARGET:` (the pattern's
    // target echoed, not expanded), and the two BPF iterators it knows when the kernel has them.
    if !rest.contains(':') {
        for t in ["hardware", "software"] {
            if sema::wildcard_match(ty, t) {
                names.push(format!("{t}:{rest}:"));
            }
        }
    }
    if sema::wildcard_match(ty, "iter") {
        let btf = std::fs::read("/sys/kernel/btf/vmlinux").unwrap_or_default();
        for it in ["task", "task_file"] {
            let needle = format!("bpf_iter__{it}\0");
            if sema::wildcard_match(rest, it)
                && btf.windows(needle.len()).any(|w| w == needle.as_bytes())
            {
                names.push(format!("iter:{it}"));
            }
        }
    }
    names.sort();
    names.dedup();
    for n in names {
        let _ = writeln!(out, "{n}");
        for d in details.get(&n).into_iter().flatten() {
            let _ = writeln!(out, "{d}");
        }
    }
    Ok(())
}
