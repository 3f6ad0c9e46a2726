//! Random instruction streams -> verifier; whatever it accepts runs in the checked
//! interpreter, where a memory violation is a verifier bug (the target panics).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let maps: Vec<bpf_verifier::MapInfo> = bpf_vm::fuzzcheck::maps()
        .iter()
        .map(|m| bpf_verifier::MapInfo {
            name: m.name.clone(),
            map_type: m.map_type,
            key_size: m.key_size,
            value_size: m.value_size,
            max_entries: m.max_entries,
            frozen: None,
            flags: 0,
            ..Default::default()
        })
        .collect();
    // Half the inputs are raw instruction bytes, half go through the structured generator.
    let prog = if data.first().is_some_and(|b| b & 1 == 0) {
        // Whole instructions after the selector byte.
        let body = &data[1..];
        match bpf_insn::decode_all(&body[..body.len() / 8 * 8], bpf_insn::Endian::Little) {
            Ok(p) if !p.is_empty() => p,
            _ => return,
        }
    } else {
        bpf_verifier::testgen::program(data, 128)
    };
    let prog_type = bpf_vm::fuzzcheck::prog_type(data);
    let input = bpf_verifier::Input {
        insns: &prog,
        prog_type,
        maps: &maps,
    };
    let opts = bpf_verifier::Options {
        // The limit path is the same at any size; a smaller one keeps each input cheap.
        complexity_limit: 20_000,
        // As loaded from an object with BTF: callbacks may be taken.
        func_info: true,
        global_funcs: Some(global_funcs(&prog, data)),
        ..Default::default()
    };
    if bpf_verifier::verify(&input, &opts).is_ok() {
        let packet: Vec<u8> = (0..64u8).collect();
        if let Err(e) = bpf_vm::fuzzcheck::run_accepted(&prog, prog_type, &packet) {
            panic!("verifier bug: {e}\n{}", bpf_insn::disassemble(&prog));
        }
    }
});

/// Some of the program's subprograms made global, with prototypes chosen by the input: each
/// is then verified on its own, and the interpreter checks that every call of it is safe.
fn global_funcs(prog: &[bpf_insn::Insn], data: &[u8]) -> Vec<bpf_verifier::GlobalFunc> {
    use bpf_verifier::GlobalArg;
    let mut starts: Vec<usize> = prog
        .iter()
        .enumerate()
        .filter(|(_, i)| i.is_call() && !i.is_reg_src() && i.src == 1)
        .map(|(pc, i)| pc as i64 + 1 + i.imm as i64)
        .filter(|t| *t > 0 && (*t as usize) < prog.len())
        .map(|t| t as usize)
        .collect();
    starts.sort_unstable();
    starts.dedup();
    let byte = |k: usize| data.get(data.len().saturating_sub(1 + k)).copied().unwrap_or(0);
    starts
        .into_iter()
        .enumerate()
        .filter(|(n, _)| byte(*n) & 1 == 1)
        .map(|(n, start)| {
            let b = byte(n + 1);
            let args = (0..(b % 6) as usize)
                .map(|k| match byte(n + 2 + k) % 4 {
                    0 | 1 => GlobalArg::Scalar,
                    2 => GlobalArg::Ctx,
                    _ => GlobalArg::Mem {
                        size: u32::from(byte(n + 5 + k) % 64) + 1,
                        nullable: byte(n + 8 + k) & 1 == 1,
                    },
                })
                .collect();
            bpf_verifier::GlobalFunc {
                start,
                name: format!("g{n}"),
                args: Ok(args),
            }
        })
        .collect()
}
