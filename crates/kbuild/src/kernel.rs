//! A Rust-enabled kernel to build modules against and to boot under `kmodkit vm`.
//!
//! No Debian kernel package sets `CONFIG_RUST=y`, so this builds one from Debian's
//! `linux-source-6.12`: a small configuration for QEMU (serial console, initramfs, modules
//! with unloading, module signing with a key of its own, ACPI so that the guest can power
//! off), compiled with clang/LLVM (`LLVM=1`, which the kernel's Rust support requires) and
//! Debian's `rustc-web` toolchain.
//!
//! # The toolchain, independent of the user's rustup
//! The kernel's Rust code must be compiled by one exact compiler whose standard library
//! sources are at hand (`RUST_LIB_SRC`). rustup's toolchains here have no `rust-src`
//! component, so Debian's `rustc-web` (`/usr/bin/rustc`, sysroot `/usr`) and `rust-web-src`
//! (`/usr/src/rustc-<version>/library`) are used, by absolute path, and every `make` runs
//! with a `PATH` that has no `~/.cargo/bin` in it and without rustup's variables. Debian's
//! own `bindgen` (0.60) is older than 6.12's minimum (0.65.1), so bindgen-cli
//! [`BINDGEN_VERSION`] is installed with `cargo install --locked` into the cache, once.
//! The same settings are recorded in the tree ([`TOOLCHAIN_FILE`]) so that out-of-tree
//! module builds against it ([`build_module`]) use the very same compiler.
//!
//! # Configuration
//! `make tinyconfig`, then [`BASE`] (what the QEMU guest and the module tools need, and
//! what `kmodkit leaks` and `kmodkit trace` attach to: bpf(), perf events, tracefs with the
//! kmem and module tracepoints, kprobes and the ftrace function list), then
//! the user's fragment, then [`RUST_NEEDS`]: in 6.12 `RUST` depends on `!MODVERSIONS`,
//! `!RANDSTRUCT` and `!DEBUG_INFO_BTF`, so those win over the fragment, and each option
//! they overrode is reported with the reason ([`Change`]). `olddefconfig` resolves the rest;
//! requested options that Kconfig dropped (unmet dependencies) are reported too.
//!
//! # Cache
//! One tree per (source package version, configuration text, rustc, bindgen, clang)
//! under `<cache>/rust-kernel/`, keyed by a SHA-256 of those; a finished tree has a stamp
//! file, written last. A second call with the same inputs finds the stamp and returns at
//! once. A lock on the cache directory keeps two builds from racing on one tree.
//!
//! This is orchestration: it runs `tar`, `make`, `dpkg-query`, `cargo`; it does not sign
//! modules (the caller does, with the tree's `certs/signing_key.pem`).

use crate::make::{self, Built as BuiltModules};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The Debian source package built by default.
pub const DEFAULT_SOURCE: &str = "linux-source-6.12";
/// bindgen-cli version installed into the cache (6.12 needs >= 0.65.1; this one was
/// verified with 6.12 and rustc 1.96 on Debian 12).
pub const BINDGEN_VERSION: &str = "0.73.2";
/// Debian packages the build needs (besides the source package).
pub const PACKAGES: &[&str] = &[
    "rustc-web",
    "rust-web-src",
    "clang",
    "lld",
    "llvm",
    "libclang-dev",
    "bc",
    "flex",
    "bison",
    "libelf-dev",
    "libssl-dev",
    "cpio",
    "make",
];
/// The file in a built tree that records the toolchain it was built with (`KEY=VALUE`
/// lines: the `make` variables an out-of-tree build must pass).
pub const TOOLCHAIN_FILE: &str = "kmodkit-toolchain";
/// The stamp of a finished tree in a cache entry.
const STAMP: &str = "kmodkit-kernel.done";

/// The base configuration on top of `tinyconfig`: option, value, and why.
pub const BASE: &[(&str, &str, &str)] = &[
    ("64BIT", "y", "tinyconfig is 32-bit"),
    ("EXPERT", "y", "tinyconfig's options need it"),
    ("MODULES", "y", "loadable modules"),
    ("MODULE_UNLOAD", "y", "rmmod"),
    (
        "MODULE_SIG",
        "y",
        "signature checking, taint E for unsigned modules",
    ),
    (
        "MODULE_SIG_ALL",
        "y",
        "sign in-tree modules at modules_install",
    ),
    ("MODULE_SIG_SHA256", "y", "sha256 signatures"),
    (
        "MODULE_SIG_KEY",
        "\"certs/signing_key.pem\"",
        "a key of its own, generated at build time",
    ),
    ("PRINTK", "y", "pr_info! and dmesg"),
    ("EARLY_PRINTK", "y", "early console"),
    ("TTY", "y", "serial console"),
    (
        "SERIAL_8250",
        "y",
        "serial ports (console, command stdout, stderr)",
    ),
    ("SERIAL_8250_CONSOLE", "y", "console=ttyS0"),
    ("BLK_DEV_INITRD", "y", "the guest is an initramfs"),
    ("DEVTMPFS", "y", "/dev"),
    ("DEVTMPFS_MOUNT", "y", "/dev"),
    ("TMPFS", "y", "/tmp in the guest"),
    ("SHMEM", "y", "tmpfs"),
    ("PROC_FS", "y", "/proc/modules"),
    ("PROC_SYSCTL", "y", "/proc/sys/kernel/tainted"),
    ("SYSFS", "y", "/sys/module"),
    ("BINFMT_ELF", "y", "programs"),
    ("BINFMT_SCRIPT", "y", "shell scripts"),
    ("MULTIUSER", "y", "uids for the guest's tools"),
    (
        "FUTEX",
        "y",
        "Rust's std (the kmodkit binary in the guest) locks with futexes",
    ),
    ("FILE_LOCKING", "y", "flock for kmodkit's locks"),
    ("POSIX_TIMERS", "y", "sleep and timeouts in the guest"),
    ("EPOLL", "y", "event loops in guest tools"),
    ("PCI", "y", "QEMU's devices"),
    ("ACPI", "y", "poweroff ends the QEMU run"),
    (
        "KALLSYMS",
        "y",
        "symbol names in oopses, backtraces and leak reports",
    ),
    // What `kmodkit leaks` and `kmodkit trace` attach to (checked in this kernel: without
    // them, leaks finds no kmem tracepoints or cannot load its programs).
    (
        "PERF_EVENTS",
        "y",
        "perf events: how BPF programs attach to tracepoints and kprobes",
    ),
    (
        "BPF_SYSCALL",
        "y",
        "bpf(): leaks and trace load their programs",
    ),
    ("BPF_JIT", "y", "BPF programs run compiled, not interpreted"),
    (
        "FTRACE",
        "y",
        "tracefs and the kmem:kmalloc/kfree and module:module_load/free tracepoints",
    ),
    (
        "FUNCTION_TRACER",
        "y",
        "available_filter_functions, the list of kprobe targets (leaks checks do_init_module)",
    ),
    (
        "DYNAMIC_FTRACE",
        "y",
        "available_filter_functions, the list of kprobe targets (leaks checks do_init_module)",
    ),
    (
        "KPROBES",
        "y",
        "kprobes: leaks records where a module loaded during the window was placed",
    ),
    ("KPROBE_EVENTS", "y", "kprobe perf events for BPF programs"),
    ("BPF_EVENTS", "y", "BPF programs on tracepoints and kprobes"),
];

/// What Rust needs in 6.12 (`init/Kconfig`: `config RUST` depends on `!MODVERSIONS`,
/// `!RANDSTRUCT`, `!DEBUG_INFO_BTF || PAHOLE_HAS_LANG_EXCLUDE`): these override the base
/// and the user's fragment.
pub const RUST_NEEDS: &[(&str, &str, &str)] = &[
    (
        "MODVERSIONS",
        "n",
        "RUST depends on !MODVERSIONS in 6.12 (genksyms cannot compute CRCs of Rust symbols)",
    ),
    (
        "RANDSTRUCT_NONE",
        "y",
        "RUST depends on !RANDSTRUCT (Rust cannot follow a randomized struct layout)",
    ),
    (
        "RANDSTRUCT_FULL",
        "n",
        "RUST depends on !RANDSTRUCT (Rust cannot follow a randomized struct layout)",
    ),
    (
        "RANDSTRUCT_PERFORMANCE",
        "n",
        "RUST depends on !RANDSTRUCT (Rust cannot follow a randomized struct layout)",
    ),
    (
        "DEBUG_INFO_BTF",
        "n",
        "RUST depends on !DEBUG_INFO_BTF in 6.12 unless pahole can exclude Rust's DWARF (Debian 12's cannot)",
    ),
    ("RUST", "y", "Rust support, the point of this kernel"),
];

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} not found: {hint}")]
    Missing { what: String, hint: String },
    #[error("`{cmd}` failed ({status}); log: {log}\n{excerpt}")]
    Command {
        cmd: String,
        status: String,
        log: PathBuf,
        excerpt: String,
    },
    #[error("{path}:{line}: {what}")]
    Fragment {
        path: PathBuf,
        line: usize,
        what: String,
    },
    #[error("the configuration has {option}={found} after olddefconfig, but a Rust kernel needs {option}={wanted}; check the fragment's options against init/Kconfig (config RUST)")]
    NotRust {
        option: String,
        found: String,
        wanted: String,
    },
    #[error(transparent)]
    Lock(#[from] safeio::Error),
}

fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What the build is doing, for a progress display.
#[derive(Clone, Debug)]
pub enum Progress {
    /// A new step begins.
    Step(String),
    /// One line of Kbuild's output (`  CC      kernel/fork.o`).
    Line(String),
}

/// The Rust toolchain a kernel is built with.
#[derive(Clone, Debug)]
pub struct Toolchain {
    pub rustc: PathBuf,
    /// `rustc --version`, e.g. `rustc 1.96.0 (...)`.
    pub rustc_version: String,
    /// The standard library sources (`RUST_LIB_SRC`).
    pub rust_lib_src: PathBuf,
    pub bindgen: PathBuf,
    pub bindgen_version: String,
    /// `clang --version`'s first line.
    pub clang_version: String,
    /// `PATH` without rustup's directories.
    pub path: OsString,
}

/// The `apt-get install` line for what is missing.
pub fn install_hint(source: &str) -> String {
    format!(
        "install the Debian packages: apt-get install {} {source}",
        PACKAGES.join(" ")
    )
}

/// `PATH` without `~/.cargo/bin` and other rustup directories, with the system's.
pub fn clean_path(path: Option<OsString>) -> OsString {
    let mut dirs: Vec<PathBuf> = path
        .as_deref()
        .map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default();
    dirs.retain(|d| {
        let s = d.to_string_lossy();
        !s.contains("/.cargo/") && !s.ends_with("/.cargo/bin") && !s.contains("/.rustup/")
    });
    for sys in ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"] {
        if !dirs.iter().any(|d| d == Path::new(sys)) {
            dirs.push(sys.into());
        }
    }
    std::env::join_paths(dirs).unwrap_or_else(|_| "/usr/bin:/bin:/usr/sbin:/sbin".into())
}

fn first_line(cmd: &mut Command) -> Option<String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()?
            .trim()
            .to_string(),
    )
}

fn find_in(path: &OsString, name: &str) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

impl Toolchain {
    /// Finds Debian's Rust toolchain and clang, and bindgen in `cache` (installing it there
    /// with `cargo install` when missing and `install_bindgen` is true).
    pub fn find(
        cache: &Path,
        source: &str,
        install_bindgen: bool,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Toolchain> {
        let path = clean_path(std::env::var_os("PATH"));
        let missing = |what: &str| Error::Missing {
            what: what.to_string(),
            hint: install_hint(source),
        };
        let rustc = PathBuf::from("/usr/bin/rustc");
        let rustc_version = first_line(Command::new(&rustc).arg("--version"))
            .ok_or_else(|| missing("/usr/bin/rustc (Debian's rustc-web)"))?;
        let number = rustc_version
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string();
        let rust_lib_src = PathBuf::from(format!("/usr/src/rustc-{number}/library"));
        if !rust_lib_src.join("core/src/lib.rs").is_file() {
            return Err(missing(&format!(
                "{} (the sources of {rustc_version}'s standard library, package rust-web-src)",
                rust_lib_src.display()
            )));
        }
        let clang_version = first_line(Command::new("clang").arg("--version").env("PATH", &path))
            .ok_or_else(|| missing("clang"))?;
        for tool in [
            "ld.lld",
            "llvm-ar",
            "llvm-nm",
            "llvm-objcopy",
            "flex",
            "bison",
            "bc",
        ] {
            if find_in(&path, tool).is_none() {
                return Err(missing(tool));
            }
        }
        let bindgen_root = cache
            .join("toolchain")
            .join(format!("bindgen-{BINDGEN_VERSION}"));
        let bindgen = bindgen_root.join("bin/bindgen");
        if !bindgen.is_file() {
            if !install_bindgen {
                return Err(Error::Missing {
                    what: bindgen.display().to_string(),
                    hint: format!(
                        "cargo install --locked bindgen-cli --version {BINDGEN_VERSION} --root {}",
                        bindgen_root.display()
                    ),
                });
            }
            progress(Progress::Step(format!(
                "installing bindgen-cli {BINDGEN_VERSION} with cargo into {}",
                bindgen_root.display()
            )));
            install_bindgen_cli(&bindgen_root, cache)?;
        }
        let bindgen_version =
            first_line(Command::new(&bindgen).arg("--version")).ok_or_else(|| Error::Missing {
                what: format!("a working {}", bindgen.display()),
                hint: "it needs libclang (package libclang-dev)".into(),
            })?;
        Ok(Toolchain {
            rustc,
            rustc_version,
            rust_lib_src,
            bindgen,
            bindgen_version,
            clang_version,
            path,
        })
    }

    /// The `make` variables for the kernel's build (they beat the Makefile's own).
    pub fn make_vars(&self) -> Vec<(String, String)> {
        vec![
            ("LLVM".into(), "1".into()),
            ("RUSTC".into(), self.rustc.display().to_string()),
            ("BINDGEN".into(), self.bindgen.display().to_string()),
            (
                "RUST_LIB_SRC".into(),
                self.rust_lib_src.display().to_string(),
            ),
        ]
    }

    /// What the cache key depends on.
    fn identity(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.rustc_version, self.bindgen_version, self.clang_version
        )
    }
}

/// `cargo install --locked bindgen-cli` into `root` (cargo from PATH or `~/.cargo/bin`:
/// bindgen is a host tool, any cargo builds it).
fn install_bindgen_cli(root: &Path, cache: &Path) -> Result<()> {
    let cargo = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| find_in(&std::env::var_os("PATH").unwrap_or_default(), "cargo"))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin/cargo")))
        .filter(|p| p.is_file())
        .ok_or_else(|| Error::Missing {
            what: "cargo (to install bindgen-cli)".into(),
            hint: "install Rust with rustup or Debian's cargo".into(),
        })?;
    std::fs::create_dir_all(cache).map_err(io(cache))?;
    let log = cache.join("toolchain").join("bindgen-install.log");
    std::fs::create_dir_all(log.parent().unwrap_or(cache)).map_err(io(&log))?;
    let mut cmd = Command::new(cargo);
    cmd.args([
        "install",
        "--locked",
        "bindgen-cli",
        "--version",
        BINDGEN_VERSION,
    ])
    .arg("--root")
    .arg(root)
    // Not the caller's target directory: a private one, removed by cargo afterwards.
    .env_remove("CARGO_TARGET_DIR")
    .env_remove("CARGO_BUILD_TARGET_DIR");
    run_logged(&mut cmd, &log, "cargo install bindgen-cli", &mut |_| {})
}

/// Runs `cmd` with its output into `log`, each line also given to `line`.
fn run_logged(cmd: &mut Command, log: &Path, what: &str, line: &mut dyn FnMut(&str)) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(log).map_err(io(log))?;
    let (reader, writer) = std::io::pipe().map_err(io(log))?;
    let writer2 = writer.try_clone().map_err(io(log))?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer2)
        .spawn()
        .map_err(io(what))?;
    // The pipe's write ends now live only in the child (and `cmd`): drop ours.
    drop(std::mem::replace(cmd, Command::new("true")));
    for l in BufReader::new(reader).lines() {
        let Ok(l) = l else { break };
        let _ = writeln!(file, "{l}");
        line(&l);
    }
    let status = child.wait().map_err(io(what))?;
    if status.success() {
        return Ok(());
    }
    let text = std::fs::read_to_string(log).unwrap_or_default();
    Err(Error::Command {
        cmd: what.to_string(),
        status: status
            .code()
            .map_or("killed by a signal".into(), |c| format!("exit status {c}")),
        log: log.to_path_buf(),
        excerpt: make::excerpt(&text),
    })
}

/// The kernel sources: a Debian `linux-source-*` package's tarball (or a tarball path).
#[derive(Clone, Debug)]
pub struct Source {
    /// Package name, or the tarball's path.
    pub name: String,
    /// Package version (or the tarball's SHA-256).
    pub version: String,
    pub tarball: PathBuf,
}

impl Source {
    /// `spec` is a package name (`linux-source-6.12`, installed) or a `.tar.xz` path.
    pub fn find(spec: &str) -> Result<Source> {
        if spec.contains('/') {
            let tarball = PathBuf::from(spec);
            let bytes = std::fs::read(&tarball).map_err(io(&tarball))?;
            let hash = Sha256::digest(&bytes);
            return Ok(Source {
                name: spec.to_string(),
                version: hex(&hash[..8]),
                tarball,
            });
        }
        let version = first_line(
            Command::new("dpkg-query")
                .args(["-W", "-f", "${Version}\n"])
                .arg(spec),
        )
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::Missing {
            what: format!("the package {spec}"),
            hint: install_hint(spec),
        })?;
        let tarball = PathBuf::from(format!("/usr/src/{spec}.tar.xz"));
        if !tarball.is_file() {
            return Err(Error::Missing {
                what: tarball.display().to_string(),
                hint: format!("reinstall {spec}"),
            });
        }
        Ok(Source {
            name: spec.to_string(),
            version,
            tarball,
        })
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A parsed config fragment: option (without `CONFIG_`) -> value (`y`, `m`, `n`, a number
/// or a quoted string), in order.
pub fn parse_fragment(path: &Path, text: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let l = raw.trim();
        if l.is_empty() {
            continue;
        }
        if let Some(rest) = l.strip_prefix("# CONFIG_") {
            if let Some(name) = rest.strip_suffix(" is not set") {
                out.push((name.to_string(), "n".to_string()));
                continue;
            }
        }
        if l.starts_with('#') {
            continue;
        }
        let bad = || Error::Fragment {
            path: path.to_path_buf(),
            line: n + 1,
            what: format!("expected CONFIG_NAME=value or '# CONFIG_NAME is not set', found '{l}'"),
        };
        let (k, v) = l.split_once('=').ok_or_else(bad)?;
        let name = k.trim().strip_prefix("CONFIG_").ok_or_else(bad)?;
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad());
        }
        out.push((name.to_string(), v.trim().to_string()));
    }
    Ok(out)
}

/// `.config` text -> option -> value (`n` for "is not set").
pub fn read_config(text: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("# CONFIG_") {
            if let Some(name) = rest.strip_suffix(" is not set") {
                m.insert(name.to_string(), "n".to_string());
            }
        } else if let Some(rest) = l.strip_prefix("CONFIG_") {
            if let Some((k, v)) = rest.split_once('=') {
                m.insert(k.to_string(), v.to_string());
            }
        }
    }
    m
}

/// An option kmodkit set differently from what was asked, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub option: String,
    pub requested: String,
    pub now: String,
    pub why: String,
}

/// The configuration to apply after tinyconfig: base, then fragment, then Rust's needs;
/// and the fragment's options that Rust's needs overrode.
pub fn plan_config(fragment: &[(String, String)]) -> (Vec<(String, String)>, Vec<Change>) {
    let mut lines: Vec<(String, String)> = BASE
        .iter()
        .map(|(k, v, _)| (k.to_string(), v.to_string()))
        .collect();
    lines.extend(fragment.iter().cloned());
    let mut changes = Vec::new();
    for (k, v, why) in RUST_NEEDS {
        for (fk, fv) in fragment {
            if fk == k && fv != v {
                changes.push(Change {
                    option: k.to_string(),
                    requested: fv.clone(),
                    now: v.to_string(),
                    why: why.to_string(),
                });
            }
        }
        lines.push((k.to_string(), v.to_string()));
    }
    (lines, changes)
}

fn config_line(k: &str, v: &str) -> String {
    if v == "n" {
        format!("# CONFIG_{k} is not set\n")
    } else {
        format!("CONFIG_{k}={v}\n")
    }
}

/// What to build.
#[derive(Clone, Debug)]
pub struct Request {
    /// Package name or tarball path ([`Source::find`]).
    pub source: String,
    /// A config fragment (path, text).
    pub fragment: Option<(PathBuf, String)>,
    /// The cache root (normally `~/.cache/kmodkit`).
    pub cache: PathBuf,
    pub jobs: usize,
    /// Install bindgen with cargo when it is not in the cache.
    pub install_bindgen: bool,
}

/// A built Rust-enabled kernel.
#[derive(Clone, Debug)]
pub struct Kernel {
    /// The build tree (`make -C` target for modules; `.config`, `Module.symvers`, ...).
    pub tree: PathBuf,
    /// `arch/x86/boot/bzImage`.
    pub image: PathBuf,
    /// `make kernelrelease`.
    pub release: String,
    /// The signing key and certificate (PEM, both in one file), as the kernel generated it.
    pub signing_key: PathBuf,
    /// The signing certificate (DER), built into the kernel's keyring.
    pub signing_cert_der: PathBuf,
    /// Options changed from what the fragment asked, and why.
    pub changes: Vec<Change>,
    /// Options requested (base or fragment) that Kconfig did not apply: option, requested, got.
    pub dropped: Vec<(String, String, String)>,
    /// Whether it came from the cache.
    pub cached: bool,
    /// Wall time of the build (as recorded when it was built).
    pub build_time: Duration,
    pub toolchain: Toolchain,
}

/// The cache directory for kmodkit (`kernels::cache::cache_dir`: `$KMODKIT_CACHE`, else
/// `$XDG_CACHE_HOME/kmodkit`, else `~/.cache/kmodkit`).
pub fn default_cache() -> PathBuf {
    kernels::cache::cache_dir()
}

/// Builds (or finds in the cache) the Rust-enabled kernel `req` describes.
pub fn build(req: &Request, progress: &mut dyn FnMut(Progress)) -> Result<Kernel> {
    let source = Source::find(&req.source)?;
    let toolchain = Toolchain::find(&req.cache, &req.source, req.install_bindgen, progress)?;
    let fragment = match &req.fragment {
        Some((p, t)) => parse_fragment(p, t)?,
        None => Vec::new(),
    };
    let (plan, changes) = plan_config(&fragment);
    let plan_text: String = plan.iter().map(|(k, v)| config_line(k, v)).collect();
    let mut h = Sha256::new();
    h.update(b"kmodkit rust kernel 1\n");
    h.update(format!("{}\n{}\n", source.name, source.version));
    h.update(&plan_text);
    h.update(toolchain.identity());
    let key = hex(&h.finalize()[..8]);
    let safe_version: String = source
        .version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let root = req.cache.join("rust-kernel");
    std::fs::create_dir_all(&root).map_err(io(&root))?;
    let entry = root.join(format!("{safe_version}-{key}"));
    let tree = entry.join("linux");
    let stamp = entry.join(STAMP);
    let finish = |build_time: Duration, cached: bool| -> Result<Kernel> {
        let config =
            std::fs::read_to_string(tree.join(".config")).map_err(io(tree.join(".config")))?;
        let got = read_config(&config);
        let dropped = plan
            .iter()
            .filter(|(k, v)| got.get(k).map_or(v != "n", |g| g != v))
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.clone(),
                    got.get(k).cloned().unwrap_or_else(|| "(absent)".into()),
                )
            })
            .collect();
        let release_file = tree.join("include/config/kernel.release");
        let release = std::fs::read_to_string(&release_file)
            .map_err(io(&release_file))?
            .trim()
            .to_string();
        Ok(Kernel {
            image: tree.join("arch/x86/boot/bzImage"),
            signing_key: tree.join("certs/signing_key.pem"),
            signing_cert_der: tree.join("certs/signing_key.x509"),
            tree: tree.clone(),
            release,
            changes: changes.clone(),
            dropped,
            cached,
            build_time,
            toolchain: toolchain.clone(),
        })
    };
    if let Some(t) = read_stamp(&stamp) {
        return finish(t, true);
    }
    let _lock = safeio::Lock::dir(&root)?;
    if let Some(t) = read_stamp(&stamp) {
        return finish(t, true);
    }
    let started = Instant::now();
    if entry.exists() {
        progress(Progress::Step(format!(
            "removing an unfinished build in {}",
            entry.display()
        )));
        std::fs::remove_dir_all(&entry).map_err(io(&entry))?;
    }
    std::fs::create_dir_all(&entry).map_err(io(&entry))?;
    progress(Progress::Step(format!(
        "unpacking {} ({})",
        source.tarball.display(),
        source.version
    )));
    let unpack = entry.join("unpack");
    std::fs::create_dir_all(&unpack).map_err(io(&unpack))?;
    run_logged(
        Command::new("tar")
            .arg("-xf")
            .arg(&source.tarball)
            .arg("-C")
            .arg(&unpack),
        &entry.join("tar.log"),
        "tar",
        &mut |_| {},
    )?;
    let top = std::fs::read_dir(&unpack)
        .map_err(io(&unpack))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("Makefile").is_file())
        .ok_or_else(|| Error::Missing {
            what: format!("a kernel tree in {}", source.tarball.display()),
            hint: "the tarball should hold one top directory with a Makefile".into(),
        })?;
    std::fs::rename(&top, &tree).map_err(io(&tree))?;
    let _ = std::fs::remove_dir_all(&unpack);

    let make = |args: &[&str], log: &str, what: &str, line: &mut dyn FnMut(&str)| -> Result<()> {
        let mut cmd = make_command(&tree, &toolchain);
        cmd.args(args);
        run_logged(&mut cmd, &entry.join(log), what, line)
    };
    progress(Progress::Step(
        "checking the Rust toolchain (make rustavailable)".into(),
    ));
    make(
        &["rustavailable"],
        "rustavailable.log",
        "make LLVM=1 rustavailable",
        &mut |_| {},
    )?;
    progress(Progress::Step(
        "configuring (tinyconfig + base + fragment + Rust's needs)".into(),
    ));
    make(
        &["tinyconfig"],
        "config.log",
        "make LLVM=1 tinyconfig",
        &mut |_| {},
    )?;
    let config_path = tree.join(".config");
    // Twice: an option whose dependency is itself set by the plan may need a second pass.
    for _ in 0..2 {
        let mut config = std::fs::read_to_string(&config_path).map_err(io(&config_path))?;
        config.push_str("# kmodkit: base, fragment, Rust's needs\n");
        config.push_str(&plan_text);
        std::fs::write(&config_path, config).map_err(io(&config_path))?;
        make(
            &["olddefconfig"],
            "config.log",
            "make LLVM=1 olddefconfig",
            &mut |_| {},
        )?;
    }
    let got = read_config(&std::fs::read_to_string(&config_path).map_err(io(&config_path))?);
    for (k, v, _) in RUST_NEEDS {
        let found = got.get(*k).cloned().unwrap_or_else(|| "n".into());
        if *k != "RANDSTRUCT_FULL" && *k != "RANDSTRUCT_PERFORMANCE" && found != *v {
            return Err(Error::NotRust {
                option: format!("CONFIG_{k}"),
                found,
                wanted: v.to_string(),
            });
        }
    }
    progress(Progress::Step(format!(
        "building with make LLVM=1 -j{}",
        req.jobs
    )));
    let jobs = format!("-j{}", req.jobs.max(1));
    make(
        &[&jobs],
        "build.log",
        "make LLVM=1 (the kernel)",
        &mut |l| progress(Progress::Line(l.to_string())),
    )?;
    let vars: String = toolchain
        .make_vars()
        .iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    std::fs::write(tree.join(TOOLCHAIN_FILE), vars).map_err(io(tree.join(TOOLCHAIN_FILE)))?;
    let took = started.elapsed();
    safeio::replace(&stamp, format!("{}\n", took.as_millis()).as_bytes(), None)?;
    finish(took, false)
}

fn read_stamp(stamp: &Path) -> Option<Duration> {
    let t = std::fs::read_to_string(stamp).ok()?;
    Some(Duration::from_millis(t.trim().parse().ok()?))
}

/// `make -C tree VARS...` with the clean environment.
fn make_command(tree: &Path, t: &Toolchain) -> Command {
    let mut cmd = Command::new("make");
    cmd.arg("-C").arg(tree);
    for (k, v) in t.make_vars() {
        cmd.arg(format!("{k}={v}"));
    }
    clean_env(&mut cmd);
    cmd.env("PATH", &t.path);
    cmd
}

/// The environment a build with a Rust kernel's toolchain runs in: `PATH` without rustup's
/// directories ([`clean_path`]), and none of rustup's, cargo's or an enclosing make's
/// variables (`RUSTUP_*`, `CARGO*`, `RUSTFLAGS`, `RUSTC_WRAPPER`, `MAKEFLAGS`, `MFLAGS`).
pub fn clean_env(cmd: &mut Command) {
    cmd.env("PATH", clean_path(std::env::var_os("PATH")));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("RUSTUP_")
            || k.starts_with("CARGO")
            || k == "RUSTFLAGS"
            || k == "RUSTC_WRAPPER"
            || k == "MAKEFLAGS"
            || k == "MFLAGS"
        {
            cmd.env_remove(&*k);
        }
    }
}

/// The `make` variables recorded in a tree built here ([`TOOLCHAIN_FILE`]), or `None`
/// for any other headers directory.
pub fn tree_make_vars(dir: &Path) -> Option<Vec<(String, String)>> {
    let text = std::fs::read_to_string(dir.join(TOOLCHAIN_FILE)).ok()?;
    Some(
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// `kmodkit build`'s Kbuild run: for a tree built here (Rust-enabled, LLVM) with that
/// tree's toolchain (`make LLVM=1 RUSTC=... -C TREE M=DIR modules`), else [`make::build`].
pub fn build_module(
    src: &Path,
    release: &str,
    headers: &Path,
    out: &Path,
    jobs: usize,
) -> crate::Result<BuiltModules> {
    let Some(vars) = tree_make_vars(headers) else {
        return make::build(src, release, headers, out, jobs);
    };
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(crate::Error::io(out))?;
    }
    let skip = out
        .ancestors()
        .find(|a| a.parent() == Some(src))
        .unwrap_or(out)
        .to_path_buf();
    make::copy_tree(src, out, &skip)?;
    let log = out.join("make.log");
    let log_file = std::fs::File::create(&log).map_err(crate::Error::io(&log))?;
    let log_err = log_file.try_clone().map_err(crate::Error::io(&log))?;
    let mut cmd = Command::new("make");
    cmd.arg("-C").arg(headers);
    for (k, v) in &vars {
        cmd.arg(format!("{k}={v}"));
    }
    clean_env(&mut cmd);
    let status = cmd
        .arg(format!("M={}", out.display()))
        .arg(format!("-j{}", jobs.max(1)))
        .arg("modules")
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err)
        .status()
        .map_err(crate::Error::io("make"))?;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let failed = |status: String| crate::Error::BuildFailed {
        release: release.to_string(),
        status,
        log: log.clone(),
        excerpt: make::excerpt(&text),
    };
    if !status.success() {
        return Err(failed(
            status.code().map_or("signal".into(), |c| c.to_string()),
        ));
    }
    let modules = make::find_modules(out);
    if modules.is_empty() {
        return Err(failed("0, but no .ko was produced".into()));
    }
    Ok(BuiltModules {
        release: release.to_string(),
        dir: out.to_path_buf(),
        modules,
        log,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragment_parses_both_forms_and_rejects_garbage() {
        let p = Path::new("frag");
        let f = parse_fragment(
            p,
            "# comment\nCONFIG_A=y\n# CONFIG_B is not set\n\nCONFIG_C=\"x y\"\n",
        )
        .unwrap();
        assert_eq!(
            f,
            vec![
                ("A".into(), "y".into()),
                ("B".into(), "n".into()),
                ("C".into(), "\"x y\"".into())
            ]
        );
        let e = parse_fragment(p, "CONFIG_A=y\nA=y\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("frag:2: expected CONFIG_NAME=value"), "{e}");
    }

    #[test]
    fn rust_needs_override_the_fragment_and_say_why() {
        let frag = vec![
            ("MODVERSIONS".to_string(), "y".to_string()),
            ("DEBUG_INFO_BTF".to_string(), "y".to_string()),
            ("KPROBES".to_string(), "y".to_string()),
        ];
        let (plan, changes) = plan_config(&frag);
        let opts: Vec<&str> = changes.iter().map(|c| c.option.as_str()).collect();
        assert_eq!(opts, ["MODVERSIONS", "DEBUG_INFO_BTF"]);
        assert!(changes[0].why.contains("!MODVERSIONS"));
        // The last word on each option is Rust's.
        let last = |k: &str| plan.iter().rev().find(|(o, _)| o == k).unwrap().1.clone();
        assert_eq!(last("MODVERSIONS"), "n");
        assert_eq!(last("KPROBES"), "y");
        assert_eq!(last("RUST"), "y");
    }

    #[test]
    fn path_loses_rustup_only() {
        let p = clean_path(Some("/root/.cargo/bin:/opt/x:/usr/bin".into()));
        let dirs: Vec<PathBuf> = std::env::split_paths(&p).collect();
        assert!(!dirs.iter().any(|d| d.to_string_lossy().contains(".cargo")));
        assert_eq!(dirs[0], Path::new("/opt/x"));
        assert!(dirs.iter().any(|d| d == Path::new("/sbin")));
    }

    #[test]
    fn config_reading() {
        let m = read_config("CONFIG_RUST=y\n# CONFIG_MODVERSIONS is not set\n# comment\n");
        assert_eq!(m.get("RUST").unwrap(), "y");
        assert_eq!(m.get("MODVERSIONS").unwrap(), "n");
    }
}
