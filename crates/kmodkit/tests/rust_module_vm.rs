//! A kernel module in Rust, from skeleton to a loaded, signed module in a real kernel:
//! `kmodkit kernel build --rust` builds (once per machine, then cached) a Rust-enabled 6.12
//! kernel from Debian's sources; `kmodkit new --rust` makes the skeleton; `kmodkit build`
//! compiles it against that kernel's tree (vermagic checked) and signs it with the kernel's
//! own key; `kmodkit strip` makes an unsigned copy. kmod's `modinfo` and ours print the same
//! bytes for both. One boot of that kernel under `kmodkit vm`: the signed module loads with
//! taint `O`, prints its `pr_info!` lines, and `rmmod` runs its `Drop`; the unsigned one
//! loads with `OE` and the kernel's "module verification failed" line.

use std::path::Path;
use std::process::{Command, Output};
use testsupport::{assert_same_output, have_tool, skip, Requirement};

fn kmodkit(args: &[&str], cwd: &Path) -> Output {
    testsupport::kmodkit_in(cwd, args)
}

fn text(o: &Output) -> String {
    testsupport::output_text(o)
}

/// Why the Rust toolchain or kernel sources are unusable here, if they are.
fn toolchain_missing() -> Option<String> {
    if !Path::new("/usr/bin/rustc").is_file() {
        return Some("Debian's rustc-web is not installed (/usr/bin/rustc)".into());
    }
    if !Path::new(&format!(
        "/usr/src/{}.tar.xz",
        kbuild::kernel::DEFAULT_SOURCE
    ))
    .is_file()
    {
        return Some(format!(
            "{} is not installed",
            kbuild::kernel::DEFAULT_SOURCE
        ));
    }
    for tool in ["clang", "ld.lld", "flex", "bison", "bc"] {
        if which(tool).is_none() {
            return Some(format!("`{tool}` is not installed"));
        }
    }
    None
}

fn which(tool: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

#[test]
fn rust_module_new_build_sign_load_unload() {
    if let Some(why) = toolchain_missing() {
        skip(
            Requirement::Vm,
            &format!(
                "{why}: {}",
                kbuild::kernel::install_hint(kbuild::kernel::DEFAULT_SOURCE)
            ),
        );
        return;
    }
    if !["qemu-system-x86_64", "busybox", "modinfo"]
        .iter()
        .all(|t| have_tool(t))
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let s = |p: &Path| p.to_string_lossy().into_owned();

    // The kernel: built once per machine (the first run takes minutes), then cached.
    let kdir = d.join("kernel");
    let out = kmodkit(&["kernel", "build", "--rust", "--out", &s(&kdir)], d);
    assert!(out.status.success(), "kernel build failed:\n{}", text(&out));
    eprintln!("{}", String::from_utf8_lossy(&out.stdout));
    let release = std::fs::read_to_string(kdir.join("release"))
        .unwrap()
        .trim()
        .to_string();
    let key = s(&kdir.join("signing_key.pem"));
    let config = std::fs::read_to_string(kdir.join("build/.config")).unwrap();
    assert!(config.lines().any(|l| l == "CONFIG_RUST=y"));
    assert!(config
        .lines()
        .any(|l| l == "# CONFIG_MODVERSIONS is not set"));

    // A second call finds it in the cache.
    let again = kmodkit(&["kernel", "build", "--rust", "--out", &s(&kdir)], d);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains(", cached (built in"),
        "{}",
        text(&again)
    );

    let out = kmodkit(&["new", "--rust", "kmk_rust"], d);
    assert!(out.status.success(), "{}", text(&out));
    assert!(d.join("kmk_rust/kmk_rust.rs").is_file());
    let out = kmodkit(
        &[
            "build",
            "kmk_rust",
            "--kernel",
            &release,
            "--headers",
            &s(&kdir.join("build")),
            "--sign-key",
            &key,
            "--sign-cert",
            &key,
        ],
        d,
    );
    assert!(out.status.success(), "build failed:\n{}", text(&out));
    assert!(
        text(&out).contains("(checked, signed with sha256)"),
        "{}",
        text(&out)
    );
    let signed = d.join("kmk_rust/.build").join(&release).join("kmk_rust.ko");
    let unsigned = d.join("unsigned.ko");
    std::fs::copy(&signed, &unsigned).unwrap();
    let out = kmodkit(&["strip", &s(&unsigned)], d);
    assert!(out.status.success(), "{}", text(&out));

    // modinfo: the same bytes as kmod's, signed and unsigned.
    for ko in [&signed, &unsigned] {
        let theirs = Command::new("modinfo").arg(ko).output().unwrap();
        let ours = Command::new(testsupport::kmodkit())
            .arg("modinfo")
            .arg(ko)
            .output()
            .unwrap();
        assert_same_output(&format!("modinfo {}", ko.display()), &theirs, &ours);
        let t = String::from_utf8_lossy(&ours.stdout);
        assert!(t.contains(&format!("vermagic:       {release} ")), "{t}");
        assert!(t.contains("name:           kmk_rust"), "{t}");
    }
    let t = String::from_utf8_lossy(
        &Command::new(testsupport::kmodkit())
            .arg("modinfo")
            .arg(&signed)
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned();
    assert!(t.contains("sig_hashalgo:   sha256"), "{t}");

    // One boot: the signed module, then the unsigned one.
    let script =
        "insmod /signed.ko && cat /proc/sys/kernel/tainted && cat /sys/module/kmk_rust/taint && \
                  lsmod && rmmod kmk_rust && echo UNSIGNED && insmod /unsigned.ko && \
                  cat /sys/module/kmk_rust/taint && rmmod kmk_rust && dmesg";
    let out = kmodkit(
        &[
            "vm",
            "--kernel",
            &s(&kdir.join("bzImage")),
            "--add",
            &format!("{}:/signed.ko", s(&signed)),
            "--add",
            &format!("{}:/unsigned.ko", s(&unsigned)),
            "--",
            script,
        ],
        d,
    );
    let t = text(&out);
    assert!(out.status.success(), "vm failed:\n{t}");
    let lines: Vec<&str> = t.lines().collect();
    let split = lines.iter().position(|l| *l == "UNSIGNED").unwrap();
    let (first, second) = lines.split_at(split);
    assert_eq!(
        first[0], "4096",
        "signed: kernel taint should be O only:\n{t}"
    );
    assert_eq!(first[1], "O", "signed: module taint should be O:\n{t}");
    assert!(
        first.iter().any(|l| l.starts_with("kmk_rust ")),
        "lsmod:\n{t}"
    );
    assert_eq!(second[1], "OE", "unsigned: module taint should be OE:\n{t}");
    let count = |needle: &str| lines.iter().filter(|l| l.contains(needle)).count();
    assert_eq!(
        count("kmk_rust: loaded, 4096-byte buffer allocated"),
        2,
        "{t}"
    );
    assert_eq!(
        count("kmk_rust: unloaded, 4096-byte buffer and 3 numbers freed"),
        2,
        "Drop did not run on each rmmod:\n{t}"
    );
    assert_eq!(count("module verification failed"), 1, "{t}");
}
