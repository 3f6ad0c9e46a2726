//! A user-space eBPF verifier modelled on the kernel's (`kernel/bpf/verifier.c`), judging as
//! a chosen kernel version does for a privileged loader (CAP_BPF + CAP_PERFMON): the
//! [`Kernel`] in [`Options`] (default: the newest modelled, 6.18) selects the helpers each
//! program type gets, the instruction set, the limits and the nullness rules of that version
//! (see the `kernel` module for the rules and the changes they follow).
//!
//! What it models:
//! - the control-flow graph: defined opcodes, jumps inside their function, no jump into
//!   the middle of `lddw`, no unreachable instruction, every function ending in exit/jump;
//! - register states: uninitialised, scalars (tnum + signed/unsigned 64-bit ranges + the
//!   same of the low 32 bits; copies linked by a scalar id share what a compare learns),
//!   pointers (context, stack of any frame, map value, map, packet / packet end / packet meta,
//!   ring-buffer records) with a fixed and a variable offset, NULL-able map lookup results
//!   that become usable after a NULL check;
//! - socket pointers (`skb->sk`, `bpf_sk_lookup_*`, `bpf_sk_fullsock`, `bpf_tcp_sock`): their
//!   NULL checks, readable fields, and the references lookups acquire, which must be
//!   released on every path (`engine/sock.rs`);
//! - the stack: 512 bytes per frame and the call chain together, spilled registers,
//!   reads of uninitialised stack allowed (a privileged loader may);
//! - bounds of every memory access, packet accesses only below a checked `data_end`;
//! - helpers: allow-list per program type, argument and return types;
//! - return values (`R0` initialised; ranges for the types the kernel checks);
//! - loops: the state space is explored path by path with pruning of subsumed states;
//!   a loop whose state repeats is infinite, and more than 1,000,000 processed
//!   instructions is "too complex", as in the kernel; `may_goto` loops and the callbacks of
//!   `bpf_loop` and `bpf_for_each_map_elem` (`lddw rX, func`: PTR_TO_FUNC) are verified as
//!   the kernel does, with widening of the scalars that change between iterations;
//! - the call graph: recursion and chains of more than 8 frames are refused;
//! - kfunc calls, resolved by BTF id in the target kernel's BTF (`Options::kfunc_btf`;
//!   GPL-compatible programs only): the open-coded `bpf_iter_num` and `bpf_iter_bits`
//!   iterators (stack slots holding an iterator, its reference until `destroy`, loops over
//!   `next` that converge as the kernel's do), `bpf_cast_to_kern_ctx` and `bpf_rdonly_cast`
//!   (their BTF-typed result is left unreadable); the kfunc sets each program type may call
//!   (`engine/kfunc.rs`);
//! - dynptrs made and used by helpers (`engine/dynptr.rs`): local ones over a map value
//!   (`bpf_dynptr_from_mem`), ring-buffer ones (`bpf_ringbuf_reserve_dynptr`, a reference
//!   until submitted or discarded), `bpf_dynptr_read`/`bpf_dynptr_write`; their stack slots
//!   are not data.
//! - spin locks (`bpf_spin_lock`/`bpf_spin_unlock` on the value's `struct bpf_spin_lock`,
//!   known from the map's BTF) and maps of maps (the inner map from the BTF definition):
//!   `engine/maps.rs`;
//! - global functions, each verified on its own from its BTF prototype, calls checked
//!   against it (`engine/global.rs`);
//! - pointers to kernel types (PTR_TO_BTF_ID, plain, trusted, RCU, untrusted, NULL-able),
//!   given the target kernel's BTF ([`verify_with_btf`]): the pointer arguments of
//!   fentry/fexit/fmod_ret/LSM and `iter/task` programs, the netfilter context's `state` and
//!   `skb`, `bpf_get_current_task_btf`, `bpf_skc_to_*_sock`, map pointer fields; loads walk
//!   the struct's BTF, stores are refused (`engine/btfptr.rs`).
//!
//! `selftests` compares these verdicts with the annotations of the kernel's own verifier
//! tests (`kmodkit bpf selftests`).
//!
//! What it does not model (and rejects, rather than guessing): other kfuncs, other
//! iterators, dynptr slices (`bpf_dynptr_data`) and dynptr kfuncs, BTF-typed pointers without the kernel's BTF (and tp_btf
//! arguments, pointers to non-structs, `__user`/`__percpu` pointers),
//! timers, arena pointers, global function arguments of those kinds, helpers whose arguments or results
//! are of those kinds (known by name, see `helpers`), program types without a context
//! model (contexts: socket_filter, sched_cls/act, cgroup_skb, lwt_*, sk_skb, sk_msg, xdp,
//! kprobe, tracepoint, perf_event, raw_tracepoint, cgroup_sock (as sock_create),
//! cgroup_sock_addr, cgroup_device, cgroup_sysctl, netfilter, syscall, sock_ops,
//! sk_reuseport, flow_dissector, sk_lookup, raw_tracepoint_writable (their packet, flow
//! keys and tracepoint buffer pointers are not followed); fentry/fexit/fmod_ret/
//! tp_btf/iter and LSM given their attach target's prototype from the kernel's BTF (`Options::attach`,
//! [`Attach::from_btf`]), whose scalar arguments are modelled, and pointer arguments with the
//! kernel's BTF as said above; their sleepable `.s` forms may call helpers that might sleep).
//! Kernel structs are readable by GPL-compatible programs only (`Options::gpl`). Precision tracking is not modelled, so this verifier may explore
//! more states than the kernel (and reach the complexity limit sooner); it is meant never
//! to be less strict. The known exception: a global function the kernel would refuse on
//! its own (from its BTF prototype) but whose calls are all safe.

mod engine;
pub mod helpers;
pub mod kernel;
pub mod scalar;
pub mod selftests;
#[doc(hidden)]
pub mod testgen;

pub use engine::{
    global_funcs, int_return_funcs, map_infos, verify, verify_with_btf, Attach, AttachArg,
    AttachKind, GlobalArg, GlobalFunc, Input, MapInfo, Options, Verdict,
};
pub use kernel::Kernel;

/// The kernel's `license_is_gpl_compatible`: only such programs may call kfuncs
/// ([`Options::gpl`]).
pub fn gpl_compatible(license: &str) -> bool {
    matches!(
        license,
        "GPL"
            | "GPL v2"
            | "GPL and additional rights"
            | "Dual BSD/GPL"
            | "Dual MIT/GPL"
            | "Dual MPL/GPL"
    )
}

/// Why a program was rejected; `class` groups the reasons like the differential tests do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub pc: usize,
    pub class: Class,
    pub msg: String,
    pub hint: Option<String>,
    /// The registers at the failing instruction (one line).
    pub regs: String,
    /// How the verifier got there and what made the register unsafe, when known.
    pub explain: Option<Box<Explanation>>,
}

/// The path to a rejected instruction and the instructions on it that led to the error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The path from the entry: runs of consecutive instructions `(first, last)`.
    pub path: Vec<(usize, usize)>,
    /// In path order: the instructions that defined the faulting register's value (where a
    /// pointer came from, what was added to it, the call whose result it is), and the
    /// conditional jumps on values derived from them.
    pub causes: Vec<Cause>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    pub pc: usize,
    /// For a conditional jump: whether the path took it.
    pub branch: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Bad opcode, jump out of range, unreachable code, bad CFG.
    Cfg,
    /// Reading a register that was never written.
    Uninit,
    /// Memory access out of bounds (stack, map value, context, packet).
    Bounds,
    /// Dereferencing a pointer that may be NULL.
    Null,
    /// A helper not allowed for the program type, or wrong argument types.
    Helper,
    /// R0 at exit out of the allowed range, or not initialised.
    Return,
    /// An infinite loop or too many states / instructions.
    Loop,
    /// Pointer arithmetic or a pointer use the kernel forbids.
    Pointer,
    /// Something outside this model.
    Unsupported,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "insn {}: {}", self.pc, self.msg)
    }
}

impl std::error::Error for Rejection {}
