# type: socket_filter
# kfunc: bpf_cast_to_kern_ctx
# expect: accept
# class: helper
# bpf_cast_to_kern_ctx of the context; its result is not used.
call kfunc(1)
r0 = 0
exit
