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

use crate::conf::{self, ConfVars, DkmsConf};
use crate::make::excerpt;
use crate::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Signs a built module file in place with the given hash algorithm.
pub type SignFn<'a> = dyn Fn(&Path, &str) -> std::result::Result<(), String> + Sync + 'a;
/// Regenerates the module indexes of `<install_tree>/<kernel>`.
pub type DepmodFn<'a> = dyn Fn(&Path, &str) -> std::result::Result<(), String> + 'a;
/// Before install: a warning when the target kernel will not trust the module's signature.
pub type TrustFn<'a> = dyn Fn(&Path, &str) -> Option<String> + 'a;

/// Steps the caller provides: signing and indexing belong to other crates.
pub struct Hooks<'a> {
    /// Sign a built module file in place with the given hash algorithm.
    pub sign: Option<&'a SignFn<'a>>,
    /// Regenerate the module indexes of `<install_tree>/<kernel>`.
    pub depmod: &'a DepmodFn<'a>,
    /// Before install: a warning when the target kernel will not trust the signature.
    pub trust_warning: Option<&'a TrustFn<'a>>,
}

/// Where DKMS keeps things, and how it behaves.
pub struct Dkms<'a> {
    pub dkms_tree: PathBuf,
    pub source_tree: PathBuf,
    pub install_tree: PathBuf,
    /// Per-module dkms.conf overrides (`/etc/dkms`).
    pub etc_dir: PathBuf,
    /// `--kernelsourcedir`: the headers for every kernel (else `<install_tree>/<k>/build`).
    pub kernel_source_dir: Option<PathBuf>,
    /// Debian and Ubuntu install into `/updates/dkms` whatever dkms.conf says.
    pub debian_like: bool,
    pub jobs: usize,
    pub force: bool,
    pub no_depmod: bool,
    pub hooks: Hooks<'a>,
    /// Progress messages (DKMS prints them on stdout).
    pub out: &'a mut dyn Write,
}

/// One state line of `dkms status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    Added,
    Built,
    Installed,
}

/// A module/version, optionally for a kernel/arch, and its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub module: String,
    pub version: String,
    pub kernel: Option<(String, String)>,
    pub state: State,
    /// DKMS's remarks, e.g. " (WARNING! Diff between built and installed module!)".
    pub extra: String,
}

impl Status {
    /// The line `dkms status` prints.
    pub fn line(&self) -> String {
        match (&self.kernel, &self.state) {
            (None, _) | (_, State::Added) => format!("{}/{}: added", self.module, self.version),
            (Some((k, a)), s) => format!(
                "{}/{}, {k}, {a}: {}{}",
                self.module,
                self.version,
                if *s == State::Installed {
                    "installed"
                } else {
                    "built"
                },
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

fn is_dir(p: &Path) -> bool {
    p.is_dir()
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

impl Dkms<'_> {
    fn say(&mut self, line: impl AsRef<str>) {
        let _ = writeln!(self.out, "{}", line.as_ref());
    }

    fn module_dir(&self, m: &str) -> PathBuf {
        self.dkms_tree.join(m)
    }

    fn version_dir(&self, m: &str, v: &str) -> PathBuf {
        self.dkms_tree.join(m).join(v)
    }

    fn base_dir(&self, m: &str, v: &str, k: &str, a: &str) -> PathBuf {
        self.version_dir(m, v).join(k).join(a)
    }

    fn kernel_link(&self, m: &str, k: &str, a: &str) -> PathBuf {
        self.module_dir(m).join(format!("kernel-{k}-{a}"))
    }

    fn headers_dir(&self, k: &str) -> PathBuf {
        self.kernel_source_dir
            .clone()
            .unwrap_or_else(|| self.install_tree.join(k).join("build"))
    }

    fn vars(&self, m: &str, v: &str, k: &str, a: &str) -> ConfVars {
        ConfVars {
            kernelver: k.into(),
            arch: a.into(),
            kernel_source_dir: self.headers_dir(k),
            dkms_tree: self.dkms_tree.clone(),
            source_tree: self.source_tree.clone(),
            install_tree: self.install_tree.clone(),
            module: m.into(),
            module_version: v.into(),
        }
    }

    /// Read the added module's dkms.conf for a kernel.
    pub fn read_conf(&self, m: &str, v: &str, k: &str, a: &str) -> Result<DkmsConf> {
        let path = self.version_dir(m, v).join("source/dkms.conf");
        conf::read(
            &path,
            &self.etc_dir,
            &self.vars(m, v, k, a),
            self.debian_like,
        )
    }

    /// The compressed-module suffix the kernel's tree uses (from its modules.dep).
    fn module_suffix(&self, k: &str) -> &'static str {
        let dep = std::fs::read_to_string(self.install_tree.join(k).join("modules.dep"))
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

    pub fn is_added(&self, m: &str, v: &str) -> bool {
        let s = self.version_dir(m, v).join("source");
        is_dir(&self.version_dir(m, v)) && (s.is_symlink() || s.is_dir())
    }

    pub fn is_built(&self, m: &str, v: &str, k: &str, a: &str) -> bool {
        let dir = self.base_dir(m, v, k, a).join("module");
        if !dir.is_dir() {
            return false;
        }
        match self.read_conf(m, v, k, a) {
            Ok(c) => c
                .modules
                .iter()
                .all(|b| compressed_or_uncompressed(&dir, &b.dest_name).is_some()),
            Err(_) => false,
        }
    }

    pub fn is_installed(&self, m: &str, v: &str, k: &str, a: &str) -> bool {
        self.is_built(m, v, k, a) && self.is_active(m, v, k, a)
    }

    fn is_active(&self, m: &str, v: &str, k: &str, a: &str) -> bool {
        let link = self.kernel_link(m, k, a);
        link.is_symlink()
            && std::fs::canonicalize(&link).ok()
                == std::fs::canonicalize(self.base_dir(m, v, k, a)).ok()
    }

    /// `dkms add`: register `<source_tree>/<m>-<v>` (or copy a given source directory there
    /// first, as DKMS does for `dkms add DIR`). Returns (module, version).
    pub fn add(
        &mut self,
        m: Option<&str>,
        v: Option<&str>,
        from: Option<&Path>,
    ) -> Result<(String, String)> {
        let (m, v) = match (m, v, from) {
            (Some(m), Some(v), _) => (m.to_string(), v.to_string()),
            (_, _, Some(dir)) => self.add_source_tree(dir)?,
            _ => return Err(module_args_error("add")),
        };
        if self.is_added(&m, &v) {
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
        let k = uname_r();
        let a = uname_m();
        conf::read(
            &src.join("dkms.conf"),
            &self.etc_dir,
            &self.vars(&m, &v, &k, &a),
            self.debian_like,
        )?;
        let vdir = self.version_dir(&m, &v);
        self.say(format!(
            "Creating symlink {}/source -> {}",
            vdir.display(),
            src.display()
        ));
        std::fs::create_dir_all(vdir.join("build")).map_err(Error::io(&vdir))?;
        std::os::unix::fs::symlink(&src, vdir.join("source"))
            .map_err(Error::io(vdir.join("source")))?;
        let c = self.read_conf(&m, &v, &k, &a)?;
        self.run_script("post_add", c.post_add.as_deref(), &vdir.join("source"))?;
        Ok((m, v))
    }

    fn add_source_tree(&mut self, dir: &Path) -> Result<(String, String)> {
        let from = std::fs::canonicalize(dir).map_err(Error::io(dir))?;
        if !from.join("dkms.conf").is_file() {
            return Err(die(
                9,
                &[format!("{} must contain a dkms.conf file!", dir.display())],
            ));
        }
        let vars = self.vars("", "", &uname_r(), &uname_m());
        let c = conf::read(
            &from.join("dkms.conf"),
            &self.etc_dir,
            &vars,
            self.debian_like,
        )
        .map_err(|_| {
            die(
                10,
                &["Malformed dkms.conf file. Cannot load source tree.".into()],
            )
        })?;
        let (m, v) = (c.package_name, c.package_version);
        let dest = self.source_tree.join(format!("{m}-{v}"));
        if from != dest {
            if self.force && dest.exists() {
                std::fs::remove_dir_all(&dest).map_err(Error::io(&dest))?;
            }
            crate::make::copy_tree(&from, &dest, Path::new("/nonexistent"))?;
        }
        Ok((m, v))
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
    pub fn build(&mut self, m: &str, v: &str, k: &str, a: &str) -> Result<()> {
        if self.is_built(m, v, k, a) {
            if !self.force {
                self.say(format!("Module {m}/{v} already built for kernel {k} ({a}), skip. You may override by specifying --force."));
                return Ok(());
            }
            self.unbuild_one(m, v, k, a)?;
        }
        if !self.is_added(m, v) {
            self.add(Some(m), Some(v), None)?;
        }
        let base = self.base_dir(m, v, k, a);
        if base.exists() {
            return Err(die(3, &[
                format!("This module/version has already been built on: {k}"),
                format!("Directory {} already exists. Use the dkms remove function before trying to build again.", base.display()),
            ]));
        }
        let c = self.read_conf(m, v, k, a)?;
        if c.build_exclude {
            return Err(die(9, &[
                format!("The {}/dkms.conf for module {m} includes a BUILD_EXCLUSIVE directive which does not match this kernel/arch.", base.display()),
                "This indicates that it should not be built.".into(),
            ]));
        }
        let source = self.version_dir(m, v).join("source");
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
                format!("Your kernel headers for kernel {k} cannot be found at {}.", headers.display()),
                format!("Please install the linux-headers-{k} package or use the --kernelsourcedir option to tell DKMS where it's located."),
            ]));
        }
        let build = self.version_dir(m, v).join("build");
        if build.exists() {
            std::fs::remove_dir_all(&build).map_err(Error::io(&build))?;
        }
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
        self.run_script("pre_build", c.pre_build.as_deref(), &build)?;

        self.say("");
        self.say("Building module:");
        self.shell(&c.clean, &build, None);
        let log = build.join("make.log");
        let make = c.make_command.replacen(
            "make",
            &format!("make -j{} KERNELRELEASE={k}", self.jobs.max(1)),
            1,
        );
        {
            let mut f = std::fs::File::create(&log).map_err(Error::io(&log))?;
            let _ = writeln!(f, "DKMS make.log for {m}-{v} for kernel {k} ({a})");
        }
        self.say(format!("{make}..."));
        if !self.shell(&make, &build, Some(&log)) {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let kept = self.keep_failed_log(m, v, k, a, &log);
            return Err(die(
                10,
                &[
                    format!("Bad return status for module build on kernel: {k} ({a})"),
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
                let kept = self.keep_failed_log(m, v, k, a, &log);
                return Err(die(7, &[
                    format!(" Build of {}.ko failed for: {k} ({a})", b.built_name),
                    "Make sure the name of the generated module is correct and at the root of the".into(),
                    format!("build directory, or consult {}.", kept.display()),
                ]));
            }
        }

        // Assemble the result in a scratch directory; it becomes <kernel>/<arch> only whole.
        let parent = base.parent().expect("base has a parent").to_path_buf();
        std::fs::create_dir_all(&parent).map_err(Error::io(&parent))?;
        let tmp = parent.join(format!(".{a}.partial"));
        let _ = std::fs::remove_dir_all(&tmp);
        let result = self.assemble(&c, k, &build, &tmp, &log);
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        std::fs::rename(&tmp, &base).map_err(Error::io(&base))?;
        self.run_script("post_build", c.post_build.as_deref(), &build)?;
        self.shell(&c.clean, &build, None);
        let _ = std::fs::remove_dir_all(&build);
        Ok(())
    }

    /// Keep a failed build's log where `dkms status` users look for it.
    fn keep_failed_log(&self, m: &str, v: &str, k: &str, a: &str, log: &Path) -> PathBuf {
        let dir = self.version_dir(m, v).join("log").join(format!("{k}-{a}"));
        let dest = dir.join("make.log");
        if std::fs::create_dir_all(&dir).is_ok() && std::fs::copy(log, &dest).is_ok() {
            dest
        } else {
            log.to_path_buf()
        }
    }

    fn assemble(
        &mut self,
        c: &DkmsConf,
        k: &str,
        build: &Path,
        dest: &Path,
        log: &Path,
    ) -> Result<()> {
        let logdir = dest.join("log");
        let moddir = dest.join("module");
        std::fs::create_dir_all(&logdir).map_err(Error::io(&logdir))?;
        std::fs::create_dir_all(&moddir).map_err(Error::io(&moddir))?;
        let kconfig = self.headers_dir(k).join(".config");
        if kconfig.is_file() {
            let _ = std::fs::copy(&kconfig, logdir.join(".config"));
        }
        std::fs::copy(log, logdir.join("make.log")).map_err(Error::io(log))?;
        let suffix = self.module_suffix(k);
        let hash = crate::headers::Headers {
            release: k.into(),
            dir: self.headers_dir(k),
        }
        .config("CONFIG_MODULE_SIG_HASH")
        .unwrap_or_else(|| "sha512".into());
        for b in &c.modules {
            let built = build.join(format!("{}{}.ko", b.built_location, b.built_name));
            if b.strip {
                let _ = Command::new("strip").arg("-g").arg(&built).status();
            }
            if let Some(sign) = self.hooks.sign {
                self.say(format!("Signing module {}", built.display()));
                sign(&built, &hash)
                    .map_err(|e| die(1, &[format!("signing {} failed: {e}", built.display())]))?;
            }
            let target = moddir.join(format!("{}{suffix}", b.dest_name));
            let raw = std::fs::read(&built).map_err(Error::io(&built))?;
            let bytes = match suffix {
                ".ko.xz" => compress("xz", &["-c", "-f"], &raw)?,
                ".ko.zst" => compress("zstd", &["-q", "-c", "-T0", "-19"], &raw)?,
                ".ko.gz" => compress("gzip", &["-9", "-c"], &raw)?,
                _ => raw,
            };
            std::fs::write(&target, bytes).map_err(Error::io(&target))?;
        }
        Ok(())
    }

    /// Run a command line with bash in `dir`; output to `log` (appended) or discarded.
    fn shell(&mut self, cmd: &str, dir: &Path, log: Option<&Path>) -> bool {
        let (out, err) =
            match log.and_then(|l| std::fs::OpenOptions::new().append(true).open(l).ok()) {
                Some(f) => match f.try_clone() {
                    Ok(g) => (Stdio::from(f), Stdio::from(g)),
                    Err(_) => (Stdio::null(), Stdio::null()),
                },
                None => (Stdio::null(), Stdio::null()),
            };
        Command::new("bash")
            .arg("-c")
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
    pub fn install(&mut self, m: &str, v: &str, k: &str, a: &str) -> Result<()> {
        if self.is_installed(m, v, k, a) {
            if !self.force {
                self.say(format!("Module {m}/{v} already installed on kernel {k} ({a}), skip. You may override by specifying --force."));
                return Ok(());
            }
            self.uninstall_one(m, v, k, a)?;
        }
        if !self.is_built(m, v, k, a) {
            self.build(m, v, k, a)?;
        }
        let lib_tree = self.install_tree.join(k);
        if !lib_tree.exists() {
            return Err(die(
                6,
                &[
                    format!("The directory {} doesn't exist.", lib_tree.display()),
                    "You cannot install a module onto a non-existant kernel.".into(),
                ],
            ));
        }
        let c = self.read_conf(m, v, k, a)?;
        let moddir = self.base_dir(m, v, k, a).join("module");
        if let Some(check) = self.hooks.trust_warning {
            for b in &c.modules {
                if let Some(built) = compressed_or_uncompressed(&moddir, &b.dest_name) {
                    if let Some(w) = check(&built, k) {
                        let _ = writeln!(std::io::stderr(), "Warning: {w}");
                    }
                }
            }
        }
        self.run_script(
            "pre_install",
            c.pre_install.as_deref(),
            &self.version_dir(m, v).join("source"),
        )
        .or_else(|e| if self.force { Ok(()) } else { Err(e) })?;
        // Copy every module to a temporary name, then rename them all: on any failure the
        // copies made so far are removed and the kernel's tree is as before.
        let mut placed: Vec<(PathBuf, PathBuf)> = Vec::new();
        let mut result = Ok(());
        for b in &c.modules {
            self.say("");
            let Some(src) = compressed_or_uncompressed(&moddir, &b.dest_name) else {
                result = Err(die(
                    6,
                    &[format!(
                        "built module {} is missing from {}",
                        b.dest_name,
                        moddir.display()
                    )],
                ));
                break;
            };
            let file = src.file_name().expect("a module file").to_owned();
            self.say(format!("{}:", file.to_string_lossy()));
            let dest_dir = lib_tree.join(b.dest_location.trim_start_matches('/'));
            self.say(" - Installation");
            self.say(format!("   - Installing to {}/", dest_dir.display()));
            let tmp = dest_dir.join(format!(".{}.dkms-new", file.to_string_lossy()));
            let step = std::fs::create_dir_all(&dest_dir)
                .and_then(|_| std::fs::copy(&src, &tmp).map(|_| ()))
                .map_err(Error::io(&tmp));
            if let Err(e) = step {
                result = Err(e);
                break;
            }
            placed.push((tmp, dest_dir.join(file)));
        }
        if result.is_ok() {
            for (tmp, dest) in &placed {
                if let Err(e) = std::fs::rename(tmp, dest) {
                    result = Err(Error::io(dest.clone())(e));
                    break;
                }
            }
        }
        if let Err(e) = result {
            for (tmp, _) in &placed {
                let _ = std::fs::remove_file(tmp);
            }
            return Err(e);
        }
        let link = self.kernel_link(m, k, a);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(format!("{v}/{k}/{a}"), &link).map_err(Error::io(&link))?;
        self.run_script(
            "post_install",
            c.post_install.as_deref(),
            &self.version_dir(m, v).join("source"),
        )?;
        if let Err(e) = self.depmod(k) {
            self.uninstall_one(m, v, k, a)?;
            return Err(die(6, &[
                format!("Problems with depmod detected ({e}). Automatically uninstalling this module."),
                "Install Failed (depmod problems). Module rolled back to built state.".into(),
            ]));
        }
        Ok(())
    }

    fn depmod(&mut self, k: &str) -> std::result::Result<(), String> {
        if self.no_depmod {
            return Ok(());
        }
        self.say("depmod...");
        (self.hooks.depmod)(&self.install_tree, k)
    }

    /// `dkms uninstall` for one kernel/arch.
    pub fn uninstall(&mut self, m: &str, v: &str, k: &str, a: &str) -> Result<()> {
        if !self.is_installed(m, v, k, a) {
            self.say(format!(
                "Module {m} {v} is not installed for kernel {k} ({a}). Skipping..."
            ));
            return Ok(());
        }
        self.uninstall_one(m, v, k, a)
    }

    fn uninstall_one(&mut self, m: &str, v: &str, k: &str, a: &str) -> Result<()> {
        self.say(format!("Module {m}-{v} for kernel {k} ({a})."));
        let c = self.read_conf(m, v, k, a)?;
        if self.is_active(m, v, k, a) {
            self.say("Before uninstall, this module version was ACTIVE on this kernel.");
            let lib_tree = self.install_tree.join(k);
            for b in &c.modules {
                self.say("");
                self.say(format!("{}.ko:", b.dest_name));
                self.say(" - Uninstallation");
                let mut found = false;
                for loc in [&b.dest_location, &b.dest_location_conf] {
                    let dir = lib_tree.join(loc.trim_start_matches('/'));
                    if let Some(f) = compressed_or_uncompressed(&dir, &b.dest_name) {
                        self.say(format!("   - Deleting from: {}/", dir.display()));
                        std::fs::remove_file(&f).map_err(Error::io(&f))?;
                        // Remove the directories the install created, if now empty.
                        let mut d = dir.clone();
                        while d != lib_tree && std::fs::remove_dir(&d).is_ok() {
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
            let link = self.kernel_link(m, k, a);
            std::fs::remove_file(&link).map_err(Error::io(&link))?;
        } else {
            self.say("This module version was INACTIVE for this kernel.");
        }
        self.run_script(
            "post_remove",
            c.post_remove.as_deref(),
            &self.version_dir(m, v).join("source"),
        )?;
        self.depmod(k)
            .map_err(|e| die(6, &[format!("depmod failed: {e}")]))?;
        Ok(())
    }

    /// `dkms unbuild` for one kernel/arch (uninstalls first).
    pub fn unbuild(&mut self, m: &str, v: &str, k: &str, a: &str) -> Result<()> {
        if self.is_installed(m, v, k, a) {
            self.uninstall_one(m, v, k, a)?;
        }
        if !self.is_built(m, v, k, a) {
            self.say(format!(
                "Module {m} {v} is not built for kernel {k} ({a}). Skipping..."
            ));
            return Ok(());
        }
        self.unbuild_one(m, v, k, a)
    }

    fn unbuild_one(&mut self, m: &str, v: &str, k: &str, a: &str) -> Result<()> {
        let base = self.base_dir(m, v, k, a);
        std::fs::remove_dir_all(&base).map_err(Error::io(&base))?;
        let kdir = self.version_dir(m, v).join(k);
        if subdirs(&kdir).is_empty() {
            let _ = std::fs::remove_dir_all(&kdir);
        }
        Ok(())
    }

    /// `dkms remove` for the given kernels (uninstall, unbuild), then drop the version when
    /// no kernel uses it any more.
    pub fn remove(&mut self, m: &str, v: &str, kernels: &[(String, String)]) -> Result<()> {
        if !self.is_added(m, v) {
            return Err(die(
                3,
                &[format!(
                    "The module/version combo: {m}-{v} is not located in the DKMS tree."
                )],
            ));
        }
        for (k, a) in kernels {
            if self.is_installed(m, v, k, a) {
                self.uninstall_one(m, v, k, a)?;
            } else {
                self.say(format!(
                    "Module {m} {v} is not installed for kernel {k} ({a}). Skipping..."
                ));
            }
            if self.is_built(m, v, k, a) {
                self.unbuild_one(m, v, k, a)?;
            } else {
                self.say(format!(
                    "Module {m} {v} is not built for kernel {k} ({a}). Skipping..."
                ));
            }
        }
        let vdir = self.version_dir(m, v);
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
            std::fs::remove_dir_all(&vdir).map_err(Error::io(&vdir))?;
        }
        let mdir = self.module_dir(m);
        if std::fs::read_dir(&mdir)
            .map(|d| d.count() == 0)
            .unwrap_or(false)
        {
            let _ = std::fs::remove_dir(&mdir);
        }
        Ok(())
    }

    /// Every (kernel, arch) a module/version is built for.
    pub fn built_kernels(&self, m: &str, v: &str) -> Vec<(String, String)> {
        let vdir = self.version_dir(m, v);
        let mut out = Vec::new();
        for k in subdirs(&vdir) {
            if !k.starts_with(|c: char| c.is_ascii_digit()) || !k.contains('.') {
                continue;
            }
            for a in subdirs(&vdir.join(&k)) {
                if self.is_built(m, v, &k, &a) {
                    out.push((k.clone(), a));
                }
            }
        }
        out
    }

    /// `dkms status [-m M [-v V]] [-k K]`: DKMS's lines, in its order.
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
                if !self.is_added(m, v) {
                    continue;
                }
                let mut any = false;
                for (bk, ba) in self.built_kernels(m, v) {
                    if let Some((fk, fa)) = k {
                        if fk != bk || (!fa.is_empty() && fa != ba) {
                            continue;
                        }
                    }
                    any = true;
                    let installed = self.is_active(m, v, &bk, &ba);
                    let extra = self.status_extra(m, v, &bk, &ba, installed);
                    out.push(Status {
                        module: m.clone(),
                        version: v.clone(),
                        state: if installed {
                            State::Installed
                        } else {
                            State::Built
                        },
                        kernel: Some((bk, ba)),
                        extra,
                    });
                }
                if !any {
                    out.push(Status {
                        module: m.clone(),
                        version: v.clone(),
                        kernel: None,
                        state: State::Added,
                        extra: String::new(),
                    });
                }
            }
        }
        out
    }

    fn status_extra(&self, m: &str, v: &str, k: &str, a: &str, installed: bool) -> String {
        let mut extra = String::new();
        if self
            .module_dir(m)
            .join("original_module")
            .join(k)
            .join(a)
            .is_dir()
        {
            extra.push_str(" (original_module exists)");
        }
        let Ok(c) = self.read_conf(m, v, k, a) else {
            return extra;
        };
        for b in &c.modules {
            let Some(tree_mod) =
                compressed_or_uncompressed(&self.base_dir(m, v, k, a).join("module"), &b.dest_name)
            else {
                extra.push_str(" (WARNING! Missing some built modules!)");
                continue;
            };
            if installed {
                let dir = self
                    .install_tree
                    .join(k)
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

    /// `dkms autoinstall` for one kernel: install the newest version of every added module
    /// with AUTOINSTALL set that is not installed yet, dependencies (BUILD_DEPENDS) first.
    /// Goes on past failures; returns the modules that failed with why.
    /// `dkms match --templatekernel T -k K`: install on `k` every module version that is
    /// installed (active) on the template kernel `t`, building it first where needed.
    /// Returns the failures (module/version, error); the others are installed.
    pub fn match_kernel(&mut self, t: &str, k: &str, a: &str) -> Vec<(String, Error)> {
        self.say(format!(
            "Matching modules in kernel: {k} ({a}) to the configuration of template kernel: {t} ({a})."
        ));
        let mut failed = Vec::new();
        for m in subdirs(&self.dkms_tree) {
            // The template's link names the version: `<v>/<t>/<a>`.
            let Ok(target) = std::fs::read_link(self.kernel_link(&m, t, a)) else {
                continue;
            };
            let Some(v) = target
                .components()
                .next()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
            else {
                continue;
            };
            if !self.is_active(&m, &v, t, a) {
                continue;
            }
            if let Err(e) = self.install(&m, &v, k, a) {
                failed.push((format!("{m}/{v}"), e));
            }
        }
        failed
    }

    pub fn autoinstall(&mut self, k: &str, a: &str) -> Vec<(String, Error)> {
        let mut candidates: Vec<(String, String, Vec<String>)> = Vec::new();
        let mut installed: Vec<String> = Vec::new();
        for m in subdirs(&self.dkms_tree) {
            let mut best: Option<(String, Vec<String>)> = None;
            let mut done = false;
            for v in subdirs(&self.module_dir(&m)) {
                if !self.is_added(&m, &v) {
                    continue;
                }
                if self.is_installed(&m, &v, k, a) {
                    done = true;
                    continue;
                }
                let Ok(c) = self.read_conf(&m, &v, k, a) else {
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
                candidates.push((m, v, deps));
            }
        }
        let mut failed = Vec::new();
        loop {
            let mut progress = false;
            let mut next = Vec::new();
            for (m, v, deps) in candidates {
                if deps
                    .iter()
                    .all(|d| installed.contains(d) || !self.module_dir(d).exists())
                {
                    progress = true;
                    match self.install(&m, &v, k, a) {
                        Ok(()) => installed.push(m),
                        Err(e) => failed.push((format!("{m}/{v}"), e)),
                    }
                } else {
                    next.push((m, v, deps));
                }
            }
            candidates = next;
            if candidates.is_empty() || !progress {
                break;
            }
        }
        for (m, v, deps) in candidates {
            failed.push((
                format!("{m}/{v}"),
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

fn module_args_error(action: &str) -> Error {
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
    use super::version_cmp;
    use std::cmp::Ordering;

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(version_cmp("1.10", "1.9"), Ordering::Greater);
        assert_eq!(version_cmp("0.12.7", "0.12.7"), Ordering::Equal);
        assert_eq!(version_cmp("2.0", "10.0"), Ordering::Less);
    }
}
