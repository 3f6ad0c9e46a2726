# type: sk_reuseport
# expect: accept
# class: null
# why: sk_reuseport_md.sk is PTR_TO_SOCKET, never NULL
r2 = *(u64 *)(r1 + 40)
r3 = *(u32 *)(r2 + 4)
r0 = 0
exit
