# type: sk_lookup
# section: sk_lookup
# expect: accept
# class: bounds
# why: sk_lookup_is_valid_access: u32 fields narrowly, remote_port as u16 or u32, its padding narrowly
r2 = *(u8 *)(r1 + 9)
r2 = *(u16 *)(r1 + 36)
r2 = *(u32 *)(r1 + 36)
r2 = *(u16 *)(r1 + 38)
r2 = *(u16 *)(r1 + 62)
r2 = *(u32 *)(r1 + 64)
r0 = 1
exit
