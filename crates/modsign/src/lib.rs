//! Module signatures, keys, certificates and keyrings: everything between a private key and
//! the kernel's decision that a module's signature is good.
//!
//! - [`key`]: private keys (PEM/DER, PKCS#1, PKCS#8, SEC1), signing through `ring`.
//! - [`cert`]: X.509 certificates (RustCrypto `x509-cert`), verification through `ring`.
//! - [`pkcs11`]: RSA and EC keys on PKCS#11 tokens named by `pkcs11:` URIs (the `cryptoki` crate).
//! - [`pkcs7`]: the detached CMS SignedData, byte-identical to `scripts/sign-file`'s.
//! - [`module`]: the appended-signature frame; sign a module, verify one as the kernel does.
//! - [`keyring`], [`image`]: trusted certificates from files, directories, kernel images,
//!   EFI signature lists and edk2 varstores.
//! - [`keygen`]: a new key and a certificate fit for module signing.
//! - [`tree`]: whole trees of modules in parallel (rayon), with atomic file replacement.
//!
//! Choice of crates, and why:
//! - **ring** for every private-key operation. Its RSA PKCS#1 v1.5 and ECDSA signing are
//!   constant-time; the pure-Rust `rsa` crate's private-key operations are not (RUSTSEC-2023-0071,
//!   the Marvin attack), so `rsa` is used only to generate RSA keys, a one-off local
//!   operation with no oracle for an attacker to time. `aws-lc-rs` would also do, but needs
//!   cmake and a much longer build on the project's 2-core machines. ring signs ECDSA only
//!   with the curve's own hash (P-256/sha256, P-384/sha384); other pairings are refused with
//!   a clear error rather than done by a second, unaudited code path.
//! - **RustCrypto `der`, `x509-cert`, `cms`, `spki`, `pkcs1`, `pkcs8`, `sec1`** for the ASN.1:
//!   typed structures that encode canonical DER, so sign-file's bytes can be reproduced
//!   exactly. `cms`'s SignerInfo builder always adds signed attributes (which the kernel
//!   rejects on modules), so [`pkcs7`] assembles the SignerInfo from `cms`'s types.
//! - **flate2, liblzma, zstd, bzip2, lz4_flex** to open every compression a kernel image or
//!   module may use.
//!
//! File I/O lives only in [`keyring`] (reading sources), [`keygen`] (key files 0600) and
//! [`tree`] (atomic writes); the rest works on bytes.

pub mod algo;
pub mod cert;
pub mod error;
pub mod hash;
pub mod hex;
pub mod image;
pub mod key;
pub mod keygen;
pub mod keyring;
pub mod module;
pub mod pkcs11;
pub mod pkcs7;

pub use algo::{Curve, KeyAlgo};
pub use cert::Cert;
pub use error::Error;
pub use hash::HashAlgo;
pub use key::PrivateKey;
pub use keyring::{Keyring, SourceKind, TrustedCert};
pub use module::{Failure, ModuleSigner, SigningKey, Verified};
pub use pkcs7::SignerId;

#[cfg(test)]
mod tests;
