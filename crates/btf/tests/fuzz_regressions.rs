//! Inputs the `btf` fuzz target found (fuzz/fuzz_targets/btf.rs), kept as regression tests:
//! every question the target asks must answer, quickly, on each.

fn ask_everything(data: &[u8]) {
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
}

#[test]
fn fuzz_found_inputs_answer() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        ask_everything(&std::fs::read(&p).unwrap());
        n += 1;
    }
    assert!(n > 0, "no inputs in {}", dir.display());
}
