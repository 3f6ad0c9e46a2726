//! The compiler pipeline without a kernel: parse, analyse against a fixed system description
//! (a real tracefs format file's text), compile, and check properties the kernel relies on;
//! plus the output formatting helpers. The end-to-end comparison with bpftrace lives in
//! crates/kmodkit/tests/trace_oracle.rs.

use ktrace::codegen::{self, Compiled};
use ktrace::output::{self, Format};
use ktrace::sema::{self, wildcard_match, Env};
use ktrace::types::{parse_tp_format, TpField};
use ktrace::{insn, parser};

/// `syscalls:sys_enter_read` as this machine's tracefs describes it.
const READ_FORMAT: &str = "name: sys_enter_read
ID: 842
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:unsigned int fd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:char * buf;\toffset:24;\tsize:8;\tsigned:0;
\tfield:size_t count;\toffset:32;\tsize:8;\tsigned:0;

print fmt: \"fd: 0x%08lx\"
";

struct FixedEnv;

impl Env for FixedEnv {
    fn tracepoints(&self, c: &str, n: &str) -> Result<Vec<(String, String)>, String> {
        let all = [
            ("syscalls", "sys_enter_read"),
            ("syscalls", "sys_enter_readahead"),
        ];
        Ok(all
            .iter()
            .filter(|(ac, an)| wildcard_match(c, ac) && wildcard_match(n, an))
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect())
    }
    fn tracepoint_format(&self, _c: &str, _n: &str) -> Result<Vec<TpField>, String> {
        Ok(parse_tp_format(READ_FORMAT))
    }
    fn kprobes_available(&self) -> bool {
        false
    }
    fn uprobe_target(&self, _path: &str, _symbol: &str) -> Result<(), String> {
        Ok(())
    }
}

fn compile(src: &str) -> Result<Compiled, String> {
    let prog = parser::parse(src).map_err(|d| d.render("t.bt", src))?;
    let a = sema::analyse(
        &prog,
        &FixedEnv,
        &sema::Options {
            positional: &[],
            unsafe_ok: false,
        },
    )
    .map_err(|d| d.render("t.bt", src))?;
    codegen::compile(&prog, &a, &codegen::Options::default()).map_err(|d| d.render("t.bt", src))
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
                insn::disasm(&p.insns)
            );
        }
    }
}

#[test]
fn a_comparison_with_a_constant_is_one_branch() {
    let c =
        compile("tracepoint:syscalls:sys_enter_read /args->count == 7/ { @ = count(); }").unwrap();
    let text = insn::disasm(&c.progs[0].insns);
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
fn histogram_rows_as_bpftrace_prints_them() {
    // bucket 1 is zero, bucket 2 is 1, bucket 4 is [4, 8)
    let mut v = vec![0u64; 65];
    v[1] = 2;
    v[4] = 4;
    let text = output::hist_to_str(&v, 1);
    let expected = "\
[0]                    2 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[1]                    0 |                                                    |
[2, 4)                 0 |                                                    |
[4, 8)                 4 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
";
    assert_eq!(text, expected);
    assert_eq!(
        output::hist_to_json(&v, 1),
        r#"[{"min": 0, "max": 0, "count": 2}, {"min": 1, "max": 1, "count": 0}, {"min": 2, "max": 3, "count": 0}, {"min": 4, "max": 7, "count": 4}]"#
    );
    let mut l = vec![0u64; 13];
    l[0] = 1;
    l[11] = 1;
    assert_eq!(
        output::lhist_to_str(&l, 0, 1024, 100)
            .lines()
            .last()
            .unwrap(),
        "[1K, ...)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|"
    );
}

#[test]
fn json_strings_are_escaped_like_bpftrace() {
    assert_eq!(
        output::json_escape("a\"b\\c\nd\te\u{1}"),
        "a\\\"b\\\\c\\nd\\te\\u0001"
    );
    assert_eq!(
        output::attaching(2, Format::Json),
        "{\"type\": \"attached_probes\", \"data\": {\"probes\": 2}}\n"
    );
    assert_eq!(output::attaching(1, Format::Text), "Attaching 1 probe...\n");
}
