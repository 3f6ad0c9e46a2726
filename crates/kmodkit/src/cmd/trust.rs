//! Trust commands: `sign-file` (the kernel's scripts/sign-file, same arguments and bytes),
//! `sign` (re-sign files or a tree, compressed modules too), `keygen`, `certs`, `verify`.
//! The knowledge is in `modsign`; this file parses arguments and prints.

use crate::getopt::{self, HasArg, LongOpt};
use clap::Parser;
use modsign::tree::{self, with_suffix, write_atomic, FileFailure};
use modsign::{Cert, HashAlgo, Keyring, PrivateKey, SignerId, SigningKey};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

const SIGN_FILE_USAGE: &str = "Usage: scripts/sign-file [-dp] <hash algo> <key> <x509> <module> [<dest>]\n       scripts/sign-file -s <raw sig> <hash algo> <x509> <module> [<dest>]\n  <key> may be a pkcs11: URI (RFC 7512); --pkcs11-module LIB (or KMODKIT_PKCS11_MODULE)\n  names the PKCS#11 library (default /usr/lib/softhsm/libsofthsm2.so), KBUILD_SIGN_PIN the PIN.";

/// sign-file's only long option (a kmodkit extension): the PKCS#11 module library.
pub(crate) const SIGN_FILE_SHORTOPTS: &str = "sdpk";
pub(crate) const SIGN_FILE_LONGOPTS: &[LongOpt] = &[LongOpt {
    name: "pkcs11-module",
    has_arg: HasArg::Required,
    val: 'M',
}];

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Load KEY (a key file, or a `pkcs11:` URI signing on a token through `pkcs11_module`,
/// with the PIN from the URI or `KBUILD_SIGN_PIN` as sign-file takes it) and its certificate.
fn load_signing_key(
    key: &Path,
    cert: &Path,
    pkcs11_module: Option<&Path>,
) -> Result<SigningKey, String> {
    let key_str = key.to_string_lossy();
    let key = if modsign::pkcs11::Uri::is_uri(&key_str) {
        let pin = std::env::var("KBUILD_SIGN_PIN").ok();
        PrivateKey::from_pkcs11_uri(&key_str, pkcs11_module, pin.as_deref())
            .map_err(|e| e.to_string())?
    } else {
        let key_bytes = read(key)?;
        PrivateKey::from_bytes(&key_bytes, &key.display().to_string()).map_err(|e| e.to_string())?
    };
    let cert_bytes = read(cert)?;
    let what = cert.display().to_string();
    let mut certs = Cert::parse_file(&cert_bytes, &what).map_err(|e| e.to_string())?;
    let cert = certs.remove(0);
    SigningKey::new(key, cert).map_err(|e| format!("{what}: {e}"))
}

fn parse_hash(name: &str) -> Result<HashAlgo, String> {
    HashAlgo::from_name(name).ok_or_else(|| modsign::Error::UnknownHash(name.into()).to_string())
}

/// `sign-file [-dpk] HASH KEY X509 MODULE [DEST]`, `sign-file -s RAWSIG HASH X509 MODULE [DEST]`.
pub fn sign_file(name: &str, args: Vec<OsString>) -> u8 {
    let Ok(parsed) = getopt::parse(name, &args, SIGN_FILE_SHORTOPTS, SIGN_FILE_LONGOPTS) else {
        eprintln!("{SIGN_FILE_USAGE}");
        return 2;
    };
    let (mut raw_sig, mut save_sig, mut sign_only, mut keyid) = (false, false, false, false);
    let mut pkcs11_module = None;
    for (c, arg) in &parsed.opts {
        match c {
            'M' => pkcs11_module = arg.as_ref().map(PathBuf::from),
            's' => raw_sig = true,
            'p' => save_sig = true,
            'd' => {
                sign_only = true;
                save_sig = true
            }
            'k' => keyid = true,
            _ => unreachable!("getopt returns only declared options"),
        }
    }
    let ops = &parsed.operands;
    if ops.len() < 4 || ops.len() > 5 {
        eprintln!("{SIGN_FILE_USAGE}");
        return 2;
    }
    match sign_file_run(
        raw_sig,
        save_sig,
        sign_only,
        keyid,
        pkcs11_module.as_deref(),
        ops,
    ) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{name}: {e}");
            1
        }
    }
}

fn sign_file_run(
    raw_sig: bool,
    save_sig: bool,
    sign_only: bool,
    keyid: bool,
    pkcs11_module: Option<&Path>,
    ops: &[OsString],
) -> Result<(), String> {
    let module = Path::new(&ops[3]);
    let dest = match ops.get(4) {
        Some(d) if d != &ops[3] => Path::new(d),
        _ => module,
    };
    let content = read(module)?;
    // With -s, sign-file neither reads the certificate nor looks the hash up.
    let p7 = if raw_sig {
        read(Path::new(&ops[0]))?
    } else {
        let hash = parse_hash(&ops[0].to_string_lossy())?;
        let sk = load_signing_key(Path::new(&ops[1]), Path::new(&ops[2]), pkcs11_module)?;
        let id = if keyid {
            SignerId::KeyId
        } else {
            SignerId::IssuerSerial
        };
        let signer = sk.module_signer(hash, id).map_err(|e| e.to_string())?;
        let p7 = signer
            .pkcs7(&content)
            .map_err(|e| format!("{}: {e}", module.display()))?;
        if save_sig {
            let p7s = with_suffix(module, ".p7s");
            write_atomic(&p7s, &with_suffix(&p7s, ".~tmp~"), &p7, None)
                .map_err(|e| e.to_string())?;
        }
        if sign_only {
            return Ok(());
        }
        p7
    };
    let mut out = content;
    out.extend_from_slice(&modsign::module::trailer(&p7));
    write_atomic(dest, &with_suffix(dest, ".~signed~"), &out, None).map_err(|e| e.to_string())
}

/// Until this file's commands return `Outcome`: `super::clap_exit` as a status.
fn clap_exit(e: clap::Error) -> u8 {
    match super::clap_exit(e) {
        Ok(_) => 0,
        Err(_) => 2,
    }
}

fn progress_bar(len: usize, what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len as u64);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// `kmodkit sign --key K --cert C [--hash sha256] [--output OUT] MODULE... | --tree DIR`
#[derive(Parser)]
#[command(
    name = "kmodkit sign",
    about = "Sign or re-sign modules (.ko, .ko.xz, .ko.zst, .ko.gz)"
)]
pub(crate) struct SignArgs {
    /// Private key (PEM or DER; PKCS#1, PKCS#8 or SEC1), or a pkcs11: URI (PIN from the URI
    /// or KBUILD_SIGN_PIN).
    #[arg(long)]
    key: PathBuf,
    /// PKCS#11 module library for a pkcs11: key (default: $KMODKIT_PKCS11_MODULE, else
    /// /usr/lib/softhsm/libsofthsm2.so).
    #[arg(long)]
    pkcs11_module: Option<PathBuf>,
    /// The key's X.509 certificate (PEM or DER).
    #[arg(long)]
    cert: PathBuf,
    /// Digest algorithm.
    #[arg(long, default_value = "sha256")]
    hash: String,
    /// Name the signer by subject key identifier instead of issuer and serial.
    #[arg(short = 'k', long)]
    keyid: bool,
    /// Write the signed module here (one MODULE only).
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Sign every module under DIR.
    #[arg(long, conflicts_with = "output")]
    tree: Option<PathBuf>,
    /// Sign even with an expired certificate or one whose keyUsage excludes signing.
    #[arg(long)]
    force: bool,
    modules: Vec<PathBuf>,
}

pub fn sign(_name: &str, args: Vec<OsString>) -> u8 {
    let a = match SignArgs::try_parse_from(std::iter::once("kmodkit sign".into()).chain(args)) {
        Ok(a) => a,
        Err(e) => return clap_exit(e),
    };
    if a.tree.is_none() && a.modules.is_empty() {
        eprintln!("kmodkit sign: no MODULE and no --tree DIR given");
        return 2;
    }
    if a.output.is_some() && a.modules.len() != 1 {
        eprintln!("kmodkit sign: --output needs exactly one MODULE");
        return 2;
    }
    let run = || -> Result<u8, String> {
        let hash = parse_hash(&a.hash)?;
        let sk = load_signing_key(&a.key, &a.cert, a.pkcs11_module.as_deref())?;
        if let Some(problem) = sk.cert().signing_problem(std::time::SystemTime::now()) {
            if !a.force {
                return Err(format!(
                    "{}: {problem} (--force signs anyway; the kernel does not check this)",
                    a.cert.display()
                ));
            }
            eprintln!("kmodkit sign: warning: {}: {problem}", a.cert.display());
        }
        let id = if a.keyid {
            SignerId::KeyId
        } else {
            SignerId::IssuerSerial
        };
        let signer = sk.module_signer(hash, id).map_err(|e| e.to_string())?;
        if let Some(out) = &a.output {
            tree::sign_file(&signer, &a.modules[0], Some(out)).map_err(|e| e.to_string())?;
            return Ok(0);
        }
        let mut paths = a.modules.clone();
        if let Some(dir) = &a.tree {
            paths.extend(tree::find_modules(dir).map_err(|e| e.to_string())?);
        }
        let pb = progress_bar(paths.len(), "signing");
        let results = tree::sign_files(&signer, &paths, &|| pb.inc(1));
        pb.finish_and_clear();
        let mut failed = 0;
        for (p, r) in &results {
            if let Err(e) = r {
                failed += 1;
                let msg = e.to_string();
                if msg.starts_with(&*p.to_string_lossy()) {
                    eprintln!("kmodkit sign: {msg}");
                } else {
                    eprintln!("kmodkit sign: {}: {msg}", p.display());
                }
            }
        }
        if a.tree.is_some() {
            eprintln!(
                "signed {} of {} modules",
                results.len() - failed,
                results.len()
            );
        }
        Ok(u8::from(failed > 0))
    };
    match run() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kmodkit sign: {e}");
            1
        }
    }
}

/// `kmodkit strip MODULE...`: remove the appended signature (compressed modules are
/// decompressed and recompressed), atomically, keeping permissions.
pub fn strip(name: &str, args: Vec<OsString>) -> u8 {
    if args.is_empty() || args.iter().any(|a| a.to_string_lossy().starts_with('-')) {
        eprintln!(
            "Usage: kmodkit {name} MODULE...\n  Remove the appended signature of each module."
        );
        return 2;
    }
    let mut status = 0;
    for a in &args {
        let p = Path::new(a);
        if let Err(e) = tree::strip_file(p) {
            eprintln!("kmodkit {name}: {e}");
            status = 1;
        }
    }
    status
}

/// `kmodkit keygen --cn NAME [--algo ...] --key K.pem --cert C.pem [--der C.der] [--days N]`
#[derive(Parser)]
#[command(
    name = "kmodkit keygen",
    about = "Make a module signing key and certificate"
)]
pub(crate) struct KeygenArgs {
    /// The certificate's subject common name.
    #[arg(long)]
    cn: String,
    /// rsa2048, rsa3072, rsa4096, p256 or p384.
    #[arg(long, default_value = "rsa4096")]
    algo: String,
    /// Validity in days.
    #[arg(long, default_value_t = 36500)]
    days: u32,
    /// Private key output (PEM PKCS#8, mode 0600).
    #[arg(long)]
    key: PathBuf,
    /// Certificate output (PEM).
    #[arg(long)]
    cert: PathBuf,
    /// Also write the certificate as DER here.
    #[arg(long)]
    der: Option<PathBuf>,
}

pub fn keygen(_name: &str, args: Vec<OsString>) -> u8 {
    let a = match KeygenArgs::try_parse_from(std::iter::once("kmodkit keygen".into()).chain(args)) {
        Ok(a) => a,
        Err(e) => return clap_exit(e),
    };
    let Some(algo) = modsign::keygen::KeygenAlgo::from_name(&a.algo) else {
        eprintln!(
            "kmodkit keygen: unknown --algo '{}' (rsa2048, rsa3072, rsa4096, p256, p384)",
            a.algo
        );
        return 2;
    };
    let run = || -> Result<(), String> {
        let g = modsign::keygen::generate(algo, &a.cn, a.days).map_err(|e| e.to_string())?;
        write_atomic(
            &a.key,
            &with_suffix(&a.key, ".~tmp~"),
            g.key_pem().as_bytes(),
            Some(0o600),
        )
        .map_err(|e| e.to_string())?;
        write_atomic(
            &a.cert,
            &with_suffix(&a.cert, ".~tmp~"),
            g.cert_pem().as_bytes(),
            None,
        )
        .map_err(|e| e.to_string())?;
        if let Some(d) = &a.der {
            write_atomic(d, &with_suffix(d, ".~tmp~"), &g.cert_der, None)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    };
    match run() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("kmodkit keygen: {e}");
            1
        }
    }
}

/// `kmodkit certs SRC... [--extract DIR] [--json]`
#[derive(Parser)]
#[command(
    name = "kmodkit certs",
    about = "List the certificates in a kernel image, certificate file or directory, EFI signature list or edk2 varstore"
)]
pub(crate) struct CertsArgs {
    /// Write each certificate as DER into DIR.
    #[arg(long)]
    extract: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    #[arg(required = true)]
    sources: Vec<PathBuf>,
}

fn cert_json(c: &Cert, source: &str) -> serde_json::Value {
    serde_json::json!({
        "source": source,
        "subject": c.subject(),
        "issuer": c.issuer(),
        "serial": modsign::cert::hex(c.serial()),
        "skid": c.skid().map(modsign::cert::hex),
        "algorithm": c.key_algo().map(|a| a.to_string()).unwrap_or_else(|e| e),
        "not_before": c.not_before(),
        "not_after": c.not_after(),
        "sha256": modsign::cert::hex(&c.fingerprint_sha256()),
        "kernel_name": c.kernel_description(),
    })
}

fn safe_name(s: &str) -> String {
    let n: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    n.trim_matches('_').chars().take(64).collect()
}

pub fn certs(_name: &str, args: Vec<OsString>) -> u8 {
    let a = match CertsArgs::try_parse_from(std::iter::once("kmodkit certs".into()).chain(args)) {
        Ok(a) => a,
        Err(e) => return clap_exit(e),
    };
    let mut all = Vec::new();
    for src in &a.sources {
        match modsign::keyring::load_path(src) {
            Ok((_, certs)) => all.extend(certs),
            Err(e) => {
                eprintln!("kmodkit certs: {e}");
                return 1;
            }
        }
    }
    if let Some(dir) = &a.extract {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("kmodkit certs: {}: {e}", dir.display());
            return 1;
        }
        for (i, t) in all.iter().enumerate() {
            let p = dir.join(format!("{:02}-{}.der", i, safe_name(&t.cert.common_name())));
            if let Err(e) = write_atomic(&p, &with_suffix(&p, ".~tmp~"), t.cert.der(), None) {
                eprintln!("kmodkit certs: {e}");
                return 1;
            }
        }
    }
    if a.json {
        let v: Vec<_> = all.iter().map(|t| cert_json(&t.cert, &t.source)).collect();
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return 0;
    }
    for t in &all {
        let c = &t.cert;
        println!("{}:", t.source);
        println!("  subject:     {}", c.subject());
        println!("  issuer:      {}", c.issuer());
        println!("  serial:      {}", modsign::cert::hex(c.serial()));
        if let Some(k) = c.skid() {
            println!("  key id:      {}", modsign::cert::hex(k));
        }
        println!(
            "  algorithm:   {}",
            c.key_algo().map(|a| a.to_string()).unwrap_or_else(|e| e)
        );
        println!("  valid:       {} .. {}", c.not_before(), c.not_after());
        println!(
            "  sha256:      {}",
            modsign::cert::hex(&c.fingerprint_sha256())
        );
    }
    0
}

/// `kmodkit verify --keyring SRC... MODULE... | --tree DIR [--json]`
#[derive(Parser)]
#[command(
    name = "kmodkit verify",
    about = "Verify module signatures as the kernel would"
)]
pub(crate) struct VerifyArgs {
    /// A source of trusted certificates (certificate, directory, kernel image, EFI signature
    /// list, edk2 varstore); repeatable.
    #[arg(long, required = true)]
    keyring: Vec<PathBuf>,
    /// Verify every module under DIR.
    #[arg(long)]
    tree: Option<PathBuf>,
    /// Machine-readable output (one object per module).
    #[arg(long)]
    json: bool,
    modules: Vec<PathBuf>,
}

pub fn verify(_name: &str, args: Vec<OsString>) -> u8 {
    let a = match VerifyArgs::try_parse_from(std::iter::once("kmodkit verify".into()).chain(args)) {
        Ok(a) => a,
        Err(e) => return clap_exit(e),
    };
    if a.tree.is_none() && a.modules.is_empty() {
        eprintln!("kmodkit verify: no MODULE and no --tree DIR given");
        return 2;
    }
    let mut keyring = Keyring::new();
    for src in &a.keyring {
        if let Err(e) = keyring.add_path(src) {
            eprintln!("kmodkit verify: keyring {}: {e}", src.display());
            return 1;
        }
    }
    let mut paths = a.modules.clone();
    if let Some(dir) = &a.tree {
        match tree::find_modules(dir) {
            Ok(p) => paths.extend(p),
            Err(e) => {
                eprintln!("kmodkit verify: {e}");
                return 1;
            }
        }
    }
    let pb = progress_bar(paths.len(), "verifying");
    let results = tree::verify_files(&paths, &keyring, &|| pb.inc(1));
    pb.finish_and_clear();
    let failed = results.iter().filter(|r| r.is_err()).count();
    if a.json {
        let v: Vec<_> = paths
            .iter()
            .zip(&results)
            .map(|(p, r)| match r {
                Ok(v) => serde_json::json!({
                    "path": p, "ok": true, "signer": v.signer, "hash": v.hash.name(),
                }),
                Err(FileFailure::Signature(f)) => serde_json::json!({
                    "path": p, "ok": false, "error": f.kind(), "errno": f.errno(),
                    "reason": f.to_string(),
                }),
                Err(FileFailure::Read(e)) => serde_json::json!({
                    "path": p, "ok": false, "error": "unreadable", "reason": e.to_string(),
                }),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        for (p, r) in paths.iter().zip(&results) {
            match r {
                Ok(_) => {}
                Err(FileFailure::Signature(f)) => println!("{}: {f} ({})", p.display(), f.errno()),
                Err(FileFailure::Read(e)) => println!("{}: {e}", p.display()),
            }
        }
        if paths.len() > 1 || failed == 0 {
            eprintln!(
                "{} of {} modules verified{}",
                paths.len() - failed,
                paths.len(),
                if failed > 0 {
                    format!(", {failed} failed")
                } else {
                    String::new()
                }
            );
        }
    }
    u8::from(failed > 0)
}
