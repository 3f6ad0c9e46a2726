# type: xdp
# bpf_xdp_load_bytes of 8 bytes at offset 2, stored back at offset 20 with
# bpf_xdp_store_bytes, then reads and writes that end past the packet, and a length past
# 0xffff.
r6 = r1
r2 = 2
r3 = r10
r3 += -8
r4 = 8
call 189
r7 = r0
r1 = r6
r2 = 20
r3 = r10
r3 += -8
r4 = 8
call 190
r7 *= 7
r7 += r0
r1 = r6
call 188
r2 = r0
r2 += -4
r1 = r6
r3 = r10
r3 += -8
r4 = 8
call 189
r7 *= 7
r7 += r0
r1 = r6
call 188
r2 = r0
r2 += -4
r1 = r6
r3 = r10
r3 += -8
r4 = 8
call 190
r7 *= 7
r7 += r0
r0 = r7
exit
