//! Global subprograms: the kernel verifies each one on its own, once, for any arguments
//! that match its BTF prototype (`do_check_subprogs`), and a call to one only checks the
//! arguments against that prototype (`btf_check_func_arg_match`); the caller gets an
//! unknown scalar back. Static subprograms are verified inline, with the caller's values.
//!
//! This module reads the prototypes (`btf_prepare_func_args`), checks a call's arguments,
//! builds the state a global function is verified from, and checks the stack depth of
//! every call chain (`check_max_stack_depth`), which only the whole call graph gives.

use super::*;

/// A global subprogram, as its BTF prototype declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalFunc {
    /// Its first instruction.
    pub start: usize,
    pub name: String,
    /// Its arguments as the verifier types them, or why the kernel refuses the prototype
    /// (the message of `btf_prepare_func_args`).
    pub args: Result<Vec<GlobalArg>, String>,
}

/// The type of an argument of a global function (`bpf_subprog_arg_info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlobalArg {
    /// An int or enum: any scalar (ARG_ANYTHING).
    Scalar,
    /// The program's context (ARG_PTR_TO_CTX): a pointer to its context type, or tagged
    /// `arg:ctx`.
    Ctx,
    /// Any other pointer to a sized type (ARG_PTR_TO_MEM): `size` bytes that the callee may
    /// read and write; NULL unless tagged `arg:nonnull`.
    Mem { size: u32, nullable: bool },
    /// Dynptr and `arg:arena` arguments (and `arg:trusted` pointers to non-structs), which
    /// this verifier does not model.
    Unmodelled(&'static str),
    /// `arg:trusted` (ARG_PTR_TO_BTF_ID | PTR_TRUSTED, btf_get_ptr_to_btf_id): a pointer to
    /// the kernel struct of this name (the program's, without its `___flavor`), NULL-able
    /// with `arg:nullable`.
    Trusted { name: String, nullable: bool },
}

/// The global subprograms of `prog` (linkage 1 in its BTF `FUNC`), with their prototypes
/// read as `kernel` reads them for a program of type `prog_type`. `arg:` declaration tags
/// exist since 6.8; older kernels ignore them.
pub fn global_funcs(
    btf: Option<&btf::Btf>,
    prog: &bpf_insn::object::Program,
    prog_type: u32,
    kernel: &Kernel,
) -> Vec<GlobalFunc> {
    let Some(b) = btf else {
        return Vec::new();
    };
    prog.func_info
        .iter()
        .filter(|(at, f)| {
            *at > 0
                && matches!(
                    b.get(*f).map(|t| &t.kind),
                    Some(btf::Kind::Func { linkage: 1, .. })
                )
        })
        .map(|&(start, f)| GlobalFunc {
            start,
            name: b.name(f).to_string(),
            args: prototype(b, f, prog_type, &prog.section, kernel),
        })
        .collect()
}

/// `btf_prepare_func_args` for a global function.
fn prototype(
    b: &btf::Btf,
    func: u32,
    prog_type: u32,
    section: &str,
    kernel: &Kernel,
) -> Result<Vec<GlobalArg>, String> {
    use btf::Kind as K;
    let name = b.name(func);
    let kind = |id| b.get(id).map(|t| &t.kind);
    let Some(K::Func { proto, .. }) = kind(func) else {
        return Err(format!("Invalid type of function {name}()"));
    };
    let Some(K::FuncProto { ret, params }) = kind(*proto) else {
        return Err(format!("Invalid type of function {name}()"));
    };
    if params.len() > 5 {
        return Err(format!(
            "Global function {name}() with {} > 5 args. Buggy compiler.",
            params.len()
        ));
    }
    if !matches!(kind(b.resolve(*ret)), Some(K::Int { .. } | K::Enum { .. })) {
        return Err(format!(
            "Global function {name}() doesn't return scalar. Only those are supported."
        ));
    }
    let mut out = Vec::new();
    for (i, param) in params.iter().enumerate() {
        let mut tags: Vec<&str> = Vec::new();
        if kernel.at_least((6, 8)) {
            for id in 1..b.len() as u32 {
                if let Some(K::DeclTag { type_id, component }) = kind(id) {
                    if *type_id == func && *component == i as i32 {
                        if let Some(tag) = b.name(id).strip_prefix("arg:") {
                            if !["ctx", "trusted", "nonnull", "nullable", "arena"].contains(&tag) {
                                return Err(format!("arg#{i} has unsupported set of tags"));
                            }
                            tags.push(tag);
                        }
                    }
                }
            }
        }
        let has = |t: &str| tags.contains(&t);
        let t = b.resolve(param.type_id);
        let Some(K::Ptr(pointee)) = kind(t) else {
            if !tags.is_empty() {
                return Err(format!(
                    "arg#{i} has pointer tag, but is not a pointer type"
                ));
            }
            if matches!(kind(t), Some(K::Int { .. } | K::Enum { .. })) {
                out.push(GlobalArg::Scalar);
                continue;
            }
            return Err(format!(
                "Arg#{i} type {} in {name}() is not supported yet.",
                b.c_type(t)
            ));
        };
        let combination = || Err(format!("arg#{i} has invalid combination of tags"));
        if has("ctx") || is_ctx_type(b, *pointee, prog_type) {
            if tags.iter().any(|t| *t != "ctx") {
                return combination();
            }
            if has("ctx") {
                valid_ctx_tag(b, *pointee, prog_type, section, i)?;
            }
            out.push(GlobalArg::Ctx);
            continue;
        }
        let target = b.resolve(*pointee);
        if matches!(kind(target), Some(K::Struct { .. })) && b.name(target) == "bpf_dynptr" {
            if !tags.is_empty() {
                return combination();
            }
            out.push(GlobalArg::Unmodelled("a dynptr"));
            continue;
        }
        if has("trusted") {
            if has("nonnull") {
                return combination();
            }
            if matches!(kind(target), Some(K::Struct { .. })) {
                let name = b.name(target);
                out.push(GlobalArg::Trusted {
                    name: name.split("___").next().unwrap_or(name).to_string(),
                    nullable: has("nullable"),
                });
            } else {
                out.push(GlobalArg::Unmodelled(
                    "a trusted kernel pointer (arg:trusted) to a non-struct",
                ));
            }
            continue;
        }
        if has("arena") {
            if tags.len() > 1 {
                return Err(format!(
                    "arg#{i} arena cannot be combined with any other tags"
                ));
            }
            out.push(GlobalArg::Unmodelled("an arena pointer (arg:arena)"));
            continue;
        }
        if has("nullable") {
            return combination();
        }
        let Some(size) = b.size_of(*pointee).and_then(|s| u32::try_from(s).ok()) else {
            return Err(format!(
                "arg#{i} reference type('{}') size cannot be determined: -22",
                b.c_type(*pointee)
            ));
        };
        out.push(GlobalArg::Mem {
            size,
            nullable: !has("nonnull"),
        });
    }
    Ok(out)
}

/// The name of the context struct of a program type (`bpf_types.h`, the type a program
/// sees); None where the context is not a named struct.
fn ctx_struct(prog_type: u32) -> Option<&'static str> {
    Some(match prog_type {
        1 | 3 | 4 | 8 | 10 | 11 | 12 | 14 | 19 | 22 => "__sk_buff",
        2 => "pt_regs",
        6 => "xdp_md",
        7 => "bpf_perf_event_data",
        9 => "bpf_sock",
        13 => "bpf_sock_ops",
        15 => "bpf_cgroup_dev_ctx",
        16 => "sk_msg_md",
        17 | 24 => "bpf_raw_tracepoint_args",
        18 => "bpf_sock_addr",
        21 => "sk_reuseport_md",
        23 => "bpf_sysctl",
        25 => "bpf_sockopt",
        30 => "bpf_sk_lookup",
        32 => "bpf_nf_ctx",
        _ => return None,
    })
}

/// `btf_is_prog_ctx_type`: whether a pointer to `pointee` is the program's context by its
/// type (its struct name, or a kernel type it projects, `sk_buff` and `xdp_buff`).
fn is_ctx_type(b: &btf::Btf, pointee: u32, prog_type: u32) -> bool {
    if prog_type == 2 && is_user_pt_regs(b, pointee) {
        return true;
    }
    let t = b.resolve(pointee);
    if !matches!(
        b.get(t).map(|t| &t.kind),
        Some(btf::Kind::Struct { .. } | btf::Kind::Union { .. })
    ) {
        return false;
    }
    let name = b.name(t);
    match ctx_struct(prog_type) {
        Some(ctx) => {
            name == ctx
                || (ctx, name) == ("__sk_buff", "sk_buff")
                || (ctx, name) == ("xdp_md", "xdp_buff")
        }
        None => false,
    }
}

/// Whether `id`, after qualifiers but before typedefs, is the typedef `bpf_user_pt_regs_t`.
fn is_user_pt_regs(b: &btf::Btf, mut id: u32) -> bool {
    use btf::Kind as K;
    for _ in 0..64 {
        match b.get(id).map(|t| &t.kind) {
            Some(K::Const(t) | K::Volatile(t) | K::Restrict(t) | K::TypeTag(t)) => id = *t,
            Some(K::Typedef(_)) => return b.name(id) == "bpf_user_pt_regs_t",
            _ => return false,
        }
    }
    false
}

/// `btf_validate_prog_ctx_type`: the types an `arg:ctx` argument may point to.
fn valid_ctx_tag(
    b: &btf::Btf,
    pointee: u32,
    prog_type: u32,
    section: &str,
    i: usize,
) -> Result<(), String> {
    use btf::Kind as K;
    if matches!(prog_type, 2 | 7) && is_user_pt_regs(b, pointee) {
        return Ok(());
    }
    let t = b.resolve(pointee);
    let kind = b.get(t).map(|t| &t.kind);
    if matches!(kind, None | Some(K::Void)) {
        return Ok(());
    }
    let name = b.name(t);
    if name.is_empty() {
        return Err(format!("arg#{i} type doesn't have a name"));
    }
    let is_struct = matches!(kind, Some(K::Struct { .. } | K::Union { .. }));
    let is_u64 = matches!(kind, Some(K::Int { size: 8, .. }));
    let sec = section.strip_prefix('?').unwrap_or(section);
    let special = match prog_type {
        2 | 7 => is_struct && name == "pt_regs",
        17 | 24 | LSM | 27 => is_u64,
        TRACING if sec.starts_with("tp_btf") => {
            is_u64 || is_struct && name == "bpf_raw_tracepoint_args"
        }
        TRACING if sec.starts_with("iter") => is_struct && name.starts_with("bpf_iter__"),
        TRACING => is_u64,
        // Tracepoints, syscall and extension programs: anything goes.
        5 | 31 | 28 => return Ok(()),
        _ => false,
    };
    if special {
        return Ok(());
    }
    let Some(ctx) = ctx_struct(prog_type) else {
        return Err(format!("arg#{i} should be void pointer"));
    };
    let ctx = if prog_type == 2 { "pt_regs" } else { ctx };
    if !is_struct || name != ctx {
        return Err(format!("arg#{i} should be `struct {ctx} *`"));
    }
    Ok(())
}

impl Ctx<'_> {
    /// The global function that starts at `start`, when linkage is known.
    pub(super) fn global_func(&self, start: usize) -> Option<&GlobalFunc> {
        self.global_funcs?.iter().find(|g| g.start == start)
    }

    /// A call of global function `g` (check_func_call): the arguments must match its
    /// prototype; the function is then verified on its own (later), and the caller goes on
    /// with R1-R5 clobbered and an unknown scalar in R0.
    pub(super) fn call_global(&mut self, pc: usize, st: &mut State, g: &GlobalFunc) -> Res<Next> {
        let maps = self.input.maps;
        let index = self.funcs.iter().position(|f| *f == g.start).unwrap_or(0);
        let caller_passes = |why: String| {
            format!(
                "Caller passes invalid args into func#{index} ('{}'): {why}",
                g.name
            )
        };
        let args = match &g.args {
            Ok(a) => a,
            Err(why) => {
                return rej(
                    pc,
                    Class::Helper,
                    caller_passes(why.clone()),
                    None,
                    st,
                    maps,
                )
            }
        };
        for (i, arg) in args.iter().enumerate() {
            let r = i as u8 + 1;
            let v = self.read_reg(pc, st, r)?;
            let bad = |why: String, st: &State| {
                rej(
                    pc,
                    Class::Helper,
                    caller_passes(why),
                    Some(format!(
                        "{}() is verified for the arguments its BTF prototype declares; pass what it declares",
                        g.name
                    )),
                    st,
                    maps,
                )
            };
            match (arg, v) {
                (GlobalArg::Scalar, Reg::Scalar(_)) => {}
                (GlobalArg::Scalar, _) => return bad(format!("R{r} is not a scalar"), st),
                (GlobalArg::Ctx, Reg::Ptr(p)) if p.kind == Kind::Ctx => {
                    if p.off != 0 || !p.var.is_const() || p.var.value() != Some(0) {
                        return bad(
                            format!("dereference of modified ctx ptr R{r} off={} disallowed", p.off),
                            st,
                        );
                    }
                }
                (GlobalArg::Ctx, _) => return bad(format!("arg#{i} expects pointer to ctx"), st),
                (GlobalArg::Mem { .. }, Reg::Scalar(s)) if s.value() == Some(0) => {}
                (GlobalArg::Mem { size, nullable }, Reg::Ptr(p)) => {
                    if p.nullable && !nullable {
                        return bad(format!("arg#{i} is expected to be non-NULL"), st);
                    }
                    // check_mem_reg: the callee may read and write all `size` bytes (a
                    // NULL-able pointer is checked as if it were not NULL), and may have
                    // written anything there.
                    let q = Reg::Ptr(Ptr {
                        nullable: false,
                        ..p
                    });
                    st.cur_mut().regs[r as usize] = q;
                    let name = format!("{} (func#{index})", g.name);
                    // A read first (a write-only map refuses it), except of the stack, which
                    // a privileged program may pass uninitialised (allow_uninit_stack).
                    let size = *size as usize;
                    let checked = if matches!(p.kind, Kind::Stack(_)) {
                        Ok(())
                    } else {
                        check_mem_arg(self, pc, st, r, &q, size, false, &name)
                    }
                    .and_then(|()| check_mem_arg(self, pc, st, r, &q, size, true, &name));
                    if let Err(e) = checked {
                        st.cur_mut().regs[r as usize] = v;
                        return bad(e.msg, st);
                    }
                    st.cur_mut().regs[r as usize] = v;
                }
                (GlobalArg::Mem { .. }, _) => {
                    return bad(format!("R{r} is not a pointer to memory or NULL"), st)
                }
                (GlobalArg::Trusted { nullable: true, .. }, Reg::Scalar(s))
                    if s.value() == Some(0) => {}
                (GlobalArg::Trusted { name, nullable }, _) => {
                    // btf_check_func_arg_match: check_reg_type (btf_ptr_types, the struct
                    // by btf_struct_ids_match) and check_func_arg_reg_off.
                    if let Err(why) = self.btf_global_arg(st, r, name, *nullable) {
                        if why.is_empty() {
                            return rej(
                                pc,
                                Class::Unsupported,
                                format!("struct {name} (argument {} of {}()) is not in the kernel's BTF", i + 1, g.name),
                                None,
                                st,
                                maps,
                            );
                        }
                        return bad(why, st);
                    }
                }
                (GlobalArg::Unmodelled(what), _) => {
                    return rej(
                        pc,
                        Class::Unsupported,
                        format!(
                            "argument {} of global function {}() is {what}, which this verifier does not model",
                            i + 1,
                            g.name
                        ),
                        None,
                        st,
                        maps,
                    )
                }
            }
        }
        self.called_globals.insert(g.start);
        // Since the fix that tracks changes_pkt_data through global functions (6.13, in
        // Debian's 6.12 too); Debian's 6.1 keeps the caller's packet pointers. Releases in
        // between are held to the fixed rule.
        if self.kernel.at_least((6, 2))
            && changes_pkt_data(
                self.input.insns,
                &self.funcs,
                g.start,
                &mut HashMap::new(),
                0,
            )
        {
            clear_pkt_pointers(st);
        }
        let f = st.cur_mut();
        for r in 1..=5 {
            f.regs[r] = Reg::Uninit;
        }
        f.regs[0] = Reg::unknown();
        Ok(Next::Goto(pc + 1))
    }
}

/// The state a global function is verified from (do_check_common for a subprogram): its
/// arguments typed by its prototype, in frame 0 of its own.
pub(super) fn entry_state(cx: &mut Ctx<'_>, g: &GlobalFunc) -> State {
    let mut regs = [Reg::Uninit; 11];
    regs[10] = fp(0);
    let ptr = |kind, id, nullable| {
        Reg::Ptr(Ptr {
            kind,
            off: 0,
            var: Scalar::konst(0),
            id,
            nullable,
            range: 0,
        })
    };
    for (i, arg) in g.args.iter().flatten().enumerate() {
        regs[i + 1] = match arg {
            GlobalArg::Scalar | GlobalArg::Unmodelled(_) => Reg::unknown(),
            GlobalArg::Ctx => ptr(Kind::Ctx, 0, false),
            GlobalArg::Mem { size, nullable } => ptr(Kind::Mem(*size), cx.new_id(), *nullable),
            // A struct the kernel's BTF lacks was refused at the call.
            GlobalArg::Trusted { name, nullable } => match cx.btf_struct(name) {
                Some(id) => {
                    let pid = if *nullable { cx.new_id() } else { 0 };
                    btfptr::btf_ptr(id, btfptr::TRUSTED, *nullable, pid)
                }
                None => Reg::unknown(),
            },
        };
    }
    State {
        frames: vec![Frame {
            regs,
            stack: Stack::new(),
            callsite: usize::MAX,
            func: g.start,
            callback: None,
            cb_depth: 0,
        }],
        may_goto_depth: 0,
        refs: sock::Refs::default(),
        lock: maps::Lock::default(),
    }
}

/// Whether the function at `start`, or a function it calls, calls a helper that changes
/// packet data (`mark_subprog_changes_pkt_data`, `merge_callee_effects`). Each function is
/// looked at once (`seen`), however many calls lead to it.
fn changes_pkt_data(
    insns: &[Insn],
    funcs: &[usize],
    start: usize,
    seen: &mut HashMap<usize, bool>,
    depth: usize,
) -> bool {
    if let Some(&known) = seen.get(&start) {
        return known;
    }
    // Deeper chains are refused by check_max_stack_depth whatever this says.
    if depth > MAX_FRAMES {
        return false;
    }
    // check_cfg refused recursion; a cycle (never verified) counts as no change.
    seen.insert(start, false);
    let end = funcs
        .iter()
        .copied()
        .find(|f| *f > start)
        .unwrap_or(insns.len())
        .min(insns.len());
    let changes = (start..end).any(|pc| {
        let i = insns[pc];
        i.is_call()
            && !i.is_reg_src()
            && match i.src {
                pseudo::CALL_LOCAL => {
                    let to = pc as i64 + 1 + i.imm as i64;
                    to >= 0 && changes_pkt_data(insns, funcs, to as usize, seen, depth + 1)
                }
                0 => CHANGES_PKT_DATA.contains(&i.imm),
                _ => false,
            }
    });
    seen.insert(start, changes);
    changes
}

/// Every packet pointer, in every frame, becomes unusable (clear_all_pkt_pointers).
pub(super) fn clear_pkt_pointers(st: &mut State) {
    let pkt = |r: &Reg| matches!(r, Reg::Ptr(q) if matches!(q.kind, Kind::Pkt | Kind::PktEnd | Kind::PktMeta));
    for fr in st.frames.iter_mut() {
        for r in fr.regs.iter_mut() {
            if pkt(r) {
                *r = Reg::unknown();
            }
        }
        for s in fr.stack.spills.iter_mut().flatten() {
            if pkt(s) {
                *s = Reg::unknown();
            }
        }
    }
}

/// `check_max_stack_depth`, after every function is verified: along each chain of calls
/// from the main program (BPF-to-BPF calls and callbacks, global functions included), at
/// most 8 frames, whose stack depths, each rounded up as the kernel rounds it, add up to at
/// most 512 bytes.
pub(super) fn check_max_stack_depth(cx: &Ctx<'_>) -> Res<()> {
    let insns = cx.input.insns;
    let kernel = cx.kernel;
    let tail_calls = insns
        .iter()
        .any(|i| i.is_call() && !i.is_reg_src() && i.src == 0 && i.imm == 12);
    // Since 6.13, x86-64 gives tracing programs without tail calls a private stack for each
    // function of 64 bytes or more (bpf_enable_priv_stack), outside the combined depth.
    let private = kernel.at_least((6, 13))
        && !tail_calls
        && match cx.input.prog_type {
            ptype::KPROBE | ptype::TRACEPOINT | ptype::PERF_EVENT | ptype::RAW_TRACEPOINT => true,
            TRACING => !cx
                .section
                .is_some_and(|s| s.trim_start_matches('?').starts_with("iter")),
            _ => false,
        };
    let round = |d: usize| {
        if kernel.at_least((6, 12)) {
            // round_up_stack_depth with the JIT: to 16 bytes.
            d.next_multiple_of(16)
        } else {
            // The interpreter's granularity, which older kernels applied to all.
            d.max(1).next_multiple_of(32)
        }
    };
    let fail = |msg: String| {
        Err(Rejection {
            pc: 0,
            class: Class::Bounds,
            msg,
            hint: Some(
                "make the stack frames smaller (a global function's frame adds to its callers')"
                    .into(),
            ),
            regs: String::new(),
            explain: None,
        })
    };
    // The deepest chain below each function (its depth, its frames), memoised; check_cfg
    // has refused recursion, and chains longer than 8 frames are refused on the way.
    let own = |start: usize| {
        let d = round(cx.fastcall_depth(start));
        if private && d >= 64 {
            0
        } else {
            d
        }
    };
    let callees = |start: usize| {
        let end = cx
            .funcs
            .iter()
            .copied()
            .find(|f| *f > start)
            .unwrap_or(insns.len())
            .min(insns.len());
        (start..end)
            .filter_map(|pc| {
                let i = insns[pc];
                let call = i.is_call() && !i.is_reg_src() && i.src == pseudo::CALL_LOCAL;
                let func = i.is_lddw() && i.src == pseudo::FUNC;
                let to = pc as i64 + 1 + i.imm as i64;
                ((call || func) && to > 0 && (to as usize) < insns.len()).then_some(to as usize)
            })
            .collect::<Vec<_>>()
    };
    fn chain(
        f: usize,
        level: usize,
        memo: &mut HashMap<usize, (usize, usize)>,
        own: &dyn Fn(usize) -> usize,
        callees: &dyn Fn(usize) -> Vec<usize>,
    ) -> Result<(usize, usize), usize> {
        if level > MAX_FRAMES {
            return Err(level);
        }
        if let Some(&c) = memo.get(&f) {
            return Ok(c);
        }
        let mut deepest = (0, 0);
        for c in callees(f) {
            let below = chain(c, level + 1, memo, own, callees)?;
            deepest = deepest.max(below);
        }
        let c = (own(f) + deepest.0, 1 + deepest.1);
        memo.insert(f, c);
        Ok(c)
    }
    match chain(0, 1, &mut HashMap::new(), &own, &callees) {
        Err(frames) => fail(format!("the call stack of {frames} frames is too deep !")),
        Ok((_, frames)) if frames > MAX_FRAMES => {
            fail(format!("the call stack of {frames} frames is too deep !"))
        }
        Ok((depth, frames)) if depth > STACK => fail(format!(
            "combined stack size of {frames} calls is {depth}. Too large"
        )),
        Ok(_) => Ok(()),
    }
}
