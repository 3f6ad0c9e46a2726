//! `kmodkit leaks`: kernel allocations not freed during a window, grouped by call site.
//! Parsing of the command line only; the logic lives in `ktrace::leaks`.

use std::ffi::OsString;

const USAGE: &str = "\
usage: kmodkit leaks [--module NAME] [--duration SECS] [-c CMD] [--json]

Traces kmem allocations and frees with eBPF and reports, at the end of the window, the
allocations still outstanding, grouped by call site (resolved through /proc/kallsyms).

options:
  --module NAME    only call sites in module NAME; the window also ends when NAME is
                   unloaded (its symbols are taken from before the unload)
  --duration SECS  end the window after SECS seconds
  -c CMD           run CMD (split on spaces) and end the window when it exits
  --json           one JSON object instead of text
  -h, --help       this text
Without --duration or -c the window ends at Ctrl-C. `Attaching N probes...` on stderr
marks the start of the window.
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
    let (mut module, mut duration, mut command, mut json) = (None, None, None, false);
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let val = |i: usize| args.get(i + 1).cloned();
        match a {
            "-h" | "--help" => {
                print!("{USAGE}");
                return 0;
            }
            "--json" => json = true,
            "--module" | "--duration" | "-c" => {
                let Some(v) = val(i) else {
                    return usage_error(name, &format!("option {a} needs a value"));
                };
                i += 1;
                match a {
                    "--module" if !ktrace::leaks::valid_module_name(&v) => {
                        return usage_error(name, &format!("--module: {v:?} is not a module name"))
                    }
                    "--module" => module = Some(v),
                    "-c" => command = Some(v),
                    _ => match v.parse::<u64>() {
                        Ok(d) if d > 0 => duration = Some(d),
                        _ => {
                            return usage_error(
                                name,
                                &format!(
                                    "--duration needs a positive number of seconds, not {v:?}"
                                ),
                            )
                        }
                    },
                }
            }
            _ => return usage_error(name, &format!("unexpected argument {a:?}")),
        }
        i += 1;
    }
    match ktrace::leaks::run(command, duration, module.as_deref()) {
        Ok(sites) => {
            if json {
                print!("{}", ktrace::leaks::report_json(&sites));
            } else {
                print!("{}", ktrace::leaks::report_text(&sites));
            }
            0
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            1
        }
    }
}
