//! Kernel types in the language: C type names (`struct task_struct *`) resolved against
//! BTF, the types of members read through `->` and `.` (bitfields, char arrays as strings,
//! anonymous structs and unions looked through), enum constants and `#define`s as
//! identifiers, `sizeof`/`offsetof`, and the structs a script defines itself, laid out as C
//! lays them out on top of the kernel's types.
//!
//! BTF is loaded only for scripts that need it ([`needs_btf`], a syntactic scan), through
//! [`crate::sema::Env::btf`]: vmlinux's BTF is several MB, and most scripts never use it.

use crate::ast::*;
use crate::diag::Diagnostic;
use crate::sema::Analysis;
use crate::types::*;
use btf::{Btf, Kind, Member, TypeId};
use std::collections::HashMap;

/// The builtins that exist without BTF; any other bare identifier may be an enum constant.
pub(crate) const PLAIN_BUILTINS: &[&str] = &[
    "pid", "tid", "uid", "gid", "comm", "nsecs", "elapsed", "cpu", "cgroup", "func", "probe",
    "retval", "args", "cpid", "rand", "kstack", "ustack", "arg0", "arg1", "arg2", "arg3", "arg4",
    "arg5", "arg6", "arg7", "arg8", "arg9", "arg10", "arg11", "curtask",
];

/// Whether analysing `prog` needs the kernel's types: a cast to a C type other than the
/// language's own integers, a member read that is not a tracepoint's `args`, an index,
/// `sizeof`/`offsetof`, `curtask`, an identifier that is no builtin (an enum constant),
/// a struct definition, or a probe typed from BTF (kfunc, kretfunc, rawtracepoint).
pub fn needs_btf(prog: &Program) -> bool {
    if !prog.structs.is_empty() {
        return true;
    }
    let defined: Vec<&str> = prog.defines.iter().map(|d| d.name.as_str()).collect();
    prog.probes.iter().any(|p| {
        p.attach.iter().any(|a| {
            let ty = a.text.split(':').next().unwrap_or("");
            matches!(
                ty,
                "kfunc" | "kretfunc" | "fentry" | "fexit" | "f" | "fr" | "rawtracepoint" | "rt"
            )
        }) || p
            .predicate
            .as_ref()
            .is_some_and(|e| expr_needs(e, &defined))
            || p.body.iter().any(|s| stmt_needs(s, &defined))
    })
}

fn stmt_needs(s: &Stmt, defined: &[&str]) -> bool {
    match s {
        Stmt::Expr(e) => expr_needs(e, defined),
        Stmt::AssignMap { map, value, .. } => {
            expr_needs(map, defined) || expr_needs(value, defined)
        }
        Stmt::AssignVar { value, .. } => expr_needs(value, defined),
        Stmt::If { cond, then, els } => {
            expr_needs(cond, defined)
                || then.iter().any(|s| stmt_needs(s, defined))
                || els.iter().any(|s| stmt_needs(s, defined))
        }
        Stmt::Unroll { body, .. } => body.iter().any(|s| stmt_needs(s, defined)),
        Stmt::While { cond, body } => {
            expr_needs(cond, defined) || body.iter().any(|s| stmt_needs(s, defined))
        }
        Stmt::Let { ty, value, .. } => {
            // A declared type other than bpftrace's own names is a C type, from BTF.
            ty.as_deref().is_some_and(|t| {
                let base = t.split('[').next().unwrap_or(t);
                !(crate::parser::CAST_TYPES.contains(&base) || matches!(base, "bool" | "string"))
            }) || value.as_ref().is_some_and(|v| expr_needs(v, defined))
        }
        Stmt::For { map, body, .. } => {
            expr_needs(map, defined) || body.iter().any(|s| stmt_needs(s, defined))
        }
        Stmt::Break(_) | Stmt::Continue(_) | Stmt::Return(_) => false,
    }
}

fn expr_needs(e: &Expr, defined: &[&str]) -> bool {
    let any = |v: &[Expr]| v.iter().any(|e| expr_needs(e, defined));
    match &e.kind {
        ExprKind::Int(_)
        | ExprKind::Str(_)
        | ExprKind::Var(_)
        | ExprKind::Positional(_)
        | ExprKind::PositionalCount => false,
        ExprKind::Builtin(b) => {
            b == "curtask"
                || (!PLAIN_BUILTINS.contains(&b.as_str()) && !defined.contains(&b.as_str()))
        }
        ExprKind::Map { keys, .. } => any(keys),
        ExprKind::Call { args, .. } => any(args),
        ExprKind::Binary { lhs, rhs, .. } => expr_needs(lhs, defined) || expr_needs(rhs, defined),
        ExprKind::Unary { expr, .. } => expr_needs(expr, defined),
        ExprKind::Ternary { cond, then, els } => {
            expr_needs(cond, defined) || expr_needs(then, defined) || expr_needs(els, defined)
        }
        // A tuple's element (`$kv.0`) is no kernel type.
        ExprKind::Field { expr, field, .. } if field.bytes().all(|c| c.is_ascii_digit()) => {
            expr_needs(expr, defined)
        }
        ExprKind::Field { expr, .. } => {
            !matches!(&expr.kind, ExprKind::Builtin(b) if b == "args") || expr_needs(expr, defined)
        }
        ExprKind::Cast { ty, expr } => {
            !crate::parser::CAST_TYPES.contains(&ty.as_str()) || expr_needs(expr, defined)
        }
        ExprKind::Tuple(items) => any(items),
        ExprKind::Index { .. }
        | ExprKind::SizeofType(_)
        | ExprKind::SizeofExpr(_)
        | ExprKind::Offsetof { .. } => true,
    }
}

/// The value of a `#define` as written: an integer literal, possibly negated or in
/// parentheses, or the name of an earlier define.
fn define_value(text: &str, known: &HashMap<String, i64>) -> Option<i64> {
    let t = text.split("/*").next().unwrap_or("").trim();
    let t = t
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .map_or(t, str::trim);
    if let Some(rest) = t.strip_prefix('-') {
        return define_value(rest, known).map(i64::wrapping_neg);
    }
    let digits = t.trim_end_matches(['u', 'U', 'l', 'L']);
    crate::lexer::parse_int(digits).or_else(|| known.get(t).copied())
}

/// C's names for the basic integer types as BTF spells them (`long unsigned int`).
fn c_basic_name(words: &str) -> &str {
    match words {
        "unsigned" | "unsigned int" => "unsigned int",
        "signed" | "signed int" => "int",
        "long" | "long int" | "signed long" => "long int",
        "unsigned long" | "unsigned long int" | "long unsigned int" => "long unsigned int",
        "long long" | "long long int" => "long long int",
        "unsigned long long" | "long long unsigned int" => "long long unsigned int",
        "short" | "short int" => "short int",
        "unsigned short" | "short unsigned int" => "short unsigned int",
        "unsigned char" => "unsigned char",
        "signed char" => "signed char",
        "bool" => "_Bool",
        other => other,
    }
}

/// The size of an integer type named as the language names it (`uint8` .. `int64`), or as
/// C's fixed-size typedefs do, without BTF: (bytes, signed).
fn fixed_int(name: &str) -> Option<(u32, bool)> {
    Some(match name {
        "uint8" | "u8" | "__u8" | "uint8_t" | "unsigned char" => (1, false),
        "int8" | "s8" | "__s8" | "int8_t" | "signed char" | "char" => (1, true),
        "uint16" | "u16" | "__u16" | "uint16_t" | "short unsigned int" => (2, false),
        "int16" | "s16" | "__s16" | "int16_t" | "short int" => (2, true),
        "uint32" | "u32" | "__u32" | "uint32_t" | "unsigned int" => (4, false),
        "int32" | "s32" | "__s32" | "int32_t" | "int" | "pid_t" => (4, true),
        "uint64"
        | "u64"
        | "__u64"
        | "uint64_t"
        | "long unsigned int"
        | "size_t"
        | "long long unsigned int" => (8, false),
        "int64" | "s64" | "__s64" | "int64_t" | "long int" | "ssize_t" | "long long int" => {
            (8, true)
        }
        "_Bool" => (1, false),
        _ => return None,
    })
}

/// Builds the analysis's type table: the kernel's BTF (when loaded), with the script's own
/// struct definitions added on top, and the constants the script names (its `#define`s
/// and, from BTF, enum constants).
pub(crate) fn prepare(
    a: &mut Analysis,
    prog: &Program,
    included: &[(String, String)],
) -> Result<(), Diagnostic> {
    // Headers' defines first (twice: a value may name a later one), the script's own last.
    for _ in 0..2 {
        for (name, value) in included {
            if !a.constants.contains_key(name) {
                if let Some(v) = define_value(value, &a.constants) {
                    a.constants.insert(name.clone(), v);
                }
            }
        }
    }
    for d in &prog.defines {
        if let Some(v) = define_value(&d.value, &a.constants) {
            a.constants.insert(d.name.clone(), v);
        }
    }
    if !prog.structs.is_empty() {
        let mut b = match &a.btf {
            Some(b) => (**b).clone(),
            None => Btf::empty(),
        };
        for def in &prog.structs {
            let id = define_struct(a, &mut b, def)?;
            a.local_types.insert(
                format!(
                    "{} {}",
                    if def.union { "union" } else { "struct" },
                    def.name
                ),
                id,
            );
        }
        a.btf = Some(std::sync::Arc::new(b));
    }
    let mut idents = Vec::new();
    for p in &prog.probes {
        if let Some(e) = &p.predicate {
            collect_idents(e, &mut idents);
        }
        for s in &p.body {
            collect_stmt_idents(s, &mut idents);
        }
    }
    if let Some(b) = a.btf.clone() {
        idents.sort();
        idents.dedup();
        let wanted: Vec<String> = idents
            .into_iter()
            .filter(|n| !PLAIN_BUILTINS.contains(&n.as_str()) && !a.constants.contains_key(n))
            .collect();
        if !wanted.is_empty() {
            // One pass over every enum for all the names the script uses.
            for id in 1..b.len() as TypeId {
                if let Some(Kind::Enum { values, .. }) = b.get(id).map(|t| &t.kind) {
                    for v in values {
                        let n = b.str_at(v.name_off);
                        if wanted.iter().any(|w| w == n) && !a.constants.contains_key(n) {
                            a.constants.insert(n.to_string(), v.value);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn collect_stmt_idents(s: &Stmt, out: &mut Vec<String>) {
    match s {
        Stmt::Expr(e) => collect_idents(e, out),
        Stmt::AssignMap { map, value, .. } => {
            collect_idents(map, out);
            collect_idents(value, out);
        }
        Stmt::AssignVar { value, .. } => collect_idents(value, out),
        Stmt::If { cond, then, els } => {
            collect_idents(cond, out);
            then.iter()
                .chain(els)
                .for_each(|s| collect_stmt_idents(s, out));
        }
        Stmt::Unroll { body, .. } => body.iter().for_each(|s| collect_stmt_idents(s, out)),
        Stmt::While { cond, body } => {
            collect_idents(cond, out);
            body.iter().for_each(|s| collect_stmt_idents(s, out));
        }
        Stmt::Let { value, .. } => {
            if let Some(v) = value {
                collect_idents(v, out);
            }
        }
        Stmt::For { map, body, .. } => {
            collect_idents(map, out);
            body.iter().for_each(|s| collect_stmt_idents(s, out));
        }
        Stmt::Break(_) | Stmt::Continue(_) | Stmt::Return(_) => {}
    }
}

fn collect_idents(e: &Expr, out: &mut Vec<String>) {
    match &e.kind {
        ExprKind::Builtin(b) => out.push(b.clone()),
        ExprKind::Map { keys: v, .. } | ExprKind::Call { args: v, .. } | ExprKind::Tuple(v) => {
            v.iter().for_each(|e| collect_idents(e, out))
        }
        ExprKind::Binary { lhs, rhs, .. }
        | ExprKind::Index {
            expr: lhs,
            index: rhs,
        } => {
            collect_idents(lhs, out);
            collect_idents(rhs, out);
        }
        ExprKind::Ternary { cond, then, els } => {
            collect_idents(cond, out);
            collect_idents(then, out);
            collect_idents(els, out);
        }
        ExprKind::Unary { expr, .. }
        | ExprKind::Field { expr, .. }
        | ExprKind::Cast { expr, .. }
        | ExprKind::SizeofExpr(expr) => collect_idents(expr, out),
        _ => {}
    }
}

/// Alignment of a type in bytes, as the x86-64 ABI lays structs out.
fn align_of(b: &Btf, id: TypeId, depth: u32) -> u64 {
    if depth > 32 {
        return 1;
    }
    let id = b.resolve(id);
    match b.get(id).map(|t| &t.kind) {
        Some(Kind::Int { size, .. } | Kind::Enum { size, .. } | Kind::Float { size }) => {
            u64::from(*size).clamp(1, 8)
        }
        Some(Kind::Ptr(_)) => 8,
        Some(Kind::Array { elem, .. }) => align_of(b, *elem, depth + 1),
        Some(Kind::Struct { members, .. } | Kind::Union { members, .. }) => members
            .iter()
            .map(|m| align_of(b, m.type_id, depth + 1))
            .max()
            .unwrap_or(1),
        _ => 1,
    }
}

/// Adds the script's `struct NAME { ... }` to `b`, members laid out as C does.
fn define_struct(a: &Analysis, b: &mut Btf, def: &StructDef) -> Result<TypeId, Diagnostic> {
    let mut members = Vec::new();
    let mut offset = 0u64;
    let mut size = 0u64;
    let mut align = 1u64;
    for m in &def.members {
        let (mut tid, _) = type_in(a, b, &m.ty, m.span)?;
        if let Some(n) = m.array {
            let index = tid;
            tid = b.push(
                "",
                Kind::Array {
                    elem: tid,
                    index,
                    len: n,
                },
            );
        }
        let Some(msize) = b.size_of(tid) else {
            return Err(Diagnostic::new(
                format!("member `{}` has an incomplete type `{}`", m.name, m.ty),
                m.span,
                "its size is not known",
            ));
        };
        let malign = align_of(b, tid, 0);
        align = align.max(malign);
        let at = if def.union {
            0
        } else {
            offset.next_multiple_of(malign)
        };
        let name_off = b.add_str(&m.name);
        members.push(Member {
            name_off,
            type_id: tid,
            bit_offset: (at * 8) as u32,
            bitfield_size: 0,
        });
        offset = at + msize;
        size = size.max(offset);
    }
    let size = size.next_multiple_of(align) as u32;
    let kind = if def.union {
        Kind::Union { size, members }
    } else {
        Kind::Struct { size, members }
    };
    Ok(b.push(&def.name, kind))
}

/// A type written in a script (`struct sock *`, `unsigned int`, `u8 *`) in `b`: the
/// type's id and how many pointer levels were written. Pointer levels beyond the first
/// are made in `b` only when it is the script's own table (`b` mutable).
fn type_in(
    a: &Analysis,
    b: &mut Btf,
    written: &str,
    span: Span,
) -> Result<(TypeId, usize), Diagnostic> {
    let (base, stars) = split_stars(written);
    let id = base_type(a, b, base, span)?;
    let mut id = id;
    for _ in 0..stars {
        id = b.push("", Kind::Ptr(id));
    }
    Ok((id, stars))
}

fn split_stars(written: &str) -> (&str, usize) {
    let stars = written
        .chars()
        .rev()
        .take_while(|c| *c == '*' || *c == ' ')
        .filter(|c| *c == '*')
        .count();
    (written.trim_end_matches(['*', ' ']), stars)
}

/// The id of a type named without pointer stars.
fn base_type(a: &Analysis, b: &Btf, base: &str, span: Span) -> Result<TypeId, Diagnostic> {
    if let Some(id) = a.local_types.get(base) {
        return Ok(*id);
    }
    let base = base.strip_prefix("const ").unwrap_or(base);
    let found = if let Some(n) = base.strip_prefix("struct ") {
        b.struct_named(n)
    } else if let Some(n) = base.strip_prefix("union ") {
        b.union_named(n)
    } else if let Some(n) = base.strip_prefix("enum ") {
        b.named(n, |k| matches!(k, Kind::Enum { .. }))
    } else if base == "void" {
        Some(0)
    } else {
        let c = c_basic_name(base);
        b.named(c, |k| {
            matches!(
                k,
                Kind::Int { .. } | Kind::Typedef(_) | Kind::Enum { .. } | Kind::Float { .. }
            )
        })
    };
    if let Some(id) = found {
        return Ok(id);
    }
    Err(match &a.btf_error {
        Some(e) if a.btf.is_none() => Diagnostic::new(
            format!("unknown type `{base}`: the kernel's types are not available"),
            span,
            "needs BTF",
        )
        .hint(format!("{e}; give a BTF file with --btf FILE")),
        _ => Diagnostic::new(
            format!("unknown type `{base}`"),
            span,
            "not in the kernel's BTF or defined in the script",
        )
        .hint("struct and union names are the kernel's (from BTF) or defined in the script: `struct name { int field; };`"),
    })
}

/// Where a member is, for code generation: its byte offset from the containing object,
/// and for a bitfield its bit shift and width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub offset: u32,
    pub bit_shift: u32,
    pub bits: u32,
}

impl Analysis {
    pub(crate) fn types(&self) -> Option<&Btf> {
        self.btf.as_deref()
    }

    /// A tracepoint field declared `struct X *` (or `union`): a pointer typed from BTF when
    /// the kernel's types are loaded, else an address.
    pub(crate) fn tp_pointer(&self, c_type: &str) -> Ty {
        let t = c_type.trim_start_matches("const ").trim();
        let (base, stars) = split_stars(t);
        let base = base.trim_start_matches("const ").trim();
        if stars != 1 || !(base.starts_with("struct ") || base.starts_with("union ")) {
            return UINT64;
        }
        match self.types() {
            Some(b) => base_type(self, b, base, Span::default()).map_or(UINT64, Ty::Ptr),
            None => UINT64,
        }
    }

    /// A BTF type rendered as C writes it, for messages.
    pub fn c_name(&self, id: TypeId) -> String {
        self.types().map_or_else(|| "?".into(), |b| b.c_type(id))
    }

    /// Any type rendered for a message (`struct task_struct *` for pointers).
    pub fn describe(&self, t: &Ty) -> String {
        match t {
            Ty::Ptr(p) => {
                let inner = self.c_name(*p);
                if inner.ends_with('*') {
                    format!("{inner}*")
                } else {
                    format!("{inner} *")
                }
            }
            Ty::Record(id) | Ty::Array(id) => self.c_name(*id),
            t => t.to_string(),
        }
    }

    fn no_btf(&self, what: &str, span: Span) -> Diagnostic {
        Diagnostic::new(
            format!("{what} needs the kernel's types, which are not available"),
            span,
            "needs BTF",
        )
        .hint(format!(
            "{}; give a BTF file with --btf FILE",
            self.btf_error.as_deref().unwrap_or("no BTF was loaded")
        ))
    }

    /// The type a cast names: (BTF id, pointer levels).
    pub(crate) fn cast_target(&self, written: &str, span: Span) -> Result<Ty, Diagnostic> {
        let (base, stars) = split_stars(written);
        if stars == 0 {
            if let Some((size, signed)) = fixed_int(c_basic_name(base)) {
                return Ok(Ty::Int {
                    size: size as u8,
                    signed,
                });
            }
        }
        let Some(b) = self.types() else {
            return Err(self.no_btf(&format!("the cast to `{written}`"), span));
        };
        let id = base_type(self, b, base, span)?;
        match stars {
            0 => match b.get(b.resolve(id)).map(|t| &t.kind) {
                Some(Kind::Int { size, signed, .. } | Kind::Enum { size, signed, .. })
                    if matches!(size, 1 | 2 | 4 | 8) =>
                {
                    Ok(Ty::Int {
                        size: *size as u8,
                        signed: *signed,
                    })
                }
                _ => Err(Diagnostic::new(
                    format!("cannot cast to `{written}`"),
                    span,
                    "only integer and pointer types",
                )
                .hint(format!("cast to a pointer: `({written} *)`"))),
            },
            1 => Ok(Ty::Ptr(id)),
            _ => {
                // `T **`: a pointer to a pointer type that BTF already has.
                let mut pointee = id;
                for _ in 1..stars {
                    let found = (1..b.len() as TypeId)
                        .find(|&p| b.get(p).is_some_and(|t| t.kind == Kind::Ptr(pointee)));
                    match found {
                        Some(p) => pointee = p,
                        None => {
                            return Err(Diagnostic::new(
                                format!("cannot cast to `{written}`"),
                                span,
                                "this pointer type is not in the kernel's BTF",
                            ))
                        }
                    }
                }
                Ok(Ty::Ptr(pointee))
            }
        }
    }

    /// The language type of a value of BTF type `id` read from memory.
    pub(crate) fn btf_ty(&self, id: TypeId, span: Span) -> Result<Ty, Diagnostic> {
        let Some(b) = self.types() else {
            return Err(self.no_btf("this expression", span));
        };
        let r = b.resolve(id);
        Ok(match b.get(r).map(|t| &t.kind) {
            Some(Kind::Int {
                size, signed, bool, ..
            }) if matches!(size, 1 | 2 | 4 | 8) => Ty::Int {
                size: *size as u8,
                signed: *signed && !*bool,
            },
            Some(Kind::Enum { size, signed, .. }) if matches!(size, 1 | 2 | 4 | 8) => Ty::Int {
                size: *size as u8,
                signed: *signed,
            },
            Some(Kind::Ptr(t)) => Ty::Ptr(*t),
            Some(Kind::Struct { .. } | Kind::Union { .. }) => Ty::Record(r),
            Some(Kind::Array { elem, len, .. }) => {
                let e = b.resolve(*elem);
                match b.get(e).map(|t| &t.kind) {
                    Some(Kind::Int { size: 1, .. }) if *len > 0 => Ty::Str(*len as usize),
                    _ => Ty::Array(r),
                }
            }
            _ => {
                return Err(Diagnostic::new(
                    format!("values of type `{}` cannot be read yet", b.c_type(id)),
                    span,
                    "unsupported type",
                ))
            }
        })
    }

    /// The struct or union that `->`/`.` on a value of type `base` reads from.
    fn record_of(&self, base: &Ty, base_span: Span) -> Result<TypeId, Diagnostic> {
        let b = self
            .types()
            .ok_or_else(|| self.no_btf("reading a member", base_span))?;
        let id = match base {
            Ty::Ptr(p) => b.resolve(*p),
            Ty::Record(id) => *id,
            t => return Err(Diagnostic::new(
                format!("{} has no fields", self.describe(t)),
                base_span,
                format!("this is {}", self.describe(t)),
            )
            .hint(
                "cast an address to a struct pointer first: `((struct task_struct *)addr)->pid`",
            )),
        };
        match b.get(id).map(|t| &t.kind) {
            Some(Kind::Struct { .. } | Kind::Union { .. }) => Ok(id),
            Some(Kind::Fwd { .. }) => Err(Diagnostic::new(
                format!(
                    "`{}` is incomplete: BTF has only its declaration",
                    b.c_type(id)
                ),
                base_span,
                "no members known",
            )),
            _ => Err(Diagnostic::new(
                format!("{} has no fields", self.describe(base)),
                base_span,
                format!("this is {}", self.describe(base)),
            )),
        }
    }

    /// Member `field` of the struct `base` points to (or is): its type and place. A
    /// member that does not exist is reported at `field_span`, with the ones that do.
    pub fn member_of(
        &self,
        base: &Ty,
        field: &str,
        base_span: Span,
        field_span: Span,
    ) -> Result<(Ty, Place), Diagnostic> {
        let rec = self.record_of(base, base_span)?;
        let b = self.types().expect("record_of checked BTF");
        let Some(m) = b.member(rec, field) else {
            let names = b.member_names(rec);
            return Err(Diagnostic::new(
                format!("{} has no field named `{field}`", b.c_type(rec)),
                field_span,
                "no such field",
            )
            .hint(format!("fields: {}", names.join(", "))));
        };
        let t = self.btf_ty(m.type_id, field_span)?;
        let place = if m.bitfield_size > 0 {
            let Ty::Int { size, signed } = t else {
                return Err(Diagnostic::new(
                    "a bitfield that is not an integer",
                    field_span,
                    "here",
                ));
            };
            let _ = (size, signed);
            Place {
                offset: m.bit_offset / 8,
                bit_shift: m.bit_offset % 8,
                bits: m.bitfield_size,
            }
        } else {
            if m.bit_offset % 8 != 0 {
                return Err(Diagnostic::new(
                    format!("field `{field}` does not start on a byte"),
                    field_span,
                    "unsupported layout",
                ));
            }
            Place {
                offset: m.bit_offset / 8,
                bit_shift: 0,
                bits: 0,
            }
        };
        Ok((t, place))
    }

    /// The element type and size of `base[...]` (a pointer or an array).
    pub fn element_of(&self, base: &Ty, span: Span) -> Result<(Ty, u64), Diagnostic> {
        let b = self.types().ok_or_else(|| self.no_btf("indexing", span))?;
        let elem = match base {
            Ty::Ptr(p) => *p,
            Ty::Array(id) => match b.get(*id).map(|t| &t.kind) {
                Some(Kind::Array { elem, .. }) => *elem,
                _ => 0,
            },
            t => {
                return Err(Diagnostic::new(
                    format!("{} cannot be indexed", self.describe(t)),
                    span,
                    format!("this is {}", self.describe(t)),
                ))
            }
        };
        let size = b.size_of(elem).filter(|s| *s > 0).ok_or_else(|| {
            Diagnostic::new(
                format!(
                    "cannot index a `{}`: its elements have no size",
                    self.describe(base)
                ),
                span,
                "here",
            )
        })?;
        Ok((self.btf_ty(elem, span)?, size))
    }

    /// The value of an expression known at compile time: `sizeof`, `offsetof`, an enum
    /// constant or a `#define`.
    pub fn const_value(&self, e: &Expr, inst: usize) -> Result<Option<i64>, Diagnostic> {
        Ok(Some(match &e.kind {
            ExprKind::Builtin(n) => match self.constants.get(n) {
                Some(v) if !PLAIN_BUILTINS.contains(&n.as_str()) => *v,
                _ => return Ok(None),
            },
            ExprKind::SizeofType(t) => {
                let (base, stars) = split_stars(t);
                if stars > 0 {
                    8
                } else if let Some((size, _)) = fixed_int(c_basic_name(base)) {
                    i64::from(size)
                } else {
                    let b = self
                        .types()
                        .ok_or_else(|| self.no_btf(&format!("sizeof({t})"), e.span))?;
                    let id = base_type(self, b, base, e.span)?;
                    b.size_of(id).ok_or_else(|| {
                        Diagnostic::new(format!("`{t}` has no size"), e.span, "incomplete type")
                    })? as i64
                }
            }
            ExprKind::SizeofExpr(x) => match self.ty(x, inst)? {
                Ty::Record(id) | Ty::Array(id) => {
                    self.types().and_then(|b| b.size_of(id)).unwrap_or(0) as i64
                }
                Ty::Int { size, .. } => i64::from(size),
                t => t.size() as i64,
            },
            ExprKind::Offsetof { ty, fields } => {
                let b = self
                    .types()
                    .ok_or_else(|| self.no_btf(&format!("offsetof({ty})"), e.span))?;
                let mut id = base_type(self, b, ty, e.span)?;
                let mut off = 0u64;
                for f in fields {
                    let (t, place) =
                        self.member_of(&Ty::Record(b.resolve(id)), f, e.span, e.span)?;
                    off += u64::from(place.offset);
                    id = match t {
                        Ty::Record(r) => r,
                        _ => 0,
                    };
                }
                off as i64
            }
            _ => return Ok(None),
        }))
    }
}
