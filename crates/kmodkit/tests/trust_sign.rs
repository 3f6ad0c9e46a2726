//! `kmodkit sign-file`, `sign` and `keygen` against the real oracles: the kernel's
//! `scripts/sign-file` (Debian `linux-kbuild-6.1`) must give the same bytes on real Debian
//! modules, and `openssl cms -verify` must accept our RSA and ECDSA signatures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use testsupport::{corpus, have_tool, skip, Requirement};

mod tiny_module;

const SIGN_FILE: &str = "/usr/lib/linux-kbuild-6.1/scripts/sign-file";

fn kmodkit(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kmodkit"))
        .args(args)
        .output()
        .unwrap()
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn openssl(args: &[&str]) -> Output {
    run_ok(Command::new("openssl").args(args))
}

fn have_sign_file() -> bool {
    if !Path::new(SIGN_FILE).exists() {
        skip(
            Requirement::Tool,
            "scripts/sign-file missing (Debian package linux-kbuild-6.1)",
        );
        return false;
    }
    true
}

/// An RSA key (PEM PKCS#8, plus a PKCS#1 DER copy) and a self-signed certificate (PEM + DER).
struct Rsa {
    key_pem: PathBuf,
    key_pkcs1_der: PathBuf,
    cert_pem: PathBuf,
    cert_der: PathBuf,
}

fn rsa_key(dir: &Path, bits: u32) -> Rsa {
    let p = |s: &str| dir.join(format!("rsa{bits}{s}"));
    let r = Rsa {
        key_pem: p(".key"),
        key_pkcs1_der: p(".pkcs1.der"),
        cert_pem: p(".crt"),
        cert_der: p(".der"),
    };
    let s = |p: &PathBuf| p.to_str().unwrap().to_string();
    openssl(&["genrsa", "-out", &s(&r.key_pem), &bits.to_string()]);
    openssl(&[
        "req",
        "-new",
        "-x509",
        "-key",
        &s(&r.key_pem),
        "-out",
        &s(&r.cert_pem),
        "-days",
        "30",
        "-subj",
        &format!("/CN=kmodkit test rsa{bits}/O=kmodkit"),
    ]);
    openssl(&[
        "x509",
        "-in",
        &s(&r.cert_pem),
        "-outform",
        "DER",
        "-out",
        &s(&r.cert_der),
    ]);
    openssl(&[
        "rsa",
        "-in",
        &s(&r.key_pem),
        "-traditional",
        "-outform",
        "DER",
        "-out",
        &s(&r.key_pkcs1_der),
    ]);
    r
}

/// A sample of real modules, their signatures removed: every `step`-th of the corpus.
fn stripped_sample(dir: &Path, step: usize) -> Option<Vec<PathBuf>> {
    let c = corpus("amd64")?;
    let mods = c.modules();
    assert!(mods.len() > 1000, "corpus has {} modules", mods.len());
    let mut out = Vec::new();
    for (i, m) in mods.iter().enumerate().step_by(step) {
        let data = std::fs::read(m).unwrap();
        let content = modsign::module::unsigned_content(&data).unwrap();
        assert!(content.len() < data.len(), "{} is signed", m.display());
        let p = dir.join(format!("m{i}.ko"));
        std::fs::write(&p, content).unwrap();
        out.push(p);
    }
    Some(out)
}

#[test]
fn sign_file_bytes_match_the_kernels_sign_file() {
    if !have_sign_file() || !have_tool("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let Some(sample) = stripped_sample(dir, 100) else {
        return;
    };
    let r2 = rsa_key(dir, 2048);
    let r4 = rsa_key(dir, 4096);
    let mut identical = 0;
    for m in &sample {
        for (hash, key, our_key, cert, flags) in [
            ("sha256", &r2.key_pem, &r2.key_pem, &r2.cert_pem, ""),
            ("sha384", &r2.key_pem, &r2.key_pem, &r2.cert_der, ""),
            ("sha512", &r2.key_pem, &r2.key_pkcs1_der, &r2.cert_pem, "-k"),
            ("sha256", &r4.key_pem, &r4.key_pkcs1_der, &r4.cert_der, ""),
            ("sha384", &r4.key_pem, &r4.key_pem, &r4.cert_pem, "-k"),
            ("sha512", &r4.key_pem, &r4.key_pem, &r4.cert_pem, ""),
        ] {
            let theirs = dir.join("theirs.ko");
            let ours = dir.join("ours.ko");
            std::fs::copy(m, &theirs).unwrap();
            std::fs::copy(m, &ours).unwrap();
            let mut c = Command::new(SIGN_FILE);
            if !flags.is_empty() {
                c.arg(flags);
            }
            run_ok(c.args([
                os(hash),
                key.as_os_str(),
                cert.as_os_str(),
                theirs.as_os_str(),
            ]));
            let mut args = vec![os("sign-file")];
            if !flags.is_empty() {
                args.push(os(flags));
            }
            args.extend([
                os(hash),
                our_key.as_os_str(),
                cert.as_os_str(),
                ours.as_os_str(),
            ]);
            let out = kmodkit(&args);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let (a, b) = (
                std::fs::read(&theirs).unwrap(),
                std::fs::read(&ours).unwrap(),
            );
            assert!(
                a == b,
                "{} {hash} {flags} key {}: sign-file and kmodkit differ",
                m.display(),
                our_key.display()
            );
            assert!(!dir.join("ours.ko.~signed~").exists());
            identical += 1;
        }
    }
    eprintln!("{identical} signed modules byte-identical to sign-file's");
    assert_eq!(identical, sample.len() * 6);
}

#[test]
fn sign_file_p7s_dest_and_raw_modes_match() {
    if !have_sign_file() || !have_tool("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let Some(sample) = stripped_sample(dir, 2000) else {
        return;
    };
    let r = rsa_key(dir, 2048);
    let m = &sample[0];
    let (kp, cp) = (r.key_pem.as_os_str(), r.cert_pem.as_os_str());
    for who in ["theirs", "ours"] {
        let d = dir.join(who);
        std::fs::create_dir(&d).unwrap();
        let module = d.join("x.ko");
        std::fs::copy(m, &module).unwrap();
        let dest = d.join("dest.ko");
        let run = |args: &[&std::ffi::OsStr]| {
            if who == "theirs" {
                run_ok(Command::new(SIGN_FILE).args(args));
            } else {
                let mut a = vec![os("sign-file")];
                a.extend_from_slice(args);
                let out = kmodkit(&a);
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        };
        // -d: only the detached signature, module untouched.
        run(&[os("-d"), os("sha256"), kp, cp, module.as_os_str()]);
        std::fs::rename(with(&module, ".p7s"), d.join("detached.p7s")).unwrap();
        // DEST, with -p (keeps the .p7s).
        run(&[
            os("-p"),
            os("sha256"),
            kp,
            cp,
            module.as_os_str(),
            dest.as_os_str(),
        ]);
        // -s: a raw signature appended as is.
        let raw = d.join("raw.ko");
        std::fs::copy(m, &raw).unwrap();
        run(&[
            os("-s"),
            d.join("detached.p7s").as_os_str(),
            os("sha256"),
            cp,
            raw.as_os_str(),
        ]);
    }
    for f in ["x.ko", "detached.p7s", "x.ko.p7s", "dest.ko", "raw.ko"] {
        let a = std::fs::read(dir.join("theirs").join(f)).unwrap();
        let b = std::fs::read(dir.join("ours").join(f)).unwrap();
        assert!(a == b, "{f} differs");
    }
    assert_eq!(
        std::fs::read(dir.join("ours/x.ko")).unwrap(),
        std::fs::read(m).unwrap()
    );
}

fn with(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The PKCS#7 appended to a signed module.
fn appended_pkcs7(signed: &[u8]) -> Vec<u8> {
    let n = signed.len();
    let len = u32::from_be_bytes(signed[n - 32..n - 28].try_into().unwrap()) as usize;
    signed[n - 40 - len..n - 40].to_vec()
}

fn openssl_cms_verify(dir: &Path, signed: &Path, content: &Path, cert: &Path) {
    let p7 = dir.join("sig.p7");
    std::fs::write(&p7, appended_pkcs7(&std::fs::read(signed).unwrap())).unwrap();
    let out = run_ok(
        Command::new("openssl")
            .args([
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-noverify",
                "-in",
            ])
            .arg(&p7)
            .arg("-content")
            .arg(content)
            .arg("-certfile")
            .arg(cert)
            .args(["-out", "/dev/null"]),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Verification successful"));
}

#[test]
fn ecdsa_and_rsa_signatures_pass_openssl_cms_verify() {
    if !have_tool("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let Some(sample) = stripped_sample(dir, 1000) else {
        return;
    };
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let mut keys = Vec::new();
    for (curve, hash) in [("P-256", "sha256"), ("P-384", "sha384")] {
        let key = dir.join(format!("{curve}.key"));
        let sec1 = dir.join(format!("{curve}.sec1.pem"));
        let cert = dir.join(format!("{curve}.crt"));
        openssl(&[
            "req",
            "-new",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            &format!("ec_paramgen_curve:{curve}"),
            "-nodes",
            "-keyout",
            &s(&key),
            "-out",
            &s(&cert),
            "-days",
            "30",
            "-subj",
            &format!("/CN=kmodkit {curve}"),
        ]);
        openssl(&["ec", "-in", &s(&key), "-out", &s(&sec1)]);
        keys.push((key, cert.clone(), hash));
        keys.push((sec1, cert, hash));
    }
    let r = rsa_key(dir, 2048);
    keys.push((r.key_pkcs1_der.clone(), r.cert_der.clone(), "sha512"));
    for m in &sample {
        for (key, cert, hash) in &keys {
            let signed = dir.join("signed.ko");
            std::fs::copy(m, &signed).unwrap();
            let out = kmodkit(&[
                os("sign-file"),
                os(hash),
                key.as_os_str(),
                cert.as_os_str(),
                signed.as_os_str(),
            ]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            openssl_cms_verify(dir, &signed, m, cert);
            let v = kmodkit(&[
                os("verify"),
                os("--keyring"),
                cert.as_os_str(),
                signed.as_os_str(),
            ]);
            assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
        }
    }
}

#[test]
fn keygen_makes_a_module_signing_pair() {
    if !have_tool("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let module = dir.join("m.ko");
    // Any bytes do as content for the signature check; a real module when there is one.
    match stripped_sample(dir, 4000) {
        Some(s) => std::fs::copy(&s[0], &module).map(|_| ()).unwrap(),
        None => std::fs::write(&module, b"\x7fELF not really a module").unwrap(),
    }
    for algo in ["rsa2048", "rsa3072", "p256", "p384"] {
        let key = dir.join(format!("{algo}.key"));
        let cert = dir.join(format!("{algo}.pem"));
        let der = dir.join(format!("{algo}.der"));
        let out = kmodkit(&[
            os("keygen"),
            os("--cn"),
            os("kmodkit test, key"),
            os("--algo"),
            os(algo),
            os("--days"),
            os("36500"),
            os("--key"),
            key.as_os_str(),
            os("--cert"),
            cert.as_os_str(),
            os("--der"),
            der.as_os_str(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let text = openssl(&["x509", "-in", cert.to_str().unwrap(), "-noout", "-text"]);
        let text = String::from_utf8_lossy(&text.stdout).into_owned();
        for want in [
            "Version: 3",
            "X509v3 Basic Constraints: critical\n                CA:FALSE",
            "X509v3 Key Usage: \n                Digital Signature",
            "X509v3 Subject Key Identifier",
            "X509v3 Authority Key Identifier",
            "Code Signing",
            "CN = \"kmodkit test, key\"",
        ] {
            assert!(text.contains(want), "{algo}: no '{want}' in\n{text}");
        }
        // Self-signed: openssl checks the signature on it.
        openssl(&[
            "verify",
            "-CAfile",
            cert.to_str().unwrap(),
            "-purpose",
            "any",
            cert.to_str().unwrap(),
        ]);
        assert_eq!(
            openssl(&[
                "x509",
                "-in",
                der.to_str().unwrap(),
                "-inform",
                "DER",
                "-noout",
                "-fingerprint"
            ])
            .stdout,
            openssl(&[
                "x509",
                "-in",
                cert.to_str().unwrap(),
                "-noout",
                "-fingerprint"
            ])
            .stdout
        );
        let hash = if algo == "p384" { "sha384" } else { "sha256" };
        let signed = dir.join("signed.ko");
        std::fs::copy(&module, &signed).unwrap();
        let out = kmodkit(&[
            os("sign-file"),
            os(hash),
            key.as_os_str(),
            der.as_os_str(),
            signed.as_os_str(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        openssl_cms_verify(dir, &signed, &module, &cert);
        // The real sign-file takes our key and certificate, with the same bytes for RSA.
        if Path::new(SIGN_FILE).exists() {
            let theirs = dir.join("theirs.ko");
            std::fs::copy(&module, &theirs).unwrap();
            run_ok(Command::new(SIGN_FILE).args([
                os(hash),
                key.as_os_str(),
                der.as_os_str(),
                theirs.as_os_str(),
            ]));
            if algo.starts_with("rsa") {
                assert_eq!(
                    std::fs::read(&theirs).unwrap(),
                    std::fs::read(&signed).unwrap()
                );
            }
            let v = kmodkit(&[
                os("verify"),
                os("--keyring"),
                cert.as_os_str(),
                theirs.as_os_str(),
            ]);
            assert!(v.status.success());
        }
    }
}

#[test]
fn sign_resigns_compressed_modules_and_trees() {
    if !have_tool("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let Some(sample) = stripped_sample(dir, 500) else {
        return;
    };
    let r = rsa_key(dir, 2048);
    let tree = dir.join("tree/kernel");
    std::fs::create_dir_all(&tree).unwrap();
    let c = corpus("amd64").unwrap();
    // Originally signed (by Debian's key) modules, plain and compressed as the kernel does.
    let mut files = Vec::new();
    for (i, m) in c.modules().iter().step_by(700).enumerate() {
        let data = std::fs::read(m).unwrap();
        let (name, bytes) = match i % 4 {
            0 => (format!("a{i}.ko"), data),
            1 => (
                format!("a{i}.ko.xz"),
                run_pipe("xz", &["--check=crc32", "-c"], &data),
            ),
            2 => (
                format!("a{i}.ko.zst"),
                run_pipe("zstd", &["-q", "-c"], &data),
            ),
            _ => (
                format!("a{i}.ko.gz"),
                run_pipe("gzip", &["-n", "-c"], &data),
            ),
        };
        std::fs::write(tree.join(&name), bytes).unwrap();
        files.push(tree.join(name));
    }
    let out = kmodkit(&[
        os("sign"),
        os("--key"),
        r.key_pem.as_os_str(),
        os("--cert"),
        r.cert_pem.as_os_str(),
        os("--tree"),
        tree.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every module now verifies against our key and no longer against Debian's.
    let v = kmodkit(&[
        os("verify"),
        os("--keyring"),
        r.cert_der.as_os_str(),
        os("--tree"),
        tree.as_os_str(),
    ]);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
    let vmlinuz = std::fs::read_dir(c.root.join("boot"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("vmlinuz")
        })
        .unwrap();
    let v = kmodkit(&[
        os("verify"),
        os("--keyring"),
        vmlinuz.as_os_str(),
        os("--tree"),
        tree.as_os_str(),
    ]);
    assert_eq!(v.status.code(), Some(1));
    // Re-signing replaced the old signature: the content is the original module's, and a
    // plain .ko is byte-identical to sign-file applied to the stripped module.
    for f in &files {
        let raw = std::fs::read(f).unwrap();
        let elf = modfile::decompress(&raw).unwrap().into_owned();
        assert_eq!(
            elf.windows(28)
                .filter(|w| w == modsign::module::MAGIC)
                .count(),
            1
        );
        assert_eq!(modfile::Compression::detect(&raw).extension(), {
            let s = f.to_string_lossy();
            if s.ends_with(".xz") {
                ".xz"
            } else if s.ends_with(".zst") {
                ".zst"
            } else if s.ends_with(".gz") {
                ".gz"
            } else {
                ""
            }
        });
    }
    if Path::new(SIGN_FILE).exists() {
        let theirs = dir.join("theirs.ko");
        let orig = std::fs::read(c.modules().iter().step_by(700).next().unwrap()).unwrap();
        std::fs::write(&theirs, modsign::module::unsigned_content(&orig).unwrap()).unwrap();
        run_ok(Command::new(SIGN_FILE).args([
            os("sha256"),
            r.key_pem.as_os_str(),
            r.cert_pem.as_os_str(),
            theirs.as_os_str(),
        ]));
        assert_eq!(
            std::fs::read(&theirs).unwrap(),
            std::fs::read(&files[0]).unwrap()
        );
    }
    // --output writes elsewhere and leaves the input alone.
    let before = std::fs::read(&sample[0]).unwrap();
    let dest = dir.join("out.ko.xz");
    let out = kmodkit(&[
        os("sign"),
        os("--key"),
        r.key_pem.as_os_str(),
        os("--cert"),
        r.cert_pem.as_os_str(),
        os("--hash"),
        os("sha512"),
        os("--output"),
        dest.as_os_str(),
        sample[0].as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&sample[0]).unwrap(), before);
    let v = kmodkit(&[
        os("verify"),
        os("--keyring"),
        r.cert_pem.as_os_str(),
        dest.as_os_str(),
    ]);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
}

fn run_pipe(prog: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new(prog)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let t = std::thread::spawn(move || stdin.write_all(&data).unwrap());
    let out = child.wait_with_output().unwrap();
    t.join().unwrap();
    assert!(out.status.success());
    out.stdout
}

#[test]
fn signing_errors_are_clear_and_leave_the_module_alone() {
    if !have_tool("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let r = rsa_key(dir, 2048);
    let other = dir.join("other");
    std::fs::create_dir(&other).unwrap();
    let o = rsa_key(&other, 2048);
    let module = dir.join("m.ko");
    std::fs::write(&module, b"\x7fELF module bytes").unwrap();
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, b"this is not a key").unwrap();
    let missing = dir.join("missing.pem");
    let cases: Vec<(Vec<&std::ffi::OsStr>, &str)> = vec![
        (
            vec![os("sha256"), o.key_pem.as_os_str(), r.cert_pem.as_os_str()],
            "does not match",
        ),
        (
            vec![os("sha256"), garbage.as_os_str(), r.cert_pem.as_os_str()],
            "garbage.pem",
        ),
        (
            vec![os("sha256"), missing.as_os_str(), r.cert_pem.as_os_str()],
            "missing.pem",
        ),
        (
            vec![os("sha256"), r.key_pem.as_os_str(), garbage.as_os_str()],
            "garbage.pem",
        ),
        (
            vec![os("md17"), r.key_pem.as_os_str(), r.cert_pem.as_os_str()],
            "md17",
        ),
        (
            vec![os("sha1"), r.key_pem.as_os_str(), r.cert_pem.as_os_str()],
            "sha1",
        ),
    ];
    for (args, want) in cases {
        let mut a = vec![os("sign-file")];
        a.extend(args);
        a.push(module.as_os_str());
        let out = kmodkit(&a);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{a:?}: {err}");
        assert!(err.contains(want), "{a:?}: '{want}' not in: {err}");
        assert_eq!(std::fs::read(&module).unwrap(), b"\x7fELF module bytes");
        assert!(!with(&module, ".~signed~").exists());
    }
    // Usage errors exit 2, as sign-file's do.
    let out = kmodkit(&[os("sign-file"), os("sha256"), module.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage: scripts/sign-file"));
    // `sign` of a file that is not a module fails per file with its name, exit 1.
    let out = kmodkit(&[
        os("sign"),
        os("--key"),
        r.key_pem.as_os_str(),
        os("--cert"),
        r.cert_pem.as_os_str(),
        garbage.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("garbage.pem"));
    assert_eq!(std::fs::read(&garbage).unwrap(), b"this is not a key");
}

#[test]
fn strip_removes_the_signature() {
    let Some(c) = corpus("amd64") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let m = &c.modules()[7];
    let data = std::fs::read(m).unwrap();
    let content = modsign::module::unsigned_content(&data).unwrap().to_vec();
    let plain = dir.join("a.ko");
    let xz = dir.join("b.ko.xz");
    std::fs::write(&plain, &data).unwrap();
    std::fs::write(&xz, run_pipe("xz", &["--check=crc32", "-c"], &data)).unwrap();
    for _ in 0..2 {
        // The second round finds nothing to strip and changes nothing.
        let out = kmodkit(&[os("strip"), plain.as_os_str(), xz.as_os_str()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(std::fs::read(&plain).unwrap(), content);
        let raw = std::fs::read(&xz).unwrap();
        assert!(raw.starts_with(b"\xfd7zXZ\x00"));
        assert_eq!(modfile::decompress(&raw).unwrap().into_owned(), content);
    }
    let out = kmodkit(&[os("strip"), dir.join("missing.ko").as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.ko"));
}

#[test]
fn sign_refuses_an_expired_certificate_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (key, cert) = (dir.join("k.pem"), dir.join("c.pem"));
    let out = kmodkit(&[
        os("keygen"),
        os("--cn"),
        os("short lived"),
        os("--algo"),
        os("p256"),
        os("--days"),
        os("0"),
        os("--key"),
        key.as_os_str(),
        os("--cert"),
        cert.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let module = dir.join("m.ko");
    let original = tiny_module::tiny_module("m", &["license=GPL"], tiny_module::EM_X86_64);
    std::fs::write(&module, &original).unwrap();
    let args = [
        os("sign"),
        os("--key"),
        key.as_os_str(),
        os("--cert"),
        cert.as_os_str(),
        module.as_os_str(),
    ];
    let out = kmodkit(&args);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("c.pem") && err.contains("expired"), "{err}");
    assert_eq!(std::fs::read(&module).unwrap(), original);
    let mut forced = args.to_vec();
    forced.insert(1, os("--force"));
    let out = kmodkit(&forced);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = kmodkit(&[
        os("verify"),
        os("--keyring"),
        cert.as_os_str(),
        module.as_os_str(),
    ]);
    assert!(v.status.success());
}
