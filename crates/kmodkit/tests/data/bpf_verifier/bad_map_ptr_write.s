# type: socket_filter
# map: 2 4 48 1
# expect: reject
# btf: host (offsets of the host kernel's structs; judged with its BTF)
# class: pointer
r1 = map_idx(0, 0) ll
r2 = 0
*(u64 *)(r1 + 40) = r2
r0 = 0
exit
