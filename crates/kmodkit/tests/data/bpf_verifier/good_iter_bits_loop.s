# type: socket_filter
# kfunc: bpf_iter_bits_new
# kfunc: bpf_iter_bits_next
# kfunc: bpf_iter_bits_destroy
# expect: accept
# class: loop
# An open-coded bpf_iter_bits loop (a 16-byte iterator) over one word: count the bits.
r1 = 0xf0
*(u64 *)(r10 - 24) = r1
r6 = 0
r1 = r10
r1 += -16
r2 = r10
r2 += -24
r3 = 1
call kfunc(1)
loop:
r1 = r10
r1 += -16
call kfunc(2)
if r0 == 0 goto done
r6 += 1
goto loop
done:
r1 = r10
r1 += -16
call kfunc(3)
r0 = r6
exit
