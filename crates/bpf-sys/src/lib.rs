//! The bpf() syscall, maps, program loading and attachment. Not yet written.
