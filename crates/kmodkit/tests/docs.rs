//! The generated completions and man pages, installed the documented way
//! (`kmodkit install-links DIR --man MANDIR --completions PREFIX`), parse: `bash -n` on every
//! bash completion, `man -l` with groff's warnings on every page (no warning allowed); and
//! each hand-parsed command's page documents only options its own usage text names.

use std::path::Path;
use std::process::Command;
use testsupport::have_tool;
use testsupport::kmodkit;

#[test]
fn installed_completions_and_man_pages_parse() {
    let d = tempfile::tempdir().unwrap();
    let st = Command::new(kmodkit())
        .arg("install-links")
        .arg(d.path().join("bin"))
        .arg("--man")
        .arg(d.path().join("man"))
        .arg("--completions")
        .arg(d.path())
        .status()
        .unwrap();
    assert!(st.success());
    let bash_dir = d.path().join("share/bash-completion/completions");
    let mut n = 0;
    for name in [
        "kmodkit", "modinfo", "lsmod", "insmod", "rmmod", "modprobe", "depmod", "dmesg",
    ] {
        let f = bash_dir.join(name);
        let out = Command::new("bash").arg("-n").arg(&f).output().unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        // Sourcing it registers a completion for that name.
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!("source '{}' && complete -p {name}", f.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        n += 1;
    }
    assert_eq!(n, 8);
    for shell_file in [
        "share/zsh/site-functions/_kmodkit",
        "share/fish/vendor_completions.d/kmodkit.fish",
    ] {
        let s = std::fs::read_to_string(d.path().join(shell_file)).unwrap();
        assert!(
            s.contains("sign-file") && s.contains("modprobe"),
            "{shell_file}"
        );
    }
    if !have_tool("man") {
        return;
    }
    let mut pages = 0;
    for section in ["man1", "man8"] {
        for e in std::fs::read_dir(d.path().join("man").join(section)).unwrap() {
            let p = e.unwrap().path();
            let out = Command::new("man")
                .env("MANWIDTH", "80")
                .arg("--warnings=all")
                .arg("-l")
                .arg(&p)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && err.is_empty(),
                "{}: {err}",
                p.display()
            );
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("DIFFERENCES"), "{}", p.display());
            pages += 1;
        }
    }
    assert!(pages >= 20, "{pages} pages");
    assert!(Path::new(&d.path().join("man/man8/modinfo.8")).exists());
    assert!(Path::new(&d.path().join("man/man1/kmodkit-sign-file.1")).exists());
}

/// The pages of commands whose parsers are hand-written (trace, leaks, dkms) document only
/// options that the command's own usage text names, and name each of them.
#[test]
fn hand_parsed_pages_match_their_usage_text() {
    let d = tempfile::tempdir().unwrap();
    assert!(Command::new(kmodkit())
        .arg("man")
        .arg(d.path())
        .output()
        .unwrap()
        .status
        .success());
    for cmd in ["trace", "leaks", "dkms"] {
        let usage = Command::new(kmodkit())
            .args([cmd, "--help"])
            .output()
            .unwrap();
        let usage = format!(
            "{}{}",
            String::from_utf8_lossy(&usage.stdout),
            String::from_utf8_lossy(&usage.stderr)
        );
        let page = std::fs::read_to_string(d.path().join(format!("man1/kmodkit-{cmd}.1"))).unwrap();
        // Options as roff writes them: \fB\-\-name\fR or \fB\-x\fR.
        let mut opts = Vec::new();
        for part in page.split("\\fB").skip(1) {
            let o = part
                .split("\\fR")
                .next()
                .unwrap_or_default()
                .replace("\\-", "-");
            if o.starts_with('-') && o != "-h" && o != "--help" {
                opts.push(o);
            }
        }
        assert!(!opts.is_empty(), "{cmd}: no options on its page");
        for o in opts {
            assert!(
                usage.contains(&o),
                "{cmd}: page documents {o}, usage text does not:\n{usage}"
            );
        }
    }
}
