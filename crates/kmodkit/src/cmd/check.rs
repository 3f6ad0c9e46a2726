//! `taint` (why the running kernel, or a given value, is tainted) and `check` (whether a
//! kernel will load a module and what it will taint, predicted offline by `loadcheck`).

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use modsys::state::Sys;

use super::{clap_exit, usage, Exit, Outcome};

pub fn taint(prog: &str, args: Vec<OsString>) -> Outcome {
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
                return Ok(ExitCode::SUCCESS);
            }
            _ if value.is_none() && !a.as_bytes().starts_with(b"-") => {
                value = Some(a.to_string_lossy().into_owned())
            }
            _ => {
                return Err(usage(format!(
                    "kmodkit {prog}: unexpected argument '{}'",
                    a.to_string_lossy()
                )));
            }
        }
    }
    let sys = Sys::default();
    let live = value.is_none();
    let mask = match value {
        Some(v) => parse_taint(&v)?,
        None => sys.tainted().context("/proc/sys/kernel/tainted")?,
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
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
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
    Ok(ExitCode::SUCCESS)
}

/// A taint value: decimal, 0x-hex, or a string of letters ("OE").
fn parse_taint(v: &str) -> anyhow::Result<u64> {
    if let Some(h) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).map_err(|_| anyhow!("'{v}': not a hex number"));
    }
    if v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse().map_err(|_| anyhow!("'{v}': number too large"));
    }
    modsys::taint::mask_of_letters(v).map_err(|c| anyhow!("'{v}': unknown taint letter '{c}'"))
}

#[derive(clap::Parser)]
#[command(
    name = "kmodkit check",
    about = "Predict, without booting, whether kernels will load a module and what they will taint",
    after_help = "Each --kernel is a kernel image (boot/vmlinuz-R, with boot/config-R beside it), \
a modules directory (lib/modules/R), a release name (a kernel installed under / or unpacked in \
kmodkit's cache by scripts/corpus or vm --debian-kernel) or a Debian package \
(linux-image-R_*.deb, unpacked once into the cache). For each, the loader's decisions: \
vermagic; modversions (module_layout and each imported symbol's CRC against the Module.symvers \
of the kernel's headers, /lib/modules/R/build, and --symvers files); symbols nothing exports \
(Unknown symbol); GPL-only symbols used by a module whose licence is not GPL-compatible; \
symbol namespaces not imported; dependencies (depends=) the kernel lacks; and the signature \
against the keys that kernel trusts: the certificates built into its image, --secure-db \
certificates (firmware db: Debian's kernels trust them for modules), and --keyring sources \
(certificates, directories, images, OVMF varstores: db and MOK). --signature overrides the \
verdict. Each failing line carries the errno, the kernel's dmesg line and the taint; the \
result per kernel is the first failure in the loader's order, with the taint the load leaves \
(a module refused at symbol resolution leaves its O/P/E taint on the kernel).

--json prints one object for one kernel, and {\"module\", \"loads\", \"kernels\": [...]} for \
several.

Exit status: 0 the module loads, 1 the kernel rejects it (with several kernels: 0 when \
every one loads it, 1 when any rejects it) or it could not be read, 2 usage error."
)]
pub(crate) struct CheckArgs {
    /// The module file (.ko, .ko.xz, .ko.zst, .ko.gz).
    module: std::path::PathBuf,
    /// A target kernel: image, modules directory, release name or .deb; repeatable.
    #[arg(long, required = true, value_name = "KERNEL")]
    kernel: Vec<std::ffi::OsString>,
    /// The kernel's config file, when it is not where --kernel implies (one kernel only).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// More exported symbols (a Module.symvers, e.g. of modules this one depends on),
    /// for every kernel; repeatable.
    #[arg(long, value_name = "FILE")]
    symvers: Vec<std::path::PathBuf>,
    /// The kernel's taint before the load (decimal, 0x hex or letters): lines the kernel
    /// prints only when a taint is first set are left out.
    #[arg(long, value_name = "MASK")]
    tainted: Option<String>,
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
    /// More trusted keys: certificate files, directories, kernel images, varstores (db,
    /// MOK).
    #[arg(long, value_name = "SRC")]
    keyring: Vec<std::path::PathBuf>,
    /// Override the signature's verdict: valid, unknown-key, unsupported, invalid, bad-format.
    #[arg(long)]
    signature: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// Exit status 0 when the module loads, 1 when the kernel rejects it, 2 for usage errors.
pub fn check(_: &str, args: Vec<OsString>) -> Outcome {
    use clap::Parser;
    let a = match CheckArgs::try_parse_from(std::iter::once("kmodkit check".into()).chain(args)) {
        Ok(a) => a,
        Err(e) => return clap_exit(e),
    };
    run_check(&a)
}

/// A kernel named on the command line: a path (image, modules directory, .deb) or a
/// release name (installed under /, or unpacked in the cache).
fn resolve_kernel(spec: &std::ffi::OsStr) -> anyhow::Result<kernels::InstalledKernel> {
    let path = Path::new(spec);
    let mut k = if path.exists() {
        if path.is_file() && is_deb(path)? {
            let root = unpack_deb(path)?;
            let release = std::fs::read_dir(root.join("lib/modules"))
                .with_context(|| format!("{}: no lib/modules", path.display()))?
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .next()
                .ok_or_else(|| anyhow!("{}: holds no lib/modules/RELEASE", path.display()))?;
            kernels::InstalledKernel::find(&root, &release)?
        } else {
            kernels::InstalledKernel::from_path(path)?
        }
    } else {
        let release = spec.to_string_lossy();
        if release.contains('/') {
            return Err(anyhow!("{release}: no such file or directory"));
        }
        let cached = kernels::cache::cached_kernels()
            .into_iter()
            .find(|k| k.release == release);
        let installed = kernels::InstalledKernel::find(Path::new("/"), &release).ok();
        match (cached, installed) {
            (Some(c), Some(i)) if c.image.is_some() && i.image.is_none() => c,
            (_, Some(i)) => i,
            (Some(c), None) => c,
            (None, None) => {
                return Err(anyhow!(
                    "kernel {release}: not installed under / and not unpacked in {} \
                     (give its image, modules directory or .deb)",
                    kernels::cache::corpus_dir().display()
                ))
            }
        }
    };
    // A kernel unpacked from its package has no headers of its own: those installed for
    // the same release are its headers.
    if k.headers.is_none() && k.root != Path::new("/") {
        if let Ok(sys) = kernels::InstalledKernel::find(Path::new("/"), &k.release) {
            if let Some(h) = sys.headers {
                k = k.with_headers(h);
            }
        }
    }
    Ok(k)
}

fn is_deb(path: &Path) -> anyhow::Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 8];
    let mut f = std::fs::File::open(path).with_context(|| path.display().to_string())?;
    let n = f
        .read(&mut head)
        .with_context(|| path.display().to_string())?;
    Ok(n == 8 && &head == b"!<arch>\n")
}

/// Unpacks a kernel package once into the cache (`<cache>/corpus/PACKAGE`, the layout
/// `scripts/corpus` makes) and returns that root.
fn unpack_deb(deb: &Path) -> anyhow::Result<std::path::PathBuf> {
    let name = deb
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let package = name.split('_').next().unwrap_or_default().to_string();
    if package.is_empty() || package.starts_with('.') {
        return Err(anyhow!("{}: not a package file name", deb.display()));
    }
    let corpus = kernels::cache::corpus_dir();
    let dest = corpus.join(&package);
    if dest.join(".complete").exists() {
        return Ok(dest);
    }
    std::fs::create_dir_all(&corpus).with_context(|| corpus.display().to_string())?;
    let work = corpus.join(format!(".work.check.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let out = std::process::Command::new("dpkg-deb")
        .arg("-x")
        .arg(deb)
        .arg(&work)
        .output()
        .context("dpkg-deb")?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&work);
        return Err(anyhow!(
            "dpkg-deb -x {}: {}",
            deb.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    std::fs::write(work.join(".complete"), b"").with_context(|| work.display().to_string())?;
    let _ = std::fs::remove_dir_all(&dest);
    std::fs::rename(&work, &dest).with_context(|| dest.display().to_string())?;
    Ok(dest)
}

/// What check needs to know about one kernel.
struct Target {
    kernel: loadcheck::Kernel,
    image: Option<std::path::PathBuf>,
    notes: Vec<String>,
}

/// The kernel's release and config, its exports (its headers' Module.symvers and
/// --symvers), the modules it has, its image.
fn kernel_facts(a: &CheckArgs, spec: &std::ffi::OsStr, tainted: u64) -> anyhow::Result<Target> {
    let k = resolve_kernel(spec)?;
    let config = match &a.config {
        Some(c) => c.clone(),
        None => k
            .config_file()
            .map_err(|e| anyhow::anyhow!("{e}; pass --config"))?
            .to_path_buf(),
    };
    let text = std::fs::read_to_string(&config).with_context(|| config.display().to_string())?;
    let mut notes = Vec::new();
    let mut exports = None;
    if let Some(sv) = &k.symvers {
        let text = std::fs::read_to_string(sv).with_context(|| sv.display().to_string())?;
        exports = Some(
            loadcheck::Exports::parse_symvers(&text).with_context(|| sv.display().to_string())?,
        );
    } else {
        notes.push(format!(
            "no Module.symvers (looked in {}): symbols not checked; install linux-headers-{}",
            k.looked_for("headers")
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            k.release
        ));
    }
    if let Some(e) = &mut exports {
        for sv in &a.symvers {
            let text = std::fs::read_to_string(sv).with_context(|| sv.display().to_string())?;
            e.add_symvers(&text)
                .with_context(|| sv.display().to_string())?;
        }
    }
    Ok(Target {
        kernel: loadcheck::Kernel {
            release: k.release.clone(),
            config: loadcheck::parse_config(&text),
            sig_enforce: a.sig_enforce,
            lockdown: a.lockdown,
            exports,
            modules: modules_of(&k.modules_dir),
            tainted,
            struct_module_size: struct_module_size(&k.modules_dir),
        },
        image: k.image,
        notes,
    })
}

/// `sizeof(struct module)` of a kernel: the size of `.gnu.linkonce.this_module` in the
/// first of its own modules (under `kernel/`) that can be read.
fn struct_module_size(dir: &Path) -> Option<u64> {
    let mut stack = vec![dir.join("kernel")];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d).ok()?.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if !e.file_name().to_string_lossy().contains(".ko") {
                continue;
            }
            let Ok(raw) = std::fs::read(&p) else {
                continue;
            };
            let Ok(data) = modfile::decompress(&raw) else {
                continue;
            };
            if let Some(size) = modfile::Module::parse(&data).ok().and_then(|m| {
                m.elf()
                    .section_by_name(".gnu.linkonce.this_module")
                    .map(|s| s.size)
            }) {
                return Some(size);
            }
        }
    }
    None
}

/// The names of the modules in a modules directory, and of those built in
/// (`modules.builtin`); `None` when the directory does not exist.
fn modules_of(dir: &Path) -> Option<std::collections::BTreeSet<String>> {
    if !dir.is_dir() {
        return None;
    }
    let mut names = std::collections::BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            match e.file_type() {
                // build/ and source/ are the headers, not modules.
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(t) if t.is_file() => {
                    let n = e.file_name().to_string_lossy().into_owned();
                    if let Some((stem, _)) = n.split_once(".ko") {
                        names.insert(stem.replace('-', "_"));
                    }
                }
                _ => {}
            }
        }
    }
    if let Ok(text) = std::fs::read_to_string(dir.join("modules.builtin")) {
        for l in text.lines() {
            let base = l.rsplit('/').next().unwrap_or(l);
            if let Some((stem, _)) = base.split_once(".ko") {
                names.insert(stem.replace('-', "_"));
            }
        }
    }
    Some(names)
}

/// The keys the kernel trusts for modules: its built-in certificates, the firmware db
/// certificates given, and any --keyring source.
fn trusted_keys(
    a: &CheckArgs,
    image: Option<&Path>,
) -> anyhow::Result<(modsign::keyring::Keyring, Vec<String>)> {
    let mut ring = modsign::keyring::Keyring::new();
    let mut notes = Vec::new();
    match image {
        Some(img) => {
            let bytes = std::fs::read(img).with_context(|| img.display().to_string())?;
            let name = img.display().to_string();
            let certs = modsign::image::kernel_certs(&bytes, &name)?;
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
        ring.add_path(p)?;
    }
    Ok((ring, notes))
}

fn run_check(a: &CheckArgs) -> Outcome {
    use loadcheck::SigVerdict;
    if a.config.is_some() && a.kernel.len() > 1 {
        return Err(usage(
            "kmodkit check: --config names one kernel's config; give one --kernel with it",
        ));
    }
    let fixed = match a.signature.as_deref() {
        None => None,
        Some("unsigned") => Some(SigVerdict::Unsigned),
        Some("unknown-key") => Some(SigVerdict::UnknownKey),
        Some("valid") => Some(SigVerdict::Valid),
        Some("unsupported") => Some(SigVerdict::Unsupported),
        Some("invalid") => Some(SigVerdict::Invalid(libc::EKEYREJECTED)),
        Some("bad-format") => Some(SigVerdict::Invalid(libc::EBADMSG)),
        Some(v) => {
            return Err(usage(format!(
                "kmodkit check: --signature {v}: expected valid, unknown-key, unsupported, invalid, bad-format or unsigned"
            )))
        }
    };
    let tainted = match &a.tainted {
        Some(t) => parse_taint(t).map_err(|e| usage(format!("kmodkit check: --tainted {e}")))?,
        None => 0,
    };
    let raw = modsys::file::read(&a.module).with_context(|| a.module.display().to_string())?;
    // The kernel decompresses first (finit_module with MODULE_INIT_COMPRESSED_FILE).
    let data = modfile::decompress(&raw).with_context(|| a.module.display().to_string())?;
    let file_name = a
        .module
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let file_name = file_name
        .split('.')
        .next()
        .unwrap_or_default()
        .replace('-', "_");
    let mut results = Vec::new();
    for spec in &a.kernel {
        let t = kernel_facts(a, spec, tainted)?;
        let mut notes = t.notes;
        let verdict = match fixed {
            Some(v) => v,
            None => {
                let (ring, n) = trusted_keys(a, t.image.as_deref())?;
                notes.extend(n);
                SigVerdict::decide(&data, &ring)
            }
        };
        let mut p = loadcheck::predict_bytes(&t.kernel, &data, verdict, a.force, &file_name);
        p.reasons.extend(notes);
        results.push((t.kernel.release, verdict, p));
    }
    let loads = results.iter().all(|r| r.2.loads);
    if a.json {
        let objs: Vec<serde_json::Value> = results
            .iter()
            .map(|(release, verdict, p)| json_of(a, release, *verdict, p))
            .collect();
        let v = if objs.len() == 1 {
            objs.into_iter().next().unwrap_or_default()
        } else {
            serde_json::json!({
                "module": a.module.display().to_string(),
                "loads": loads,
                "kernels": objs,
            })
        };
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_human(&results);
    }
    if loads {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Exit::status(1))
    }
}

fn json_of(
    a: &CheckArgs,
    release: &str,
    verdict: loadcheck::SigVerdict,
    p: &loadcheck::Prediction,
) -> serde_json::Value {
    let errno = p.errno.map(modsys::Errno);
    serde_json::json!({
        "module": a.module.display().to_string(),
        "name": p.name,
        "kernel": release,
        "loads": p.loads,
        "errno": errno.map(|e| e.name()),
        "errno_value": p.errno,
        "error": errno.map(|e| e.message()),
        "taint": p.letters(),
        "taint_mask": p.taint_mask,
        "signature": verdict.name(),
        "dmesg": p.dmesg,
        "reasons": p.reasons,
        "checks": p.checks.iter().map(|c| {
            let e = c.errno.map(modsys::Errno);
            serde_json::json!({
                "check": c.kind.name(),
                "verdict": c.verdict.name(),
                "detail": c.detail,
                "errno": e.map(|e| e.name()),
                "errno_value": c.errno,
                "dmesg": c.dmesg,
                "taint": modfile::taint::module_letters(c.taint_mask),
                "taint_mask": c.taint_mask,
            })
        }).collect::<Vec<_>>(),
    })
}

/// The result line per kernel, then the matrix (check x kernel), then each kernel's
/// failing lines with errno, dmesg line and taint.
fn print_human(results: &[(String, loadcheck::SigVerdict, loadcheck::Prediction)]) {
    for (release, _, p) in results {
        let errno = p.errno.map(modsys::Errno);
        match errno {
            None => println!(
                "{}: loads into {}, taint {} ({})",
                p.name,
                release,
                if p.taint_mask == 0 {
                    "none".to_string()
                } else {
                    p.letters()
                },
                p.taint_mask
            ),
            Some(e) => println!(
                "{}: rejected by {}: {} ({}){}",
                p.name,
                release,
                e.name(),
                e.message(),
                if p.taint_mask == 0 {
                    String::new()
                } else {
                    format!(", kernel left tainted {} ({})", p.letters(), p.taint_mask)
                }
            ),
        }
        for r in &p.reasons {
            println!("  - {r}");
        }
        for l in &p.dmesg {
            println!("  dmesg: {l}");
        }
    }
    let cell = |c: &loadcheck::Check| -> String {
        match (c.verdict, c.errno) {
            (_, Some(e)) => modsys::Errno(e).name().to_string(),
            (loadcheck::Verdict::Warn, None) if c.taint_mask != 0 => {
                format!("taint {}", modfile::taint::module_letters(c.taint_mask))
            }
            (v, None) => v.name().to_string(),
        }
    };
    let width = results.iter().map(|r| r.0.len()).max().unwrap_or(0).max(12);
    println!();
    print!("{:<16}", "check");
    for (release, _, _) in results {
        print!(" {release:<width$}");
    }
    println!();
    for kind in loadcheck::CheckKind::ALL {
        print!("{:<16}", kind.name());
        for (_, _, p) in results {
            let c = p.checks.iter().find(|c| c.kind == kind);
            print!(" {:<width$}", c.map_or_else(|| "-".to_string(), cell));
        }
        println!();
    }
    print!("{:<16}", "result");
    for (_, _, p) in results {
        let r = match p.errno {
            None => format!(
                "loads ({})",
                if p.letters().is_empty() {
                    "-".into()
                } else {
                    p.letters()
                }
            ),
            Some(e) => modsys::Errno(e).name().to_string(),
        };
        print!(" {r:<width$}");
    }
    println!();
    for (release, _, p) in results {
        for c in &p.checks {
            if matches!(c.verdict, loadcheck::Verdict::Pass) {
                continue;
            }
            let errno = c
                .errno
                .map_or_else(|| "-".to_string(), |e| modsys::Errno(e).name().to_string());
            let taint = modfile::taint::module_letters(c.taint_mask);
            println!(
                "{release}: {}: {} [errno {errno}, taint {}]",
                c.kind.name(),
                c.detail,
                if taint.is_empty() { "-" } else { &taint }
            );
            for l in &c.dmesg {
                println!("  dmesg: {l}");
            }
        }
    }
}
