//! Module database commands: `depmod`, `modprobe`. Argument parsing and printing only; the
//! work is in the `moddb` crate.

use super::{Exit, Outcome};
use crate::getopt::{self, opt, HasArg, LongOpt};
use anyhow::{anyhow, bail};
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// The environment variable that chooses the kmod release to reproduce: `30` for kmod 30
/// (Debian 12), `34` (the default) for kmod 34.2 (Debian 13).
pub(crate) const COMPAT_ENV: &str = "KMODKIT_KMOD_COMPAT";

/// The kmod release to reproduce, from `KMODKIT_KMOD_COMPAT` (unset or empty: kmod 34).
pub(crate) fn kmod_compat() -> anyhow::Result<moddb::Kmod> {
    match std::env::var_os(COMPAT_ENV) {
        None => Ok(moddb::Kmod::default()),
        Some(v) if v.is_empty() => Ok(moddb::Kmod::default()),
        Some(v) => moddb::Kmod::parse(&v.to_string_lossy()).ok_or_else(|| {
            anyhow!(
                "ERROR: {COMPAT_ENV}={}: expected 30 or 34",
                v.to_string_lossy()
            )
        }),
    }
}

/// `--version` of kmod's tools, for the release reproduced.
pub(crate) fn print_kmod_version(kmod: moddb::Kmod) {
    println!("kmod version {}", kmod.version());
    match kmod {
        moddb::Kmod::V30 => println!("+ZSTD +XZ -ZLIB +LIBCRYPTO -EXPERIMENTAL"),
        moddb::Kmod::V34 => println!("+ZSTD +XZ -ZLIB +OPENSSL"),
    }
}

/// kmod 34's depmod options (the default; what the man page describes).
pub(crate) const DEPMOD_SHORTOPTS: &str = "aAb:m:o:C:E:F:evnP:wVh";
pub(crate) const DEPMOD_LONGOPTS: &[LongOpt] = &[
    opt("all", HasArg::No, 'a'),
    opt("quick", HasArg::No, 'A'),
    opt("basedir", HasArg::Required, 'b'),
    opt("moduledir", HasArg::Required, 'm'),
    opt("outdir", HasArg::Required, 'o'),
    opt("config", HasArg::Required, 'C'),
    opt("symvers", HasArg::Required, 'E'),
    opt("filesyms", HasArg::Required, 'F'),
    opt("errsyms", HasArg::No, 'e'),
    opt("verbose", HasArg::No, 'v'),
    opt("show", HasArg::No, 'n'),
    opt("dry-run", HasArg::No, 'n'),
    opt("symbol-prefix", HasArg::Required, 'P'),
    opt("warn", HasArg::No, 'w'),
    opt("version", HasArg::No, 'V'),
    opt("help", HasArg::No, 'h'),
];

/// kmod 30's depmod options (deprecated ones accepted with a warning naming the form used:
/// their long forms get their own letters here; `-m` is `--map`).
const DEPMOD30_SHORTOPTS: &str = "aAb:C:E:F:euqrvnP:wmVh";
const DEPMOD30_LONGOPTS: &[LongOpt] = &[
    opt("all", HasArg::No, 'a'),
    opt("quick", HasArg::No, 'A'),
    opt("basedir", HasArg::Required, 'b'),
    opt("config", HasArg::Required, 'C'),
    opt("symvers", HasArg::Required, 'E'),
    opt("filesyms", HasArg::Required, 'F'),
    opt("errsyms", HasArg::No, 'e'),
    opt("unresolved-error", HasArg::No, 'U'),
    opt("quiet", HasArg::No, 'Q'),
    opt("root", HasArg::No, 'R'),
    opt("verbose", HasArg::No, 'v'),
    opt("show", HasArg::No, 'n'),
    opt("dry-run", HasArg::No, 'n'),
    opt("symbol-prefix", HasArg::Required, 'P'),
    opt("warn", HasArg::No, 'w'),
    opt("map", HasArg::No, 'M'),
    opt("version", HasArg::No, 'V'),
    opt("help", HasArg::No, 'h'),
];

fn depmod_help(prog: &str, kmod: moddb::Kmod) {
    let dirs = match kmod {
        moddb::Kmod::V30 => "\t-b, --basedir=DIR    Use an image of a module tree.\n",
        moddb::Kmod::V34 => {
            "\t-b, --basedir=DIR    Root path (default: /).\n\
             \t-m, --moduledir=DIR  Module directory (default: /lib/modules).\n\
             \t-o, --outdir=DIR     Output root path (default: same as <basedir>).\n"
        }
    };
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
         {dirs}\
         \t-F, --filesyms=FILE  Use the file instead of the\n\
         \t                     current kernel symbols.\n\
         \t-E, --symvers=FILE   Use Module.symvers file to check\n\
         \t                     symbol versions.\n"
    );
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

pub fn depmod(prog: &str, args: Vec<OsString>) -> Outcome {
    let kmod = kmod_compat()?;
    let (short, long) = match kmod {
        moddb::Kmod::V30 => (DEPMOD30_SHORTOPTS, DEPMOD30_LONGOPTS),
        moddb::Kmod::V34 => (DEPMOD_SHORTOPTS, DEPMOD_LONGOPTS),
    };
    let Ok(parsed) = getopt::parse(prog, &args, short, long) else {
        return Err(Exit::status(1));
    };
    let mut o = moddb::depmod::Options {
        kmod,
        ..Default::default()
    };
    let mut verbose = moddb::depmod::Level::Warning as i32;
    let mut config: Vec<PathBuf> = Vec::new();
    let mut maybe_all = false;
    let text = |v: &Option<OsString>| v.as_ref().map(|s| s.to_string_lossy().into_owned());
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
                    bail!("FATAL: -P only takes a single char");
                }
                o.sym_prefix = p.as_bytes()[0];
            }
            'w' => o.warn_dups = true,
            'm' if kmod == moddb::Kmod::V34 => o.moduledir = text(v),
            'o' => o.outdir = text(v).map(|s| absolute(&s)),
            'u' | 'q' | 'r' | 'm' => {
                eprintln!("{prog}: WARNING: Ignored deprecated option -{c}")
            }
            'U' | 'Q' | 'R' | 'M' => {
                let name = DEPMOD30_LONGOPTS
                    .iter()
                    .find(|o| o.val == *c)
                    .map_or("", |o| o.name);
                eprintln!("{prog}: WARNING: Ignored deprecated option --{name}")
            }
            'h' => {
                depmod_help(prog, kmod);
                return Ok(ExitCode::SUCCESS);
            }
            'V' => {
                print_kmod_version(kmod);
                return Ok(ExitCode::SUCCESS);
            }
            _ => unreachable!("getopt returns only declared options"),
        }
    }
    let mut operands: Vec<String> = parsed
        .operands
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    if !operands.is_empty() {
        let v = operands.remove(0);
        if !is_version_number(&v) {
            bail!("ERROR: Bad version passed {v}");
        }
        o.kversion = v;
    } else {
        match kernels::running_release().ok() {
            Some(r) => o.kversion = r,
            None => bail!("FATAL: uname() failed"),
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
    // Module files are read into a buffer each thread reuses: mapping them, as kmod does,
    // costs a threaded process more in page faults and unmaps (TLB shootdowns) than the copy.
    // The files are committed together through safeio (modsys::live::IndexStore).
    let r = moddb::depmod::run(
        &o,
        &moddb::source::read_reusing,
        &mut out,
        &mut log,
        &mut OutStore {
            mkdir: kmod >= moddb::Kmod::V34,
        },
    );
    // kmod prints -v lines as it goes, before the -n text.
    let _ = std::io::stdout().write_all(&shown);
    let flushed = out.flush();
    match r {
        Ok(moddb::depmod::Outcome::Cycles) => Err(Exit::status(1)),
        Ok(_) if flushed.is_err() => Err(Exit::status(1)),
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e) => Err(anyhow!("FATAL: {e}")),
    }
}

/// modsys's index store, creating the output directory first as kmod 34 does (`-o` may
/// name a new directory; kmod 30 fails on a missing one the same way when opening it).
struct OutStore {
    mkdir: bool,
}

impl moddb::depmod::Store for OutStore {
    fn write_set(
        &mut self,
        dir: &std::path::Path,
        files: Vec<(&'static str, Vec<u8>)>,
    ) -> Result<(), moddb::Error> {
        let made = if self.mkdir {
            std::fs::create_dir_all(dir)
        } else {
            Ok(())
        };
        if let Err(e) = made {
            return Err(moddb::Error::Other(format!(
                "could not create directory {}: {}",
                dir.display(),
                moddb::depmod::strerror(&e)
            )));
        }
        modsys::live::IndexStore.write_set(dir, files)
    }
}

pub(crate) const MODPROBE_SHORTOPTS: &str = "arw:RibfDcnC:d:S:sqvVh";
pub(crate) const MODPROBE_LONGOPTS: &[LongOpt] = &[
    opt("all", HasArg::No, 'a'),
    opt("remove", HasArg::No, 'r'),
    opt("remove-dependencies", HasArg::No, '5'),
    opt("remove-holders", HasArg::No, '5'),
    opt("wait", HasArg::Required, 'w'),
    opt("resolve-alias", HasArg::No, 'R'),
    opt("first-time", HasArg::No, '3'),
    opt("ignore-install", HasArg::No, 'i'),
    opt("ignore-remove", HasArg::No, 'i'),
    opt("use-blacklist", HasArg::No, 'b'),
    opt("force", HasArg::No, 'f'),
    opt("force-modversion", HasArg::No, '2'),
    opt("force-vermagic", HasArg::No, '1'),
    opt("show-depends", HasArg::No, 'D'),
    opt("showconfig", HasArg::No, 'c'),
    opt("show-config", HasArg::No, 'c'),
    opt("show-modversions", HasArg::No, '4'),
    opt("dump-modversions", HasArg::No, '4'),
    opt("show-exports", HasArg::No, '6'),
    opt("dry-run", HasArg::No, 'n'),
    opt("show", HasArg::No, 'n'),
    opt("config", HasArg::Required, 'C'),
    opt("dirname", HasArg::Required, 'd'),
    opt("set-version", HasArg::Required, 'S'),
    opt("syslog", HasArg::No, 's'),
    opt("quiet", HasArg::No, 'q'),
    opt("verbose", HasArg::No, 'v'),
    opt("version", HasArg::No, 'V'),
    opt("help", HasArg::No, 'h'),
    // kmodkit only.
    opt("explain", HasArg::No, 'X'),
    opt("json", HasArg::No, 'J'),
    opt("modules-load", HasArg::No, 'L'),
];

fn modprobe_help(prog: &str, kmod: moddb::Kmod) {
    let wait = match kmod {
        moddb::Kmod::V30 => "-w, --wait <MSEC>  ",
        moddb::Kmod::V34 => "-w, --wait=<MSEC>  ",
    };
    print!(
        "Usage:\n\
         \t{prog} [options] [-i] [-b] modulename\n\
         \t{prog} [options] -a [-i] [-b] modulename [modulename...]\n\
         \t{prog} [options] -r [-i] modulename\n\
         \t{prog} [options] -r -a [-i] modulename [modulename...]\n\
         \t{prog} [options] -c\n\
         \t{prog} [options] --dump-modversions filename\n\
         \t{prog} --explain [--json] modulename (kmodkit: why each module is in the plan)\n\
         Management Options:\n\
         \t-a, --all                   Consider every non-argument to\n\
         \t                            be a module name to be inserted\n\
         \t                            or removed (-r)\n\
         \t-r, --remove                Remove modules instead of inserting\n\
         \t    --remove-dependencies   Deprecated: use --remove-holders\n\
         \t    --remove-holders        Also remove module holders (use together with -r)\n\
         \t{wait}         When removing a module, wait up to MSEC for\n\
         \t                            module's refcount to become 0 so it can be\n\
         \t                            removed (use together with -r)\n\
         \t    --first-time            Fail if module already inserted or removed\n\
         \t-i, --ignore-install        Ignore install commands\n\
         \t-i, --ignore-remove         Ignore remove commands\n\
         \t-b, --use-blacklist         Apply blacklist to resolved alias.\n\
         \t-f, --force                 Force module insertion or removal.\n\
         \t                            implies --force-modversions and\n\
         \t                            --force-vermagic\n\
         \t    --force-modversion      Ignore module's version\n\
         \t    --force-vermagic        Ignore module's version magic\n\
         \n\
         Query Options:\n\
         \t-R, --resolve-alias         Only lookup and print alias and exit\n\
         \t-D, --show-depends          Only print module dependencies and exit\n\
         \t-c, --showconfig            Print out known configuration and exit\n\
         \t-c, --show-config           Same as --showconfig\n\
         \t    --show-modversions      Dump module symbol version and exit\n\
         \t    --dump-modversions      Same as --show-modversions\n\
         \t    --show-exports          Only print module exported symbol versions and exit\n\
         \n\
         General Options:\n\
         \t-n, --dry-run               Do not execute operations, just print out\n\
         \t-n, --show                  Same as --dry-run\n\
         \t-C, --config=FILE           Use FILE instead of default search paths\n\
         \t-d, --dirname=DIR           Use DIR as filesystem root for /lib/modules\n\
         \t-S, --set-version=VERSION   Use VERSION instead of `uname -r`\n\
         \t-s, --syslog                print to syslog, not stderr\n\
         \t-q, --quiet                 disable messages\n\
         \t-v, --verbose               enables more messages\n\
         \t-V, --version               show version\n\
         \t-h, --help                  show this help\n"
    );
}

/// modprobe's `prepend_options_from_env`: words of $MODPROBE_OPTIONS (quotes group words).
fn options_from_env() -> Vec<OsString> {
    let Some(env) = std::env::var_os("MODPROBE_OPTIONS") else {
        return Vec::new();
    };
    let env = env.to_string_lossy().into_owned();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in env.chars() {
        match quote {
            None if c == ' ' => out.push(OsString::from(std::mem::take(&mut cur))),
            None if c == '"' || c == '\'' => quote = Some(c),
            Some(q) if c == q => quote = None,
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(OsString::from(cur));
    }
    out
}

/// modprobe's `options_from_array`: arguments after the module name, a value with spaces
/// quoted.
fn options_from_array(args: &[String]) -> Option<String> {
    if args.len() < 2 {
        return None;
    }
    let mut out = String::new();
    for a in &args[1..] {
        if !out.is_empty() {
            out.push(' ');
        }
        match a.split_once('=') {
            Some((k, v)) if !v.starts_with(['"', '\'']) && v.contains(' ') => {
                out.push_str(&format!("{k}=\"{v}\""))
            }
            _ => out.push_str(a),
        }
    }
    Some(out)
}

pub fn modprobe(prog: &str, args: Vec<OsString>) -> Outcome {
    let kmod = kmod_compat()?;
    let mut all_args = options_from_env();
    all_args.extend(args);
    let Ok(parsed) = getopt::parse(prog, &all_args, MODPROBE_SHORTOPTS, MODPROBE_LONGOPTS) else {
        return Err(Exit::status(1));
    };
    const WARNING: i32 = 4;
    let mut verbose = WARNING;
    let mut log_priority = 2; // LOG_CRIT: "not found" is fatal unless -a
    let (mut use_all, mut remove, mut show_config, mut lookup_only) = (false, false, false, false);
    let (mut dry_run, mut do_show, mut explain, mut json) = (false, false, false, false);
    let mut modules_load = false;
    let mut flags = moddb::modprobe::Flags::default();
    let (mut remove_holders, mut wait_given, mut force) = (false, false, false);
    let mut config: Vec<PathBuf> = Vec::new();
    let (mut root, mut kversion) = (None::<String>, None::<String>);
    for (c, v) in &parsed.opts {
        let text = || {
            v.as_ref()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        match c {
            'a' => {
                log_priority = WARNING;
                use_all = true;
            }
            'r' => remove = true,
            '5' => remove_holders = true,
            'f' => force = true,
            '2' | '1' | 's' => {}
            'w' => {
                let t = text();
                if t.is_empty() || t.parse::<u64>().is_err() {
                    bail!("ERROR: unexpected wait value '{t}'.");
                }
                wait_given = t.parse::<u64>().is_ok_and(|v| v > 0);
            }
            '3' => flags.first_time = true,
            'i' => flags.ignore_commands = true,
            'b' => flags.use_blacklist = true,
            'D' => {
                flags.ignore_loaded = true;
                dry_run = true;
                do_show = true;
            }
            'R' => lookup_only = true,
            'c' => show_config = true,
            '4' | '6' => {
                bail!("ERROR: --show-modversions/--show-exports: use `kmodkit modinfo`")
            }
            'n' => dry_run = true,
            'C' => config.push(PathBuf::from(text())),
            'd' => root = Some(text()),
            'S' => kversion = Some(text()),
            'q' => verbose = 0,
            'v' => verbose += 1,
            'V' => {
                print_kmod_version(kmod);
                return Ok(ExitCode::SUCCESS);
            }
            'h' => {
                modprobe_help(prog, kmod);
                return Ok(ExitCode::SUCCESS);
            }
            'X' => {
                explain = true;
                dry_run = true;
                flags.ignore_loaded = true;
            }
            'J' => json = true,
            'L' => modules_load = true,
            _ => unreachable!("getopt returns only declared options"),
        }
    }
    let args: Vec<String> = parsed
        .operands
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let err = |prio: i32, msg: &str| log_line(prog, verbose, prio, msg);
    // kmodkit only: what systemd-modules-load does at boot, the modules listed in
    // modules-load.d (under the -d root) and on the kernel command line, as with -a.
    let (args, use_all) = if modules_load {
        let cmdline = std::fs::read("/proc/cmdline").ok();
        let root = root.clone().unwrap_or_else(|| "/".into());
        let listed = moddb::modules_load::listed(std::path::Path::new(&root), cmdline.as_deref());
        if verbose > WARNING {
            for l in &listed {
                eprintln!("{prog}: {} (from {})", l.name, l.origin);
            }
        }
        if listed.is_empty() {
            return Ok(ExitCode::SUCCESS);
        }
        log_priority = WARNING;
        (listed.into_iter().map(|l| l.name).collect::<Vec<_>>(), true)
    } else {
        (args, use_all)
    };
    if !show_config && args.is_empty() {
        err(3, "missing parameters. See -h.");
        return Err(Exit::status(1));
    }
    let dirname = if root.is_some() || kversion.is_some() {
        let k = match kversion.or_else(|| kernels::running_release().ok()) {
            Some(k) => k,
            None => {
                err(3, "uname() failed");
                return Err(Exit::status(1));
            }
        };
        format!("{}/lib/modules/{k}", root.unwrap_or_default())
    } else {
        format!(
            "/lib/modules/{}",
            kernels::running_release().ok().unwrap_or_default()
        )
    };
    let paths: Vec<PathBuf> = if config.is_empty() {
        moddb::config::default_paths(kmod)
            .iter()
            .map(PathBuf::from)
            .collect()
    } else {
        config
    };
    let cmdline = std::fs::read("/proc/cmdline").ok();
    let mut msgs = Vec::new();
    let cfg = moddb::Config::load(
        kmod,
        std::path::Path::new(&dirname),
        &paths,
        cmdline.as_deref(),
        &mut msgs,
    );
    for m in msgs {
        eprint!("{m}");
    }
    let mut ctx = moddb::Context::new(std::path::Path::new(&dirname), cfg)
        .with_reader(Box::new(modsys::file::read_boxed));
    ctx.load_resources();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());

    if show_config {
        let c = ctx.config();
        let mut s = String::new();
        for (b, _) in &c.blacklist {
            s.push_str(&format!("blacklist {b}\n"));
        }
        for (m, cmd, _) in &c.install {
            s.push_str(&format!("install {m} {cmd}\n"));
        }
        for (m, cmd, _) in &c.remove {
            s.push_str(&format!("remove {m} {cmd}\n"));
        }
        for (a, m, _) in &c.aliases {
            s.push_str(&format!("alias {a} {m}\n"));
        }
        for (m, o, _) in &c.options {
            s.push_str(&format!("options {m} {o}\n"));
        }
        for (sd, _) in &c.softdeps {
            s.push_str(&format!("softdep {} {}\n", sd.name, sd.plain()));
        }
        for (wd, _) in &c.weakdeps {
            s.push_str(&format!("weakdep {} {}\n", wd.name, wd.plain()));
        }
        s.push_str("\n# End of configuration files. Dumping indexes now:\n\n");
        let _ = out.write_all(s.as_bytes());
        let mut failed = false;
        for symbols in [false, true] {
            match ctx.dump_index(symbols) {
                Ok(d) => {
                    let _ = out.write_all(&d);
                }
                Err(e) => {
                    // A damaged index, named (kmod prints nothing for it).
                    let _ = out.flush();
                    err(3, &e.to_string());
                    failed = true;
                }
            }
        }
        if out.flush().is_err() {
            return Err(Exit::status(1));
        }
        return status(failed);
    }
    // The running kernel (moddb's LiveKernel): plans ask it what is loaded, and run on it.
    let mut kernel = modsys::live::Kernel::default();
    let queries: Vec<(String, Option<String>)> = if use_all {
        args.iter().map(|a| (a.clone(), None)).collect()
    } else {
        vec![(args[0].clone(), options_from_array(&args))]
    };
    let req = moddb::probe::Request {
        queries,
        remove,
        lookup_only,
        explain,
        dry_run,
        show: do_show || verbose > WARNING,
        force,
        flags,
        remove_flags: moddb::modprobe::RemoveFlags {
            ignore_commands: flags.ignore_commands,
            first_time: flags.first_time,
            remove_holders,
            wait: wait_given,
        },
        log_priority,
        verbose,
        dirname: dirname.clone(),
        cwd: std::env::current_dir().unwrap_or_default(),
    };
    let mut report = Printer {
        prog,
        verbose,
        out: &mut out,
    };
    let done = moddb::probe::run(&ctx, &req, &mut kernel, &mut report);
    if done.fatal {
        return Err(Exit::status(1));
    }
    let plans = done.plans;
    let failed = done.failed;
    if explain {
        if json {
            let _ = serde_json::to_writer_pretty(&mut out, &plans);
            let _ = writeln!(out);
        } else {
            for p in &plans {
                let _ = out.write_all(p.explain().as_bytes());
            }
        }
    }
    if out.flush().is_err() {
        return Err(Exit::status(1));
    }
    status(failed)
}

/// modprobe's `log_printf` to stderr: shown when `prio <= verbose`.
fn log_line(prog: &str, verbose: i32, prio: i32, msg: &str) {
    if prio <= verbose {
        let name = match prio {
            0..=2 => "FATAL",
            3 => "ERROR",
            _ => "WARNING",
        };
        eprintln!("{prog}: {name}: {msg}");
    }
}

/// Prints what `moddb::probe::run` reports, as modprobe does.
struct Printer<'a, W: Write> {
    prog: &'a str,
    verbose: i32,
    out: &'a mut W,
}

impl<W: Write> moddb::probe::Report for Printer<'_, W> {
    fn log(&mut self, priority: i32, message: &str) {
        log_line(self.prog, self.verbose, priority, message);
    }
    fn libkmod(&mut self, text: &str) {
        eprint!("{text}");
    }
    fn out(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes());
    }
    fn flush(&mut self) {
        let _ = self.out.flush();
    }
}

/// kmod's tools report each failing argument as they go and end with status 1.
fn status(failed: bool) -> Outcome {
    if failed {
        Err(Exit::status(1))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}
