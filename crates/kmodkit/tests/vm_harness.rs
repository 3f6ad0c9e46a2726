//! `kmodkit vm` itself: the command's exit status and its stdout/stderr come back apart
//! and byte for byte; a kernel that panics or a guest that hangs is a failure (125, 124),
//! never success.

use std::path::PathBuf;
use std::process::Command;

const KMODKIT: &str = env!("CARGO_BIN_EXE_kmodkit");

fn kernel() -> Option<PathBuf> {
    let c = testsupport::corpus("amd64")?;
    if !testsupport::have_tool("qemu-system-x86_64") || !testsupport::have_tool("busybox") {
        return None;
    }
    Some(c.root.join("boot").join(format!("vmlinuz-{}", c.release)))
}

fn vm(kernel: &PathBuf, extra: &[&str], command: &str) -> std::process::Output {
    Command::new(KMODKIT)
        .arg("vm")
        .arg("--kernel")
        .arg(kernel)
        .args(extra)
        .arg("--")
        .arg(command)
        .output()
        .unwrap()
}

#[test]
fn status_and_streams_pass_through() {
    let Some(k) = kernel() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    std::fs::write(dir.path().join("blob"), &data).unwrap();
    let add = format!("{}:/data/blob", dir.path().join("blob").display());
    let out = vm(
        &k,
        &["--add", &add, "--append", "loglevel=3"],
        "cat /data/blob; printf 'to stderr\\n' >&2; echo \"$(uname -r)\" >&2; exit 42",
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
    let release = k
        .file_name()
        .unwrap()
        .to_string_lossy()
        .trim_start_matches("vmlinuz-")
        .to_string();
    assert_eq!(err, format!("to stderr\n{release}\n"));
}

#[test]
fn panic_and_hang_are_failures() {
    let Some(k) = kernel() else { return };
    // A crash (sysrq 'c'): the kernel panics, panic=-1 reboots, QEMU (-no-reboot) stops;
    // the harness must say so and return 125.
    let out = vm(&k, &[], "echo c > /proc/sysrq-trigger; sleep 30");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains("the kernel panicked"), "{err}");
    // A guest still running at the timeout: killed, 124.
    let out = vm(&k, &["--timeout", "2"], "sleep 100");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(124), "{err}");
    assert!(err.contains("no result after 2 s"), "{err}");
}

#[test]
fn bad_input_is_named() {
    let out = Command::new(KMODKIT)
        .args(["vm", "--kernel", "/nonexistent/vmlinuz", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/vmlinuz"));
    let out = Command::new(KMODKIT)
        .args(["vm", "--kernel", "/x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "no command is a usage error");
    // A file that is not a kernel image is named as such before QEMU is started (here QEMU
    // does not even exist: the image is checked first).
    for not_an_image in ["/bin/sh", "/etc/os-release"] {
        let out = Command::new(KMODKIT)
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
    let out = Command::new(KMODKIT)
        .arg("vm")
        .arg("--kernel")
        .arg(&fake)
        .args(["--add", "relative", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--add relative"));
}
