# type: socket_filter
# kfunc: bpf_cast_to_kern_ctx
# expect: reject
# class: helper
# bpf_cast_to_kern_ctx takes the context, not a stack pointer.
r1 = r10
r1 += -8
call kfunc(1)
r0 = 0
exit
