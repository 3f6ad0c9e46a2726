//! Signing with a key on a real PKCS#11 token (Debian's SoftHSM2): `kmodkit sign-file` and
//! `kmodkit sign` given a `pkcs11:` URI must write the same bytes as with the same key in a
//! file, and as the kernel's `scripts/sign-file` with that file (RSA PKCS#1 v1.5 is
//! deterministic). Errors (wrong PIN, missing object or token, missing library, key not the
//! certificate's) exit 1 with a clear message and leave the module untouched.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use testsupport::{corpus, have_tool, skip, Requirement};

const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";
const SIGN_FILE: &str = "/usr/lib/linux-kbuild-6.1/scripts/sign-file";
const URI: &str = "pkcs11:token=kmk;object=signer;pin-value=1234";

/// A SoftHSM2 token `kmk` (user PIN 1234) in its own directory, holding the RSA-2048 key
/// `signer` (id 01) that is also in `key_pem`, with its certificate `cert_pem`.
struct Token {
    dir: tempfile::TempDir,
    conf: PathBuf,
    key_pem: PathBuf,
    cert_pem: PathBuf,
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn token() -> Option<Token> {
    if !Path::new(SOFTHSM).exists() {
        skip(
            Requirement::Tool,
            "SoftHSM2 is not installed (Debian package softhsm2)",
        );
        return None;
    }
    if !have_tool("softhsm2-util") || !have_tool("openssl") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("tokens")).unwrap();
    let conf = d.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            d.join("tokens").display()
        ),
    )
    .unwrap();
    let hsm = |args: &[&str]| {
        run_ok(
            Command::new("softhsm2-util")
                .env("SOFTHSM2_CONF", &conf)
                .args(args),
        )
    };
    hsm(&[
        "--init-token",
        "--free",
        "--label",
        "kmk",
        "--pin",
        "1234",
        "--so-pin",
        "5678",
    ]);
    let key_pem = d.join("key.pem");
    let cert_pem = d.join("cert.pem");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    run_ok(Command::new("openssl").args([
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        &s(&key_pem),
    ]));
    run_ok(Command::new("openssl").args([
        "req",
        "-new",
        "-x509",
        "-key",
        &s(&key_pem),
        "-out",
        &s(&cert_pem),
        "-days",
        "30",
        "-subj",
        "/CN=kmodkit pkcs11 test/O=kmodkit",
    ]));
    // genpkey writes unencrypted PKCS#8, what softhsm2-util --import takes.
    hsm(&[
        "--import",
        &s(&key_pem),
        "--token",
        "kmk",
        "--label",
        "signer",
        "--id",
        "01",
        "--pin",
        "1234",
    ]);
    Some(Token {
        dir,
        conf,
        key_pem,
        cert_pem,
    })
}

impl Token {
    /// `kmodkit ARGS` with this token's SoftHSM2 configuration and no inherited PIN or
    /// module variables.
    fn kmodkit(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = Command::new(testsupport::kmodkit());
        c.args(args)
            .env("SOFTHSM2_CONF", &self.conf)
            .env_remove("KBUILD_SIGN_PIN")
            .env_remove("KMODKIT_PKCS11_MODULE");
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    }
    /// `kmodkit sign-file ARGS`.
    fn sign_file(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut a = vec!["sign-file"];
        a.extend_from_slice(args);
        self.kmodkit(&a, env)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// sign-file arguments before MODULE, environment, expected part of the message.
type ErrorCase<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `n` real Debian modules spread over the corpus, copied and stripped by `kmodkit strip`.
fn stripped_modules(t: &Token, n: usize) -> Option<Vec<PathBuf>> {
    let c = corpus("amd64")?;
    let mods: Vec<_> = c
        .modules()
        .into_iter()
        .filter(|m| m.extension().is_some_and(|e| e == "ko"))
        .collect();
    assert!(mods.len() > 100, "corpus has {} .ko modules", mods.len());
    let step = mods.len() / n;
    let mut out = Vec::new();
    for (i, m) in mods.iter().step_by(step).take(n).enumerate() {
        let p = t.path(&format!("m{i}.ko"));
        std::fs::copy(m, &p).unwrap();
        let signed = std::fs::read(&p).unwrap();
        let o = t.kmodkit(&["strip", s(&p)], &[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let stripped = std::fs::read(&p).unwrap();
        assert!(
            stripped.len() < signed.len() && signed.starts_with(&stripped),
            "{}: strip removed no signature",
            m.display()
        );
        out.push(p);
    }
    Some(out)
}

fn copy_to(t: &Token, m: &Path, tag: &str) -> PathBuf {
    let p = t.path(&format!(
        "{}.{tag}.ko",
        m.file_stem().unwrap().to_string_lossy()
    ));
    std::fs::copy(m, &p).unwrap();
    p
}

#[test]
fn token_key_signs_byte_identically_to_the_file_key_and_sign_file() {
    let Some(t) = token() else { return };
    let Some(mods) = stripped_modules(&t, 6) else {
        return;
    };
    let have_sign_file = Path::new(SIGN_FILE).exists();
    if !have_sign_file {
        skip(
            Requirement::Tool,
            "scripts/sign-file missing (Debian package linux-kbuild-6.1)",
        );
    }
    let (key, cert) = (s(&t.key_pem), s(&t.cert_pem));
    let mut compared = 0;
    for (i, m) in mods.iter().enumerate() {
        for hash in ["sha256", "sha384", "sha512"] {
            // Alternate the ways of naming the PIN, the library and the signer id.
            let keyid = i % 2 == 1;
            let mut flags: Vec<&str> = if keyid { vec!["-k"] } else { vec![] };
            let (uri, env): (&str, Vec<(&str, &str)>) = match i % 3 {
                0 => (URI, vec![]),
                1 => (
                    "pkcs11:token=kmk;id=%01?pin-value=1234",
                    vec![("KMODKIT_PKCS11_MODULE", SOFTHSM)],
                ),
                _ => (
                    "pkcs11:token=kmk;object=signer;type=private",
                    vec![("KBUILD_SIGN_PIN", "1234")],
                ),
            };
            if i % 3 == 2 {
                flags.extend(["--pkcs11-module", SOFTHSM]);
            }
            let by_token = copy_to(&t, m, &format!("{hash}.token"));
            let mut args = flags.clone();
            args.extend([hash, uri, cert, s(&by_token)]);
            let o = t.sign_file(&args, &env);
            assert!(
                o.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );

            let by_file = copy_to(&t, m, &format!("{hash}.file"));
            let mut args: Vec<&str> = if keyid { vec!["-k"] } else { vec![] };
            args.extend([hash, key, cert, s(&by_file)]);
            let o = t.sign_file(&args, &[]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

            let a = std::fs::read(&by_token).unwrap();
            let b = std::fs::read(&by_file).unwrap();
            let orig = std::fs::read(m).unwrap();
            assert!(a.len() > orig.len() + 256 && a.starts_with(&orig));
            assert_eq!(a, b, "{} {hash}: token and file key differ", m.display());

            if have_sign_file {
                let by_kernel = copy_to(&t, m, &format!("{hash}.kernel"));
                let mut c = Command::new(SIGN_FILE);
                if keyid {
                    c.arg("-k");
                }
                run_ok(c.args([hash, key, cert, s(&by_kernel)]));
                assert_eq!(
                    a,
                    std::fs::read(&by_kernel).unwrap(),
                    "{} {hash}: token key and scripts/sign-file differ",
                    m.display()
                );
            }
            compared += 1;
        }
    }
    assert_eq!(compared, mods.len() * 3);

    // -d: only the detached PKCS#7, the same as the file key's.
    let m = &mods[0];
    let d1 = copy_to(&t, m, "d.token");
    let d2 = copy_to(&t, m, "d.file");
    // The PIN from a file (RFC 7512 pin-source), the library from the flag's = form.
    let pin_file = t.path("pin.txt");
    std::fs::write(&pin_file, "1234\n").unwrap();
    let uri = format!(
        "pkcs11:token=kmk;object=signer?pin-source=file:{}",
        s(&pin_file)
    );
    let module = format!("--pkcs11-module={SOFTHSM}");
    let o = t.sign_file(&[&module, "-d", "sha256", &uri, cert, s(&d1)], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = t.sign_file(&["-d", "sha256", key, cert, s(&d2)], &[]);
    assert!(o.status.success());
    let p1 = std::fs::read(format!("{}.p7s", d1.display())).unwrap();
    let p2 = std::fs::read(format!("{}.p7s", d2.display())).unwrap();
    assert!(p1.len() > 256);
    assert_eq!(p1, p2);
    assert_eq!(std::fs::read(&d1).unwrap(), std::fs::read(m).unwrap());
}

#[test]
fn sign_command_with_a_token_key_matches_the_file_key_and_verifies() {
    let Some(t) = token() else { return };
    let Some(mods) = stripped_modules(&t, 8) else {
        return;
    };
    let (key, cert) = (s(&t.key_pem), s(&t.cert_pem));
    let tree_token = t.path("tree-token");
    let tree_file = t.path("tree-file");
    for dir in [&tree_token, &tree_file] {
        std::fs::create_dir(dir).unwrap();
        for m in &mods {
            std::fs::copy(m, dir.join(m.file_name().unwrap())).unwrap();
        }
    }
    // Several threads share the token's session.
    let o = t.kmodkit(
        &[
            "sign",
            "--key",
            URI,
            "--cert",
            cert,
            "--hash",
            "sha512",
            "--tree",
            s(&tree_token),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = t.kmodkit(
        &[
            "sign",
            "--key",
            key,
            "--cert",
            cert,
            "--hash",
            "sha512",
            "--tree",
            s(&tree_file),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for m in &mods {
        let n = m.file_name().unwrap();
        let a = std::fs::read(tree_token.join(n)).unwrap();
        assert!(a.len() > std::fs::read(m).unwrap().len());
        assert_eq!(a, std::fs::read(tree_file.join(n)).unwrap(), "{n:?}");
    }
    let o = t.kmodkit(
        &["verify", "--keyring", cert, "--tree", s(&tree_token)],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&format!(
            "{} of {} modules verified",
            mods.len(),
            mods.len()
        )),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn token_errors_are_clear_and_leave_the_module_untouched() {
    let Some(t) = token() else { return };
    let Some(mods) = stripped_modules(&t, 1) else {
        return;
    };
    let m = &mods[0];
    let before = std::fs::read(m).unwrap();
    let cert = s(&t.cert_pem);
    // A second certificate, of another key: the token's key is not its.
    let other_key = t.path("other.pem");
    let other_cert = t.path("other.crt");
    run_ok(Command::new("openssl").args([
        "req",
        "-new",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        s(&other_key),
        "-out",
        s(&other_cert),
        "-days",
        "30",
        "-subj",
        "/CN=other",
    ]));
    let cases: &[ErrorCase] = &[
        (
            &[
                "sha256",
                "pkcs11:token=kmk;object=signer;pin-value=9999",
                cert,
            ],
            &[],
            "PIN incorrect",
        ),
        (
            &["sha256", "pkcs11:token=kmk;object=signer", cert],
            &[("KBUILD_SIGN_PIN", "4321")],
            "PIN incorrect",
        ),
        (
            &[
                "sha256",
                "pkcs11:token=kmk;object=nosuchkey;pin-value=1234",
                cert,
            ],
            &[],
            "token 'kmk' has no private key with label 'nosuchkey'",
        ),
        (
            &["sha256", "pkcs11:token=kmk;id=%02;pin-value=1234", cert],
            &[],
            "has no private key with id 02",
        ),
        (
            &["sha256", "pkcs11:token=kmk;object=signer", cert],
            &[],
            "no PIN given",
        ),
        (
            &[
                "sha256",
                "pkcs11:token=nosuchtoken;object=signer;pin-value=1234",
                cert,
            ],
            &[],
            "no token matches token=nosuchtoken",
        ),
        (
            &["sha256", URI, cert],
            &[("KMODKIT_PKCS11_MODULE", "/nonexistent/libpkcs11.so")],
            "PKCS#11 module /nonexistent/libpkcs11.so does not exist",
        ),
        (
            &["sha256", "pkcs11:token=kmk;object=signer;bogus=1", cert],
            &[],
            "unknown path attribute 'bogus'",
        ),
        (
            &["sha256", URI, s(&other_cert)],
            &[],
            "private key does not match the certificate",
        ),
    ];
    for (args, env, want) in cases {
        let mut a = args.to_vec();
        a.push(s(m));
        let o = t.sign_file(&a, env);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{a:?}: {err}");
        assert!(err.contains(want), "{a:?}: expected '{want}' in: {err}");
        assert!(
            !err.contains("1234") && !err.contains("9999"),
            "{a:?}: the PIN leaks into: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(
            std::fs::read(m).unwrap(),
            before,
            "{a:?} changed the module"
        );
    }
    // No temporary or .p7s files were left behind.
    let names: Vec<_> = std::fs::read_dir(t.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains('~') || n.ends_with(".p7s"))
        .collect();
    assert!(names.is_empty(), "left behind: {names:?}");
}

/// The SignerInfo of a detached `.p7s`, signature bytes left out.
fn signer_without_signature(p7s: &Path) -> (String, usize) {
    let der = std::fs::read(p7s).unwrap();
    let msg = modsign::pkcs7::parse(&der).unwrap_or_else(|e| panic!("{}: {e}", p7s.display()));
    assert!(msg.detached);
    assert_eq!(msg.signers.len(), 1);
    let si = &msg.signers[0];
    assert!(!si.has_signed_attrs);
    (
        format!("{:?} {:?} {}", si.id, si.hash, si.signature_algorithm),
        der.len() - si.signature.len(),
    )
}

#[test]
fn token_ec_keys_sign_verifiably_as_sign_file_does() {
    let Some(t) = token() else { return };
    let Some(mods) = stripped_modules(&t, 1) else {
        return;
    };
    let m = &mods[0];
    let have_sign_file = Path::new(SIGN_FILE).exists();
    if !have_sign_file {
        skip(
            Requirement::Tool,
            "scripts/sign-file missing (Debian package linux-kbuild-6.1)",
        );
    }
    for (i, (curve, hash)) in [
        ("P-256", "sha256"),
        ("P-384", "sha384"),
        ("P-256", "sha512"),
    ]
    .into_iter()
    .enumerate()
    {
        let key = t.path(&format!("ec{i}.pem"));
        let cert = t.path(&format!("ec{i}.crt"));
        run_ok(Command::new("openssl").args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            &format!("ec_paramgen_curve:{curve}"),
            "-out",
            s(&key),
        ]));
        run_ok(Command::new("openssl").args([
            "req",
            "-new",
            "-x509",
            "-key",
            s(&key),
            "-out",
            s(&cert),
            "-days",
            "30",
            "-subj",
            &format!("/CN=kmodkit pkcs11 {curve}"),
        ]));
        let label = format!("ec{i}");
        let id = format!("1{i}");
        run_ok(
            Command::new("softhsm2-util")
                .env("SOFTHSM2_CONF", &t.conf)
                .args(["--import", s(&key), "--token", "kmk", "--label", &label])
                .args(["--id", &id, "--pin", "1234"]),
        );
        let uri = format!("pkcs11:token=kmk;object={label};pin-value=1234");
        for keyid in [false, true] {
            let tag = format!("ec{i}{}", if keyid { "k" } else { "" });
            let signed = copy_to(&t, m, &tag);
            let mut args = if keyid { vec!["-k"] } else { vec![] };
            args.extend(["-p", hash, &uri, s(&cert), s(&signed)]);
            let o = t.sign_file(&args, &[]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            // The kernel's check, as kmodkit does it (ring verifies ECDSA only with the
            // curve's own hash; OpenSSL below checks every pairing).
            let o = t.kmodkit(&["verify", "--keyring", s(&cert), s(&signed)], &[]);
            let matched = (curve, hash) != ("P-256", "sha512");
            assert_eq!(
                o.status.success(),
                matched,
                "{curve}/{hash}: {}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            let p7s = PathBuf::from(format!("{}.p7s", signed.display()));
            run_ok(Command::new("openssl").args([
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                s(&p7s),
                "-content",
                s(m),
                "-certfile",
                s(&cert),
                "-nointern",
                "-noverify",
                "-out",
                "/dev/null",
            ]));
            // ECDSA is randomized: sign-file's PKCS#7 with the same key differs only in the
            // signature value.
            if have_sign_file {
                let theirs = copy_to(&t, m, &format!("{tag}.kernel"));
                let mut c = Command::new(SIGN_FILE);
                if keyid {
                    c.arg("-k");
                }
                run_ok(c.args(["-d", hash, s(&key), s(&cert), s(&theirs)]));
                let their_p7s = PathBuf::from(format!("{}.p7s", theirs.display()));
                assert_eq!(
                    signer_without_signature(&p7s),
                    signer_without_signature(&their_p7s),
                    "{curve}/{hash} keyid={keyid}"
                );
            }
        }
    }
}
