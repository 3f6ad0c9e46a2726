# type: xdp
# expect: reject
# class: helper
# bpf_copy_from_user is offered to every type but might sleep: non-sleepable programs
# cannot call it.
r1 = r10
r1 += -8
r2 = 8
r3 = 0
call 148
r0 = 2
exit
