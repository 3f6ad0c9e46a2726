# type: socket_filter
# map: 3 4 4 1
# expect: reject
# class: return
# bpf_tail_call returns nothing (RET_VOID): R0 is not readable after it.
r2 = map_idx(0, 0) ll
r3 = 0
call 12
exit
