//! depmod.d configuration (tools/depmod.c `cfg_*`): `search`, `override`, `external`,
//! `exclude`. kmod keeps each list by prepending, so every list here is stored in kmod's
//! iteration order (last declared first).

use super::Log;
use std::path::{Path, PathBuf};

pub const DEFAULT_PATHS: [&str; 4] = [
    "/etc/depmod.d",
    "/run/depmod.d",
    "/usr/local/lib/depmod.d",
    "/lib/depmod.d",
];

/// kmod 34's (Debian 13's build): its distribution directory `/usr/lib` before `/lib`.
pub const DEFAULT_PATHS_34: [&str; 5] = [
    "/etc/depmod.d",
    "/run/depmod.d",
    "/usr/local/lib/depmod.d",
    "/usr/lib/depmod.d",
    "/lib/depmod.d",
];

/// The default depmod.d directories of `kmod`.
pub fn default_paths(kmod: crate::Kmod) -> &'static [&'static str] {
    match kmod {
        crate::Kmod::V30 => &DEFAULT_PATHS,
        crate::Kmod::V34 => &DEFAULT_PATHS_34,
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Search {
    Path(String),
    Builtin,
    External,
}

#[derive(Clone, Debug, Default)]
pub struct Cfg {
    pub searches: Vec<Search>,
    /// `subdir/modname`.
    pub overrides: Vec<String>,
    pub externals: Vec<String>,
    pub excludes: Vec<String>,
}

/// `cfg_kernel_matches`: `*` or an extended regular expression found in the release.
fn kernel_matches(kversion: &str, pattern: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    regex::Regex::new(pattern).is_ok_and(|re| re.is_match(kversion))
}

/// kmod's `freadline_wrapped`: lines joined across a trailing backslash, with the number of
/// the first physical line.
pub fn wrapped_lines(text: &[u8]) -> Vec<(usize, Vec<u8>)> {
    let mut out = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut start = 0;
    let mut n = 0;
    let mut pieces = text.split(|&b| b == b'\n').peekable();
    while let Some(l) = pieces.next() {
        if pieces.peek().is_none() && l.is_empty() {
            break;
        }
        n += 1;
        if cur.is_empty() {
            start = n;
        }
        if let Some(stripped) = l.strip_suffix(b"\\") {
            cur.extend_from_slice(stripped);
            continue;
        }
        cur.extend_from_slice(l);
        out.push((start, std::mem::take(&mut cur)));
    }
    if !cur.is_empty() {
        out.push((start, cur));
    }
    out
}

impl Cfg {
    fn parse_file(&mut self, kversion: &str, file: &Path, log: &mut Log<'_>) {
        let text = match std::fs::read(file) {
            Ok(t) => t,
            Err(e) => {
                log.err(format!(
                    "file parse {}: {}\n",
                    file.display(),
                    super::strerror(&e)
                ));
                return;
            }
        };
        let f = file.display();
        for (n, line) in wrapped_lines(&text) {
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let line = String::from_utf8_lossy(&line);
            let mut w = line.split([' ', '\t']).filter(|s| !s.is_empty());
            let Some(cmd) = w.next() else { continue };
            match cmd {
                "search" => {
                    for sp in w {
                        let s = match sp {
                            "built-in" => Search::Builtin,
                            "external" => Search::External,
                            p => Search::Path(p.to_string()),
                        };
                        self.searches.insert(0, s);
                    }
                }
                "override" => {
                    let (Some(m), Some(v), Some(d)) = (w.next(), w.next(), w.next()) else {
                        log.err(format!(
                            "{f}:{n}: ignoring bad line starting with '{cmd}'\n"
                        ));
                        continue;
                    };
                    if !kernel_matches(kversion, v) {
                        log.info(format!("{f}:{n}: override kernel did not match {v}\n"));
                        continue;
                    }
                    self.overrides.insert(0, format!("{d}/{m}"));
                }
                "external" => {
                    let (Some(v), Some(d)) = (w.next(), w.next()) else {
                        log.err(format!(
                            "{f}:{n}: ignoring bad line starting with '{cmd}'\n"
                        ));
                        continue;
                    };
                    if !kernel_matches(kversion, v) {
                        log.info(format!("{f}:{n}: external directory did not match {v}\n"));
                        continue;
                    }
                    self.externals.insert(0, d.to_string());
                }
                "exclude" => {
                    for e in w {
                        self.excludes.insert(0, e.to_string());
                    }
                }
                "include" | "make_map_files" => {
                    log.info(format!("{f}:{n}: command {cmd} not implemented yet\n"));
                }
                _ => log.err(format!(
                    "{f}:{n}: ignoring bad line starting with '{cmd}'\n"
                )),
            }
        }
    }

    /// `cfg_load`: files from every path (a directory's `*.conf`, or the file itself), sorted
    /// by base name with the first of equal names winning, parsed in that order.
    pub fn load(kversion: &str, paths: &[PathBuf], log: &mut Log<'_>) -> Cfg {
        use crate::confdir::Note;
        let files = crate::confdir::files(Vec::new(), paths, &[".conf"], &mut |n| match n {
            Note::Unlisted(p) => {
                log.err(format!("files list {}: Permission denied\n", p.display()))
            }
            Note::WrongName { dir, name } => log.info(format!(
                "All cfg files need .conf: {}/{}\n",
                dir.display(),
                name.to_string_lossy()
            )),
            Note::Directory { dir, name } => log.err(format!(
                "Directories inside directories are not supported: {}/{}\n",
                dir.display(),
                name.to_string_lossy()
            )),
        });
        let mut cfg = Cfg::default();
        for f in &files {
            cfg.parse_file(kversion, f, log);
        }
        if cfg.searches.is_empty() {
            cfg.searches.push(Search::Path("updates".into()));
        }
        cfg
    }
}
