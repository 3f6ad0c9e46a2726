//! The live tools on the host (a kernel without module support) against Debian's kmod on
//! the same host, `kmodkit taint`, and `kmodkit check` over the real Debian corpus.

use std::process::Command;
use testsupport::kmodkit;

fn run(prog: &str, args: &[&str]) -> (i32, String, String) {
    run_in(None, prog, args)
}

fn run_in(cwd: Option<&std::path::Path>, prog: &str, args: &[&str]) -> (i32, String, String) {
    // Through sh, so that argv[0] is exactly `prog` (std may rewrite a relative program
    // path when the working directory changes).
    let mut cmd = Command::new("sh");
    // The expected bytes are the host's kmod 30's (kmod 34 is compared in kmod34_live.rs).
    cmd.env("KMODKIT_KMOD_COMPAT", "30")
        .arg("-c")
        .arg("cd \"$1\" && shift && exec \"$@\"")
        .arg("sh");
    cmd.arg(cwd.unwrap_or(std::path::Path::new(".")));
    let out = cmd.arg(prog).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs our tool through a link named `tool`, as the multi-call binary is installed.
fn ours(dir: &std::path::Path, tool: &str, args: &[&str]) -> (i32, String, String) {
    let link = dir.join(tool);
    if !link.exists() {
        std::os::unix::fs::symlink(kmodkit(), &link).unwrap();
    }
    // Called as ./TOOL from its directory, like kmod's link below: the same argv[0].
    run_in(Some(dir), &format!("./{tool}"), args)
}

#[test]
fn tools_fail_like_kmod_where_the_kernel_has_no_modules() {
    if !testsupport::have_tool("kmod") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let kmod_dir = tempfile::tempdir().unwrap();
    for t in ["insmod", "rmmod", "lsmod"] {
        std::os::unix::fs::symlink("/usr/bin/kmod", kmod_dir.path().join(t)).unwrap();
    }
    let theirs =
        |tool: &str, args: &[&str]| run(kmod_dir.path().join(tool).to_str().unwrap(), args);
    let module = dir.path().join("m.ko");
    std::fs::write(&module, b"\x7fELF not really").unwrap();
    let m = module.to_str().unwrap();
    for (tool, args) in [
        ("rmmod", vec!["nosuch"]),
        ("rmmod", vec![]),
        ("insmod", vec![]),
        ("insmod", vec!["/nonexistent/x.ko"]),
        ("insmod", vec![m]),
        ("insmod", vec!["-"]),
    ] {
        let a = ours(dir.path(), tool, &args);
        let b = theirs(tool, &args);
        assert_eq!(a, b, "{tool} {args:?}");
    }
    let (rc, _, err) = ours(dir.path(), "lsmod", &["extra"]);
    assert_eq!((rc, err.as_str()), (1, "Usage: ./lsmod\n"));
    // lsmod without /proc/modules: libkmod's line (with its source position, as Debian
    // builds it), then the tool's.
    let a = ours(dir.path(), "lsmod", &[]);
    let b = theirs("lsmod", &[]);
    if !std::path::Path::new("/proc/modules").exists() {
        assert_eq!(a, b);
    }
}

#[test]
fn taint_decodes_values_and_letters() {
    let (rc, out, _) = run(kmodkit(), &["taint", "12289", "--json"]);
    assert_eq!(rc, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["letters"], "POE");
    let bits: Vec<u64> = v["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["bit"].as_u64().unwrap())
        .collect();
    assert_eq!(bits, [0, 12, 13]);
    let (rc, out, _) = run(kmodkit(), &["taint", "OE", "--json"]);
    assert_eq!(rc, 0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["value"],
        12288
    );
    let (rc, out, _) = run(kmodkit(), &["taint", "0x1000"]);
    assert_eq!(rc, 0);
    assert!(out.contains("OOT_MODULE"), "{out}");
    let (rc, _, err) = run(kmodkit(), &["taint", "OQ"]);
    assert_eq!(rc, 1);
    assert!(err.contains("unknown taint letter 'Q'"), "{err}");
    // The running kernel's value, as /proc says.
    if let Ok(t) = std::fs::read_to_string("/proc/sys/kernel/tainted") {
        let (rc, out, _) = run(kmodkit(), &["taint", "--json"]);
        assert_eq!(rc, 0);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["value"].as_u64().unwrap(),
            t.trim().parse::<u64>().unwrap()
        );
    }
}

#[test]
fn check_agrees_with_the_corpus_vermagic_and_flags() {
    let Some(c) = testsupport::corpus("amd64") else {
        return;
    };
    let image = c.root.join("boot").join(format!("vmlinuz-{}", c.release));
    // Every 401st module: in-tree, signed by Debian's key (verified against the image's
    // built-in certificate), GPL or not.
    let mods = c.modules();
    assert!(mods.len() > 1000);
    for m in mods.iter().step_by(401) {
        let out = Command::new(kmodkit())
            .args(["check", "--json", "--kernel"])
            .arg(&image)
            .arg(m)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // The kernel's vermagic, derived from its config, is what its own modules carry.
        assert_eq!(v["loads"], true, "{}: {v}", m.display());
        assert_eq!(v["signature"], "valid", "{}: {v}", m.display());
        let license = Command::new("modinfo")
            .args(["-F", "license"])
            .arg(m)
            .output()
            .map(|o| {
                // The kernel reads the first license= entry.
                let s = String::from_utf8_lossy(&o.stdout).into_owned();
                s.lines().next().unwrap_or("").to_string()
            })
            .unwrap_or_default();
        let gpl = [
            "GPL",
            "GPL v2",
            "GPL and additional rights",
            "Dual BSD/GPL",
            "Dual MIT/GPL",
            "Dual MPL/GPL",
        ]
        .contains(&license.as_str());
        let staging = m.to_string_lossy().contains("/staging/");
        let want = u64::from(!gpl) | if staging { 1 << 10 } else { 0 };
        assert_eq!(
            v["taint_mask"].as_u64().unwrap(),
            want,
            "{}: {v}",
            m.display()
        );
    }
    // A module signed by a key the kernel lacks, under enforcement: rejected.
    let out = Command::new(kmodkit())
        .args([
            "check",
            "--json",
            "--sig-enforce",
            "--signature",
            "unknown-key",
            "--kernel",
        ])
        .arg(c.moddir())
        .arg(&mods[0])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["errno"], "EKEYREJECTED");
}

#[test]
fn check_reports_bad_input_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.ko");
    std::fs::write(&bad, b"not an elf").unwrap();
    let cfg = dir.path().join("config");
    std::fs::write(&cfg, "CONFIG_MODULE_SIG=y\n").unwrap();
    let kdir = dir.path().join("6.1.0-test");
    std::fs::create_dir(&kdir).unwrap();
    // Not a module: predicted as the kernel answers (ENOEXEC), exit status 1.
    let (rc, out, _) = run(
        kmodkit(),
        &[
            "check",
            bad.to_str().unwrap(),
            "--kernel",
            kdir.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
        ],
    );
    assert_eq!(rc, 1);
    assert!(
        out.contains("bad: rejected") && out.contains("ENOEXEC"),
        "{out}"
    );
    let (rc, _, err) = run(
        kmodkit(),
        &[
            "check",
            bad.to_str().unwrap(),
            "--kernel",
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(rc, 1);
    assert!(err.contains("not a bzImage"), "{err}");
    let (rc, _, _) = run(kmodkit(), &["check"]);
    assert_eq!(rc, 2);
}
