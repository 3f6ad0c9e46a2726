//! Inputs the `btf` fuzz target found (fuzz/fuzz_targets/btf.rs), kept as regression tests:
//! every question the target asks must answer, quickly, on each.

#[test]
fn fuzz_found_inputs_answer() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        btf::fuzz_one(&std::fs::read(&p).unwrap());
        n += 1;
    }
    assert!(n > 0, "no inputs in {}", dir.display());
}
