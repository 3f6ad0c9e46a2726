# type: sched_cls
# bpf_skb_store_bytes into the frame (skb->data is the MAC header for tc): the IPv4
# source address, the last 4 bytes (both flags), a write crossing the end (-EFAULT) and
# an unknown flag (-EINVAL). The packet after the run is compared too.
r6 = r1
r1 = 0x0a0b0c0d
*(u32 *)(r10 - 4) = r1
r1 = r6
r2 = 26
r3 = r10
r3 += -4
r4 = 4
r5 = 0
call 9
r7 = r0
r1 = r6
r2 = *(u32 *)(r6 + 0)
r2 += -3
r3 = r10
r3 += -4
r4 = 4
r5 = 0
call 9
r7 *= 7
r7 += r0
r1 = r6
r2 = 0
r3 = r10
r3 += -4
r4 = 4
r5 = 4
call 9
r7 *= 7
r7 += r0
r1 = r6
r2 = *(u32 *)(r6 + 0)
r2 += -4
r3 = r10
r3 += -4
r4 = 4
r5 = 3
call 9
r7 *= 7
r7 += r0
r0 = r7
exit
