# type: sched_cls
# expect: reject
# class: bounds
# why: u32 fields of __sk_buff cannot be read 8 bytes at a time
r0 = *(u64 *)(r1 + 0)
exit
