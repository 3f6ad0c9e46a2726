# type: netfilter
# section: netfilter
# expect: accept
# btf: host (offsets of the host kernel's structs; judged with its BTF)
r1 = *(u64 *)(r1 + 8)
r1 = *(u64 *)(r1 + 24)
if r1 == 0 goto out
r0 = *(u32 *)(r1 + 0)
out:
r0 = 1
exit
