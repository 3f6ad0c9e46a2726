//! Closed pipes (`kmodkit ... | head -1`): every command that can print a lot ends quietly
//! when its reader goes away, as C tools do: killed by SIGPIPE or exiting on its own, never a
//! panic (exit 101 and a backtrace).

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use testsupport::kmodkit;
use testsupport::{corpus, skip, Requirement};

/// Runs `args`, reads one line of stdout, closes the pipe, and checks how the command ended.
/// Returns false when the command printed nothing at all (then the test proves nothing).
fn ends_quietly(args: &[&str]) -> bool {
    let shown = &args[..args.len().min(4)];
    let mut child = Command::new(kmodkit())
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    {
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut first).unwrap();
        // `out` dropped here: the read end closes, as `head -1` closes it.
    }
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let st = child.wait().unwrap();
    assert!(
        !err.contains("panicked") && st.code() != Some(101),
        "{shown:?}...: {st:?}\n{err}"
    );
    assert!(
        st.success() || st.signal() == Some(SIGPIPE),
        "{shown:?}...: ended with {st:?} after its reader closed\n{err}"
    );
    !first.is_empty()
}

const SIGPIPE: i32 = 13;

#[test]
fn completions_and_man_listing() {
    // 30 KB of script: larger than one read, smaller than the pipe buffer, so this checks
    // the quiet end rather than forcing EPIPE; the corpus cases below force it.
    assert!(ends_quietly(&["completions", "bash"]));
}

#[test]
fn corpus_sized_outputs() {
    let Some(c) = corpus("amd64") else {
        return;
    };
    let mods: Vec<String> = c
        .modules()
        .iter()
        .take(400)
        .map(|p| p.display().to_string())
        .collect();
    let mut args = vec!["modinfo"];
    args.extend(mods.iter().map(String::as_str));
    assert!(ends_quietly(&args), "modinfo printed nothing");
    let root = c.root.display().to_string();
    assert!(
        ends_quietly(&["depmod", "-n", "-b", &root, &c.release]),
        "depmod -n printed nothing"
    );
    let tree = c.moddir().join("kernel/drivers/net").display().to_string();
    let image = c
        .root
        .join(format!("boot/vmlinuz-{}", c.release))
        .display()
        .to_string();
    assert!(
        ends_quietly(&["verify", "--json", "--keyring", &image, "--tree", &tree]),
        "verify printed nothing"
    );
}

#[test]
fn trace_listing() {
    if !std::path::Path::new("/sys/kernel/tracing/events").exists()
        && !std::path::Path::new("/sys/kernel/debug/tracing/events").exists()
    {
        let _ = Command::new("mount")
            .args(["-t", "tracefs", "nodev", "/sys/kernel/tracing"])
            .status();
    }
    if !std::path::Path::new("/sys/kernel/tracing/events").exists() {
        skip(Requirement::Bpf, "no tracefs to list tracepoints from");
        return;
    }
    assert!(ends_quietly(&["trace", "-l"]), "trace -l printed nothing");
}
