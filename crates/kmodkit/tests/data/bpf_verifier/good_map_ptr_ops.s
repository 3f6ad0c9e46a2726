# type: socket_filter
# map: 2 4 48 1
# expect: accept
# btf: host (offsets of the host kernel's structs; judged with its BTF)
# a map pointer's fields are read through struct bpf_array's BTF (bpf_map.ops at 40)
r1 = map_idx(0, 0) ll
r6 = *(u64 *)(r1 + 40)
r0 = 0
exit
