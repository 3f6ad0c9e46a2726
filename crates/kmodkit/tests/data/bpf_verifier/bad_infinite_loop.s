# type: tracepoint
# expect: reject
# class: loop
r0 = 0
l:
if r0 == 0 goto l
exit
