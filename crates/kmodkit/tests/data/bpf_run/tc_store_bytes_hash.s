# type: sched_cls
# bpf_skb_store_bytes with BPF_F_INVALIDATE_HASH clears the hash bpf_set_hash set
# (__sk_buff.hash after each store).
r6 = r1
r7 = 0
r1 = 0x77
*(u64 *)(r10 - 8) = r1
r1 = r6
r2 = 153
call 48
r7 *= 31
r7 += r0
r1 = r6
r2 = 20
r3 = r10
r3 += -8
r4 = 1
r5 = 0
call 9
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 68)
r7 *= 31
r7 += r0
r1 = r6
r2 = 21
r3 = r10
r3 += -8
r4 = 1
r5 = 1
call 9
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 68)
r7 *= 31
r7 += r0
r1 = r6
r2 = 22
r3 = r10
r3 += -8
r4 = 1
r5 = 2
call 9
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 68)
r7 *= 31
r7 += r0
r1 = r6
r2 = 152
call 48
r7 *= 31
r7 += r0
r1 = r6
r2 = 23
r3 = r10
r3 += -8
r4 = 1
r5 = 3
call 9
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 68)
r7 *= 31
r7 += r0
r0 = r7
exit
