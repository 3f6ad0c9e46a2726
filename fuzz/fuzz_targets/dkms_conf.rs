//! What `dkms.conf` handling does after bash has sourced the file: the variables bash printed
//! (`name NUL index NUL value NUL`, arrays sparse or not) through DKMS's defaults and checks,
//! including the user's MAKE_MATCH / PATCH_MATCH / BUILD_EXCLUSIVE_* regular expressions
//! against the kernel release and architecture. Bash itself is not run: sourcing random bytes
//! would execute them. Errors are fine, panics are not.
#![no_main]

use kbuild::conf::{interpret, ConfVars};
use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};

fuzz_target!(|data: &[u8]| {
    // Up to the first newline: "kernelver arch" (so the regexes meet varied releases);
    // the rest is bash's output. First byte's low bit: Debian's DEST_MODULE_LOCATION override.
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (head, evaluated) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&b"6.1.0-56-amd64 x86_64"[..], rest),
    };
    let head = String::from_utf8_lossy(head);
    let (k, a) = head.split_once(' ').unwrap_or((&head, "x86_64"));
    let v = ConfVars {
        kernelver: k.to_string(),
        arch: a.to_string(),
        kernel_source_dir: PathBuf::from("/nonexistent/kmodkit-fuzz/build"),
        dkms_tree: PathBuf::from("/var/lib/dkms"),
        source_tree: PathBuf::from("/usr/src"),
        install_tree: PathBuf::from("/lib/modules"),
        module: "fuzzmod".into(),
        module_version: "1.0".into(),
    };
    if let Ok(c) = interpret(
        evaluated,
        Path::new("/usr/src/fuzzmod-1.0/dkms.conf"),
        &v,
        flags & 1 == 1,
    ) {
        assert!(!c.modules.is_empty());
        for m in &c.modules {
            assert!(m.built_location.is_empty() || m.built_location.ends_with('/'));
        }
    }
});
