# type: sched_cls
# expect: reject
# class: bounds
# The size argument must fit the buffer: 16 bytes do not fit at r10-8.
r2 = 0
r3 = r10
r3 += -8
r4 = 16
r5 = 1
call 68
r0 = 0
exit
