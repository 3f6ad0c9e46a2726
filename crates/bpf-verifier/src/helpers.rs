//! Helper prototypes and which program types may call them, as a current kernel (6.x) does
//! for a privileged loader (CAP_BPF + CAP_PERFMON): `bpf_base_func_proto` for every type,
//! plus the tracing set for kprobe/tracepoint/perf_event/raw_tracepoint/tracing programs and
//! the networking sets for socket, tc and XDP programs.

/// Argument types (a subset of the kernel's `enum bpf_arg_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// Not used.
    None,
    /// Any initialised value.
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
}

/// Return types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    Integer,
    Void,
    MapValueOrNull,
    AllocMemOrNull,
}

pub struct Proto {
    pub id: i32,
    pub name: &'static str,
    pub args: [Arg; 5],
    pub ret: Ret,
    pub set: Set,
}

/// Which program types get a helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Set {
    /// `bpf_base_func_proto`: every program type.
    Base,
    /// Tracing program types only.
    Tracing,
    /// Socket filter, tc, XDP and the other skb-based types.
    Net,
    /// Types whose context is an `__sk_buff` (socket filter, tc, cgroup skb, ...).
    Skb,
    /// tc only (`sched_cls`, `sched_act`).
    Tc,
    /// XDP only.
    Xdp,
}

use Arg::*;

const N: Arg = Arg::None;

pub const PROTOS: &[Proto] = &[
    Proto {
        id: 1,
        name: "map_lookup_elem",
        args: [ConstMapPtr, MapKey, N, N, N],
        ret: Ret::MapValueOrNull,
        set: Set::Base,
    },
    Proto {
        id: 2,
        name: "map_update_elem",
        args: [ConstMapPtr, MapKey, MapValue, Scalar, N],
        ret: Ret::Integer,
        set: Set::Base,
    },
    Proto {
        id: 3,
        name: "map_delete_elem",
        args: [ConstMapPtr, MapKey, N, N, N],
        ret: Ret::Integer,
        set: Set::Base,
    },
    Proto {
        id: 4,
        name: "probe_read",
        args: [UninitMem, SizeOrZero, Anything, N, N],
        ret: Ret::Integer,
        set: Set::Tracing,
    },
    Proto {
        id: 5,
        name: "ktime_get_ns",
        args: [N; 5],
        ret: Ret::Integer,
        set: Set::Base,
    },
    Proto {
        id: 6,
        name: "trace_printk",
        args: [Mem, Size, N, N, N],
        ret: Ret::Integer,
        set: Set::Base,
    },
    Proto {
        id: 7,
        name: "get_prandom_u32",
        args: [N; 5],
        ret: Ret::Integer,
        set: Set::Base,
    },
    Proto {
        id: 8,
        name: "get_smp_processor_id",
        args: [N; 5],
        ret: Ret::Integer,
        set: Set::Base,
    },
    Proto {
        id: 9,
        name: "skb_store_bytes",
        args: [Ctx, Scalar, Mem, Size, Scalar],
        ret: Ret::Integer,
        set: Set::Tc,
    },
    Proto {
        id: 10,
        name: "l3_csum_replace",
        args: [Ctx, Anything, Anything, Anything, Anything],
        ret: Ret::Integer,
        set: Set::Tc,
    },
    Proto {
        id: 11,
        name: "l4_csum_replace",
        args: [Ctx, Anything, Anything, Anything, Anything],
        ret: Ret::Integer,
        set: Set::Tc,
    },
    Proto {
        id: 14,
        name: "get_current_pid_tgid",
        args: [N; 5],
        ret: Ret::Integer,
        set: Set::Base,
    },
    Proto {
        id: 15,
        name: "get_current_uid_gid",
        args: [N; 5],
        ret: Ret::Integer,
        set: Set::Base,
    },
    Proto {
        id: 16,
        name: "get_current_comm",
        args: [UninitMem, Size, N, N, N],
        ret: Ret::Integer,
        set: Set::Base,
    },
    Proto {
        id: 26,
        name: "skb_load_bytes",
        args: [Ctx, Scalar, UninitMem, Size, N],
        ret: Ret::Integer,
        set: Set::Skb,
    },
    Proto {
        id: 47,
        name: "get_socket_uid",
        args: [Ctx, N, N, N, N],
        ret: Ret::Integer,
        set: Set::Skb,
    },
    Proto {
        id: 68,
        name: "skb_load_bytes_relative",
        args: [Ctx, Anything, UninitMem, Size, Anything],
        ret: Ret::Integer,
        set: Set::Skb,
    },
    Proto {
        id: 35,
        name: "get_current_task",
        args: [N; 5],
        ret: Ret::Integer,
        set: Set::Base,
    },
    Proto {
        id: 112,
        name: "probe_read_user",
        args: [UninitMem, SizeOrZero, Anything, N, N],
        ret: Ret::Integer,
        set: Set::Base,
    },
    Proto {
        id: 113,
        name: "probe_read_kernel",
        args: [UninitMem, SizeOrZero, Anything, N, N],
        ret: Ret::Integer,
        set: Set::Base,
    },
    Proto {
        id: 114,
        name: "probe_read_user_str",
        args: [UninitMem, SizeOrZero, Anything, N, N],
        ret: Ret::Integer,
        set: Set::Base,
    },
    Proto {
        id: 115,
        name: "probe_read_kernel_str",
        args: [UninitMem, SizeOrZero, Anything, N, N],
        ret: Ret::Integer,
        set: Set::Base,
    },
    Proto {
        id: 125,
        name: "ktime_get_boot_ns",
        args: [N; 5],
        ret: Ret::Integer,
        set: Set::Base,
    },
    Proto {
        id: 130,
        name: "ringbuf_output",
        args: [ConstMapPtr, Mem, SizeOrZero, Scalar, N],
        ret: Ret::Integer,
        set: Set::Base,
    },
    Proto {
        id: 131,
        name: "ringbuf_reserve",
        args: [ConstMapPtr, ConstAllocSize, Scalar, N, N],
        ret: Ret::AllocMemOrNull,
        set: Set::Base,
    },
    Proto {
        id: 132,
        name: "ringbuf_submit",
        args: [AllocMem, Scalar, N, N, N],
        ret: Ret::Void,
        set: Set::Base,
    },
    Proto {
        id: 133,
        name: "ringbuf_discard",
        args: [AllocMem, Scalar, N, N, N],
        ret: Ret::Void,
        set: Set::Base,
    },
    Proto {
        id: 12,
        name: "tail_call",
        args: [Ctx, ConstMapPtr, Scalar, N, N],
        ret: Ret::Integer,
        set: Set::Base,
    },
    Proto {
        id: 25,
        name: "perf_event_output",
        args: [Ctx, ConstMapPtr, Scalar, Mem, SizeOrZero],
        ret: Ret::Integer,
        set: Set::Base,
    },
    Proto {
        id: 27,
        name: "get_stackid",
        args: [Ctx, ConstMapPtr, Scalar, N, N],
        ret: Ret::Integer,
        set: Set::Tracing,
    },
    Proto {
        id: 51,
        name: "redirect_map",
        args: [ConstMapPtr, Scalar, Scalar, N, N],
        ret: Ret::Integer,
        set: Set::Xdp,
    },
    Proto {
        id: 23,
        name: "redirect",
        args: [Scalar, Scalar, N, N, N],
        ret: Ret::Integer,
        set: Set::Net,
    },
    // Helpers that call back a function of the program (the engine verifies the callback).
    Proto {
        id: 164,
        name: "for_each_map_elem",
        args: [ConstMapPtr, Func, StackOrNull, Scalar, N],
        ret: Ret::Integer,
        set: Set::Base,
    },
    Proto {
        id: 181,
        name: "loop",
        args: [Scalar, Func, StackOrNull, Scalar, N],
        ret: Ret::Integer,
        set: Set::Base,
    },
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
    pub const RAW_TRACEPOINT: u32 = 17;
}

pub fn is_tracing(t: u32) -> bool {
    matches!(
        t,
        ptype::KPROBE | ptype::TRACEPOINT | ptype::PERF_EVENT | ptype::RAW_TRACEPOINT
    )
}

pub fn allowed(p: &Proto, t: u32) -> bool {
    match p.set {
        Set::Base => true,
        Set::Tracing => is_tracing(t),
        Set::Net => matches!(t, ptype::SCHED_CLS | ptype::SCHED_ACT | ptype::XDP),
        Set::Skb => matches!(
            t,
            ptype::SOCKET_FILTER | ptype::SCHED_CLS | ptype::SCHED_ACT | ptype::CGROUP_SKB
        ),
        Set::Tc => matches!(t, ptype::SCHED_CLS | ptype::SCHED_ACT),
        Set::Xdp => t == ptype::XDP,
    }
}

/// Map types (`BPF_MAP_TYPE_*`) whose values the model knows as plain memory.
pub fn plain_value_map(t: u32) -> bool {
    matches!(t, 1 | 2 | 5 | 6 | 9 | 10 | 11)
}

/// The kernel's `check_map_func_compatibility`, for the helpers and maps modelled here:
/// `Some(reason)` when helper `id` may not take a map of type `t`.
pub fn map_incompatible(id: i32, t: u32) -> Option<&'static str> {
    let needs = match id {
        12 => Some(3),
        25 => Some(4),
        27 => Some(7),
        130..=133 => Some(27),
        _ => Option::None,
    };
    if let Some(want) = needs {
        return (t != want).then_some("the helper needs a different map type");
    }
    match t {
        3 | 4 | 7 | 27 => Some("this map type only works with its own helpers"),
        _ if matches!(id, 1..=3) && !plain_value_map(t) => {
            Some("map type not modelled for map helpers")
        }
        _ => Option::None,
    }
}

pub fn proto(id: i32) -> Option<&'static Proto> {
    PROTOS.iter().find(|p| p.id == id)
}
