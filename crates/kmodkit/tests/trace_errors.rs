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
    let o = Command::new(env!("CARGO_BIN_EXE_kmodkit"))
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
    let o = Command::new(env!("CARGO_BIN_EXE_kmodkit"))
        .args(["trace", "/nonexistent/script.bt"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/script.bt"));
    let o = Command::new(env!("CARGO_BIN_EXE_kmodkit"))
        .args(["trace", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}
