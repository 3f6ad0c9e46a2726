//! Generated programs through `bpf-verifier`, the user-space model of the kernel's
//! verifier: a code generator bug (an unchecked map lookup, a read of uninitialised stack,
//! an out-of-bounds context read, an unreachable instruction) shows here without a kernel.
//! The same scripts load in the real kernel in crates/kmodkit/tests/trace_oracle.rs.

use tracelang::codegen::Compiled;

mod common;

fn compile(src: &str) -> Compiled {
    common::compile(src, false).unwrap_or_else(|e| panic!("{e}"))
}

/// Every program of `src` must be accepted by the verifier.
fn accepted(src: &str) {
    let c = compile(src);
    let maps: Vec<bpf_verifier::MapInfo> = c
        .maps
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
    assert!(!c.progs.is_empty(), "{src}: no programs");
    for p in &c.progs {
        // bpf_probe_read_str (45, what bpftrace 0.17 calls too) is not in the model's helper
        // table; its kernel prototype (bpf_probe_read_compat_str_proto) is that of
        // bpf_probe_read_kernel_str (115), so verify with that.
        let insns: Vec<bpf_insn::Insn> = p
            .insns
            .iter()
            .map(|i| match *i {
                i if i.is_call() && i.src == 0 && i.imm == 45 => bpf_insn::build::call(115),
                i => i,
            })
            .collect();
        let input = bpf_verifier::Input {
            insns: &insns,
            prog_type: p.prog_type,
            maps: &maps,
        };
        // The trace compiler loads its programs with BTF function info.
        let opts = bpf_verifier::Options {
            func_info: true,
            ..Default::default()
        };
        if let Err(r) = bpf_verifier::verify(&input, &opts) {
            panic!(
                "{src}\nprogram {} rejected at {}: {:?}: {} ({})\n{}",
                p.name,
                r.pc,
                r.class,
                r.msg,
                r.regs,
                bpf_insn::disassemble(&p.insns)
            );
        }
    }
}

#[test]
fn maps_count_sum_and_keys() {
    accepted("tracepoint:syscalls:sys_enter_read { @[comm] = count(); @bytes[pid, args->fd] = sum(args->count); }");
    accepted("tracepoint:syscalls:sys_enter_read { @m[tid] = max(args->count); @n = min(args->count); @a = avg(args->count); @s = stats(args->count); }");
    accepted("tracepoint:syscalls:sys_enter_read { @start[tid] = nsecs; } tracepoint:syscalls:sys_enter_readahead /@start[tid]/ { @x = nsecs - @start[tid]; delete(@start[tid]); }");
    accepted(
        "BEGIN { @x = 1; @x++; @x += 5; @y[1, 2] = @x; print(@y); clear(@y); zero(@x); exit(); }",
    );
}

#[test]
fn histograms() {
    accepted("tracepoint:syscalls:sys_enter_read { @h = hist(args->count); @l[comm] = lhist(args->count, 0, 1000, 10); }");
}

#[test]
fn printf_and_control_flow() {
    accepted("tracepoint:syscalls:sys_enter_read /args->count > 10/ { printf(\"%d %s %x %-8d|%5s\\n\", pid, comm, args->fd, tid, comm); }");
    accepted("BEGIN { $i = 0; while ($i < 10) { $i++; if ($i == 5) { continue; } if ($i > 8) { break; } } printf(\"%d\\n\", $i); exit(); }");
    accepted(
        "BEGIN { unroll(4) { @c = count(); } $x = 3 > 2 ? 1 : 2; printf(\"%d\\n\", $x); exit(); }",
    );
    accepted("BEGIN { time(\"%H:%M:%S\\n\"); printf(\"%u %d\\n\", elapsed, cpu); exit(); }");
}

#[test]
fn strings() {
    accepted("tracepoint:syscalls:sys_enter_read { @s[str(args->buf)] = count(); }");
    accepted("tracepoint:syscalls:sys_enter_read { @s[str(args->buf, 16)] = count(); printf(\"%s\\n\", str(args->buf)); }");
    accepted("tracepoint:syscalls:sys_enter_read /comm == \"bash\"/ { @ = count(); }");
    accepted("tracepoint:syscalls:sys_enter_read /strncmp(comm, \"ba\", 2) == 0/ { @ = count(); }");
}

#[test]
fn stacks() {
    accepted(
        "tracepoint:syscalls:sys_enter_read { @k[kstack] = count(); @u[ustack(5)] = count(); }",
    );
    accepted("tracepoint:syscalls:sys_enter_read { printf(\"%s\\n\", kstack(3)); }");
}

#[test]
fn probe_kinds() {
    accepted(
        "interval:ms:100 { @ = count(); } profile:hz:99 { @p[cpu] = count(); } END { print(@); }",
    );
    accepted("uprobe:/bin/bash:readline { @[comm] = count(); } uretprobe:/bin/bash:readline { @r = hist(retval); }");
}
