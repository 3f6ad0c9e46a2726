# type: socket_filter
# expect: reject
# class: uninit
r1 = 0
exit
