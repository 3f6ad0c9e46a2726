//! A hand-written Pratt parser from source text to [`crate::ast::Program`]. Operator
//! precedence is C's; the first error stops parsing with a diagnostic at its place.
//!
//! Nesting is limited to [`MAX_DEPTH`] levels, counted as the tree grows: each recursive
//! call (parentheses, calls, blocks, `if`/`else if`, `unroll`, unary operators, casts,
//! ternaries) and each link of a left-associative chain (`a + b + c`, `a.b.c`) is a level.
//! The later passes walk the tree recursively, and dropping it is recursive too, so the
//! depth of the tree, not only of the parser's own calls, must be bounded for no input to
//! overflow the stack.

use crate::ast::*;
use crate::diag::Diagnostic;
use crate::lexer::{Lexer, Tok};

/// How deeply expressions and statements may nest. Real scripts stay far below it (the
/// code generator keeps at most three pending operands in registers); the bound keeps the
/// recursive passes within a thread's stack.
pub const MAX_DEPTH: usize = 128;

pub fn parse(src: &str) -> Result<Program, Diagnostic> {
    let mut p = Parser {
        lx: Lexer::new(src),
        no_div: false,
        depth: 0,
    };
    p.program()
}

struct Parser<'a> {
    lx: Lexer<'a>,
    /// Inside a predicate `/ ... /`, a bare `/` closes it rather than dividing.
    no_div: bool,
    /// Levels of nesting open now (see [`MAX_DEPTH`]). An error ends the parse, so only
    /// successful returns close their levels.
    depth: usize,
}

pub const CAST_TYPES: &[&str] = &[
    "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
];

/// Words of C's basic type names and the kernel's fixed-size integer typedefs, accepted in
/// casts, `sizeof` and struct definitions without BTF's help to tell them from variables.
pub const C_TYPE_WORDS: &[&str] = &[
    "char", "short", "int", "long", "unsigned", "signed", "void", "bool", "_Bool", "const",
    "volatile", "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "__u8", "__u16", "__u32",
    "__u64", "__s8", "__s16", "__s32", "__s64", "size_t", "ssize_t", "pid_t", "uint8_t",
    "uint16_t", "uint32_t", "uint64_t", "int8_t", "int16_t", "int32_t", "int64_t",
];

fn binop(p: &str) -> Option<(BinOp, u8)> {
    use BinOp::*;
    Some(match p {
        "||" => (LOr, 2),
        "&&" => (LAnd, 3),
        "|" => (BitOr, 4),
        "^" => (BitXor, 5),
        "&" => (BitAnd, 6),
        "==" => (Eq, 7),
        "!=" => (Ne, 7),
        "<" => (Lt, 8),
        "<=" => (Le, 8),
        ">" => (Gt, 8),
        ">=" => (Ge, 8),
        "<<" => (Shl, 9),
        ">>" => (Shr, 9),
        "+" => (Add, 10),
        "-" => (Sub, 10),
        "*" => (Mul, 11),
        "/" => (Div, 11),
        "%" => (Mod, 11),
        _ => return None,
    })
}

fn compound_op(p: &str) -> Option<BinOp> {
    use BinOp::*;
    Some(match p {
        "+=" => Add,
        "-=" => Sub,
        "*=" => Mul,
        "/=" => Div,
        "%=" => Mod,
        "&=" => BitAnd,
        "|=" => BitOr,
        "^=" => BitXor,
        "<<=" => Shl,
        ">>=" => Shr,
        _ => return None,
    })
}

impl Parser<'_> {
    /// Opens `levels` levels of nesting at the next token; an error past [`MAX_DEPTH`].
    fn enter(&mut self, levels: usize) -> Result<(), Diagnostic> {
        self.depth += levels;
        if self.depth <= MAX_DEPTH {
            return Ok(());
        }
        let (_, span) = self.peek()?;
        Err(Diagnostic::new(
            "the program nests too deeply",
            span,
            format!("more than {MAX_DEPTH} levels of nesting here"),
        )
        .hint(format!(
            "expressions, blocks and statements may nest at most {MAX_DEPTH} deep; \
             split the expression using scratch variables (`$x = ...;`)"
        )))
    }

    fn leave(&mut self, levels: usize) {
        self.depth -= levels;
    }

    fn peek(&mut self) -> Result<(Tok, Span), Diagnostic> {
        let save = self.lx.pos;
        let t = self.lx.next_token();
        self.lx.pos = save;
        t
    }

    fn next(&mut self) -> Result<(Tok, Span), Diagnostic> {
        self.lx.next_token()
    }

    fn is_punct(&mut self, p: &str) -> Result<bool, Diagnostic> {
        Ok(matches!(self.peek()?.0, Tok::Punct(q) if q == p))
    }

    fn eat(&mut self, p: &str) -> Result<bool, Diagnostic> {
        if self.is_punct(p)? {
            self.next()?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn expect(&mut self, p: &str, context: &str) -> Result<Span, Diagnostic> {
        let (t, span) = self.next()?;
        match t {
            Tok::Punct(q) if q == p => Ok(span),
            other => Err(Diagnostic::new(
                format!("expected `{p}` {context}, found {}", other.describe()),
                span,
                format!("expected `{p}`"),
            )),
        }
    }

    fn program(&mut self) -> Result<Program, Diagnostic> {
        let mut probes = Vec::new();
        let mut defines = Vec::new();
        let mut structs = Vec::new();
        let mut conds: Vec<bool> = Vec::new();
        let mut includes = Vec::new();
        let mut config = Vec::new();
        loop {
            self.lx.skip_trivia()?;
            // C preamble lines: `#define NAME VALUE` is kept, `#include <...>` and other
            // preprocessor lines are accepted and ignored (types come from BTF).
            while self.lx.src[self.lx.pos..].starts_with('#') {
                let start = self.lx.pos;
                let rest = &self.lx.src[start..];
                let line = &rest[..rest.find('\n').unwrap_or(rest.len())];
                // Conditionals as the tools use them: `#ifndef BPFTRACE_HAVE_BTF` (BTF is
                // how this compiler knows types, so it is always defined), `#ifdef NAME`
                // for the script's own defines, `#else`, `#endif`; other `#if`s are true.
                let directive = line[1..].trim_start();
                let word = directive.split_whitespace().next().unwrap_or("");
                let arg = directive[word.len()..].trim();
                let defined = |n: &str| {
                    n == "BPFTRACE_HAVE_BTF" || defines.iter().any(|d: &Define| d.name == n)
                };
                match word {
                    "include" if conds.iter().all(|c| *c) => {
                        let name = arg.trim_matches(['<', '>', '"', ' ']);
                        if !name.is_empty() {
                            includes.push(name.to_string());
                        }
                    }
                    "ifdef" => conds.push(defined(arg)),
                    "ifndef" => conds.push(!defined(arg)),
                    "if" => conds.push(arg != "0"),
                    "else" => {
                        if let Some(c) = conds.last_mut() {
                            *c = !*c;
                        }
                    }
                    "endif" => {
                        conds.pop();
                    }
                    _ => {}
                }
                if conds.iter().any(|c| !c) {
                    // Inside a false conditional: skip to the next directive line.
                    let mut at = start + line.len();
                    loop {
                        let rest = &self.lx.src[at..];
                        let Some(nl) = rest.find('\n') else {
                            at = self.lx.src.len();
                            break;
                        };
                        at += nl + 1;
                        if self.lx.src[at..]
                            .trim_start_matches([' ', '\t'])
                            .starts_with('#')
                        {
                            at += self.lx.src[at..].len()
                                - self.lx.src[at..].trim_start_matches([' ', '\t']).len();
                            break;
                        }
                    }
                    self.lx.pos = at;
                    continue;
                }
                if let Some(d) = line
                    .strip_prefix('#')
                    .map(str::trim_start)
                    .and_then(|l| l.strip_prefix("define"))
                    .filter(|d| d.starts_with([' ', '\t']))
                {
                    let d = d.trim();
                    let (name, value) = d.split_once([' ', '\t']).unwrap_or((d, ""));
                    let value = value.split("//").next().unwrap_or("").trim();
                    if !name.is_empty() && !name.contains('(') {
                        defines.push(Define {
                            name: name.to_string(),
                            value: value.to_string(),
                            span: Span::new(start, start + line.len()),
                        });
                    }
                }
                self.lx.pos += line.len();
                self.lx.skip_trivia()?;
            }
            if self.lx.pos >= self.lx.src.len() {
                break;
            }
            if let Some(def) = self.struct_def()? {
                structs.push(def);
                continue;
            }
            if probes.is_empty() && config.is_empty() {
                if let Some(items) = self.config_block()? {
                    config = items;
                    continue;
                }
            }
            probes.push(self.probe()?);
        }
        if probes.is_empty() {
            return Err(Diagnostic::new(
                "no probes in the program",
                Span::new(0, 0),
                "expected a probe here",
            )
            .hint("a program is one or more `probe { actions }`, e.g. `BEGIN { printf(\"hello\\n\"); }`"));
        }
        Ok(Program {
            probes,
            defines,
            structs,
            includes,
            config,
        })
    }

    /// `config = { key = value; ... }` (the last `;` optional), as bpftrace 0.23 reads it
    /// between the C preamble and the probes; None (nothing read) when the program does not
    /// continue with one.
    fn config_block(&mut self) -> Result<Option<Vec<ConfigItem>>, Diagnostic> {
        let save = self.lx.pos;
        let is_config = matches!(self.next()?.0, Tok::Ident(ref k) if k == "config")
            && matches!(self.next()?.0, Tok::Punct("="));
        if !is_config {
            self.lx.pos = save;
            return Ok(None);
        }
        self.expect("{", "to start the config block")?;
        let mut items = Vec::new();
        loop {
            if self.eat("}")? {
                break;
            }
            let (t, kspan) = self.next()?;
            let Tok::Ident(key) = t else {
                return Err(Diagnostic::new(
                    format!("expected a config variable, found {}", t.describe()),
                    kspan,
                    "expected `name = value`",
                )
                .hint("write e.g. `config = { max_map_keys = 8192; print_maps_on_exit = 0 }`"));
            };
            let span = self.expect("=", "after the config variable")?;
            let value = self.expr(0)?;
            items.push(ConfigItem { key, value, span });
            if !self.eat(";")? {
                self.expect("}", "to close the config block")?;
                break;
            }
        }
        Ok(Some(items))
    }

    /// The type of a `let` declaration (`uint8`, `string`, `string[16]`, `struct x *`,
    /// `bool`), normalised to single spaces; the text up to `=`, `;` or `}`.
    fn decl_type(&mut self) -> Result<String, Diagnostic> {
        let mut words: Vec<String> = Vec::new();
        let (_, start) = self.peek()?;
        while let (Tok::Ident(w), _) = self.peek()? {
            self.next()?;
            words.push(w);
        }
        if words.is_empty() {
            let (t, span) = self.peek()?;
            return Err(Diagnostic::new(
                format!("expected a type after `:`, found {}", t.describe()),
                span,
                "expected a type",
            )
            .hint("e.g. `let $x: uint32;`, `let $s: string[16];`"));
        }
        let mut ty = words.join(" ");
        if self.eat("[")? {
            let (t, span) = self.next()?;
            let Tok::Int(n) = t else {
                return Err(Diagnostic::new(
                    "a type's length must be an integer literal",
                    span.to(start),
                    "not an integer",
                ));
            };
            self.expect("]", "to close the length")?;
            ty = format!("{ty}[{n}]");
        }
        let mut stars = 0;
        while self.eat("*")? {
            stars += 1;
        }
        if stars > 0 {
            ty.push(' ');
            ty.push_str(&"*".repeat(stars));
        }
        Ok(ty)
    }

    /// `struct NAME { TYPE NAME; ... };` (or `union`) at the top level; None (nothing read)
    /// when the program does not continue with one.
    fn struct_def(&mut self) -> Result<Option<StructDef>, Diagnostic> {
        let save = self.lx.pos;
        let (t, start) = self.next()?;
        let union = match &t {
            Tok::Ident(k) if k == "struct" || k == "union" => k == "union",
            _ => {
                self.lx.pos = save;
                return Ok(None);
            }
        };
        let (name, _) = self.next()?;
        let Tok::Ident(name) = name else {
            self.lx.pos = save;
            return Ok(None);
        };
        if !self.is_punct("{")? {
            self.lx.pos = save;
            return Ok(None);
        }
        self.next()?;
        let mut members = Vec::new();
        loop {
            if self.is_punct("}")? {
                break;
            }
            // The base type: every word up to the first declarator.
            let mut words: Vec<String> = Vec::new();
            let mut decl_start = None;
            loop {
                let (t, span) = self.peek()?;
                match t {
                    Tok::Ident(w) => {
                        self.next()?;
                        words.push(w);
                        decl_start.get_or_insert(span);
                    }
                    Tok::Punct("*") | Tok::Punct(";") | Tok::Punct(",") | Tok::Punct("[") => break,
                    other => {
                        return Err(Diagnostic::new(
                            format!("expected a member declaration, found {}", other.describe()),
                            span,
                            "in this struct definition",
                        )
                        .hint(
                            "members are written `TYPE NAME;`, `TYPE *NAME;` or `TYPE NAME[N];`",
                        ))
                    }
                }
            }
            let span0 = decl_start.unwrap_or(start);
            // `int a, b;` or `int *a;`: the last word read is the first declarator's name
            // when no star follows.
            let mut pending_name = if self.is_punct("*")? || words.len() < 2 {
                None
            } else {
                words.pop()
            };
            let base = words.join(" ");
            if base.is_empty() {
                return Err(Diagnostic::new(
                    "expected a member type",
                    span0,
                    "no type here",
                ));
            }
            loop {
                let mut stars = 0;
                let name = match pending_name.take() {
                    Some(n) => n,
                    None => {
                        while self.eat("*")? {
                            stars += 1;
                        }
                        let (t, span) = self.next()?;
                        match t {
                            Tok::Ident(n) => n,
                            other => {
                                return Err(Diagnostic::new(
                                    format!("expected a member name, found {}", other.describe()),
                                    span,
                                    "expected a name",
                                ))
                            }
                        }
                    }
                };
                let mut array = None;
                if self.eat("[")? {
                    let (t, span) = self.next()?;
                    let Tok::Int(n) = t else {
                        return Err(Diagnostic::new(
                            "an array length must be an integer literal",
                            span,
                            "not an integer",
                        ));
                    };
                    array =
                        Some(u32::try_from(n).map_err(|_| {
                            Diagnostic::new("array length out of range", span, "here")
                        })?);
                    self.expect("]", "to close the array length")?;
                }
                let ty = if stars > 0 {
                    format!("{base} {}", "*".repeat(stars))
                } else {
                    base.clone()
                };
                let (_, here) = self.peek()?;
                members.push(MemberDef {
                    ty,
                    name,
                    array,
                    span: span0.to(here),
                });
                if !self.eat(",")? {
                    break;
                }
            }
            self.expect(";", "after a member declaration")?;
        }
        let end = self.expect("}", "to close the struct definition")?;
        self.eat(";")?;
        Ok(Some(StructDef {
            union,
            name,
            members,
            span: start.to(end),
        }))
    }

    /// A C type name as casts, `sizeof` and `offsetof` take it (`struct sock *`,
    /// `unsigned int`, `uint8`), normalised to single spaces; None (nothing read) when the
    /// tokens here are not one. Unknown single words are types only when a `*` follows.
    fn type_name(&mut self) -> Result<Option<String>, Diagnostic> {
        let save = self.lx.pos;
        let mut words: Vec<String> = Vec::new();
        while let (Tok::Ident(w), _) = self.peek()? {
            self.next()?;
            let tagged = matches!(w.as_str(), "struct" | "union" | "enum");
            words.push(w);
            if tagged {
                if let (Tok::Ident(n), _) = self.peek()? {
                    self.next()?;
                    words.push(n);
                }
                break;
            }
        }
        let mut stars = 0;
        while self.eat("*")? {
            stars += 1;
        }
        let known = match words.first().map(String::as_str) {
            None => false,
            Some("struct" | "union" | "enum") => words.len() == 2,
            Some(_) => {
                words
                    .iter()
                    .all(|w| C_TYPE_WORDS.contains(&w.as_str()) || CAST_TYPES.contains(&w.as_str()))
                    || (words.len() == 1 && stars > 0)
            }
        };
        if !known || !matches!(self.peek()?.0, Tok::Punct(")") | Tok::Punct(",")) {
            self.lx.pos = save;
            return Ok(None);
        }
        let mut ty = words.join(" ");
        if stars > 0 {
            ty.push(' ');
            ty.push_str(&"*".repeat(stars));
        }
        Ok(Some(ty))
    }

    fn probe(&mut self) -> Result<Probe, Diagnostic> {
        let mut attach = Vec::new();
        loop {
            let (text, span) = self.lx.attach_text()?;
            if text.is_empty() {
                let (t, span) = self.peek()?;
                return Err(Diagnostic::new(
                    format!("expected a probe, found {}", t.describe()),
                    span,
                    "expected a probe such as `BEGIN` or `tracepoint:syscalls:sys_enter_openat`",
                ));
            }
            attach.push(AttachPoint { text, span });
            if !self.eat(",")? {
                break;
            }
        }
        let start = attach[0].span;
        let predicate = if self.is_punct("/")? {
            self.next()?;
            self.no_div = true;
            let e = self.expr(0)?;
            self.no_div = false;
            self.expect("/", "to close the predicate")?;
            Some(e)
        } else {
            None
        };
        if !self.is_punct("{")? {
            let (t, span) = self.peek()?;
            return Err(Diagnostic::new(
                format!(
                    "expected `{{` to start the probe's actions, found {}",
                    t.describe()
                ),
                span,
                "expected `{`",
            ));
        }
        let (body, end) = self.block()?;
        Ok(Probe {
            attach,
            predicate,
            body,
            span: start.to(end),
        })
    }

    fn block(&mut self) -> Result<(Vec<Stmt>, Span), Diagnostic> {
        self.expect("{", "to start a block")?;
        self.enter(1)?;
        let mut stmts = Vec::new();
        loop {
            if self.is_punct("}")? {
                let (_, end) = self.next()?;
                self.leave(1);
                return Ok((stmts, end));
            }
            if self.eat(";")? {
                continue;
            }
            let (stmt, needs_semi) = self.stmt()?;
            stmts.push(stmt);
            if needs_semi && !self.eat(";")? && !self.is_punct("}")? {
                let (t, span) = self.peek()?;
                return Err(Diagnostic::new(
                    format!(
                        "expected `;` or `}}` after the statement, found {}",
                        t.describe()
                    ),
                    span,
                    "expected `;`",
                ));
            }
        }
    }

    fn stmt(&mut self) -> Result<(Stmt, bool), Diagnostic> {
        let (t, span) = self.peek()?;
        if let Tok::Ident(kw) = &t {
            match kw.as_str() {
                "if" => {
                    self.next()?;
                    return Ok((self.if_rest()?, false));
                }
                "unroll" => {
                    self.next()?;
                    self.expect("(", "after `unroll`")?;
                    let (t, nspan) = self.next()?;
                    let Tok::Int(n) = t else {
                        return Err(Diagnostic::new(
                            "unroll needs an integer literal count",
                            nspan,
                            "not an integer",
                        ));
                    };
                    if !(1..=100).contains(&n) {
                        return Err(Diagnostic::new(
                            "unroll count out of range",
                            nspan,
                            "must be 1 to 100",
                        )
                        .hint("bpftrace also limits unroll to 100"));
                    }
                    self.expect(")", "after the unroll count")?;
                    let (body, _) = self.block()?;
                    return Ok((
                        Stmt::Unroll {
                            count: n as u64,
                            body,
                            span: span.to(nspan),
                        },
                        false,
                    ));
                }
                "let" => {
                    self.next()?;
                    let (t, vspan) = self.next()?;
                    let Tok::Var(name) = t else {
                        return Err(Diagnostic::new(
                            format!("expected a variable after `let`, found {}", t.describe()),
                            vspan,
                            "expected `$name`",
                        ));
                    };
                    let ty = if self.eat(":")? {
                        Some(self.decl_type()?)
                    } else {
                        None
                    };
                    let value = if self.eat("=")? {
                        Some(self.expr(0)?)
                    } else {
                        None
                    };
                    let (_, here) = self.peek()?;
                    let end = value
                        .as_ref()
                        .map_or(Span::new(here.start, here.start), |v| v.span);
                    return Ok((
                        Stmt::Let {
                            name,
                            ty,
                            value,
                            span: span.to(end),
                        },
                        true,
                    ));
                }
                "for" => {
                    self.next()?;
                    self.expect("(", "after `for`")?;
                    let (t, vspan) = self.next()?;
                    let Tok::Var(var) = t else {
                        return Err(Diagnostic::new(
                            format!("expected a variable in `for (`, found {}", t.describe()),
                            vspan,
                            "expected `$name`",
                        )
                        .hint("write `for ($kv : @map) { ... }`"));
                    };
                    self.expect(":", "after the loop variable")?;
                    let map = self.expr(0)?;
                    let end = self.expect(")", "after the map of the for loop")?;
                    let (body, _) = self.block()?;
                    return Ok((
                        Stmt::For {
                            var,
                            map,
                            body,
                            span: span.to(end),
                        },
                        false,
                    ));
                }
                "while" => {
                    self.next()?;
                    let cond = self.expr(0)?;
                    let (body, _) = self.block()?;
                    return Ok((Stmt::While { cond, body }, false));
                }
                "break" => {
                    self.next()?;
                    return Ok((Stmt::Break(span), true));
                }
                "continue" => {
                    self.next()?;
                    return Ok((Stmt::Continue(span), true));
                }
                "return" => {
                    self.next()?;
                    return Ok((Stmt::Return(span), true));
                }
                _ => {}
            }
        }
        let e = self.expr(0)?;
        let (t, opspan) = self.peek()?;
        let Tok::Punct(p) = t else {
            return Ok((Stmt::Expr(e), true));
        };
        let (op, value) = if p == "=" {
            self.next()?;
            (None, self.expr(0)?)
        } else if let Some(op) = compound_op(p) {
            self.next()?;
            (Some(op), self.expr(0)?)
        } else if p == "++" || p == "--" {
            self.next()?;
            let op = if p == "++" { BinOp::Add } else { BinOp::Sub };
            (
                Some(op),
                Expr {
                    kind: ExprKind::Int(1),
                    span: opspan,
                },
            )
        } else {
            return Ok((Stmt::Expr(e), true));
        };
        let span = e.span.to(value.span);
        let stmt =
            match e.kind {
                ExprKind::Map { .. } => Stmt::AssignMap {
                    map: e,
                    op,
                    value,
                    span,
                },
                ExprKind::Var(name) => Stmt::AssignVar {
                    name,
                    op,
                    value,
                    span,
                },
                _ => return Err(Diagnostic::new(
                    "cannot assign to this expression",
                    e.span,
                    "not a map or a variable",
                )
                .hint(
                    "assign to a map (`@name[key] = ...`) or a scratch variable (`$name = ...`)",
                )),
            };
        Ok((stmt, true))
    }

    fn if_rest(&mut self) -> Result<Stmt, Diagnostic> {
        self.enter(1)?;
        let cond = self.expr(0)?;
        let (then, _) = self.block()?;
        let mut els = Vec::new();
        if matches!(self.peek()?.0, Tok::Ident(ref k) if k == "else") {
            self.next()?;
            if matches!(self.peek()?.0, Tok::Ident(ref k) if k == "if") {
                self.next()?;
                els.push(self.if_rest()?);
            } else {
                els = self.block()?.0;
            }
        }
        self.leave(1);
        Ok(Stmt::If { cond, then, els })
    }

    /// Pratt loop: a prefix expression, then binary operators binding tighter than `min`.
    fn expr(&mut self, min: u8) -> Result<Expr, Diagnostic> {
        self.enter(1)?;
        // Each operator applied in this loop puts `lhs` one level deeper in the tree.
        let mut chain = 0;
        let mut lhs = self.unary()?;
        loop {
            let (t, _) = self.peek()?;
            let Tok::Punct(p) = t else { break };
            if p == "?" && min <= 1 {
                self.next()?;
                self.enter(1)?;
                chain += 1;
                let then = self.expr(1)?;
                self.expect(":", "in the ternary `cond ? a : b`")?;
                let els = self.expr(1)?;
                let span = lhs.span.to(els.span);
                lhs = Expr {
                    kind: ExprKind::Ternary {
                        cond: Box::new(lhs),
                        then: Box::new(then),
                        els: Box::new(els),
                    },
                    span,
                };
                continue;
            }
            if p == "/" && self.no_div {
                break;
            }
            let Some((op, prec)) = binop(p) else { break };
            if prec <= min {
                break;
            }
            self.next()?;
            self.enter(1)?;
            chain += 1;
            let rhs = self.expr(prec)?;
            let span = lhs.span.to(rhs.span);
            lhs = Expr {
                kind: ExprKind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                span,
            };
        }
        self.leave(1 + chain);
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, Diagnostic> {
        let (t, span) = self.peek()?;
        if let Tok::Punct(p) = t {
            let op = match p {
                "-" => Some(UnOp::Neg),
                "!" => Some(UnOp::Not),
                "~" => Some(UnOp::BitNot),
                "*" => Some(UnOp::Deref),
                _ => None,
            };
            if let Some(op) = op {
                self.next()?;
                self.enter(1)?;
                let e = self.unary()?;
                self.leave(1);
                let span = span.to(e.span);
                if let (UnOp::Neg, ExprKind::Int(i)) = (op, &e.kind) {
                    return Ok(Expr {
                        kind: ExprKind::Int(i.wrapping_neg()),
                        span,
                    });
                }
                return Ok(Expr {
                    kind: ExprKind::Unary {
                        op,
                        expr: Box::new(e),
                    },
                    span,
                });
            }
        }
        let e = self.primary()?;
        self.postfix(e)
    }

    fn postfix(&mut self, mut e: Expr) -> Result<Expr, Diagnostic> {
        let mut chain = 0;
        loop {
            let (t, _) = self.peek()?;
            match t {
                Tok::Punct("->") | Tok::Punct(".") => {
                    self.next()?;
                    self.enter(1)?;
                    chain += 1;
                    let (t, fspan) = self.next()?;
                    let field = match t {
                        Tok::Ident(f) => f,
                        Tok::Int(i) => i.to_string(),
                        other => {
                            return Err(Diagnostic::new(
                                format!("expected a field name, found {}", other.describe()),
                                fspan,
                                "expected a field name",
                            ))
                        }
                    };
                    let span = e.span.to(fspan);
                    e = Expr {
                        kind: ExprKind::Field {
                            expr: Box::new(e),
                            field,
                            field_span: fspan,
                        },
                        span,
                    };
                }
                Tok::Punct("[") => {
                    self.next()?;
                    self.enter(1)?;
                    chain += 1;
                    let saved = self.no_div;
                    self.no_div = false;
                    let index = self.expr(0)?;
                    self.no_div = saved;
                    let end = self.expect("]", "to close the index")?;
                    let span = e.span.to(end);
                    e = Expr {
                        kind: ExprKind::Index {
                            expr: Box::new(e),
                            index: Box::new(index),
                        },
                        span,
                    };
                }
                _ => {
                    self.leave(chain);
                    return Ok(e);
                }
            }
        }
    }

    fn args(&mut self, close: &str) -> Result<(Vec<Expr>, Span), Diagnostic> {
        let saved = self.no_div;
        self.no_div = false;
        let mut args = Vec::new();
        loop {
            if self.is_punct(close)? {
                break;
            }
            args.push(self.expr(0)?);
            if !self.eat(",")? {
                break;
            }
        }
        let end = self.expect(close, "to close the list")?;
        self.no_div = saved;
        Ok((args, end))
    }

    fn primary(&mut self) -> Result<Expr, Diagnostic> {
        let (t, span) = self.next()?;
        let kind = match t {
            Tok::Int(i) => ExprKind::Int(i),
            Tok::Str(s) => ExprKind::Str(s),
            Tok::Var(v) => ExprKind::Var(v),
            Tok::Positional(n) => ExprKind::Positional(n),
            Tok::PositionalCount => ExprKind::PositionalCount,
            Tok::Map(name) => {
                if self.is_punct("[")? {
                    self.next()?;
                    let (keys, end) = self.args("]")?;
                    if keys.is_empty() {
                        return Err(Diagnostic::new(
                            "empty map key",
                            span.to(end),
                            "a key is needed between `[` and `]`",
                        ));
                    }
                    return Ok(Expr {
                        kind: ExprKind::Map { name, keys },
                        span: span.to(end),
                    });
                }
                ExprKind::Map {
                    name,
                    keys: Vec::new(),
                }
            }
            Tok::Ident(name)
                if (name == "sizeof" || name == "offsetof") && self.is_punct("(")? =>
            {
                self.next()?;
                let saved = self.no_div;
                self.no_div = false;
                let ty = self.type_name()?;
                let kind = if name == "sizeof" {
                    match ty {
                        Some(t) => ExprKind::SizeofType(t),
                        None => {
                            self.enter(1)?;
                            let e = self.expr(0)?;
                            self.leave(1);
                            ExprKind::SizeofExpr(Box::new(e))
                        }
                    }
                } else {
                    let Some(ty) = ty else {
                        let (t, s) = self.peek()?;
                        return Err(Diagnostic::new(
                            format!("expected a type in offsetof(), found {}", t.describe()),
                            s,
                            "expected `struct NAME`",
                        ));
                    };
                    self.expect(",", "after the type in offsetof()")?;
                    let mut fields = Vec::new();
                    loop {
                        let (t, s) = self.next()?;
                        let Tok::Ident(f) = t else {
                            return Err(Diagnostic::new(
                                format!("expected a member name, found {}", t.describe()),
                                s,
                                "expected a member name",
                            ));
                        };
                        fields.push(f);
                        if !self.eat(".")? {
                            break;
                        }
                    }
                    ExprKind::Offsetof { ty, fields }
                };
                let end = self.expect(")", &format!("to close {name}()"))?;
                self.no_div = saved;
                return Ok(Expr {
                    kind,
                    span: span.to(end),
                });
            }
            Tok::Ident(name) => {
                if self.is_punct("(")? {
                    self.next()?;
                    let (args, end) = self.args(")")?;
                    return Ok(Expr {
                        kind: ExprKind::Call { name, args },
                        span: span.to(end),
                    });
                }
                ExprKind::Builtin(name)
            }
            Tok::Punct("(") => {
                // A cast `(uint32)e`, `(struct sock *)e`, a tuple `(a, b)` or a
                // parenthesised expression.
                if let (Tok::Ident(_), _) = self.peek()? {
                    let save = self.lx.pos;
                    if let Some(ty) = self.type_name()? {
                        if self.eat(")")? {
                            self.enter(1)?;
                            let e = self.unary()?;
                            self.leave(1);
                            let span = span.to(e.span);
                            return Ok(Expr {
                                kind: ExprKind::Cast {
                                    ty,
                                    expr: Box::new(e),
                                },
                                span,
                            });
                        }
                    }
                    self.lx.pos = save;
                }
                let saved = self.no_div;
                self.no_div = false;
                let first = self.expr(0)?;
                let result = if self.eat(",")? {
                    let (mut rest, end) = self.args(")")?;
                    rest.insert(0, first);
                    Expr {
                        kind: ExprKind::Tuple(rest),
                        span: span.to(end),
                    }
                } else {
                    let end = self.expect(")", "to close the parenthesis")?;
                    Expr {
                        kind: first.kind,
                        span: span.to(end),
                    }
                };
                self.no_div = saved;
                return Ok(result);
            }
            other => {
                return Err(Diagnostic::new(
                    format!("expected an expression, found {}", other.describe()),
                    span,
                    "expected an expression",
                ))
            }
        };
        Ok(Expr { kind, span })
    }
}
