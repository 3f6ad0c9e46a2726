//! A DKMS 3-compatible lifecycle over DKMS's own state tree:
//!
//! ```text
//! <dkms_tree>/<module>/<version>/source -> <source_tree>/<module>-<version>
//! <dkms_tree>/<module>/<version>/build/                     (scratch, during a build)
//! <dkms_tree>/<module>/<version>/<kernel>/<arch>/module/*.ko[.xz|.zst|.gz]
//! <dkms_tree>/<module>/<version>/<kernel>/<arch>/log/make.log (+ the kernel's .config)
//! <dkms_tree>/<module>/kernel-<kernel>-<arch> -> <version>/<kernel>/<arch>   (installed)
//! <install_tree>/<kernel>/updates/dkms/<module>.ko           (Debian's location)
//! ```
//!
//! The steps, their order, their messages and exit codes follow dkms 3.0.10 (Debian 12's),
//! with what its users ask for most: a build's log shown when it fails, state changes that are
//! all-or-nothing (a build lands in its final directory only complete, an install that fails
//! half-way is rolled back), `autoinstall` that goes on past a failing package and reports
//! every failure, and a missing-headers error that names the package to install.
//!
//! Trees are boundaries ([`crate::trees`]): names and versions are checked single path
//! components ([`ModuleVersion`], [`KernelTarget`], dkms.conf's fields when it is read), and
//! every path created or removed is checked to lie inside its tree after resolving symlinks.
//! Files are written with `safeio` (unique temporary names, atomic renames), and each
//! add/build/install/uninstall/unbuild/remove holds a lock on the module's directory in the
//! DKMS tree, so two runs on one module cannot interleave.

use crate::conf::{self, ConfVars, DkmsConf};
use crate::make::excerpt;
use crate::sign;
use crate::trees::{self, Origin};
pub use crate::trees::{KernelTarget, ModuleVersion};
use crate::{Error, Result};
use kernels::InstalledKernel;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The `make` variables a build against a tree made by `kmodkit kernel build --rust` needs
/// beyond dkms.conf's: the toolchain that tree records ([`crate::kernel::TOOLCHAIN_FILE`]:
/// `LLVM=1`, `RUSTC`, `BINDGEN`, `RUST_LIB_SRC`), which a Rust module needs and a C one
/// uses too (DKMS's own `CC=clang LD=ld.lld` for clang kernels, [`conf`], is not all of
/// LLVM). Variables dkms.conf's MAKE already sets are left to it. Other kernels: none.
struct ToolchainVars {
    vars: Vec<(String, String)>,
    /// Run make in the clean environment of [`crate::kernel::clean_env`].
    clean_env: bool,
}

impl ToolchainVars {
    fn of(headers: &Path) -> ToolchainVars {
        match crate::kernel::tree_make_vars(headers) {
            Some(vars) => ToolchainVars {
                vars,
                clean_env: true,
            },
            None => ToolchainVars {
                vars: Vec::new(),
                clean_env: false,
            },
        }
    }
}

/// `s` as one bash word.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./=+,:@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Where DKMS keeps things, and how it behaves.
pub struct Dkms<'a> {
    pub dkms_tree: PathBuf,
    pub source_tree: PathBuf,
    pub install_tree: PathBuf,
    /// Per-module dkms.conf overrides (`/etc/dkms`).
    pub etc_dir: PathBuf,
    /// `--kernelsourcedir`: the headers for every kernel (else the kernel's own).
    pub kernel_source_dir: Option<PathBuf>,
    /// Debian and Ubuntu install into `/updates/dkms` whatever dkms.conf says.
    pub debian_like: bool,
    pub jobs: usize,
    pub force: bool,
    pub no_depmod: bool,
    /// Sign every built module with this key (DKMS's MOK key, or the one given).
    pub signing: Option<&'a sign::Key>,
    /// Before install, warn when the target kernel's built-in keys do not trust the module.
    pub trust_check: bool,
    /// Progress messages (DKMS prints them on stdout).
    pub out: &'a mut dyn Write,
}

/// Where a module to add comes from.
pub enum AddFrom<'p> {
    /// `<source_tree>/<module>-<version>`, already in place.
    SourceTree(ModuleVersion),
    /// A directory with a dkms.conf, copied to `<source_tree>/<name>-<version>` first.
    Directory(&'p Path),
}

/// One state line of `dkms status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Added,
    Built,
    Installed,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Added => "added",
            State::Built => "built",
            State::Installed => "installed",
        }
    }
}

/// A module/version, optionally for a kernel/arch, and its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub module: ModuleVersion,
    pub kernel: Option<KernelTarget>,
    pub state: State,
    /// DKMS's remarks, e.g. " (WARNING! Diff between built and installed module!)".
    pub extra: String,
}

impl Status {
    /// The line `dkms status` prints.
    pub fn line(&self) -> String {
        let mv = &self.module;
        match (&self.kernel, self.state) {
            (None, _) | (_, State::Added) => format!("{mv}: added"),
            (Some(k), s) => format!(
                "{mv}, {}, {}: {}{}",
                k.release,
                k.arch,
                s.name(),
                self.extra
            ),
        }
    }
}

fn die(code: u8, lines: &[String]) -> Error {
    Error::Dkms {
        code,
        message: format!("Error! {}", lines.join("\n")),
    }
}

/// The module file with any of the suffixes DKMS knows, if present.
fn compressed_or_uncompressed(dir: &Path, name: &str) -> Option<PathBuf> {
    [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
        .iter()
        .map(|s| dir.join(format!("{name}{s}")))
        .find(|p| p.exists())
}

fn subdirs(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Compare versions the way `sort -V` roughly does: numeric runs as numbers.
fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn parts(s: &str) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        let mut num = String::new();
        let mut txt = String::new();
        for c in s.chars() {
            if c.is_ascii_digit() {
                if !txt.is_empty() {
                    out.push((0, std::mem::take(&mut txt)));
                }
                num.push(c);
            } else {
                if !num.is_empty() {
                    out.push((num.parse().unwrap_or(u64::MAX), String::new()));
                    num.clear();
                }
                txt.push(c);
            }
        }
        if !num.is_empty() {
            out.push((num.parse().unwrap_or(u64::MAX), String::new()));
        }
        if !txt.is_empty() {
            out.push((0, txt));
        }
        out
    }
    parts(a).cmp(&parts(b))
}

/// The lock on one module's directory in the DKMS tree; the directory is removed again when
/// the operation leaves it empty (a failed first add).
struct ModuleLock {
    dir: PathBuf,
    _lock: safeio::Lock,
}

impl Drop for ModuleLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// A file (or directory) written through a unique temporary name, for directories.
fn unique_sibling(path: &Path, what: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(
        ".{name}.{}.{}.{what}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Copy a file into place with `safeio` (unique temporary, atomic rename).
fn copy_file(from: &Path, to: &Path) -> Result<()> {
    let bytes = std::fs::read(from).map_err(Error::io(from))?;
    safeio::replace(to, &bytes, Some(0o644))?;
    Ok(())
}

impl Dkms<'_> {
    fn say(&mut self, line: impl AsRef<str>) {
        let _ = writeln!(self.out, "{}", line.as_ref());
    }

    fn module_dir(&self, m: &str) -> PathBuf {
        self.dkms_tree.join(m)
    }

    fn version_dir(&self, mv: &ModuleVersion) -> PathBuf {
        self.dkms_tree.join(&mv.name).join(&mv.version)
    }

    fn base_dir(&self, mv: &ModuleVersion, k: &KernelTarget) -> PathBuf {
        self.version_dir(mv).join(&k.release).join(&k.arch)
    }

    fn kernel_link(&self, m: &str, k: &KernelTarget) -> PathBuf {
        self.module_dir(m)
            .join(format!("kernel-{}-{}", k.release, k.arch))
    }

    /// Checks that `path`, to be created or written, is inside the DKMS tree.
    fn in_dkms_tree(&self, path: &Path) -> Result<()> {
        trees::inside(&self.dkms_tree, path, false)
    }

    /// Checks that `path`, to be removed, is inside the DKMS tree.
    fn removable_in_dkms_tree(&self, path: &Path) -> Result<()> {
        trees::inside(&self.dkms_tree, path, true)
    }

    /// Locks the module's directory (created, inside the DKMS tree) for one operation.
    fn lock(&self, m: &str) -> Result<ModuleLock> {
        std::fs::create_dir_all(&self.dkms_tree).map_err(Error::io(&self.dkms_tree))?;
        let dir = self.module_dir(m);
        self.in_dkms_tree(&dir)?;
        std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
        Ok(ModuleLock {
            _lock: safeio::Lock::dir(&dir)?,
            dir,
        })
    }

    /// The target kernel: its files under the install tree's root, its headers from
    /// `--kernelsourcedir` when given.
    pub fn kernel(&self, k: &KernelTarget) -> InstalledKernel {
        let found = InstalledKernel::in_modules_tree(&self.install_tree, &k.release);
        match &self.kernel_source_dir {
            Some(d) => found.with_headers(d.clone()),
            None => found,
        }
    }

    /// The headers directory DKMS uses for `k` (existing or not, for messages).
    fn headers_dir(&self, k: &KernelTarget) -> PathBuf {
        let kernel = self.kernel(k);
        kernel
            .headers
            .unwrap_or_else(|| self.install_tree.join(&k.release).join("build"))
    }

    fn vars(&self, m: &str, v: &str, k: &KernelTarget) -> ConfVars {
        ConfVars {
            kernelver: k.release.clone(),
            arch: k.arch.clone(),
            kernel_source_dir: self.headers_dir(k),
            dkms_tree: self.dkms_tree.clone(),
            source_tree: self.source_tree.clone(),
            install_tree: self.install_tree.clone(),
            module: m.into(),
            module_version: v.into(),
        }
    }

    /// Read the added module's dkms.conf for a kernel (every path-forming value checked).
    pub fn read_conf(&self, mv: &ModuleVersion, k: &KernelTarget) -> Result<DkmsConf> {
        let path = self.version_dir(mv).join("source/dkms.conf");
        conf::read(
            &path,
            &self.etc_dir,
            &self.vars(&mv.name, &mv.version, k),
            self.debian_like,
        )
    }

    /// The compressed-module suffix the kernel's tree uses (from its modules.dep).
    fn module_suffix(&self, k: &KernelTarget) -> &'static str {
        let dep = std::fs::read_to_string(self.install_tree.join(&k.release).join("modules.dep"))
            .unwrap_or_default();
        if dep.contains(".ko.zst:") {
            ".ko.zst"
        } else if dep.contains(".ko.xz:") {
            ".ko.xz"
        } else if dep.contains(".ko.gz:") {
            ".ko.gz"
        } else {
            ".ko"
        }
    }

    pub fn is_added(&self, mv: &ModuleVersion) -> bool {
        let s = self.version_dir(mv).join("source");
        self.version_dir(mv).is_dir() && (s.is_symlink() || s.is_dir())
    }

    pub fn is_built(&self, mv: &ModuleVersion, k: &KernelTarget) -> bool {
        let dir = self.base_dir(mv, k).join("module");
        if !dir.is_dir() {
            return false;
        }
        match self.read_conf(mv, k) {
            Ok(c) => c
                .modules
                .iter()
                .all(|b| compressed_or_uncompressed(&dir, &b.dest_name).is_some()),
            Err(_) => false,
        }
    }

    pub fn is_installed(&self, mv: &ModuleVersion, k: &KernelTarget) -> bool {
        self.is_built(mv, k) && self.is_active(mv, k)
    }

    fn is_active(&self, mv: &ModuleVersion, k: &KernelTarget) -> bool {
        let link = self.kernel_link(&mv.name, k);
        link.is_symlink()
            && std::fs::canonicalize(&link).ok() == std::fs::canonicalize(self.base_dir(mv, k)).ok()
    }

    /// `dkms add`: register `<source_tree>/<m>-<v>`, or copy a directory holding a
    /// dkms.conf there first, as DKMS does for `dkms add DIR`.
    pub fn add(&mut self, from: AddFrom<'_>) -> Result<ModuleVersion> {
        let mv = match from {
            AddFrom::SourceTree(mv) => mv,
            AddFrom::Directory(dir) => {
                let (mv, from) = self.read_source_dir(dir)?;
                let _lock = self.lock(&mv.name)?;
                self.copy_source_dir(&mv, &from)?;
                self.add_locked(&mv)?;
                return Ok(mv);
            }
        };
        let _lock = self.lock(&mv.name)?;
        self.add_locked(&mv)?;
        Ok(mv)
    }

    fn add_locked(&mut self, mv: &ModuleVersion) -> Result<()> {
        let (m, v) = (&mv.name, &mv.version);
        if self.is_added(mv) {
            return Err(die(
                3,
                &[
                    format!("DKMS tree already contains: {m}-{v}"),
                    "You cannot add the same module/version combo more than once.".into(),
                ],
            ));
        }
        let src = self.source_tree.join(format!("{m}-{v}"));
        if !src.is_dir() {
            return Err(die(
                2,
                &[
                    "Could not find module source directory.".into(),
                    format!("Directory: {} does not exist.", src.display()),
                ],
            ));
        }
        let k = KernelTarget {
            release: uname_r(),
            arch: uname_m(),
        };
        conf::read(
            &src.join("dkms.conf"),
            &self.etc_dir,
            &self.vars(m, v, &k),
            self.debian_like,
        )?;
        let vdir = self.version_dir(mv);
        self.in_dkms_tree(&vdir.join("build"))?;
        self.in_dkms_tree(&vdir.join("source"))?;
        self.say(format!(
            "Creating symlink {}/source -> {}",
            vdir.display(),
            src.display()
        ));
        std::fs::create_dir_all(vdir.join("build")).map_err(Error::io(&vdir))?;
        std::os::unix::fs::symlink(&src, vdir.join("source"))
            .map_err(Error::io(vdir.join("source")))?;
        let c = self.read_conf(mv, &k)?;
        self.run_script("post_add", c.post_add.as_deref(), &vdir.join("source"))?;
        Ok(())
    }

    /// The name and version a source directory's dkms.conf gives (checked), and the
    /// directory resolved.
    fn read_source_dir(&mut self, dir: &Path) -> Result<(ModuleVersion, PathBuf)> {
        let from = std::fs::canonicalize(dir).map_err(Error::io(dir))?;
        if !from.join("dkms.conf").is_file() {
            return Err(die(
                9,
                &[format!("{} must contain a dkms.conf file!", dir.display())],
            ));
        }
        let k = KernelTarget {
            release: uname_r(),
            arch: uname_m(),
        };
        let vars = self.vars("", "", &k);
        let c = conf::read(
            &from.join("dkms.conf"),
            &self.etc_dir,
            &vars,
            self.debian_like,
        )
        .map_err(|e| {
            let reason = e.to_string();
            die(
                10,
                &[
                    "Malformed dkms.conf file. Cannot load source tree.".into(),
                    reason.trim_start_matches("Error! ").to_string(),
                ],
            )
        })?;
        let at = Origin::Conf {
            file: from.join("dkms.conf"),
            line: None,
        };
        let mv = ModuleVersion::new(&c.package_name, &at, &c.package_version, &at)?;
        Ok((mv, from))
    }

    /// `dkms add DIR`: its files to `<source_tree>/<name>-<version>`.
    fn copy_source_dir(&mut self, mv: &ModuleVersion, from: &Path) -> Result<()> {
        let dest = self.source_tree.join(format!("{}-{}", mv.name, mv.version));
        if from == dest {
            return Ok(());
        }
        std::fs::create_dir_all(&self.source_tree).map_err(Error::io(&self.source_tree))?;
        if self.force && dest.exists() {
            trees::inside(&self.source_tree, &dest, true)?;
            std::fs::remove_dir_all(&dest).map_err(Error::io(&dest))?;
        }
        trees::inside(&self.source_tree, &dest, false)?;
        crate::make::copy_tree(from, &dest, Path::new("/nonexistent"))
    }

    /// Run a PRE_/POST_ script as DKMS does: relative to `dir`, only if executable.
    fn run_script(&mut self, which: &str, script: Option<&str>, dir: &Path) -> Result<()> {
        let Some(script) = script else { return Ok(()) };
        let first = script.split(' ').next().unwrap_or(script);
        let exe = dir.join(first);
        let executable = std::fs::metadata(&exe).is_ok_and(|m| {
            use std::os::unix::fs::PermissionsExt;
            m.is_file() && m.permissions().mode() & 0o111 != 0
        });
        self.say("");
        if !executable {
            let _ = writeln!(
                std::io::stderr(),
                "Warning: The {which} script is not executable."
            );
            return Ok(());
        }
        self.say(format!("Running the {which} script:"));
        let status = Command::new("bash")
            .arg("-c")
            .arg(format!("exec {}", dir.join(script).display()))
            .current_dir(dir)
            .status()
            .map_err(Error::io(&exe))?;
        if !status.success() {
            return Err(die(
                101,
                &[format!(
                    "{which} script {} failed ({status})",
                    exe.display()
                )],
            ));
        }
        Ok(())
    }

    /// `dkms build` for one kernel/arch (adds the module first if needed).
    pub fn build(&mut self, mv: &ModuleVersion, k: &KernelTarget) -> Result<()> {
        let _lock = self.lock(&mv.name)?;
        self.build_locked(mv, k)
    }

    fn build_locked(&mut self, mv: &ModuleVersion, k: &KernelTarget) -> Result<()> {
        let (m, v) = (&mv.name, &mv.version);
        if self.is_built(mv, k) {
            if !self.force {
                self.say(format!("Module {m}/{v} already built for kernel {} ({}), skip. You may override by specifying --force.", k.release, k.arch));
                return Ok(());
            }
            self.unbuild_one(mv, k)?;
        }
        if !self.is_added(mv) {
            self.add_locked(mv)?;
        }
        let c = self.build_preflight(mv, k)?;
        let build = self.prepare_build_dir(mv, &c)?;
        self.run_script("pre_build", c.pre_build.as_deref(), &build)?;
        let log = self.compile(mv, k, &c, &build)?;
        self.land(mv, k, &c, &build, &log)?;
        self.run_script("post_build", c.post_build.as_deref(), &build)?;
        self.shell(&c.clean, &build, None);
        let _ = std::fs::remove_dir_all(&build);
        Ok(())
    }

    /// What must hold before a build starts: not built there yet, not excluded, sources and
    /// headers present. Returns the conf for the kernel.
    fn build_preflight(&mut self, mv: &ModuleVersion, k: &KernelTarget) -> Result<DkmsConf> {
        let (m, kr) = (&mv.name, &k.release);
        let base = self.base_dir(mv, k);
        if base.exists() {
            return Err(die(3, &[
                format!("This module/version has already been built on: {kr}"),
                format!("Directory {} already exists. Use the dkms remove function before trying to build again.", base.display()),
            ]));
        }
        let c = self.read_conf(mv, k)?;
        if c.build_exclude {
            return Err(die(9, &[
                format!("The {}/dkms.conf for module {m} includes a BUILD_EXCLUSIVE directive which does not match this kernel/arch.", base.display()),
                "This indicates that it should not be built.".into(),
            ]));
        }
        let source = self.version_dir(mv).join("source");
        if std::fs::read_dir(&source).map(|d| d.count()).unwrap_or(0) < 2 {
            return Err(die(
                8,
                &[
                    format!(
                        "The directory {} does not appear to have module source located within it.",
                        source.display()
                    ),
                    "Build halted.".into(),
                ],
            ));
        }
        let headers = self.headers_dir(k);
        if !headers.join("Makefile").is_file() {
            return Err(die(1, &[
                format!("Your kernel headers for kernel {kr} cannot be found at {}.", headers.display()),
                format!("Please install the linux-headers-{kr} package or use the --kernelsourcedir option to tell DKMS where it's located."),
            ]));
        }
        Ok(c)
    }

    /// A fresh copy of the sources in `<version>/build`, with the patches applied.
    fn prepare_build_dir(&mut self, mv: &ModuleVersion, c: &DkmsConf) -> Result<PathBuf> {
        let source = self.version_dir(mv).join("source");
        let build = self.version_dir(mv).join("build");
        self.removable_in_dkms_tree(&build)?;
        if build.exists() {
            std::fs::remove_dir_all(&build).map_err(Error::io(&build))?;
        }
        self.in_dkms_tree(&build)?;
        crate::make::copy_tree(
            &std::fs::canonicalize(&source).map_err(Error::io(&source))?,
            &build,
            Path::new("/nonexistent"),
        )?;
        for p in &c.patches {
            let patch = build.join("patches").join(p);
            if !patch.is_file() {
                return Err(die(
                    5,
                    &[
                        format!(" Patch {p} as specified in dkms.conf cannot be"),
                        format!("found in {}/patches/.", build.display()),
                    ],
                ));
            }
            self.say(format!("applying patch {p}..."));
            let ok = Command::new("patch")
                .arg("-p1")
                .stdin(std::fs::File::open(&patch).map_err(Error::io(&patch))?)
                .stdout(Stdio::null())
                .current_dir(&build)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return Err(die(
                    6,
                    &[
                        format!("Application of patch {p} failed."),
                        format!("Check {} for more information.", build.display()),
                    ],
                ));
            }
        }
        Ok(build)
    }

    /// Run the clean and make commands; every module the conf names must come out.
    /// Returns the make log.
    fn compile(
        &mut self,
        mv: &ModuleVersion,
        k: &KernelTarget,
        c: &DkmsConf,
        build: &Path,
    ) -> Result<PathBuf> {
        let (kr, a) = (&k.release, &k.arch);
        self.say("");
        self.say("Building module:");
        self.shell(&c.clean, build, None);
        let log = build.join("make.log");
        let toolchain = ToolchainVars::of(&self.headers_dir(k));
        let extra: String = toolchain
            .vars
            .iter()
            .filter(|(var, _)| !c.make_command.contains(&format!("{var}=")))
            .map(|(var, value)| format!(" {var}={}", shell_word(value)))
            .collect();
        let make = c.make_command.replacen(
            "make",
            &format!("make -j{} KERNELRELEASE={kr}{extra}", self.jobs.max(1)),
            1,
        );
        safeio::replace(
            &log,
            format!(
                "DKMS make.log for {}-{} for kernel {kr} ({a})\n",
                mv.name, mv.version
            )
            .as_bytes(),
            Some(0o644),
        )?;
        self.say(format!("{make}..."));
        if !self.shell_in(&make, build, Some(&log), toolchain.clean_env) {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let kept = self.keep_failed_log(mv, k, &log);
            return Err(die(
                10,
                &[
                    format!("Bad return status for module build on kernel: {kr} ({a})"),
                    format!("Consult {} for more information.", kept.display()),
                    format!("The build's output:\n{}", excerpt(&text)),
                ],
            ));
        }
        for b in &c.modules {
            if !build
                .join(format!("{}{}.ko", b.built_location, b.built_name))
                .is_file()
            {
                let kept = self.keep_failed_log(mv, k, &log);
                return Err(die(7, &[
                    format!(" Build of {}.ko failed for: {kr} ({a})", b.built_name),
                    "Make sure the name of the generated module is correct and at the root of the".into(),
                    format!("build directory, or consult {}.", kept.display()),
                ]));
            }
        }
        Ok(log)
    }

    /// Assemble the result in a uniquely named scratch directory beside its place; it becomes
    /// `<kernel>/<arch>` only whole.
    fn land(
        &mut self,
        mv: &ModuleVersion,
        k: &KernelTarget,
        c: &DkmsConf,
        build: &Path,
        log: &Path,
    ) -> Result<()> {
        let base = self.base_dir(mv, k);
        self.in_dkms_tree(&base)?;
        let parent = self.version_dir(mv).join(&k.release);
        std::fs::create_dir_all(&parent).map_err(Error::io(&parent))?;
        let tmp = unique_sibling(&base, "partial");
        let result = self.assemble(c, k, build, &tmp, log);
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        std::fs::rename(&tmp, &base).map_err(|e| {
            let _ = std::fs::remove_dir_all(&tmp);
            Error::io(&base)(e)
        })
    }

    /// Keep a failed build's log where `dkms status` users look for it.
    fn keep_failed_log(&self, mv: &ModuleVersion, k: &KernelTarget, log: &Path) -> PathBuf {
        let dir = self
            .version_dir(mv)
            .join("log")
            .join(format!("{}-{}", k.release, k.arch));
        let dest = dir.join("make.log");
        if self.in_dkms_tree(&dest).is_ok()
            && std::fs::create_dir_all(&dir).is_ok()
            && copy_file(log, &dest).is_ok()
        {
            dest
        } else {
            log.to_path_buf()
        }
    }

    fn assemble(
        &mut self,
        c: &DkmsConf,
        k: &KernelTarget,
        build: &Path,
        dest: &Path,
        log: &Path,
    ) -> Result<()> {
        let logdir = dest.join("log");
        let moddir = dest.join("module");
        std::fs::create_dir_all(&logdir).map_err(Error::io(&logdir))?;
        std::fs::create_dir_all(&moddir).map_err(Error::io(&moddir))?;
        let kernel = self.kernel(k);
        if let Some(kconfig) = kernel.headers.as_ref().map(|h| h.join(".config")) {
            if kconfig.is_file() {
                let _ = copy_file(&kconfig, &logdir.join(".config"));
            }
        }
        copy_file(log, &logdir.join("make.log"))?;
        let suffix = self.module_suffix(k);
        let hash = kernel
            .config_value("CONFIG_MODULE_SIG_HASH")
            .unwrap_or_else(|| "sha512".into());
        for b in &c.modules {
            let built = build.join(format!("{}{}.ko", b.built_location, b.built_name));
            if b.strip {
                // DKMS ignores a failed strip (the module is then installed unstripped).
                let _ = Command::new("strip")
                    .arg("-g")
                    .arg(&built)
                    .stderr(Stdio::null())
                    .status();
            }
            if let Some(key) = self.signing {
                self.say(format!("Signing module {}", built.display()));
                key.sign_in_place(&built, &hash)
                    .map_err(|e| die(1, &[format!("signing {} failed: {e}", built.display())]))?;
            }
            let target = moddir.join(format!("{}{suffix}", b.dest_name));
            let raw = std::fs::read(&built).map_err(Error::io(&built))?;
            let bytes = match suffix {
                // The kernel's own settings (scripts/Makefile.modinst, DKMS since 3.0.13): its
                // in-kernel decompressor (6.12's CONFIG_MODULE_DECOMPRESS) refuses xz's
                // default CRC64 check ("decompression failed with status 6", EINVAL).
                ".ko.xz" => compress(
                    "xz",
                    &["--check=crc32", "--lzma2=dict=1MiB", "-c", "-f"],
                    &raw,
                )?,
                ".ko.zst" => compress("zstd", &["-q", "-c", "-T0", "-19"], &raw)?,
                ".ko.gz" => compress("gzip", &["-9", "-c"], &raw)?,
                _ => raw,
            };
            safeio::replace(&target, &bytes, Some(0o644))?;
        }
        Ok(())
    }

    /// Run a command line with bash in `dir`; output to `log` (appended) or discarded.
    fn shell(&mut self, cmd: &str, dir: &Path, log: Option<&Path>) -> bool {
        self.shell_in(cmd, dir, log, false)
    }

    /// [`Self::shell`]; `clean_env`: with a `PATH` without rustup's directories and without
    /// rustup's and cargo's flags, as a Rust kernel's toolchain needs ([`crate::kernel`]).
    fn shell_in(&mut self, cmd: &str, dir: &Path, log: Option<&Path>, clean_env: bool) -> bool {
        let (out, err) =
            match log.and_then(|l| std::fs::OpenOptions::new().append(true).open(l).ok()) {
                Some(f) => match f.try_clone() {
                    Ok(g) => (Stdio::from(f), Stdio::from(g)),
                    Err(_) => (Stdio::null(), Stdio::null()),
                },
                None => (Stdio::null(), Stdio::null()),
            };
        let mut bash = Command::new("bash");
        if clean_env {
            crate::kernel::clean_env(&mut bash);
        }
        bash.arg("-c")
            .arg(cmd)
            .current_dir(dir)
            .env_remove("CC")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .status()
            .is_ok_and(|s| s.success())
    }

    /// `dkms install` for one kernel/arch (builds first if needed).
    pub fn install(&mut self, mv: &ModuleVersion, k: &KernelTarget) -> Result<()> {
        let _lock = self.lock(&mv.name)?;
        self.install_locked(mv, k)
    }

    fn install_locked(&mut self, mv: &ModuleVersion, k: &KernelTarget) -> Result<()> {
        let (m, v, kr, a) = (&mv.name, &mv.version, &k.release, &k.arch);
        if self.is_installed(mv, k) {
            if !self.force {
                self.say(format!("Module {m}/{v} already installed on kernel {kr} ({a}), skip. You may override by specifying --force."));
                return Ok(());
            }
            self.uninstall_one(mv, k)?;
        }
        if !self.is_built(mv, k) {
            self.build_locked(mv, k)?;
        }
        let lib_tree = self.install_tree.join(kr);
        if !lib_tree.exists() {
            return Err(die(
                6,
                &[
                    format!("The directory {} doesn't exist.", lib_tree.display()),
                    "You cannot install a module onto a non-existant kernel.".into(),
                ],
            ));
        }
        let c = self.read_conf(mv, k)?;
        let moddir = self.base_dir(mv, k).join("module");
        if self.trust_check {
            let kernel = self.kernel(k);
            for b in &c.modules {
                if let Some(built) = compressed_or_uncompressed(&moddir, &b.dest_name) {
                    if let Some(w) = sign::trust_warning(&built, &kernel) {
                        let _ = writeln!(std::io::stderr(), "Warning: {w}");
                    }
                }
            }
        }
        let source = self.version_dir(mv).join("source");
        self.run_script("pre_install", c.pre_install.as_deref(), &source)
            .or_else(|e| if self.force { Ok(()) } else { Err(e) })?;
        self.place_modules(&c, &moddir, &lib_tree)?;
        let link = self.kernel_link(m, k);
        self.removable_in_dkms_tree(&link)?;
        let tmp = unique_sibling(&link, "tmp");
        std::os::unix::fs::symlink(format!("{v}/{kr}/{a}"), &tmp).map_err(Error::io(&tmp))?;
        std::fs::rename(&tmp, &link).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(&link)(e)
        })?;
        self.run_script("post_install", c.post_install.as_deref(), &source)?;
        if let Err(e) = self.depmod(k) {
            self.uninstall_one(mv, k)?;
            return Err(die(6, &[
                format!("Problems with depmod detected ({e}). Automatically uninstalling this module."),
                "Install Failed (depmod problems). Module rolled back to built state.".into(),
            ]));
        }
        Ok(())
    }

    /// Stage every module in its place in the kernel's tree, then commit them all: on any
    /// failure nothing is left behind and the kernel's tree is as before.
    fn place_modules(&mut self, c: &DkmsConf, moddir: &Path, lib_tree: &Path) -> Result<()> {
        let mut staged = Vec::new();
        for b in &c.modules {
            self.say("");
            let Some(src) = compressed_or_uncompressed(moddir, &b.dest_name) else {
                return Err(die(
                    6,
                    &[format!(
                        "built module {} is missing from {}",
                        b.dest_name,
                        moddir.display()
                    )],
                ));
            };
            let file = src
                .file_name()
                .map(|f| f.to_os_string())
                .unwrap_or_default();
            self.say(format!("{}:", file.to_string_lossy()));
            let dest_dir = lib_tree.join(b.dest_location.trim_start_matches('/'));
            let dest = dest_dir.join(&file);
            trees::inside(&self.install_tree, &dest, false)?;
            self.say(" - Installation");
            self.say(format!("   - Installing to {}/", dest_dir.display()));
            std::fs::create_dir_all(&dest_dir).map_err(Error::io(&dest_dir))?;
            // Created directories may have moved the path: check again before writing.
            trees::inside(&self.install_tree, &dest, false)?;
            let bytes = std::fs::read(&src).map_err(Error::io(&src))?;
            staged.push(safeio::Staged::write(&dest, &bytes, Some(0o644))?);
        }
        safeio::Staged::commit_all(staged)?;
        Ok(())
    }

    fn depmod(&mut self, k: &KernelTarget) -> Result<()> {
        if self.no_depmod {
            return Ok(());
        }
        self.say("depmod...");
        sign::depmod(&self.install_tree, &k.release)
    }

    /// `dkms uninstall` for one kernel/arch.
    pub fn uninstall(&mut self, mv: &ModuleVersion, k: &KernelTarget) -> Result<()> {
        let _lock = self.lock(&mv.name)?;
        // A conf that cannot be read (or names paths outside the trees) is a refusal, not
        // "not installed".
        if self.is_added(mv) {
            self.read_conf(mv, k)?;
        }
        if !self.is_installed(mv, k) {
            self.say(format!(
                "Module {} {} is not installed for kernel {} ({}). Skipping...",
                mv.name, mv.version, k.release, k.arch
            ));
            return Ok(());
        }
        self.uninstall_one(mv, k)
    }

    fn uninstall_one(&mut self, mv: &ModuleVersion, k: &KernelTarget) -> Result<()> {
        self.say(format!(
            "Module {}-{} for kernel {} ({}).",
            mv.name, mv.version, k.release, k.arch
        ));
        let c = self.read_conf(mv, k)?;
        if self.is_active(mv, k) {
            self.say("Before uninstall, this module version was ACTIVE on this kernel.");
            self.delete_installed(&c, k)?;
            let link = self.kernel_link(&mv.name, k);
            self.removable_in_dkms_tree(&link)?;
            std::fs::remove_file(&link).map_err(Error::io(&link))?;
        } else {
            self.say("This module version was INACTIVE for this kernel.");
        }
        self.run_script(
            "post_remove",
            c.post_remove.as_deref(),
            &self.version_dir(mv).join("source"),
        )?;
        self.depmod(k)
            .map_err(|e| die(6, &[format!("depmod failed: {e}")]))?;
        Ok(())
    }

    /// Remove the installed copies of the conf's modules from the kernel's tree (and the
    /// directories the install created, when now empty).
    fn delete_installed(&mut self, c: &DkmsConf, k: &KernelTarget) -> Result<()> {
        let lib_tree = self.install_tree.join(&k.release);
        for b in &c.modules {
            self.say("");
            self.say(format!("{}.ko:", b.dest_name));
            self.say(" - Uninstallation");
            let mut found = false;
            for loc in [&b.dest_location, &b.dest_location_conf] {
                let dir = lib_tree.join(loc.trim_start_matches('/'));
                if let Some(f) = compressed_or_uncompressed(&dir, &b.dest_name) {
                    trees::inside(&self.install_tree, &f, true)?;
                    self.say(format!("   - Deleting from: {}/", dir.display()));
                    std::fs::remove_file(&f).map_err(Error::io(&f))?;
                    let mut d = dir.clone();
                    while d != lib_tree
                        && trees::inside(&lib_tree, &d, true).is_ok()
                        && std::fs::remove_dir(&d).is_ok()
                    {
                        d.pop();
                    }
                    found = true;
                    break;
                }
            }
            if !found {
                self.say(format!(
                    "   - Module was not found within {}/",
                    lib_tree.display()
                ));
            }
        }
        Ok(())
    }

    /// `dkms unbuild` for one kernel/arch (uninstalls first).
    pub fn unbuild(&mut self, mv: &ModuleVersion, k: &KernelTarget) -> Result<()> {
        let _lock = self.lock(&mv.name)?;
        if self.is_added(mv) {
            self.read_conf(mv, k)?;
        }
        if self.is_installed(mv, k) {
            self.uninstall_one(mv, k)?;
        }
        if !self.is_built(mv, k) {
            self.say(format!(
                "Module {} {} is not built for kernel {} ({}). Skipping...",
                mv.name, mv.version, k.release, k.arch
            ));
            return Ok(());
        }
        self.unbuild_one(mv, k)
    }

    fn unbuild_one(&mut self, mv: &ModuleVersion, k: &KernelTarget) -> Result<()> {
        let base = self.base_dir(mv, k);
        self.removable_in_dkms_tree(&base)?;
        std::fs::remove_dir_all(&base).map_err(Error::io(&base))?;
        let kdir = self.version_dir(mv).join(&k.release);
        if subdirs(&kdir).is_empty() && self.removable_in_dkms_tree(&kdir).is_ok() {
            let _ = std::fs::remove_dir_all(&kdir);
        }
        Ok(())
    }

    /// `dkms remove` for the given kernels (uninstall, unbuild), then drop the version when
    /// no kernel uses it any more.
    pub fn remove(&mut self, mv: &ModuleVersion, kernels: &[KernelTarget]) -> Result<()> {
        let (m, v) = (&mv.name, &mv.version);
        let _lock = self.lock(m)?;
        if !self.is_added(mv) {
            return Err(die(
                3,
                &[format!(
                    "The module/version combo: {m}-{v} is not located in the DKMS tree."
                )],
            ));
        }
        for k in kernels {
            // A conf that cannot be read (or names paths outside the trees) stops here, before
            // anything of this version is deleted.
            self.read_conf(mv, k)?;
            if self.is_installed(mv, k) {
                self.uninstall_one(mv, k)?;
            } else {
                self.say(format!(
                    "Module {m} {v} is not installed for kernel {} ({}). Skipping...",
                    k.release, k.arch
                ));
            }
            if self.is_built(mv, k) {
                self.unbuild_one(mv, k)?;
            } else {
                self.say(format!(
                    "Module {m} {v} is not built for kernel {} ({}). Skipping...",
                    k.release, k.arch
                ));
            }
        }
        let vdir = self.version_dir(mv);
        let busy = subdirs(&vdir).iter().any(|d| {
            ![
                "build",
                "tarball",
                "driver_disk",
                "rpm",
                "deb",
                "source",
                "log",
            ]
            .contains(&d.as_str())
        });
        if !busy {
            self.say(format!(
                "Deleting module {m}-{v} completely from the DKMS tree."
            ));
            self.removable_in_dkms_tree(&vdir)?;
            std::fs::remove_dir_all(&vdir).map_err(Error::io(&vdir))?;
        }
        Ok(())
    }

    /// Every kernel/arch a module/version is built for.
    pub fn built_kernels(&self, mv: &ModuleVersion) -> Vec<KernelTarget> {
        let vdir = self.version_dir(mv);
        let mut out = Vec::new();
        for kr in subdirs(&vdir) {
            if !kr.starts_with(|c: char| c.is_ascii_digit()) || !kr.contains('.') {
                continue;
            }
            for a in subdirs(&vdir.join(&kr)) {
                let k = KernelTarget {
                    release: kr.clone(),
                    arch: a,
                };
                if self.is_built(mv, &k) {
                    out.push(k);
                }
            }
        }
        out
    }

    /// `dkms status [-m M [-v V]] [-k K[/A]]`: DKMS's lines, in its order.
    pub fn status(&self, m: Option<&str>, v: Option<&str>, k: Option<(&str, &str)>) -> Vec<Status> {
        let mut out = Vec::new();
        let modules: Vec<String> = match m {
            Some(m) => vec![m.to_string()],
            None => subdirs(&self.dkms_tree),
        };
        for m in &modules {
            let versions: Vec<String> = match v {
                Some(v) => vec![v.to_string()],
                None => subdirs(&self.module_dir(m)),
            };
            for v in &versions {
                let mv = ModuleVersion {
                    name: m.clone(),
                    version: v.clone(),
                };
                if !self.is_added(&mv) {
                    continue;
                }
                let mut any = false;
                for bk in self.built_kernels(&mv) {
                    if let Some((fk, fa)) = k {
                        if fk != bk.release || (!fa.is_empty() && fa != bk.arch) {
                            continue;
                        }
                    }
                    any = true;
                    let installed = self.is_active(&mv, &bk);
                    let extra = self.status_extra(&mv, &bk, installed);
                    out.push(Status {
                        module: mv.clone(),
                        state: if installed {
                            State::Installed
                        } else {
                            State::Built
                        },
                        kernel: Some(bk),
                        extra,
                    });
                }
                if !any {
                    out.push(Status {
                        module: mv,
                        kernel: None,
                        state: State::Added,
                        extra: String::new(),
                    });
                }
            }
        }
        out
    }

    fn status_extra(&self, mv: &ModuleVersion, k: &KernelTarget, installed: bool) -> String {
        let mut extra = String::new();
        if self
            .module_dir(&mv.name)
            .join("original_module")
            .join(&k.release)
            .join(&k.arch)
            .is_dir()
        {
            extra.push_str(" (original_module exists)");
        }
        let Ok(c) = self.read_conf(mv, k) else {
            return extra;
        };
        for b in &c.modules {
            let Some(tree_mod) =
                compressed_or_uncompressed(&self.base_dir(mv, k).join("module"), &b.dest_name)
            else {
                extra.push_str(" (WARNING! Missing some built modules!)");
                continue;
            };
            if installed {
                let dir = self
                    .install_tree
                    .join(&k.release)
                    .join(b.dest_location.trim_start_matches('/'));
                let same = compressed_or_uncompressed(&dir, &b.dest_name)
                    .is_some_and(|inst| std::fs::read(&inst).ok() == std::fs::read(&tree_mod).ok());
                if !same {
                    extra.push_str(" (WARNING! Diff between built and installed module!)");
                }
            }
        }
        extra
    }

    /// `dkms match --templatekernel T -k K`: install on `k` every module version that is
    /// installed (active) on the template kernel `t`, building it first where needed.
    /// Returns the failures (module/version, error); the others are installed.
    pub fn match_kernel(
        &mut self,
        template: &str,
        k: &KernelTarget,
    ) -> Vec<(ModuleVersion, Error)> {
        let t = KernelTarget {
            release: template.to_string(),
            arch: k.arch.clone(),
        };
        self.say(format!(
            "Matching modules in kernel: {} ({}) to the configuration of template kernel: {} ({}).",
            k.release, k.arch, t.release, t.arch
        ));
        let mut failed = Vec::new();
        for m in subdirs(&self.dkms_tree) {
            // The template's link names the version: `<v>/<t>/<a>`.
            let Ok(target) = std::fs::read_link(self.kernel_link(&m, &t)) else {
                continue;
            };
            let Some(v) = target
                .components()
                .next()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
            else {
                continue;
            };
            let mv = ModuleVersion {
                name: m,
                version: v,
            };
            if trees::component(
                "version",
                &mv.version,
                &Origin::CommandLine("--templatekernel"),
            )
            .is_err()
                || !self.is_active(&mv, &t)
            {
                continue;
            }
            if let Err(e) = self.install(&mv, k) {
                failed.push((mv, e));
            }
        }
        failed
    }

    /// `dkms autoinstall` for one kernel: install the newest version of every added module
    /// with AUTOINSTALL set that is not installed yet, dependencies (BUILD_DEPENDS) first.
    /// Goes on past failures; returns the modules that failed with why.
    pub fn autoinstall(&mut self, k: &KernelTarget) -> Vec<(ModuleVersion, Error)> {
        let (mut candidates, mut installed) = self.autoinstall_candidates(k);
        let mut failed = Vec::new();
        loop {
            let mut progress = false;
            let mut next = Vec::new();
            for (mv, deps) in candidates {
                if deps
                    .iter()
                    .all(|d| installed.contains(d) || !self.module_dir(d).exists())
                {
                    progress = true;
                    match self.install(&mv, k) {
                        Ok(()) => installed.push(mv.name),
                        Err(e) => failed.push((mv, e)),
                    }
                } else {
                    next.push((mv, deps));
                }
            }
            candidates = next;
            if candidates.is_empty() || !progress {
                break;
            }
        }
        for (mv, deps) in candidates {
            failed.push((
                mv,
                die(
                    1,
                    &[format!(
                        "not installed: it needs {} which could not be installed",
                        deps.join(", ")
                    )],
                ),
            ));
        }
        failed
    }

    /// For autoinstall: the newest AUTOINSTALL version of each module not installed on `k`
    /// (with its BUILD_DEPENDS), and the modules that are installed there.
    #[allow(clippy::type_complexity)]
    fn autoinstall_candidates(
        &self,
        k: &KernelTarget,
    ) -> (Vec<(ModuleVersion, Vec<String>)>, Vec<String>) {
        let mut candidates = Vec::new();
        let mut installed = Vec::new();
        for m in subdirs(&self.dkms_tree) {
            let mut best: Option<(String, Vec<String>)> = None;
            let mut done = false;
            for v in subdirs(&self.module_dir(&m)) {
                let mv = ModuleVersion {
                    name: m.clone(),
                    version: v.clone(),
                };
                if !self.is_added(&mv) {
                    continue;
                }
                if self.is_installed(&mv, k) {
                    done = true;
                    continue;
                }
                let Ok(c) = self.read_conf(&mv, k) else {
                    continue;
                };
                if !c.autoinstall {
                    continue;
                }
                if best
                    .as_ref()
                    .is_none_or(|(bv, _)| version_cmp(&v, bv).is_gt())
                {
                    best = Some((v, c.build_depends));
                }
            }
            if done {
                installed.push(m);
            } else if let Some((v, deps)) = best {
                candidates.push((
                    ModuleVersion {
                        name: m,
                        version: v,
                    },
                    deps,
                ));
            }
        }
        (candidates, installed)
    }
}

fn compress(tool: &str, args: &[&str], data: &[u8]) -> Result<Vec<u8>> {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(Error::io(tool))?;
    let mut stdin = child.stdin.take().expect("piped");
    let data = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().map_err(Error::io(tool))?;
    let _ = writer.join();
    if !out.status.success() {
        return Err(die(1, &[format!("{tool} failed ({})", out.status)]));
    }
    Ok(out.stdout)
}

/// DKMS's error when an action needs a module and version and none was given.
pub fn module_args_error(action: &str) -> Error {
    die(
        1,
        &[
            "Arguments <module> and <module-version> are not specified.".into(),
            format!("Usage: {action} <module>/<module-version> or"),
            format!("       {action} -m <module>/<module-version> or"),
            format!("       {action} -m <module> -v <module-version>"),
        ],
    )
}

/// `uname -r` of the running kernel.
pub fn uname_r() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// `uname -m` of this machine.
pub fn uname_m() -> String {
    match std::env::consts::ARCH {
        "x86" => "i686".into(),
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le".into(),
        other => other.into(),
    }
}

/// Whether this is a Debian or Ubuntu system (`/etc/os-release` ID or ID_LIKE).
pub fn debian_like() -> bool {
    std::fs::read_to_string("/etc/os-release").is_ok_and(|t| {
        t.lines().any(|l| {
            (l.starts_with("ID=") || l.starts_with("ID_LIKE="))
                && (l.contains("debian") || l.contains("ubuntu"))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::{shell_word, version_cmp, ToolchainVars};
    use std::cmp::Ordering;

    #[test]
    fn a_rust_kernel_tree_gives_its_toolchain_others_nothing() {
        let d = tempfile::tempdir().unwrap();
        let t = ToolchainVars::of(d.path());
        assert!(t.vars.is_empty() && !t.clean_env);
        std::fs::write(
            d.path().join(crate::kernel::TOOLCHAIN_FILE),
            "LLVM=1\nRUSTC=/usr/bin/rustc\n",
        )
        .unwrap();
        let t = ToolchainVars::of(d.path());
        assert!(t.clean_env);
        assert_eq!(
            t.vars,
            [
                ("LLVM".to_string(), "1".to_string()),
                ("RUSTC".to_string(), "/usr/bin/rustc".to_string())
            ]
        );
    }

    #[test]
    fn shell_words() {
        assert_eq!(
            shell_word("/usr/src/rustc-1.96.0/library"),
            "/usr/src/rustc-1.96.0/library"
        );
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(version_cmp("1.10", "1.9"), Ordering::Greater);
        assert_eq!(version_cmp("0.12.7", "0.12.7"), Ordering::Equal);
        assert_eq!(version_cmp("2.0", "10.0"), Ordering::Less);
    }
}
