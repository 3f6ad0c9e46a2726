//! Dynptrs (`struct bpf_dynptr`, 16 bytes on the stack): the helpers that make and use them,
//! as the kernel's `process_dynptr_func` and `mark_stack_slots_dynptr` judge them:
//! - `bpf_dynptr_from_mem` (197) makes a local dynptr over a map value;
//! - `bpf_ringbuf_reserve_dynptr` (198) makes a ring-buffer dynptr and acquires a reference
//!   (even when the reservation fails), which `bpf_ringbuf_submit_dynptr` (199) or
//!   `bpf_ringbuf_discard_dynptr` (200) must release on every path;
//! - `bpf_dynptr_read` (201) and `bpf_dynptr_write` (202) take an initialised dynptr of any
//!   type.
//!
//! A dynptr lives at a constant, 8-aligned stack offset; its slots are STACK_DYNPTR, which
//! loads may not read. Stricter than the kernel: this model refuses stores into them (the
//! kernel destroys an unreferenced dynptr a store touches) and a new dynptr over an old one.
//! `bpf_dynptr_data` (slices into the dynptr's memory) and dynptrs passed to kfuncs or
//! global functions are not modelled.

use super::*;

/// DYNPTR_TYPE_LOCAL and DYNPTR_TYPE_RINGBUF.
pub(super) const LOCAL: u8 = 0;
pub(super) const RINGBUF: u8 = 1;
const SIZE: usize = 16;

/// A dynptr's state on the stack (the kernel's `spilled_ptr.dynptr` of its first slot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Dynptr {
    /// Its first byte (index into `Stack::bytes`); it is 16 bytes long.
    pub(super) start: u16,
    pub(super) ty: u8,
    /// The reference a ring-buffer dynptr holds (0 for a local one).
    pub(super) ref_id: u32,
}

/// The helpers this module judges.
pub(super) fn handles(id: i32) -> bool {
    matches!(id, 197..=202)
}

fn type_str(ty: u8) -> &'static str {
    if ty == RINGBUF {
        "ringbuf"
    } else {
        "local"
    }
}

/// The frame and first stack byte of the dynptr argument in R`r` (dynptr_get_spi).
fn dynptr_arg(cx: &Ctx<'_>, pc: usize, st: &State, r: u8) -> Res<(usize, usize)> {
    let maps = cx.input.maps;
    let v = cx.read_reg(pc, st, r)?;
    let Reg::Ptr(
        p @ Ptr {
            kind: Kind::Stack(fr),
            nullable: false,
            ..
        },
    ) = v
    else {
        return rej(
            pc,
            Class::Helper,
            format!(
                "arg#{} expected pointer to stack or const struct bpf_dynptr",
                r - 1
            ),
            None,
            st,
            maps,
        );
    };
    let Some(c) = p.var.value() else {
        return rej(
            pc,
            Class::Helper,
            "dynptr has to be at a constant offset",
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
            format!("cannot pass in dynptr at an offset={o}"),
            None,
            st,
            maps,
        );
    }
    if o >= 0 || o < -(STACK as i64) || o + SIZE as i64 > 0 {
        return rej(
            pc,
            Class::Bounds,
            format!(
                "invalid write to stack R{r} off={o} size=8: the 16-byte dynptr leaves the stack"
            ),
            None,
            st,
            maps,
        );
    }
    if usize::from(fr) >= st.frames.len() {
        return rej(
            pc,
            Class::Pointer,
            format!(
                "arg#{} points into the stack of a function that has returned",
                r - 1
            ),
            None,
            st,
            maps,
        );
    }
    Ok((usize::from(fr), (STACK as i64 + o) as usize))
}

/// An initialised dynptr (is_dynptr_reg_valid_init) of type `want` (any, when None): its
/// frame and index in the frame's dynptrs.
fn init_dynptr(
    cx: &Ctx<'_>,
    pc: usize,
    st: &State,
    r: u8,
    want: Option<u8>,
) -> Res<(usize, usize)> {
    let maps = cx.input.maps;
    let (fr, start) = dynptr_arg(cx, pc, st, r)?;
    let Some(k) = st.frames[fr]
        .stack
        .dynptrs
        .iter()
        .position(|d| usize::from(d.start) == start)
    else {
        return rej(
            pc,
            Class::Helper,
            format!("Expected an initialized dynptr as arg #{}", r - 1),
            None,
            st,
            maps,
        );
    };
    if let Some(t) = want {
        if st.frames[fr].stack.dynptrs[k].ty != t {
            return rej(
                pc,
                Class::Helper,
                format!(
                    "Expected a dynptr of type {} as arg #{}",
                    type_str(t),
                    r - 1
                ),
                None,
                st,
                maps,
            );
        }
    }
    Ok((fr, k))
}

/// A new dynptr of type `ty` in the slots R`r` points to (MEM_UNINIT: check_mem_access of
/// each 8 bytes as a write, then mark_stack_slots_dynptr); a ring-buffer one acquires a
/// reference.
fn new_dynptr(cx: &mut Ctx<'_>, pc: usize, st: &mut State, r: u8, ty: u8) -> Res<()> {
    let maps = cx.input.maps;
    let (fr, start) = dynptr_arg(cx, pc, st, r)?;
    let bytes = &st.frames[fr].stack.bytes[start..start + SIZE];
    if bytes.contains(&SLOT_DYNPTR) || bytes.contains(&SLOT_ITER) {
        return rej(
            pc,
            Class::Helper,
            "Dynptr has to be an uninitialized dynptr",
            Some("this model does not let a dynptr replace another one or an iterator".into()),
            st,
            maps,
        );
    }
    for j in (0..SIZE).step_by(8) {
        cx.access(pc, st, r, j as i16, 8, Some(Reg::unknown()), false)?;
    }
    let ref_id = if ty == RINGBUF {
        let id = cx.new_id();
        st.refs.held.push((id, pc as u32));
        id
    } else {
        0
    };
    let stack = &mut st.frames[fr].stack;
    stack.bytes[start..start + SIZE].fill(SLOT_DYNPTR);
    for s in start / 8..(start + SIZE) / 8 {
        stack.spills[s] = None;
        stack.narrow[s] = 0;
    }
    stack.dynptrs.push(Dynptr {
        start: start as u16,
        ty,
        ref_id,
    });
    Ok(())
}

/// check_helper_call for the dynptr helpers: arguments in order, then the effects.
pub(super) fn helper(cx: &mut Ctx<'_>, pc: usize, st: &mut State, p: &helpers::Proto) -> Res<Next> {
    let maps = cx.input.maps;
    // References are neither acquired nor released inside callbacks in this model.
    if matches!(p.id, 198..=200) && st.frames.iter().any(|f| f.callback.is_some()) {
        return rej(
            pc,
            Class::Unsupported,
            format!("bpf_{} inside a callback is not modelled", p.name),
            None,
            st,
            maps,
        );
    }
    let mut found = HelperArgs::default();
    let mut release = None;
    for k in 0..5 {
        let r = (k + 1) as u8;
        match p.args[k] {
            Arg::None => break,
            Arg::Other(_) => match p.id {
                197 => new_dynptr(cx, pc, st, r, LOCAL)?,
                198 => new_dynptr(cx, pc, st, r, RINGBUF)?,
                199 | 200 => {
                    // check_func_arg, OBJ_RELEASE of a dynptr: its first slot must hold a
                    // reference.
                    let (fr, start) = dynptr_arg(cx, pc, st, r)?;
                    let held = st.frames[fr]
                        .stack
                        .dynptrs
                        .iter()
                        .any(|d| usize::from(d.start) == start && d.ref_id != 0);
                    if !held {
                        return rej(
                            pc,
                            Class::Helper,
                            format!("arg {r} is an unacquired reference"),
                            Some(
                                "submit or discard the dynptr bpf_ringbuf_reserve_dynptr made"
                                    .into(),
                            ),
                            st,
                            maps,
                        );
                    }
                    release = Some(init_dynptr(cx, pc, st, r, Some(RINGBUF))?)
                }
                _ => {
                    init_dynptr(cx, pc, st, r, None)?;
                }
            },
            _ => helper_arg(cx, pc, st, p, k, &mut found)?,
        }
    }
    // bpf_dynptr_from_mem's memory must be a map value.
    if p.id == 197
        && !matches!(
            st.cur().regs[1],
            Reg::Ptr(Ptr {
                kind: Kind::MapValue(_),
                ..
            })
        )
    {
        return rej(
            pc,
            Class::Helper,
            format!(
                "Unsupported reg type {} for bpf_dynptr_from_mem data",
                sock::type_str(&st.cur().regs[1])
            ),
            None,
            st,
            maps,
        );
    }
    if let Some((fr, k)) = release {
        // release_reference, unmark_stack_slots_dynptr
        let d = st.frames[fr].stack.dynptrs.remove(k);
        let start = usize::from(d.start);
        st.frames[fr].stack.bytes[start..start + SIZE].fill(SLOT_INVALID);
        st.refs.held.retain(|(id, _)| *id != d.ref_id);
    }
    let f = st.cur_mut();
    for r in 1..=5 {
        f.regs[r] = Reg::Uninit;
    }
    // RET_INTEGER, or RET_VOID (R0 not readable).
    f.regs[0] = if p.ret == Ret::Void {
        Reg::Uninit
    } else {
        Reg::unknown()
    };
    Ok(Next::Goto(pc + 1))
}
