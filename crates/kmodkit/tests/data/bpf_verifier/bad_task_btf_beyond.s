# type: kprobe
# expect: reject
# class: bounds
# past the end of struct task_struct (3264 bytes on the host)
call 158
r0 = *(u32 *)(r0 + 3264)
r0 = 0
exit
