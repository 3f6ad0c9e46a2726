# type: xdp
# bpf_xdp_adjust_meta: 8 bytes of metadata written with a marker (the test run's output
# starts with the metadata), then refused sizes: not a multiple of 4, more than 32 bytes,
# and past data. adjust_head then moves the metadata along with data.
r6 = r1
r2 = -8
call 54
r7 = r0
r2 = *(u32 *)(r6 + 8)
r3 = *(u32 *)(r6 + 0)
r4 = r2
r4 += 8
r0 = 1
if r4 > r3 goto out
r1 = 0x11223344
*(u32 *)(r2 + 0) = r1
r1 = 0x55667788
*(u32 *)(r2 + 4) = r1
r1 = r6
r2 = -6
call 54
r7 *= 7
r7 += r0
r1 = r6
r2 = -28
call 54
r7 *= 7
r7 += r0
r1 = r6
r2 = 12
call 54
r7 *= 7
r7 += r0
r1 = r6
r2 = -4
call 44
r7 *= 7
r7 += r0
r2 = *(u32 *)(r6 + 8)
r3 = *(u32 *)(r6 + 0)
r3 -= r2
r7 *= 100
r0 = r7
r0 += r3
out:
exit
