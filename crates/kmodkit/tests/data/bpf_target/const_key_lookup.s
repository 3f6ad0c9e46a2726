# An ARRAY lookup with the constant key 0 (< max_entries), used without a NULL check:
# since 6.13 the verifier knows the value exists (get_constant_map_key); 6.1 wants the check.
# type: socket_filter
# map: 2,4,8,4
# 6.1: reject
# 6.18: accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
r0 = *(u64 *)(r0 + 0)
r0 = 0
exit
