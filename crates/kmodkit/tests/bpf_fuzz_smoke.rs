//! A deterministic slice of the fuzz target (fuzz/fuzz_targets/bpf_verify.rs): generated
//! programs go to the verifier; whatever it accepts runs in the checked interpreter, where
//! any memory violation would be a verifier bug.

use bpf_verifier::{verify, Input, MapInfo, Options};
use bpf_vm::fuzzcheck::{maps, run_accepted};

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

#[test]
fn accepted_programs_never_violate_memory() {
    let infos: Vec<MapInfo> = maps().iter().map(|m| MapInfo::from(&m.to_def())).collect();
    let opts = Options {
        complexity_limit: 100_000,
        ..Default::default()
    };
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let (mut accepted, mut total) = (0, 0);
    let packet: Vec<u8> = (0..48u8).collect();
    let mut failures = Vec::new();
    for _ in 0..20_000 {
        let len = 8 + (xorshift(&mut seed) % 120) as usize;
        let data: Vec<u8> = (0..len).map(|_| xorshift(&mut seed) as u8).collect();
        let prog = bpf_verifier::testgen::program(&data, 96);
        total += 1;
        let input = Input {
            insns: &prog,
            prog_type: 6,
            maps: &infos,
        };
        if verify(&input, &opts).is_ok() {
            accepted += 1;
            match run_accepted(&prog, 6, &packet) {
                Ok(_) => {}
                Err(e) => failures.push(format!("{e}\n{}", bpf_insn::disassemble(&prog))),
            }
        }
    }
    eprintln!("fuzz smoke: {accepted} of {total} generated programs accepted and run");
    assert!(
        failures.is_empty(),
        "{} verifier bugs:\n{}",
        failures.len(),
        failures[..failures.len().min(3)].join("\n---\n")
    );
    assert!(
        accepted > 500,
        "only {accepted} accepted: the generator no longer exercises the interpreter"
    );
}

/// Inputs of the fuzz target that found verifier/interpreter disagreements, decoded as the
/// target decodes them (an even first byte: raw instructions after it; odd: the generator).
/// `may_goto_accepted_not_run.bin`: the verifier accepted `may_goto`, the interpreter did
/// not know the instruction. `redirect_accepted_not_run.bin`: the verifier accepted
/// `bpf_redirect` in XDP, the interpreter did not implement it. `loop_runs_long.bin`: a
/// long run (libFuzzer's timeout), which now stops at the step limit.
#[test]
fn fuzz_found_programs_run_when_accepted() {
    let infos: Vec<MapInfo> = maps().iter().map(|m| MapInfo::from(&m.to_def())).collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bpf_fuzz");
    let packet: Vec<u8> = (0..64u8).collect();
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let data = std::fs::read(&p).unwrap();
        let prog = if data.first().is_some_and(|b| b & 1 == 0) {
            let body = &data[1..];
            bpf_insn::decode_all(&body[..body.len() / 8 * 8], bpf_insn::Endian::Little).unwrap()
        } else {
            bpf_verifier::testgen::program(&data, 128)
        };
        let prog_type = bpf_vm::fuzzcheck::prog_type(&data);
        let input = Input {
            insns: &prog,
            prog_type,
            maps: &infos,
        };
        let opts = Options {
            complexity_limit: 20_000,
            func_info: true,
            ..Default::default()
        };
        if verify(&input, &opts).is_ok() {
            if let Err(e) = run_accepted(&prog, prog_type, &packet) {
                panic!("{}: {e}\n{}", p.display(), bpf_insn::disassemble(&prog));
            }
        }
        n += 1;
    }
    assert!(n > 0, "no inputs in {}", dir.display());
}

/// The class behind `redirect_accepted_not_run.bin`: every helper the verifier lets a
/// program of a test-runnable type call (on the latest kernel it models), the interpreter
/// implements. Each is called once with the context in r1 and zeros elsewhere: any outcome
/// but "unknown helper" means the interpreter knows it.
#[test]
fn interpreter_knows_every_helper_the_verifier_accepts() {
    use bpf_verifier::helpers::{map_incompatible, modelled, unavailable, Arg, PROTOS};
    let kernel = bpf_verifier::kernel::Kernel::default();
    let packet: Vec<u8> = (0..64u8).collect();
    let mut missing = Vec::new();
    let mut checked = 0;
    for prog_type in [1u32, 3, 4, 6, 8, 17] {
        for p in PROTOS {
            // A helper no map type may be passed to cannot pass the verifier.
            let no_map = p.args.contains(&Arg::ConstMapPtr)
                && (0..64).all(|t| map_incompatible(p.id, t).is_some());
            if !modelled(p) || no_map || unavailable(p, prog_type, &kernel).is_some() {
                continue;
            }
            let prog = bpf_insn::assemble(&format!("call {}\nexit\n", p.id)).unwrap();
            let r = bpf_vm::run::run(&prog, prog_type, &[], &packet, 1);
            checked += 1;
            if let Err(bpf_vm::run::RunError::Vm(bpf_vm::VmError::UnknownHelper { .. })) = r {
                missing.push(format!("type {prog_type}: {} bpf_{}", p.id, p.name));
            }
        }
    }
    eprintln!("{checked} (program type, helper) pairs checked");
    assert!(
        missing.is_empty(),
        "the interpreter lacks:\n{}",
        missing.join("\n")
    );
}
