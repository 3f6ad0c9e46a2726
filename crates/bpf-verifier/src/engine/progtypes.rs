//! Program types whose context comes from BTF (fentry/fexit/fmod_ret/tp_btf/iter, LSM), and
//! the netfilter and syscall types: their attach target, context fields and return values.
//!
//! A BTF-typed context is an array of u64 arguments of the attach target (the kernel's
//! `btf_ctx_access` in kernel/bpf/btf.c). This model knows the target's prototype from the
//! kernel's BTF ([`Attach::from_btf`]); scalar arguments (integers, enums, and pointers to
//! integers, which the kernel also reads as scalars) are modelled exactly; other pointer
//! arguments (`PTR_TO_BTF_ID`) are followed with the kernel's BTF (`btfptr`), and without it
//! (or for tp_btf) a program that reads one is rejected as outside the model.

use super::*;

/// `BPF_PROG_TYPE_TRACING` (fentry, fexit, fmod_ret, tp_btf).
pub const TRACING: u32 = 26;
/// `BPF_PROG_TYPE_LSM`.
pub const LSM: u32 = 29;
/// `BPF_PROG_TYPE_NETFILTER`: context `bpf_nf_ctx { state *; skb * }`.
pub const NETFILTER: u32 = 32;
/// `BPF_PROG_TYPE_SYSCALL`: the context is the caller's buffer (`syscall_prog_is_valid_access`).
pub const SYSCALL: u32 = 31;

/// How the program attaches (libbpf's section prefix; the kernel's expected attach type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachKind {
    Fentry,
    Fexit,
    FmodRet,
    /// `tp_btf/`: a BTF-typed raw tracepoint.
    TpBtf,
    /// `lsm/` (BPF_LSM_MAC).
    Lsm,
    /// `iter/` (BPF_TRACE_ITER): the target is `bpf_iter_<name>`.
    Iter,
}

/// One argument (or the return value) of the attach target, as the context sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachArg {
    /// No value (a void return).
    Void,
    /// An integer or enum: read as a scalar, at any size.
    Scalar,
    /// A pointer to an integer: read as a scalar, as a whole u64.
    IntPtr,
    /// A pointer to something else (the kernel's PTR_TO_BTF_ID): followed with the kernel's
    /// BTF when it points to a struct (see `verify_with_btf`).
    Ptr,
}

/// The attach target of a BTF-typed program: its kind, name, arguments and return value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attach {
    pub kind: AttachKind,
    pub target: String,
    pub args: Vec<AttachArg>,
    pub ret: AttachArg,
    /// LSM: the hook returns a bool (`bool_lsm_hooks`), so 0 or 1.
    pub bool_hook: bool,
}

/// LSM hooks BPF may not attach to (6.12's `bpf_lsm_disabled_hooks`, kernel/bpf/bpf_lsm.c).
const DISABLED_LSM_HOOKS: &[&str] = &[
    "vm_enough_memory",
    "inode_need_killpriv",
    "inode_getsecurity",
    "inode_listsecurity",
    "inode_copy_up_xattr",
    "getselfattr",
    "getprocattr",
    "setprocattr",
    "key_getsecurity",
    "audit_rule_init",
    "ismaclabel",
];

/// LSM hooks returning a bool (6.12's `bool_lsm_hooks`): programs return 0 or 1.
const BOOL_LSM_HOOKS: &[&str] = &[
    "audit_rule_known",
    "inode_xattr_skipcap",
    "xfrm_state_pol_flow_match",
];

/// Functions tracing programs may not attach to (6.12's `btf_id_deny`, verifier.c).
const DENY: &[&str] = &[
    "migrate_disable",
    "migrate_enable",
    "rcu_read_unlock_strict",
    "preempt_count_add",
    "preempt_count_sub",
    "__rcu_read_lock",
    "__rcu_read_unlock",
];

impl Attach {
    /// The attach target named by a program's section (`fentry/<func>`, `fexit/<func>`,
    /// `fmod_ret/<func>`, `tp_btf/<tracepoint>`, `iter/<target>`, `lsm/<hook>`), looked up
    /// in the kernel's BTF. `Err` says why the target is refused or outside this model;
    /// sleepable sections (`.s`) and targets whose arguments are not integers, enums or
    /// pointers (structs by value, floats) are outside it, and so are more than 6
    /// arguments.
    pub fn from_btf(btf: &btf::Btf, prog_type: u32, section: &str) -> Result<Attach, String> {
        let sec = section.strip_prefix('?').unwrap_or(section);
        let (prefix, name) = sec
            .split_once('/')
            .ok_or_else(|| format!("section `{sec}` names no attach target"))?;
        let kind = match (prog_type, prefix) {
            (TRACING, "fentry") => AttachKind::Fentry,
            (TRACING, "fexit") => AttachKind::Fexit,
            (TRACING, "fmod_ret") => AttachKind::FmodRet,
            (TRACING, "tp_btf") => AttachKind::TpBtf,
            (LSM, "lsm") => AttachKind::Lsm,
            (TRACING, "iter") => AttachKind::Iter,
            _ => {
                return Err(format!(
                    "attach type of section `{sec}` is not modelled (sleepable programs, struct_ops, freplace)"
                ))
            }
        };
        let func = match kind {
            AttachKind::Lsm => format!("bpf_lsm_{name}"),
            AttachKind::Iter => format!("bpf_iter_{name}"),
            _ => name.to_string(),
        };
        // check_attach_btf_id / bpf_check_attach_target: the target must be a BTF FUNC (a
        // tp_btf one a `btf_trace_<name>` typedef of a pointer to a prototype).
        let proto = if kind == AttachKind::TpBtf {
            let td = btf
                .named(&format!("btf_trace_{name}"), |k| {
                    matches!(k, btf::Kind::Typedef(_))
                })
                .ok_or_else(|| {
                    format!("attach_btf_id: no tracepoint `{name}` in the kernel's BTF")
                })?;
            let ptr = btf.resolve(td);
            match btf.get(ptr).map(|t| &t.kind) {
                Some(btf::Kind::Ptr(p)) => *p,
                _ => return Err(format!("btf_trace_{name} is not a pointer to a prototype")),
            }
        } else {
            let f = btf.func_named(&func).ok_or_else(|| {
                format!("attach_btf_id: no function `{func}` in the kernel's BTF")
            })?;
            match btf.get(f).map(|t| &t.kind) {
                Some(btf::Kind::Func { proto, .. }) => *proto,
                _ => return Err(format!("`{func}` is not a function")),
            }
        };
        let (ret, params) = match btf.get(proto).map(|t| &t.kind) {
            Some(btf::Kind::FuncProto { ret, params }) => (*ret, params.clone()),
            _ => return Err(format!("`{func}` has no prototype")),
        };
        if kind == AttachKind::Lsm && DISABLED_LSM_HOOKS.contains(&name) {
            return Err(format!("attach_btf_id points to disabled hook {func}"));
        }
        if DENY.contains(&name) {
            return Err(format!(
                "Attaching tracing programs to function '{name}' is rejected."
            ));
        }
        // check_attach_modify_return: fmod_ret only on error-injectable functions or
        // security_* ones. The error-injection list is not in BTF: only syscall wrappers
        // (SYSCALL_DEFINE marks them) and the kernel's own bpf_modify_return_test* are known.
        if kind == AttachKind::FmodRet
            && !(name.starts_with("security_")
                || name.starts_with("__x64_sys_")
                || name.starts_with("bpf_modify_return_test"))
        {
            return Err(format!(
                "fmod_ret on `{name}`: whether it allows error injection is not known to this model"
            ));
        }
        let classify = |id: u32| -> Option<AttachArg> {
            let t = btf.resolve(id);
            match btf.get(t).map(|t| &t.kind) {
                _ if id == 0 => Some(AttachArg::Void),
                Some(btf::Kind::Int { size, .. }) if *size <= 8 => Some(AttachArg::Scalar),
                Some(btf::Kind::Enum { .. }) => Some(AttachArg::Scalar),
                Some(btf::Kind::Ptr(p)) => {
                    // btf_ctx_access: "int *" arguments are read as scalars.
                    let pt = btf.resolve(*p);
                    if matches!(btf.get(pt).map(|t| &t.kind), Some(btf::Kind::Int { .. })) {
                        Some(AttachArg::IntPtr)
                    } else {
                        Some(AttachArg::Ptr)
                    }
                }
                _ => None,
            }
        };
        // A tracepoint's prototype starts with the `void *__data` the kernel drops.
        let skip = usize::from(kind == AttachKind::TpBtf);
        let mut args = Vec::new();
        for p in params.iter().skip(skip) {
            match classify(p.type_id) {
                Some(AttachArg::Void) | None => {
                    return Err(format!(
                        "`{func}`: an argument of a kind this model does not follow (struct by value, float, varargs)"
                    ))
                }
                Some(a) => args.push(a),
            }
        }
        if args.len() > 6 {
            return Err(format!("`{func}` has more than 6 arguments (not modelled)"));
        }
        let ret =
            classify(ret).ok_or_else(|| format!("`{func}`: its return type is not modelled"))?;
        Ok(Attach {
            kind,
            target: name.to_string(),
            args,
            ret,
            bool_hook: kind == AttachKind::Lsm && BOOL_LSM_HOOKS.contains(&name),
        })
    }
}

/// The context size of these types (`None` for other types). A BTF-typed context without
/// a known target has no size (the program is refused before the walk).
pub(super) fn btf_ctx_size(pt: u32, attach: Option<&Attach>) -> Option<u32> {
    match pt {
        NETFILTER => Some(16),
        // syscall_prog_is_valid_access: any offset below U16_MAX.
        SYSCALL => Some(u16::MAX as u32),
        TRACING | LSM => attach.map(|a| 8 * (a.args.len() as u32 + 1)),
        _ => None,
    }
}

/// Why a program of these types cannot be verified before the walk: its target is
/// missing, refused or not modelled.
pub(super) fn attach_problem(pt: u32, opts: &Options) -> Option<Rejection> {
    if !matches!(pt, TRACING | LSM) {
        return None;
    }
    let msg = match &opts.attach {
        None => match &opts.attach_error {
            Some(e) => e.clone(),
            None => "the attach target's BTF prototype is needed to verify this program type (pass the kernel's BTF)".to_string(),
        },
        Some(a) => {
            let ok = match pt {
                TRACING => a.kind != AttachKind::Lsm,
                _ => a.kind == AttachKind::Lsm,
            };
            if ok {
                return None;
            }
            "the attach target does not fit the program type".to_string()
        }
    };
    let class = if msg.contains("disabled hook") || msg.contains("is rejected") {
        Class::Cfg
    } else {
        Class::Unsupported
    };
    Some(Rejection {
        pc: 0,
        class,
        msg,
        hint: None,
        regs: String::new(),
        explain: None,
    })
}

impl Ctx<'_> {
    /// Context accesses of the BTF-typed and netfilter programs (`btf_ctx_access`,
    /// `tracing_prog_is_valid_access`, `nf_is_valid_access`). `None`: not one of them.
    pub(super) fn btf_ctx_access(
        &mut self,
        pc: usize,
        st: &State,
        off: i64,
        size: usize,
        write: bool,
    ) -> Option<Res<Reg>> {
        let pt = self.input.prog_type;
        let maps = self.input.maps;
        let bad = |why: String| -> Res<Reg> {
            rej(
                pc,
                Class::Bounds,
                format!("invalid bpf_context access off={off} size={size}{why}"),
                None,
                st,
                maps,
            )
        };
        if matches!(pt, SYSCALL | NETFILTER | TRACING | LSM)
            && !write
            && self.input.insns[pc].mode() == mem::MEMSX
        {
            // Whether the kernel converts a sign-extending load of these contexts is not
            // modelled: refused (the kernel may accept it).
            return Some(rej(
                pc,
                Class::Unsupported,
                "sign-extending loads from this context are not modelled",
                None,
                st,
                maps,
            ));
        }
        match pt {
            SYSCALL => {
                // syscall_prog_is_valid_access: the caller's buffer, read and written at
                // any aligned offset below U16_MAX; its contents are unknown.
                if !(0..u16::MAX as i64).contains(&off) || off % size as i64 != 0 {
                    return Some(bad(String::new()));
                }
                Some(Ok(Reg::Scalar(if size == 8 {
                    Scalar::unknown()
                } else {
                    Scalar::urange(0, (1u64 << (size * 8)) - 1)
                })))
            }
            NETFILTER => {
                // nf_is_valid_access: read-only; state (0) and skb (8) are u64 pointers to
                // BTF types.
                if write {
                    return Some(bad(": bpf_nf_ctx is read-only".into()));
                }
                if !(0..16).contains(&off) || off % 8 != 0 || size != 8 {
                    return Some(bad(String::new()));
                }
                // nf_ptr_to_btf_id: PTR_TO_BTF_ID | PTR_TRUSTED to struct nf_hook_state
                // (state) or struct sk_buff (skb).
                let name = if off == 0 { "nf_hook_state" } else { "sk_buff" };
                if let Some(id) = self.btf_struct(name) {
                    return Some(Ok(btfptr::btf_ptr(id, btfptr::TRUSTED, false, 0)));
                }
                Some(rej(
                    pc,
                    Class::Unsupported,
                    "reading the netfilter context's state or skb pointer (PTR_TO_BTF_ID) needs the kernel's BTF",
                    None,
                    st,
                    maps,
                ))
            }
            TRACING | LSM => {
                let Some(a) = self.attach.clone() else {
                    return Some(bad(": no attach target".into()));
                };
                // The kernel lets LSM programs write scalar arguments (its is_valid_access
                // is btf_ctx_access alone); this model keeps the context read-only, as
                // tracing_prog_is_valid_access makes it for the tracing type.
                if write {
                    return Some(bad(": the context is read-only".into()));
                }
                if !(0..8 * 12).contains(&off) || off % size as i64 != 0 {
                    return Some(bad(String::new()));
                }
                if off % 8 != 0 {
                    return Some(bad(format!(
                        ": func '{}' offset {off} is not multiple of 8",
                        a.target
                    )));
                }
                let arg = (off / 8) as usize;
                let ty = if arg < a.args.len() {
                    a.args[arg]
                } else if arg == a.args.len()
                    && matches!(
                        a.kind,
                        AttachKind::Fexit | AttachKind::FmodRet | AttachKind::Lsm
                    )
                {
                    a.ret
                } else {
                    return Some(bad(format!(
                        ": func '{}' doesn't have {}-th argument",
                        a.target,
                        a.args.len() + 1
                    )));
                };
                match ty {
                    AttachArg::Void => Some(bad(format!(": func '{}' returns void", a.target))),
                    AttachArg::Scalar => Some(Ok(Reg::Scalar(if size == 8 {
                        Scalar::unknown()
                    } else {
                        Scalar::urange(0, (1u64 << (size * 8)) - 1)
                    }))),
                    // A pointer is read whole (btf_ctx_access: "size %d must be 8"); one to
                    // an integer is a scalar ("int *" arguments are treated as scalar).
                    AttachArg::IntPtr => Some(if size == 8 {
                        Ok(Reg::unknown())
                    } else {
                        bad(format!(": func '{}' size {size} must be 8", a.target))
                    }),
                    AttachArg::Ptr => {
                        if size != 8 {
                            return Some(bad(format!(
                                ": func '{}' size {size} must be 8",
                                a.target
                            )));
                        }
                        if arg < a.args.len() {
                            if let Some(r) = self.btf_ctx_arg(arg) {
                                return Some(Ok(r));
                            }
                        }
                        Some(rej(
                            pc,
                            Class::Unsupported,
                            format!(
                                "argument {arg} of '{}' is a pointer to a kernel type (PTR_TO_BTF_ID), which this verifier does not model",
                                a.target
                            ),
                            None,
                            st,
                            maps,
                        ))
                    }
                }
            }
            _ => None,
        }
    }
}

/// The return values allowed at program exit for these types (check_return_code):
/// netfilter NF_DROP or NF_ACCEPT; fentry/fexit 0; fmod_ret and tp_btf anything; LSM
/// hooks returning int 0 or a negative errno (-4095..0), bool hooks 0 or 1, void hooks
/// anything. The LSM ranges are checked on the low 32 bits (`return_32bit`).
pub(super) fn btf_return_range(pt: u32, attach: Option<&Attach>) -> Option<((i64, i64), bool)> {
    match pt {
        NETFILTER => Some(((0, 1), false)),
        TRACING => match attach?.kind {
            AttachKind::Fentry | AttachKind::Fexit => Some(((0, 0), false)),
            // Iterators keep check_return_code's default, 0 or 1.
            AttachKind::Iter => Some(((0, 1), false)),
            _ => None,
        },
        LSM => {
            let a = attach?;
            if a.ret == AttachArg::Void {
                None
            } else if a.bool_hook {
                Some(((0, 1), true))
            } else {
                Some(((-4095, 0), true))
            }
        }
        _ => None,
    }
}

/// The signed 32-bit range of a scalar's low half, when its 64-bit bounds give one.
pub(super) fn s32_range(s: &Scalar) -> Option<(i64, i64)> {
    if s.smin >= i32::MIN as i64 && s.smax <= i32::MAX as i64 {
        return Some((s.smin, s.smax));
    }
    // Same upper half and a lower half that does not cross the s32 sign boundary.
    if s.umin >> 32 == s.umax >> 32 {
        let (lo, hi) = (s.umin as u32 as i32, s.umax as u32 as i32);
        if lo <= hi {
            return Some((lo as i64, hi as i64));
        }
    }
    None
}

/// The kernel's message for a return value out of range (`verbose_invalid_scalar`).
pub(super) fn invalid_scalar_msg(r: &Reg, lo: i64, hi: i64) -> String {
    match r {
        Reg::Scalar(s) => {
            let mut m = "At program exit the register R0 has".to_string();
            if s.smin > i64::MIN {
                m.push_str(&format!(" smin={}", s.smin));
            }
            if s.smax < i64::MAX {
                m.push_str(&format!(" smax={}", s.smax));
            }
            if s.smin == i64::MIN && s.smax == i64::MAX {
                m.push_str(" unknown scalar value");
            }
            m.push_str(&format!(" should have been in [{lo}, {hi}]"));
            m
        }
        _ => "At program exit the register R0 is not a known value".to_string(),
    }
}
