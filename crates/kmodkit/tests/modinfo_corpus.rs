//! kmodkit's `modinfo` against kmod's, byte for byte, on the real Debian kernel trees: 6.1
//! (plain `.ko`) and 6.12 (every module `.ko.xz`).
//!
//! Both tools get the same arguments; stdout, stderr and exit status must be identical.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use testsupport::kmodkit;
use testsupport::{assert_same_output as assert_same, corpora, corpus, have_tool, Corpus};

/// Run kmod's modinfo and ours with `args` in `cwd`; return both outputs.
fn both(args: &[&str], files: &[PathBuf], cwd: &Path) -> (Output, Output) {
    let theirs = Command::new("modinfo")
        .args(args)
        .args(files)
        .current_dir(cwd)
        .output()
        .unwrap();
    // The host's kmod is kmod 30 (Debian 12): ours under its kmod 30 switch.
    let ours = Command::new(kmodkit())
        .env("KMODKIT_KMOD_COMPAT", "30")
        .arg("modinfo")
        .args(args)
        .args(files)
        .current_dir(cwd)
        .output()
        .unwrap();
    (theirs, ours)
}

/// Both amd64 kernels (each skipped with a reason when missing), if kmod's modinfo is there.
fn setup() -> Vec<Corpus> {
    if !have_tool("modinfo") {
        return Vec::new();
    }
    corpora()
}

/// Every module in chunks (as xargs would pass them), with `args`.
fn compare_all(c: &Corpus, args: &[&str], what: &str) {
    compare_every(c, args, what, 1);
}

/// Every `stride`-th module in chunks, with `args`.
fn compare_every(c: &Corpus, args: &[&str], what: &str, stride: usize) {
    let mods = c.modules();
    assert!(mods.len() > 1000, "corpus has only {} modules", mods.len());
    let mods: Vec<PathBuf> = mods.into_iter().step_by(stride).collect();
    let what = format!("{what} ({})", c.release);
    for chunk in mods.chunks(1000) {
        let (t, o) = both(args, chunk, Path::new("/"));
        assert_same(&what, &t, &o);
    }
}

#[test]
fn every_module_identical() {
    for c in setup() {
        compare_all(&c, &[], "modinfo <every module>");
    }
}

#[test]
fn null_separated_identical() {
    for c in setup() {
        compare_all(&c, &["-0"], "modinfo -0");
    }
}

#[test]
fn fields_identical() {
    for c in setup() {
        fields(&c);
    }
}

/// Each option over the whole uncompressed tree. On a compressed tree (6.12's `.ko.xz`,
/// where decompressing dominates both tools) over every 8th module: the whole tree is
/// compared there already, by the default and `-0` tests.
fn fields(c: &Corpus) {
    let stride = if c.ext() == ".ko" { 1 } else { 8 };
    for args in [
        &["-F", "vermagic"][..],
        &["-F", "alias"],
        &["-F", "depends"],
        &["--field=signer"],
        &["-F", "sig_key"],
        &["-F", "signature"],
        &["-F", "name"],
        &["-F", "nonexistent"],
        &["-a"],
        &["-d"],
        &["-l"],
        &["-p"],
        &["-n"],
        &["-0", "-p"],
        &["-0F", "parmtype"],
    ] {
        compare_every(c, args, &format!("modinfo {}", args.join(" ")), stride);
    }
}

#[test]
fn relative_paths_and_errors_identical() {
    for c in setup() {
        relative_paths_and_errors(&c);
    }
}

fn relative_paths_and_errors(c: &Corpus) {
    let kernel = c.moddir().join("kernel");
    let rel = [
        PathBuf::from(c.ko("fs/ext4/ext4")),
        PathBuf::from(c.ko("./fs/fat/vfat")),
        PathBuf::from(c.ko("fs/does-not-exist")),
        PathBuf::from("not-a-module-name"),
    ];
    let (t, o) = both(&[], &rel, &kernel);
    assert_same("relative paths", &t, &o);
    let (t, o) = both(&["-m"], &[PathBuf::from("nope")], &kernel);
    assert_same("-m unknown", &t, &o);
    let (t, o) = both(&[], &[PathBuf::from("bad[alias")], &kernel);
    assert_same("invalid alias", &t, &o);
    let (t, o) = both(&["--bogus"], &[], &kernel);
    assert_same("unknown option", &t, &o);
    let (t, o) = both(&[], &[], &kernel);
    assert_same("no arguments", &t, &o);
}

/// Every compression of the same modules: kmod 30 reads .ko, .ko.xz and .ko.zst by content;
/// so must we. A sample of each tree, uncompressed (6.12's `.ko.xz` decompressed) and
/// recompressed as xz (with crc32, as the kernel build does) and zstd.
#[test]
fn compressed_copies_identical() {
    if !have_tool("xz") || !have_tool("zstd") {
        return;
    }
    for c in setup() {
        compressed_copies(&c);
    }
}

fn compressed_copies(c: &Corpus) {
    let tmp = tempfile::tempdir().unwrap();
    let mods: Vec<PathBuf> = c.modules().into_iter().step_by(40).collect();
    let mut files = Vec::new();
    for (i, m) in mods.iter().enumerate() {
        let name = m.file_name().unwrap().to_string_lossy().into_owned();
        let base = name.strip_suffix(".xz").unwrap_or(&name);
        let plain = tmp.path().join(format!("p{i}-{base}"));
        if name.ends_with(".xz") {
            let out = Command::new("xz").arg("-dc").arg(m).output().unwrap();
            assert!(out.status.success(), "xz -dc {}", m.display());
            std::fs::write(&plain, out.stdout).unwrap();
        } else {
            std::fs::copy(m, &plain).unwrap();
        }
        files.push(plain.clone());
        let xz = tmp.path().join(format!("x{i}-{base}"));
        std::fs::copy(&plain, &xz).unwrap();
        let st = Command::new("xz")
            .arg("-q")
            .arg("--check=crc32")
            .arg(&xz)
            .status()
            .unwrap();
        assert!(st.success());
        files.push(PathBuf::from(format!("{}.xz", xz.display())));
        let zs = tmp.path().join(format!("z{i}-{base}"));
        std::fs::copy(&plain, &zs).unwrap();
        let st = Command::new("zstd")
            .args(["-q", "--rm"])
            .arg(&zs)
            .status()
            .unwrap();
        assert!(st.success());
        files.push(PathBuf::from(format!("{}.zst", zs.display())));
    }
    let (t, o) = both(&[], &files, tmp.path());
    assert!(
        t.status.success(),
        "kmod failed: {}",
        String::from_utf8_lossy(&t.stderr)
    );
    assert_same(&format!("compressed copies ({})", c.release), &t, &o);
}

/// Other architectures' real modules: arm64 (64-bit LE), s390x (64-bit big-endian) and
/// armhf (32-bit). kmod reads them all; so must we, identically.
#[test]
fn other_architectures_identical() {
    if !have_tool("modinfo") {
        return;
    }
    for arch in ["arm64", "s390x", "armhf"] {
        let Some(c) = corpus(arch) else { continue };
        compare_all(&c, &[], &format!("modinfo <every {arch} module>"));
        compare_all(
            &c,
            &["-0", "-F", "signature"],
            &format!("modinfo -0 -F signature ({arch})"),
        );
    }
}
