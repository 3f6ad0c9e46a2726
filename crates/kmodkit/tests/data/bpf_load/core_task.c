/* CO-RE: task_struct fields read through relocated offsets, and the relocation kinds
 * (field offset, size, existence, signedness, type existence, size and id, enum values)
 * recorded in .bss so that the test reads what the loader resolved. */
#include "vmlinux.h"
#include "helpers.h"

/* A local flavour of task_struct: `___local` is stripped when matching, and `no_such_field`
 * does not exist in the kernel's struct. */
struct task_struct___local {
	int pid;
	int no_such_field;
} __attribute__((preserve_access_index));

struct core_results {
	u64 off_pid, off_tgid, off_real_parent, size_pid, size_comm;
	u64 pid_exists, missing_exists, pid_signed, state_signed;
	u64 task_exists, task_size, task_id, enum_value, enum_exists;
	u64 ok, bad;
};

struct core_results res = {};

SEC("raw_tp/sys_enter")
int read_task(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct task_struct *parent = 0;
	int tgid = 0, ptgid = -1;
	res.off_pid = bpf_core_field_offset(task->pid);
	res.off_tgid = bpf_core_field_offset(task->tgid);
	res.off_real_parent = bpf_core_field_offset(task->real_parent);
	res.size_pid = bpf_core_field_size(task->pid);
	res.size_comm = bpf_core_field_size(task->comm);
	res.pid_exists = bpf_core_field_exists(((struct task_struct___local *)task)->pid);
	res.missing_exists = bpf_core_field_exists(((struct task_struct___local *)task)->no_such_field);
	res.pid_signed = bpf_core_field_signed(task->pid);
	res.state_signed = bpf_core_field_signed(task->__state);
	res.task_exists = bpf_core_type_exists(struct task_struct);
	res.task_size = bpf_core_type_size(struct task_struct);
	res.task_id = bpf_core_type_id_kernel(struct task_struct);
	res.enum_value = bpf_core_enum_value(enum bpf_func_id, BPF_FUNC_loop);
	res.enum_exists = bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_loop);
	CORE_READ(tgid, task, tgid);
	if (tgid == (int)(bpf_get_current_pid_tgid() >> 32))
		res.ok = 1;
	else
		res.bad = 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
