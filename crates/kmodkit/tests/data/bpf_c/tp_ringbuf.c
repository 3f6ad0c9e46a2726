#include "common.h"
struct { __uint(type, 27); __uint(max_entries, 4096); } events SEC(".maps");
struct event { u32 pid; u32 cpu_hint; u64 arg; };
SEC("tracepoint/syscalls/sys_enter_openat") int on_openat(void *ctx) {
  u64 id = bpf_get_current_pid_tgid();
  struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) return 0;
  e->pid = id >> 32;
  e->cpu_hint = 0;
  e->arg = *(u64 *)((char *)ctx + 24);
  bpf_ringbuf_submit(e, 0);
  char fmt[] = "pid %d\n";
  bpf_trace_printk(fmt, sizeof(fmt), (u32)(id >> 32));
  return 0;
}
char LICENSE[] SEC("license") = "GPL";
