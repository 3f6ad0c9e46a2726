# type: sk_reuseport
# expect: reject
# class: null
# why: sk_reuseport_md.migrating_sk is PTR_TO_SOCK_COMMON_OR_NULL
r2 = *(u64 *)(r1 + 48)
r3 = *(u32 *)(r2 + 4)
r0 = 0
exit
