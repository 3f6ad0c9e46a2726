//! Live kernel commands: `insmod`, `rmmod`, `lsmod`, `dmesg`.
//!
//! `insmod`, `rmmod` and `lsmod` are kmod 30's (tools/insmod.c, rmmod.c, lsmod.c): the same
//! options, output, messages (`insmod: ERROR: could not insert module X: ...`) and exit
//! statuses. `dmesg` prints util-linux's default format from `/dev/kmsg`.

use super::{usage, Exit, Outcome};
use crate::getopt::{self, HasArg, LongOpt};
use anyhow::bail;
use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use modsys::state::{InitState, Sys};

const fn opt(name: &'static str, has_arg: HasArg, val: char) -> LongOpt {
    LongOpt { name, has_arg, val }
}

fn kmod_version() {
    println!("kmod version 30");
    println!("+ZSTD +XZ +ZLIB +LIBCRYPTO -EXPERIMENTAL");
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

pub(crate) const INSMOD_SHORTOPTS: &str = "psfVh";
pub(crate) const INSMOD_LONGOPTS: &[LongOpt] = &[
    opt("version", HasArg::No, 'V'),
    opt("help", HasArg::No, 'h'),
];

pub fn insmod(prog: &str, args: Vec<OsString>) -> Outcome {
    let Ok(p) = getopt::parse(prog, &args, INSMOD_SHORTOPTS, INSMOD_LONGOPTS) else {
        return Err(Exit::status(1));
    };
    let mut force = false;
    for (c, _) in &p.opts {
        match c {
            'p' | 's' => {} // ignored, for compatibility only (as kmod)
            'f' => force = true,
            'h' => {
                println!(
                    "Usage:\n\t{prog} [options] filename [args]\nOptions:\n\t-V, --version     show version\n\t-h, --help        show this help"
                );
                return Ok(ExitCode::SUCCESS);
            }
            'V' => {
                kmod_version();
                return Ok(ExitCode::SUCCESS);
            }
            _ => return Err(Exit::status(1)),
        }
    }
    let Some(file) = p.operands.first() else {
        bail!("ERROR: missing filename.");
    };
    let filename = file.to_string_lossy();
    if filename == "-" {
        bail!("ERROR: this tool does not support loading from stdin!");
    }
    let params: Vec<String> = p.operands[1..]
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let compression = Sys::default().compression();
    match modsys::load::insert_file(
        Path::new(file),
        &params.join(" "),
        force,
        compression.as_deref(),
    ) {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(modsys::load::InsertError::Open { source, .. }) => {
            let msg = source
                .raw_os_error()
                .map(|e| modsys::Errno(e).message())
                .unwrap_or_else(|| source.to_string());
            bail!("ERROR: could not load module {filename}: {msg}")
        }
        Err(modsys::load::InsertError::Kernel(e)) => bail!(
            "ERROR: could not insert module {filename}: {}",
            insmod_strerror(e)
        ),
        Err(e) => bail!("ERROR: could not insert module {filename}: {e}"),
    }
}

/// The module name kmod derives from a path: basename up to the first '.', '-' as '_'.
fn name_from_path(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let base = base.split('.').next().unwrap_or(base);
    base.replace('-', "_")
}

pub(crate) const RMMOD_SHORTOPTS: &str = "fsvVwh";
pub(crate) const RMMOD_LONGOPTS: &[LongOpt] = &[
    opt("force", HasArg::No, 'f'),
    opt("syslog", HasArg::No, 's'),
    opt("verbose", HasArg::No, 'v'),
    opt("version", HasArg::No, 'V'),
    opt("help", HasArg::No, 'h'),
];

pub fn rmmod(prog: &str, args: Vec<OsString>) -> Outcome {
    let Ok(p) = getopt::parse(prog, &args, RMMOD_SHORTOPTS, RMMOD_LONGOPTS) else {
        return Err(Exit::status(1));
    };
    let mut force = false;
    for (c, _) in &p.opts {
        match c {
            'f' => force = true,
            's' | 'v' | 'w' => {}
            'h' => {
                println!(
                    "Usage:\n\t{prog} [options] modulename ...\nOptions:\n\t-f, --force       forces a module unload and may crash your\n\t                  machine. This requires Forced Module Removal\n\t                  option in your kernel. DANGEROUS\n\t-s, --syslog      print to syslog, not stderr\n\t-v, --verbose     enables more messages\n\t-V, --version     show version\n\t-h, --help        show this help"
                );
                return Ok(ExitCode::SUCCESS);
            }
            'V' => {
                kmod_version();
                return Ok(ExitCode::SUCCESS);
            }
            _ => return Err(Exit::status(1)),
        }
    }
    if p.operands.is_empty() {
        bail!("ERROR: missing module name.");
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
        if !force {
            if let Err(msg) = check_in_use(&sys, &name) {
                eprintln!("{prog}: ERROR: {msg}");
                failures += 1;
                continue;
            }
        }
        if let Err(e) = modsys::load::remove(&name, force) {
            // libkmod logs its own line first, then the tool's. Debian's kmod 30 is built
            // with logging that names the source position; its lines are reproduced as is.
            eprintln!(
                "{prog}: ERROR: ../libkmod/libkmod-module.c:856 kmod_module_remove_module() could not remove '{name}': {e}"
            );
            eprintln!("{prog}: ERROR: could not remove module {arg_s}: {e}");
            failures += 1;
        }
    }
    // Each failing argument was reported as it came (as kmod does).
    if failures != 0 {
        return Err(Exit::status(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// kmod's check_module_inuse: builtin, not loaded, held by others, or referenced.
fn check_in_use(sys: &Sys, name: &str) -> Result<(), String> {
    match sys.initstate(name) {
        InitState::Builtin => return Err(format!("Module {name} is builtin.")),
        InitState::NotLoaded => return Err(format!("Module {name} is not currently loaded")),
        _ => {}
    }
    let holders = sys.holders(name).unwrap_or_default();
    if !holders.is_empty() {
        return Err(format!("Module {name} is in use by: {}", holders.join(" ")));
    }
    match sys.refcnt(name) {
        Ok(n) if n > 0 => Err(format!("Module {name} is in use")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err("Module unloading is not supported".to_string())
        }
        _ => Ok(()),
    }
}

/// `lsmod`, and (kmodkit only) `lsmod --json`: one JSON array of objects `{name, size,
/// refcnt, used_by}` (`used_by`: the holders, as the text's last column lists them).
pub fn lsmod(prog: &str, args: Vec<OsString>) -> Outcome {
    let json = args.len() == 1 && args[0] == "--json";
    if !args.is_empty() && !json {
        // kmod prints argv[0] as given (a path, when called through one).
        let argv0 = std::env::args_os()
            .next()
            .map(|a| a.to_string_lossy().into_owned())
            .filter(|a| Path::new(a).file_name().is_some_and(|n| n == prog))
            .unwrap_or_else(|| prog.to_string());
        return Err(Exit::with(1, format!("Usage: {argv0}")));
    }
    let sys = Sys::default();
    let mods = match sys.proc_modules() {
        Ok(m) => m,
        Err(e) => {
            let msg = e
                .raw_os_error()
                .map(|n| modsys::Errno(n).message())
                .unwrap_or_else(|| e.to_string());
            let mut text = String::new();
            if e.kind() == std::io::ErrorKind::NotFound {
                // libkmod's own line first, as Debian's kmod 30 prints it.
                text.push_str(&format!(
                    "libkmod: ERROR ../libkmod/libkmod-module.c:1725 kmod_module_new_from_loaded: could not open /proc/modules: {msg}\n"
                ));
            }
            text.push_str(&format!("Error: could not get list of modules: {msg}"));
            return Err(Exit::with(1, text));
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
        line.extend_from_slice(&r.message);
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
