//! `kmodkit inventory` on this machine's real kernel: its Prometheus file passes `promtool
//! check metrics` (the oracle for the format), its JSON names the running release, and its
//! taint mask is the kernel's (taint bits never clear, so the mask read by the inventory is
//! contained in the one read after it). The host of these tests may have no module support
//! at all (CONFIG_MODULES off): then the inventory says so and is still valid.

use std::process::Command;

use testsupport::{kmodkit, Requirement};

#[test]
fn host_inventory_passes_promtool() {
    if !testsupport::have_tool("promtool") {
        testsupport::skip(
            Requirement::Tool,
            "promtool not installed (Debian package prometheus)",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kmodkit.prom");
    let out = Command::new(kmodkit())
        .arg("inventory")
        .arg("--prometheus")
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", testsupport::output_text(&out));
    assert!(out.stdout.is_empty());
    // Atomic replacement: only the file itself is left in the directory.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["kmodkit.prom"]);
    let check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        check.status.success() && check.stdout.is_empty() && check.stderr.is_empty(),
        "promtool check metrics: {}\n{text}",
        testsupport::output_text(&check)
    );
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert!(text.contains(&format!(
        "kmodkit_kernel_info{{release=\"{}\"",
        release.trim()
    )));

    let out = Command::new(kmodkit())
        .args(["inventory", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", testsupport::output_text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let after: u64 = std::fs::read_to_string("/proc/sys/kernel/tainted")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mask = v["taint"]["mask"].as_u64().unwrap();
    assert_eq!(mask & !after, 0, "inventory {mask}, kernel {after}");
    assert_eq!(v["release"], release.trim());
    if !std::path::Path::new("/proc/modules").exists() {
        assert_eq!(v["modules"].as_array().unwrap().len(), 0);
        assert!(v["notes"].to_string().contains("/proc/modules"), "{v}");
    }

    // stdout form and the usage error for a name the collector would ignore.
    let out = Command::new(kmodkit())
        .args(["inventory", "--prometheus"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("# TYPE kmodkit_module_info gauge\n"));
    let out = Command::new(kmodkit())
        .args(["inventory", "--prometheus", "x.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
