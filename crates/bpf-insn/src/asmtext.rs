//! What the two assembly dialects share: the tokenizer, the token cursor ([`Parser`]),
//! statements with label fix-ups, directives (`.section`, `.text`), and the driver that
//! splits sections, records labels and resolves jumps to them.
//!
//! The dialects themselves ([`crate::asm`] for LLVM syntax, [`crate::ubpf`] for the
//! bpf_conformance syntax) each give a statement parser; this module knows neither, so
//! the dependencies point one way: `asm` -> `asmtext` <- `ubpf`.

use std::collections::HashMap;

use crate::insn::Insn;
use crate::AsmError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    Num(i128),
    Punct(&'static str),
}

const PUNCTS: &[&str] = &[
    "s>>=", ">>=", "<<=", "s/=", "s%=", "s>=", "s<=", "s>", "s<", "+=", "-=", "*=", "/=", "|=",
    "&=", "^=", "%=", "==", "!=", ">=", "<=", ">", "<", "=", "(", ")", "*", "+", "-", "&", ",",
    "[", "]", ":",
];

/// Split a line (comments already removed) into tokens; `col` is 1-based for errors.
pub(crate) fn tokenize(line: &str, lineno: usize) -> Result<Vec<(Tok, usize)>, AsmError> {
    let b = line.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let rest = &line[i..];
        // `s>`, `s<`, `s/=`, ... are operators, not the identifier `s`.
        if c == b's' && rest.len() > 1 && matches!(b[i + 1], b'>' | b'<' | b'/' | b'%') {
            if let Some(p) = PUNCTS
                .iter()
                .find(|p| p.starts_with('s') && rest.starts_with(**p))
            {
                out.push((Tok::Punct(p), i + 1));
                i += p.len();
                continue;
            }
        }
        if c.is_ascii_alphabetic()
            || c == b'_'
            || c == b'.'
            || (c == b'%' && i + 1 < b.len() && b[i + 1].is_ascii_alphabetic())
        {
            let start = i;
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
                i += 1;
            }
            out.push((Tok::Ident(line[start..i].to_string()), start + 1));
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric()) {
                i += 1;
            }
            let t = &line[start..i];
            let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                i128::from_str_radix(h, 16)
            } else {
                t.parse::<i128>()
            };
            let v = v.map_err(|_| AsmError::new(lineno, start + 1, format!("bad number `{t}`")))?;
            out.push((Tok::Num(v), start + 1));
            continue;
        }
        if let Some(p) = PUNCTS
            .iter()
            .find(|p| !p.starts_with('s') && rest.starts_with(**p))
        {
            out.push((Tok::Punct(p), i + 1));
            i += p.len();
            continue;
        }
        return Err(AsmError::new(
            lineno,
            i + 1,
            format!(
                "unexpected character `{}`",
                rest.chars().next().unwrap_or(' ')
            ),
        ));
    }
    Ok(out)
}

/// Remove a trailing comment (`#`, `//`, `;`).
pub(crate) fn strip_comment(line: &str) -> &str {
    let mut end = line.len();
    for pat in ["#", "//", ";"] {
        if let Some(p) = line.find(pat) {
            end = end.min(p);
        }
    }
    &line[..end]
}

/// A jump/call target before label resolution.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Rel(i64),
    Label(String, usize),
}

/// Fix-up kinds for labels.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FixKind {
    /// `off` field (goto / conditional jumps).
    Off,
    /// `imm` field (gotol, local call).
    Imm,
}

pub(crate) struct Parser<'a> {
    pub toks: &'a [(Tok, usize)],
    pub pos: usize,
    pub line: usize,
    pub eol_col: usize,
}

impl<'a> Parser<'a> {
    pub fn col(&self) -> usize {
        self.toks.get(self.pos).map(|t| t.1).unwrap_or(self.eol_col)
    }

    pub fn err<T>(&self, msg: impl Into<String>) -> Result<T, AsmError> {
        Err(AsmError::new(self.line, self.col(), msg.into()))
    }

    pub fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.0)
    }

    pub fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.pos + n).map(|t| &t.0)
    }

    pub fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Tok::Punct(q)) if *q == p)
    }

    pub fn is_ident(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(q)) if q == s)
    }

    pub fn eat_punct(&mut self, p: &str) -> bool {
        if self.is_punct(p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub fn expect_punct(&mut self, p: &str) -> Result<(), AsmError> {
        if self.eat_punct(p) {
            Ok(())
        } else {
            self.err(format!("expected `{p}`"))
        }
    }

    pub fn expect_ident(&mut self, s: &str) -> Result<(), AsmError> {
        if self.is_ident(s) {
            self.pos += 1;
            Ok(())
        } else {
            self.err(format!("expected `{s}`"))
        }
    }

    pub fn ident(&mut self) -> Option<String> {
        if let Some(Tok::Ident(s)) = self.peek() {
            let s = s.clone();
            self.pos += 1;
            Some(s)
        } else {
            None
        }
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    pub fn expect_end(&self) -> Result<(), AsmError> {
        if self.at_end() {
            Ok(())
        } else {
            self.err("unexpected text after the instruction")
        }
    }

    /// A register `rN`/`wN` (optionally `%rN`): (is_w, N).
    pub fn try_reg(&mut self) -> Option<(bool, u8)> {
        if let Some(Tok::Ident(s)) = self.peek() {
            let s = s.strip_prefix('%').unwrap_or(s);
            let (w, n) = if let Some(n) = s.strip_prefix('r') {
                (false, n)
            } else if let Some(n) = s.strip_prefix('w') {
                (true, n)
            } else {
                return None;
            };
            if n.is_empty()
                || !n.bytes().all(|c| c.is_ascii_digit())
                || (n.len() > 1 && n.starts_with('0'))
            {
                return None;
            }
            let v: u8 = n.parse().ok()?;
            if v > 10 {
                return None;
            }
            self.pos += 1;
            return Some((w, v));
        }
        None
    }

    pub fn reg(&mut self) -> Result<(bool, u8), AsmError> {
        match self.try_reg() {
            Some(r) => Ok(r),
            None => self.err("expected a register (r0..r10 or w0..w10)"),
        }
    }

    /// A signed number with optional sign.
    pub fn try_num(&mut self) -> Option<i128> {
        let save = self.pos;
        let neg = if self.eat_punct("-") {
            true
        } else {
            self.eat_punct("+");
            false
        };
        if let Some(Tok::Num(v)) = self.peek() {
            let v = *v;
            self.pos += 1;
            Some(if neg { -v } else { v })
        } else {
            self.pos = save;
            None
        }
    }

    pub fn num(&mut self) -> Result<i128, AsmError> {
        match self.try_num() {
            Some(v) => Ok(v),
            None => self.err("expected a number"),
        }
    }

    /// A 32-bit immediate: accepts -2^31..2^32 (values above i32::MAX wrap).
    pub fn imm32(&mut self) -> Result<i32, AsmError> {
        let col = self.col();
        let v = self.num()?;
        if v < i32::MIN as i128 || v > u32::MAX as i128 {
            return Err(AsmError::new(
                self.line,
                col,
                format!("immediate {v} does not fit in 32 bits"),
            ));
        }
        Ok(v as i64 as i32)
    }

    pub fn target(&mut self) -> Result<Target, AsmError> {
        let col = self.col();
        if let Some(v) = self.try_num() {
            return Ok(Target::Rel(v as i64));
        }
        match self.ident() {
            Some(l) => Ok(Target::Label(l, col)),
            None => self.err("expected a jump target (+N, -N or a label)"),
        }
    }
}

/// One parsed statement: instruction slots and an optional label fix-up on the first slot.
pub(crate) struct Stmt {
    pub insns: Vec<Insn>,
    pub fix: Option<(Target, FixKind)>,
}

pub(crate) fn stmt(i: Insn) -> Stmt {
    Stmt {
        insns: vec![i],
        fix: None,
    }
}

pub(crate) fn with_target(i: Insn, t: Target, kind: FixKind) -> Stmt {
    let mut i = i;
    let fix = match t {
        Target::Rel(v) => {
            match kind {
                FixKind::Off => i.off = v as i16,
                FixKind::Imm => i.imm = v as i32,
            }
            None
        }
        l => Some((l, kind)),
    };
    Stmt {
        insns: vec![i],
        fix,
    }
}

/// An assembled section.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Section {
    pub name: String,
    pub insns: Vec<Insn>,
    /// Labels defined in the section: name -> slot index.
    pub labels: Vec<(String, usize)>,
}

/// A statement syntax: how one statement (after any labels) is parsed, and whether a jump
/// to the undefined label `exit` means the section's final `exit` (the bpf_conformance
/// assembler's reading).
pub(crate) struct Dialect {
    pub parse_stmt: fn(&mut Parser) -> Result<Stmt, AsmError>,
    pub exit_label_is_last_exit: bool,
}

/// A section directive on a (comment-stripped) line, as clang and gas write them:
/// `.text`, `.section NAME`, `.section NAME,"flags",@type[,...]`, with `NAME` possibly
/// quoted (`.section "socket"`). `Ok(Some(name))` starts a section, `Ok(None)` is another
/// directive (ignored) or not a directive at all; a malformed section directive is an
/// error at its column.
pub(crate) fn section_directive(line: &str, lineno: usize) -> Result<Option<String>, AsmError> {
    let indent = line.len() - line.trim_start().len();
    let trimmed = line.trim();
    let Some(dir) = trimmed.strip_prefix('.') else {
        return Ok(None);
    };
    let word_len = dir
        .find(|c: char| c.is_whitespace() || c == ',' || c == '"')
        .unwrap_or(dir.len());
    let (word, rest) = dir.split_at(word_len);
    // `.LBB0_1:` is a label, not a directive.
    if word.is_empty() || word.contains(':') || rest.trim_start().starts_with(':') {
        return Ok(None);
    }
    match word {
        "text" => {
            if !rest.trim().is_empty() {
                let col = indent + 1 + 1 + word_len + (rest.len() - rest.trim_start().len());
                return Err(AsmError::new(
                    lineno,
                    col,
                    "expected the end of the line after `.text`",
                ));
            }
            return Ok(Some(".text".to_string()));
        }
        "section" => {}
        _ => return Ok(None),
    }
    // Column (1-based) of byte `i` of `rest`.
    let col_of = |i: usize| indent + 1 + word_len + i + 1;
    let body = rest.trim_start();
    let at = rest.len() - body.len();
    if rest.len() == body.len() && !body.is_empty() {
        // `.sectionfoo` is another word; unreachable by the split above except for `"`.
        return Err(AsmError::new(
            lineno,
            col_of(0),
            "expected a space between `.section` and the section name",
        ));
    }
    let (name, after) = if let Some(q) = body.strip_prefix('"') {
        match q.find('"') {
            Some(end) => (q[..end].to_string(), &q[end + 1..]),
            None => {
                return Err(AsmError::new(
                    lineno,
                    col_of(at + body.len()),
                    "expected the closing `\"` of the section name",
                ))
            }
        }
    } else {
        let end = body
            .find(|c: char| c == ',' || c.is_whitespace())
            .unwrap_or(body.len());
        (body[..end].to_string(), &body[end..])
    };
    if name.is_empty() {
        return Err(AsmError::new(
            lineno,
            col_of(at),
            "expected a section name after `.section`",
        ));
    }
    // Flags, type and entry size (`,"ax",@progbits`) do not change the instructions.
    let tail = after.trim_start();
    if !tail.is_empty() && !tail.starts_with(',') {
        let i = rest.len() - tail.len();
        return Err(AsmError::new(
            lineno,
            col_of(i),
            "expected `,` (section flags) or the end of the line after the section name",
        ));
    }
    Ok(Some(name))
}

pub(crate) fn assemble_with(src: &str, dialect: &Dialect) -> Result<Vec<Section>, AsmError> {
    let mut sections = vec![Section {
        name: ".text".into(),
        ..Default::default()
    }];
    struct Fix {
        sec: usize,
        at: usize,
        label: String,
        line: usize,
        col: usize,
        kind: FixKind,
    }
    let mut fixes = Vec::new();
    let mut labels: Vec<HashMap<String, usize>> = vec![HashMap::new()];
    for (ln, raw) in src.lines().enumerate() {
        let lineno = ln + 1;
        let line = strip_comment(raw);
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(dir) = trimmed.strip_prefix('.') {
            if !dir.is_empty() && !dir.contains(':') {
                let new = section_directive(line, lineno)?;
                if let Some(name) = new {
                    let cur = sections.len() - 1;
                    if sections[cur].insns.is_empty() && sections[cur].labels.is_empty() {
                        sections[cur].name = name;
                    } else {
                        sections.push(Section {
                            name,
                            ..Default::default()
                        });
                        labels.push(HashMap::new());
                    }
                }
                continue;
            }
        }
        let toks = tokenize(line, lineno)?;
        let mut start = 0;
        let sec = sections.len() - 1;
        // labels: `name:` (possibly several, possibly followed by an instruction)
        while toks.len() >= start + 2 {
            if let (Tok::Ident(name), Tok::Punct(":")) = (&toks[start].0, &toks[start + 1].0) {
                let at = sections[sec].insns.len();
                if labels[sec].insert(name.clone(), at).is_some() {
                    return Err(AsmError::new(
                        lineno,
                        toks[start].1,
                        format!("label `{name}` defined twice"),
                    ));
                }
                sections[sec].labels.push((name.clone(), at));
                start += 2;
            } else {
                break;
            }
        }
        if start == toks.len() {
            continue;
        }
        let mut p = Parser {
            toks: &toks[start..],
            pos: 0,
            line: lineno,
            eol_col: line.trim_end().len() + 1,
        };
        let st = (dialect.parse_stmt)(&mut p)?;
        let at = sections[sec].insns.len();
        if let Some((Target::Label(label, col), kind)) = st.fix {
            fixes.push(Fix {
                sec,
                at,
                label,
                line: lineno,
                col,
                kind,
            });
        }
        sections[sec].insns.extend(st.insns);
    }
    for f in fixes {
        let to = match labels[f.sec].get(&f.label) {
            Some(&to) => to,
            // The bpf_conformance assembler reads the target `exit` as "the program's
            // final `exit` instruction" when no label of that name exists.
            None if dialect.exit_label_is_last_exit
                && f.label == "exit"
                && sections[f.sec].insns.last().is_some_and(|i| i.is_exit()) =>
            {
                sections[f.sec].insns.len() - 1
            }
            None => {
                return Err(AsmError::new(
                    f.line,
                    f.col,
                    format!("undefined label `{}`", f.label),
                ))
            }
        };
        let rel = to as i64 - f.at as i64 - 1;
        let insn = &mut sections[f.sec].insns[f.at];
        match f.kind {
            FixKind::Off => {
                if rel < i16::MIN as i64 || rel > i16::MAX as i64 {
                    return Err(AsmError::new(
                        f.line,
                        f.col,
                        "jump target too far for a 16-bit offset",
                    ));
                }
                insn.off = rel as i16;
            }
            FixKind::Imm => insn.imm = rel as i32,
        }
    }
    Ok(sections)
}
