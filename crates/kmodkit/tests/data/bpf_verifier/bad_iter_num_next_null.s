# type: socket_filter
# kfunc: bpf_iter_num_new
# kfunc: bpf_iter_num_next
# kfunc: bpf_iter_num_destroy
# expect: reject
# class: pointer
# next() returns NULL once the iterator is drained: its result is read unchecked.
r1 = r10
r1 += -8
r2 = 0
r3 = 10
call kfunc(1)
r1 = r10
r1 += -8
call kfunc(2)
r6 = *(u32 *)(r0 + 0)
r1 = r10
r1 += -8
call kfunc(3)
r0 = r6
exit
