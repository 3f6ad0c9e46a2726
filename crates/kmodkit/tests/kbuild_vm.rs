//! The out-of-tree story end to end on the real kernel: `kmodkit new` makes a skeleton,
//! `kmodkit build` compiles it against the corpus kernel's real headers and signs it with a
//! key from `kmodkit keygen`; `kmodkit vm` boots that kernel under OVMF with the certificate
//! enrolled in the firmware's db and `module.sig_enforce=1`, and our insmod/rmmod/dmesg inside
//! show the module loading (taint O only: signed and trusted), printing its pr_info lines
//! and unloading cleanly. On both of Debian 12's kernels (6.1 and 6.12, built with its gcc 12),
//! one boot each.

mod vm_kernels;

use std::path::{Path, PathBuf};
use std::process::Output;
use testsupport::{skip, Requirement};
use vm_kernels::Kernel;

fn kmodkit(args: &[&str], cwd: &Path) -> Output {
    testsupport::kmodkit_in(cwd, args)
}

fn text(o: &Output) -> String {
    testsupport::output_text(o)
}

#[test]
fn skeleton_built_signed_and_loaded_under_enforcement_6_1() {
    if let Some(k) = vm_kernels::kernel_with_headers("6.1") {
        skeleton_built_signed_and_loaded(&k);
    }
}

#[test]
fn skeleton_built_signed_and_loaded_under_enforcement_6_12() {
    if let Some(k) = vm_kernels::kernel_with_headers("6.12") {
        skeleton_built_signed_and_loaded(&k);
    }
}

fn skeleton_built_signed_and_loaded(k: &Kernel) {
    if !Path::new("/usr/share/OVMF/OVMF_VARS_4M.fd").is_file() {
        skip(Requirement::Vm, "OVMF (package ovmf) is not installed");
        return;
    }
    let release = k.release().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let s = |p: PathBuf| p.to_string_lossy().into_owned();
    let (key, cert, der) = (
        s(d.join("key.pem")),
        s(d.join("cert.pem")),
        s(d.join("cert.der")),
    );

    let out = kmodkit(&["new", "kmk_hello"], d);
    assert!(out.status.success(), "{}", text(&out));
    let out = kmodkit(
        &[
            "keygen",
            "--cn",
            "kmodkit test key",
            "--algo",
            "rsa2048",
            "--key",
            &key,
            "--cert",
            &cert,
            "--der",
            &der,
        ],
        d,
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = kmodkit(
        &[
            "build",
            "kmk_hello",
            "--kernel",
            &release,
            "--sign-key",
            &key,
            "--sign-cert",
            &cert,
        ],
        d,
    );
    assert!(out.status.success(), "{}", text(&out));
    let ko = s(d
        .join("kmk_hello/.build")
        .join(&release)
        .join("kmk_hello.ko"));

    let image = s(k.image());
    let script =
        "uname -r && insmod /kmk_hello.ko bufsize=8192 && cat /proc/sys/kernel/tainted && \
                  cat /sys/module/kmk_hello/taint && lsmod && rmmod kmk_hello && dmesg";
    let out = kmodkit(
        &[
            "vm",
            "--kernel",
            &image,
            "--secure-db",
            &der,
            "--append",
            "module.sig_enforce=1",
            "--add",
            &format!("{ko}:/kmk_hello.ko"),
            "--",
            script,
        ],
        d,
    );
    let t = text(&out);
    assert!(out.status.success(), "vm failed:\n{t}");
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(lines.first(), Some(&release.as_str()), "{t}");
    assert!(
        lines.contains(&"4096"),
        "taint should be O only (4096):\n{t}"
    );
    assert!(lines.contains(&"O"), "module taint should be O:\n{t}");
    assert!(
        t.contains("kmk_hello: loaded, 8192-byte buffer allocated"),
        "{t}"
    );
    assert!(t.contains("kmk_hello: unloaded, buffer freed"), "{t}");
    assert!(
        t.contains("Loaded X.509 cert 'kmodkit test key"),
        "the db certificate was not loaded:\n{t}"
    );
    assert!(!t.contains("module verification failed"), "{t}");
}
