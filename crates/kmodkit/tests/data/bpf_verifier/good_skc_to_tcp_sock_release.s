# type: sched_cls
# expect: accept
# btf: host (offsets of the host kernel's structs; judged with its BTF)
# bpf_skc_to_tcp_sock's result (a NULL-able PTR_TO_BTF_ID tcp_sock) holds the looked-up
# socket's reference: releasing it releases the socket (is_ptr_cast_function)
r2 = 0
*(u64 *)(r10 - 16) = r2
*(u64 *)(r10 - 8) = r2
r2 = r10
r2 += -16
r3 = 12
r4 = 0
r5 = 0
call 84
if r0 != 0 goto found
exit
found:
r6 = r0
r1 = r0
call 137
if r0 != 0 goto cast
r1 = r6
call 86
r0 = 0
exit
cast:
r1 = r0
call 86
r0 = 0
exit
