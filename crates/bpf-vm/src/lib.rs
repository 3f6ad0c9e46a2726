//! An eBPF interpreter with checked memory.
//!
//! Every address a program can form points into a [`Memory`] region: region `i` occupies
//! the virtual addresses `(i+1) << 32 .. (i+1) << 32 + len`, so translating an address is
//! one shift and one bounds check, and any access outside a live region is an error
//! ([`VmError::OutOfBounds`]) instead of undefined behaviour. A verifier bug therefore
//! shows up as an error here, which is what the fuzz target relies on.
//!
//! Semantics follow RFC 9669 and the kernel's interpreter (`kernel/bpf/core.c`): division
//! by zero gives 0, modulo by zero leaves the dividend, shift amounts are masked, 32-bit
//! operations zero the upper half, `INT_MIN / -1` wraps.

pub mod conformance;
pub mod fib;
#[doc(hidden)]
pub mod fuzzcheck;
pub mod helpers;
pub mod maps;
pub mod run;
pub mod skb;
pub mod sock;
pub mod xdp;

use bpf_insn::insn::{alu, atomic, class, jmp, mem, pseudo};
use bpf_insn::Insn;

pub use helpers::{Helpers, StdHelpers};
pub use maps::{Map, MapKind, MapSpec};

/// Stack bytes per frame, as in the kernel.
pub const STACK_SIZE: usize = 512;
/// Maximum call depth (frames), as in the kernel.
pub const MAX_CALL_FRAMES: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VmError {
    #[error(
        "insn {pc}: {kind} of {size} bytes at {addr:#x}: out of bounds of every memory region"
    )]
    OutOfBounds {
        pc: usize,
        addr: u64,
        size: usize,
        kind: &'static str,
    },
    #[error("insn {pc}: null pointer dereference ({kind} of {size} bytes at {addr:#x})")]
    Null {
        pc: usize,
        addr: u64,
        size: usize,
        kind: &'static str,
    },
    #[error("insn {pc}: write of {size} bytes at {addr:#x} into read-only memory")]
    ReadOnly { pc: usize, addr: u64, size: usize },
    #[error("insn {pc}: invalid instruction (opcode {code:#04x})")]
    InvalidInsn { pc: usize, code: u8 },
    #[error("insn {pc}: jump to {target} is outside the program")]
    BadJump { pc: usize, target: i64 },
    #[error("insn {pc}: unknown helper {id}")]
    UnknownHelper { pc: usize, id: i64 },
    #[error("insn {pc}: helper {id}: {msg}")]
    Helper { pc: usize, id: i64, msg: String },
    #[error("insn {pc}: call depth exceeds {MAX_CALL_FRAMES} frames")]
    CallDepth { pc: usize },
    #[error("the program ran more than {0} instructions")]
    StepLimit(u64),
    #[error("execution fell off the end of the program")]
    FellOff,
    #[error("insn {pc}: map {what} is not defined")]
    NoMap { pc: usize, what: i64 },
    /// A helper whose result depends on kernel state the interpreter does not have.
    #[error("insn {pc}: helper {id} cannot run in the interpreter: {why}")]
    Unsupported {
        pc: usize,
        id: i64,
        why: &'static str,
    },
}

/// What a region is, for diagnostics and for helpers that take pointers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionKind {
    Stack,
    Input,
    Context,
    Packet,
    MapValue,
    Scratch,
    /// A socket (`struct bpf_sock`).
    Socket,
}

#[derive(Debug, Clone)]
pub struct Region {
    pub kind: RegionKind,
    pub bytes: Vec<u8>,
    pub writable: bool,
    /// Dead regions (deleted hash entries) keep their number but refuse access.
    pub live: bool,
    /// Bytes before this offset are not accessible (the headroom in front of an XDP
    /// packet's `data_meta`).
    pub lo: usize,
}

/// The address space of one run.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    pub regions: Vec<Region>,
    /// Context fields whose loads the kernel rewrites into pointers (`xdp_md.data`,
    /// `__sk_buff.data_end`, ...): (region, offset, value). A 4-byte load there yields the
    /// 64-bit value, as after the kernel's context conversion.
    pub ctx_fields: Vec<(usize, usize, u64)>,
}

impl Memory {
    /// Add a region; returns its base address.
    pub fn add(&mut self, kind: RegionKind, bytes: Vec<u8>, writable: bool) -> u64 {
        self.regions.push(Region {
            kind,
            bytes,
            writable,
            live: true,
            lo: 0,
        });
        (self.regions.len() as u64) << 32
    }

    pub fn base(index: usize) -> u64 {
        ((index + 1) as u64) << 32
    }

    /// The region index and offset of `[addr, addr+size)`, if inside one live region.
    pub fn locate(&self, addr: u64, size: usize) -> Option<(usize, usize)> {
        let idx = (addr >> 32).checked_sub(1)? as usize;
        let r = self.regions.get(idx)?;
        let off = (addr & 0xffff_ffff) as usize;
        if !r.live || off < r.lo || off.checked_add(size)? > r.bytes.len() {
            return None;
        }
        Some((idx, off))
    }

    pub fn slice(&self, addr: u64, size: usize) -> Option<&[u8]> {
        let (i, o) = self.locate(addr, size)?;
        Some(&self.regions[i].bytes[o..o + size])
    }

    pub fn slice_mut(&mut self, addr: u64, size: usize) -> Option<&mut [u8]> {
        let (i, o) = self.locate(addr, size)?;
        let r = &mut self.regions[i];
        if !r.writable {
            return None;
        }
        Some(&mut r.bytes[o..o + size])
    }

    fn load(&self, pc: usize, addr: u64, size: usize) -> Result<u64, VmError> {
        let (i, o) = self
            .locate(addr, size)
            .ok_or_else(|| oob(pc, addr, size, "read"))?;
        let r = &self.regions[i];
        if r.kind == RegionKind::Context && !self.ctx_fields.is_empty() {
            if let Some(f) = self.ctx_fields.iter().find(|f| f.0 == i && f.1 == o) {
                return Ok(f.2);
            }
        }
        let s = &r.bytes[o..o + size];
        Ok(match size {
            1 => s[0] as u64,
            2 => u16::from_le_bytes([s[0], s[1]]) as u64,
            4 => u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as u64,
            _ => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&s[..8]);
                u64::from_le_bytes(b)
            }
        })
    }

    fn store(&mut self, pc: usize, addr: u64, size: usize, v: u64) -> Result<(), VmError> {
        let Some((i, o)) = self.locate(addr, size) else {
            return Err(oob(pc, addr, size, "write"));
        };
        let r = &mut self.regions[i];
        if !r.writable {
            return Err(VmError::ReadOnly { pc, addr, size });
        }
        r.bytes[o..o + size].copy_from_slice(&v.to_le_bytes()[..size]);
        Ok(())
    }
}

/// The error for an access outside every region: addresses below 4 GiB are null-based.
pub fn oob(pc: usize, addr: u64, size: usize, kind: &'static str) -> VmError {
    if addr >> 32 == 0 {
        VmError::Null {
            pc,
            addr,
            size,
            kind,
        }
    } else {
        VmError::OutOfBounds {
            pc,
            addr,
            size,
            kind,
        }
    }
}

/// Iterations `may_goto` falls through before it jumps: the kernel's `BPF_MAX_LOOPS`, as
/// Linux 6.9 to 6.13 count them. Later x86-64 kernels refill the budget until about 250 ms
/// have passed (a timed `may_goto`), so there the count depends on the machine's speed, and
/// no run can be compared with theirs (the host gave 108M to 257M iterations).
pub const MAY_GOTO_BUDGET: u64 = 8 * 1024 * 1024;

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// r0 at the final `exit`.
    pub ret: u64,
    /// Instructions executed.
    pub steps: u64,
}

/// Options of a run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Stop with [`VmError::StepLimit`] after this many instructions.
    pub max_steps: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options { max_steps: 1 << 32 }
    }
}

struct Frame {
    ret_pc: usize,
    saved: [u64; 4],
}

/// The interpreter state: the program, its memory, its helpers.
pub struct Vm<'p, H: Helpers> {
    pub prog: &'p [Insn],
    pub mem: Memory,
    pub helpers: H,
    pub opts: Options,
    stack_base: u64,
    /// Region of the packet for legacy `LD_ABS`/`LD_IND` loads.
    pub packet: Option<usize>,
}

fn sx(v: u64, bits: u32) -> u64 {
    let s = 64 - bits;
    (((v << s) as i64) >> s) as u64
}

impl<'p, H: Helpers> Vm<'p, H> {
    pub fn new(prog: &'p [Insn], helpers: H) -> Self {
        let mut mem = Memory::default();
        let stack_base = mem.add(
            RegionKind::Stack,
            vec![0u8; STACK_SIZE * MAX_CALL_FRAMES],
            true,
        );
        Vm {
            prog,
            mem,
            helpers,
            opts: Options::default(),
            stack_base,
            packet: None,
        }
    }

    /// Run from instruction 0 with r1..r5 = `args`.
    pub fn run(&mut self, args: [u64; 5]) -> Result<Outcome, VmError> {
        for b in &mut self.mem.regions[0].bytes {
            *b = 0;
        }
        let mut budget = Budget {
            steps: 0,
            may_goto_left: MAY_GOTO_BUDGET,
        };
        let ret = match self.exec(0, args, 0, &mut budget) {
            Ok(r) | Err(Halt::Abort(r)) => r,
            Err(Halt::Err(e)) => return Err(e),
        };
        Ok(Outcome {
            ret,
            steps: budget.steps,
        })
    }

    /// Run the function at `entry` with r1..r5 = `args` in call frame `depth` until it
    /// returns; its r0.
    fn exec(
        &mut self,
        entry: usize,
        args: [u64; 5],
        depth: usize,
        budget: &mut Budget,
    ) -> Result<u64, Halt> {
        let prog = self.prog;
        let mut reg = [0u64; 11];
        reg[1..6].copy_from_slice(&args);
        let frame_top =
            |depth: usize, base: u64| base + (STACK_SIZE * (MAX_CALL_FRAMES - depth)) as u64;
        reg[10] = frame_top(depth, self.stack_base);
        let mut frames: Vec<Frame> = Vec::new();
        let mut pc = entry;
        let max = self.opts.max_steps;
        loop {
            let Some(&i) = prog.get(pc) else {
                return Err(VmError::FellOff.into());
            };
            budget.steps += 1;
            if budget.steps > max {
                return Err(VmError::StepLimit(max).into());
            }
            let d = i.dst as usize;
            let s = i.src as usize;
            if d > 10 || (s > 10 && i.class() != class::LD) {
                return Err(VmError::InvalidInsn { pc, code: i.code }.into());
            }
            let invalid = || VmError::InvalidInsn { pc, code: i.code };
            let mut next = pc + 1;
            match i.class() {
                class::ALU64 => {
                    let src = if i.is_reg_src() {
                        reg[s]
                    } else {
                        i.imm as i64 as u64
                    };
                    let dv = reg[d];
                    reg[d] = match i.op() {
                        alu::ADD => dv.wrapping_add(src),
                        alu::SUB => dv.wrapping_sub(src),
                        alu::MUL => dv.wrapping_mul(src),
                        alu::DIV if i.off == 1 => {
                            if src == 0 {
                                0
                            } else {
                                (dv as i64).wrapping_div(src as i64) as u64
                            }
                        }
                        alu::DIV => dv.checked_div(src).unwrap_or(0),
                        alu::MOD if i.off == 1 => {
                            if src == 0 {
                                dv
                            } else {
                                (dv as i64).wrapping_rem(src as i64) as u64
                            }
                        }
                        alu::MOD => {
                            if src == 0 {
                                dv
                            } else {
                                dv % src
                            }
                        }
                        alu::OR => dv | src,
                        alu::AND => dv & src,
                        alu::XOR => dv ^ src,
                        alu::LSH => dv.wrapping_shl((src & 63) as u32),
                        alu::RSH => dv.wrapping_shr((src & 63) as u32),
                        alu::ARSH => ((dv as i64).wrapping_shr((src & 63) as u32)) as u64,
                        alu::NEG => (dv as i64).wrapping_neg() as u64,
                        alu::MOV => match (i.is_reg_src(), i.off) {
                            (true, 8) => sx(src, 8),
                            (true, 16) => sx(src, 16),
                            (true, 32) => sx(src, 32),
                            _ => src,
                        },
                        alu::END => match i.imm {
                            16 => (dv as u16).swap_bytes() as u64,
                            32 => (dv as u32).swap_bytes() as u64,
                            64 => dv.swap_bytes(),
                            _ => return Err(invalid().into()),
                        },
                        _ => return Err(invalid().into()),
                    };
                }
                class::ALU => {
                    let src = if i.is_reg_src() {
                        reg[s] as u32
                    } else {
                        i.imm as u32
                    };
                    let dv = reg[d] as u32;
                    let r: u32 = match i.op() {
                        alu::ADD => dv.wrapping_add(src),
                        alu::SUB => dv.wrapping_sub(src),
                        alu::MUL => dv.wrapping_mul(src),
                        alu::DIV if i.off == 1 => {
                            if src == 0 {
                                0
                            } else {
                                (dv as i32).wrapping_div(src as i32) as u32
                            }
                        }
                        alu::DIV => dv.checked_div(src).unwrap_or(0),
                        alu::MOD if i.off == 1 => {
                            if src == 0 {
                                dv
                            } else {
                                (dv as i32).wrapping_rem(src as i32) as u32
                            }
                        }
                        alu::MOD => {
                            if src == 0 {
                                dv
                            } else {
                                dv % src
                            }
                        }
                        alu::OR => dv | src,
                        alu::AND => dv & src,
                        alu::XOR => dv ^ src,
                        alu::LSH => dv.wrapping_shl(src & 31),
                        alu::RSH => dv.wrapping_shr(src & 31),
                        alu::ARSH => ((dv as i32).wrapping_shr(src & 31)) as u32,
                        alu::NEG => (dv as i32).wrapping_neg() as u32,
                        alu::MOV => match (i.is_reg_src(), i.off) {
                            (true, 8) => sx(src as u64, 8) as u32,
                            (true, 16) => sx(src as u64, 16) as u32,
                            _ => src,
                        },
                        alu::END => {
                            // le: this host order is little-endian, so only truncate.
                            let be = i.is_reg_src();
                            let v = reg[d];
                            reg[d] = match (i.imm, be) {
                                (16, false) => v as u16 as u64,
                                (32, false) => v as u32 as u64,
                                (64, false) => v,
                                (16, true) => (v as u16).swap_bytes() as u64,
                                (32, true) => (v as u32).swap_bytes() as u64,
                                (64, true) => v.swap_bytes(),
                                _ => return Err(invalid().into()),
                            };
                            pc = next;
                            continue;
                        }
                        _ => return Err(invalid().into()),
                    };
                    reg[d] = r as u64;
                }
                class::JMP | class::JMP32 => {
                    let is32 = i.class() == class::JMP32;
                    match i.op() {
                        jmp::JA => {
                            next = jump(pc, i.jump_offset(), prog.len())?;
                        }
                        // Falls through while the budget lasts, then jumps (the kernel's
                        // rewrite: a counter on the stack, decremented each time).
                        jmp::JCOND if i.is_may_goto() => {
                            if budget.may_goto_left == 0 {
                                next = jump(pc, i.off as i64, prog.len())?;
                            } else {
                                budget.may_goto_left -= 1;
                            }
                        }
                        jmp::EXIT => match frames.pop() {
                            None => return Ok(reg[0]),
                            Some(f) => {
                                reg[6..10].copy_from_slice(&f.saved);
                                reg[10] = frame_top(depth + frames.len(), self.stack_base);
                                next = f.ret_pc;
                            }
                        },
                        jmp::CALL => {
                            if is32 {
                                return Err(invalid().into());
                            }
                            if i.src == pseudo::CALL_LOCAL && !i.is_reg_src() {
                                if depth + frames.len() + 1 >= MAX_CALL_FRAMES {
                                    return Err(VmError::CallDepth { pc }.into());
                                }
                                let target = jump(pc, i.imm as i64, prog.len())?;
                                frames.push(Frame {
                                    ret_pc: pc + 1,
                                    saved: [reg[6], reg[7], reg[8], reg[9]],
                                });
                                reg[10] = frame_top(depth + frames.len(), self.stack_base);
                                next = target;
                            } else {
                                let id = if i.is_reg_src() {
                                    let r = if i.dst != 0 {
                                        i.dst as usize
                                    } else {
                                        i.imm as usize
                                    };
                                    if r > 10 {
                                        return Err(invalid().into());
                                    }
                                    reg[r] as i64
                                } else {
                                    i.imm as i64
                                };
                                let args = [reg[1], reg[2], reg[3], reg[4], reg[5]];
                                let here = depth + frames.len();
                                reg[0] = match id {
                                    helpers::id::LOOP => self.bpf_loop(pc, args, here, budget)?,
                                    helpers::id::FOR_EACH_MAP_ELEM => {
                                        self.for_each_map_elem(pc, args, here, budget)?
                                    }
                                    _ => self.helpers.call(pc, id, args, &mut self.mem)?,
                                };
                                // r1-r5 are clobbered by a call; the kernel leaves them
                                // unreadable, we leave them as they were.
                            }
                        }
                        op => {
                            let (a, b) = {
                                let b = if i.is_reg_src() {
                                    reg[s]
                                } else {
                                    i.imm as i64 as u64
                                };
                                if is32 {
                                    (reg[d] as u32 as u64, b as u32 as u64)
                                } else {
                                    (reg[d], b)
                                }
                            };
                            let (sa, sb) = if is32 {
                                (a as u32 as i32 as i64, b as u32 as i32 as i64)
                            } else {
                                (a as i64, b as i64)
                            };
                            let taken = match op {
                                jmp::JEQ => a == b,
                                jmp::JNE => a != b,
                                jmp::JGT => a > b,
                                jmp::JGE => a >= b,
                                jmp::JLT => a < b,
                                jmp::JLE => a <= b,
                                jmp::JSET => a & b != 0,
                                jmp::JSGT => sa > sb,
                                jmp::JSGE => sa >= sb,
                                jmp::JSLT => sa < sb,
                                jmp::JSLE => sa <= sb,
                                _ => return Err(invalid().into()),
                            };
                            if taken {
                                next = jump(pc, i.off as i64, prog.len())?;
                            }
                        }
                    }
                }
                class::LDX => {
                    let size = bpf_insn::insn::size_bytes(i.code);
                    let addr = reg[s].wrapping_add(i.off as i64 as u64);
                    let v = self.mem.load(pc, addr, size)?;
                    reg[d] = match i.mode() {
                        mem::MEM => v,
                        mem::MEMSX if size < 8 => sx(v, size as u32 * 8),
                        _ => return Err(invalid().into()),
                    };
                }
                class::ST | class::STX => {
                    let size = bpf_insn::insn::size_bytes(i.code);
                    let addr = reg[d].wrapping_add(i.off as i64 as u64);
                    match i.mode() {
                        mem::MEM => {
                            let v = if i.class() == class::ST {
                                i.imm as i64 as u64
                            } else {
                                reg[s]
                            };
                            self.mem.store(pc, addr, size, v)?;
                        }
                        mem::ATOMIC if i.class() == class::STX && (size == 4 || size == 8) => {
                            let old = self.mem.load(pc, addr, size)?;
                            let mask = if size == 4 { 0xffff_ffffu64 } else { u64::MAX };
                            let sv = reg[s] & mask;
                            let new = match i.imm & !atomic::FETCH {
                                atomic::ADD => old.wrapping_add(sv),
                                atomic::OR => old | sv,
                                atomic::AND => old & sv,
                                atomic::XOR => old ^ sv,
                                0xe0 if i.imm == atomic::XCHG => sv,
                                0xf0 if i.imm == atomic::CMPXCHG => {
                                    if old == reg[0] & mask {
                                        sv
                                    } else {
                                        old
                                    }
                                }
                                _ => return Err(invalid().into()),
                            } & mask;
                            self.mem.store(pc, addr, size, new)?;
                            if i.imm == atomic::CMPXCHG {
                                reg[0] = old;
                            } else if i.imm & atomic::FETCH != 0 {
                                reg[s] = old;
                            }
                        }
                        _ => return Err(invalid().into()),
                    }
                }
                class::LD => {
                    if i.is_lddw() {
                        let Some(hi) = prog.get(pc + 1) else {
                            return Err(invalid().into());
                        };
                        let v = bpf_insn::insn::lddw_value(&i, hi);
                        reg[d] = match i.src {
                            0 => v,
                            pseudo::MAP_FD | pseudo::MAP_IDX => {
                                self.helpers.map_ptr(i.imm as i64).ok_or(VmError::NoMap {
                                    pc,
                                    what: i.imm as i64,
                                })?
                            }
                            pseudo::FUNC => {
                                FUNC_PTR_TAG | jump(pc, i.imm as i64, prog.len())? as u64
                            }
                            pseudo::MAP_VALUE | pseudo::MAP_IDX_VALUE => {
                                let base = self
                                    .helpers
                                    .map_value_ptr(i.imm as i64, &mut self.mem)
                                    .ok_or(VmError::NoMap {
                                        pc,
                                        what: i.imm as i64,
                                    })?;
                                base.wrapping_add(hi.imm as u32 as u64)
                            }
                            _ => return Err(invalid().into()),
                        };
                        next = pc + 2;
                    } else if i.mode() == mem::ABS || i.mode() == mem::IND {
                        let size = bpf_insn::insn::size_bytes(i.code);
                        let off = if i.mode() == mem::IND {
                            (reg[s] as u32).wrapping_add(i.imm as u32) as i32 as i64
                        } else {
                            i.imm as i64
                        };
                        let Some(pkt) = self.packet else {
                            return Err(invalid().into());
                        };
                        let len = self.mem.regions[pkt].bytes.len() as i64;
                        if off < 0 || off + size as i64 > len || size == 8 {
                            // The kernel ends the program with 0 on an out-of-packet load.
                            return Err(Halt::Abort(0));
                        }
                        let b = &self.mem.regions[pkt].bytes[off as usize..off as usize + size];
                        let mut v = 0u64;
                        for x in b {
                            v = (v << 8) | *x as u64;
                        }
                        reg[0] = v;
                    } else {
                        return Err(invalid().into());
                    }
                }
                _ => return Err(invalid().into()),
            }
            pc = next;
        }
    }
}

impl<H: Helpers> Vm<'_, H> {
    /// The instruction a callback argument (`lddw rX, func` = [`FUNC_PTR_TAG`] | pc)
    /// points to.
    fn callback(&self, pc: usize, id: i64, v: u64) -> Result<usize, VmError> {
        let target = (v & !FUNC_PTR_TAG) as usize;
        if v & 0xffff_0000_0000_0000 != FUNC_PTR_TAG || target >= self.prog.len() {
            return Err(VmError::Helper {
                pc,
                id,
                msg: format!("{v:#x} is not a function"),
            });
        }
        Ok(target)
    }

    /// Call a callback in the frame after `depth`.
    fn call_back(
        &mut self,
        pc: usize,
        target: usize,
        args: [u64; 5],
        depth: usize,
        budget: &mut Budget,
    ) -> Result<u64, Halt> {
        if depth + 1 >= MAX_CALL_FRAMES {
            return Err(VmError::CallDepth { pc }.into());
        }
        self.exec(target, args, depth + 1, budget)
    }

    /// `bpf_loop(nr_loops, callback, ctx, flags)`: calls `callback(i, ctx)` until it
    /// returns non-zero; the number of calls.
    fn bpf_loop(
        &mut self,
        pc: usize,
        a: [u64; 5],
        depth: usize,
        budget: &mut Budget,
    ) -> Result<u64, Halt> {
        let target = self.callback(pc, helpers::id::LOOP, a[1])?;
        let n = a[0] as u32 as u64;
        if a[3] != 0 {
            return Ok((-22i64) as u64);
        }
        if n > MAY_GOTO_BUDGET {
            return Ok((-7i64) as u64);
        }
        for i in 0..n {
            if self.call_back(pc, target, [i, a[2], 0, 0, 0], depth, budget)? != 0 {
                return Ok(i + 1);
            }
        }
        Ok(n)
    }

    /// `bpf_for_each_map_elem(map, callback, ctx, flags)`: calls `callback(map, key,
    /// value, ctx)` for each element until it returns non-zero; the number of calls.
    fn for_each_map_elem(
        &mut self,
        pc: usize,
        a: [u64; 5],
        depth: usize,
        budget: &mut Budget,
    ) -> Result<u64, Halt> {
        let id = helpers::id::FOR_EACH_MAP_ELEM;
        let target = self.callback(pc, id, a[1])?;
        let Some(elems) = self.helpers.map_elems(a[0], &mut self.mem) else {
            return Err(VmError::Helper {
                pc,
                id,
                msg: format!("argument {:#x} is not a map", a[0]),
            }
            .into());
        };
        if a[3] != 0 {
            return Ok((-22i64) as u64);
        }
        let mut n = 0;
        for (key, value) in elems {
            // An element an earlier call deleted is not visited.
            if self.mem.locate(value, 1).is_none() {
                continue;
            }
            n += 1;
            if self.call_back(pc, target, [a[0], key, value, a[2], 0], depth, budget)? != 0 {
                break;
            }
        }
        Ok(n)
    }
}

/// Instructions and `may_goto` iterations left, shared by a run's callbacks.
struct Budget {
    steps: u64,
    may_goto_left: u64,
}

/// Why execution stopped before the function returned.
enum Halt {
    Err(VmError),
    /// The whole program ends with this r0 (a legacy packet load out of bounds).
    Abort(u64),
}

impl From<VmError> for Halt {
    fn from(e: VmError) -> Halt {
        Halt::Err(e)
    }
}

/// What `lddw rX, <function>` (BPF_PSEUDO_FUNC) yields: this tag | the function's first
/// instruction. Like map pointers, it lies outside every region.
pub const FUNC_PTR_TAG: u64 = 0xfffe_0000_0000_0000;

fn jump(pc: usize, off: i64, len: usize) -> Result<usize, VmError> {
    let t = pc as i64 + 1 + off;
    if t < 0 || t as usize >= len {
        return Err(VmError::BadJump { pc, target: t });
    }
    Ok(t as usize)
}

/// Run a program over one input buffer the way the bpf_conformance vectors do: r1 = the
/// buffer's address (0 when empty), r2 = its length. Returns r0 and the buffer afterwards.
pub fn run_with_memory(prog: &[Insn], input: &[u8]) -> Result<(Outcome, Vec<u8>), VmError> {
    let mut vm = Vm::new(prog, StdHelpers::default());
    let (addr, idx) = if input.is_empty() {
        (0, None)
    } else {
        let a = vm.mem.add(RegionKind::Input, input.to_vec(), true);
        (a, Some(vm.mem.regions.len() - 1))
    };
    let out = vm.run([addr, input.len() as u64, 0, 0, 0])?;
    let data = idx
        .map(|i| vm.mem.regions[i].bytes.clone())
        .unwrap_or_default();
    Ok((out, data))
}
