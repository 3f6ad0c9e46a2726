//! `kmodkit check --kernel A --kernel B` against the real loaders of both Debian kernels
//! (6.1 and 6.12): one boot of each under `kmodkit vm`, carrying every kind of case, and
//! for each case and kernel the prediction (errno, dmesg lines, taint) compared with what
//! insmod, dmesg and /proc/sys/kernel/tainted really give.
//!
//! The cases, built here against each kernel's headers (one Kbuild run per kernel):
//! - `mx_ok`: a plain GPL module (loads, taint OE);
//! - `mx_cross`: the same module built for the *other* kernel (module_layout's CRC differs:
//!   ENOEXEC);
//! - `mx_crc`: one `__versions` CRC changed (`disagrees about version of symbol`: EINVAL);
//! - `mx_missing`: a symbol nothing exports (`Unknown symbol`: ENOENT);
//! - `mx_gpl`: a GPL-only symbol in a proprietary module (licence rewritten after the build,
//!   as modpost refuses it: ENOENT, the kernel left tainted P);
//! - `mx_ns`: a symbol of namespace DMA_BUF without the import (the import rewritten after
//!   the build: EINVAL);
//! - `mx_dep_b`: depends on `mx_dep_a`, which the kernel lacks (ENOENT);
//! - `mx_signed`: signed with a key the kernel does not have, loaded once
//!   `module.sig_enforce` is switched on at run time (EKEYREJECTED).
//!
//! The taint is compared as the kernel leaves it: `after == before | predicted`, with
//! `check --tainted before` so that lines printed only on a taint's first setting are
//! predicted exactly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use testsupport::{kmodkit, Requirement};

struct Kern {
    release: String,
    image: PathBuf,
}

fn corpus_series(series: Option<&str>) -> Option<Kern> {
    let script = testsupport::repo_root().join("scripts/corpus");
    let mut cmd = Command::new(&script);
    if let Some(s) = series {
        cmd.args(["--series", s]);
    }
    let out = cmd.output().ok().filter(|o| o.status.success());
    let Some(out) = out else {
        testsupport::skip(
            Requirement::Corpus,
            &format!("scripts/corpus {series:?} failed"),
        );
        return None;
    };
    let root = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let release = std::fs::read_dir(root.join("lib/modules"))
        .ok()?
        .flatten()
        .find(|e| e.path().join("kernel").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())?;
    if !Path::new("/lib/modules")
        .join(&release)
        .join("build/Makefile")
        .is_file()
    {
        testsupport::skip(
            Requirement::Corpus,
            &format!("linux-headers-{release} is not installed"),
        );
        return None;
    }
    let image = root.join("boot").join(format!("vmlinuz-{release}"));
    Some(Kern { release, image })
}

const CASES: &[(&str, &str)] = &[
    ("ok", "mx_ok"),
    ("cross", "mx_cross"),
    ("crc", "mx_crc"),
    ("missing", "mx_missing"),
    ("gpl", "mx_gpl"),
    ("ns", "mx_ns"),
    ("dep", "mx_dep_b"),
    ("signed", "mx_signed"),
];

/// The sources: each prints "init of NAME" (no "NAME: " prefix, so that the kernel's own
/// lines about the module are told apart from the module's).
fn sources() -> Vec<(&'static str, String)> {
    let m = |name: &str, license: &str, top: &str, body: &str, exit: &str| {
        format!(
            r#"#include <linux/module.h>
#include <linux/init.h>
#include <linux/ktime.h>
#include <linux/dma-buf.h>
{top}
static int __init {name}_init(void) {{ pr_info("init of {name}\n"); {body} return 0; }}
static void __exit {name}_exit(void) {{ {exit} }}
module_init({name}_init);
module_exit({name}_exit);
MODULE_LICENSE("{license}");
"#
        )
    };
    vec![
        ("mx_ok", m("mx_ok", "GPL", "", "", "")),
        ("mx_cross", m("mx_cross", "GPL", "", "", "")),
        ("mx_crc", m("mx_crc", "GPL", "", "", "")),
        (
            "mx_missing",
            m(
                "mx_missing",
                "GPL",
                "extern int mx_no_such_symbol(void);",
                "",
                "mx_no_such_symbol();",
            ),
        ),
        (
            "mx_gpl",
            m(
                "mx_gpl",
                "Dual MIT/GPL",
                "",
                r#"pr_info("%lld\n", (long long)ktime_get());"#,
                "",
            ),
        ),
        (
            "mx_ns",
            m(
                "mx_ns",
                "GPL",
                "MODULE_IMPORT_NS(DMA_BUF);",
                "",
                "dma_buf_put(NULL);",
            ),
        ),
        (
            "mx_dep_a",
            m(
                "mx_dep_a",
                "GPL",
                "int mx_dep_value = 42; EXPORT_SYMBOL(mx_dep_value);",
                "",
                "",
            ),
        ),
        (
            "mx_dep_b",
            m(
                "mx_dep_b",
                "GPL",
                "extern int mx_dep_value;",
                r#"pr_info("%d\n", mx_dep_value);"#,
                "",
            ),
        ),
        ("mx_signed", m("mx_signed", "GPL", "", "", "")),
    ]
}

/// Builds every source against `release`'s headers in one Kbuild run; returns the directory.
fn build(dir: &Path, release: &str) -> PathBuf {
    let src = dir.join(release);
    std::fs::create_dir_all(&src).unwrap();
    let mut objs = Vec::new();
    for (name, text) in sources() {
        std::fs::write(src.join(format!("{name}.c")), text).unwrap();
        objs.push(format!("{name}.o"));
    }
    std::fs::write(
        src.join("Makefile"),
        format!("obj-m := {}\n", objs.join(" ")),
    )
    .unwrap();
    // KBUILD_MODPOST_WARN: mx_missing's symbol is unresolved on purpose.
    let out = Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(format!("/lib/modules/{release}/build"))
        .arg(format!("M={}", src.display()))
        .arg("KBUILD_MODPOST_WARN=1")
        .arg("modules")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "building for {release}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    src
}

/// Replaces `from` by `to` (same length) once in a file.
fn patch(path: &Path, from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| {
            panic!(
                "{}: {:?} not found",
                path.display(),
                String::from_utf8_lossy(from)
            )
        });
    bytes[at..at + to.len()].copy_from_slice(to);
    std::fs::write(path, bytes).unwrap();
}

/// The rewrites modpost would not allow, and one changed CRC.
fn tamper(src: &Path) {
    // A licence that is not GPL-compatible, same length (the extra NUL ends the string).
    patch(
        &src.join("mx_gpl.ko"),
        b"license=Dual MIT/GPL\0",
        b"license=Proprietary\0\0",
    );
    // An import of a namespace that is not DMA_BUF.
    patch(
        &src.join("mx_ns.ko"),
        b"import_ns=DMA_BUF\0",
        b"import_ns=DMA_BUX\0",
    );
    // _printk's CRC in __versions (a 64-byte entry: 8 bytes of CRC, then the name).
    let path = src.join("mx_crc.ko");
    let mut bytes = std::fs::read(&path).unwrap();
    let name = b"_printk\0";
    let at = bytes
        .windows(name.len())
        .enumerate()
        .find(|(i, w)| *w == name && *i >= 8 && bytes[i - 8..*i].iter().any(|&b| b != 0))
        .map(|(i, _)| i)
        .expect("_printk in __versions");
    bytes[at - 8] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
}

/// Case name -> key -> lines, from `@@case key value` lines.
type Results = BTreeMap<String, BTreeMap<String, Vec<String>>>;

fn parse(stdout: &str) -> Results {
    let mut r = Results::new();
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("@@") else {
            continue;
        };
        let mut it = rest.splitn(3, ' ');
        let (Some(n), Some(k)) = (it.next(), it.next()) else {
            continue;
        };
        r.entry(n.to_string())
            .or_default()
            .entry(k.to_string())
            .or_default()
            .push(it.next().unwrap_or("").to_string());
    }
    r
}

/// One insmod per case; before and after taint, the module's taint, insmod's stderr and
/// the dmesg lines the load added.
const PRELUDE: &str = r#"
load() { n=$1; f=$2; m=$3; b=$(cat /proc/sys/kernel/tainted); l=$(dmesg | wc -l)
  insmod "$f" >/tmp/o 2>/tmp/e; rc=$?
  echo "@@$n rc $rc"; echo "@@$n before $b"; echo "@@$n after $(cat /proc/sys/kernel/tainted)"
  echo "@@$n mtaint $(cat /sys/module/$m/taint 2>/dev/null)"
  sed "s/^/@@$n err /" /tmp/e
  dmesg | tail -n +$((l+1)) | sed "s/^/@@$n dmesg /"; }
"#;

fn boot(k: &Kern, files: &[(String, PathBuf)]) -> Results {
    let mut script = String::from(PRELUDE);
    for (case, name) in CASES {
        if *case == "signed" {
            script.push_str("echo 1 > /sys/module/module/parameters/sig_enforce\n");
        }
        script.push_str(&format!("load {case} /m/{name}.ko {name}\n"));
    }
    let mut cmd = Command::new(kmodkit());
    cmd.arg("vm")
        .arg("--kernel")
        .arg(&k.image)
        .arg("--timeout")
        .arg("300");
    for (name, path) in files {
        cmd.arg("--add")
            .arg(format!("{}:/m/{name}.ko", path.display()));
    }
    cmd.arg("--").arg(script);
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "kmodkit vm {} failed ({:?}):\n{stdout}\n{}",
        k.release,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    parse(&stdout)
}

/// kmod's insmod text for an errno (tools/insmod.c mod_strerror, else strerror).
fn insmod_text(errno: &str) -> &'static str {
    match errno {
        "ENOEXEC" => "Invalid module format",
        "ENOENT" => "Unknown symbol in module",
        "EINVAL" => "Invalid parameters",
        "EKEYREJECTED" => "Key was rejected by service",
        other => panic!("no expected text for {other}"),
    }
}

fn check(module: &Path, kernels: &[&str], extra: &[&str]) -> serde_json::Value {
    let mut cmd = Command::new(kmodkit());
    cmd.arg("check").arg(module).arg("--json");
    for k in kernels {
        cmd.arg("--kernel").arg(k);
    }
    let out = cmd.args(extra).output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)) && !out.stdout.is_empty(),
        "check {}: {}",
        module.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["loads"].as_bool(),
        Some(out.status.code() == Some(0)),
        "{v}"
    );
    v
}

/// The kernel's lines about the load: those naming the module, and the few the loader
/// prints without its name.
fn kernel_lines(r: &BTreeMap<String, Vec<String>>, name: &str) -> Vec<String> {
    let mut out: Vec<String> = r
        .get("dmesg")
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|l| l.split_once("] ").map_or(l.as_str(), |x| x.1).to_string())
        .filter(|l| {
            l.starts_with(&format!("{name}: "))
                || l.starts_with(&format!("module {name}: "))
                || l.starts_with("Loading of ")
                || l.starts_with("Disabling lock debugging")
        })
        .collect();
    out.sort();
    out
}

#[test]
fn predictions_match_both_kernels_loaders() {
    let Some(k61) = corpus_series(None) else {
        return;
    };
    let Some(k612) = corpus_series(Some("6.12")) else {
        return;
    };
    for tool in ["qemu-system-x86_64", "busybox", "make"] {
        if !testsupport::have_tool(tool) {
            return;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src61 = build(d, &k61.release);
    let src612 = build(d, &k612.release);
    // A key no kernel knows.
    let (key, cert) = (d.join("k.pem"), d.join("c.pem"));
    let st = Command::new(kmodkit())
        .args([
            "keygen",
            "--cn",
            "kmodkit matrix key",
            "--algo",
            "rsa2048",
            "--key",
        ])
        .arg(&key)
        .arg("--cert")
        .arg(&cert)
        .status()
        .unwrap();
    assert!(st.success());
    for src in [&src61, &src612] {
        tamper(src);
        let st = Command::new(kmodkit())
            .args(["sign-file", "sha256"])
            .arg(&key)
            .arg(&cert)
            .arg(src.join("mx_signed.ko"))
            .status()
            .unwrap();
        assert!(st.success());
    }

    let mut table = Vec::new();
    let mut failures = Vec::new();
    for (k, src, other) in [(&k61, &src61, &src612), (&k612, &src612, &src61)] {
        // The files the guest gets: this kernel's builds, and mx_cross from the other's.
        let files: Vec<(String, PathBuf)> = CASES
            .iter()
            .map(|(case, name)| {
                let from = if *case == "cross" { other } else { src };
                (name.to_string(), from.join(format!("{name}.ko")))
            })
            .collect();
        let r = boot(k, &files);
        for ((case, name), (_, file)) in CASES.iter().zip(&files) {
            let real = r
                .get(*case)
                .unwrap_or_else(|| panic!("{}: case {case} did not run: {r:?}", k.release));
            let one = |key: &str| {
                real.get(key)
                    .and_then(|v| v.first())
                    .cloned()
                    .unwrap_or_default()
            };
            let before: u64 = one("before").parse().unwrap();
            let after: u64 = one("after").parse().unwrap();
            let mut extra = vec!["--tainted".to_string(), before.to_string()];
            if *case == "signed" {
                extra.push("--sig-enforce".into());
            }
            let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
            let p = check(file, &[&k.release], &extra);
            let what = format!("{} {case}: prediction {p:#}\nreal {real:?}", k.release);
            let loads = one("rc") == "0";
            let mut bad = Vec::new();
            if p["loads"].as_bool() != Some(loads) {
                bad.push("loads");
            }
            if loads {
                if p["taint"].as_str() != Some(one("mtaint").as_str()) {
                    bad.push("module taint");
                }
            } else if let Some(errno) = p["errno"].as_str() {
                let want = [format!(
                    "insmod: ERROR: could not insert module /m/{name}.ko: {}",
                    insmod_text(errno)
                )];
                if real.get("err").map(Vec::as_slice) != Some(&want[..]) {
                    bad.push("errno (insmod's message)");
                }
            }
            if before | p["taint_mask"].as_u64().unwrap() != after {
                bad.push("kernel taint");
            }
            let mut predicted: Vec<String> = p["dmesg"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap().to_string())
                .collect();
            predicted.sort();
            let real_lines = kernel_lines(real, name);
            if predicted != real_lines {
                bad.push("dmesg");
            }
            if !bad.is_empty() {
                failures.push(format!(
                    "{}: {bad:?} differ\npredicted dmesg {predicted:?}\nreal dmesg {real_lines:?}\n{what}",
                    k.release
                ));
            }
            // The report: errno (from insmod's message), the module's taint when it
            // loads, the kernel's taint after the load.
            let letters = |m: u64| -> String {
                modsys::taint::decode(m)
                    .0
                    .iter()
                    .map(|f| f.letter)
                    .collect()
            };
            let predicted_cell = format!(
                "{} {} kernel {}",
                p["errno"].as_str().unwrap_or("loads"),
                p["taint"].as_str().filter(|_| loads).unwrap_or(""),
                letters(before | p["taint_mask"].as_u64().unwrap())
            );
            let err = one("err");
            let real_errno = ["ENOEXEC", "ENOENT", "EINVAL", "EKEYREJECTED"]
                .into_iter()
                .find(|e| err.ends_with(insmod_text(e)))
                .unwrap_or(if loads { "loads" } else { "?" });
            let real_cell = format!(
                "{real_errno} {} kernel {}",
                if loads { one("mtaint") } else { String::new() },
                letters(after)
            );
            table.push((
                case.to_string(),
                k.release.clone(),
                predicted_cell,
                real_cell,
            ));
        }
    }

    eprintln!("{:<8} {:<22} {:<28} real", "case", "kernel", "predicted");
    for (case, k, p, real) in &table {
        eprintln!("{case:<8} {k:<22} {p:<28} {real}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // The matrix itself, both kernels in one call: the same verdicts as one kernel at a
    // time, and the failing aspect named for each case.
    let expect_fail: &[(&str, &str, &[&str])] = &[
        ("ok", "", &[]),
        // On the other kernel module_layout already differs: ENOEXEC.
        ("crc", "modversions", &["EINVAL", "ENOEXEC"]),
        ("missing", "unknown-symbols", &["ENOENT"]),
        ("gpl", "gpl-only", &["ENOENT"]),
        ("ns", "namespaces", &["EINVAL"]),
        ("dep", "dependencies", &["ENOENT"]),
    ];
    for (case, check_name, errnos) in expect_fail {
        let name = CASES.iter().find(|c| c.0 == *case).unwrap().1;
        for (src, own) in [(&src61, &k61.release), (&src612, &k612.release)] {
            let v = check(
                &src.join(format!("{name}.ko")),
                &[&k61.release, &k612.release],
                &[],
            );
            let ks = v["kernels"].as_array().unwrap();
            assert_eq!(ks.len(), 2);
            for kv in ks {
                if check_name.is_empty() {
                    // Loads into its own kernel only.
                    assert_eq!(kv["loads"], kv["kernel"] == own.as_str(), "{kv:#}");
                    continue;
                }
                let c = kv["checks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["check"] == *check_name)
                    .unwrap();
                assert_eq!(c["verdict"], "fail", "{case}: {kv:#}");
                assert!(errnos.contains(&c["errno"].as_str().unwrap()), "{c}");
            }
        }
    }
    // Built for one kernel, checked against both: modversions fails on the other only.
    for (src, own) in [(&src61, &k61.release), (&src612, &k612.release)] {
        let v = check(&src.join("mx_ok.ko"), &[&k61.release, &k612.release], &[]);
        for kv in v["kernels"].as_array().unwrap() {
            let mv = kv["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["check"] == "modversions")
                .unwrap();
            if kv["kernel"] == own.as_str() {
                assert_eq!(mv["verdict"], "ok", "{kv:#}");
            } else {
                assert_eq!(mv["errno"], "ENOEXEC", "{kv:#}");
                assert_eq!(
                    mv["dmesg"][0],
                    "mx_ok: disagrees about version of symbol module_layout"
                );
            }
        }
    }
}
