//! Interpreter speed on a few loop-heavy programs: `cargo run --release -p bpf-vm --example speed`.
//! scripts/bench-bpf runs it for the optimised figure.

use std::time::Instant;

const PROGS: &[(&str, u32, &str)] = &[
    (
        "alu-loop",
        5,
        "r1 = 0\nr0 = 0\nloop:\nr2 = r1\nr2 *= 2654435761\nr2 >>= 7\nr0 ^= r2\nr0 += r1\nr1 += 1\nif r1 < 200 goto loop\nexit\n",
    ),
    (
        "stack-loop",
        5,
        "r1 = 0\nr0 = 0\nloop:\n*(u64 *)(r10 - 8) = r1\nr2 = *(u64 *)(r10 - 8)\nr0 += r2\nr1 += 1\nif r1 < 200 goto loop\nexit\n",
    ),
    (
        "packet-sum",
        6,
        "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr0 = 0\nr1 = 0\nloop:\nr4 = r2\nr4 += r1\nr5 = r4\nr5 += 1\nif r5 > r3 goto out\nr5 = *(u8 *)(r4 + 0)\nr0 += r5\nr1 += 1\nif r1 < 64 goto loop\nout:\nexit\n",
    ),
];

fn main() {
    let packet: Vec<u8> = (0..64u8).collect();
    for (name, t, src) in PROGS {
        let prog = bpf_insn::assemble(src).expect("valid program");
        let once = bpf_vm::run::run(&prog, *t, &[], &packet, 1).expect("runs");
        let repeat = 20_000;
        let start = Instant::now();
        let r = bpf_vm::run::run(&prog, *t, &[], &packet, repeat).expect("runs");
        let ns = start.elapsed().as_nanos() as f64;
        let insns = once.steps as f64 * repeat as f64;
        println!(
            "{name:<12} {:>6} insns/run {:>8.1} M insns/s (r0={})",
            once.steps,
            insns / ns * 1e3,
            r.ret
        );
    }
}
