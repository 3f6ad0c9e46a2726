# type: sched_cls
# expect: reject
# class: bounds
# why: tc programs may write mark, priority, tc_index, ... but not ingress_ifindex
r2 = 1
*(u32 *)(r1 + 36) = r2
r0 = 0
exit
