//! `kmodkit trace`: the bpftrace-compatible tracing language. Parsing of the command line
//! only; the compiler lives in the `tracelang` crate and the runtime in `ktrace`.
//!
//! Exit statuses are bpftrace's: 0 when the script ran (or `-d`/`-l` printed), 1 for an
//! error in the script (its diagnostics, verbatim) or at run time, 2 for a usage error.

use super::{usage, Exit, Outcome};
use anyhow::Context;
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

const USAGE: &str = "\
usage: kmodkit trace [options] -e 'program' [args...]
       kmodkit trace [options] FILE [args...]
       kmodkit trace -l [PATTERN]

options:
  -e PROGRAM   the program text
  -c CMD       run CMD (split on spaces) and trace until it exits; `cpid` is its pid
  -p PID       attach uprobes to PID only, stop when it exits
  --tool NAME  run bpftrace's installed tool NAME (/usr/sbin/NAME.bt,
               /usr/share/bpftrace/tools/NAME.bt), else a bundled one
               (--tool list names them)
  -l [PATTERN] list probes matching PATTERN (tracepoints; uprobe:BINARY:PATTERN;
               kfunc:PATTERN; rawtracepoint:PATTERN)
  -lv [PATTERN] the same, with each probe's arguments and their types
  -d           print the compiled eBPF programs and stop before loading
  --btf FILE   the kernel's types from FILE (raw BTF, a vmlinux, a kernel image)
               instead of /sys/kernel/btf/vmlinux
  --unsafe     allow system() and signal()
  --json       bpftrace's `-f json` output (one JSON object per line)
  -h, --help   this text
";

/// A usage error: the message, then the usage text; status 2.
fn usage_error(name: &str, msg: &str) -> anyhow::Error {
    usage(format!(
        "kmodkit {name}: {msg}\n{}",
        USAGE.trim_end_matches('\n')
    ))
}

pub fn main(name: &str, args: Vec<OsString>) -> Outcome {
    let args: Vec<String> = match args.into_iter().map(|a| a.into_string()).collect() {
        Ok(a) => a,
        Err(bad) => {
            return Err(usage_error(
                name,
                &format!("argument is not UTF-8: {bad:?}"),
            ))
        }
    };
    let mut opts = ktrace::driver::Options::default();
    let mut program: Option<(String, String)> = None;
    let mut list: Option<Option<String>> = None;
    let mut list_opts = ktrace::driver::ListOptions::default();
    let mut i = 0;
    let mut rest: Vec<String> = Vec::new();
    while i < args.len() {
        let a = args[i].as_str();
        let mut value = |what: &str| -> anyhow::Result<String> {
            i += 1;
            args.get(i)
                .cloned()
                .ok_or_else(|| usage_error(name, &format!("option {a} needs {what}")))
        };
        match a {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            "-e" => program = Some((value("a program")?, "stdin".to_string())),
            "-c" => opts.command = Some(value("a command")?),
            "-p" => match value("a pid")?.parse::<i32>() {
                Ok(p) if p > 0 => opts.pid = Some(p),
                _ => return Err(usage_error(name, "-p needs a positive process id")),
            },
            "-l" | "-lv" | "-vl" => {
                list_opts.verbose = a != "-l";
                let pat = args.get(i + 1).filter(|p| !p.starts_with('-')).cloned();
                if pat.is_some() {
                    i += 1;
                }
                list = Some(pat);
            }
            "--tool" => {
                let t = value("a tool name")?;
                match ktrace::tools::locate(&t) {
                    Some(found) => program = Some(found),
                    None => {
                        let list = t == "list";
                        for (n, d, from) in ktrace::tools::list() {
                            let line = format!("{n:<16}{d}  [{from}]");
                            if list {
                                println!("{line}");
                            } else {
                                eprintln!("{line}");
                            }
                        }
                        if list {
                            return Ok(ExitCode::SUCCESS);
                        }
                        return Err(usage_error(
                            name,
                            &format!("no tool named {t:?} (listed above)"),
                        ));
                    }
                }
            }
            "-d" => opts.dump = true,
            "--btf" => {
                let f = std::path::PathBuf::from(value("a BTF file")?);
                list_opts.btf = Some(f.clone());
                opts.btf = Some(f);
            }
            "--unsafe" => opts.unsafe_ok = true,
            "--json" => opts.json = true,
            "--" => {
                rest.extend(args[i + 1..].iter().cloned());
                break;
            }
            s if s.starts_with('-') && s.len() > 1 => {
                return Err(usage_error(name, &format!("unknown option {s}")));
            }
            _ => rest.push(a.to_string()),
        }
        i += 1;
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Some(pat) = list {
        match ktrace::driver::list_with(pat.as_deref(), &list_opts, &mut out) {
            Ok(()) => {}
            Err(ktrace::driver::Error::Script(m)) => {
                return Err(Exit::with(1, m.strip_suffix('\n').unwrap_or(&m)))
            }
            Err(e) => return Err(e.into()),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (src, file) = match program {
        Some(p) => p,
        None => {
            if rest.is_empty() {
                return Err(usage_error(name, "no program given (-e PROGRAM or FILE)"));
            }
            let f = rest.remove(0);
            let text = std::fs::read_to_string(&f).with_context(|| f.clone())?;
            (text, f)
        }
    };
    opts.positional = rest;
    let result = ktrace::driver::run(&src, &file, &opts, &mut out);
    let _ = out.flush();
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // The diagnostics, rendered against the source, are the whole message.
        Err(ktrace::driver::Error::Script(rendered)) => Err(Exit::with(
            1,
            rendered.strip_suffix('\n').unwrap_or(&rendered),
        )),
        Err(e) => Err(e.into()),
    }
}
