//! The bundled tools (`kmodkit trace --tool NAME`) against bpftrace 0.17 running the same
//! script file, on workloads started with `-c`. Tools trace the whole system, so only the
//! lines about the workload are compared, with the fields that differ between any two runs
//! (wall-clock time, process ids) left out.
//!
//! Skipped (printed) without bpf(), bpftrace or cc; a failure under KMODKIT_REQUIRE_BPF=1.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use testsupport::{have_tool, skip, Requirement};

/// A private directory with the workload built as `work-tools` and a copy of `true` named
/// `true-tools`, names no other process on the machine has.
fn dir() -> Option<&'static Path> {
    static D: OnceLock<Option<PathBuf>> = OnceLock::new();
    D.get_or_init(|| {
        if !have_tool("bpftrace") || !have_tool("cc") {
            return None;
        }
        if !bpf_sys::available() {
            skip(Requirement::Bpf, "bpf() is not usable here (no CAP_BPF?)");
            return None;
        }
        let d = std::env::temp_dir().join(format!("kmodkit-tools-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/trace_work.c");
        let st = Command::new("cc")
            .args(["-O1", "-o"])
            .arg(d.join("work-tools"))
            .arg(&src)
            .status()
            .unwrap();
        assert!(st.success());
        std::fs::copy("/bin/true", d.join("true-tools")).unwrap();
        Some(d)
    })
    .as_deref()
}

/// The tools see every process on the machine, including other tests' workloads of the
/// same name: one test at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The script `--tool NAME` runs: bpftrace's installed tool, else the bundled one.
fn tool_path(name: &str) -> PathBuf {
    let installed = Path::new("/usr/sbin").join(format!("{name}.bt"));
    if installed.is_file() {
        return installed;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../ktrace/tools/{name}.bt"))
}

/// stdout of `kmodkit trace --tool NAME -c CMD` and of `bpftrace FILE -c CMD`.
fn both(name: &str, cmd: &str) -> (String, String) {
    let run = |c: &mut Command| {
        let o = c.env_remove("LD_LIBRARY_PATH").output().expect("run");
        assert!(
            o.status.success(),
            "{c:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let ours = run(Command::new("timeout")
        .arg("60")
        .arg(testsupport::kmodkit())
        .args(["trace", "--tool", name, "-c", cmd]));
    let theirs = run(Command::new("timeout")
        .arg("60")
        .arg("bpftrace")
        .arg(tool_path(name))
        .args(["-c", cmd]));
    (ours, theirs)
}

/// The lines for which `keep` holds, each with the fields at `drop` removed.
fn select(out: &str, keep: impl Fn(&[&str]) -> bool, drop: &[usize]) -> Vec<String> {
    out.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| keep(f))
        .map(|f| {
            f.iter()
                .enumerate()
                .filter(|(i, _)| !drop.contains(i))
                .map(|(_, s)| *s)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[test]
fn opensnoop() {
    let _serial = serial();
    let Some(d) = dir() else { return };
    let (o, t) = both(
        "opensnoop",
        &format!("{} 3", d.join("work-tools").display()),
    );
    let pick = |out: &str| select(out, |f| f.get(1) == Some(&"work-tools"), &[0]);
    let ours = pick(&o);
    assert_eq!(ours, pick(&t));
    assert!(ours.iter().any(|l| l.ends_with("/dev/zero")), "{o}");
    // BEGIN prints the header once the probes are attached: another process's open can be
    // printed before it, so the header is found by its content, not by its line number.
    let header = |out: &str| {
        out.lines()
            .find(|l| l.starts_with("PID"))
            .map(str::to_string)
    };
    assert!(header(&o).is_some(), "{o}");
    assert_eq!(header(&o), header(&t), "header");
}

#[test]
fn killsnoop() {
    let _serial = serial();
    let Some(_) = dir() else { return };
    let (o, t) = both("killsnoop", "/bin/kill -0 1");
    let pick = |out: &str| select(out, |f| f.get(2) == Some(&"kill"), &[0, 1]);
    assert_eq!(pick(&o), vec!["kill 0 1 0".to_string()], "{o}");
    assert_eq!(pick(&o), pick(&t));
}

#[test]
fn execsnoop() {
    let _serial = serial();
    let Some(d) = dir() else { return };
    let target = d.join("true-tools").display().to_string();
    let (o, t) = both("execsnoop", &target);
    let pick = |out: &str| select(out, |f| f.get(2) == Some(&target.as_str()), &[0, 1]);
    assert_eq!(pick(&o), vec![target.clone()], "{o}");
    assert_eq!(pick(&o), pick(&t));
}

#[test]
fn syscount() {
    let _serial = serial();
    let Some(d) = dir() else { return };
    let (o, t) = both(
        "syscount",
        &format!("{} 40", d.join("work-tools").display()),
    );
    let pick = |out: &str| select(out, |f| f.first() == Some(&"@process[work-tools]:"), &[]);
    assert_eq!(pick(&o).len(), 1, "{o}");
    assert_eq!(pick(&o), pick(&t));
    for h in ["Top 10 syscalls IDs:", "Top 10 processes:"] {
        assert!(o.contains(h) && t.contains(h), "{o}");
    }
}

#[test]
fn readlat() {
    let _serial = serial();
    let Some(d) = dir() else { return };
    let (o, t) = both("readlat", &format!("{} 4", d.join("work-tools").display()));
    // Latencies differ from run to run; the shape may not.
    for out in [&o, &t] {
        assert!(out.contains("@usecs: \n"), "{out}");
        assert!(out.contains("@bytes: \n"), "{out}");
    }
    // The workload's reads (100..400 bytes) land in these buckets for both.
    for b in ["[64, 128)", "[128, 256)", "[256, 512)"] {
        assert!(o.contains(b) && t.contains(b), "{b}\n{o}");
    }
}

/// bpftrace's installed gethostlatency: uprobes named by library (`uprobe:libc:...`,
/// resolved through the linker's cache) around getent's getaddrinfo.
#[test]
fn gethostlatency_with_library_uprobes() {
    let _serial = serial();
    let Some(_) = dir() else { return };
    if !Path::new("/usr/sbin/gethostlatency.bt").exists() || !Path::new("/usr/bin/getent").exists()
    {
        return;
    }
    let (o, t) = both("gethostlatency", "/usr/bin/getent ahosts localhost");
    // TIME PID COMM LATms HOST: the time, pid and latency vary.
    let pick = |out: &str| select(out, |f| f.get(2) == Some(&"getent"), &[0, 1, 3]);
    assert_eq!(pick(&o), vec!["getent localhost".to_string()], "{o}");
    assert_eq!(pick(&o), pick(&t));
    let header = |out: &str| {
        out.lines()
            .find(|l| l.starts_with("TIME"))
            .map(str::to_string)
    };
    assert!(header(&o).is_some(), "{o}");
    assert_eq!(header(&o), header(&t));
}
