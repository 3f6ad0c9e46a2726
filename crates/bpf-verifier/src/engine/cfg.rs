//! The control-flow graph check that runs before exploration, and the prune points.

use super::*;

/// Check the control-flow graph; returns the function starts.
pub(super) fn check_cfg(insns: &[Insn], kernel: &Kernel) -> Res<Vec<usize>> {
    let empty = State {
        frames: vec![],
        may_goto_depth: 0,
        refs: sock::Refs::default(),
        lock: maps::Lock::default(),
    };
    let r = |pc: usize, msg: String| -> Res<Vec<usize>> {
        Err(Rejection {
            pc,
            class: Class::Cfg,
            msg,
            hint: None,
            regs: String::new(),
            explain: None,
        })
    };
    let _ = &empty;
    if insns.is_empty() {
        return r(0, "empty program".into());
    }
    let max = kernel.max_insns();
    if insns.len() > max {
        return r(
            0,
            format!(
                "program of {} instructions is too large (limit {max} in {kernel})",
                insns.len()
            ),
        );
    }
    let n = insns.len();
    let mut second = vec![false; n];
    let mut funcs = vec![0usize];
    let mut pc = 0;
    while pc < n {
        let i = insns[pc];
        if !kernel.cpu_v4() {
            let gotol_ok = kernel.gotol() && i.code == class::JMP32 | jmp::JA;
            if let Some(what) = cpu_v4_only(&i).filter(|_| !gotol_ok) {
                return Err(Rejection {
                    pc,
                    class: Class::Cfg,
                    msg: format!(
                        "invalid instruction (opcode {:#04x}, off {}): {what} is a cpu v4 instruction, which {kernel} does not know",
                        i.code, i.off
                    ),
                    hint: Some(format!(
                        "cpu v4 instructions arrived in 6.6; build for {kernel} with clang's -mcpu=v3"
                    )),
                    regs: String::new(),
                    explain: None,
                });
            }
        }
        if !kernel.may_goto() && i.is_may_goto() {
            return Err(Rejection {
                pc,
                class: Class::Cfg,
                msg: format!("invalid instruction (opcode {:#04x}): may_goto arrived in 6.9, {kernel} does not know it", i.code),
                hint: None,
                regs: String::new(),
                explain: None,
            });
        }
        if !is_valid(insns, pc) {
            if i.is_lddw() && pc + 1 >= n {
                return r(pc, "invalid lddw: its second slot is missing".into());
            }
            return r(
                pc,
                format!(
                    "invalid instruction (opcode {:#04x}, dst r{}, src r{}, off {}, imm {})",
                    i.code, i.dst, i.src, i.off, i.imm
                ),
            );
        }
        if i.is_lddw() {
            second[pc + 1] = true;
            if i.src == pseudo::FUNC {
                // `lddw rX, func`: the target is a function (a callback) of its own.
                let t = pc as i64 + 1 + i.imm as i64;
                if t < 0 || t as usize >= n {
                    return r(
                        pc,
                        format!("function reference to insn {t}, outside the program of {n} instructions"),
                    );
                }
                funcs.push(t as usize);
            }
            pc += 2;
            continue;
        }
        if i.is_call() && i.src == pseudo::CALL_LOCAL {
            let t = pc as i64 + 1 + i.imm as i64;
            if t < 0 || t as usize >= n {
                return r(
                    pc,
                    format!("call to insn {t}, outside the program of {n} instructions"),
                );
            }
            funcs.push(t as usize);
        }
        pc += 1;
    }
    funcs.sort();
    funcs.dedup();
    for &f in &funcs {
        if second[f] {
            return r(f, "function starts inside an lddw".into());
        }
    }
    let func_of = |pc: usize| funcs.iter().rposition(|&f| f <= pc).unwrap_or(0);
    for (fi, &f) in funcs.iter().enumerate() {
        let end = funcs.get(fi + 1).copied().unwrap_or(n);
        let last = end - 1;
        let li = if second[last] {
            insns[last - 1]
        } else {
            insns[last]
        };
        let ok = li.is_exit()
            || (li.code == class::JMP | jmp::JA)
            || (li.code == class::JMP32 | jmp::JA);
        if !ok {
            return r(
                last,
                "last instruction of a function is not an exit or an unconditional jump".into(),
            );
        }
        let _ = f;
    }
    // Jumps, reachability.
    let mut seen = vec![false; n];
    let mut work = vec![0usize];
    while let Some(pc) = work.pop() {
        if pc >= n || seen[pc] {
            continue;
        }
        seen[pc] = true;
        let i = insns[pc];
        if i.is_lddw() {
            seen[pc + 1] = true;
            if i.src == pseudo::FUNC {
                work.push((pc as i64 + 1 + i.imm as i64) as usize);
            }
            work.push(pc + 2);
            continue;
        }
        if i.is_exit() {
            continue;
        }
        if i.is_jump() {
            let t = pc as i64 + 1 + i.jump_offset();
            if t < 0 || t as usize >= n {
                return r(pc, format!("jump out of range from insn {pc} to {t}"));
            }
            let t = t as usize;
            if t <= pc && !kernel.bounded_loops() {
                return r(
                    pc,
                    format!("back-edge from insn {pc} to {t} (loops are allowed since 5.3, not in {kernel})"),
                );
            }
            if second[t] {
                return r(
                    pc,
                    format!("jump from insn {pc} into the middle of lddw at {}", t - 1),
                );
            }
            if func_of(t) != func_of(pc) {
                return r(
                    pc,
                    format!("jump out of range from insn {pc} to {t} (into another function)"),
                );
            }
            work.push(t);
            let uncond = i.op() == jmp::JA;
            if !uncond {
                work.push(pc + 1);
            }
            continue;
        }
        if i.is_call() && i.src == pseudo::CALL_LOCAL {
            work.push((pc as i64 + 1 + i.imm as i64) as usize);
        }
        work.push(pc + 1);
    }
    if let Some(pc) = seen.iter().position(|s| !s) {
        return r(pc, format!("unreachable insn {pc}"));
    }
    // The call graph (calls and callbacks), as the kernel's check_max_stack_depth walks it:
    // recursion, or a chain of more than 8 frames, is refused.
    let callees = |fi: usize| -> Vec<usize> {
        let end = funcs.get(fi + 1).copied().unwrap_or(n);
        (funcs[fi]..end)
            .filter(|&pc| {
                let i = insns[pc];
                !second[pc]
                    && (i.is_call() && i.src == pseudo::CALL_LOCAL && !i.is_reg_src()
                        || i.is_lddw() && i.src == pseudo::FUNC)
            })
            .filter_map(|pc| {
                let t = (pc as i64 + 1 + insns[pc].imm as i64) as usize;
                funcs.iter().position(|&f| f == t)
            })
            .collect()
    };
    // Longest chain of frames from each function; `None` while on the walk's path.
    let mut frames: Vec<Option<Option<usize>>> = vec![None; funcs.len()];
    let mut stack: Vec<(usize, Vec<usize>, usize)> = vec![(0, callees(0), 1)];
    frames[0] = Some(None);
    while let Some((f, rest, best)) = stack.last_mut() {
        let f = *f;
        match rest.pop() {
            Some(c) => match frames[c] {
                Some(Some(d)) => *best = (*best).max(d + 1),
                Some(None) => {
                    return r(
                        funcs[c],
                        format!(
                            "the call stack of {} frames is too deep ! (a recursive call)",
                            MAX_FRAMES
                        ),
                    )
                }
                None => {
                    if stack.len() >= MAX_FRAMES {
                        return r(
                            funcs[c],
                            format!("the call stack of {} frames is too deep !", stack.len() + 1),
                        );
                    }
                    frames[c] = Some(None);
                    stack.push((c, callees(c), 1));
                }
            },
            None => {
                let d = *best;
                frames[f] = Some(Some(d));
                stack.pop();
                if let Some((_, _, b)) = stack.last_mut() {
                    *b = (*b).max(d + 1);
                }
                if stack.is_empty() && d > MAX_FRAMES {
                    return r(0, format!("the call stack of {d} frames is too deep !"));
                }
            }
        }
    }
    Ok(funcs)
}

/// Prune points: jump targets and the instructions after conditional jumps and calls.
pub(super) fn prune_points(insns: &[Insn]) -> Vec<bool> {
    let mut p = vec![false; insns.len() + 1];
    for (pc, i) in insns.iter().enumerate() {
        if i.is_jump() {
            let t = (pc as i64 + 1 + i.jump_offset()) as usize;
            if t < p.len() {
                p[t] = true;
            }
            p[pc + 1] = true;
        }
        if i.is_call() {
            p[pc + 1] = true;
        }
        // A helper that calls back is a loop head: the callback returns to it; so is
        // `may_goto`.
        if calls_back(i) || i.is_may_goto() {
            p[pc] = true;
        }
    }
    p
}

/// The instructions of the cpu v4 ISA (Linux 6.6): what older kernels reject as unknown.
pub(super) fn cpu_v4_only(i: &Insn) -> Option<&'static str> {
    let c = i.class();
    if c == class::LDX && i.mode() == mem::MEMSX {
        return Some("a sign-extending load (ldsx)");
    }
    if c == class::ALU || c == class::ALU64 {
        let op = i.code & 0xf0;
        if op == alu::MOV && i.off != 0 {
            return Some("a sign-extending move (movsx)");
        }
        if (op == alu::DIV || op == alu::MOD) && i.off != 0 {
            return Some("a signed division or modulo (sdiv/smod)");
        }
        if c == class::ALU64 && op == alu::END {
            return Some("an unconditional byte swap (bswap)");
        }
    }
    // Older kernels reject BPF_JMP32 | BPF_JA ("BPF_JA uses reserved fields").
    if i.code == class::JMP32 | jmp::JA {
        return Some("a 32-bit unconditional jump (gotol)");
    }
    None
}

/// Helpers whose callback the engine verifies: `bpf_for_each_map_elem` and `bpf_loop`.
pub(super) fn calls_back(i: &Insn) -> bool {
    i.is_call() && !i.is_reg_src() && i.src == 0 && matches!(i.imm, 164 | 181)
}
