//! One installed kernel, and where its files are.
//!
//! Commands that need a kernel's files (`vm` its image, `check` its config and built-in
//! keys, `build` and `dkms` its headers and `Module.symvers`, `verify` its keys) ask an
//! [`InstalledKernel`] instead of guessing paths themselves. A kernel is found
//!
//! - for a release under a root ([`InstalledKernel::find`]): `/` on an installed system,
//!   or an unpacked Debian package (`dpkg-deb -x linux-image-R.deb DIR`, the layout
//!   `scripts/corpus` caches under `~/.cache/kmodkit/corpus`), whose `boot/` and
//!   `lib/modules/R/` are the same as on a system;
//! - from its modules directory ([`InstalledKernel::from_modules_dir`], `ROOT/lib/modules/R`);
//! - from its image ([`InstalledKernel::from_image`], `ROOT/boot/vmlinuz-R`, or any file: the
//!   release comes from the image's own header, see [`image`]).
//!
//! The layout is the one Debian's packages install (and most distributions share):
//!
//! ```text
//! ROOT/boot/vmlinuz-R          image           ROOT/boot/config-R      config
//! ROOT/boot/System.map-R       System.map      ROOT/lib/modules/R/     modules dir
//! ROOT/lib/modules/R/build     headers (-> ROOT/usr/src/linux-headers-R)
//! ROOT/lib/modules/R/build/Module.symvers      ROOT/lib/modules/R/build/.config
//! /sys/kernel/btf/vmlinux      BTF of the running kernel; else a vmlinux with BTF from
//!                              ROOT/usr/lib/debug/boot/vmlinux-R or the headers' vmlinux
//! ```
//!
//! Every path is optional except the release: which files a command needs is the command's
//! business, and the errors it gives say where this crate looked ([`InstalledKernel::looked_for`]).
//!
//! This crate reads directory entries and the first bytes of images; it runs nothing and
//! writes nothing. It owns the cache location of downloaded kernel packages ([`cache`]) so
//! that `vm` and the tests find the same ones.

pub mod cache;
pub mod image;

use std::path::{Path, PathBuf};

pub use image::ImageKind;

/// What went wrong finding a kernel.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {}", path.display(), image::NOT_AN_IMAGE)]
    NotAnImage { path: PathBuf },
    #[error("{}: a {kind} whose release could not be read", path.display())]
    NoRelease { path: PathBuf, kind: ImageKind },
    #[error("no kernel {release} under {}: none of {}", root.display(), list(looked))]
    NotFound {
        release: String,
        root: PathBuf,
        looked: Vec<PathBuf>,
    },
    #[error("{} is not a kernel's modules directory (ROOT/lib/modules/RELEASE)", .0.display())]
    NotModulesDir(PathBuf),
    #[error("kernel headers for {release} not found (looked at {}); install the package linux-headers-{release}", list(looked))]
    NoHeaders {
        release: String,
        looked: Vec<PathBuf>,
    },
    #[error("no config for kernel {release} (looked at {})", list(looked))]
    NoConfig {
        release: String,
        looked: Vec<PathBuf>,
    },
    #[error("the running kernel's release is unknown: /proc/sys/kernel/osrelease: {0}")]
    NoRunning(std::io::Error),
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One kernel and its files. Paths that were not found are `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstalledKernel {
    /// `uname -r` of the kernel, e.g. `6.1.0-56-amd64`.
    pub release: String,
    /// The root it is installed under (`/`, or an unpacked package).
    pub root: PathBuf,
    /// The boot image (`vmlinuz-R`, or the image it was found from).
    pub image: Option<PathBuf>,
    /// The kernel's `.config`.
    pub config: Option<PathBuf>,
    /// `ROOT/lib/modules/R` (whether or not it exists: it is where modules of R go).
    pub modules_dir: PathBuf,
    /// The headers (`make -C` directory, with a `Makefile`).
    pub headers: Option<PathBuf>,
    /// `System.map-R`.
    pub system_map: Option<PathBuf>,
    /// The headers' `Module.symvers`.
    pub symvers: Option<PathBuf>,
    /// A file holding the kernel's BTF (raw BTF, or an ELF vmlinux with a `.BTF` section).
    pub btf: Option<PathBuf>,
    /// Where `image`, `config` and `system_map` were looked for beside the image
    /// (`ROOT/boot`, or the directory of an image given by path).
    boot_dirs: Vec<PathBuf>,
}

/// The running kernel's release (`/proc/sys/kernel/osrelease`).
pub fn running_release() -> Result<String> {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .map_err(Error::NoRunning)
}

fn first_file(candidates: &[PathBuf]) -> Option<PathBuf> {
    candidates.iter().find(|p| p.is_file()).cloned()
}

impl InstalledKernel {
    /// The kernel `release` under `root`. Fails only when nothing of it is there: no image,
    /// no modules directory, no headers, no config.
    pub fn find(root: &Path, release: &str) -> Result<InstalledKernel> {
        let k = Self::assemble(root, release, vec![root.join("boot")], None, None);
        if k.image.is_none() && !k.modules_dir.is_dir() && k.headers.is_none() && k.config.is_none()
        {
            return Err(Error::NotFound {
                release: release.to_string(),
                root: root.to_path_buf(),
                looked: vec![
                    root.join("boot").join(format!("vmlinuz-{release}")),
                    k.modules_dir.clone(),
                    k.modules_dir.join("build/Makefile"),
                ],
            });
        }
        Ok(k)
    }

    /// The running kernel, under `/`.
    pub fn running() -> Result<InstalledKernel> {
        Self::find(Path::new("/"), &running_release()?)
    }

    /// The kernel whose modules directory is `dir` (`ROOT/lib/modules/R`; the root is taken
    /// from the path, else `/`).
    pub fn from_modules_dir(dir: &Path) -> Result<InstalledKernel> {
        let release = dir
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.is_empty() && *n != "." && *n != "..")
            .ok_or_else(|| Error::NotModulesDir(dir.to_path_buf()))?;
        let tree = dir.parent().unwrap_or(Path::new("."));
        Ok(Self::in_modules_tree(tree, release))
    }

    /// Kernel `release` whose modules live in `tree/release` (`tree` is `ROOT/lib/modules`,
    /// or any directory DKMS is told to install into: then its other files are looked for
    /// under `/`). `release` must be one path component (the caller checked it).
    pub fn in_modules_tree(tree: &Path, release: &str) -> InstalledKernel {
        let root = Some(tree)
            .filter(|p| p.ends_with("lib/modules"))
            .and_then(|p| p.parent())
            .and_then(Path::parent)
            .map(|r| {
                if r.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    r.to_path_buf()
                }
            });
        let mut boot_dirs = Vec::new();
        if let Some(r) = &root {
            boot_dirs.push(r.join("boot"));
        }
        if root.as_deref() != Some(Path::new("/")) {
            boot_dirs.push(PathBuf::from("/boot"));
        }
        Self::assemble(
            root.as_deref().unwrap_or(Path::new("/")),
            release,
            boot_dirs,
            None,
            Some(tree.join(release)),
        )
    }

    /// A kernel named by a path, as `check --kernel` and `verify` take one: its modules
    /// directory (`ROOT/lib/modules/R`) or its image (any file).
    pub fn from_path(path: &Path) -> Result<InstalledKernel> {
        if path.is_dir() {
            Self::from_modules_dir(path)
        } else {
            Self::from_image(path)
        }
    }

    /// The kernel booted from `image`: its release from the image's header, its other files
    /// beside it (`config-R` in the same directory), under the package root it sits in
    /// (`ROOT/boot/vmlinuz-R`), else under `/`.
    pub fn from_image(path: &Path) -> Result<InstalledKernel> {
        let bytes = read_head(path)?;
        let kind = image::kind(&bytes).ok_or_else(|| Error::NotAnImage {
            path: path.to_path_buf(),
        })?;
        let release = image::release(&bytes)
            .or_else(|| {
                // ELF vmlinux: the banner can be anywhere; read it whole.
                (kind == ImageKind::Elf)
                    .then(|| std::fs::read(path).ok())
                    .flatten()
                    .and_then(|b| image::release(&b))
            })
            .or_else(|| release_from_name(path))
            .ok_or_else(|| Error::NoRelease {
                path: path.to_path_buf(),
                kind,
            })?;
        let dir = path
            .parent()
            .map(|d| {
                if d.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    d.to_path_buf()
                }
            })
            .unwrap_or_else(|| PathBuf::from("."));
        let root = package_root(path).unwrap_or_else(|| PathBuf::from("/"));
        let mut boot_dirs = vec![dir];
        if root == Path::new("/") {
            boot_dirs.push(PathBuf::from("/boot"));
        }
        Ok(Self::assemble(
            &root,
            &release,
            boot_dirs,
            Some(path.to_path_buf()),
            None,
        ))
    }

    /// Every kernel with a modules directory under `ROOT/lib/modules`, sorted by release.
    pub fn installed(root: &Path) -> Vec<InstalledKernel> {
        let base = root.join("lib/modules");
        let mut out: Vec<InstalledKernel> = std::fs::read_dir(&base)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .map(|r| Self::assemble(root, &r, vec![root.join("boot")], None, None))
            .collect();
        out.sort_by(|a, b| a.release.cmp(&b.release));
        out
    }

    fn assemble(
        root: &Path,
        release: &str,
        boot_dirs: Vec<PathBuf>,
        image: Option<PathBuf>,
        modules_dir: Option<PathBuf>,
    ) -> InstalledKernel {
        let modules_dir = modules_dir.unwrap_or_else(|| root.join("lib/modules").join(release));
        let mut k = InstalledKernel {
            release: release.to_string(),
            root: root.to_path_buf(),
            image,
            config: None,
            modules_dir,
            headers: None,
            system_map: None,
            symvers: None,
            btf: None,
            boot_dirs,
        };
        if k.image.is_none() {
            k.image = first_file(&k.in_boot("vmlinuz"));
        }
        k.headers = k
            .headers_candidates()
            .into_iter()
            .find(|d| d.join("Makefile").is_file());
        k.config = first_file(&k.config_candidates());
        k.system_map = first_file(&k.in_boot("System.map"));
        k.symvers = k
            .headers
            .as_ref()
            .map(|h| h.join("Module.symvers"))
            .filter(|p| p.is_file());
        k.btf = first_file(&k.btf_candidates());
        k
    }

    fn in_boot(&self, stem: &str) -> Vec<PathBuf> {
        self.boot_dirs
            .iter()
            .map(|d| d.join(format!("{stem}-{}", self.release)))
            .collect()
    }

    fn headers_candidates(&self) -> Vec<PathBuf> {
        vec![
            self.modules_dir.join("build"),
            self.root
                .join("usr/src")
                .join(format!("linux-headers-{}", self.release)),
        ]
    }

    fn config_candidates(&self) -> Vec<PathBuf> {
        let mut c = self.in_boot("config");
        c.push(self.modules_dir.join("build/.config"));
        c.push(self.modules_dir.join("config"));
        c
    }

    fn btf_candidates(&self) -> Vec<PathBuf> {
        let mut c = Vec::new();
        if self.root == Path::new("/") && running_release().ok().as_deref() == Some(&self.release) {
            c.push(PathBuf::from("/sys/kernel/btf/vmlinux"));
        }
        c.push(
            self.root
                .join("usr/lib/debug/boot")
                .join(format!("vmlinux-{}", self.release)),
        );
        c.push(
            self.root
                .join("usr/lib/debug/lib/modules")
                .join(&self.release)
                .join("vmlinux"),
        );
        c.extend(self.in_boot("vmlinux"));
        c
    }

    /// Where a file of this kernel was looked for: `"image"`, `"config"`, `"headers"`,
    /// `"System.map"`, `"btf"`; for messages.
    pub fn looked_for(&self, what: &str) -> Vec<PathBuf> {
        match what {
            "image" => self.in_boot("vmlinuz"),
            "config" => self.config_candidates(),
            "headers" => self.headers_candidates(),
            "System.map" => self.in_boot("System.map"),
            "btf" => self.btf_candidates(),
            _ => Vec::new(),
        }
    }

    /// Use these headers instead of the ones found (`--headers`, `--kernelsourcedir`).
    pub fn with_headers(mut self, dir: PathBuf) -> InstalledKernel {
        self.symvers = Some(dir.join("Module.symvers")).filter(|p| p.is_file());
        if self.config.is_none() {
            self.config = Some(dir.join(".config")).filter(|p| p.is_file());
        }
        self.headers = Some(dir);
        self
    }

    /// The headers directory, or why there is none.
    pub fn headers_dir(&self) -> Result<&Path> {
        self.headers
            .as_deref()
            .filter(|h| h.join("Makefile").is_file())
            .ok_or_else(|| Error::NoHeaders {
                release: self.release.clone(),
                looked: match &self.headers {
                    Some(h) => vec![h.join("Makefile")],
                    None => self.headers_candidates(),
                },
            })
    }

    /// The config file, or why there is none.
    pub fn config_file(&self) -> Result<&Path> {
        self.config.as_deref().ok_or_else(|| Error::NoConfig {
            release: self.release.clone(),
            looked: self.config_candidates(),
        })
    }

    /// A `CONFIG_...` value of the kernel (quotes removed): from its config, else from its
    /// headers' `.config`.
    pub fn config_value(&self, key: &str) -> Option<String> {
        let prefix = format!("{key}=");
        [
            self.config.clone(),
            self.headers.as_ref().map(|h| h.join(".config")),
        ]
        .into_iter()
        .flatten()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .find_map(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix(&prefix))
                .map(|v| v.trim_matches('"').to_string())
        })
    }

    /// `UTS_RELEASE` of the headers (`include/generated/utsrelease.h`): the release they
    /// build for, which must be this kernel's.
    pub fn headers_release(&self) -> Option<String> {
        let text = std::fs::read_to_string(
            self.headers
                .as_ref()?
                .join("include/generated/utsrelease.h"),
        )
        .ok()?;
        let line = text
            .lines()
            .find(|l| l.starts_with("#define UTS_RELEASE"))?;
        let start = line.find('"')? + 1;
        let end = line[start..].find('"')? + start;
        Some(line[start..end].to_string())
    }
}

/// The first bytes of a file: enough for every header [`image::kind`] reads.
fn read_head(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let f = std::fs::File::open(path).map_err(io)?;
    if f.metadata().map_err(io)?.is_dir() {
        return Err(Error::NotAnImage {
            path: path.to_path_buf(),
        });
    }
    let mut head = Vec::new();
    f.take(64 * 1024).read_to_end(&mut head).map_err(io)?;
    Ok(head)
}

/// Check that `path` is a kernel image before anything boots it; returns its kind. An ELF
/// file must also carry the kernel's `Linux version` banner.
pub fn check_image(path: &Path) -> Result<ImageKind> {
    let head = read_head(path)?;
    let not = || Error::NotAnImage {
        path: path.to_path_buf(),
    };
    let kind = image::kind(&head).ok_or_else(not)?;
    if kind == ImageKind::Elf {
        let whole = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if !image::has_linux_banner(&whole) {
            return Err(not());
        }
    }
    Ok(kind)
}

/// `vmlinuz-R` / `vmlinux-R` -> `R`.
fn release_from_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let r = name
        .strip_prefix("vmlinuz-")
        .or_else(|| name.strip_prefix("vmlinux-"))?;
    (!r.is_empty()).then(|| r.to_string())
}

/// For an image inside an unpacked package or a system (`ROOT/boot/vmlinuz-R`), `ROOT`.
pub fn package_root(image: &Path) -> Option<PathBuf> {
    let boot = image.parent()?;
    if boot.file_name()? != "boot" {
        return None;
    }
    let root = boot.parent()?;
    Some(if root.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        root.to_path_buf()
    })
}
