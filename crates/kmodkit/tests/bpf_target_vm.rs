//! `kmodkit bpf verify --target KERNEL` against the real kernels of those versions.
//!
//! tests/data/bpf_target/*.s are programs whose verdict differs between Debian 12's 6.1 and
//! the 6.18 host (an ARRAY lookup with a constant key used without a NULL check; the cpu v4
//! instructions ldsx, movsx, sdiv, bswap, gotol; helpers that 6.1 does not offer the
//! program type), with controls that both kernels accept or both reject. Each file says its
//! type, its maps and each kernel's verdict (`# 6.1: reject`), "6.1" being Debian 12's
//! kernel, 6.1.192 (its image's version string names the stable release; `gotol` is there,
//! backported, while upstream 6.1 rejects it).
//!
//! - The model: `--target 6.1.192` and `--target 6.18` give the annotated verdicts (no
//!   kernel needed), and so does the 6.1 image as a target; a bare `6.1` differs only in
//!   `gotol`.
//! - The host: each program is loaded with bpf() (`--live`); the kernel's verdict must be the
//!   prediction for the running kernel (the default target), and the annotation when the host
//!   runs 6.18.
//! - Debian's 6.1 (and 6.12) under `kmodkit vm`, one boot each for all programs: inside,
//!   `kmodkit bpf verify --live` loads each into the real kernel; its verdict must be what
//!   the host predicts with `--target` the kernel's image, and what the guest predicts for
//!   its running kernel (and, for 6.1, the annotation).

mod vm_kernels;

use std::path::{Path, PathBuf};
use std::process::Command;
use testsupport::{kmodkit, skip, Requirement};

struct Prog {
    name: String,
    file: PathBuf,
    prog_type: String,
    maps: Vec<String>,
    /// Annotated verdicts: ("6.1", accept), ("6.18", accept).
    expect: Vec<(String, bool)>,
}

impl Prog {
    fn args(&self) -> Vec<String> {
        let mut a = vec!["--type".to_string(), self.prog_type.clone()];
        for m in &self.maps {
            a.push("--map".into());
            a.push(m.clone());
        }
        a
    }

    fn expect(&self, version: &str) -> bool {
        self.expect
            .iter()
            .find(|(v, _)| v == version)
            .unwrap_or_else(|| panic!("{}: no verdict for {version}", self.name))
            .1
    }
}

fn programs() -> Vec<Prog> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bpf_target");
    // Not those whose maps need BTF (a spin lock, a timer, an inner map: `--map` cannot
    // describe them) or whose offsets are the host's structs (`# btf: host`).
    let expressible = |p: &PathBuf| {
        let text = std::fs::read_to_string(p).unwrap();
        !text
            .lines()
            .any(|l| l.starts_with("# btf:") || l.starts_with("# map:") && l.contains('='))
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "s"))
        .filter(expressible)
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).unwrap();
            let mut p = Prog {
                name: file.file_stem().unwrap().to_string_lossy().into_owned(),
                file: file.clone(),
                prog_type: String::new(),
                maps: vec![],
                expect: vec![],
            };
            for l in text.lines() {
                let Some(c) = l.strip_prefix("# ") else {
                    continue;
                };
                if let Some(t) = c.strip_prefix("type: ") {
                    p.prog_type = t.trim().into();
                } else if let Some(m) = c.strip_prefix("map: ") {
                    p.maps.push(m.trim().into());
                } else if let Some((v, verdict)) = c.split_once(": ") {
                    if v.starts_with("6.") {
                        p.expect.push((v.into(), verdict.trim() == "accept"));
                    }
                }
            }
            assert!(!p.prog_type.is_empty(), "{}: no type", p.name);
            p
        })
        .collect()
}

/// The one program's entry of `kmodkit bpf verify --json ARGS`.
fn verify(p: &Prog, file: &Path, extra: &[&str]) -> serde_json::Value {
    let out = Command::new(kmodkit())
        .args(["bpf", "verify"])
        .arg(file)
        .args(p.args())
        .args(extra)
        .arg("--json")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: {text}{}",
            p.name,
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v[0].clone()
}

fn accepted(v: &serde_json::Value) -> bool {
    v["accepted"].as_bool().expect("accepted is a bool")
}

#[test]
fn targets_6_1_and_6_18_give_the_annotated_verdicts() {
    let progs = programs();
    let mut differ = 0;
    for p in &progs {
        for (version, target) in [("6.1", DEBIAN_6_1), ("6.18", "6.18")] {
            let v = verify(p, &p.file, &["--target", target]);
            assert_eq!(
                accepted(&v),
                p.expect(version),
                "{} for {target}: {v}",
                p.name
            );
            assert_eq!(v["target"], target, "{v}");
        }
        // Upstream 6.1 (no stable release named): the same but for gotol.
        let v = verify(p, &p.file, &["--target", "6.1"]);
        assert_eq!(
            accepted(&v),
            p.expect("6.1") && p.name != "v4_gotol",
            "{}: {v}",
            p.name
        );
        if p.expect("6.1") != p.expect("6.18") {
            differ += 1;
        }
    }
    assert!(differ >= 10, "only {differ} programs differ");
    // The same with the 6.1 kernel image as the target (its version string), and with its
    // release, which names the image in the cache.
    if let Some(c) = testsupport::corpus("amd64").filter(|c| c.release == "6.1.0-56-amd64") {
        let image = c.root.join("boot").join(format!("vmlinuz-{}", c.release));
        for p in &progs {
            for target in [image.to_str().unwrap(), c.release.as_str()] {
                let v = verify(p, &p.file, &["--target", target]);
                assert_eq!(accepted(&v), p.expect("6.1"), "{}: {v}", p.name);
                assert_eq!(v["target_version"], DEBIAN_6_1, "{v}");
            }
        }
    }
}

/// The stable release of Debian 12's 6.1 kernel in the cache (6.1.0-56-amd64).
const DEBIAN_6_1: &str = "6.1.192";

/// A Debian kernel package as the target: its control `Version` is the version (a package
/// made here with dpkg-deb, with the control fields of Debian's linux-image-6.1.0-56-amd64).
#[test]
fn a_kernel_package_is_a_target() {
    if !testsupport::have_tool("dpkg-deb") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("pkg");
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        "Package: linux-image-6.1.0-56-amd64\nVersion: 6.1.192-2\nArchitecture: amd64\n\
         Maintainer: Debian Kernel Team <debian-kernel@lists.debian.org>\n\
         Description: Linux 6.1 for 64-bit PCs (signed)\n",
    )
    .unwrap();
    let deb = dir
        .path()
        .join("linux-image-6.1.0-56-amd64_6.1.192-2_amd64.deb");
    let st = Command::new("dpkg-deb")
        .args(["--build", "--root-owner-group"])
        .arg(&root)
        .arg(&deb)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let progs = programs();
    for name in ["v4_movsx", "v4_gotol", "const_key_lookup"] {
        let p = progs.iter().find(|p| p.name == name).unwrap();
        let v = verify(p, &p.file, &["--target", deb.to_str().unwrap()]);
        assert_eq!(v["target_version"], DEBIAN_6_1, "{v}");
        assert!(
            v["target"]
                .as_str()
                .unwrap()
                .starts_with("6.1.0-56-amd64 ("),
            "{v}"
        );
        assert_eq!(accepted(&v), p.expect("6.1"), "{name}: {v}");
    }
    // Another package is not a kernel.
    std::fs::write(
        root.join("DEBIAN/control"),
        "Package: hello\nVersion: 1.0\nArchitecture: amd64\nMaintainer: x <x@example.org>\nDescription: x\n",
    )
    .unwrap();
    let other = dir.path().join("hello_1.0_amd64.deb");
    Command::new("dpkg-deb")
        .args(["--build", "--root-owner-group"])
        .arg(&root)
        .arg(&other)
        .output()
        .unwrap();
    let p = &progs[0];
    let out = Command::new(kmodkit())
        .args(["bpf", "verify"])
        .arg(&p.file)
        .args(p.args())
        .arg("--target")
        .arg(&other)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not a kernel image package"), "{err}");
}

#[test]
fn bad_targets_are_usage_errors() {
    let p = &programs()[0];
    for (target, says) in [
        ("six", "is not a kernel release"),
        ("/nonexistent/vmlinuz", "no such file"),
        ("/etc/os-release", "not a kernel image"),
        ("/etc", "a directory"),
    ] {
        let out = Command::new(kmodkit())
            .args(["bpf", "verify"])
            .arg(&p.file)
            .args(p.args())
            .args(["--target", target])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{target}: {err}");
        assert!(err.contains(says), "{target}: {err}");
    }
}

#[test]
fn the_default_target_predicts_the_host_kernel() {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let is_6_18 = release.starts_with("6.18.");
    for p in programs() {
        let v = verify(&p, &p.file, &["--live"]);
        if v.is_null() {
            skip(Requirement::Bpf, "host bpf() unavailable");
            return;
        }
        let kernel = v["kernel"]["accepted"].as_bool().expect("--live verdict");
        assert_eq!(
            accepted(&v),
            kernel,
            "{} on the host ({release}): ours {v}",
            p.name
        );
        if is_6_18 {
            assert_eq!(kernel, p.expect("6.18"), "{}: {v}", p.name);
        }
    }
}

#[test]
fn target_6_1_predicts_debian_6_1_under_vm() {
    if let Some(k) = vm_kernels::kernel("6.1") {
        in_the_guest(&k, Some("6.1"));
    }
}

/// Debian's 6.12 has no annotations here: its real verdicts against `--target` its image.
#[test]
fn target_6_12_predicts_debian_6_12_under_vm() {
    if let Some(k) = vm_kernels::kernel("6.12") {
        in_the_guest(&k, None);
    }
}

/// One boot of `k`: each program loaded by the real kernel (`--live`), its verdict compared
/// with the host's prediction for `k`'s image, the guest's for its running kernel, and the
/// annotation for `version` if given.
/// Run `script` in a guest of kernel `k` under `kmodkit vm`, with directory `add.0` at
/// `add.1`; its standard output, the run having succeeded.
fn in_guest(
    k: &vm_kernels::Kernel,
    timeout: u32,
    add: Option<(&Path, &str)>,
    script: &str,
) -> String {
    let mut cmd = Command::new(kmodkit());
    cmd.arg("vm")
        .arg("--kernel")
        .arg(k.image())
        .args(["--timeout", &timeout.to_string()]);
    if let Some((dir, at)) = add {
        cmd.arg("--add").arg(format!("{}:{at}", dir.display()));
    }
    let out = cmd.arg("--").arg(script).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn in_the_guest(k: &vm_kernels::Kernel, version: Option<&str>) {
    let progs = programs();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bpf_target");
    let mut script = String::new();
    for p in &progs {
        script.push_str(&format!(
            "echo '=== {}'; kmodkit bpf verify /p/{}.s {} --live --json; echo\n",
            p.name,
            p.name,
            p.args().join(" ")
        ));
    }
    let text = in_guest(k, 240, Some((&dir, "/p")), &script);
    let mut report = Vec::new();
    for p in &progs {
        let start = format!("=== {}\n", p.name);
        let body = text
            .split_once(&start)
            .unwrap_or_else(|| panic!("{}: no output:\n{text}", p.name))
            .1;
        let body = body.split("=== ").next().unwrap();
        let v: serde_json::Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{}: {e}: {body}", p.name));
        let guest = &v[0];
        let kernel = guest["kernel"]["accepted"]
            .as_bool()
            .unwrap_or_else(|| panic!("{}: no kernel verdict: {guest}", p.name));
        // The host's prediction for the guest's image, the guest's for its running kernel,
        // the annotation.
        let host = accepted(&verify(
            p,
            &p.file,
            &["--target", k.image().to_str().unwrap()],
        ));
        report.push(format!(
            "{:<36} {} kernel={:<6} --target IMAGE={:<6} guest default={}",
            p.name,
            k.release(),
            kernel,
            host,
            accepted(guest)
        ));
        assert_eq!(
            host,
            kernel,
            "{}: the real {} says {guest}",
            p.name,
            k.release()
        );
        assert_eq!(accepted(guest), kernel, "{}: {guest}", p.name);
        if let Some(v) = version {
            assert_eq!(kernel, p.expect(v), "{}: annotation", p.name);
        }
        assert!(
            guest["target_version"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{}.", k.series)),
            "{guest}"
        );
    }
    eprintln!("{}", report.join("\n"));
}

/// Programs from the fuzz generator (XDP, a hash and an array map), loaded into Debian's
/// real 6.1 in one boot: the guest's prediction for its running kernel must never accept
/// what that kernel rejects; the agreement rate is printed.
#[test]
fn generated_programs_never_accepted_when_debian_6_1_rejects() {
    let Some(k) = vm_kernels::kernel("6.1") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut seed = 0x1234_5678_9abc_def1u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let n = 300;
    for i in 0..n {
        let len = 8 + (next() % 100) as usize;
        let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let prog = bpf_verifier::testgen::program(&data, 80);
        let bytes = bpf_insn::encode_all(&prog, bpf_insn::Endian::Little);
        std::fs::write(dir.path().join(format!("g{i:03}.bin")), bytes).unwrap();
    }
    let maps: Vec<String> = bpf_vm::fuzzcheck::maps()
        .iter()
        .map(|m| {
            format!(
                "--map {},{},{},{}",
                m.map_type, m.key_size, m.value_size, m.max_entries
            )
        })
        .collect();
    let script = format!(
        "for f in /g/*.bin; do echo \"=== $f\"; kmodkit bpf verify $f --type xdp {} --live --json; echo; done",
        maps.join(" ")
    );
    let text = in_guest(&k, 600, Some((dir.path(), "/g")), &script);
    let (mut total, mut agree, mut both_accept) = (0, 0, 0);
    let mut unsafe_accepts = Vec::new();
    for part in text.split("=== ").skip(1) {
        let (name, body) = part.split_once('\n').unwrap();
        let v: serde_json::Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{name}: {e}: {body}"));
        let ours = accepted(&v[0]);
        let kernel = v[0]["kernel"]["accepted"]
            .as_bool()
            .expect("--live verdict");
        assert!(v[0]["target_version"].as_str().unwrap().starts_with("6.1."));
        total += 1;
        agree += usize::from(ours == kernel);
        both_accept += usize::from(ours && kernel);
        if ours && !kernel {
            unsafe_accepts.push(format!("{name}: {}", v[0]["kernel"]["message"]));
        }
    }
    assert_eq!(total, n, "{text}");
    eprintln!(
        "generated programs in {}: {total}, verdicts agree on {agree} ({:.1}%), both accept {both_accept}, only we accept {}",
        k.release(),
        100.0 * agree as f64 / total as f64,
        unsafe_accepts.len()
    );
    assert!(
        unsafe_accepts.is_empty(),
        "we accept what Debian's 6.1 rejects: {unsafe_accepts:#?}"
    );
    assert!(
        both_accept > 10,
        "the generator no longer produces accepted programs"
    );
}

/// The helper data the model's table was written from (crates/bpf-verifier/data) is what
/// the kernels say today: `kmodkit bpf probe-helpers --json` on the host (when it runs
/// 6.18) and in Debian's 6.1 under `kmodkit vm`.
#[test]
fn helper_data_is_what_the_kernels_report() {
    let data = |v: &str| -> serde_json::Value {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../bpf-verifier/data/helpers-{v}.json"));
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    if release.starts_with("6.18.") {
        let out = Command::new(kmodkit())
            .args(["bpf", "probe-helpers", "--json"])
            .output()
            .unwrap();
        if !out.status.success() {
            skip(
                Requirement::Bpf,
                &format!("host bpf(): {}", String::from_utf8_lossy(&out.stderr)),
            );
        } else {
            let host: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(host, data("6.18"), "the host's helpers changed");
        }
    }
    let Some(k) = vm_kernels::kernel("6.1") else {
        return;
    };
    let text = in_guest(&k, 600, None, "kmodkit bpf probe-helpers --json");
    let guest: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(guest, data("6.1"), "Debian's 6.1 reports other helpers");
}

/// The verifier corpus of the host differential test (tests/data/bpf_verifier: valid
/// programs and every class of bug) in Debian's 6.1, one boot: the guest's prediction for
/// its running kernel must be that kernel's verdict, program by program.
#[test]
fn the_verifier_corpus_agrees_with_debian_6_1() {
    let Some(k) = vm_kernels::kernel("6.1") else {
        return;
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bpf_verifier");
    // Not those whose maps need BTF (a spin lock, a timer, an inner map: `--map` cannot
    // describe them) or whose offsets are the host's structs (`# btf: host`).
    let expressible = |p: &PathBuf| {
        let text = std::fs::read_to_string(p).unwrap();
        !text
            .lines()
            .any(|l| l.starts_with("# btf:") || l.starts_with("# map:") && l.contains('='))
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "s"))
        .filter(expressible)
        .collect();
    files.sort();
    let mut script = String::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let mut args = String::new();
        for l in text.lines() {
            if let Some(t) = l.strip_prefix("# type: ") {
                args.push_str(&format!(" --type {}", t.trim()));
            }
            if let Some(m) = l.strip_prefix("# map: ") {
                let m: Vec<&str> = m.split_whitespace().collect();
                args.push_str(&format!(" --map {}", m.join(",")));
            }
        }
        let name = f.file_name().unwrap().to_string_lossy();
        script.push_str(&format!(
            "echo '=== {name}'; kmodkit bpf verify /c/{name}{args} --live --json; echo\n"
        ));
    }
    let text = in_guest(&k, 600, Some((&dir, "/c")), &script);
    let mut disagree = Vec::new();
    let mut total = 0;
    for part in text.split("=== ").skip(1) {
        let (name, body) = part.split_once('\n').unwrap();
        let v: serde_json::Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{name}: {e}: {body}"));
        let kernel = v[0]["kernel"]["accepted"]
            .as_bool()
            .expect("--live verdict");
        total += 1;
        if accepted(&v[0]) != kernel {
            disagree.push(format!("{name}: kernel {kernel}: {}", v[0]));
        }
    }
    assert_eq!(total, files.len(), "{text}");
    eprintln!(
        "verifier corpus in {}: {}/{total} agree",
        k.release(),
        total - disagree.len()
    );
    assert!(disagree.is_empty(), "{disagree:#?}");
}
