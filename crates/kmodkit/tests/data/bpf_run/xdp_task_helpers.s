# type: xdp
# map: 6 4 8 1
# Helpers that report the calling task (BPF_PROG_TEST_RUN runs in the caller's context),
# packed into the return value: the cgroup v2 id's low byte, the root's (level 0),
# bpf_send_signal with signal 0 (a permission check) and 65 (-EINVAL), get_ns_current_pid_tgid
# with a device that is not the pid namespace's (-EINVAL) and the buffer it clears, the
# NUMA node, and a per-CPU lookup on a CPU that does not exist (NULL).
call 80
r6 = r0
r6 &= 0xff
r1 = 0
call 123
r0 &= 0xf
r0 <<= 8
r6 += r0
r1 = 0
call 109
r0 &= 0xf
r0 <<= 12
r6 += r0
r1 = 65
call 109
r0 &= 0xf
r0 <<= 16
r6 += r0
r1 = -1
*(u64 *)(r10 - 8) = r1
r1 = 1
r2 = 1
r3 = r10
r3 += -8
r4 = 8
call 120
r0 &= 0xf
r0 <<= 20
r6 += r0
r0 = *(u64 *)(r10 - 8)
r0 &= 0xf
r0 <<= 24
r6 += r0
call 42
r0 &= 0x3
r0 <<= 28
r6 += r0
r1 = 0
*(u32 *)(r10 - 4) = r1
r1 = map_idx(0, 0) ll
r2 = r10
r2 += -4
r3 = 1000
call 195
if r0 != 0 goto +1
r6 += 0x40000000
r0 = r6
exit
