//! The bpftrace-compatible tracing language, compiled to eBPF. Not yet written.
