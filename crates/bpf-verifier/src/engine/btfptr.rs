//! BTF-typed kernel pointers (the kernel's PTR_TO_BTF_ID), read through the target
//! kernel's BTF: `Kind::Btf(type id, flags)`, with `Ptr::nullable` as PTR_MAYBE_NULL.
//!
//! Where they come from: the pointer arguments of fentry/fexit/fmod_ret/LSM programs and of
//! `iter/task` (`btf_ctx_access` in kernel/bpf/btf.c), the netfilter context's `state` and
//! `skb` (`nf_is_valid_access`), `bpf_get_current_task_btf` (RET_PTR_TO_BTF_ID_TRUSTED),
//! and loads of pointer fields through such a pointer or a map pointer.
//!
//! What is modelled (kernel/bpf/verifier.c v6.12 `check_ptr_to_btf_access`, btf.c
//! `btf_struct_access` / `btf_struct_walk`): loads at a constant offset inside the struct
//! give a scalar for integer fields and a new PTR_TO_BTF_ID for pointer-to-struct fields;
//! stores are refused ("only read is supported"); negative, variable, out-of-struct and
//! misaligned pointer-member accesses are refused with the kernel's messages. Every
//! modelled program type is non-sleepable, so every load runs in an RCU critical section:
//! a walked pointer is plain PTR_TO_BTF_ID (untrusted when its parent is, or when walked
//! through a union), and the fields the kernel lists as RCU-or-NULL / trusted-or-NULL
//! (`BTF_TYPE_SAFE_*_OR_NULL`) are NULL-able. The kernel's trusted and RCU field lists
//! (which make some walked pointers PTR_TRUSTED or MEM_RCU, not NULL) are not followed:
//! such pointers stay plain, which only the kfuncs (not modelled) would treat differently.
//! Helper arguments ARG_PTR_TO_BTF_ID are matched by type, walking first members
//! (`btf_struct_ids_match`).

use super::*;

/// PTR_TRUSTED.
pub(super) const TRUSTED: u8 = 1;
/// MEM_RCU.
pub(super) const RCU: u8 = 2;
/// PTR_UNTRUSTED.
pub(super) const UNTRUSTED: u8 = 4;

/// A pointer to BTF type `id` (a struct).
pub(super) fn btf_ptr(id: u32, flags: u8, nullable: bool, ptr_id: u32) -> Reg {
    Reg::Ptr(Ptr {
        kind: Kind::Btf(id, flags),
        off: 0,
        var: Scalar::konst(0),
        id: ptr_id,
        nullable,
        range: 0,
    })
}

/// The kernel's register type prefix (`reg_type_str`): `trusted_ptr_`, `rcu_ptr_`,
/// `untrusted_ptr_`, `ptr_`.
pub(super) fn type_prefix(flags: u8) -> &'static str {
    if flags & UNTRUSTED != 0 {
        "untrusted_ptr_"
    } else if flags & TRUSTED != 0 {
        "trusted_ptr_"
    } else if flags & RCU != 0 {
        "rcu_ptr_"
    } else {
        "ptr_"
    }
}

/// Fields whose pointer may be NULL even when the parent is not (6.12's
/// `BTF_TYPE_SAFE_RCU_OR_NULL` and `BTF_TYPE_SAFE_TRUSTED_OR_NULL`, verifier.c).
const OR_NULL_FIELDS: &[(&str, &str)] = &[
    ("mm_struct", "exe_file"),
    ("sk_buff", "sk"),
    ("request_sock", "sk"),
    ("socket", "sk"),
];

/// What a load through a BTF pointer reads (`btf_struct_walk`'s results).
enum Walk {
    Scalar,
    /// A pointer to struct `id`; `union` when the walk went through a union of more than one
    /// member; the type tag flags (`user`, `percpu`, `rcu`); the field's name and the struct
    /// holding it.
    Ptr {
        id: u32,
        union: bool,
        tag: Option<String>,
        field: String,
        parent: String,
    },
}

fn kind_of(b: &btf::Btf, id: u32) -> Option<&btf::Kind> {
    b.get(id).map(|t| &t.kind)
}

/// `btf_struct_walk` (+ `btf_struct_access`'s loop over nested structs): the access of
/// `size` bytes at `off` into struct `id`.
fn struct_walk(
    b: &btf::Btf,
    id: u32,
    mut off: u32,
    size: u32,
    union_walks: bool,
) -> Result<Walk, String> {
    let mut t = b.resolve(id);
    let mut union = false;
    for _ in 0..64 {
        let tname = b.name(t).to_string();
        let (tsize, members, is_union) = match kind_of(b, t) {
            Some(btf::Kind::Struct { size, members }) => (*size, members, false),
            Some(btf::Kind::Union { size, members }) => (*size, members, true),
            _ => return Err(format!("Type '{tname}' is not a struct")),
        };
        // Walking a union of several members yields untrusted pointers and may read past
        // the member (6.12; checked from then on, older kernels refuse it).
        if is_union && members.len() != 1 && union_walks {
            union = true;
        }
        if u64::from(off) + u64::from(size) > u64::from(tsize) {
            // A flexible array at the end: walked into its elements.
            let flex = members.last().and_then(|m| {
                let mt = b.resolve(m.type_id);
                match kind_of(b, mt) {
                    Some(btf::Kind::Array { elem, len: 0, .. }) => {
                        Some((m.bit_offset / 8, b.resolve(*elem)))
                    }
                    _ => None,
                }
            });
            let Some((moff, elem)) = flex.filter(|(moff, _)| off >= *moff) else {
                return Err(format!(
                    "access beyond struct {tname} at off {off} size {size}"
                ));
            };
            match kind_of(b, elem) {
                Some(btf::Kind::Int { .. }) => return Ok(Walk::Scalar),
                Some(btf::Kind::Struct { size: es, .. } | btf::Kind::Union { size: es, .. })
                    if *es > 0 =>
                {
                    off = (off - moff) % es;
                    t = elem;
                    continue;
                }
                _ => {
                    return Err(format!(
                        "access beyond struct {tname} at off {off} size {size}"
                    ))
                }
            }
        }
        let mut next = None;
        for m in members {
            let moff = m.bit_offset / 8;
            if off + size <= moff {
                break;
            }
            if m.bitfield_size != 0 {
                let end_bit = m.bit_offset + m.bitfield_size;
                if off <= moff && end_bit.div_ceil(8) <= off + size {
                    return Ok(Walk::Scalar);
                }
                continue;
            }
            if off < moff {
                break;
            }
            let mname = b.name_of_member(m);
            // __btf_resolve_size: arrays (of arrays) flattened to their element.
            let mut mt = b.resolve(m.type_id);
            let Some(mut msize) = b.size_of(mt) else {
                return Err(format!("field {mname} doesn't have size"));
            };
            let mut is_array = false;
            let mut nelems: u64 = 1;
            while let Some(btf::Kind::Array { elem, len, .. }) = kind_of(b, mt) {
                is_array = true;
                nelems = nelems.saturating_mul(u64::from(*len));
                mt = b.resolve(*elem);
            }
            let mtrue_end = u64::from(moff) + msize;
            if u64::from(off) >= mtrue_end {
                continue;
            }
            let mut moff = moff;
            if is_array {
                if nelems == 0 {
                    continue;
                }
                msize /= nelems;
                if msize == 0 {
                    return Err(format!("field {mname} doesn't have size"));
                }
                let idx = (u64::from(off - moff)) / msize;
                moff += (idx * msize) as u32;
            }
            match kind_of(b, mt) {
                Some(btf::Kind::Struct { .. } | btf::Kind::Union { .. }) => {
                    next = Some((mt, off - moff));
                    break;
                }
                Some(btf::Kind::Ptr(p)) => {
                    if msize != u64::from(size) || off != moff {
                        return Err(format!(
                            "cannot access ptr member {mname} with moff {moff} in struct {tname} with off {off} size {size}"
                        ));
                    }
                    let tag = match kind_of(b, *p) {
                        Some(btf::Kind::TypeTag(_)) => Some(b.name(*p).to_string()),
                        _ => None,
                    };
                    let st = b.resolve(*p);
                    if matches!(
                        kind_of(b, st),
                        Some(btf::Kind::Struct { .. } | btf::Kind::Union { .. })
                    ) {
                        return Ok(Walk::Ptr {
                            id: st,
                            union,
                            tag,
                            field: mname.to_string(),
                            parent: tname,
                        });
                    }
                }
                _ => {}
            }
            if u64::from(off) + u64::from(size) > mtrue_end && !union {
                return Err(format!(
                    "access beyond the end of member {mname} (mend:{mtrue_end}) in struct {tname} with off {off} size {size}"
                ));
            }
            return Ok(Walk::Scalar);
        }
        match next {
            Some((nt, noff)) => {
                t = nt;
                off = noff;
            }
            None => return Err(format!("struct {tname} doesn't have field at offset {off}")),
        }
    }
    Err("BTF nests structs too deeply".into())
}

/// `btf_struct_ids_match` with `strict` false: whether a pointer to struct `have` (at byte
/// offset `off`) may be passed where a pointer to struct `want` is expected — the same
/// type, or `want` reached through first members at offset 0.
pub(super) fn struct_ids_match(b: &btf::Btf, have: u32, off: i64, want: u32) -> bool {
    let mut t = b.resolve(have);
    let want = b.resolve(want);
    let mut off = off;
    for _ in 0..32 {
        if off == 0 && t == want {
            return true;
        }
        if off != 0 {
            return false;
        }
        // The first member, when it is a struct at offset 0.
        let Some(m) = b.members(t).first() else {
            return false;
        };
        if m.bit_offset != 0 {
            return false;
        }
        let mt = b.resolve(m.type_id);
        if !matches!(kind_of(b, mt), Some(btf::Kind::Struct { .. })) {
            return false;
        }
        t = mt;
        off = 0;
    }
    false
}

trait MemberName {
    fn name_of_member(&self, m: &btf::Member) -> &str;
}

impl MemberName for btf::Btf {
    fn name_of_member(&self, m: &btf::Member) -> &str {
        self.str_at(m.name_off)
    }
}

impl Ctx<'_> {
    /// The struct type named `name` in the target's BTF.
    pub(super) fn btf_struct(&self, name: &str) -> Option<u32> {
        self.btf?.struct_named(name)
    }

    /// A load or store through a BTF pointer (`check_ptr_to_btf_access`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn btf_access(
        &mut self,
        pc: usize,
        st: &State,
        reg: u8,
        p: Ptr,
        off: i16,
        size: usize,
        write: bool,
    ) -> Res<Reg> {
        let maps = self.input.maps;
        let Kind::Btf(id, flags) = p.kind else {
            unreachable!("btf_access on a BTF pointer")
        };
        let Some(b) = self.btf else {
            return rej(
                pc,
                Class::Unsupported,
                "a BTF pointer without the kernel's BTF",
                None,
                st,
                maps,
            );
        };
        let tname = b.name(id).to_string();
        if !self.gpl {
            return rej(
                pc,
                Class::Pointer,
                format!("Cannot access kernel 'struct {tname}' from non-GPL compatible program"),
                None,
                st,
                maps,
            );
        }
        let o = p.off + off as i64;
        if o < 0 {
            return rej(
                pc,
                Class::Bounds,
                format!("R{reg} is ptr_{tname} invalid negative access: off={o}"),
                None,
                st,
                maps,
            );
        }
        if !p.var.is_const() || p.var.t.value != 0 {
            return rej(
                pc,
                Class::Pointer,
                format!(
                    "R{reg} is ptr_{tname} invalid variable offset: off={o}, var_off={}",
                    p.var
                ),
                None,
                st,
                maps,
            );
        }
        if write {
            return rej(
                pc,
                Class::Pointer,
                "only read is supported",
                Some(
                    "a pointer to a kernel type (PTR_TO_BTF_ID) is read-only to tracing programs"
                        .into(),
                ),
                st,
                maps,
            );
        }
        self.btf_load(pc, st, id, flags, o, size, b)
    }

    /// The value a load of `size` bytes at `o` in struct `id` gives (`btf_struct_access`
    /// and the flags `check_ptr_to_btf_access` puts on a pointer).
    #[allow(clippy::too_many_arguments)]
    fn btf_load(
        &mut self,
        pc: usize,
        st: &State,
        id: u32,
        flags: u8,
        o: i64,
        size: usize,
        b: &btf::Btf,
    ) -> Res<Reg> {
        let maps = self.input.maps;
        let o = u32::try_from(o).unwrap_or(u32::MAX);
        // Sleepable programs (syscall, `*.s` sections) are outside an RCU critical section:
        // walked pointers are untrusted (check_ptr_to_btf_access, !in_rcu_cs).
        let sleepable = self.input.prog_type == SYSCALL
            || self.attach.as_ref().is_some_and(|a| a.sleepable)
            || self
                .section
                .is_some_and(|s| s.split('/').next().is_some_and(|p| p.ends_with(".s")));
        match struct_walk(b, id, o, size as u32, self.kernel.at_least((6, 12))) {
            Err(e) => rej(pc, Class::Bounds, e, None, st, maps),
            Ok(Walk::Scalar) => Ok(Reg::unknown()),
            Ok(Walk::Ptr {
                id: nid,
                union,
                tag,
                field,
                parent,
            }) => {
                if matches!(tag.as_deref(), Some("user" | "percpu")) {
                    return rej(
                        pc,
                        Class::Unsupported,
                        format!(
                            "a __{} pointer (field {field} of struct {parent}) is not modelled",
                            tag.unwrap_or_default()
                        ),
                        None,
                        st,
                        maps,
                    );
                }
                let nflags = if flags & UNTRUSTED != 0 || union || sleepable {
                    UNTRUSTED
                } else {
                    0
                };
                let or_null = tag.as_deref() == Some("rcu")
                    || OR_NULL_FIELDS.contains(&(parent.as_str(), field.as_str()));
                let pid = if or_null { self.new_id() } else { 0 };
                Ok(btf_ptr(nid, nflags, or_null, pid))
            }
        }
    }

    /// A load from a map pointer (`check_map_ptr_access`, 6.12): read-only, through the
    /// BTF of the struct the map's ops name (`map_btf_id`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn map_ptr_access(
        &mut self,
        pc: usize,
        st: &State,
        reg: u8,
        p: Ptr,
        m: u32,
        off: i16,
        size: usize,
        write: bool,
    ) -> Option<Res<Reg>> {
        let maps = self.input.maps;
        let b = self.btf?;
        let mi = maps.get(m as usize)?;
        // Map fields through BTF arrived in 5.10.
        if !self.kernel.at_least((5, 10)) {
            return None;
        }
        // map_btf_id of the map types whose ops this model knows.
        let sname = match mi.map_type {
            1 | 5 | 9 | 10 => "bpf_htab", // hash, percpu hash, lru hash, lru percpu hash
            2 | 6 => "bpf_array",         // array, percpu array
            33 => "bpf_arena",
            _ => return None,
        };
        let sid = b.struct_named(sname)?;
        if write {
            return Some(rej(
                pc,
                Class::Pointer,
                format!("only read from {sname} is supported"),
                None,
                st,
                maps,
            ));
        }
        let o = p.off + off as i64;
        if o < 0 {
            return Some(rej(
                pc,
                Class::Bounds,
                format!("R{reg} is {sname} invalid negative access: off={o}"),
                None,
                st,
                maps,
            ));
        }
        if !p.var.is_const() || p.var.t.value != 0 {
            return Some(rej(
                pc,
                Class::Pointer,
                format!(
                    "R{reg} invalid variable offset into {sname}: var_off={}",
                    p.var
                ),
                None,
                st,
                maps,
            ));
        }
        Some(self.btf_load(pc, st, sid, 0, o, size, b))
    }
}

/// The helpers whose BTF-typed arguments and results are modelled (6.12's protos):
/// `(helper id, argument index taking ARG_PTR_TO_BTF_ID, its struct)`.
const BTF_ARGS: &[(i32, usize, &str)] = &[
    (126, 0, "seq_file"),    // seq_printf (btf_seq_file_ids)
    (127, 0, "seq_file"),    // seq_write
    (141, 0, "task_struct"), // get_task_stack (btf_tracing_ids[TASK])
    (147, 0, "path"),        // d_path (bpf_d_path_btf_ids)
    (162, 0, "file"),        // sock_from_file
    (175, 0, "task_struct"), // task_pt_regs
];

/// `(helper id, returned struct, flags, NULL-able)`: RET_PTR_TO_BTF_ID_TRUSTED,
/// RET_PTR_TO_BTF_ID, RET_PTR_TO_BTF_ID_OR_NULL (check_helper_call: PTR_TO_BTF_ID with
/// the return type's flags).
const BTF_RETS: &[(i32, &str, u8, bool)] = &[
    (158, "task_struct", TRUSTED, false), // get_current_task_btf
    (162, "socket", 0, true),             // sock_from_file
    (175, "pt_regs", 0, false),           // task_pt_regs
];

/// The iterators whose context is modelled, with the pointer arguments their
/// `ctx_arg_info` types (6.12): `(target, argument, flags, NULL-able)`; their other struct
/// pointer arguments (meta, map) are trusted (prog_args_trusted), pointers to non-structs
/// (sockmap's key, a PTR_TO_BUF) are not modelled.
const ITER_ARGS: &[(&str, usize, u8, bool)] = &[
    ("task", 1, TRUSTED, true), // bpf_iter__task.task: PTR_TO_BTF_ID_OR_NULL | PTR_TRUSTED
    ("sockmap", 3, 0, true),    // bpf_iter__sockmap.sk: PTR_TO_BTF_ID_OR_NULL (struct sock)
];

impl Ctx<'_> {
    /// Whether argument `k` (ARG_PTR_TO_BTF_ID) of helper `id` is modelled: the helper is
    /// in the table and the target's BTF is known.
    pub(super) fn btf_arg_modelled(&self, id: i32, k: usize) -> bool {
        self.btf.is_some() && BTF_ARGS.iter().any(|&(h, a, _)| h == id && a == k)
    }

    /// Whether the BTF pointer result of helper `id` is modelled.
    pub(super) fn btf_ret_modelled(&self, id: i32) -> bool {
        self.btf.is_some() && BTF_RETS.iter().any(|&(h, ..)| h == id)
    }

    /// The availability of the helpers the generated table cannot express, because it
    /// depends on the attach type (6.12's tracing_prog_func_proto, which LSM programs
    /// also fall back to): seq_printf and seq_write for BPF_TRACE_ITER programs only,
    /// d_path for tracing programs. `None`: the table decides.
    pub(super) fn btf_helper_avail(
        &self,
        p: &helpers::Proto,
    ) -> Option<Option<helpers::Unavailable>> {
        if !matches!(p.id, 126 | 127 | 147) || self.btf.is_none() {
            return None;
        }
        if !self.kernel.at_least(p.since) {
            return Some(Some(helpers::Unavailable::NotYet(p.since)));
        }
        let iter = self
            .attach
            .as_ref()
            .is_some_and(|a| a.kind == AttachKind::Iter);
        let ok = self.input.prog_type == TRACING && (p.id == 147 || iter);
        Some((!ok).then_some(helpers::Unavailable::NotForType { later: None }))
    }

    /// `fn->allowed` (check_helper_call): `Some(message)` when this program may not call
    /// helper `id`. bpf_d_path_allowed: iterators, and the functions of
    /// `btf_allowlist_d_path` (LSM programs, allowed on sleepable hooks, are not modelled:
    /// refused).
    pub(super) fn btf_helper_refused(&self, id: i32) -> Option<String> {
        if id != 147 {
            return None;
        }
        const D_PATH: &[&str] = &[
            "security_file_permission",
            "security_inode_getattr",
            "security_file_open",
            "vfs_truncate",
            "vfs_fallocate",
            "dentry_open",
            "vfs_getattr",
            "filp_close",
        ];
        let ok = self.attach.as_ref().is_some_and(|a| {
            a.kind == AttachKind::Iter
                || (matches!(
                    a.kind,
                    AttachKind::Fentry | AttachKind::Fexit | AttachKind::FmodRet
                ) && D_PATH.contains(&a.target.as_str()))
        });
        (!ok).then(|| "helper call is not allowed in probe".to_string())
    }

    /// An ARG_PTR_TO_BTF_ID argument (check_reg_type with btf_ptr_types, then
    /// btf_struct_ids_match and check_func_arg_reg_off): a non-NULL PTR_TO_BTF_ID, plain,
    /// trusted or RCU (not untrusted), of the expected struct, at offset 0.
    pub(super) fn btf_helper_arg(
        &self,
        pc: usize,
        st: &State,
        p: &helpers::Proto,
        k: usize,
    ) -> Res<()> {
        let maps = self.input.maps;
        let r = k + 1;
        let Some(&(_, _, want)) = BTF_ARGS.iter().find(|&&(h, a, _)| h == p.id && a == k) else {
            return Ok(());
        };
        let (Some(b), Some(wid)) = (self.btf, self.btf.and_then(|b| b.struct_named(want))) else {
            return rej(
                pc,
                Class::Unsupported,
                format!("struct {want} is not in the kernel's BTF"),
                None,
                st,
                maps,
            );
        };
        let v = st.cur().regs[r];
        match v {
            Reg::Ptr(
                q @ Ptr {
                    kind: Kind::Btf(id, f),
                    nullable: false,
                    ..
                },
            ) if f & UNTRUSTED == 0 => {
                if q.off < 0 || !q.var.is_const() || q.var.t.value != 0 {
                    return rej(
                        pc,
                        Class::Pointer,
                        format!("R{r} variable or negative offset into ptr_{} disallowed (argument {} of bpf_{})", b.name(id), r, p.name),
                        None,
                        st,
                        maps,
                    );
                }
                if !struct_ids_match(b, id, q.off, wid) {
                    return rej(
                        pc,
                        Class::Helper,
                        format!("R{r} is of type {} but {want} is expected", b.name(id)),
                        None,
                        st,
                        maps,
                    );
                }
                Ok(())
            }
            _ => rej(
                pc,
                Class::Helper,
                format!(
                    "R{r} type={} expected=ptr_, trusted_ptr_, rcu_ptr_",
                    sock::type_str(&v)
                ),
                Some(format!(
                    "bpf_{} takes a non-NULL pointer to struct {want}",
                    p.name
                )),
                st,
                maps,
            ),
        }
    }

    /// An `arg:trusted` argument of a global function in register `r`
    /// (btf_check_func_arg_match: check_reg_type with btf_ptr_types, NULL only when the
    /// argument is `arg:nullable`, btf_struct_ids_match, check_func_arg_reg_off). `Err("")`:
    /// the struct is not in the kernel's BTF (outside the model).
    pub(super) fn btf_global_arg(
        &self,
        st: &State,
        r: u8,
        name: &str,
        nullable: bool,
    ) -> Result<(), String> {
        let Some((b, want)) = self.btf.and_then(|b| Some((b, b.struct_named(name)?))) else {
            return Err(String::new());
        };
        let v = st.cur().regs[r as usize];
        match v {
            Reg::Ptr(
                q @ Ptr {
                    kind: Kind::Btf(id, f),
                    ..
                },
            ) if f & UNTRUSTED == 0 => {
                if q.nullable && !nullable {
                    return Err(format!("Possibly NULL pointer passed to helper arg{r}"));
                }
                if q.off < 0 || q.var.value() != Some(0) {
                    return Err(format!(
                        "R{r} variable or negative offset into ptr_{} disallowed",
                        b.name(id)
                    ));
                }
                if !struct_ids_match(b, id, q.off, want) {
                    return Err(format!(
                        "R{r} is of type {} but {name} is expected",
                        b.name(id)
                    ));
                }
                Ok(())
            }
            _ => Err(format!(
                "R{r} type={} expected=ptr_, trusted_ptr_, rcu_ptr_",
                sock::type_str(&v)
            )),
        }
    }

    /// The BTF pointer helper `id` returns (see `BTF_RETS`).
    pub(super) fn btf_helper_ret(&mut self, id: i32) -> Option<Reg> {
        let &(_, name, flags, nullable) = BTF_RETS.iter().find(|&&(h, ..)| h == id)?;
        let sid = self.btf?.struct_named(name)?;
        let pid = if nullable { self.new_id() } else { 0 };
        Some(btf_ptr(sid, flags, nullable, pid))
    }

    /// The BTF pointer a BTF-typed context argument holds (`btf_ctx_access`): a pointer to
    /// a struct, plain for fentry/fexit/fmod_ret and LSM (this model does not follow
    /// `bpf_lsm_is_trusted`, which would make it trusted), NULL-able when the parameter's
    /// name ends in `__nullable`; for `iter/task` (its `ctx_arg_info`) the meta is trusted
    /// and the task trusted and NULL-able. `None`: not modelled (tp_btf, whose NULL-able
    /// arguments come from the kernel's `raw_tp_null_args`, other iterators, pointers to
    /// non-structs).
    pub(super) fn btf_ctx_arg(&mut self, arg: usize) -> Option<Reg> {
        let b = self.btf?;
        let a = self.attach.as_ref()?;
        let func = match a.kind {
            AttachKind::Fentry | AttachKind::Fexit | AttachKind::FmodRet => a.target.clone(),
            AttachKind::Lsm => format!("bpf_lsm_{}", a.target),
            AttachKind::Iter if ITER_ARGS.iter().any(|(t, ..)| *t == a.target) => {
                format!("bpf_iter_{}", a.target)
            }
            _ => return None,
        };
        let (_, params) = b.func_proto(b.func_named(&func)?)?;
        let prm = params.get(arg)?;
        let Some(btf::Kind::Ptr(pt)) = kind_of(b, b.resolve(prm.type_id)) else {
            return None;
        };
        let sid = b.resolve(*pt);
        if !matches!(kind_of(b, sid), Some(btf::Kind::Struct { .. })) {
            return None;
        }
        let (flags, nullable) = match a.kind {
            // ctx_arg_info, else prog_args_trusted.
            AttachKind::Iter => ITER_ARGS
                .iter()
                .find(|(t, k, ..)| *t == a.target && *k == arg)
                .map_or((TRUSTED, false), |&(_, _, f, n)| (f, n)),
            _ => (0, b.str_at(prm.name_off).ends_with("__nullable")),
        };
        let pid = if nullable { self.new_id() } else { 0 };
        Some(btf_ptr(sid, flags, nullable, pid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use btf::{Btf, Kind as K, Member};

    /// `struct s { int a; unsigned b:3; char arr[4]; struct s *next;
    /// union { int x; struct s *p; } u; int flex[]; }` (32 bytes).
    fn btf() -> (Btf, u32) {
        let mut b = Btf::empty();
        let int = b.push(
            "int",
            K::Int {
                size: 4,
                signed: true,
                char: false,
                bool: false,
                bit_offset: 0,
                bits: 32,
            },
        );
        let chr = b.push(
            "char",
            K::Int {
                size: 1,
                signed: true,
                char: true,
                bool: false,
                bit_offset: 0,
                bits: 8,
            },
        );
        let arr = b.push(
            "",
            K::Array {
                elem: chr,
                index: int,
                len: 4,
            },
        );
        let flex = b.push(
            "",
            K::Array {
                elem: int,
                index: int,
                len: 0,
            },
        );
        let sp = b.push("", K::Ptr(b.len() as u32 + 2));
        let m =
            |b: &mut Btf, name: &str, type_id: u32, bit_offset: u32, bitfield_size: u32| Member {
                name_off: b.add_str(name),
                type_id,
                bit_offset,
                bitfield_size,
            };
        let members = vec![m(&mut b, "x", int, 0, 0), m(&mut b, "p", sp, 0, 0)];
        let u = b.push("", K::Union { size: 8, members });
        let members = vec![
            m(&mut b, "a", int, 0, 0),
            m(&mut b, "b", int, 32, 3),
            m(&mut b, "arr", arr, 64, 0),
            m(&mut b, "next", sp, 128, 0),
            m(&mut b, "u", u, 192, 0),
            m(&mut b, "flex", flex, 256, 0),
        ];
        let s = b.push("s", K::Struct { size: 32, members });
        assert_eq!(b.get(sp).map(|t| &t.kind), Some(&K::Ptr(s)));
        (b, s)
    }

    fn walk(off: u32, size: u32) -> Result<&'static str, String> {
        let (b, s) = btf();
        struct_walk(&b, s, off, size, true).map(|w| match w {
            Walk::Scalar => "scalar",
            Walk::Ptr { union: true, .. } => "untrusted ptr",
            Walk::Ptr { .. } => "ptr",
        })
    }

    #[test]
    fn struct_walk_follows_the_kernels_rules() {
        assert_eq!(walk(0, 4), Ok("scalar"));
        // A bitfield is read by the bytes that cover it.
        assert_eq!(walk(4, 1), Ok("scalar"));
        assert_eq!(walk(9, 1), Ok("scalar"));
        assert_eq!(
            walk(8, 8),
            Err(
                "access beyond the end of member arr (mend:12) in struct s with off 8 size 8"
                    .into()
            )
        );
        assert_eq!(walk(16, 8), Ok("ptr"));
        assert_eq!(
            walk(16, 4),
            Err("cannot access ptr member next with moff 16 in struct s with off 16 size 4".into())
        );
        // Through a union of several members: the first that fits, untrusted.
        assert_eq!(walk(24, 8), Ok("scalar"));
        // A flexible array of ints is readable past the struct's end.
        assert_eq!(walk(32, 4), Ok("scalar"));
        assert_eq!(walk(44, 4), Ok("scalar"));
        assert_eq!(
            walk(3, 4),
            Err("access beyond the end of member a (mend:4) in struct s with off 3 size 4".into())
        );
        let (b, s) = btf();
        assert!(struct_ids_match(&b, s, 0, s));
        assert!(!struct_ids_match(&b, s, 8, s));
    }
}
