//! Semantic analysis: expands attach points into probe instances, gives every expression a
//! type, fixes each map's key and value types and each scratch variable's type, and rejects
//! wrong programs with a diagnostic before anything touches the kernel.
//!
//! The knowledge of the running system (which tracepoints exist, their format files) comes in
//! through [`Env`], so that this pass stays a pure function of the script and that
//! description and can be tested without tracefs.

use crate::ast::*;
use crate::diag::{Diagnostic, Diagnostics};
use crate::printf::{parse_format, Conv, Piece};
use crate::types::*;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// What semantic analysis needs to know about the running system.
pub trait Env {
    /// Tracepoints matching `category:name` (each may contain `*` and `?`).
    fn tracepoints(&self, category: &str, name: &str) -> Result<Vec<(String, String)>, String>;
    fn tracepoint_format(&self, category: &str, name: &str) -> Result<Vec<TpField>, String>;
    fn kprobes_available(&self) -> bool;
    /// The functions a kprobe can attach to, each with its module (None for vmlinux's), as
    /// tracefs's available_filter_functions lists them; an error when it cannot be read.
    fn kprobe_functions(&self) -> Result<Vec<(String, Option<String>)>, String> {
        Err("no kernel function list in this environment".into())
    }
    /// Checks that `path` is an ELF file with the function `symbol` (the file alone when
    /// `symbol` is empty).
    fn uprobe_target(&self, path: &str, symbol: &str) -> Result<(), String>;
    /// The kernel's BTF (vmlinux's, or a file given instead), asked for only when a script
    /// uses kernel types; the error says why there is none.
    fn btf(&self) -> Result<Arc<btf::Btf>, String> {
        Err("no BTF in this environment".into())
    }
    /// The symbols of the ELF file `path` that a uprobe's function `pattern` names: the
    /// symbol itself, the C++ function whose demangled name it is (`ns::K::get(int)`), or,
    /// with `*`, every symbol whose name or demangled name matches; as mangled names.
    fn uprobe_symbols(&self, path: &str, pattern: &str) -> Result<Vec<String>, String> {
        self.uprobe_target(path, pattern)
            .map(|_| vec![pattern.to_string()])
    }
    /// The file a uprobe target names: a bare name (`libc`, `bash`) resolved as bpftrace
    /// does (PATH, then the linker's cache), a path as given.
    fn uprobe_path(&self, path: &str) -> String {
        path.to_string()
    }
    /// The address of the data symbol `name` of the ELF file `path` (`uaddr()`), as its
    /// symbol table gives it.
    fn user_symbol(&self, _path: &str, _name: &str) -> Option<u64> {
        None
    }
    /// The address of a kernel symbol (`kaddr()`), from /proc/kallsyms.
    fn kernel_symbol(&self, _name: &str) -> Option<u64> {
        None
    }
    /// The `#define NAME VALUE` lines of a header a script includes (`linux/socket.h`),
    /// as (name, value text); none when the header is not found.
    fn include_defines(&self, _header: &str) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// One attach point of one probe, with the fields its `args` has.
#[derive(Debug, Clone)]
pub struct ProbeInst {
    /// Index of the probe in the program.
    pub probe: usize,
    pub kind: ProbeKind,
    pub name: String,
    pub tp_fields: Vec<TpField>,
    /// A kfunc's BTF `FUNC` id (its prototype types `args` and `retval`).
    pub btf_func: Option<u32>,
    /// Expanded from a wildcard: a failure to attach it is a warning, not an error.
    pub wildcard: bool,
    /// Scratch variable types, fixed by the first assignment.
    pub vars: HashMap<String, Ty>,
}

#[derive(Debug, Clone)]
pub struct MapInfo {
    pub name: String,
    pub keys: Vec<Ty>,
    pub value: Ty,
}

impl MapInfo {
    /// `@name` as printed.
    pub fn display_name(&self) -> String {
        format!("@{}", self.name)
    }
    pub fn key_size(&self) -> usize {
        let k: usize = self.keys.iter().map(|t| t.size().next_multiple_of(8)).sum();
        let k = if k == 0 { 8 } else { k };
        if self.value.has_bucket() {
            k + 8
        } else {
            k
        }
    }
}

#[derive(Debug, Clone)]
pub struct Analysis {
    pub instances: Vec<ProbeInst>,
    pub maps: BTreeMap<String, MapInfo>,
    pub positional: Vec<String>,
    /// `--unsafe` was given: `system` and `signal` are allowed.
    pub unsafe_ok: bool,
    /// The kernel's types with the script's own structs added, when the script uses types.
    pub btf: Option<Arc<btf::Btf>>,
    /// Why there are no kernel types, when the script needed them.
    pub btf_error: Option<String>,
    /// `#define`s and the enum constants the script names, by name.
    pub constants: HashMap<String, i64>,
    /// The script's struct definitions (`struct NAME`) in `btf`.
    pub local_types: HashMap<String, u32>,
    /// The addresses of the kernel symbols `kaddr()` names.
    pub kernel_symbols: HashMap<String, u64>,
    /// The addresses of the data symbols `uaddr()` names, by (uprobe file, symbol).
    pub user_symbols: HashMap<(String, String), u64>,
    /// What the script's `config = { ... }` block sets (bpftrace 0.23's defaults without one).
    pub config: crate::config::Settings,
}

pub struct Options<'a> {
    pub positional: &'a [String],
    pub unsafe_ok: bool,
    /// A dry run (`-d`): probes are compiled even where this kernel could not attach them
    /// (kprobes on a kernel without them).
    pub dry_run: bool,
}

/// Diagnostics reported at most: more say nothing new, and comparing each with those kept
/// (the same error in every probe instance is reported once) would grow quadratically.
pub const MAX_ERRORS: usize = 100;

pub fn analyse(prog: &Program, env: &dyn Env, opts: &Options) -> Result<Analysis, Diagnostics> {
    let config = crate::config::check(&prog.config).map_err(Diagnostics)?;
    // The kernel's types, only for scripts that use them (vmlinux BTF is several MB).
    let needs_types = crate::kernel::needs_btf(prog);
    let (btf, btf_error) = if needs_types {
        match env.btf() {
            Ok(b) => (Some(b), None),
            Err(e) => (None, Some(e)),
        }
    } else {
        (None, None)
    };
    let mut instances = Vec::new();
    for (i, probe) in prog.probes.iter().enumerate() {
        let before = instances.len();
        for ap in &probe.attach {
            let cx = ExpandCx {
                env,
                dry_run: opts.dry_run,
                btf: btf.as_deref(),
                btf_error: btf_error.as_deref(),
            };
            for (kind, fields, btf_func) in expand(ap, &cx)? {
                let name = kind.full_name(&ap.text);
                instances.push(ProbeInst {
                    probe: i,
                    kind,
                    name,
                    wildcard: ap.text.contains('*'),
                    tp_fields: fields,
                    btf_func,
                    vars: HashMap::new(),
                });
            }
        }
        // Wildcards that all matched nothing: a block that would never run.
        if instances.len() == before {
            if let Some(ap) = probe.attach.first() {
                return Err(Diagnostic::new(
                    format!("no function matches `{}`", ap.text),
                    ap.span,
                    "in this probe",
                )
                .hint("list the functions with `kmodkit trace -l 'kprobe:PATTERN'`".to_string())
                .into());
            }
        }
    }
    let mut a = Analysis {
        instances,
        maps: BTreeMap::new(),
        positional: opts.positional.to_vec(),
        unsafe_ok: opts.unsafe_ok,
        btf,
        btf_error,
        constants: HashMap::new(),
        local_types: HashMap::new(),
        // A dry run compiles what it cannot resolve here with address 0 (as it compiles
        // kprobes on a kernel without them).
        user_symbols: HashMap::new(),
        kernel_symbols: kaddr_names(prog, "kaddr")
            .into_iter()
            .filter_map(|n| match env.kernel_symbol(&n) {
                Some(a) => Some((n, a)),
                None => opts.dry_run.then_some((n, 0)),
            })
            .collect(),
        config,
    };
    for name in kaddr_names(prog, "uaddr") {
        for inst in &a.instances {
            if let ProbeKind::Uprobe { path, .. } = &inst.kind {
                if let Some(v) = env.user_symbol(path, &name) {
                    a.user_symbols.insert((path.clone(), name.clone()), v);
                }
            }
        }
    }
    if let Some(max) = a.config.max_probes {
        if a.instances.len() as u64 > max {
            let span = prog.probes.last().map_or(Span::default(), |p| p.span);
            return Err(Diagnostics(vec![Diagnostic::new(
                format!(
                    "Your program is trying to generate more than {max} probes, which exceeds \
                     the current limit of {max}",
                ),
                span,
                format!("{} probes", a.instances.len()),
            )
            .hint("raise max_probes in the config block")]));
        }
    }
    // Headers are read only for scripts that name constants (or use types).
    let included: Vec<(String, String)> = match needs_types {
        true => prog
            .includes
            .iter()
            .flat_map(|h| env.include_defines(h))
            .collect(),
        false => Vec::new(),
    };
    crate::kernel::prepare(&mut a, prog, &included)?;
    // Map types come from assignments anywhere in the program, in source order; a value may
    // read another map, so repeat until nothing new is learned, then check for real.
    for _ in 0..4 {
        let before = a.maps.len();
        for idx in 0..a.instances.len() {
            let probe = &prog.probes[a.instances[idx].probe];
            a.instances[idx].vars.clear();
            let mut cx = Checker {
                a: &mut a,
                inst: idx,
                quiet: true,
                errors: Vec::new(),
                loop_depth: 0,
                declared: Default::default(),
                for_vars: Default::default(),
                scopes: Vec::new(),
                out_of_scope: Default::default(),
                used_plain: Default::default(),
            };
            cx.block(&probe.body);
        }
        if a.maps.len() == before {
            break;
        }
    }
    let mut errors = Vec::new();
    for idx in 0..a.instances.len() {
        let probe = &prog.probes[a.instances[idx].probe];
        a.instances[idx].vars.clear();
        let mut cx = Checker {
            a: &mut a,
            inst: idx,
            quiet: false,
            errors: Vec::new(),
            loop_depth: 0,
            declared: Default::default(),
            for_vars: Default::default(),
            scopes: Vec::new(),
            out_of_scope: Default::default(),
            used_plain: Default::default(),
        };
        if let Some(p) = &probe.predicate {
            match cx.a.ty(p, idx) {
                Ok(t) if t.is_int() => {}
                Ok(t) => cx.err(Diagnostic::new(
                    "the predicate must be an integer",
                    p.span,
                    format!("this is {t}"),
                )),
                Err(e) => cx.err(e),
            }
        }
        cx.block(&probe.body);
        for e in cx.errors {
            if errors.len() < MAX_ERRORS && !errors.contains(&e) {
                errors.push(e);
            }
        }
    }
    if errors.is_empty() {
        Ok(a)
    } else {
        Err(Diagnostics(errors))
    }
}

/// bpftrace 0.17's wildcard match, reproduced because probe lists must be identical: the
/// pattern is split on `*`, and each piece is matched at its *first* occurrence after the
/// previous one, without backtracking. So `sys_enter_re*d` matches `sys_enter_read` but not
/// `sys_enter_readahead` (the first `d` after `re` is not at the end), unlike a shell glob.
pub fn wildcard_match(pat: &str, s: &str) -> bool {
    if pat.is_empty() {
        return s.is_empty();
    }
    let start_wild = pat.starts_with('*');
    let end_wild = pat.ends_with('*');
    let tokens: Vec<&str> = pat.split('*').filter(|t| !t.is_empty()).collect();
    let mut next = 0;
    if !start_wild && !tokens.first().is_some_and(|t| s.starts_with(t)) {
        return false;
    }
    for t in &tokens {
        match s[next..].find(t) {
            Some(i) => next += i + t.len(),
            None => return false,
        }
    }
    end_wild || next == s.len()
}

fn parse_num(s: &str) -> Option<u64> {
    crate::lexer::parse_int(s).and_then(|v| u64::try_from(v).ok())
}

const SOFTWARE_EVENTS: &[(&str, &str, u64, u64)] = &[
    ("cpu-clock", "cpu", 0, 1_000_000),
    ("task-clock", "", 1, 1_000_000),
    ("page-faults", "faults", 2, 100),
    ("context-switches", "cs", 3, 1000),
    ("cpu-migrations", "", 4, 1),
    ("minor-faults", "", 5, 100),
    ("major-faults", "", 6, 1),
    ("alignment-faults", "", 7, 1),
    ("emulation-faults", "", 8, 1),
    ("dummy", "", 9, 1),
];

const HARDWARE_EVENTS: &[(&str, &str, u64, u64)] = &[
    ("cpu-cycles", "cycles", 0, 1_000_000),
    ("instructions", "", 1, 1_000_000),
    ("cache-references", "", 2, 1_000_000),
    ("cache-misses", "", 3, 1_000_000),
    ("branch-instructions", "branches", 4, 100_000),
    ("branch-misses", "", 5, 100_000),
    ("bus-cycles", "", 6, 100_000),
    ("frontend-stalls", "", 7, 1_000_000),
    ("backend-stalls", "", 8, 1_000_000),
    ("ref-cycles", "", 9, 1_000_000),
];

/// What expanding attach points needs: the system, whether this is a dry run, and the
/// kernel's BTF when the script uses types.
struct ExpandCx<'a> {
    env: &'a dyn Env,
    dry_run: bool,
    btf: Option<&'a btf::Btf>,
    btf_error: Option<&'a str>,
}

type Expanded = Vec<(ProbeKind, Vec<TpField>, Option<u32>)>;

fn expand(ap: &AttachPoint, cx: &ExpandCx) -> Result<Expanded, Diagnostic> {
    let env = cx.env;
    let t = ap.text.as_str();
    let bad = |msg: String, hint: &str| {
        Err(Diagnostic::new(msg, ap.span, "in this probe").hint(hint.to_string()))
    };
    if t == "BEGIN" {
        return Ok(vec![(ProbeKind::Begin, vec![], None)]);
    }
    if t == "END" {
        return Ok(vec![(ProbeKind::End, vec![], None)]);
    }
    let parts: Vec<&str> = t.split(':').collect();
    let ty = parts[0];
    match ty {
        "tracepoint" | "t" => {
            if parts.len() != 3 {
                return bad(
                    format!("invalid tracepoint `{t}`"),
                    "write tracepoint:CATEGORY:NAME, e.g. tracepoint:syscalls:sys_enter_openat",
                );
            }
            let found = match env.tracepoints(parts[1], parts[2]) {
                Ok(f) => f,
                Err(e) => return bad(format!("cannot list tracepoints: {e}"), "mount tracefs: mount -t tracefs nodev /sys/kernel/tracing"),
            };
            if found.is_empty() {
                return bad(
                    format!("unknown tracepoint `{}:{}`", parts[1], parts[2]),
                    "list the available ones with `kmodkit trace -l 'tracepoint:*'`",
                );
            }
            let mut out = Vec::new();
            for (c, n) in found {
                let fields = env.tracepoint_format(&c, &n).map_err(|e| {
                    Diagnostic::new(
                        format!("cannot read the format of tracepoint {c}:{n}: {e}"),
                        ap.span,
                        "in this probe",
                    )
                })?;
                out.push((
                    ProbeKind::Tracepoint {
                        category: c,
                        name: n,
                    },
                    fields,
                    None,
                ));
            }
            Ok(out)
        }
        "uprobe" | "u" | "uretprobe" | "ur" => {
            // A demangled C++ name keeps its colons (`uprobe:/bin/x:"ns::K::get(int)"`,
            // the quotes already gone): the function is everything after the file.
            let function = parts.get(2..).map(|p| p.join(":")).unwrap_or_default();
            let parts = [parts[0], parts.get(1).copied().unwrap_or(""), function.as_str()];
            if parts[1].is_empty() || parts[2].is_empty() {
                return bad(
                    format!("invalid uprobe `{t}`"),
                    "write uprobe:/path/to/binary:function",
                );
            }
            let symbols = match env.uprobe_symbols(parts[1], parts[2]) {
                Ok(s) if !s.is_empty() => s,
                // A dry run needs the file, not the symbol's offset (as bpftrace -d).
                _ if cx.dry_run && env.uprobe_target(parts[1], "").is_ok() => {
                    vec![parts[2].to_string()]
                }
                Ok(_) => return bad(format!("no symbol of `{}` matches `{}`", parts[1], parts[2]), "list them with `kmodkit trace -l 'uprobe:BINARY:*'`"),
                Err(e) => return bad(format!("cannot attach `{t}`: {e}"), "check the path and that the binary has this symbol (nm -D / nm)"),
            };
            let path = env.uprobe_path(parts[1]);
            Ok(symbols
                .into_iter()
                .map(|symbol| {
                    (
                        ProbeKind::Uprobe {
                            path: path.clone(),
                            symbol,
                            ret: ty.starts_with("ur"),
                        },
                        vec![],
                        None,
                    )
                })
                .collect())
        }
        "kprobe" | "k" | "kretprobe" | "kr" => {
            // `kprobe:FUNC`, or `kprobe:MODULE:FUNC`: a module's function, which the kernel
            // looks up by that same `MODULE:FUNC` name.
            if !(2..=3).contains(&parts.len()) || parts[1..].iter().any(|p| p.is_empty()) {
                return bad(format!("invalid kprobe `{t}`"), "write kprobe:function or kprobe:module:function");
            }
            let function = parts[1..].join(":");
            if !cx.dry_run && !env.kprobes_available() {
                return bad(
                    format!("kprobes are not available on this kernel: `{t}`"),
                    "this kernel was built without CONFIG_KPROBES; use a tracepoint, or run inside `kmodkit vm`",
                );
            }
            let ret = ty.starts_with("kr");
            let kprobe = |function| (ProbeKind::Kprobe { function, ret }, vec![], None);
            if !function.contains('*') {
                return Ok(vec![kprobe(function)]);
            }
            // A wildcard: every function it matches (of MODULE, in `kprobe:MODULE:FUNC*`).
            // One that matches nothing adds no probe, as in bpftrace, so that a tool can name
            // a function's variants (`kprobe:f, kprobe:f.constprop.*`); a script left with
            // no probe at all is refused later. A dry run without the list keeps the pattern.
            let (module, pattern) = match parts.len() {
                3 => (Some(parts[1]), parts[2]),
                _ => (None, parts[1]),
            };
            let all = match env.kprobe_functions() {
                Ok(all) => all,
                Err(_) if cx.dry_run => return Ok(vec![kprobe(function)]),
                Err(e) => return bad(format!("cannot list the kernel's functions for `{t}`: {e}"), "mount tracefs: mount -t tracefs nodev /sys/kernel/tracing"),
            };
            let mut out: Vec<String> = all
                .into_iter()
                .filter(|(f, m)| {
                    wildcard_match(pattern, f) && module.is_none_or(|want| m.as_deref() == Some(want))
                })
                .map(|(f, _)| match module {
                    Some(m) => format!("{m}:{f}"),
                    None => f,
                })
                .collect();
            out.sort();
            out.dedup();
            Ok(out.into_iter().map(kprobe).collect())
        }
        "interval" | "i" | "profile" | "p" => {
            let (unit, n) = match parts.len() {
                3 => (parts[1], parts[2]),
                2 => ("hz", parts[1]),
                _ => return bad(format!("invalid {ty} probe `{t}`"), "write interval:s:1, interval:ms:100, profile:hz:99"),
            };
            let Some(n) = parse_num(n).filter(|n| *n > 0) else {
                return bad(format!("invalid rate `{n}` in `{t}`"), "the rate is a positive integer");
            };
            let period_ns = match unit {
                "s" => n * 1_000_000_000,
                "ms" => n * 1_000_000,
                "us" => n * 1000,
                "hz" => 1_000_000_000 / n,
                _ => return bad(format!("unknown unit `{unit}` in `{t}`"), "units: s, ms, us, hz"),
            };
            if ty.starts_with('i') {
                Ok(vec![(ProbeKind::Interval { period_ns }, vec![], None)])
            } else if unit == "hz" {
                Ok(vec![(ProbeKind::Profile { freq_hz: n }, vec![], None)])
            } else {
                Ok(vec![(ProbeKind::Profile { freq_hz: 1_000_000_000 / period_ns.max(1) }, vec![], None)])
            }
        }
        "software" | "s" | "hardware" | "h" => {
            let table = if ty.starts_with('s') { SOFTWARE_EVENTS } else { HARDWARE_EVENTS };
            if parts.len() < 2 || parts.len() > 3 {
                return bad(format!("invalid {ty} probe `{t}`"), "write software:EVENT:COUNT, e.g. software:page-faults:100");
            }
            let Some(&(_, _, config, default)) = table.iter().find(|(n, a, _, _)| *n == parts[1] || (!a.is_empty() && *a == parts[1])) else {
                let names: Vec<&str> = table.iter().map(|e| e.0).collect();
                return bad(format!("unknown {ty} event `{}`", parts[1]), &format!("known events: {}", names.join(", ")));
            };
            let period = match parts.get(2) {
                Some(c) => match parse_num(c).filter(|n| *n > 0) {
                    Some(n) => n,
                    None => return bad(format!("invalid count `{c}` in `{t}`"), "the count is a positive integer"),
                },
                None => default,
            };
            Ok(vec![(
                if ty.starts_with('s') {
                    ProbeKind::Software { config, period }
                } else {
                    ProbeKind::Hardware { config, period }
                },
                vec![],
                None,
            )])
        }
        "kfunc" | "kretfunc" | "fentry" | "fexit" | "f" | "fr" => {
            let ret = matches!(ty, "kretfunc" | "fexit" | "fr");
            // `kfunc:FUNC`, or `kfunc:MODULE:FUNC` (vmlinux's functions are the ones known).
            let func = match parts.len() {
                2 => parts[1],
                3 => parts[2],
                _ => "",
            };
            if func.is_empty() {
                return bad(format!("invalid {ty} probe `{t}`"), "write kfunc:FUNCTION, e.g. kfunc:vfs_read");
            }
            let Some(b) = cx.btf else {
                return bad(
                    format!("cannot attach `{t}`: the kernel's BTF is not available"),
                    &format!("{}; kfunc probes are typed from BTF (give a file with --btf FILE)", cx.btf_error.unwrap_or("no BTF")),
                );
            };
            let mut out = Vec::new();
            if func.contains(['*', '?']) {
                let mut names: Vec<(String, u32)> = kernel_funcs(b)
                    .filter(|(n, _)| wildcard_match(func, n))
                    .map(|(n, id)| (n.to_string(), id))
                    .collect();
                names.sort();
                names.dedup_by(|a, b| a.0 == b.0);
                for (n, id) in names {
                    out.push((ProbeKind::Kfunc { function: n, ret }, vec![], Some(id)));
                }
            } else if let Some(id) = b.func_named(func) {
                out.push((ProbeKind::Kfunc { function: func.to_string(), ret }, vec![], Some(id)));
            }
            if out.is_empty() {
                return bad(
                    format!("no kernel function `{func}` in BTF: `{t}`"),
                    "list them with `kmodkit trace -l 'kfunc:*'`",
                );
            }
            Ok(out)
        }
        "rawtracepoint" | "rt" => {
            let name = match parts.len() {
                2 => parts[1],
                3 => parts[2],
                _ => "",
            };
            if name.is_empty() || name.contains(['*', '?']) {
                return bad(format!("invalid rawtracepoint `{t}`"), "write rawtracepoint:NAME, e.g. rawtracepoint:sched_switch");
            }
            // The kernel declares every tracepoint's raw arguments as `btf_trace_NAME`.
            if let Some(b) = cx.btf {
                if b.named(&format!("btf_trace_{name}"), |_| true).is_none() {
                    return bad(
                        format!("unknown raw tracepoint `{name}`"),
                        "raw tracepoints are named as their tracepoint, without the category: rawtracepoint:sched_switch",
                    );
                }
            }
            Ok(vec![(ProbeKind::RawTracepoint { name: name.to_string() }, vec![], None)])
        }
        _ => bad(
            format!("unknown probe type `{ty}`"),
            "probe types: BEGIN, END, tracepoint, uprobe, uretprobe, kprobe, kretprobe, kfunc, kretfunc, rawtracepoint, interval, profile, software, hardware",
        ),
    }
}

/// Element `field` (`0`, `1`, ...) of a tuple of types `items`: its type and its offset in
/// the tuple's storage (each element 8-byte aligned).
pub fn tuple_item(items: &[Ty], field: &str, span: Span) -> Result<(Ty, usize), Diagnostic> {
    let bad = || {
        Diagnostic::new(
            format!(
                "invalid tuple index `{field}`: the tuple has {} elements",
                items.len()
            ),
            span,
            "no such element",
        )
        .hint(format!(
            "elements are .0 to .{}",
            items.len().saturating_sub(1)
        ))
    };
    let i: usize = field.parse().map_err(|_| bad())?;
    let t = items.get(i).ok_or_else(bad)?;
    let off = items[..i]
        .iter()
        .map(|t| t.size().next_multiple_of(8))
        .sum();
    Ok((t.clone(), off))
}

/// The kernel's functions BTF describes: (name, FUNC id).
pub fn kernel_funcs(b: &btf::Btf) -> impl Iterator<Item = (&str, u32)> {
    (1..b.len() as u32).filter_map(move |id| match b.get(id).map(|t| &t.kind) {
        Some(btf::Kind::Func { .. }) => Some((b.name(id), id)),
        _ => None,
    })
}

const BUILTINS: &[&str] = &[
    "pid", "tid", "uid", "gid", "comm", "nsecs", "elapsed", "cpu", "cgroup", "func", "probe",
    "retval", "args", "cpid", "rand", "kstack", "ustack", "curtask", "arg0", "arg1", "arg2",
    "arg3", "arg4", "arg5",
];

/// The offset of register `name` in x86-64's `struct pt_regs` (what `reg()` reads).
pub fn pt_regs_offset(name: &str) -> Option<i16> {
    const REGS: [&str; 21] = [
        "r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx", "si",
        "di", "orig_ax", "ip", "cs", "flags", "sp", "ss",
    ];
    REGS.iter().position(|r| *r == name).map(|i| i as i16 * 8)
}

/// The string literals `f("NAME")` calls of a program name (`kaddr`, `uaddr`): the
/// symbols to resolve before analysis.
pub fn kaddr_names(prog: &Program, f: &str) -> Vec<String> {
    fn expr(e: &Expr, f: &str, out: &mut Vec<String>) {
        match &e.kind {
            ExprKind::Call { name, args } => {
                if name == f {
                    if let Some(ExprKind::Str(s)) = args.first().map(|a| &a.kind) {
                        out.push(s.clone());
                    }
                }
                args.iter().for_each(|a| expr(a, f, out));
            }
            ExprKind::Map { keys, .. } => keys.iter().for_each(|a| expr(a, f, out)),
            ExprKind::Binary { lhs, rhs, .. } => {
                expr(lhs, f, out);
                expr(rhs, f, out);
            }
            ExprKind::Ternary { cond, then, els } => {
                expr(cond, f, out);
                expr(then, f, out);
                expr(els, f, out);
            }
            ExprKind::Index { expr: a, index: b } => {
                expr(a, f, out);
                expr(b, f, out);
            }
            ExprKind::Unary { expr: a, .. }
            | ExprKind::Field { expr: a, .. }
            | ExprKind::Cast { expr: a, .. }
            | ExprKind::SizeofExpr(a) => expr(a, f, out),
            ExprKind::Tuple(v) => v.iter().for_each(|a| expr(a, f, out)),
            _ => {}
        }
    }
    fn stmt(s: &Stmt, f: &str, out: &mut Vec<String>) {
        #[allow(unreachable_patterns)]
        match s {
            Stmt::Expr(e) | Stmt::AssignVar { value: e, .. } => expr(e, f, out),
            Stmt::AssignMap { map, value, .. } => {
                expr(map, f, out);
                expr(value, f, out);
            }
            Stmt::If { cond, then, els } => {
                expr(cond, f, out);
                then.iter().chain(els).for_each(|s| stmt(s, f, out));
            }
            Stmt::While { cond, body } => {
                expr(cond, f, out);
                body.iter().for_each(|s| stmt(s, f, out));
            }
            Stmt::Unroll { body, .. } => body.iter().for_each(|s| stmt(s, f, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for p in &prog.probes {
        if let Some(e) = &p.predicate {
            expr(e, f, &mut out);
        }
        p.body.iter().for_each(|s| stmt(s, f, &mut out));
    }
    out.sort();
    out.dedup();
    out
}

/// Number of arguments each function takes: (min, max).
fn arity(name: &str) -> Option<(usize, usize)> {
    Some(match name {
        "printf" => (1, 64),
        "print" => (1, 3),
        "time" => (0, 1),
        "exit" => (0, 0),
        "str" => (1, 2),
        "strncmp" => (3, 3),
        "join" | "ntop" | "buf" | "cgroup_path" => (1, 2),
        "kaddr" | "uaddr" | "bswap" | "macaddr" | "reg" | "path" => (1, 1),
        "strftime" => (2, 2),
        "ksym" | "usym" | "cat" | "signal" | "system" => (1, 64),
        "kstack" | "ustack" => (0, 2),
        "count" => (0, 0),
        "sum" | "avg" | "min" | "max" | "stats" | "hist" => (1, 1),
        "lhist" => (4, 4),
        "delete" => (1, 1),
        "clear" | "zero" => (1, 1),
        _ => return None,
    })
}

impl Analysis {
    pub fn positional(&self, n: u32) -> &str {
        n.checked_sub(1)
            .and_then(|i| self.positional.get(i as usize))
            .map_or("", |s| s.as_str())
    }

    /// The string type of `$N` when it holds a non-number (only str() takes it so).
    pub fn positional_str_ty(&self, e: &Expr) -> Option<Ty> {
        match &e.kind {
            ExprKind::Positional(n) => {
                let v = self.positional(*n);
                (!v.is_empty() && crate::lexer::parse_int(v).is_none())
                    .then(|| Ty::Str(v.len() + 1))
            }
            _ => None,
        }
    }

    /// A kfunc probe's prototype: (return type id, parameters).
    pub fn kfunc_proto(&self, inst: usize, span: Span) -> Result<(u32, &[btf::Param]), Diagnostic> {
        let pi = &self.instances[inst];
        pi.btf_func
            .and_then(|f| self.types()?.func_proto(f))
            .ok_or_else(|| {
                Diagnostic::new(
                    format!("no BTF prototype for {}", pi.name),
                    span,
                    "in this probe",
                )
            })
    }

    /// Argument `name` of a kfunc probe: its index and type.
    pub fn kfunc_arg(
        &self,
        inst: usize,
        name: &str,
        span: Span,
    ) -> Result<(usize, Ty), Diagnostic> {
        let (_, params) = self.kfunc_proto(inst, span)?;
        let b = self.types().expect("kfunc_proto checked BTF");
        match params.iter().position(|p| b.str_at(p.name_off) == name) {
            Some(i) => Ok((i, self.btf_ty(params[i].type_id, span)?)),
            None => {
                let names: Vec<&str> = params.iter().map(|p| b.str_at(p.name_off)).collect();
                Err(Diagnostic::new(
                    format!(
                        "unknown field `{name}` in the args of {}",
                        self.instances[inst].name
                    ),
                    span,
                    "no such argument",
                )
                .hint(format!("fields: {}", names.join(", "))))
            }
        }
    }

    /// The type of an expression in probe instance `inst`. Pure: the same answer for
    /// analysis and for code generation.
    pub fn ty(&self, e: &Expr, inst: usize) -> Result<Ty, Diagnostic> {
        let pi = &self.instances[inst];
        Ok(match &e.kind {
            ExprKind::Int(_) => INT64,
            ExprKind::Str(s) => Ty::Str(s.len() + 1),
            ExprKind::Positional(n) => {
                let v = self.positional(*n);
                if v.is_empty() || crate::lexer::parse_int(v).is_some() {
                    INT64
                } else {
                    // As bpftrace: a positional parameter is a number unless passed to str().
                    return Err(Diagnostic::new(
                        format!("${n} used numerically but given \"{v}\""),
                        e.span,
                        "not a number",
                    )
                    .hint(format!("try str(${n})")));
                }
            }
            ExprKind::PositionalCount => INT64,
            ExprKind::Builtin(b) => match b.as_str() {
                "pid" | "tid" | "uid" | "gid" | "cpu" | "rand" | "cpid" => Ty::Int {
                    size: 8,
                    signed: false,
                },
                "nsecs" | "elapsed" | "cgroup" => UINT64,
                "curtask" => match self.types().and_then(|b| b.struct_named("task_struct")) {
                    Some(id) => Ty::Ptr(id),
                    None => UINT64,
                },
                "comm" => Ty::Str(16),
                "probe" => Ty::Probe,
                "kstack" => Ty::Kstack(0),
                "ustack" => Ty::Ustack(0),
                "func" => match pi.kind {
                    ProbeKind::Kfunc { .. } => Ty::Ksym,
                    ProbeKind::Uprobe { .. } => Ty::Usym,
                    ProbeKind::Kprobe { .. } => Ty::Ksym,
                    _ => {
                        return Err(Diagnostic::new(
                            "`func` is only available in uprobes and kprobes",
                            e.span,
                            "not available here",
                        ))
                    }
                },
                "retval" => match pi.kind {
                    ProbeKind::Uprobe { ret: true, .. } | ProbeKind::Kprobe { ret: true, .. } => {
                        UINT64
                    }
                    ProbeKind::Kfunc { ret: true, .. } => {
                        let (ret, _) = self.kfunc_proto(inst, e.span)?;
                        if ret == 0 {
                            return Err(Diagnostic::new(
                                format!("{} returns void: there is no `retval`", pi.name),
                                e.span,
                                "void function",
                            ));
                        }
                        self.btf_ty(ret, e.span)?
                    }
                    _ => {
                        return Err(Diagnostic::new(
                            "`retval` is only available in uretprobes and kretprobes",
                            e.span,
                            format!("not available in {}", pi.name),
                        ))
                    }
                },
                "args" => match pi.kind {
                    ProbeKind::Tracepoint { .. } | ProbeKind::Kfunc { .. } => Ty::Args,
                    _ => {
                        return Err(Diagnostic::new(
                            "`args` is only available in tracepoints",
                            e.span,
                            format!("not available in {}", pi.name),
                        )
                        .hint("in uprobes and kprobes use arg0, arg1, ..."))
                    }
                },
                a if a.starts_with("arg") && a[3..].parse::<u8>().is_ok() => match pi.kind {
                    ProbeKind::Uprobe { ret: false, .. }
                    | ProbeKind::Kprobe { ret: false, .. }
                    | ProbeKind::RawTracepoint { .. } => UINT64,
                    _ => {
                        return Err(Diagnostic::new(
                            format!("`{a}` is only available in uprobes and kprobes"),
                            e.span,
                            format!("not available in {}", pi.name),
                        )
                        .hint(
                            if matches!(pi.kind, ProbeKind::Tracepoint { .. }) {
                                "tracepoints have `args->FIELD`"
                            } else {
                                "argN is the Nth function argument of a uprobe or kprobe"
                            },
                        ))
                    }
                },
                other if self.constants.contains_key(other) => INT64,
                other => {
                    return Err(Diagnostic::new(
                        format!("unknown identifier `{other}`"),
                        e.span,
                        "not a builtin",
                    )
                    .hint(format!(
                        "builtins: {}; scratch variables start with `$`, maps with `@`",
                        BUILTINS.join(" ")
                    )))
                }
            },
            ExprKind::Var(v) => match pi.vars.get(v) {
                Some(t) => t.clone(),
                None => {
                    return Err(Diagnostic::new(
                        format!("undefined variable `${v}`"),
                        e.span,
                        "used before any assignment in this probe",
                    )
                    .hint(format!("assign it first: `${v} = ...;`")))
                }
            },
            ExprKind::Map { name, keys } => {
                let Some(m) = self.maps.get(name) else {
                    return Err(Diagnostic::new(
                        format!("undefined map `@{name}`"),
                        e.span,
                        "this map is never assigned",
                    )
                    .hint(format!("assign it somewhere, e.g. `@{name} = count();`")));
                };
                self.check_keys(m, keys, e.span, inst)?;
                if m.value.is_aggregation() {
                    return Err(Diagnostic::new(
                        format!("cannot read the aggregation `@{name}` in an expression"),
                        e.span,
                        format!("@{name} holds {}", m.value),
                    )
                    .hint("aggregations are printed (print(@m)) or printed at exit"));
                }
                m.value.clone()
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let l = self.ty(lhs, inst)?;
                let r = self.ty(rhs, inst)?;
                let num = |t: &Ty| match t {
                    Ty::Int { signed, .. } => Some(*signed),
                    Ty::Ptr(_) => Some(false),
                    _ => None,
                };
                match (num(&l), num(&r)) {
                    (Some(a), Some(b)) => {
                        if op.is_comparison() || matches!(op, BinOp::LAnd | BinOp::LOr) {
                            INT64
                        } else {
                            Ty::Int {
                                size: 8,
                                signed: a || b,
                            }
                        }
                    }
                    _ if l.is_str() && r.is_str() && matches!(op, BinOp::Eq | BinOp::Ne) => INT64,
                    _ => {
                        return Err(Diagnostic::new(
                            format!("type mismatch for `{}`: {l} and {r}", op.symbol()),
                            e.span,
                            format!("left is {l}, right is {r}"),
                        )
                        .hint(if l.is_str() || r.is_str() {
                            "strings can only be compared with == and != (or strncmp)"
                        } else {
                            "both operands must be integers"
                        }))
                    }
                }
            }
            ExprKind::Unary { op, expr } => {
                let t = self.ty(expr, inst)?;
                if !t.is_int() {
                    return Err(Diagnostic::new(
                        "type mismatch: this operator needs an integer",
                        e.span,
                        format!("operand is {t}"),
                    ));
                }
                match (op, &t) {
                    (UnOp::Not, _) => INT64,
                    (UnOp::Deref, Ty::Ptr(p)) if self.types().is_some() => {
                        if *p == 0 {
                            return Err(Diagnostic::new(
                                "cannot dereference a `void *`",
                                e.span,
                                "cast it to a typed pointer first",
                            ));
                        }
                        self.btf_ty(*p, e.span)?
                    }
                    (UnOp::Deref, _) => UINT64,
                    (_, Ty::Ptr(_)) => UINT64,
                    _ => t,
                }
            }
            ExprKind::Ternary { cond, then, els } => {
                let c = self.ty(cond, inst)?;
                if !c.is_int() {
                    return Err(Diagnostic::new(
                        "the condition must be an integer",
                        cond.span,
                        format!("this is {c}"),
                    ));
                }
                let a = self.ty(then, inst)?;
                let b = self.ty(els, inst)?;
                match (&a, &b) {
                    (Ty::Int { .. }, Ty::Int { .. }) => a,
                    (Ty::Ptr(x), Ty::Ptr(y)) if x == y => a,
                    _ if a.is_int() && b.is_int() => UINT64,
                    (Ty::Str(x), Ty::Str(y)) => Ty::Str(*x.max(y)),
                    _ => {
                        return Err(Diagnostic::new(
                            format!("type mismatch in ternary: {a} and {b}"),
                            e.span,
                            "both branches must have the same type",
                        ))
                    }
                }
            }
            ExprKind::Field {
                expr,
                field,
                field_span,
            } => {
                let t = self.ty(expr, inst)?;
                if let Ty::Tuple(items) = &t {
                    return Ok(tuple_item(items, field, *field_span)?.0);
                }
                if t != Ty::Args {
                    return Ok(self.member_of(&t, field, expr.span, *field_span)?.0);
                }
                if let ProbeKind::Kfunc { .. } = pi.kind {
                    return Ok(self.kfunc_arg(inst, field, *field_span)?.1);
                }
                let Some(f) = pi.tp_fields.iter().find(|f| &f.name == field) else {
                    let names: Vec<&str> = pi
                        .tp_fields
                        .iter()
                        .filter(|f| !f.name.starts_with("common_"))
                        .map(|f| f.name.as_str())
                        .collect();
                    return Err(Diagnostic::new(
                        format!("unknown field `{field}` in the args of {}", pi.name),
                        *field_span,
                        "no such field",
                    )
                    .hint(format!("fields: {}", names.join(", "))));
                };
                match f.kind {
                    TpFieldKind::Int => Ty::Int {
                        size: f.size as u8,
                        signed: f.signed,
                    },
                    TpFieldKind::Ptr => self.tp_pointer(&f.c_type),
                    TpFieldKind::CharPtr => UINT64,
                    TpFieldKind::CharArray => Ty::Str(f.size as usize),
                    TpFieldKind::DataLocStr => Ty::Str(STRLEN),
                    TpFieldKind::Other => {
                        return Err(Diagnostic::new(
                            format!("field `{field}` has a type this compiler cannot read yet"),
                            *field_span,
                            "arrays and structs are not supported",
                        ))
                    }
                }
            }
            ExprKind::Cast { ty, expr } => {
                let t = self.ty(expr, inst)?;
                if !t.is_int() {
                    return Err(Diagnostic::new(
                        format!("cannot cast {} to {ty}", self.describe(&t)),
                        e.span,
                        "only integers and pointers can be cast",
                    ));
                }
                self.cast_target(ty, e.span)?
            }
            ExprKind::Index { expr, index } => {
                let it = self.ty(index, inst)?;
                if !it.is_int() {
                    return Err(Diagnostic::new(
                        format!("an index must be an integer, not {it}"),
                        index.span,
                        format!("this is {it}"),
                    ));
                }
                let bt = self.ty(expr, inst)?;
                self.element_of(&bt, expr.span)?.0
            }
            ExprKind::SizeofType(_) | ExprKind::SizeofExpr(_) | ExprKind::Offsetof { .. } => {
                self.const_value(e, inst)?;
                UINT64
            }
            ExprKind::Tuple(items) => {
                let mut ts = Vec::new();
                for i in items {
                    let t = self.ty(i, inst)?;
                    if !(t.is_int() || t.is_str()) {
                        return Err(Diagnostic::new(
                            format!("a tuple cannot hold {t}"),
                            i.span,
                            "only integers and strings",
                        ));
                    }
                    ts.push(t);
                }
                Ty::Tuple(ts)
            }
            ExprKind::Call { name, args } if name == "has_key" => {
                self.has_key_ty(args, e.span, inst)?
            }
            ExprKind::Call { name, args } => self.call_ty(name, args, e.span, inst)?,
        })
    }

    /// The type a `let $x: TYPE` declaration names: bpftrace's integer names, `bool`,
    /// `string`/`string[N]`, C types and pointers (from BTF).
    pub fn decl_ty(&self, written: &str, span: Span) -> Result<Ty, Diagnostic> {
        if written == "bool" {
            return Ok(Ty::Int {
                size: 1,
                signed: false,
            });
        }
        if written == "string" {
            return Ok(Ty::Str(STRLEN));
        }
        if let Some(n) = written
            .strip_prefix("string[")
            .and_then(|r| r.strip_suffix(']'))
        {
            return match n.parse::<usize>() {
                Ok(n) if (1..=STRLEN).contains(&n) => Ok(Ty::Str(n)),
                _ => Err(Diagnostic::new(
                    format!("invalid string size in `{written}`"),
                    span,
                    format!("must be 1 to {STRLEN}"),
                )),
            };
        }
        self.cast_target(written, span)
    }

    /// `has_key(@map, key...)` (bpftrace 0.22+): whether the map holds the key; the map
    /// must have keys, and the key their types.
    fn has_key_ty(&self, args: &[Expr], span: Span, inst: usize) -> Result<Ty, Diagnostic> {
        let [map, key] = args else {
            return Err(Diagnostic::new(
                format!("has_key() requires 2 arguments ({} provided)", args.len()),
                span,
                "wrong number of arguments",
            )
            .hint("has_key(@map, key); a map with several keys takes them as a tuple: (k1, k2)"));
        };
        let ExprKind::Map { name, keys } = &map.kind else {
            return Err(Diagnostic::new(
                "has_key() expects the first argument to be a map",
                map.span,
                "not a map",
            ));
        };
        if !keys.is_empty() {
            return Err(Diagnostic::new(
                "has_key() expects the first argument to be a map. Not a map value expression.",
                map.span,
                "indexed here",
            ));
        }
        let Some(m) = self.maps.get(name) else {
            return Err(Diagnostic::new(
                format!("undefined map `@{name}`"),
                map.span,
                "this map is never assigned",
            ));
        };
        if m.keys.is_empty() {
            return Err(Diagnostic::new(
                "has_key() only accepts maps that have keys. No scalar maps e.g. `@a = 1;`",
                map.span,
                "a map without keys",
            ));
        }
        // A map with several keys takes them as one tuple: `has_key(@m, (1, "a"))`.
        let given: Vec<Expr> = match &key.kind {
            ExprKind::Tuple(items) if m.keys.len() > 1 => items.clone(),
            _ => vec![key.clone()],
        };
        self.check_keys(m, &given, span, inst)?;
        Ok(Ty::Int {
            size: 8,
            signed: false,
        })
    }

    fn check_keys(
        &self,
        m: &MapInfo,
        keys: &[Expr],
        span: Span,
        inst: usize,
    ) -> Result<(), Diagnostic> {
        // One tuple for several keys (bpftrace 0.23): its elements are the keys.
        if let ([one], true) = (keys, m.keys.len() > 1) {
            if let Ty::Tuple(ts) = self.ty(one, inst)? {
                if ts.len() == m.keys.len() && m.keys.iter().zip(&ts).all(|(w, t)| w.accepts(t)) {
                    return Ok(());
                }
                let show: Vec<String> = m.keys.iter().map(|t| t.to_string()).collect();
                return Err(Diagnostic::new(
                    format!(
                        "type mismatch for the keys of @{}: {}, but they are ({})",
                        m.name,
                        Ty::Tuple(ts),
                        show.join(", ")
                    ),
                    one.span,
                    "different key types",
                ));
            }
        }
        if keys.len() != m.keys.len() {
            return Err(Diagnostic::new(
                format!(
                    "@{} is used with {} key{} here but {} elsewhere",
                    m.name,
                    keys.len(),
                    if keys.len() == 1 { "" } else { "s" },
                    m.keys.len()
                ),
                span,
                "wrong number of keys",
            ));
        }
        for (k, want) in keys.iter().zip(&m.keys) {
            let t = self.ty(k, inst)?;
            if !want.accepts(&t) {
                return Err(Diagnostic::new(
                    format!(
                        "type mismatch for the key of @{}: {t}, but it was {want}",
                        m.name
                    ),
                    k.span,
                    format!("this is {t}"),
                ));
            }
        }
        Ok(())
    }

    fn call_ty(
        &self,
        name: &str,
        args: &[Expr],
        span: Span,
        inst: usize,
    ) -> Result<Ty, Diagnostic> {
        let Some((min, max)) = arity(name) else {
            return Err(Diagnostic::new(
                format!("unknown function `{name}`"),
                span,
                "not a function",
            )
            .hint("functions: printf print time exit str strncmp join ksym usym kaddr kstack ustack ntop bswap buf macaddr reg strftime cgroup_path path uaddr cat signal system count sum avg min max stats hist lhist delete clear zero"));
        };
        if args.len() < min || args.len() > max {
            let want = if min == max {
                format!("{min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(Diagnostic::new(
                format!(
                    "{name}() takes {want} argument{}, but {} {} given",
                    if max == 1 { "" } else { "s" },
                    args.len(),
                    if args.len() == 1 { "was" } else { "were" }
                ),
                span,
                "wrong number of arguments",
            ));
        }
        let int_arg = |i: usize| -> Result<(), Diagnostic> {
            let t = self.ty(&args[i], inst)?;
            if t.is_int() {
                Ok(())
            } else {
                Err(Diagnostic::new(
                    format!("{name}() expects an integer argument, got {t}"),
                    args[i].span,
                    format!("this is {t}"),
                ))
            }
        };
        let literal_int = |i: usize| -> Result<i64, Diagnostic> {
            match &args[i].kind {
                ExprKind::Int(v) => Ok(*v),
                ExprKind::Positional(n) => {
                    crate::lexer::parse_int(self.positional(*n)).ok_or_else(|| {
                        Diagnostic::new(
                            format!("{name}() needs a number here"),
                            args[i].span,
                            "not a number",
                        )
                    })
                }
                _ => Err(Diagnostic::new(
                    format!("{name}() needs an integer literal here"),
                    args[i].span,
                    "not a literal",
                )),
            }
        };
        let map_arg = |i: usize| -> Result<&MapInfo, Diagnostic> {
            match &args[i].kind {
                ExprKind::Map { name: m, .. } => self.maps.get(m).ok_or_else(|| {
                    Diagnostic::new(
                        format!("undefined map `@{m}`"),
                        args[i].span,
                        "this map is never assigned",
                    )
                }),
                _ => Err(Diagnostic::new(
                    format!("{name}() expects a map"),
                    args[i].span,
                    "not a map",
                )),
            }
        };
        Ok(match name {
            "printf" => {
                let ExprKind::Str(fmt) = &args[0].kind else {
                    return Err(Diagnostic::new(
                        "printf() needs a string literal as its format",
                        args[0].span,
                        "not a string literal",
                    ));
                };
                let pieces = parse_format(fmt).map_err(|m| {
                    Diagnostic::new(
                        format!("invalid printf format: {m}"),
                        args[0].span,
                        "in this format",
                    )
                })?;
                let specs: Vec<&Conv> = pieces
                    .iter()
                    .filter_map(|p| match p {
                        Piece::Conv(c) => Some(c),
                        Piece::Lit(_) => None,
                    })
                    .collect();
                if specs.len() != args.len() - 1 {
                    return Err(Diagnostic::new(
                        format!(
                            "printf: the format has {} conversion{} but {} argument{} given",
                            specs.len(),
                            if specs.len() == 1 { "" } else { "s" },
                            args.len() - 1,
                            if args.len() == 2 { " is" } else { "s are" }
                        ),
                        span,
                        "argument count does not match the format",
                    ));
                }
                for (c, a) in specs.iter().zip(&args[1..]) {
                    let t = self.ty(a, inst)?;
                    let ok = match c.conv {
                        's' => true,
                        'r' => matches!(t, Ty::Buf(_)),
                        'c' | 'd' | 'i' | 'u' | 'x' | 'X' | 'o' | 'p' => t.is_int(),
                        _ => false,
                    };
                    if !ok {
                        return Err(Diagnostic::new(
                            format!("printf: %{} does not take {t}", c.conv),
                            a.span,
                            format!("this is {t}"),
                        )
                        .hint(
                            "%d %u %x %c take integers; %s takes strings (and prints anything)",
                        ));
                    }
                    if !(t.is_int() || t.is_textual()) {
                        return Err(Diagnostic::new(
                            format!("printf cannot print {t}"),
                            a.span,
                            format!("this is {t}"),
                        ));
                    }
                }
                Ty::Void
            }
            "print" => {
                match &args[0].kind {
                    // print(@map) prints the whole map, whatever its value type (bpftrace).
                    ExprKind::Map { name: m, keys } if keys.is_empty() => {
                        if !self.maps.contains_key(m) {
                            // Reports the undefined map.
                            self.ty(&args[0], inst)?;
                        }
                    }
                    ExprKind::Map { .. } => {
                        return Err(Diagnostic::new(
                            "the map passed to print() should not be indexed by a key",
                            args[0].span,
                            "indexed here",
                        )
                        .hint("print the whole map with print(@name), or a value with printf"));
                    }
                    _ => {
                        let t = self.ty(&args[0], inst)?;
                        if !(t.is_int() || t.is_textual() || matches!(t, Ty::Tuple(_))) {
                            return Err(Diagnostic::new(
                                format!("print() cannot print {t}"),
                                args[0].span,
                                format!("this is {t}"),
                            ));
                        }
                        if args.len() > 1 {
                            return Err(Diagnostic::new(
                                "print() of a value takes one argument",
                                span,
                                "extra arguments",
                            ));
                        }
                    }
                }
                for i in 1..args.len() {
                    literal_int(i)?;
                }
                Ty::Void
            }
            "time" => {
                if let Some(a) = args.first() {
                    if !matches!(a.kind, ExprKind::Str(_)) {
                        return Err(Diagnostic::new(
                            "time() needs a string literal format",
                            a.span,
                            "not a string literal",
                        ));
                    }
                }
                Ty::Void
            }
            "exit" => Ty::Void,
            "str" => {
                let t = match self.positional_str_ty(&args[0]) {
                    Some(t) => t,
                    None => self.ty(&args[0], inst)?,
                };
                if !(t.is_int() || t.is_str()) {
                    return Err(Diagnostic::new(
                        format!("str() expects a pointer or a string, got {t}"),
                        args[0].span,
                        format!("this is {t}"),
                    ));
                }
                let n = if args.len() == 2 {
                    let n = literal_int(1)?;
                    if !(1..=STRLEN as i64).contains(&n) {
                        return Err(Diagnostic::new(
                            "str() length out of range",
                            args[1].span,
                            "must be 1 to 64",
                        ));
                    }
                    n as usize
                } else {
                    STRLEN
                };
                match t {
                    Ty::Str(m) => Ty::Str(m.min(n)),
                    _ => Ty::Str(n),
                }
            }
            "strncmp" => {
                for i in 0..2 {
                    let t = self.ty(&args[i], inst)?;
                    if !t.is_str() {
                        return Err(Diagnostic::new(
                            format!("strncmp() expects strings, got {t}"),
                            args[i].span,
                            format!("this is {t}"),
                        ));
                    }
                }
                literal_int(2)?;
                INT64
            }
            "ksym" => {
                int_arg(0)?;
                Ty::Ksym
            }
            "usym" => {
                int_arg(0)?;
                Ty::Usym
            }
            "signal" | "system" => {
                if !self.unsafe_ok {
                    return Err(Diagnostic::new(
                        format!("{name}() is an unsafe function"),
                        span,
                        "not allowed without --unsafe",
                    )
                    .hint("run with --unsafe if you mean it"));
                }
                return Err(Diagnostic::new(
                    format!("{name}() is not supported yet by kmodkit trace"),
                    span,
                    "not supported",
                ));
            }
            "kstack" | "ustack" if args.len() <= 1 => {
                // kstack(N): at most N frames, N a literal (bpftrace takes 1 to 1024).
                let limit = match args.first().map(|a| &a.kind) {
                    None => 0,
                    Some(ExprKind::Int(n)) if (1..=1024).contains(n) => *n as u16,
                    Some(_) => {
                        return Err(Diagnostic::new(
                            format!("{name}(): the frame limit must be an integer from 1 to 1024"),
                            args[0].span,
                            "not a literal from 1 to 1024",
                        )
                        .hint("stack modes (bpftrace, perf, raw) are not supported yet"))
                    }
                };
                if name == "kstack" {
                    Ty::Kstack(limit)
                } else {
                    Ty::Ustack(limit)
                }
            }
            "join" => {
                int_arg(0)?;
                if let Some(d) = args.get(1) {
                    if !matches!(d.kind, ExprKind::Str(_)) {
                        return Err(Diagnostic::new(
                            "join() needs a string literal as its delimiter",
                            d.span,
                            "not a string literal",
                        ));
                    }
                }
                Ty::Void
            }
            "cat" => {
                if !matches!(args[0].kind, ExprKind::Str(_)) {
                    return Err(Diagnostic::new(
                        "cat() needs a string literal as its file name format",
                        args[0].span,
                        "not a string literal",
                    ));
                }
                let pieces = parse_format(match &args[0].kind {
                    ExprKind::Str(s) => s,
                    _ => "",
                })
                .map_err(|m| {
                    Diagnostic::new(format!("invalid cat format: {m}"), args[0].span, "here")
                })?;
                let n = pieces
                    .iter()
                    .filter(|p| matches!(p, Piece::Conv(_)))
                    .count();
                if n != args.len() - 1 {
                    return Err(Diagnostic::new(
                        format!(
                            "cat: the format has {n} conversions but {} arguments are given",
                            args.len() - 1
                        ),
                        span,
                        "argument count does not match the format",
                    ));
                }
                for a in &args[1..] {
                    self.ty(a, inst)?;
                }
                Ty::Void
            }
            "ntop" => {
                let addr = args.last().expect("arity is at least 1");
                if args.len() == 2 {
                    int_arg(0)?;
                }
                match self.ty(addr, inst)? {
                    t if t.is_int() => {}
                    Ty::Str(n) if n == 4 || n == 16 => {}
                    Ty::Array(id) => {
                        let n = self.types().and_then(|b| b.size_of(id)).unwrap_or(0);
                        if n != 4 && n != 16 {
                            return Err(Diagnostic::new(
                                format!("ntop() expects an address of 4 or 16 bytes, got {n}"),
                                addr.span,
                                "not an IPv4 or IPv6 address",
                            ));
                        }
                    }
                    t => {
                        return Err(Diagnostic::new(
                            format!("ntop() expects an integer or an array, got {t}"),
                            addr.span,
                            format!("this is {t}"),
                        ))
                    }
                }
                Ty::Inet
            }
            "kaddr" => match &args[0].kind {
                ExprKind::Str(sym) => {
                    if !self.kernel_symbols.contains_key(sym) {
                        return Err(Diagnostic::new(
                            format!("kaddr(): unknown kernel symbol `{sym}`"),
                            args[0].span,
                            "not in /proc/kallsyms",
                        ));
                    }
                    UINT64
                }
                _ => {
                    return Err(Diagnostic::new(
                        "kaddr() needs a string literal",
                        args[0].span,
                        "not a string literal",
                    ))
                }
            },
            "uaddr" => {
                let ProbeKind::Uprobe { path, .. } = &self.instances[inst].kind else {
                    return Err(Diagnostic::new(
                        "uaddr() is only available in uprobes",
                        span,
                        "not available here",
                    ));
                };
                let ExprKind::Str(sym) = &args[0].kind else {
                    return Err(Diagnostic::new(
                        "uaddr() needs a string literal",
                        args[0].span,
                        "not a string literal",
                    ));
                };
                if !self.user_symbols.contains_key(&(path.clone(), sym.clone())) {
                    return Err(Diagnostic::new(
                        format!("Could not resolve symbol: {path}:{sym}"),
                        args[0].span,
                        "not a data symbol of this binary",
                    ));
                }
                Ty::Ptr(0)
            }
            "bswap" => match self.ty(&args[0], inst)? {
                Ty::Int { size, .. } => Ty::Int {
                    size,
                    signed: false,
                },
                Ty::Ptr(_) => UINT64,
                t => {
                    return Err(Diagnostic::new(
                        format!("bswap() expects an integer, got {t}"),
                        args[0].span,
                        format!("this is {t}"),
                    ))
                }
            },
            "macaddr" | "buf" => {
                let t = self.ty(&args[0], inst)?;
                if !(t.is_int() || matches!(t, Ty::Array(_))) {
                    return Err(Diagnostic::new(
                        format!("{name}() expects a pointer or an array, got {t}"),
                        args[0].span,
                        format!("this is {t}"),
                    ));
                }
                if name == "macaddr" {
                    Ty::MacAddr
                } else {
                    let n = match (args.get(1), &t) {
                        (Some(l), _) => match &l.kind {
                            ExprKind::Int(v) => (*v).clamp(0, STRLEN as i64) as usize,
                            _ => {
                                int_arg(1)?;
                                STRLEN
                            }
                        },
                        (None, Ty::Array(id)) => {
                            self.types()
                                .and_then(|b| b.size_of(*id))
                                .unwrap_or(0)
                                .min(STRLEN as u64) as usize
                        }
                        (None, _) => {
                            return Err(Diagnostic::new(
                                "buf() of a pointer needs a length",
                                span,
                                "write buf(ptr, length)",
                            ))
                        }
                    };
                    Ty::Buf(n)
                }
            }
            "path" => {
                // bpf_d_path(): only in kfunc/kretfunc programs, on a `struct path *`
                // the kernel hands the function (its arguments).
                if !matches!(self.instances[inst].kind, ProbeKind::Kfunc { .. }) {
                    return Err(Diagnostic::new(
                        "path() is only available in kfunc and kretfunc probes",
                        span,
                        "not available here",
                    ));
                }
                int_arg(0)?;
                Ty::Str(STRLEN)
            }
            "cgroup_path" => {
                int_arg(0)?;
                let filter = match args.get(1).map(|a| &a.kind) {
                    None => "*".to_string(),
                    Some(ExprKind::Str(f)) => f.clone(),
                    Some(_) => {
                        return Err(Diagnostic::new(
                            "cgroup_path() needs a string literal as its filter",
                            args[1].span,
                            "not a string literal",
                        ))
                    }
                };
                Ty::CgroupPath(filter)
            }
            "strftime" => {
                let ExprKind::Str(fmt) = &args[0].kind else {
                    return Err(Diagnostic::new(
                        "strftime() needs a string literal format",
                        args[0].span,
                        "not a string literal",
                    ));
                };
                int_arg(1)?;
                Ty::Timestamp(fmt.clone())
            }
            "reg" => {
                let ExprKind::Str(r) = &args[0].kind else {
                    return Err(Diagnostic::new(
                        "reg() needs a string literal",
                        args[0].span,
                        "not a string literal",
                    ));
                };
                if pt_regs_offset(r).is_none() {
                    return Err(Diagnostic::new(
                        format!("reg(): unknown register `{r}`"),
                        args[0].span,
                        "not an x86-64 register",
                    )
                    .hint("registers: r15 r14 r13 r12 bp bx r11 r10 r9 r8 ax cx dx si di orig_ax ip cs flags sp ss"));
                }
                if !matches!(
                    self.instances[inst].kind,
                    ProbeKind::Kprobe { .. } | ProbeKind::Uprobe { .. }
                ) {
                    return Err(Diagnostic::new(
                        "reg() is only available in kprobes and uprobes",
                        span,
                        "not available here",
                    ));
                }
                UINT64
            }
            "kstack" | "ustack" => {
                return Err(Diagnostic::new(
                    format!("{name}() is not supported yet by kmodkit trace"),
                    span,
                    "not supported",
                ));
            }
            "count" | "sum" | "avg" | "min" | "max" | "stats" | "hist" | "lhist" => {
                return Err(Diagnostic::new(
                    format!("{name}() must be assigned to a map"),
                    span,
                    "an aggregation outside a map assignment",
                )
                .hint(format!(
                    "write `@name = {name}(...)` or `@name[key] = {name}(...)`"
                )));
            }
            "delete" => {
                match &args[0].kind {
                    ExprKind::Map { name: m, keys } => {
                        let mi = map_arg(0)?;
                        self.check_keys(mi, keys, args[0].span, inst)?;
                        let _ = m;
                    }
                    _ => {
                        return Err(Diagnostic::new(
                            "delete() expects a map element",
                            args[0].span,
                            "not a map",
                        ));
                    }
                }
                Ty::Void
            }
            "clear" | "zero" => {
                if let ExprKind::Map { keys, .. } = &args[0].kind {
                    if !keys.is_empty() {
                        return Err(Diagnostic::new(
                            format!("{name}() expects a whole map"),
                            args[0].span,
                            "remove the key",
                        ));
                    }
                }
                map_arg(0)?;
                Ty::Void
            }
            _ => unreachable!("arity() lists only the functions handled here"),
        })
    }

    /// The value type an aggregation call gives a map, checking its arguments.
    pub fn agg_ty(
        &self,
        name: &str,
        args: &[Expr],
        span: Span,
        inst: usize,
    ) -> Result<Option<Ty>, Diagnostic> {
        let want: (usize, usize) = match name {
            "count" => (0, 0),
            "sum" | "avg" | "min" | "max" | "stats" | "hist" => (1, 1),
            "lhist" => (4, 4),
            _ => return Ok(None),
        };
        if args.len() < want.0 || args.len() > want.1 {
            return Err(Diagnostic::new(
                format!(
                    "{name}() takes {} argument{}, but {} {} given",
                    want.0,
                    if want.0 == 1 { "" } else { "s" },
                    args.len(),
                    if args.len() == 1 { "was" } else { "were" }
                ),
                span,
                "wrong number of arguments",
            ));
        }
        for a in args {
            let t = self.ty(a, inst)?;
            if !t.is_int() {
                return Err(Diagnostic::new(
                    format!("{name}() expects an integer, got {t}"),
                    a.span,
                    format!("this is {t}"),
                ));
            }
        }
        Ok(Some(match name {
            "count" => Ty::Count,
            "sum" => Ty::Sum,
            "avg" => Ty::Avg,
            "min" => Ty::Min,
            "max" => Ty::Max,
            "stats" => Ty::Stats,
            "hist" => Ty::Hist,
            _ => {
                let mut lit = [0i64; 3];
                for (i, l) in lit.iter_mut().enumerate() {
                    *l = match &args[i + 1].kind {
                        ExprKind::Int(v) => *v,
                        ExprKind::Positional(n) => {
                            crate::lexer::parse_int(self.positional(*n)).unwrap_or(0)
                        }
                        _ => {
                            return Err(Diagnostic::new(
                                "lhist() needs integer literals for min, max and step",
                                args[i + 1].span,
                                "not a literal",
                            ))
                        }
                    };
                }
                let [min, max, step] = lit;
                if min < 0 || max <= min || step <= 0 || (max - min) / step > 1000 {
                    return Err(Diagnostic::new(
                        "invalid lhist() range",
                        span,
                        format!("min {min}, max {max}, step {step}"),
                    )
                    .hint("need 0 <= min < max, step > 0, and at most 1000 buckets"));
                }
                Ty::Lhist { min, max, step }
            }
        }))
    }
}

struct Checker<'a> {
    a: &'a mut Analysis,
    inst: usize,
    quiet: bool,
    errors: Vec<Diagnostic>,
    loop_depth: u32,
    /// Variables declared with a type (`let $x: uint8`): a wider integer is not assigned.
    declared: std::collections::HashSet<String>,
    /// Loop variables of `for` loops seen so far.
    for_vars: std::collections::HashSet<String>,
    /// Per open block, the variables `let` declared in it.
    scopes: Vec<Vec<String>>,
    /// Variables whose `let` block has ended.
    out_of_scope: std::collections::HashSet<String>,
    /// Variables read or assigned so far.
    used_plain: std::collections::HashSet<String>,
}

/// The scratch variables expression `e` names.
fn vars_in(e: &Expr, out: &mut Vec<String>) {
    match &e.kind {
        ExprKind::Var(v) => out.push(v.clone()),
        ExprKind::Map { keys: v, .. } | ExprKind::Call { args: v, .. } | ExprKind::Tuple(v) => {
            v.iter().for_each(|e| vars_in(e, out))
        }
        ExprKind::Binary { lhs, rhs, .. }
        | ExprKind::Index {
            expr: lhs,
            index: rhs,
        } => {
            vars_in(lhs, out);
            vars_in(rhs, out);
        }
        ExprKind::Ternary { cond, then, els } => {
            vars_in(cond, out);
            vars_in(then, out);
            vars_in(els, out);
        }
        ExprKind::Unary { expr, .. }
        | ExprKind::Field { expr, .. }
        | ExprKind::Cast { expr, .. }
        | ExprKind::SizeofExpr(expr) => vars_in(expr, out),
        ExprKind::Int(_)
        | ExprKind::Str(_)
        | ExprKind::Builtin(_)
        | ExprKind::Positional(_)
        | ExprKind::PositionalCount
        | ExprKind::SizeofType(_)
        | ExprKind::Offsetof { .. } => {}
    }
}

impl Checker<'_> {
    fn err(&mut self, d: Diagnostic) {
        if !self.quiet {
            self.errors.push(d);
        }
    }

    fn expr(&mut self, e: &Expr) -> Option<Ty> {
        match self.a.ty(e, self.inst) {
            Ok(t) => Some(t),
            Err(d) => {
                self.err(d);
                None
            }
        }
    }

    fn stmts(&mut self, stmts: &[Stmt]) {
        for s in stmts {
            self.stmt(s);
        }
    }

    /// A nested block: the variables `let` declares in it end with it (bpftrace 0.23).
    fn block(&mut self, stmts: &[Stmt]) {
        self.scopes.push(Vec::new());
        self.stmts(stmts);
        if let Some(names) = self.scopes.pop() {
            self.out_of_scope.extend(names);
        }
    }

    /// bpftrace 0.23's rules for `let`: declared once per scope, before any other use, and
    /// not seen after its block; checked for the variables statement `s` itself names (its
    /// nested blocks are checked as they are visited).
    fn scope_rules(&mut self, s: &Stmt) {
        let mut used = Vec::new();
        let mut assigned = None;
        match s {
            Stmt::Expr(e) => vars_in(e, &mut used),
            Stmt::AssignMap { map, value, .. } => {
                vars_in(map, &mut used);
                vars_in(value, &mut used);
            }
            Stmt::AssignVar { name, value, .. } => {
                vars_in(value, &mut used);
                assigned = Some(name);
            }
            Stmt::If { cond, .. } | Stmt::While { cond, .. } => vars_in(cond, &mut used),
            Stmt::For { map, .. } => vars_in(map, &mut used),
            Stmt::Let {
                name, value, span, ..
            } => {
                if let Some(v) = value {
                    vars_in(v, &mut used);
                }
                if self.scopes.iter().any(|sc| sc.contains(name)) {
                    self.err(Diagnostic::new(
                        format!("Variable ${name} was already declared. Variable shadowing is not allowed."),
                        *span,
                        "declared again",
                    ));
                } else if self.used_plain.contains(name) && !self.out_of_scope.contains(name) {
                    self.err(Diagnostic::new(
                        format!("Variable declarations need to occur before variable usage or assignment. Variable: ${name}"),
                        *span,
                        "declared after its first use",
                    ));
                }
                if let Some(sc) = self.scopes.last_mut() {
                    sc.push(name.clone());
                }
                self.out_of_scope.remove(name);
            }
            _ => {}
        }
        for v in used.iter().chain(assigned) {
            if self.out_of_scope.contains(v) && !self.scopes.iter().any(|sc| sc.contains(v)) {
                if assigned == Some(v) {
                    // A plain assignment after the block makes a new variable of the probe.
                    self.out_of_scope.remove(v);
                } else {
                    self.err(Diagnostic::new(
                        format!("Undefined or undeclared variable: ${v}"),
                        stmt_span(s),
                        "declared with `let` in a block that has ended",
                    ));
                }
            }
            self.used_plain.insert(v.clone());
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        self.scope_rules(s);
        match s {
            Stmt::Expr(e) => {
                if let ExprKind::Call { name, .. } = &e.kind {
                    if let Some(t) = self.expr(e) {
                        if t != Ty::Void && !matches!(name.as_str(), "str" | "strncmp") {
                            // A value computed and dropped is allowed, as in C.
                        }
                    }
                } else {
                    self.expr(e);
                }
            }
            Stmt::AssignVar {
                name,
                op,
                value,
                span,
            } => {
                let Some(t) = self.expr(value) else { return };
                let pi = &mut self.a.instances[self.inst];
                if let Some(old) = pi.vars.get(name) {
                    let narrower = matches!(
                        (old, &t),
                        (Ty::Int { size: a, .. }, Ty::Int { size: b, .. }) if b > a
                    ) && self.declared.contains(name);
                    if narrower {
                        let old = old.clone();
                        self.err(
                            Diagnostic::new(
                                format!("type mismatch for ${name}: assigning {t}, but it was declared {old}"),
                                *span,
                                format!("this is {t}"),
                            )
                            .hint(format!("cast the value: `({old})...`")),
                        );
                    } else if !old.accepts(&t) {
                        let old = old.clone();
                        self.err(Diagnostic::new(
                            format!("type mismatch for ${name}: assigning {t}, but it holds {old}"),
                            *span,
                            format!("this is {t}"),
                        ));
                    }
                    if op.is_some() && !t.is_int() {
                        self.err(Diagnostic::new(
                            "compound assignment needs integers",
                            *span,
                            "not an integer",
                        ));
                    }
                } else if op.is_some() {
                    self.err(Diagnostic::new(
                        format!("undefined variable `${name}`"),
                        *span,
                        "updated before any assignment",
                    ));
                } else if matches!(t, Ty::Void | Ty::Args | Ty::Record(_) | Ty::Array(_))
                    || t.is_aggregation()
                {
                    self.err(Diagnostic::new(
                        format!("cannot store {t} in a variable"),
                        value.span,
                        format!("this is {t}"),
                    ));
                } else {
                    pi.vars.insert(name.clone(), t);
                }
            }
            Stmt::AssignMap {
                map,
                op,
                value,
                span,
            } => {
                let ExprKind::Map { name, keys } = &map.kind else {
                    return;
                };
                let mut key_tys = Vec::new();
                // `@m[(1, "a")]`, `@m[$t]`: bpftrace 0.23 takes a tuple's elements as the
                // keys (0.17 refuses a tuple key).
                if let [one] = keys.as_slice() {
                    if let Ok(Ty::Tuple(ts)) = self.a.ty(one, self.inst) {
                        if ts.len() > 1 && ts.iter().all(|t| t.is_int() || t.is_str()) {
                            key_tys = ts.iter().map(Ty::stored).collect();
                        }
                    }
                }
                let flattened = !key_tys.is_empty();
                for k in keys.iter().filter(|_| !flattened) {
                    match self.expr(k) {
                        // A pointer key keeps being a pointer: bpftrace prints it in hex.
                        Some(Ty::Ptr(_)) => key_tys.push(Ty::Ptr(0)),
                        Some(t) if t.is_int() || t.is_str() || matches!(t, Ty::Tuple(_)) => {
                            key_tys.push(t.stored())
                        }
                        // Strings matched above; the other textual values are kept whole.
                        Some(t) if t.is_textual() => key_tys.push(t),
                        Some(t) => {
                            self.err(Diagnostic::new(
                                format!("a map key cannot be {t}"),
                                k.span,
                                format!("this is {t}"),
                            ));
                            return;
                        }
                        None => return,
                    }
                }
                let vt = match &value.kind {
                    ExprKind::Call { name: f, args } if arity(f).is_some() => {
                        match self.a.agg_ty(f, args, value.span, self.inst) {
                            Ok(Some(t)) => Some(t),
                            Ok(None) => self.expr(value),
                            Err(d) => {
                                self.err(d);
                                None
                            }
                        }
                    }
                    _ => self.expr(value),
                };
                let Some(vt) = vt.map(|t| t.stored()) else {
                    return;
                };
                if matches!(vt, Ty::Void | Ty::Args | Ty::Record(_) | Ty::Array(_)) {
                    self.err(Diagnostic::new(
                        format!("cannot store {vt} in a map"),
                        value.span,
                        format!("this is {vt}"),
                    ));
                    return;
                }
                if op.is_some() && !vt.is_int() {
                    self.err(Diagnostic::new(
                        "compound assignment needs integers",
                        *span,
                        "not an integer",
                    ));
                    return;
                }
                match self.a.maps.get(name) {
                    None => {
                        if op.is_some() && self.quiet {
                            // `@x++` / `@x += n` first: an integer map.
                        }
                        self.a.maps.insert(
                            name.clone(),
                            MapInfo {
                                name: name.clone(),
                                keys: key_tys,
                                value: vt,
                            },
                        );
                    }
                    Some(m) => {
                        let m = m.clone();
                        if m.keys.len() != key_tys.len()
                            || !m.keys.iter().zip(&key_tys).all(|(a, b)| a.accepts(b))
                        {
                            let show = |k: &[Ty]| {
                                k.iter()
                                    .map(|t| t.to_string())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            };
                            self.err(Diagnostic::new(
                                format!("type mismatch for the keys of @{name}: [{}], but it was [{}]", show(&key_tys), show(&m.keys)),
                                map.span,
                                "different key types",
                            )
                            .hint("every use of a map must have the same key types"));
                        } else if !m.value.accepts(&vt) {
                            self.err(Diagnostic::new(
                                format!("type mismatch for @{name}: assigning {vt}, but the map holds {}", m.value),
                                value.span,
                                format!("this is {vt}"),
                            )
                            .hint("a map keeps the type of its first assignment"));
                        }
                    }
                }
            }
            Stmt::If { cond, then, els } => {
                if let Some(t) = self.expr(cond) {
                    if !t.is_int() {
                        self.err(Diagnostic::new(
                            "the condition must be an integer",
                            cond.span,
                            format!("this is {t}"),
                        ));
                    }
                }
                self.block(then);
                self.block(els);
            }
            Stmt::Unroll { body, .. } => self.block(body),
            Stmt::While { cond, body } => {
                if let Some(t) = self.expr(cond) {
                    if !t.is_int() {
                        self.err(Diagnostic::new(
                            "the condition must be an integer",
                            cond.span,
                            format!("this is {t}"),
                        ));
                    }
                }
                self.loop_depth += 1;
                self.block(body);
                self.loop_depth -= 1;
            }
            Stmt::Break(span) | Stmt::Continue(span) => {
                if self.loop_depth == 0 {
                    self.err(Diagnostic::new(
                        "`break` and `continue` are only allowed in a while loop",
                        *span,
                        "outside a loop",
                    ));
                }
            }
            Stmt::Return(_) => {}
            Stmt::Let {
                name,
                ty,
                value,
                span,
            } => {
                if let Some(written) = ty {
                    let t = match self.a.decl_ty(written, *span) {
                        Ok(t) => t,
                        Err(d) => {
                            self.err(d);
                            return;
                        }
                    };
                    self.declared.insert(name.clone());
                    self.a.instances[self.inst].vars.insert(name.clone(), t);
                }
                if let Some(v) = value {
                    self.stmt(&Stmt::AssignVar {
                        name: name.clone(),
                        op: None,
                        value: v.clone(),
                        span: *span,
                    });
                }
            }
            Stmt::For {
                var,
                map,
                body,
                span,
            } => self.for_loop(var, map, body, *span),
        }
    }

    /// `for ($kv : @map) { ... }`, checked as bpftrace 0.23 checks it: a whole map with
    /// keys, a loop variable that is new, no jumps out of the body.
    fn for_loop(&mut self, var: &str, map: &Expr, body: &[Stmt], span: Span) {
        fn jumps(stmts: &[Stmt], out: &mut Vec<(&'static str, Span)>) {
            for s in stmts {
                match s {
                    Stmt::Break(sp) => out.push(("break", *sp)),
                    Stmt::Continue(sp) => out.push(("continue", *sp)),
                    Stmt::Return(sp) => out.push(("return", *sp)),
                    Stmt::If { then, els, .. } => {
                        jumps(then, out);
                        jumps(els, out);
                    }
                    Stmt::Unroll { body, .. }
                    | Stmt::While { body, .. }
                    | Stmt::For { body, .. } => jumps(body, out),
                    _ => {}
                }
            }
        }
        let ExprKind::Map { name, keys } = &map.kind else {
            self.err(Diagnostic::new(
                "Loop expression must be a map",
                map.span,
                "not a map",
            ));
            return;
        };
        if !keys.is_empty() {
            self.err(
                Diagnostic::new(
                    "Loop expression must be a map",
                    map.span,
                    "a map element, not a map",
                )
                .hint(format!("iterate over the whole map: `for ($kv : @{name})`")),
            );
            return;
        }
        if !self.for_vars.contains(var) && self.a.instances[self.inst].vars.contains_key(var) {
            self.err(Diagnostic::new(
                format!("Loop declaration shadows existing variable: ${var}"),
                map.span,
                "already a variable of this probe",
            ));
        }
        let mut found = Vec::new();
        jumps(body, &mut found);
        for (what, sp) in found {
            self.err(Diagnostic::new(
                format!("'{what}' statement is not allowed in a for-loop"),
                sp,
                "not allowed here",
            ));
        }
        // The callback has no probe context (bpftrace 0.23 refuses the same builtins).
        let mut idents = Vec::new();
        body.iter()
            .for_each(|s| crate::kernel::collect_stmt_idents(s, &mut idents));
        idents.sort();
        idents.dedup();
        for b in idents {
            let argx = b
                .strip_prefix("arg")
                .is_some_and(|n| n.parse::<u8>().is_ok());
            if argx || b == "args" || b == "retval" {
                self.err(Diagnostic::new(
                    format!("'{b}' builtin is not allowed in a for-loop"),
                    span,
                    "in this loop",
                ));
            } else if matches!(b.as_str(), "kstack" | "ustack" | "func") {
                self.err(
                    Diagnostic::new(
                        format!("'{b}' is not supported in a for-loop by kmodkit trace"),
                        span,
                        "in this loop",
                    )
                    .hint(format!("read it before the loop: `$x = {b};`")),
                );
            }
        }
        let Some(m) = self.a.maps.get(name).cloned() else {
            // Reports the undefined map (on the last pass only).
            self.expr(map);
            return;
        };
        if matches!(m.value, Ty::Hist | Ty::Lhist { .. }) {
            self.err(Diagnostic::new(
                format!("Loop expression does not support type: {}", m.value),
                map.span,
                format!("@{name} holds {}", m.value),
            ));
            return;
        }
        if m.keys.is_empty() {
            self.err(Diagnostic::new(
                "Maps used as for-loop expressions must have keys to iterate over",
                map.span,
                "a map without keys",
            ));
            return;
        }
        let key = match m.keys.as_slice() {
            [one] => one.clone(),
            more => Ty::Tuple(more.to_vec()),
        };
        // A count or a sum is read as the total of every CPU's value (bpftrace 0.23 does the
        // same); the other aggregations are not supported in a loop yet.
        let value = match &m.value {
            Ty::Count => UINT64,
            Ty::Sum => INT64,
            v if v.is_aggregation() => {
                self.err(
                    Diagnostic::new(
                        format!(
                            "for loops over {} maps are not supported yet by kmodkit trace",
                            m.value
                        ),
                        map.span,
                        format!("@{name} holds {}", m.value),
                    )
                    .hint("loops work over plain maps, count() and sum()"),
                );
                return;
            }
            v => v.clone(),
        };
        let t = Ty::Tuple(vec![key, value]);
        if self.for_vars.contains(var) {
            if let Some(old) = self.a.instances[self.inst].vars.get(var) {
                if *old != t {
                    // bpftrace 0.23 gives each loop its own variable; here a name has one
                    // type per probe.
                    let old = old.clone();
                    self.err(
                        Diagnostic::new(
                            format!("${var} is the loop variable of another loop, as {old}; here it would be {t}"),
                            map.span,
                            "a second type for the same name",
                        )
                        .hint("kmodkit keeps one type per variable name in a probe: name this loop's variable differently"),
                    );
                    return;
                }
            }
        }
        self.for_vars.insert(var.to_string());
        self.a.instances[self.inst].vars.insert(var.to_string(), t);
        self.scopes.push(vec![var.to_string()]);
        self.out_of_scope.remove(var);
        self.block(body);
        if let Some(names) = self.scopes.pop() {
            self.out_of_scope.extend(names);
        }
    }
}
