//! Any bytes as BTF: parse, then every question a tracer or loader asks of every type
//! (names, resolution, sizes, members through anonymous structs, prototypes, C rendering,
//! bpftool's raw dump), and the same bytes as split BTF on top of themselves. Nothing may
//! panic or loop.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| btf::fuzz_one(data));
