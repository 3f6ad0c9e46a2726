# type: kprobe
# expect: accept
# btf: host (offsets of the host kernel's structs; judged with its BTF)
# bpf_get_current_task_btf gives a trusted task_struct: its int fields read as scalars
# (offsets of the host's struct task_struct: pid 1264, real_parent 1280)
call 158
r1 = *(u32 *)(r0 + 1264)
r6 = *(u64 *)(r0 + 1280)
r0 = *(u32 *)(r6 + 1264)
r0 = 0
exit
