//! An eBPF interpreter. Not yet written.
