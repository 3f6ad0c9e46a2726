//! The two kernels Debian 12 ships, for the tests that boot them with `kmodkit vm`: its own
//! 6.1 (`scripts/corpus`, plain `.ko` modules) and 6.12 (`scripts/corpus --series 6.12`,
//! `.ko.xz` modules, in-kernel decompression, module BTF). Each test runs once per kernel
//! (`..._6_1` and `..._6_12`), so a failure names the kernel it happened on.
//!
//! A kernel whose package cannot be had, or whose headers are not installed when a test
//! builds modules, is a skip with a printed reason (a failure under CI, see testsupport).

#![allow(dead_code)] // each test file uses part of it

use std::path::{Path, PathBuf};
use std::process::Command;
use testsupport::{Corpus, Requirement};

/// One of Debian 12's kernels, unpacked in the cache.
#[derive(Clone, Debug)]
pub struct Kernel {
    /// `"6.1"` or `"6.12"`.
    pub series: &'static str,
    pub corpus: Corpus,
}

impl Kernel {
    pub fn release(&self) -> &str {
        &self.corpus.release
    }

    /// `boot/vmlinuz-<release>` of the package.
    pub fn image(&self) -> PathBuf {
        self.corpus
            .root
            .join("boot")
            .join(format!("vmlinuz-{}", self.corpus.release))
    }

    /// `/lib/modules/<release>/build`, the installed headers.
    pub fn headers(&self) -> PathBuf {
        Path::new("/lib/modules")
            .join(&self.corpus.release)
            .join("build")
    }

    /// A `CONFIG_` value from the package's `boot/config-<release>` (quotes removed).
    pub fn config(&self, key: &str) -> Option<String> {
        let text = std::fs::read_to_string(
            self.corpus
                .root
                .join("boot")
                .join(format!("config-{}", self.corpus.release)),
        )
        .ok()?;
        let prefix = format!("{key}=");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(|v| v.trim_matches('"').to_string())
    }
}

/// The kernel of `series` ("6.1": the distribution's default; "6.12": the newer series), or
/// `None` after a skip. Also needs QEMU and busybox.
pub fn kernel(series: &'static str) -> Option<Kernel> {
    let corpus = match series {
        "6.1" => testsupport::corpus("amd64")?,
        other => series_corpus(other)?,
    };
    for tool in ["qemu-system-x86_64", "busybox"] {
        if !testsupport::have_tool(tool) {
            return None;
        }
    }
    Some(Kernel { series, corpus })
}

/// [`kernel`], when its headers are installed (for tests that build modules).
pub fn kernel_with_headers(series: &'static str) -> Option<Kernel> {
    let k = kernel(series)?;
    if !k.headers().join("Makefile").is_file() {
        testsupport::skip(
            Requirement::Corpus,
            &format!(
                "linux-headers-{} is not installed (scripts/setup installs it)",
                k.release()
            ),
        );
        return None;
    }
    Some(k)
}

fn series_corpus(series: &str) -> Option<Corpus> {
    let script = testsupport::repo_root().join("scripts/corpus");
    let out = match Command::new(&script).args(["--series", series]).output() {
        Ok(o) => o,
        Err(e) => {
            testsupport::skip(
                Requirement::Corpus,
                &format!("cannot run {}: {e}", script.display()),
            );
            return None;
        }
    };
    if !out.status.success() {
        testsupport::skip(
            Requirement::Corpus,
            &format!(
                "scripts/corpus --series {series} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        );
        return None;
    }
    let root = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let release = std::fs::read_dir(root.join("lib/modules"))
        .into_iter()
        .flatten()
        .flatten()
        .find(|e| e.path().join("kernel").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned());
    match release {
        Some(release) => Some(Corpus { root, release }),
        None => {
            testsupport::skip(
                Requirement::Corpus,
                &format!("{}: no lib/modules/<release>/kernel", root.display()),
            );
            None
        }
    }
}
