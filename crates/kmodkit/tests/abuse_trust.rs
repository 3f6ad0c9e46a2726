//! The trust commands under abuse: concurrent runs on one file, a signal in the middle of a
//! tree, files that are not modules (cut short, executables, another machine's, missing
//! sections), encrypted keys, and a key pair that cannot be written whole.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use testsupport::{corpus, have_tool};

mod tiny_module;
use tiny_module::{tiny_module, EM_AARCH64, EM_X86_64};

const SIGN_FILE: &str = "/usr/lib/linux-kbuild-6.1/scripts/sign-file";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kmodkit"))
}

fn kmodkit(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    bin()
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "status {:?}: {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn keygen(dir: &Path, algo: &str) -> (PathBuf, PathBuf) {
    let (key, cert) = (
        dir.join(format!("{algo}.key")),
        dir.join(format!("{algo}.crt")),
    );
    ok(&kmodkit(&[
        &"keygen", &"--cn", &"abuse", &"--algo", &algo, &"--key", &key, &"--cert", &cert,
    ]));
    (key, cert)
}

/// Every file in `dir` that is not one of `expected` (temporary files left behind).
fn strays(dir: &Path, expected: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !expected.contains(&n.as_str()))
        .collect()
}

/// A module that verifies with `cert`, carries exactly one signature, and is still the
/// module `original` underneath.
fn assert_signed_once(module: &Path, cert: &Path, original: &[u8]) {
    let data = std::fs::read(module).unwrap();
    let content = modsign::module::unsigned_content(&data).unwrap();
    assert_eq!(content, original, "{}: content changed", module.display());
    modfile::validate(content, Some(modfile::Target::X86_64)).unwrap();
    let mut ring = modsign::Keyring::new();
    ring.add_path(cert).unwrap();
    modsign::module::verify(&data, &ring).unwrap_or_else(|e| panic!("{}: {e}", module.display()));
}

#[test]
fn concurrent_signers_on_one_module_never_corrupt_it() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = keygen(dir.path(), "p256");
    let module = dir.path().join("m.ko");
    let original = tiny_module("m", &["license=GPL", "name=m"], EM_X86_64);
    std::fs::write(&module, &original).unwrap();
    for round in 0..20 {
        let children: Vec<_> = (0..8)
            .map(|_| {
                bin()
                    .args(["sign", "--key"])
                    .arg(&key)
                    .arg("--cert")
                    .arg(&cert)
                    .arg(&module)
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_signed_once(&module, &cert, &original);
        let left = strays(dir.path(), &["m.ko", "p256.key", "p256.crt"]);
        assert!(left.is_empty(), "round {round}: left behind {left:?}");
    }
}

#[test]
fn concurrent_sign_file_runs_give_sign_files_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = keygen(dir.path(), "rsa2048");
    let module = dir.path().join("m.ko");
    std::fs::write(&module, tiny_module("m", &["license=GPL"], EM_X86_64)).unwrap();
    let single = dir.path().join("single.ko");
    ok(&kmodkit(&[
        &"sign-file",
        &"sha256",
        &key,
        &cert,
        &module,
        &single,
    ]));
    if Path::new(SIGN_FILE).exists() {
        let theirs = dir.path().join("theirs.ko");
        let out = Command::new(SIGN_FILE)
            .args(["sha256".as_ref(), key.as_os_str(), cert.as_os_str()])
            .arg(&module)
            .arg(&theirs)
            .output()
            .unwrap();
        ok(&out);
        assert_eq!(
            std::fs::read(&theirs).unwrap(),
            std::fs::read(&single).unwrap()
        );
    }
    let dest = dir.path().join("dest.ko");
    for round in 0..10 {
        let children: Vec<_> = (0..8)
            .map(|_| {
                bin()
                    .args(["sign-file".as_ref(), "sha256".as_ref(), key.as_os_str()])
                    .arg(&cert)
                    .arg(&module)
                    .arg(&dest)
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut c in children {
            assert!(c.wait().unwrap().success(), "round {round}");
        }
        assert_eq!(
            std::fs::read(&dest).unwrap(),
            std::fs::read(&single).unwrap(),
            "round {round}"
        );
    }
    let left = strays(
        dir.path(),
        &[
            "m.ko",
            "single.ko",
            "theirs.ko",
            "dest.ko",
            "rsa2048.key",
            "rsa2048.crt",
        ],
    );
    assert!(left.is_empty(), "left behind {left:?}");
}

#[test]
fn sigterm_in_the_middle_of_a_tree_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = keygen(dir.path(), "rsa4096");
    let tree = dir.path().join("tree");
    let original = tiny_module("m", &["license=GPL"], EM_X86_64);
    let mut dirs = Vec::new();
    for d in 0..20 {
        let sub = tree.join(format!("d{d:02}"));
        std::fs::create_dir_all(&sub).unwrap();
        for i in 0..150 {
            std::fs::write(sub.join(format!("m{i:03}.ko")), &original).unwrap();
        }
        dirs.push(sub);
    }
    let mut child = bin()
        .args(["sign", "--key"])
        .arg(&key)
        .arg("--cert")
        .arg(&cert)
        .arg("--tree")
        .arg(&tree)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the run has temporary files beside the modules: it is mid-tree.
    let has_temp = |d: &Path| {
        std::fs::read_dir(d)
            .map(|rd| {
                rd.flatten()
                    .any(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            })
            .unwrap_or(false)
    };
    loop {
        if dirs.iter().any(|d| has_temp(d)) {
            break;
        }
        if let Some(st) = child.try_wait().unwrap() {
            panic!("the signing run ended ({st:?}) before any temporary file was seen");
        }
        std::thread::yield_now();
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(libc::SIGTERM),
        "the run should have died of SIGTERM: {status:?}"
    );
    let mut signed = 0;
    for d in &dirs {
        let left: Vec<_> = safeio::leftovers(d);
        assert!(left.is_empty(), "left behind {left:?}");
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let data = std::fs::read(e.path()).unwrap();
            if data != original {
                assert_signed_once(&e.path(), &cert, &original);
                signed += 1;
            }
        }
    }
    assert!(
        signed < 3000,
        "every module was signed: the signal came too late"
    );
}

/// A kernel to `check` against without the corpus: a modules directory named after its
/// release and an x86-64 config.
fn fake_kernel(dir: &Path) -> (PathBuf, PathBuf) {
    let moddir = dir.join("6.1.0-test-amd64");
    std::fs::create_dir_all(&moddir).unwrap();
    let config = dir.join("config");
    std::fs::write(
        &config,
        "CONFIG_X86_64=y\nCONFIG_SMP=y\nCONFIG_MODULES=y\nCONFIG_MODULE_UNLOAD=y\nCONFIG_MODULE_SIG=y\n",
    )
    .unwrap();
    (moddir, config)
}

const VERMAGIC: &str = "vermagic=6.1.0-test-amd64 SMP mod_unload ";

fn check(module: &Path, kernel: &(PathBuf, PathBuf)) -> Output {
    kmodkit(&[
        &"check",
        &"--kernel",
        &kernel.0,
        &"--config",
        &kernel.1,
        &module,
    ])
}

/// `sign` and `strip` refuse `bytes` with `reason` (exit 1, file untouched); `check` says the
/// kernel rejects it with ENOEXEC and `dmesg` (exit 1).
fn refused_everywhere(dir: &Path, name: &str, bytes: &[u8], reason: &str, dmesg: &str) {
    let (key, cert) = (dir.join("p256.key"), dir.join("p256.crt"));
    let module = dir.join(name);
    std::fs::write(&module, bytes).unwrap();
    for args in [
        vec![
            "sign".as_ref(),
            "--key".as_ref(),
            key.as_os_str(),
            "--cert".as_ref(),
            cert.as_os_str(),
            module.as_os_str(),
        ],
        vec!["strip".as_ref(), module.as_os_str()],
    ] {
        let out = bin().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(name) && err.contains("not a valid module") && err.contains(reason),
            "{args:?}: {err}"
        );
        assert_eq!(
            std::fs::read(&module).unwrap(),
            bytes,
            "{args:?} touched it"
        );
    }
    let kernel = fake_kernel(dir);
    let out = check(&module, &kernel);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("rejected") && text.contains("ENOEXEC"),
        "{text}"
    );
    assert!(text.contains(&format!("dmesg: {dmesg}")), "{text}");
    let left = strays(
        dir,
        &[name, "p256.key", "p256.crt", "config", "6.1.0-test-amd64"],
    );
    assert!(left.is_empty(), "left behind {left:?}");
    std::fs::remove_file(&module).unwrap();
}

#[test]
fn files_that_are_not_modules_are_refused_with_the_kernels_reason() {
    let dir = tempfile::tempdir().unwrap();
    keygen(dir.path(), "p256");
    let good = tiny_module("m", &["license=GPL", VERMAGIC], EM_X86_64);

    // The control: the same module loads, signs, verifies and strips.
    let kernel = fake_kernel(dir.path());
    let m = dir.path().join("good.ko");
    std::fs::write(&m, &good).unwrap();
    let out = check(&m, &kernel);
    assert!(ok(&out).contains("loads into 6.1.0-test-amd64"), "{out:?}");
    std::fs::remove_file(&m).unwrap();

    refused_everywhere(
        dir.path(),
        "cut.ko",
        &good[..474],
        "runs past the end of the file (474 bytes)",
        "Invalid ELF section header overflow",
    );
    refused_everywhere(
        dir.path(),
        "tiny.ko",
        &good[..40],
        "shorter than an ELF header",
        "Invalid ELF header len 40",
    );
    let mut exec = good.clone();
    exec[16] = 2; // ET_EXEC
    refused_everywhere(
        dir.path(),
        "exec.ko",
        &exec,
        "ELF type 2",
        "Invalid ELF header type: 2 != 1",
    );
    let mut junk = good.clone();
    junk[..4].copy_from_slice(b"JUNK");
    refused_everywhere(
        dir.path(),
        "junk.ko",
        &junk,
        "bad magic",
        r"Invalid ELF header magic: != \x7fELF",
    );
    // No .gnu.linkonce.this_module: rename the section (its name in .shstrtab).
    let renamed = |from: &[u8], to: &[u8]| {
        let mut b = good.clone();
        let at = b
            .windows(from.len())
            .rposition(|w| w == from)
            .expect("section name");
        b[at..at + to.len()].copy_from_slice(to);
        b
    };
    refused_everywhere(
        dir.path(),
        "nothis.ko",
        &renamed(b".gnu.linkonce.this_module", b".gnu.linkonce.this_modulX"),
        "no allocated .gnu.linkonce.this_module",
        "(missing .modinfo section or name field): No module found in object",
    );
    refused_everywhere(
        dir.path(),
        "nosym.ko",
        &{
            // The symbol table's type becomes PROGBITS: a stripped module.
            let mut b = good.clone();
            let shoff = u64::from_le_bytes(b[40..48].try_into().unwrap()) as usize;
            b[shoff + 3 * 64 + 4] = 1;
            b
        },
        "no symbol table",
        "(missing .modinfo section or name field): module has no symbols (stripped?)",
    );
    // Without .modinfo the loader goes on (and fails on the missing vermagic); signing and
    // stripping refuse it as not a module.
    let nomodinfo = renamed(b".modinfo", b".modinfX");
    let m = dir.path().join("noinfo.ko");
    std::fs::write(&m, &nomodinfo).unwrap();
    let out = kmodkit(&[&"strip", &m]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no .modinfo section"));
    let out = check(&m, &kernel);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no vermagic"));
}

#[test]
fn modules_for_another_machine_do_not_load() {
    let dir = tempfile::tempdir().unwrap();
    keygen(dir.path(), "p256");
    let arm = tiny_module("m", &["license=GPL", VERMAGIC], EM_AARCH64);
    let kernel = fake_kernel(dir.path());
    let m = dir.path().join("arm.ko");
    std::fs::write(&m, &arm).unwrap();
    let out = check(&m, &kernel);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("dmesg: Invalid architecture in ELF header: 183"),
        "{text}"
    );
    // Signing for another machine is fine (cross builds): only `check` knows the target.
    ok(&kmodkit(&[
        &"sign",
        &"--key",
        &dir.path().join("p256.key"),
        &"--cert",
        &dir.path().join("p256.crt"),
        &m,
    ]));

    // A real arm64 module from Debian's arm64 kernel, against Debian's amd64 kernel.
    let (Some(amd), Some(arm64)) = (corpus("amd64"), corpus("arm64")) else {
        return;
    };
    let real = arm64
        .modules()
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with("/dummy.ko"))
        .expect("arm64 dummy.ko");
    let out = kmodkit(&[&"check", &"--kernel", &amd.moddir(), &real]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("dummy: rejected by") && text.contains("ENOEXEC"),
        "{text}"
    );
    assert!(
        text.contains("dmesg: Invalid architecture in ELF header: 183"),
        "{text}"
    );
    let out = kmodkit(&[&"check", &"--kernel", &arm64.moddir(), &real]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
}

#[test]
fn check_exit_status_is_documented() {
    let out = kmodkit(&[&"check", &"--help"]);
    let text = ok(&out);
    assert!(
        text.contains("Exit status: 0 the module loads, 1 the kernel rejects it"),
        "{text}"
    );
    let out = kmodkit(&[&"check", &"--bogus"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn encrypted_keys_sign_with_kbuild_sign_pin_or_say_they_are_encrypted() {
    if !have_tool("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = d.join("enc.key");
    let cert = d.join("enc.crt");
    let st = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .args(["-aes256", "-pass", "pass:s3cret", "-out"])
        .arg(&key)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    assert!(std::fs::read_to_string(&key)
        .unwrap()
        .contains("BEGIN ENCRYPTED PRIVATE KEY"));
    let st = Command::new("openssl")
        .args(["req", "-new", "-x509", "-subj", "/CN=enc", "-days", "30"])
        .args(["-passin", "pass:s3cret", "-key"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .status()
        .unwrap();
    assert!(st.success());
    let module = d.join("m.ko");
    let original = tiny_module("m", &["license=GPL"], EM_X86_64);
    std::fs::write(&module, &original).unwrap();
    let sign = |pin: Option<&str>| {
        let mut c = bin();
        c.args(["sign", "--key"])
            .arg(&key)
            .arg("--cert")
            .arg(&cert)
            .arg(&module)
            .env_remove("KBUILD_SIGN_PIN");
        if let Some(p) = pin {
            c.env("KBUILD_SIGN_PIN", p);
        }
        c.output().unwrap()
    };
    let out = sign(None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("enc.key") && err.contains("encrypted") && err.contains("KBUILD_SIGN_PIN"),
        "{err}"
    );
    let out = sign(Some("wrong"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot decrypt"), "{err}");
    assert_eq!(std::fs::read(&module).unwrap(), original);
    ok(&sign(Some("s3cret")));
    assert_signed_once(&module, &cert, &original);

    // sign-file with the same key and PIN: the kernel's script gives the same bytes.
    if Path::new(SIGN_FILE).exists() {
        let (ours, theirs) = (d.join("ours.ko"), d.join("theirs.ko"));
        std::fs::write(d.join("plain.ko"), &original).unwrap();
        for (prog, out) in [
            (PathBuf::from(env!("CARGO_BIN_EXE_kmodkit")), &ours),
            (PathBuf::from(SIGN_FILE), &theirs),
        ] {
            let mut c = Command::new(&prog);
            if prog.ends_with("kmodkit") {
                c.arg("sign-file");
            }
            let o = c
                .arg("sha256")
                .arg(&key)
                .arg(&cert)
                .arg(d.join("plain.ko"))
                .arg(out)
                .env("KBUILD_SIGN_PIN", "s3cret")
                .output()
                .unwrap();
            ok(&o);
        }
        assert_eq!(
            std::fs::read(&ours).unwrap(),
            std::fs::read(&theirs).unwrap()
        );
    }

    // The old PEM encryption (Proc-Type: 4,ENCRYPTED) is named, not a parse error.
    let old = d.join("old.key");
    let st = Command::new("openssl")
        .args(["rsa", "-aes256", "-traditional", "-passin", "pass:s3cret"])
        .args(["-passout", "pass:s3cret", "-in"])
        .arg(&key)
        .arg("-out")
        .arg(&old)
        .status()
        .unwrap();
    assert!(st.success());
    assert!(std::fs::read_to_string(&old)
        .unwrap()
        .contains("Proc-Type: 4,ENCRYPTED"));
    let out = bin()
        .args(["sign", "--key"])
        .arg(&old)
        .arg("--cert")
        .arg(&cert)
        .arg(&module)
        .env("KBUILD_SIGN_PIN", "s3cret")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("old.key") && err.contains("encrypted") && err.contains("Proc-Type"),
        "{err}"
    );
}

#[test]
fn keygen_writes_key_and_certificate_together_or_neither() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = d.join("k.pem");
    // The certificate cannot be written (its directory does not exist): no key either.
    let out = kmodkit(&[
        &"keygen",
        &"--cn",
        &"x",
        &"--algo",
        &"p256",
        &"--key",
        &key,
        &"--cert",
        &d.join("missing/c.pem"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("missing/c.pem"),
        "{out:?}"
    );
    // Likewise when only the extra DER copy fails.
    let out = kmodkit(&[
        &"keygen",
        &"--cn",
        &"x",
        &"--algo",
        &"p256",
        &"--key",
        &key,
        &"--cert",
        &d.join("c.pem"),
        &"--der",
        &d.join("missing/c.der"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let left = strays(d, &[]);
    assert!(left.is_empty(), "left behind {left:?}");
    // And both, with the key private, when all can be written.
    ok(&kmodkit(&[
        &"keygen",
        &"--cn",
        &"x",
        &"--algo",
        &"p256",
        &"--key",
        &key,
        &"--cert",
        &d.join("c.pem"),
    ]));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let mut left = strays(d, &[]);
    left.sort();
    assert_eq!(left, ["c.pem", "k.pem"]);
}

/// The real kernel (Debian's, under QEMU) is the oracle: files that are not modules for it,
/// made from Debian's own `dummy.ko`, fail to load with the errno and the dmesg line that
/// `check` predicted.
#[test]
fn the_real_kernel_refuses_non_modules_as_check_predicts() {
    let Some(amd) = corpus("amd64") else { return };
    if !have_tool("qemu-system-x86_64") || !have_tool("busybox") {
        return;
    }
    let Some(arm64) = corpus("arm64") else { return };
    let image = amd.root.join(format!("boot/vmlinuz-{}", amd.release));
    let dummy = |c: &testsupport::Corpus| {
        c.modules()
            .into_iter()
            .find(|p| p.to_string_lossy().ends_with("/drivers/net/dummy.ko"))
            .expect("dummy.ko")
    };
    let signed = std::fs::read(dummy(&amd)).unwrap();
    let unsigned = modsign::module::unsigned_content(&signed).unwrap().to_vec();
    let with_type_2 = |b: &[u8]| {
        let mut b = b.to_vec();
        b[16] = 2;
        b
    };
    let renamed = {
        let mut b = unsigned.clone();
        let from = b".gnu.linkonce.this_module";
        let at = b.windows(from.len()).rposition(|w| w == from).unwrap();
        b[at + from.len() - 1] = b'X';
        b
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("cut", signed[..474].to_vec()),
        ("exec", with_type_2(&unsigned)),
        ("exec_signed", with_type_2(&signed)),
        ("arm", std::fs::read(dummy(&arm64)).unwrap()),
        ("nothis", renamed),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut vm = bin();
    vm.arg("vm")
        .arg("--kernel")
        .arg(&image)
        .args(["--timeout", "300"]);
    let mut script = String::new();
    let mut predictions = Vec::new();
    for (name, bytes) in &cases {
        let f = dir.path().join(format!("{name}.ko"));
        std::fs::write(&f, bytes).unwrap();
        vm.arg("--add").arg(format!("{}:/m/{name}.ko", f.display()));
        script.push_str(&format!(
            "insmod /m/{name}.ko 2>/tmp/e; echo \"@@{name} rc $?\"; sed 's/^/@@{name} err /' /tmp/e\n"
        ));
        let out = kmodkit(&[&"check", &"--json", &"--kernel", &image, &f]);
        assert_eq!(out.status.code(), Some(1), "{name}: {out:?}");
        let p: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        predictions.push(p);
    }
    script.push_str("dmesg | sed 's/^/@@dmesg /'\n");
    let out = vm.arg("--").arg(&script).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "kmodkit vm: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines =
        |key: &str| -> Vec<&str> { stdout.lines().filter_map(|l| l.strip_prefix(key)).collect() };
    let dmesg = lines("@@dmesg ");
    for ((name, _), p) in cases.iter().zip(&predictions) {
        assert_eq!(
            lines(&format!("@@{name} rc ")),
            ["1"],
            "{name} loaded: {stdout}"
        );
        let err = lines(&format!("@@{name} err ")).join("\n");
        let text = match p["errno"].as_str() {
            Some("ENOEXEC") => "Invalid module format",
            Some("EKEYREJECTED") => "Key was rejected by service",
            other => panic!("{name}: unexpected prediction {other:?}: {p}"),
        };
        assert!(
            err.contains(text),
            "{name}: insmod said {err}; predicted {p}"
        );
        for l in p["dmesg"].as_array().unwrap() {
            let l = l.as_str().unwrap();
            assert!(
                dmesg.iter().any(|d| d.ends_with(l)),
                "{name}: predicted dmesg line '{l}' not in the kernel's:\n{}",
                dmesg.join("\n")
            );
        }
    }
}
