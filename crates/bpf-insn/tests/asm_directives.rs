//! Section directives as clang (`clang -S -target bpf`) and gas write them, and the reasons
//! the assembler gives when it refuses a line (line:col and what was expected).

use bpf_insn::{assemble, assemble_sections, AsmError};

fn names(src: &str) -> Vec<String> {
    assemble_sections(src)
        .unwrap_or_else(|e| panic!("{src:?}: {e}"))
        .into_iter()
        .map(|s| s.name)
        .collect()
}

fn err(src: &str) -> AsmError {
    match assemble_sections(src) {
        Ok(s) => panic!("{src:?} assembled: {s:?}"),
        Err(e) => e,
    }
}

#[test]
fn clang_section_directive_with_flags_and_type() {
    let src = "\t.text\n\t.file\t\"p.c\"\n\t.section\tsocket,\"ax\",@progbits\n\t.globl\tprog\n\t.p2align\t3\nprog:\n\tr0 = 0\n\texit\n";
    let secs = assemble_sections(src).unwrap();
    assert_eq!(secs.len(), 1, "{secs:?}");
    assert_eq!(secs[0].name, "socket");
    assert_eq!(secs[0].insns.len(), 2);
    assert_eq!(secs[0].labels, vec![("prog".to_string(), 0)]);
}

#[test]
fn section_name_forms() {
    assert_eq!(names(".text\nexit\n"), [".text"]);
    assert_eq!(names(".section .text\nexit\n"), [".text"]);
    assert_eq!(names(".section \"xdp\"\nexit\n"), ["xdp"]);
    assert_eq!(names(".section \"a b\",\"ax\"\nexit\n"), ["a b"]);
    assert_eq!(
        names(".section kprobe/sys_open , \"ax\" , @progbits\nexit\n"),
        ["kprobe/sys_open"]
    );
    assert_eq!(
        names(".section tc,\"ax\",%progbits,unique,1\nexit\n"),
        ["tc"]
    );
    assert_eq!(
        names(
            ".section socket,\"ax\",@progbits\nexit\n.section xdp,\"ax\",@progbits\nr0 = 2\nexit\n"
        ),
        ["socket", "xdp"]
    );
    // Other directives and local labels are no sections.
    assert_eq!(
        names(".globl f\n.p2align 3\nf:\n.LBB0_1:\nexit\n"),
        [".text"]
    );
}

#[test]
fn one_section_stream_after_a_named_section() {
    let insns = assemble(".section socket,\"ax\",@progbits\nr0 = 1\nexit\n").unwrap();
    assert_eq!(insns.len(), 2);
}

#[test]
fn malformed_section_directives_say_where_and_what() {
    let e = err(".section\n");
    assert_eq!((e.line, e.col), (1, 9), "{e}");
    assert!(e.msg.contains("expected a section name"), "{e}");
    let e = err("exit\n  .section ,\"ax\"\n");
    assert_eq!((e.line, e.col), (2, 12), "{e}");
    assert!(e.msg.contains("expected a section name"), "{e}");
    let e = err(".section \"socket\n");
    assert_eq!(e.line, 1);
    assert!(e.msg.contains("closing `\"`"), "{e}");
    let e = err(".section socket \"ax\"\n");
    assert_eq!((e.line, e.col), (1, 17), "{e}");
    assert!(e.msg.contains("expected `,`"), "{e}");
    let e = err(".text foo\n");
    assert_eq!((e.line, e.col), (1, 7), "{e}");
    assert!(e.msg.contains("end of the line"), "{e}");
}

#[test]
fn every_refusal_has_a_place_and_an_expectation() {
    // (source, line, col, part of the message)
    let cases: &[(&str, usize, usize, &str)] = &[
        ("r0 +== 1\n", 1, 6, "expected a number"),
        ("exit\nr11 = 1\n", 2, 1, ""),
        ("goto nowhere\n", 1, 6, "undefined label `nowhere`"),
        ("a:\na:\nexit\n", 2, 1, "label `a` defined twice"),
        ("r0 = 1 2\n", 1, 8, "unexpected text"),
        ("r0 = *(u32 *)(r1 + 4\n", 1, 21, "expected `)`"),
        ("r0 = 99999999999\n", 1, 6, "does not fit"),
    ];
    for (src, line, col, what) in cases {
        let e = err(src);
        assert_eq!((e.line, e.col), (*line, *col), "{src:?}: {e}");
        assert!(!e.msg.is_empty() && e.msg.contains(what), "{src:?}: {e}");
    }
}
