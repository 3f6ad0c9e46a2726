//! `kmodkit vm` itself: the command's exit status and its stdout/stderr come back apart
//! and byte for byte; a kernel that panics or a guest that hangs is a failure (125, 124),
//! never success. On both of Debian 12's kernels, each named the three ways `--kernel`
//! takes: 6.1 by its image, 6.12 by its series (`--kernel 6.12`, resolved through apt's
//! lists and the cache) and by its release.

mod vm_kernels;

use std::ffi::OsStr;
use std::process::Command;
use testsupport::kmodkit;
use vm_kernels::Kernel;

fn vm(kernel: impl AsRef<OsStr>, extra: &[&str], command: &str) -> std::process::Output {
    Command::new(kmodkit())
        .arg("vm")
        .arg("--kernel")
        .arg(kernel)
        .args(extra)
        .arg("--")
        .arg(command)
        .output()
        .unwrap()
}

/// 70,000 bytes of every value through stdout, stderr apart, the status passed through,
/// and `uname -r` inside is the kernel asked for. `--with vfat` copies vfat and what it needs
/// (fat) from the kernel's own package, which has no indexes (the guest runs depmod): `modprobe
/// vfat` loads both (on 6.12, `.ko.xz` files the kernel decompresses).
fn status_and_streams(k: &Kernel, kernel_arg: &OsStr) {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    std::fs::write(dir.path().join("blob"), &data).unwrap();
    let add = format!("{}:/data/blob", dir.path().join("blob").display());
    let out = vm(
        kernel_arg,
        &["--add", &add, "--append", "loglevel=3", "--with", "vfat"],
        "cat /data/blob; printf 'to stderr\\n' >&2; echo \"$(uname -r)\" >&2; \
         modprobe vfat && cat /sys/module/fat/refcnt >&2; exit 42",
    );
    assert_eq!(
        out.status.code(),
        Some(42),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 70,000 bytes of every value, including \n and \r, unchanged by the serial line.
    assert_eq!(out.stdout.len(), data.len());
    assert!(out.stdout == data);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err, format!("to stderr\n{}\n1\n", k.release()));
}

#[test]
fn status_and_streams_pass_through_6_1() {
    let Some(k) = vm_kernels::kernel("6.1") else {
        return;
    };
    status_and_streams(&k, k.image().as_os_str());
}

#[test]
fn status_and_streams_pass_through_6_12() {
    let Some(k) = vm_kernels::kernel("6.12") else {
        return;
    };
    // By its series: the newest 6.12 package apt's lists offer, the one scripts/corpus
    // unpacked.
    status_and_streams(&k, OsStr::new("6.12"));
}

/// A crash (sysrq 'c'): the kernel panics, panic=-1 reboots, QEMU (-no-reboot) stops; the
/// harness must say so and return 125.
fn panic_is_a_failure(kernel_arg: &OsStr) {
    let out = vm(kernel_arg, &[], "echo c > /proc/sysrq-trigger; sleep 30");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains("the kernel panicked"), "{err}");
}

#[test]
fn panic_and_hang_are_failures_6_1() {
    let Some(k) = vm_kernels::kernel("6.1") else {
        return;
    };
    panic_is_a_failure(k.image().as_os_str());
    // A guest still running at the timeout: killed, 124.
    let out = vm(k.image(), &["--timeout", "2"], "sleep 100");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(124), "{err}");
    assert!(err.contains("no result after 2 s"), "{err}");
}

#[test]
fn panic_is_a_failure_6_12() {
    let Some(k) = vm_kernels::kernel("6.12") else {
        return;
    };
    // By its release.
    panic_is_a_failure(OsStr::new(k.release()));
}

#[test]
fn bad_input_is_named() {
    let out = Command::new(kmodkit())
        .args(["vm", "--kernel", "/nonexistent/vmlinuz", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/vmlinuz"));
    let out = Command::new(kmodkit())
        .args(["vm", "--kernel", "/x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "no command is a usage error");
    // A series no package offers, and a release with a path in it: named, before QEMU.
    for (spec, says) in [
        ("9.99", "no kernel package of series 9.99"),
        ("x;y", "not an image path, a release"),
    ] {
        let out = Command::new(kmodkit())
            .args([
                "vm",
                "--kernel",
                spec,
                "--qemu",
                "/nonexistent/qemu",
                "--",
                "true",
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{spec}: {err}");
        assert!(err.contains(says), "{spec}: {err}");
    }
    // A file that is not a kernel image is named as such before QEMU is started (here QEMU
    // does not even exist: the image is checked first).
    for not_an_image in ["/bin/sh", "/etc/os-release"] {
        let out = Command::new(kmodkit())
            .args([
                "vm",
                "--kernel",
                not_an_image,
                "--qemu",
                "/nonexistent/qemu",
                "--",
                "true",
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{err}");
        assert!(
            err.contains(not_an_image) && err.contains("not a kernel image"),
            "{err}"
        );
        assert!(!err.contains("qemu"), "{err}");
    }
    // A bzImage header is enough to get past the image check to the next one.
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("bzImage");
    let mut img = vec![0u8; 0x400];
    img[0x202..0x206].copy_from_slice(b"HdrS");
    std::fs::write(&fake, img).unwrap();
    let out = Command::new(kmodkit())
        .arg("vm")
        .arg("--kernel")
        .arg(&fake)
        .args(["--add", "relative", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--add relative"));
}
