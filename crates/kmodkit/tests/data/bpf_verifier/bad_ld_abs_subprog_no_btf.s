# type: socket_filter
# expect: reject
# class: helper
# BPF_LD_ABS in a subprogram needs BTF function info (check_abnormal_return)
call f
r0 = 0
exit
f:
r6 = r1
r0 = *(u8 *)skb[0]
r0 = 1
exit
