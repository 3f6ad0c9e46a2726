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
        ..Default::default()
    };
    if bpf_verifier::verify(&input, &opts).is_ok() {
        let packet: Vec<u8> = (0..64u8).collect();
        if let Err(e) = bpf_vm::fuzzcheck::run_accepted(&prog, prog_type, &packet) {
            panic!("verifier bug: {e}\n{}", bpf_insn::disassemble(&prog));
        }
    }
});
