# type: socket_filter
# kfunc: bpf_iter_num_new
# kfunc: bpf_iter_num_next
# kfunc: bpf_iter_num_destroy
# expect: reject
# class: pointer
# next() gives a read-only int: writing it is refused (rdonly_mem).
r1 = r10
r1 += -8
r2 = 0
r3 = 10
call kfunc(1)
r1 = r10
r1 += -8
call kfunc(2)
if r0 == 0 goto done
r1 = 1
*(u32 *)(r0 + 0) = r1
done:
r1 = r10
r1 += -8
call kfunc(3)
r0 = 0
exit
