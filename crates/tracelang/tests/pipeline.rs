//! The compiler pipeline without a kernel: parse, analyse against a fixed system description
//! (a real tracefs format file's text), compile, and check properties the kernel relies on.
//! The end-to-end comparison with bpftrace lives in
//! crates/kmodkit/tests/trace_oracle.rs.

use tracelang::codegen::Compiled;
use tracelang::parser;
use tracelang::sema::{self, wildcard_match};

use tracelang::SampleEnv as FixedEnv;

mod common;

fn compile(src: &str) -> Result<Compiled, String> {
    common::compile(src, false)
}

#[test]
fn wildcards_match_like_bpftrace_0_17() {
    assert!(wildcard_match("sys_enter_re*d", "sys_enter_read"));
    // First occurrence, no backtracking: bpftrace lists only sys_enter_read here.
    assert!(!wildcard_match("sys_enter_re*d", "sys_enter_readahead"));
    assert!(wildcard_match("*", "anything"));
    assert!(wildcard_match("*read*", "sys_enter_readahead"));
    assert!(!wildcard_match("read", "readahead"));
    let c = compile("tracepoint:syscalls:sys_enter_re*d { @ = count(); }").unwrap();
    assert_eq!(c.progs.len(), 1);
}

#[test]
fn programs_end_in_exit_and_have_no_unreachable_jumps() {
    for src in [
        "tracepoint:syscalls:sys_enter_read /args->count > 10/ { if (args->count == 3) { exit(); } @ = count(); }",
        "BEGIN { $i = 0; while ($i < 3) { $i++; if ($i == 2) { break; } } exit(); }",
        "BEGIN { if (1) { exit(); } else { exit(); } }",
    ] {
        let c = compile(src).unwrap();
        for p in &c.progs {
            let last = p.insns.last().unwrap();
            assert_eq!(last.code, 0x95, "{src}: last instruction is not exit");
            // Every instruction must be reachable: the kernel refuses unreachable ones.
            let n = p.insns.len();
            let mut seen = vec![false; n];
            let mut todo = vec![0usize];
            while let Some(pc) = todo.pop() {
                if pc >= n || seen[pc] {
                    continue;
                }
                seen[pc] = true;
                let i = p.insns[pc];
                let class = i.code & 7;
                match i.code {
                    0x95 => {}
                    0x05 => todo.push((pc as i64 + 1 + i.off as i64) as usize),
                    0x18 => {
                        seen[pc + 1] = true;
                        todo.push(pc + 2);
                    }
                    0x85 => todo.push(pc + 1),
                    _ if class == 5 || class == 6 => {
                        todo.push(pc + 1);
                        todo.push((pc as i64 + 1 + i.off as i64) as usize);
                    }
                    _ => todo.push(pc + 1),
                }
            }
            assert!(
                seen.iter().all(|&s| s),
                "{src}: unreachable instructions\n{}",
                bpf_insn::disassemble(&p.insns)
            );
        }
    }
}

#[test]
fn a_comparison_with_a_constant_is_one_branch() {
    let c =
        compile("tracepoint:syscalls:sys_enter_read /args->count == 7/ { @ = count(); }").unwrap();
    let text = bpf_insn::disassemble(&c.progs[0].insns);
    assert!(text.contains("!= 7 goto"), "{text}");
}

#[test]
fn script_errors_point_at_the_source() {
    let e = compile("tracepoint:syscalls:sys_enter_read { @x = args->nope; }").unwrap_err();
    assert!(e.contains("t.bt:1:49"), "{e}");
    assert!(e.contains("unknown field `nope`"), "{e}");
    let e = compile("kprobe:vfs_read { @ = count(); }").unwrap_err();
    assert!(e.contains("kprobes are not available"), "{e}");
    let e = compile("BEGIN { @x = lhist(1, 0, 10); }").unwrap_err();
    assert!(e.contains("lhist() takes 4 arguments"), "{e}");
}

#[test]
fn positional_strings_only_through_str() {
    let check = |src: &str, pos: &[&str]| {
        let prog = parser::parse(src).unwrap();
        let pos: Vec<String> = pos.iter().map(|s| s.to_string()).collect();
        sema::analyse(
            &prog,
            &FixedEnv,
            &sema::Options {
                positional: &pos,
                unsafe_ok: false,
                dry_run: false,
            },
        )
        .map(|_| ())
        .map_err(|d| d.render("t.bt", src))
    };
    let e = check("BEGIN { printf(\"%s\\n\", $1); }", &["hello"]).unwrap_err();
    assert!(e.contains("$1 used numerically but given \"hello\""), "{e}");
    check(
        "BEGIN { printf(\"%s %d\\n\", str($1), $2); }",
        &["hello", "41"],
    )
    .unwrap();
}

#[test]
fn kernel_symbol_use_is_known_before_loading() {
    let uses = |src: &str| compile(src).unwrap().uses_kernel_symbols();
    assert!(uses(
        "tracepoint:syscalls:sys_enter_read { @[kstack] = count(); }"
    ));
    assert!(uses("BEGIN { printf(\"%s\\n\", ksym(0)); exit(); }"));
    assert!(uses("BEGIN { @k[1, ksym(0)] = count(); exit(); }"));
    assert!(!uses(
        "tracepoint:syscalls:sys_enter_read { @[comm] = count(); }"
    ));
    assert!(!uses("BEGIN { printf(\"%s\\n\", usym(0)); exit(); }"));
}
