//! Inputs that once could abort the process (stack overflow, gigabytes of instructions)
//! end with a diagnostic at the right place instead; inputs just inside the limits compile.
//! The passes need about 4 MiB of stack at the depth limit in a debug build (far less
//! optimised); these run on threads with a main thread's 8 MiB, as `kmodkit trace` does.

use tracelang::codegen::{self, MAX_INSNS};
use tracelang::parser::MAX_DEPTH;

mod common;

fn compile(src: &str) -> Result<codegen::Compiled, String> {
    common::compile(src, false)
}

/// Runs `f` on a thread with a main thread's stack (8 MiB), not the harness's 2 MiB.
fn main_stack(f: impl FnOnce() + Send) {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn_scoped(s, f)
            .unwrap()
            .join()
            .unwrap()
    })
}

fn too_deep(src: &str) -> String {
    let e = compile(src).expect_err("nesting past the limit must be refused");
    assert!(e.contains("the program nests too deeply"), "{e}");
    e
}

#[test]
fn deep_nesting_of_every_kind_is_a_diagnostic() {
    main_stack(deep_nesting);
}

fn deep_nesting() {
    let n = 100_000;
    let e = too_deep(&format!(
        "BEGIN {{ @x = {}1{}; }}",
        "(".repeat(n),
        ")".repeat(n)
    ));
    // The caret is at the first parenthesis past the limit: on line 1, column 14 + depth.
    assert!(e.contains("t.bt:1:"), "{e}");
    too_deep(&format!("BEGIN {{ @x = 1{}; }}", " + 1".repeat(n)));
    too_deep(&format!("BEGIN {{ @x = {}1; }}", "~".repeat(n)));
    too_deep(&format!("BEGIN {{ @x = {}1; }}", "(uint32)".repeat(n)));
    too_deep(&format!("BEGIN {{ @x = 1 {}; }}", "? 1 : 1 ".repeat(n)));
    too_deep(&format!("BEGIN {{ @x = 0 {}; }}", "? 1 : 1 ".repeat(n)));
    too_deep(&format!(
        "BEGIN {{ {}{} }}",
        "if (1) { ".repeat(n),
        "}".repeat(n)
    ));
    too_deep(&format!(
        "BEGIN {{ {}{} }}",
        "unroll(2) { ".repeat(n),
        "}".repeat(n)
    ));
    too_deep(&format!(
        "BEGIN {{ {}{} }}",
        "while (0) { ".repeat(n),
        "}".repeat(n)
    ));
    too_deep(&format!(
        "BEGIN {{ if (0) {{ }} {} }}",
        "else if (1) { } ".repeat(n)
    ));
    too_deep(&format!(
        "BEGIN {{ @x = {}1{}; }}",
        "count(".repeat(n),
        ")".repeat(n)
    ));
    too_deep(&format!(
        "BEGIN {{ @x[{}1{}] = 1; }}",
        "@y[".repeat(n),
        "]".repeat(n)
    ));
    too_deep(&format!(
        "tracepoint:syscalls:sys_enter_read {{ @x = args{}; }}",
        "->a".repeat(n)
    ));
    too_deep(&format!(
        "BEGIN /{}1{}/ {{ }}",
        "(".repeat(n),
        ")".repeat(n)
    ));
}

#[test]
fn nesting_just_inside_the_limit_goes_through_every_pass() {
    main_stack(inside_the_limit);
}

fn inside_the_limit() {
    // Each `~` is one level of the parser and one node of the tree; the analysis and the
    // code generator walk it recursively.
    let d = MAX_DEPTH - 8;
    compile(&format!("BEGIN {{ @x = {}1; exit(); }}", "~".repeat(d))).unwrap();
    compile(&format!(
        "BEGIN {{ @x = {}1; exit(); }}",
        "(uint32)".repeat(d)
    ))
    .unwrap();
    compile(&format!(
        "BEGIN {{ $x = 1{}; exit(); }}",
        " + 1".repeat(d / 2)
    ))
    .unwrap();
    compile(&format!(
        "BEGIN {{ {}@x = 1;{} exit(); }}",
        "if (1) { ".repeat(d / 2),
        "}".repeat(d / 2)
    ))
    .unwrap();
    compile(&format!(
        "BEGIN {{ $i = 0; if ($i == 0) {{ }} {} exit(); }}",
        "else if ($i == 1) { } ".repeat(d)
    ))
    .unwrap();
    compile(&format!(
        "BEGIN {{ {}@x = 1;{} exit(); }}",
        "while (0) { ".repeat(d),
        "}".repeat(d)
    ))
    .unwrap();
    compile(&format!(
        "BEGIN {{ @x = {}1{}; exit(); }}",
        "(".repeat(d),
        ")".repeat(d)
    ))
    .unwrap();
    too_deep(&format!(
        "BEGIN {{ @x = {}1; exit(); }}",
        "~".repeat(MAX_DEPTH)
    ));
}

#[test]
fn nested_unrolls_stop_at_the_kernels_instruction_limit() {
    let src =
        "BEGIN {\n  unroll(100) { unroll(100) { unroll(100) { unroll(100) { @x = 1; } } } }\n}";
    let e = compile(src).unwrap_err();
    assert!(
        e.contains(&format!(
            "BPF program is too large: more than {MAX_INSNS} instructions"
        )),
        "{e}"
    );
    // Blamed on the outermost unroll, which multiplies everything inside it.
    assert!(e.contains("t.bt:2:3"), "{e}");
    // Just under the limit compiles: 100 * 100 * 10 small statements.
    let c = compile("BEGIN { unroll(100) { unroll(100) { unroll(10) { $x = 1; } } } exit(); }")
        .unwrap();
    assert!(c.progs[0].insns.len() <= MAX_INSNS);
}

#[test]
fn far_jumps_are_a_diagnostic_not_a_wrapped_offset() {
    // The predicate's jump to the end must cross the whole body: 40,000 stores.
    let e = compile(
        "tracepoint:syscalls:sys_enter_read /args->count == 3/ \
         { unroll(100) { unroll(100) { unroll(4) { $x = 1; } } } }",
    )
    .unwrap_err();
    assert!(e.contains("more than an eBPF jump reaches"), "{e}");
}

#[test]
fn huge_printf_widths_are_refused() {
    let e = compile("BEGIN { printf(\"%999999999999999999999d\\n\", 1); }").unwrap_err();
    assert!(e.contains("width"), "{e}");
    let e = compile("BEGIN { printf(\"%.99999999s\\n\", \"a\"); }").unwrap_err();
    assert!(e.contains("precision"), "{e}");
    compile("BEGIN { printf(\"%-20s|%08.3d\\n\", \"a\", 1); }").unwrap();
}
