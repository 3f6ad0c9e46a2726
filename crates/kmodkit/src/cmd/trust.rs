//! Trust commands: `sign-file` (the kernel's scripts/sign-file, same arguments and bytes),
//! `sign` (re-sign files or a tree, compressed modules too), `keygen`, `certs`, `verify`.
//! The knowledge is in `modsign` (bytes) and `modfile`; files and trees are handled in
//! [`tree`] (validation, locks, atomic replacement through `safeio`, parallelism); this file
//! parses arguments and prints.

mod tree;

use super::{clap_exit, usage, Exit, Outcome};
use crate::getopt::{self, opt, HasArg, LongOpt};
use anyhow::{anyhow, Context};
use clap::Parser;
use modsign::{Cert, HashAlgo, Keyring, PrivateKey, SignerId, SigningKey};
use safeio::with_suffix;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tree::FileFailure;

const SIGN_FILE_USAGE: &str = "Usage: scripts/sign-file [-dp] <hash algo> <key> <x509> <module> [<dest>]\n       scripts/sign-file -s <raw sig> <hash algo> <x509> <module> [<dest>]\n  <key> may be a pkcs11: URI (RFC 7512); --pkcs11-module LIB (or KMODKIT_PKCS11_MODULE)\n  names the PKCS#11 library (default /usr/lib/softhsm/libsofthsm2.so), KBUILD_SIGN_PIN the PIN.";

/// sign-file's only long option (a kmodkit extension): the PKCS#11 module library.
pub(crate) const SIGN_FILE_SHORTOPTS: &str = "sdpk";
pub(crate) const SIGN_FILE_LONGOPTS: &[LongOpt] = &[opt("pkcs11-module", HasArg::Required, 'M')];

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| path.display().to_string())
}

/// The PIN or passphrase sign-file takes from the environment.
fn sign_pin() -> Option<String> {
    std::env::var("KBUILD_SIGN_PIN").ok()
}

/// Load KEY (a key file, or a `pkcs11:` URI signing on a token through `pkcs11_module`,
/// with the PIN from the URI or `KBUILD_SIGN_PIN` as sign-file takes it) and its certificate.
fn load_signing_key(
    key: &Path,
    cert: &Path,
    pkcs11_module: Option<&Path>,
) -> anyhow::Result<SigningKey> {
    let key_str = key.to_string_lossy();
    let pin = sign_pin();
    let key = if modsign::pkcs11::Uri::is_uri(&key_str) {
        PrivateKey::from_pkcs11_uri(&key_str, pkcs11_module, pin.as_deref())?
    } else {
        let key_bytes = read(key)?;
        PrivateKey::from_bytes_with_passphrase(
            &key_bytes,
            &key.display().to_string(),
            pin.as_deref(),
        )?
    };
    let cert_bytes = read(cert)?;
    let what = cert.display().to_string();
    let mut certs = Cert::parse_file(&cert_bytes, &what)?;
    let cert = certs.remove(0);
    SigningKey::new(key, cert).with_context(|| what.clone())
}

fn parse_hash(name: &str) -> anyhow::Result<HashAlgo> {
    HashAlgo::from_name(name).ok_or_else(|| modsign::Error::UnknownHash(name.into()).into())
}

/// `sign-file [-dpk] HASH KEY X509 MODULE [DEST]`, `sign-file -s RAWSIG HASH X509 MODULE [DEST]`.
/// Like the kernel's script, which signs any file: no module validation here.
pub fn sign_file(name: &str, args: Vec<OsString>) -> Outcome {
    let Ok(parsed) = getopt::parse(name, &args, SIGN_FILE_SHORTOPTS, SIGN_FILE_LONGOPTS) else {
        return Err(usage(SIGN_FILE_USAGE));
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
        return Err(usage(SIGN_FILE_USAGE));
    }
    // sign-file's messages carry its own name, not `kmodkit sign-file`.
    sign_file_run(
        raw_sig,
        save_sig,
        sign_only,
        keyid,
        pkcs11_module.as_deref(),
        ops,
    )
    .map_err(|e| Exit::with(1, format!("{name}: {e:#}")))?;
    Ok(ExitCode::SUCCESS)
}

fn sign_file_run(
    raw_sig: bool,
    save_sig: bool,
    sign_only: bool,
    keyid: bool,
    pkcs11_module: Option<&Path>,
    ops: &[OsString],
) -> anyhow::Result<()> {
    let module = Path::new(&ops[3]);
    let dest = match ops.get(4) {
        Some(d) if d != &ops[3] => Path::new(d),
        _ => module,
    };
    // Runs on one destination take turns (read, sign, replace). Advisory: where it cannot
    // be taken, the read or the write below fails with sign-file's own message.
    let _lock = safeio::Lock::target(dest).ok();
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
        let signer = sk.module_signer(hash, id)?;
        let p7 = signer
            .pkcs7(&content)
            .with_context(|| module.display().to_string())?;
        if save_sig {
            safeio::replace(&with_suffix(module, ".p7s"), &p7, None)?;
        }
        if sign_only {
            return Ok(());
        }
        p7
    };
    // sign-file writes `<dest>.~signed~` and renames it; a unique temporary name beside
    // the destination gives the same bytes without two runs sharing one.
    let mut out = content;
    out.extend_from_slice(&modsign::module::trailer(&p7));
    safeio::replace(dest, &out, None)?;
    Ok(())
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

/// Every module is checked (`modfile::validate`) before it is signed: a file that is not a
/// module is refused with the reason and left untouched.
pub fn sign(_name: &str, args: Vec<OsString>) -> Outcome {
    let a = match SignArgs::try_parse_from(std::iter::once("kmodkit sign".into()).chain(args)) {
        Ok(a) => a,
        Err(e) => return clap_exit(e),
    };
    if a.tree.is_none() && a.modules.is_empty() {
        return Err(usage("kmodkit sign: no MODULE and no --tree DIR given"));
    }
    if a.output.is_some() && a.modules.len() != 1 {
        return Err(usage("kmodkit sign: --output needs exactly one MODULE"));
    }
    let hash = parse_hash(&a.hash)?;
    let sk = load_signing_key(&a.key, &a.cert, a.pkcs11_module.as_deref())?;
    if let Some(problem) = sk.cert().signing_problem(std::time::SystemTime::now()) {
        if !a.force {
            return Err(anyhow!(
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
    let signer = sk.module_signer(hash, id)?;
    if let Some(out) = &a.output {
        tree::sign_file(&signer, &a.modules[0], Some(out))?;
        return Ok(ExitCode::SUCCESS);
    }
    if a.tree.is_none() && a.modules.len() == 1 {
        tree::sign_file(&signer, &a.modules[0], None)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut paths = a.modules.clone();
    if let Some(dir) = &a.tree {
        paths.extend(tree::find_modules(dir)?);
    }
    let pb = progress_bar(paths.len(), "signing");
    let results = tree::sign_files(&signer, &paths, &|| pb.inc(1));
    pb.finish_and_clear();
    let mut failed = 0;
    for (_, r) in &results {
        if let Err(e) = r {
            failed += 1;
            eprintln!("kmodkit sign: {e:#}");
        }
    }
    if a.tree.is_some() {
        eprintln!(
            "signed {} of {} modules",
            results.len() - failed,
            results.len()
        );
    }
    if failed > 0 {
        return Err(Exit::status(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// `kmodkit strip MODULE...`: remove the appended signature (compressed modules are
/// decompressed and recompressed), atomically, keeping permissions. A file that is not a
/// module is refused with the reason and left untouched.
pub fn strip(name: &str, args: Vec<OsString>) -> Outcome {
    if args.is_empty() || args.iter().any(|a| a.to_string_lossy().starts_with('-')) {
        return Err(usage(format!(
            "Usage: kmodkit {name} MODULE...\n  Remove the appended signature of each module."
        )));
    }
    if let [one] = args.as_slice() {
        tree::strip_file(Path::new(one))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut failed = false;
    for a in &args {
        if let Err(e) = tree::strip_file(Path::new(a)) {
            eprintln!("kmodkit {name}: {e:#}");
            failed = true;
        }
    }
    if failed {
        return Err(Exit::status(1));
    }
    Ok(ExitCode::SUCCESS)
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

/// The key and its certificate(s) are written together or not at all: each is staged
/// (written and synced beside its target) before any is renamed into place.
pub fn keygen(_name: &str, args: Vec<OsString>) -> Outcome {
    let a = match KeygenArgs::try_parse_from(std::iter::once("kmodkit keygen".into()).chain(args)) {
        Ok(a) => a,
        Err(e) => return clap_exit(e),
    };
    let Some(algo) = modsign::keygen::KeygenAlgo::from_name(&a.algo) else {
        return Err(usage(format!(
            "kmodkit keygen: unknown --algo '{}' (rsa2048, rsa3072, rsa4096, p256, p384)",
            a.algo
        )));
    };
    let g = modsign::keygen::generate(algo, &a.cn, a.days)?;
    let mut staged = vec![
        safeio::Staged::write(&a.key, g.key_pem().as_bytes(), Some(0o600))?,
        safeio::Staged::write(&a.cert, g.cert_pem().as_bytes(), None)?,
    ];
    if let Some(d) = &a.der {
        staged.push(safeio::Staged::write(d, &g.cert_der, None)?);
    }
    safeio::Staged::commit_all(staged)?;
    Ok(ExitCode::SUCCESS)
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
        "algorithm": c.key_algo().map(|a| a.to_string()).unwrap_or_else(|e| e.to_string()),
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

pub fn certs(_name: &str, args: Vec<OsString>) -> Outcome {
    let a = match CertsArgs::try_parse_from(std::iter::once("kmodkit certs".into()).chain(args)) {
        Ok(a) => a,
        Err(e) => return clap_exit(e),
    };
    let mut all = Vec::new();
    for src in &a.sources {
        let (_, certs) = modsign::keyring::load_path(src)?;
        all.extend(certs);
    }
    if let Some(dir) = &a.extract {
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
        for (i, t) in all.iter().enumerate() {
            let p = dir.join(format!("{:02}-{}.der", i, safe_name(&t.cert.common_name())));
            safeio::replace(&p, t.cert.der(), None)?;
        }
    }
    if a.json {
        let v: Vec<_> = all.iter().map(|t| cert_json(&t.cert, &t.source)).collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
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
            c.key_algo()
                .map(|a| a.to_string())
                .unwrap_or_else(|e| e.to_string())
        );
        println!("  valid:       {} .. {}", c.not_before(), c.not_after());
        println!(
            "  sha256:      {}",
            modsign::cert::hex(&c.fingerprint_sha256())
        );
    }
    Ok(ExitCode::SUCCESS)
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
    #[arg(long, required_unless_present = "kernel")]
    keyring: Vec<PathBuf>,
    /// A kernel whose built-in certificates to trust: its image, or its modules directory
    /// (lib/modules/R, its image found beside it as `check --kernel` finds it); repeatable.
    /// With no MODULE and no --tree, the modules of the (first) kernel are verified.
    #[arg(long)]
    kernel: Vec<PathBuf>,
    /// Verify every module under DIR.
    #[arg(long)]
    tree: Option<PathBuf>,
    /// Machine-readable output (one object per module).
    #[arg(long)]
    json: bool,
    modules: Vec<PathBuf>,
}

pub fn verify(_name: &str, args: Vec<OsString>) -> Outcome {
    let a = match VerifyArgs::try_parse_from(std::iter::once("kmodkit verify".into()).chain(args)) {
        Ok(a) => a,
        Err(e) => return clap_exit(e),
    };
    let kernels = a
        .kernel
        .iter()
        .map(|p| kernels::InstalledKernel::from_path(p).with_context(|| p.display().to_string()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let tree_dir = match (&a.tree, kernels.first()) {
        (Some(t), _) => Some(t.clone()),
        (None, Some(k)) if a.modules.is_empty() => Some(k.modules_dir.clone()),
        _ => None,
    };
    if tree_dir.is_none() && a.modules.is_empty() {
        return Err(usage("kmodkit verify: no MODULE and no --tree DIR given"));
    }
    let mut keyring = Keyring::new();
    for k in &kernels {
        let image = k.image.as_ref().ok_or_else(|| {
            anyhow::anyhow!("kernel {}: no image found to take its keys from", k.release)
        })?;
        keyring
            .add_path(image)
            .with_context(|| format!("kernel image {}", image.display()))?;
    }
    for src in &a.keyring {
        keyring
            .add_path(src)
            .with_context(|| format!("keyring {}", src.display()))?;
    }
    let mut paths = a.modules.clone();
    if let Some(dir) = &tree_dir {
        paths.extend(tree::find_modules(dir)?);
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
        println!("{}", serde_json::to_string_pretty(&v)?);
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
    if failed > 0 {
        return Err(Exit::status(1));
    }
    Ok(ExitCode::SUCCESS)
}
