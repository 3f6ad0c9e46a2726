//! Shared by the depmod/modprobe/modinfo-lookup tests: a scratch root whose
//! `lib/modules/<release>` mirrors a Debian corpus (6.1's `.ko` or 6.12's `.ko.xz`) through
//! symlinks, and side-by-side runs of kmod's tools and ours.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
pub use testsupport::kmodkit;
use testsupport::{corpora, corpus, have_tool, Corpus};

/// The default (6.1) corpus, if it and kmod's `tool` are available (else the test is skipped).
pub fn setup(tool: &str) -> Option<Corpus> {
    if !have_tool(tool) {
        return None;
    }
    corpus("amd64")
}

/// Both amd64 corpora (6.1 and 6.12; each skipped with a reason when missing), if kmod's
/// `tool` is available (else the test is skipped).
pub fn setup_all(tool: &str) -> Vec<Corpus> {
    if !have_tool(tool) {
        return Vec::new();
    }
    corpora()
}

/// A root under `tmp` with `lib/modules/<release>/` holding symlinks to the corpus's
/// `kernel/` directory and its modules.order/builtin/builtin.modinfo files.
pub fn symlink_root(c: &Corpus, tmp: &Path) -> PathBuf {
    let root = tmp.join("root");
    let dir = root.join("lib/modules").join(&c.release);
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(c.moddir()).unwrap().flatten() {
        std::os::unix::fs::symlink(e.path(), dir.join(e.file_name())).unwrap();
    }
    root
}

/// Like [`symlink_root`] but `kernel/` is a tree of real directories with one symlink per
/// module, leaving out modules whose path (relative to `kernel/`) satisfies `drop`.
pub fn filtered_root(c: &Corpus, tmp: &Path, drop: impl Fn(&str) -> bool) -> PathBuf {
    let root = tmp.join("root");
    let dir = root.join("lib/modules").join(&c.release);
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(c.moddir()).unwrap().flatten() {
        if e.file_name() != "kernel" {
            std::os::unix::fs::symlink(e.path(), dir.join(e.file_name())).unwrap();
        }
    }
    let kernel = c.moddir().join("kernel");
    for m in c.modules() {
        let rel = m.strip_prefix(&kernel).unwrap();
        if drop(&rel.to_string_lossy()) {
            continue;
        }
        let to = dir.join("kernel").join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&m, &to).unwrap();
    }
    root
}

/// Run kmod's `depmod` with `args`; panic if it fails to start.
pub fn kmod_depmod(args: &[&str]) -> Output {
    Command::new("depmod").args(args).output().unwrap()
}

/// The host's kmod is kmod 30 (Debian 12): kmodkit is compared with it under its kmod 30
/// switch (the default is kmod 34.2, compared in kmod34_oracle.rs).
pub const COMPAT: (&str, &str) = ("KMODKIT_KMOD_COMPAT", "30");

/// Run `kmodkit <tool> args` (as kmod 30) and kmod's `<tool> args`; return (kmod, ours).
pub fn both(tool: &str, args: &[String]) -> (Output, Output) {
    let theirs = Command::new(tool).args(args).output().unwrap();
    let ours = Command::new(kmodkit())
        .env(COMPAT.0, COMPAT.1)
        .arg(tool)
        .args(args)
        .output()
        .unwrap();
    (theirs, ours)
}

pub use testsupport::assert_same_output as assert_same;

/// Every module name of modules.dep (normalised base names).
pub fn dep_names(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("modules.dep"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split(':').next())
        .map(|p| {
            let base = p.rsplit('/').next().unwrap();
            base.split('.').next().unwrap().replace('-', "_")
        })
        .collect()
}

/// Every `step`th pattern of modules.alias.
pub fn alias_sample(dir: &Path, step: usize) -> Vec<String> {
    std::fs::read_to_string(dir.join("modules.alias"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .step_by(step)
        .map(str::to_string)
        .collect()
}

/// The files depmod writes (kmod 30).
pub const DEPMOD_FILES: [&str; 10] = [
    "modules.dep",
    "modules.dep.bin",
    "modules.alias",
    "modules.alias.bin",
    "modules.softdep",
    "modules.symbols",
    "modules.symbols.bin",
    "modules.builtin.bin",
    "modules.builtin.alias.bin",
    "modules.devname",
];

fn remove_outputs(dir: &Path) {
    for f in DEPMOD_FILES {
        let _ = std::fs::remove_file(dir.join(f));
    }
}

/// Run kmod's depmod and ours with the same arguments on the same root (one after the other,
/// so that paths in messages agree) and require identical stdout, stderr, exit status and
/// output files. Returns how many files were compared.
pub fn compare_depmod(root: &Path, release: &str, args: &[&str], what: &str) -> usize {
    let what = &format!("{what} ({release})");
    let dir = root.join("lib/modules").join(release);
    let mut full: Vec<String> = vec!["-b".into(), root.to_str().unwrap().into()];
    full.extend(args.iter().map(|s| s.to_string()));
    full.push(release.into());

    remove_outputs(&dir);
    let theirs = Command::new("depmod").args(&full).output().unwrap();
    let kmod_files: Vec<Option<Vec<u8>>> = DEPMOD_FILES
        .iter()
        .map(|f| std::fs::read(dir.join(f)).ok())
        .collect();
    remove_outputs(&dir);
    let ours = Command::new(kmodkit())
        .env(COMPAT.0, COMPAT.1)
        .arg("depmod")
        .args(&full)
        .output()
        .unwrap();
    assert_same(what, &theirs, &ours);
    let mut n = 0;
    for (f, k) in DEPMOD_FILES.iter().zip(kmod_files) {
        let o = std::fs::read(dir.join(f)).ok();
        assert_eq!(
            k.is_some(),
            o.is_some(),
            "{what}: {f} written by only one of the two"
        );
        if let (Some(k), Some(o)) = (k, o) {
            assert!(
                k == o,
                "{what}: {f} differs ({} vs {} bytes)",
                k.len(),
                o.len()
            );
            n += 1;
        }
    }
    // No temporary files left behind.
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(
            name.matches('.').count() < 4 || !name.starts_with("modules."),
            "{what}: leftover temporary file {name}"
        );
    }
    n
}
