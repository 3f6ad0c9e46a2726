//! Configuration folders the way kmod and systemd read them (`modprobe.d`, `depmod.d`,
//! `modules-load.d`): every file of a list of directories (or a file named directly), whose
//! base name has one of the wanted suffixes, sorted by base name, where the first path
//! holding a name hides the same name in later paths (so `/etc` overrides `/usr/lib`).
//!
//! The one home of that rule (libkmod's `conf_files_list`, depmod's `cfg_load`, systemd's
//! `conf_files_list_strv`); the callers differ only in the suffixes and in what they say
//! about files they skip, which [`Note`] reports.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// A file or directory skipped, for the caller's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note<'a> {
    /// A configuration directory that exists but cannot be listed.
    Unlisted(&'a Path),
    /// An entry whose name has none of the suffixes (or is too short to have one).
    WrongName { dir: &'a Path, name: &'a OsStr },
    /// A directory inside a configuration directory.
    Directory { dir: &'a Path, name: &'a OsStr },
}

/// The files in effect, in the order to read them: `seed` entries (name, path) first join
/// the sort (modprobe's `modules.softdep`), then each of `paths` in priority order. Hidden
/// files are skipped silently; names must be at least six bytes (libkmod's rule: `x.conf`)
/// and end in one of `suffixes`. Paths that do not exist are skipped.
pub fn files(
    seed: Vec<(Vec<u8>, PathBuf)>,
    paths: &[PathBuf],
    suffixes: &[&str],
    note: &mut dyn FnMut(Note<'_>),
) -> Vec<PathBuf> {
    // Sorted by name; the first of equal names wins.
    let mut out: Vec<(Vec<u8>, PathBuf)> = Vec::new();
    let mut insert = |name: Vec<u8>, path: PathBuf| {
        if let Err(at) = out.binary_search_by(|(n, _)| n.as_slice().cmp(&name)) {
            out.insert(at, (name, path));
        }
    };
    for (n, p) in seed {
        insert(n, p);
    }
    for p in paths {
        let Ok(md) = std::fs::metadata(p) else {
            continue;
        };
        if !md.is_dir() {
            let name = p
                .file_name()
                .map(|n| n.as_bytes().to_vec())
                .unwrap_or_default();
            insert(name, p.clone());
            continue;
        }
        let Ok(rd) = std::fs::read_dir(p) else {
            note(Note::Unlisted(p));
            continue;
        };
        for e in rd.flatten() {
            let os_name = e.file_name();
            let name = os_name.as_bytes();
            if name.first() == Some(&b'.') {
                continue;
            }
            if name.len() < 6 || !suffixes.iter().any(|s| name.ends_with(s.as_bytes())) {
                note(Note::WrongName {
                    dir: p,
                    name: &os_name,
                });
                continue;
            }
            if e.path().is_dir() {
                note(Note::Directory {
                    dir: p,
                    name: &os_name,
                });
                continue;
            }
            insert(name.to_vec(), p.join(&os_name));
        }
    }
    out.into_iter().map(|(_, p)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earlier_paths_override_and_names_sort() {
        let t = tempfile::tempdir().unwrap();
        let (etc, lib) = (t.path().join("etc"), t.path().join("lib"));
        for d in [&etc, &lib] {
            std::fs::create_dir(d).unwrap();
        }
        std::fs::write(etc.join("b.conf"), "").unwrap();
        std::fs::write(lib.join("b.conf"), "").unwrap();
        std::fs::write(lib.join("a.conf"), "").unwrap();
        std::fs::write(lib.join(".hidden.conf"), "").unwrap();
        std::fs::write(lib.join("x.txt"), "").unwrap();
        std::fs::create_dir(lib.join("sub.conf")).unwrap();
        let mut notes = Vec::new();
        let got = files(
            Vec::new(),
            &[etc.clone(), lib.clone(), t.path().join("absent")],
            &[".conf"],
            &mut |n| notes.push(format!("{n:?}")),
        );
        assert_eq!(got, vec![lib.join("a.conf"), etc.join("b.conf")]);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes
            .iter()
            .any(|n| n.contains("WrongName") && n.contains("x.txt")));
        assert!(notes
            .iter()
            .any(|n| n.contains("Directory") && n.contains("sub.conf")));
    }
}
