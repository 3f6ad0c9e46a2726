//! Signing what was built, and indexing what was installed: `modsign` and `moddb` called as
//! libraries (DKMS runs the kernel's `sign-file` and `depmod`; we run the same code those
//! commands of ours run, in this process). The key is loaded once per run, not per module.
//!
//! The functions here only compose those crates' public APIs (a key pair from files, a
//! module file signed in place, a fresh MOK pair, a trust check against a kernel's built-in
//! keys, `depmod -a` for one kernel): no signing or indexing knowledge lives in `kbuild`.

use crate::{Error, Result};
use kernels::InstalledKernel;
use modsign::{Cert, HashAlgo, Keyring, PrivateKey, SignerId, SigningKey};
use std::path::Path;

/// A module signing key with its certificate, checked to belong together.
pub struct Key {
    key: SigningKey,
}

fn failed(what: &Path, msg: impl std::fmt::Display) -> Error {
    Error::Sign(format!("{}: {msg}", what.display()))
}

impl Key {
    /// Load a private key file (PEM or DER) and its certificate (PEM or DER).
    pub fn load(key: &Path, cert: &Path) -> Result<Key> {
        let key_bytes = std::fs::read(key).map_err(Error::io(key))?;
        let private = PrivateKey::from_bytes(&key_bytes, &key.display().to_string())
            .map_err(|e| failed(key, e))?;
        let cert_bytes = std::fs::read(cert).map_err(Error::io(cert))?;
        let mut certs = Cert::parse_file(&cert_bytes, &cert.display().to_string())
            .map_err(|e| failed(cert, e))?;
        if certs.is_empty() {
            return Err(failed(cert, "no certificate"));
        }
        let key = SigningKey::new(private, certs.remove(0)).map_err(|e| failed(cert, e))?;
        Ok(Key { key })
    }

    /// Sign `module` (an uncompressed `.ko`) in place as `sign-file HASH KEY CERT MODULE`
    /// does (issuer and serial as signer id), replacing the file atomically.
    pub fn sign_in_place(&self, module: &Path, hash: &str) -> Result<()> {
        let algo = HashAlgo::from_name(hash)
            .ok_or_else(|| failed(module, format!("unknown hash algorithm '{hash}'")))?;
        let signer = self
            .key
            .module_signer(algo, SignerId::IssuerSerial)
            .map_err(|e| failed(module, e))?;
        let content = std::fs::read(module).map_err(Error::io(module))?;
        let signed = signer.sign(&content).map_err(|e| failed(module, e))?;
        let mode = std::fs::metadata(module)
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o7777)
            .ok();
        safeio::replace(module, &signed, mode)?;
        Ok(())
    }
}

/// DKMS's MOK pair: `key` (PEM private key, mode 0600) and `cert_der` (DER certificate),
/// plus the same certificate as PEM beside it (`.pem`), CN "DKMS module signing key",
/// RSA-2048, 100 years, as DKMS generates with openssl. All three appear together or not
/// at all.
pub fn generate_mok(key: &Path, cert_der: &Path) -> Result<()> {
    let g = modsign::keygen::generate(
        modsign::keygen::KeygenAlgo::Rsa(2048),
        "DKMS module signing key",
        36500,
    )
    .map_err(|e| Error::Sign(format!("generating the MOK key: {e}")))?;
    let pem = cert_der.with_extension("pem");
    let staged = vec![
        safeio::Staged::write(key, g.key_pem().as_bytes(), Some(0o600))?,
        safeio::Staged::write(&pem, g.cert_pem().as_bytes(), Some(0o644))?,
        safeio::Staged::write(cert_der, &g.cert_der, Some(0o644))?,
    ];
    safeio::Staged::commit_all(staged)?;
    Ok(())
}

/// Before installing for `kernel`: will it trust the module's signature with the keys
/// built into its image? `None` when it will, or when there is no image to ask.
pub fn trust_warning(module: &Path, kernel: &InstalledKernel) -> Option<String> {
    let image = kernel.image.as_ref()?;
    let mut ring = Keyring::new();
    ring.add_path(image).ok()?;
    let trusted = std::fs::read(module).ok().is_some_and(|raw| {
        modfile::decompress(&raw).is_ok_and(|data| modsign::module::verify(&data, &ring).is_ok())
    });
    if trusted {
        return None;
    }
    Some(format!(
        "kernel {} does not trust the key that signed {}: with Secure Boot (or module.sig_enforce=1) \
         loading it fails with \"Key was rejected by service\". Enroll the certificate first \
         (mokutil --import <certificate.der>, then reboot and confirm), or use a key the kernel trusts.",
        kernel.release,
        module.display()
    ))
}

/// `depmod -a [-b ROOT] RELEASE` for an install tree of the form `ROOT/lib/modules`:
/// regenerate the module indexes of `<install_tree>/<release>` with `moddb`. Warnings go
/// to stderr with depmod's prefix, as depmod prints them.
pub fn depmod(install_tree: &Path, release: &str) -> Result<()> {
    let root = strip_lib_modules(install_tree).ok_or_else(|| {
        Error::Depmod(format!(
            "cannot index {}: not of the form ROOT/lib/modules",
            install_tree.display()
        ))
    })?;
    let opts = moddb::depmod::Options {
        basedir: (root != Path::new("/")).then(|| root.to_string_lossy().into_owned()),
        kversion: release.to_string(),
        all: true,
        // The same switch as kmodkit's depmod: kmod 34's layout, or kmod 30's on request.
        kmod: std::env::var("KMODKIT_KMOD_COMPAT")
            .ok()
            .and_then(|v| moddb::Kmod::parse(&v))
            .unwrap_or_default(),
        ..Default::default()
    };
    let mut message = |l: moddb::depmod::Level, s: &str| eprint!("depmod: {}: {s}", l.name());
    let mut show = |_: &str| {};
    let mut log = moddb::depmod::Log {
        verbose: moddb::depmod::Level::Warning as i32,
        message: &mut message,
        show: &mut show,
    };
    let mut sink = std::io::sink();
    // The index set is replaced as a whole, under a lock on the directory (modsys/safeio).
    let mut store = modsys::live::IndexStore;
    match moddb::depmod::run(
        &opts,
        &moddb::depmod::read_whole,
        &mut sink,
        &mut log,
        &mut store,
    ) {
        Ok(moddb::depmod::Outcome::Cycles) => Err(Error::Depmod(format!(
            "{}: dependency cycles between modules; indexes not written",
            opts.dirname()
        ))),
        Ok(_) => Ok(()),
        Err(e) => Err(Error::Depmod(e.to_string())),
    }
}

/// `ROOT/lib/modules` -> `ROOT` (absolute, as depmod's `-b` needs it).
fn strip_lib_modules(tree: &Path) -> Option<std::path::PathBuf> {
    let tree = std::path::absolute(tree).ok()?;
    let s = tree.to_str()?.trim_end_matches('/');
    s.strip_suffix("/lib/modules")
        .map(|r| std::path::PathBuf::from(if r.is_empty() { "/" } else { r }))
}

#[cfg(test)]
mod tests {
    use super::strip_lib_modules;
    use std::path::Path;

    #[test]
    fn install_tree_roots() {
        assert_eq!(
            strip_lib_modules(Path::new("/lib/modules")).unwrap(),
            Path::new("/")
        );
        assert_eq!(
            strip_lib_modules(Path::new("/tmp/x/lib/modules/")).unwrap(),
            Path::new("/tmp/x")
        );
        assert_eq!(strip_lib_modules(Path::new("/tmp/x/modules")), None);
    }
}
