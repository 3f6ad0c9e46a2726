# type: lwt_in
# map: 1 8 8 4
# expect: accept
# lwt programs get the base helpers (bpf_sk_base_func_proto): map lookups
r1 = 0
*(u64 *)(r10 - 8) = r1
r2 = r10
r2 += -8
r1 = map_idx(0, 0) ll
call 1
r0 = 0
exit
