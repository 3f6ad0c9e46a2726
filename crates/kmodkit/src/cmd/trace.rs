//! `kmodkit trace`: the bpftrace-compatible tracing language. Parsing of the command line
//! only; the compiler and runtime live in the `ktrace` crate.

use std::ffi::OsString;
use std::io::Write;

const USAGE: &str = "\
usage: kmodkit trace [options] -e 'program' [args...]
       kmodkit trace [options] FILE [args...]
       kmodkit trace -l [PATTERN]

options:
  -e PROGRAM   the program text
  -c CMD       run CMD (split on spaces) and trace until it exits; `cpid` is its pid
  -p PID       attach uprobes to PID only, stop when it exits
  --tool NAME  run a bundled tool (--tool list names them)
  -l [PATTERN] list probes matching PATTERN (tracepoints; uprobe:BINARY:PATTERN)
  -d           print the compiled eBPF programs and stop before loading
  --unsafe     allow system() and signal()
  --json       bpftrace's `-f json` output (one JSON object per line)
  -h, --help   this text
";

fn usage_error(name: &str, msg: &str) -> u8 {
    eprintln!("{name}: {msg}");
    eprint!("{USAGE}");
    2
}

pub fn main(name: &str, args: Vec<OsString>) -> u8 {
    let args: Vec<String> = match args.into_iter().map(|a| a.into_string()).collect() {
        Ok(a) => a,
        Err(bad) => return usage_error(name, &format!("argument is not UTF-8: {bad:?}")),
    };
    let mut opts = ktrace::driver::Options::default();
    let mut program: Option<(String, String)> = None;
    let mut list: Option<Option<String>> = None;
    let mut i = 0;
    let mut rest: Vec<String> = Vec::new();
    while i < args.len() {
        let a = args[i].as_str();
        let mut value = |what: &str| -> Result<String, u8> {
            i += 1;
            args.get(i)
                .cloned()
                .ok_or_else(|| usage_error(name, &format!("option {a} needs {what}")))
        };
        match a {
            "-h" | "--help" => {
                print!("{USAGE}");
                return 0;
            }
            "-e" => match value("a program") {
                Ok(p) => program = Some((p, "stdin".to_string())),
                Err(c) => return c,
            },
            "-c" => match value("a command") {
                Ok(c) => opts.command = Some(c),
                Err(c) => return c,
            },
            "-p" => match value("a pid").map(|p| p.parse::<i32>()) {
                Ok(Ok(p)) if p > 0 => opts.pid = Some(p),
                Ok(_) => return usage_error(name, "-p needs a positive process id"),
                Err(c) => return c,
            },
            "-l" => {
                let pat = args.get(i + 1).filter(|p| !p.starts_with('-')).cloned();
                if pat.is_some() {
                    i += 1;
                }
                list = Some(pat);
            }
            "--tool" => match value("a tool name") {
                Ok(t) => match ktrace::tools::tool(&t) {
                    Some(src) => program = Some((src.to_string(), format!("tool:{t}"))),
                    None => {
                        let list = t == "list";
                        for (n, s) in ktrace::tools::TOOLS {
                            let line = format!("{n:<12}{}", ktrace::tools::describe(s));
                            if list {
                                println!("{line}");
                            } else {
                                eprintln!("{line}");
                            }
                        }
                        if list {
                            return 0;
                        }
                        return usage_error(name, &format!("no tool named {t:?} (listed above)"));
                    }
                },
                Err(c) => return c,
            },
            "-d" => opts.dump = true,
            "--unsafe" => opts.unsafe_ok = true,
            "--json" => opts.json = true,
            "--" => {
                rest.extend(args[i + 1..].iter().cloned());
                break;
            }
            s if s.starts_with('-') && s.len() > 1 => {
                return usage_error(name, &format!("unknown option {s}"));
            }
            _ => rest.push(a.to_string()),
        }
        i += 1;
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Some(pat) = list {
        return match ktrace::driver::list(pat.as_deref(), &mut out) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("{name}: {e}");
                1
            }
        };
    }
    let (src, file) = match program {
        Some(p) => p,
        None => {
            if rest.is_empty() {
                return usage_error(name, "no program given (-e PROGRAM or FILE)");
            }
            let f = rest.remove(0);
            match std::fs::read_to_string(&f) {
                Ok(s) => (s, f),
                Err(e) => {
                    eprintln!("{name}: {f}: {e}");
                    return 1;
                }
            }
        }
    };
    opts.positional = rest;
    match ktrace::driver::run(&src, &file, &opts, &mut out) {
        Ok(()) => {
            let _ = out.flush();
            0
        }
        Err(ktrace::driver::Error::Script(rendered)) => {
            let _ = out.flush();
            eprint!("{rendered}");
            1
        }
        Err(e) => {
            let _ = out.flush();
            eprintln!("{name}: {e}");
            1
        }
    }
}
