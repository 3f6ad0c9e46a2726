//! The binary is multi-call: a link named after a kmod tool behaves as that tool.

use std::process::Command;

#[test]
fn links_behave_as_their_tool() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = testsupport::kmodkit();
    let st = Command::new(bin)
        .arg("install-links")
        .arg(tmp.path())
        .status()
        .unwrap();
    assert!(st.success());
    for name in [
        "modinfo", "lsmod", "insmod", "rmmod", "modprobe", "depmod", "dmesg",
    ] {
        let link = tmp.path().join(name);
        assert!(
            link.symlink_metadata().unwrap().file_type().is_symlink(),
            "{name}"
        );
    }
    // Running install-links again replaces its own links.
    assert!(Command::new(bin)
        .arg("install-links")
        .arg(tmp.path())
        .status()
        .unwrap()
        .success());

    // `modinfo --help` through the link names itself as kmod does; `kmodkit modinfo` too.
    let via_link = Command::new(tmp.path().join("modinfo"))
        .arg("--help")
        .output()
        .unwrap();
    let via_cmd = Command::new(bin)
        .args(["modinfo", "--help"])
        .output()
        .unwrap();
    assert!(via_link.status.success());
    assert_eq!(via_link.stdout, via_cmd.stdout);
    assert!(String::from_utf8_lossy(&via_link.stdout).starts_with("Usage:\n\tmodinfo [options]"));

    // Unknown commands are usage errors.
    let bad = Command::new(bin).arg("no-such-command").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn missing_operand_is_kmods_error() {
    let bin = testsupport::kmodkit();
    let out = Command::new(bin).arg("modinfo").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "modinfo: ERROR: missing module or filename.\n"
    );
}
