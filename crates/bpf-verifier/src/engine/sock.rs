//! Socket pointers and the references they hold (kernel/bpf/verifier.c v6.12,
//! net/core/filter.c):
//! - kinds: `sock_common` (`skb->sk`, `bpf_skc_lookup_tcp`), `sock` (`bpf_sk_lookup_*`,
//!   `bpf_sk_fullsock`, `bpf_get_listener_sock`), `tcp_sock` (`bpf_tcp_sock`), each NULL-able
//!   until checked; no arithmetic on them, no writes, no atomics; reads of the fields
//!   `bpf_sock_common_is_valid_access`, `bpf_sock_is_valid_access` and
//!   `bpf_tcp_sock_is_valid_access` allow (`check_sock_access`);
//! - references: a lookup acquires one (`is_acquire_function`), released by `bpf_sk_release`
//!   (on the pointer or on a pointer a cast helper derived from it, `is_ptr_cast_function`),
//!   or dropped on the NULL side of its NULL check (`mark_ptr_or_null_regs`); a release
//!   makes every pointer of the reference unusable (`release_reference`); a reference held
//!   at the program's exit is a leak (`check_reference_leak`), as is a tail call or an
//!   `LD_ABS`/`LD_IND` while one is held.

use super::*;

/// The references a state holds and the pointers derived from them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(super) struct Refs {
    /// Acquired and not released: (reference id = the acquired pointer's id, the insn).
    pub(super) held: Vec<(u32, u32)>,
    /// Pointers a cast helper derived from a reference: (pointer id, reference id).
    pub(super) links: Vec<(u32, u32)>,
}

pub(super) fn is_sock(k: Kind) -> bool {
    matches!(
        k,
        Kind::SockCommon | Kind::Sock | Kind::TcpSock | Kind::XdpSock
    )
}

/// The kernel's `reg_type_str` of a register, as helper argument messages print it.
pub(super) fn type_str(r: &Reg) -> String {
    match r {
        Reg::Uninit => "?".into(),
        Reg::Scalar(_) => "scalar".into(),
        Reg::Ptr(p) => {
            if let Kind::Btf(_, f) = p.kind {
                // reg_type_str: PTR_TO_BTF_ID's NULL postfix follows its "ptr_".
                let pre = btfptr::type_prefix(f);
                return if p.nullable {
                    format!("{pre}or_null_")
                } else {
                    pre.into()
                };
            }
            let k = match p.kind {
                Kind::Ctx => "ctx",
                Kind::Stack(_) => "fp",
                Kind::MapValue(_) => "map_value",
                Kind::MapPtr(_) => "map_ptr",
                Kind::Pkt => "pkt",
                Kind::PktEnd => "pkt_end",
                Kind::PktMeta => "pkt_meta",
                Kind::Mem(_) => "mem",
                Kind::RdMem(_) => "rdonly_mem",
                Kind::Func(_) => "func",
                Kind::MapKey(_) => "map_key",
                Kind::SockCommon => "sock_common",
                Kind::Sock => "sock",
                Kind::TcpSock => "tcp_sock",
                Kind::XdpSock => "xdp_sock",
                Kind::Btf(..) => unreachable!("returned above"),
            };
            if p.nullable {
                format!("{k}_or_null")
            } else {
                k.into()
            }
        }
    }
}

/// The reference a pointer holds (its own, or the one it was derived from), if still held.
fn ref_of(st: &State, id: u32) -> Option<u32> {
    if id == 0 {
        return None;
    }
    let r = st
        .refs
        .links
        .iter()
        .find(|(p, _)| *p == id)
        .map_or(id, |(_, r)| *r);
    st.refs.held.iter().any(|(h, _)| *h == r).then_some(r)
}

/// Whether pointer `id` holds a reference that is still held.
pub(super) fn holds(st: &State, id: u32) -> bool {
    ref_of(st, id).is_some()
}

/// Release reference `r`: every pointer that holds it becomes an unknown scalar.
pub(super) fn release(st: &mut State, r: u32) {
    st.refs.held.retain(|(h, _)| *h != r);
    let mut ids = vec![r];
    ids.extend(
        st.refs
            .links
            .iter()
            .filter(|(_, l)| *l == r)
            .map(|(p, _)| *p),
    );
    st.refs.links.retain(|(_, l)| *l != r);
    let dead = |x: &Reg| matches!(x, Reg::Ptr(p) if p.id != 0 && ids.contains(&p.id));
    for fr in st.frames.iter_mut() {
        for x in fr.regs.iter_mut() {
            if dead(x) {
                *x = Reg::unknown();
            }
        }
        for x in fr.stack.spills.iter_mut().flatten() {
            if dead(x) {
                *x = Reg::unknown();
            }
        }
    }
}

/// The NULL side of a NULL check of pointer `id`: an acquired pointer that is NULL holds
/// nothing (`mark_ptr_or_null_regs`: only when `id == ref_obj_id`).
pub(super) fn null_side(st: &mut State, id: u32) {
    st.refs.held.retain(|(h, _)| *h != id);
}

/// `check_reference_leak` at the program's exit.
pub(super) fn check_leak(pc: usize, st: &State, maps: &[MapInfo]) -> Res<()> {
    if let Some((id, insn)) = st.refs.held.first() {
        return rej(
            pc,
            Class::Pointer,
            format!("Unreleased reference id={id} alloc_insn={insn}"),
            Some("every socket a lookup returns must be released with bpf_sk_release, and every bpf_ringbuf_reserve record submitted or discarded, on every path (a NULL result needs neither)".into()),
            st,
            maps,
        );
    }
    Ok(())
}

/// `LD_ABS`/`LD_IND` may not run while a reference is held (`check_ld_abs`).
pub(super) fn check_ld_abs(pc: usize, st: &State, maps: &[MapInfo]) -> Res<()> {
    if !st.refs.held.is_empty() {
        return rej(
            pc,
            Class::Pointer,
            "BPF_LD_[ABS|IND] cannot be mixed with socket references",
            None,
            st,
            maps,
        );
    }
    Ok(())
}

/// A NULL-able `sock_common` for a read of `__sk_buff.sk` (`bpf_skb_is_valid_access`:
/// read-only, as a u64).
pub(super) fn skb_sk(id: u32) -> Reg {
    Reg::Ptr(Ptr {
        kind: Kind::SockCommon,
        off: 0,
        var: Scalar::konst(0),
        id,
        nullable: true,
        range: 0,
    })
}

/// Whether a read of `size` bytes at `off` of a `kind` is allowed.
fn valid_field(kind: Kind, off: i64, size: usize) -> bool {
    let size = size as i64;
    if off < 0 || off % size != 0 {
        return false;
    }
    match kind {
        // bpf_tcp_sock_is_valid_access: up to icsk_retransmits (112 bytes), bytes_received
        // and bytes_acked (80, 88) as u64, the rest as u32.
        Kind::TcpSock => off < 112 && size == if matches!(off, 80 | 88) { 8 } else { 4 },
        // bpf_xdp_sock_is_valid_access: queue_id, a u32.
        Kind::XdpSock => off == 0 && size == 4,
        // bpf_sock_common_is_valid_access: not type, protocol, mark, priority.
        Kind::SockCommon if (8..24).contains(&off) => false,
        // bpf_sock_is_valid_access (struct bpf_sock, 80 bytes).
        _ => {
            if off >= 80 {
                return false;
            }
            let narrow = size <= 4 && (size & (size - 1)) == 0;
            match off {
                // state, family, type, protocol, src_port, rx_queue_mapping (at their
                // offset), src_ip4, src_ip6, dst_ip4, dst_ip6 (anywhere): u32 or narrower.
                72 | 4 | 8 | 12 | 44 | 76 | 24..=43 | 52..=71 => narrow,
                // dst_port: a u32 read, or a u16 one or narrower.
                48..=49 => size == 4 || size <= 2 && narrow,
                // The padding after dst_port.
                50..=51 => false,
                _ => size == 4,
            }
        }
    }
}

impl Ctx<'_> {
    /// A load or store through a socket pointer (`check_mem_access`, `check_sock_access`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn sock_access(
        &self,
        pc: usize,
        st: &State,
        reg: u8,
        p: Ptr,
        off: i16,
        size: usize,
        write: bool,
        atomic: bool,
    ) -> Res<Reg> {
        let maps = self.input.maps;
        let t = type_str(&Reg::Ptr(p));
        if atomic {
            return rej(
                pc,
                Class::Pointer,
                format!("BPF_ATOMIC stores into R{reg} {t} is not allowed"),
                None,
                st,
                maps,
            );
        }
        if write {
            return rej(
                pc,
                Class::Pointer,
                format!("R{reg} cannot write into {t}"),
                Some("socket fields are read-only".into()),
                st,
                maps,
            );
        }
        // No arithmetic is allowed on these pointers: the offset is the instruction's.
        let o = p.off + off as i64;
        if p.off != 0 || !p.var.is_const() || p.var.t.value != 0 || !valid_field(p.kind, o, size) {
            return rej(
                pc,
                Class::Bounds,
                format!("R{reg} invalid {t} access off={o} size={size}"),
                Some(format!(
                    "see struct bpf_{} for its fields and their sizes",
                    if p.kind == Kind::TcpSock {
                        "tcp_sock"
                    } else {
                        "sock"
                    }
                )),
                st,
                maps,
            );
        }
        Ok(Reg::unknown())
    }
}

/// The helpers of this module: lookups, release, casts, `bpf_get_netns_cookie`, and the
/// map helpers on a socket map (SOCKMAP, SOCKHASH) in R1.
pub(super) fn handles(id: i32, st: &State, maps: &[MapInfo]) -> bool {
    let storage = matches!(id, 107 | 108);
    helpers::SOCKET_HELPERS.contains(&id) && !storage
        // bpf_skc_to_*_sock casts (see `helper`).
        || matches!(id, 136..=140 | 178)
        || matches!(id, 1..=3) && sock_map(st, maps).is_some()
        || id == 1 && xsk_map(st, maps)
        || storage && sk_storage_map(st, maps).is_some()
}

/// The SK_STORAGE map (24) R1 points to, for the skb program types whose
/// `bpf_sk_storage_get`/`_delete` take a socket (bpf_sk_storage_get_proto; cgroup_sock and
/// tracing programs have other prototypes).
fn sk_storage_map(st: &State, maps: &[MapInfo]) -> Option<u32> {
    match st.cur().regs[1] {
        Reg::Ptr(Ptr {
            kind: Kind::MapPtr(m),
            ..
        }) if maps.get(m as usize).is_some_and(|mi| mi.map_type == 24) => Some(m),
        _ => None,
    }
}

/// Whether R1 points to an XSKMAP (17), whose lookups give an `xdp_sock`
/// (mark_ptr_not_null_reg).
fn xsk_map(st: &State, maps: &[MapInfo]) -> bool {
    matches!(st.cur().regs[1], Reg::Ptr(Ptr { kind: Kind::MapPtr(m), .. })
        if maps.get(m as usize).is_some_and(|mi| mi.map_type == 17))
}

/// The socket map (BPF_MAP_TYPE_SOCKMAP 15, SOCKHASH 18) R1 points to.
fn sock_map(st: &State, maps: &[MapInfo]) -> Option<u32> {
    match st.cur().regs[1] {
        Reg::Ptr(Ptr {
            kind: Kind::MapPtr(m),
            ..
        }) if maps
            .get(m as usize)
            .is_some_and(|mi| matches!(mi.map_type, 15 | 18)) =>
        {
            Some(m)
        }
        _ => None,
    }
}

/// A call of one of the helpers [`handles`] (availability already checked): arguments,
/// references, result.
pub(super) fn helper(cx: &mut Ctx<'_>, pc: usize, st: &mut State, p: &helpers::Proto) -> Res<Next> {
    let maps = cx.input.maps;
    if st.frames.iter().any(|f| f.callback.is_some()) && p.id != 122 {
        return rej(
            pc,
            Class::Unsupported,
            format!("bpf_{} in a callback is not modelled", p.name),
            None,
            st,
            maps,
        );
    }
    let r1 = cx.read_reg(pc, st, 1).map_err(|mut e| {
        e.class = Class::Uninit;
        e.msg = format!(
            "R1 !read_ok: argument 1 of bpf_{} is not initialised",
            p.name
        );
        e
    })?;
    let want = |what: &str, st: &State| -> Res<Next> {
        rej(
            pc,
            Class::Helper,
            format!(
                "R1 type={} expected={what} (argument 1 of bpf_{})",
                type_str(&r1),
                p.name
            ),
            None,
            st,
            maps,
        )
    };
    let sock_arg = |r: &Reg| match r {
        Reg::Ptr(q) if is_sock(q.kind) && !q.nullable => Some(*q),
        _ => None,
    };
    // ARG_PTR_TO_BTF_ID_SOCK_COMMON (btf_id_sock_common_types): a socket pointer, or a
    // plain or trusted PTR_TO_BTF_ID of struct sock_common (or a struct that starts with
    // it, btf_struct_ids_match) at offset 0.
    // (bpf_sk_release and the sockmap updates take BTF sockets since 5.10.)
    let btf = cx.btf.filter(|_| cx.kernel.at_least((5, 10)));
    let sock_common_arg = |r: &Reg| match r {
        Reg::Ptr(
            q @ Ptr {
                kind: Kind::Btf(id, f),
                nullable: false,
                ..
            },
        ) if f & (btfptr::UNTRUSTED | btfptr::RCU) == 0 && q.var.value() == Some(0) => btf
            .and_then(|b| Some((b, b.struct_named("sock_common")?)))
            .filter(|(b, sc)| btfptr::struct_ids_match(b, *id, q.off, *sc))
            .map(|_| *q),
        _ => sock_arg(r),
    };
    let mut link = None;
    let mut ret: Option<(Kind, bool)> = None; // (kind, acquired)
    match p.id {
        // bpf_sk_storage_get(map, sk, value or NULL, flags), bpf_sk_storage_delete(map, sk):
        // a socket known not to be NULL; the initial value is NULL or `value_size` bytes
        // (ARG_PTR_TO_MAP_VALUE_OR_NULL); the result a NULL-able value of the map.
        107 | 108
            if matches!(
                cx.input.prog_type,
                ptype::SCHED_CLS | ptype::SCHED_ACT | ptype::CGROUP_SKB
            ) =>
        {
            let m = sk_storage_map(st, maps).expect("handles() checked it");
            let r2 = cx.read_reg(pc, st, 2)?;
            if sock_arg(&r2).is_none() {
                return rej(
                    pc,
                    Class::Helper,
                    format!(
                        "R2 type={} expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_ (argument 2 of bpf_{})",
                        type_str(&r2),
                        p.name
                    ),
                    None,
                    st,
                    maps,
                );
            }
            if p.id == 107 {
                let r3 = cx.read_reg(pc, st, 3)?;
                if !matches!(r3, Reg::Scalar(s) if s.value() == Some(0)) {
                    let vs = maps[m as usize].value_size as usize;
                    check_mem_arg(cx, pc, st, 3, &r3, vs, false, p.name)?;
                }
                cx.read_reg(pc, st, 4)?;
                let id = cx.new_id();
                let f = st.cur_mut();
                for r in 1..=5 {
                    f.regs[r] = Reg::Uninit;
                }
                f.regs[0] = Reg::Ptr(Ptr {
                    kind: Kind::MapValue(m),
                    off: 0,
                    var: Scalar::konst(0),
                    id,
                    nullable: true,
                    range: 0,
                });
                return Ok(Next::Goto(pc + 1));
            }
        }
        107 | 108 => {
            return rej(
                pc,
                Class::Unsupported,
                format!(
                    "bpf_{} is modelled for tc and cgroup_skb programs only",
                    p.name
                ),
                None,
                st,
                maps,
            )
        }
        // bpf_map_lookup_elem on an XSKMAP: a NULL-able xdp_sock, no reference.
        1 if xsk_map(st, maps) => {
            let mut found = HelperArgs::default();
            if let Reg::Ptr(Ptr {
                kind: Kind::MapPtr(m),
                ..
            }) = r1
            {
                found.map = Some(m);
            }
            helper_arg(cx, pc, st, p, 1, &mut found)?;
            ret = Some((Kind::XdpSock, false));
        }
        // bpf_map_lookup_elem, _update_elem, _delete_elem on a socket map: the key as for
        // any map; an update's value is a socket (resolve_map_arg_type:
        // ARG_PTR_TO_BTF_ID_SOCK_COMMON); a lookup acquires the socket it returns
        // (is_acquire_function); updates and deletes only from the program types of
        // may_update_sockmap (check_map_func_compatibility).
        1..=3 => {
            let mut found = HelperArgs::default();
            found.map = sock_map(st, maps);
            helper_arg(cx, pc, st, p, 1, &mut found)?;
            if p.id == 2 {
                let r3 = cx.read_reg(pc, st, 3)?;
                if sock_common_arg(&r3).is_none() {
                    return rej(
                        pc,
                        Class::Helper,
                        format!(
                            "R3 type={} expected=sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_ (argument 3 of bpf_map_update_elem on a socket map)",
                            type_str(&r3)
                        ),
                        None,
                        st,
                        maps,
                    );
                }
                cx.read_reg(pc, st, 4)?;
            }
            // may_update_sockmap: also BPF_TRACE_ITER tracing programs.
            let iter = cx.input.prog_type == TRACING
                && cx
                    .attach
                    .as_ref()
                    .is_some_and(|a| a.kind == AttachKind::Iter);
            if p.id == 1 {
                ret = Some((Kind::Sock, true));
            } else if !(iter
                || matches!(
                    cx.input.prog_type,
                    ptype::SOCKET_FILTER
                        | ptype::SCHED_CLS
                        | ptype::SCHED_ACT
                        | ptype::XDP
                        | SK_REUSEPORT
                        | FLOW_DISSECTOR
                        | SK_LOOKUP
                )
                || cx.input.prog_type == SOCK_OPS && p.id == 3)
            {
                return rej(
                    pc,
                    Class::Helper,
                    "cannot update sockmap in this context",
                    None,
                    st,
                    maps,
                );
            }
        }
        // bpf_sk_lookup_tcp/udp, bpf_skc_lookup_tcp(ctx, tuple, size, netns, flags).
        84 | 85 | 99 => {
            let mut found = HelperArgs::default();
            for k in 0..5 {
                helper_arg(cx, pc, st, p, k, &mut found)?;
            }
            ret = Some((
                if p.id == 99 {
                    Kind::SockCommon
                } else {
                    Kind::Sock
                },
                true,
            ));
        }
        // bpf_sk_release(ARG_PTR_TO_BTF_ID_SOCK_COMMON | OBJ_RELEASE): a socket pointer that
        // holds a reference (check_reg_type, then check_func_arg's release check).
        86 => {
            let Some(q) = sock_common_arg(&r1) else {
                return want(
                    "sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_",
                    st,
                );
            };
            let Some(r) = ref_of(st, q.id) else {
                return rej(
                    pc,
                    Class::Pointer,
                    "R1 must be referenced when passed to release function",
                    Some("only a socket from bpf_sk_lookup_tcp/udp or bpf_skc_lookup_tcp (or a cast of one) may be released".into()),
                    st,
                    maps,
                );
            };
            release(st, r);
        }
        // bpf_skc_to_{tcp6,tcp,tcp_timewait,tcp_request,udp6,unix}_sock
        // (ARG_PTR_TO_BTF_ID_SOCK_COMMON): RET_PTR_TO_BTF_ID_OR_NULL of the struct, which
        // holds the argument's reference (is_ptr_cast_function).
        136..=140 | 178 => {
            let name = match p.id {
                136 => "tcp6_sock",
                137 => "tcp_sock",
                138 => "tcp_timewait_sock",
                139 => "tcp_request_sock",
                140 => "udp6_sock",
                _ => "unix_sock",
            };
            let Some(sid) = btf.and_then(|b| b.struct_named(name)) else {
                return rej(
                    pc,
                    Class::Unsupported,
                    format!(
                        "bpf_{} returns a pointer to a kernel type: the kernel's BTF is needed",
                        p.name
                    ),
                    None,
                    st,
                    maps,
                );
            };
            let Some(q) = sock_common_arg(&r1) else {
                return want(
                    "sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_",
                    st,
                );
            };
            let link = ref_of(st, q.id);
            let id = cx.new_id();
            if let Some(r) = link {
                st.refs.links.push((id, r));
            }
            let f = st.cur_mut();
            for r in 1..=5 {
                f.regs[r] = Reg::Uninit;
            }
            f.regs[0] = btfptr::btf_ptr(sid, 0, true, id);
            return Ok(Next::Goto(pc + 1));
        }
        // bpf_sk_fullsock, bpf_tcp_sock, bpf_get_listener_sock(ARG_PTR_TO_SOCK_COMMON); the
        // first two are casts: their result holds the argument's reference.
        95 | 96 | 98 => {
            let Some(q) = sock_arg(&r1) else {
                return want("sock_common, sock, tcp_sock, xdp_sock", st);
            };
            if p.id != 98 {
                link = ref_of(st, q.id);
            }
            ret = Some((
                if p.id == 96 {
                    Kind::TcpSock
                } else {
                    Kind::Sock
                },
                false,
            ));
        }
        // bpf_get_netns_cookie(ARG_PTR_TO_CTX_OR_NULL): the unmodified context or NULL.
        _ => match r1 {
            Reg::Ptr(Ptr {
                kind: Kind::Ctx,
                off: 0,
                var,
                ..
            }) if var.value() == Some(0) => {}
            Reg::Scalar(s) if s.value() == Some(0) => {}
            _ => return want("ctx", st),
        },
    }
    let f = st.cur_mut();
    for r in 1..=5 {
        f.regs[r] = Reg::Uninit;
    }
    f.regs[0] = Reg::unknown();
    if let Some((kind, acquired)) = ret {
        let id = cx.new_id();
        if acquired {
            st.refs.held.push((id, pc as u32));
        }
        if let Some(r) = link {
            st.refs.links.push((id, r));
        }
        st.cur_mut().regs[0] = Reg::Ptr(Ptr {
            kind,
            off: 0,
            var: Scalar::konst(0),
            id,
            nullable: true,
            range: 0,
        });
    }
    Ok(Next::Goto(pc + 1))
}
