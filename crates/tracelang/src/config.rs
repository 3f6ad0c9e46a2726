//! The `config = { key = value; ... }` block of bpftrace 0.19 and later, checked as bpftrace
//! 0.23.2 checks it: the keys it knows (its `CONFIG_KEY_MAP`, with or without the
//! `BPFTRACE_` prefix, in any case), the ones it refuses because they can only come from
//! the environment, and the type each value must have (a literal). The settings that change
//! what this compiler or its runtime does are kept in [`Settings`]; the others (symbol
//! caches, log sizes, ring buffer pages, ...) are accepted and have no effect here.

use crate::ast::{ConfigItem, ExprKind};
use crate::diag::Diagnostic;

/// What a value of a key must be.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Want {
    Int,
    /// An integer, 0 or 1.
    Bool,
    Str,
    /// `bpftrace`, `perf`, `raw` (a bare word).
    StackMode,
    /// A string among these.
    OneOf(&'static [&'static str]),
}

/// bpftrace 0.23.2's keys (src/config.h).
const KEYS: &[(&str, Want)] = &[
    (
        "cache_user_symbols",
        Want::OneOf(&["PER_PID", "PER_PROGRAM", "NONE", "0", "1"]),
    ),
    ("cpp_demangle", Want::Bool),
    ("lazy_symbolication", Want::Bool),
    ("log_size", Want::Int),
    ("max_bpf_progs", Want::Int),
    ("max_cat_bytes", Want::Int),
    ("max_map_keys", Want::Int),
    ("max_probes", Want::Int),
    ("max_strlen", Want::Int),
    ("max_type_res_iterations", Want::Int),
    ("on_stack_limit", Want::Int),
    ("perf_rb_pages", Want::Int),
    ("probe_inline", Want::Bool),
    ("stack_mode", Want::StackMode),
    ("str_trunc_trailer", Want::Str),
    ("symbol_source", Want::OneOf(&["dwarf", "symbol_table"])),
    ("missing_probes", Want::OneOf(&["ignore", "warn", "error"])),
    ("print_maps_on_exit", Want::Bool),
    ("use_blazesym", Want::Bool),
];

/// Keys bpftrace takes only from the environment (`BPFTRACE_BTF`, ...).
const ENV_ONLY: &[&str] = &[
    "btf",
    "debug_output",
    "kernel_build",
    "kernel_source",
    "max_ast_nodes",
    "verify_llvm_ir",
    "vmlinux",
];

/// The settings of a config block that change what kmodkit does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `max_map_keys`: entries per map (an environment variable still wins, as in bpftrace).
    pub max_map_keys: Option<u64>,
    /// `print_maps_on_exit = 0`: the maps are not printed at exit.
    pub print_maps_on_exit: bool,
    /// `max_probes`: more probe instances than this is an error.
    pub max_probes: Option<u64>,
    /// `max_bpf_progs`: more programs than this is an error.
    pub max_bpf_progs: Option<u64>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            max_map_keys: None,
            print_maps_on_exit: true,
            max_probes: None,
            max_bpf_progs: None,
        }
    }
}

/// A key whose setting kmodkit does not follow yet.
fn unsupported(key: &str, span: crate::ast::Span) -> Diagnostic {
    Diagnostic::new(
        format!("config variable {key} is not supported yet by kmodkit trace"),
        span,
        "not supported",
    )
    .hint("strings are cut at 64 bytes without a trailer, as bpftrace 0.17 does")
}

/// The name of a key as bpftrace looks it up: lower case, without a `bpftrace_` prefix.
fn normalise(key: &str) -> String {
    let k = key.to_ascii_lowercase();
    k.strip_prefix("bpftrace_")
        .map_or(k.clone(), str::to_string)
}

/// Checks a program's config block; the settings, or every error in it.
pub fn check(items: &[ConfigItem]) -> Result<Settings, Vec<Diagnostic>> {
    let mut s = Settings::default();
    let mut errors = Vec::new();
    for item in items {
        let key = normalise(&item.key);
        if ENV_ONLY.contains(&key.as_str()) {
            errors.push(
                Diagnostic::new(
                    format!("{key} can only be set as an environment variable"),
                    item.span,
                    "not a config variable",
                )
                .hint(format!(
                    "set BPFTRACE_{} in the environment",
                    key.to_uppercase()
                )),
            );
            continue;
        }
        let Some(&(name, want)) = KEYS.iter().find(|(k, _)| *k == key) else {
            let names: Vec<&str> = KEYS.iter().map(|k| k.0).collect();
            errors.push(
                Diagnostic::new(
                    format!("Unrecognized config variable: {}", item.key),
                    item.span,
                    "unknown key",
                )
                .hint(format!("config variables: {}", names.join(", "))),
            );
            continue;
        };
        let v = &item.value;
        let bad_type = |got: &str, expected: &str| {
            Diagnostic::new(
                format!(
                    "Invalid type for {}. Type: {got}. Expected Type: {expected}",
                    item.key
                ),
                item.span,
                format!("this is {got}"),
            )
        };
        let got = match &v.kind {
            ExprKind::Int(_) => "int",
            ExprKind::Str(_) => "string",
            ExprKind::Builtin(_) => "stack_mode",
            _ => {
                errors.push(Diagnostic::new(
                    format!("Assignment for {} must be literal.", item.key),
                    item.span,
                    "not a literal",
                ));
                continue;
            }
        };
        match (want, &v.kind) {
            (Want::Int, ExprKind::Int(n)) => {
                let n = *n as u64;
                match name {
                    "max_map_keys" => s.max_map_keys = Some(n),
                    "max_probes" => s.max_probes = Some(n),
                    "max_bpf_progs" => s.max_bpf_progs = Some(n),
                    "max_strlen" => errors.push(unsupported(&item.key, item.span)),
                    _ => {}
                }
            }
            (Want::Int, _) => errors.push(bad_type(got, "int")),
            (Want::Bool, ExprKind::Int(n)) => match n {
                0 | 1 => {
                    if name == "print_maps_on_exit" {
                        s.print_maps_on_exit = *n == 1;
                    }
                }
                n => errors.push(Diagnostic::new(
                    format!(
                        "Invalid value for {}. Needs to be 0 or 1. Value: {n}",
                        item.key
                    ),
                    v.span,
                    "not 0 or 1",
                )),
            },
            (Want::Bool, _) => errors.push(bad_type(got, "int")),
            // The trailer bpftrace 0.23 appends to strings cut at max_strlen: kmodkit cuts
            // strings as 0.17 does (64 bytes, no trailer).
            (Want::Str, ExprKind::Str(_)) => errors.push(unsupported(&item.key, item.span)),
            (Want::Str, _) => errors.push(bad_type(got, "string")),
            (Want::OneOf(ok), ExprKind::Str(text)) => {
                if !ok.contains(&text.as_str()) {
                    // bpftrace's wording: quoted values, except the cache modes.
                    let shown: Vec<String> = ok
                        .iter()
                        .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
                        .map(|w| match name {
                            "cache_user_symbols" => w.to_string(),
                            _ => format!("\"{w}\""),
                        })
                        .collect();
                    let list = match shown.split_last() {
                        Some((last, rest)) if !rest.is_empty() => {
                            format!("{}, and {last}", rest.join(", "))
                        }
                        _ => shown.join(""),
                    };
                    errors.push(Diagnostic::new(
                        format!("Invalid value for {name}: valid values are {list}."),
                        v.span,
                        format!("\"{text}\" is not one of them"),
                    ));
                }
            }
            (Want::OneOf(_), _) => errors.push(bad_type(got, "string")),
            (Want::StackMode, ExprKind::Builtin(mode)) => {
                if !matches!(mode.as_str(), "bpftrace" | "perf" | "raw") {
                    errors.push(Diagnostic::new(
                        format!("Unknown stack mode: '{mode}'"),
                        v.span,
                        "not a stack mode",
                    ));
                } else if mode != "bpftrace" {
                    errors.push(
                        Diagnostic::new(
                            format!("stack_mode = {mode} is not supported yet by kmodkit trace"),
                            v.span,
                            "not supported",
                        )
                        .hint("stacks print in bpftrace's own mode"),
                    );
                }
            }
            (Want::StackMode, _) => errors.push(bad_type(got, "stack_mode")),
        }
    }
    if errors.is_empty() {
        Ok(s)
    } else {
        Err(errors)
    }
}
