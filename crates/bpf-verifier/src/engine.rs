//! The exploration engine: CFG check, then a depth-first walk over paths with abstract
//! register/stack states, pruning states subsumed by fully explored ones.

use std::collections::HashMap;

use bpf_insn::insn::{
    alu, atomic, class, is_valid, jmp, lddw_value, mem, pseudo, size_bytes, Insn,
};

use crate::helpers::{self, ptype, Arg, Ret};
use crate::scalar::Scalar;
use crate::{Class, Rejection};

/// A map as the verifier needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapInfo {
    pub name: String,
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    /// Contents of a read-only (frozen) array map such as `.rodata`: loads from it at a
    /// constant offset give constants, as the kernel does for `BPF_F_RDONLY_PROG` maps.
    pub frozen: Option<Vec<u8>>,
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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            complexity_limit: 1_000_000,
        }
    }
}

/// Statistics of an accepted program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub insns_processed: u64,
    pub states_stored: usize,
    pub max_stack_depth: usize,
}

const MAX_FRAMES: usize = 8;
const STACK: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Ctx,
    Stack(u8),
    MapValue(u32),
    MapPtr(u32),
    Pkt,
    PktEnd,
    PktMeta,
    /// Ring-buffer record of the given size.
    Mem(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Ptr {
    kind: Kind,
    off: i64,
    var: Scalar,
    /// Identity shared by copies (NULL checks and packet ranges apply to all copies).
    id: u32,
    nullable: bool,
    /// Packet pointers: bytes known to be below data_end from this pointer's base.
    range: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Reg {
    Uninit,
    Scalar(Scalar),
    Ptr(Ptr),
}

impl Reg {
    fn konst(v: u64) -> Reg {
        Reg::Scalar(Scalar::konst(v))
    }
    fn unknown() -> Reg {
        Reg::Scalar(Scalar::unknown())
    }
}

const SLOT_INVALID: u8 = 0;
const SLOT_MISC: u8 = 1;
const SLOT_ZERO: u8 = 2;
const SLOT_SPILL: u8 = 3;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Stack {
    bytes: Vec<u8>,
    spills: Vec<Option<Reg>>,
    /// Lowest offset (from the frame top) written or read: the frame's depth.
    depth: usize,
}

impl Stack {
    fn new() -> Stack {
        Stack {
            bytes: vec![SLOT_INVALID; STACK],
            spills: vec![None; STACK / 8],
            depth: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Frame {
    regs: [Reg; 11],
    stack: Stack,
    /// The call instruction that created this frame.
    callsite: usize,
    /// First instruction of the function.
    func: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct State {
    frames: Vec<Frame>,
}

impl State {
    fn cur(&self) -> &Frame {
        &self.frames[self.frames.len() - 1]
    }
    fn cur_mut(&mut self) -> &mut Frame {
        let n = self.frames.len() - 1;
        &mut self.frames[n]
    }
}

fn fmt_reg(r: &Reg, maps: &[MapInfo]) -> String {
    match r {
        Reg::Uninit => "uninit".into(),
        Reg::Scalar(s) => format!("scalar({s})"),
        Reg::Ptr(p) => {
            let k = match p.kind {
                Kind::Ctx => "ctx".to_string(),
                Kind::Stack(_) => "fp".to_string(),
                Kind::MapValue(m) => format!(
                    "map_value({})",
                    maps.get(m as usize).map(|m| m.name.as_str()).unwrap_or("?")
                ),
                Kind::MapPtr(m) => format!(
                    "map_ptr({})",
                    maps.get(m as usize).map(|m| m.name.as_str()).unwrap_or("?")
                ),
                Kind::Pkt => "pkt".into(),
                Kind::PktEnd => "pkt_end".into(),
                Kind::PktMeta => "pkt_meta".into(),
                Kind::Mem(n) => format!("mem({n})"),
            };
            let mut s = k;
            if p.nullable {
                s.push_str("_or_null");
            }
            if p.off != 0 {
                s.push_str(&format!("{:+}", p.off));
            }
            if !p.var.is_const() || p.var.t.value != 0 {
                s.push_str(&format!("+var({})", p.var));
            }
            if p.kind == Kind::Pkt {
                s.push_str(&format!(",r={}", p.range));
            }
            s
        }
    }
}

fn fmt_regs(st: &State, maps: &[MapInfo]) -> String {
    let f = st.cur();
    f.regs
        .iter()
        .enumerate()
        .filter(|(_, r)| **r != Reg::Uninit)
        .map(|(i, r)| format!("R{i}={}", fmt_reg(r, maps)))
        .collect::<Vec<_>>()
        .join(" ")
}

struct Ctx<'a> {
    input: &'a Input<'a>,
    next_id: u32,
    /// Subprogram starts (sorted).
    funcs: Vec<usize>,
    /// Max stack depth per function start.
    func_depth: HashMap<usize, usize>,
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
    })
}

/// Check the control-flow graph; returns the function starts.
fn check_cfg(insns: &[Insn]) -> Res<Vec<usize>> {
    let empty = State { frames: vec![] };
    let r = |pc: usize, msg: String| -> Res<Vec<usize>> {
        Err(Rejection {
            pc,
            class: Class::Cfg,
            msg,
            hint: None,
            regs: String::new(),
        })
    };
    let _ = &empty;
    if insns.is_empty() {
        return r(0, "empty program".into());
    }
    if insns.len() > 1_000_000 {
        return r(
            0,
            format!(
                "program of {} instructions is too large (limit 1000000)",
                insns.len()
            ),
        );
    }
    let n = insns.len();
    let mut second = vec![false; n];
    let mut funcs = vec![0usize];
    let mut pc = 0;
    while pc < n {
        let i = insns[pc];
        if !is_valid(insns, pc) {
            if i.is_lddw() && pc + 1 >= n {
                return r(pc, "invalid lddw: its second slot is missing".into());
            }
            return r(
                pc,
                format!(
                    "invalid instruction (opcode {:#04x}, dst r{}, src r{}, off {}, imm {})",
                    i.code, i.dst, i.src, i.off, i.imm
                ),
            );
        }
        if i.is_lddw() {
            second[pc + 1] = true;
            pc += 2;
            continue;
        }
        if i.is_call() && i.src == pseudo::CALL_LOCAL {
            let t = pc as i64 + 1 + i.imm as i64;
            if t < 0 || t as usize >= n {
                return r(
                    pc,
                    format!("call to insn {t}, outside the program of {n} instructions"),
                );
            }
            funcs.push(t as usize);
        }
        pc += 1;
    }
    funcs.sort();
    funcs.dedup();
    for &f in &funcs {
        if second[f] {
            return r(f, "function starts inside an lddw".into());
        }
    }
    let func_of = |pc: usize| funcs.iter().rposition(|&f| f <= pc).unwrap_or(0);
    for (fi, &f) in funcs.iter().enumerate() {
        let end = funcs.get(fi + 1).copied().unwrap_or(n);
        let last = end - 1;
        let li = if second[last] {
            insns[last - 1]
        } else {
            insns[last]
        };
        let ok = li.is_exit()
            || (li.code == class::JMP | jmp::JA)
            || (li.code == class::JMP32 | jmp::JA);
        if !ok {
            return r(
                last,
                "last instruction of a function is not an exit or an unconditional jump".into(),
            );
        }
        let _ = f;
    }
    // Jumps, reachability.
    let mut seen = vec![false; n];
    let mut work = vec![0usize];
    while let Some(pc) = work.pop() {
        if pc >= n || seen[pc] {
            continue;
        }
        seen[pc] = true;
        let i = insns[pc];
        if i.is_lddw() {
            seen[pc + 1] = true;
            work.push(pc + 2);
            continue;
        }
        if i.is_exit() {
            continue;
        }
        if i.is_jump() {
            let t = pc as i64 + 1 + i.jump_offset();
            if t < 0 || t as usize >= n {
                return r(pc, format!("jump out of range from insn {pc} to {t}"));
            }
            let t = t as usize;
            if second[t] {
                return r(
                    pc,
                    format!("jump from insn {pc} into the middle of lddw at {}", t - 1),
                );
            }
            if func_of(t) != func_of(pc) {
                return r(
                    pc,
                    format!("jump out of range from insn {pc} to {t} (into another function)"),
                );
            }
            work.push(t);
            let uncond = i.op() == jmp::JA;
            if !uncond {
                work.push(pc + 1);
            }
            continue;
        }
        if i.is_call() && i.src == pseudo::CALL_LOCAL {
            work.push((pc as i64 + 1 + i.imm as i64) as usize);
        }
        work.push(pc + 1);
    }
    for pc in 0..n {
        if !seen[pc] {
            return r(pc, format!("unreachable insn {pc}"));
        }
    }
    Ok(funcs)
}

/// Prune points: jump targets and the instructions after conditional jumps and calls.
fn prune_points(insns: &[Insn]) -> Vec<bool> {
    let mut p = vec![false; insns.len() + 1];
    for (pc, i) in insns.iter().enumerate() {
        if i.is_jump() {
            let t = (pc as i64 + 1 + i.jump_offset()) as usize;
            if t < p.len() {
                p[t] = true;
            }
            p[pc + 1] = true;
        }
        if i.is_call() {
            p[pc + 1] = true;
        }
    }
    p
}

/// Whether `new` is covered by `old` (everything safe from `old` is safe from `new`).
fn reg_covered(old: &Reg, new: &Reg) -> bool {
    match (old, new) {
        (Reg::Uninit, _) => true,
        (Reg::Scalar(a), Reg::Scalar(b)) => a.contains(b),
        (Reg::Ptr(a), Reg::Ptr(b)) => {
            a.kind == b.kind
                && a.off == b.off
                && a.var.contains(&b.var)
                && a.nullable == b.nullable
                && (a.kind != Kind::Pkt || b.range >= a.range)
        }
        _ => false,
    }
}

fn state_covered(old: &State, new: &State) -> bool {
    if old.frames.len() != new.frames.len() {
        return false;
    }
    for (fo, fnw) in old.frames.iter().zip(&new.frames) {
        if fo.callsite != fnw.callsite {
            return false;
        }
        for (a, b) in fo.regs.iter().zip(&fnw.regs) {
            if !reg_covered(a, b) {
                return false;
            }
        }
        for k in 0..STACK {
            let (a, b) = (fo.stack.bytes[k], fnw.stack.bytes[k]);
            match a {
                SLOT_INVALID => {}
                SLOT_MISC => {
                    if b == SLOT_INVALID {
                        return false;
                    }
                    if b == SLOT_SPILL {
                        if let Some(Reg::Ptr(_)) = fnw.stack.spills[k / 8] {
                            return false;
                        }
                    }
                }
                SLOT_ZERO => {
                    if b != SLOT_ZERO {
                        return false;
                    }
                }
                _ => {
                    if b != SLOT_SPILL {
                        return false;
                    }
                }
            }
        }
        for (a, b) in fo.stack.spills.iter().zip(&fnw.stack.spills) {
            if let (Some(a), Some(b)) = (a, b) {
                if !reg_covered(a, b) {
                    return false;
                }
            }
        }
    }
    true
}

struct Node {
    parent: Option<usize>,
    branches: u32,
}

/// Verify a program. `Ok` carries statistics; `Err` the first problem found.
pub fn verify(input: &Input<'_>, opts: &Options) -> Result<Verdict, Rejection> {
    let insns = input.insns;
    let funcs = check_cfg(insns)?;
    let maps = input.maps;
    let pt = input.prog_type;
    if ctx_size(pt).is_none() {
        return Err(Rejection {
            pc: 0,
            class: Class::Unsupported,
            msg: format!("program type {pt} is not modelled by this verifier"),
            hint: Some("supported: socket_filter, kprobe, sched_cls, sched_act, tracepoint, xdp, perf_event, cgroup_skb, raw_tracepoint".into()),
            regs: String::new(),
        });
    }
    let prune = prune_points(insns);
    let mut cx = Ctx {
        input,
        next_id: 1,
        funcs: funcs.clone(),
        func_depth: HashMap::new(),
    };
    let mut init = State {
        frames: vec![Frame {
            regs: [Reg::Uninit; 11],
            stack: Stack::new(),
            callsite: usize::MAX,
            func: 0,
        }],
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
    let mut nodes: Vec<Node> = Vec::new();
    #[allow(clippy::type_complexity)]
    let mut visited: HashMap<usize, Vec<(State, usize, u32, u32)>> = HashMap::new();
    let mut stored = 0usize;
    // Work list: (pc, state, last checkpoint node).
    let mut work: Vec<(usize, State, Option<usize>)> = vec![(0, init, None)];
    let mut processed: u64 = 0;
    let finish = |nodes: &mut Vec<Node>, mut n: Option<usize>| {
        while let Some(i) = n {
            nodes[i].branches -= 1;
            if nodes[i].branches > 0 {
                break;
            }
            n = nodes[i].parent;
        }
    };
    'paths: while let Some((mut pc, mut st, mut node)) = work.pop() {
        loop {
            processed += 1;
            if processed > opts.complexity_limit {
                return rej(
                    pc,
                    Class::Loop,
                    format!("BPF program is too large: processed {processed} insns (limit {})", opts.complexity_limit),
                    Some("a loop whose bound the verifier cannot prove runs until this limit; bound the loop counter with a constant".into()),
                    &st,
                    maps,
                );
            }
            if prune[pc] {
                let list = visited.entry(pc).or_default();
                let mut pruned = false;
                for (old, n, hits, misses) in list.iter_mut() {
                    if state_covered(old, &st) {
                        *hits += 1;
                        if nodes[*n].branches == 0 {
                            pruned = true;
                            break;
                        }
                        if *old == st {
                            return rej(
                                pc,
                                Class::Loop,
                                format!("infinite loop detected at insn {pc}"),
                                Some("the loop reaches this instruction again in exactly the same state: nothing changes between iterations".into()),
                                &st,
                                maps,
                            );
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
                nodes.push(Node {
                    parent: node,
                    branches: 1,
                });
                let id = nodes.len() - 1;
                // Bound the states kept per instruction (fewer stored states only means less
                // pruning, never a wrong verdict).
                if list.len() >= 64 {
                    if let Some(pos) = list.iter().position(|(_, n, _, _)| nodes[*n].branches == 0)
                    {
                        list.swap_remove(pos);
                    }
                }
                if list.len() < 64 {
                    list.push((st.clone(), id, 0u32, 0u32));
                    stored += 1;
                    node = Some(id);
                } else {
                    nodes.pop();
                }
            }
            match step(&mut cx, pc, &mut st)? {
                Next::Goto(t) => pc = t,
                Next::Move(t, s) => {
                    pc = t;
                    st = s;
                }
                Next::Branch(a, b) => {
                    // Push the other branch; it shares the current checkpoint.
                    if let Some(n) = node {
                        nodes[n].branches += 1;
                    }
                    work.push((b.0, b.1, node));
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
    // Combined stack depth of call chains.
    let max_depth = cx.func_depth.values().copied().max().unwrap_or(0);
    Ok(Verdict {
        insns_processed: processed,
        states_stored: stored,
        max_stack_depth: max_depth,
    })
}

fn fp(frame: u8) -> Reg {
    Reg::Ptr(Ptr {
        kind: Kind::Stack(frame),
        off: 0,
        var: Scalar::konst(0),
        id: 0,
        nullable: false,
        range: 0,
    })
}

enum Next {
    Goto(usize),
    /// Continue at `pc` with a replaced state (one side of a decided branch).
    Move(usize, State),
    Branch((usize, State), (usize, State)),
    End,
}

/// Context layout per program type: (size, writable range).
fn ctx_size(pt: u32) -> Option<u32> {
    Some(match pt {
        ptype::SOCKET_FILTER | ptype::SCHED_CLS | ptype::SCHED_ACT | ptype::CGROUP_SKB => 192, // __sk_buff
        ptype::XDP => 24,            // xdp_md
        ptype::KPROBE => 168,        // pt_regs (x86-64)
        ptype::TRACEPOINT => 8192,   // PERF_MAX_TRACE_SIZE
        ptype::PERF_EVENT => 184,    // bpf_perf_event_data
        ptype::RAW_TRACEPOINT => 96, // 12 u64 args
        _ => return None,
    })
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

    /// Check a memory access through `ptr + off` of `size` bytes; for loads returns the
    /// value read.
    fn access(
        &mut self,
        pc: usize,
        st: &mut State,
        reg: u8,
        off: i16,
        size: usize,
        write: Option<Reg>,
        atomic: bool,
    ) -> Res<Reg> {
        let maps = self.input.maps;
        let p = match self.read_reg(pc, st, reg)? {
            Reg::Ptr(p) => p,
            Reg::Scalar(s) => {
                let what = if s.value() == Some(0) {
                    "NULL"
                } else {
                    "a scalar"
                };
                return rej(
                    pc,
                    Class::Pointer,
                    format!("R{reg} invalid mem access 'scalar': R{reg} is {what}, not a pointer"),
                    None,
                    st,
                    maps,
                );
            }
            Reg::Uninit => unreachable!("read_reg rejects uninit"),
        };
        if p.nullable {
            let hint = match p.kind {
                Kind::MapValue(_) => Some(format!("check the result of bpf_map_lookup_elem against NULL (`if (!r{reg}) ...`) before using it")),
                Kind::Mem(_) => Some("check the result of bpf_ringbuf_reserve against NULL before using it".into()),
                _ => None,
            };
            return rej(
                pc,
                Class::Null,
                format!(
                    "R{reg} invalid mem access '{}': R{reg} may be NULL here",
                    fmt_reg(&Reg::Ptr(p), maps)
                ),
                hint,
                st,
                maps,
            );
        }
        let lo = p.off as i128 + off as i128 + p.var.smin as i128;
        let hi = p.off as i128 + off as i128 + p.var.smax as i128 + size as i128;
        let is_write = write.is_some();
        let bounds = |what: String, hint: Option<String>, st: &State| -> Res<Reg> {
            rej(pc, Class::Bounds, what, hint, st, maps)
        };
        match p.kind {
            Kind::Stack(fr) => {
                if p.var.smin < p.var.smax || !p.var.is_const() {
                    // Variable offset: allowed for privileged loaders within bounds.
                    if p.var.smin == i64::MIN || p.var.smax == i64::MAX {
                        return bounds(
                            format!("invalid unbounded variable-offset access to stack R{reg}"),
                            Some("bound the offset with a comparison first".into()),
                            st,
                        );
                    }
                }
                if lo < -(STACK as i128) || hi > 0 {
                    return bounds(
                        format!("invalid {} of stack R{reg} off={} size={size}: outside the 512-byte stack [-512, 0)", if is_write { "write" } else { "read" }, p.off + off as i64),
                        Some("stack offsets are negative from r10 and at least -512".into()),
                        st,
                    );
                }
                // The stack is always accessed with strict alignment.
                if p.var.is_const()
                    && (p.off + off as i64 + p.var.t.value as i64).rem_euclid(size as i64) != 0
                {
                    return bounds(
                        format!(
                            "misaligned stack access off {}+{}+{} size {size}",
                            p.var.t.value as i64, p.off, off
                        ),
                        Some(format!(
                            "{size}-byte stack accesses must be {size}-byte aligned"
                        )),
                        st,
                    );
                }
                if let Some(Reg::Ptr(_)) = write {
                    if size != 8 {
                        return rej(
                            pc,
                            Class::Pointer,
                            "invalid size of register spill".to_string(),
                            None,
                            st,
                            maps,
                        );
                    }
                }
                let f = fr as usize;
                let func = st.frames[f].func;
                let depth = (-lo) as usize;
                let d = st.frames[f].stack.depth.max(depth);
                st.frames[f].stack.depth = d;
                let e = self.func_depth.entry(func).or_insert(0);
                *e = (*e).max(d);
                // Combined depth along the call chain.
                let total: usize = st
                    .frames
                    .iter()
                    .map(|fr| self.func_depth.get(&fr.func).copied().unwrap_or(0))
                    .sum();
                if total > STACK {
                    return bounds(
                        format!(
                            "combined stack size of {} calls is {total}. Too large",
                            st.frames.len()
                        ),
                        None,
                        st,
                    );
                }
                let start = (STACK as i128 + lo) as usize;
                let end = (STACK as i128 + hi) as usize;
                let var = !p.var.is_const();
                let stack = &mut st.frames[f].stack;
                if let Some(v) = write {
                    if var {
                        for b in start..end {
                            stack.bytes[b] = SLOT_MISC;
                            stack.spills[b / 8] = None;
                        }
                        return Ok(v);
                    }
                    if size == 8 && start % 8 == 0 && !atomic {
                        // Spill of a full register.
                        stack.spills[start / 8] = Some(v);
                        for b in start..end {
                            stack.bytes[b] = SLOT_SPILL;
                        }
                        if let Reg::Scalar(s) = v {
                            if s.value() == Some(0) {
                                for b in start..end {
                                    stack.bytes[b] = SLOT_ZERO;
                                }
                                stack.spills[start / 8] = Some(v);
                            }
                        }
                        return Ok(v);
                    }
                    // Partial overwrite of a spilled pointer destroys it.
                    for b in start..end {
                        if stack.bytes[b] == SLOT_SPILL || stack.bytes[b] == SLOT_ZERO {
                            let slot = b / 8;
                            if let Some(Reg::Ptr(_)) = stack.spills[slot] {
                                for k in slot * 8..slot * 8 + 8 {
                                    stack.bytes[k] = SLOT_MISC;
                                }
                            } else {
                                for k in slot * 8..slot * 8 + 8 {
                                    if stack.bytes[k] == SLOT_SPILL || stack.bytes[k] == SLOT_ZERO {
                                        stack.bytes[k] = SLOT_MISC;
                                    }
                                }
                            }
                            stack.spills[slot] = None;
                        }
                    }
                    let zero = matches!(v, Reg::Scalar(s) if s.value() == Some(0));
                    for b in start..end {
                        stack.bytes[b] = if zero { SLOT_ZERO } else { SLOT_MISC };
                    }
                    return Ok(v);
                }
                // Read.
                if !var && size == 8 && start % 8 == 0 {
                    if let Some(r) = stack.spills[start / 8] {
                        if (start..end)
                            .all(|b| stack.bytes[b] == SLOT_SPILL || stack.bytes[b] == SLOT_ZERO)
                        {
                            return Ok(r);
                        }
                    }
                }
                let all_zero = (start..end).all(|b| stack.bytes[b] == SLOT_ZERO);
                // A partial read of a spilled pointer is a pointer leak, allowed for root: scalar.
                Ok(if all_zero {
                    Reg::konst(0)
                } else {
                    Reg::unknown()
                })
            }
            Kind::MapValue(m) => {
                let vs = maps.get(m as usize).map(|m| m.value_size).unwrap_or(0) as i128;
                if p.var.smin == i64::MIN || p.var.smax == i64::MAX || p.var.umax == u64::MAX {
                    return bounds(
                        format!("R{reg} unbounded memory access: the variable offset of the map value pointer has no upper bound"),
                        Some("compare the index with the value size before adding it to the pointer".into()),
                        st,
                    );
                }
                if lo < 0 || hi > vs {
                    return bounds(
                        format!("invalid access to map value, value_size={vs} off={} size={size}: R{reg} range [{lo}, {hi}) is outside [0, {vs})", p.off + off as i64),
                        Some(format!("the access must stay within the {vs}-byte map value")),
                        st,
                    );
                }
                if let (None, Some(data)) =
                    (write, maps.get(m as usize).and_then(|m| m.frozen.as_ref()))
                {
                    if p.var.is_const() && !atomic {
                        let o = (lo) as usize;
                        if let Some(b) = data.get(o..o + size) {
                            let mut v = [0u8; 8];
                            v[..size].copy_from_slice(b);
                            return Ok(Reg::konst(u64::from_le_bytes(v)));
                        }
                    }
                }
                if write.is_some() && maps.get(m as usize).is_some_and(|m| m.frozen.is_some()) {
                    return rej(pc, Class::Pointer, format!("write into map forbidden, value_size={vs} off={lo} size={size}: the map is read-only"), None, st, maps);
                }
                Ok(write.unwrap_or(Reg::unknown()))
            }
            Kind::Mem(sz) => {
                if lo < 0 || hi > sz as i128 {
                    return bounds(
                        format!(
                            "invalid access to memory, mem_size={sz} off={} size={size}",
                            p.off + off as i64
                        ),
                        None,
                        st,
                    );
                }
                Ok(write.unwrap_or(Reg::unknown()))
            }
            Kind::Ctx => {
                if atomic {
                    return rej(
                        pc,
                        Class::Pointer,
                        format!("BPF_ATOMIC stores into R{reg} ctx is not allowed"),
                        None,
                        st,
                        maps,
                    );
                }
                if !p.var.is_const() || p.var.t.value != 0 {
                    return rej(
                        pc,
                        Class::Pointer,
                        format!("variable ctx access var_off={} disallowed", p.var),
                        None,
                        st,
                        maps,
                    );
                }
                let o = p.off + off as i64;
                self.ctx_access(pc, st, reg, o, size, is_write)
            }
            Kind::Pkt | Kind::PktMeta => {
                if atomic {
                    return rej(
                        pc,
                        Class::Pointer,
                        format!("BPF_ATOMIC stores into R{reg} pkt is not allowed"),
                        None,
                        st,
                        maps,
                    );
                }
                if is_write && self.input.prog_type == ptype::SOCKET_FILTER {
                    return rej(
                        pc,
                        Class::Pointer,
                        "cannot write into packet".to_string(),
                        None,
                        st,
                        maps,
                    );
                }
                let lo_f = p.off + off as i64;
                if lo_f < 0 || p.var.smin < 0 {
                    return bounds(format!("invalid access to packet, off={lo_f} size={size}, R{reg}(id={},off={},r={})", p.id, p.off, p.range), None, st);
                }
                if lo_f + size as i64 > p.range {
                    return bounds(
                        format!("invalid access to packet, off={lo_f} size={size}, R{reg}(id={},off={},r={})", p.id, p.off, p.range),
                        Some(format!("R{reg} offset is outside of the packet: compare R{reg} + {} with data_end before the access", lo_f + size as i64)),
                        st,
                    );
                }
                Ok(write.unwrap_or(Reg::unknown()))
            }
            Kind::PktEnd => rej(
                pc,
                Class::Pointer,
                format!("R{reg} invalid mem access 'pkt_end'"),
                None,
                st,
                maps,
            ),
            Kind::MapPtr(_) => rej(
                pc,
                Class::Pointer,
                format!("R{reg} invalid mem access 'map_ptr': a map is not memory"),
                Some("use bpf_map_lookup_elem to get a pointer to a value".into()),
                st,
                maps,
            ),
        }
    }

    fn ctx_access(
        &mut self,
        pc: usize,
        st: &State,
        _reg: u8,
        off: i64,
        size: usize,
        write: bool,
    ) -> Res<Reg> {
        let pt = self.input.prog_type;
        let maps = self.input.maps;
        let ctxsz = ctx_size(pt).unwrap_or(0) as i64;
        let bad = |why: &str| -> Res<Reg> {
            rej(pc, Class::Bounds, format!("invalid bpf_context access off={off} size={size}{why}"), Some(format!("the context of this program type has {ctxsz} bytes; see its struct for valid fields")), st, maps)
        };
        if off < 0 || off + size as i64 > ctxsz {
            return bad("");
        }
        let pkt = |kind: Kind, id: u32| {
            Reg::Ptr(Ptr {
                kind,
                off: 0,
                var: Scalar::konst(0),
                id,
                nullable: false,
                range: 0,
            })
        };
        match pt {
            ptype::XDP => {
                if write || size != 4 || off % 4 != 0 {
                    return bad(if write { ": xdp_md is read-only" } else { "" });
                }
                Ok(match off {
                    0 => pkt(Kind::Pkt, 0),
                    4 => pkt(Kind::PktEnd, 0),
                    8 => pkt(Kind::PktMeta, 0),
                    _ => Reg::Scalar(Scalar::urange(0, u32::MAX as u64)),
                })
            }
            ptype::SOCKET_FILTER | ptype::SCHED_CLS | ptype::SCHED_ACT | ptype::CGROUP_SKB => {
                // __sk_buff: u32 fields; cb[0..5] (48..68) writable; data (76), data_end (80),
                // data_meta (140) for tc; flow_keys, sk (u64 pointers) not modelled.
                let tc = matches!(pt, ptype::SCHED_CLS | ptype::SCHED_ACT);
                let cb = (48..68).contains(&off);
                if write {
                    let tc_writable =
                        tc && (matches!(off, 8 | 32 | 36 | 44) || (148..=151).contains(&off));
                    if !(cb || tc_writable) || size != 4 && !cb {
                        return bad(": this field is read-only");
                    }
                    return Ok(Reg::unknown());
                }
                if (76..84).contains(&off) || (140..144).contains(&off) {
                    if pt == ptype::SOCKET_FILTER || size != 4 || off % 4 != 0 {
                        return bad(": data/data_end are not accessible to socket filters");
                    }
                    return Ok(match off {
                        76 => pkt(Kind::Pkt, 0),
                        80 => pkt(Kind::PktEnd, 0),
                        _ => pkt(Kind::PktMeta, 0),
                    });
                }
                if (160..168).contains(&off)
                    || (168..176).contains(&off)
                    || (144..152).contains(&off) && !cb
                {
                    return bad(": pointer fields are not modelled");
                }
                if !cb && (size != 4 || off % 4 != 0) {
                    // Narrow loads of u32 fields are allowed at their start.
                    if off % 4 != 0 && size == 4 {
                        return bad("");
                    }
                }
                Ok(Reg::Scalar(Scalar::urange(0, u32::MAX as u64)))
            }
            ptype::KPROBE | ptype::PERF_EVENT => {
                if write {
                    return bad(": the context is read-only");
                }
                if off % size as i64 != 0 {
                    return bad(": misaligned");
                }
                Ok(Reg::unknown())
            }
            ptype::TRACEPOINT => {
                if write {
                    return bad(": the context is read-only");
                }
                if off % size as i64 != 0 {
                    return bad(": misaligned");
                }
                Ok(Reg::unknown())
            }
            ptype::RAW_TRACEPOINT => {
                if write || size != 8 || off % 8 != 0 {
                    return bad(": raw tracepoint arguments are read-only u64s");
                }
                Ok(Reg::unknown())
            }
            _ => bad(": program type not modelled"),
        }
    }

    /// Set all copies of pointer `id` (NULL-check results / packet pointers) in the state.
    fn for_id(st: &mut State, id: u32, f: &mut dyn FnMut(&mut Reg)) {
        for fr in st.frames.iter_mut() {
            for r in fr.regs.iter_mut() {
                if let Reg::Ptr(p) = r {
                    if p.id == id {
                        f(r);
                    }
                }
            }
            for s in fr.stack.spills.iter_mut().flatten() {
                if let Reg::Ptr(p) = s {
                    if p.id == id {
                        f(s);
                    }
                }
            }
        }
    }
}

fn step(cx: &mut Ctx<'_>, pc: usize, st: &mut State) -> Res<Next> {
    let i = cx.input.insns[pc];
    let maps = cx.input.maps;
    let d = i.dst;
    let s = i.src;
    match i.class() {
        class::ALU | class::ALU64 => {
            alu_op(cx, pc, st, i)?;
            Ok(Next::Goto(pc + 1))
        }
        class::LDX => {
            let size = size_bytes(i.code);
            let v = cx.access(pc, st, s, i.off, size, None, false)?;
            let v = match v {
                Reg::Ptr(p) if size == 8 => Reg::Ptr(p),
                Reg::Scalar(sc) if size == 8 => Reg::Scalar(sc),
                Reg::Ptr(p) => {
                    // Narrow ctx loads that give pointers (xdp data) keep them.
                    if matches!(p.kind, Kind::Pkt | Kind::PktEnd | Kind::PktMeta) {
                        Reg::Ptr(p)
                    } else {
                        Reg::Scalar(Scalar::urange(0, (1u64 << (size * 8)) - 1))
                    }
                }
                Reg::Scalar(sc) => {
                    let max = (1u64 << (size * 8)) - 1;
                    if sc.umax <= max {
                        Reg::Scalar(sc)
                    } else {
                        Reg::Scalar(Scalar::urange(0, max))
                    }
                }
                Reg::Uninit => Reg::unknown(),
            };
            let v = if i.mode() == mem::MEMSX {
                match v {
                    Reg::Scalar(sc) => Reg::Scalar(sc.sext(size as u32 * 8)),
                    _ => Reg::Scalar(Scalar::unknown_signed(size as u32 * 8)),
                }
            } else {
                v
            };
            if let Reg::Ptr(p) = v {
                if matches!(p.kind, Kind::Pkt | Kind::PktEnd | Kind::PktMeta) && p.id == 0 {
                    let id = cx.new_id();
                    st.cur_mut().regs[d as usize] = Reg::Ptr(Ptr { id, ..p });
                    return Ok(Next::Goto(pc + 1));
                }
            }
            st.cur_mut().regs[d as usize] = v;
            Ok(Next::Goto(pc + 1))
        }
        class::ST | class::STX => {
            let size = size_bytes(i.code);
            if i.mode() == mem::ATOMIC {
                let sv = cx.read_reg(pc, st, s)?;
                if let Reg::Ptr(_) = sv {
                    return rej(
                        pc,
                        Class::Pointer,
                        format!("R{s} leaks addr into mem"),
                        None,
                        st,
                        maps,
                    );
                }
                if i.imm == atomic::CMPXCHG {
                    cx.read_reg(pc, st, 0)?;
                }
                cx.access(pc, st, d, i.off, size, None, true)?;
                cx.access(pc, st, d, i.off, size, Some(Reg::unknown()), true)?;
                if i.imm == atomic::CMPXCHG {
                    st.cur_mut().regs[0] = Reg::unknown();
                } else if i.imm & atomic::FETCH != 0 {
                    st.cur_mut().regs[s as usize] = if size == 4 {
                        Reg::Scalar(Scalar::urange(0, u32::MAX as u64))
                    } else {
                        Reg::unknown()
                    };
                }
                return Ok(Next::Goto(pc + 1));
            }
            let v = if i.class() == class::ST {
                Reg::Scalar(Scalar::konst(i.imm as i64 as u64))
            } else {
                cx.read_reg(pc, st, s)?
            };
            // Storing a pointer into anything but the stack leaks it (allowed for root only
            // into map values? The kernel forbids pointer stores into ctx/packet.)
            if let Reg::Ptr(_) = v {
                if let Reg::Ptr(dp) = cx.read_reg(pc, st, d)? {
                    if !matches!(dp.kind, Kind::Stack(_)) && size != 8 {
                        return rej(
                            pc,
                            Class::Pointer,
                            format!("R{s} partial store of a pointer"),
                            None,
                            st,
                            maps,
                        );
                    }
                    if matches!(dp.kind, Kind::Ctx | Kind::Pkt | Kind::PktMeta) {
                        return rej(
                            pc,
                            Class::Pointer,
                            format!("R{s} leaks addr into ctx/packet"),
                            None,
                            st,
                            maps,
                        );
                    }
                }
            }
            let stored = if size < 8 {
                match v {
                    Reg::Scalar(sc) if sc.umax < (1u64 << (size * 8)) => v,
                    Reg::Scalar(_) => Reg::unknown(),
                    _ => Reg::unknown(),
                }
            } else {
                v
            };
            cx.access(pc, st, d, i.off, size, Some(stored), false)?;
            Ok(Next::Goto(pc + 1))
        }
        class::LD => {
            if i.is_lddw() {
                let hi = cx.input.insns[pc + 1];
                let v = match i.src {
                    0 => Reg::konst(lddw_value(&i, &hi)),
                    pseudo::MAP_FD | pseudo::MAP_IDX => {
                        let m = i.imm as u32;
                        if maps.get(m as usize).is_none() {
                            return rej(
                                pc,
                                Class::Cfg,
                                format!("fd {} is not pointing to valid bpf_map", i.imm),
                                None,
                                st,
                                maps,
                            );
                        }
                        Reg::Ptr(Ptr {
                            kind: Kind::MapPtr(m),
                            off: 0,
                            var: Scalar::konst(0),
                            id: 0,
                            nullable: false,
                            range: 0,
                        })
                    }
                    pseudo::MAP_VALUE | pseudo::MAP_IDX_VALUE => {
                        let m = i.imm as u32;
                        let Some(mi) = maps.get(m as usize) else {
                            return rej(
                                pc,
                                Class::Cfg,
                                format!("fd {} is not pointing to valid bpf_map", i.imm),
                                None,
                                st,
                                maps,
                            );
                        };
                        if mi.map_type != 2 || mi.max_entries != 1 && hi.imm as u32 >= mi.value_size
                        {
                            return rej(
                                pc,
                                Class::Cfg,
                                "direct value access is only for array maps".to_string(),
                                None,
                                st,
                                maps,
                            );
                        }
                        let off = hi.imm as u32 as i64;
                        if off >= mi.value_size as i64 {
                            return rej(
                                pc,
                                Class::Bounds,
                                format!(
                                    "invalid access to map value pointer, value_size={} off={off}",
                                    mi.value_size
                                ),
                                None,
                                st,
                                maps,
                            );
                        }
                        Reg::Ptr(Ptr {
                            kind: Kind::MapValue(m),
                            off,
                            var: Scalar::konst(0),
                            id: 0,
                            nullable: false,
                            range: 0,
                        })
                    }
                    other => {
                        return rej(
                            pc,
                            Class::Unsupported,
                            format!(
                                "lddw pseudo source {other} (BTF ids, functions) is not modelled"
                            ),
                            None,
                            st,
                            maps,
                        );
                    }
                };
                st.cur_mut().regs[d as usize] = v;
                return Ok(Next::Goto(pc + 2));
            }
            // Legacy LD_ABS / LD_IND.
            if !matches!(
                cx.input.prog_type,
                ptype::SOCKET_FILTER | ptype::SCHED_CLS | ptype::SCHED_ACT
            ) {
                return rej(
                    pc,
                    Class::Helper,
                    "BPF_LD_[ABS|IND] instructions not allowed for this program type".to_string(),
                    None,
                    st,
                    maps,
                );
            }
            match cx.read_reg(pc, st, 6)? {
                Reg::Ptr(p) if p.kind == Kind::Ctx && p.off == 0 => {}
                _ => {
                    return rej(
                        pc,
                        Class::Pointer,
                        "at the time of BPF_LD_ABS|IND R6 != pointer to skb".to_string(),
                        None,
                        st,
                        maps,
                    )
                }
            }
            if i.mode() == mem::IND {
                if let Reg::Ptr(_) = cx.read_reg(pc, st, s)? {
                    return rej(
                        pc,
                        Class::Pointer,
                        format!("R{s} pointer used as packet offset"),
                        None,
                        st,
                        maps,
                    );
                }
            }
            let f = st.cur_mut();
            for r in 1..=5 {
                f.regs[r] = Reg::Uninit;
            }
            let size = size_bytes(i.code);
            f.regs[0] = Reg::Scalar(Scalar::urange(0, (1u64 << (size * 8)) - 1));
            Ok(Next::Goto(pc + 1))
        }
        class::JMP | class::JMP32 => jmp_op(cx, pc, st, i),
        _ => rej(pc, Class::Cfg, "invalid instruction class", None, st, maps),
    }
}

fn alu_op(cx: &mut Ctx<'_>, pc: usize, st: &mut State, i: Insn) -> Res<()> {
    let maps = cx.input.maps;
    let is64 = i.class() == class::ALU64;
    let d = i.dst as usize;
    if d == 10 {
        return rej(
            pc,
            Class::Pointer,
            "frame pointer is read only".to_string(),
            None,
            st,
            maps,
        );
    }
    let op = i.op();
    if !i.is_reg_src() {
        if matches!(op, alu::DIV | alu::MOD) && i.imm == 0 {
            return rej(
                pc,
                Class::Cfg,
                "div by zero",
                Some("division by a constant 0 is refused outright".into()),
                st,
                maps,
            );
        }
        let bits = if is64 { 64 } else { 32 };
        if matches!(op, alu::LSH | alu::RSH | alu::ARSH) && (i.imm < 0 || i.imm >= bits) {
            return rej(
                pc,
                Class::Cfg,
                format!("invalid shift {}", i.imm),
                Some(format!("shift amounts are 0..{}", bits - 1)),
                st,
                maps,
            );
        }
    }
    // Source operand.
    let src = if i.is_reg_src() {
        cx.read_reg(pc, st, i.src)?
    } else {
        Reg::Scalar(Scalar::konst(if is64 {
            i.imm as i64 as u64
        } else {
            i.imm as u32 as u64
        }))
    };
    if op == alu::MOV {
        let v = if i.off != 0 {
            match src {
                Reg::Scalar(s) => {
                    let r = s.sext(i.off as u32);
                    if is64 {
                        Reg::Scalar(r)
                    } else {
                        Reg::Scalar(r.zext32())
                    }
                }
                _ => Reg::unknown(),
            }
        } else if is64 {
            // Copies share the pointer's id (NULL checks apply to all copies).
            src
        } else {
            match src {
                Reg::Scalar(s) => Reg::Scalar(s.zext32()),
                // Partial copy of a pointer: a privileged loader gets an unknown scalar.
                _ => Reg::Scalar(Scalar::urange(0, u32::MAX as u64)),
            }
        };
        st.cur_mut().regs[d] = v;
        return Ok(());
    }
    let dst = if op == alu::END || op == alu::NEG {
        cx.read_reg(pc, st, i.dst)?
    } else {
        cx.read_reg(pc, st, i.dst)?
    };
    match (dst, src) {
        (Reg::Scalar(a), Reg::Scalar(b)) => {
            let (a, b) = if is64 {
                (a, b)
            } else {
                (a.zext32(), b.zext32())
            };
            let shift = |b: &Scalar| -> Option<u32> {
                b.value().map(|v| (v & if is64 { 63 } else { 31 }) as u32)
            };
            let r = match op {
                alu::ADD => a.add(&b),
                alu::SUB => a.sub(&b),
                alu::MUL => a.mul(&b),
                alu::OR => a.or(&b),
                alu::AND => a.and(&b),
                alu::XOR => a.xor(&b),
                alu::LSH => match shift(&b) {
                    Some(s) => {
                        if is64 {
                            a.lsh(s)
                        } else {
                            Scalar::from_tnum(a.t.lshift(s).cast32())
                        }
                    }
                    None => Scalar::unknown(),
                },
                alu::RSH => match shift(&b) {
                    Some(s) => a.rsh(s),
                    None => Scalar::unknown(),
                },
                alu::ARSH => match shift(&b) {
                    Some(s) => {
                        if is64 {
                            a.arsh(s)
                        } else {
                            let v32 = Scalar::from_tnum(crate::scalar::Tnum {
                                value: (a.t.value as u32 as i32 as i64) as u64,
                                mask: (a.t.mask as u32 as i32 as i64) as u64,
                            });
                            v32.arsh(s)
                        }
                    }
                    None => Scalar::unknown(),
                },
                alu::DIV => {
                    if i.off == 0 {
                        match b.value() {
                            Some(0) => Scalar::konst(0),
                            Some(c) => Scalar::urange(a.umin / c, a.umax / c),
                            None => Scalar::urange(0, a.umax),
                        }
                    } else {
                        Scalar::unknown()
                    }
                }
                alu::MOD => {
                    if i.off == 0 {
                        match b.value() {
                            Some(0) => a,
                            Some(c) => Scalar::urange(0, (c - 1).min(a.umax)),
                            None => Scalar::urange(0, a.umax),
                        }
                    } else {
                        Scalar::unknown()
                    }
                }
                alu::NEG => Scalar::konst(0).sub(&a),
                alu::END => {
                    let bits = i.imm as u32;
                    let swap = is64 || i.is_reg_src();
                    if !swap {
                        // le on a little-endian machine: truncation.
                        if bits == 64 {
                            a
                        } else {
                            let max = (1u64 << bits) - 1;
                            a.and(&Scalar::konst(max))
                        }
                    } else if let Some(v) = a.value() {
                        Scalar::konst(match bits {
                            16 => (v as u16).swap_bytes() as u64,
                            32 => (v as u32).swap_bytes() as u64,
                            _ => v.swap_bytes(),
                        })
                    } else if bits == 64 {
                        Scalar::unknown()
                    } else {
                        Scalar::urange(0, (1u64 << bits) - 1)
                    }
                }
                _ => Scalar::unknown(),
            };
            let r = if is64 || op == alu::END {
                r
            } else {
                r.zext32()
            };
            st.cur_mut().regs[d] = Reg::Scalar(r);
            Ok(())
        }
        (Reg::Ptr(p), Reg::Scalar(b)) => {
            if !is64 {
                return rej(
                    pc,
                    Class::Pointer,
                    format!("R{d} 32-bit pointer arithmetic prohibited"),
                    None,
                    st,
                    maps,
                );
            }
            if op != alu::ADD && op != alu::SUB {
                return rej(
                    pc,
                    Class::Pointer,
                    format!(
                        "R{d} pointer arithmetic with {} operator prohibited",
                        alu_name(op)
                    ),
                    Some("only + and - with a scalar are allowed on pointers".into()),
                    st,
                    maps,
                );
            }
            ptr_arith(cx, pc, st, d, p, b, op == alu::SUB)
        }
        (Reg::Scalar(a), Reg::Ptr(p)) => {
            if !is64 {
                return rej(
                    pc,
                    Class::Pointer,
                    format!("R{} 32-bit pointer arithmetic prohibited", i.src),
                    None,
                    st,
                    maps,
                );
            }
            if op == alu::ADD {
                ptr_arith(cx, pc, st, d, p, a, false)
            } else if op == alu::SUB {
                rej(
                    pc,
                    Class::Pointer,
                    format!("R{d} tried to subtract pointer from scalar"),
                    None,
                    st,
                    maps,
                )
            } else {
                rej(
                    pc,
                    Class::Pointer,
                    format!(
                        "R{} pointer arithmetic with {} operator prohibited",
                        i.src,
                        alu_name(op)
                    ),
                    None,
                    st,
                    maps,
                )
            }
        }
        (Reg::Ptr(a), Reg::Ptr(b)) => {
            let pkt = |k: Kind| matches!(k, Kind::Pkt | Kind::PktEnd | Kind::PktMeta);
            if is64 && op == alu::SUB && (a.kind == b.kind || pkt(a.kind) && pkt(b.kind)) {
                st.cur_mut().regs[d] = Reg::unknown();
                Ok(())
            } else {
                rej(
                    pc,
                    Class::Pointer,
                    format!(
                        "R{d} pointer {} pointer prohibited",
                        if op == alu::ADD { "+=" } else { "op" }
                    ),
                    None,
                    st,
                    maps,
                )
            }
        }
        _ => rej(
            pc,
            Class::Uninit,
            "uninitialised operand".to_string(),
            None,
            st,
            maps,
        ),
    }
}

fn alu_name(op: u8) -> &'static str {
    match op {
        alu::MUL => "*=",
        alu::DIV => "/=",
        alu::OR => "|=",
        alu::AND => "&=",
        alu::LSH => "<<=",
        alu::RSH => ">>=",
        alu::NEG => "neg",
        alu::MOD => "%=",
        alu::XOR => "^=",
        alu::ARSH => "s>>=",
        alu::END => "bswap",
        _ => "?",
    }
}

fn ptr_arith(
    cx: &mut Ctx<'_>,
    pc: usize,
    st: &mut State,
    d: usize,
    p: Ptr,
    b: Scalar,
    sub: bool,
) -> Res<()> {
    let maps = cx.input.maps;
    if p.nullable {
        return rej(
            pc,
            Class::Null,
            format!(
                "R{d} pointer arithmetic on {} prohibited, null-check it first",
                fmt_reg(&Reg::Ptr(p), maps)
            ),
            Some("check the pointer against NULL before computing with it".into()),
            st,
            maps,
        );
    }
    match p.kind {
        Kind::MapPtr(_) => {
            return rej(
                pc,
                Class::Pointer,
                format!("R{d} pointer arithmetic on map_ptr prohibited"),
                None,
                st,
                maps,
            )
        }
        Kind::PktEnd => {
            return rej(
                pc,
                Class::Pointer,
                format!("R{d} pointer arithmetic on pkt_end prohibited"),
                None,
                st,
                maps,
            )
        }
        Kind::Ctx if !b.is_const() => {
            return rej(
                pc,
                Class::Pointer,
                format!("R{d} variable ctx pointer arithmetic prohibited"),
                None,
                st,
                maps,
            );
        }
        _ => {}
    }
    let mut np = p;
    if let Some(c) = b.value() {
        let c = c as i64;
        let off = if sub {
            p.off.checked_sub(c)
        } else {
            p.off.checked_add(c)
        };
        match off {
            Some(o) if o.abs() < (1 << 29) => np.off = o,
            _ => {
                return rej(
                    pc,
                    Class::Bounds,
                    format!("R{d} pointer offset {c} is not allowed (too large)"),
                    None,
                    st,
                    maps,
                )
            }
        }
    } else {
        if sub {
            return rej(
                pc,
                Class::Pointer,
                format!("R{d} tried to subtract pointer from scalar / variable offset subtraction"),
                None,
                st,
                maps,
            );
        }
        if b.smin == i64::MIN || b.smax == i64::MAX {
            // Unbounded variable offsets are refused at the arithmetic (math between
            // pointer and unbounded register) for map values and packets.
            if matches!(
                p.kind,
                Kind::MapValue(_) | Kind::Pkt | Kind::PktMeta | Kind::Mem(_)
            ) {
                return rej(
                    pc,
                    Class::Bounds,
                    format!("math between {} pointer and register with unbounded min value is not allowed", fmt_reg(&Reg::Ptr(p), maps)),
                    Some("compare the offset with a constant before adding it to the pointer".into()),
                    st,
                    maps,
                );
            }
        }
        np.var = p.var.add(&b);
        if matches!(p.kind, Kind::Pkt | Kind::PktMeta) {
            np.id = cx.new_id();
            np.range = 0;
        }
    }
    st.cur_mut().regs[d] = Reg::Ptr(np);
    Ok(())
}

/// Refine `a OP b` (scalars) on the taken (`true`) and not-taken side.
fn refine(a: &Scalar, b: &Scalar, op: u8, taken: bool) -> Option<(Scalar, Scalar)> {
    // Normalise to the taken-side condition.
    let op = if taken {
        op
    } else {
        match op {
            jmp::JEQ => jmp::JNE,
            jmp::JNE => jmp::JEQ,
            jmp::JGT => jmp::JLE,
            jmp::JLE => jmp::JGT,
            jmp::JGE => jmp::JLT,
            jmp::JLT => jmp::JGE,
            jmp::JSGT => jmp::JSLE,
            jmp::JSLE => jmp::JSGT,
            jmp::JSGE => jmp::JSLT,
            jmp::JSLT => jmp::JSGE,
            jmp::JSET => 0xff, // not-taken JSET: (a & b) == 0
            o => o,
        }
    };
    let (mut a, mut b) = (*a, *b);
    match op {
        jmp::JEQ => {
            let lo = a.umin.max(b.umin);
            let hi = a.umax.min(b.umax);
            let slo = a.smin.max(b.smin);
            let shi = a.smax.min(b.smax);
            let t = a.t.intersect(b.t);
            if lo > hi || slo > shi || (a.t.value ^ b.t.value) & !(a.t.mask | b.t.mask) != 0 {
                return None;
            }
            for x in [&mut a, &mut b] {
                x.umin = lo;
                x.umax = hi;
                x.smin = slo;
                x.smax = shi;
                x.t = t;
                x.sync();
            }
        }
        jmp::JNE => {
            if let (Some(x), Some(y)) = (a.value(), b.value()) {
                if x == y {
                    return None;
                }
            }
            if let Some(y) = b.value() {
                if a.umin == y && a.umin < a.umax {
                    a.umin += 1;
                } else if a.umax == y && a.umin < a.umax {
                    a.umax -= 1;
                }
                if a.smin == y as i64 && a.smin < a.smax {
                    a.smin += 1;
                } else if a.smax == y as i64 && a.smin < a.smax {
                    a.smax -= 1;
                }
                a.sync();
            }
        }
        jmp::JGT => {
            // a > b
            if a.umax <= b.umin {
                return None;
            }
            a.umin = a.umin.max(b.umin.saturating_add(1));
            b.umax = b.umax.min(a.umax - 1);
            a.sync();
            b.sync();
        }
        jmp::JGE => {
            if a.umax < b.umin {
                return None;
            }
            a.umin = a.umin.max(b.umin);
            b.umax = b.umax.min(a.umax);
            a.sync();
            b.sync();
        }
        jmp::JLT => {
            if a.umin >= b.umax {
                return None;
            }
            a.umax = a.umax.min(b.umax - 1);
            b.umin = b.umin.max(a.umin.saturating_add(1));
            a.sync();
            b.sync();
        }
        jmp::JLE => {
            if a.umin > b.umax {
                return None;
            }
            a.umax = a.umax.min(b.umax);
            b.umin = b.umin.max(a.umin);
            a.sync();
            b.sync();
        }
        jmp::JSGT => {
            if a.smax <= b.smin {
                return None;
            }
            a.smin = a.smin.max(b.smin.saturating_add(1));
            b.smax = b.smax.min(a.smax - 1);
            a.sync();
            b.sync();
        }
        jmp::JSGE => {
            if a.smax < b.smin {
                return None;
            }
            a.smin = a.smin.max(b.smin);
            b.smax = b.smax.min(a.smax);
            a.sync();
            b.sync();
        }
        jmp::JSLT => {
            if a.smin >= b.smax {
                return None;
            }
            a.smax = a.smax.min(b.smax - 1);
            b.smin = b.smin.max(a.smin.saturating_add(1));
            a.sync();
            b.sync();
        }
        jmp::JSLE => {
            if a.smin > b.smax {
                return None;
            }
            a.smax = a.smax.min(b.smax);
            b.smin = b.smin.max(a.smin);
            a.sync();
            b.sync();
        }
        jmp::JSET => {
            // (a & b) != 0
            if let Some(y) = b.value() {
                if a.t.value & y != 0 {
                    // certainly set: nothing to refine
                } else if (a.t.value | a.t.mask) & y == 0 {
                    return None;
                }
            }
        }
        0xff => {
            // (a & b) == 0
            if let Some(y) = b.value() {
                if a.t.value & y != 0 {
                    return None;
                }
                a.t.mask &= !y;
                a.sync();
            }
        }
        _ => {}
    }
    if a.is_empty() || b.is_empty() {
        return None;
    }
    Some((a, b))
}

fn jmp_op(cx: &mut Ctx<'_>, pc: usize, st: &mut State, i: Insn) -> Res<Next> {
    let maps = cx.input.maps;
    let is32 = i.class() == class::JMP32;
    match i.op() {
        jmp::JA => {
            let t = (pc as i64 + 1 + i.jump_offset()) as usize;
            Ok(Next::Goto(t))
        }
        jmp::EXIT => exit(cx, pc, st),
        jmp::CALL => call(cx, pc, st, i),
        op => {
            let target = (pc as i64 + 1 + i.off as i64) as usize;
            let a = cx.read_reg(pc, st, i.dst)?;
            let b = if i.is_reg_src() {
                cx.read_reg(pc, st, i.src)?
            } else {
                Reg::Scalar(Scalar::konst(if is32 {
                    i.imm as u32 as u64
                } else {
                    i.imm as i64 as u64
                }))
            };
            match (a, b) {
                (Reg::Scalar(sa), Reg::Scalar(sb)) => {
                    let fits = |s: &Scalar| s.umax <= u32::MAX as u64;
                    let signed = matches!(op, jmp::JSGT | jmp::JSGE | jmp::JSLT | jmp::JSLE);
                    // JMP32 compares the low halves: refine only when both are 32-bit values
                    // (and, for signed compares, non-negative as 32-bit values).
                    let exact = !is32
                        || (fits(&sa)
                            && fits(&sb)
                            && (!signed
                                || (sa.umax <= i32::MAX as u64 && sb.umax <= i32::MAX as u64)));
                    let (t, f) = if exact {
                        (refine(&sa, &sb, op, true), refine(&sa, &sb, op, false))
                    } else {
                        (Some((sa, sb)), Some((sa, sb)))
                    };
                    let mk = |r: Option<(Scalar, Scalar)>, st: &State| -> Option<State> {
                        r.map(|(x, y)| {
                            let mut s2 = st.clone();
                            s2.cur_mut().regs[i.dst as usize] = Reg::Scalar(x);
                            if i.is_reg_src() {
                                s2.cur_mut().regs[i.src as usize] = Reg::Scalar(y);
                            }
                            s2
                        })
                    };
                    let ts = mk(t, st);
                    let fs = mk(f, st);
                    branch(pc, target, ts, fs)
                }
                (Reg::Ptr(p), Reg::Scalar(sb)) | (Reg::Scalar(sb), Reg::Ptr(p))
                    if p.nullable
                        && sb.value() == Some(0)
                        && !is32
                        && matches!(op, jmp::JEQ | jmp::JNE) =>
                {
                    // NULL check: on the `== 0` side the pointer is 0; on the other it is valid.
                    let mut null_st = st.clone();
                    Ctx::for_id(&mut null_st, p.id, &mut |r| *r = Reg::konst(0));
                    let mut ok_st = st.clone();
                    Ctx::for_id(&mut ok_st, p.id, &mut |r| {
                        if let Reg::Ptr(q) = r {
                            q.nullable = false;
                        }
                    });
                    if op == jmp::JEQ {
                        branch(pc, target, Some(null_st), Some(ok_st))
                    } else {
                        branch(pc, target, Some(ok_st), Some(null_st))
                    }
                }
                (Reg::Ptr(pa), Reg::Ptr(pb)) if !is32 => {
                    // Packet bounds: pkt (+K) vs pkt_end.
                    let pkt = |k: Kind| matches!(k, Kind::Pkt | Kind::PktMeta);
                    let (pk, swapped) = if pkt(pa.kind) && pb.kind == Kind::PktEnd {
                        (Some(pa), false)
                    } else if pa.kind == Kind::PktEnd && pkt(pb.kind) {
                        (Some(pb), true)
                    } else {
                        (None, false)
                    };
                    let Some(pk) = pk else {
                        // Other pointer comparisons: root may compare pointers; both sides live.
                        return branch(pc, target, Some(st.clone()), Some(st.clone()));
                    };
                    // Normalise to `pk OP end`.
                    let op = if swapped {
                        match op {
                            jmp::JGT => jmp::JLT,
                            jmp::JLT => jmp::JGT,
                            jmp::JGE => jmp::JLE,
                            jmp::JLE => jmp::JGE,
                            o => o,
                        }
                    } else {
                        op
                    };
                    // Which side knows pk <= end (range = off) or pk < end (range = off+... we use off).
                    let (safe_taken, safe_fall) = match op {
                        jmp::JGT => (false, true), // pk > end taken -> fallthrough pk <= end
                        jmp::JGE => (false, true), // pk >= end taken -> fallthrough pk < end
                        jmp::JLT => (true, false), // pk < end taken
                        jmp::JLE => (true, false), // pk <= end taken
                        _ => (false, false),
                    };
                    let range = if pk.var.is_const() {
                        pk.off + pk.var.t.value as i64
                    } else {
                        pk.off
                    };
                    let mark = |mut s: State| -> State {
                        Ctx::for_id(&mut s, pk.id, &mut |r| {
                            if let Reg::Ptr(q) = r {
                                q.range = q.range.max(range);
                            }
                        });
                        s
                    };
                    let ts = if safe_taken {
                        mark(st.clone())
                    } else {
                        st.clone()
                    };
                    let fs = if safe_fall {
                        mark(st.clone())
                    } else {
                        st.clone()
                    };
                    branch(pc, target, Some(ts), Some(fs))
                }
                _ => {
                    // Pointer vs scalar comparisons other than NULL checks: privileged loaders
                    // may compare; both outcomes are possible.
                    let _ = maps;
                    branch(pc, target, Some(st.clone()), Some(st.clone()))
                }
            }
        }
    }
}

fn branch(pc: usize, target: usize, taken: Option<State>, fall: Option<State>) -> Res<Next> {
    Ok(match (taken, fall) {
        (Some(t), Some(f)) => Next::Branch((pc + 1, f), (target, t)),
        (Some(t), None) => Next::Move(target, t),
        (None, Some(f)) => Next::Move(pc + 1, f),
        (None, None) => Next::End,
    })
}

fn exit(cx: &mut Ctx<'_>, pc: usize, st: &mut State) -> Res<Next> {
    let maps = cx.input.maps;
    let r0 = cx.read_reg(pc, st, 0).map_err(|mut e| {
        e.class = Class::Return;
        e.msg = "R0 !read_ok: R0 is not set at exit".into();
        e.hint = Some("return a value: set r0 before exit".into());
        e
    })?;
    if st.frames.len() > 1 {
        if let Reg::Ptr(Ptr {
            kind: Kind::Stack(f),
            ..
        }) = r0
        {
            if f as usize == st.frames.len() - 1 {
                return rej(
                    pc,
                    Class::Pointer,
                    "cannot return stack pointer to the caller".to_string(),
                    None,
                    st,
                    maps,
                );
            }
        }
        let callee = st.frames.pop().expect("len > 1");
        let caller = st.cur_mut();
        caller.regs[0] = r0;
        for r in 1..=5 {
            caller.regs[r] = Reg::Uninit;
        }
        return Ok(Next::Goto(callee.callsite + 1));
    }
    // Return value ranges checked by the kernel for some types.
    let range: Option<(i64, i64)> = match cx.input.prog_type {
        ptype::CGROUP_SKB => Some((0, 1)),
        _ => None,
    };
    if let Some((lo, hi)) = range {
        match r0 {
            Reg::Scalar(s) if s.smin >= lo && s.smax <= hi => {}
            _ => {
                return rej(
                    pc,
                    Class::Return,
                    format!(
                        "At program exit the register R0 has {} should have been in [{lo}, {hi}]",
                        fmt_reg(&r0, maps)
                    ),
                    Some(format!(
                        "this program type must return a value in [{lo}, {hi}]"
                    )),
                    st,
                    maps,
                )
            }
        }
    }
    Ok(Next::End)
}

fn call(cx: &mut Ctx<'_>, pc: usize, st: &mut State, i: Insn) -> Res<Next> {
    let maps = cx.input.maps;
    if i.is_reg_src() {
        return rej(
            pc,
            Class::Unsupported,
            "callx (indirect calls) is not supported".to_string(),
            None,
            st,
            maps,
        );
    }
    match i.src {
        pseudo::CALL_LOCAL => {
            if st.frames.len() >= MAX_FRAMES {
                return rej(
                    pc,
                    Class::Bounds,
                    format!(
                        "the call stack of {} frames is too deep",
                        st.frames.len() + 1
                    ),
                    None,
                    st,
                    maps,
                );
            }
            let target = (pc as i64 + 1 + i.imm as i64) as usize;
            let caller = st.cur().regs;
            let depth = st.frames.len() as u8;
            let mut regs = [Reg::Uninit; 11];
            regs[1..6].copy_from_slice(&caller[1..6]);
            regs[10] = fp(depth);
            st.frames.push(Frame {
                regs,
                stack: Stack::new(),
                callsite: pc,
                func: target,
            });
            let _ = &cx.funcs;
            Ok(Next::Goto(target))
        }
        pseudo::CALL_KFUNC => rej(
            pc,
            Class::Unsupported,
            format!("kfunc call (btf id {}) is not modelled", i.imm),
            None,
            st,
            maps,
        ),
        _ => helper_call(cx, pc, st, i.imm),
    }
}

fn helper_call(cx: &mut Ctx<'_>, pc: usize, st: &mut State, id: i32) -> Res<Next> {
    let maps = cx.input.maps;
    let pt = cx.input.prog_type;
    let Some(p) = helpers::proto(id) else {
        return rej(
            pc,
            Class::Helper,
            format!("invalid func unknown#{id}"),
            Some("this helper is not modelled or does not exist".into()),
            st,
            maps,
        );
    };
    if !helpers::allowed(p, pt) {
        return rej(
            pc,
            Class::Helper,
            format!("program of this type cannot use helper bpf_{}#{id}", p.name),
            Some(format!(
                "bpf_{} is not available to {} programs",
                p.name,
                bpf_insn::object::prog_type_name(pt)
            )),
            st,
            maps,
        );
    }
    let mut map: Option<u32> = None;
    let mut alloc_size: Option<u64> = None;
    let mut release_id: Option<u32> = None;
    for (k, arg) in p.args.iter().enumerate() {
        let r = (k + 1) as u8;
        if *arg == Arg::None {
            break;
        }
        let v = cx.read_reg(pc, st, r).map_err(|mut e| {
            e.class = Class::Uninit;
            e.msg = format!(
                "R{r} !read_ok: argument {} of bpf_{} is not initialised",
                k + 1,
                p.name
            );
            e
        })?;
        let want = |what: &str, st: &State| -> Res<Next> {
            rej(
                pc,
                Class::Helper,
                format!(
                    "R{r} type={} expected={what} (argument {} of bpf_{})",
                    fmt_reg(&v, maps),
                    k + 1,
                    p.name
                ),
                None,
                st,
                maps,
            )
        };
        match arg {
            Arg::None | Arg::Anything => {}
            Arg::Scalar => {
                if !matches!(v, Reg::Scalar(_)) {
                    return want("scalar", st);
                }
            }
            Arg::ConstMapPtr => match v {
                Reg::Ptr(Ptr {
                    kind: Kind::MapPtr(m),
                    ..
                }) => {
                    let mi = &maps[m as usize];
                    let ringbuf = mi.map_type == 27;
                    let needs_rb = matches!(p.id, 130 | 131);
                    if ringbuf != needs_rb && matches!(p.id, 1 | 2 | 3 | 130 | 131) {
                        return rej(
                            pc,
                            Class::Helper,
                            format!(
                                "cannot pass map_type {} into func bpf_{}#{id}",
                                mi.map_type, p.name
                            ),
                            None,
                            st,
                            maps,
                        );
                    }
                    map = Some(m);
                }
                _ => return want("map_ptr", st),
            },
            Arg::MapKey | Arg::MapValue => {
                let Some(m) = map else {
                    return want("map_ptr first", st);
                };
                let mi = &maps[m as usize];
                let size = if *arg == Arg::MapKey {
                    mi.key_size
                } else {
                    mi.value_size
                } as usize;
                check_mem_arg(cx, pc, st, r, &v, size, false, p.name)?;
            }
            Arg::Mem | Arg::UninitMem => {
                // Size is the next register.
                let sr = r + 1;
                let sv = cx.read_reg(pc, st, sr)?;
                let Reg::Scalar(ss) = sv else {
                    return rej(
                        pc,
                        Class::Helper,
                        format!(
                            "R{sr} must be a scalar size (argument {} of bpf_{})",
                            k + 2,
                            p.name
                        ),
                        None,
                        st,
                        maps,
                    );
                };
                let zero_ok = p.args[k + 1] == Arg::SizeOrZero;
                if ss.umax > (1 << 29) || ss.smin < 0 {
                    return rej(
                        pc,
                        Class::Bounds,
                        format!("R{sr} unbounded memory access, use 'var &= const' or 'if (var < const)' (size argument of bpf_{})", p.name),
                        Some("bound the size argument with a constant".into()),
                        st,
                        maps,
                    );
                }
                if ss.umin == 0 && !zero_ok {
                    return rej(
                        pc,
                        Class::Helper,
                        format!(
                            "R{sr} invalid zero-sized read (size argument of bpf_{} must be > 0)",
                            p.name
                        ),
                        None,
                        st,
                        maps,
                    );
                }
                if ss.umax == 0 {
                    if let Reg::Scalar(s) = v {
                        if s.value() == Some(0) {
                            continue;
                        }
                    }
                }
                check_mem_arg(
                    cx,
                    pc,
                    st,
                    r,
                    &v,
                    ss.umax as usize,
                    *arg == Arg::UninitMem,
                    p.name,
                )?;
            }
            Arg::Size | Arg::SizeOrZero => {}
            Arg::Ctx => match v {
                Reg::Ptr(Ptr {
                    kind: Kind::Ctx,
                    off: 0,
                    ..
                }) => {}
                _ => return want("ctx", st),
            },
            Arg::ConstAllocSize => match v {
                Reg::Scalar(s) if s.is_const() => alloc_size = s.value(),
                _ => return want("a constant size", st),
            },
            Arg::AllocMem => match v {
                Reg::Ptr(Ptr {
                    kind: Kind::Mem(_),
                    off: 0,
                    nullable: false,
                    id,
                    ..
                }) => release_id = Some(id),
                Reg::Ptr(Ptr {
                    kind: Kind::Mem(_),
                    nullable: true,
                    ..
                }) => {
                    return rej(
                        pc,
                        Class::Null,
                        format!(
                        "R{r} may be NULL: check the result of bpf_ringbuf_reserve before bpf_{}",
                        p.name
                    ),
                        None,
                        st,
                        maps,
                    )
                }
                _ => return want("ringbuf_mem", st),
            },
        }
    }
    // Effects: R1-R5 clobbered, R0 the result.
    if let Some(rid) = release_id {
        Ctx::for_id(st, rid, &mut |r| *r = Reg::unknown());
    }
    let f = st.cur_mut();
    for r in 1..=5 {
        f.regs[r] = Reg::Uninit;
    }
    f.regs[0] = match p.ret {
        Ret::Integer => Reg::unknown(),
        Ret::Void => Reg::unknown(),
        Ret::MapValueOrNull => {
            let m = map.expect("ConstMapPtr checked");
            let id = cx.new_id();
            Reg::Ptr(Ptr {
                kind: Kind::MapValue(m),
                off: 0,
                var: Scalar::konst(0),
                id,
                nullable: true,
                range: 0,
            })
        }
        Ret::AllocMemOrNull => {
            let id = cx.new_id();
            Reg::Ptr(Ptr {
                kind: Kind::Mem(alloc_size.unwrap_or(0) as u32),
                off: 0,
                var: Scalar::konst(0),
                id,
                nullable: true,
                range: 0,
            })
        }
    };
    Ok(Next::Goto(pc + 1))
}

#[allow(clippy::too_many_arguments)]
fn check_mem_arg(
    cx: &mut Ctx<'_>,
    pc: usize,
    st: &mut State,
    r: u8,
    v: &Reg,
    size: usize,
    write: bool,
    name: &str,
) -> Res<()> {
    let maps = cx.input.maps;
    match v {
        Reg::Ptr(p) => {
            if p.nullable {
                return rej(
                    pc,
                    Class::Null,
                    format!(
                        "R{r} type={} may be NULL: bpf_{name} needs valid memory",
                        fmt_reg(v, maps)
                    ),
                    Some("check the pointer against NULL first".into()),
                    st,
                    maps,
                );
            }
            if matches!(p.kind, Kind::MapPtr(_) | Kind::PktEnd) {
                return rej(
                    pc,
                    Class::Helper,
                    format!(
                        "R{r} type={} is not memory (argument of bpf_{name})",
                        fmt_reg(v, maps)
                    ),
                    None,
                    st,
                    maps,
                );
            }
            if matches!(p.kind, Kind::Ctx) {
                return rej(
                    pc,
                    Class::Helper,
                    format!(
                        "R{r} type=ctx expected=fp, pkt, map_value, mem (argument of bpf_{name})"
                    ),
                    None,
                    st,
                    maps,
                );
            }
            if size == 0 {
                return Ok(());
            }
            // Check the whole range as one access of `size` bytes (byte-wise for stack).
            let fake = if write { Some(Reg::unknown()) } else { None };
            if let Kind::Stack(_) = p.kind {
                // Stack: check both ends, then mark/read.
                let mut off = 0usize;
                while off < size {
                    let chunk = (size - off).min(8);
                    cx.access(pc, st, r, off as i16, chunk, fake, false)?;
                    off += chunk;
                }
                Ok(())
            } else {
                cx.access(pc, st, r, 0, size, fake, false).map(|_| ())
            }
        }
        Reg::Scalar(_) => rej(
            pc,
            Class::Helper,
            format!("R{r} type=scalar expected=fp, pkt, map_value, mem (argument of bpf_{name})"),
            Some("pass a pointer (e.g. to the stack: r2 = r10; r2 += -8)".into()),
            st,
            maps,
        ),
        Reg::Uninit => rej(pc, Class::Uninit, format!("R{r} !read_ok"), None, st, maps),
    }
}
