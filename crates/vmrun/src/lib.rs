//! Throwaway real kernels: an initramfs writer and a QEMU boot harness.
//!
//! The host may have no module support at all (CI machines often don't), so everything
//! that claims kernel behaviour runs inside a real kernel booted under QEMU. This crate
//! builds the initramfs itself (a cpio newc writer, [`cpio`]) from busybox, the kmodkit
//! binary (installed under the kmod tool names, so the tools inside are ours) and whatever
//! the caller adds; it boots QEMU with three serial ports and runs one shell command:
//!
//! - `ttyS0` is the kernel console, captured to a file; the guest's init writes the
//!   command's exit status there as a marker line carrying a per-run nonce;
//! - `ttyS1` is the command's stdout and `ttyS2` its stderr, set to raw mode so bytes
//!   arrive unchanged, and written by QEMU straight to this process's stdout and stderr
//!   (streamed, not buffered until the end).
//!
//! The kmodkit binary goes in as it is: a static build (`-C target-feature=+crt-static`)
//! alone, an ordinary dynamic build with the shared libraries and loader `ldd` names
//! (glibc, libgcc_s: the compression libraries are linked in statically by their crates).
//! Carrying the libraries was chosen so that `cargo build` and `cargo test` binaries work
//! without a second, static build of the whole workspace; either way the binary is cut to
//! its loadable segments first ([`run::strip_to_segments`]: a 69 MiB debug build becomes
//! 6 MiB), which the guest would otherwise have to unpack under emulation.
//!
//! Debian's busybox-static prefers its own applets to PATH, so the guest's shell gets
//! functions that send `insmod`, `lsmod`, ... to kmodkit (see [`run::guest_system`]).
//!
//! A kernel that panics (`panic=-1` plus `-no-reboot` makes QEMU exit), hangs (killed at
//! the timeout) or powers off without a marker is reported as such, never as success.
//!
//! It uses TCG, QEMU's software emulation: on the machines this was written on, `/dev/kvm`
//! belongs to a paravirtualised host and Debian's kernel hangs under it. `Accel::Kvm` is
//! there for machines where it works.

pub mod cpio;
pub mod firmware;
pub mod initramfs;
pub mod kernel;
pub mod modules;
pub mod run;
pub mod vmlinux;

pub use initramfs::Initramfs;
pub use run::{Outcome, Vm};

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing the initramfs: {0}")]
    Write(std::io::Error),
    #[error("invalid guest path {0:?} (must be absolute, without '..')")]
    BadGuestPath(String),
    #[error("guest path {0} is a file, not a directory")]
    NotADirectory(String),
    #[error("{0}: not a regular file")]
    NotAFile(PathBuf),
    #[error("{0}")]
    NotFound(String),
    #[error("{path}: {what}")]
    Format { path: PathBuf, what: String },
    #[error("{cmd}: {what}")]
    Tool { cmd: String, what: String },
}

impl Error {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Finds a program on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
