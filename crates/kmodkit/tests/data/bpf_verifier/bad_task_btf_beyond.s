# type: kprobe
# expect: reject
# btf: host (offsets of the host kernel's structs; judged with its BTF)
# class: bounds
# past the end of struct task_struct (3264 bytes on the host)
call 158
r0 = *(u32 *)(r0 + 3264)
r0 = 0
exit
