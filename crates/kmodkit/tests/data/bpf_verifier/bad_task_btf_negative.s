# type: kprobe
# expect: reject
# btf: host (offsets of the host kernel's structs; judged with its BTF)
# class: bounds
call 158
r0 = *(u32 *)(r0 - 8)
r0 = 0
exit
