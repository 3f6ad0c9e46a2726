//! Out-of-tree module commands: `new`, `build`, `dkms`.
//!
//! Where a kernel's headers, config and image are is `kernels::InstalledKernel`'s knowledge;
//! building, signing (modsign as a library) and the DKMS lifecycle are `kbuild`'s. This file
//! parses arguments, prints, and shows a progress bar per kernel on a terminal.

use super::{Exit, Outcome};
use anyhow::Context;
use clap::Parser;
use kbuild::dkms::{self, AddFrom, Dkms, KernelTarget, ModuleVersion};
use kernels::InstalledKernel;
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `kmodkit new NAME [--dir DIR]`: a skeleton module that builds as is.
#[derive(Parser)]
#[command(name = "kmodkit new", about = "Create a skeleton out-of-tree module")]
pub(crate) struct NewArgs {
    /// Module name (letters, digits, '_').
    name: String,
    /// Directory to create (default: ./NAME).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// MODULE_AUTHOR.
    #[arg(long, default_value = "kmodkit user")]
    author: String,
    /// A module in Rust (for a kernel with CONFIG_RUST=y; see `kmodkit kernel build --rust`).
    #[arg(long)]
    rust: bool,
}

pub fn new(_: &str, args: Vec<OsString>) -> Outcome {
    let a = match NewArgs::try_parse_from(std::iter::once("kmodkit new".into()).chain(args)) {
        Ok(a) => a,
        Err(e) => return super::clap_exit(e),
    };
    let dir = a.dir.unwrap_or_else(|| PathBuf::from(&a.name));
    let create = if a.rust {
        kbuild::skeleton_rust::create
    } else {
        kbuild::skeleton::create
    };
    let files = create(&a.name, &dir, &a.author)?;
    for f in files {
        println!("created {}", f.display());
    }
    println!("next: kmodkit build {}", dir.display());
    Ok(ExitCode::SUCCESS)
}

/// A bar on stderr counting kernels, hidden when stderr is not a terminal.
fn kernel_progress(len: usize, what: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() || len == 0 {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len as u64);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} kernels ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// Stdout that steps around the progress bar.
struct AroundBar<'a> {
    bar: &'a indicatif::ProgressBar,
}

impl Write for AroundBar<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bar.suspend(|| std::io::stdout().write(buf))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}

/// `kmodkit build [DIR]`: Kbuild against each kernel's headers, then checks.
#[derive(Parser)]
#[command(
    name = "kmodkit build",
    about = "Build a module against installed kernel headers and check the result"
)]
pub(crate) struct BuildArgs {
    /// Module source directory (with a Kbuild Makefile).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Kernel release to build for (repeatable; default: every release with headers).
    #[arg(long = "kernel", short = 'k')]
    kernels: Vec<String>,
    /// Headers directory (for a single --kernel), instead of /lib/modules/RELEASE/build.
    #[arg(long)]
    headers: Option<PathBuf>,
    /// Where installed kernels live.
    #[arg(long, default_value = "/lib/modules", hide = true)]
    modules_root: PathBuf,
    /// Private key to sign the results with.
    #[arg(long, requires = "sign_cert")]
    sign_key: Option<PathBuf>,
    /// Certificate of the signing key.
    #[arg(long, requires = "sign_key")]
    sign_cert: Option<PathBuf>,
    /// Hash for the signature (default: the kernel's CONFIG_MODULE_SIG_HASH).
    #[arg(long)]
    hash: Option<String>,
    /// Parallel make jobs.
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
}

/// The kernels to build for: those named (with --headers for one), else every kernel under
/// the modules root that has headers.
fn build_targets(a: &BuildArgs) -> anyhow::Result<Vec<InstalledKernel>> {
    if a.kernels.is_empty() {
        let mut releases: Vec<String> = std::fs::read_dir(&a.modules_root)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .collect();
        releases.sort();
        let all: Vec<InstalledKernel> = releases
            .iter()
            .filter(|r| kbuild::trees::KernelTarget::new(r, "-").is_ok())
            .map(|r| InstalledKernel::in_modules_tree(&a.modules_root, r))
            .filter(|k| k.headers_dir().is_ok())
            .collect();
        if all.is_empty() {
            anyhow::bail!(
                "no kernel headers under {}/*/build; install linux-headers-$(uname -r) or pass --kernel and --headers",
                a.modules_root.display()
            );
        }
        return Ok(all);
    }
    a.kernels
        .iter()
        .map(|r| {
            kbuild::trees::KernelTarget::new(r, "-")?;
            let k = InstalledKernel::in_modules_tree(&a.modules_root, r);
            Ok(match &a.headers {
                Some(h) => k.with_headers(h.clone()),
                None => k,
            })
        })
        .collect()
}

pub fn build(_: &str, args: Vec<OsString>) -> Outcome {
    let a = match BuildArgs::try_parse_from(std::iter::once("kmodkit build".into()).chain(args)) {
        Ok(a) => a,
        Err(e) => return super::clap_exit(e),
    };
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let src = std::fs::canonicalize(&a.dir).with_context(|| a.dir.display().to_string())?;
    let key = match (&a.sign_key, &a.sign_cert) {
        (Some(k), Some(c)) => Some(super::signing::given_key(k, c)?),
        _ => None,
    };
    let targets = build_targets(&a)?;
    let bar = kernel_progress(targets.len(), "building");
    let mut failed = false;
    for k in &targets {
        bar.set_message(format!("building for {}", k.release));
        if let Err(e) = build_one(&a, &src, k, key.as_ref(), jobs, &bar) {
            bar.suspend(|| eprintln!("kmodkit build: {}: {e:#}", k.release));
            failed = true;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if failed {
        return Err(Exit::status(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Build for one kernel, check each module against it, sign when asked. Problems found in
/// the results are printed as they are found; the error is what stopped this kernel.
fn build_one(
    a: &BuildArgs,
    src: &Path,
    k: &InstalledKernel,
    key: Option<&kbuild::sign::Key>,
    jobs: usize,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<()> {
    let headers = k.headers_dir()?;
    if let Some(uts) = k.headers_release().filter(|u| *u != k.release) {
        anyhow::bail!(
            "the headers in {} are for {uts}, not {}: modules built there would not load into {}",
            headers.display(),
            k.release,
            k.release
        );
    }
    let out = src.join(".build").join(&k.release);
    let say = |s: String| bar.suspend(|| println!("{s}"));
    say(format!(
        "{}: make -C {} M={}",
        k.release,
        headers.display(),
        out.display()
    ));
    let built = match kbuild::kernel::build_module(src, &k.release, headers, &out, jobs) {
        Ok(b) => b,
        Err(kbuild::Error::BuildFailed {
            status,
            log,
            excerpt,
            ..
        }) => {
            let color = std::io::stderr().is_terminal();
            let mut text = format!(
                "build failed (status {status}); full log: {}",
                log.display()
            );
            for line in excerpt.lines() {
                text.push('\n');
                if color && line.starts_with("==> ") {
                    text.push_str(&format!("\x1b[1;31m{line}\x1b[0m"));
                } else {
                    text.push_str(line);
                }
            }
            anyhow::bail!(text);
        }
        Err(e) => return Err(e.into()),
    };
    let symvers_path = k
        .symvers
        .clone()
        .unwrap_or_else(|| headers.join("Module.symvers"));
    let symvers = kbuild::headers::symvers(&symvers_path)?;
    let mut problems = false;
    for m in &built.modules {
        let found = kbuild::check::check(m, &k.release, &symvers)?;
        if !found.is_empty() {
            for p in found {
                bar.suspend(|| eprintln!("kmodkit build: {}: {p}", m.display()));
            }
            problems = true;
            continue;
        }
        match key {
            Some(key) => {
                let hash = a
                    .hash
                    .clone()
                    .or_else(|| k.config_value("CONFIG_MODULE_SIG_HASH"))
                    .unwrap_or_else(|| "sha256".into());
                key.sign_in_place(m, &hash)
                    .with_context(|| format!("signing {}", m.display()))?;
                say(format!(
                    "{}: {} (checked, signed with {hash})",
                    k.release,
                    m.display()
                ));
            }
            None => say(format!("{}: {} (checked)", k.release, m.display())),
        }
    }
    if problems {
        anyhow::bail!("the kernel would refuse or taint these modules (see above)");
    }
    Ok(())
}

/// `kmodkit dkms ACTION [options]`, with DKMS 3's argument conventions, messages and
/// statuses (printed verbatim, without a prefix, as DKMS prints them).
pub fn dkms(_: &str, args: Vec<OsString>) -> Outcome {
    match run_dkms(args) {
        Ok(0) => Ok(ExitCode::SUCCESS),
        Ok(code) => Err(Exit::status(code)),
        Err(e) => Err(Exit::with(e.exit_code(), e.to_string())),
    }
}

#[derive(Default)]
struct DkmsArgs {
    action: Option<String>,
    module: Option<String>,
    version: Option<String>,
    kernels: Vec<String>,
    arches: Vec<String>,
    all: bool,
    force: bool,
    no_depmod: bool,
    dkms_tree: Option<PathBuf>,
    source_tree: Option<PathBuf>,
    install_tree: Option<PathBuf>,
    kernel_source_dir: Option<PathBuf>,
    sign_key: Option<PathBuf>,
    sign_cert: Option<PathBuf>,
    jobs: Option<usize>,
    source_dir: Option<PathBuf>,
    template_kernel: Option<String>,
    json: bool,
}

const DKMS_ACTIONS: &[&str] = &[
    "add",
    "build",
    "install",
    "uninstall",
    "unbuild",
    "remove",
    "status",
    "autoinstall",
    "match",
];

fn dkms_usage() -> kbuild::Error {
    kbuild::Error::Dkms {
        code: 2,
        message: format!(
            "Usage: kmodkit dkms [{}] [-m|--module MODULE[/VERSION]] [-v VERSION] [-k|--kernelver KERNEL[/ARCH]] [-a|--arch ARCH] [--all] [--force]\n\
             \x20      [--dkmstree DIR] [--sourcetree DIR] [--installtree DIR] [--kernelsourcedir DIR] [--no-depmod]\n\
             \x20      [--templatekernel KERNEL (match)] [--json (status)]\n\
             \x20      [--sign-key KEY --sign-cert CERT] [-j N] [MODULE/VERSION | SOURCE-DIR]",
            DKMS_ACTIONS.join("|")
        ),
    }
}

/// DKMS's `-x value` / `-x=value` / `--long=value` / `--long value`.
fn parse_dkms_args(args: Vec<OsString>) -> Result<DkmsArgs, kbuild::Error> {
    let args: Vec<String> = args
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut a = DkmsArgs::default();
    let mut i = 0;
    let split_mv = |s: &str| -> (String, Option<String>) {
        match s.split_once('/') {
            Some((m, v)) => (m.to_string(), Some(v.to_string())),
            None => (s.to_string(), None),
        }
    };
    while i < args.len() {
        let arg = args[i].clone();
        i += 1;
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let value = |i: &mut usize| -> Result<String, kbuild::Error> {
            if let Some(v) = inline.clone() {
                return Ok(v);
            }
            let v = args.get(*i).cloned().ok_or_else(|| kbuild::Error::Dkms {
                code: 2,
                message: format!("Error! Option {flag} needs a value"),
            })?;
            *i += 1;
            Ok(v)
        };
        match flag.as_str() {
            "-m" | "--module" => {
                let (m, v) = split_mv(&value(&mut i)?);
                a.module = Some(m);
                if v.is_some() {
                    a.version = v;
                }
            }
            "-v" => a.version = Some(value(&mut i)?),
            "-k" | "--kernelver" => {
                let kv = value(&mut i)?;
                match kv.split_once('/') {
                    Some((k, ar)) => {
                        a.kernels.push(k.into());
                        a.arches.push(ar.into());
                    }
                    None => a.kernels.push(kv),
                }
            }
            "-a" | "--arch" => a.arches.push(value(&mut i)?),
            "--all" => a.all = true,
            "--json" => a.json = true,
            "--force" => a.force = true,
            "--no-depmod" => a.no_depmod = true,
            "--dkmstree" => a.dkms_tree = Some(value(&mut i)?.into()),
            "--sourcetree" => a.source_tree = Some(value(&mut i)?.into()),
            "--installtree" => a.install_tree = Some(value(&mut i)?.into()),
            "--kernelsourcedir" => a.kernel_source_dir = Some(value(&mut i)?.into()),
            "--templatekernel" => a.template_kernel = Some(value(&mut i)?),
            "--sign-key" => a.sign_key = Some(value(&mut i)?.into()),
            "--sign-cert" => a.sign_cert = Some(value(&mut i)?.into()),
            "-j" => {
                a.jobs = Some(value(&mut i)?.parse().map_err(|_| kbuild::Error::Dkms {
                    code: 2,
                    message: "Error! -j needs a number".into(),
                })?)
            }
            "-h" | "--help" => return Err(dkms_usage()),
            f if f.starts_with('-') => {
                return Err(kbuild::Error::Dkms {
                    code: 2,
                    message: format!("Error!  Unknown option: {f}"),
                });
            }
            word if DKMS_ACTIONS.contains(&word) => {
                if a.action.is_some() {
                    return Err(kbuild::Error::Dkms {
                        code: 4,
                        message: "Error! Cannot specify more than one action.".into(),
                    });
                }
                a.action = Some(word.into());
            }
            word if Path::new(word).join("dkms.conf").is_file() => a.source_dir = Some(word.into()),
            word if a.module.is_none() => {
                let (m, v) = split_mv(word);
                a.module = Some(m);
                if v.is_some() {
                    a.version = v;
                }
            }
            word => eprintln!("Warning: I do not know how to handle {word}."),
        }
    }
    Ok(a)
}

/// The module/version an action works on, checked (single path components).
fn module_version(a: &DkmsArgs, action: &str) -> Result<ModuleVersion, kbuild::Error> {
    match (&a.module, &a.version) {
        (Some(m), Some(v)) => ModuleVersion::from_cli(m, v),
        _ => Err(dkms::module_args_error(action)),
    }
}

/// The kernels an action works on: `-k K[/A]` (each with its `-a`, else the first, else
/// this machine's), checked.
fn kernel_targets(a: &DkmsArgs) -> Result<Vec<KernelTarget>, kbuild::Error> {
    let default_arch = dkms::uname_m();
    a.kernels
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let arch = a
                .arches
                .get(i)
                .or(a.arches.first())
                .unwrap_or(&default_arch);
            KernelTarget::new(k, arch)
        })
        .collect()
}

fn print_status(d: &Dkms<'_>, a: &DkmsArgs) -> Result<(), kbuild::Error> {
    if let Some(m) = &a.module {
        kbuild::trees::component("module name", m, &kbuild::trees::Origin::CommandLine("-m"))?;
    }
    if let Some(v) = &a.version {
        kbuild::trees::component(
            "module version",
            v,
            &kbuild::trees::Origin::CommandLine("-v"),
        )?;
    }
    let k = a
        .kernels
        .first()
        .map(|k| (k.as_str(), a.arches.first().map_or("", |s| s.as_str())));
    let lines = d.status(a.module.as_deref(), a.version.as_deref(), k);
    if a.json {
        let v: Vec<serde_json::Value> = lines
            .iter()
            .map(|s| {
                serde_json::json!({
                    "module": s.module.name,
                    "version": s.module.version,
                    "kernel": s.kernel.as_ref().map(|k| &k.release),
                    "arch": s.kernel.as_ref().map(|k| &k.arch),
                    "state": s.state.name(),
                    "warnings": s.extra.split(" (").map(|w| w.trim().trim_end_matches(')'))
                        .filter(|w| !w.is_empty()).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        for s in lines {
            println!("{}", s.line());
        }
    }
    Ok(())
}

fn run_dkms(args: Vec<OsString>) -> Result<u8, kbuild::Error> {
    let a = parse_dkms_args(args)?;
    let Some(action) = a.action.clone() else {
        return Err(dkms_usage());
    };
    let dkms_tree = a
        .dkms_tree
        .clone()
        .unwrap_or_else(|| "/var/lib/dkms".into());
    // Values that become paths are checked before anything is written (the MOK key too).
    let mut kernels = kernel_targets(&a)?;
    if let (Some(m), Some(v)) = (&a.module, &a.version) {
        ModuleVersion::from_cli(m, v)?;
    }
    // Signing: the given key pair, else DKMS's MOK pair (created when missing, as DKMS does).
    let builds = matches!(
        action.as_str(),
        "build" | "install" | "autoinstall" | "match"
    );
    let key = if builds {
        Some(super::signing::dkms_key(
            &dkms_tree,
            (a.sign_key.as_ref(), a.sign_cert.as_ref()),
        )?)
    } else {
        None
    };
    let bar = match action.as_str() {
        "build" | "install" | "autoinstall" | "match" => {
            kernel_progress(kernels.len().max(1), &format!("dkms {action}"))
        }
        _ => indicatif::ProgressBar::hidden(),
    };
    let mut out = AroundBar { bar: &bar };
    let mut d = Dkms {
        dkms_tree,
        source_tree: a.source_tree.clone().unwrap_or_else(|| "/usr/src".into()),
        install_tree: a
            .install_tree
            .clone()
            .unwrap_or_else(|| "/lib/modules".into()),
        etc_dir: "/etc/dkms".into(),
        kernel_source_dir: a.kernel_source_dir.clone(),
        debian_like: dkms::debian_like(),
        jobs: a
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        force: a.force,
        no_depmod: a.no_depmod,
        signing: key.as_ref(),
        trust_check: true,
        out: &mut out,
    };
    if kernels.is_empty() && !a.all && action != "status" {
        kernels.push(KernelTarget::new(&dkms::uname_r(), &dkms::uname_m())?);
    }
    let code = run_action(&mut d, &a, &action, kernels, &bar)?;
    bar.finish_and_clear();
    Ok(code)
}

/// One DKMS action over the kernels; returns DKMS's exit status.
fn run_action(
    d: &mut Dkms<'_>,
    a: &DkmsArgs,
    action: &str,
    mut kernels: Vec<KernelTarget>,
    bar: &indicatif::ProgressBar,
) -> Result<u8, kbuild::Error> {
    Ok(match action {
        "add" => {
            match (&a.source_dir, &a.module, &a.version) {
                (Some(dir), _, _) => d.add(AddFrom::Directory(dir))?,
                _ => d.add(AddFrom::SourceTree(module_version(a, "add")?))?,
            };
            0
        }
        "status" => {
            print_status(d, a)?;
            0
        }
        "build" | "install" => {
            let mv = match (&a.module, &a.version, &a.source_dir) {
                (None, None, Some(dir)) => d.add(AddFrom::Directory(dir))?,
                _ => module_version(a, action)?,
            };
            for k in &kernels {
                bar.set_message(format!("dkms {action} {mv} for {}", k.release));
                if action == "build" {
                    d.build(&mv, k)?;
                } else {
                    d.install(&mv, k)?;
                }
                bar.inc(1);
            }
            0
        }
        "uninstall" | "unbuild" | "remove" => {
            let mv = module_version(a, action)?;
            if !d.is_added(&mv) {
                return Err(kbuild::Error::Dkms {
                    code: 3,
                    message: format!(
                        "Error! The module/version combo: {}-{} is not located in the DKMS tree.",
                        mv.name, mv.version
                    ),
                });
            }
            if a.all {
                kernels = d.built_kernels(&mv);
            }
            match action {
                "remove" => d.remove(&mv, &kernels)?,
                "uninstall" => {
                    for k in &kernels {
                        d.uninstall(&mv, k)?;
                    }
                }
                _ => {
                    for k in &kernels {
                        d.unbuild(&mv, k)?;
                    }
                }
            }
            0
        }
        "match" => {
            let Some(t) = a.template_kernel.clone() else {
                return Err(kbuild::Error::Dkms {
                    code: 4,
                    message: "Error! The action match requires --templatekernel.".into(),
                });
            };
            KernelTarget::new(&t, "-")?;
            let mut failures = Vec::new();
            for k in &kernels {
                bar.set_message(format!("dkms match {t} -> {}", k.release));
                failures.extend(d.match_kernel(&t, k));
                bar.inc(1);
            }
            if let Some((mv, e)) = failures.first() {
                return Err(kbuild::Error::Dkms {
                    code: 1,
                    message: format!("Error! Installing {mv} failed: {e}"),
                });
            }
            0
        }
        "autoinstall" => {
            let mut failures = Vec::new();
            for k in &kernels {
                bar.set_message(format!("dkms autoinstall for {}", k.release));
                failures.extend(
                    d.autoinstall(k)
                        .into_iter()
                        .map(|(mv, e)| (format!("{mv} for {k}"), e)),
                );
                bar.inc(1);
            }
            if failures.is_empty() {
                0
            } else {
                bar.suspend(|| {
                    eprintln!("Error! One or more modules failed to install during autoinstall:");
                    for (what, e) in &failures {
                        eprintln!(
                            "  {what}: {}",
                            e.to_string().lines().next().unwrap_or_default()
                        );
                    }
                });
                11
            }
        }
        _ => return Err(dkms_usage()),
    })
}
