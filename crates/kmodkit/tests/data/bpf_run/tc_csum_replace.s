# type: sched_cls
# bpf_l3_csum_replace / bpf_l4_csum_replace on the IPv4 header checksum (frame offset 24)
# and a transport checksum (offset 40): by 4- and 2-byte values and by difference, with
# BPF_F_PSEUDO_HDR and BPF_F_MARK_MANGLED_0, and the refusals (odd or too large offset,
# unknown flags or size, `from` with a difference). The packet after the run is compared.
r6 = r1
r7 = 0
r1 = r6
r2 = 24
r3 = 0x100000a
r4 = 0x907a8c0
r5 = 0x24
call 11
r7 *= 7
r7 += r0
r1 = r6
r2 = 24
r3 = 0x100000a
r4 = 0x907a8c0
r5 = 0x4
call 10
r7 *= 7
r7 += r0
r1 = r6
r2 = 24
r3 = 0x3412
r4 = 0xefbe
r5 = 0x2
call 10
r7 *= 7
r7 += r0
r1 = r6
r2 = 24
r3 = 0x0
r4 = 0x12345
r5 = 0x0
call 10
r7 *= 7
r7 += r0
r1 = r6
r2 = 25
r3 = 0x0
r4 = 0x0
r5 = 0x0
call 10
r7 *= 7
r7 += r0
r1 = r6
r2 = 24
r3 = 0x1
r4 = 0x0
r5 = 0x0
call 10
r7 *= 7
r7 += r0
r1 = r6
r2 = 24
r3 = 0x0
r4 = 0x0
r5 = 0x3
call 10
r7 *= 7
r7 += r0
r1 = r6
r2 = 24
r3 = 0x0
r4 = 0x0
r5 = 0x10
call 10
r7 *= 7
r7 += r0
r1 = r6
r2 = 40
r3 = 0x100000a
r4 = 0x907a8c0
r5 = 0x14
call 11
r7 *= 7
r7 += r0
r1 = r6
r2 = 40
r3 = 0x3412
r4 = 0xefbe
r5 = 0x2
call 11
r7 *= 7
r7 += r0
r1 = r6
r2 = 40
r3 = 0x0
r4 = 0x7777
r5 = 0x10
call 11
r7 *= 7
r7 += r0
r1 = r6
r2 = 42
r3 = 0x100000a
r4 = 0x907a8c0
r5 = 0x64
call 11
r7 *= 7
r7 += r0
r1 = r6
r2 = 65536
r3 = 0x0
r4 = 0x0
r5 = 0x0
call 11
r7 *= 7
r7 += r0
r1 = r6
r2 = 40
r3 = 0x0
r4 = 0x0
r5 = 0x100
call 11
r7 *= 7
r7 += r0
r1 = r6
r2 = 40
r3 = 0x5
r4 = 0x0
r5 = 0x0
call 11
r7 *= 7
r7 += r0
r0 = r7
exit
