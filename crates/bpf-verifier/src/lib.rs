//! A user-space eBPF verifier. Not yet written.
