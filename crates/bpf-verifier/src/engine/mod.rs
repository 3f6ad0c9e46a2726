//! The exploration engine: CFG check, then a depth-first walk over paths with abstract
//! register/stack states, pruning states subsumed by fully explored ones.
//!
//! This module owns the walk ([`verify`]) and the dispatch of one instruction (`step`);
//! each kind of instruction is judged in its own module:
//! - `state`: registers, pointer kinds, stack slots and frames, their printing, and the
//!   subsumption test that prunes explored states;
//! - `cfg`: the control-flow graph check before the walk, and the prune points;
//! - `ldst`: load and store instructions, `lddw` and the legacy packet loads;
//! - `memory`: every memory access through a pointer (stack, map value, packet,
//!   ring-buffer record); `context`: the context layouts and their fields;
//! - `arith`: scalar ALU operations and pointer arithmetic;
//! - `branch`: conditional jumps, range refinement on each side, NULL and packet checks;
//! - `call`: BPF-to-BPF calls, helper calls (arguments, results) and `exit`.
//!
//! The submodules share the parent's names (`use super::*`) and add theirs to it; none of
//! them is visible outside the engine.

use std::collections::HashMap;

use bpf_insn::insn::{
    alu, atomic, class, is_valid, jmp, lddw_value, mem, pseudo, size_bytes, Insn,
};

use crate::helpers::{self, ptype, Arg, Ret};
use crate::kernel::Kernel;
use crate::scalar::Scalar;
use crate::{Class, Rejection};

mod arith;
mod branch;
mod btfptr;
mod call;
mod cfg;
mod context;
mod dynptr;
mod explain;
mod fastcall;
mod global;
mod kfunc;
mod ldabs;
mod ldst;
mod maps;
mod memory;
mod progtypes;
mod sock;
mod state;

use arith::*;
use branch::*;
use call::*;
use cfg::*;
use context::*;
pub use global::{global_funcs, GlobalArg, GlobalFunc};
pub use ldabs::int_return_funcs;
use ldabs::{check_subprog_ld_abs, subprog_load};
use ldst::*;
use progtypes::*;
use state::*;

pub use progtypes::{Attach, AttachArg, AttachKind, LSM, TRACING};

/// A map as the verifier needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapInfo {
    pub name: String,
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    /// Contents of a read-only (frozen) array map such as `.rodata`: loads from it at a
    /// constant offset give constants, as the kernel does for `BPF_F_RDONLY_PROG` maps.
    pub frozen: Option<Vec<u8>>,
    /// `map_flags`: `BPF_F_RDONLY_PROG` (0x80) and `BPF_F_WRONLY_PROG` (0x100) forbid the
    /// program's writes and reads of values.
    pub flags: u32,
    /// The offset of the value's `struct bpf_spin_lock`, if it has one (from the value's
    /// BTF type; see `maps`).
    pub spin_lock: Option<u32>,
    /// A map of maps: its inner map (from the BTF definition's `values`).
    pub inner: Option<Box<MapInfo>>,
    /// The value's special fields (`bpf_timer`, `__kptr`, ...: see
    /// `bpf_insn::object::MapDef::btf_fields`), which no load or store may touch here.
    pub btf_fields: Vec<(u32, u32, String)>,
}

impl From<&bpf_insn::object::MapDef> for MapInfo {
    /// A map of an object as a loader creates it: read-only global data (`.rodata*`) is
    /// frozen with the section's bytes, as libbpf does before loading the programs.
    fn from(m: &bpf_insn::object::MapDef) -> MapInfo {
        MapInfo {
            name: m.name.clone(),
            map_type: m.map_type,
            key_size: m.key_size,
            value_size: m.value_size,
            max_entries: m.max_entries,
            frozen: if m.readonly { m.data.clone() } else { None },
            flags: m.flags,
            spin_lock: m.spin_lock,
            inner: m.inner.as_deref().map(|i| Box::new(MapInfo::from(i))),
            btf_fields: m.btf_fields.clone(),
        }
    }
}

impl MapInfo {
    /// The same map seen before it is frozen (a loader that does not freeze `.rodata`,
    /// such as a plain `bpftool prog load` of the object): its contents are not constants.
    pub fn unfrozen(self) -> MapInfo {
        MapInfo {
            frozen: None,
            ..self
        }
    }
}

/// The verifier's view of an object's maps, in the object's order (the order `lddw`
/// map indexes refer to).
pub fn map_infos(maps: &[bpf_insn::object::MapDef]) -> Vec<MapInfo> {
    maps.iter().map(MapInfo::from).collect()
}

pub struct Input<'a> {
    pub insns: &'a [Insn],
    pub prog_type: u32,
    /// Maps referenced by `lddw` with `MAP_IDX`/`MAP_IDX_VALUE` (index) or `MAP_FD` (index).
    pub maps: &'a [MapInfo],
}

#[derive(Debug, Clone)]
pub struct Options {
    pub complexity_limit: u64,
    /// `BPF_F_STRICT_ALIGNMENT`: every access aligned to its size (packet accesses with
    /// the kernel's NET_IP_ALIGN of 2), as on machines without efficient unaligned access.
    pub strict_alignment: bool,
    /// The program's ELF section (libbpf's `SEC()` name), which gives a cgroup program its
    /// hook (the kernel's expected attach type): `cgroup/recvmsg4` programs must return 1,
    /// `cgroup/bind4` ones 0 to 3. Without it, the strictest range of the type applies.
    pub section: Option<String>,
    /// The kernel whose verifier is modelled (helpers, instructions, nullness rules).
    pub kernel: Kernel,
    /// The program is loaded with BTF function info (`.BTF.ext` of a clang object), which
    /// the kernel requires before a callback (`lddw rX, func`) may be taken.
    pub func_info: bool,
    /// The attach target of a BTF-typed program (fentry/fexit/fmod_ret/tp_btf, LSM), from
    /// the kernel's BTF ([`Attach::from_btf`]); without it those types are refused.
    pub attach: Option<Attach>,
    /// Why [`Attach::from_btf`] found no target (reported as the rejection).
    pub attach_error: Option<String>,
    /// The first instructions of the subprograms whose BTF prototype returns a small int
    /// or an enum (`check_btf_func`'s `scalar_return`): only they may use
    /// `BPF_LD_[ABS|IND]` (see [`int_return_funcs`]).
    pub int_return_funcs: Vec<usize>,
    /// The subprograms whose BTF linkage is global, with their prototypes (see
    /// [`global_funcs`]): each is verified on its own, and calls are checked against its
    /// prototype. The others are static, as every subprogram without BTF
    /// ([`Options::func_info`] false) is. `None` with BTF: linkage unknown; every
    /// subprogram is verified inline, and must set R0 as a global one must.
    pub global_funcs: Option<Vec<GlobalFunc>>,
    /// The target kernel's BTF, which names the functions kfunc calls (`call` with pseudo
    /// source KFUNC) refer to by BTF id; without it every kfunc call is refused.
    pub kfunc_btf: Option<std::sync::Arc<btf::Btf>>,
    /// The program's license is GPL-compatible: only such programs may call kfuncs.
    pub gpl: bool,
}

impl Options {
    /// The options of `kernel`'s verifier (its complexity limit).
    pub fn for_kernel(kernel: Kernel) -> Options {
        Options {
            complexity_limit: kernel.complexity_limit(),
            strict_alignment: false,
            section: None,
            kernel,
            func_info: false,
            attach: None,
            attach_error: None,
            int_return_funcs: Vec::new(),
            global_funcs: None,
            kfunc_btf: None,
            gpl: false,
        }
    }
}

impl Options {
    /// These options for program `prog` of an object with BTF `btf`, loaded as type `prog_type`: its
    /// section (a cgroup program's hook) and what its BTF function info says (callbacks,
    /// `LD_ABS` in subprograms, global functions and their prototypes).
    pub fn for_program(
        &self,
        btf: Option<&btf::Btf>,
        prog: &bpf_insn::object::Program,
        prog_type: u32,
    ) -> Options {
        Options {
            section: Some(prog.section.clone()),
            func_info: !prog.func_info.is_empty(),
            int_return_funcs: int_return_funcs(btf, prog),
            global_funcs: Some(global_funcs(btf, prog, prog_type, &self.kernel)),
            ..self.clone()
        }
    }
}

impl Default for Options {
    /// The newest kernel modelled ([`Kernel::LATEST`]).
    fn default() -> Self {
        Options::for_kernel(Kernel::LATEST)
    }
}

/// Statistics of an accepted program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub insns_processed: u64,
    pub states_stored: usize,
    pub max_stack_depth: usize,
}

struct Ctx<'a> {
    input: &'a Input<'a>,
    kernel: Kernel,
    next_id: u32,
    /// Subprogram starts (sorted).
    funcs: Vec<usize>,
    /// Max stack depth per function start.
    func_depth: HashMap<usize, usize>,
    /// Helper memory arguments are range checks, not loads: no alignment rule.
    helper_access: bool,
    strict_alignment: bool,
    section: Option<&'a str>,
    func_info: bool,
    attach: Option<Attach>,
    /// The global subprograms, when linkage is known (all others are static; see
    /// [`Options::global_funcs`]).
    global_funcs: Option<&'a [GlobalFunc]>,
    /// Global functions called so far (verified on their own after the main program).
    called_globals: std::collections::BTreeSet<usize>,
    /// The kfunc each call instruction calls (see `kfunc`), by instruction.
    kfuncs: HashMap<usize, kfunc::Kfunc>,
    /// Per map of the program: the index of its inner map in the walk's map table
    /// (`maps::with_inner`), empty when no map has one.
    inner: Vec<Option<u32>>,
    /// bpf_fastcall patterns by function (see `fastcall`).
    fastcall: HashMap<usize, fastcall::Region>,
    /// The target kernel's BTF, for BTF-typed pointers (see `btfptr`).
    btf: Option<&'a btf::Btf>,
    /// [`Options::gpl`]: kernel structs are readable by GPL-compatible programs only.
    gpl: bool,
}

type Res<T> = Result<T, Rejection>;

fn rej<T>(
    pc: usize,
    class: Class,
    msg: impl Into<String>,
    hint: Option<String>,
    st: &State,
    maps: &[MapInfo],
) -> Res<T> {
    Err(Rejection {
        pc,
        class,
        msg: msg.into(),
        hint,
        regs: fmt_regs(st, maps),
        explain: None,
    })
}

struct Node {
    parent: Option<usize>,
    branches: u32,
}

/// Verify a program. `Ok` carries statistics; `Err` the first problem found.
pub fn verify(input: &Input<'_>, opts: &Options) -> Result<Verdict, Rejection> {
    verify_with_btf(input, opts, None)
}

/// As [`verify`], with the target kernel's BTF: pointers to kernel types (PTR_TO_BTF_ID:
/// BTF-typed context arguments, `bpf_get_current_task_btf`, map pointer fields) are
/// followed through it; without it they are refused as outside the model.
pub fn verify_with_btf(
    input: &Input<'_>,
    opts: &Options,
    btf: Option<&btf::Btf>,
) -> Result<Verdict, Rejection> {
    // The kernel's BTF given for kfuncs serves BTF pointers too.
    let btf = btf.or(opts.kfunc_btf.as_deref());
    maps::check_prog_maps(input)?;
    // Maps of maps: their inner maps join the map table (see `maps`).
    let with_inner = maps::with_inner(input.maps);
    let ext;
    let (input, inner) = match &with_inner {
        Some((all, inner)) => {
            ext = Input {
                insns: input.insns,
                prog_type: input.prog_type,
                maps: all,
            };
            (&ext, inner.clone())
        }
        None => (input, Vec::new()),
    };
    let insns = input.insns;
    let funcs = check_cfg(insns, &opts.kernel)?;
    let pt = input.prog_type;
    // Program types newer than the target kernel do not exist there (BPF_PROG_LOAD:
    // EINVAL before any verification).
    let since = match pt {
        ptype::CGROUP_SYSCTL => (5, 2),
        TRACING => (5, 5),
        LSM => (5, 7),
        31 => (5, 14), // syscall
        32 => (6, 4),  // netfilter
        t => net_type_since(t).unwrap_or((0, 0)),
    };
    if !opts.kernel.at_least(since) {
        return Err(Rejection {
            pc: 0,
            class: Class::Cfg,
            msg: format!(
                "program type {pt} does not exist in {} (it arrived in {}.{})",
                opts.kernel, since.0, since.1
            ),
            hint: None,
            regs: String::new(),
            explain: None,
        });
    }
    if let Some(r) = attach_problem(pt, opts).or_else(|| sleepable_map_problem(input, opts)) {
        return Err(r);
    }
    if ctx_size(pt).is_none() && btf_ctx_size(pt, opts.attach.as_ref()).is_none() {
        return Err(Rejection {
            pc: 0,
            class: Class::Unsupported,
            msg: format!("program type {pt} is not modelled by this verifier"),
            hint: Some("supported: socket_filter, kprobe, sched_cls, sched_act, tracepoint, xdp, perf_event, cgroup_skb, cgroup_sock (sock_create), cgroup_sock_addr, cgroup_device, cgroup_sysctl, sk_msg, lwt_in, lwt_out, lwt_xmit, raw_tracepoint, raw_tracepoint_writable, sock_ops, sk_reuseport, flow_dissector, sk_lookup, netfilter, syscall, fentry/fexit/fmod_ret/tp_btf/iter and lsm (with the kernel's BTF)".into()),
            regs: String::new(),
            explain: None,
        });
    }
    check_subprog_ld_abs(insns, &funcs, opts)?;
    let mut prune = prune_points(insns);
    let kfuncs = kfunc::resolve(insns, opts.kfunc_btf.as_ref());
    kfunc::check_calls(insns, &kfuncs, opts)?;
    // An iterator's `next` call is a checkpoint (the kernel's mark_force_checkpoint for
    // is_iter_next_insn).
    for (pc, k) in &kfuncs {
        if k.is_iter_next() {
            prune[*pc] = true;
        }
    }
    let mut cx = Ctx {
        input,
        kernel: opts.kernel,
        next_id: 1,
        funcs: funcs.clone(),
        func_depth: HashMap::new(),
        helper_access: false,
        strict_alignment: opts.strict_alignment,
        section: opts.section.as_deref(),
        func_info: opts.func_info,
        attach: opts.attach.clone(),
        global_funcs: match (&opts.global_funcs, opts.func_info) {
            (_, false) => Some(&[]),
            (Some(g), true) => Some(g),
            (None, true) => None,
        },
        inner,
        fastcall: fastcall::patterns(insns, &funcs, &opts.kernel),
        called_globals: Default::default(),
        kfuncs,
        btf,
        gpl: opts.gpl,
    };
    let mut init = State {
        frames: vec![Frame {
            regs: [Reg::Uninit; 11],
            stack: Stack::new(),
            callsite: usize::MAX,
            func: 0,
            callback: None,
            cb_depth: 0,
        }],
        may_goto_depth: 0,
        refs: sock::Refs::default(),
        lock: maps::Lock::default(),
    };
    init.frames[0].regs[1] = Reg::Ptr(Ptr {
        kind: Kind::Ctx,
        off: 0,
        var: Scalar::konst(0),
        id: 0,
        nullable: false,
        range: 0,
    });
    init.frames[0].regs[10] = fp(0);
    let (mut processed, mut stored) = (0u64, 0usize);
    // Kernels before 6.8 verify every global function first, called or not; later ones
    // the main program first, then each global function it (transitively) calls.
    let lazy = opts.kernel.at_least((6, 8));
    if !lazy {
        cx.called_globals = cx
            .global_funcs
            .unwrap_or(&[])
            .iter()
            .map(|g| g.start)
            .collect();
        verify_globals(&mut cx, opts, &prune, &mut processed, &mut stored)?;
    }
    walk(&mut cx, opts, &prune, 0, init, &mut processed, &mut stored)?;
    if lazy {
        verify_globals(&mut cx, opts, &prune, &mut processed, &mut stored)?;
    }
    global::check_max_stack_depth(&cx)?;
    // Combined stack depth of call chains.
    let max_depth = cx.func_depth.values().copied().max().unwrap_or(0);
    Ok(Verdict {
        insns_processed: processed,
        states_stored: stored,
        max_stack_depth: max_depth,
    })
}

/// Explore every path from `start` in state `init` (one `do_check`), counting into
/// `processed` (shared by all the walks of a program, as the kernel's `insn_processed`)
/// and `stored`.
fn walk(
    cx: &mut Ctx<'_>,
    opts: &Options,
    prune: &[bool],
    start: usize,
    init: State,
    processed: &mut u64,
    stored: &mut usize,
) -> Res<()> {
    let insns = cx.input.insns;
    let maps = cx.input.maps;
    let mut nodes: Vec<Node> = Vec::new();
    #[allow(clippy::type_complexity)]
    let mut visited: HashMap<usize, Vec<(State, usize, u32, u32)>> = HashMap::new();
    // Work list: (pc, state, last checkpoint node).
    let mut work: Vec<(usize, State, Option<usize>, explain::Trail)> =
        vec![(start, init, None, explain::Trail::default())];
    // Jumps processed, and both counters when the last state was stored (the kernel's rule
    // for how often a new state is worth keeping).
    let mut jumps: u64 = 0;
    let (mut last_insns, mut last_jumps) = (0u64, 0u64);
    let finish = |nodes: &mut Vec<Node>, mut n: Option<usize>| {
        while let Some(i) = n {
            nodes[i].branches -= 1;
            if nodes[i].branches > 0 {
                break;
            }
            n = nodes[i].parent;
        }
    };
    'paths: while let Some((mut pc, mut st, mut node, mut trail)) = work.pop() {
        loop {
            *processed += 1;
            if *processed > opts.complexity_limit {
                return rej(
                    pc,
                    Class::Loop,
                    format!("BPF program is too large: processed {} insns (limit {})", *processed, opts.complexity_limit),
                    Some("a loop whose bound the verifier cannot prove runs until this limit; bound the loop counter with a constant".into()),
                    &st,
                    maps,
                );
            }
            if prune[pc] {
                // A helper that calls back is a loop head whose iterations the helper
                // bounds: a state covered by one still being explored there is done (the
                // kernel's `calls_callback` rule), and scalars that change from one
                // iteration to the next are widened so that the iterations converge.
                let may_goto = insns[pc].is_may_goto();
                // An iterator's `next` with the iterator active is one too (the kernel's
                // is_iter_next_insn rule in is_state_visited).
                let iter_depth = kfunc::active_iter_depth(cx, pc, &st);
                let loop_head = calls_back(&insns[pc]) || iter_depth.is_some();
                let list = visited.entry(pc).or_default();
                // The first iterations are followed exactly (a loop of a few calls keeps
                // its counters), later ones widened.
                // An iterator's iterations are widened from the first one on, as the
                // kernel's process_iter_next_call widens its imprecise scalars.
                if loop_head && st.cur().cb_depth >= 16 || iter_depth.is_some_and(|d| d >= 1) {
                    if let Some((old, ..)) = list
                        .iter()
                        .rev()
                        .find(|(old, n, ..)| nodes[*n].branches > 0 && !state_covered(old, &st))
                    {
                        widen(old, &mut st);
                    }
                }
                // may_goto: another iteration of a state being explored there is done (the
                // kernel's rule: same state, different may_goto depth); its changing
                // scalars are widened first.
                if may_goto {
                    if let Some((old, ..)) = list.iter().rev().find(|(old, n, ..)| {
                        nodes[*n].branches > 0
                            && old.may_goto_depth < st.may_goto_depth
                            && !state_covered(old, &st)
                    }) {
                        widen(old, &mut st);
                    }
                }
                let mut pruned = false;
                for (old, n, hits, misses) in list.iter_mut() {
                    if state_covered(old, &st) {
                        if nodes[*n].branches == 0
                            || loop_head
                            || may_goto && old.may_goto_depth != st.may_goto_depth
                        {
                            *hits += 1;
                            pruned = true;
                            break;
                        }
                        // Still being explored (a loop back to it): a miss, as for the kernel,
                        // so a loop that only shrinks a range does not keep every state it
                        // passes through.
                        *misses += 1;
                        // Not at an iterator's `next` (skip_inf_loop_check): its depth
                        // tells the iterations apart.
                        if same_state(old, &st)
                            && !cx.kfuncs.get(&pc).is_some_and(|k| k.is_iter_next())
                        {
                            let mut r = rej::<()>(
                                pc,
                                Class::Loop,
                                format!("infinite loop detected at insn {pc}"),
                                Some("the loop reaches this instruction again in exactly the same state: nothing changes between iterations".into()),
                                &st,
                                maps,
                            )
                            .unwrap_err();
                            explain::explain(insns, &trail, &mut r);
                            return Err(r);
                        }
                    } else {
                        *misses += 1;
                    }
                }
                if pruned {
                    finish(&mut nodes, node);
                    continue 'paths;
                }
                // Like the kernel, forget states that keep failing to match: they cost a
                // comparison on every visit and only help pruning.
                list.retain(|(_, _, h, m)| *m <= *h * 3 + 3);
                // Bound the states kept per instruction (fewer stored states only means less
                // pruning, never a wrong verdict).
                if list.len() >= 64 {
                    if let Some(pos) = list.iter().position(|(_, n, _, _)| nodes[*n].branches == 0)
                    {
                        list.swap_remove(pos);
                    }
                }
                // Nor is a state stored within 20 jumps and 100 instructions of the last one
                // (the kernel's rule): in a long loop, a state per iteration costs more
                // comparisons than it saves.
                let recent = !loop_head
                    && !may_goto
                    && jumps - last_jumps < 20
                    && *processed - last_insns < 100;
                if list.len() < 64 && !recent {
                    nodes.push(Node {
                        parent: node,
                        branches: 1,
                    });
                    let id = nodes.len() - 1;
                    list.push((st.clone(), id, 0u32, 0u32));
                    *stored += 1;
                    node = Some(id);
                    (last_insns, last_jumps) = (*processed, jumps);
                }
            }
            if matches!(insns[pc].class(), class::JMP | class::JMP32) {
                jumps += 1;
            }
            let width = if insns[pc].is_lddw() { 2 } else { 1 };
            let next = match step(cx, pc, &mut st) {
                Ok(n) => n,
                Err(mut r) => {
                    explain::explain(insns, &trail, &mut r);
                    return Err(r);
                }
            };
            match next {
                Next::Goto(t) => {
                    trail.step(pc, width, t);
                    pc = t;
                }
                Next::Move(t, s) => {
                    trail.step(pc, width, t);
                    pc = t;
                    st = s;
                }
                Next::Branch(a, b) => {
                    // Push the other branch; it shares the current checkpoint.
                    if let Some(n) = node {
                        nodes[n].branches += 1;
                    }
                    let mut other = trail.clone();
                    other.step(pc, width, b.0);
                    work.push((b.0, b.1, node, other));
                    trail.step(pc, width, a.0);
                    pc = a.0;
                    st = a.1;
                }
                Next::End => {
                    finish(&mut nodes, node);
                    continue 'paths;
                }
            }
        }
    }
    Ok(())
}
/// `do_check_subprogs`: each global function marked called and not yet verified, on its own,
/// until no new one is called.
fn verify_globals(
    cx: &mut Ctx<'_>,
    opts: &Options,
    prune: &[bool],
    processed: &mut u64,
    stored: &mut usize,
) -> Res<()> {
    let Some(globals) = cx.global_funcs else {
        return Ok(());
    };
    let mut done = std::collections::BTreeSet::new();
    while let Some(g) = globals
        .iter()
        .find(|g| cx.called_globals.contains(&g.start) && !done.contains(&g.start))
    {
        done.insert(g.start);
        if let Err(why) = &g.args {
            return Err(Rejection {
                pc: g.start,
                class: Class::Helper,
                msg: why.clone(),
                hint: Some(format!("the BTF prototype of {}() is not one the kernel can verify a global function for", g.name)),
                regs: String::new(),
                explain: None,
            });
        }
        let init = global::entry_state(cx, g);
        walk(cx, opts, prune, g.start, init, processed, stored)?;
    }
    Ok(())
}

enum Next {
    Goto(usize),
    /// Continue at `pc` with a replaced state (one side of a decided branch).
    Move(usize, State),
    Branch((usize, State), (usize, State)),
    End,
}

impl Ctx<'_> {
    fn maps(&self) -> &[MapInfo] {
        self.input.maps
    }

    fn new_id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    fn read_reg(&self, pc: usize, st: &State, r: u8) -> Res<Reg> {
        let v = st.cur().regs[r as usize];
        if v == Reg::Uninit {
            let hint = if r == 0 {
                Some("R0 is set by a call or an assignment before it can be read".to_string())
            } else if (1..=5).contains(&r) {
                Some(format!(
                    "R{r} is clobbered by every call and is uninitialised until written"
                ))
            } else {
                Some(format!("assign R{r} before reading it"))
            };
            return rej(
                pc,
                Class::Uninit,
                format!("R{r} !read_ok: reading R{r}, which was never written"),
                hint,
                st,
                self.maps(),
            );
        }
        Ok(v)
    }
}

fn step(cx: &mut Ctx<'_>, pc: usize, st: &mut State) -> Res<Next> {
    let i = cx.input.insns[pc];
    let maps = cx.input.maps;
    maps::check_insn(cx, pc, st, i)?;
    match i.class() {
        class::ALU | class::ALU64 => {
            alu_op(cx, pc, st, i)?;
            Ok(Next::Goto(pc + 1))
        }
        class::LDX => load(cx, pc, st, i),
        class::ST | class::STX => store(cx, pc, st, i),
        class::LD => ld(cx, pc, st, i),
        class::JMP | class::JMP32 => jmp_op(cx, pc, st, i),
        _ => rej(pc, Class::Cfg, "invalid instruction class", None, st, maps),
    }
}
