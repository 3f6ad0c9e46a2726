//! Calls and exits: BPF-to-BPF calls, helper calls (argument and return types), and
//! the return value check at exit.

use super::*;

pub(super) fn exit(cx: &mut Ctx<'_>, pc: usize, st: &mut State) -> Res<Next> {
    let maps = cx.input.maps;
    // A static subprogram may return with R0 unset (prepare_func_exit passes it on as it
    // is); the caller then may not read it.
    let cur = st.cur();
    if st.frames.len() > 1
        && cur.callback.is_none()
        && cur.regs[0] == Reg::Uninit
        && cx
            .global_funcs
            .is_some_and(|global| global.iter().all(|g| g.start != cur.func))
    {
        let callee = st.frames.pop().expect("len > 1");
        let caller = st.cur_mut();
        for r in 0..=5 {
            caller.regs[r] = Reg::Uninit;
        }
        return Ok(Next::Goto(callee.callsite + 1));
    }
    let r0 = cx.read_reg(pc, st, 0).map_err(|mut e| {
        e.class = Class::Return;
        e.msg = "R0 !read_ok: R0 is not set at exit".into();
        e.hint = Some("return a value: set r0 before exit".into());
        e
    })?;
    if let Some((lo, hi)) = st.cur().callback {
        // References are neither acquired nor released inside callbacks (`sock::helper`
        // refuses them there), so none can leak from one.
        match r0 {
            Reg::Scalar(s) if s.smin >= lo && s.smax <= hi => {}
            _ => {
                return rej(
                    pc,
                    Class::Return,
                    format!(
                    "At callback return the register R0 has {} should have been in [{lo}, {hi}]",
                    fmt_reg(&r0, maps)
                ),
                    Some(format!(
                        "a callback of this helper returns {lo} (go on) or {hi} (stop)"
                    )),
                    st,
                    maps,
                )
            }
        }
        // Back to the helper's call: it may call the callback again, or return.
        let callee = st.frames.pop().expect("a callback has a caller");
        st.cur_mut().cb_depth += 1;
        return Ok(Next::Goto(callee.callsite));
    }
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
    // check_reference_leak: no socket reference may be held at the program's exit.
    sock::check_leak(pc, st, maps)?;
    // A global function verified on its own (check_return_code for a subprogram): any
    // scalar, whatever the program type.
    if st.cur().func != 0 {
        if let Reg::Scalar(_) = r0 {
            return Ok(Next::End);
        }
        return rej(
            pc,
            Class::Return,
            format!(
                "At subprogram exit the register R0 is not a scalar value ({})",
                fmt_reg(&r0, maps)
            ),
            Some("a global function returns an int".into()),
            st,
            maps,
        );
    }
    // Return value ranges checked by the kernel for some types.
    let range: Option<(i64, i64)> = match cx.input.prog_type {
        ptype::CGROUP_SKB | ptype::CGROUP_SOCK | ptype::CGROUP_DEVICE | ptype::CGROUP_SYSCTL => {
            Some((0, 1))
        }
        CGROUP_SOCK_ADDR => Some(sock_addr_return_range(cx.section)),
        pt => {
            // BTF-typed and netfilter programs (progtypes.rs), with the kernel's message.
            if let Some(((lo, hi), ret32)) = btf_return_range(pt, cx.attach.as_ref()) {
                let ok = match r0 {
                    Reg::Scalar(s) if ret32 => {
                        s32_range(&s).is_some_and(|(a, b)| a >= lo && b <= hi)
                    }
                    Reg::Scalar(s) => s.smin >= lo && s.smax <= hi,
                    _ => false,
                };
                if !ok {
                    return rej(
                        pc,
                        Class::Return,
                        invalid_scalar_msg(&r0, lo, hi),
                        Some(format!("this program must return a value in [{lo}, {hi}]")),
                        st,
                        maps,
                    );
                }
            }
            None
        }
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

/// The return values a cgroup sock_addr program may give, by its hook (check_return_code):
/// recvmsg, getpeername and getsockname hooks 1, bind hooks 0 to 3, the others 0 or 1. An
/// unknown hook gets the intersection, 1.
fn sock_addr_return_range(section: Option<&str>) -> (i64, i64) {
    let hook = section
        .map(|s| s.strip_prefix('?').unwrap_or(s))
        .and_then(|s| s.strip_prefix("cgroup/"))
        .unwrap_or("");
    let one = ["recvmsg", "getpeername", "getsockname"];
    if one.iter().any(|h| hook.starts_with(h)) {
        (1, 1)
    } else if hook == "bind4" || hook == "bind6" {
        (0, 3)
    } else if ["connect", "sendmsg"].iter().any(|h| hook.starts_with(h)) {
        (0, 1)
    } else {
        (1, 1)
    }
}

pub(super) fn call(cx: &mut Ctx<'_>, pc: usize, st: &mut State, i: Insn) -> Res<Next> {
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
            let target = (pc as i64 + 1 + i.imm as i64) as usize;
            if let Some(g) = cx.global_func(target).cloned() {
                return cx.call_global(pc, st, &g);
            }
            check_depth(pc, st, maps)?;
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
                callback: None,
                cb_depth: 0,
            });
            Ok(Next::Goto(target))
        }
        pseudo::CALL_KFUNC => kfunc::kfunc_call(cx, pc, st, i),
        _ => helper_call(cx, pc, st, i.imm),
    }
}

pub(super) fn helper_call(cx: &mut Ctx<'_>, pc: usize, st: &mut State, id: i32) -> Res<Next> {
    let maps = cx.input.maps;
    let pt = cx.input.prog_type;
    let kernel = cx.kernel;
    let Some(p) = helpers::proto(id) else {
        return rej(
            pc,
            Class::Helper,
            format!("invalid func unknown#{id}"),
            Some("this helper does not exist, or is not modelled (the model knows the helpers of Linux 6.12's uapi, ids 1-211, except a few socket-map, lirc and tcp ones)".into()),
            st,
            maps,
        );
    };
    match cx
        .btf_helper_avail(p)
        .unwrap_or_else(|| helpers::unavailable(p, pt, &kernel))
    {
        Option::None => {}
        Some(helpers::Unavailable::NotYet((a, b))) => {
            return rej(
                pc,
                Class::Helper,
                format!("invalid func unknown#{id}"),
                Some(format!(
                    "bpf_{} arrived in {a}.{b}; the target kernel {kernel} does not have it",
                    p.name
                )),
                st,
                maps,
            )
        }
        Some(helpers::Unavailable::NotForType { later }) => {
            return rej(
                pc,
                Class::Helper,
                format!("program of this type cannot use helper bpf_{}#{id}", p.name),
                Some(format!(
                    "bpf_{} is not available to {} programs in {kernel}{}",
                    p.name,
                    bpf_insn::object::prog_type_name(pt),
                    later
                        .map(|(a, b)| format!(" (it is from {a}.{b})"))
                        .unwrap_or_default()
                )),
                st,
                maps,
            )
        }
    }
    // `might_sleep` helpers: only in sleepable programs (`.s` sections, progtypes.rs).
    if helpers::might_sleep(id) && !cx.attach.as_ref().is_some_and(|a| a.sleepable) {
        return rej(
            pc,
            Class::Helper,
            "helper call might sleep in a non-sleepable prog",
            Some(format!(
                "bpf_{} may fault in user memory and sleep; only sleepable programs (BPF_F_SLEEPABLE fentry, LSM, iterators) may call it",
                p.name
            )),
            st,
            maps,
        );
    }
    // bpf_spin_lock, bpf_spin_unlock (see `maps`).
    if matches!(p.id, 93 | 94) {
        return maps::spin_lock_call(cx, pc, st, p);
    }
    // Socket lookups, casts and release (see `sock`).
    if sock::handles(p.id, st, maps) {
        return sock::helper(cx, pc, st, p);
    }
    // Dynptrs (see `dynptr`).
    if dynptr::handles(p.id) {
        return dynptr::helper(cx, pc, st, p);
    }
    // check_helper_call: a tail call while a reference is held would leak it.
    if p.id == 12 && !st.refs.held.is_empty() {
        return rej(
            pc,
            Class::Pointer,
            "tail_call would lead to reference leak",
            Some("release every socket before bpf_tail_call".into()),
            st,
            maps,
        );
    }
    // BTF-typed arguments and results (see `btfptr`).
    if let Some(m) = cx.btf_helper_refused(p.id) {
        return rej(pc, Class::Helper, m, None, st, maps);
    }
    let other = p
        .args
        .iter()
        .enumerate()
        .find_map(|(k, a)| match a {
            Arg::Other("ARG_PTR_TO_BTF_ID") if cx.btf_arg_modelled(p.id, k) => Option::None,
            Arg::Other(what) => Some(format!("argument {} is {what}", k + 1)),
            _ => Option::None,
        })
        .or(match p.ret {
            Ret::Other(_) if cx.btf_ret_modelled(p.id) => Option::None,
            Ret::Other(what) => Some(format!("it returns {what}")),
            _ => Option::None,
        });
    if let Some(what) = other {
        return rej(
            pc,
            Class::Unsupported,
            format!("bpf_{}#{id} is not modelled: {what}", p.name),
            Some("this verifier does not model BTF pointers (including BTF sockets), dynptrs, timers, callbacks or constant strings".into()),
            st,
            maps,
        );
    }
    // Read before the arguments are checked, as the kernel does (`get_constant_map_key`).
    let not_null = id == 1 && cx.kernel.const_key_not_null() && const_key_in_range(st, maps);
    let mut found = HelperArgs::default();
    for (k, arg) in p.args.iter().enumerate() {
        if *arg == Arg::None {
            break;
        }
        helper_arg(cx, pc, st, p, k, &mut found)?;
    }
    // check_helper_call: bpf_get_local_storage cannot fail, so its flags must be 0.
    if p.id == 81 && !matches!(st.cur().regs[2], Reg::Scalar(s) if s.value() == Some(0)) {
        return rej(
            pc,
            Class::Helper,
            "get_local_storage() doesn't support non-zero flags",
            None,
            st,
            maps,
        );
    }
    // A callback: verified as a call from here, with the arguments the helper gives it;
    // when it returns, the helper may call it again (the walk comes back to this
    // instruction), or return (this path goes on).
    let calls_left = match (p.id, st.cur().regs[1]) {
        (181, Reg::Scalar(n)) => u64::from(st.cur().cb_depth) < n.umax,
        (164, _) => found.map.is_some_and(|m| {
            st.cur().cb_depth < maps.get(m as usize).map_or(u32::MAX, |m| m.max_entries)
        }),
        _ => true,
    };
    let called = match found.callback {
        Some(t) if calls_left => Some(callback_state(cx, pc, st, p.id, t as usize, found.map)?),
        _ => None,
    };
    st.cur_mut().cb_depth = 0;
    // Helpers that may move or resize the packet (the kernel's
    // bpf_helper_changes_pkt_data) make every packet pointer, in every frame, unusable.
    if CHANGES_PKT_DATA.contains(&p.id) {
        global::clear_pkt_pointers(st);
    }
    // do_refine_retval_range: these return a length up to their size argument's bound
    // (meta->msize_max_value), or -errno.
    let size_arg = match p.id {
        // get_stack, get_task_stack: (ctx/task, buf, size, flags)
        67 | 141 => Some(3),
        // probe_read_str, probe_read_user_str, probe_read_kernel_str: (dst, size, src)
        45 | 114 | 115 => Some(2),
        _ => None,
    };
    let refined = size_arg.and_then(|r| match st.cur().regs[r] {
        Reg::Scalar(size) => {
            let mut s = Scalar::unknown();
            s.smin = -4095;
            s.s32min = -4095;
            s.smax = size.umax as i64;
            s.s32max = size.umax as i32;
            s.sync();
            Some(s)
        }
        _ => None,
    });
    // Effects: R1-R5 clobbered, R0 the result.
    if let Some(rid) = found.release_id {
        sock::release(st, rid);
    }
    if (p.ret == Ret::AllocMemOrNull || found.release_id.is_some())
        && st.frames.iter().any(|f| f.callback.is_some())
    {
        return rej(
            pc,
            Class::Unsupported,
            format!("bpf_{} in a callback is not modelled", p.name),
            Some(
                "references (ring-buffer records, sockets) are tracked outside callbacks only"
                    .into(),
            ),
            st,
            maps,
        );
    }
    let btf_ret = match p.ret {
        Ret::Other(_) => cx.btf_helper_ret(p.id),
        _ => Option::None,
    };
    let r0 = match p.ret {
        Ret::Integer if refined.is_some() => Reg::Scalar(refined.expect("checked")),
        Ret::Other(_) if btf_ret.is_some() => btf_ret.expect("checked"),
        // RET_VOID: R0 is NOT_INIT after the call (check_helper_call).
        Ret::Void => Reg::Uninit,
        Ret::Integer | Ret::Other(_) => Reg::unknown(),
        // RET_PTR_TO_MAP_VALUE (check_helper_call): a value of the map, not NULL.
        Ret::MapValue => {
            let m = found.map.expect("ConstMapPtr checked");
            let id = maps::value_id(cx, m, false);
            Reg::Ptr(Ptr {
                kind: Kind::MapValue(m),
                off: 0,
                var: Scalar::konst(0),
                id,
                nullable: false,
                range: 0,
            })
        }
        Ret::MapValueOrNull => {
            let m = found.map.expect("ConstMapPtr checked");
            let id = maps::value_id(cx, m, true);
            Reg::Ptr(Ptr {
                kind: Kind::MapValue(m),
                off: 0,
                var: Scalar::konst(0),
                id,
                nullable: !not_null,
                range: 0,
            })
        }
        Ret::AllocMemOrNull => {
            // A ring-buffer record is a reference (is_acquire_function): it must be
            // submitted or discarded on every path where it is not NULL.
            let id = cx.new_id();
            st.refs.held.push((id, pc as u32));
            Reg::Ptr(Ptr {
                kind: Kind::Mem(found.alloc_size.unwrap_or(0) as u32),
                off: 0,
                var: Scalar::konst(0),
                id,
                nullable: true,
                range: 0,
            })
        }
    };
    let f = st.cur_mut();
    for r in 1..=5 {
        f.regs[r] = Reg::Uninit;
    }
    f.regs[0] = r0;
    if let Some(cb) = called {
        return Ok(Next::Branch((pc + 1, st.clone()), (cb.func_start(), cb)));
    }
    Ok(Next::Goto(pc + 1))
}

/// The state at the start of the callback `target` of helper `id` called at `pc`: a new
/// frame whose registers are what the kernel passes (`set_loop_callback_state`,
/// `set_map_elem_callback_state`), whose R0 must end in [0, 1].
fn callback_state(
    cx: &mut Ctx<'_>,
    pc: usize,
    st: &State,
    id: i32,
    target: usize,
    map: Option<u32>,
) -> Res<State> {
    let maps = cx.input.maps;
    check_depth(pc, st, maps)?;
    let caller = st.cur().regs;
    let depth = st.frames.len() as u8;
    let mut regs = [Reg::Uninit; 11];
    let ptr = |kind| {
        Reg::Ptr(Ptr {
            kind,
            off: 0,
            var: Scalar::konst(0),
            id: 0,
            nullable: false,
            range: 0,
        })
    };
    match (id, map) {
        // bpf_loop(nr, cb, ctx, flags): cb(u64 index, void *ctx).
        (181, _) => {
            regs[1] = Reg::unknown();
            regs[2] = caller[3];
        }
        // bpf_for_each_map_elem(map, cb, ctx, flags): cb(map, key, value, ctx).
        (164, Some(m)) => {
            regs[1] = caller[1];
            regs[2] = ptr(Kind::MapKey(m));
            regs[3] = ptr(Kind::MapValue(m));
            regs[4] = caller[3];
        }
        // Timers' and other helpers' callbacks (asynchronous, or with other arguments).
        _ => {
            return rej(
                pc,
                Class::Unsupported,
                format!("the callback of helper #{id} is not modelled"),
                None,
                st,
                maps,
            )
        }
    }
    regs[10] = fp(depth);
    let mut cb = st.clone();
    cb.frames.push(Frame {
        regs,
        stack: Stack::new(),
        callsite: pc,
        func: target,
        callback: Some((0, 1)),
        cb_depth: 0,
    });
    Ok(cb)
}

impl State {
    /// The first instruction of the current frame's function.
    fn func_start(&self) -> usize {
        self.cur().func
    }
}

/// What the arguments of one helper call established for the arguments after them and
/// for the result.
#[derive(Default)]
pub(super) struct HelperArgs {
    pub(super) map: Option<u32>,
    alloc_size: Option<u64>,
    release_id: Option<u32>,
    /// The callback's first instruction.
    callback: Option<u32>,
}

/// Check argument `k` (in R`k+1`) of helper `p` against its declared type.
pub(super) fn helper_arg(
    cx: &mut Ctx<'_>,
    pc: usize,
    st: &mut State,
    p: &helpers::Proto,
    k: usize,
    found: &mut HelperArgs,
) -> Res<()> {
    let maps = cx.input.maps;
    let arg = &p.args[k];
    let r = (k + 1) as u8;
    let v = cx.read_reg(pc, st, r).map_err(|mut e| {
        e.class = Class::Uninit;
        e.msg = format!(
            "R{r} !read_ok: argument {} of bpf_{} is not initialised",
            k + 1,
            p.name
        );
        e
    })?;
    let want = |what: &str, st: &State| -> Res<()> {
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
        Arg::Other("ARG_PTR_TO_BTF_ID") => cx.btf_helper_arg(pc, st, p, k)?,
        Arg::None | Arg::Anything | Arg::Other(_) => {}
        // The kernel's ARG_ANYTHING: a privileged loader may pass a pointer as a number.
        Arg::Scalar => {}
        Arg::ConstMapPtr => match v {
            Reg::Ptr(Ptr {
                kind: Kind::MapPtr(m),
                ..
            }) => {
                let mi = &maps[m as usize];
                if let Some(why) = helpers::map_incompatible(p.id, mi.map_type) {
                    let class = if matches!(p.id, 1..=3) && !matches!(mi.map_type, 3 | 4 | 7 | 27) {
                        Class::Unsupported
                    } else {
                        Class::Helper
                    };
                    return rej(
                        pc,
                        class,
                        format!(
                            "cannot pass map_type {} into func bpf_{}#{} ({why})",
                            mi.map_type, p.name, p.id
                        ),
                        None,
                        st,
                        maps,
                    );
                }
                maps::check_outer(cx, pc, st, m)?;
                found.map = Some(m);
            }
            _ => return want("map_ptr", st),
        },
        Arg::MapKey | Arg::MapValue => {
            let Some(m) = found.map else {
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
        // NULL with a size of exactly 0 (bpf_csum_diff's "nothing to take away"); anything
        // else is memory as for Mem.
        Arg::MemOrNull
            if matches!(v, Reg::Scalar(s) if s.value() == Some(0))
                && matches!(cx.read_reg(pc, st, r + 1)?, Reg::Scalar(s) if s.umax == 0) => {}
        Arg::Mem | Arg::UninitMem | Arg::MemOrNull => mem_and_size_arg(cx, pc, st, p, k, v)?,
        Arg::Size | Arg::SizeOrZero => {}
        // check_func_arg, ARG_PTR_TO_MEM with MEM_FIXED_SIZE: check_helper_mem_access of the
        // fixed size as a write (MEM_WRITE), then check_ptr_alignment(.., strict = true)
        // for MEM_ALIGNED. Packet pointers are refused by check_mem_arg (these helpers have
        // no pkt_access), so the generic alignment rule is the one that applies.
        Arg::FixedWriteMem(n) | Arg::FixedInOutMem(n) => {
            if matches!(arg, Arg::FixedInOutMem(_)) {
                stack_initialised(pc, st, r, &v, usize::from(*n), maps)?;
            }
            check_mem_arg(cx, pc, st, r, &v, usize::from(*n), true, p.name)?;
            if let Reg::Ptr(q) = v {
                let n = u64::from(*n);
                // check_generic_ptr_alignment: tnum_is_aligned(var_off + off, size).
                let t = q.var.t;
                let low = t.value.wrapping_add(q.off as u64);
                if t.mask & (n - 1) != 0 || low & (n - 1) != 0 {
                    let desc = match q.kind {
                        Kind::Stack(_) => "stack ",
                        Kind::MapValue(_) => "value ",
                        Kind::Ctx => "context ",
                        _ => "",
                    };
                    let var = match q.var.value() {
                        Some(c) => format!("{}", c as i64),
                        Option::None => format!("{}", q.var),
                    };
                    return rej(
                        pc,
                        Class::Bounds,
                        format!(
                            "misaligned {desc}access off {var}+{}+0 size {n} (argument {} of bpf_{})",
                            q.off,
                            k + 1,
                            p.name
                        ),
                        Some(format!("the helper writes a {n}-byte value: pass an address aligned to {n}")),
                        st,
                        maps,
                    );
                }
            }
        }
        Arg::Ctx => match v {
            Reg::Ptr(Ptr {
                kind: Kind::Ctx,
                off: 0,
                ..
            }) => {}
            _ => return want("ctx", st),
        },
        Arg::Func => match v {
            Reg::Ptr(Ptr {
                kind: Kind::Func(t),
                off: 0,
                ..
            }) => found.callback = Some(t),
            _ => return want("func", st),
        },
        Arg::StackOrNull => match v {
            Reg::Ptr(Ptr {
                kind: Kind::Stack(_),
                nullable: false,
                ..
            }) => {}
            Reg::Scalar(s) if s.value() == Some(0) => {}
            _ => return want("fp or NULL", st),
        },
        Arg::ConstAllocSize => match v {
            Reg::Scalar(s) if s.is_const() => found.alloc_size = s.value(),
            _ => return want("a constant size", st),
        },
        Arg::AllocMem => match v {
            Reg::Ptr(Ptr {
                kind: Kind::Mem(_),
                off: 0,
                nullable: false,
                id,
                ..
            }) if sock::holds(st, id) => found.release_id = Some(id),
            Reg::Ptr(Ptr {
                kind: Kind::Mem(_),
                off: 0,
                nullable: false,
                ..
            }) => {
                // check_release_arg: the record must be the reference bpf_ringbuf_reserve
                // acquired, and still held (not already submitted or discarded).
                return rej(
                    pc,
                    Class::Pointer,
                    format!(
                        "R{r} must be referenced when passed to release function (bpf_{})",
                        p.name
                    ),
                    Some("pass the pointer bpf_ringbuf_reserve returned, once".into()),
                    st,
                    maps,
                );
            }
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
    Ok(())
}

/// A memory argument (R`k+1`) and its size in the next register: the size must be a
/// bounded scalar, non-zero unless the helper takes `SizeOrZero`, and the whole range must
/// be accessible (writable, for memory the helper fills).
fn mem_and_size_arg(
    cx: &mut Ctx<'_>,
    pc: usize,
    st: &mut State,
    p: &helpers::Proto,
    k: usize,
    v: Reg,
) -> Res<()> {
    let maps = cx.input.maps;
    let arg = &p.args[k];
    let r = (k + 1) as u8;
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
    // (NULL with a zero size, for MemOrNull arguments, was accepted before: a NULL here is
    // refused below.)
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
    Ok(())
}

/// check_stack_range_initialized without `allow_uninit_stack`: the `size` bytes from stack
/// pointer `v` (every offset it may have) must have been written. Other pointers pass.
fn stack_initialised(
    pc: usize,
    st: &State,
    r: u8,
    v: &Reg,
    size: usize,
    maps: &[MapInfo],
) -> Res<()> {
    let Reg::Ptr(Ptr {
        kind: Kind::Stack(fr),
        off,
        var,
        ..
    }) = *v
    else {
        return Ok(());
    };
    let lo = off as i128 + var.smin as i128;
    let hi = off as i128 + var.smax as i128 + size as i128;
    let Some(stack) = st.frames.get(fr as usize).map(|f| &f.stack) else {
        return Ok(());
    };
    // Out-of-range offsets are reported by the bounds check that follows.
    if lo < -(STACK as i128) || hi > 0 {
        return Ok(());
    }
    for b in lo..hi {
        let idx = (STACK as i128 + b) as usize;
        if stack.bytes[idx] == SLOT_INVALID {
            return rej(
                pc,
                Class::Uninit,
                format!(
                    "invalid indirect read from stack R{r} off {lo}+{} size {size}",
                    b - lo
                ),
                Some("initialise the value before passing its address to this helper".into()),
                st,
                maps,
            );
        }
    }
    Ok(())
}

/// Helpers after which packet pointers must be checked again.
pub(super) const CHANGES_PKT_DATA: &[i32] = &[
    9, 10, 11, 12, 13, 18, 19, 31, 38, 39, 43, 44, 50, 54, 63, 65, 73, 74, 75, 76, 90, 91, 143,
];

/// Helpers whose memory arguments may point into the packet (`pkt_access` in their
/// kernel prototypes).
const PKT_ACCESS: &[&str] = &[
    "map_lookup_elem",
    "map_update_elem",
    "map_delete_elem",
    "map_push_elem",
    "csum_diff",
    "sk_lookup_tcp",
    "sk_lookup_udp",
    "skc_lookup_tcp",
    "tcp_check_syncookie",
    "tcp_gen_syncookie",
];

#[allow(clippy::too_many_arguments)]
pub(super) fn check_mem_arg(
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
            // A kfunc's read-only memory: this model does not know which helpers take
            // read-only memory (ARG_PTR_TO_MEM | MEM_RDONLY), so it refuses it for all.
            if matches!(p.kind, Kind::MapPtr(_) | Kind::PktEnd | Kind::RdMem(_)) {
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
            if matches!(p.kind, Kind::Ctx | Kind::Btf(..)) || sock::is_sock(p.kind) {
                return rej(
                    pc,
                    Class::Helper,
                    format!(
                        "R{r} type={} expected=fp, pkt, map_value, mem (argument of bpf_{name})",
                        sock::type_str(v)
                    ),
                    None,
                    st,
                    maps,
                );
            }
            // Only some helpers may read or write the packet (the kernel's `pkt_access`).
            if matches!(p.kind, Kind::Pkt | Kind::PktMeta) && !PKT_ACCESS.contains(&name) {
                return rej(
                    pc,
                    Class::Helper,
                    format!(
                        "helper access to the packet is not allowed (argument R{r} of bpf_{name})"
                    ),
                    Some("copy the bytes to the stack first".into()),
                    st,
                    maps,
                );
            }
            if size == 0 {
                if let Kind::Stack(_) = p.kind {
                    let lo = p.off as i128 + p.var.smin as i128;
                    let hi = p.off as i128 + p.var.smax as i128;
                    if lo < -(STACK as i128) || hi > 0 {
                        return rej(
                            pc,
                            Class::Bounds,
                            format!("invalid variable-offset indirect access to stack R{r} var_off={} size=0: [{lo}, {hi}] leaves the stack", p.var),
                            None,
                            st,
                            maps,
                        );
                    }
                }
                return Ok(());
            }
            // Check the whole range as one access of `size` bytes (byte-wise for stack).
            let fake = if write { Some(Reg::unknown()) } else { None };
            if let Kind::Stack(_) = p.kind {
                // Stack: check both ends, then mark/read.
                let mut off = 0usize;
                cx.helper_access = true;
                let mut res = Ok(());
                while off < size {
                    let chunk = (size - off).min(8);
                    if let Err(e) = cx.access(pc, st, r, off as i16, chunk, fake, false) {
                        res = Err(e);
                        break;
                    }
                    off += chunk;
                }
                cx.helper_access = false;
                res
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

/// Whether `bpf_map_lookup_elem(R1, R2)` looks up an ARRAY or PERCPU_ARRAY map with a key
/// known to be a constant below `max_entries` (kernels since 6.13 then return a value that
/// is not NULL). As the kernel's `get_constant_map_key`: the key is on the stack at a
/// constant offset, and either all its bytes are known zero within one 8-byte slot, or the
/// slot holds a spilled constant scalar and the key spans from its start to the slot's top
/// (`spill_size == key_size`), or a narrow spill at the slot's lowest address ends where the
/// key ends.
fn const_key_in_range(st: &State, maps: &[MapInfo]) -> bool {
    let f = st.cur();
    let Reg::Ptr(Ptr {
        kind: Kind::MapPtr(m),
        ..
    }) = f.regs[1]
    else {
        return false;
    };
    let Some(mi) = maps.get(m as usize) else {
        return false;
    };
    if !matches!(mi.map_type, 2 | 6) {
        return false;
    }
    let Reg::Ptr(Ptr {
        kind: Kind::Stack(fr),
        off,
        var,
        ..
    }) = f.regs[2]
    else {
        return false;
    };
    let Some(v) = var.value() else {
        return false;
    };
    let o = off + v as i64;
    if o >= 0 || o < -(STACK as i64) {
        return false;
    }
    let Some(stack) = st.frames.get(fr as usize).map(|f| &f.stack) else {
        return false;
    };
    let start = (STACK as i64 + o) as usize;
    let key_size = mi.key_size as usize;
    let to_top = (start / 8) * 8 + 8 - start;
    let slot = start / 8;
    let whole = &stack.bytes[slot * 8..slot * 8 + 8];
    let narrow = usize::from(stack.narrow[slot]);
    let key = match stack.spills[slot] {
        // A narrow spill (`narrow` bytes at the slot's lowest address): the key must span
        // from within it to its end (spill_size == key_size).
        Some(Reg::Scalar(s))
            if narrow > 0
                && start < slot * 8 + narrow
                && slot * 8 + narrow - start == key_size
                && (start..start + key_size)
                    .all(|b| stack.bytes[b] == SLOT_SPILL || stack.bytes[b] == SLOT_ZERO) =>
        {
            s.value()
        }
        // A spill of all 8 bytes (a spilled 0 is kept as zero bytes here): the kernel's
        // spill_size from the key to the slot's top must be the key's size, and the whole
        // spilled value is the key.
        Some(Reg::Scalar(s))
            if narrow == 0
                && to_top == key_size
                && (whole.iter().all(|b| *b == SLOT_SPILL)
                    || s.value() == Some(0) && whole.iter().all(|b| *b == SLOT_ZERO)) =>
        {
            s.value()
        }
        // Any other spill in the slot: not judged (stricter than the kernel at worst).
        Some(_) => None,
        // Zero bytes (STACK_ZERO) from the key to within the slot.
        Option::None
            if key_size <= to_top
                && (start..start + key_size).all(|b| stack.bytes[b] == SLOT_ZERO) =>
        {
            Some(0)
        }
        Option::None => None,
    };
    key.is_some_and(|k| k < mi.max_entries as u64)
}

/// A call from `pc` may not make the call stack deeper than [`MAX_FRAMES`].
fn check_depth(pc: usize, st: &State, maps: &[MapInfo]) -> Res<()> {
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
    Ok(())
}
