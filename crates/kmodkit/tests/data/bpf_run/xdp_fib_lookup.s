# type: xdp
# bpf_fib_lookup where forwarding is off: loopback (ifindex 1) gives FWD_DISABLED (5) for
# IPv4 and a global IPv6 destination, NOT_FWDED for a link-local IPv6 one; a missing
# device -ENODEV; a short params size or an unknown flag -EINVAL; family 7 -EAFNOSUPPORT.
# Each result's low 4 bits, packed into the return value.
r6 = r1
r1 = 0
*(u64 *)(r10 - 64) = r1
*(u64 *)(r10 - 56) = r1
*(u64 *)(r10 - 48) = r1
*(u64 *)(r10 - 40) = r1
*(u64 *)(r10 - 32) = r1
*(u64 *)(r10 - 24) = r1
*(u64 *)(r10 - 16) = r1
*(u64 *)(r10 - 8) = r1
r1 = 2
*(u8 *)(r10 - 64) = r1
r1 = 1
*(u32 *)(r10 - 56) = r1
r1 = 0x0100007f
*(u32 *)(r10 - 32) = r1
r1 = r6
r2 = r10
r2 += -64
r3 = 64
r4 = 0
call 69
r7 = r0
r7 &= 0xf
r1 = 999
*(u32 *)(r10 - 56) = r1
r1 = r6
r2 = r10
r2 += -64
r3 = 64
r4 = 0
call 69
r0 &= 0xf
r0 <<= 4
r7 += r0
r1 = r6
r2 = r10
r2 += -64
r3 = 63
r4 = 0
call 69
r0 &= 0xf
r0 <<= 8
r7 += r0
r1 = r6
r2 = r10
r2 += -64
r3 = 64
r4 = 64
call 69
r0 &= 0xf
r0 <<= 12
r7 += r0
r1 = 10
*(u8 *)(r10 - 64) = r1
r1 = 1
*(u32 *)(r10 - 56) = r1
r1 = 0x20
*(u8 *)(r10 - 32) = r1
r1 = r6
r2 = r10
r2 += -64
r3 = 64
r4 = 0
call 69
r0 &= 0xf
r0 <<= 16
r7 += r0
r1 = 0x80fe
*(u16 *)(r10 - 32) = r1
r1 = r6
r2 = r10
r2 += -64
r3 = 64
r4 = 0
call 69
r0 &= 0xf
r0 <<= 20
r7 += r0
r1 = 7
*(u8 *)(r10 - 64) = r1
r1 = r6
r2 = r10
r2 += -64
r3 = 64
r4 = 0
call 69
r0 &= 0xf
r0 <<= 24
r7 += r0
r0 = r7
exit
