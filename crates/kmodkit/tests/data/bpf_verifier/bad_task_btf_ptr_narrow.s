# type: kprobe
# expect: reject
# btf: host (offsets of the host kernel's structs; judged with its BTF)
# class: bounds
# a pointer member (task_struct.real_parent at 1280) is read whole
call 158
r0 = *(u32 *)(r0 + 1280)
r0 = 0
exit
