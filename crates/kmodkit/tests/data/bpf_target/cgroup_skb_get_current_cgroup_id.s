# bpf_get_current_cgroup_id in a cgroup skb program (CAP_BPF's base set in 6.12).
# type: cgroup_skb
# 6.1: reject
# 6.18: accept
call 80
r0 = 1
exit
