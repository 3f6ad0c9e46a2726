//! `insmod`, `rmmod` and `lsmod` against Debian 13's kmod 34.2 (kmodkit's default) in the
//! trixie chroot (`testsupport::trixie`) and against the host's kmod 30 (with
//! `KMODKIT_KMOD_COMPAT=30`): help, version, bad options, missing and extra operands, files
//! that are missing, not modules, too short, directories, `-f -s -v` and their long forms,
//! removing modules that are not loaded. stdout, stderr and the exit status are compared
//! byte for byte.
//!
//! The host's kernel decides what a load or an unload does; on a kernel without module
//! support (no /proc/modules) both fail the same way every time (ENOSYS, "not currently
//! loaded"). Every tool runs with argv[0] the bare tool name (kmod prints it in getopt's
//! messages and kmod 30's lsmod usage): kmodkit through links named after the tools, found
//! in PATH.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use testsupport::Trixie;

/// Which kmod releases a case is compared with.
#[derive(Clone, Copy, PartialEq)]
enum Both {
    All,
    Only34,
    Only30,
}

/// One invocation: tool, arguments (relative paths name files of the test directory).
struct Case {
    tool: &'static str,
    args: Vec<String>,
    with: Both,
}

fn case(tool: &'static str, args: &[&str]) -> Case {
    Case {
        tool,
        args: args.iter().map(|s| s.to_string()).collect(),
        with: Both::All,
    }
}

fn only(with: Both, mut c: Case) -> Case {
    c.with = with;
    c
}

fn cases(builtin_dir: Option<&str>) -> Vec<Case> {
    let mut v = Vec::new();
    for tool in ["insmod", "rmmod", "lsmod"] {
        for args in [
            &["-h"][..],
            &["--help"],
            &["-V"],
            &["--version"],
            &["-x"],
            &["--bogus"],
            &["-V", "-x"],
            &["-x", "-h"],
            &["--help=1"],
        ] {
            v.push(case(tool, args));
        }
    }
    v.extend([
        // insmod
        case("insmod", &[]),
        case("insmod", &["-"]),
        case("insmod", &["/nonexistent/x.ko"]),
        case("insmod", &["missing.ko"]),
        case("insmod", &["notmod.ko"]),
        case("insmod", &["notmod.ko", "a=1", "b=x y"]),
        case("insmod", &["text.txt"]),
        case("insmod", &["five"]),
        case("insmod", &["adir"]),
        // -f on a file that is no ELF: where finit_module is missing (ENOSYS), kmod checks
        // the ELF itself before init_module (ENOEXEC or EINVAL); kmodkit passes the kernel's
        // ENOSYS on. Files rejected before that are compared.
        case("insmod", &["-f", "five"]),
        case("insmod", &["-f", "adir"]),
        case("insmod", &["-s", "notmod.ko"]),
        case("insmod", &["-s"]),
        case("insmod", &["-fs", "five"]),
        case("insmod", &["notmod.ko", "-h"]),
        case("insmod", &["--", "notmod.ko", "-f"]),
        // kmod 34 only: -v, the long forms; -p is gone.
        case("insmod", &["-v", "notmod.ko"]),
        case("insmod", &["-vv", "notmod.ko"]),
        case("insmod", &["--force", "text.txt"]),
        case("insmod", &["--syslog", "--verbose", "notmod.ko"]),
        case("insmod", &["-p", "notmod.ko"]),
        case("insmod", &["-v"]),
        // A compressed file that does not decompress: EINVAL (kmod 34 logs liblzma's
        // reason first, which kmodkit does not reproduce).
        only(Both::Only30, case("insmod", &["bad.ko.xz"])),
        // rmmod
        case("rmmod", &[]),
        case("rmmod", &["nosuch"]),
        case("rmmod", &["no-such", "other"]),
        case("rmmod", &["notmod.ko"]),
        case("rmmod", &["./adir"]),
        case("rmmod", &["-f", "nosuch"]),
        case("rmmod", &["--force", "notmod.ko"]),
        case("rmmod", &["-s", "nosuch"]),
        case("rmmod", &["-s"]),
        case("rmmod", &["-v", "nosuch"]),
        // -vvv adds libkmod's INFO lines, with addresses: not compared.
        case("rmmod", &["-v", "--verbose", "nosuch"]),
        case("rmmod", &["-w", "nosuch"]),
        case("rmmod", &["nosuch", "-f"]),
        // lsmod
        case("lsmod", &[]),
        case("lsmod", &["extra"]),
        case("lsmod", &["--", "extra"]),
        case("lsmod", &["-s"]),
        case("lsmod", &["-v"]),
        case("lsmod", &["-v", "--verbose"]),
        case("lsmod", &["-s", "extra"]),
        case("lsmod", &["-h", "extra"]),
        case("lsmod", &["--syslog"]),
    ]);
    // A /sys/module directory without initstate (built into the kernel, not listed in a
    // modules.builtin): libkmod goes on to its holders.
    if let Some(m) = builtin_dir {
        v.push(case("rmmod", &[m]));
        v.push(case("rmmod", &[m, "nosuch"]));
        v.push(case("rmmod", &["-v", m]));
        v.push(case("rmmod", &["-f", m]));
    }
    v
}

/// A directory of /sys/module without initstate, if the host has one.
fn builtin_dir() -> Option<String> {
    let mut names: Vec<String> = std::fs::read_dir("/sys/module")
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| !e.path().join("initstate").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.contains('-'))
        .collect();
    names.sort();
    names.into_iter().next()
}

/// The test's files (in `dir`, the working directory of every run).
fn files(dir: &Path) {
    std::fs::write(dir.join("notmod.ko"), b"\x7fELF not really").unwrap();
    std::fs::write(dir.join("text.txt"), b"hi\n").unwrap();
    std::fs::write(dir.join("five"), b"12345").unwrap();
    std::fs::write(dir.join("bad.ko.xz"), b"\xfd7zXZ\x00garbage").unwrap();
    std::fs::create_dir(dir.join("adir")).unwrap();
}

/// kmodkit's tools as links in `bin`, run by bare name from `PATH`.
fn ours(bin: &Path, cwd: &Path, compat: Option<&str>, c: &Case) -> Output {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin.to_path_buf()];
    dirs.extend(std::env::split_paths(&path));
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "exec \"$@\"", "sh", c.tool])
        .args(&c.args)
        .current_dir(cwd)
        .env("PATH", std::env::join_paths(dirs).unwrap());
    match compat {
        Some(v) => cmd.env("KMODKIT_KMOD_COMPAT", v),
        None => cmd.env_remove("KMODKIT_KMOD_COMPAT"),
    };
    cmd.output().unwrap()
}

/// The host's kmod 30, by bare name.
fn kmod30(cwd: &Path, c: &Case) -> Output {
    Command::new("sh")
        .args(["-c", "exec \"$@\"", "sh", c.tool])
        .args(&c.args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn kmod34(t: &Trixie, cwd: &Path, c: &Case) -> Output {
    t.command(&[cwd], cwd, c.tool)
        .args(&c.args)
        .output()
        .unwrap()
}

fn setup() -> Option<(Trixie, tempfile::TempDir, PathBuf)> {
    for tool in ["insmod", "rmmod", "lsmod"] {
        if !testsupport::have_tool(tool) {
            return None;
        }
    }
    let t = testsupport::trixie()?;
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for tool in ["insmod", "rmmod", "lsmod"] {
        std::os::unix::fs::symlink(testsupport::kmodkit(), bin.join(tool)).unwrap();
    }
    let dir = tmp.path().join("work");
    std::fs::create_dir(&dir).unwrap();
    files(&dir);
    Some((t, tmp, bin))
}

fn show(c: &Case) -> String {
    format!("{} {:?}", c.tool, c.args)
}

#[test]
fn live_tools_match_kmod34_by_default() {
    let Some((t, tmp, bin)) = setup() else {
        return;
    };
    let dir = tmp.path().join("work");
    let mut n = 0;
    for c in cases(builtin_dir().as_deref()) {
        if c.with == Both::Only30 {
            continue;
        }
        let theirs = kmod34(&t, &dir, &c);
        let mine = ours(&bin, &dir, None, &c);
        testsupport::assert_same_output(&format!("kmod 34: {}", show(&c)), &theirs, &mine);
        // "34" names the default.
        let named = ours(&bin, &dir, Some("34"), &c);
        testsupport::assert_same_output(&format!("compat=34: {}", show(&c)), &mine, &named);
        n += 1;
    }
    assert!(n > 60, "{n} cases");
}

#[test]
fn live_tools_match_kmod30_with_the_switch() {
    let Some((_t, tmp, bin)) = setup() else {
        return;
    };
    let dir = tmp.path().join("work");
    let mut n = 0;
    for c in cases(builtin_dir().as_deref()) {
        if c.with == Both::Only34 {
            continue;
        }
        let theirs = kmod30(&dir, &c);
        let mine = ours(&bin, &dir, Some("30"), &c);
        testsupport::assert_same_output(&format!("kmod 30: {}", show(&c)), &theirs, &mine);
        n += 1;
    }
    assert!(n > 60, "{n} cases");
}

/// The two releases really differ where kmodkit says they do (the table above would pass
/// for a kmodkit ignoring the switch only if kmod 34 and 30 agreed).
#[test]
fn the_switch_changes_help_version_and_messages() {
    let Some((_t, tmp, bin)) = setup() else {
        return;
    };
    let dir = tmp.path().join("work");
    for (tool, args) in [
        ("insmod", &["-h"][..]),
        ("insmod", &["-V"]),
        ("insmod", &["-v", "notmod.ko"]),
        ("rmmod", &["-h"]),
        ("rmmod", &["-w", "x"]),
        ("rmmod", &["-f", "nosuch"]),
        ("lsmod", &["-h"]),
        ("lsmod", &["extra"]),
    ] {
        let c = case(tool, args);
        let a = ours(&bin, &dir, None, &c);
        let b = ours(&bin, &dir, Some("30"), &c);
        assert!(
            (a.stdout.as_slice(), a.stderr.as_slice())
                != (b.stdout.as_slice(), b.stderr.as_slice()),
            "{}: the same with and without KMODKIT_KMOD_COMPAT=30",
            show(&c)
        );
    }
    // A value that names no release is an error, before anything else.
    let bad = ours(&bin, &dir, Some("29"), &case("lsmod", &["-h"]));
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&bad.stderr),
        "lsmod: ERROR: KMODKIT_KMOD_COMPAT=29: expected 30 or 34\n"
    );
}
