# type: lwt_out
# expect: reject
# class: bounds
r0 = *(u32 *)(r1 + 72)
r0 = 0
exit
