//! Installed kernel headers: which releases have them, and what they say about the kernel
//! (its release string, its exported symbols and their CRCs from `Module.symvers`, its
//! config).

use crate::{Error, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One kernel's headers (the directory `make -C` is pointed at).
#[derive(Clone, Debug)]
pub struct Headers {
    pub release: String,
    pub dir: PathBuf,
}

/// A symbol exported by the kernel or one of its modules (`Module.symvers`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    pub crc: u32,
    pub module: String,
    pub kind: String,
}

impl Headers {
    /// The headers for `release` under the module root (normally `/lib/modules`), or
    /// `dir` when given explicitly.
    pub fn find(release: &str, modules_root: &Path, dir: Option<&Path>) -> Result<Headers> {
        let dir = match dir {
            Some(d) => d.to_path_buf(),
            None => modules_root.join(release).join("build"),
        };
        if !dir.join("Makefile").is_file() {
            return Err(Error::NoHeaders {
                release: release.to_string(),
                dir,
            });
        }
        Ok(Headers {
            release: release.to_string(),
            dir,
        })
    }

    /// Every release under `modules_root` that has headers (`<release>/build/Makefile`), sorted.
    pub fn installed(modules_root: &Path) -> Vec<Headers> {
        let mut out: Vec<Headers> = std::fs::read_dir(modules_root)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let release = e.file_name().to_string_lossy().into_owned();
                Headers::find(&release, modules_root, None).ok()
            })
            .collect();
        out.sort_by(|a, b| a.release.cmp(&b.release));
        out
    }

    /// `UTS_RELEASE` from `include/generated/utsrelease.h`: the release the headers build for.
    pub fn uts_release(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.dir.join("include/generated/utsrelease.h")).ok()?;
        let line = text
            .lines()
            .find(|l| l.starts_with("#define UTS_RELEASE"))?;
        let start = line.find('"')? + 1;
        let end = line[start..].find('"')? + start;
        Some(line[start..end].to_string())
    }

    /// `Module.symvers`: symbol -> export.
    pub fn symvers(&self) -> Result<HashMap<String, Export>> {
        let path = self.dir.join("Module.symvers");
        let text = std::fs::read_to_string(&path).map_err(Error::io(&path))?;
        let mut out = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let mut f = line.split('\t');
            let (Some(crc), Some(sym), Some(module), Some(kind)) =
                (f.next(), f.next(), f.next(), f.next())
            else {
                return Err(Error::Invalid(format!(
                    "{}:{}: expected crc, symbol, module, export type",
                    path.display(),
                    n + 1
                )));
            };
            let crc = u32::from_str_radix(crc.trim_start_matches("0x"), 16).map_err(|_| {
                Error::Invalid(format!("{}:{}: bad CRC '{crc}'", path.display(), n + 1))
            })?;
            out.insert(
                sym.to_string(),
                Export {
                    crc,
                    module: module.to_string(),
                    kind: kind.to_string(),
                },
            );
        }
        Ok(out)
    }

    /// A `CONFIG_...` value from the headers' `.config` (quotes removed).
    pub fn config(&self, key: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.dir.join(".config")).ok()?;
        let prefix = format!("{key}=");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(|v| v.trim_matches('"').to_string())
    }
}
