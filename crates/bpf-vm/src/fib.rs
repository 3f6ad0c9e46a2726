//! `bpf_fib_lookup` in the interpreter's network: a fresh network namespace, where only
//! the loopback device (ifindex 1) exists and forwarding is off, so a lookup never finds a
//! route. The answers are the kernel's (`net/core/filter.c`, Linux 6.18) for that
//! namespace: argument errors, `-ENODEV` for a missing device, and
//! `BPF_FIB_LKUP_RET_FWD_DISABLED` or `_NOT_FWDED` before any route is looked up.

use crate::{Memory, VmError};

const EINVAL: i64 = 22;
const ENODEV: i64 = 19;
const EAFNOSUPPORT: i64 = 97;
/// `BPF_FIB_LKUP_RET_FWD_DISABLED`, `BPF_FIB_LKUP_RET_NOT_FWDED` (uapi enum values 5 and 4;
/// 3 is `_PROHIBIT`, as the host's tc test run shows: tests/data/bpf_run/tc_fib_lookup.s).
const FWD_DISABLED: u64 = 5;
const NOT_FWDED: u64 = 4;
/// `sizeof(struct bpf_fib_lookup)`.
pub const PARAMS_SIZE: u64 = 64;
/// `BPF_FIB_LOOKUP_{DIRECT,OUTPUT,SKIP_NEIGH,TBID,SRC,MARK}`.
const FLAGS: u64 = 0x3f;

/// `bpf_fib_lookup(ctx, params, plen, flags)` (XDP and tc answer alike here).
pub fn lookup(pc: usize, mem: &Memory, a: [u64; 5]) -> Result<u64, VmError> {
    let plen = a[2] as i32;
    if (plen as i64) < PARAMS_SIZE as i64 || a[3] as u32 as u64 & !FLAGS != 0 {
        return Ok((-EINVAL) as u64);
    }
    let p = mem
        .slice(a[1], PARAMS_SIZE as usize)
        .ok_or_else(|| crate::oob(pc, a[1], PARAMS_SIZE as usize, "helper read"))?;
    let ifindex = u32::from_le_bytes([p[8], p[9], p[10], p[11]]);
    let device = || {
        if ifindex == 1 {
            FWD_DISABLED
        } else {
            (-ENODEV) as u64
        }
    };
    Ok(match p[0] {
        // AF_INET
        2 => device(),
        // AF_INET6: link-local, multicast and loopback addresses are never forwarded.
        10 => {
            let strict = |a: &[u8]| {
                a[0] == 0xff
                    || (a[0] == 0xfe && a[1] & 0xc0 == 0x80)
                    || a[..15].iter().all(|&b| b == 0) && a[15] == 1
            };
            if strict(&p[32..48]) || strict(&p[16..32]) {
                NOT_FWDED
            } else {
                device()
            }
        }
        _ => (-EAFNOSUPPORT) as u64,
    })
}
