//! kfunc calls (`call` with pseudo source KFUNC): the called function is found by its BTF
//! id in the target kernel's BTF ([`Options::kfunc_btf`]), as the kernel's
//! `fetch_kfunc_meta` does, and judged by the rules of `check_kfunc_call` for the kfuncs
//! this model knows:
//! - the open-coded iterators of `common_btf_ids` (kernel/bpf/helpers.c), callable from
//!   every program type: `bpf_iter_num_{new,next,destroy}` (6.4) and
//!   `bpf_iter_bits_{new,next,destroy}` (6.11), KF_ITER_NEW / KF_ITER_NEXT | KF_RET_NULL /
//!   KF_ITER_DESTROY. `new` turns stack slots into STACK_ITER and acquires a reference that
//!   only `destroy` releases (`process_iter_arg`, `mark_stack_slots_iter`); `next` forks
//!   the path (`process_iter_next_call`): the iterator drained with R0 = NULL, or active one
//!   level deeper with R0 a read-only pointer to the `int` it returns. The `next` call is a
//!   checkpoint where an active iterator's state covered by one still being explored ends
//!   the path (`is_state_visited`'s is_iter_next_insn rule), after the scalars that changed
//!   since that state are widened (`widen_imprecise_scalars`; this model tracks no
//!   precision, so it widens them all);
//! - `bpf_cast_to_kern_ctx` (the context) and `bpf_rdonly_cast` (a constant BTF id of a
//!   struct or union), 6.2: they return BTF-typed pointers, which this model does not
//!   track: R0 is left unreadable (stricter than the kernel: the program may not use it).
//!
//! Every other kfunc is refused as outside the model, and so is every kfunc call of a
//! program whose license is not GPL-compatible (`add_kfunc_call`).

use super::*;

use std::sync::Arc;

/// The iterators modelled: the suffix of `struct bpf_iter_<name>` and its kfuncs, and the
/// kernel they arrived in.
pub(super) const ITERS: [(&str, (u32, u32)); 2] = [("num", (6, 4)), ("bits", (6, 11))];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Model {
    IterNew(u8),
    IterNext(u8),
    IterDestroy(u8),
    CastToKernCtx,
    RdonlyCast,
    /// Known by name, not modelled.
    Other,
}

/// The kfunc a call instruction calls.
#[derive(Debug, Clone)]
pub(super) struct Kfunc {
    pub(super) name: String,
    /// Its BTF id (a FUNC) in the target's BTF.
    pub(super) id: u32,
    pub(super) model: Model,
    btf: Arc<btf::Btf>,
}

impl Kfunc {
    pub(super) fn is_iter_next(&self) -> bool {
        matches!(self.model, Model::IterNext(_))
    }
}

fn model_of(name: &str) -> Model {
    match name {
        "bpf_cast_to_kern_ctx" => return Model::CastToKernCtx,
        "bpf_rdonly_cast" => return Model::RdonlyCast,
        _ => {}
    }
    for (k, (it, _)) in ITERS.iter().enumerate() {
        let Some(rest) = name
            .strip_prefix("bpf_iter_")
            .and_then(|r| r.strip_prefix(it))
        else {
            continue;
        };
        match rest {
            "_new" => return Model::IterNew(k as u8),
            "_next" => return Model::IterNext(k as u8),
            "_destroy" => return Model::IterDestroy(k as u8),
            _ => {}
        }
    }
    Model::Other
}

/// The kfuncs the program's call instructions call, by instruction: each call's `imm` is a
/// BTF id in `btf` that names a function (calls to id 0, to a module's BTF, or to an id
/// that is not a function are left out and refused when reached).
pub(super) fn resolve(insns: &[Insn], btf: Option<&Arc<btf::Btf>>) -> HashMap<usize, Kfunc> {
    let mut out = HashMap::new();
    let Some(btf) = btf else {
        return out;
    };
    for (pc, i) in insns.iter().enumerate() {
        if !i.is_call() || i.is_reg_src() || i.src != pseudo::CALL_KFUNC || i.imm <= 0 {
            continue;
        }
        if i.off != 0 {
            continue;
        }
        let id = i.imm as u32;
        if !matches!(btf.get(id).map(|t| &t.kind), Some(btf::Kind::Func { .. })) {
            continue;
        }
        let name = btf.name(id).to_string();
        out.insert(
            pc,
            Kfunc {
                model: model_of(&name),
                name,
                id,
                btf: btf.clone(),
            },
        );
    }
    out
}

/// add_kfunc_call, for every kfunc call of the program before the walk (reachable or
/// not): only GPL-compatible programs may call kfuncs, and a call's id must name a
/// function of the kernel's BTF (id 0, an unresolved `__weak` kfunc, waits for the walk).
pub(super) fn check_calls(
    insns: &[Insn],
    kfuncs: &HashMap<usize, Kfunc>,
    opts: &Options,
) -> Result<(), Rejection> {
    for (pc, i) in insns.iter().enumerate() {
        if !i.is_call() || i.is_reg_src() || i.src != pseudo::CALL_KFUNC {
            continue;
        }
        let (class, msg) = if opts.gpl && (i.imm == 0 && i.off == 0 || kfuncs.contains_key(&pc)) {
            continue;
        } else if opts.kfunc_btf.is_none() {
            (
                Class::Unsupported,
                format!(
                    "kfunc call (btf id {}) is not modelled without the kernel's BTF",
                    i.imm
                ),
            )
        } else if !opts.gpl {
            (
                Class::Helper,
                "cannot call kernel function from non-GPL compatible program".to_string(),
            )
        } else if i.off != 0 {
            (
                Class::Unsupported,
                format!(
                    "kfunc call (btf id {}) into a module's BTF (fd index {}) is not modelled",
                    i.imm, i.off
                ),
            )
        } else {
            (
                Class::Helper,
                format!("kernel btf_id {} is not a function", i.imm as u32),
            )
        };
        return Err(Rejection {
            pc,
            class,
            msg,
            hint: None,
            regs: String::new(),
            explain: None,
        });
    }
    Ok(())
}

/// At an iterator's `next` call whose iterator (R1) is active: its depth.
pub(super) fn active_iter_depth(cx: &Ctx<'_>, pc: usize, st: &State) -> Option<u32> {
    let k = cx.kfuncs.get(&pc)?;
    let Model::IterNext(ty) = k.model else {
        return None;
    };
    let (fr, start) = iter_slot(&st.cur().regs[1])?;
    let it = st
        .frames
        .get(fr)?
        .stack
        .iters
        .iter()
        .find(|it| usize::from(it.start) == start && it.ty == ty)?;
    it.active.then_some(it.depth)
}

/// The frame and first stack byte a pointer to the stack at a constant, 8-aligned offset
/// inside the stack points to.
fn iter_slot(r: &Reg) -> Option<(usize, usize)> {
    let Reg::Ptr(Ptr {
        kind: Kind::Stack(fr),
        off,
        var,
        nullable: false,
        ..
    }) = *r
    else {
        return None;
    };
    let o = off.checked_add(var.value()? as i64)?;
    if o >= 0 || o < -(STACK as i64) || o % 8 != 0 {
        return None;
    }
    Some((usize::from(fr), (STACK as i64 + o) as usize))
}

/// check_kfunc_call for the call at `pc`.
pub(super) fn kfunc_call(cx: &mut Ctx<'_>, pc: usize, st: &mut State, i: Insn) -> Res<Next> {
    let maps = cx.input.maps;
    if i.imm == 0 {
        // check_kfunc_call skips it; fixup_kfunc_call then refuses it if it was reached.
        return rej(
            pc,
            Class::Helper,
            "invalid kernel function call not eliminated in verifier pass",
            Some("an unresolved __weak kfunc (BTF id 0) may only be called from dead code".into()),
            st,
            maps,
        );
    }
    if i.off != 0 {
        return rej(
            pc,
            Class::Unsupported,
            format!(
                "kfunc call (btf id {}) into a module's BTF (fd index {}) is not modelled",
                i.imm, i.off
            ),
            None,
            st,
            maps,
        );
    }
    // check_calls refused the others before the walk.
    let Some(k) = cx.kfuncs.get(&pc).cloned() else {
        return rej(
            pc,
            Class::Helper,
            format!("kernel btf_id {} is not a function", i.imm as u32),
            None,
            st,
            maps,
        );
    };
    // fetch_kfunc_meta: the kfunc sets registered for the program type's hook.
    if !allowed(&k.name, cx.input.prog_type) {
        return rej(
            pc,
            Class::Helper,
            format!("calling kernel function {} is not allowed", k.name),
            Some(format!(
                "{} is not registered for {} programs",
                k.name,
                bpf_insn::object::prog_type_name(cx.input.prog_type)
            )),
            st,
            maps,
        );
    }
    let since = match k.model {
        Model::IterNew(t) | Model::IterNext(t) | Model::IterDestroy(t) => ITERS[t as usize].1,
        Model::CastToKernCtx | Model::RdonlyCast => (6, 2),
        Model::Other => {
            return rej(
                pc,
                Class::Unsupported,
                format!("kfunc {} (btf id {}) is not modelled", k.name, k.id),
                Some("this verifier models the num and bits iterators, bpf_cast_to_kern_ctx and bpf_rdonly_cast".into()),
                st,
                maps,
            )
        }
    };
    if !cx.kernel.at_least(since) {
        return rej(
            pc,
            Class::Helper,
            format!("calling kernel function {} is not allowed", k.name),
            Some(format!(
                "{} arrived in {}.{}; the target kernel {} does not have it",
                k.name, since.0, since.1, cx.kernel
            )),
            st,
            maps,
        );
    }
    let iter = matches!(
        k.model,
        Model::IterNew(_) | Model::IterNext(_) | Model::IterDestroy(_)
    );
    // References are neither acquired nor released inside callbacks in this model (as for
    // sockets): an iterator used under bpf_loop & co. is refused, not judged.
    if iter && st.frames.iter().any(|f| f.callback.is_some()) {
        return rej(
            pc,
            Class::Unsupported,
            format!("{} inside a callback is not modelled", k.name),
            None,
            st,
            maps,
        );
    }
    match k.model {
        Model::IterNew(t) => iter_new(cx, pc, st, &k, t),
        Model::IterNext(t) => iter_next(cx, pc, st, &k, t),
        Model::IterDestroy(t) => iter_destroy(cx, pc, st, &k, t),
        Model::CastToKernCtx => {
            // KF_ARG_PTR_TO_CTX: the unmodified context.
            match cx.read_reg(pc, st, 1)? {
                Reg::Ptr(Ptr {
                    kind: Kind::Ctx,
                    off: 0,
                    var,
                    ..
                }) if var.value() == Some(0) => {}
                r => {
                    return rej(
                        pc,
                        Class::Helper,
                        format!(
                            "arg#0 expected pointer to ctx, but got {}",
                            sock::type_str(&r)
                        ),
                        None,
                        st,
                        maps,
                    )
                }
            }
            // get_kern_ctx_btf_id: the kernel's context type (bpf_types.h) must be a
            // struct; it is a u64 or void * for these types.
            if matches!(
                cx.input.prog_type,
                5 | 17 | 20 | 24 | 26 | 27 | 28 | 29 | 31
            ) {
                return rej(
                    pc,
                    Class::Helper,
                    "kern ctx type is not a struct",
                    Some(format!(
                        "{} programs have no kernel context struct to cast to",
                        bpf_insn::object::prog_type_name(cx.input.prog_type)
                    )),
                    st,
                    maps,
                );
            }
            clobber(st, Reg::Uninit);
            Ok(Next::Goto(pc + 1))
        }
        Model::RdonlyCast => {
            // obj__ign is not checked; btf_id__k must be a constant naming a struct.
            let c = match cx.read_reg(pc, st, 2)? {
                Reg::Scalar(s) => s.value(),
                _ => None,
            };
            let Some(c) = c else {
                return rej(
                    pc,
                    Class::Helper,
                    "R2 must be a known constant",
                    None,
                    st,
                    maps,
                );
            };
            let is_struct = u32::try_from(c)
                .ok()
                .and_then(|c| k.btf.get(c))
                .is_some_and(|t| {
                    matches!(t.kind, btf::Kind::Struct { .. } | btf::Kind::Union { .. })
                });
            if !is_struct {
                return rej(
                    pc,
                    Class::Helper,
                    "kfunc bpf_rdonly_cast type ID argument must be of a struct",
                    None,
                    st,
                    maps,
                );
            }
            clobber(st, Reg::Uninit);
            Ok(Next::Goto(pc + 1))
        }
        Model::Other => unreachable!("refused above"),
    }
}

/// `generic_btf_ids` of kernel/bpf/helpers.c (6.12), registered for the TRACING, TC, XDP,
/// STRUCT_OPS, SYSCALL and CGROUP hooks.
const GENERIC: &[&str] = &[
    "crash_kexec",
    "bpf_obj_new_impl",
    "bpf_percpu_obj_new_impl",
    "bpf_obj_drop_impl",
    "bpf_percpu_obj_drop_impl",
    "bpf_refcount_acquire_impl",
    "bpf_list_push_front_impl",
    "bpf_list_push_back_impl",
    "bpf_list_pop_front",
    "bpf_list_pop_back",
    "bpf_task_acquire",
    "bpf_task_release",
    "bpf_rbtree_remove",
    "bpf_rbtree_add_impl",
    "bpf_rbtree_first",
    "bpf_cgroup_acquire",
    "bpf_cgroup_release",
    "bpf_cgroup_ancestor",
    "bpf_cgroup_from_id",
    "bpf_task_under_cgroup",
    "bpf_task_get_cgroup1",
    "bpf_task_from_pid",
    "bpf_throw",
];

/// Whether program type `pt` may call kfunc `name` (btf_kfunc_id_set_contains through
/// bpf_prog_type_to_kfunc_hook). Only the sets this model knows are judged: the common
/// set (every type), `generic_btf_ids` and the cpumask kfuncs (kernel/bpf/cpumask.c:
/// TRACING, STRUCT_OPS and SYSCALL hooks); other kfuncs pass here and are refused as not
/// modelled.
fn allowed(name: &str, pt: u32) -> bool {
    // bpf_prog_type_to_kfunc_hook: tracing, tracepoint, perf_event and LSM share a hook;
    // so do the cgroup types.
    let tracing = matches!(pt, 5 | 7 | 26 | 29);
    let cgroup = matches!(pt, 8 | 9 | 15 | 18 | 23 | 25);
    let (tc, xdp, struct_ops, syscall) = (pt == 3, pt == 6, pt == 27, pt == 31);
    if GENERIC.contains(&name) {
        return tracing || cgroup || tc || xdp || struct_ops || syscall;
    }
    if name.starts_with("bpf_cpumask_") {
        return tracing || struct_ops || syscall;
    }
    true
}

/// R1-R5 unreadable after the call, R0 the result.
fn clobber(st: &mut State, r0: Reg) {
    let f = st.cur_mut();
    for r in 1..=5 {
        f.regs[r] = Reg::Uninit;
    }
    f.regs[0] = r0;
}

/// A scalar argument (`R%d is not a scalar`).
fn scalar_arg(cx: &Ctx<'_>, pc: usize, st: &State, r: u8) -> Res<()> {
    match cx.read_reg(pc, st, r)? {
        Reg::Scalar(_) => Ok(()),
        _ => rej(
            pc,
            Class::Helper,
            format!("R{r} is not a scalar"),
            None,
            st,
            cx.input.maps,
        ),
    }
}

/// The size of `struct bpf_iter_<name>` in the target's BTF (a multiple of 8).
fn iter_size(k: &Kfunc, t: u8) -> Option<usize> {
    let id = k
        .btf
        .struct_named(&format!("bpf_iter_{}", ITERS[t as usize].0))?;
    let n = k.btf.size_of(id)? as usize;
    (n > 0 && n.is_multiple_of(8) && n <= STACK).then_some(n)
}

/// R1 as an iterator pointer: a stack pointer at a constant offset that is a multiple of 8
/// (process_iter_arg, iter_get_spi).
fn iter_arg(cx: &Ctx<'_>, pc: usize, st: &State) -> Res<(usize, usize)> {
    let maps = cx.input.maps;
    let v = cx.read_reg(pc, st, 1)?;
    let Reg::Ptr(
        p @ Ptr {
            kind: Kind::Stack(_),
            nullable: false,
            ..
        },
    ) = v
    else {
        return rej(
            pc,
            Class::Helper,
            "arg#0 expected pointer to an iterator on stack",
            None,
            st,
            maps,
        );
    };
    let Some(c) = p.var.value() else {
        return rej(
            pc,
            Class::Helper,
            "iter has to be at a constant offset",
            None,
            st,
            maps,
        );
    };
    let o = p.off.wrapping_add(c as i64);
    if o % 8 != 0 {
        return rej(
            pc,
            Class::Helper,
            format!("cannot pass in iter at an offset={o}"),
            None,
            st,
            maps,
        );
    }
    match iter_slot(&v) {
        Some((fr, _)) if fr >= st.frames.len() => rej(
            pc,
            Class::Pointer,
            "arg#0 points into the stack of a function that has returned",
            None,
            st,
            maps,
        ),
        Some(s) => Ok(s),
        None => rej(
            pc,
            Class::Bounds,
            format!("invalid write to stack R1 off={o} size=8: outside the 512-byte stack"),
            None,
            st,
            maps,
        ),
    }
}

fn iter_new(cx: &mut Ctx<'_>, pc: usize, st: &mut State, k: &Kfunc, t: u8) -> Res<Next> {
    let maps = cx.input.maps;
    let name = ITERS[t as usize].0;
    let Some(size) = iter_size(k, t) else {
        return rej(
            pc,
            Class::Unsupported,
            format!("struct bpf_iter_{name} is not in the kernel's BTF"),
            None,
            st,
            maps,
        );
    };
    let (fr, start) = iter_arg(cx, pc, st)?;
    if start + size > STACK {
        return rej(
            pc,
            Class::Bounds,
            format!(
                "invalid write to stack R1 off={} size=8: the {size}-byte iterator leaves the stack",
                start as i64 - STACK as i64
            ),
            None,
            st,
            maps,
        );
    }
    // is_iter_reg_valid_uninit
    if st.frames[fr].stack.bytes[start..start + size].contains(&SLOT_ITER) {
        return rej(
            pc,
            Class::Helper,
            format!("expected uninitialized iter_{name} as arg #0"),
            Some("destroy the iterator before creating another in its slots".into()),
            st,
            maps,
        );
    }
    // The arguments after the iterator.
    match t {
        // bpf_iter_num_new(it, int start, int end)
        0 => {
            scalar_arg(cx, pc, st, 2)?;
            scalar_arg(cx, pc, st, 3)?;
        }
        // bpf_iter_bits_new(it, const u64 *unsafe_ptr__ign, u32 nr_words)
        _ => scalar_arg(cx, pc, st, 3)?,
    }
    // check_mem_access of each 8-byte slot as a write, then mark_stack_slots_iter.
    for j in (0..size).step_by(8) {
        cx.access(pc, st, 1, j as i16, 8, Some(Reg::unknown()), false)?;
    }
    let id = cx.new_id();
    let stack = &mut st.frames[fr].stack;
    stack.bytes[start..start + size].fill(SLOT_ITER);
    for s in start / 8..(start + size) / 8 {
        stack.spills[s] = None;
        stack.narrow[s] = 0;
    }
    stack.iters.push(Iter {
        start: start as u16,
        size: size as u16,
        ty: t,
        active: true,
        depth: 0,
        ref_id: id,
    });
    st.refs.held.push((id, pc as u32));
    clobber(st, Reg::unknown());
    Ok(Next::Goto(pc + 1))
}

/// The initialised iterator of type `t` R1 points to (is_iter_reg_valid_init): its frame
/// and index in the frame's iterators.
fn init_iter(cx: &Ctx<'_>, pc: usize, st: &State, t: u8) -> Res<(usize, usize)> {
    let (fr, start) = iter_arg(cx, pc, st)?;
    match st.frames[fr]
        .stack
        .iters
        .iter()
        .position(|it| usize::from(it.start) == start && it.ty == t)
    {
        Some(k) => Ok((fr, k)),
        None => rej(
            pc,
            Class::Helper,
            format!(
                "expected an initialized iter_{} as arg #0",
                ITERS[t as usize].0
            ),
            None,
            st,
            cx.input.maps,
        ),
    }
}

fn iter_next(cx: &mut Ctx<'_>, pc: usize, st: &mut State, k: &Kfunc, t: u8) -> Res<Next> {
    let (fr, n) = init_iter(cx, pc, st, t)?;
    // The `int *` it returns: PTR_TO_MEM | MEM_RDONLY of the int's size.
    let size = k
        .btf
        .func_proto(k.id)
        .and_then(
            |(ret, _)| match k.btf.get(k.btf.resolve(ret)).map(|t| &t.kind) {
                Some(btf::Kind::Ptr(to)) => k.btf.size_of(k.btf.resolve(*to)),
                _ => None,
            },
        )
        .unwrap_or(4) as u32;
    let active = st.frames[fr].stack.iters[n].active;
    // process_iter_next_call: the active iterator goes one level deeper with R0 not NULL;
    // the current path sees it drained, R0 = NULL.
    let next = if active {
        let mut a = st.clone();
        let it = &mut a.frames[fr].stack.iters[n];
        it.depth += 1;
        clobber(
            &mut a,
            Reg::Ptr(Ptr {
                kind: Kind::RdMem(size),
                off: 0,
                var: Scalar::konst(0),
                id: 0,
                nullable: false,
                range: 0,
            }),
        );
        Some(a)
    } else {
        None
    };
    st.frames[fr].stack.iters[n].active = false;
    clobber(st, Reg::konst(0));
    Ok(match next {
        Some(a) => Next::Branch((pc + 1, st.clone()), (pc + 1, a)),
        None => Next::Goto(pc + 1),
    })
}

fn iter_destroy(cx: &mut Ctx<'_>, pc: usize, st: &mut State, _k: &Kfunc, t: u8) -> Res<Next> {
    let (fr, n) = init_iter(cx, pc, st, t)?;
    let it = st.frames[fr].stack.iters.remove(n);
    let start = usize::from(it.start);
    st.frames[fr].stack.bytes[start..start + usize::from(it.size)].fill(SLOT_INVALID);
    st.refs.held.retain(|(id, _)| *id != it.ref_id);
    clobber(st, Reg::Uninit);
    Ok(Next::Goto(pc + 1))
}
