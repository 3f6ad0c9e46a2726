# type: socket_filter
# kfunc: bpf_iter_num_next
# expect: reject
# class: helper
# next() on stack slots that hold no iterator: expected an initialized iter_num.
r1 = 0
*(u64 *)(r10 - 8) = r1
r1 = r10
r1 += -8
call kfunc(1)
r0 = 0
exit
