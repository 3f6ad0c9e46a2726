# type: tracepoint
# expect: reject
# class: uninit
r1 = 1
call 5
r0 = r1
exit
