# type: tracepoint
# map: 27 0 0 4096
# expect: reject
# class: helper
# A record submitted twice: the second release has no reference (check_release_arg).
r1 = map_idx(0, 0) ll
r2 = 8
r3 = 0
call 131
if r0 == 0 goto out
r6 = r0
r1 = r0
r2 = 0
call 132
r1 = r6
r2 = 0
call 132
out:
r0 = 0
exit
