# type: sched_cls
# expect: reject
# class: pointer
# skb->sk holds no reference: it may not be released.
r1 = *(u64 *)(r1 + 168)
if r1 == 0 goto out
call 86
out:
r0 = 0
exit
