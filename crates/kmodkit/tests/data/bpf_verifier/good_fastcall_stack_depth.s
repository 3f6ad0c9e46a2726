# type: sched_cls
# expect: accept
# bpf_fastcall: the spill and fill of r1 around bpf_get_smp_processor_id (inlined by the
# x86-64 JIT) are removed, so the function's 8 bytes do not count (512 + 0)
r1 = 42
*(u64 *)(r10 - 512) = r1
call sub
r0 = 0
exit
sub:
*(u64 *)(r10 - 8) = r1
call 8
r1 = *(u64 *)(r10 - 8)
r0 = 0
exit
