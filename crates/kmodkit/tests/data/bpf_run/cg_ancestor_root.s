# type: cgroup_skb
# bpf_skb_ancestor_cgroup_id at level 0 is the root (id 1) and past the test process's
# depth 0.
r6 = r1
r1 = r6
r2 = 0
call 83
r8 = r0
r1 = r6
r2 = 1000
call 83
r1 = 0
if r0 != 0 goto out
if r8 != 1 goto out
r1 = 1
out:
r0 = r1
exit
