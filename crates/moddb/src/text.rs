//! The text forms of kmod's indexes: `modules.dep` (`path: dep dep`), `modules.alias` and
//! `modules.symbols` (`alias PATTERN MODULE`), `modules.builtin`/`modules.order` (one path a
//! line). Comments start with `#`. Malformed lines are errors naming the file and line.

use crate::Error;
use std::path::Path;

/// One `modules.dep` line: a module path and the paths it depends on, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepLine {
    pub path: String,
    pub deps: Vec<String>,
}

fn lines(data: &[u8]) -> impl Iterator<Item = (usize, &str)> {
    data.split(|&b| b == b'\n')
        .enumerate()
        .filter_map(|(i, l)| std::str::from_utf8(l).ok().map(|s| (i + 1, s)))
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
}

fn syntax(path: &Path, line: usize, what: &str) -> Error {
    Error::Syntax {
        path: path.to_path_buf(),
        line,
        what: what.to_string(),
    }
}

/// Parse `modules.dep`.
pub fn parse_dep(path: &Path, data: &[u8]) -> Result<Vec<DepLine>, Error> {
    let mut out = Vec::new();
    for (n, l) in lines(data) {
        let Some((p, deps)) = l.split_once(':') else {
            return Err(syntax(path, n, "expected `module-path: dependencies`"));
        };
        if p.is_empty() {
            return Err(syntax(path, n, "empty module path"));
        }
        out.push(DepLine {
            path: p.to_string(),
            deps: deps.split_whitespace().map(str::to_string).collect(),
        });
    }
    Ok(out)
}

/// Parse `modules.alias` / `modules.symbols`: `(pattern, module)` pairs in file order.
pub fn parse_alias(path: &Path, data: &[u8]) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    for (n, l) in lines(data) {
        let mut w = l.split_whitespace();
        match (w.next(), w.next(), w.next(), w.next()) {
            (Some("alias"), Some(a), Some(m), None) => out.push((a.to_string(), m.to_string())),
            _ => return Err(syntax(path, n, "expected `alias PATTERN MODULE`")),
        }
    }
    Ok(out)
}

/// Parse a one-path-per-line file (`modules.order`, `modules.builtin`).
pub fn parse_paths(data: &[u8]) -> Vec<String> {
    lines(data).map(|(_, l)| l.trim_end().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_and_alias() {
        let p = Path::new("modules.dep");
        let d = parse_dep(p, b"kernel/a.ko: kernel/b.ko kernel/c.ko\nkernel/b.ko:\n").unwrap();
        assert_eq!(d[0].deps, ["kernel/b.ko", "kernel/c.ko"]);
        assert!(d[1].deps.is_empty());
        let e = parse_dep(p, b"kernel/a.ko\n").unwrap_err().to_string();
        assert_eq!(e, "modules.dep:1: expected `module-path: dependencies`");
        let a = parse_alias(p, b"# c\nalias pci:v* snd\n").unwrap();
        assert_eq!(a, [("pci:v*".to_string(), "snd".to_string())]);
        assert!(parse_alias(p, b"alias x\n").is_err());
    }
}
