# type: socket_filter
# kfunc: bpf_iter_num_new
# kfunc: bpf_iter_num_next
# expect: reject
# class: pointer
# The iterator's reference is never released (bpf_iter_num_destroy): Unreleased reference.
r1 = r10
r1 += -8
r2 = 0
r3 = 10
call kfunc(1)
r1 = r10
r1 += -8
call kfunc(2)
r0 = 0
exit
