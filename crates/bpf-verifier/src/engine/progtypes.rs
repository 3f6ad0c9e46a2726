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
    /// A sleepable program (`fentry.s/`, `fexit.s/`, `fmod_ret.s/`, `lsm.s/`, `iter.s/`:
    /// libbpf loads them with BPF_F_SLEEPABLE): it may call helpers that might sleep.
    pub sleepable: bool,
}

/// LSM hooks a sleepable program may attach to (6.12's `sleepable_lsm_hooks`,
/// kernel/bpf/bpf_lsm.c, with CONFIG_SECURITY_PATH and CONFIG_SECURITY_NETWORK as Debian
/// builds them).
const SLEEPABLE_LSM_HOOKS: &[&str] = &[
    "bpf",
    "bpf_map",
    "bpf_map_create",
    "bpf_map_free",
    "bpf_prog",
    "bpf_prog_load",
    "bpf_token_create",
    "bpf_token_free",
    "bpf_token_cmd",
    "bpf_token_capable",
    "bprm_check_security",
    "bprm_committed_creds",
    "bprm_committing_creds",
    "bprm_creds_for_exec",
    "bprm_creds_from_file",
    "capget",
    "capset",
    "cred_prepare",
    "file_ioctl",
    "file_lock",
    "file_open",
    "file_post_open",
    "file_receive",
    "inode_create",
    "inode_free_security",
    "inode_getattr",
    "inode_getxattr",
    "inode_mknod",
    "inode_need_killpriv",
    "inode_post_setxattr",
    "inode_readlink",
    "inode_rename",
    "inode_rmdir",
    "inode_setattr",
    "inode_setxattr",
    "inode_symlink",
    "inode_unlink",
    "kernel_module_request",
    "kernel_read_file",
    "kernfs_init_security",
    "path_unlink",
    "path_mkdir",
    "path_rmdir",
    "path_truncate",
    "path_symlink",
    "path_link",
    "path_rename",
    "path_chmod",
    "path_chown",
    "mmap_file",
    "netlink_send",
    "path_notify",
    "release_secctx",
    "sb_alloc_security",
    "sb_eat_lsm_opts",
    "sb_kern_mount",
    "sb_mount",
    "sb_remount",
    "sb_set_mnt_opts",
    "sb_show_options",
    "sb_statfs",
    "sb_umount",
    "settime",
    "socket_accept",
    "socket_bind",
    "socket_connect",
    "socket_create",
    "socket_getpeername",
    "socket_getpeersec_dgram",
    "socket_getsockname",
    "socket_getsockopt",
    "socket_listen",
    "socket_post_create",
    "socket_recvmsg",
    "socket_sendmsg",
    "socket_shutdown",
    "socket_socketpair",
    "syslog",
    "task_alloc",
    "current_getsecid_subj",
    "task_getsecid_obj",
    "task_prctl",
    "task_setscheduler",
    "userns_create",
];

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
        // A `.s` section is sleepable (check_attach_btf_id: can_be_sleepable allows
        // fentry, fexit, fmod_ret, iter and LSM programs).
        let (prefix, sleepable) = match prefix.strip_suffix(".s") {
            Some(p) if matches!(p, "fentry" | "fexit" | "fmod_ret" | "iter" | "lsm") => (p, true),
            Some(_) => {
                return Err(
                    "Only fentry/fexit/fmod_ret, lsm, iter, uprobe, and struct_ops programs can be sleepable"
                        .to_string(),
                )
            }
            None => (prefix, false),
        };
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
        // bpf_check_attach_target: a sleepable LSM program only on a sleepable hook; a
        // sleepable fentry/fexit/fmod_ret one only on a function that allows error
        // injection (of which this model knows only the syscall wrappers, as for fmod_ret)
        // or a KF_SLEEPABLE modify-return kfunc (not known here); iterators on any target.
        if sleepable {
            let ok = match kind {
                AttachKind::Lsm => SLEEPABLE_LSM_HOOKS.contains(&name),
                AttachKind::Iter => true,
                _ => name.starts_with("__x64_sys_"),
            };
            if !ok {
                return Err(if kind == AttachKind::Lsm {
                    format!("{func} is not sleepable")
                } else {
                    format!("{func}: whether it may be attached to by a sleepable program (error injection) is not known to this model")
                });
            }
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
            sleepable,
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
    let class = if msg.contains("disabled hook")
        || msg.contains("is rejected")
        || msg.contains("is not sleepable")
        || msg.contains("can be sleepable")
    {
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
        // check_return_code: sock_ops keeps the default 0 or 1; sk_lookup SK_DROP or SK_PASS.
        SOCK_OPS | SK_LOOKUP => Some(((0, 1), false)),
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

/// `BPF_PROG_TYPE_SOCK_OPS`: context `bpf_sock_ops` (`sock_ops_is_valid_access`).
pub const SOCK_OPS: u32 = 13;
/// `BPF_PROG_TYPE_SK_REUSEPORT`: context `sk_reuseport_md` (`sk_reuseport_is_valid_access`).
pub const SK_REUSEPORT: u32 = 21;
/// `BPF_PROG_TYPE_FLOW_DISSECTOR`: an `__sk_buff` of which only data, data_end and
/// flow_keys may be read (`flow_dissector_is_valid_access`).
pub const FLOW_DISSECTOR: u32 = 22;
/// `BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE` (`raw_tp.w/`): raw tracepoint arguments whose
/// first is the writable tracepoint buffer (`raw_tp_writable_prog_is_valid_access`).
pub const RAW_TP_WRITABLE: u32 = 24;
/// `BPF_PROG_TYPE_SK_LOOKUP`: context `bpf_sk_lookup` (`sk_lookup_is_valid_access`).
pub const SK_LOOKUP: u32 = 30;

/// The release that introduced one of these program types (older kernels refuse to load
/// it: BPF_PROG_LOAD's EINVAL), `None` for the other types.
pub(super) fn net_type_since(pt: u32) -> Option<(u32, u32)> {
    Some(match pt {
        SOCK_OPS => (4, 13),
        SK_REUSEPORT => (4, 19),
        FLOW_DISSECTOR => (4, 20),
        RAW_TP_WRITABLE => (5, 2),
        SK_LOOKUP => (5, 9),
        _ => return None,
    })
}

/// The context size of these types (`sizeof` of their uapi struct).
pub(super) fn net_ctx_size(pt: u32) -> Option<u32> {
    Some(match pt {
        SOCK_OPS => 224,       // bpf_sock_ops
        SK_REUSEPORT => 56,    // sk_reuseport_md
        FLOW_DISSECTOR => 192, // __sk_buff
        RAW_TP_WRITABLE => 96, // 12 u64 args (MAX_BPF_FUNC_ARGS)
        SK_LOOKUP => 72,       // bpf_sk_lookup
        _ => return None,
    })
}

/// Context fields newer than the oldest kernel with the type: (from, to, release). Where
/// the release of a field is not known exactly, a later one is given (the model refuses
/// more, never less): bpf_sock_ops' fields after local_port 5.10 (the skb_* ones are from
/// 5.10, sk from 5.3, the TCP counters from 4.16-4.20), skb_hwtstamp 6.2; sk_reuseport_md's
/// sk and migrating_sk 5.14; bpf_sk_lookup's ingress_ifindex 5.17.
fn net_newer_field(pt: u32) -> &'static [(i64, i64, (u32, u32))] {
    match pt {
        SOCK_OPS => &[(72, 216, (5, 10)), (216, 224, (6, 2))],
        SK_REUSEPORT => &[(40, 56, (5, 14))],
        SK_LOOKUP => &[(64, 68, (5, 17))],
        _ => &[],
    }
}

impl Ctx<'_> {
    /// Context accesses of sock_ops, sk_reuseport, flow_dissector, raw_tp.w and sk_lookup
    /// programs; `None` for other types. Packet pointers (sock_ops' skb_data, sk_reuseport's
    /// and flow_dissector's data) and the flow dissector's flow_keys and the writable
    /// tracepoint buffer are read as the kernel allows but are not followed: such a read is
    /// refused as outside the model.
    pub(super) fn net_ctx_access(
        &mut self,
        pc: usize,
        st: &State,
        off: i64,
        size: usize,
        write: bool,
    ) -> Option<Res<Reg>> {
        let pt = self.input.prog_type;
        let ctxsz = net_ctx_size(pt)? as i64;
        let maps = self.input.maps;
        let bad = |why: &str| -> Res<Reg> {
            rej(
                pc,
                Class::Bounds,
                format!("invalid bpf_context access off={off} size={size}{why}"),
                Some(format!(
                    "the context of this program type has {ctxsz} bytes; see its struct for valid fields"
                )),
                st,
                maps,
            )
        };
        let unsupported = |what: &str| -> Res<Reg> {
            rej(
                pc,
                Class::Unsupported,
                format!("{what} is not modelled by this verifier"),
                None,
                st,
                maps,
            )
        };
        // Every is_valid_access of these types: inside the struct, aligned to the size.
        if off < 0 || off >= ctxsz || off % size as i64 != 0 {
            return Some(bad(""));
        }
        let end = off + size as i64;
        if let Some((lo, _, (a, b))) = net_newer_field(pt)
            .iter()
            .find(|(lo, hi, v)| off < *hi && end > *lo && !self.kernel.at_least(*v))
        {
            return Some(bad(&format!(
                ": the field at {lo} arrived in {a}.{b}, after {}",
                self.kernel
            )));
        }
        let sext = self.input.insns[pc].mode() == mem::MEMSX;
        let u = |size: usize| Reg::Scalar(Scalar::urange(0, (1u64 << (size * 8)) - 1));
        // bpf_ctx_narrow_access_ok: a power-of-two size up to the field's.
        let narrow_ok = |field: usize| size <= field && size.is_power_of_two();
        // A socket the context points to: PTR_TO_SOCKET_OR_NULL (sock_ops, sk_lookup; a
        // NULL check gives it an id), PTR_TO_SOCKET (sk_reuseport's sk),
        // PTR_TO_SOCK_COMMON_OR_NULL (its migrating_sk).
        let sock = |cx: &mut Self, kind: Kind, nullable: bool| {
            let id = if nullable { cx.new_id() } else { 0 };
            Reg::Ptr(Ptr {
                kind,
                off: 0,
                var: Scalar::konst(0),
                id,
                nullable,
                range: 0,
            })
        };
        let r = match pt {
            SOCK_OPS => {
                // sock_ops_is_valid_access: writes of reply (4) and sk_txhash (164) as u32.
                if write {
                    return Some(if matches!(off, 4 | 164) && size == 4 {
                        Ok(Reg::unknown())
                    } else {
                        bad(": only reply and sk_txhash may be written, as u32")
                    });
                }
                if sext {
                    return Some(unsupported("a sign-extending load from bpf_sock_ops"));
                }
                match off {
                    // bytes_received, bytes_acked; skb_hwtstamp.
                    168..=183 | 216..=223 if size == 8 => Ok(Reg::unknown()),
                    184..=191 if size == 8 => Ok(sock(self, Kind::Sock, true)),
                    192..=207 if size == 8 => {
                        unsupported("bpf_sock_ops' skb_data and skb_data_end (packet pointers)")
                    }
                    168..=207 | 216..=223 => bad(": this field is read as a u64"),
                    212 if narrow_ok(4) => Ok(u(size)),
                    _ if size == 4 => Ok(u(4)),
                    _ => bad(": this field is read as a u32"),
                }
            }
            SK_REUSEPORT => {
                // sk_reuseport_is_valid_access: read-only.
                if write {
                    return Some(bad(": sk_reuseport_md is read-only"));
                }
                if sext {
                    return Some(unsupported("a sign-extending load from sk_reuseport_md"));
                }
                match off {
                    0 | 8 if size == 8 => {
                        unsupported("sk_reuseport_md's data and data_end (packet pointers)")
                    }
                    32 if size == 4 => Ok(u(4)),
                    40 if size == 8 => Ok(sock(self, Kind::Sock, false)),
                    48 if size == 8 => Ok(sock(self, Kind::SockCommon, true)),
                    // eth_protocol: at least the 2 bytes of skb->protocol.
                    20..=23 if size < 2 => bad(""),
                    16..=31 if narrow_ok(4) => Ok(u(size)),
                    _ => bad(""),
                }
            }
            FLOW_DISSECTOR => {
                // flow_dissector_is_valid_access: read-only; data (76) and data_end (80)
                // as u32 and not sign-extended, flow_keys (144) as u64; nothing else.
                if write {
                    return Some(bad(": the flow dissector's context is read-only"));
                }
                match off {
                    76..=83 if size == 4 && !sext => {
                        unsupported("the flow dissector's data and data_end (packet pointers)")
                    }
                    144..=151 if size == 8 => {
                        unsupported("the flow dissector's flow_keys (PTR_TO_FLOW_KEYS)")
                    }
                    _ => bad(""),
                }
            }
            RAW_TP_WRITABLE => {
                // raw_tp_writable_prog_is_valid_access: argument 0 is the tracepoint's
                // buffer, read as a u64; then bpf_tracing_ctx_access: reads only, of any
                // aligned size (a narrow read gives the low bytes of an argument).
                if write {
                    return Some(bad(": raw tracepoint arguments are read-only"));
                }
                if sext {
                    return Some(unsupported(
                        "a sign-extending load of a raw tracepoint argument",
                    ));
                }
                match off {
                    0 if size == 8 => {
                        unsupported("the writable tracepoint buffer (PTR_TO_TP_BUFFER)")
                    }
                    0 => bad(": the tracepoint buffer is read as a u64"),
                    _ if size == 8 => Ok(Reg::unknown()),
                    _ => Ok(u(size)),
                }
            }
            SK_LOOKUP => {
                // sk_lookup_is_valid_access: read-only.
                if write {
                    return Some(bad(": bpf_sk_lookup is read-only"));
                }
                if sext {
                    return Some(unsupported("a sign-extending load from bpf_sk_lookup"));
                }
                match off {
                    0..=7 if size == 8 => Ok(sock(self, Kind::Sock, true)),
                    // remote_port: a 4-byte read, or a narrow one of the __be16; the zero
                    // padding after it narrowly.
                    36 if size == 4 => Ok(u(4)),
                    36..=39 if narrow_ok(2) => Ok(u(size)),
                    8..=35 | 40..=67 if narrow_ok(4) => Ok(u(size)),
                    _ => bad(""),
                }
            }
            _ => return None,
        };
        Some(r)
    }
}

/// check_map_prog_compatibility: a sleepable program may use only hash, array, ring buffer,
/// local storage, queue, stack, map-in-map and arena maps. `Some(rejection)` when the
/// program refers (`lddw`) to another kind.
pub(super) fn sleepable_map_problem(input: &Input<'_>, opts: &Options) -> Option<Rejection> {
    if !opts.attach.as_ref().is_some_and(|a| a.sleepable) {
        return None;
    }
    // HASH, ARRAY, PERCPU_HASH, PERCPU_ARRAY, LRU_HASH, LRU_PERCPU_HASH, ARRAY_OF_MAPS,
    // HASH_OF_MAPS, SK_STORAGE, QUEUE, STACK, INODE_STORAGE, TASK_STORAGE, RINGBUF,
    // USER_RINGBUF, CGRP_STORAGE, ARENA (lddw in the middle of a 16-byte pair is not a
    // load: the walk rejects such programs).
    const OK: &[u32] = &[
        1, 2, 5, 6, 9, 10, 12, 13, 24, 22, 23, 28, 29, 27, 31, 32, 33,
    ];
    let insns = input.insns;
    for (pc, i) in insns.iter().enumerate() {
        if !i.is_lddw()
            || !matches!(
                i.src,
                pseudo::MAP_FD | pseudo::MAP_VALUE | pseudo::MAP_IDX | pseudo::MAP_IDX_VALUE
            )
        {
            continue;
        }
        let Some(m) = input.maps.get(i.imm as usize) else {
            continue;
        };
        if !OK.contains(&m.map_type) {
            return Some(Rejection {
                pc,
                class: Class::Helper,
                msg: "Sleepable programs can only use array, hash, ringbuf and local storage maps"
                    .to_string(),
                hint: None,
                regs: String::new(),
                explain: None,
            });
        }
    }
    None
}
