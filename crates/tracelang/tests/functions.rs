//! The functions the shipped bpftrace tools use (join, cat, ntop, bswap, buf, macaddr, reg,
//! strftime, kaddr, uaddr, cgroup_path, path), compiled against the fixed sample system:
//! what each accepts, where it is allowed, and the code that the kernel needs (join's ring
//! buffer record, bswap's byte swap). Their output is compared with bpftrace 0.17 in
//! crates/kmodkit/tests/trace_oracle.rs.

use tracelang::codegen::Action;

mod common;
use common::compile;

fn error(src: &str, wanted: &str) {
    match compile(src, false) {
        Ok(_) => panic!("{src} compiled"),
        Err(e) => assert!(e.contains(wanted), "{wanted:?} not in:\n{e}"),
    }
}

#[test]
fn join_reserves_a_ring_buffer_record_and_submits_it() {
    let c = compile(
        "tracepoint:syscalls:sys_enter_read { join((uint64)args->buf, \",\"); }",
        false,
    )
    .unwrap();
    assert!(c
        .actions
        .iter()
        .any(|a| matches!(a, Action::Join(d) if d == ",")));
    let calls: Vec<i32> = c.progs[0]
        .insns
        .iter()
        .filter(|i| i.code == 0x85)
        .map(|i| i.imm)
        .collect();
    // bpf_ringbuf_reserve once, bpf_ringbuf_submit once, 16 pointer and 16 string reads.
    assert_eq!(calls.iter().filter(|&&h| h == 131).count(), 1);
    assert_eq!(calls.iter().filter(|&&h| h == 132).count(), 1);
    assert_eq!(calls.iter().filter(|&&h| h == 112).count(), 16, "{calls:?}");
    assert_eq!(calls.iter().filter(|&&h| h == 114).count(), 16, "{calls:?}");
    error(
        "BEGIN { join(0, $1); }",
        "join() needs a string literal as its delimiter",
    );
}

#[test]
fn bswap_swaps_the_argument_s_own_width() {
    let c = compile("BEGIN { print(bswap((uint16)0x1234)); }", false).unwrap();
    let end = c.progs[0]
        .insns
        .iter()
        .find(|i| i.code == 0xd4 | 0x08)
        .expect("a BPF_END instruction");
    assert_eq!(end.imm, 16);
    error(
        "BEGIN { print(bswap(\"x\")); }",
        "bswap() expects an integer",
    );
}

#[test]
fn where_each_function_is_allowed() {
    error(
        "BEGIN { print(reg(\"ip\")); }",
        "reg() is only available in kprobes and uprobes",
    );
    error(
        "uprobe:/bin/sh:main { print(reg(\"eip\")); }",
        "unknown register `eip`",
    );
    compile("uprobe:/bin/sh:main { print(reg(\"di\")); }", false).unwrap();
    error(
        "BEGIN { printf(\"%s\\n\", path(0)); }",
        "path() is only available in kfunc and kretfunc probes",
    );
    error(
        "BEGIN { print(uaddr(\"x\")); }",
        "uaddr() is only available in uprobes",
    );
    error(
        "uprobe:/bin/sh:main { print(uaddr(\"no_such\")); }",
        "Could not resolve symbol: /bin/sh:no_such",
    );
    error(
        "BEGIN { print(kaddr(\"avenrun\")); }",
        "unknown kernel symbol `avenrun`",
    );
    // A dry run compiles an unresolved kaddr (as it compiles kprobes it cannot attach).
    compile("BEGIN { print(kaddr(\"avenrun\")); }", true).unwrap();
}

#[test]
fn argument_checks() {
    error("BEGIN { cat(1); }", "cat() needs a string literal");
    error(
        "BEGIN { cat(\"/x/%d\"); }",
        "cat: the format has 1 conversions",
    );
    compile("BEGIN { cat(\"/proc/%d/comm\", pid); }", false).unwrap();
    error(
        "BEGIN { print(ntop(\"ab\")); }",
        "ntop() expects an integer or an array",
    );
    compile(
        "BEGIN { print(ntop(2, 0x0100007f)); @[ntop(0)] = count(); }",
        false,
    )
    .unwrap();
    error(
        "BEGIN { print(buf(0)); }",
        "buf() of a pointer needs a length",
    );
    error(
        "BEGIN { printf(\"%r\\n\", 5); }",
        "printf: %r does not take",
    );
    compile(
        "BEGIN { printf(\"%r %s\\n\", buf(0, 8), macaddr(0)); }",
        false,
    )
    .unwrap();
    error(
        "BEGIN { print(strftime(1, nsecs)); }",
        "strftime() needs a string literal",
    );
    compile(
        "BEGIN { printf(\"%s\\n\", strftime(\"%H:%M\", nsecs)); }",
        false,
    )
    .unwrap();
    error("BEGIN { print(cgroup_path(cgroup, 1)); }", "as its filter");
}
