//! What the running kernel says about its modules: `/proc/modules`, `/sys/module/*`,
//! `/proc/sys/kernel/tainted`. All paths are relative to a root (normally `/`).

use std::io;
use std::path::{Path, PathBuf};

/// One line of `/proc/modules`:
/// `name size refcnt deps state address [(taint)]`, deps being `a,b,` or `-`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcModule {
    pub name: String,
    pub size: u64,
    pub refcnt: i64,
    pub used_by: Vec<String>,
    pub state: String,
    pub address: String,
    /// The taint letters in parentheses, without them ("OE"); empty when untainted.
    pub taint: String,
}

/// Parses `/proc/modules`; a line that does not fit is an error naming its number.
pub fn parse_proc_modules(text: &str) -> Result<Vec<ProcModule>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let bad = || format!("/proc/modules:{}: unexpected line {line:?}", i + 1);
        if f.len() < 6 {
            return Err(bad());
        }
        let used_by = if f[3] == "-" {
            Vec::new()
        } else {
            f[3].split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let taint = f
            .get(6)
            .map(|t| t.trim_start_matches('(').trim_end_matches(')').to_string())
            .unwrap_or_default();
        out.push(ProcModule {
            name: f[0].to_string(),
            size: f[1].parse().map_err(|_| bad())?,
            refcnt: f[2].parse().map_err(|_| bad())?,
            used_by,
            state: f[4].to_string(),
            address: f[5].to_string(),
            taint,
        });
    }
    Ok(out)
}

/// A module's state as `/sys/module/NAME/initstate` tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitState {
    /// `/sys/module/NAME` exists without `initstate`: built into the kernel.
    Builtin,
    Live,
    Coming,
    Going,
    /// Not in `/sys/module`.
    NotLoaded,
}

/// The kernel's module state under a root directory.
#[derive(Clone, Debug)]
pub struct Sys {
    root: PathBuf,
}

impl Default for Sys {
    fn default() -> Self {
        Sys {
            root: PathBuf::from("/"),
        }
    }
}

fn read_trim(p: &Path) -> io::Result<String> {
    Ok(std::fs::read_to_string(p)?.trim_end().to_string())
}

impl Sys {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Sys { root: root.into() }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    fn module_dir(&self, name: &str) -> PathBuf {
        self.path("sys/module").join(name)
    }

    /// `/proc/modules`, in the kernel's order (most recently loaded first).
    pub fn proc_modules(&self) -> io::Result<Vec<ProcModule>> {
        let p = self.path("proc/modules");
        let text = std::fs::read_to_string(&p)?;
        parse_proc_modules(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// `/sys/module/NAME/holders`, in directory order (as kmod lists them).
    pub fn holders(&self, name: &str) -> io::Result<Vec<String>> {
        let dir = self.module_dir(name).join("holders");
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir)? {
            out.push(e?.file_name().to_string_lossy().into_owned());
        }
        Ok(out)
    }

    /// `/sys/module/NAME/refcnt`.
    pub fn refcnt(&self, name: &str) -> io::Result<i64> {
        let p = self.module_dir(name).join("refcnt");
        read_trim(&p)?.parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not a number", p.display()),
            )
        })
    }

    pub fn initstate(&self, name: &str) -> InitState {
        let dir = self.module_dir(name);
        match read_trim(&dir.join("initstate")).as_deref() {
            Ok("live") => InitState::Live,
            Ok("coming") => InitState::Coming,
            Ok("going") => InitState::Going,
            _ if dir.is_dir() => InitState::Builtin,
            _ => InitState::NotLoaded,
        }
    }

    /// `/sys/module/NAME/sections/*`: each section's name and load address, in directory
    /// order (e.g. `.init.text`; the kernel keeps these after it frees init code). `Err`
    /// when the directory cannot be read (module not loaded, or not root: the addresses are
    /// readable by root only); entries that are not a number are skipped.
    pub fn sections(&self, name: &str) -> io::Result<Vec<(String, u64)>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(self.module_dir(name).join("sections"))? {
            let e = e?;
            let Ok(text) = read_trim(&e.path()) else {
                continue;
            };
            let t = text.trim();
            let addr = match t.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => t.parse().ok(),
            };
            if let Some(a) = addr {
                out.push((e.file_name().to_string_lossy().into_owned(), a));
            }
        }
        Ok(out)
    }

    /// `/sys/module/NAME/notes/NOTE` (e.g. `.note.gnu.build-id`): the note's raw bytes as
    /// the kernel exports them (root only).
    pub fn note(&self, name: &str, note: &str) -> io::Result<Vec<u8>> {
        std::fs::read(self.module_dir(name).join("notes").join(note))
    }

    /// `/proc/sys/kernel/tainted`.
    pub fn tainted(&self) -> io::Result<u64> {
        let p = self.path("proc/sys/kernel/tainted");
        read_trim(&p)?.parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not a number", p.display()),
            )
        })
    }

    /// Modules with a non-empty `/sys/module/*/taint`, sorted by name.
    pub fn module_taints(&self) -> io::Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(self.path("sys/module"))? {
            let e = e?;
            if let Ok(t) = read_trim(&e.path().join("taint")) {
                if !t.is_empty() {
                    out.push((e.file_name().to_string_lossy().into_owned(), t));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// `/sys/module/NAME/ATTR` (e.g. `version`, `srcversion`, `coresize`, `taint`,
    /// `parameters/sig_enforce`), without its trailing newline. `Err` when it cannot be read
    /// (a module without `MODULE_VERSION` has no `version`).
    pub fn module_attr(&self, name: &str, attr: &str) -> io::Result<String> {
        read_trim(&self.module_dir(name).join(attr))
    }

    /// `/sys/module/NAME/coresize`: bytes of the module's core sections.
    pub fn coresize(&self, name: &str) -> io::Result<u64> {
        let p = self.module_dir(name).join("coresize");
        read_trim(&p)?.parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not a number", p.display()),
            )
        })
    }

    /// `/proc/keys`: the keys this process may view (the kernel's trusted keyrings and their
    /// asymmetric keys among them), as text.
    pub fn proc_keys(&self) -> io::Result<String> {
        std::fs::read_to_string(self.path("proc/keys"))
    }

    /// `/sys/kernel/security/lockdown` (`[none] integrity confidentiality`, the one in force
    /// in brackets); `Err` without securityfs or lockdown support.
    pub fn lockdown(&self) -> io::Result<String> {
        read_trim(&self.path("sys/kernel/security/lockdown"))
    }

    /// An EFI variable's data from efivarfs (`/sys/firmware/efi/efivars/NAME-GUID`), without
    /// the 4 attribute bytes efivarfs puts first.
    pub fn efi_variable(&self, name: &str, guid: &str) -> io::Result<Vec<u8>> {
        let p = self
            .path("sys/firmware/efi/efivars")
            .join(format!("{name}-{guid}"));
        let mut bytes = std::fs::read(&p)?;
        if bytes.len() < 4 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: shorter than its 4 attribute bytes", p.display()),
            ));
        }
        bytes.drain(..4);
        Ok(bytes)
    }

    /// `/sys/module/compression`: the method the kernel decompresses modules with, if any.
    pub fn compression(&self) -> Option<String> {
        read_trim(&self.path("sys/module/compression")).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_modules_lines() {
        let t = "hello 16384 0 - Live 0xffffffffc0201000 (OE)\n\
                 dep_a 16384 1 dep_b, Live 0xffffffffc01f0000\n";
        let m = parse_proc_modules(t).unwrap();
        assert_eq!(m[0].name, "hello");
        assert_eq!(m[0].taint, "OE");
        assert!(m[0].used_by.is_empty());
        assert_eq!(m[1].used_by, vec!["dep_b"]);
        assert_eq!(m[1].refcnt, 1);
        assert!(parse_proc_modules("x y\n").unwrap_err().contains(":1:"));
    }
}
