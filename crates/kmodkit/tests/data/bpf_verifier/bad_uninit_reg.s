# type: socket_filter
# expect: reject
# class: uninit
r0 = r2
exit
