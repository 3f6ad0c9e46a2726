# type: socket_filter
# expect: reject
# class: bounds
r1 = 0
*(u64 *)(r10 - 300) = r1
call f
exit
f:
r1 = 0
*(u64 *)(r10 - 300) = r1
r0 = 0
exit
