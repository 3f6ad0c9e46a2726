# type: socket_filter
# expect: reject
# class: cfg
r0 = 0
goto +5
exit
