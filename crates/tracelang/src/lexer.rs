//! Tokens of the language, scanned on demand so that the parser can switch to reading raw
//! attach-point text (`uprobe:/bin/bash:readline`) between probes. Hand-written rather than
//! `logos`: the language needs exactly this mode switch, and the scanner is short.

use crate::ast::Span;
use crate::diag::Diagnostic;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    Int(i64),
    Str(String),
    /// `@name` (or `@` alone: empty name)
    Map(String),
    /// `$name`
    Var(String),
    /// `$1`
    Positional(u32),
    /// `$#`
    PositionalCount,
    Punct(&'static str),
    Eof,
}

impl Tok {
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("identifier `{s}`"),
            Tok::Int(i) => format!("integer `{i}`"),
            Tok::Str(_) => "string literal".into(),
            Tok::Map(m) => format!("map `@{m}`"),
            Tok::Var(v) => format!("variable `${v}`"),
            Tok::Positional(n) => format!("positional parameter `${n}`"),
            Tok::PositionalCount => "`$#`".into(),
            Tok::Punct(p) => format!("`{p}`"),
            Tok::Eof => "end of file".into(),
        }
    }
}

/// Longest first, so that `<<=` wins over `<<` and `<`.
const PUNCTS: &[&str] = &[
    "<<=", ">>=", "->", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "==", "!=",
    "<=", ">=", "&&", "||", "<<", ">>", "+", "-", "*", "/", "%", "&", "|", "^", "~", "!", "<", ">",
    "=", "(", ")", "{", "}", "[", "]", ",", ";", ":", "?", ".",
];

pub struct Lexer<'a> {
    pub src: &'a str,
    pub pos: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str) -> Self {
        Lexer { src, pos: 0 }
    }

    fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    /// Skips whitespace and `//`, `/* */` comments.
    pub fn skip_trivia(&mut self) -> Result<(), Diagnostic> {
        let b = self.bytes();
        loop {
            while self.pos < b.len() && b[self.pos].is_ascii_whitespace() {
                self.pos += 1;
            }
            if b[self.pos..].starts_with(b"//") {
                while self.pos < b.len() && b[self.pos] != b'\n' {
                    self.pos += 1;
                }
            } else if b[self.pos..].starts_with(b"/*") {
                let start = self.pos;
                match self.src[self.pos + 2..].find("*/") {
                    Some(i) => self.pos += 2 + i + 2,
                    None => {
                        return Err(Diagnostic::new(
                            "unterminated comment",
                            Span::new(start, start + 2),
                            "this comment is never closed",
                        )
                        .hint("close it with `*/`"))
                    }
                }
            } else {
                return Ok(());
            }
        }
    }

    /// Reads an attach point: everything up to whitespace, `,` or `{`.
    pub fn attach_text(&mut self) -> Result<(String, Span), Diagnostic> {
        self.skip_trivia()?;
        let start = self.pos;
        let b = self.bytes();
        let mut in_quote = false;
        while self.pos < b.len() {
            let c = b[self.pos];
            if c == b'"' {
                in_quote = !in_quote;
            } else if !in_quote && (c.is_ascii_whitespace() || c == b',' || c == b'{') {
                break;
            }
            self.pos += 1;
        }
        let text: String = self.src[start..self.pos].replace('"', "");
        Ok((text, Span::new(start, self.pos)))
    }

    pub fn next_token(&mut self) -> Result<(Tok, Span), Diagnostic> {
        self.skip_trivia()?;
        let b = self.bytes();
        let start = self.pos;
        if self.pos >= b.len() {
            return Ok((Tok::Eof, Span::new(start, start)));
        }
        let c = b[self.pos];
        let ident_char = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
        let tok = if c.is_ascii_alphabetic() || c == b'_' {
            while self.pos < b.len() && ident_char(b[self.pos]) {
                self.pos += 1;
            }
            Tok::Ident(self.src[start..self.pos].to_string())
        } else if c.is_ascii_digit() {
            while self.pos < b.len() && (b[self.pos].is_ascii_alphanumeric() || b[self.pos] == b'_')
            {
                self.pos += 1;
            }
            let text = self.src[start..self.pos].replace('_', "");
            let span = Span::new(start, self.pos);
            Tok::Int(parse_int(&text).ok_or_else(|| {
                Diagnostic::new("invalid integer", span, "not a number").hint(
                    "write decimal (42), hex (0x2a), octal (052), or with a suffix (1K, 2M, 3G)",
                )
            })?)
        } else if c == b'"' {
            self.pos += 1;
            let mut s = String::new();
            loop {
                if self.pos >= b.len() {
                    return Err(Diagnostic::new(
                        "unterminated string",
                        Span::new(start, start + 1),
                        "this string is never closed",
                    )
                    .hint("add a closing `\"`"));
                }
                let ch = self.src[self.pos..].chars().next().unwrap_or('\0');
                self.pos += ch.len_utf8();
                match ch {
                    '"' => break,
                    '\\' => {
                        let e = self.src[self.pos..].chars().next().unwrap_or('\\');
                        self.pos += if self.pos < b.len() { e.len_utf8() } else { 0 };
                        s.push(match e {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            '0' => '\0',
                            '"' => '"',
                            '\\' => '\\',
                            other => {
                                return Err(Diagnostic::new(
                                    "unknown escape sequence",
                                    Span::new(self.pos - 1 - other.len_utf8(), self.pos),
                                    format!("`\\{other}` is not an escape"),
                                )
                                .hint("known escapes: \\n \\t \\r \\0 \\\" \\\\"))
                            }
                        });
                    }
                    ch => s.push(ch),
                }
            }
            Tok::Str(s)
        } else if c == b'@' {
            self.pos += 1;
            while self.pos < b.len() && ident_char(b[self.pos]) {
                self.pos += 1;
            }
            Tok::Map(self.src[start + 1..self.pos].to_string())
        } else if c == b'$' {
            self.pos += 1;
            if b.get(self.pos) == Some(&b'#') {
                self.pos += 1;
                Tok::PositionalCount
            } else if b.get(self.pos).is_some_and(|c| c.is_ascii_digit()) {
                while self.pos < b.len() && b[self.pos].is_ascii_digit() {
                    self.pos += 1;
                }
                let n = self.src[start + 1..self.pos].parse().unwrap_or(u32::MAX);
                Tok::Positional(n)
            } else {
                while self.pos < b.len() && ident_char(b[self.pos]) {
                    self.pos += 1;
                }
                if self.pos == start + 1 {
                    return Err(Diagnostic::new(
                        "expected a variable name after `$`",
                        Span::new(start, start + 1),
                        "here",
                    ));
                }
                Tok::Var(self.src[start + 1..self.pos].to_string())
            }
        } else if let Some(p) = PUNCTS
            .iter()
            .find(|p| self.src[self.pos..].starts_with(**p))
        {
            self.pos += p.len();
            Tok::Punct(p)
        } else {
            let ch = self.src[self.pos..].chars().next().unwrap_or('?');
            return Err(Diagnostic::new(
                "unexpected character",
                Span::new(start, start + ch.len_utf8()),
                format!("`{ch}` is not part of the language"),
            ));
        };
        Ok((tok, Span::new(start, self.pos)))
    }
}

/// Integer literal: decimal, 0x hex, 0 octal, optional K/M/G/T suffix, `1e6`.
pub fn parse_int(text: &str) -> Option<i64> {
    let (digits, mult): (&str, i64) = match text.as_bytes().last()? {
        b'K' => (&text[..text.len() - 1], 1 << 10),
        b'M' => (&text[..text.len() - 1], 1 << 20),
        b'G' => (&text[..text.len() - 1], 1 << 30),
        b'T' => (&text[..text.len() - 1], 1 << 40),
        _ => (text, 1),
    };
    let v = if let Some(h) = digits.strip_prefix("0x").or(digits.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()? as i64
    } else if let Some((m, e)) = digits.split_once('e') {
        let m: i64 = m.parse().ok()?;
        m.checked_mul(10i64.checked_pow(e.parse().ok()?)?)?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse::<u64>().ok()? as i64
    };
    v.checked_mul(mult)
}
