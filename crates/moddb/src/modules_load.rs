//! modules-load.d (systemd's `modules-load.d(5)`, what `systemd-modules-load` reads at boot):
//! the modules a system loads unconditionally. Every `*.conf` file of the directories below,
//! where a file name in an earlier directory hides the same name in a later one, read in
//! file-name order; one module name per line, lines starting with `#` or `;` are comments.
//! The kernel command line adds `modules_load=` and `rd.modules_load=` (comma-separated).
//! Debian's `/etc/modules` is read through its `/etc/modules-load.d/modules.conf` link.

use std::path::{Path, PathBuf};

/// The directories, highest priority first (relative to the root, as systemd searches them).
pub const DIRS: [&str; 5] = [
    "etc/modules-load.d",
    "run/modules-load.d",
    "usr/local/lib/modules-load.d",
    "usr/lib/modules-load.d",
    "lib/modules-load.d",
];

/// One module to load, and where it was asked for (`file:line`, or `kernel command line`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Listed {
    pub name: String,
    pub origin: String,
}

/// The modules listed under `root` (`/` for the running system) and on `cmdline`, in the
/// order systemd-modules-load loads them: the kernel command line first, then the files.
pub fn listed(root: &Path, cmdline: Option<&[u8]>) -> Vec<Listed> {
    let mut out = Vec::new();
    if let Some(c) = cmdline {
        out.extend(from_cmdline(&String::from_utf8_lossy(c)));
    }
    for file in config_files(root) {
        if let Ok(text) = std::fs::read_to_string(&file) {
            out.extend(parse(&file.display().to_string(), &text));
        }
    }
    out
}

/// The `*.conf` files in effect, in file-name order.
pub fn config_files(root: &Path) -> Vec<PathBuf> {
    let dirs: Vec<PathBuf> = DIRS.iter().map(|d| root.join(d)).collect();
    crate::confdir::files(Vec::new(), &dirs, &[".conf"], &mut |_| {})
}

/// One file's module names.
pub fn parse(file: &str, text: &str) -> Vec<Listed> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let l = line.trim();
            (!l.is_empty() && !l.starts_with('#') && !l.starts_with(';')).then(|| Listed {
                name: l.to_string(),
                origin: format!("{file}:{}", i + 1),
            })
        })
        .collect()
}

/// `modules_load=a,b` and `rd.modules_load=c` on the kernel command line.
pub fn from_cmdline(cmdline: &str) -> Vec<Listed> {
    cmdline
        .split_ascii_whitespace()
        .filter_map(|w| {
            w.strip_prefix("modules_load=")
                .or_else(|| w.strip_prefix("rd.modules_load="))
        })
        .flat_map(|v| v.split(','))
        .filter(|m| !m.is_empty())
        .map(|m| Listed {
            name: m.to_string(),
            origin: "kernel command line".into(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_order_comments_and_cmdline() {
        let root = tempfile::tempdir().unwrap();
        let w = |rel: &str, text: &str| {
            let p = root.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        w("usr/lib/modules-load.d/b.conf", "hidden\n");
        w(
            "etc/modules-load.d/b.conf",
            "# comment\n; also\n\n  loop  \n",
        );
        w("lib/modules-load.d/a.conf", "dummy\n");
        w("etc/modules-load.d/c.txt", "ignored\n");
        let got = listed(
            root.path(),
            Some(b"quiet modules_load=vfat,fat rd.modules_load=nls_cp437"),
        );
        let names: Vec<&str> = got.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["vfat", "fat", "nls_cp437", "dummy", "loop"]);
        assert!(
            got[4].origin.ends_with("etc/modules-load.d/b.conf:4"),
            "{:?}",
            got[4]
        );
    }
}
