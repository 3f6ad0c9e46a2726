//! The DKMS lifecycle with a real third-party DKMS package from Debian (v4l2loopback-dkms,
//! fetched by `scripts/debpkg`), built against the corpus kernel's real headers, in temporary
//! trees: add, build, install (signed with the DKMS MOK key that `kmodkit dkms` generates),
//! status, uninstall, remove. The installed module must carry our signature and be indexed.
//!
//! And one package for both of Debian 12's kernels: acpi-call-dkms (which builds on 6.1 and
//! 6.12; bookworm's v4l2loopback 0.12.7 does not compile on 6.12: it calls `strlcpy`, gone
//! since 6.8) built and installed for each release in one DKMS tree, then each kernel booted
//! under OVMF with the DKMS MOK certificate in the firmware's db and `module.sig_enforce=1`:
//! the module built for it loads there, trusted (taint O only).

mod vm_kernels;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use testsupport::{corpus_with_headers, debpkg};

fn run(args: &[&str]) -> Output {
    Command::new(testsupport::kmodkit())
        .args(args)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "kmodkit {args:?} failed:\n{text}");
    text
}

#[test]
fn real_dkms_package_lifecycle() {
    let Some(c) = corpus_with_headers("amd64") else {
        return;
    };
    let release = c.release.clone();
    let Some(pkg) = debpkg("v4l2loopback-dkms") else {
        return;
    };
    let src = std::fs::read_dir(pkg.join("usr/src"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("dkms.conf").is_file())
        .expect("the package ships /usr/src/NAME-VERSION/dkms.conf");
    let version = src
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .trim_start_matches("v4l2loopback-")
        .to_string();
    let mv = format!("v4l2loopback/{version}");

    let tmp = tempfile::tempdir().unwrap();
    let t = |p: &str| -> PathBuf { tmp.path().join(p) };
    let (dkms_tree, source_tree, install_tree) =
        (t("var/lib/dkms"), t("usr/src"), t("lib/modules"));
    std::fs::create_dir_all(&source_tree).unwrap();
    std::fs::create_dir_all(install_tree.join(&release)).unwrap();
    let trees = [
        "--dkmstree",
        dkms_tree.to_str().unwrap(),
        "--sourcetree",
        source_tree.to_str().unwrap(),
        "--installtree",
        install_tree.to_str().unwrap(),
        "--kernelsourcedir",
    ];
    let headers = format!("/lib/modules/{release}/build");
    let with = |action: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = action.iter().map(|s| s.to_string()).collect();
        v.extend(trees.iter().map(|s| s.to_string()));
        v.push(headers.clone());
        v
    };
    let okv = |v: Vec<String>| ok(&v.iter().map(String::as_str).collect::<Vec<_>>());

    okv(with(&["dkms", "add", src.to_str().unwrap()]));
    let status = okv(with(&["dkms", "status"]));
    assert!(status.contains(&format!("{mv}: added")), "{status}");

    let build = okv(with(&["dkms", "build", "-m", &mv, "-k", &release]));
    assert!(
        dkms_tree.join("mok.key").is_file() && dkms_tree.join("mok.pub").is_file(),
        "{build}"
    );

    okv(with(&["dkms", "install", "-m", &mv, "-k", &release]));
    let installed = install_tree
        .join(&release)
        .join("updates/dkms/v4l2loopback.ko");
    assert!(
        installed.is_file(),
        "not installed at {}",
        installed.display()
    );
    let signer = ok(&["modinfo", "-F", "signer", installed.to_str().unwrap()]);
    assert_eq!(signer, "DKMS module signing key\n");
    // Verified against the MOK certificate kmodkit generated.
    ok(&[
        "verify",
        "--keyring",
        dkms_tree.join("mok.pub").to_str().unwrap(),
        installed.to_str().unwrap(),
    ]);
    // depmod indexed it.
    let dep = std::fs::read_to_string(install_tree.join(&release).join("modules.dep")).unwrap();
    assert!(dep.contains("updates/dkms/v4l2loopback.ko:"), "{dep}");
    let status = okv(with(&["dkms", "status"]));
    assert!(
        status.contains(&format!("{mv}, {release}, ")) && status.contains(": installed"),
        "{status}"
    );

    // match: the same modules on another kernel (here a second tree built against the same
    // headers), taken from what the template kernel has installed.
    let other = format!("{release}-match");
    std::fs::create_dir_all(install_tree.join(&other)).unwrap();
    okv(with(&[
        "dkms",
        "match",
        "--templatekernel",
        &release,
        "-k",
        &other,
    ]));
    let matched = install_tree
        .join(&other)
        .join("updates/dkms/v4l2loopback.ko");
    assert!(
        matched.is_file(),
        "match did not install {}",
        matched.display()
    );
    let status = okv(with(&["dkms", "status"]));
    assert!(status.contains(&format!("{mv}, {other}, ")), "{status}");

    okv(with(&["dkms", "uninstall", "-m", &mv, "-k", &release]));
    assert!(!installed.exists());
    let dep = std::fs::read_to_string(install_tree.join(&release).join("modules.dep")).unwrap();
    assert!(!dep.contains("v4l2loopback"), "{dep}");
    okv(with(&["dkms", "remove", "-m", &mv, "--all"]));
    assert!(!dkms_tree.join("v4l2loopback").exists());
    let status = okv(with(&["dkms", "status"]));
    assert!(!status.contains("v4l2loopback"), "{status}");
}

/// Failures end with a message and a non-zero status, and install nothing: a BUILD_EXCLUSIVE
/// directive that excludes the kernel (DKMS's status 9), and a compile error (the make log's
/// first error shown, the build kept out of the tree).
#[test]
fn dkms_failures_install_nothing() {
    let Some(c) = corpus_with_headers("amd64") else {
        return;
    };
    let release = c.release.clone();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (dkms_tree, install_tree) = (d.join("var/lib/dkms"), d.join("lib/modules"));
    std::fs::create_dir_all(install_tree.join(&release)).unwrap();
    let common = |action: &str| -> Vec<String> {
        vec![
            "dkms".into(),
            action.into(),
            "--dkmstree".into(),
            dkms_tree.to_string_lossy().into_owned(),
            "--sourcetree".into(),
            d.to_string_lossy().into_owned(),
            "--installtree".into(),
            install_tree.to_string_lossy().into_owned(),
        ]
    };
    let runv = |v: Vec<String>| run(&v.iter().map(String::as_str).collect::<Vec<_>>());

    // A skeleton whose dkms.conf only wants kernels 1.2.x.
    let out = Command::new(testsupport::kmodkit())
        .args(["new", "kmk_excl"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(out.status.success());
    let conf = d.join("kmk_excl/dkms.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("BUILD_EXCLUSIVE_KERNEL=\"^1\\.2\\.\"\n");
    std::fs::write(&conf, text).unwrap();
    let mut add = common("add");
    add.push(d.join("kmk_excl").to_string_lossy().into_owned());
    assert!(runv(add).status.success());
    let mut install = common("install");
    install.extend([
        "-m".into(),
        "kmk_excl/0.1".into(),
        "-k".into(),
        release.clone(),
    ]);
    let out = runv(install);
    let msg =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{msg}");
    assert!(msg.contains("BUILD_EXCLUSIVE"), "{msg}");

    // A skeleton that does not compile.
    let out = Command::new(testsupport::kmodkit())
        .args(["new", "kmk_broken"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(out.status.success());
    let src = d.join("kmk_broken/kmk_broken.c");
    let text = std::fs::read_to_string(&src).unwrap();
    std::fs::write(
        &src,
        text.replacen("return 0;", "return undefined_variable;", 1),
    )
    .unwrap();
    let mut add = common("add");
    add.push(d.join("kmk_broken").to_string_lossy().into_owned());
    assert!(runv(add).status.success());
    let mut install = common("install");
    install.extend([
        "-m".into(),
        "kmk_broken/0.1".into(),
        "-k".into(),
        release.clone(),
    ]);
    // No headers where the install tree says they are: named, with the package to install.
    let out = runv(install.clone());
    let msg =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{msg}");
    assert!(
        msg.contains(&format!("linux-headers-{release} package")),
        "{msg}"
    );
    install.extend([
        "--kernelsourcedir".into(),
        format!("/lib/modules/{release}/build"),
    ]);
    let out = runv(install);
    let msg =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{msg}");
    assert!(
        msg.contains("undefined_variable"),
        "the compiler's error should be shown:\n{msg}"
    );

    // Nothing of either landed in the install tree.
    let mut found = Vec::new();
    let mut stack = vec![install_tree.clone()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path())
            } else {
                found.push(e.path())
            }
        }
    }
    assert!(
        found.iter().all(|p| !p.to_string_lossy().contains("kmk_")),
        "{found:?}"
    );
}

/// `dkms status --json`, and refusals through the command line: each names the field, its
/// value and where it came from, and nothing is created.
#[test]
fn status_json_and_refusals() {
    let tmp = tempfile::tempdir().unwrap();
    let t = |p: &str| -> PathBuf { tmp.path().join(p) };
    let trees: Vec<String> = vec![
        "--dkmstree".into(),
        t("dkms").display().to_string(),
        "--sourcetree".into(),
        t("src").display().to_string(),
        "--installtree".into(),
        t("lib/modules").display().to_string(),
    ];
    let with = |action: &[&str]| -> Output {
        let mut v: Vec<String> = action.iter().map(|s| s.to_string()).collect();
        v.extend(trees.iter().cloned());
        run(&v.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let pkg = t("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("hello.c"), "/* */\n").unwrap();
    std::fs::write(
        pkg.join("dkms.conf"),
        "PACKAGE_NAME=hello\nPACKAGE_VERSION=1.0\nBUILT_MODULE_NAME[0]=hello\nDEST_MODULE_LOCATION[0]=/updates\n",
    )
    .unwrap();
    let out = with(&["dkms", "add", pkg.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = with(&["dkms", "status", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{"module": "hello", "version": "1.0", "kernel": null,
            "arch": null, "state": "added", "warnings": []}])
    );

    // A name from dkms.conf that leaves the source tree.
    std::fs::write(
        pkg.join("dkms.conf"),
        "PACKAGE_NAME=../../evil\nPACKAGE_VERSION=1.0\nBUILT_MODULE_NAME[0]=hello\nDEST_MODULE_LOCATION[0]=/updates\n",
    )
    .unwrap();
    let out = with(&["dkms", "add", pkg.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(10), "{err}");
    assert!(
        err.contains("PACKAGE_NAME=\"../../evil\"") && err.contains("dkms.conf:1"),
        "{err}"
    );
    assert!(!tmp.path().join("evil-1.0").exists());

    // Names from the command line.
    for (args, names) in [
        (vec!["dkms", "build", "-m", "../x", "-v", "1"], "(-m)"),
        (vec!["dkms", "remove", "hello/..", "--all"], "(-v)"),
        (
            vec!["dkms", "install", "-m", "hello/1.0", "-k", "../../k"],
            "(-k)",
        ),
    ] {
        let out = with(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            err.contains("refused") && err.contains(names),
            "{args:?}: {err}"
        );
    }
    assert!(!t("k").exists() && !t("x").exists());
}

/// Every file under `dir` whose name starts with `prefix`.
fn files_named(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else if e.file_name().to_string_lossy().starts_with(prefix) {
                found.push(e.path());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn one_package_for_both_kernels_loads_in_each() {
    let (Some(k61), Some(k612)) = (
        vm_kernels::kernel_with_headers("6.1"),
        vm_kernels::kernel_with_headers("6.12"),
    ) else {
        return;
    };
    if !Path::new("/usr/share/OVMF/OVMF_VARS_4M.fd").is_file() {
        testsupport::skip(
            testsupport::Requirement::Vm,
            "OVMF (package ovmf) is not installed",
        );
        return;
    }
    let Some(pkg) = debpkg("acpi-call-dkms") else {
        return;
    };
    let src = std::fs::read_dir(pkg.join("usr/src"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("dkms.conf").is_file())
        .expect("the package ships /usr/src/NAME-VERSION/dkms.conf");
    let version = src
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .trim_start_matches("acpi-call-")
        .to_string();
    let mv = format!("acpi-call/{version}");
    let tmp = tempfile::tempdir().unwrap();
    let t = |p: &str| -> PathBuf { tmp.path().join(p) };
    let (dkms_tree, source_tree, install_tree) =
        (t("var/lib/dkms"), t("usr/src"), t("lib/modules"));
    std::fs::create_dir_all(&source_tree).unwrap();
    let trees = |headers: Option<&Path>| -> Vec<String> {
        let mut v = vec![
            "--dkmstree".to_string(),
            dkms_tree.display().to_string(),
            "--sourcetree".to_string(),
            source_tree.display().to_string(),
            "--installtree".to_string(),
            install_tree.display().to_string(),
        ];
        if let Some(h) = headers {
            v.push("--kernelsourcedir".into());
            v.push(h.display().to_string());
        }
        v
    };
    let okv = |mut v: Vec<String>, extra: Vec<String>| {
        v.extend(extra);
        ok(&v.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let cmd = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    okv(cmd(&["dkms", "add", src.to_str().unwrap()]), trees(None));
    for k in [&k61, &k612] {
        let dir = install_tree.join(k.release());
        std::fs::create_dir_all(&dir).unwrap();
        // The install tree as each kernel's package leaves it: 6.12's modules are .ko.xz
        // (DKMS compresses what it installs the same way; the kernel decompresses it).
        if k.config("CONFIG_MODULE_COMPRESS_XZ").as_deref() == Some("y") {
            std::fs::write(dir.join("modules.dep"), "kernel/fs/fat/fat.ko.xz:\n").unwrap();
        }
        let h = k.headers();
        okv(
            cmd(&["dkms", "build", "-m", &mv, "-k", k.release()]),
            trees(Some(&h)),
        );
        okv(
            cmd(&["dkms", "install", "-m", &mv, "-k", k.release()]),
            trees(Some(&h)),
        );
    }
    let status = okv(cmd(&["dkms", "status"]), trees(None));
    for k in [&k61, &k612] {
        let prefix = format!("{mv}, {}, ", k.release());
        assert!(
            status
                .lines()
                .any(|l| l.starts_with(&prefix) && l.ends_with(": installed")),
            "{status}"
        );
    }
    let mok = dkms_tree.join("mok.pub");
    for k in [&k61, &k612] {
        let found = files_named(&install_tree.join(k.release()), "acpi_call.ko");
        let [ko] = &found[..] else {
            panic!("one acpi_call module for {}: {found:?}", k.release());
        };
        let xz = k.config("CONFIG_MODULE_COMPRESS_XZ").as_deref() == Some("y");
        assert_eq!(
            ko.to_string_lossy().ends_with(".ko.xz"),
            xz,
            "{}",
            ko.display()
        );
        // Built for this kernel, signed with the DKMS key.
        let vermagic = ok(&["modinfo", "-F", "vermagic", ko.to_str().unwrap()]);
        assert!(
            vermagic.starts_with(&format!("{} ", k.release())),
            "{}: {vermagic}",
            ko.display()
        );
        let signer = ok(&["modinfo", "-F", "signer", ko.to_str().unwrap()]);
        assert_eq!(signer, "DKMS module signing key\n");
        // Loaded in that kernel, under enforcement, trusted through the firmware's db.
        let name = ko.file_name().unwrap().to_string_lossy().into_owned();
        let out = Command::new(testsupport::kmodkit())
            .arg("vm")
            .arg("--kernel")
            .arg(k.image())
            .arg("--secure-db")
            .arg(&mok)
            .args(["--append", "module.sig_enforce=1", "--timeout", "300"])
            .arg("--add")
            .arg(format!("{}:/m/{name}", ko.display()))
            .arg("--")
            .arg(format!(
                "uname -r; insmod /m/{name} && cat /sys/module/acpi_call/taint && \
                 test -e /proc/acpi/call && echo 'proc entry: yes'"
            ))
            .output()
            .unwrap();
        let text = testsupport::output_text(&out);
        assert!(out.status.success(), "{}: {text}", k.release());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{}\nO\nproc entry: yes\n", k.release()),
            "{text}"
        );
    }
}
