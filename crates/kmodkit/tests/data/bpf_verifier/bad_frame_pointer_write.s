# type: socket_filter
# expect: reject
# class: pointer
r10 = 0
r0 = 0
exit
