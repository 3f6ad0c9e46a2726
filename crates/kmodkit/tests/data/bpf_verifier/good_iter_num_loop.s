# type: socket_filter
# kfunc: bpf_iter_num_new
# kfunc: bpf_iter_num_next
# kfunc: bpf_iter_num_destroy
# expect: accept
# class: loop
# An open-coded bpf_iter_num loop: sum the numbers next() gives, destroy the iterator.
r6 = 0
r1 = r10
r1 += -8
r2 = 0
r3 = 10
call kfunc(1)
loop:
r1 = r10
r1 += -8
call kfunc(2)
if r0 == 0 goto done
r1 = *(u32 *)(r0 + 0)
r6 += r1
goto loop
done:
r1 = r10
r1 += -8
call kfunc(3)
r0 = r6
exit
