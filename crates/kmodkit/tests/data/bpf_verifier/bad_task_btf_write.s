# type: kprobe
# expect: reject
# btf: host (offsets of the host kernel's structs; judged with its BTF)
# class: pointer
# a PTR_TO_BTF_ID is read-only ("only read is supported")
call 158
r1 = 0
*(u32 *)(r0 + 1264) = r1
r0 = 0
exit
