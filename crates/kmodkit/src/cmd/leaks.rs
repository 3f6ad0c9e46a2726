//! `kmodkit leaks`: kernel allocations not freed during a window, grouped by call site.
//! Parsing of the command line only; the logic lives in `ktrace::leaks`.

use super::{usage, Outcome};
use anyhow::Context;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: kmodkit leaks [--module NAME [--ko PATH]] [--duration SECS] [-c CMD] [--json]

Traces kmem allocations and frees with eBPF and reports, at the end of the window, the
allocations still outstanding, grouped by call site (resolved through /proc/kallsyms).

options:
  --module NAME    only call sites in module NAME's code, which is named from its .ko
                   (its init functions too); the window also ends when NAME is unloaded.
                   NAME may be loaded before, during or (with -c) by the window
  --ko PATH        NAME's module file; by default a .ko named in CMD, ./NAME.ko, or
                   the running kernel's modules.dep entry
  --duration SECS  end the window after SECS seconds
  -c CMD           run CMD with /bin/sh -c and end the window when it exits
  --json           one JSON object instead of text
  -h, --help       this text
Without --duration or -c the window ends at Ctrl-C. `Attaching N probes...` on stderr
marks the start of the window.
";

fn usage_error(name: &str, msg: &str) -> anyhow::Error {
    usage(format!("{name}: {msg}\n{}", USAGE.trim_end()))
}

pub fn main(name: &str, args: Vec<OsString>) -> Outcome {
    let args: Vec<String> = args
        .into_iter()
        .map(|a| a.into_string())
        .collect::<Result<_, _>>()
        .map_err(|bad| usage_error(name, &format!("argument is not UTF-8: {bad:?}")))?;
    let mut req = ktrace::leaks::Request::default();
    let (mut json, mut ko) = (false, None);
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        match a {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            "--json" => json = true,
            "--module" | "--duration" | "-c" | "--ko" => {
                let v = args
                    .get(i + 1)
                    .cloned()
                    .ok_or_else(|| usage_error(name, &format!("option {a} needs a value")))?;
                i += 1;
                match a {
                    "--module" if !ktrace::leaks::valid_module_name(&v) => {
                        return Err(usage_error(
                            name,
                            &format!("--module: {v:?} is not a module name"),
                        ))
                    }
                    "--module" => req.module = Some(v),
                    "--ko" => ko = Some(PathBuf::from(v)),
                    "-c" => req.command = Some(v),
                    _ => match v.parse::<u64>() {
                        Ok(d) if d > 0 => req.duration_s = Some(d),
                        _ => {
                            return Err(usage_error(
                                name,
                                &format!(
                                    "--duration needs a positive number of seconds, not {v:?}"
                                ),
                            ))
                        }
                    },
                }
            }
            _ => return Err(usage_error(name, &format!("unexpected argument {a:?}"))),
        }
        i += 1;
    }
    if ko.is_some() && req.module.is_none() {
        return Err(usage_error(name, "--ko needs --module"));
    }
    if let Some(m) = &req.module {
        req.image = ktrace::leaks::find_module_file(m, ko.as_deref(), req.command.as_deref())
            .context("reading the module file")?;
        if req.image.is_none() {
            eprintln!(
                "kmodkit leaks: no .ko found for {m} (give --ko PATH): its call sites are named \
                 from kallsyms, and not at all once it is unloaded"
            );
        } else if !ktrace::leaks::load_probes_available() {
            eprintln!(
                "kmodkit leaks: this kernel has no kprobes: {m} is named only if it is loaded \
                 at the start or the end of the window"
            );
        }
    }
    let sites = ktrace::leaks::run(&req)?;
    if json {
        print!("{}", ktrace::leaks::report_json(&sites));
    } else {
        print!("{}", ktrace::leaks::report_text(&sites));
    }
    Ok(ExitCode::SUCCESS)
}
