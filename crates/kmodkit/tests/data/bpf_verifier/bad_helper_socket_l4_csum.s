# type: socket_filter
# expect: reject
# class: helper
# bpf_l4_csum_replace is for tc programs; a socket filter cannot write the packet.
r2 = 40
r3 = 0
r4 = 0
r5 = 0
call 11
r0 = 0
exit
