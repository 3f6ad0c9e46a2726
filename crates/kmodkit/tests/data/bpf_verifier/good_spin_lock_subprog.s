# type: sched_cls
# map: 2 4 8 1 lock=4
# expect: accept
# the lock is held by the call chain: taken in a static function, released by its caller
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
if r0 == 0 goto out
r6 = r0
r1 = r6
r1 += 4
call take
r1 = r6
r1 += 4
call 94
out:
r0 = 0
exit
take:
call 93
r0 = 0
exit
