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
        loop {
            self.lx.skip_trivia()?;
            // A C preamble line (`#include <...>`) is accepted and ignored.
            while self.lx.src[self.lx.pos..].starts_with('#') {
                let rest = &self.lx.src[self.lx.pos..];
                self.lx.pos += rest.find('\n').unwrap_or(rest.len());
                self.lx.skip_trivia()?;
            }
            if self.lx.pos >= self.lx.src.len() {
                break;
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
        Ok(Program { probes })
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
                // A cast `(uint32)e`, a tuple `(a, b)` or a parenthesised expression.
                if let (Tok::Ident(ty), _) = self.peek()? {
                    if CAST_TYPES.contains(&ty.as_str()) {
                        let save = self.lx.pos;
                        self.next()?;
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
                        self.lx.pos = save;
                    }
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
