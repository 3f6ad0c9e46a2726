//! Helper prototypes and which program types may call them, by kernel version, for a
//! privileged loader (CAP_BPF + CAP_PERFMON).
//!
//! The table (between the GENERATED markers) is written by `scripts/bpf-helper-table`:
//! - every helper of Linux 6.12's `include/uapi/linux/bpf.h` (ids 1-211) with the argument
//!   and return types of its `struct bpf_func_proto` in 6.12's sources (kernel/bpf/*.c,
//!   kernel/trace/bpf_trace.c, net/core/filter.c, net/core/bpf_sk_storage.c), and the release
//!   that introduced it;
//! - which program types may call it, as real kernels answered `kmodkit bpf probe-helpers`
//!   (data/helpers-6.1.json: Debian 12's 6.1 under `kmodkit vm`; helpers-6.12.json: Debian's
//!   6.12; helpers-6.18.json: the 6.18 host) for socket_filter, kprobe, sched_cls,
//!   sched_act, tracepoint, xdp, perf_event, cgroup_skb, cgroup_sock, cgroup_device,
//!   raw_tracepoint, cgroup_sock_addr (as connect4) and cgroup_sysctl; tracing (fentry/fexit)
//!   and LSM programs, which need an attach target to load, get raw_tracepoint's set plus
//!   what 6.12's `tracing_prog_func_proto` / `bpf_lsm_func_proto` add.
//!   LWT programs (lwt_in, lwt_out, lwt_xmit), which need a route, get socket_filter's set
//!   without `sk_filter_func_proto`'s own cases (the common `bpf_sk_base_func_proto`) plus the
//!   cases of 6.12's `lwt_out_func_proto` and `lwt_in_func_proto` / `lwt_xmit_func_proto`
//!   (checked against the 6.18 host's answers). sock_ops, sk_reuseport, flow_dissector and
//!   sk_lookup get their `*_func_proto`'s own cases whose prototype is the table's, then
//!   `bpf_sk_base_func_proto` (sk_reuseport: `bpf_base_func_proto`); raw_tracepoint_writable
//!   raw_tracepoint's set. Each is a subset of what the 6.18 host's probe offers them.
//!
//! Versions between the probed ones: a change between 6.1 and 6.12 counts from 6.12 (an
//! addition) or 6.2 (a removal) unless its release is known (`get_current_pid_tgid` for all
//! types: 6.10); between 6.12 and 6.18, from 6.18 or 6.13. Before 6.1, a helper is offered
//! from its release to the types 6.1 offers it to. So the model errs towards rejecting.
//! Helpers whose argument or result kinds the engine does not model (BTF pointers, sockets,
//! dynptrs, spin locks, timers, callbacks, constant strings, ...) are known by name and
//! rejected as not modelled.

/// Argument types (the kernel's `enum bpf_arg_type`, as far as the engine models them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// Not used.
    None,
    /// Any initialised value (`ARG_ANYTHING`).
    Anything,
    /// A map (`lddw rX, map`).
    ConstMapPtr,
    /// Pointer to `key_size` readable bytes.
    MapKey,
    /// Pointer to `value_size` readable bytes.
    MapValue,
    /// Pointer to readable memory whose size is the next argument.
    Mem,
    /// Pointer to writable memory whose size is the next argument (need not be initialised).
    UninitMem,
    /// Pointer to readable memory whose size is the next argument, or NULL with a size of
    /// 0 (`ARG_PTR_TO_MEM | PTR_MAYBE_NULL | MEM_RDONLY`).
    MemOrNull,
    /// Size of the previous memory argument: a bounded scalar, > 0.
    Size,
    /// Size of the previous memory argument, may be 0.
    SizeOrZero,
    /// The program's context.
    Ctx,
    /// A constant size (ringbuf_reserve).
    ConstAllocSize,
    /// A record from `bpf_ringbuf_reserve`, checked against NULL.
    AllocMem,
    /// A scalar (flags, numbers).
    Scalar,
    /// A static function (`lddw rX, callback`: PTR_TO_FUNC), the helper's callback.
    Func,
    /// A pointer to the stack, or NULL (a callback's context).
    StackOrNull,
    /// A kind the engine does not model (the kernel's name for it): calls are rejected.
    Other(&'static str),
    /// Pointer to this many bytes the helper writes (an out-parameter), aligned to their
    /// size (`ARG_PTR_TO_FIXED_SIZE_MEM | MEM_WRITE | MEM_ALIGNED`, with or without
    /// `MEM_UNINIT`).
    FixedWriteMem(u8),
    /// As `FixedWriteMem`, without `MEM_UNINIT` (bpf_check_mtu's `mtu_len`, which the helper
    /// also reads): stack bytes must be initialised. A privileged 6.12 kernel lets uninitialised
    /// stack through (`allow_uninit_stack`), but 6.12's selftest verifier_mtu/tc_uninit_mtu
    /// is annotated as rejected, so the model keeps the unprivileged rule (stricter).
    FixedInOutMem(u8),
}

/// Return types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    Integer,
    Void,
    MapValueOrNull,
    AllocMemOrNull,
    /// A value of the map argument, never NULL (`RET_PTR_TO_MAP_VALUE`: bpf_get_local_storage).
    MapValue,
    /// A pointer kind the engine does not model (the kernel's name): calls are rejected.
    Other(&'static str),
}

pub struct Proto {
    pub id: i32,
    pub name: &'static str,
    pub args: [Arg; 5],
    pub ret: Ret,
    /// The release that introduced the helper.
    pub since: (u32, u32),
    /// Program types that may call it (bit `1 << BPF_PROG_TYPE_*`), by kernel version: the
    /// last entry whose version is at most the kernel's applies.
    pub avail: &'static [((u32, u32), u64)],
}

use crate::kernel::Kernel;
use Arg::*;

const N: Arg = Arg::None;

#[rustfmt::skip]
pub const PROTOS: &[Proto] = &[
// GENERATED by scripts/bpf-helper-table: begin
    Proto { id: 1, name: "map_lookup_elem", args: [ConstMapPtr, MapKey, N, N, N], ret: Ret::MapValueOrNull, since: (3, 19), avail: &[((3, 19), 0x65e6fffe)] },
    Proto { id: 2, name: "map_update_elem", args: [ConstMapPtr, MapKey, MapValue, Anything, N], ret: Ret::Integer, since: (3, 19), avail: &[((3, 19), 0x65e6fffe)] },
    Proto { id: 3, name: "map_delete_elem", args: [ConstMapPtr, MapKey, N, N, N], ret: Ret::Integer, since: (3, 19), avail: &[((3, 19), 0x65e6fffe)] },
    Proto { id: 4, name: "probe_read", args: [UninitMem, SizeOrZero, Anything, N, N], ret: Ret::Integer, since: (4, 1), avail: &[((4, 1), 0x250200a4)] },
    Proto { id: 5, name: "ktime_get_ns", args: [N, N, N, N, N], ret: Ret::Integer, since: (4, 1), avail: &[((4, 1), 0x65e6fffe)] },
    Proto { id: 6, name: "trace_printk", args: [Mem, Size, N, N, N], ret: Ret::Integer, since: (4, 1), avail: &[((4, 1), 0x65e6fffe)] },
    Proto { id: 7, name: "get_prandom_u32", args: [N, N, N, N, N], ret: Ret::Integer, since: (4, 1), avail: &[((4, 1), 0x65e6fffe)] },
    Proto { id: 8, name: "get_smp_processor_id", args: [N, N, N, N, N], ret: Ret::Integer, since: (4, 1), avail: &[((4, 1), 0x65e6fffe)] },
    Proto { id: 9, name: "skb_store_bytes", args: [Ctx, Anything, Mem, Size, Anything], ret: Ret::Integer, since: (4, 1), avail: &[((4, 1), 0x5018)] },
    Proto { id: 10, name: "l3_csum_replace", args: [Ctx, Anything, Anything, Anything, Anything], ret: Ret::Integer, since: (4, 1), avail: &[((4, 1), 0x1018)] },
    Proto { id: 11, name: "l4_csum_replace", args: [Ctx, Anything, Anything, Anything, Anything], ret: Ret::Integer, since: (4, 1), avail: &[((4, 1), 0x1018)] },
    Proto { id: 12, name: "tail_call", args: [Ctx, ConstMapPtr, Anything, N, N], ret: Ret::Void, since: (4, 2), avail: &[((4, 2), 0x65e6fffe)] },
    Proto { id: 13, name: "clone_redirect", args: [Ctx, Anything, Anything, N, N], ret: Ret::Integer, since: (4, 2), avail: &[((4, 2), 0x1018)] },
    Proto { id: 14, name: "get_current_pid_tgid", args: [N, N, N, N, N], ret: Ret::Integer, since: (4, 2), avail: &[((4, 2), 0x258682a4), ((6, 10), 0x65e6fffe)] },
    Proto { id: 15, name: "get_current_uid_gid", args: [N, N, N, N, N], ret: Ret::Integer, since: (4, 2), avail: &[((4, 2), 0x258682a4), ((6, 18), 0x65e6fffe)] },
    Proto { id: 16, name: "get_current_comm", args: [UninitMem, Size, N, N, N], ret: Ret::Integer, since: (4, 2), avail: &[((4, 2), 0x258682a4), ((6, 18), 0x65e6fffe)] },
    Proto { id: 17, name: "get_cgroup_classid", args: [Ctx, N, N, N, N], ret: Ret::Integer, since: (4, 3), avail: &[((4, 3), 0x849e18), ((6, 18), 0x65e6fffe)] },
    Proto { id: 18, name: "skb_vlan_push", args: [Ctx, Anything, Anything, N, N], ret: Ret::Integer, since: (4, 3), avail: &[((4, 3), 0x18)] },
    Proto { id: 19, name: "skb_vlan_pop", args: [Ctx, N, N, N, N], ret: Ret::Integer, since: (4, 3), avail: &[((4, 3), 0x18)] },
    Proto { id: 20, name: "skb_get_tunnel_key", args: [Ctx, UninitMem, Size, Anything, N], ret: Ret::Integer, since: (4, 3), avail: &[((4, 3), 0x1018)] },
    Proto { id: 21, name: "skb_set_tunnel_key", args: [Ctx, Mem, Size, Anything, N], ret: Ret::Integer, since: (4, 3), avail: &[((4, 3), 0x1018)] },
    Proto { id: 22, name: "perf_event_read", args: [ConstMapPtr, Anything, N, N, N], ret: Ret::Integer, since: (4, 3), avail: &[((4, 3), 0x250200a4), ((6, 18), 0x65e6fffe)] },
    Proto { id: 23, name: "redirect", args: [Anything, Anything, N, N, N], ret: Ret::Integer, since: (4, 4), avail: &[((4, 4), 0x1058)] },
    Proto { id: 24, name: "get_route_realm", args: [Ctx, N, N, N, N], ret: Ret::Integer, since: (4, 4), avail: &[((4, 4), 0x1c18)] },
    Proto { id: 25, name: "perf_event_output", args: [Ctx, ConstMapPtr, Anything, Mem, SizeOrZero], ret: Ret::Integer, since: (4, 4), avail: &[((4, 4), 0x2586dffe)] },
    Proto { id: 26, name: "skb_load_bytes", args: [Ctx, Anything, UninitMem, Size, N], ret: Ret::Integer, since: (4, 5), avail: &[((4, 5), 0x605d1a)] },
    Proto { id: 27, name: "get_stackid", args: [Ctx, ConstMapPtr, Anything, N, N], ret: Ret::Integer, since: (4, 6), avail: &[((4, 6), 0x250200a4)] },
    Proto { id: 28, name: "csum_diff", args: [MemOrNull, SizeOrZero, MemOrNull, SizeOrZero, Anything], ret: Ret::Integer, since: (4, 6), avail: &[((4, 6), 0x1c58)] },
    Proto { id: 29, name: "skb_get_tunnel_opt", args: [Ctx, UninitMem, Size, N, N], ret: Ret::Integer, since: (4, 6), avail: &[((4, 6), 0x1018)] },
    Proto { id: 30, name: "skb_set_tunnel_opt", args: [Ctx, Mem, Size, N, N], ret: Ret::Integer, since: (4, 6), avail: &[((4, 6), 0x1018)] },
    Proto { id: 31, name: "skb_change_proto", args: [Ctx, Anything, Anything, N, N], ret: Ret::Integer, since: (4, 8), avail: &[((4, 8), 0x18)] },
    Proto { id: 32, name: "skb_change_type", args: [Ctx, Anything, N, N, N], ret: Ret::Integer, since: (4, 8), avail: &[((4, 8), 0x18)] },
    Proto { id: 33, name: "skb_under_cgroup", args: [Ctx, ConstMapPtr, Anything, N, N], ret: Ret::Integer, since: (4, 8), avail: &[((4, 8), 0x1c18)] },
    Proto { id: 34, name: "get_hash_recalc", args: [Ctx, N, N, N, N], ret: Ret::Integer, since: (4, 8), avail: &[((4, 8), 0x1c18)] },
    Proto { id: 35, name: "get_current_task", args: [N, N, N, N, N], ret: Ret::Integer, since: (4, 8), avail: &[((4, 8), 0x65e6fffe)] },
    Proto { id: 36, name: "probe_write_user", args: [Anything, Mem, Size, N, N], ret: Ret::Integer, since: (4, 8), avail: &[((4, 8), 0x250200a4), ((6, 13), 0x0)] },
    Proto { id: 37, name: "current_task_under_cgroup", args: [ConstMapPtr, Anything, N, N, N], ret: Ret::Integer, since: (4, 9), avail: &[((4, 9), 0x250200a4), ((6, 12), 0x258682a4), ((6, 18), 0x65e6fffe)] },
    Proto { id: 38, name: "skb_change_tail", args: [Ctx, Anything, Anything, N, N], ret: Ret::Integer, since: (4, 9), avail: &[((4, 9), 0x5018)] },
    Proto { id: 39, name: "skb_pull_data", args: [Ctx, Anything, N, N, N], ret: Ret::Integer, since: (4, 9), avail: &[((4, 9), 0x5c18)] },
    Proto { id: 40, name: "csum_update", args: [Ctx, Anything, N, N, N], ret: Ret::Integer, since: (4, 9), avail: &[((4, 9), 0x1018)] },
    Proto { id: 41, name: "set_hash_invalid", args: [Ctx, N, N, N, N], ret: Ret::Integer, since: (4, 9), avail: &[((4, 9), 0x1018)] },
    Proto { id: 42, name: "get_numa_node_id", args: [N, N, N, N, N], ret: Ret::Integer, since: (4, 10), avail: &[((4, 10), 0x65e6fffe)] },
    Proto { id: 43, name: "skb_change_head", args: [Ctx, Anything, Anything, N, N], ret: Ret::Integer, since: (4, 10), avail: &[((4, 10), 0x5018)] },
    Proto { id: 44, name: "xdp_adjust_head", args: [Ctx, Anything, N, N, N], ret: Ret::Integer, since: (4, 10), avail: &[((4, 10), 0x40)] },
    Proto { id: 45, name: "probe_read_str", args: [UninitMem, SizeOrZero, Anything, N, N], ret: Ret::Integer, since: (4, 11), avail: &[((4, 11), 0x250200a4)] },
    Proto { id: 46, name: "get_socket_cookie", args: [Ctx, N, N, N, N], ret: Ret::Integer, since: (4, 12), avail: &[((4, 12), 0x4631a)] },
    Proto { id: 47, name: "get_socket_uid", args: [Ctx, N, N, N, N], ret: Ret::Integer, since: (4, 12), avail: &[((4, 12), 0x411a)] },
    Proto { id: 48, name: "set_hash", args: [Ctx, Anything, N, N, N], ret: Ret::Integer, since: (4, 13), avail: &[((4, 13), 0x18)] },
    Proto { id: 49, name: "setsockopt", args: [Ctx, Anything, Anything, Mem, Size], ret: Ret::Integer, since: (4, 13), avail: &[((4, 13), 0x20042000)] },
    Proto { id: 50, name: "skb_adjust_room", args: [Ctx, Anything, Anything, Anything, N], ret: Ret::Integer, since: (4, 13), avail: &[((4, 13), 0x4018)] },
    Proto { id: 51, name: "redirect_map", args: [ConstMapPtr, Anything, Anything, N, N], ret: Ret::Integer, since: (4, 14), avail: &[((4, 14), 0x40)] },
    Proto { id: 53, name: "sock_map_update", args: [Ctx, ConstMapPtr, MapKey, Anything, N], ret: Ret::Integer, since: (4, 14), avail: &[((4, 14), 0x2000)] },
    Proto { id: 54, name: "xdp_adjust_meta", args: [Ctx, Anything, N, N, N], ret: Ret::Integer, since: (4, 15), avail: &[((4, 15), 0x40)] },
    Proto { id: 55, name: "perf_event_read_value", args: [ConstMapPtr, Anything, UninitMem, Size, N], ret: Ret::Integer, since: (4, 15), avail: &[((4, 15), 0x250200a4), ((6, 18), 0x65e6fffe)] },
    Proto { id: 56, name: "perf_prog_read_value", args: [Ctx, UninitMem, Size, N, N], ret: Ret::Integer, since: (4, 15), avail: &[((4, 15), 0x80)] },
    Proto { id: 57, name: "getsockopt", args: [Ctx, Anything, Anything, UninitMem, Size], ret: Ret::Integer, since: (4, 15), avail: &[((4, 15), 0x20042000)] },
    Proto { id: 58, name: "override_return", args: [Ctx, Anything, N, N, N], ret: Ret::Integer, since: (4, 16), avail: &[((4, 16), 0x0)] },
    Proto { id: 59, name: "sock_ops_cb_flags_set", args: [Ctx, Anything, N, N, N], ret: Ret::Integer, since: (4, 16), avail: &[((4, 16), 0x2000)] },
    Proto { id: 61, name: "msg_apply_bytes", args: [Ctx, Anything, N, N, N], ret: Ret::Integer, since: (4, 17), avail: &[((4, 17), 0x0)] },
    Proto { id: 62, name: "msg_cork_bytes", args: [Ctx, Anything, N, N, N], ret: Ret::Integer, since: (4, 17), avail: &[((4, 17), 0x0)] },
    Proto { id: 63, name: "msg_pull_data", args: [Ctx, Anything, Anything, Anything, N], ret: Ret::Integer, since: (4, 17), avail: &[((4, 17), 0x0)] },
    Proto { id: 64, name: "bind", args: [Ctx, Mem, Size, N, N], ret: Ret::Integer, since: (4, 17), avail: &[((4, 17), 0x40000)] },
    Proto { id: 65, name: "xdp_adjust_tail", args: [Ctx, Anything, N, N, N], ret: Ret::Integer, since: (4, 18), avail: &[((4, 18), 0x40)] },
    Proto { id: 66, name: "skb_get_xfrm_state", args: [Ctx, Anything, UninitMem, Size, Anything], ret: Ret::Integer, since: (4, 18), avail: &[((4, 18), 0x18)] },
    Proto { id: 67, name: "get_stack", args: [Ctx, UninitMem, SizeOrZero, Anything, N], ret: Ret::Integer, since: (4, 18), avail: &[((4, 18), 0x250200a4)] },
    Proto { id: 68, name: "skb_load_bytes_relative", args: [Ctx, Anything, UninitMem, Size, Anything], ret: Ret::Integer, since: (4, 18), avail: &[((4, 18), 0x20011a)] },
    Proto { id: 69, name: "fib_lookup", args: [Ctx, Mem, Size, Anything, N], ret: Ret::Integer, since: (4, 18), avail: &[((4, 18), 0x58)] },
    Proto { id: 70, name: "sock_hash_update", args: [Ctx, ConstMapPtr, MapKey, Anything, N], ret: Ret::Integer, since: (4, 18), avail: &[((4, 18), 0x2000)] },
    Proto { id: 73, name: "lwt_push_encap", args: [Ctx, Anything, Mem, N, N], ret: Ret::Integer, since: (4, 18), avail: &[((4, 18), 0x1400)] },
    Proto { id: 74, name: "lwt_seg6_store_bytes", args: [Ctx, Anything, Mem, N, N], ret: Ret::Integer, since: (4, 18), avail: &[((4, 18), 0x0)] },
    Proto { id: 75, name: "lwt_seg6_adjust_srh", args: [Ctx, Anything, Anything, N, N], ret: Ret::Integer, since: (4, 18), avail: &[((4, 18), 0x0)] },
    Proto { id: 76, name: "lwt_seg6_action", args: [Ctx, Anything, Mem, N, N], ret: Ret::Integer, since: (4, 18), avail: &[((4, 18), 0x0)] },
    Proto { id: 79, name: "skb_cgroup_id", args: [Ctx, N, N, N, N], ret: Ret::Integer, since: (4, 18), avail: &[((4, 18), 0x118)] },
    Proto { id: 80, name: "get_current_cgroup_id", args: [N, N, N, N, N], ret: Ret::Integer, since: (4, 18), avail: &[((4, 18), 0x258682a4), ((6, 12), 0x65e6fffe)] },
    Proto { id: 81, name: "get_local_storage", args: [ConstMapPtr, Anything, N, N, N], ret: Ret::MapValue, since: (4, 19), avail: &[((4, 19), 0x84a300)] },
    Proto { id: 82, name: "sk_select_reuseport", args: [Ctx, ConstMapPtr, MapKey, Anything, N], ret: Ret::Integer, since: (4, 19), avail: &[((4, 19), 0x200000)] },
    Proto { id: 83, name: "skb_ancestor_cgroup_id", args: [Ctx, Anything, N, N, N], ret: Ret::Integer, since: (4, 19), avail: &[((4, 19), 0x118)] },
    Proto { id: 84, name: "sk_lookup_tcp", args: [Ctx, Mem, SizeOrZero, Anything, Anything], ret: Ret::Other("RET_PTR_TO_SOCKET_OR_NULL"), since: (4, 20), avail: &[((4, 20), 0x44158)] },
    Proto { id: 85, name: "sk_lookup_udp", args: [Ctx, Mem, SizeOrZero, Anything, Anything], ret: Ret::Other("RET_PTR_TO_SOCKET_OR_NULL"), since: (4, 20), avail: &[((4, 20), 0x44158)] },
    Proto { id: 86, name: "sk_release", args: [Other("ARG_PTR_TO_BTF_ID_SOCK_COMMON | OBJ_RELEASE"), N, N, N, N], ret: Ret::Integer, since: (4, 20), avail: &[((4, 20), 0x40044158)] },
    Proto { id: 87, name: "map_push_elem", args: [ConstMapPtr, MapValue, Anything, N, N], ret: Ret::Integer, since: (4, 20), avail: &[((4, 20), 0x65e6fffe)] },
    Proto { id: 88, name: "map_pop_elem", args: [ConstMapPtr, Other("ARG_PTR_TO_MAP_VALUE | MEM_UNINIT | MEM_WRITE"), N, N, N], ret: Ret::Integer, since: (4, 20), avail: &[((4, 20), 0x65e6fffe)] },
    Proto { id: 89, name: "map_peek_elem", args: [ConstMapPtr, Other("ARG_PTR_TO_MAP_VALUE | MEM_UNINIT | MEM_WRITE"), N, N, N], ret: Ret::Integer, since: (4, 20), avail: &[((4, 20), 0x65e6fffe)] },
    Proto { id: 90, name: "msg_push_data", args: [Ctx, Anything, Anything, Anything, N], ret: Ret::Integer, since: (4, 20), avail: &[((4, 20), 0x0)] },
    Proto { id: 91, name: "msg_pop_data", args: [Ctx, Anything, Anything, Anything, N], ret: Ret::Integer, since: (5, 0), avail: &[((5, 0), 0x0)] },
    Proto { id: 93, name: "spin_lock", args: [Other("ARG_PTR_TO_SPIN_LOCK"), N, N, N, N], ret: Ret::Void, since: (5, 1), avail: &[((5, 1), 0x65e6fffe)] },
    Proto { id: 94, name: "spin_unlock", args: [Other("ARG_PTR_TO_SPIN_LOCK"), N, N, N, N], ret: Ret::Void, since: (5, 1), avail: &[((5, 1), 0x65e6fffe)] },
    Proto { id: 95, name: "sk_fullsock", args: [Other("ARG_PTR_TO_SOCK_COMMON"), N, N, N, N], ret: Ret::Other("RET_PTR_TO_SOCKET_OR_NULL"), since: (5, 1), avail: &[((5, 1), 0x118)] },
    Proto { id: 96, name: "tcp_sock", args: [Other("ARG_PTR_TO_SOCK_COMMON"), N, N, N, N], ret: Ret::Other("RET_PTR_TO_TCP_SOCK_OR_NULL"), since: (5, 1), avail: &[((5, 1), 0x2118)] },
    Proto { id: 97, name: "skb_ecn_set_ce", args: [Ctx, N, N, N, N], ret: Ret::Integer, since: (5, 1), avail: &[((5, 1), 0x118)] },
    Proto { id: 98, name: "get_listener_sock", args: [Other("ARG_PTR_TO_SOCK_COMMON"), N, N, N, N], ret: Ret::Other("RET_PTR_TO_SOCKET_OR_NULL"), since: (5, 1), avail: &[((5, 1), 0x118)] },
    Proto { id: 99, name: "skc_lookup_tcp", args: [Ctx, Mem, SizeOrZero, Anything, Anything], ret: Ret::Other("RET_PTR_TO_SOCK_COMMON_OR_NULL"), since: (5, 2), avail: &[((5, 2), 0x44158)] },
    Proto { id: 100, name: "tcp_check_syncookie", args: [Other("ARG_PTR_TO_BTF_ID_SOCK_COMMON"), Mem, Size, Mem, Size], ret: Ret::Integer, since: (5, 2), avail: &[((5, 2), 0x58)] },
    Proto { id: 101, name: "sysctl_get_name", args: [Ctx, Mem, Size, Anything, N], ret: Ret::Integer, since: (5, 2), avail: &[((5, 2), 0x800000)] },
    Proto { id: 102, name: "sysctl_get_current_value", args: [Ctx, UninitMem, Size, N, N], ret: Ret::Integer, since: (5, 2), avail: &[((5, 2), 0x800000)] },
    Proto { id: 103, name: "sysctl_get_new_value", args: [Ctx, UninitMem, Size, N, N], ret: Ret::Integer, since: (5, 2), avail: &[((5, 2), 0x800000)] },
    Proto { id: 104, name: "sysctl_set_new_value", args: [Ctx, Mem, Size, N, N], ret: Ret::Integer, since: (5, 2), avail: &[((5, 2), 0x800000)] },
    Proto { id: 105, name: "strtol", args: [Mem, Size, Anything, FixedWriteMem(8), N], ret: Ret::Integer, since: (5, 2), avail: &[((5, 2), 0x65e6fffe)] },
    Proto { id: 106, name: "strtoul", args: [Mem, Size, Anything, FixedWriteMem(8), N], ret: Ret::Integer, since: (5, 2), avail: &[((5, 2), 0x65e6fffe)] },
    Proto { id: 107, name: "sk_storage_get", args: [ConstMapPtr, Other("ARG_PTR_TO_BTF_ID_SOCK_COMMON"), Other("ARG_PTR_TO_MAP_VALUE_OR_NULL"), Anything, N], ret: Ret::MapValueOrNull, since: (5, 2), avail: &[((5, 2), 0x20042318)] },
    Proto { id: 108, name: "sk_storage_delete", args: [ConstMapPtr, Other("ARG_PTR_TO_BTF_ID_SOCK_COMMON"), N, N, N], ret: Ret::Integer, since: (5, 2), avail: &[((5, 2), 0x20042118)] },
    Proto { id: 109, name: "send_signal", args: [Anything, N, N, N, N], ret: Ret::Integer, since: (5, 3), avail: &[((5, 3), 0x250200a4), ((6, 18), 0x65e6fffe)] },
    Proto { id: 110, name: "tcp_gen_syncookie", args: [Other("ARG_PTR_TO_BTF_ID_SOCK_COMMON"), Mem, Size, Mem, Size], ret: Ret::Integer, since: (5, 3), avail: &[((5, 3), 0x58)] },
    Proto { id: 111, name: "skb_output", args: [Other("ARG_PTR_TO_BTF_ID"), ConstMapPtr, Anything, Mem, SizeOrZero], ret: Ret::Integer, since: (5, 5), avail: &[((5, 5), 0x0)] },
    Proto { id: 112, name: "probe_read_user", args: [UninitMem, SizeOrZero, Anything, N, N], ret: Ret::Integer, since: (5, 5), avail: &[((5, 5), 0x65e6fffe)] },
    Proto { id: 113, name: "probe_read_kernel", args: [UninitMem, SizeOrZero, Anything, N, N], ret: Ret::Integer, since: (5, 5), avail: &[((5, 5), 0x65e6fffe)] },
    Proto { id: 114, name: "probe_read_user_str", args: [UninitMem, SizeOrZero, Anything, N, N], ret: Ret::Integer, since: (5, 5), avail: &[((5, 5), 0x65e6fffe)] },
    Proto { id: 115, name: "probe_read_kernel_str", args: [UninitMem, SizeOrZero, Anything, N, N], ret: Ret::Integer, since: (5, 5), avail: &[((5, 5), 0x65e6fffe)] },
    Proto { id: 117, name: "send_signal_thread", args: [Anything, N, N, N, N], ret: Ret::Integer, since: (5, 5), avail: &[((5, 5), 0x250200a4), ((6, 18), 0x65e6fffe)] },
    Proto { id: 118, name: "jiffies64", args: [N, N, N, N, N], ret: Ret::Integer, since: (5, 5), avail: &[((5, 5), 0x65e6fffe)] },
    Proto { id: 119, name: "read_branch_records", args: [Ctx, Other("ARG_PTR_TO_MEM_OR_NULL"), SizeOrZero, Anything, N], ret: Ret::Integer, since: (5, 6), avail: &[((5, 6), 0x80)] },
    Proto { id: 120, name: "get_ns_current_pid_tgid", args: [Anything, Anything, UninitMem, Size, N], ret: Ret::Integer, since: (5, 7), avail: &[((5, 7), 0x250200a4), ((6, 10), 0x65e6fffe)] },
    Proto { id: 121, name: "xdp_output", args: [Other("ARG_PTR_TO_BTF_ID"), ConstMapPtr, Anything, Mem, SizeOrZero], ret: Ret::Integer, since: (5, 6), avail: &[((5, 6), 0x0)] },
    Proto { id: 122, name: "get_netns_cookie", args: [Other("ARG_PTR_TO_CTX_OR_NULL"), N, N, N, N], ret: Ret::Integer, since: (5, 7), avail: &[((5, 7), 0x42200), ((6, 18), 0x4231a)] },
    Proto { id: 123, name: "get_current_ancestor_cgroup_id", args: [Anything, N, N, N, N], ret: Ret::Integer, since: (5, 7), avail: &[((5, 7), 0x258682a4), ((6, 12), 0x65e6fffe)] },
    Proto { id: 124, name: "sk_assign", args: [Ctx, Other("ARG_PTR_TO_BTF_ID_SOCK_COMMON"), Anything, N, N], ret: Ret::Integer, since: (5, 7), avail: &[((5, 7), 0x18)] },
    Proto { id: 125, name: "ktime_get_boot_ns", args: [N, N, N, N, N], ret: Ret::Integer, since: (5, 8), avail: &[((5, 8), 0x65e6fffe)] },
    Proto { id: 126, name: "seq_printf", args: [Other("ARG_PTR_TO_BTF_ID"), Mem, Size, MemOrNull, SizeOrZero], ret: Ret::Integer, since: (5, 7), avail: &[((5, 7), 0x0)] },
    Proto { id: 127, name: "seq_write", args: [Other("ARG_PTR_TO_BTF_ID"), Mem, SizeOrZero, N, N], ret: Ret::Integer, since: (5, 7), avail: &[((5, 7), 0x0)] },
    Proto { id: 128, name: "sk_cgroup_id", args: [Other("ARG_PTR_TO_BTF_ID_SOCK_COMMON"), N, N, N, N], ret: Ret::Integer, since: (5, 8), avail: &[((5, 8), 0x100)] },
    Proto { id: 129, name: "sk_ancestor_cgroup_id", args: [Other("ARG_PTR_TO_BTF_ID_SOCK_COMMON"), Anything, N, N, N], ret: Ret::Integer, since: (5, 8), avail: &[((5, 8), 0x100)] },
    Proto { id: 130, name: "ringbuf_output", args: [ConstMapPtr, Mem, SizeOrZero, Anything, N], ret: Ret::Integer, since: (5, 8), avail: &[((5, 8), 0x65e6fffe)] },
    Proto { id: 131, name: "ringbuf_reserve", args: [ConstMapPtr, ConstAllocSize, Anything, N, N], ret: Ret::AllocMemOrNull, since: (5, 8), avail: &[((5, 8), 0x65e6fffe)] },
    Proto { id: 132, name: "ringbuf_submit", args: [AllocMem, Anything, N, N, N], ret: Ret::Void, since: (5, 8), avail: &[((5, 8), 0x65e6fffe)] },
    Proto { id: 133, name: "ringbuf_discard", args: [AllocMem, Anything, N, N, N], ret: Ret::Void, since: (5, 8), avail: &[((5, 8), 0x65e6fffe)] },
    Proto { id: 134, name: "ringbuf_query", args: [ConstMapPtr, Anything, N, N, N], ret: Ret::Integer, since: (5, 8), avail: &[((5, 8), 0x65e6fffe)] },
    Proto { id: 135, name: "csum_level", args: [Ctx, Anything, N, N, N], ret: Ret::Integer, since: (5, 8), avail: &[((5, 8), 0x1018)] },
    Proto { id: 136, name: "skc_to_tcp6_sock", args: [Other("ARG_PTR_TO_BTF_ID_SOCK_COMMON"), N, N, N, N], ret: Ret::Other("RET_PTR_TO_BTF_ID_OR_NULL"), since: (5, 9), avail: &[((5, 9), 0x40447d5a)] },
    Proto { id: 137, name: "skc_to_tcp_sock", args: [Other("ARG_PTR_TO_BTF_ID_SOCK_COMMON"), N, N, N, N], ret: Ret::Other("RET_PTR_TO_BTF_ID_OR_NULL"), since: (5, 9), avail: &[((5, 9), 0x40447d5a)] },
    Proto { id: 138, name: "skc_to_tcp_timewait_sock", args: [Other("ARG_PTR_TO_BTF_ID_SOCK_COMMON"), N, N, N, N], ret: Ret::Other("RET_PTR_TO_BTF_ID_OR_NULL"), since: (5, 9), avail: &[((5, 9), 0x40447d5a)] },
    Proto { id: 139, name: "skc_to_tcp_request_sock", args: [Other("ARG_PTR_TO_BTF_ID_SOCK_COMMON"), N, N, N, N], ret: Ret::Other("RET_PTR_TO_BTF_ID_OR_NULL"), since: (5, 9), avail: &[((5, 9), 0x40447d5a)] },
    Proto { id: 140, name: "skc_to_udp6_sock", args: [Other("ARG_PTR_TO_BTF_ID_SOCK_COMMON"), N, N, N, N], ret: Ret::Other("RET_PTR_TO_BTF_ID_OR_NULL"), since: (5, 9), avail: &[((5, 9), 0x40447d5a)] },
    Proto { id: 141, name: "get_task_stack", args: [Other("ARG_PTR_TO_BTF_ID"), UninitMem, SizeOrZero, Anything, N], ret: Ret::Integer, since: (5, 9), avail: &[((5, 9), 0x250200a4), ((6, 18), 0x65e6fffe)] },
    Proto { id: 142, name: "load_hdr_opt", args: [Ctx, UninitMem, Size, Anything, N], ret: Ret::Integer, since: (5, 10), avail: &[((5, 10), 0x2000)] },
    Proto { id: 143, name: "store_hdr_opt", args: [Ctx, Mem, Size, Anything, N], ret: Ret::Integer, since: (5, 10), avail: &[((5, 10), 0x2000)] },
    Proto { id: 144, name: "reserve_hdr_opt", args: [Ctx, Anything, Anything, N, N], ret: Ret::Integer, since: (5, 10), avail: &[((5, 10), 0x2000)] },
    Proto { id: 145, name: "inode_storage_get", args: [ConstMapPtr, Other("ARG_PTR_TO_BTF_ID_OR_NULL"), Other("ARG_PTR_TO_MAP_VALUE_OR_NULL"), Anything, N], ret: Ret::MapValueOrNull, since: (5, 10), avail: &[((5, 10), 0x20000000)] },
    Proto { id: 146, name: "inode_storage_delete", args: [ConstMapPtr, Other("ARG_PTR_TO_BTF_ID_OR_NULL"), N, N, N], ret: Ret::Integer, since: (5, 10), avail: &[((5, 10), 0x20000000)] },
    Proto { id: 147, name: "d_path", args: [Other("ARG_PTR_TO_BTF_ID"), Mem, SizeOrZero, N, N], ret: Ret::Integer, since: (5, 10), avail: &[((5, 10), 0x0)] },
    Proto { id: 148, name: "copy_from_user", args: [UninitMem, SizeOrZero, Anything, N, N], ret: Ret::Integer, since: (5, 10), avail: &[((5, 10), 0x250200a4), ((6, 18), 0x65e6fffe)] },
    Proto { id: 149, name: "snprintf_btf", args: [Mem, Size, Mem, Size, Anything], ret: Ret::Integer, since: (5, 10), avail: &[((5, 10), 0x65e6fffe)] },
    Proto { id: 150, name: "seq_printf_btf", args: [Other("ARG_PTR_TO_BTF_ID"), Mem, SizeOrZero, Anything, N], ret: Ret::Integer, since: (5, 10), avail: &[((5, 10), 0x0)] },
    Proto { id: 151, name: "skb_cgroup_classid", args: [Ctx, N, N, N, N], ret: Ret::Integer, since: (5, 10), avail: &[((5, 10), 0x18)] },
    Proto { id: 152, name: "redirect_neigh", args: [Anything, MemOrNull, SizeOrZero, Anything, N], ret: Ret::Integer, since: (5, 10), avail: &[((5, 10), 0x18)] },
    Proto { id: 153, name: "per_cpu_ptr", args: [Other("ARG_PTR_TO_PERCPU_BTF_ID"), Anything, N, N, N], ret: Ret::Other("RET_PTR_TO_MEM_OR_BTF_ID | PTR_MAYBE_NULL | MEM_RDONLY"), since: (5, 10), avail: &[((5, 10), 0x65e6fffe)] },
    Proto { id: 154, name: "this_cpu_ptr", args: [Other("ARG_PTR_TO_PERCPU_BTF_ID"), N, N, N, N], ret: Ret::Other("RET_PTR_TO_MEM_OR_BTF_ID | MEM_RDONLY"), since: (5, 10), avail: &[((5, 10), 0x65e6fffe)] },
    Proto { id: 155, name: "redirect_peer", args: [Anything, Anything, N, N, N], ret: Ret::Integer, since: (5, 10), avail: &[((5, 10), 0x18)] },
    Proto { id: 156, name: "task_storage_get", args: [ConstMapPtr, Other("ARG_PTR_TO_BTF_ID_OR_NULL"), Other("ARG_PTR_TO_MAP_VALUE_OR_NULL"), Anything, N], ret: Ret::MapValueOrNull, since: (5, 11), avail: &[((5, 11), 0x250200a4), ((6, 18), 0x65e6fffe)] },
    Proto { id: 157, name: "task_storage_delete", args: [ConstMapPtr, Other("ARG_PTR_TO_BTF_ID_OR_NULL"), N, N, N], ret: Ret::Integer, since: (5, 11), avail: &[((5, 11), 0x250200a4), ((6, 18), 0x65e6fffe)] },
    Proto { id: 158, name: "get_current_task_btf", args: [N, N, N, N, N], ret: Ret::Other("RET_PTR_TO_BTF_ID_TRUSTED"), since: (5, 11), avail: &[((5, 11), 0x65e6fffe)] },
    Proto { id: 159, name: "bprm_opts_set", args: [Other("ARG_PTR_TO_BTF_ID"), Anything, N, N, N], ret: Ret::Integer, since: (5, 11), avail: &[((5, 11), 0x20000000)] },
    Proto { id: 160, name: "ktime_get_coarse_ns", args: [N, N, N, N, N], ret: Ret::Integer, since: (5, 11), avail: &[((5, 11), 0x40e47f5a)] },
    Proto { id: 161, name: "ima_inode_hash", args: [Other("ARG_PTR_TO_BTF_ID"), UninitMem, Size, N, N], ret: Ret::Integer, since: (5, 11), avail: &[((5, 11), 0x20000000)] },
    Proto { id: 162, name: "sock_from_file", args: [Other("ARG_PTR_TO_BTF_ID"), N, N, N, N], ret: Ret::Other("RET_PTR_TO_BTF_ID_OR_NULL"), since: (5, 11), avail: &[((5, 11), 0x0)] },
    Proto { id: 163, name: "check_mtu", args: [Ctx, Anything, FixedInOutMem(4), Anything, Anything], ret: Ret::Integer, since: (5, 12), avail: &[((5, 12), 0x58)] },
    Proto { id: 164, name: "for_each_map_elem", args: [ConstMapPtr, Func, StackOrNull, Scalar, N], ret: Ret::Integer, since: (5, 13), avail: &[((5, 13), 0x65e6fffe)] },
    Proto { id: 165, name: "snprintf", args: [Other("ARG_PTR_TO_MEM_OR_NULL"), SizeOrZero, Other("ARG_PTR_TO_CONST_STR"), MemOrNull, SizeOrZero], ret: Ret::Integer, since: (5, 13), avail: &[((5, 13), 0x65e6fffe)] },
    Proto { id: 166, name: "sys_bpf", args: [Anything, Mem, Size, N, N], ret: Ret::Integer, since: (5, 14), avail: &[((5, 14), 0x0)] },
    Proto { id: 167, name: "btf_find_by_name_kind", args: [Mem, Size, Anything, Anything, N], ret: Ret::Integer, since: (5, 14), avail: &[((5, 14), 0x0)] },
    Proto { id: 168, name: "sys_close", args: [Anything, N, N, N, N], ret: Ret::Integer, since: (5, 14), avail: &[((5, 14), 0x0)] },
    Proto { id: 169, name: "timer_init", args: [Other("ARG_PTR_TO_TIMER"), ConstMapPtr, Anything, N, N], ret: Ret::Integer, since: (5, 15), avail: &[((5, 15), 0x65e6fffe)] },
    Proto { id: 170, name: "timer_set_callback", args: [Other("ARG_PTR_TO_TIMER"), Other("ARG_PTR_TO_FUNC"), N, N, N], ret: Ret::Integer, since: (5, 15), avail: &[((5, 15), 0x65e6fffe)] },
    Proto { id: 171, name: "timer_start", args: [Other("ARG_PTR_TO_TIMER"), Anything, Anything, N, N], ret: Ret::Integer, since: (5, 15), avail: &[((5, 15), 0x65e6fffe)] },
    Proto { id: 172, name: "timer_cancel", args: [Other("ARG_PTR_TO_TIMER"), N, N, N, N], ret: Ret::Integer, since: (5, 15), avail: &[((5, 15), 0x65e6fffe)] },
    Proto { id: 173, name: "get_func_ip", args: [Ctx, N, N, N, N], ret: Ret::Integer, since: (5, 15), avail: &[((5, 15), 0x250200a4)] },
    Proto { id: 174, name: "get_attach_cookie", args: [Ctx, N, N, N, N], ret: Ret::Integer, since: (5, 15), avail: &[((5, 15), 0x200000a4), ((6, 10), 0x250200a4)] },
    Proto { id: 175, name: "task_pt_regs", args: [Other("ARG_PTR_TO_BTF_ID"), N, N, N, N], ret: Ret::Other("RET_PTR_TO_BTF_ID"), since: (5, 15), avail: &[((5, 15), 0x65e6fffe)] },
    Proto { id: 176, name: "get_branch_snapshot", args: [UninitMem, SizeOrZero, N, N, N], ret: Ret::Integer, since: (5, 16), avail: &[((5, 16), 0x250200a4), ((6, 18), 0x65e6fffe)] },
    Proto { id: 177, name: "trace_vprintk", args: [Mem, Size, MemOrNull, SizeOrZero, N], ret: Ret::Integer, since: (5, 16), avail: &[((5, 16), 0x65e6fffe)] },
    Proto { id: 178, name: "skc_to_unix_sock", args: [Other("ARG_PTR_TO_BTF_ID_SOCK_COMMON"), N, N, N, N], ret: Ret::Other("RET_PTR_TO_BTF_ID_OR_NULL"), since: (5, 16), avail: &[((5, 16), 0x40447d5a)] },
    Proto { id: 179, name: "kallsyms_lookup_name", args: [Mem, SizeOrZero, Anything, FixedWriteMem(8), N], ret: Ret::Integer, since: (5, 16), avail: &[((5, 16), 0x0)] },
    Proto { id: 180, name: "find_vma", args: [Other("ARG_PTR_TO_BTF_ID"), Anything, Other("ARG_PTR_TO_FUNC"), Other("ARG_PTR_TO_STACK_OR_NULL"), Anything], ret: Ret::Integer, since: (5, 17), avail: &[((5, 17), 0x250200a4), ((6, 18), 0x65e6fffe)] },
    Proto { id: 181, name: "loop", args: [Scalar, Func, StackOrNull, Scalar, N], ret: Ret::Integer, since: (5, 17), avail: &[((5, 17), 0x65e6fffe)] },
    Proto { id: 182, name: "strncmp", args: [Mem, Size, Other("ARG_PTR_TO_CONST_STR"), N, N], ret: Ret::Integer, since: (5, 17), avail: &[((5, 17), 0x65e6fffe)] },
    Proto { id: 183, name: "get_func_arg", args: [Ctx, Anything, FixedWriteMem(8), N, N], ret: Ret::Integer, since: (5, 17), avail: &[((5, 17), 0x0)] },
    Proto { id: 184, name: "get_func_ret", args: [Ctx, FixedWriteMem(8), N, N, N], ret: Ret::Integer, since: (5, 17), avail: &[((5, 17), 0x0)] },
    Proto { id: 185, name: "get_func_arg_cnt", args: [Ctx, N, N, N, N], ret: Ret::Integer, since: (5, 17), avail: &[((5, 17), 0x0)] },
    Proto { id: 186, name: "get_retval", args: [N, N, N, N, N], ret: Ret::Integer, since: (5, 18), avail: &[((5, 18), 0x40200)] },
    Proto { id: 187, name: "set_retval", args: [Anything, N, N, N, N], ret: Ret::Integer, since: (5, 18), avail: &[((5, 18), 0x40200)] },
    Proto { id: 188, name: "xdp_get_buff_len", args: [Ctx, N, N, N, N], ret: Ret::Integer, since: (5, 18), avail: &[((5, 18), 0x40)] },
    Proto { id: 189, name: "xdp_load_bytes", args: [Ctx, Anything, UninitMem, Size, N], ret: Ret::Integer, since: (5, 18), avail: &[((5, 18), 0x40)] },
    Proto { id: 190, name: "xdp_store_bytes", args: [Ctx, Anything, Mem, Size, N], ret: Ret::Integer, since: (5, 18), avail: &[((5, 18), 0x40)] },
    Proto { id: 191, name: "copy_from_user_task", args: [UninitMem, SizeOrZero, Anything, Other("ARG_PTR_TO_BTF_ID"), N], ret: Ret::Integer, since: (5, 18), avail: &[((5, 18), 0x250200a4), ((6, 18), 0x65e6fffe)] },
    Proto { id: 192, name: "skb_set_tstamp", args: [Ctx, Anything, Anything, N, N], ret: Ret::Integer, since: (5, 18), avail: &[((5, 18), 0x18)] },
    Proto { id: 193, name: "ima_file_hash", args: [Other("ARG_PTR_TO_BTF_ID"), UninitMem, Size, N, N], ret: Ret::Integer, since: (5, 18), avail: &[((5, 18), 0x20000000)] },
    Proto { id: 194, name: "kptr_xchg", args: [Other("ARG_KPTR_XCHG_DEST"), Other("ARG_PTR_TO_BTF_ID_OR_NULL | OBJ_RELEASE"), N, N, N], ret: Ret::Other("RET_PTR_TO_BTF_ID_OR_NULL"), since: (5, 19), avail: &[((5, 19), 0x65e6fffe)] },
    Proto { id: 195, name: "map_lookup_percpu_elem", args: [ConstMapPtr, MapKey, Anything, N, N], ret: Ret::MapValueOrNull, since: (5, 19), avail: &[((5, 19), 0x65e6fffe)] },
    Proto { id: 196, name: "skc_to_mptcp_sock", args: [Other("ARG_PTR_TO_SOCK_COMMON"), N, N, N, N], ret: Ret::Other("RET_PTR_TO_BTF_ID_OR_NULL"), since: (5, 19), avail: &[((5, 19), 0x40447d5a)] },
    Proto { id: 197, name: "dynptr_from_mem", args: [UninitMem, SizeOrZero, Anything, Other("ARG_PTR_TO_DYNPTR | DYNPTR_TYPE_LOCAL | MEM_UNINIT | MEM_WRITE"), N], ret: Ret::Integer, since: (5, 19), avail: &[((5, 19), 0x65e6fffe)] },
    Proto { id: 198, name: "ringbuf_reserve_dynptr", args: [ConstMapPtr, Anything, Anything, Other("ARG_PTR_TO_DYNPTR | DYNPTR_TYPE_RINGBUF | MEM_UNINIT | MEM_WRITE"), N], ret: Ret::Integer, since: (5, 19), avail: &[((5, 19), 0x65e6fffe)] },
    Proto { id: 199, name: "ringbuf_submit_dynptr", args: [Other("ARG_PTR_TO_DYNPTR | DYNPTR_TYPE_RINGBUF | OBJ_RELEASE"), Anything, N, N, N], ret: Ret::Void, since: (5, 19), avail: &[((5, 19), 0x65e6fffe)] },
    Proto { id: 200, name: "ringbuf_discard_dynptr", args: [Other("ARG_PTR_TO_DYNPTR | DYNPTR_TYPE_RINGBUF | OBJ_RELEASE"), Anything, N, N, N], ret: Ret::Void, since: (5, 19), avail: &[((5, 19), 0x65e6fffe)] },
    Proto { id: 201, name: "dynptr_read", args: [UninitMem, SizeOrZero, Other("ARG_PTR_TO_DYNPTR | MEM_RDONLY"), Anything, Anything], ret: Ret::Integer, since: (5, 19), avail: &[((5, 19), 0x65e6fffe)] },
    Proto { id: 202, name: "dynptr_write", args: [Other("ARG_PTR_TO_DYNPTR | MEM_RDONLY"), Anything, Mem, SizeOrZero, Anything], ret: Ret::Integer, since: (5, 19), avail: &[((5, 19), 0x65e6fffe)] },
    Proto { id: 203, name: "dynptr_data", args: [Other("ARG_PTR_TO_DYNPTR | MEM_RDONLY"), Anything, ConstAllocSize, N, N], ret: Ret::Other("RET_PTR_TO_DYNPTR_MEM_OR_NULL"), since: (5, 19), avail: &[((5, 19), 0x65e6fffe)] },
    Proto { id: 204, name: "tcp_raw_gen_syncookie_ipv4", args: [Other("ARG_PTR_TO_FIXED_SIZE_MEM"), Mem, SizeOrZero, N, N], ret: Ret::Integer, since: (6, 0), avail: &[((6, 0), 0x58)] },
    Proto { id: 205, name: "tcp_raw_gen_syncookie_ipv6", args: [Other("ARG_PTR_TO_FIXED_SIZE_MEM"), Mem, SizeOrZero, N, N], ret: Ret::Integer, since: (6, 0), avail: &[((6, 0), 0x58)] },
    Proto { id: 206, name: "tcp_raw_check_syncookie_ipv4", args: [Other("ARG_PTR_TO_FIXED_SIZE_MEM"), Other("ARG_PTR_TO_FIXED_SIZE_MEM"), N, N, N], ret: Ret::Integer, since: (6, 0), avail: &[((6, 0), 0x58)] },
    Proto { id: 207, name: "tcp_raw_check_syncookie_ipv6", args: [Other("ARG_PTR_TO_FIXED_SIZE_MEM"), Other("ARG_PTR_TO_FIXED_SIZE_MEM"), N, N, N], ret: Ret::Integer, since: (6, 0), avail: &[((6, 0), 0x58)] },
    Proto { id: 208, name: "ktime_get_tai_ns", args: [N, N, N, N, N], ret: Ret::Integer, since: (6, 1), avail: &[((6, 1), 0x65e6fffe)] },
    Proto { id: 209, name: "user_ringbuf_drain", args: [ConstMapPtr, Other("ARG_PTR_TO_FUNC"), Other("ARG_PTR_TO_STACK_OR_NULL"), Anything, N], ret: Ret::Integer, since: (6, 1), avail: &[((6, 1), 0x65e6fffe)] },
    Proto { id: 210, name: "cgrp_storage_get", args: [ConstMapPtr, Other("ARG_PTR_TO_BTF_ID_OR_NULL"), Other("ARG_PTR_TO_MAP_VALUE_OR_NULL"), Anything, N], ret: Ret::MapValueOrNull, since: (6, 2), avail: &[((6, 2), 0x65e6fffe)] },
    Proto { id: 211, name: "cgrp_storage_delete", args: [ConstMapPtr, Other("ARG_PTR_TO_BTF_ID_OR_NULL"), N, N, N], ret: Ret::Integer, since: (6, 2), avail: &[((6, 2), 0x65e6fffe)] },
    // GENERATED by scripts/bpf-helper-table: end
];

/// Program types (`BPF_PROG_TYPE_*`) this model knows.
pub mod ptype {
    pub const SOCKET_FILTER: u32 = 1;
    pub const KPROBE: u32 = 2;
    pub const SCHED_CLS: u32 = 3;
    pub const SCHED_ACT: u32 = 4;
    pub const TRACEPOINT: u32 = 5;
    pub const XDP: u32 = 6;
    pub const PERF_EVENT: u32 = 7;
    pub const CGROUP_SKB: u32 = 8;
    pub const CGROUP_SOCK: u32 = 9;
    pub const CGROUP_DEVICE: u32 = 15;
    pub const RAW_TRACEPOINT: u32 = 17;
    pub const CGROUP_SYSCTL: u32 = 23;
}

pub fn is_tracing(t: u32) -> bool {
    matches!(
        t,
        ptype::KPROBE | ptype::TRACEPOINT | ptype::PERF_EVENT | ptype::RAW_TRACEPOINT
    )
}

/// Why helper `p` cannot be called from a program of type `t` on `kernel`: `None` when it
/// can.
pub fn unavailable(p: &Proto, t: u32, kernel: &Kernel) -> Option<Unavailable> {
    if !kernel.at_least(p.since) {
        return Some(Unavailable::NotYet(p.since));
    }
    let mask = p
        .avail
        .iter()
        .rev()
        .find(|(v, _)| kernel.at_least(*v))
        .map_or(0, |(_, m)| *m);
    if t < 64 && mask >> t & 1 == 1 {
        return Option::None;
    }
    // A later kernel that offers it to this type, for the hint.
    let later = p
        .avail
        .iter()
        .find(|(v, m)| !kernel.at_least(*v) && t < 64 && m >> t & 1 == 1)
        .map(|(v, _)| *v);
    Some(Unavailable::NotForType { later })
}

/// See [`unavailable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// The kernel predates the helper (it arrived in this release).
    NotYet((u32, u32)),
    /// The kernel does not offer it to this program type (a later release does, if `later`).
    NotForType { later: Option<(u32, u32)> },
}

/// Map types (`BPF_MAP_TYPE_*`) whose values the model knows as plain memory.
pub fn plain_value_map(t: u32) -> bool {
    matches!(t, 1 | 2 | 5 | 6 | 9 | 10 | 11)
}

/// The kernel's `check_map_func_compatibility`, for the helpers and maps modelled here:
/// `Some(reason)` when helper `id` may not take a map of type `t`.
pub fn map_incompatible(id: i32, t: u32) -> Option<&'static str> {
    let needs: Option<&[u32]> = match id {
        12 => Some(&[3]),
        // perf_event_output, perf_event_read, perf_event_read_value, skb_output, xdp_output
        25 | 22 | 55 | 111 | 121 => Some(&[4]),
        27 | 67 => Some(&[7]),
        // ringbuf helpers, ringbuf_reserve_dynptr
        130..=134 | 198 => Some(&[27]),
        // get_local_storage: cgroup storage, per-CPU cgroup storage
        81 => Some(&[19, 21]),
        // redirect_map: devmap, cpumap, xskmap, devmap_hash
        51 => Some(&[14, 16, 17, 25]),
        // sock_map_update: sockmap; sock_hash_update: sockhash; sk_select_reuseport:
        // reuseport_sockarray, sockmap, sockhash.
        53 => Some(&[15]),
        70 => Some(&[18]),
        82 => Some(&[20, 15, 18]),
        // map_lookup_percpu_elem: percpu hash, percpu array, LRU percpu hash
        195 => Some(&[5, 6, 10]),
        1..=3 => Option::None,
        // Other helpers taking a map (queues, sockmaps, storages, cgroup arrays, ...).
        _ => return Some("this helper's map types are not modelled"),
    };
    if let Some(want) = needs {
        return (!want.contains(&t)).then_some("the helper needs a different map type");
    }
    match t {
        3 | 4 | 7 | 14 | 16 | 17 | 19 | 21 | 25 | 27 => {
            Some("this map type only works with its own helpers")
        }
        // Maps of maps: only lookups, which give the inner map (engine/maps.rs).
        12 | 13 if id != 1 => Some("a map of maps only takes bpf_map_lookup_elem"),
        12 | 13 => Option::None,
        _ if matches!(id, 1..=3) && !plain_value_map(t) => {
            Some("map type not modelled for map helpers")
        }
        _ => Option::None,
    }
}

/// Helpers whose `bpf_func_proto` sets `might_sleep`: the kernel refuses them in a program
/// that is not sleepable.
pub fn might_sleep(id: i32) -> bool {
    // copy_from_user, copy_from_user_task, ima_inode_hash, ima_file_hash
    matches!(id, 148 | 191 | 161 | 193)
}

/// Helpers the engine models outside the prototype table (`engine/sock.rs`): socket
/// lookups, release and casts, `bpf_get_netns_cookie`, socket storage.
pub const SOCKET_HELPERS: [i32; 10] = [84, 85, 86, 95, 96, 98, 99, 122, 107, 108];

/// Whether a call of `p` can pass the verifier at all: its argument and return kinds are
/// modelled, and it is not refused for sleeping.
pub fn modelled(p: &Proto) -> bool {
    SOCKET_HELPERS.contains(&p.id)
        || !might_sleep(p.id)
            && !p.args.iter().any(|a| matches!(a, Arg::Other(_)))
            && !matches!(p.ret, Ret::Other(_))
}

pub fn proto(id: i32) -> Option<&'static Proto> {
    PROTOS.iter().find(|p| p.id == id)
}
