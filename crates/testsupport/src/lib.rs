//! Shared helpers for integration tests: where the real inputs are, and how to skip.
//!
//! Tests get real kernel modules only through `scripts/corpus` (the current Debian kernel
//! package, unpacked into a cache). A test whose input is missing prints why and returns;
//! under CI (`KMODKIT_REQUIRE_VM=1` or `KMODKIT_REQUIRE_BPF=1` or `KMODKIT_REQUIRE_CORPUS=1`)
//! the same situation is a failure, so nothing silently stops being tested.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `kmodkit` binary cargo built for this test run: every test that runs the binary
/// runs this one. It sits in the target directory beside the test executable's `deps/`
/// (cargo builds a package's binaries before its integration tests).
pub fn kmodkit() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test executable's path");
        let target = exe
            .parent()
            .and_then(Path::parent)
            .expect("test executables live in <target>/<profile>/deps");
        let bin = target.join("kmodkit");
        assert!(
            bin.exists(),
            "{} is not built: run this test through `cargo test -p kmodkit`",
            bin.display()
        );
        bin.display().to_string()
    })
}

/// Runs the kmodkit binary with `args` in `cwd` and waits for it.
pub fn kmodkit_in(cwd: &Path, args: &[&str]) -> std::process::Output {
    Command::new(kmodkit())
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", kmodkit()))
}

/// A finished command's stdout then stderr, as text (for assertion messages).
pub fn output_text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The repository's top directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/testsupport sits two levels below the root")
        .to_path_buf()
}

fn env_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Whether CI demands that tests needing the corpus, QEMU or BPF really run.
pub fn required(what: Requirement) -> bool {
    match what {
        Requirement::Corpus => env_set("KMODKIT_REQUIRE_CORPUS") || env_set("KMODKIT_REQUIRE_VM"),
        Requirement::Vm => env_set("KMODKIT_REQUIRE_VM"),
        Requirement::Bpf => env_set("KMODKIT_REQUIRE_BPF"),
        Requirement::Tool => env_set("KMODKIT_REQUIRE_VM") || env_set("KMODKIT_REQUIRE_BPF"),
    }
}

/// What a test can be missing.
#[derive(Clone, Copy, Debug)]
pub enum Requirement {
    /// The Debian kernel package unpacked by `scripts/corpus`.
    Corpus,
    /// QEMU and a bootable kernel.
    Vm,
    /// The host's bpf() syscall with enough privilege.
    Bpf,
    /// An oracle program (kmod, openssl, bpftrace, ...).
    Tool,
}

/// Skip the current test with a printed reason, or fail when CI requires it to run.
pub fn skip(what: Requirement, reason: &str) {
    if required(what) {
        panic!("required test input missing ({what:?}): {reason}");
    }
    eprintln!("SKIPPED: {reason}");
}

/// A kernel package unpacked by `scripts/corpus`.
#[derive(Clone, Debug)]
pub struct Corpus {
    /// The unpacked package: holds `boot/` and `lib/modules/<release>/`.
    pub root: PathBuf,
    /// The kernel release, e.g. `6.1.0-56-amd64`.
    pub release: String,
}

impl Corpus {
    /// `lib/modules/<release>` inside the corpus.
    pub fn moddir(&self) -> PathBuf {
        self.root.join("lib/modules").join(&self.release)
    }

    /// The boot image, `boot/vmlinuz-<release>`.
    pub fn vmlinuz(&self) -> PathBuf {
        self.root
            .join("boot")
            .join(format!("vmlinuz-{}", self.release))
    }

    /// The file name ending its modules have: `.ko`, or `.ko.xz` when the tree is compressed
    /// (6.12 in Debian 12), as seen on `kernel/fs/ext4/ext4.ko*`.
    pub fn ext(&self) -> &'static str {
        let ext4 = self.moddir().join("kernel/fs/ext4");
        [".ko.xz", ".ko.zst", ".ko.gz"]
            .into_iter()
            .find(|e| ext4.join(format!("ext4{e}")).is_file())
            .unwrap_or(".ko")
    }

    /// `stem` (a path or name without extension, e.g. `fs/ext4/ext4`) with this tree's
    /// module file ending.
    pub fn ko(&self, stem: &str) -> String {
        format!("{stem}{}", self.ext())
    }

    /// The module file named `name` (file name without its `.ko*` ending), found anywhere
    /// under `kernel/`.
    pub fn module(&self, name: &str) -> Option<PathBuf> {
        let want = self.ko(name);
        self.modules()
            .into_iter()
            .find(|p| p.file_name().is_some_and(|f| *f == *want))
    }

    /// Every module file in the corpus, sorted.
    pub fn modules(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        walk(&self.moddir().join("kernel"), &mut out);
        out.retain(|p| {
            let s = p.to_string_lossy();
            s.ends_with(".ko") || s.ends_with(".ko.xz") || s.ends_with(".ko.zst")
        });
        out.sort();
        out
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => walk(&p, out),
            Ok(t) if t.is_file() => out.push(p),
            _ => {}
        }
    }
}

/// The Debian kernel corpus for `arch` (e.g. "amd64", "arm64"): the distribution's own
/// kernel (6.1 in Debian 12), fetched if needed. Returns `None` (after printing why, or
/// panicking under CI) when it cannot be had.
pub fn corpus(arch: &str) -> Option<Corpus> {
    corpus_of(arch, "")
}

/// The amd64 corpus of another kernel series Debian ships for this release
/// (`scripts/corpus --series 6.12`: Debian 12's 6.12, every module `.ko.xz`), fetched if
/// needed; `None` after a skip (a failure under CI) when it cannot be had.
pub fn corpus_series(series: &str) -> Option<Corpus> {
    corpus_of("amd64", series)
}

/// The kernel series every corpus test runs on besides the distribution's own: `""` is the
/// default kernel (6.1, plain `.ko`), then Debian 12's 6.12 (`.ko.xz`, its own signing key).
pub const SERIES: [&str; 2] = ["", "6.12"];

/// Both amd64 kernels of [`SERIES`], in that order; each one that cannot be had is skipped
/// with a printed reason (a failure under CI), so a test loops over what is there.
pub fn corpora() -> Vec<Corpus> {
    SERIES
        .iter()
        .filter_map(|s| corpus_of("amd64", s))
        .collect()
}

fn corpus_of(arch: &str, series: &str) -> Option<Corpus> {
    type Found = ((String, String), Result<Corpus, String>);
    static CACHE: std::sync::Mutex<Vec<Found>> = std::sync::Mutex::new(Vec::new());
    let key = (arch.to_string(), series.to_string());
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if !cache.iter().any(|(k, _)| *k == key) {
        let found = fetch_corpus(arch, series);
        cache.push((key.clone(), found));
    }
    let (_, found) = cache
        .iter()
        .find(|(k, _)| *k == key)
        .expect("inserted above");
    match found {
        Ok(c) => Some(c.clone()),
        Err(e) => {
            skip(Requirement::Corpus, e);
            None
        }
    }
}

fn fetch_corpus(arch: &str, series: &str) -> Result<Corpus, String> {
    let script = repo_root().join("scripts/corpus");
    let mut args = vec!["--arch", arch];
    if !series.is_empty() {
        args.extend(["--series", series]);
    }
    let out = Command::new(&script)
        .args(&args)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "scripts/corpus {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let root = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    // The package holds exactly one lib/modules/<release> directory.
    let release = std::fs::read_dir(root.join("lib/modules"))
        .map_err(|e| format!("{}: {e}", root.join("lib/modules").display()))?
        .flatten()
        .find(|e| e.path().join("kernel").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .ok_or_else(|| format!("{}: no lib/modules/<release>/kernel", root.display()))?;
    Ok(Corpus { root, release })
}

/// Whether a program is on PATH; prints a skip reason (or panics under CI) when it is not.
pub fn have_tool(name: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(name).is_file()));
    if !found {
        skip(Requirement::Tool, &format!("`{name}` is not installed"));
    }
    found
}

/// A Debian package unpacked by `scripts/debpkg` (downloaded once into the cache), e.g. a
/// real `*-dkms` package. `None` (after printing why, or panicking under CI) when it cannot be had.
pub fn debpkg(package: &str) -> Option<PathBuf> {
    let script = repo_root().join("scripts/debpkg");
    match Command::new(&script).arg(package).output() {
        Ok(out) if out.status.success() => {
            Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        }
        Ok(out) => {
            skip(
                Requirement::Corpus,
                &format!(
                    "scripts/debpkg {package} failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            );
            None
        }
        Err(e) => {
            skip(
                Requirement::Corpus,
                &format!("cannot run {}: {e}", script.display()),
            );
            None
        }
    }
}

/// The corpus for `arch` when the headers of its kernel are installed
/// (`/lib/modules/<release>/build`, from `linux-headers-<release>`), for tests that build
/// out-of-tree modules; `None` after a skip (a failure under CI) otherwise.
pub fn corpus_with_headers(arch: &str) -> Option<Corpus> {
    let c = corpus(arch)?;
    let makefile = Path::new("/lib/modules")
        .join(&c.release)
        .join("build/Makefile");
    if !makefile.is_file() {
        skip(
            Requirement::Corpus,
            &format!("linux-headers-{} is not installed", c.release),
        );
        return None;
    }
    Some(c)
}

/// Panics unless two runs (an established tool's and ours) printed the same stdout and
/// stderr and exited alike; for stdout, names the first differing line.
pub fn assert_same_output(what: &str, theirs: &std::process::Output, ours: &std::process::Output) {
    if theirs.stdout != ours.stdout {
        let t = String::from_utf8_lossy(&theirs.stdout);
        let o = String::from_utf8_lossy(&ours.stdout);
        let first = t.lines().zip(o.lines()).position(|(a, b)| a != b);
        panic!(
            "{what}: stdout differs ({} vs {} bytes); first differing line {:?}:\n kmod: {:?}\n ours: {:?}",
            theirs.stdout.len(),
            ours.stdout.len(),
            first,
            first.and_then(|i| t.lines().nth(i)),
            first.and_then(|i| o.lines().nth(i)),
        );
    }
    assert_eq!(
        String::from_utf8_lossy(&theirs.stderr),
        String::from_utf8_lossy(&ours.stderr),
        "{what}: stderr differs"
    );
    assert_eq!(
        theirs.status.code(),
        ours.status.code(),
        "{what}: exit status differs"
    );
}

/// Debian 13 (trixie) in a chroot holding kmod 34.2, the second kmod oracle, made once by
/// `scripts/oracle-trixie` (debootstrap, cached under the kmodkit cache directory).
#[derive(Clone, Debug)]
pub struct Trixie {
    /// The chroot's directory.
    pub root: PathBuf,
    /// kmod's version inside it, e.g. `34.2`.
    pub kmod_version: String,
}

/// The trixie chroot, made if needed; `None` (after printing why, or panicking under CI) when
/// it cannot be had (not root, no `unshare`/`chroot`, debootstrap failing, no network).
pub fn trixie() -> Option<Trixie> {
    static CACHE: std::sync::Mutex<Option<Result<Trixie, String>>> = std::sync::Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let found = cache.get_or_insert_with(make_trixie);
    match found {
        Ok(t) => Some(t.clone()),
        Err(e) => {
            skip(Requirement::Tool, e);
            None
        }
    }
}

fn make_trixie() -> Result<Trixie, String> {
    for tool in ["unshare", "chroot", "mount"] {
        let found = std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()));
        if !found {
            return Err(format!(
                "`{tool}` is not installed (needed for the trixie oracle)"
            ));
        }
    }
    let script = repo_root().join("scripts/oracle-trixie");
    let run = |args: &[&str]| -> Result<String, String> {
        let out = Command::new(&script)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if !out.status.success() {
            return Err(format!(
                "scripts/oracle-trixie {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let root = PathBuf::from(run(&[])?);
    let kmod_version = run(&["--version"])?;
    if kmod_version.is_empty() {
        return Err(format!("{}: no kmod inside", root.display()));
    }
    Ok(Trixie { root, kmod_version })
}

impl Trixie {
    /// A command running `program` inside the chroot in directory `cwd` (a path inside it),
    /// with each of `binds` (absolute host directories) bind-mounted at the same path inside,
    /// and the host's /proc and /sys. The mounts live in a private mount namespace
    /// (`unshare -m`): they vanish with the command, whatever happens to the test. Paths in
    /// the oracle's output are therefore the host's. Add the program's arguments to it.
    pub fn command(&self, binds: &[&Path], cwd: &Path, program: &str) -> Command {
        const SCRIPT: &str = r#"set -e
root=$1; cwd=$2; n=$3; shift 3
while [ "$n" -gt 0 ]; do
  mkdir -p "$root$1"
  mount --bind "$1" "$root$1"
  n=$((n - 1)); shift
done
for d in /proc /sys; do mkdir -p "$root$d"; mount --rbind "$d" "$root$d"; done
exec chroot "$root" /bin/sh -c 'cd "$0" && exec "$@"' "$cwd" "$@"
"#;
        let mut c = Command::new("unshare");
        c.args(["-m", "--propagation", "private", "sh", "-c", SCRIPT, "sh"])
            .arg(&self.root)
            .arg(cwd)
            .arg(binds.len().to_string())
            .args(binds)
            .arg(program);
        c
    }
}

/// Debian 13's bpftrace 0.23.2, the oracle of the newer tracing language, in a copy of the
/// trixie chroot with the package installed (`scripts/oracle-trixie --bpftrace`, made once
/// and cached beside the kmod chroot).
#[derive(Clone, Debug)]
pub struct TrixieBpftrace {
    /// The chroot's directory.
    pub root: PathBuf,
    /// bpftrace's version inside it, e.g. `0.23.2`.
    pub version: String,
}

/// The bpftrace 0.23 chroot, made if needed; `None` (after printing why, or panicking under
/// CI's KMODKIT_REQUIRE_BPF=1) when it cannot be had (not root, no network, no bpf()).
pub fn trixie_bpftrace() -> Option<TrixieBpftrace> {
    static CACHE: std::sync::Mutex<Option<Result<TrixieBpftrace, String>>> =
        std::sync::Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let found = cache.get_or_insert_with(make_trixie_bpftrace);
    match found {
        Ok(t) => Some(t.clone()),
        Err(e) => {
            skip(Requirement::Bpf, e);
            None
        }
    }
}

fn make_trixie_bpftrace() -> Result<TrixieBpftrace, String> {
    for tool in ["unshare", "chroot", "mount"] {
        let found = std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()));
        if !found {
            return Err(format!(
                "`{tool}` is not installed (needed for the bpftrace 0.23 oracle)"
            ));
        }
    }
    let script = repo_root().join("scripts/oracle-trixie");
    let run = |arg: &str| -> Result<String, String> {
        let out = Command::new(&script)
            .arg(arg)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if !out.status.success() {
            return Err(format!(
                "scripts/oracle-trixie {arg} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let root = PathBuf::from(run("--bpftrace")?);
    let version = run("--bpftrace-version")?;
    if version.is_empty() {
        return Err(format!("{}: no bpftrace inside", root.display()));
    }
    Ok(TrixieBpftrace { root, version })
}

impl TrixieBpftrace {
    /// A command running the chroot's bpftrace against the host kernel: tracefs mounted on
    /// the host's /sys/kernel/tracing if it is not, then the host's /proc, /sys and /dev
    /// and each of `binds` (absolute host directories, e.g. a workload's) at the same paths
    /// inside. The mounts live in a private mount namespace (`unshare -m`) and vanish with
    /// the command. Add bpftrace's arguments to it.
    pub fn command(&self, binds: &[&Path]) -> Command {
        const SCRIPT: &str = r#"set -e
root=$1; n=$2; shift 2
[ -e /sys/kernel/tracing/events ] || mount -t tracefs nodev /sys/kernel/tracing
for d in /proc /sys /dev; do mkdir -p "$root$d"; mount --rbind "$d" "$root$d"; done
while [ "$n" -gt 0 ]; do
  mkdir -p "$root$1"
  mount --bind "$1" "$root$1"
  n=$((n - 1)); shift
done
exec chroot "$root" /usr/bin/bpftrace "$@"
"#;
        let mut c = Command::new("unshare");
        c.args(["-m", "--propagation", "private", "sh", "-c", SCRIPT, "sh"])
            .arg(&self.root)
            .arg(binds.len().to_string())
            .args(binds);
        c
    }
}
