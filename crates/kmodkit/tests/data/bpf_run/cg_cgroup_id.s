# type: cgroup_skb
# bpf_skb_cgroup_id against bpf_skb_ancestor_cgroup_id at the deepest level of the test
# process's cgroup (its own id; the verifier bounds a cgroup skb program's return to 0..1).
r6 = r1
r1 = r6
call 79
r8 = r0
r9 = 0
loop:
r1 = r6
r2 = r9
call 83
if r0 == r8 goto found
r9 += 1
if r9 < 64 goto loop
r0 = 0
exit
found:
r0 = 1
if r8 == 0 goto zero
exit
zero:
r0 = 0
exit
