//! Script errors: each class gives a caret diagnostic at the right line and column, exit
//! status 1, and nothing is loaded (no `Attaching` line, no program in the kernel). These run
//! without bpf(): diagnostics come before anything touches the kernel. Tracepoint checks need
//! tracefs, which `kmodkit trace` mounts when it can; they are skipped when it cannot.

use std::process::Command;
use testsupport::{skip, Requirement};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn trace(script: &str) -> Run {
    let o = Command::new(testsupport::kmodkit())
        .args(["trace", "-e", script])
        .output()
        .expect("run kmodkit");
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn tracefs() -> bool {
    if std::path::Path::new("/sys/kernel/tracing/events").is_dir() {
        return true;
    }
    // Let kmodkit mount it (as root), then look again.
    let _ = trace("tracepoint:syscalls:sys_enter_read { }");
    if std::path::Path::new("/sys/kernel/tracing/events").is_dir() {
        return true;
    }
    skip(
        Requirement::Bpf,
        "tracefs is not mounted and cannot be mounted here",
    );
    false
}

/// The diagnostic must name `stdin:LINE:COL`, show `line_text`, put a caret run of
/// `carets` `^` under column `col`, contain `message`, and nothing may have been attached.
fn check(script: &str, message: &str, line: usize, col: usize, carets: usize) {
    let r = trace(script);
    assert_eq!(
        r.code, 1,
        "exit status for {script:?}; stderr:\n{}",
        r.stderr
    );
    assert!(
        !r.stdout.contains("Attaching"),
        "something was attached for {script:?}: {}",
        r.stdout
    );
    assert!(
        r.stderr.contains(message),
        "{message:?} missing:\n{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!("--> stdin:{line}:{col}")),
        "location {line}:{col} missing:\n{}",
        r.stderr
    );
    let src_line = script.lines().nth(line - 1).unwrap();
    let lines: Vec<&str> = r.stderr.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.ends_with(src_line) && l.contains(" | "))
        .unwrap_or_else(|| panic!("source line missing:\n{}", r.stderr));
    let caret_line = lines[at + 1];
    let gutter = lines[at].find(" | ").unwrap() + 3;
    let caret_col = caret_line.find('^').expect("a caret") - gutter + 1;
    assert_eq!(caret_col, col, "caret column:\n{}", r.stderr);
    let run = caret_line[caret_line.find('^').unwrap()..]
        .chars()
        .take_while(|&c| c == '^')
        .count();
    assert_eq!(run, carets, "caret width:\n{}", r.stderr);
}

#[test]
fn unknown_probe() {
    if !tracefs() {
        return;
    }
    check(
        "BEGIN { }\ntracepoint:syscalls:sys_enter_nosuch { @ = count(); }",
        "unknown tracepoint `syscalls:sys_enter_nosuch`",
        2,
        1,
        36,
    );
    check("nosuchprobe:x { }", "nosuchprobe", 1, 1, 13);
}

#[test]
fn unknown_field() {
    if !tracefs() {
        return;
    }
    check(
        "tracepoint:syscalls:sys_enter_read { @ = sum(args->nofield); }",
        "unknown field `nofield`",
        1,
        52,
        7,
    );
}

#[test]
fn type_mismatch() {
    check(
        "BEGIN { $x = \"a\";\n  $y = $x + 1; }",
        "type mismatch for `+`",
        2,
        8,
        6,
    );
}

#[test]
fn undefined_map() {
    check(
        "BEGIN { print(@undefined); }",
        "undefined map `@undefined`",
        1,
        15,
        10,
    );
}

#[test]
fn wrong_argument_count() {
    check(
        "BEGIN { @x = hist(1, 2); }",
        "hist() takes 1 argument, but 2 were given",
        1,
        14,
        10,
    );
    check("BEGIN { printf(\"%d %d\\n\", 1); }", "printf", 1, 9, 20);
}

#[test]
fn syntax_error() {
    check("BEGIN { @x = 1 +; }", "expected an expression", 1, 17, 1);
}

#[test]
fn missing_file_and_bad_usage() {
    let o = Command::new(testsupport::kmodkit())
        .args(["trace", "/nonexistent/script.bt"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/script.bt"));
    let o = Command::new(testsupport::kmodkit())
        .args(["trace", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// Runs `kmodkit trace ARGS...` and returns (status, stderr), asserting it neither
/// panicked nor aborted.
fn trace_args(args: &[&str]) -> (i32, String) {
    let o = Command::new(testsupport::kmodkit())
        .arg("trace")
        .args(args)
        .output()
        .expect("run kmodkit");
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let code = o.status.code().unwrap_or(-1);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("overflow") && code != 101,
        "{args:?}: status {code}, stderr:\n{stderr}"
    );
    (code, stderr)
}

#[test]
fn deep_nesting_is_a_diagnostic_not_an_abort() {
    let n = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let scripts = [
        format!("BEGIN {{ @x = {}1{}; }}", "(".repeat(n), ")".repeat(n)),
        format!("BEGIN {{ {}{} }}", "if (1) { ".repeat(n), "}".repeat(n)),
        format!("BEGIN {{ if (0) {{ }} {} }}", "else if (1) { } ".repeat(n)),
        format!("BEGIN {{ {}{} }}", "unroll(2) { ".repeat(n), "}".repeat(n)),
        format!("BEGIN {{ @x = {}1; }}", "(uint32)".repeat(n)),
        format!("BEGIN {{ @x = 1 {}; }}", "? 1 : 1 ".repeat(n)),
        format!("BEGIN {{ @x = 1{}; }}", " + 1".repeat(n)),
    ];
    for (i, script) in scripts.iter().enumerate() {
        let f = dir.path().join(format!("deep{i}.bt"));
        std::fs::write(&f, script).unwrap();
        let path = f.to_str().unwrap();
        // A command-line argument is at most 128 KiB: -e gets a shorter prefix-closed cut.
        let short = &script[..script.len().min(100_000)];
        for (args, file) in [
            (vec!["-d", path], path),
            (vec![path], path),
            (vec!["-d", "-e", short], "stdin"),
            (vec!["-e", short], "stdin"),
        ] {
            let (code, stderr) = trace_args(&args);
            assert_eq!(code, 1, "{}: {stderr}", &script[..30]);
            assert!(
                stderr.contains("error: the program nests too deeply"),
                "{}: {stderr}",
                &script[..30]
            );
            assert!(stderr.contains(&format!("--> {file}:1:")), "{stderr}");
        }
    }
}

/// The deepest script of each shape that the parser still accepts compiles on the main
/// thread within the default `ulimit -s` of 8 MiB (the compiler runs there then, without a
/// thread of its own), in the debug build the tests use, which needs the most stack.
#[test]
fn deepest_accepted_scripts_compile_within_the_default_stack() {
    let shapes: [fn(usize) -> String; 7] = [
        |n| format!("BEGIN {{ @x = {}1{}; }}", "(".repeat(n), ")".repeat(n)),
        |n| {
            format!(
                "BEGIN {{ {} @y = 1; {} }}",
                "if (1) { ".repeat(n),
                "}".repeat(n)
            )
        },
        |n| {
            format!(
                "BEGIN {{ if (0) {{ }} {} @y = 1; }}",
                "else if (1) { } ".repeat(n)
            )
        },
        |n| format!("BEGIN {{ @x = 1 {}; }}", "? 1 : 1 ".repeat(n)),
        |n| format!("BEGIN {{ @x = 1{}; }}", " + 1".repeat(n)),
        |n| format!("BEGIN {{ @x = {}1; }}", "(uint32)".repeat(n)),
        |n| {
            format!(
                "BEGIN {{ $i = 0; {} @y = 1; {} }}",
                "while ($i < 1) { $i++; ".repeat(n),
                "}".repeat(n)
            )
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("deep.bt");
    let run = |script: &str| {
        std::fs::write(&f, script).unwrap();
        let o = Command::new("/bin/sh")
            .arg("-c")
            .arg("ulimit -s 8192 && exec \"$0\" trace -d \"$1\"")
            .arg(testsupport::kmodkit())
            .arg(&f)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    for shape in shapes {
        // From a depth the parser refuses, down to the first it accepts.
        let (n, (code, stderr)) = (1..=200)
            .rev()
            .map(|n| (n, run(&shape(n))))
            .find(|(_, (_, e))| !e.contains("nests too deeply"))
            .unwrap();
        assert!(n > 50, "{}: accepted only from depth {n}", shape(1));
        assert_eq!(code, Some(0), "{} at depth {n}: {stderr}", shape(1));
    }
}

#[test]
fn nested_unrolls_fail_fast_at_the_instruction_limit() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("unroll.bt");
    std::fs::write(
        &f,
        "BEGIN {\n  unroll(100) { unroll(100) { unroll(100) { unroll(100) { @x = 1; } } } }\n  exit();\n}\n",
    )
    .unwrap();
    let path = f.to_str().unwrap();
    for args in [vec!["-d", path], vec![path]] {
        let (code, stderr) = trace_args(&args);
        assert_eq!(code, 1, "{stderr}");
        assert!(
            stderr.contains("BPF program is too large: more than 1000000 instructions"),
            "{stderr}"
        );
        // Blamed on the outermost unroll.
        assert!(stderr.contains(&format!("--> {path}:2:3")), "{stderr}");
    }
}

/// `kmodkit trace ... | head -1`: once the reader is gone, the next write ends the process
/// (SIGPIPE, or a quiet stop), never a panic.
fn ends_quietly_when_the_reader_leaves(args: &[&str]) {
    use std::io::BufRead;
    use std::process::Stdio;
    let mut child = Command::new(testsupport::kmodkit())
        .arg("trace")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kmodkit");
    let mut first = String::new();
    {
        let mut r = std::io::BufReader::new(child.stdout.take().unwrap());
        r.read_line(&mut first).unwrap();
    } // the reader closes its end here
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !first.is_empty(),
        "{args:?}: no first line; stderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert_ne!(o.status.code(), Some(101), "{args:?}: {stderr}");
    assert_ne!(o.status.code(), Some(134), "{args:?}: {stderr}");
}

#[test]
fn a_closed_pipe_ends_a_dry_run_quietly() {
    ends_quietly_when_the_reader_leaves(&[
        "-d",
        "-e",
        "BEGIN { unroll(100) { unroll(100) { @x = 1; } } }",
    ]);
}

#[test]
fn a_closed_pipe_ends_tracing_quietly() {
    if !bpf_sys::available() {
        skip(Requirement::Bpf, "bpf() is not usable here (no CAP_BPF?)");
        return;
    }
    // Prints until the pipe is gone: 100 lines at once, then 100 more every 10 ms.
    ends_quietly_when_the_reader_leaves(&[
        "-e",
        "BEGIN { unroll(100) { printf(\"line\\n\"); } } \
         interval:ms:10 { unroll(100) { printf(\"line\\n\"); } }",
    ]);
}
