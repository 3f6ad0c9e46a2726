//! Copying a module and its dependency closure from a module tree into an initramfs.
//!
//! The closure comes from the tree's `modules.dep` (depmod already lists every module a
//! module needs, transitively, on its line). The tree's index files are copied along, so
//! `modprobe NAME` inside finds NAME and everything it depends on: entries for modules that
//! were not copied are harmless as long as nothing asks for them.
//!
//! A tree without `modules.dep` (a kernel package as `dpkg-deb -x` unpacks it: Debian makes
//! the indexes in the package's postinst) gets its closure from the modules' own `depends=`
//! (`.modinfo`, read through any compression: Debian 6.12's modules are all `.ko.xz`), and
//! the guest indexes the few modules it got with `depmod` before the command
//! ([`Closure::needs_depmod`]), instead of this host indexing all four thousand.

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

/// Whether `d` is a release directory with modules: indexed (`modules.dep`) or as a package
/// unpacks it (`kernel/`).
fn has_modules(d: &Path) -> bool {
    d.join("modules.dep").is_file() || d.join("kernel").is_dir()
}

/// The release directory of `root`: `root/lib/modules/<release>`, preferring `release`.
pub fn release_dir(root: &Path, release: Option<&str>) -> Result<PathBuf, Error> {
    let base = root.join("lib/modules");
    if let Some(r) = release.filter(|r| !r.is_empty()) {
        let d = base.join(r);
        if has_modules(&d) {
            return Ok(d);
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(&base)
        .map_err(|e| Error::io(&base, e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| has_modules(p))
        .collect();
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::NotFound(format!(
            "{}: no <release>/modules.dep or <release>/kernel/",
            base.display(),
        ))),
        _ => Err(Error::NotFound(format!(
            "{}: several releases and none matches the kernel's ({})",
            base.display(),
            release.unwrap_or("unknown")
        ))),
    }
}

/// What [`add_closure`] copied.
#[derive(Debug, Default)]
pub struct Closure {
    /// Module paths relative to the release directory.
    pub modules: Vec<String>,
    /// The release directory's name in the guest (`/lib/modules/<release>`).
    pub release: String,
    /// The tree had no `modules.dep`: the guest must run `depmod <release>` before
    /// `modprobe` can find the modules.
    pub needs_depmod: bool,
}

/// Adds `names` and their dependencies from the tree at `root` to `fs`, under
/// `/lib/modules/<release>/`, with the tree's `modules.*` index files.
pub fn add_closure(
    fs: &mut Initramfs,
    root: &Path,
    release: Option<&str>,
    names: &[String],
) -> Result<Closure, Error> {
    let dir = release_dir(root, release)?;
    let rel_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dep_path = dir.join("modules.dep");
    let needs_depmod = !dep_path.is_file();
    let wanted = if needs_depmod {
        closure_from_modinfo(&dir, names)?
    } else {
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
        wanted
    };
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
    // The index files (or, without them, what depmod reads besides the modules: the
    // builtin lists and modules.order).
    let rd = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    for e in rd.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with("modules.") && e.path().is_file() {
            fs.host_file(&e.path(), &format!("{guest_dir}/{n}"))?;
        }
    }
    Ok(Closure {
        modules: wanted.into_iter().collect(),
        release: rel_name,
        needs_depmod,
    })
}

/// The modules `names` need, transitively, from their `depends=` lines: paths relative to
/// `dir` (the release directory), found by walking it.
fn closure_from_modinfo(dir: &Path, names: &[String]) -> Result<BTreeSet<String>, Error> {
    let mut by_name = std::collections::HashMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let rd = std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))?;
        for e in rd.flatten() {
            let p = e.path();
            let Ok(t) = e.file_type() else { continue };
            let file = p.file_name().map(|n| n.to_string_lossy().into_owned());
            if t.is_dir() {
                stack.push(p);
            } else if let Some(f) = file.filter(|f| is_module_file(f)) {
                if let Ok(rel) = p.strip_prefix(dir) {
                    // The first found wins, as with depmod's search order: good enough for a
                    // package tree, which has one file per name.
                    by_name
                        .entry(module_name(&f))
                        .or_insert_with(|| rel.to_string_lossy().into_owned());
                }
            }
        }
    }
    let mut wanted = BTreeSet::new();
    let mut todo: Vec<(String, Option<String>)> =
        names.iter().map(|n| (module_name(n), None)).collect();
    while let Some((name, needed_by)) = todo.pop() {
        let rel = by_name.get(&name).ok_or_else(|| {
            Error::NotFound(match &needed_by {
                None => format!("module {name} not found under {}", dir.display()),
                Some(by) => format!(
                    "module {name} (needed by {by}) not found under {}",
                    dir.display()
                ),
            })
        })?;
        if !wanted.insert(rel.clone()) {
            continue;
        }
        let path = dir.join(rel);
        let raw = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let module = modfile::Module::parse(&raw).map_err(|e| Error::Format {
            path: path.clone(),
            what: e.to_string(),
        })?;
        let info = module.modinfo();
        if let Some(deps) = info.get("depends") {
            for d in String::from_utf8_lossy(deps)
                .split(',')
                .filter(|d| !d.is_empty())
            {
                todo.push((module_name(d), Some(name.clone())));
            }
        }
    }
    Ok(wanted)
}

fn is_module_file(name: &str) -> bool {
    [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
        .iter()
        .any(|s| name.ends_with(s))
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
