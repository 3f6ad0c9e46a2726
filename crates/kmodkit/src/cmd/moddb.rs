//! Module database commands: `depmod`, `modprobe`. Argument parsing and printing only; the
//! work is in the `moddb` crate.

use crate::getopt::{self, HasArg, LongOpt};
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

const fn lo(name: &'static str, has_arg: HasArg, val: char) -> LongOpt {
    LongOpt { name, has_arg, val }
}

const DEPMOD_LONGOPTS: &[LongOpt] = &[
    lo("all", HasArg::No, 'a'),
    lo("quick", HasArg::No, 'A'),
    lo("basedir", HasArg::Required, 'b'),
    lo("config", HasArg::Required, 'C'),
    lo("symvers", HasArg::Required, 'E'),
    lo("filesyms", HasArg::Required, 'F'),
    lo("errsyms", HasArg::No, 'e'),
    lo("unresolved-error", HasArg::No, 'u'),
    lo("quiet", HasArg::No, 'q'),
    lo("root", HasArg::No, 'r'),
    lo("verbose", HasArg::No, 'v'),
    lo("show", HasArg::No, 'n'),
    lo("dry-run", HasArg::No, 'n'),
    lo("symbol-prefix", HasArg::Required, 'P'),
    lo("warn", HasArg::No, 'w'),
    lo("map", HasArg::No, 'm'),
    lo("version", HasArg::No, 'V'),
    lo("help", HasArg::No, 'h'),
];

fn depmod_help(prog: &str) {
    print!(
        "Usage:\n\
         \t{prog} -[aA] [options] [forced_version]\n\
         \n\
         If no arguments (except options) are given, \"depmod -a\" is assumed\n\
         \n\
         depmod will output a dependency list suitable for the modprobe utility.\n\
         \n\
         Options:\n\
         \t-a, --all            Probe all modules\n\
         \t-A, --quick          Only does the work if there's a new module\n\
         \t-e, --errsyms        Report not supplied symbols\n\
         \t-n, --show           Write the dependency file on stdout only\n\
         \t-P, --symbol-prefix  Architecture symbol prefix\n\
         \t-C, --config=PATH    Read configuration from PATH\n\
         \t-v, --verbose        Enable verbose mode\n\
         \t-w, --warn           Warn on duplicates\n\
         \t-V, --version        show version\n\
         \t-h, --help           show this help\n\
         \n\
         The following options are useful for people managing distributions:\n\
         \t-b, --basedir=DIR    Use an image of a module tree.\n\
         \t-F, --filesyms=FILE  Use the file instead of the\n\
         \t                     current kernel symbols.\n\
         \t-E, --symvers=FILE   Use Module.symvers file to check\n\
         \t                     symbol versions.\n"
    );
}

/// The kernel release of the running system (`uname -r`).
pub(crate) fn uname_release() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|s| s.trim_end().to_string())
}

/// libkmod's `path_make_absolute_cwd`.
fn absolute(p: &str) -> String {
    if p.starts_with('/') {
        return p.to_string();
    }
    match std::env::current_dir() {
        Ok(cwd) => format!("{}/{p}", cwd.display()),
        Err(_) => p.to_string(),
    }
}

/// `sscanf(version, "%u.%u") == 2`.
fn is_version_number(v: &str) -> bool {
    let mut it = v.trim_start().splitn(2, '.');
    let a = it.next().unwrap_or("");
    let b = it.next().unwrap_or("").trim_start();
    let digits = |s: &str| {
        let s = s.strip_prefix('+').unwrap_or(s);
        s.bytes().next().is_some_and(|c| c.is_ascii_digit())
    };
    digits(a)
        && a.trim_start_matches('+')
            .bytes()
            .all(|c| c.is_ascii_digit())
        && digits(b)
}

pub fn depmod(prog: &str, args: Vec<OsString>) -> u8 {
    let Ok(parsed) = getopt::parse(prog, &args, "aAb:C:E:F:euqrvnP:wmVh", DEPMOD_LONGOPTS) else {
        return 1;
    };
    let mut o = moddb::depmod::Options::default();
    let mut verbose = moddb::depmod::Level::Warning as i32;
    let mut config: Vec<PathBuf> = Vec::new();
    let mut maybe_all = false;
    let text = |v: &Option<OsString>| v.as_ref().map(|s| s.to_string_lossy().into_owned());
    let mut deprecated = Vec::new();
    for (c, v) in &parsed.opts {
        match c {
            'a' => o.all = true,
            'A' => maybe_all = true,
            'b' => o.basedir = text(v).map(|s| absolute(&s)),
            'C' => config.push(PathBuf::from(v.clone().unwrap_or_default())),
            'E' => o.symvers = v.clone().map(PathBuf::from),
            'F' => o.system_map = v.clone().map(PathBuf::from),
            'e' => o.print_unknown = true,
            'v' => verbose += 1,
            'n' => o.dry_run = true,
            'P' => {
                let p = text(v).unwrap_or_default();
                if p.len() != 1 {
                    eprintln!("{prog}: FATAL: -P only takes a single char");
                    return 1;
                }
                o.sym_prefix = p.as_bytes()[0];
            }
            'w' => o.warn_dups = true,
            'u' | 'q' | 'r' | 'm' => deprecated.push(*c),
            'h' => {
                depmod_help(prog);
                return 0;
            }
            'V' => {
                println!("kmod version 30");
                println!("+ZSTD +XZ -ZLIB +LIBCRYPTO -EXPERIMENTAL");
                return 0;
            }
            _ => unreachable!("getopt returns only declared options"),
        }
    }
    for c in deprecated {
        eprintln!("{prog}: WARNING: Ignored deprecated option -{c}");
    }
    let mut operands: Vec<String> = parsed
        .operands
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    if !operands.is_empty() {
        let v = operands.remove(0);
        if !is_version_number(&v) {
            eprintln!("{prog}: ERROR: Bad version passed {v}");
            return 1;
        }
        o.kversion = v;
    } else {
        match uname_release() {
            Some(r) => o.kversion = r,
            None => {
                eprintln!("{prog}: FATAL: uname() failed");
                return 1;
            }
        }
    }
    if operands.is_empty() {
        o.all = true;
    }
    o.quick = maybe_all;
    if maybe_all {
        o.all = true;
    }
    o.modules = operands;
    if !config.is_empty() {
        o.config_paths = Some(config);
    }

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut message = |l: moddb::depmod::Level, s: &str| {
        eprint!("{prog}: {}: {s}", l.name());
    };
    let mut shown: Vec<u8> = Vec::new();
    let mut show = |s: &str| shown.extend_from_slice(s.as_bytes());
    let mut log = moddb::depmod::Log {
        verbose,
        message: &mut message,
        show: &mut show,
    };
    let r = moddb::depmod::run(&o, &mut out, &mut log);
    let ok = match r {
        Ok(moddb::depmod::Outcome::Cycles) => false,
        Ok(_) => true,
        Err(e) => {
            eprintln!("{prog}: FATAL: {e}");
            false
        }
    };
    // kmod prints -v lines as it goes, before the -n text.
    let _ = std::io::stdout().write_all(&shown);
    if out.flush().is_err() {
        return 1;
    }
    u8::from(!ok)
}

pub fn modprobe(name: &str, _args: Vec<OsString>) -> u8 {
    let _ = OsString::new().as_bytes();
    super::not_yet(name)
}
