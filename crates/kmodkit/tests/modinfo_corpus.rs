//! kmodkit's `modinfo` against kmod's, byte for byte, on the real Debian kernel tree.
//!
//! Both tools get the same arguments; stdout, stderr and exit status must be identical.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use testsupport::kmodkit;
use testsupport::{assert_same_output as assert_same, corpus, have_tool, Corpus};

/// Run kmod's modinfo and ours with `args` in `cwd`; return both outputs.
fn both(args: &[&str], files: &[PathBuf], cwd: &Path) -> (Output, Output) {
    let theirs = Command::new("modinfo")
        .args(args)
        .args(files)
        .current_dir(cwd)
        .output()
        .unwrap();
    let ours = Command::new(kmodkit())
        .arg("modinfo")
        .args(args)
        .args(files)
        .current_dir(cwd)
        .output()
        .unwrap();
    (theirs, ours)
}

fn setup() -> Option<Corpus> {
    if !have_tool("modinfo") {
        return None;
    }
    corpus("amd64")
}

/// Every module in chunks (as xargs would pass them), with `args`.
fn compare_all(c: &Corpus, args: &[&str], what: &str) {
    let mods = c.modules();
    assert!(mods.len() > 1000, "corpus has only {} modules", mods.len());
    for chunk in mods.chunks(1000) {
        let (t, o) = both(args, chunk, Path::new("/"));
        assert_same(what, &t, &o);
    }
}

#[test]
fn every_module_identical() {
    let Some(c) = setup() else { return };
    compare_all(&c, &[], "modinfo <every module>");
}

#[test]
fn null_separated_identical() {
    let Some(c) = setup() else { return };
    compare_all(&c, &["-0"], "modinfo -0");
}

#[test]
fn fields_identical() {
    let Some(c) = setup() else { return };
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
        compare_all(&c, args, &format!("modinfo {}", args.join(" ")));
    }
}

#[test]
fn relative_paths_and_errors_identical() {
    let Some(c) = setup() else { return };
    let kernel = c.moddir().join("kernel");
    let rel = [
        PathBuf::from("fs/ext4/ext4.ko"),
        PathBuf::from("./fs/fat/vfat.ko"),
        PathBuf::from("fs/does-not-exist.ko"),
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

/// Compressed copies: kmod 30 reads .ko.xz and .ko.zst by content; so must we.
#[test]
fn compressed_copies_identical() {
    let Some(c) = setup() else { return };
    if !have_tool("xz") || !have_tool("zstd") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mods: Vec<PathBuf> = c.modules().into_iter().step_by(40).collect();
    let mut files = Vec::new();
    for (i, m) in mods.iter().enumerate() {
        let base = m.file_name().unwrap().to_string_lossy().into_owned();
        let xz = tmp.path().join(format!("x{i}-{base}"));
        std::fs::copy(m, &xz).unwrap();
        let st = Command::new("xz")
            .arg("-q")
            .arg("--check=crc32")
            .arg(&xz)
            .status()
            .unwrap();
        assert!(st.success());
        files.push(PathBuf::from(format!("{}.xz", xz.display())));
        let zs = tmp.path().join(format!("z{i}-{base}"));
        std::fs::copy(m, &zs).unwrap();
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
    assert_same("compressed copies", &t, &o);
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
