# type: tracepoint
# expect: reject
# class: loop
call 7
r1 = 0
l:
r1 += 1
if r1 < r0 goto l
r0 = 0
exit
