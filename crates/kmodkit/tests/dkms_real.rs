//! The DKMS lifecycle with a real third-party DKMS package from Debian (v4l2loopback-dkms,
//! fetched by `scripts/debpkg`), built against the corpus kernel's real headers, in temporary
//! trees: add, build, install (signed with the DKMS MOK key that `kmodkit dkms` generates),
//! status, uninstall, remove. The installed module must carry our signature and be indexed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use testsupport::{corpus, debpkg, skip, Requirement};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kmodkit"))
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
    let Some(c) = corpus("amd64") else { return };
    let release = c.release.clone();
    if !Path::new("/lib/modules")
        .join(&release)
        .join("build/Makefile")
        .is_file()
    {
        skip(
            Requirement::Corpus,
            &format!("linux-headers-{release} is not installed"),
        );
        return;
    }
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

    okv(with(&["dkms", "uninstall", "-m", &mv, "-k", &release]));
    assert!(!installed.exists());
    let dep = std::fs::read_to_string(install_tree.join(&release).join("modules.dep")).unwrap();
    assert!(!dep.contains("v4l2loopback"), "{dep}");
    okv(with(&["dkms", "remove", "-m", &mv, "--all"]));
    assert!(!dkms_tree.join("v4l2loopback").exists());
    let status = okv(with(&["dkms", "status"]));
    assert!(!status.contains("v4l2loopback"), "{status}");
}
