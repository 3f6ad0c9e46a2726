//! Live kernel commands: `insmod`, `rmmod`, `lsmod`, `dmesg`.
//!
//! `insmod`, `rmmod` and `lsmod` are kmod 34.2's (tools/insmod.c, rmmod.c, lsmod.c), or kmod
//! 30's with `KMODKIT_KMOD_COMPAT=30`: the same options, help, output, messages
//! (`insmod: ERROR: could not insert module X: ...`) and exit statuses. `dmesg` prints
//! util-linux's default format from `/dev/kmsg`.

use super::moddb::{kmod_compat, print_kmod_version};
use super::{usage, Exit, Outcome};
use crate::getopt::{self, opt, HasArg, LongOpt};
use anyhow::bail;
use moddb::Kmod;
use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use modsys::state::{InitState, Sys};

/// kmod's tools' log (tools/log.c): `PROG: ERROR: message` on stderr, or to syslog
/// (facility daemon) with `-s`.
struct Log<'a> {
    prog: &'a str,
    syslog: bool,
}

impl Log<'_> {
    /// One `ERR(...)` of the tool (or of libkmod through the tool's log function); `msg`
    /// carries its own newline, or not, as kmod's format does.
    fn err(&self, msg: &str) {
        if self.syslog {
            syslog_send(self.prog, 3, &format!("ERROR: {msg}"));
        } else {
            eprint!("{}: ERROR: {msg}", self.prog);
        }
    }

    /// An `ERR` line, newline added.
    fn errln(&self, msg: &str) {
        self.err(&format!("{msg}\n"));
    }
}

/// What glibc's `syslog(3)` sends after `openlog(prog, LOG_CONS, LOG_DAEMON)`, without the
/// timestamp (syslog daemons add their own): nothing is printed when there is no syslog
/// daemon listening on /dev/log (kmod falls back to /dev/console then; kmodkit does not).
fn syslog_send(prog: &str, prio: u8, text: &str) {
    const LOG_DAEMON: u8 = 3 << 3;
    if let Ok(s) = std::os::unix::net::UnixDatagram::unbound() {
        let msg = format!("<{}>{prog}: {text}", LOG_DAEMON | prio);
        let _ = s.send_to(msg.as_bytes(), "/dev/log");
    }
}

/// A failure whose reasons were printed (kmod's tools end with EXIT_FAILURE).
fn failed() -> Outcome {
    Err(Exit::status(1))
}

/// getopt_long as kmod's tools loop over it: options are acted on as they come, so `-h` or
/// `-V` before a bad option wins (`insmod -V -x` prints the version). None of these tools'
/// options takes an argument, so each prefix of the arguments parses on its own.
fn parse_in_order(
    prog: &str,
    args: &[OsString],
    shortopts: &str,
    longopts: &[LongOpt],
) -> Result<getopt::Parsed, ()> {
    for k in 1..args.len() {
        let p = getopt::parse(prog, &args[..k], shortopts, longopts)?;
        if p.opts.iter().any(|(c, _)| matches!(c, 'h' | 'V')) {
            return Ok(p);
        }
    }
    getopt::parse(prog, args, shortopts, longopts)
}

/// kmod's insmod names some errnos its own way (tools/insmod.c, mod_strerror).
fn insmod_strerror(e: modsys::Errno) -> String {
    match e.0 {
        libc::ENOEXEC => "Invalid module format".into(),
        libc::ENOENT => "Unknown symbol in module".into(),
        libc::ESRCH => "Module has wrong symbol version".into(),
        libc::EINVAL => "Invalid parameters".into(),
        _ => e.message(),
    }
}

/// kmod 34's insmod options (the default; what the man page describes).
pub(crate) const INSMOD_SHORTOPTS: &str = "fsvVh";
pub(crate) const INSMOD_LONGOPTS: &[LongOpt] = &[
    opt("force", HasArg::No, 'f'),
    opt("syslog", HasArg::No, 's'),
    opt("verbose", HasArg::No, 'v'),
    opt("version", HasArg::No, 'V'),
    opt("help", HasArg::No, 'h'),
];

/// kmod 30's insmod options: `-p` and `-s` accepted and ignored, no long `--force`.
const INSMOD30_SHORTOPTS: &str = "psfVh";
const INSMOD30_LONGOPTS: &[LongOpt] = &[
    opt("version", HasArg::No, 'V'),
    opt("help", HasArg::No, 'h'),
];

fn insmod_help(prog: &str, kmod: Kmod) {
    match kmod {
        Kmod::V30 => println!(
            "Usage:\n\t{prog} [options] filename [args]\nOptions:\n\
             \t-V, --version     show version\n\
             \t-h, --help        show this help"
        ),
        Kmod::V34 => println!(
            "Usage:\n\t{prog} [options] filename [module options]\nOptions:\n\
             \t-f, --force       DANGEROUS: forces a module load, may cause\n\
             \t                  data corruption and crash your machine\n\
             \t-s, --syslog      print to syslog, not stderr\n\
             \t-v, --verbose     enables more messages\n\
             \t-V, --version     show version\n\
             \t-h, --help        show this help"
        ),
    }
}

pub fn insmod(prog: &str, args: Vec<OsString>) -> Outcome {
    let kmod = kmod_compat()?;
    let (shortopts, longopts) = match kmod {
        Kmod::V30 => (INSMOD30_SHORTOPTS, INSMOD30_LONGOPTS),
        Kmod::V34 => (INSMOD_SHORTOPTS, INSMOD_LONGOPTS),
    };
    let Ok(p) = parse_in_order(prog, &args, shortopts, longopts) else {
        return failed();
    };
    let mut force = false;
    let mut log = Log {
        prog,
        syslog: false,
    };
    for (c, _) in &p.opts {
        match c {
            'p' => {} // kmod 30: ignored, for compatibility only
            's' if kmod == Kmod::V30 => {}
            's' => log.syslog = true,
            // More of libkmod's messages (none on the paths kmodkit reproduces).
            'v' => {}
            'f' => force = true,
            'h' => {
                insmod_help(prog, kmod);
                return Ok(ExitCode::SUCCESS);
            }
            'V' => {
                print_kmod_version(kmod);
                return Ok(ExitCode::SUCCESS);
            }
            _ => return failed(),
        }
    }
    let Some(file) = p.operands.first() else {
        log.errln("missing filename.");
        return failed();
    };
    let filename = file.to_string_lossy();
    if filename == "-" {
        log.errln("this tool does not support loading from stdin!");
        return failed();
    }
    let params: Vec<String> = p.operands[1..]
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let errno_of = |e: &std::io::Error| modsys::Errno(e.raw_os_error().unwrap_or(libc::EIO));
    // libkmod: kmod_module_new_from_path only stats the file ("could not load module");
    // opening it and reading its 6 magic bytes come with the insertion ("could not insert
    // module": a directory is EISDIR, a shorter file EINVAL).
    if let Err(e) = std::fs::metadata(file) {
        let msg = errno_of(&e).message();
        log.errln(&format!("could not load module {filename}: {msg}"));
        return failed();
    }
    if let Err(e) = read_magic(Path::new(file)) {
        log.errln(&format!(
            "could not insert module {filename}: {}",
            insmod_strerror(errno_of(&e))
        ));
        return failed();
    }
    let compression = Sys::default().compression();
    let msg = match modsys::load::insert_file(
        Path::new(file),
        &params.join(" "),
        force,
        compression.as_deref(),
    ) {
        Ok(_) => return Ok(ExitCode::SUCCESS),
        Err(modsys::load::InsertError::Open { source, .. }) => format!(
            "could not insert module {filename}: {}",
            insmod_strerror(errno_of(&source))
        ),
        Err(modsys::load::InsertError::Kernel(e)) => {
            format!("could not insert module {filename}: {}", insmod_strerror(e))
        }
        // libkmod fails a compressed file it cannot decompress with EINVAL.
        Err(modsys::load::InsertError::Decompress { .. }) => format!(
            "could not insert module {filename}: {}",
            insmod_strerror(modsys::Errno(libc::EINVAL))
        ),
        Err(e) => format!("could not insert module {filename}: {e}"),
    };
    log.errln(&msg);
    failed()
}

/// libkmod's kmod_file_open: open the file and read the 6 bytes its compression magics
/// need (fewer: EINVAL).
fn read_magic(path: &Path) -> std::io::Result<()> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut head = [0u8; 6];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if n < head.len() {
        return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
    }
    Ok(())
}

/// The module name kmod derives from a path: basename up to the first '.', '-' as '_'.
fn name_from_path(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let base = base.split('.').next().unwrap_or(base);
    base.replace('-', "_")
}

/// kmod 34's rmmod options (the default).
pub(crate) const RMMOD_SHORTOPTS: &str = "fsvVh";
pub(crate) const RMMOD_LONGOPTS: &[LongOpt] = &[
    opt("force", HasArg::No, 'f'),
    opt("syslog", HasArg::No, 's'),
    opt("verbose", HasArg::No, 'v'),
    opt("version", HasArg::No, 'V'),
    opt("help", HasArg::No, 'h'),
];

/// kmod 30's: `-w` is in its option string but not handled (an "unexpected" error).
const RMMOD30_SHORTOPTS: &str = "fsvVwh";

fn rmmod_help(prog: &str, kmod: Kmod) {
    let force = match kmod {
        Kmod::V30 => {
            "\t-f, --force       forces a module unload and may crash your\n\
             \t                  machine. This requires Forced Module Removal\n\
             \t                  option in your kernel. DANGEROUS\n"
        }
        Kmod::V34 => {
            "\t-f, --force       DANGEROUS: forces a module unload and may\n\
             \t                  crash your machine\n"
        }
    };
    let operands = match kmod {
        Kmod::V30 => "modulename ...",
        Kmod::V34 => "[list of modulenames]",
    };
    print!(
        "Usage:\n\t{prog} [options] {operands}\nOptions:\n{force}\
         \t-s, --syslog      print to syslog, not stderr\n\
         \t-v, --verbose     enables more messages\n\
         \t-V, --version     show version\n\
         \t-h, --help        show this help\n"
    );
}

/// libkmod's own ERR line (through the tool's log): kmod 30, as Debian builds it, names the
/// source position and function; kmod 34 does not.
fn libkmod_err(log: &Log, kmod: Kmod, position: &str, msg: &str) {
    match kmod {
        Kmod::V30 => log.errln(&format!("{position} {msg}")),
        Kmod::V34 => log.errln(msg),
    }
}

pub fn rmmod(prog: &str, args: Vec<OsString>) -> Outcome {
    let kmod = kmod_compat()?;
    let shortopts = match kmod {
        Kmod::V30 => RMMOD30_SHORTOPTS,
        Kmod::V34 => RMMOD_SHORTOPTS,
    };
    let Ok(p) = parse_in_order(prog, &args, shortopts, RMMOD_LONGOPTS) else {
        return failed();
    };
    let mut force = false;
    let mut log = Log {
        prog,
        syslog: false,
    };
    for (c, _) in &p.opts {
        match c {
            'f' => force = true,
            's' => log.syslog = true,
            'v' => {}
            'h' => {
                rmmod_help(prog, kmod);
                return Ok(ExitCode::SUCCESS);
            }
            'V' => {
                print_kmod_version(kmod);
                return Ok(ExitCode::SUCCESS);
            }
            c => {
                log.errln(&format!("unexpected getopt_long() value '{c}'."));
                return failed();
            }
        }
    }
    if p.operands.is_empty() {
        log.errln("missing module name.");
        return failed();
    }
    let sys = Sys::default();
    let mut failures = 0;
    for arg in &p.operands {
        let arg_s = arg.to_string_lossy();
        let name = if Path::new(arg).exists() {
            name_from_path(&arg_s)
        } else {
            arg_s.replace('-', "_")
        };
        if !force && !check_in_use(&sys, &log, kmod, &name) {
            failures += 1;
            continue;
        }
        if let Err(e) = modsys::load::remove(&name, force) {
            // libkmod logs its own line first, then the tool's.
            libkmod_err(
                &log,
                kmod,
                "../libkmod/libkmod-module.c:856 kmod_module_remove_module()",
                &format!("could not remove '{name}': {e}"),
            );
            log.errln(&format!("could not remove module {arg_s}: {e}"));
            failures += 1;
        }
    }
    // Each failing argument was reported as it came (as kmod does).
    if failures != 0 {
        return failed();
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether the running kernel's modules.builtin lists `name` (libkmod's
/// kmod_module_is_builtin, which reads the index of `/lib/modules/$(uname -r)`).
fn listed_builtin(name: &str) -> bool {
    let Ok(release) = std::fs::read_to_string("/proc/sys/kernel/osrelease") else {
        return false;
    };
    let path = format!("/lib/modules/{}/modules.builtin", release.trim());
    std::fs::read_to_string(path).is_ok_and(|t| t.lines().any(|l| name_from_path(l) == name))
}

/// kmod's check_module_inuse: builtin, not loaded, held by others, or referenced. Reports
/// why (as kmod does) and says whether the module may be removed.
fn check_in_use(sys: &Sys, log: &Log, kmod: Kmod, name: &str) -> bool {
    match sys.initstate(name) {
        // A /sys/module directory without initstate is "coming" to libkmod unless the
        // kernel's modules.builtin names it.
        InitState::Builtin if listed_builtin(name) => {
            log.errln(&format!("Module {name} is builtin."));
            return false;
        }
        InitState::NotLoaded => {
            log.errln(&format!("Module {name} is not currently loaded"));
            return false;
        }
        _ => {}
    }
    let holders = match sys.holders(name) {
        Ok(h) => h,
        Err(e) => {
            let msg = e
                .raw_os_error()
                .map(|n| modsys::Errno(n).message())
                .unwrap_or_else(|| e.to_string());
            libkmod_err(
                log,
                kmod,
                "../libkmod/libkmod-module.c:1998 kmod_module_get_holders()",
                &format!("could not open '/sys/module/{name}/holders': {msg}"),
            );
            Vec::new()
        }
    };
    if !holders.is_empty() {
        match kmod {
            // kmod 30 prints the holders to stderr itself, after its ERR.
            Kmod::V30 => {
                log.err(&format!("Module {name} is in use by:"));
                eprintln!(" {}", holders.join(" "));
            }
            // kmod 34 logs each piece with ERR, each with its prefix.
            Kmod::V34 => {
                log.err(&format!("Module {name} is in use by:"));
                for h in &holders {
                    log.err(&format!(" {h}"));
                }
                log.err("\n");
            }
        }
        return false;
    }
    match sys.refcnt(name) {
        Ok(n) if n > 0 => {
            log.errln(&format!("Module {name} is in use"));
            false
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            log.errln("Module unloading is not supported");
            false
        }
        _ => true,
    }
}

/// kmod 34's lsmod options; `--json` is kmodkit's.
pub(crate) const LSMOD_SHORTOPTS: &str = "svVh";
pub(crate) const LSMOD_LONGOPTS: &[LongOpt] = &[
    opt("syslog", HasArg::No, 's'),
    opt("verbose", HasArg::No, 'v'),
    opt("version", HasArg::No, 'V'),
    opt("help", HasArg::No, 'h'),
    opt("json", HasArg::No, 'J'),
];

/// `lsmod`, and (kmodkit only) `lsmod --json`: one JSON array of objects `{name, size,
/// refcnt, used_by}` (`used_by`: the holders, as the text's last column lists them).
pub fn lsmod(prog: &str, args: Vec<OsString>) -> Outcome {
    let kmod = kmod_compat()?;
    let mut log = Log {
        prog,
        syslog: false,
    };
    let json;
    match kmod {
        Kmod::V30 => {
            // kmod 30's lsmod takes no options; `--json` alone is kmodkit's.
            json = args.len() == 1 && args[0] == "--json";
            if !args.is_empty() && !json {
                // kmod prints argv[0] as given (a path, when called through one).
                let argv0 = std::env::args_os()
                    .next()
                    .map(|a| a.to_string_lossy().into_owned())
                    .filter(|a| Path::new(a).file_name().is_some_and(|n| n == prog))
                    .unwrap_or_else(|| prog.to_string());
                return Err(Exit::with(1, format!("Usage: {argv0}")));
            }
        }
        Kmod::V34 => {
            let Ok(p) = parse_in_order(prog, &args, LSMOD_SHORTOPTS, LSMOD_LONGOPTS) else {
                return failed();
            };
            let mut j = false;
            for (c, _) in &p.opts {
                match c {
                    's' => log.syslog = true,
                    'v' => {}
                    'J' => j = true,
                    'h' => {
                        println!(
                            "Usage:\n\t{prog} [options]\nOptions:\n\
                             \t-s, --syslog      print to syslog, not stderr\n\
                             \t-v, --verbose     enables more messages\n\
                             \t-V, --version     show version\n\
                             \t-h, --help        show this help"
                        );
                        return Ok(ExitCode::SUCCESS);
                    }
                    'V' => {
                        print_kmod_version(kmod);
                        return Ok(ExitCode::SUCCESS);
                    }
                    _ => return failed(),
                }
            }
            if !p.operands.is_empty() {
                log.errln("too many arguments provided.");
                return failed();
            }
            json = j;
        }
    }
    let sys = Sys::default();
    let mods = match sys.proc_modules() {
        Ok(m) => m,
        Err(e) => {
            let msg = e
                .raw_os_error()
                .map(|n| modsys::Errno(n).message())
                .unwrap_or_else(|| e.to_string());
            let open_failed = e.kind() == std::io::ErrorKind::NotFound;
            match kmod {
                Kmod::V30 => {
                    let mut text = String::new();
                    if open_failed {
                        // libkmod's own line first, as Debian's kmod 30 prints it.
                        text.push_str(&format!(
                            "libkmod: ERROR ../libkmod/libkmod-module.c:1725 kmod_module_new_from_loaded: could not open /proc/modules: {msg}\n"
                        ));
                    }
                    text.push_str(&format!("Error: could not get list of modules: {msg}"));
                    return Err(Exit::with(1, text));
                }
                Kmod::V34 => {
                    if open_failed {
                        log.errln(&format!("could not open /proc/modules: {msg}"));
                    }
                    log.errln(&format!("could not get list of modules: {msg}"));
                    return failed();
                }
            }
        }
    };
    let text = lsmod_output(&sys, mods, json)?;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(ExitCode::SUCCESS)
}

/// lsmod's table (kmod's columns) or its `--json` array, for the modules of `/proc/modules`
/// (`mods`), with use counts and holders from `/sys/module` (`sys`).
fn lsmod_output(
    sys: &Sys,
    mods: Vec<modsys::state::ProcModule>,
    json: bool,
) -> anyhow::Result<String> {
    let rows: Vec<(String, u64, i64, Vec<String>)> = mods
        .into_iter()
        .map(|m| {
            let refcnt = sys.refcnt(&m.name).unwrap_or(-(libc::ENOENT as i64));
            let holders = sys.holders(&m.name).unwrap_or_default();
            (m.name, m.size, refcnt, holders)
        })
        .collect();
    if json {
        let doc: Vec<serde_json::Value> = rows
            .iter()
            .map(|(name, size, refcnt, holders)| {
                serde_json::json!({
                    "name": name,
                    "size": size,
                    "refcnt": refcnt,
                    "used_by": holders,
                })
            })
            .collect();
        let mut text = serde_json::to_string_pretty(&doc)?;
        text.push('\n');
        return Ok(text);
    }
    let mut text = String::from("Module                  Size  Used by\n");
    for (name, size, refcnt, holders) in rows {
        text.push_str(&format!("{name:<19} {size:>8}  {refcnt}"));
        if !holders.is_empty() {
            text.push(' ');
            text.push_str(&holders.join(","));
        }
        text.push('\n');
    }
    Ok(text)
}

pub(crate) const DMESG_SHORTOPTS: &str = "wl:rJh";
pub(crate) const DMESG_LONGOPTS: &[LongOpt] = &[
    opt("follow", HasArg::No, 'w'),
    opt("level", HasArg::Required, 'l'),
    opt("module", HasArg::Required, 'm'),
    opt("json", HasArg::No, 'J'),
    opt("raw", HasArg::No, 'r'),
    opt("help", HasArg::No, 'h'),
];

pub fn dmesg(prog: &str, args: Vec<OsString>) -> Outcome {
    let Ok(p) = getopt::parse(prog, &args, DMESG_SHORTOPTS, DMESG_LONGOPTS) else {
        return Err(Exit::status(2));
    };
    let (mut follow, mut json, mut raw) = (false, false, false);
    let mut levels: Option<Vec<u8>> = None;
    let mut module: Option<String> = None;
    for (c, v) in p.opts {
        let v = v.map(|v| v.to_string_lossy().into_owned());
        match c {
            'w' => follow = true,
            'J' => json = true,
            'r' => raw = true,
            'm' => module = v.map(|m| m.replace('-', "_")),
            'l' => {
                let mut set = Vec::new();
                for name in v.unwrap_or_default().split(',') {
                    match modsys::kmsg::LEVELS.iter().position(|l| *l == name) {
                        Some(i) => set.push(i as u8),
                        None => return Err(usage(format!("{prog}: unknown level '{name}'"))),
                    }
                }
                levels = Some(set);
            }
            'h' => {
                println!(
                    "Usage: {prog} [-w] [-r] [--json] [--level LIST] [--module NAME]\n\
                     Print the kernel ring buffer from /dev/kmsg (util-linux's default format).\n\
                     \x20 -w, --follow       wait for new messages\n\
                     \x20 -l, --level LIST   only these levels (emerg,alert,crit,err,warn,notice,info,debug)\n\
                     \x20     --module NAME  only lines the module NAME printed (\"NAME: ...\")\n\
                     \x20 -r, --raw          print <level> prefixes, as util-linux's -r\n\
                     \x20 -J, --json         one JSON array of records"
                );
                return Ok(ExitCode::SUCCESS);
            }
            _ => return Err(Exit::status(2)),
        }
    }
    if !p.operands.is_empty() {
        return Err(usage(format!("{prog}: bad usage (no operands expected)")));
    }
    let mut k = match modsys::kmsg::Kmsg::open(Path::new("/dev/kmsg"), follow) {
        Ok(k) => k,
        Err(e) => bail!("read kernel buffer failed: /dev/kmsg: {e}"),
    };
    let mut out = std::io::stdout().lock();
    let mut recs = Vec::new();
    loop {
        let r = match k.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => bail!("read kernel buffer failed: {e}"),
        };
        if levels.as_ref().is_some_and(|l| !l.contains(&r.level)) {
            continue;
        }
        if let Some(m) = &module {
            let prefix = format!("{m}: ");
            if !r.message.starts_with(prefix.as_bytes()) {
                continue;
            }
        }
        if json {
            recs.push(serde_json::json!({
                "level": modsys::kmsg::LEVELS[r.level as usize],
                "facility": r.facility,
                "seq": r.seq,
                "ts_usec": r.ts_usec,
                "continuation": r.flag == 'c',
                "message": String::from_utf8_lossy(&r.message),
                "dict": r.dict.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
            }));
            continue;
        }
        let mut line = Vec::new();
        if raw {
            // util-linux prints the level alone (not the facility) for /dev/kmsg records.
            line.extend_from_slice(format!("<{}>", r.level).as_bytes());
        }
        line.extend_from_slice(
            format!(
                "[{:>5}.{:06}] ",
                r.ts_usec / 1_000_000,
                r.ts_usec % 1_000_000
            )
            .as_bytes(),
        );
        // A record of several lines (the kernel escapes their newlines, modsys unescapes them):
        // util-linux indents each further line by the width of the header printed before it.
        let indent = line.len();
        for (i, part) in r.message.split(|&b| b == b'\n').enumerate() {
            if i > 0 {
                line.push(b'\n');
                line.resize(line.len() + indent, b' ');
            }
            line.extend_from_slice(part);
        }
        line.push(b'\n');
        if out.write_all(&line).is_err() {
            return Err(Exit::status(1));
        }
        if follow {
            let _ = out.flush();
        }
    }
    if json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&recs).unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `lsmod --json` holds what the table shows, over a recorded /proc and /sys.
    #[test]
    fn lsmod_json_matches_the_table() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        std::fs::create_dir_all(root.join("proc")).unwrap();
        std::fs::write(
            root.join("proc/modules"),
            "ext4 1064960 1 - Live 0xffffffffc0800000\n\
             jbd2 196608 1 ext4, Live 0xffffffffc0700000\n",
        )
        .unwrap();
        for (m, refcnt, holders) in [("ext4", 1, &[][..]), ("jbd2", 1, &["ext4"][..])] {
            let d = root.join("sys/module").join(m);
            std::fs::create_dir_all(d.join("holders")).unwrap();
            std::fs::write(d.join("refcnt"), format!("{refcnt}\n")).unwrap();
            for h in holders {
                std::fs::create_dir_all(d.join("holders").join(h)).unwrap();
            }
        }
        let sys = Sys::new(root);
        let mods = sys.proc_modules().unwrap();
        let table = lsmod_output(&sys, mods.clone(), false).unwrap();
        assert_eq!(
            table,
            "Module                  Size  Used by\n\
             ext4                 1064960  1\n\
             jbd2                  196608  1 ext4\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(&lsmod_output(&sys, mods, true).unwrap()).unwrap();
        let rows: Vec<String> = json
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let used: Vec<&str> = m["used_by"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| h.as_str().unwrap())
                    .collect();
                format!(
                    "{:<19} {:>8}  {}{}",
                    m["name"].as_str().unwrap(),
                    m["size"].as_u64().unwrap(),
                    m["refcnt"].as_i64().unwrap(),
                    if used.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", used.join(","))
                    }
                )
            })
            .collect();
        let lines: Vec<&str> = table.lines().skip(1).collect();
        assert_eq!(rows, lines);
    }
}
