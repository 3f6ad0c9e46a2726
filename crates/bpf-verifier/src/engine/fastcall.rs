//! bpf_fastcall (Linux 6.12): spills and fills of caller-saved registers around a call of
//! `bpf_get_smp_processor_id`, which the x86-64 JIT inlines without clobbering them, are
//! removed after verification, and the function's stack depth no longer counts their
//! slots (`mark_fastcall_patterns`, `check_fastcall_stack_contract`,
//! `remove_fastcall_spills_fills`, before `check_max_stack_depth`).
//!
//! A function's region is `[lowest_off, off)`: the pairs start at the lowest offset of its
//! 8-byte stores through r10 and go up 8 bytes at a time. Any other access below `off`
//! keeps the spills (the region is disabled). The combined stack check after the walk
//! (`global::check_max_stack_depth`) counts the reduced depth.

use std::collections::{HashMap, HashSet};

use super::*;

/// The pattern of one function.
#[derive(Debug, Clone)]
pub(super) struct Region {
    /// The kernel's `fastcall_stack_off` (<= 0): the depth counted is `-off`.
    off: i64,
    /// The spills and fills of the patterns (exempt from the contract).
    pattern: HashSet<usize>,
    disabled: bool,
}

/// `BPF_FUNC_get_smp_processor_id`: `allow_fastcall`, inlined by the x86-64 JIT.
const SMP_PROCESSOR_ID: i32 = 8;

/// The patterns of each function (by its first instruction), for kernels from 6.12.
pub(super) fn patterns(insns: &[Insn], funcs: &[usize], kernel: &Kernel) -> HashMap<usize, Region> {
    let mut out = HashMap::new();
    if !kernel.at_least((6, 12)) {
        return out;
    }
    // Jump targets (mark_jump_target: branch and goto targets, called functions; also
    // callbacks' first instructions, which only makes patterns shorter).
    let mut targets = HashSet::new();
    let mut pc = 0;
    while pc < insns.len() {
        let i = insns[pc];
        let rel = |d: i64| (pc as i64 + 1 + d) as usize;
        match i.class() {
            class::JMP | class::JMP32 => match i.op() {
                jmp::EXIT => {}
                jmp::CALL => {
                    if i.src == pseudo::CALL_LOCAL {
                        targets.insert(rel(i.imm as i64));
                    }
                }
                jmp::JA if i.class() == class::JMP32 => {
                    targets.insert(rel(i.imm as i64));
                }
                _ => {
                    targets.insert(rel(i.off as i64));
                }
            },
            class::LD if i.is_lddw() && i.src == pseudo::FUNC => {
                targets.insert(rel(i.imm as i64));
            }
            _ => {}
        }
        pc += if i.is_lddw() { 2 } else { 1 };
    }
    let stx_dw = class::STX | mem::MEM | 0x18;
    let ldx_dw = class::LDX | mem::MEM | 0x18;
    for (k, &start) in funcs.iter().enumerate() {
        let end = funcs.get(k + 1).copied().unwrap_or(insns.len());
        let body = start..end;
        let lowest = body
            .clone()
            .filter(|&j| insns[j].code == stx_dw && insns[j].dst == 10)
            .map(|j| i64::from(insns[j].off))
            .min()
            .unwrap_or(0)
            .min(0);
        let mut region = Region {
            off: 0,
            pattern: HashSet::new(),
            disabled: false,
        };
        let mut found = false;
        for c in body {
            let call = insns[c];
            if call.code != class::JMP | jmp::CALL {
                continue;
            }
            // Another call with spills and fills around it may be a pattern of a later
            // kernel (bpf_fastcall helpers or kfuncs not modelled here), which could
            // shorten the region or keep it: then nothing is removed.
            let spills_around = c > 0
                && insns[c - 1].code == stx_dw
                && insns[c - 1].dst == 10
                && insns
                    .get(c + 1)
                    .is_some_and(|l| l.code == ldx_dw && l.src == 10);
            if call.src == pseudo::CALL_LOCAL {
                continue;
            }
            if call.src != pseudo::CALL_HELPER || call.imm != SMP_PROCESSOR_ID {
                if spills_around {
                    return HashMap::new();
                }
                continue;
            }
            // mark_fastcall_pattern_for_call: it clobbers r0 only; pairs for r1-r5.
            let mut expected: u32 = 0b11_1110;
            let mut off = lowest;
            let mut n = 0;
            for d in 1..=6usize {
                if c < d || c + d >= insns.len() {
                    break;
                }
                if targets.contains(&(c - d + 1)) || targets.contains(&(c + d)) {
                    break;
                }
                let (stx, ldx) = (insns[c - d], insns[c + d]);
                if stx.code != stx_dw || ldx.code != ldx_dw || stx.dst != 10 || ldx.src != 10 {
                    break;
                }
                if stx.src != ldx.dst || expected & (1 << stx.src) == 0 {
                    break;
                }
                if i64::from(stx.off) != off || i64::from(ldx.off) != off {
                    break;
                }
                expected &= !(1 << stx.src);
                region.pattern.insert(c - d);
                region.pattern.insert(c + d);
                off += 8;
                n += 1;
            }
            if n == 0 {
                continue;
            }
            region.off = if found {
                region.off.min(off)
            } else {
                off.min(0)
            };
            found = true;
        }
        if found {
            out.insert(start, region);
        }
    }
    out
}

impl Ctx<'_> {
    /// The stack depth of function `func` that the combined depth counts
    /// (`global::check_max_stack_depth`): without its bpf_fastcall spills when they are
    /// removed (`subprog->stack_depth = -fastcall_stack_off`).
    pub(super) fn fastcall_depth(&self, func: usize) -> usize {
        let d = self.func_depth.get(&func).copied().unwrap_or(0);
        match self.fastcall.get(&func) {
            Some(r) if !r.disabled => d.min((-r.off) as usize),
            _ => d,
        }
    }

    /// check_fastcall_stack_contract: an access from `pc` starting at `lo` in the stack of
    /// function `func`, below its region's top and not part of a pattern, keeps the
    /// spills of that function.
    pub(super) fn fastcall_access(&mut self, pc: usize, func: usize, lo: i128) {
        if let Some(r) = self.fastcall.get_mut(&func) {
            if !r.disabled && lo < i128::from(r.off) && !r.pattern.contains(&pc) {
                r.disabled = true;
            }
        }
    }
}
