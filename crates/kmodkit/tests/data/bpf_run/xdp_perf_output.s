# type: xdp
# map: 4 4 4 2
# bpf_perf_event_output into an empty perf event array: -ENOENT (index 0 and
# BPF_F_CURRENT_CPU), -E2BIG past the end, -EFAULT for more packet than there is, -EINVAL
# for unknown flags. Each result's low byte, packed.
r6 = r1
r1 = 0
*(u64 *)(r10 - 8) = r1
r1 = r6
r2 = map_idx(0, 0) ll
r3 = 0
r4 = r10
r4 += -8
r5 = 8
call 25
r0 &= 0xff
r7 = r0
r1 = r6
r2 = map_idx(0, 0) ll
r3 = 5
r4 = r10
r4 += -8
r5 = 8
call 25
r0 &= 0xff
r0 <<= 8
r7 += r0
r1 = r6
r2 = map_idx(0, 0) ll
r3 = 0x100000000000 ll
r4 = r10
r4 += -8
r5 = 8
call 25
r0 &= 0xff
r0 <<= 16
r7 += r0
r1 = r6
r2 = map_idx(0, 0) ll
r3 = 0x100000000000000 ll
r4 = r10
r4 += -8
r5 = 8
call 25
r0 &= 0xff
r0 <<= 24
r0 += r7
exit
