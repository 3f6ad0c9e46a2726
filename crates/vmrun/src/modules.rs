//! Copying a module and its dependency closure from a module tree into an initramfs.
//!
//! The closure comes from the tree's `modules.dep` (depmod already lists every module a
//! module needs, transitively, on its line). The tree's index files are copied along, so
//! `modprobe NAME` inside finds NAME and everything it depends on: entries for modules that
//! were not copied are harmless as long as nothing asks for them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::{Error, Initramfs};

/// A module's name from its file name: the basename without `.ko[.xz|.zst|.gz]`, with
/// dashes as underscores (the kernel's and kmod's rule).
pub fn module_name(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let base = base.split(".ko").next().unwrap_or(base);
    base.replace('-', "_")
}

/// `modules.dep` lines: (module path relative to the release directory, its dependencies).
pub fn parse_dep(text: &str) -> Vec<(String, Vec<String>)> {
    text.lines()
        .filter_map(|l| {
            let (m, deps) = l.split_once(':')?;
            Some((
                m.trim().to_string(),
                deps.split_whitespace().map(str::to_string).collect(),
            ))
        })
        .collect()
}

/// The release directory of `root`: `root/lib/modules/<release>`, preferring `release`.
pub fn release_dir(root: &Path, release: Option<&str>) -> Result<PathBuf, Error> {
    let base = root.join("lib/modules");
    if let Some(r) = release {
        let d = base.join(r);
        if d.join("modules.dep").is_file() {
            return Ok(d);
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(&base)
        .map_err(|e| Error::io(&base, e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("modules.dep").is_file())
        .collect();
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::NotFound(format!(
            "{}: no <release>/modules.dep (run depmod -b {} <release>)",
            base.display(),
            root.display()
        ))),
        _ => Err(Error::NotFound(format!(
            "{}: several releases and none matches the kernel's ({})",
            base.display(),
            release.unwrap_or("unknown")
        ))),
    }
}

/// Adds `names` and their dependencies from the tree at `root` to `fs`, under
/// `/lib/modules/<release>/`, with the tree's `modules.*` index files. Returns the module
/// paths added (relative to the release directory).
pub fn add_closure(
    fs: &mut Initramfs,
    root: &Path,
    release: Option<&str>,
    names: &[String],
) -> Result<Vec<String>, Error> {
    let dir = release_dir(root, release)?;
    let rel_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dep_path = dir.join("modules.dep");
    let text = std::fs::read_to_string(&dep_path).map_err(|e| Error::io(&dep_path, e))?;
    let deps = parse_dep(&text);
    let mut wanted = BTreeSet::new();
    for name in names {
        let n = module_name(name);
        let (m, d) = deps
            .iter()
            .find(|(m, _)| module_name(m) == n)
            .ok_or_else(|| {
                Error::NotFound(format!("module {name} not found in {}", dep_path.display()))
            })?;
        wanted.insert(m.clone());
        wanted.extend(d.iter().cloned());
    }
    let guest_dir = format!("/lib/modules/{rel_name}");
    for m in &wanted {
        let host = if m.starts_with('/') {
            root.join(m.trim_start_matches('/'))
        } else {
            dir.join(m)
        };
        let guest = if m.starts_with('/') {
            m.clone()
        } else {
            format!("{guest_dir}/{m}")
        };
        fs.host_file(&host, &guest)?;
    }
    let rd = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    for e in rd.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with("modules.") && e.path().is_file() {
            fs.host_file(&e.path(), &format!("{guest_dir}/{n}"))?;
        }
    }
    Ok(wanted.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_dep_lines() {
        assert_eq!(module_name("kernel/drivers/foo-bar.ko.xz"), "foo_bar");
        assert_eq!(module_name("extra/a.ko"), "a");
        let d = parse_dep("extra/b.ko: extra/a.ko kernel/x.ko\nextra/a.ko:\n");
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].1, vec!["extra/a.ko", "kernel/x.ko"]);
        assert!(d[1].1.is_empty());
    }
}
