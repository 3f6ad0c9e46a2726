//! The socket of a `BPF_PROG_TEST_RUN` skb and the socket helpers.
//!
//! `bpf_prog_test_run_skb` (net/bpf/test_run.c) gives the skb a dummy socket: allocated
//! with `sk_alloc(AF_UNSPEC)` and `sock_init_data(NULL, sk)` (type and protocol 0, state
//! TCP_CLOSE), then `AF_INET` with the packet's IPv4 source and destination as its
//! addresses, or `AF_INET6` with the IPv6 ones. `skb->sk` points at it; here it is a
//! read-only region laid out as `struct bpf_sock` (what the kernel's converted loads read).
//! It is a full socket, not TCP and not listening. Lookups find nothing, as in a fresh
//! network namespace: they return NULL.

use crate::{Memory, RegionKind};

/// `struct bpf_sock`: size, and the offsets the dummy socket fills.
const SIZE: usize = 80;
const FAMILY: usize = 4;
const SRC_IP4: usize = 24;
const SRC_IP6: usize = 28;
const DST_IP4: usize = 52;
const DST_IP6: usize = 56;
const STATE: usize = 72;
const RX_QUEUE_MAPPING: usize = 76;
/// `TCP_CLOSE`.
const TCP_CLOSE: u32 = 7;

/// Build the dummy socket for a packet whose network header starts at `net` of `frame` (the
/// whole frame, Ethernet header first); its address.
pub fn dummy(mem: &mut Memory, frame: &[u8]) -> u64 {
    let mut s = vec![0u8; SIZE];
    let put = |s: &mut Vec<u8>, off: usize, b: &[u8]| s[off..off + b.len()].copy_from_slice(b);
    put(&mut s, STATE, &TCP_CLOSE.to_le_bytes());
    // The socket was never given a receive queue (NO_QUEUE_MAPPING reads as -1).
    put(&mut s, RX_QUEUE_MAPPING, &(-1i32).to_le_bytes());
    let ip = frame.get(14..).unwrap_or_default();
    match frame.get(12..14) {
        Some([0x08, 0x00]) => {
            put(&mut s, FAMILY, &2u32.to_le_bytes());
            if ip.len() >= 20 {
                put(&mut s, SRC_IP4, &ip[12..16]);
                put(&mut s, DST_IP4, &ip[16..20]);
            }
        }
        Some([0x86, 0xdd]) => {
            put(&mut s, FAMILY, &10u32.to_le_bytes());
            if ip.len() >= 40 {
                put(&mut s, SRC_IP6, &ip[8..24]);
                put(&mut s, DST_IP6, &ip[24..40]);
            }
        }
        _ => {}
    }
    mem.add(RegionKind::Socket, s, false)
}

/// Helper ids (`enum bpf_func_id`).
pub mod id {
    pub const SK_LOOKUP_TCP: i64 = 84;
    pub const SK_LOOKUP_UDP: i64 = 85;
    pub const SK_RELEASE: i64 = 86;
    pub const SK_FULLSOCK: i64 = 95;
    pub const TCP_SOCK: i64 = 96;
    pub const GET_LISTENER_SOCK: i64 = 98;
    pub const SKC_LOOKUP_TCP: i64 = 99;
    pub const GET_NETNS_COOKIE: i64 = 122;
    pub const ALL: [i64; 8] = [
        SK_LOOKUP_TCP,
        SK_LOOKUP_UDP,
        SK_RELEASE,
        SK_FULLSOCK,
        TCP_SOCK,
        GET_LISTENER_SOCK,
        SKC_LOOKUP_TCP,
        GET_NETNS_COOKIE,
    ];
}

/// The network namespace's cookie: the kernel's is a counter value that differs from boot
/// to boot; the interpreter's namespace has this one.
pub const NETNS_COOKIE: u64 = 1;

/// A socket helper: lookups find nothing, the dummy socket is full but neither TCP nor a
/// listener, releasing is a no-op.
pub fn helper(hid: i64, a: [u64; 5]) -> u64 {
    match hid {
        id::SK_FULLSOCK => a[0],
        id::GET_NETNS_COOKIE => NETNS_COOKIE,
        _ => 0,
    }
}
