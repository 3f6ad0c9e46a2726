//! `BPF_LD_[ABS|IND]` in subprograms (Linux 6.12's rules): allowed only in a subprogram
//! whose BTF prototype returns a scalar, never in a callback; a failing load returns 0
//! from the subprogram (the hidden exit of `bpf_gen_ld_abs`), which the verifier explores.

use super::*;

/// The subprograms of `prog` (their first instructions) whose BTF `FUNC_PROTO` returns a
/// small int or an enum, as `check_btf_func` computes `scalar_return`
/// (`btf_type_is_small_int || btf_is_any_enum`, after modifiers and typedefs).
pub fn int_return_funcs(btf: Option<&btf::Btf>, prog: &bpf_insn::object::Program) -> Vec<usize> {
    let Some(b) = btf else {
        return Vec::new();
    };
    let kind = |id| b.get(id).map(|t| &t.kind);
    prog.func_info
        .iter()
        .filter(|(_, f)| {
            let Some(btf::Kind::Func { proto, .. }) = kind(*f) else {
                return false;
            };
            let Some(btf::Kind::FuncProto { ret, .. }) = kind(*proto) else {
                return false;
            };
            matches!(
                kind(b.resolve(*ret)),
                Some(btf::Kind::Int { size, .. }) if *size <= 8
            ) || matches!(kind(b.resolve(*ret)), Some(btf::Kind::Enum { .. }))
        })
        .map(|(at, _)| *at)
        .collect()
}

/// `check_abnormal_return` and `check_btf_func`: at load time, every subprogram (not the
/// main program) that holds an `LD_ABS`/`LD_IND` needs BTF, and a scalar return type.
pub(super) fn check_subprog_ld_abs(insns: &[Insn], funcs: &[usize], opts: &Options) -> Res<()> {
    let mut pc = 0;
    while pc < insns.len() {
        let i = insns[pc];
        if i.is_lddw() {
            pc += 2;
            continue;
        }
        if i.class() == class::LD && matches!(i.mode(), mem::ABS | mem::IND) {
            let func = funcs.iter().rev().find(|f| **f <= pc).copied().unwrap_or(0);
            let why = if func == 0 {
                None
            } else if !opts.func_info {
                Some("LD_ABS is not allowed in subprogs without BTF")
            } else if !opts.int_return_funcs.contains(&func) {
                Some("LD_ABS is only allowed in functions that return 'int'.")
            } else {
                None
            };
            if let Some(msg) = why {
                return Err(Rejection {
                    pc,
                    class: Class::Helper,
                    msg: msg.into(),
                    hint: Some(format!(
                        "the subprogram at insn {func} needs BTF function info with an int return type"
                    )),
                    regs: String::new(),
                    explain: None,
                });
            }
        }
        pc += 1;
    }
    Ok(())
}

/// A packet load in a subprogram (frame > 0), after its checks: not within a callback
/// (check_ld_abs), and two ways on: on at `pc + 1` with `st`, or the load fails and the
/// subprogram returns 0 to its caller (check_ld_abs: push_stack, mark_reg_known_zero(R0),
/// prepare_func_exit).
pub(super) fn subprog_load(cx: &mut Ctx<'_>, pc: usize, st: &State) -> Res<Option<(usize, State)>> {
    if st.frames.len() <= 1 {
        return Ok(None);
    }
    if st.frames.iter().any(|f| f.callback.is_some()) {
        return rej(
            pc,
            Class::Helper,
            "cannot use BPF_LD_[ABS|IND] within callback",
            None,
            st,
            cx.input.maps,
        );
    }
    let mut out = st.clone();
    out.cur_mut().regs[0] = Reg::konst(0);
    match call::exit(cx, pc, &mut out)? {
        Next::Goto(to) => Ok(Some((to, out))),
        _ => rej(
            pc,
            Class::Unsupported,
            "BPF_LD_[ABS|IND]: the early return of a subprogram is not modelled here",
            None,
            st,
            cx.input.maps,
        ),
    }
}
