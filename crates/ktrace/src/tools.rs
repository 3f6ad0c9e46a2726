//! The classic tracing tools, as scripts in this language (`kmodkit trace --tool NAME`). They
//! are ordinary scripts: `bpftrace FILE` runs the same text, which is how they are tested.

/// (name, script) of every tool.
pub const TOOLS: &[(&str, &str)] = &[
    ("execsnoop", include_str!("../tools/execsnoop.bt")),
    ("killsnoop", include_str!("../tools/killsnoop.bt")),
    ("opensnoop", include_str!("../tools/opensnoop.bt")),
    ("readlat", include_str!("../tools/readlat.bt")),
    ("syscount", include_str!("../tools/syscount.bt")),
];

/// The script of tool `name`.
pub fn tool(name: &str) -> Option<&'static str> {
    TOOLS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// What each tool does: its first comment line, after `// NAME: `.
pub fn describe(script: &str) -> &str {
    let first = script.lines().next().unwrap_or("");
    let text = first.strip_prefix("// ").unwrap_or("");
    text.split_once(": ").map_or(text, |(_, d)| d)
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
}
