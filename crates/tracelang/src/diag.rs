//! Diagnostics that point at the script, rendered the way rustc does (`file:line:col`, the
//! line, a caret, a hint) through `codespan-reporting`, a small, well-kept crate that does
//! exactly this layout; this module only decides what to say.

use crate::ast::Span;
use codespan_reporting::diagnostic::{Diagnostic as CsDiag, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, Chars, Config};

/// One error about the script.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub message: String,
    pub span: Span,
    pub label: String,
    pub hints: Vec<String>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>, span: Span, label: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            span,
            label: label.into(),
            hints: Vec::new(),
        }
    }

    pub fn hint(mut self, h: impl Into<String>) -> Self {
        self.hints.push(h.into());
        self
    }

    /// 1-based line and column of the start of the span.
    pub fn line_col(&self, src: &str) -> (usize, usize) {
        let start = floor_char(src, self.span.start);
        let before = &src[..start];
        let line = before.matches('\n').count() + 1;
        let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        (line, col)
    }

    /// Renders as text, without colour: `error: ...`, ` --> file:line:col`, the source line
    /// with carets under the span, then `= hint: ...` lines.
    pub fn render(&self, file_name: &str, src: &str) -> String {
        let file = SimpleFile::new(file_name, src);
        let end = floor_char(src, self.span.end.max(self.span.start));
        let start = floor_char(src, self.span.start.min(end));
        let mut d = CsDiag::error()
            .with_message(&self.message)
            .with_labels(vec![
                Label::primary((), start..end).with_message(&self.label)
            ]);
        d = d.with_notes(self.hints.iter().map(|h| format!("hint: {h}")).collect());
        let config = Config {
            chars: Chars::ascii(),
            ..Config::default()
        };
        let mut out = codespan_reporting::term::termcolor::NoColor::new(Vec::new());
        if term::emit(&mut out, &config, &file, &d).is_err() {
            let (l, c) = self.line_col(src);
            return format!("error: {}\n --> {file_name}:{l}:{c}\n", self.message);
        }
        String::from_utf8_lossy(&out.into_inner()).into_owned()
    }
}

/// `at`, clamped to `src` and moved back to the start of the character it falls in, so that
/// slicing there cannot panic whatever span a diagnostic carries.
fn floor_char(src: &str, at: usize) -> usize {
    let mut at = at.min(src.len());
    while !src.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// A script error: one or more diagnostics.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn render(&self, file_name: &str, src: &str) -> String {
        self.0.iter().map(|d| d.render(file_name, src)).collect()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}
