//! `kmodkit new` + `kmodkit build` against the real Debian headers installed on this machine
//! (`linux-headers-<release>` of the corpus kernel), and the build's failure paths.

use std::path::Path;
use std::process::Output;
use testsupport::corpus_with_headers;

fn kmodkit(args: &[&str], cwd: &Path) -> Output {
    testsupport::kmodkit_in(cwd, args)
}

/// The corpus kernel's release, if its headers are installed.
fn release_with_headers() -> Option<String> {
    Some(corpus_with_headers("amd64")?.release)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn skeleton_builds_and_checks_clean() {
    let Some(release) = release_with_headers() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = kmodkit(&["new", "kmk_hello"], tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    for f in [
        "kmk_hello.c",
        "Makefile",
        "dkms.conf",
        ".gitignore",
        "README.md",
    ] {
        assert!(tmp.path().join("kmk_hello").join(f).is_file(), "{f}");
    }
    // Creating it again refuses to overwrite.
    assert_eq!(
        kmodkit(&["new", "kmk_hello"], tmp.path()).status.code(),
        Some(1)
    );

    let out = kmodkit(&["build", "kmk_hello", "--kernel", &release], tmp.path());
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let ko = tmp
        .path()
        .join("kmk_hello/.build")
        .join(&release)
        .join("kmk_hello.ko");
    let info = kmodkit(
        &["modinfo", "-F", "vermagic", ko.to_str().unwrap()],
        tmp.path(),
    );
    let vermagic = text(&info.stdout);
    assert!(
        vermagic.starts_with(&format!("{release} ")),
        "vermagic {vermagic:?}"
    );
    let parm = kmodkit(&["modinfo", "-p", ko.to_str().unwrap()], tmp.path());
    assert_eq!(
        text(&parm.stdout),
        "bufsize:Size in bytes of the buffer allocated at load time (uint)\n"
    );
}

#[test]
fn compile_error_shows_the_first_error() {
    let Some(release) = release_with_headers() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    assert!(kmodkit(&["new", "broken"], tmp.path()).status.success());
    let c = tmp.path().join("broken/broken.c");
    let src = std::fs::read_to_string(&c)
        .unwrap()
        .replace("kfree(buf);", "kfree(buf) this_is_not_c;");
    std::fs::write(&c, src).unwrap();
    let out = kmodkit(&["build", "broken", "--kernel", &release], tmp.path());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("build failed"), "{err}");
    let marked: Vec<&str> = err.lines().filter(|l| l.starts_with("==> ")).collect();
    assert_eq!(marked.len(), 1, "{err}");
    assert!(
        marked[0].contains("broken.c") && marked[0].contains("error"),
        "{}",
        marked[0]
    );
    assert!(!tmp
        .path()
        .join("broken/.build")
        .join(&release)
        .join("broken.ko")
        .exists());
}

#[test]
fn missing_headers_name_the_package() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(kmodkit(&["new", "nohdr"], tmp.path()).status.success());
    let out = kmodkit(
        &["build", "nohdr", "--kernel", "9.9.9-kmodkit-none"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("install the package linux-headers-9.9.9-kmodkit-none"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn invalid_module_name_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = kmodkit(&["new", "bad-name!"], tmp.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("invalid module name"));
}

/// Headers that claim another release are refused before building.
#[test]
fn headers_for_another_release_are_refused() {
    let Some(release) = release_with_headers() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    assert!(kmodkit(&["new", "wrong"], tmp.path()).status.success());
    let headers = format!("/lib/modules/{release}/build");
    let out = kmodkit(
        &[
            "build",
            "wrong",
            "--kernel",
            "6.0.0-other",
            "--headers",
            &headers,
        ],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&format!("are for {release}, not 6.0.0-other")),
        "{}",
        text(&out.stderr)
    );
}
