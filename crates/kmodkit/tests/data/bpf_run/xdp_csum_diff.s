# type: xdp
# bpf_csum_diff over stack buffers: from 8 bytes to 12 with a seed, only to, only from
# (the seed complemented), neither (the seed), and a size that is not a multiple of 4.
r1 = 0x0a000001
*(u32 *)(r10 - 4) = r1
r1 = 0x0a000002
*(u32 *)(r10 - 8) = r1
r1 = 0xc0a80101
*(u32 *)(r10 - 12) = r1
r1 = 0x11223344
*(u32 *)(r10 - 16) = r1
r1 = 0xfffe0001
*(u32 *)(r10 - 20) = r1
r1 = r10
r1 += -8
r2 = 8
r3 = r10
r3 += -20
r4 = 12
r5 = 0x1234
call 28
r7 = r0
r1 = 0
r2 = 0
r3 = r10
r3 += -20
r4 = 12
r5 = 0xffff0000
call 28
r7 ^= r0
r7 <<= 8
r1 = r10
r1 += -8
r2 = 8
r3 = 0
r4 = 0
r5 = 77
call 28
r7 ^= r0
r7 <<= 8
r1 = 0
r2 = 0
r3 = 0
r4 = 0
r5 = 0x89abcdef
call 28
r7 ^= r0
r7 <<= 8
r1 = r10
r1 += -8
r2 = 6
r3 = r10
r3 += -20
r4 = 12
r5 = 0
call 28
r7 ^= r0
r0 = r7
exit
