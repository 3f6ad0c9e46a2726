# type: kprobe
# expect: accept
r0 = *(u32 *)(r1 + 160)
r0 = 0
exit
