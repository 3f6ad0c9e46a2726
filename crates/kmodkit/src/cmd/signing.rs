//! Signing steps that `build` and `dkms` need, done by this same binary's `sign-file`,
//! `keygen` and `verify` commands (as DKMS runs the kernel's `sign-file`): one
//! implementation of each, whatever calls it.

use std::path::Path;
use std::process::Command;

fn run(args: &[&std::ffi::OsStr]) -> Result<std::process::Output, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))?;
    Command::new(exe)
        .args(args)
        .output()
        .map_err(|e| e.to_string())
}

fn check(out: std::process::Output, what: &str) -> Result<(), String> {
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Sign a module file in place (`sign-file HASH KEY CERT MODULE`).
pub fn sign_in_place(module: &Path, key: &Path, cert: &Path, hash: &str) -> Result<(), String> {
    let out = run(&[
        "sign-file".as_ref(),
        hash.as_ref(),
        key.as_ref(),
        cert.as_ref(),
        module.as_ref(),
    ])?;
    check(out, "sign-file")
}

/// DKMS's MOK pair: `mok.key` (PEM private key) and `mok.pub` (DER certificate),
/// CN "DKMS module signing key", as DKMS generates with openssl.
pub fn generate_mok(key: &Path, cert_der: &Path) -> Result<(), String> {
    let pem = cert_der.with_extension("pem");
    let out = run(&[
        "keygen".as_ref(),
        "--cn".as_ref(),
        "DKMS module signing key".as_ref(),
        "--algo".as_ref(),
        "rsa2048".as_ref(),
        "--days".as_ref(),
        "36500".as_ref(),
        "--key".as_ref(),
        key.as_ref(),
        "--cert".as_ref(),
        pem.as_ref(),
        "--der".as_ref(),
        cert_der.as_ref(),
    ])?;
    check(out, "keygen")
}

/// Before installing for kernel `k`: will that kernel trust the module's signature with its
/// built-in keys? `None` when it will (or when there is no kernel image to ask).
pub fn trust_warning(module: &Path, install_tree: &Path, k: &str) -> Option<String> {
    let root = install_tree.parent()?.parent()?;
    let image = root.join("boot").join(format!("vmlinuz-{k}"));
    if !image.is_file() {
        return None;
    }
    let out = run(&[
        "verify".as_ref(),
        "--keyring".as_ref(),
        image.as_ref(),
        module.as_ref(),
    ])
    .ok()?;
    if out.status.success() {
        return None;
    }
    Some(format!(
        "kernel {k} does not trust the key that signed {}: with Secure Boot (or module.sig_enforce=1) \
         loading it fails with \"Key was rejected by service\". Enroll the certificate first \
         (mokutil --import <certificate.der>, then reboot and confirm), or use a key the kernel trusts.",
        module.display()
    ))
}
