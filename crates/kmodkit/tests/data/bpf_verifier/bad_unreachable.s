# type: socket_filter
# expect: reject
# class: cfg
r0 = 0
exit
r0 = 1
exit
