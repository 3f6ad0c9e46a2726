//! The Prometheus text exposition format (version 0.0.4), as node_exporter's textfile
//! collector reads it: per metric family a `# HELP` and a `# TYPE` line, then its samples
//! `name{label="value",...} value`, families never interleaved.
//!
//! Escaping (exposition_formats.md): in label values `\` `"` and newline become `\\` `\"`
//! `\n`; in HELP text `\` and newline become `\\` `\n`. Metric names match
//! `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names `[a-zA-Z_][a-zA-Z0-9_]*` and must not start
//! with `__` (reserved). Label values are UTF-8: callers pass `&str`, so they are.

use std::collections::BTreeSet;
use std::fmt::Write as _;

/// A metric family's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

/// A label value, escaped for the exposition format.
pub fn escape_label_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// HELP text, escaped.
pub fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Whether `name` is a valid metric name.
pub fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Whether `name` is a valid label name for a user (not reserved).
pub fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    !name.starts_with("__")
        && matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A sample value: integers print as integers, other numbers in Go's shortest form
/// (`+Inf`, `-Inf`, `NaN` as Prometheus spells them).
fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Builds one exposition. Metric and label names are the caller's constants: an invalid
/// one is a bug, caught by `debug_assert` in the tests; in a release build an invalid family
/// is dropped rather than written into a file the collector would then reject whole.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
    families: BTreeSet<String>,
    current: Option<String>,
}

impl Exposition {
    pub fn new() -> Exposition {
        Exposition::default()
    }

    /// Starts a family: its HELP and TYPE lines. A family is started once.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        debug_assert!(valid_metric_name(name), "metric name {name:?}");
        debug_assert!(!self.families.contains(name), "family {name} twice");
        if !valid_metric_name(name) || !self.families.insert(name.to_string()) {
            self.current = None;
            return;
        }
        let kind = match kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        };
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
        self.current = Some(name.to_string());
    }

    /// A sample of the family started last.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: f64) {
        let Some(name) = &self.current else {
            return;
        };
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                debug_assert!(valid_label_name(k), "label name {k:?}");
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label_value(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", format_value(value));
    }

    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_label_values_and_help() {
        assert_eq!(escape_label_value(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label_value("x\ny"), "x\\ny");
        assert_eq!(escape_label_value("plain ü"), "plain ü");
        assert_eq!(escape_help("a\\b\nc \"q\""), "a\\\\b\\nc \"q\"");
    }

    #[test]
    fn names() {
        assert!(valid_metric_name("kmodkit_module_size_bytes"));
        assert!(valid_metric_name("a:b_c"));
        assert!(!valid_metric_name("1abc"));
        assert!(!valid_metric_name("kmodkit-module"));
        assert!(!valid_metric_name(""));
        assert!(valid_label_name("module"));
        assert!(!valid_label_name("__name__"));
        assert!(!valid_label_name("a:b"));
        assert!(!valid_label_name("0a"));
    }

    #[test]
    fn writes_families() {
        let mut e = Exposition::new();
        e.family("kmodkit_x_bytes", Kind::Gauge, "Size.\nSecond line.");
        e.sample(&[("module", "a\"b")], 16384.0);
        e.sample(&[], 0.5);
        e.family("kmodkit_y_total", Kind::Counter, "Count.");
        e.sample(&[("a", "1"), ("b", "")], f64::INFINITY);
        assert_eq!(
            e.finish(),
            "# HELP kmodkit_x_bytes Size.\\nSecond line.\n\
             # TYPE kmodkit_x_bytes gauge\n\
             kmodkit_x_bytes{module=\"a\\\"b\"} 16384\n\
             kmodkit_x_bytes 0.5\n\
             # HELP kmodkit_y_total Count.\n\
             # TYPE kmodkit_y_total counter\n\
             kmodkit_y_total{a=\"1\",b=\"\"} +Inf\n"
        );
    }
}
