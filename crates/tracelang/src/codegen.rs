//! Lowering: each probe instance of an analysed program becomes one eBPF program, plus the
//! map layout and the table of user-space actions (`printf`, `print`, `exit`, ...) that
//! programs trigger by writing `[u64 action id][arguments]` records to a ring buffer.
//!
//! Register plan: r9 holds the context; r6..r8 hold integer temporaries (an expression
//! deeper than three pending operands is rejected); r0..r5 are scratch around helper calls.
//! Strings live in zero-initialised, 8-byte-rounded stack buffers and are passed around by
//! frame offset. Map fds are emitted as `ld_imm64` with `src = PSEUDO_MAP_FD` and the *map
//! index* as immediate; the runtime patches in real fds, so this pass never needs a kernel.

use crate::ast::*;
use crate::diag::Diagnostic;
use crate::printf::{parse_format, Piece};
use crate::sema::{Analysis, MapInfo};
use crate::types::*;
use bpf_insn::build::*;
use bpf_insn::insn::alu::*;
use bpf_insn::insn::jmp::*;
use bpf_insn::insn::mem::{B, DW, H, W};
use bpf_insn::insn::{class::JMP, lddw as ld_imm64, pseudo::MAP_FD as PSEUDO_MAP_FD};
use bpf_insn::Insn;
use std::collections::HashMap;

pub const BPF_MAP_TYPE_HASH: u32 = 1;
pub const BPF_MAP_TYPE_PERCPU_HASH: u32 = 5;
pub const BPF_MAP_TYPE_RINGBUF: u32 = 27;
pub const BPF_MAP_TYPE_STACK_TRACE: u32 = 7;
/// `bpf_get_stackid` flag: the user-space stack.
const BPF_F_USER_STACK: i32 = 256;

pub const PROG_KPROBE: u32 = 2;
pub const PROG_TRACEPOINT: u32 = 5;
pub const PROG_PERF_EVENT: u32 = 7;
pub const PROG_RAW_TRACEPOINT: u32 = 17;
pub const PROG_TRACING: u32 = 26;

// Helper ids (include/uapi/linux/bpf.h).
const MAP_LOOKUP: i32 = 1;
const MAP_UPDATE: i32 = 2;
const MAP_DELETE: i32 = 3;
const PROBE_READ: i32 = 4;
const KTIME_GET_NS: i32 = 5;
const GET_PRANDOM_U32: i32 = 7;
const GET_SMP_PROCESSOR_ID: i32 = 8;
const GET_CURRENT_PID_TGID: i32 = 14;
const GET_CURRENT_UID_GID: i32 = 15;
const GET_CURRENT_COMM: i32 = 16;
const PROBE_READ_STR: i32 = 45;
const GET_CURRENT_CGROUP_ID: i32 = 80;
const GET_STACKID: i32 = 27;
const RINGBUF_OUTPUT: i32 = 130;
const GET_CURRENT_TASK: i32 = 35;
const PROBE_READ_USER: i32 = 112;
const PROBE_READ_KERNEL: i32 = 113;
const GET_FUNC_IP: i32 = 173;
const PROBE_READ_USER_STR: i32 = 114;
const PROBE_READ_KERNEL_STR: i32 = 115;
const RINGBUF_RESERVE: i32 = 131;
const RINGBUF_SUBMIT: i32 = 132;
const D_PATH: i32 = 147;

/// `join()`: the arguments it reads at most and the bytes kept of each (bpftrace 0.17's
/// `join_argnum` and `join_argsize`).
pub const JOIN_ARGNUM: usize = 16;
pub const JOIN_ARGSIZE: usize = 1024;

/// Ring buffer size in bytes (a power of two, a multiple of the page size).
pub const RINGBUF_SIZE: u32 = 256 * 1024;
/// The smallest ring buffer the kernel makes (one page), for programs that write no events.
pub const RINGBUF_MIN_SIZE: u32 = 4096;
/// bpftrace's default map size.
pub const MAP_MAX_ENTRIES: u32 = 4096;

#[derive(Debug, Clone)]
pub struct MapSpec {
    pub name: String,
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    /// The language-level map (None for the ring buffer).
    pub info: Option<MapInfo>,
}

#[derive(Debug, Clone)]
pub struct ProgSpec {
    pub instance: usize,
    pub kind: ProbeKind,
    pub name: String,
    pub prog_type: u32,
    pub insns: Vec<Insn>,
    /// A kfunc's BTF `FUNC` id in vmlinux (what the program is loaded for), 0 otherwise.
    pub attach_btf_id: u32,
    /// Where each function after the main one starts (the callbacks of `for` loops), in
    /// instructions; the kernel wants them described by BTF ([`funcs_btf`]).
    pub funcs: Vec<u32>,
    /// Expanded from a wildcard (see [`crate::sema::ProbeInst::wildcard`]).
    pub wildcard: bool,
}

/// The BTF `FUNC` type of a program's main function in [`funcs_btf`].
pub const BTF_MAIN_FUNC: u32 = 4;
/// The BTF `FUNC` type of a `bpf_for_each_map_elem` callback in [`funcs_btf`].
pub const BTF_CALLBACK_FUNC: u32 = 6;

/// The BTF that describes the functions of a program with callbacks (the kernel refuses a
/// callback without it): `long prog(void *ctx)` and `long cb(void *map, void *key,
/// void *value, void *ctx)`, both static.
pub fn funcs_btf() -> Vec<u8> {
    let strings = b"\0long\0ctx\0map\0key\0value\0prog\0cb\0";
    let name = |s: &str| -> u32 {
        let at = strings
            .windows(s.len() + 2)
            .position(|w| w[0] == 0 && &w[1..=s.len()] == s.as_bytes() && w[s.len() + 1] == 0)
            .expect("the name is in the table");
        at as u32 + 1
    };
    const INT: u32 = 1;
    const PTR: u32 = 2;
    const FUNC: u32 = 12;
    const FUNC_PROTO: u32 = 13;
    let info = |kind: u32, vlen: u32| (kind << 24) | vlen;
    let mut t: Vec<u32> = Vec::new();
    // [1] long: 8 bytes, signed, 64 bits.
    t.extend([name("long"), info(INT, 0), 8, (1 << 24) | 64]);
    // [2] void *
    t.extend([0, info(PTR, 0), 0]);
    // [3] long (void *ctx)
    t.extend([0, info(FUNC_PROTO, 1), 1, name("ctx"), 2]);
    // [4] prog
    t.extend([name("prog"), info(FUNC, 0), 3]);
    // [5] long (void *map, void *key, void *value, void *ctx)
    t.extend([0, info(FUNC_PROTO, 4), 1]);
    for p in ["map", "key", "value", "ctx"] {
        t.extend([name(p), 2]);
    }
    // [6] cb
    t.extend([name("cb"), info(FUNC, 0), 5]);
    let types: Vec<u8> = t.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut out = Vec::new();
    out.extend(0xeb9f_u16.to_le_bytes());
    out.extend([1u8, 0]);
    for v in [
        24u32,
        0,
        types.len() as u32,
        types.len() as u32,
        strings.len() as u32,
    ] {
        out.extend(v.to_le_bytes());
    }
    out.extend(types);
    out.extend(strings);
    out
}

/// A `for` loop whose body is still to be compiled as a callback.
#[derive(Clone)]
struct PendingFor {
    /// The `ld_imm64` that loads the callback's address.
    ld_pos: usize,
    var: String,
    map: String,
    body: Vec<Stmt>,
}

/// `bpf_for_each_map_elem` (helper 164) and the `ld_imm64` source of a function's address.
const FOR_EACH_MAP_ELEM: i32 = 164;
/// `bpf_map_lookup_percpu_elem` (helper 195, Linux 5.19): one CPU's value of a per-CPU map.
const MAP_LOOKUP_PERCPU_ELEM: i32 = 195;
/// The most CPUs a loop over a per-CPU map adds up: the verifier follows every round of
/// that loop, and refuses more than about 8000 jumps in one path.
const MAX_CPUS: u32 = 1024;
const PSEUDO_FUNC: u8 = 4;

/// What user space does when a record with this action's index arrives.
#[derive(Debug, Clone)]
pub enum Action {
    Exit,
    Printf {
        pieces: Vec<Piece>,
        args: Vec<Ty>,
    },
    PrintValue(Ty),
    PrintMap {
        map: usize,
        top: usize,
        div: u64,
    },
    Time(String),
    Clear(usize),
    Zero(usize),
    /// `join(array, delim)`: the record holds [`JOIN_ARGNUM`] NUL-terminated strings of
    /// [`JOIN_ARGSIZE`] bytes after a second word; the first empty one ends the list.
    Join(String),
    /// `cat(FORMAT, args...)`: the file named by the formatted arguments, printed.
    Cat {
        pieces: Vec<Piece>,
        args: Vec<Ty>,
    },
}

#[derive(Debug, Clone)]
pub struct Compiled {
    pub maps: Vec<MapSpec>,
    /// Index of the ring buffer in `maps`.
    pub ringbuf: usize,
    pub progs: Vec<ProgSpec>,
    pub actions: Vec<Action>,
    /// `probe` builtin ids -> names.
    pub probe_names: Vec<String>,
    /// The stack-trace maps (frame limit, index in `maps`; 0 is the default limit), one
    /// per limit used, as bpftrace keeps them.
    pub stackmaps: Vec<(u16, usize)>,
    /// Whether the maps are printed at exit (`config = { print_maps_on_exit = 0 }` turns it
    /// off).
    pub print_maps_on_exit: bool,
}

impl Compiled {
    /// Whether anything the programs report prints kernel symbols (`ksym`, `kstack`), so
    /// that a runtime can read the kernel's symbol table before tracing starts.
    pub fn uses_kernel_symbols(&self) -> bool {
        fn kernel(t: &Ty) -> bool {
            match t {
                Ty::Ksym | Ty::Kstack(_) => true,
                Ty::Tuple(v) => v.iter().any(kernel),
                _ => false,
            }
        }
        let in_maps = self
            .maps
            .iter()
            .filter_map(|m| m.info.as_ref())
            .any(|i| i.keys.iter().any(kernel) || kernel(&i.value));
        let in_actions = self.actions.iter().any(|a| match a {
            Action::Printf { args, .. } => args.iter().any(kernel),
            Action::PrintValue(t) => kernel(t),
            _ => false,
        });
        in_maps || in_actions
    }
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Pid of the `-c` child (`cpid`).
    pub cpid: u64,
    /// CLOCK_MONOTONIC ns at start (`elapsed`).
    pub start_ns: u64,
    /// Entries per map; 0 means [`MAP_MAX_ENTRIES`] (bpftrace's default).
    pub map_keys_max: u32,
    /// Frames kept per stack by default: the running kernel's `perf_event_max_stack`, as
    /// bpftrace uses; 0 means the kernel's default, [`DEFAULT_MAX_STACK`].
    pub max_stack: u32,
    /// The machine's possible CPUs, over which a `for` loop adds up a per-CPU map's
    /// values; 0 means [`DEFAULT_CPUS`].
    pub cpus: u32,
    /// Instructions per program before code generation stops; 0 means [`MAX_INSNS`] (the
    /// fuzz harness uses a smaller limit so that each input stays cheap).
    pub max_insns: usize,
}

impl Options {
    fn insn_limit(&self) -> usize {
        if self.max_insns == 0 {
            MAX_INSNS
        } else {
            self.max_insns
        }
    }
}

/// CPUs assumed when [`Options::cpus`] is not given.
pub const DEFAULT_CPUS: u32 = 64;

/// The kernel's default `perf_event_max_stack`.
pub const DEFAULT_MAX_STACK: u32 = 127;

/// The kernel's limit on the instructions of one program for a privileged loader
/// (`BPF_COMPLEXITY_LIMIT_INSNS`; unprivileged loaders get `BPF_MAXINSNS`, 4096). Code
/// generation stops as soon as a program passes it, so that `unroll` nested in `unroll`
/// fails at once rather than building a program the kernel would refuse.
pub const MAX_INSNS: usize = 1_000_000;

/// The limit on the instructions of all programs of a script together: a wildcard probe
/// compiles its body once per match, and this keeps that product within memory.
pub const MAX_TOTAL_INSNS: usize = 16 * MAX_INSNS;

fn too_large(span: Span, limit: usize) -> Diagnostic {
    Diagnostic::new(
        format!("BPF program is too large: more than {limit} instructions"),
        span,
        "this makes the program larger than the kernel loads",
    )
    .hint(
        "the kernel loads at most 1000000 instructions per program \
         (BPF_COMPLEXITY_LIMIT_INSNS); lower the unroll counts or use a while loop",
    )
}

fn round8(n: usize) -> usize {
    n.next_multiple_of(8)
}

pub fn value_size(t: &Ty) -> u32 {
    round8(t.size()).max(8) as u32
}

pub fn compile(prog: &Program, a: &Analysis, opts: &Options) -> Result<Compiled, Diagnostic> {
    let mut maps = Vec::new();
    let mut map_index = HashMap::new();
    for (name, info) in &a.maps {
        map_index.insert(name.clone(), maps.len());
        maps.push(MapSpec {
            name: info.display_name(),
            map_type: if info.value.is_per_cpu() {
                BPF_MAP_TYPE_PERCPU_HASH
            } else {
                BPF_MAP_TYPE_HASH
            },
            key_size: info.key_size() as u32,
            value_size: value_size(&info.value),
            max_entries: if opts.map_keys_max == 0 {
                MAP_MAX_ENTRIES
            } else {
                opts.map_keys_max
            },
            info: Some(info.clone()),
        });
    }
    let ringbuf = maps.len();
    maps.push(MapSpec {
        name: "ringbuf".into(),
        map_type: BPF_MAP_TYPE_RINGBUF,
        key_size: 0,
        value_size: 0,
        max_entries: RINGBUF_SIZE,
        info: None,
    });
    let mut actions = Vec::new();
    let mut progs = Vec::new();
    let mut stack_limits: Vec<u16> = Vec::new();
    let probe_names: Vec<String> = a.instances.iter().map(|i| i.name.clone()).collect();
    let mut total = 0usize;
    for (idx, inst) in a.instances.iter().enumerate() {
        let probe = &prog.probes[inst.probe];
        let mut g = Gen {
            a,
            inst: idx,
            map_index: &map_index,
            ringbuf,
            insns: Vec::new(),
            labels: Vec::new(),
            last_bound: None,
            fixups: Vec::new(),
            stack: 0,
            vars: HashMap::new(),
            depth: 0,
            loops: Vec::new(),
            actions: &mut actions,
            opts,
            exit_label: 0,
            stack_limits: &mut stack_limits,
            var_area: 0,
            pending: Vec::new(),
            cb_starts: Vec::new(),
        };
        g.exit_label = g.label();
        g.emit(mov_reg(9, 1));
        // Scratch variables get their slots first; temporaries are reused per statement.
        let mut vars: Vec<(&String, &Ty)> = inst.vars.iter().collect();
        vars.sort_by(|a, b| a.0.cmp(b.0));
        for (name, ty) in vars {
            let off = g.alloc(round8(ty.size()).max(8), probe.span)?;
            g.zero(off, round8(ty.size()).max(8));
            g.vars.insert(name.clone(), off);
        }
        g.var_area = g.stack;
        if let Some(p) = &probe.predicate {
            let l = g.exit_label;
            g.branch(p, false, l)?;
        }
        g.stmts(&probe.body)?;
        let l = g.exit_label;
        g.bind(l);
        g.emit(mov_imm(0, 0));
        g.emit(exit());
        g.emit_callbacks(probe.span)?;
        let cb_starts = std::mem::take(&mut g.cb_starts);
        let before = g.insns.len();
        let insns = g.finish(probe.span)?;
        // finish() may drop the first instruction (the context's save): one less for all.
        let shift = before - insns.len();
        let funcs = cb_starts.iter().map(|s| (s - shift) as u32).collect();
        total += insns.len();
        if total > MAX_TOTAL_INSNS / MAX_INSNS * opts.insn_limit() {
            return Err(Diagnostic::new(
                format!(
                    "the programs are too large together: more than {} \
                     instructions for {} probes",
                    MAX_TOTAL_INSNS / MAX_INSNS * opts.insn_limit(),
                    idx + 1
                ),
                probe.span,
                format!("this probe matches {} attach points", a.instances.len()),
            )
            .hint("narrow the wildcards or shorten the probe's actions"));
        }
        let prog_type = match inst.kind {
            ProbeKind::Begin | ProbeKind::End => PROG_RAW_TRACEPOINT,
            ProbeKind::Tracepoint { .. } => PROG_TRACEPOINT,
            ProbeKind::Uprobe { .. } | ProbeKind::Kprobe { .. } => PROG_KPROBE,
            ProbeKind::Kfunc { .. } => PROG_TRACING,
            ProbeKind::RawTracepoint { .. } => PROG_RAW_TRACEPOINT,
            _ => PROG_PERF_EVENT,
        };
        progs.push(ProgSpec {
            instance: idx,
            kind: inst.kind.clone(),
            name: inst.name.clone(),
            prog_type,
            insns,
            attach_btf_id: inst.btf_func.unwrap_or(0),
            funcs,
            wildcard: inst.wildcard,
        });
    }
    let mut stackmaps = Vec::new();
    for &limit in &stack_limits {
        stackmaps.push((limit, maps.len()));
        let frames = if limit == 0 {
            match opts.max_stack {
                0 => DEFAULT_MAX_STACK,
                n => n,
            }
        } else {
            limit as u32
        };
        maps.push(MapSpec {
            name: format!("stack_{frames}"),
            map_type: BPF_MAP_TYPE_STACK_TRACE,
            key_size: 4,
            value_size: 8 * frames,
            max_entries: if opts.map_keys_max == 0 {
                MAP_MAX_ENTRIES
            } else {
                opts.map_keys_max
            },
            info: None,
        });
    }
    // No program writes events (no printf, exit, time...): the ring buffer is still made,
    // but of one page, which the kernel allocates and maps in a fraction of the time.
    let writes_events = progs.iter().flat_map(|p| &p.insns).any(|i| {
        i.is_lddw() && i.src == PSEUDO_MAP_FD && usize::try_from(i.imm).ok() == Some(ringbuf)
    });
    if !writes_events {
        maps[ringbuf].max_entries = RINGBUF_MIN_SIZE;
    }
    Ok(Compiled {
        maps,
        ringbuf,
        progs,
        actions,
        probe_names,
        stackmaps,
        print_maps_on_exit: a.config.print_maps_on_exit,
    })
}

struct Gen<'a> {
    a: &'a Analysis,
    inst: usize,
    map_index: &'a HashMap<String, usize>,
    ringbuf: usize,
    insns: Vec<Insn>,
    labels: Vec<Option<usize>>,
    /// Where the most recent label was bound: labels are bound once, at the end of the code
    /// so far, so "a label points here" is "the last one bound is here" (a constant-time
    /// question; searching every label made large unrolled programs quadratic).
    last_bound: Option<usize>,
    fixups: Vec<(usize, usize)>,
    /// Bytes of stack in use (frame offsets are negative).
    stack: usize,
    vars: HashMap<String, i16>,
    /// Integer temporaries in use: r6 + depth is the next free one.
    depth: u8,
    loops: Vec<(usize, usize)>,
    actions: &'a mut Vec<Action>,
    opts: &'a Options,
    exit_label: usize,
    /// The frame limits of the stack maps, in the order they follow the ring buffer.
    stack_limits: &'a mut Vec<u16>,
    /// Bytes of the frame the scratch variables take (they come first).
    var_area: usize,
    /// `for` loops whose callbacks are compiled after the main function.
    pending: Vec<PendingFor>,
    /// Where each callback starts.
    cb_starts: Vec<usize>,
}

const FP: u8 = 10;
const CTX: u8 = 9;

// x86-64 struct pt_regs offsets.
const PT_REGS_ARGS: [i16; 6] = [112, 104, 96, 88, 72, 64];
const PT_REGS_RAX: i16 = 80;
const PT_REGS_IP: i16 = 128;

impl Gen<'_> {
    fn emit(&mut self, i: Insn) {
        self.insns.push(i);
    }
    fn emit2(&mut self, i: [Insn; 2]) {
        self.insns.extend(i);
    }
    fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }
    fn bind(&mut self, l: usize) {
        self.labels[l] = Some(self.insns.len());
        self.last_bound = Some(self.insns.len());
    }
    /// Whether the next instruction could never run: the last one is an unconditional jump
    /// and no label points here. The kernel refuses unreachable instructions, so structured
    /// statements must not emit their closing jumps then.
    fn unreachable_here(&self) -> bool {
        let here = self.insns.len();
        self.insns.last().is_some_and(|i| i.code == (JMP | JA)) && self.last_bound != Some(here)
    }
    fn jump(&mut self, l: usize) {
        self.fixups.push((self.insns.len(), l));
        self.emit(jmp_imm(JA, 0, 0, 0));
    }
    fn jump_imm(&mut self, op: u8, r: u8, imm: i32, l: usize) {
        self.fixups.push((self.insns.len(), l));
        self.emit(jmp_imm(op, r, imm, 0));
    }
    fn jump_reg(&mut self, op: u8, r: u8, s: u8, l: usize) {
        self.fixups.push((self.insns.len(), l));
        self.emit(jmp_reg(op, r, s, 0));
    }
    /// Resolves jumps and drops the context save when unused; an error (at `span`, the
    /// probe) when a jump is farther than the 16-bit offset of an instruction reaches.
    fn finish(mut self, span: Span) -> Result<Vec<Insn>, Diagnostic> {
        if self.insns.len() > self.opts.insn_limit() {
            return Err(too_large(span, self.opts.insn_limit()));
        }
        for &(at, l) in &self.fixups {
            let target = self.labels[l].unwrap_or(self.insns.len());
            let Ok(off) = i16::try_from(target as i64 - at as i64 - 1) else {
                return Err(Diagnostic::new(
                    format!(
                        "a jump in this probe's program spans {} instructions, more than \
                         an eBPF jump reaches ({})",
                        target as i64 - at as i64 - 1,
                        i16::MAX
                    ),
                    span,
                    "this probe's program",
                )
                .hint("lower the unroll counts, or move work out of if/while bodies"));
            };
            self.insns[at].off = off;
        }
        // The prologue keeps the context in r9; drop it when nothing reads r9. Jumps are
        // relative and none targets the first instruction, so no offset changes.
        let first_is_save = self.insns.first().is_some_and(|i| *i == mov_reg(9, 1));
        if first_is_save {
            let uses = |i: &Insn| i.dst == 9 || i.src == 9;
            match self.insns[1..].iter().rposition(uses) {
                None => {
                    self.insns.remove(0);
                }
                // Every read of the context comes first, in straight-line code that leaves
                // r1 alone: read it from r1 there and drop the save.
                Some(last)
                    if self.insns[1..=last + 1].iter().all(|i| {
                        let class = i.code & 7;
                        let writes = matches!(class, 0x00 | 0x01 | 0x04 | 0x07);
                        !matches!(class, 0x05 | 0x06) && !(writes && (i.dst == 1 || i.dst == 9))
                    }) =>
                {
                    for i in &mut self.insns[1..=last + 1] {
                        if i.dst == 9 {
                            i.dst = 1;
                        }
                        if i.src == 9 {
                            i.src = 1;
                        }
                    }
                    self.insns.remove(0);
                }
                Some(_) => {}
            }
        }
        Ok(self.insns)
    }

    /// Compiles the callbacks of the `for` loops met so far (and of loops inside them), each
    /// a function after the main one: `long cb(map, key, value, ctx)`. Its frame mirrors the
    /// main one's variables: they are copied in from `ctx` (the caller's), the loop variable
    /// is filled with the element's key and value, the body runs, and the variables are
    /// copied back; then 0 (go on).
    fn emit_callbacks(&mut self, span: Span) -> Result<(), Diagnostic> {
        let mut next = 0;
        while next < self.pending.len() {
            let p = self.pending[next].clone();
            next += 1;
            let start = self.insns.len();
            self.insns[p.ld_pos].imm = (start - p.ld_pos - 1) as i32;
            self.cb_starts.push(start);
            let saved_loops = std::mem::take(&mut self.loops);
            self.stack = self.var_area;
            self.depth = 0;
            let area = self.var_area as i16;
            let ctx_slot = self.alloc(8, span)?;
            self.emit(stx(DW, FP, 4, ctx_slot));
            for o in (0..area).step_by(8) {
                self.emit(ldx(DW, 1, 4, o));
                self.emit(stx(DW, FP, 1, o - area));
            }
            let kv = self.vars[&p.var];
            let Some(Ty::Tuple(items)) = self.a.instances[self.inst].vars.get(&p.var) else {
                return Err(Diagnostic::new(
                    "the loop variable is not a tuple",
                    span,
                    "here",
                ));
            };
            let ks = round8(items[0].size()) as i16;
            let vs = round8(items[1].size()) as i16;
            for o in (0..ks).step_by(8) {
                self.emit(ldx(DW, 1, 2, o));
                self.emit(stx(DW, FP, 1, kv + o));
            }
            if self.a.maps[&p.map].value.is_per_cpu() {
                // A count or a sum: the total over the CPUs, read one by one with the key
                // just copied (r6: the CPU, r7: the total).
                let m = self.map_idx(&p.map);
                let (l_top, l_end) = (self.label(), self.label());
                self.emit(mov_imm(6, 0));
                self.emit(mov_imm(7, 0));
                self.bind(l_top);
                self.load_map(1, m);
                self.frame_ptr(2, kv);
                self.emit(mov_reg(3, 6));
                self.emit(call(MAP_LOOKUP_PERCPU_ELEM));
                self.jump_imm(JEQ, 0, 0, l_end);
                self.emit(ldx(DW, 1, 0, 0));
                self.emit(alu_reg(ADD, 7, 1));
                self.emit(alu_imm(ADD, 6, 1));
                let cpus = match self.opts.cpus {
                    0 => DEFAULT_CPUS,
                    n => n.min(MAX_CPUS),
                };
                self.jump_imm(JLT, 6, cpus as i32, l_top);
                self.bind(l_end);
                self.emit(stx(DW, FP, 7, kv + ks));
            } else {
                for o in (0..vs).step_by(8) {
                    self.emit(ldx(DW, 1, 3, o));
                    self.emit(stx(DW, FP, 1, kv + ks + o));
                }
            }
            self.stmts(&p.body)?;
            if area > 0 {
                self.emit(ldx(DW, 2, FP, ctx_slot));
                for o in (0..area).step_by(8) {
                    self.emit(ldx(DW, 1, FP, o - area));
                    self.emit(stx(DW, 2, 1, o));
                }
            }
            self.emit(mov_imm(0, 0));
            self.emit(exit());
            self.loops = saved_loops;
        }
        Ok(())
    }

    fn alloc(&mut self, size: usize, span: Span) -> Result<i16, Diagnostic> {
        self.stack += round8(size);
        if self.stack > 512 {
            return Err(Diagnostic::new(
                "this probe needs more than the 512 bytes of eBPF stack",
                span,
                "while compiling this",
            )
            .hint("use fewer or shorter strings (str(x, N)) in one statement"));
        }
        Ok(-(self.stack as i16))
    }

    fn zero(&mut self, off: i16, size: usize) {
        for i in (0..round8(size)).step_by(8) {
            self.emit(st(DW, FP, off + i as i16, 0));
        }
    }

    fn copy(&mut self, dst: i16, src: i16, size: usize) {
        for i in (0..round8(size)).step_by(8) {
            self.emit(ldx(DW, 1, FP, src + i as i16));
            self.emit(stx(DW, FP, 1, dst + i as i16));
        }
    }

    /// r`reg` = fp + off
    fn frame_ptr(&mut self, reg: u8, off: i16) {
        self.emit(mov_reg(reg, FP));
        self.emit(alu_imm(ADD, reg, off as i32));
    }

    fn load_map(&mut self, reg: u8, map: usize) {
        self.emit2(ld_imm64(reg, PSEUDO_MAP_FD, map as u64));
    }

    fn map_idx(&self, name: &str) -> usize {
        self.map_index[name]
    }

    fn take(&mut self, span: Span) -> Result<u8, Diagnostic> {
        if self.depth >= 3 {
            return Err(Diagnostic::new(
                "expression too complex for the code generator",
                span,
                "more than three pending operands",
            )
            .hint("split it with a scratch variable: `$t = ...;`"));
        }
        self.depth += 1;
        Ok(5 + self.depth)
    }
    fn free(&mut self) {
        self.depth -= 1;
    }

    fn ty(&self, e: &Expr) -> Result<Ty, Diagnostic> {
        self.a.ty(e, self.inst)
    }

    fn add_action(&mut self, a: Action) -> i32 {
        self.actions.push(a);
        (self.actions.len() - 1) as i32
    }

    /// Sends the record at fp+off of `size` bytes to user space.
    fn output(&mut self, off: i16, size: usize) {
        self.load_map(1, self.ringbuf);
        self.frame_ptr(2, off);
        self.emit(mov_imm(3, size as i32));
        self.emit(mov_imm(4, 0));
        self.emit(call(RINGBUF_OUTPUT));
    }

    fn stmts(&mut self, stmts: &[Stmt]) -> Result<(), Diagnostic> {
        for s in stmts {
            let mark = self.stack;
            self.stmt(s)?;
            self.stack = mark;
            if self.insns.len() > self.opts.insn_limit() {
                return Err(too_large(stmt_span(s), self.opts.insn_limit()));
            }
        }
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt) -> Result<(), Diagnostic> {
        match s {
            Stmt::Expr(e) => self.effect(e),
            Stmt::AssignVar {
                name, op, value, ..
            } => {
                let off = self.vars[name];
                let vt = self.a.instances[self.inst].vars[name].clone();
                if let Some(op) = op {
                    let r = self.take(value.span)?;
                    self.emit(ldx(DW, r, FP, off));
                    let v = self.int(value)?;
                    self.binop(*op, r, v, true);
                    self.free();
                    self.emit(stx(DW, FP, r, off));
                    self.free();
                    Ok(())
                } else {
                    self.store(&vt, value, off)
                }
            }
            Stmt::AssignMap { map, op, value, .. } => self.assign_map(map, *op, value),
            Stmt::If { cond, then, els } => {
                let l_else = self.label();
                let l_end = self.label();
                self.branch(cond, false, l_else)?;
                self.stmts(then)?;
                if !els.is_empty() && !self.unreachable_here() {
                    self.jump(l_end);
                }
                self.bind(l_else);
                self.stmts(els)?;
                self.bind(l_end);
                Ok(())
            }
            Stmt::Unroll { count, body, span } => {
                for _ in 0..*count {
                    // Too large: blame the outermost unroll, which multiplies the rest.
                    match self.stmts(body) {
                        Err(_) if self.insns.len() > self.opts.insn_limit() => {
                            return Err(too_large(*span, self.opts.insn_limit()))
                        }
                        r => r?,
                    }
                }
                Ok(())
            }
            Stmt::While { cond, body } => {
                let l_top = self.label();
                let l_end = self.label();
                self.bind(l_top);
                self.branch(cond, false, l_end)?;
                self.loops.push((l_end, l_top));
                self.stmts(body)?;
                self.loops.pop();
                if !self.unreachable_here() {
                    self.jump(l_top);
                }
                self.bind(l_end);
                Ok(())
            }
            Stmt::Let {
                name, value, span, ..
            } => match value {
                Some(v) => self.stmt(&Stmt::AssignVar {
                    name: name.clone(),
                    op: None,
                    value: v.clone(),
                    span: *span,
                }),
                // The variable's slot is zeroed when the program starts.
                None => Ok(()),
            },
            Stmt::For {
                var,
                map,
                body,
                span,
            } => {
                // bpf_for_each_map_elem(map, callback, ctx, 0), the callback compiled after
                // the main function ([`Gen::emit_callbacks`]); ctx points at this frame's
                // variables, which the callback copies in and back out.
                let ExprKind::Map { name, .. } = &map.kind else {
                    return Err(Diagnostic::new("expected a map", map.span, "here"));
                };
                let _ = span;
                let m = self.map_idx(name);
                self.load_map(1, m);
                let ld_pos = self.insns.len();
                self.emit2(ld_imm64(2, PSEUDO_FUNC, 0));
                if self.var_area > 0 {
                    self.frame_ptr(3, -(self.var_area as i16));
                } else {
                    self.emit(mov_imm(3, 0));
                }
                self.emit(mov_imm(4, 0));
                self.emit(call(FOR_EACH_MAP_ELEM));
                self.pending.push(PendingFor {
                    ld_pos,
                    var: var.clone(),
                    map: name.clone(),
                    body: body.clone(),
                });
                Ok(())
            }
            Stmt::Break(_) => {
                let (b, _) = *self.loops.last().expect("sema checks break is in a loop");
                self.jump(b);
                Ok(())
            }
            Stmt::Continue(_) => {
                let (_, c) = *self
                    .loops
                    .last()
                    .expect("sema checks continue is in a loop");
                self.jump(c);
                Ok(())
            }
            Stmt::Return(_) => {
                let l = self.exit_label;
                self.jump(l);
                Ok(())
            }
        }
    }

    /// Writes the value of `e` (of storage type `ty`) into the stack at `off`.
    fn store(&mut self, ty: &Ty, e: &Expr, off: i16) -> Result<(), Diagnostic> {
        if let ExprKind::Var(v) = &e.kind {
            if matches!(
                ty,
                Ty::Inet | Ty::MacAddr | Ty::Buf(_) | Ty::Timestamp(_) | Ty::CgroupPath(_)
            ) {
                // A value a function made earlier: copied from its variable.
                let src = self.vars[v];
                self.copy(off, src, round8(ty.size()));
                return Ok(());
            }
        }
        match ty {
            Ty::Str(16) if matches!(&e.kind, ExprKind::Builtin(b) if b == "comm") => {
                // Straight into place: the helper fills all 16 bytes.
                self.frame_ptr(1, off);
                self.emit(mov_imm(2, 16));
                self.emit(call(GET_CURRENT_COMM));
            }
            Ty::Str(n) => {
                let cap = round8(*n);
                let (src, scap) = self.strp(e)?;
                self.zero(off, cap);
                self.copy(off, src, scap.min(cap));
                if scap > cap || *n < cap {
                    // Keep a NUL inside the declared size.
                    self.emit(st(B, FP, off + *n as i16 - 1, 0));
                }
            }
            Ty::Tuple(ts) => {
                let ExprKind::Tuple(items) = &e.kind else {
                    // A tuple kept on the stack (`$t`, `$kv.0`): copied whole.
                    if let Some((src, t)) = self.stack_tuple(e)? {
                        if t.size() == ty.size() {
                            self.copy(off, src, round8(ty.size()));
                            return Ok(());
                        }
                    }
                    return Err(Diagnostic::new("expected a tuple", e.span, "here"));
                };
                let mut o = off;
                for (t, item) in ts.iter().zip(items) {
                    self.store(t, item, o)?;
                    o += round8(t.size()) as i16;
                }
            }
            Ty::Probe => {
                self.emit(st(DW, FP, off, self.inst as i32));
            }
            Ty::Kstack(limit) | Ty::Ustack(limit) => {
                // bpf_get_stackid(ctx, stack map, flags): the id, negative on failure.
                let pos = match self.stack_limits.iter().position(|l| l == limit) {
                    Some(p) => p,
                    None => {
                        self.stack_limits.push(*limit);
                        self.stack_limits.len() - 1
                    }
                };
                self.emit(mov_reg(1, CTX));
                self.load_map(2, self.ringbuf + 1 + pos);
                let user = matches!(ty, Ty::Ustack(_));
                let flags = if user { BPF_F_USER_STACK } else { 0 };
                self.emit(mov_imm(3, flags));
                self.emit(call(GET_STACKID));
                self.emit(stx(DW, FP, 0, off));
                if user {
                    self.emit(call(GET_CURRENT_PID_TGID));
                    self.emit(alu_imm(RSH, 0, 32));
                    self.emit(stx(DW, FP, 0, off + 8));
                }
            }
            Ty::Inet => {
                // [family][address]: the family given, or from the address's size.
                let ExprKind::Call { args, .. } = &e.kind else {
                    return Err(Diagnostic::new("expected ntop()", e.span, "here"));
                };
                let addr = args.last().expect("sema checks ntop's arguments");
                self.zero(off, 24);
                let at = self.ty(addr)?;
                if args.len() == 2 {
                    let r = self.int(&args[0])?;
                    self.emit(stx(DW, FP, r, off));
                    self.free();
                } else {
                    let v6 = match at {
                        Ty::Array(id) => self.a.types().and_then(|b| b.size_of(id)) == Some(16),
                        Ty::Str(n) => n == 16,
                        _ => false,
                    };
                    self.emit(st(DW, FP, off, if v6 { 10 } else { 2 }));
                }
                match at {
                    Ty::Str(n) => self.read_into(addr, off + 8, n.min(16))?,
                    Ty::Array(id) => {
                        let n = self.a.types().and_then(|b| b.size_of(id)).unwrap_or(4);
                        self.read_into(addr, off + 8, (n as usize).min(16))?;
                    }
                    _ => {
                        let r = self.int(addr)?;
                        self.emit(stx(W, FP, r, off + 8));
                        self.free();
                    }
                }
            }
            Ty::MacAddr => {
                let ExprKind::Call { args, .. } = &e.kind else {
                    return Err(Diagnostic::new("expected macaddr()", e.span, "here"));
                };
                self.zero(off, 8);
                self.read_into(&args[0], off, 6)?;
            }
            Ty::Buf(n) => {
                let ExprKind::Call { args, .. } = &e.kind else {
                    return Err(Diagnostic::new("expected buf()", e.span, "here"));
                };
                let n = *n;
                self.zero(off, 8 + round8(n));
                match args.get(1).map(|a| &a.kind) {
                    None | Some(ExprKind::Int(_)) => {
                        self.emit(st(DW, FP, off, n as i32));
                        self.read_into(&args[0], off + 8, n)?;
                    }
                    Some(_) => {
                        let p = match self.ty(&args[0])? {
                            Ty::Array(_) => self.addr(&args[0])?,
                            _ => self.int(&args[0])?,
                        };
                        let l = self.int(&args[1])?;
                        let ok = self.label();
                        self.jump_imm(JLE, l, n as i32, ok);
                        self.emit(mov_imm(l, n as i32));
                        self.bind(ok);
                        self.emit(stx(DW, FP, l, off));
                        self.frame_ptr(1, off + 8);
                        self.emit(mov_reg(2, l));
                        self.emit(mov_reg(3, p));
                        self.emit(call(self.read_helper(&args[0])));
                        self.free();
                        self.free();
                    }
                }
            }
            Ty::CgroupPath(_) => {
                let ExprKind::Call { args, .. } = &e.kind else {
                    return Err(Diagnostic::new("expected cgroup_path()", e.span, "here"));
                };
                let r = self.int(&args[0])?;
                self.emit(stx(DW, FP, r, off));
                self.free();
            }
            Ty::Timestamp(_) => {
                let ExprKind::Call { args, .. } = &e.kind else {
                    return Err(Diagnostic::new("expected strftime()", e.span, "here"));
                };
                let r = self.int(&args[1])?;
                self.emit(stx(DW, FP, r, off));
                self.free();
            }
            Ty::Ksym | Ty::Usym => {
                // The address; for usym also the process (bpftrace's layout: addr, pid).
                let addr = match &e.kind {
                    ExprKind::Call { name, args } if name == "ksym" || name == "usym" => &args[0],
                    _ => e,
                };
                let r = self.int(addr)?;
                self.emit(stx(DW, FP, r, off));
                self.free();
                if *ty == Ty::Usym {
                    self.emit(call(GET_CURRENT_PID_TGID));
                    self.emit(alu_imm(RSH, 0, 32));
                    self.emit(stx(DW, FP, 0, off + 8));
                }
            }
            _ => {
                // A helper's result is stored straight from r0.
                if let ExprKind::Builtin(b) = &e.kind {
                    let helper = match b.as_str() {
                        "pid" | "tid" => Some(GET_CURRENT_PID_TGID),
                        "uid" | "gid" => Some(GET_CURRENT_UID_GID),
                        "nsecs" => Some(KTIME_GET_NS),
                        "cpu" => Some(GET_SMP_PROCESSOR_ID),
                        "cgroup" => Some(GET_CURRENT_CGROUP_ID),
                        "rand" => Some(GET_PRANDOM_U32),
                        _ => None,
                    };
                    if let Some(h) = helper {
                        self.emit(call(h));
                        match b.as_str() {
                            "pid" | "gid" => self.emit(alu_imm(RSH, 0, 32)),
                            "tid" | "uid" => self.narrow(0, 4, false),
                            _ => {}
                        }
                        self.emit(stx(DW, FP, 0, off));
                        return Ok(());
                    }
                }
                let r = self.int(e)?;
                self.emit(stx(DW, FP, r, off));
                self.free();
            }
        }
        Ok(())
    }

    /// Builds the key of `@map[keys]` on the stack (with room for a bucket if needed).
    fn key(&mut self, info: &MapInfo, keys: &[Expr], span: Span) -> Result<i16, Diagnostic> {
        let size = info.key_size();
        let off = self.alloc(size, span)?;
        if keys.is_empty() {
            // The bucket slot, if any, is written by the aggregation itself.
            let bucket = if info.value.has_bucket() { 8 } else { 0 };
            self.zero(off, size - bucket);
            return Ok(off);
        }
        let mut o = off;
        if let ([one], true) = (keys, info.keys.len() > 1) {
            // One tuple for several keys (`@m[(1, "a")]`, `@m[$t]`): bpftrace 0.23 takes
            // its elements as the keys, laid out as a tuple is.
            self.store(&Ty::Tuple(info.keys.clone()), one, o)?;
            o += info.keys.iter().map(|t| round8(t.size())).sum::<usize>() as i16;
        } else {
            for (t, k) in info.keys.iter().zip(keys) {
                self.store(t, k, o)?;
                o += round8(t.size()) as i16;
            }
        }
        if info.value.has_bucket() {
            self.emit(st(DW, FP, o, 0));
        }
        Ok(off)
    }

    /// r0 = lookup(map, fp+key)
    fn lookup(&mut self, map: usize, key: i16) {
        self.load_map(1, map);
        self.frame_ptr(2, key);
        self.emit(call(MAP_LOOKUP));
    }

    fn update(&mut self, map: usize, key: i16, val: i16) {
        self.load_map(1, map);
        self.frame_ptr(2, key);
        self.frame_ptr(3, val);
        self.emit(mov_imm(4, 0));
        self.emit(call(MAP_UPDATE));
    }

    fn assign_map(
        &mut self,
        map: &Expr,
        op: Option<BinOp>,
        value: &Expr,
    ) -> Result<(), Diagnostic> {
        let ExprKind::Map { name, keys } = &map.kind else {
            return Ok(());
        };
        let info = self.a.maps[name].clone();
        let m = self.map_idx(name);
        let key = self.key(&info, keys, map.span)?;
        if info.value.is_aggregation() {
            let ExprKind::Call { args, .. } = &value.kind else {
                return Err(Diagnostic::new(
                    "expected an aggregation",
                    value.span,
                    "here",
                ));
            };
            return self.aggregate(&info, m, key, args, value.span);
        }
        let vsize = value_size(&info.value) as usize;
        let val = self.alloc(vsize, value.span)?;
        if let Some(op) = op {
            // @m[k] op= v: read (0 if absent), combine, write back.
            let r = self.take(value.span)?;
            self.lookup(m, key);
            self.emit(mov_imm(r, 0));
            self.emit(jmp_imm(JEQ, 0, 0, 1));
            self.emit(ldx(DW, r, 0, 0));
            let v = self.int(value)?;
            self.binop(op, r, v, true);
            self.free();
            self.emit(stx(DW, FP, r, val));
            self.free();
        } else {
            self.store(&info.value, value, val)?;
        }
        self.update(m, key, val);
        Ok(())
    }

    fn aggregate(
        &mut self,
        info: &MapInfo,
        m: usize,
        key: i16,
        args: &[Expr],
        span: Span,
    ) -> Result<(), Diagnostic> {
        let bucket_off = key + (info.key_size() - 8) as i16;
        // The argument, if any, in r6 (kept across the helper calls below).
        let v = match args.first() {
            Some(a) => Some(self.int(a)?),
            None => None,
        };
        match &info.value {
            Ty::Hist => {
                let v = v.expect("hist has an argument");
                let done = self.label();
                self.emit(mov_imm(2, 0));
                self.jump_imm(JSLT, v, 0, done);
                self.emit(mov_imm(2, 1));
                self.jump_imm(JEQ, v, 0, done);
                // bucket = 2 + floor(log2(v)) by binary search, one compare-shift-add per
                // step. Like bpftrace 0.17 it stops at 31 bits: every v >= 2^31 lands in
                // the [2G, 4G) bucket.
                self.emit(mov_reg(1, v));
                self.emit(mov_imm(2, 2));
                for s in [16, 8, 4, 2, 1] {
                    self.emit(jmp_imm(JLT, 1, 1 << s, 2));
                    self.emit(alu_imm(RSH, 1, s));
                    self.emit(alu_imm(ADD, 2, s));
                }
                self.bind(done);
                self.emit(stx(DW, FP, 2, bucket_off));
            }
            Ty::Lhist { min, max, step } => {
                let v = v.expect("lhist has an argument");
                let buckets = (max - min) / step;
                let done = self.label();
                self.emit(mov_imm(2, 0));
                self.jump_const(JSLT, v, *min, done);
                self.imm(2, buckets + 1);
                self.jump_const(JSGE, v, *max, done);
                self.emit(mov_reg(2, v));
                if *min != 0 {
                    self.alu_const(SUB, 2, *min);
                }
                // Non-negative here, so the unsigned division is exact.
                self.alu_const(DIV, 2, *step);
                self.emit(alu_imm(ADD, 2, 1));
                self.bind(done);
                self.emit(stx(DW, FP, 2, bucket_off));
            }
            _ => {}
        }
        let val = self.alloc(16, span)?;
        let found = self.label();
        let end = self.label();
        self.lookup(m, key);
        self.jump_imm(JNE, 0, 0, found);
        // Not there yet: insert the first value.
        match &info.value {
            Ty::Count | Ty::Hist | Ty::Lhist { .. } => self.emit(st(DW, FP, val, 1)),
            Ty::Sum => self.emit(stx(DW, FP, v.expect("sum has an argument"), val)),
            Ty::Min | Ty::Max => {
                // bpftrace 0.17's semantics, quirks included: the stored value (v for max,
                // 0xffffffff - v for min) replaces the old one, 0 when absent, if it is
                // signed-greater or equal; so max() of only negative values stores nothing.
                let v = v.expect("min/max have an argument");
                self.min_max_stored(info.value == Ty::Min, v);
                self.jump_imm(JSLT, 1, 0, end);
                self.emit(stx(DW, FP, 1, val));
            }
            _ => {
                self.emit(st(DW, FP, val, 1));
                self.emit(stx(DW, FP, v.expect("avg/stats have an argument"), val + 8));
            }
        }
        self.update(m, key, val);
        self.jump(end);
        self.bind(found);
        match &info.value {
            // In place, one atomic add: the value is this CPU's slot, so it is uncontended.
            Ty::Count | Ty::Hist | Ty::Lhist { .. } => {
                self.emit(mov_imm(1, 1));
                self.emit(atomic_add(DW, 0, 1, 0));
            }
            Ty::Sum => {
                self.emit(atomic_add(DW, 0, v.expect("sum has an argument"), 0));
            }
            Ty::Min | Ty::Max => {
                let v = v.expect("min/max have an argument");
                self.min_max_stored(info.value == Ty::Min, v);
                self.emit(ldx(DW, 2, 0, 0));
                self.jump_reg(JSLT, 1, 2, end);
                self.emit(stx(DW, 0, 1, 0));
            }
            _ => {
                self.emit(mov_imm(1, 1));
                self.emit(atomic_add(DW, 0, 1, 0));
                self.emit(atomic_add(DW, 0, v.expect("avg/stats have an argument"), 8));
            }
        }
        self.bind(end);
        if v.is_some() {
            self.free();
        }
        Ok(())
    }

    /// An expression evaluated for its effect (a statement).
    fn effect(&mut self, e: &Expr) -> Result<(), Diagnostic> {
        let ExprKind::Call { name, args } = &e.kind else {
            if self.ty(e)?.is_int() {
                self.int(e)?;
                self.free();
            }
            return Ok(());
        };
        match name.as_str() {
            "printf" => self.formatted(e, args, |pieces, args| Action::Printf { pieces, args })?,
            "cat" => self.formatted(e, args, |pieces, args| Action::Cat { pieces, args })?,
            "join" => self.join(e, args)?,
            "exit" => {
                let id = self.add_action(Action::Exit);
                let off = self.alloc(8, e.span)?;
                self.emit(st(DW, FP, off, id));
                self.output(off, 8);
                let l = self.exit_label;
                self.jump(l);
            }
            "time" => {
                let fmt = match args.first().map(|a| &a.kind) {
                    Some(ExprKind::Str(s)) => s.clone(),
                    _ => "%H:%M:%S\n".to_string(),
                };
                let id = self.add_action(Action::Time(fmt));
                let off = self.alloc(8, e.span)?;
                self.emit(st(DW, FP, off, id));
                self.output(off, 8);
            }
            "print" => {
                if let ExprKind::Map { name: m, keys } = &args[0].kind {
                    if keys.is_empty() {
                        let lit = |i: usize| match args.get(i).map(|a| &a.kind) {
                            Some(ExprKind::Int(v)) => *v,
                            Some(ExprKind::Positional(n)) => {
                                crate::lexer::parse_int(self.a.positional(*n)).unwrap_or(0)
                            }
                            _ => 0,
                        };
                        let id = self.add_action(Action::PrintMap {
                            map: self.map_idx(m),
                            top: lit(1).max(0) as usize,
                            div: lit(2).max(0) as u64,
                        });
                        let off = self.alloc(8, e.span)?;
                        self.emit(st(DW, FP, off, id));
                        self.output(off, 8);
                        return Ok(());
                    }
                }
                let t = self.ty(&args[0])?;
                let size = 8 + round8(t.size()).max(8);
                let id = self.add_action(Action::PrintValue(t.stored()));
                let off = self.alloc(size, e.span)?;
                self.emit(st(DW, FP, off, id));
                self.store(&t, &args[0], off + 8)?;
                self.output(off, size);
            }
            "clear" | "zero" => {
                let ExprKind::Map { name: m, .. } = &args[0].kind else {
                    return Ok(());
                };
                let idx = self.map_idx(m);
                let id = self.add_action(if name == "clear" {
                    Action::Clear(idx)
                } else {
                    Action::Zero(idx)
                });
                let off = self.alloc(8, e.span)?;
                self.emit(st(DW, FP, off, id));
                self.output(off, 8);
            }
            "delete" => {
                let ExprKind::Map { name: m, keys } = &args[0].kind else {
                    return Ok(());
                };
                let info = self.a.maps[m].clone();
                if info.value.has_bucket() {
                    return Err(Diagnostic::new(
                        "delete() of a histogram element is not supported yet",
                        args[0].span,
                        "a histogram",
                    )
                    .hint("use clear(@map) to empty the whole map"));
                }
                let key = self.key(&info, keys, args[0].span)?;
                self.load_map(1, self.map_idx(m));
                self.frame_ptr(2, key);
                self.emit(call(MAP_DELETE));
            }
            _ => {
                let t = self.ty(e)?;
                if t.is_int() {
                    self.int(e)?;
                    self.free();
                } else if t.is_str() {
                    self.strp(e)?;
                }
            }
        }
        Ok(())
    }

    /// `join(array [, delim])`: reserves a record in the ring buffer (16 KiB is more than
    /// the stack holds), reads the array's pointers one by one until a NULL, each string
    /// into its slot, and submits it.
    /// `printf` and `cat`: the action `make` builds from the format's pieces and the
    /// arguments' stored types, then a record of its id and each argument, 8-byte aligned.
    fn formatted(
        &mut self,
        e: &Expr,
        args: &[Expr],
        make: impl FnOnce(Vec<Piece>, Vec<Ty>) -> Action,
    ) -> Result<(), Diagnostic> {
        let ExprKind::Str(fmt) = &args[0].kind else {
            return Ok(());
        };
        let pieces = parse_format(fmt).map_err(|m| Diagnostic::new(m, args[0].span, "here"))?;
        let tys: Vec<Ty> = args[1..]
            .iter()
            .map(|a| self.ty(a))
            .collect::<Result<_, _>>()?;
        let size = 8 + tys.iter().map(|t| round8(t.size()).max(8)).sum::<usize>();
        let id = self.add_action(make(pieces, tys.iter().map(Ty::stored).collect()));
        let off = self.alloc(size, e.span)?;
        self.emit(st(DW, FP, off, id));
        let mut o = off + 8;
        for (t, a) in tys.iter().zip(&args[1..]) {
            self.store(t, a, o)?;
            o += round8(t.size()).max(8) as i16;
        }
        self.output(off, size);
        Ok(())
    }

    fn join(&mut self, e: &Expr, args: &[Expr]) -> Result<(), Diagnostic> {
        let delim = match args.get(1).map(|a| &a.kind) {
            Some(ExprKind::Str(d)) => d.clone(),
            _ => " ".to_string(),
        };
        let read = self.read_helper(&args[0]);
        let read_str = if read == PROBE_READ_USER {
            PROBE_READ_USER_STR
        } else {
            PROBE_READ_KERNEL_STR
        };
        let id = self.add_action(Action::Join(delim));
        let size = 16 + JOIN_ARGNUM * JOIN_ARGSIZE;
        let slot = self.alloc(8, e.span)?;
        let base = self.int(&args[0])?;
        let rec = self.take(e.span)?;
        let done = self.label();
        let submit = self.label();
        self.load_map(1, self.ringbuf);
        self.emit(mov_imm(2, size as i32));
        self.emit(mov_imm(3, 0));
        self.emit(call(RINGBUF_RESERVE));
        self.emit(mov_reg(rec, 0));
        self.jump_imm(JEQ, rec, 0, done);
        self.emit(st(DW, rec, 0, id));
        self.emit(st(DW, rec, 8, 0));
        for i in 0..JOIN_ARGNUM {
            let at = (16 + i * JOIN_ARGSIZE) as i16;
            self.emit(st(DW, FP, slot, 0));
            self.frame_ptr(1, slot);
            self.emit(mov_imm(2, 8));
            self.emit(mov_reg(3, base));
            if i > 0 {
                self.emit(alu_imm(ADD, 3, 8 * i as i32));
            }
            self.emit(call(read));
            self.emit(ldx(DW, 3, FP, slot));
            let present = self.label();
            self.jump_imm(JNE, 3, 0, present);
            self.emit(st(B, rec, at, 0));
            self.jump(submit);
            self.bind(present);
            self.emit(mov_reg(1, rec));
            self.emit(alu_imm(ADD, 1, at as i32));
            self.emit(mov_imm(2, JOIN_ARGSIZE as i32));
            self.emit(call(read_str));
        }
        self.bind(submit);
        self.emit(mov_reg(1, rec));
        self.emit(mov_imm(2, 0));
        self.emit(call(RINGBUF_SUBMIT));
        self.bind(done);
        self.free();
        self.free();
        Ok(())
    }

    /// Writes the bytes at the address `e` gives (an array's place, or a pointer's value)
    /// into the stack at `off`: `n` bytes read with the helper for that memory.
    fn read_into(&mut self, e: &Expr, off: i16, n: usize) -> Result<(), Diagnostic> {
        let r = match self.ty(e)? {
            Ty::Array(_) | Ty::Str(_) => self.addr(e)?,
            _ => self.int(e)?,
        };
        self.frame_ptr(1, off);
        self.emit(mov_imm(2, n as i32));
        self.emit(mov_reg(3, r));
        self.emit(call(self.read_helper(e)));
        self.free();
        Ok(())
    }

    /// The conditional jump for a comparison (None: not a comparison).
    fn cmp_jump(op: BinOp, signed: bool) -> Option<u8> {
        Some(match (op, signed) {
            (BinOp::Eq, _) => JEQ,
            (BinOp::Ne, _) => JNE,
            (BinOp::Lt, true) => JSLT,
            (BinOp::Le, true) => JSLE,
            (BinOp::Gt, true) => JSGT,
            (BinOp::Ge, true) => JSGE,
            (BinOp::Lt, false) => JLT,
            (BinOp::Le, false) => JLE,
            (BinOp::Gt, false) => JGT,
            (BinOp::Ge, false) => JGE,
            _ => return None,
        })
    }

    fn negate(op: BinOp) -> BinOp {
        match op {
            BinOp::Eq => BinOp::Ne,
            BinOp::Ne => BinOp::Eq,
            BinOp::Lt => BinOp::Ge,
            BinOp::Ge => BinOp::Lt,
            BinOp::Le => BinOp::Gt,
            BinOp::Gt => BinOp::Le,
            other => other,
        }
    }

    /// Jumps to `l` when `e` is `when` (true or false), falling through otherwise: conditions
    /// compile to one compare-and-branch, with an immediate operand for small constants,
    /// rather than to a 0/1 value tested afterwards.
    fn branch(&mut self, e: &Expr, when: bool, l: usize) -> Result<(), Diagnostic> {
        match &e.kind {
            ExprKind::Binary {
                op: op @ (BinOp::LAnd | BinOp::LOr),
                lhs,
                rhs,
            } => {
                // `a && b` is false if a is; `a || b` is true if a is.
                let short_on = *op == BinOp::LOr;
                if short_on == when {
                    self.branch(lhs, when, l)?;
                    self.branch(rhs, when, l)
                } else {
                    let skip = self.label();
                    self.branch(lhs, !when, skip)?;
                    self.branch(rhs, when, l)?;
                    self.bind(skip);
                    Ok(())
                }
            }
            ExprKind::Unary {
                op: UnOp::Not,
                expr,
            } => self.branch(expr, !when, l),
            ExprKind::Binary { op, lhs, rhs }
                if Self::cmp_jump(*op, false).is_some() && !self.ty(lhs)?.is_str() =>
            {
                let signed = matches!(self.ty(lhs)?, Ty::Int { signed: true, .. })
                    || matches!(self.ty(rhs)?, Ty::Int { signed: true, .. });
                let op = if when { *op } else { Self::negate(*op) };
                let j = Self::cmp_jump(op, signed).unwrap_or(JNE);
                let a = self.int(lhs)?;
                match rhs.kind {
                    ExprKind::Int(c) if c == c as i32 as i64 => self.jump_imm(j, a, c as i32, l),
                    _ => {
                        let b = self.int(rhs)?;
                        self.jump_reg(j, a, b, l);
                        self.free();
                    }
                }
                self.free();
                Ok(())
            }
            _ => {
                let r = self.int(e)?;
                self.jump_imm(if when { JNE } else { JEQ }, r, 0, l);
                self.free();
                Ok(())
            }
        }
    }

    /// dst = dst op src, for integers. `signed` picks signed comparisons.
    fn binop(&mut self, op: BinOp, dst: u8, src: u8, signed: bool) {
        let alu = match op {
            BinOp::Add => Some(ADD),
            BinOp::Sub => Some(SUB),
            BinOp::Mul => Some(MUL),
            BinOp::Div => Some(DIV),
            BinOp::Mod => Some(MOD),
            BinOp::BitAnd => Some(AND),
            BinOp::BitOr => Some(OR),
            BinOp::BitXor => Some(XOR),
            BinOp::Shl => Some(LSH),
            BinOp::Shr => Some(RSH),
            _ => None,
        };
        if let Some(a) = alu {
            self.emit(alu_reg(a, dst, src));
            return;
        }
        let j = match (op, signed) {
            (BinOp::Eq, _) => JEQ,
            (BinOp::Ne, _) => JNE,
            (BinOp::Lt, true) => JSLT,
            (BinOp::Le, true) => JSLE,
            (BinOp::Gt, true) => JSGT,
            (BinOp::Ge, true) => JSGE,
            (BinOp::Lt, false) => JLT,
            (BinOp::Le, false) => JLE,
            (BinOp::Gt, false) => JGT,
            (BinOp::Ge, false) => JGE,
            _ => JNE,
        };
        // dst = (dst j src) ? 1 : 0
        self.emit(jmp_reg(j, dst, src, 2));
        self.emit(mov_imm(dst, 0));
        self.emit(jmp_imm(JA, 0, 0, 1));
        self.emit(mov_imm(dst, 1));
    }

    /// Truncates/sign-extends register r to an integer type's width.
    fn narrow(&mut self, r: u8, size: u8, signed: bool) {
        if size >= 8 {
            return;
        }
        let s = 64 - size as i32 * 8;
        self.emit(alu_imm(LSH, r, s));
        self.emit(alu_imm(if signed { ARSH } else { RSH }, r, s));
    }

    fn helper_into(&mut self, r: u8, helper: i32) {
        self.emit(call(helper));
        self.emit(mov_reg(r, 0));
    }

    /// Evaluates an integer expression into a newly taken temporary; the caller frees it.
    fn int(&mut self, e: &Expr) -> Result<u8, Diagnostic> {
        let pi = &self.a.instances[self.inst];
        match &e.kind {
            ExprKind::Int(v) => {
                let r = self.take(e.span)?;
                self.imm(r, *v);
                Ok(r)
            }
            ExprKind::Positional(n) => {
                let r = self.take(e.span)?;
                let v = crate::lexer::parse_int(self.a.positional(*n)).unwrap_or(0);
                self.imm(r, v);
                Ok(r)
            }
            ExprKind::PositionalCount => {
                let r = self.take(e.span)?;
                self.imm(r, self.a.positional.len() as i64);
                Ok(r)
            }
            ExprKind::Builtin(b) => {
                let r = self.take(e.span)?;
                match b.as_str() {
                    "pid" => {
                        self.helper_into(r, GET_CURRENT_PID_TGID);
                        self.emit(alu_imm(RSH, r, 32));
                    }
                    "tid" => {
                        self.helper_into(r, GET_CURRENT_PID_TGID);
                        self.narrow(r, 4, false);
                    }
                    "uid" => {
                        self.helper_into(r, GET_CURRENT_UID_GID);
                        self.narrow(r, 4, false);
                    }
                    "gid" => {
                        self.helper_into(r, GET_CURRENT_UID_GID);
                        self.emit(alu_imm(RSH, r, 32));
                    }
                    "nsecs" => self.helper_into(r, KTIME_GET_NS),
                    "elapsed" => {
                        self.helper_into(r, KTIME_GET_NS);
                        self.emit2(ld_imm64(1, 0, self.opts.start_ns));
                        self.emit(alu_reg(SUB, r, 1));
                    }
                    "cpu" => self.helper_into(r, GET_SMP_PROCESSOR_ID),
                    "cgroup" => self.helper_into(r, GET_CURRENT_CGROUP_ID),
                    "rand" => self.helper_into(r, GET_PRANDOM_U32),
                    "cpid" => self.imm(r, self.opts.cpid as i64),
                    "curtask" => self.helper_into(r, GET_CURRENT_TASK),
                    "retval" if matches!(pi.kind, ProbeKind::Kfunc { .. }) => {
                        // fexit's context: the arguments, then the return value.
                        let (_, params) = self.a.kfunc_proto(self.inst, e.span)?;
                        let at = 8 * params.len() as i16;
                        let t = self.ty(e)?;
                        self.emit(ldx(DW, r, CTX, at));
                        if let Ty::Int { size, signed } = t {
                            self.narrow(r, size, signed);
                        }
                    }
                    "retval" => self.emit(ldx(DW, r, CTX, PT_REGS_RAX)),
                    a if a.starts_with("arg")
                        && matches!(pi.kind, ProbeKind::RawTracepoint { .. }) =>
                    {
                        // A raw tracepoint's context is its arguments as u64s.
                        let n: i16 = a[3..].parse().unwrap_or(0);
                        self.emit(ldx(DW, r, CTX, 8 * n));
                    }
                    // A trampoline's function: bpf_get_func_ip(ctx).
                    "func" if matches!(pi.kind, ProbeKind::Kfunc { .. }) => {
                        self.emit(mov_reg(1, CTX));
                        self.helper_into(r, GET_FUNC_IP);
                    }
                    // Only reached through a ksym/usym store: the probed instruction.
                    "func" => self.emit(ldx(DW, r, CTX, PT_REGS_IP)),
                    a if a.starts_with("arg") => {
                        let n: usize = a[3..].parse().unwrap_or(0);
                        match PT_REGS_ARGS.get(n) {
                            Some(off) => self.emit(ldx(DW, r, CTX, *off)),
                            None => {
                                // Arguments past the sixth are on the user stack.
                                self.emit(ldx(DW, 3, CTX, 152));
                                self.emit(alu_imm(ADD, 3, 8 * (n as i32 - 5)));
                                let tmp = self.alloc(8, e.span)?;
                                self.frame_ptr(1, tmp);
                                self.emit(mov_imm(2, 8));
                                self.emit(call(PROBE_READ));
                                self.emit(ldx(DW, r, FP, tmp));
                            }
                        }
                    }
                    other if self.a.constants.contains_key(other) => {
                        self.imm(r, self.a.constants[other]);
                    }
                    other => {
                        return Err(Diagnostic::new(
                            format!("`{other}` cannot be used as an integer"),
                            e.span,
                            "here",
                        ))
                    }
                }
                Ok(r)
            }
            ExprKind::Var(v) => {
                let r = self.take(e.span)?;
                self.emit(ldx(DW, r, FP, self.vars[v]));
                Ok(r)
            }
            ExprKind::Map { name, keys } => {
                let info = self.a.maps[name].clone();
                let m = self.map_idx(name);
                let key = self.key(&info, keys, e.span)?;
                let r = self.take(e.span)?;
                self.lookup(m, key);
                self.emit(mov_imm(r, 0));
                self.emit(jmp_imm(JEQ, 0, 0, 1));
                self.emit(ldx(DW, r, 0, 0));
                Ok(r)
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let lt = self.ty(lhs)?;
                if lt.is_str() {
                    let (a, an) = self.strp(lhs)?;
                    let (b, bn) = self.strp(rhs)?;
                    let r = self.take(e.span)?;
                    self.strcmp(r, a, b, an.min(bn), true);
                    if *op == BinOp::Ne {
                        self.emit(alu_imm(XOR, r, 1));
                    }
                    return Ok(r);
                }
                let rt = self.ty(rhs)?;
                let signed = matches!(lt, Ty::Int { signed: true, .. })
                    || matches!(rt, Ty::Int { signed: true, .. });
                match op {
                    BinOp::LAnd | BinOp::LOr => {
                        let r = self.int(lhs)?;
                        let end = self.label();
                        let short = if *op == BinOp::LAnd { JEQ } else { JNE };
                        self.jump_imm(short, r, 0, end);
                        self.free();
                        let r2 = self.int(rhs)?;
                        debug_assert_eq!(r, r2);
                        self.bind(end);
                        // Normalise to 0/1.
                        self.emit(jmp_imm(JEQ, r, 0, 1));
                        self.emit(mov_imm(r, 1));
                        Ok(r)
                    }
                    _ => {
                        let l = self.int(lhs)?;
                        let alu = match op {
                            BinOp::Add => Some(ADD),
                            BinOp::Sub => Some(SUB),
                            BinOp::Mul => Some(MUL),
                            BinOp::BitAnd => Some(AND),
                            BinOp::BitOr => Some(OR),
                            BinOp::BitXor => Some(XOR),
                            BinOp::Shl => Some(LSH),
                            BinOp::Shr => Some(RSH),
                            BinOp::Div => Some(DIV),
                            BinOp::Mod => Some(MOD),
                            _ => None,
                        };
                        // A small constant operand goes in the instruction (never a zero
                        // divisor: the kernel refuses those, and the register form gives
                        // 0 as bpftrace's does).
                        if let (Some(a), ExprKind::Int(c)) = (alu, &rhs.kind) {
                            let divide = matches!(op, BinOp::Div | BinOp::Mod);
                            let shift = matches!(op, BinOp::Shl | BinOp::Shr);
                            if *c == *c as i32 as i64
                                && !(divide && *c <= 0)
                                && (!shift || (0..64).contains(c))
                            {
                                self.emit(alu_imm(a, l, *c as i32));
                                return Ok(l);
                            }
                        }
                        let r = self.int(rhs)?;
                        self.binop(*op, l, r, signed);
                        self.free();
                        Ok(l)
                    }
                }
            }
            ExprKind::Unary {
                op: UnOp::Deref,
                expr,
            } if matches!(self.ty(expr)?, Ty::Ptr(_)) && self.a.btf.is_some() => {
                let t = self.ty(e)?;
                let r = self.int(expr)?;
                self.read_mem(r, &t, 0, 0, e)?;
                Ok(r)
            }
            ExprKind::Unary { op, expr } => {
                let r = self.int(expr)?;
                match op {
                    UnOp::Neg => self.emit(alu_imm(NEG, r, 0)),
                    UnOp::BitNot => self.emit(alu_imm(XOR, r, -1)),
                    UnOp::Not => {
                        self.emit(jmp_imm(JEQ, r, 0, 2));
                        self.emit(mov_imm(r, 0));
                        self.emit(jmp_imm(JA, 0, 0, 1));
                        self.emit(mov_imm(r, 1));
                    }
                    UnOp::Deref => {
                        let tmp = self.alloc(8, e.span)?;
                        self.frame_ptr(1, tmp);
                        self.emit(mov_imm(2, 8));
                        self.emit(mov_reg(3, r));
                        self.emit(call(PROBE_READ));
                        self.emit(ldx(DW, r, FP, tmp));
                    }
                }
                Ok(r)
            }
            ExprKind::Ternary { cond, then, els } => {
                let l_else = self.label();
                let l_end = self.label();
                self.branch(cond, false, l_else)?;
                let r = self.int(then)?;
                self.jump(l_end);
                self.bind(l_else);
                self.free();
                let r2 = self.int(els)?;
                debug_assert_eq!(r, r2);
                self.bind(l_end);
                Ok(r)
            }
            ExprKind::Field { .. } if self.stack_tuple(e)?.is_some() => {
                let (off, t) = self.stack_tuple(e)?.expect("checked by the guard");
                let r = self.take(e.span)?;
                self.emit(ldx(DW, r, FP, off));
                if let Ty::Int { size, signed } = t {
                    self.narrow(r, size, signed);
                }
                Ok(r)
            }
            ExprKind::Call { name, args } if name == "has_key" => {
                // has_key(@m, key): whether a lookup finds the key.
                let ExprKind::Map { name: m, .. } = &args[0].kind else {
                    return Err(Diagnostic::new("expected a map", args[0].span, "here"));
                };
                let info = self.a.maps[m].clone();
                let keys: Vec<Expr> = match &args[1].kind {
                    ExprKind::Tuple(items) if info.keys.len() > 1 => items.clone(),
                    _ => vec![args[1].clone()],
                };
                let idx = self.map_idx(m);
                let key = self.key(&info, &keys, e.span)?;
                self.lookup(idx, key);
                let r = self.take(e.span)?;
                self.imm(r, 1);
                let l = self.label();
                self.jump_imm(JNE, 0, 0, l);
                self.imm(r, 0);
                self.bind(l);
                Ok(r)
            }
            ExprKind::Field {
                expr: base,
                field,
                field_span,
            } if self.ty(base)? != Ty::Args => {
                let bt = self.ty(base)?;
                let (t, place) = self.a.member_of(&bt, field, base.span, *field_span)?;
                let r = self.addr(e)?;
                self.read_mem(r, &t, place.bit_shift, place.bits, e)?;
                Ok(r)
            }
            ExprKind::Field {
                field, field_span, ..
            } if matches!(pi.kind, ProbeKind::Kfunc { .. }) => {
                let (i, t) = self.a.kfunc_arg(self.inst, field, *field_span)?;
                let r = self.take(e.span)?;
                self.emit(ldx(DW, r, CTX, 8 * i as i16));
                if let Ty::Int { size, signed } = t {
                    self.narrow(r, size, signed);
                }
                Ok(r)
            }
            ExprKind::Index { .. } => {
                let t = self.ty(e)?;
                let r = self.addr(e)?;
                self.read_mem(r, &t, 0, 0, e)?;
                Ok(r)
            }
            ExprKind::SizeofType(_) | ExprKind::SizeofExpr(_) | ExprKind::Offsetof { .. } => {
                let v = self.a.const_value(e, self.inst)?.unwrap_or(0);
                let r = self.take(e.span)?;
                self.imm(r, v);
                Ok(r)
            }
            ExprKind::Field { field, .. } => {
                let f = pi
                    .tp_fields
                    .iter()
                    .find(|f| &f.name == field)
                    .cloned()
                    .ok_or_else(|| Diagnostic::new("unknown field", e.span, "here"))?;
                let r = self.take(e.span)?;
                let size = match f.size {
                    1 => B,
                    2 => H,
                    4 => W,
                    _ => DW,
                };
                self.emit(ldx(size, r, CTX, f.offset as i16));
                if f.signed && f.size < 8 {
                    self.narrow(r, f.size as u8, true);
                }
                Ok(r)
            }
            ExprKind::Cast { expr, .. } => {
                let t = self.ty(e)?;
                let r = self.int(expr)?;
                if let Ty::Int { size, signed } = t {
                    self.narrow(r, size, signed);
                }
                Ok(r)
            }
            ExprKind::Call { name, args } if name == "kaddr" => {
                let addr = match &args[0].kind {
                    ExprKind::Str(sym) => self.a.kernel_symbols.get(sym).copied().unwrap_or(0),
                    _ => 0,
                };
                let r = self.take(e.span)?;
                self.emit2(ld_imm64(r, 0, addr));
                Ok(r)
            }
            ExprKind::Call { name, args } if name == "uaddr" => {
                let addr = match (&self.a.instances[self.inst].kind, &args[0].kind) {
                    (ProbeKind::Uprobe { path, .. }, ExprKind::Str(sym)) => self
                        .a
                        .user_symbols
                        .get(&(path.clone(), sym.clone()))
                        .copied()
                        .unwrap_or(0),
                    _ => 0,
                };
                let r = self.take(e.span)?;
                self.emit2(ld_imm64(r, 0, addr));
                Ok(r)
            }
            ExprKind::Call { name, args } if name == "bswap" => {
                let size = match self.ty(&args[0])? {
                    Ty::Int { size, .. } => size,
                    _ => 8,
                };
                let r = self.int(&args[0])?;
                if size > 1 {
                    // BPF_ALU | BPF_END | BPF_TO_BE: a swap on a little-endian machine.
                    self.emit(Insn::new(
                        bpf_insn::insn::class::ALU | END | 0x08,
                        r,
                        0,
                        0,
                        i32::from(size) * 8,
                    ));
                }
                Ok(r)
            }
            ExprKind::Call { name, args } if name == "reg" => {
                let off = match &args[0].kind {
                    ExprKind::Str(n) => crate::sema::pt_regs_offset(n).unwrap_or(0),
                    _ => 0,
                };
                let r = self.take(e.span)?;
                self.emit(ldx(DW, r, CTX, off));
                Ok(r)
            }
            ExprKind::Call { name, args } if name == "strncmp" => {
                let (a, an) = self.strp(&args[0])?;
                let (b, bn) = self.strp(&args[1])?;
                let n = match &args[2].kind {
                    ExprKind::Int(v) => *v as usize,
                    ExprKind::Positional(p) => {
                        crate::lexer::parse_int(self.a.positional(*p)).unwrap_or(0) as usize
                    }
                    _ => 0,
                };
                let r = self.take(e.span)?;
                self.strcmp(r, a, b, n.min(an).min(bn), false);
                // strncmp is 0 when equal.
                self.emit(alu_imm(XOR, r, 1));
                Ok(r)
            }
            _ => Err(Diagnostic::new(
                format!("cannot use this as an integer ({})", self.ty(e)?),
                e.span,
                "here",
            )),
        }
    }

    /// r1 = what min()/max() store for the value in `v`: 0xffffffff - v for min, v for max.
    fn min_max_stored(&mut self, min: bool, v: u8) {
        if min {
            self.emit2(ld_imm64(1, 0, 0xffff_ffff));
            self.emit(alu_reg(SUB, 1, v));
        } else {
            self.emit(mov_reg(1, v));
        }
    }

    /// `if r OP c goto l`, with an immediate when `c` fits one (it is sign-extended).
    fn jump_const(&mut self, op: u8, r: u8, c: i64, l: usize) {
        if c == c as i32 as i64 {
            self.jump_imm(op, r, c as i32, l);
        } else {
            self.emit2(ld_imm64(3, 0, c as u64));
            self.jump_reg(op, r, 3, l);
        }
    }

    /// `r OP= c` (64-bit), with an immediate when `c` fits one; else through r3.
    fn alu_const(&mut self, op: u8, r: u8, c: i64) {
        if c == c as i32 as i64 && (op != DIV || c > 0) {
            self.emit(alu_imm(op, r, c as i32));
        } else {
            self.emit2(ld_imm64(3, 0, c as u64));
            self.emit(alu_reg(op, r, 3));
        }
    }

    fn imm(&mut self, r: u8, v: i64) {
        if v == v as i32 as i64 {
            self.emit(mov_imm(r, v as i32));
        } else {
            self.emit2(ld_imm64(r, 0, v as u64));
        }
    }

    /// r = 1 if the NUL-terminated strings at fp+a and fp+b are equal in their first n bytes.
    fn strcmp(&mut self, r: u8, a: i16, b: i16, n: usize, _full: bool) {
        let ne = self.label();
        let eq = self.label();
        let end = self.label();
        for i in 0..n as i16 {
            self.emit(ldx(B, 1, FP, a + i));
            self.emit(ldx(B, 2, FP, b + i));
            self.jump_reg(JNE, 1, 2, ne);
            self.jump_imm(JEQ, 1, 0, eq);
        }
        self.bind(eq);
        self.emit(mov_imm(r, 1));
        self.jump(end);
        self.bind(ne);
        self.emit(mov_imm(r, 0));
        self.bind(end);
    }

    /// Evaluates a string expression into a stack buffer: (frame offset, capacity).
    fn strp(&mut self, e: &Expr) -> Result<(i16, usize), Diagnostic> {
        let t = match self.a.positional_str_ty(e) {
            Some(t) => t,
            None => self.ty(e)?,
        };
        let Ty::Str(n) = t else {
            return Err(Diagnostic::new(
                format!("expected a string, found {t}"),
                e.span,
                "here",
            ));
        };
        let cap = round8(n);
        match &e.kind {
            ExprKind::Str(s) => {
                let off = self.alloc(cap, e.span)?;
                self.literal(off, s.as_bytes(), cap);
                Ok((off, cap))
            }
            ExprKind::Positional(p) => {
                let s = self.a.positional(*p).to_string();
                let off = self.alloc(cap, e.span)?;
                self.literal(off, s.as_bytes(), cap);
                Ok((off, cap))
            }
            ExprKind::Builtin(b) if b == "comm" => {
                let off = self.alloc(cap, e.span)?;
                // bpf_get_current_comm pads with NULs (strscpy_pad) up to its size.
                if cap > 16 {
                    self.zero(off, cap);
                }
                self.frame_ptr(1, off);
                self.emit(mov_imm(2, 16));
                self.emit(call(GET_CURRENT_COMM));
                Ok((off, cap))
            }
            ExprKind::Builtin(_) => {
                // `func`: the probe's function name, known at compile time.
                let name = match &self.a.instances[self.inst].kind {
                    ProbeKind::Uprobe { symbol, .. } => symbol.clone(),
                    // A module's function (`MODULE:FUNC`) is named without its module.
                    ProbeKind::Kprobe { function, .. } | ProbeKind::Kfunc { function, .. } => {
                        function.rsplit(':').next().unwrap_or("").to_string()
                    }
                    _ => String::new(),
                };
                let off = self.alloc(cap, e.span)?;
                self.literal(off, name.as_bytes(), cap);
                Ok((off, cap))
            }
            ExprKind::Var(v) => Ok((self.vars[v], cap)),
            ExprKind::Field { .. } if self.stack_tuple(e)?.is_some() => {
                let (off, _) = self.stack_tuple(e)?.expect("checked by the guard");
                Ok((off, cap))
            }
            ExprKind::Map { name, keys } => {
                let info = self.a.maps[name].clone();
                let m = self.map_idx(name);
                let key = self.key(&info, keys, e.span)?;
                let off = self.alloc(cap, e.span)?;
                self.zero(off, cap);
                self.lookup(m, key);
                let end = self.label();
                self.jump_imm(JEQ, 0, 0, end);
                for i in (0..cap).step_by(8) {
                    self.emit(ldx(DW, 1, 0, i as i16));
                    self.emit(stx(DW, FP, 1, off + i as i16));
                }
                self.bind(end);
                Ok((off, cap))
            }
            ExprKind::Field { expr: base, .. } | ExprKind::Index { expr: base, .. }
                if self.ty(base)? != Ty::Args =>
            {
                // A char array in kernel memory, read whole (as bpftrace does).
                let off = self.alloc(cap, e.span)?;
                self.zero(off, cap);
                let r = self.addr(e)?;
                self.frame_ptr(1, off);
                self.emit(mov_imm(2, n as i32));
                self.emit(mov_reg(3, r));
                self.emit(call(self.read_helper(e)));
                self.free();
                Ok((off, cap))
            }
            ExprKind::Field { field, .. } => {
                let f = self.a.instances[self.inst]
                    .tp_fields
                    .iter()
                    .find(|f| &f.name == field)
                    .cloned()
                    .ok_or_else(|| Diagnostic::new("unknown field", e.span, "here"))?;
                let off = self.alloc(cap, e.span)?;
                self.zero(off, cap);
                match f.kind {
                    TpFieldKind::DataLocStr => {
                        self.emit(ldx(W, 3, CTX, f.offset as i16));
                        self.emit(alu_imm(AND, 3, 0xffff));
                        self.emit(alu_reg(ADD, 3, CTX));
                    }
                    _ => {
                        self.emit(mov_reg(3, CTX));
                        self.emit(alu_imm(ADD, 3, f.offset as i32));
                    }
                }
                self.frame_ptr(1, off);
                self.emit(mov_imm(2, n as i32));
                self.emit(call(PROBE_READ_STR));
                Ok((off, cap))
            }
            ExprKind::Call { name, args } if name == "path" => {
                // bpf_d_path(path, buf, size): the pointer straight from the arguments,
                // which the verifier knows as a `struct path *`.
                let off = self.alloc(cap, e.span)?;
                self.zero(off, cap);
                let r = self.int(&args[0])?;
                self.emit(mov_reg(1, r));
                self.frame_ptr(2, off);
                self.emit(mov_imm(3, n as i32));
                self.emit(call(D_PATH));
                self.free();
                Ok((off, cap))
            }
            ExprKind::Call { name, args } if name == "str" => {
                let at = match self.a.positional_str_ty(&args[0]) {
                    Some(t) => t,
                    None => self.ty(&args[0])?,
                };
                if at.is_str() {
                    let (src, scap) = self.strp(&args[0])?;
                    let off = self.alloc(cap, e.span)?;
                    self.zero(off, cap);
                    self.copy(off, src, scap.min(cap));
                    self.emit(st(B, FP, off + n as i16 - 1, 0));
                    return Ok((off, cap));
                }
                let off = self.alloc(cap, e.span)?;
                self.zero(off, cap);
                let r = self.int(&args[0])?;
                self.frame_ptr(1, off);
                self.emit(mov_imm(2, n as i32));
                self.emit(mov_reg(3, r));
                self.emit(call(PROBE_READ_STR));
                self.free();
                Ok((off, cap))
            }
            ExprKind::Ternary { cond, then, els } => {
                let off = self.alloc(cap, e.span)?;
                self.zero(off, cap);
                let l_else = self.label();
                let l_end = self.label();
                let c = self.int(cond)?;
                self.jump_imm(JEQ, c, 0, l_else);
                self.free();
                let (a, an) = self.strp(then)?;
                self.copy(off, a, an.min(cap));
                self.jump(l_end);
                self.bind(l_else);
                let (b, bn) = self.strp(els)?;
                self.copy(off, b, bn.min(cap));
                self.bind(l_end);
                Ok((off, cap))
            }
            _ => Err(Diagnostic::new(
                "this string expression is not supported yet",
                e.span,
                "here",
            )),
        }
    }

    /// Where an element of a tuple kept on the stack (`$t.0`, `$kv.0.1`) lives: its frame
    /// offset and type; None when `e` is no such element.
    fn stack_tuple(&self, e: &Expr) -> Result<Option<(i16, Ty)>, Diagnostic> {
        match &e.kind {
            ExprKind::Var(v) => Ok(match self.a.instances[self.inst].vars.get(v) {
                Some(t @ Ty::Tuple(_)) => self.vars.get(v).map(|off| (*off, t.clone())),
                _ => None,
            }),
            ExprKind::Field {
                expr,
                field,
                field_span,
            } => {
                let Some((off, Ty::Tuple(items))) = self.stack_tuple(expr)? else {
                    return Ok(None);
                };
                let (t, at) = crate::sema::tuple_item(&items, field, *field_span)?;
                Ok(Some((off + at as i16, t)))
            }
            _ => Ok(None),
        }
    }

    /// The helper that reads the memory `e` names: bpf_probe_read_user when the pointer it
    /// goes through came from a syscall's arguments (a tracepoint of the `syscalls`
    /// category: user memory, as bpftrace marks it), bpf_probe_read_kernel otherwise.
    fn read_helper(&self, e: &Expr) -> i32 {
        if self.user_memory(e) {
            PROBE_READ_USER
        } else {
            PROBE_READ_KERNEL
        }
    }

    fn user_memory(&self, e: &Expr) -> bool {
        match &e.kind {
            ExprKind::Builtin(b) if b == "args" => matches!(
                &self.a.instances[self.inst].kind,
                ProbeKind::Tracepoint { category, .. } if category == "syscalls"
            ),
            ExprKind::Field { expr, .. }
            | ExprKind::Index { expr, .. }
            | ExprKind::Cast { expr, .. }
            | ExprKind::Unary { expr, .. } => self.user_memory(expr),
            _ => false,
        }
    }

    /// The kernel address of a place read through BTF types (a member, an element, a
    /// dereferenced pointer), in a newly taken temporary.
    fn addr(&mut self, e: &Expr) -> Result<u8, Diagnostic> {
        match &e.kind {
            ExprKind::Field {
                expr,
                field,
                field_span,
            } => {
                let bt = self.ty(expr)?;
                let (_, place) = self.a.member_of(&bt, field, expr.span, *field_span)?;
                let r = self.base_addr(expr, &bt)?;
                if place.offset != 0 {
                    self.emit(alu_imm(ADD, r, place.offset as i32));
                }
                Ok(r)
            }
            ExprKind::Index { expr, index } => {
                let bt = self.ty(expr)?;
                let (_, size) = self.a.element_of(&bt, expr.span)?;
                let r = self.base_addr(expr, &bt)?;
                match index.kind {
                    ExprKind::Int(i) => {
                        let off = i.wrapping_mul(size as i64);
                        if off != 0 {
                            self.alu_const(ADD, r, off);
                        }
                    }
                    _ => {
                        let x = self.int(index)?;
                        self.alu_const(MUL, x, size as i64);
                        self.emit(alu_reg(ADD, r, x));
                        self.free();
                    }
                }
                Ok(r)
            }
            ExprKind::Unary {
                op: UnOp::Deref,
                expr,
            } => self.int(expr),
            _ => Err(Diagnostic::new(
                "this expression has no address in kernel memory",
                e.span,
                "here",
            )),
        }
    }

    /// The address a member or element of `base` is read from: the pointer's value, or
    /// the address of the struct or array `base` is.
    fn base_addr(&mut self, base: &Expr, bt: &Ty) -> Result<u8, Diagnostic> {
        match bt {
            Ty::Ptr(_) => self.int(base),
            _ => self.addr(base),
        }
    }

    /// r = the value of type `t` at the kernel address in r (bpf_probe_read_kernel through
    /// a stack slot); for a bitfield, its `bits` bits from `shift`.
    fn read_mem(
        &mut self,
        r: u8,
        t: &Ty,
        shift: u32,
        bits: u32,
        e: &Expr,
    ) -> Result<(), Diagnostic> {
        let span = e.span;
        let helper = self.read_helper(e);
        let (size, signed) = match t {
            Ty::Int { size, signed } => (*size as u32, *signed),
            Ty::Ptr(_) => (8, false),
            other => {
                return Err(Diagnostic::new(
                    format!("cannot use {} as an integer", self.a.describe(other)),
                    span,
                    "read a member of it, or print a string member",
                ))
            }
        };
        let bytes = if bits > 0 {
            match (shift + bits).div_ceil(8) {
                0..=1 => 1,
                2 => 2,
                3..=4 => 4,
                _ => 8,
            }
        } else {
            size
        };
        let tmp = self.alloc(8, span)?;
        self.frame_ptr(1, tmp);
        self.emit(mov_imm(2, bytes as i32));
        self.emit(mov_reg(3, r));
        self.emit(call(helper));
        let code = match bytes {
            1 => B,
            2 => H,
            4 => W,
            _ => DW,
        };
        self.emit(ldx(code, r, FP, tmp));
        if bits > 0 {
            let left = 64 - (shift + bits) as i32;
            if left > 0 {
                self.emit(alu_imm(LSH, r, left));
            }
            let right = 64 - bits as i32;
            if right > 0 {
                self.emit(alu_imm(if signed { ARSH } else { RSH }, r, right));
            }
        } else if signed && size < 8 {
            self.narrow(r, size as u8, true);
        }
        Ok(())
    }

    fn literal(&mut self, off: i16, bytes: &[u8], cap: usize) {
        let mut padded = bytes.to_vec();
        padded.resize(cap, 0);
        for (i, chunk) in padded.chunks(8).enumerate() {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            let v = u64::from_le_bytes(w);
            let at = off + (i * 8) as i16;
            if v == 0 {
                self.emit(st(DW, FP, at, 0));
            } else {
                self.emit2(ld_imm64(1, 0, v));
                self.emit(stx(DW, FP, 1, at));
            }
        }
    }
}
