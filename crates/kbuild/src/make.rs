//! Running Kbuild for one kernel release: `make -C <headers> M=<dir> modules`, in a private
//! copy of the sources per release so that builds for several kernels can run side by side
//! and their results stay apart.

use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The result of a successful build.
#[derive(Clone, Debug)]
pub struct Built {
    pub release: String,
    /// The per-release build directory.
    pub dir: PathBuf,
    /// The `.ko` files Kbuild produced, sorted.
    pub modules: Vec<PathBuf>,
    /// The complete compiler output.
    pub log: PathBuf,
}

/// Copy `src` into `dst` (created), skipping hidden entries and `skip` (the output root).
pub fn copy_tree(src: &Path, dst: &Path, skip: &Path) -> Result<()> {
    std::fs::create_dir_all(dst).map_err(Error::io(dst))?;
    for entry in std::fs::read_dir(src).map_err(Error::io(src))? {
        let entry = entry.map_err(Error::io(src))?;
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') || path == skip {
            continue;
        }
        let target = dst.join(&name);
        let ft = entry.file_type().map_err(Error::io(&path))?;
        if ft.is_dir() {
            copy_tree(&path, &target, skip)?;
        } else if ft.is_file() {
            std::fs::copy(&path, &target).map_err(Error::io(&path))?;
        } else if ft.is_symlink() {
            let to = std::fs::read_link(&path).map_err(Error::io(&path))?;
            std::os::unix::fs::symlink(&to, &target).map_err(Error::io(&target))?;
        }
    }
    Ok(())
}

/// Every `*.ko` under `dir`, sorted.
pub fn find_modules(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(t) if t.is_file() && p.extension().is_some_and(|x| x == "ko") => out.push(p),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// The compiler output with the first error line marked `==>`, trimmed to what matters:
/// everything up to 20 lines after the first error (or the last 40 lines when no line
/// says "error").
pub fn excerpt(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    let first = lines
        .iter()
        .position(|l| l.contains("error:") || l.contains("Error ") || l.contains("*** "));
    let mut out = String::new();
    match first {
        Some(i) => {
            let start = i.saturating_sub(10);
            for (n, l) in lines
                .iter()
                .enumerate()
                .take((i + 20).min(lines.len()))
                .skip(start)
            {
                out.push_str(if n == i { "==> " } else { "    " });
                out.push_str(l);
                out.push('\n');
            }
        }
        None => {
            for l in &lines[lines.len().saturating_sub(40)..] {
                out.push_str("    ");
                out.push_str(l);
                out.push('\n');
            }
        }
    }
    out
}

/// Build the module sources in `src` for kernel `release` with its `headers` (the `make -C`
/// directory) in `out` (replaced).
pub fn build(src: &Path, release: &str, headers: &Path, out: &Path, jobs: usize) -> Result<Built> {
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(Error::io(out))?;
    }
    let skip = out
        .ancestors()
        .find(|a| a.parent() == Some(src))
        .unwrap_or(out)
        .to_path_buf();
    copy_tree(src, out, &skip)?;
    let log = out.join("make.log");
    let log_file = std::fs::File::create(&log).map_err(Error::io(&log))?;
    let log_err = log_file.try_clone().map_err(Error::io(&log))?;
    let status = Command::new("make")
        .arg("-C")
        .arg(headers)
        .arg(format!("M={}", out.display()))
        .arg(format!("-j{}", jobs.max(1)))
        .arg("modules")
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err)
        .status()
        .map_err(Error::io("make"))?;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    if !status.success() {
        return Err(Error::BuildFailed {
            release: release.to_string(),
            status: status.code().map_or("signal".into(), |c| c.to_string()),
            log,
            excerpt: excerpt(&text),
        });
    }
    let modules = find_modules(out);
    if modules.is_empty() {
        return Err(Error::BuildFailed {
            release: release.to_string(),
            status: "0, but no .ko was produced".into(),
            log,
            excerpt: excerpt(&text),
        });
    }
    Ok(Built {
        release: release.to_string(),
        dir: out.to_path_buf(),
        modules,
        log,
    })
}
