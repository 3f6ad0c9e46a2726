//! Live kernel commands: `insmod`, `rmmod`, `lsmod`, `dmesg`, `taint`, `check`.
//!
//! `insmod`, `rmmod` and `lsmod` are kmod 30's (tools/insmod.c, rmmod.c, lsmod.c): the same
//! options, output, messages (`insmod: ERROR: could not insert module X: ...`) and exit
//! statuses. `dmesg` prints util-linux's default format from `/dev/kmsg`.

use crate::getopt::{self, HasArg, LongOpt};
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

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

pub fn insmod(prog: &str, args: Vec<OsString>) -> u8 {
    const LONG: &[LongOpt] = &[
        opt("version", HasArg::No, 'V'),
        opt("help", HasArg::No, 'h'),
    ];
    let Ok(p) = getopt::parse(prog, &args, "psfVh", LONG) else {
        return 1;
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
                return 0;
            }
            'V' => {
                kmod_version();
                return 0;
            }
            _ => return 1,
        }
    }
    let Some(file) = p.operands.first() else {
        eprintln!("{prog}: ERROR: missing filename.");
        return 1;
    };
    let filename = file.to_string_lossy();
    if filename == "-" {
        eprintln!("{prog}: ERROR: this tool does not support loading from stdin!");
        return 1;
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
        Ok(_) => 0,
        Err(modsys::load::InsertError::Open { source, .. }) => {
            let msg = source
                .raw_os_error()
                .map(|e| modsys::Errno(e).message())
                .unwrap_or_else(|| source.to_string());
            eprintln!("{prog}: ERROR: could not load module {filename}: {msg}");
            1
        }
        Err(modsys::load::InsertError::Kernel(e)) => {
            eprintln!(
                "{prog}: ERROR: could not insert module {filename}: {}",
                insmod_strerror(e)
            );
            1
        }
        Err(e) => {
            eprintln!("{prog}: ERROR: could not insert module {filename}: {e}");
            1
        }
    }
}

/// The module name kmod derives from a path: basename up to the first '.', '-' as '_'.
fn name_from_path(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let base = base.split('.').next().unwrap_or(base);
    base.replace('-', "_")
}

pub fn rmmod(prog: &str, args: Vec<OsString>) -> u8 {
    const LONG: &[LongOpt] = &[
        opt("force", HasArg::No, 'f'),
        opt("syslog", HasArg::No, 's'),
        opt("verbose", HasArg::No, 'v'),
        opt("version", HasArg::No, 'V'),
        opt("help", HasArg::No, 'h'),
    ];
    let Ok(p) = getopt::parse(prog, &args, "fsvVwh", LONG) else {
        return 1;
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
                return 0;
            }
            'V' => {
                kmod_version();
                return 0;
            }
            _ => return 1,
        }
    }
    if p.operands.is_empty() {
        eprintln!("{prog}: ERROR: missing module name.");
        return 1;
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
    u8::from(failures != 0)
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

pub fn lsmod(prog: &str, args: Vec<OsString>) -> u8 {
    if !args.is_empty() {
        // kmod prints argv[0] as given (a path, when called through one).
        let argv0 = std::env::args_os()
            .next()
            .map(|a| a.to_string_lossy().into_owned())
            .filter(|a| Path::new(a).file_name().is_some_and(|n| n == prog))
            .unwrap_or_else(|| prog.to_string());
        eprintln!("Usage: {argv0}");
        return 1;
    }
    let sys = Sys::default();
    let mods = match sys.proc_modules() {
        Ok(m) => m,
        Err(e) => {
            let msg = e
                .raw_os_error()
                .map(|n| modsys::Errno(n).message())
                .unwrap_or_else(|| e.to_string());
            if e.kind() == std::io::ErrorKind::NotFound {
                // libkmod's own line first, as Debian's kmod 30 prints it.
                eprintln!(
                    "libkmod: ERROR ../libkmod/libkmod-module.c:1725 kmod_module_new_from_loaded: could not open /proc/modules: {msg}"
                );
            }
            eprintln!("Error: could not get list of modules: {msg}");
            return 1;
        }
    };
    let mut out = std::io::stdout().lock();
    let mut text = String::from("Module                  Size  Used by\n");
    for m in mods {
        let refcnt = sys.refcnt(&m.name).unwrap_or(-(libc::ENOENT as i64));
        text.push_str(&format!("{:<19} {:>8}  {}", m.name, m.size, refcnt));
        let holders = sys.holders(&m.name).unwrap_or_default();
        if !holders.is_empty() {
            text.push(' ');
            text.push_str(&holders.join(","));
        }
        text.push('\n');
    }
    let _ = out.write_all(text.as_bytes());
    0
}

pub fn dmesg(prog: &str, args: Vec<OsString>) -> u8 {
    const LONG: &[LongOpt] = &[
        opt("follow", HasArg::No, 'w'),
        opt("level", HasArg::Required, 'l'),
        opt("module", HasArg::Required, 'm'),
        opt("json", HasArg::No, 'J'),
        opt("raw", HasArg::No, 'r'),
        opt("help", HasArg::No, 'h'),
    ];
    let Ok(p) = getopt::parse(prog, &args, "wl:rJh", LONG) else {
        return 2;
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
                        None => {
                            eprintln!("{prog}: unknown level '{name}'");
                            return 2;
                        }
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
                return 0;
            }
            _ => return 2,
        }
    }
    if !p.operands.is_empty() {
        eprintln!("{prog}: bad usage (no operands expected)");
        return 2;
    }
    let mut k = match modsys::kmsg::Kmsg::open(Path::new("/dev/kmsg"), follow) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("{prog}: read kernel buffer failed: /dev/kmsg: {e}");
            return 1;
        }
    };
    let mut out = std::io::stdout().lock();
    let mut recs = Vec::new();
    loop {
        let r = match k.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                eprintln!("{prog}: read kernel buffer failed: {e}");
                return 1;
            }
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
            return 1;
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
    0
}

pub fn taint(prog: &str, args: Vec<OsString>) -> u8 {
    let mut json = false;
    let mut value: Option<String> = None;
    for a in &args {
        match a.as_bytes() {
            b"--json" => json = true,
            b"-h" | b"--help" => {
                println!(
                    "Usage: kmodkit {prog} [VALUE] [--json]\n\
                     Explain a taint mask: VALUE (decimal, 0x hex, or letters like OE), default\n\
                     /proc/sys/kernel/tainted; also lists loaded modules with their own taint."
                );
                return 0;
            }
            _ if value.is_none() && !a.as_bytes().starts_with(b"-") => {
                value = Some(a.to_string_lossy().into_owned())
            }
            _ => {
                eprintln!(
                    "kmodkit {prog}: unexpected argument '{}'",
                    a.to_string_lossy()
                );
                return 2;
            }
        }
    }
    let sys = Sys::default();
    let live = value.is_none();
    let mask = match value {
        Some(v) => match parse_taint(&v) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("kmodkit {prog}: {e}");
                return 1;
            }
        },
        None => match sys.tainted() {
            Ok(m) => m,
            Err(e) => {
                eprintln!("kmodkit {prog}: /proc/sys/kernel/tainted: {e}");
                return 1;
            }
        },
    };
    let (flags, unknown) = modsys::taint::decode(mask);
    let modules = if live {
        sys.module_taints().unwrap_or_default()
    } else {
        Vec::new()
    };
    if json {
        let v = serde_json::json!({
            "value": mask,
            "letters": flags.iter().map(|f| f.letter).collect::<String>(),
            "flags": flags.iter().map(|f| serde_json::json!({
                "bit": f.bit, "letter": f.letter.to_string(), "name": f.name, "meaning": f.meaning,
            })).collect::<Vec<_>>(),
            "unknown_bits": unknown,
            "modules": modules.iter().map(|(m, t)| serde_json::json!({"name": m, "taint": t}))
                .collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return 0;
    }
    if mask == 0 {
        println!("Kernel not tainted (0)");
    } else {
        println!(
            "Kernel tainted: {mask} ({})",
            flags.iter().map(|f| f.letter).collect::<String>()
        );
        for f in &flags {
            println!(" {:>2}  {}  {:<22} {}", f.bit, f.letter, f.name, f.meaning);
        }
        if unknown != 0 {
            println!(" bits unknown to kmodkit: {unknown:#x}");
        }
    }
    if !modules.is_empty() {
        println!("Modules with taint:");
        for (m, t) in &modules {
            println!("  {m:<24} {t}");
        }
    }
    0
}

/// A taint value: decimal, 0x-hex, or a string of letters ("OE").
fn parse_taint(v: &str) -> Result<u64, String> {
    if let Some(h) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).map_err(|_| format!("'{v}': not a hex number"));
    }
    if v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse().map_err(|_| format!("'{v}': number too large"));
    }
    modsys::taint::mask_of_letters(v).map_err(|c| format!("'{v}': unknown taint letter '{c}'"))
}

#[derive(clap::Parser)]
#[command(
    name = "kmodkit check",
    about = "Predict, without booting, whether a kernel will load a module and what it will taint",
    after_help = "Signatures are verified against the keys that kernel trusts: the certificates \
built into its image (found beside a modules directory as boot/vmlinuz-R or /boot/vmlinuz-R), \
--secure-db certificates (firmware db: Debian's kernels trust them for modules) and --keyring \
sources. --signature overrides the verdict."
)]
struct CheckArgs {
    /// The module file (.ko, .ko.xz, .ko.zst, .ko.gz).
    module: std::path::PathBuf,
    /// The kernel: its image (boot/vmlinuz-R, with boot/config-R beside it) or its
    /// modules directory (lib/modules/R, config from R/build/.config or /boot/config-R).
    #[arg(long)]
    kernel: std::path::PathBuf,
    /// The kernel's config file, when it is not where --kernel implies.
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// module.sig_enforce=1 on the kernel command line.
    #[arg(long = "sig-enforce", alias = "enforce")]
    sig_enforce: bool,
    /// Kernel lockdown in force (e.g. Secure Boot).
    #[arg(long)]
    lockdown: bool,
    /// Inserted with insmod -f (ignore vermagic and symbol versions).
    #[arg(long, short = 'f')]
    force: bool,
    /// Certificates enrolled in the firmware's db (platform keyring), repeatable.
    #[arg(long = "secure-db", value_name = "CERT")]
    secure_db: Vec<std::path::PathBuf>,
    /// More trusted keys: certificate files, directories, kernel images, varstores.
    #[arg(long, value_name = "SRC")]
    keyring: Vec<std::path::PathBuf>,
    /// Override the signature's verdict: valid, unknown-key, unsupported, invalid, bad-format.
    #[arg(long)]
    signature: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

pub fn check(_: &str, args: Vec<OsString>) -> u8 {
    use clap::Parser;
    let a = match CheckArgs::try_parse_from(std::iter::once("kmodkit check".into()).chain(args)) {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match run_check(&a) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kmodkit check: {e:#}");
            1
        }
    }
}

/// The kernel release and its config file from --kernel (and --config), and its image.
fn kernel_facts(a: &CheckArgs) -> anyhow::Result<(loadcheck::Kernel, Option<std::path::PathBuf>)> {
    use anyhow::Context;
    let k = &a.kernel;
    let image_path;
    let (release, candidates): (String, Vec<std::path::PathBuf>) = if k.is_dir() {
        let release = k
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .context("--kernel directory has no name")?;
        let mut c = vec![k.join("build/.config"), k.join("config")];
        // lib/modules/R inside an unpacked package: its boot/config-R.
        let mut images = Vec::new();
        if let Some(root) = k.parent().and_then(|p| p.parent()).and_then(|p| p.parent()) {
            c.push(root.join("boot").join(format!("config-{release}")));
            images.push(root.join("boot").join(format!("vmlinuz-{release}")));
        }
        c.push(std::path::PathBuf::from(format!("/boot/config-{release}")));
        images.push(std::path::PathBuf::from(format!("/boot/vmlinuz-{release}")));
        image_path = images.into_iter().find(|p| p.is_file());
        (release, c)
    } else {
        let image = std::fs::read(k).with_context(|| k.display().to_string())?;
        let release = vmrun::kernel::image_release(&image).with_context(|| {
            format!(
                "{}: not a bzImage (no kernel version in its setup header)",
                k.display()
            )
        })?;
        image_path = Some(k.clone());
        let dir = k.parent().unwrap_or(Path::new("."));
        let c = vec![
            dir.join(format!("config-{release}")),
            std::path::PathBuf::from(format!("/boot/config-{release}")),
            std::path::PathBuf::from(format!("/lib/modules/{release}/build/.config")),
        ];
        (release, c)
    };
    let config = match &a.config {
        Some(c) => c.clone(),
        None => candidates
            .iter()
            .find(|p| p.is_file())
            .cloned()
            .with_context(|| {
                format!(
                    "no config for kernel {release} (looked at {}); pass --config",
                    candidates
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?,
    };
    let text = std::fs::read_to_string(&config).with_context(|| config.display().to_string())?;
    Ok((
        loadcheck::Kernel {
            release,
            config: loadcheck::parse_config(&text),
            sig_enforce: a.sig_enforce,
            lockdown: a.lockdown,
        },
        image_path,
    ))
}

/// The keys the kernel trusts for modules: its built-in certificates, the firmware db
/// certificates given, and any --keyring source.
fn trusted_keys(
    a: &CheckArgs,
    image: Option<&Path>,
) -> anyhow::Result<(modsign::keyring::Keyring, Vec<String>)> {
    use anyhow::Context;
    let mut ring = modsign::keyring::Keyring::new();
    let mut notes = Vec::new();
    match image {
        Some(img) => {
            let bytes = std::fs::read(img).with_context(|| img.display().to_string())?;
            let name = img.display().to_string();
            let certs = modsign::image::kernel_certs(&bytes, &name)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            for c in certs {
                ring.add(c, name.clone());
            }
        }
        None => notes.push(
            "no kernel image found: its built-in keys are unknown, only --secure-db/--keyring count"
                .to_string(),
        ),
    }
    for p in a.secure_db.iter().chain(&a.keyring) {
        ring.add_path(p).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok((ring, notes))
}

fn run_check(a: &CheckArgs) -> anyhow::Result<u8> {
    use anyhow::Context;
    use loadcheck::SigVerdict;
    let (kernel, image) = kernel_facts(a)?;
    let raw = modsys::file::read(&a.module).with_context(|| a.module.display().to_string())?;
    let module =
        modfile::Module::parse(&raw).map_err(|e| anyhow::anyhow!("{}: {e}", a.module.display()))?;
    let mut notes = Vec::new();
    let verdict = match a.signature.as_deref() {
        None => {
            let (ring, n) = trusted_keys(a, image.as_deref())?;
            notes = n;
            SigVerdict::decide(module.bytes(), &ring)
        }
        Some("unsigned") => SigVerdict::Unsigned,
        Some("unknown-key") => SigVerdict::UnknownKey,
        Some("valid") => SigVerdict::Valid,
        Some("unsupported") => SigVerdict::Unsupported,
        Some("invalid") => SigVerdict::Invalid(libc::EKEYREJECTED),
        Some("bad-format") => SigVerdict::Invalid(libc::EBADMSG),
        Some(v) => anyhow::bail!(
            "--signature {v}: expected valid, unknown-key, unsupported, invalid, bad-format or unsigned"
        ),
    };
    let mut p = loadcheck::predict(&kernel, &module, verdict, a.force);
    p.reasons.extend(notes);
    let errno = p.errno.map(modsys::Errno);
    if a.json {
        let v = serde_json::json!({
            "module": a.module.display().to_string(),
            "name": p.name,
            "kernel": kernel.release,
            "loads": p.loads,
            "errno": errno.map(|e| e.name()),
            "errno_value": p.errno,
            "error": errno.map(|e| e.message()),
            "taint": p.letters(),
            "taint_mask": p.taint_mask,
            "signature": verdict.name(),
            "dmesg": p.dmesg,
            "reasons": p.reasons,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    match errno {
        None => println!(
            "{}: loads into {}, taint {} ({})",
            p.name,
            kernel.release,
            if p.taint_mask == 0 {
                "none".to_string()
            } else {
                p.letters()
            },
            p.taint_mask
        ),
        Some(e) => println!(
            "{}: rejected by {}: {} ({})",
            p.name,
            kernel.release,
            e.name(),
            e.message()
        ),
    }
    for r in &p.reasons {
        println!("  - {r}");
    }
    for l in &p.dmesg {
        println!("  dmesg: {l}");
    }
    Ok(0)
}
