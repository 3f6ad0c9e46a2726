# type: socket_filter
# expect: reject
# class: return
r1 = 0
exit
