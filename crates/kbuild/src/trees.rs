//! Trees are boundaries: every value from outside (dkms.conf, the command line) that becomes
//! part of a path is checked before any file is created, copied or deleted, and every path
//! DKMS writes or removes is checked to lie inside its tree once symlinks are resolved.
//!
//! - Names and versions (`PACKAGE_NAME`, `PACKAGE_VERSION`, `BUILT_MODULE_NAME`,
//!   `DEST_MODULE_NAME`, `-m`, `-v`, `-k`, `-a`) are **one path component**: not empty, no
//!   `/`, not `.` or `..`, no NUL.
//! - Locations (`DEST_MODULE_LOCATION`, `BUILT_MODULE_LOCATION`, `PATCH`) are relative paths
//!   whose every component is one; `DEST_MODULE_LOCATION` must start with `/kernel`,
//!   `/updates` or `/extra` (DKMS's own rule, here per component: `/kernelfoo` is not
//!   `/kernel`).
//! - [`inside`]: a path (its existing part resolved with `realpath`) is under its tree (also
//!   resolved): a symlink planted in the tree that points elsewhere is refused.
//!
//! Each refusal names the field, its value and where it came from (`dkms.conf:LINE`, or the
//! command-line option).

use crate::{Error, Result};
use std::fmt;
use std::path::{Component, Path, PathBuf};

/// Where a value came from, for the refusal message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A command-line option (`-m`, `-v`, `-k`, `-a`, `module/version`).
    CommandLine(&'static str),
    /// A dkms.conf (or an /etc/dkms override) and the line that set the value, when a line
    /// assigns it literally.
    Conf { file: PathBuf, line: Option<usize> },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::CommandLine(opt) => write!(f, "command line ({opt})"),
            Origin::Conf {
                file,
                line: Some(n),
            } => write!(f, "{}:{n}", file.display()),
            Origin::Conf { file, line: None } => write!(f, "{}", file.display()),
        }
    }
}

/// Why a value cannot be one path component, if it cannot.
fn component_problem(value: &str) -> Option<&'static str> {
    if value.is_empty() {
        Some("it is empty")
    } else if value.contains('\0') {
        Some("it contains a NUL byte")
    } else if value.contains('/') {
        Some("it contains '/'")
    } else if value == "." || value == ".." {
        Some("it is '.' or '..'")
    } else {
        None
    }
}

fn refuse(field: &str, value: &str, origin: &Origin, why: &str) -> Error {
    Error::Refused {
        field: field.to_string(),
        value: value.to_string(),
        origin: origin.to_string(),
        why: why.to_string(),
    }
}

/// `value` must be one path component.
pub fn component(field: &str, value: &str, origin: &Origin) -> Result<()> {
    match component_problem(value) {
        Some(why) => Err(refuse(
            field,
            value,
            origin,
            &format!("{why}; it must be a single path component"),
        )),
        None => Ok(()),
    }
}

/// `value` must be a relative path of components (a leading '/' is allowed and means the
/// tree's top, as DKMS writes locations; an empty value is allowed when `may_be_empty`).
pub fn relative_path(field: &str, value: &str, origin: &Origin, may_be_empty: bool) -> Result<()> {
    let trimmed = value.trim_start_matches('/').trim_end_matches('/');
    if trimmed.is_empty() {
        if may_be_empty {
            return Ok(());
        }
        return Err(refuse(field, value, origin, "it names no directory"));
    }
    for part in trimmed.split('/') {
        if let Some(why) = component_problem(part) {
            let why = if part.is_empty() {
                "it has an empty component ('//')"
            } else {
                why
            };
            return Err(refuse(
                field,
                value,
                origin,
                &format!("{why}; it must stay inside its tree"),
            ));
        }
    }
    Ok(())
}

/// `DEST_MODULE_LOCATION`: a path under the kernel's module directory starting with
/// `/kernel`, `/updates` or `/extra`.
pub fn dest_location(value: &str, origin: &Origin) -> Result<()> {
    const FIELD: &str = "DEST_MODULE_LOCATION";
    relative_path(FIELD, value, origin, false)?;
    let first = value
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    if !value.starts_with('/') || !["kernel", "updates", "extra"].contains(&first) {
        return Err(refuse(
            FIELD,
            value,
            origin,
            "it does not begin with /kernel, /updates or /extra",
        ));
    }
    Ok(())
}

/// A module and one of its versions: `-m NAME -v VERSION`, `NAME/VERSION`, or dkms.conf's
/// `PACKAGE_NAME` and `PACKAGE_VERSION`. Both are single path components.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleVersion {
    pub name: String,
    pub version: String,
}

impl ModuleVersion {
    /// Checked values from the command line.
    pub fn from_cli(name: &str, version: &str) -> Result<ModuleVersion> {
        component("module name", name, &Origin::CommandLine("-m"))?;
        component("module version", version, &Origin::CommandLine("-v"))?;
        Ok(ModuleVersion {
            name: name.into(),
            version: version.into(),
        })
    }

    /// Checked values with their origins.
    pub fn new(
        name: &str,
        name_from: &Origin,
        version: &str,
        version_from: &Origin,
    ) -> Result<Self> {
        component("PACKAGE_NAME", name, name_from)?;
        component("PACKAGE_VERSION", version, version_from)?;
        Ok(ModuleVersion {
            name: name.into(),
            version: version.into(),
        })
    }
}

impl fmt::Display for ModuleVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.name, self.version)
    }
}

/// A kernel release and architecture to build for (`-k RELEASE[/ARCH]`, `-a ARCH`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KernelTarget {
    pub release: String,
    pub arch: String,
}

impl KernelTarget {
    /// Checked values (from the command line, or found in the DKMS tree).
    pub fn new(release: &str, arch: &str) -> Result<KernelTarget> {
        component("kernel release", release, &Origin::CommandLine("-k"))?;
        component("architecture", arch, &Origin::CommandLine("-a"))?;
        Ok(KernelTarget {
            release: release.into(),
            arch: arch.into(),
        })
    }
}

impl fmt::Display for KernelTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.release, self.arch)
    }
}

/// The path with its longest existing prefix resolved (symlinks followed) and the rest
/// appended as written (the rest has only normal components here: values were checked).
fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    let mut existing = path.to_path_buf();
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    loop {
        match std::fs::canonicalize(&existing) {
            Ok(real) => {
                let mut out = real;
                for r in rest.iter().rev() {
                    out.push(r);
                }
                return Ok(out);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // A dangling symlink is not "not yet created": its target is elsewhere.
                if existing.symlink_metadata().is_ok() {
                    return Err(std::io::Error::other(format!(
                        "{} is a dangling symbolic link",
                        existing.display()
                    )));
                }
                let name = existing.file_name().map(|n| n.to_os_string());
                match (name, existing.parent()) {
                    (Some(n), Some(parent)) => {
                        rest.push(n);
                        existing = if parent.as_os_str().is_empty() {
                            PathBuf::from(".")
                        } else {
                            parent.to_path_buf()
                        };
                    }
                    _ => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// Is `path` (to be created, written or, with `delete`, removed) inside `tree` once
/// symlinks are resolved? With `delete` the last component itself is not followed (removing
/// a symlink removes the link), but it must be a plain name inside the resolved parent.
pub fn inside(tree: &Path, path: &Path, delete: bool) -> Result<()> {
    let outside = |why: String| Error::Outside {
        path: path.to_path_buf(),
        tree: tree.to_path_buf(),
        why,
    };
    if path
        .components()
        .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
    {
        return Err(outside("it has a '.' or '..' component".into()));
    }
    let real_tree = resolve(tree).map_err(|e| outside(e.to_string()))?;
    let (checked, last) = if delete {
        match (path.parent(), path.file_name()) {
            (Some(p), Some(n)) => (p.to_path_buf(), Some(n)),
            _ => return Err(outside("it has no parent".into())),
        }
    } else {
        (path.to_path_buf(), None)
    };
    let mut real = resolve(&checked).map_err(|e| outside(e.to_string()))?;
    if let Some(n) = last {
        real.push(n);
    }
    if real == real_tree || !real.starts_with(&real_tree) {
        return Err(outside(format!("it resolves to {}", real.display())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components() {
        let o = Origin::CommandLine("-m");
        assert!(component("m", "v4l2loopback", &o).is_ok());
        assert!(component("m", "0.12.7-2+b1", &o).is_ok());
        for bad in ["", ".", "..", "a/b", "/abs", "a\0b"] {
            let e = component("module name", bad, &o).unwrap_err().to_string();
            assert!(
                e.contains("module name") && e.contains("command line (-m)"),
                "{e}"
            );
        }
    }

    #[test]
    fn locations() {
        let o = Origin::Conf {
            file: "dkms.conf".into(),
            line: Some(7),
        };
        for good in ["/updates/dkms", "/kernel/drivers/net", "/extra", "/extra/"] {
            assert!(dest_location(good, &o).is_ok(), "{good}");
        }
        for bad in [
            "/kernelfoo",
            "/kernel/../../../etc",
            "updates",
            "/updates//x",
            "/",
            "/updates/./x",
        ] {
            let e = dest_location(bad, &o).unwrap_err().to_string();
            assert!(
                e.contains("DEST_MODULE_LOCATION") && e.contains("dkms.conf:7"),
                "{e}"
            );
        }
        assert!(relative_path("BUILT_MODULE_LOCATION", "", &o, true).is_ok());
        assert!(relative_path("BUILT_MODULE_LOCATION", "src/", &o, true).is_ok());
        assert!(relative_path("BUILT_MODULE_LOCATION", "../x/", &o, true).is_err());
    }

    #[test]
    fn symlinks_out_of_a_tree_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = tmp.path().join("tree");
        let out = tmp.path().join("outside");
        std::fs::create_dir_all(&tree).unwrap();
        std::fs::create_dir_all(&out).unwrap();
        std::os::unix::fs::symlink(&out, tree.join("m")).unwrap();
        assert!(inside(&tree, &tree.join("new/dir"), false).is_ok());
        assert!(inside(&tree, &tree.join("m/1/source"), false).is_err());
        // The link itself may be removed; what is behind it may not.
        assert!(inside(&tree, &tree.join("m"), true).is_ok());
        assert!(inside(&tree, &tree.join("m/x"), true).is_err());
        assert!(inside(&tree, &tree, true).is_err());
        assert!(inside(&tree, &tree.join("a/../../x"), false).is_err());
        std::os::unix::fs::symlink(tmp.path().join("nowhere"), tree.join("d")).unwrap();
        assert!(inside(&tree, &tree.join("d/x"), false).is_err());
    }
}
