# type: sk_reuseport
# expect: accept
# class: bounds
# why: sk_reuseport_is_valid_access: len, ip_protocol, bind_inany narrowly, eth_protocol from 2 bytes, hash as u32
r2 = *(u8 *)(r1 + 16)
r2 = *(u16 *)(r1 + 22)
r2 = *(u8 *)(r1 + 27)
r2 = *(u32 *)(r1 + 32)
r0 = 0
exit
