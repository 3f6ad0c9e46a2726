# type: sched_cls
# map: 15 4 4 1
# expect: accept
# tc may delete from a socket map and put skb->sk (checked not NULL) into it.
r6 = r1
r2 = 0
*(u32 *)(r10 - 4) = r2
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 3
r3 = *(u64 *)(r6 + 168)
if r3 == 0 goto out
r2 = 0
*(u32 *)(r10 - 4) = r2
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
r4 = 0
call 2
out:
r0 = 0
exit
