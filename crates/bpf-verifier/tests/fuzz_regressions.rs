//! Inputs the `bpf_verify` fuzz target found (fuzz/fuzz_targets/bpf_verify.rs), kept as
//! regression tests: the verifier must answer each, and quickly (the fuzzer's timeout found
//! them; a debug build here takes well under a second per input).

#[test]
fn fuzz_found_inputs_answer() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let data = std::fs::read(&p).unwrap();
        let prog = bpf_verifier::testgen::program(&data, 128);
        eprintln!("{}:\n{}", p.display(), bpf_insn::disassemble(&prog));
        let t = std::time::Instant::now();
        let r = bpf_verifier::verify(
            &bpf_verifier::Input { insns: &prog, prog_type: 6, maps: &[] },
            &bpf_verifier::Options { complexity_limit: 200_000 },
        );
        eprintln!("{:?} {:?}", r.map(|v| v.insns_processed), t.elapsed());
        n += 1;
    }
    assert!(n > 0, "no inputs in {}", dir.display());
}
