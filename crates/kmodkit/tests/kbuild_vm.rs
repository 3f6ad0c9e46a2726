//! The out-of-tree story end to end on the real kernel: `kmodkit new` makes a skeleton,
//! `kmodkit build` compiles it against the corpus kernel's real headers and signs it with a
//! key from `kmodkit keygen`; `kmodkit vm` boots that kernel under OVMF with the certificate
//! enrolled in the firmware's db and `module.sig_enforce=1`, and our insmod/rmmod/dmesg inside
//! show the module loading (taint O only: signed and trusted), printing its pr_info lines
//! and unloading cleanly.

use std::path::{Path, PathBuf};
use std::process::Output;
use testsupport::{corpus_with_headers, have_tool, skip, Requirement};

fn kmodkit(args: &[&str], cwd: &Path) -> Output {
    testsupport::kmodkit_in(cwd, args)
}

fn text(o: &Output) -> String {
    testsupport::output_text(o)
}

#[test]
fn skeleton_built_signed_and_loaded_under_enforcement() {
    let Some(c) = corpus_with_headers("amd64") else {
        return;
    };
    if !["qemu-system-x86_64", "busybox"]
        .iter()
        .all(|t| have_tool(t))
    {
        return;
    }
    if !Path::new("/usr/share/OVMF/OVMF_VARS_4M.fd").is_file() {
        skip(Requirement::Vm, "OVMF (package ovmf) is not installed");
        return;
    }
    let release = c.release.clone();
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

    let image = s(c.root.join("boot").join(format!("vmlinuz-{release}")));
    let script = "insmod /kmk_hello.ko bufsize=8192 && cat /proc/sys/kernel/tainted && \
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
