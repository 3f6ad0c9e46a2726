//! `kmodkit bpf` as a command: clang/gas section directives reach the object, refusals
//! name file:line:col and what was expected, errors go through main's one error path, and
//! a reader that closes the pipe early ends `bpf disasm` quietly.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

fn kmodkit(args: &[&str]) -> std::process::Output {
    Command::new(testsupport::kmodkit())
        .args(args)
        .output()
        .expect("run kmodkit")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn asm_takes_clang_section_directives() {
    let tmp = tempfile::tempdir().unwrap();
    let s = tmp.path().join("p.s");
    // As `clang -S -target bpf` writes a socket filter.
    std::fs::write(
        &s,
        "\t.text\n\t.file\t\"p.c\"\n\t.section\tsocket,\"ax\",@progbits\n\t.globl\tprog\n\t.p2align\t3\n\t.type\tprog,@function\nprog:\n\tr0 = 0\n\texit\n.Lfunc_end0:\n\t.size\tprog, .Lfunc_end0-prog\n",
    )
    .unwrap();
    let o = tmp.path().join("p.o");
    let out = kmodkit(&["bpf", "asm", s.to_str().unwrap(), "-o", o.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let d = kmodkit(&["bpf", "disasm", o.to_str().unwrap()]);
    assert!(d.status.success(), "{}", text(&d.stderr));
    let listing = text(&d.stdout);
    assert!(
        listing.contains("Disassembly of section socket:"),
        "{listing}"
    );
    assert!(!listing.contains("section socket,"), "{listing}");
    // The section name gives the program type: the verifier takes it as a socket filter.
    let v = kmodkit(&["bpf", "verify", o.to_str().unwrap()]);
    assert!(v.status.success(), "{}{}", text(&v.stdout), text(&v.stderr));
}

#[test]
fn asm_refusals_name_file_line_col_and_expectation() {
    let tmp = tempfile::tempdir().unwrap();
    let s = tmp.path().join("bad.s");
    let o = tmp.path().join("bad.o");
    let cases: &[(&str, &str)] = &[
        (".section\nexit\n", "bad.s:1:9: expected a section name"),
        (".section socket \"ax\"\nexit\n", "bad.s:1:17: expected `,`"),
        ("exit\n  r0 = *(u32 *)(r1 + 4\n", "bad.s:2:23: expected `)`"),
        ("goto out\nexit\n", "bad.s:1:6: undefined label `out`"),
    ];
    for (src, want) in cases {
        std::fs::write(&s, src).unwrap();
        let out = kmodkit(&["bpf", "asm", s.to_str().unwrap(), "-o", o.to_str().unwrap()]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{src:?}: {err}");
        assert!(err.starts_with("kmodkit bpf: "), "{src:?}: {err}");
        assert!(err.contains(want), "{src:?}: want {want:?} in {err}");
        assert_eq!(err.lines().count(), 1, "{src:?}: one message: {err}");
        assert!(!o.exists(), "{src:?}: nothing written");
    }
    // A missing input names the file; an unknown subcommand is a usage error (2).
    let out = kmodkit(&["bpf", "asm", "/nonexistent/x.s", "-o", o.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("/nonexistent/x.s: "),
        "{}",
        text(&out.stderr)
    );
    let out = kmodkit(&["bpf", "frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("kmodkit bpf: unknown command `frobnicate`\nusage:"));
    let out = kmodkit(&["bpf", "asm", "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn disasm_into_a_pipe_closed_early_ends_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let s = tmp.path().join("big.s");
    // 40,000 instructions: a listing of well over a pipe buffer (64 KiB).
    let mut src = String::from(".section socket,\"ax\",@progbits\n");
    for i in 0..40_000 {
        src.push_str(&format!("r{} = {}\n", i % 10, i));
    }
    src.push_str("exit\n");
    std::fs::write(&s, src).unwrap();
    let o = tmp.path().join("big.o");
    let out = kmodkit(&["bpf", "asm", s.to_str().unwrap(), "-o", o.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut child = Command::new(testsupport::kmodkit())
        .args(["bpf", "disasm", o.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // `| head -1`: read one line, then close the pipe.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty());
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.is_empty(), "nothing on stderr: {err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
    // Killed by SIGPIPE, as a C tool would be (the listing is far larger than the pipe).
    const SIGPIPE: i32 = 13;
    assert_eq!(out.status.signal(), Some(SIGPIPE), "{:?}", out.status);
}

/// `bpf verify` explains a rejection: under `why:`, the instructions on the path that made
/// the faulting pointer what it was, each jump with the way it went; then the path; the
/// same in `--json`.
#[test]
fn verify_explains_rejections() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("bound.s");
    std::fs::write(
        &f,
        "r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nr1 = map_idx(0, 0) ll\ncall 1\n\
         if r0 == 0 goto out\nr1 = *(u32 *)(r0 + 0)\nif r1 > 60 goto out\nr0 += r1\n\
         r0 = *(u64 *)(r0 + 0)\nout:\nr0 = 0\nexit\n",
    )
    .unwrap();
    let f = f.to_str().unwrap();
    let out = kmodkit(&["bpf", "verify", "--type", "xdp", "--map", "1,4,64,4", f]);
    assert_eq!(out.status.code(), Some(1));
    let o = text(&out.stdout);
    let why: Vec<&str> = o
        .lines()
        .skip_while(|l| !l.starts_with("  why:"))
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .map(str::trim)
        .collect();
    assert_eq!(
        why,
        [
            "insn 6: call 1 (bpf_map_lookup_elem)",
            "insn 7: if r0 == 0 goto +4  (not taken)",
            "insn 8: r1 = *(u32 *)(r0 + 0)",
            "insn 9: if r1 > 60 goto +2  (not taken)",
            "insn 10: r0 += r1",
            "insn 11: r0 = *(u64 *)(r0 + 0)  <- rejected",
        ],
        "{o}"
    );
    assert!(o.contains("  path: insns 0-11\n"), "{o}");
    let out = kmodkit(&[
        "bpf", "verify", "--type", "xdp", "--map", "1,4,64,4", "--json", f,
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let causes = v[0]["explain"]["causes"].as_array().unwrap();
    assert_eq!(causes.len(), 5);
    assert_eq!(causes[3]["branch"], "not taken");
    assert_eq!(v[0]["explain"]["path"], serde_json::json!([[0, 11]]));
}
