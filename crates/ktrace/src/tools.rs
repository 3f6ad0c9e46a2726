//! The tools of `kmodkit trace --tool NAME`: bpftrace's own tools where bpftrace's package
//! installed them (Debian: `/usr/sbin/NAME.bt`; upstream's `make install`:
//! `/usr/share/bpftrace/tools/NAME.bt`), read from there and run as bpftrace runs them;
//! then a few classic tools bundled as scripts of this language, for systems without
//! bpftrace. bpftrace's scripts are not copied here: the installed file is the tool.
//! The bundled ones are ordinary scripts: `bpftrace FILE` runs the same text, which is how
//! they are tested.

use std::path::{Path, PathBuf};

/// (name, script) of every bundled tool.
pub const TOOLS: &[(&str, &str)] = &[
    ("execsnoop", include_str!("../tools/execsnoop.bt")),
    ("killsnoop", include_str!("../tools/killsnoop.bt")),
    ("opensnoop", include_str!("../tools/opensnoop.bt")),
    ("readlat", include_str!("../tools/readlat.bt")),
    ("syscount", include_str!("../tools/syscount.bt")),
];

/// Where bpftrace's packages install its tools, searched in this order.
pub const TOOL_DIRS: &[&str] = &["/usr/sbin", "/usr/share/bpftrace/tools"];

/// The script of bundled tool `name`.
pub fn tool(name: &str) -> Option<&'static str> {
    TOOLS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// An installed bpftrace tool `name`: the first `DIR/NAME.bt` of [`TOOL_DIRS`].
pub fn installed(name: &str) -> Option<PathBuf> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return None;
    }
    installed_in(TOOL_DIRS.iter().map(Path::new), name)
}

fn installed_in<'a>(dirs: impl Iterator<Item = &'a Path>, name: &str) -> Option<PathBuf> {
    dirs.map(|d| d.join(format!("{name}.bt")))
        .find(|p| p.is_file())
}

/// A tool's script and the name its diagnostics show: the installed file, else the bundled
/// script.
pub fn locate(name: &str) -> Option<(String, String)> {
    if let Some(p) = installed(name) {
        if let Ok(text) = std::fs::read_to_string(&p) {
            return Some((text, p.display().to_string()));
        }
    }
    tool(name).map(|s| (s.to_string(), format!("tool:{name}")))
}

/// Every tool: (name, description, where it comes from), installed ones first, sorted.
pub fn list() -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    for d in TOOL_DIRS {
        let Ok(rd) = std::fs::read_dir(d) else {
            continue;
        };
        let mut names: Vec<String> = rd
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(".bt").map(str::to_string))
            .collect();
        names.sort();
        for n in names {
            if out.iter().any(|(m, _, _)| *m == n) {
                continue;
            }
            let path = Path::new(d).join(format!("{n}.bt"));
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            out.push((n, describe_installed(&text), path.display().to_string()));
        }
    }
    for (n, s) in TOOLS {
        if !out.iter().any(|(m, _, _)| m == n) {
            out.push((n.to_string(), describe(s).to_string(), "bundled".into()));
        }
    }
    out
}

/// What each bundled tool does: its first comment line, after `// NAME: `.
pub fn describe(script: &str) -> &str {
    let first = script.lines().next().unwrap_or("");
    let text = first.strip_prefix("// ").unwrap_or("");
    text.split_once(": ").map_or(text, |(_, d)| d)
}

/// What an installed bpftrace tool does: the text after its name on the first line of its
/// header comment (` * opensnoop\tTrace open() syscalls.`).
pub fn describe_installed(script: &str) -> String {
    script
        .lines()
        .find_map(|l| {
            let l = l.trim_start().strip_prefix('*')?.trim();
            let (_, d) = l.split_once(char::is_whitespace)?;
            let d = d.trim();
            (!d.is_empty()).then(|| d.to_string())
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_parses_and_describes_itself() {
        for (name, src) in TOOLS {
            assert!(src.starts_with(&format!("// {name}: ")), "{name}");
            assert!(!describe(src).is_empty());
            crate::parser::parse(src).unwrap_or_else(|d| panic!("{}", d.render(name, src)));
        }
        assert!(tool("opensnoop").is_some());
        assert!(tool("nosuch").is_none());
    }

    #[test]
    fn installed_tools_are_found_by_name_only() {
        let d = std::env::temp_dir().join(format!("ktrace-tools-{}", std::process::id()));
        std::fs::create_dir_all(d.join("b")).unwrap();
        std::fs::write(d.join("b/x.bt"), "BEGIN {}").unwrap();
        let dirs = [d.join("a"), d.join("b")];
        assert_eq!(
            installed_in(dirs.iter().map(|p| p.as_path()), "x"),
            Some(d.join("b/x.bt"))
        );
        assert_eq!(installed_in(dirs.iter().map(|p| p.as_path()), "y"), None);
        assert_eq!(installed("../etc/passwd"), None);
        std::fs::remove_dir_all(&d).unwrap();
        assert_eq!(
            describe_installed(
                "#!/usr/bin/env bpftrace\n/*\n * opensnoop\tTrace open() syscalls.\n"
            ),
            "Trace open() syscalls."
        );
    }
}
