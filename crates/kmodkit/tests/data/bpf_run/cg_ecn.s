# type: cgroup_skb
# bpf_skb_ecn_set_ce through a cgroup skb (the Ethernet header pulled): marks the IPv6
# packet (ECT in its traffic class) and not the IPv4 one (not ECN-capable); the packet after
# the run is compared.
r6 = r1
r1 = r6
call 97
r1 = 1
if r0 != 0 goto t_
r1 = 0
t_:
r0 = r1
exit
