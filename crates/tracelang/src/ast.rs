//! The syntax tree of a script, as the parser produces it and semantic analysis annotates it.
//! Every node carries the byte range of its source text so that any later pass can point at it.

/// A byte range `start..end` in the script's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

#[derive(Debug, Clone)]
pub struct Program {
    pub probes: Vec<Probe>,
    /// `#define NAME VALUE` lines of the preamble, in order (the value as written).
    pub defines: Vec<Define>,
    /// `struct NAME { ... };` (or `union`) definitions written in the script.
    pub structs: Vec<StructDef>,
    /// `#include <NAME>` / `#include "NAME"`: the headers named, whose integer `#define`s
    /// the script may use (types come from BTF).
    pub includes: Vec<String>,
    /// `config = { key = value; ... }` (bpftrace 0.19 and later), before the probes.
    pub config: Vec<ConfigItem>,
}

/// One `key = value` of a `config = { ... }` block, the value a literal as written.
#[derive(Debug, Clone)]
pub struct ConfigItem {
    pub key: String,
    pub value: Expr,
    /// The `=`, where bpftrace 0.23 points its errors.
    pub span: Span,
}

/// `#define NAME VALUE`: an integer constant the script can name.
#[derive(Debug, Clone)]
pub struct Define {
    pub name: String,
    pub value: String,
    pub span: Span,
}

/// A C struct or union written in the script, as clang would read it: members in order,
/// each with its type as written (`struct load_weight`, `unsigned int`, `char *`) and, for
/// arrays, the element count.
#[derive(Debug, Clone)]
pub struct StructDef {
    pub union: bool,
    pub name: String,
    pub members: Vec<MemberDef>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct MemberDef {
    /// The type as written, pointer stars included (`struct sock *`).
    pub ty: String,
    pub name: String,
    pub array: Option<u32>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Probe {
    pub attach: Vec<AttachPoint>,
    pub predicate: Option<Expr>,
    pub body: Vec<Stmt>,
    pub span: Span,
}

/// An attach point exactly as written (`tracepoint:syscalls:sys_enter_openat`, `BEGIN`).
#[derive(Debug, Clone)]
pub struct AttachPoint {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum Stmt {
    Expr(Expr),
    /// `@m[k] = v`, `@m[k] += v` (op), `@m++` (op Add, value 1).
    AssignMap {
        map: Expr,
        op: Option<BinOp>,
        value: Expr,
        span: Span,
    },
    AssignVar {
        name: String,
        op: Option<BinOp>,
        value: Expr,
        span: Span,
    },
    If {
        cond: Expr,
        then: Vec<Stmt>,
        els: Vec<Stmt>,
    },
    Unroll {
        count: u64,
        body: Vec<Stmt>,
        span: Span,
    },
    While {
        cond: Expr,
        body: Vec<Stmt>,
    },
    /// `let $name;`, `let $name: TYPE;`, `let $name [: TYPE] = value;` (bpftrace 0.21+):
    /// declares the variable, fixing its type when one is written.
    Let {
        name: String,
        ty: Option<String>,
        value: Option<Expr>,
        span: Span,
    },
    /// `for ($kv : @map) { ... }` (bpftrace 0.20+): the body runs once per element, `$kv`
    /// being the tuple (key, value).
    For {
        var: String,
        map: Expr,
        body: Vec<Stmt>,
        span: Span,
    },
    Break(Span),
    Continue(Span),
    Return(Span),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    LAnd,
    LOr,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        use BinOp::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
            BitAnd => "&",
            BitOr => "|",
            BitXor => "^",
            Shl => "<<",
            Shr => ">>",
            Eq => "==",
            Ne => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            LAnd => "&&",
            LOr => "||",
        }
    }
    pub fn is_comparison(self) -> bool {
        use BinOp::*;
        matches!(self, Eq | Ne | Lt | Le | Gt | Ge)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
    BitNot,
    Deref,
}

#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum ExprKind {
    Int(i64),
    Str(String),
    /// `pid`, `comm`, `arg0`, `args`, `retval`, ...
    Builtin(String),
    /// `$name`
    Var(String),
    /// `$1`; `$#` is `Positional(0)` with `count` set.
    Positional(u32),
    PositionalCount,
    /// `@name[keys]`; `@` alone has the empty name.
    Map {
        name: String,
        keys: Vec<Expr>,
    },
    Call {
        name: String,
        args: Vec<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Unary {
        op: UnOp,
        expr: Box<Expr>,
    },
    Ternary {
        cond: Box<Expr>,
        then: Box<Expr>,
        els: Box<Expr>,
    },
    /// `expr->field` or `expr.field`
    Field {
        expr: Box<Expr>,
        field: String,
        field_span: Span,
    },
    /// `(uint8)expr`, `(struct task_struct *)expr`: the type as written, normalised to
    /// single spaces (`struct task_struct *`).
    Cast {
        ty: String,
        expr: Box<Expr>,
    },
    /// `expr[index]` on a pointer or an array read from kernel memory.
    Index {
        expr: Box<Expr>,
        index: Box<Expr>,
    },
    /// `sizeof(struct x)` (a type as written) or `sizeof(expr)`.
    SizeofType(String),
    SizeofExpr(Box<Expr>),
    /// `offsetof(struct x, a.b)`.
    Offsetof {
        ty: String,
        fields: Vec<String>,
    },
    Tuple(Vec<Expr>),
}

/// The span of a statement, for diagnostics about it as a whole.
pub(crate) fn stmt_span(s: &Stmt) -> Span {
    match s {
        Stmt::Expr(e) | Stmt::If { cond: e, .. } | Stmt::While { cond: e, .. } => e.span,
        Stmt::AssignMap { span, .. }
        | Stmt::AssignVar { span, .. }
        | Stmt::Unroll { span, .. }
        | Stmt::Let { span, .. }
        | Stmt::For { span, .. }
        | Stmt::Break(span)
        | Stmt::Continue(span)
        | Stmt::Return(span) => *span,
    }
}
