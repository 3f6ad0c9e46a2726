//! `kmodkit bpf conformance` over the public bpf_conformance vectors (vendored under
//! tests/data/bpf_conformance, MIT/Apache per file) and kmodkit's own vectors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn kmodkit(args: &[&Path]) -> Output {
    Command::new(testsupport::kmodkit())
        .arg("bpf")
        .arg("conformance")
        .args(args)
        .output()
        .unwrap()
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn all_313_public_vectors_pass() {
    let dir = data("bpf_conformance");
    let n = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "data")
        })
        .count();
    assert_eq!(n, 313);
    let out = kmodkit(&[&dir]);
    let stdout = text(&out.stdout);
    assert!(stdout.ends_with("313 passed, 0 failed\n"), "{stdout}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn own_vectors_pass() {
    let out = kmodkit(&[&data("bpf_vectors")]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains(" passed, 0 failed\n"), "{stdout}");
    assert_eq!(out.status.code(), Some(0), "{stdout}");
}

#[test]
fn a_wrong_expectation_fails_and_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(data("bpf_conformance/add.data")).unwrap();
    let bad = good.replace("-- result\n0x3", "-- result\n0x4");
    assert_ne!(good, bad);
    std::fs::write(tmp.path().join("add-wrong.data"), bad).unwrap();
    std::fs::write(tmp.path().join("add.data"), &good).unwrap();
    std::fs::write(
        tmp.path().join("bad-asm.data"),
        "-- asm\nfrobnicate %r0\nexit\n-- result\n0x0\n",
    )
    .unwrap();
    let out = kmodkit(&[tmp.path()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("add-wrong.data: expected r0 = 0x4, got 0x3"),
        "{stdout}"
    );
    assert!(
        stdout.contains("bad-asm.data: bad vector: line 2:1: unknown instruction `frobnicate`"),
        "{stdout}"
    );
    assert!(stdout.ends_with("1 passed, 2 failed\n"), "{stdout}");
}

#[test]
fn usage_errors_exit_2() {
    let out = Command::new(testsupport::kmodkit())
        .args(["bpf", "conformance"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(testsupport::kmodkit())
        .args(["bpf", "nosuch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
