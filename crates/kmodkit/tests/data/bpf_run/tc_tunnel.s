# type: sched_cls
# bpf_skb_get/set_tunnel_key and _opt: nothing before a key is set (-EINVAL, -ENOENT,
# buffers cleared), a key set and read back (in the frame), the flags word, the wrong family,
# old key sizes, options set and read (short buffer, size not a multiple of 4), an IPv6 key
# with every flag.
r6 = r1
r7 = 0
r1 = -1
*(u64 *)(r10 - 8) = r1
*(u64 *)(r10 - 16) = r1
r1 = r6
r2 = r10
r2 += -16
r3 = 16
call 29
r7 *= 31
r7 += r0
r0 = *(u64 *)(r10 - 8)
r7 *= 31
r7 += r0
r1 = r6
r2 = r10
r2 += -16
r3 = 8
call 30
r7 *= 31
r7 += r0
r1 = 0
*(u64 *)(r10 - 8) = r1
*(u64 *)(r10 - 16) = r1
*(u64 *)(r10 - 24) = r1
*(u64 *)(r10 - 32) = r1
*(u64 *)(r10 - 40) = r1
*(u64 *)(r10 - 48) = r1
*(u64 *)(r10 - 56) = r1
*(u64 *)(r10 - 64) = r1
r1 = 287454020
*(u32 *)(r10 - 64) = r1
r1 = 167772161
*(u32 *)(r10 - 60) = r1
r1 = 0
*(u32 *)(r10 - 56) = r1
r1 = 0
*(u32 *)(r10 - 52) = r1
r1 = 0
*(u32 *)(r10 - 48) = r1
r1 = 16389
*(u32 *)(r10 - 44) = r1
r1 = 0
*(u32 *)(r10 - 40) = r1
r1 = 167772162
*(u32 *)(r10 - 36) = r1
r1 = 0
*(u32 *)(r10 - 32) = r1
r1 = 0
*(u32 *)(r10 - 28) = r1
r1 = 0
*(u32 *)(r10 - 24) = r1
r1 = 0
*(u32 *)(r10 - 20) = r1
r1 = r6
r2 = r10
r2 += -64
r3 = 44
r4 = 32
call 21
r7 *= 31
r7 += r0
r1 = r6
r2 = r10
r2 += -64
r3 = 30
r4 = 0
call 21
r7 *= 31
r7 += r0
r1 = r6
r2 = r10
r2 += -64
r3 = 44
r4 = 0
call 21
r7 *= 31
r7 += r0
r1 = r6
r2 = r10
r2 += -112
r3 = 44
r4 = 0
call 20
r7 *= 31
r7 += r0
r1 = r6
r2 = 14
r3 = r10
r3 += -112
r4 = 44
r5 = 0
call 9
r7 *= 31
r7 += r0
r1 = r6
r2 = r10
r2 += -112
r3 = 44
r4 = 16
call 20
r7 *= 31
r7 += r0
r0 = *(u32 *)(r10 - 92)
r7 *= 31
r7 += r0
r1 = r6
r2 = r10
r2 += -112
r3 = 44
r4 = 1
call 20
r7 *= 31
r7 += r0
r0 = *(u32 *)(r10 - 112)
r7 *= 31
r7 += r0
r1 = r6
r2 = r10
r2 += -112
r3 = 8
r4 = 0
call 20
r7 *= 31
r7 += r0
r0 = *(u64 *)(r10 - 112)
r7 *= 31
r7 += r0
r1 = r6
r2 = r10
r2 += -112
r3 = 28
r4 = 0
call 20
r7 *= 31
r7 += r0
r1 = r6
r2 = r10
r2 += -112
r3 = 30
r4 = 0
call 20
r7 *= 31
r7 += r0
r1 = r6
r2 = r10
r2 += -112
r3 = 44
r4 = 4
call 20
r7 *= 31
r7 += r0
r1 = r6
r2 = r10
r2 += -128
r3 = 16
call 29
r7 *= 31
r7 += r0
r1 = 0x01020304
*(u32 *)(r10 - 128) = r1
r1 = 0x05060708
*(u32 *)(r10 - 124) = r1
r1 = r6
r2 = r10
r2 += -128
r3 = 6
call 30
r7 *= 31
r7 += r0
r1 = r6
r2 = r10
r2 += -128
r3 = 8
call 30
r7 *= 31
r7 += r0
r1 = -1
*(u64 *)(r10 - 136) = r1
*(u64 *)(r10 - 144) = r1
r1 = r6
r2 = r10
r2 += -144
r3 = 16
call 29
r7 *= 31
r7 += r0
r0 = *(u64 *)(r10 - 144)
r7 *= 31
r7 += r0
r0 = *(u64 *)(r10 - 136)
r7 *= 31
r7 += r0
r1 = r6
r2 = r10
r2 += -144
r3 = 4
call 29
r7 *= 31
r7 += r0
r0 = *(u32 *)(r10 - 144)
r7 *= 31
r7 += r0
r1 = r6
r2 = r10
r2 += -112
r3 = 44
r4 = 16
call 20
r7 *= 31
r7 += r0
r0 = *(u32 *)(r10 - 92)
r7 *= 31
r7 += r0
r1 = 0x12345678
*(u32 *)(r10 - 40) = r1
r1 = r6
r2 = r10
r2 += -64
r3 = 44
r4 = 0
call 21
r7 *= 31
r7 += r0
r1 = r6
r2 = r10
r2 += -64
r3 = 44
r4 = 31
call 21
r7 *= 31
r7 += r0
r1 = r6
r2 = r10
r2 += -112
r3 = 44
r4 = 17
call 20
r7 *= 31
r7 += r0
r0 = *(u32 *)(r10 - 112)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r10 - 108)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r10 - 104)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r10 - 100)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r10 - 96)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r10 - 92)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r10 - 88)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r10 - 84)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r10 - 80)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r10 - 76)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r10 - 72)
r7 *= 31
r7 += r0
r1 = r6
r2 = r10
r2 += -112
r3 = 8
r4 = 1
call 20
r7 *= 31
r7 += r0
r0 = r7
exit
