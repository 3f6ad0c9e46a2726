# type: xdp
# map: 14 4 4 4
# bpf_redirect_map on an empty devmap: the action in the flags' low bits; BPF_F_BROADCAST
# redirects anyway; an unknown flag aborts. Packed one result per byte.
r1 = map_idx(0, 0) ll
r2 = 0
r3 = 2
call 51
r6 = r0
r1 = map_idx(0, 0) ll
r2 = 1
r3 = 8
call 51
r0 <<= 8
r6 += r0
r1 = map_idx(0, 0) ll
r2 = 9
r3 = 32
call 51
r0 <<= 16
r6 += r0
r1 = map_idx(0, 0) ll
r2 = 9
r3 = 3
call 51
r0 <<= 24
r0 += r6
exit
