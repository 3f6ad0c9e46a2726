//! Which key `build` and `dkms` sign with: the pair given on the command line, or DKMS's
//! MOK pair (`<dkms_tree>/mok.key`, `mok.pub`), generated when missing as DKMS does. The
//! signing itself is `kbuild::sign` (modsign as a library), in this process.

use anyhow::Context;
use kbuild::sign::Key;
use std::path::{Path, PathBuf};

/// The key pair `--sign-key`/`--sign-cert` name, loaded.
pub fn given_key(key: &Path, cert: &Path) -> anyhow::Result<Key> {
    Key::load(key, cert).context("loading the signing key")
}

/// For DKMS: the given pair, else DKMS's MOK pair under `dkms_tree`, created first (with
/// DKMS's messages on stdout) when neither file exists.
pub fn dkms_key(
    dkms_tree: &Path,
    given: (Option<&PathBuf>, Option<&PathBuf>),
) -> Result<Key, kbuild::Error> {
    let (key, cert) = match given {
        (Some(k), Some(c)) => (k.clone(), c.clone()),
        _ => (dkms_tree.join("mok.key"), dkms_tree.join("mok.pub")),
    };
    if !key.exists() && !cert.exists() {
        std::fs::create_dir_all(dkms_tree).map_err(|source| kbuild::Error::Io {
            path: dkms_tree.to_path_buf(),
            source,
        })?;
        println!("Certificate or key are missing, generating self signed certificate for MOK...");
        kbuild::sign::generate_mok(&key, &cert).map_err(|e| kbuild::Error::Dkms {
            code: 1,
            message: format!("Error! {e}"),
        })?;
    }
    println!("Signing key: {}", key.display());
    println!("Public certificate (MOK): {}", cert.display());
    Key::load(&key, &cert).map_err(|e| kbuild::Error::Dkms {
        code: 1,
        message: format!("Error! {e}"),
    })
}
