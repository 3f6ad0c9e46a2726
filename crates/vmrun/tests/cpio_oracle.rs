//! Our newc archives, unpacked by GNU cpio (the oracle): same tree, same bytes, same modes.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use vmrun::Initramfs;

#[test]
fn gnu_cpio_unpacks_what_we_write() {
    if !testsupport::have_tool("cpio") {
        return;
    }
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(src.path().join("d/e")).unwrap();
    std::fs::write(src.path().join("d/a.txt"), b"abc").unwrap();
    std::fs::write(src.path().join("d/e/b.bin"), vec![7u8; 4097]).unwrap();
    std::os::unix::fs::symlink("a.txt", src.path().join("d/link")).unwrap();
    let mut fs = Initramfs::new();
    fs.host_tree(&src.path().join("d"), "/x/d").unwrap();
    fs.data("/x/exe", 0o750, b"#!/bin/sh\n".to_vec()).unwrap();
    fs.data("/x/odd", 0o644, vec![1, 2, 3, 4, 5]).unwrap();
    fs.char_device("/dev/null", 0o666, 1, 3).unwrap();
    let bytes = fs.write_to(Vec::new()).unwrap();
    assert_eq!(bytes.len() % 4, 0);

    // `cpio -t` lists every entry, parents first.
    let list = run_cpio(&["-t", "--quiet"], &bytes, None);
    let names: Vec<&str> = list.lines().collect();
    assert_eq!(
        names,
        [
            "dev",
            "dev/null",
            "x",
            "x/d",
            "x/d/a.txt",
            "x/d/e",
            "x/d/e/b.bin",
            "x/d/link",
            "x/exe",
            "x/odd"
        ]
    );

    let out = tempfile::tempdir().unwrap();
    run_cpio(
        &[
            "-i",
            "-d",
            "--quiet",
            "--no-absolute-filenames",
            "--nonmatching",
            "dev/*",
            "dev",
        ],
        &bytes,
        Some(out.path()),
    );
    let root = out.path();
    assert_eq!(std::fs::read(root.join("x/d/a.txt")).unwrap(), b"abc");
    assert_eq!(
        std::fs::read(root.join("x/d/e/b.bin")).unwrap(),
        vec![7u8; 4097]
    );
    assert_eq!(std::fs::read(root.join("x/odd")).unwrap(), [1, 2, 3, 4, 5]);
    assert_eq!(
        std::fs::read_link(root.join("x/d/link")).unwrap().to_str(),
        Some("a.txt")
    );
    let mode = std::fs::metadata(root.join("x/exe"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o750);
    // Deterministic: the same tree gives the same bytes.
    assert_eq!(fs.write_to(Vec::new()).unwrap(), bytes);
}

fn run_cpio(args: &[&str], input: &[u8], cwd: Option<&std::path::Path>) -> String {
    use std::io::Write;
    let mut cmd = Command::new("cpio");
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "cpio {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
