//! Maps whose rules need the map's BTF or an inner map:
//! - spin locks (`bpf_spin_lock`/`bpf_spin_unlock`, the kernel's `process_spin_lock`): the
//!   lock is the value's `struct bpf_spin_lock` (its offset from the value's BTF type,
//!   [`MapInfo::spin_lock`]); one lock is held at a time, by the whole call chain
//!   (`active_lock` of the verifier state); while it is held no helper but
//!   `bpf_spin_unlock` may be called, nor a global function, nor `BPF_LD_[ABS|IND]`, and
//!   the program may not exit; the lock's bytes cannot be loaded or stored
//!   (`check_map_access`); pruning compares the ids of the map values a lock may be taken
//!   through (`check_ids` in `regsafe` and `states_equal`);
//! - maps of maps (ARRAY_OF_MAPS, HASH_OF_MAPS): a lookup gives a map value of the outer
//!   map or NULL, which a NULL check turns into a pointer to the inner map
//!   (`mark_ptr_or_null_reg`, `mark_ptr_not_null_reg`: CONST_PTR_TO_MAP of
//!   `inner_map_meta`). The inner maps ([`MapInfo::inner`]) are appended to the map table
//!   the walk uses, after the program's maps ([`with_inner`]).

use super::*;

/// The ids of map values of maps with a spin lock carry this bit, so that the pruning
/// test knows which ids it must compare (the kernel keeps `reg->id` only for them after a
/// NULL check, `reg_may_point_to_spin_lock`).
pub(super) const LOCK_ID: u32 = 1 << 31;

/// The lock held (the kernel's `active_lock`): the map whose value holds it (an index
/// into the walk's map table) and the id of the pointer it was taken through (0 for the
/// value of a global-data map, from `lddw`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(super) struct Lock(pub(super) Option<(u32, u32)>);

/// Map types whose values may hold a `struct bpf_spin_lock` (`map_check_btf`): hash,
/// array, cgroup storage, socket, inode, task and cgroup local storage.
const LOCK_MAP_TYPES: &[u32] = &[1, 2, 19, 24, 28, 29, 32];

/// The program's maps followed by the inner maps of its maps of maps, and for each of the
/// program's maps the index of its inner map in that table. `None` when no map has an
/// inner map (the program's table is used as it is).
pub(super) fn with_inner(maps: &[MapInfo]) -> Option<(Vec<MapInfo>, Vec<Option<u32>>)> {
    if maps.iter().all(|m| m.inner.is_none()) {
        return None;
    }
    let mut all: Vec<MapInfo> = maps.to_vec();
    let mut index = Vec::with_capacity(maps.len());
    for m in maps {
        index.push(m.inner.as_deref().map(|i| {
            all.push(i.clone());
            (all.len() - 1) as u32
        }));
    }
    Some((all, index))
}

/// A NULL check found `q` not NULL: a lookup result of a map of maps becomes the inner
/// map (mark_ptr_or_null_reg / mark_ptr_not_null_reg).
pub(super) fn not_null(inner: &[Option<u32>], q: &mut Ptr) {
    if let Kind::MapValue(m) = q.kind {
        if let Some(Some(k)) = inner.get(m as usize) {
            q.kind = Kind::MapPtr(*k);
        }
    }
}

/// A map of maps passed to a helper: its inner map must be known (the kernel has it from
/// the map's creation; without the BTF definition's `values` this model does not).
pub(super) fn check_outer(cx: &Ctx<'_>, pc: usize, st: &State, m: u32) -> Res<()> {
    let maps = cx.input.maps;
    let mi = &maps[m as usize];
    if matches!(mi.map_type, 12 | 13) && cx.inner.get(m as usize).copied().flatten().is_none() {
        return rej(
            pc,
            Class::Unsupported,
            format!(
                "map '{}' is a map of maps whose inner map is not known",
                mi.name
            ),
            Some("define it in `.maps` with `__array(values, struct {...})`".into()),
            st,
            maps,
        );
    }
    Ok(())
}

/// The id of a map value a helper returns: a fresh one for a NULL-able result (for its
/// NULL check) and for any value of a map with a spin lock (check_helper_call, the lock's
/// identity), with [`LOCK_ID`] for the latter.
pub(super) fn value_id(cx: &mut Ctx<'_>, m: u32, nullable: bool) -> u32 {
    let lock = cx
        .input
        .maps
        .get(m as usize)
        .is_some_and(|mi| mi.spin_lock.is_some());
    match (lock, nullable) {
        (true, _) => cx.new_id() | LOCK_ID,
        (false, true) => cx.new_id(),
        (false, false) => 0,
    }
}

/// The rules of do_check while a lock is held, checked before instruction `i` runs:
/// calls other than `bpf_spin_unlock` and static functions, `BPF_LD_[ABS|IND]` and the
/// program's exit are refused.
pub(super) fn check_insn(cx: &Ctx<'_>, pc: usize, st: &State, i: Insn) -> Res<()> {
    if st.lock.0.is_none() {
        return Ok(());
    }
    let maps = cx.input.maps;
    let fail = |msg: &str, hint: &str| {
        rej(
            pc,
            Class::Helper,
            msg.to_string(),
            Some(hint.into()),
            st,
            maps,
        )
    };
    let code = i.code;
    match i.class() {
        class::JMP if code & 0xf0 == jmp::CALL => match i.src {
            pseudo::CALL_LOCAL => {
                let target = (pc as i64 + 1 + i.imm as i64) as usize;
                // check_func_call: only static functions (global ones are verified on
                // their own, without the lock); linkage unknown: held to the global rule.
                let global = cx
                    .global_funcs
                    .is_none_or(|g| g.iter().any(|g| g.start == target));
                if global {
                    return fail(
                        "global function calls are not allowed while holding a lock,\nuse static function instead",
                        "unlock before calling a global function, or make it static",
                    );
                }
                Ok(())
            }
            // BPF_FUNC_spin_unlock (kfuncs: only the graph API ones, not modelled).
            0 if i.imm == 94 => Ok(()),
            _ => fail(
                "function calls are not allowed while holding a lock",
                "call bpf_spin_unlock before any other helper",
            ),
        },
        class::JMP
            if code & 0xf0 == jmp::EXIT
                && (st.frames.len() == 1 || st.cur().callback.is_some()) =>
        {
            // The program's exit (do_check); a callback's exit with the lock held is
            // refused too (this model does not follow a lock back into the helper).
            fail(
                "bpf_spin_unlock is missing",
                "every path that takes the lock must release it before exit",
            )
        }
        class::LD if matches!(code & 0xe0, mem::ABS | mem::IND) => fail(
            "BPF_LD_[ABS|IND] cannot be used inside bpf_spin_lock-ed region",
            "read the packet before taking the lock",
        ),
        _ => Ok(()),
    }
}

/// `bpf_spin_lock(R1)` (helper 93) or `bpf_spin_unlock(R1)` (94): check_func_arg for
/// ARG_PTR_TO_SPIN_LOCK (a map value), then process_spin_lock.
pub(super) fn spin_lock_call(
    cx: &mut Ctx<'_>,
    pc: usize,
    st: &mut State,
    p: &helpers::Proto,
) -> Res<Next> {
    let maps = cx.input.maps;
    let is_lock = p.id == 93;
    let v = cx.read_reg(pc, st, 1)?;
    let q = match v {
        Reg::Ptr(
            q @ Ptr {
                kind: Kind::MapValue(_),
                nullable: false,
                ..
            },
        ) => q,
        _ => {
            return rej(
                pc,
                Class::Helper,
                format!(
                    "R1 type={} expected=map_value (argument 1 of bpf_{})",
                    fmt_reg(&v, maps),
                    p.name
                ),
                Some("pass the address of the `struct bpf_spin_lock` in a map value".into()),
                st,
                maps,
            )
        }
    };
    let Kind::MapValue(m) = q.kind else {
        unreachable!("matched above")
    };
    let mi = &maps[m as usize];
    let Some(val) = q.var.value() else {
        return rej(
            pc,
            Class::Helper,
            "R1 doesn't have constant offset. bpf_spin_lock has to be at the constant offset",
            None,
            st,
            maps,
        );
    };
    let lock_off = match mi.spin_lock {
        Some(o) if LOCK_MAP_TYPES.contains(&mi.map_type) => o,
        _ => {
            return rej(
                pc,
                Class::Helper,
                format!("map '{}' has no valid bpf_spin_lock", mi.name),
                Some("the map's value type (its BTF) must have a `struct bpf_spin_lock` member, in a hash, array or local storage map".into()),
                st,
                maps,
            )
        }
    };
    let at = (val as i64).wrapping_add(q.off);
    if at != i64::from(lock_off) {
        return rej(
            pc,
            Class::Helper,
            format!("off {at} doesn't point to 'struct bpf_spin_lock' that is at {lock_off}"),
            None,
            st,
            maps,
        );
    }
    let this = (m, q.id);
    if is_lock {
        if st.lock.0.is_some() {
            return rej(
                pc,
                Class::Helper,
                "Locking two bpf_spin_locks are not allowed",
                None,
                st,
                maps,
            );
        }
        st.lock = Lock(Some(this));
    } else {
        match st.lock.0 {
            None => {
                return rej(
                    pc,
                    Class::Helper,
                    "bpf_spin_unlock without taking a lock",
                    None,
                    st,
                    maps,
                )
            }
            Some(held) if held != this => {
                return rej(
                    pc,
                    Class::Helper,
                    "bpf_spin_unlock of different lock",
                    Some(
                        "unlock through a pointer to the same map value the lock was taken through"
                            .into(),
                    ),
                    st,
                    maps,
                )
            }
            Some(_) => st.lock = Lock(None),
        }
    }
    // RET_VOID: R0 is not initialised; R1-R5 clobbered.
    let f = st.cur_mut();
    for r in 0..=5 {
        f.regs[r] = Reg::Uninit;
    }
    Ok(Next::Goto(pc + 1))
}

/// check_map_access: no load or store (nor helper access) may touch the bytes of the
/// value's `struct bpf_spin_lock` (`[smin + off, umax + off + size)` overlaps it).
#[allow(clippy::too_many_arguments)]
pub(super) fn lock_overlap(
    cx: &Ctx<'_>,
    pc: usize,
    st: &State,
    p: &Ptr,
    m: u32,
    off: i16,
    size: usize,
) -> Res<()> {
    let maps = cx.input.maps;
    let Some(mi) = maps.get(m as usize) else {
        return Ok(());
    };
    let base = p.off as i128 + off as i128;
    let lo = base + p.var.smin as i128;
    let hi = base + p.var.umax as i128 + size as i128;
    let lock = mi.spin_lock.map(|l| (l, 4, "bpf_spin_lock"));
    let fields = mi
        .btf_fields
        .iter()
        .map(|(o, s, n)| (*o, *s, n.as_str()))
        .chain(lock);
    for (at, len, name) in fields {
        let (l, h) = (i128::from(at), i128::from(at) + i128::from(len));
        if lo < h && l < hi {
            // A kptr may be loaded (as a BTF pointer, not modelled) and exchanged by the
            // kernel's rules; the other fields not at all.
            let class = if name == "kptr" {
                Class::Unsupported
            } else {
                Class::Pointer
            };
            return rej(
                pc,
                class,
                format!("{name} cannot be accessed directly by load/store"),
                Some(format!(
                    "the value's {name} at offset {at} is only used through its own helpers or kfuncs"
                )),
                st,
                maps,
            );
        }
    }
    Ok(())
}

/// The kernel's check_ids over the map values a lock may be taken through, and the held
/// lock (`states_equal`): an id of `old` must correspond to one id of `new`, and the other
/// way round.
pub(super) fn locks_covered(old: &State, new: &State) -> bool {
    match (old.lock.0, new.lock.0) {
        (None, None) => {}
        (Some((mo, _)), Some((mn, _))) if mo == mn => {}
        _ => return false,
    }
    let lockish = |r: &Reg| match r {
        Reg::Ptr(p) if matches!(p.kind, Kind::MapValue(_)) => Some(p.id),
        _ => None,
    };
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    let mut check = |o: u32, n: u32| -> bool {
        if (o | n) & LOCK_ID == 0 && (o == 0) == (n == 0) {
            return true;
        }
        if (o == 0) != (n == 0) {
            return false;
        }
        for &(a, b) in &pairs {
            if a == o {
                return b == n;
            }
            if b == n {
                return false;
            }
        }
        pairs.push((o, n));
        true
    };
    if let (Some((_, o)), Some((_, n))) = (old.lock.0, new.lock.0) {
        if !check(o, n) {
            return false;
        }
    }
    // Only lock ids matter here: the ids of other map values are the NULL checks' (the
    // kernel clears them after the check; this model keeps them).
    let mut check_reg = |a: &Reg, b: &Reg| -> bool {
        match (lockish(a), lockish(b)) {
            (Some(o), Some(n)) if (o | n) & LOCK_ID != 0 => check(o, n),
            _ => true,
        }
    };
    for (fo, fnw) in old.frames.iter().zip(&new.frames) {
        for (a, b) in fo.regs.iter().zip(&fnw.regs) {
            if !check_reg(a, b) {
                return false;
            }
        }
        for (a, b) in fo.stack.spills.iter().zip(&fnw.stack.spills) {
            if let (Some(a), Some(b)) = (a, b) {
                if !check_reg(a, b) {
                    return false;
                }
            }
        }
    }
    true
}

/// What the kernel checks of the maps a program references before verifying it
/// (resolve_pseudo_ldimm64): the `lddw` map indexes are the program's maps (not the inner
/// maps appended to the walk's table), and check_map_prog_compatibility refuses a map with
/// a spin lock to socket filters and tracing programs.
pub(super) fn check_prog_maps(input: &Input<'_>) -> Result<(), Rejection> {
    let insns = input.insns;
    let fail = |pc: usize, class: Class, msg: String| {
        Err(Rejection {
            pc,
            class,
            msg,
            hint: None,
            regs: String::new(),
            explain: None,
        })
    };
    let mut pc = 0;
    while pc < insns.len() {
        let i = insns[pc];
        if i.is_lddw()
            && matches!(
                i.src,
                pseudo::MAP_FD | pseudo::MAP_IDX | pseudo::MAP_VALUE | pseudo::MAP_IDX_VALUE
            )
        {
            let Some(mi) = input.maps.get(i.imm as u32 as usize) else {
                return fail(
                    pc,
                    Class::Cfg,
                    format!("fd {} is not pointing to valid bpf_map", i.imm),
                );
            };
            if mi.spin_lock.is_some() {
                let pt = input.prog_type;
                // is_tracing_prog_type: kprobe, tracepoint, perf_event, raw_tracepoint(_writable).
                if pt == ptype::SOCKET_FILTER {
                    return fail(
                        pc,
                        Class::Helper,
                        "socket filter progs cannot use bpf_spin_lock yet".into(),
                    );
                }
                if matches!(pt, 2 | 5 | 7 | 17 | 24) {
                    return fail(
                        pc,
                        Class::Helper,
                        "tracing progs cannot use bpf_spin_lock yet".into(),
                    );
                }
            }
        }
        pc += if i.is_lddw() { 2 } else { 1 };
    }
    Ok(())
}
