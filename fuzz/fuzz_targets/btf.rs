//! Any bytes as BTF: parse, then every question a tracer or loader asks of every type
//! (names, resolution, sizes, members through anonymous structs, prototypes, C rendering,
//! bpftool's raw dump), and the same bytes as split BTF on top of themselves. Nothing may
//! panic or loop.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(b) = btf::Btf::parse(data) else {
        return;
    };
    for id in 0..b.len() as u32 {
        let _ = b.name(id);
        let _ = b.size_of(id);
        let _ = b.c_type(id);
        let _ = b.member_names(id);
        let _ = b.member(id, "a");
        let _ = b.func_proto(id);
    }
    let _ = b.enum_value("A");
    let _ = b.struct_named("s");
    let mut out = String::new();
    let _ = b.dump_raw(&mut out);
    if let Ok(split) = btf::Btf::parse_split(data, &b) {
        let mut out = String::new();
        let _ = split.dump_raw(&mut out);
    }
    let _ = btf::find_in_image(data);
});
