//! Out-of-tree module commands: `new`, `build`, `dkms`.

use clap::Parser;
use kbuild::dkms::{self, Dkms, Hooks};
use kbuild::headers::Headers;
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

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

pub fn new(_: &str, args: Vec<OsString>) -> u8 {
    let a = match NewArgs::try_parse_from(std::iter::once("kmodkit new".into()).chain(args)) {
        Ok(a) => a,
        Err(e) => return clap_exit(e),
    };
    let dir = a.dir.unwrap_or_else(|| PathBuf::from(&a.name));
    let create = if a.rust {
        kbuild::skeleton_rust::create
    } else {
        kbuild::skeleton::create
    };
    match create(&a.name, &dir, &a.author) {
        Ok(files) => {
            for f in files {
                println!("created {}", f.display());
            }
            println!("next: kmodkit build {}", dir.display());
            0
        }
        Err(e) => {
            eprintln!("kmodkit new: {e}");
            1
        }
    }
}

/// Until this file's commands return `Outcome`: `super::clap_exit` as a status.
fn clap_exit(e: clap::Error) -> u8 {
    match super::clap_exit(e) {
        Ok(_) => 0,
        Err(_) => 2,
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

pub fn build(_: &str, args: Vec<OsString>) -> u8 {
    let a = match BuildArgs::try_parse_from(std::iter::once("kmodkit build".into()).chain(args)) {
        Ok(a) => a,
        Err(e) => return clap_exit(e),
    };
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let src = match std::fs::canonicalize(&a.dir) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("kmodkit build: {}: {e}", a.dir.display());
            return 1;
        }
    };
    let targets: Vec<Result<Headers, kbuild::Error>> = if a.kernels.is_empty() {
        let all = Headers::installed(&a.modules_root);
        if all.is_empty() {
            eprintln!(
                "kmodkit build: no kernel headers under {}/*/build; install linux-headers-$(uname -r) or pass --kernel and --headers",
                a.modules_root.display()
            );
            return 1;
        }
        all.into_iter().map(Ok).collect()
    } else {
        a.kernels
            .iter()
            .map(|k| Headers::find(k, &a.modules_root, a.headers.as_deref()))
            .collect()
    };
    let color = std::io::stderr().is_terminal();
    let mut failed = false;
    for t in targets {
        let h = match t {
            Ok(h) => h,
            Err(e) => {
                eprintln!("kmodkit build: {e}");
                failed = true;
                continue;
            }
        };
        if let Some(uts) = h.uts_release().filter(|u| *u != h.release) {
            eprintln!(
                "kmodkit build: the headers in {} are for {uts}, not {}: modules built there would not load into {}",
                h.dir.display(),
                h.release,
                h.release
            );
            failed = true;
            continue;
        }
        let out = src.join(".build").join(&h.release);
        println!(
            "{}: make -C {} M={}",
            h.release,
            h.dir.display(),
            out.display()
        );
        let built = match kbuild::kernel::build_module(&src, &h, &out, jobs) {
            Ok(b) => b,
            Err(kbuild::Error::BuildFailed {
                release,
                status,
                log,
                excerpt,
            }) => {
                eprintln!(
                    "kmodkit build: {release}: build failed (status {status}); full log: {}",
                    log.display()
                );
                for line in excerpt.lines() {
                    if color && line.starts_with("==> ") {
                        eprintln!("\x1b[1;31m{line}\x1b[0m");
                    } else {
                        eprintln!("{line}");
                    }
                }
                failed = true;
                continue;
            }
            Err(e) => {
                eprintln!("kmodkit build: {}: {e}", h.release);
                failed = true;
                continue;
            }
        };
        let symvers = match h.symvers() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("kmodkit build: {}: {e}", h.release);
                failed = true;
                continue;
            }
        };
        for m in &built.modules {
            match kbuild::check::check(m, &h.release, &symvers) {
                Ok(problems) if problems.is_empty() => {}
                Ok(problems) => {
                    for p in problems {
                        eprintln!("kmodkit build: {}: {p}", m.display());
                    }
                    failed = true;
                    continue;
                }
                Err(e) => {
                    eprintln!("kmodkit build: {e}");
                    failed = true;
                    continue;
                }
            }
            if let (Some(key), Some(cert)) = (&a.sign_key, &a.sign_cert) {
                let hash = a
                    .hash
                    .clone()
                    .or_else(|| h.config("CONFIG_MODULE_SIG_HASH"))
                    .unwrap_or_else(|| "sha256".into());
                if let Err(e) = super::signing::sign_in_place(m, key, cert, &hash) {
                    eprintln!("kmodkit build: signing {}: {e}", m.display());
                    failed = true;
                    continue;
                }
                println!(
                    "{}: {} (checked, signed with {hash})",
                    h.release,
                    m.display()
                );
            } else {
                println!("{}: {} (checked)", h.release, m.display());
            }
        }
    }
    u8::from(failed)
}

/// `kmodkit dkms ACTION [options]`, with DKMS 3's argument conventions.
pub fn dkms(_: &str, args: Vec<OsString>) -> u8 {
    match run_dkms(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e}");
            e.exit_code()
        }
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
             \x20      [--templatekernel KERNEL (match)]\n\
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

fn run_dkms(args: Vec<OsString>) -> Result<u8, kbuild::Error> {
    let a = parse_dkms_args(args)?;
    let Some(action) = a.action.clone() else {
        return Err(dkms_usage());
    };
    let install_tree = a
        .install_tree
        .clone()
        .unwrap_or_else(|| "/lib/modules".into());
    let self_exe = std::env::current_exe().map_err(|e| kbuild::Error::Io {
        path: "/proc/self/exe".into(),
        source: e,
    })?;

    // Signing: the given key pair, else DKMS's MOK pair (created when missing, as DKMS does).
    let dkms_tree = a
        .dkms_tree
        .clone()
        .unwrap_or_else(|| "/var/lib/dkms".into());
    let (key, cert) = match (&a.sign_key, &a.sign_cert) {
        (Some(k), Some(c)) => (k.clone(), c.clone()),
        _ => (dkms_tree.join("mok.key"), dkms_tree.join("mok.pub")),
    };
    let builds = matches!(action.as_str(), "build" | "install" | "autoinstall");
    if builds && !key.exists() && !cert.exists() {
        std::fs::create_dir_all(&dkms_tree).map_err(|e| kbuild::Error::Io {
            path: dkms_tree.clone(),
            source: e,
        })?;
        println!("Certificate or key are missing, generating self signed certificate for MOK...");
        super::signing::generate_mok(&key, &cert).map_err(|e| kbuild::Error::Dkms {
            code: 1,
            message: format!("Error! {e}"),
        })?;
    }
    if builds {
        println!("Signing key: {}", key.display());
        println!("Public certificate (MOK): {}", cert.display());
    }
    let sign = move |m: &Path, hash: &str| super::signing::sign_in_place(m, &key, &cert, hash);
    let depmod = |tree: &Path, k: &str| -> Result<(), String> {
        let mut cmd = std::process::Command::new(&self_exe);
        cmd.arg("depmod");
        if tree != Path::new("/lib/modules") {
            let root = tree.strip_suffix_lib_modules().ok_or_else(|| {
                format!(
                    "cannot index {}: not of the form ROOT/lib/modules",
                    tree.display()
                )
            })?;
            cmd.arg("-b").arg(root);
        }
        cmd.arg("-a").arg(k);
        let st = cmd.status().map_err(|e| e.to_string())?;
        if st.success() {
            Ok(())
        } else {
            Err(format!("depmod exited with {st}"))
        }
    };
    let trust = |m: &Path, k: &str| super::signing::trust_warning(m, &install_tree, k);
    let mut stdout = std::io::stdout();
    let mut d = Dkms {
        dkms_tree: dkms_tree.clone(),
        source_tree: a.source_tree.clone().unwrap_or_else(|| "/usr/src".into()),
        install_tree: install_tree.clone(),
        etc_dir: "/etc/dkms".into(),
        kernel_source_dir: a.kernel_source_dir.clone(),
        debian_like: dkms::debian_like(),
        jobs: a
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        force: a.force,
        no_depmod: a.no_depmod,
        hooks: Hooks {
            sign: Some(&sign),
            depmod: &depmod,
            trust_warning: Some(&trust),
        },
        out: &mut stdout,
    };

    let default_arch = dkms::uname_m();
    let mut kernels: Vec<(String, String)> = a
        .kernels
        .iter()
        .enumerate()
        .map(|(i, k)| {
            (
                k.clone(),
                a.arches
                    .get(i)
                    .or(a.arches.first())
                    .cloned()
                    .unwrap_or_else(|| default_arch.clone()),
            )
        })
        .collect();
    let need_mv = |a: &DkmsArgs| -> Result<(String, String), kbuild::Error> {
        match (&a.module, &a.version) {
            (Some(m), Some(v)) => Ok((m.clone(), v.clone())),
            _ => Err(kbuild::Error::Dkms {
                code: 1,
                message: format!(
                    "Error! Arguments <module> and <module-version> are not specified.\n\
                     Usage: {action} <module>/<module-version> or\n\
                     \x20      {action} -m <module>/<module-version> or\n\
                     \x20      {action} -m <module> -v <module-version>"
                ),
            }),
        }
    };
    if kernels.is_empty() && !a.all && action != "status" {
        kernels.push((dkms::uname_r(), default_arch.clone()));
    }
    match action.as_str() {
        "add" => {
            d.add(
                a.module.as_deref(),
                a.version.as_deref(),
                a.source_dir.as_deref(),
            )?;
        }
        "status" => {
            let k = a
                .kernels
                .first()
                .map(|k| (k.as_str(), a.arches.first().map_or("", |s| s.as_str())));
            for s in d.status(a.module.as_deref(), a.version.as_deref(), k) {
                println!("{}", s.line());
            }
        }
        "build" | "install" => {
            let (m, v) = match (&a.module, &a.version, &a.source_dir) {
                (None, None, Some(dir)) => d.add(None, None, Some(dir))?,
                _ => need_mv(&a)?,
            };
            for (k, ar) in &kernels {
                if action == "build" {
                    d.build(&m, &v, k, ar)?;
                } else {
                    d.install(&m, &v, k, ar)?;
                }
            }
        }
        "uninstall" | "unbuild" | "remove" => {
            let (m, v) = need_mv(&a)?;
            if !d.is_added(&m, &v) {
                return Err(kbuild::Error::Dkms {
                    code: 3,
                    message: format!(
                        "Error! The module/version combo: {m}-{v} is not located in the DKMS tree."
                    ),
                });
            }
            if a.all {
                kernels = d.built_kernels(&m, &v);
            }
            match action.as_str() {
                "remove" => d.remove(&m, &v, &kernels)?,
                _ => {
                    for (k, ar) in &kernels {
                        if action == "uninstall" {
                            d.uninstall(&m, &v, k, ar)?;
                        } else {
                            d.unbuild(&m, &v, k, ar)?;
                        }
                    }
                }
            }
        }
        "match" => {
            let Some(t) = a.template_kernel.clone() else {
                return Err(kbuild::Error::Dkms {
                    code: 4,
                    message: "Error! The action match requires --templatekernel.".into(),
                });
            };
            let mut failures = Vec::new();
            for (k, ar) in &kernels {
                failures.extend(d.match_kernel(&t, k, ar));
            }
            if let Some((mv, e)) = failures.first() {
                return Err(kbuild::Error::Dkms {
                    code: 1,
                    message: format!("Error! Installing {mv} failed: {e}"),
                });
            }
        }
        "autoinstall" => {
            let mut failures = Vec::new();
            for (k, ar) in &kernels {
                failures.extend(
                    d.autoinstall(k, ar)
                        .into_iter()
                        .map(|(mv, e)| (format!("{mv} for {k} ({ar})"), e)),
                );
            }
            if !failures.is_empty() {
                eprintln!("Error! One or more modules failed to install during autoinstall:");
                for (what, e) in &failures {
                    eprintln!(
                        "  {what}: {}",
                        e.to_string().lines().next().unwrap_or_default()
                    );
                }
                return Ok(11);
            }
        }
        _ => return Err(dkms_usage()),
    }
    Ok(0)
}

/// `ROOT/lib/modules` -> `ROOT`.
trait StripLibModules {
    fn strip_suffix_lib_modules(&self) -> Option<PathBuf>;
}

impl StripLibModules for Path {
    fn strip_suffix_lib_modules(&self) -> Option<PathBuf> {
        let s = self.to_str()?.trim_end_matches('/');
        s.strip_suffix("/lib/modules")
            .map(|r| PathBuf::from(if r.is_empty() { "/" } else { r }))
    }
}
