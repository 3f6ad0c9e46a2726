//! Inputs the `bpf_verify` fuzz target found (fuzz/fuzz_targets/bpf_verify.rs), kept as
//! regression tests. Each was a timeout: a loop that only shrinks a range kept a state per
//! iteration and compared each new one with all of them (23 s to reach the kernel's 1M
//! instruction limit). The verifier must still reject them, as the kernel does, at the limit.

#[test]
fn fuzz_found_inputs_reach_the_limit() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let prog = bpf_verifier::testgen::program(&std::fs::read(&p).unwrap(), 128);
        let input = bpf_verifier::Input {
            insns: &prog,
            prog_type: 6,
            maps: &[],
        };
        let opts = bpf_verifier::Options {
            complexity_limit: 1_000_000,
            ..Default::default()
        };
        let r = bpf_verifier::verify(&input, &opts);
        let e = r.expect_err(&format!("{} is accepted", p.display()));
        assert_eq!(e.class, bpf_verifier::Class::Loop, "{}: {e}", p.display());
        n += 1;
    }
    assert!(n > 0, "no inputs in {}", dir.display());
}

/// Inputs that made the verifier panic (an offset of i64::MIN whose `abs()` overflowed):
/// each must get a verdict.
#[test]
fn fuzz_found_crashes_answer() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz-crash");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let prog = bpf_verifier::testgen::program(&std::fs::read(e.unwrap().path()).unwrap(), 128);
        let input = bpf_verifier::Input {
            insns: &prog,
            prog_type: 6,
            maps: &[],
        };
        let _ = bpf_verifier::verify(
            &input,
            &bpf_verifier::Options {
                complexity_limit: 20_000,
                ..Default::default()
            },
        );
        n += 1;
    }
    assert!(n > 0, "no inputs in {}", dir.display());
}
