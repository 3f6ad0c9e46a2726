# type: socket_filter
# kfunc: bpf_iter_num_new
# kfunc: bpf_iter_num_next
# kfunc: bpf_iter_num_destroy
# expect: reject
# class: bounds
# next() gives a 4-byte int: an 8-byte read of it is out of bounds.
r1 = r10
r1 += -8
r2 = 0
r3 = 10
call kfunc(1)
r6 = 0
r1 = r10
r1 += -8
call kfunc(2)
if r0 == 0 goto done
r6 = *(u64 *)(r0 + 0)
done:
r1 = r10
r1 += -8
call kfunc(3)
r0 = r6
exit
