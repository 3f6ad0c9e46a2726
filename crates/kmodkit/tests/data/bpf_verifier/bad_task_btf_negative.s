# type: kprobe
# expect: reject
# class: bounds
call 158
r0 = *(u32 *)(r0 - 8)
r0 = 0
exit
