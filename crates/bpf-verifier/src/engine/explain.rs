//! Why a program was rejected, beyond the failing instruction: the path the verifier took
//! to it and the instructions on that path that made the faulting register what it was
//! (a backward slice, as PREVAIL's failure slice), with the conditional jumps that bounded
//! or failed to bound the values involved.

use std::rc::Rc;

use bpf_insn::insn::{alu, class, jmp, mem};
use bpf_insn::Insn;

use crate::{Cause, Explanation, Rejection};

/// The instructions a state has run: segments of consecutive instructions, kept as a
/// shared list so that both sides of a branch extend one history.
#[derive(Clone, Default)]
pub(super) struct Trail {
    done: Option<Rc<Seg>>,
    /// First instruction of the segment being run.
    start: usize,
}

struct Seg {
    first: usize,
    last: usize,
    prev: Option<Rc<Seg>>,
}

impl Drop for Seg {
    /// Unlink the history one segment at a time: a long path dropped recursively would
    /// overflow the stack.
    fn drop(&mut self) {
        let mut next = self.prev.take();
        while let Some(rc) = next {
            match Rc::try_unwrap(rc) {
                Ok(mut seg) => next = seg.prev.take(),
                Err(_) => break,
            }
        }
    }
}

impl Trail {
    /// Control goes from `pc`, an instruction of `width` slots, to `next`.
    pub(super) fn step(&mut self, pc: usize, width: usize, next: usize) {
        if next != pc + width {
            self.done = Some(Rc::new(Seg {
                first: self.start,
                last: pc,
                prev: self.done.take(),
            }));
            self.start = next;
        }
    }

    /// The segments from the entry to `pc`, oldest first.
    fn segments(&self, pc: usize) -> Vec<(usize, usize)> {
        let mut v = vec![(self.start, pc)];
        let mut s = self.done.as_deref();
        while let Some(seg) = s {
            v.push((seg.first, seg.last));
            s = seg.prev.as_deref();
        }
        v.reverse();
        v
    }
}

/// At most this many instructions of the path are searched, and this many causes kept.
const WINDOW: usize = 4096;
const MAX_CAUSES: usize = 12;

/// Attach the explanation of `r` (at the end of `trail`) to it.
pub(super) fn explain(insns: &[Insn], trail: &Trail, r: &mut Rejection) {
    let segments = trail.segments(r.pc);
    // The last WINDOW instructions of the path, oldest first.
    let mut pcs: Vec<usize> = Vec::new();
    for &(a, b) in segments.iter().rev() {
        let mut seg = Vec::new();
        let mut p = a;
        while p <= b && p < insns.len() {
            seg.push(p);
            p += if insns[p].is_lddw() { 2 } else { 1 };
        }
        pcs.splice(0..0, seg);
        if pcs.len() >= WINDOW {
            pcs.drain(..pcs.len() - WINDOW);
            break;
        }
    }
    let Some((&last, before)) = pcs.split_last() else {
        return;
    };
    let mut regs = culprits(&insns[last], &r.msg);
    let mut slots: Vec<i16> = Vec::new();
    let mut chain: Vec<usize> = Vec::new();
    let bit = |r: u8| 1u16 << (r & 15);
    // Backward: the instructions that defined what the culprits hold.
    for &pc in before.iter().rev() {
        if regs == 0 && slots.is_empty() || chain.len() >= MAX_CAUSES {
            break;
        }
        let i = insns[pc];
        let (d, s) = (i.dst, i.src);
        match i.class() {
            class::ALU | class::ALU64 if regs & bit(d) != 0 => {
                chain.push(pc);
                if i.op() == alu::MOV {
                    regs &= !bit(d);
                }
                if i.is_reg_src() && s != 10 {
                    regs |= bit(s);
                }
            }
            class::LDX if regs & bit(d) != 0 => {
                chain.push(pc);
                regs &= !bit(d);
                if s == 10 {
                    slots.push(i.off);
                } else {
                    regs |= bit(s);
                }
            }
            class::ST | class::STX if i.mode() == mem::MEM && d == 10 && slots.contains(&i.off) => {
                chain.push(pc);
                slots.retain(|&o| o != i.off);
                if i.class() == class::STX {
                    regs |= bit(s);
                }
            }
            class::LD if i.is_lddw() && regs & bit(d) != 0 => {
                chain.push(pc);
                regs &= !bit(d);
            }
            class::JMP if i.op() == jmp::CALL && regs & 0x3f != 0 => {
                // R0 is the call's result; R1-R5 are what the call left (clobbered).
                chain.push(pc);
                regs &= !0x3f;
            }
            _ => {}
        }
    }
    // Forward from the first cause: conditional jumps on values derived from the chain.
    let mut related: u16 = 0;
    let mut jumps: Vec<(usize, bool)> = Vec::new();
    if let Some(&first) = chain.last() {
        let from = before.iter().position(|&p| p == first).unwrap_or(0);
        for (k, &pc) in before.iter().enumerate().skip(from) {
            let i = insns[pc];
            let (d, s) = (i.dst, i.src);
            let src_related = i.is_reg_src() && related & bit(s) != 0;
            if chain.contains(&pc) {
                if i.class() == class::JMP && i.op() == jmp::CALL {
                    related |= 1;
                } else {
                    related |= bit(d);
                }
                continue;
            }
            match i.class() {
                class::ALU | class::ALU64 => {
                    if src_related || i.op() != alu::MOV && related & bit(d) != 0 {
                        related |= bit(d);
                    } else {
                        related &= !bit(d);
                    }
                }
                class::LDX => related &= !bit(d),
                class::LD if i.is_lddw() => related &= !bit(d),
                class::JMP | class::JMP32 => match i.op() {
                    jmp::CALL => related &= !0x3f,
                    jmp::JA | jmp::EXIT => {}
                    _ if related & bit(d) != 0 || src_related => {
                        let next = before.get(k + 1).copied().unwrap_or(last);
                        jumps.push((pc, next != pc + 1));
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    let mut causes: Vec<Cause> = chain
        .iter()
        .map(|&pc| Cause { pc, branch: None })
        .chain(jumps.iter().map(|&(pc, taken)| Cause {
            pc,
            branch: Some(taken),
        }))
        .collect();
    causes.sort_by_key(|c| before.iter().rposition(|&p| p == c.pc));
    causes.dedup_by_key(|c| c.pc);
    r.explain = Some(Box::new(Explanation {
        path: segments,
        causes,
    }));
}

/// The registers an error at `i` is about: those its message names (`R3 invalid mem
/// access`), else the operands of the instruction.
fn culprits(i: &Insn, msg: &str) -> u16 {
    let named = msg
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter_map(|w| w.strip_prefix('R')?.parse::<u8>().ok())
        .find(|&r| r <= 10);
    if let Some(r) = named {
        return 1 << r;
    }
    let (d, s) = (1u16 << (i.dst & 15), 1u16 << (i.src & 15));
    match i.class() {
        class::LDX => s,
        class::ST => d,
        class::STX => d | s,
        class::ALU | class::ALU64 if i.is_reg_src() => d | s,
        class::ALU | class::ALU64 => d,
        class::JMP | class::JMP32 => match i.op() {
            jmp::EXIT => 1,
            jmp::CALL => 0x3e,
            _ if i.is_reg_src() => d | s,
            _ => d,
        },
        _ => 0,
    }
}
