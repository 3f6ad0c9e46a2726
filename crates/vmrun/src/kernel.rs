//! Which kernel to boot: the one asked for, the running kernel's image, or a Debian kernel
//! package unpacked into the cache (the layout `scripts/corpus` also uses:
//! `<cache>/corpus/linux-image-<release>/{boot,lib/modules}` with a `.complete` marker).
//! Where a kernel's files are is the `kernels` crate's knowledge; this file resolves names
//! to packages and downloads.
//!
//! A kernel is named ([`KernelSpec`]) by
//!
//! - its image, a path (`/boot/vmlinuz-6.1.0-56-amd64`, `./bzImage`);
//! - its release (`6.12.117+deb12-amd64`): the host's `/boot/vmlinuz-R`, else a cached
//!   package of that release, else the package `linux-image-R` downloaded into the cache;
//! - a series (`6.12`, `6.1`): the newest package of that series the package lists offer,
//!   resolved as `scripts/corpus --series` resolves it. Debian 12 ships two: its own 6.1
//!   (what `linux-image-amd64` depends on) and 6.12 (what `linux-image-6.12-amd64` depends
//!   on). Without package lists, the newest cached package of the series.
//!
//! The apt answer is kept for an hour in `<cache>/corpus/.current-<flavour>`, the file
//! `scripts/corpus` keeps it in, and downloads hold `<cache>/corpus/.lock` as that script
//! does, so the two never unpack the same package at once.

use kernels::InstalledKernel;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::Error;

/// How long an apt answer ("the current package of this series is P") is reused.
const ANSWER_TTL: Duration = Duration::from_secs(3600);

/// What `kmodkit vm --kernel` was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelSpec {
    /// A kernel image file.
    Image(PathBuf),
    /// A kernel release, `uname -r` style (`6.12.117+deb12-amd64`).
    Release(String),
    /// A series: major.minor (`6.12`).
    Series(String),
}

impl KernelSpec {
    /// A path (anything with a `/`, or an existing file) is an image; `N.M` a series;
    /// anything else a release.
    pub fn parse(s: &str) -> KernelSpec {
        let is_series = {
            let mut parts = s.split('.');
            let ok = |p: Option<&str>| {
                p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            };
            ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
        };
        if s.contains('/') || Path::new(s).is_file() {
            KernelSpec::Image(PathBuf::from(s))
        } else if is_series {
            KernelSpec::Series(s.to_string())
        } else {
            KernelSpec::Release(s.to_string())
        }
    }
}

/// A kernel to boot: its image, and what is known of it (`None` for an image whose
/// release could not be read: it still boots).
#[derive(Clone, Debug)]
pub struct Resolved {
    pub image: PathBuf,
    pub kernel: Option<InstalledKernel>,
}

impl Resolved {
    /// The kernel's release, if known.
    pub fn release(&self) -> Option<&str> {
        self.kernel.as_ref().map(|k| k.release.as_str())
    }
}

/// The kernel `spec` names, downloading its package into the cache if needed. The image is
/// checked to be one ([`kernels::check_image`]) before anything is returned.
pub fn resolve(spec: &KernelSpec) -> Result<Resolved, Error> {
    let k = match spec {
        KernelSpec::Image(path) => {
            kernels::check_image(path).map_err(kernel_error)?;
            return Ok(Resolved {
                image: path.clone(),
                kernel: InstalledKernel::from_image(path).ok(),
            });
        }
        KernelSpec::Release(release) => by_release(release)?,
        KernelSpec::Series(series) => by_series(series)?,
    };
    with_image(k)
}

/// `k` with its image checked.
pub fn with_image(k: InstalledKernel) -> Result<Resolved, Error> {
    let image = k.image.clone().ok_or_else(|| {
        Error::NotFound(format!(
            "kernel {}: no image (looked at {})",
            k.release,
            k.looked_for("image")
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    kernels::check_image(&image).map_err(kernel_error)?;
    Ok(Resolved {
        image,
        kernel: Some(k),
    })
}

fn kernel_error(e: kernels::Error) -> Error {
    match e {
        kernels::Error::Io { path, source } => Error::Io { path, source },
        other => Error::NotFound(other.to_string()),
    }
}

/// Whether `k` is an x86 kernel QEMU here can boot (the cache may hold arm64, armmp and
/// s390x packages of the corpus).
fn bootable(k: &InstalledKernel) -> bool {
    k.image.as_deref().is_some_and(|i| {
        matches!(
            kernels::check_image(i),
            Ok(kernels::ImageKind::BzImage | kernels::ImageKind::Elf)
        )
    })
}

/// The default kernel when none is given: the running kernel's image, else the newest
/// x86 Debian kernel package in the cache.
pub fn default_kernel() -> Result<InstalledKernel, Error> {
    if let Ok(k) = InstalledKernel::running() {
        if k.image.is_some() {
            return Ok(k);
        }
    }
    kernels::cache::cached_kernels()
        .into_iter()
        .find(bootable)
        .ok_or_else(|| {
            Error::NotFound(format!(
                "no kernel image: /boot/vmlinuz-$(uname -r) does not exist and {} holds no \
                 unpacked kernel package (use --kernel VMLINUZ|RELEASE|SERIES or --debian-kernel)",
                kernels::cache::corpus_dir().display()
            ))
        })
}

/// Kernel `release`: installed on the host, else cached, else downloaded.
fn by_release(release: &str) -> Result<InstalledKernel, Error> {
    // One path component, as a package name part: nothing that leaves the cache.
    if release.is_empty()
        || release.starts_with('.')
        || !release
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-._~".contains(&b))
    {
        return Err(Error::NotFound(format!(
            "--kernel {release:?}: not an image path, a release (6.12.117+deb12-amd64) or a \
             series (6.12)"
        )));
    }
    if let Ok(k) = InstalledKernel::find(Path::new("/"), release) {
        if k.image.is_some() {
            return Ok(k);
        }
    }
    if let Some(k) = kernels::cache::cached_kernels()
        .into_iter()
        .find(|k| k.release == release && bootable(k))
    {
        return Ok(k);
    }
    let root = fetch_package(&format!("linux-image-{release}"))?;
    installed_in(&root, release)
}

/// The newest package of `series` the package lists offer (cached), else the newest cached
/// one of that series.
fn by_series(series: &str) -> Result<InstalledKernel, Error> {
    match current_package(Some(series)) {
        Ok(pkg) => {
            let root = fetch_package(&pkg)?;
            installed_in(&root, pkg.trim_start_matches("linux-image-"))
        }
        Err(asked) => {
            let prefix = format!("{series}.");
            let mut cached: Vec<InstalledKernel> = kernels::cache::cached_kernels()
                .into_iter()
                .filter(|k| k.release.starts_with(&prefix) && bootable(k))
                .collect();
            cached.sort_by(|a, b| version_cmp(&a.release, &b.release));
            cached.pop().ok_or(asked)
        }
    }
}

fn installed_in(root: &Path, release: &str) -> Result<InstalledKernel, Error> {
    InstalledKernel::find(root, release).map_err(kernel_error)
}

/// Compares two releases by their runs of digits as numbers (`6.12.9` < `6.12.117`).
fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<Result<u64, String>> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut digits = false;
        for c in s.chars() {
            if c.is_ascii_digit() != digits && !cur.is_empty() {
                out.push(if digits {
                    Ok(cur.parse().unwrap_or(u64::MAX))
                } else {
                    Err(std::mem::take(&mut cur))
                });
                cur.clear();
            }
            digits = c.is_ascii_digit();
            cur.push(c);
        }
        if !cur.is_empty() {
            out.push(if digits {
                Ok(cur.parse().unwrap_or(u64::MAX))
            } else {
                Err(cur)
            });
        }
        out
    }
    chunks(a).cmp(&chunks(b))
}

fn run(cmd: &mut Command) -> Result<String, Error> {
    let name = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| Error::Tool {
        cmd: name.clone(),
        what: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(Error::Tool {
            cmd: name,
            what: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The kernel flavour of the host's architecture (the metapackage suffix).
fn flavour() -> Result<String, Error> {
    let arch = run(Command::new("dpkg").arg("--print-architecture"))?
        .trim()
        .to_string();
    Ok(match arch.as_str() {
        "armhf" => "armmp".into(),
        "i386" => "686".into(),
        "ppc64el" => "powerpc64le".into(),
        "mips64el" => "mips64r2el".into(),
        _ => arch,
    })
}

/// The kernel image package the metapackage `linux-image-<flavour>` (or, for a series,
/// `linux-image-<series>-<flavour>`) depends on today, e.g. `linux-image-6.12.117+deb12-amd64`.
/// For a series without its own metapackage (Debian 12's 6.1 is the distribution's
/// default), the default metapackage's, if it is of that series.
pub fn current_package(series: Option<&str>) -> Result<String, Error> {
    let flavour = flavour()?;
    let wanted = |pkg: &str| {
        series.is_none_or(|s| {
            pkg.trim_start_matches("linux-image-")
                .strip_prefix(s)
                .is_some_and(|r| r.starts_with('.') || r.starts_with('-'))
        })
    };
    let mut metas = Vec::new();
    if let Some(s) = series {
        metas.push(format!("{s}-{flavour}"));
    }
    metas.push(flavour.clone());
    for meta in &metas {
        if let Some(pkg) = answer(meta).filter(|p| wanted(p)) {
            return Ok(pkg);
        }
    }
    Err(Error::NotFound(match series {
        Some(s) => format!(
            "apt-cache knows no kernel package of series {s} (neither linux-image-{s}-{flavour} \
             nor linux-image-{flavour} depends on one; no package lists?) and none is cached"
        ),
        None => format!("apt-cache does not know linux-image-{flavour} (no package lists?)"),
    }))
}

/// What `linux-image-<meta>` depends on: from the answer file if it is recent, else from
/// apt-cache (and then written there).
fn answer(meta: &str) -> Option<String> {
    let corpus = kernels::cache::corpus_dir();
    let file = corpus.join(format!(".current-{meta}"));
    let fresh = std::fs::metadata(&file)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age < ANSWER_TTL);
    if fresh {
        if let Ok(text) = std::fs::read_to_string(&file) {
            let p = text.trim();
            if p.starts_with("linux-image-") {
                return Some(p.to_string());
            }
        }
    }
    let deps =
        run(Command::new("apt-cache").args(["depends", &format!("linux-image-{meta}")])).ok()?;
    let pkg = deps
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .find(|p| {
            p.starts_with("linux-image-") && p.as_bytes().get(12).is_some_and(u8::is_ascii_digit)
        })
        .map(|p| p.split(':').next().unwrap_or(p).to_string())?;
    if std::fs::create_dir_all(&corpus).is_ok() {
        // Only a hint for next time: a failure to keep it changes nothing.
        let _ = safeio::replace(&file, format!("{pkg}\n").as_bytes(), None);
    }
    Some(pkg)
}

/// Downloads the current Debian kernel package for the host's architecture (the one
/// `apt-cache depends linux-image-<arch>` names today) and unpacks it into the cache,
/// once. Returns its image.
pub fn fetch_debian() -> Result<PathBuf, Error> {
    let pkg = current_package(None)?;
    let root = fetch_package(&pkg)?;
    let release = pkg.trim_start_matches("linux-image-");
    let image = root.join("boot").join(format!("vmlinuz-{release}"));
    if image.is_file() {
        Ok(image)
    } else {
        Err(Error::NotFound(format!("{}: missing", image.display())))
    }
}

/// Downloads the package `pkg` and unpacks it into `<cache>/corpus/<pkg>`, unless it is
/// there already (with its `.complete` marker). Returns that directory.
pub fn fetch_package(pkg: &str) -> Result<PathBuf, Error> {
    let corpus = kernels::cache::corpus_dir();
    let dest = corpus.join(pkg);
    if dest.join(".complete").exists() {
        return Ok(dest);
    }
    std::fs::create_dir_all(&corpus).map_err(|e| Error::io(&corpus, e))?;
    let lock_path = corpus.join(".lock");
    if !lock_path.exists() {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&lock_path)
            .map_err(|e| Error::io(&lock_path, e))?;
    }
    let _lock = safeio::Lock::file(&lock_path).map_err(|e| Error::io(&e.path, e.source))?;
    // Another run may have finished it while we waited.
    if dest.join(".complete").exists() {
        return Ok(dest);
    }
    let work = tempfile::Builder::new()
        .prefix(".work.")
        .tempdir_in(&corpus)
        .map_err(|e| Error::io(&corpus, e))?;
    run(Command::new("apt-get")
        .args(["download", "-q", pkg])
        .current_dir(work.path()))?;
    let deb = std::fs::read_dir(work.path())
        .map_err(|e| Error::io(work.path(), e))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| Error::NotFound(format!("apt-get download {pkg} gave no .deb")))?;
    let root = work.path().join("root");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))?;
    // Debian 12 ships /lib/modules; later releases /usr/lib/modules. Offer both paths, as
    // scripts/corpus does.
    let (lib_modules, usr_lib_modules) = (root.join("lib/modules"), root.join("usr/lib/modules"));
    if !lib_modules.exists() && usr_lib_modules.is_dir() {
        std::fs::create_dir_all(root.join("lib")).map_err(|e| Error::io(&root, e))?;
        std::os::unix::fs::symlink("../usr/lib/modules", &lib_modules)
            .map_err(|e| Error::io(&lib_modules, e))?;
    }
    std::fs::write(root.join(".complete"), b"").map_err(|e| Error::io(&root, e))?;
    let _ = std::fs::remove_dir_all(&dest);
    std::fs::rename(&root, &dest).map_err(|e| Error::io(&dest, e))?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(KernelSpec::parse("6.12"), KernelSpec::Series("6.12".into()));
        assert_eq!(KernelSpec::parse("6.1"), KernelSpec::Series("6.1".into()));
        assert_eq!(
            KernelSpec::parse("6.12.117+deb12-amd64"),
            KernelSpec::Release("6.12.117+deb12-amd64".into())
        );
        assert_eq!(
            KernelSpec::parse("6.1.0-56-amd64"),
            KernelSpec::Release("6.1.0-56-amd64".into())
        );
        assert_eq!(
            KernelSpec::parse("./bzImage"),
            KernelSpec::Image("./bzImage".into())
        );
        assert_eq!(
            KernelSpec::parse("/nonexistent/vmlinuz"),
            KernelSpec::Image("/nonexistent/vmlinuz".into())
        );
        assert_eq!(KernelSpec::parse("6."), KernelSpec::Release("6.".into()));
    }

    #[test]
    fn release_order() {
        use std::cmp::Ordering::*;
        assert_eq!(
            version_cmp("6.12.9+deb12-amd64", "6.12.117+deb12-amd64"),
            Less
        );
        assert_eq!(version_cmp("6.1.0-56-amd64", "6.1.0-9-amd64"), Greater);
        assert_eq!(version_cmp("6.12.1", "6.12.1"), Equal);
    }

    #[test]
    fn bad_release_names_refused() {
        for r in ["../x", "", ".hidden", "a b", "x;y"] {
            let e = by_release(r).unwrap_err();
            assert!(e.to_string().contains("not an image path"), "{r}: {e}");
        }
    }
}
