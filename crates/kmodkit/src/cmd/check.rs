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
    about = "Predict, without booting, whether a kernel will load a module and what it will taint",
    after_help = "Signatures are verified against the keys that kernel trusts: the certificates \
built into its image (found beside a modules directory as boot/vmlinuz-R or /boot/vmlinuz-R), \
--secure-db certificates (firmware db: Debian's kernels trust them for modules) and --keyring \
sources. --signature overrides the verdict.

Exit status: 0 the module loads, 1 the kernel rejects it (or it could not be read), 2 usage error."
)]
pub(crate) struct CheckArgs {
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

/// Exit status 0 when the module loads, 1 when the kernel rejects it, 2 for usage errors.
pub fn check(_: &str, args: Vec<OsString>) -> Outcome {
    use clap::Parser;
    let a = match CheckArgs::try_parse_from(std::iter::once("kmodkit check".into()).chain(args)) {
        Ok(a) => a,
        Err(e) => return clap_exit(e),
    };
    run_check(&a)
}

/// The kernel release and its config file from --kernel (and --config), and its image:
/// `kernels::InstalledKernel` knows where a kernel's files are.
fn kernel_facts(a: &CheckArgs) -> anyhow::Result<(loadcheck::Kernel, Option<std::path::PathBuf>)> {
    use anyhow::Context;
    let k = kernels::InstalledKernel::from_path(&a.kernel)?;
    let config = match &a.config {
        Some(c) => c.clone(),
        None => k
            .config_file()
            .map_err(|e| anyhow::anyhow!("{e}; pass --config"))?
            .to_path_buf(),
    };
    let text = std::fs::read_to_string(&config).with_context(|| config.display().to_string())?;
    Ok((
        loadcheck::Kernel {
            release: k.release,
            config: loadcheck::parse_config(&text),
            sig_enforce: a.sig_enforce,
            lockdown: a.lockdown,
        },
        k.image,
    ))
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
    let (kernel, image) = kernel_facts(a)?;
    let raw = modsys::file::read(&a.module).with_context(|| a.module.display().to_string())?;
    // The kernel decompresses first (finit_module with MODULE_INIT_COMPRESSED_FILE).
    let data = modfile::decompress(&raw).with_context(|| a.module.display().to_string())?;
    let mut notes = Vec::new();
    let verdict = match a.signature.as_deref() {
        None => {
            let (ring, n) = trusted_keys(a, image.as_deref())?;
            notes = n;
            SigVerdict::decide(&data, &ring)
        }
        Some("unsigned") => SigVerdict::Unsigned,
        Some("unknown-key") => SigVerdict::UnknownKey,
        Some("valid") => SigVerdict::Valid,
        Some("unsupported") => SigVerdict::Unsupported,
        Some("invalid") => SigVerdict::Invalid(libc::EKEYREJECTED),
        Some("bad-format") => SigVerdict::Invalid(libc::EBADMSG),
        Some(v) => {
            return Err(usage(format!(
                "kmodkit check: --signature {v}: expected valid, unknown-key, unsupported, invalid, bad-format or unsigned"
            )))
        }
    };
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
    let mut p = loadcheck::predict_bytes(&kernel, &data, verdict, a.force, &file_name);
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
        return rejected_status(&p);
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
    rejected_status(&p)
}

/// 0 when the module loads, 1 when it is rejected (the reasons are printed already).
fn rejected_status(p: &loadcheck::Prediction) -> Outcome {
    if p.loads {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Exit::status(1))
    }
}
