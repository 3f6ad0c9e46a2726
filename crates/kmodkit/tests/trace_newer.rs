//! `kmodkit trace` against bpftrace 0.23.2 (Debian 13, in the trixie chroot made by
//! `scripts/oracle-trixie --bpftrace`) on the host kernel, for the language bpftrace's
//! current documentation teaches: the `config = { ... }` block, `let`, `has_key`, tuple
//! map keys, `args.field` with a dot, `fentry`/`fexit`. The same script, the same
//! deterministic workload (`-c`, filtered on `pid == cpid`; BEGIN/END blocks), and
//! byte-identical stdout; refusals compared by exit status and message.
//!
//! Skipped (printed) without bpf(), the chroot or cc; a failure under KMODKIT_REQUIRE_BPF=1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use testsupport::{have_tool, kmodkit, skip, trixie_bpftrace, Requirement, TrixieBpftrace};

/// The oracle and the workload (trace_work.c, built once); None when the host cannot run
/// the test.
fn setup() -> Option<(TrixieBpftrace, &'static Path)> {
    static W: OnceLock<Option<PathBuf>> = OnceLock::new();
    let w = W
        .get_or_init(|| {
            if !bpf_sys::available() {
                skip(Requirement::Bpf, "bpf() is not usable here (no CAP_BPF?)");
                return None;
            }
            if !have_tool("cc") {
                return None;
            }
            // A directory of its own, bind-mounted at the same path into the chroot.
            let dir = std::env::temp_dir().join(format!("kmodkit-trace23-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/trace_work.c");
            let bin = dir.join("work");
            // Static, so that the chroot's C library plays no part in its syscalls.
            let st = Command::new("cc")
                .args(["-O1", "-static", "-o"])
                .arg(&bin)
                .arg(&src)
                .status()
                .expect("run cc");
            assert!(st.success(), "cc failed on {}", src.display());
            Some(bin)
        })
        .as_deref()?;
    let t = trixie_bpftrace()?;
    assert_eq!(t.version, "0.23.2", "the oracle is bpftrace 0.23.2");
    Some((t, w))
}

/// Runs `script` (`@W@` replaced by the workload's path) with `-c "WORKLOAD rounds"` when
/// given, under kmodkit trace and under bpftrace 0.23.2.
fn both(script: &str, rounds: Option<u32>) -> Option<(Output, Output)> {
    let (t, w) = setup()?;
    let script = script.replace("@W@", &w.display().to_string());
    let cmd = rounds.map(|n| format!("{} {n}", w.display()));
    let mut args = vec!["-e", script.as_str()];
    if let Some(c) = &cmd {
        args.extend(["-c", c.as_str()]);
    }
    // Without cargo's LD_LIBRARY_PATH, which would add the dynamic loader's search of every
    // directory in it to a workload's syscalls.
    let ours = Command::new(kmodkit())
        .env_remove("LD_LIBRARY_PATH")
        .arg("trace")
        .args(&args)
        .output()
        .expect("kmodkit");
    let dir = w.parent().expect("the workload's directory");
    let theirs = t
        .command(&[dir])
        .env_remove("LD_LIBRARY_PATH")
        .args(&args)
        .output()
        .expect("bpftrace 0.23 in the chroot");
    Some((ours, theirs))
}

/// Requires both to succeed with identical stdout (beyond the banner).
fn same(script: &str, rounds: Option<u32>) {
    let Some((ours, theirs)) = both(script, rounds) else {
        return;
    };
    let (o, t) = (
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&theirs.stdout),
    );
    assert!(
        theirs.status.success(),
        "bpftrace 0.23 failed on {script}: {}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    assert!(
        ours.status.success(),
        "kmodkit trace failed on {script}: {}",
        String::from_utf8_lossy(&ours.stderr)
    );
    assert!(
        t.lines().count() > 1,
        "no output from bpftrace for {script}"
    );
    assert!(
        o == t,
        "output differs for {script}\n--- kmodkit\n{o}\n--- bpftrace 0.23.2\n{t}"
    );
}

/// Like [`same`] for a script that overfills a map: bpftrace 0.23's "Map full" warnings
/// (4 lines each, on stdout) are required, then left out of the comparison.
fn same_but_map_full(script: &str) {
    let Some((ours, theirs)) = both(script, None) else {
        return;
    };
    assert!(ours.status.success() && theirs.status.success(), "{script}");
    let t = String::from_utf8_lossy(&theirs.stdout);
    assert!(
        t.contains("WARNING: Map full"),
        "bpftrace 0.23 filled the map: {t}"
    );
    let mut kept = String::new();
    let mut skip_lines = 0;
    for l in t.lines() {
        if l.starts_with("stdin:") && l.contains("WARNING: Map full") {
            skip_lines = 3;
        } else if skip_lines > 0 {
            skip_lines -= 1;
        } else {
            kept.push_str(l);
            kept.push('\n');
        }
    }
    assert_eq!(String::from_utf8_lossy(&ours.stdout), kept, "{script}");
}

/// Requires both to refuse the script, exiting 1 with `message` in their errors.
fn both_refuse(script: &str, message: &str) {
    let Some((ours, theirs)) = both(script, None) else {
        return;
    };
    for (who, o) in [("bpftrace 0.23", &theirs), ("kmodkit trace", &ours)] {
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{who} on {script}: {err}");
        assert!(err.contains(message), "{who} on {script}: {err}");
        assert!(o.stdout.is_empty(), "{who} printed for {script}");
    }
}

#[test]
fn config_block() {
    // print_maps_on_exit = 0: the blank lines stay, the maps go.
    same(
        "config = { print_maps_on_exit = 0 } BEGIN { @a = 1; @b[2] = 3; printf(\"x\\n\"); exit(); }",
        None,
    );
    // max_map_keys: the keys that do not fit are dropped. bpftrace 0.23 reports each failed
    // update on stdout (a warning quoting the source line); kmodkit, as bpftrace 0.17, does
    // not: those lines are left out of the comparison. Keys written with bpftrace's prefix
    // and in upper case; keys without effect here.
    same_but_map_full(
        "config = { max_map_keys = 2; } BEGIN { @a[1] = 1; @a[2] = 2; @a[3] = 3; exit(); }",
    );
    same_but_map_full(
        "config = { BPFTRACE_MAX_MAP_KEYS = 1; log_size = 100000; cpp_demangle = 0; \
         missing_probes = \"warn\" } BEGIN { @a[1] = 1; @a[2] = 2; exit(); }",
    );
    both_refuse(
        "config = { foo = 1 } BEGIN { exit(); }",
        "Unrecognized config variable: foo",
    );
    both_refuse(
        "config = { btf = 1 } BEGIN { exit(); }",
        "btf can only be set as an environment variable",
    );
    both_refuse(
        "config = { log_size = \"a\" } BEGIN { exit(); }",
        "Invalid type for log_size. Type: string. Expected Type: int",
    );
}

#[test]
fn let_has_key_and_tuple_keys() {
    same(
        "BEGIN { @m[1, \"a\"] = 2; @n[3] = 4; @n[5] = 6; let $x: int64; $x = 3; let $y = 5; \
         let $z: uint8 = (uint8)7; let $s: string = \"str\"; \
         printf(\"%d %d %d %d %d %d %s\\n\", $x, has_key(@n, 3), $y, has_key(@n, 4), $z, \
         has_key(@m, (1, \"a\")), $s); \
         if (!has_key(@m, (1, \"b\"))) { printf(\"no (1, b)\\n\"); } exit(); }",
        None,
    );
    // has_key's value stored, printed, used as a key.
    same(
        "BEGIN { @n[1] = 1; $b = has_key(@n, 1); print($b); @h = has_key(@n, 2); \
         @k[has_key(@n, 1)] = 3; printf(\"%d %s\\n\", $b, \"x\"); exit(); }",
        None,
    );
    // A tuple as the key of a map with several keys (0.23; 0.17 refuses it): its elements
    // are the keys.
    same(
        "BEGIN { $t = (1, \"x\"); @m[$t] = 5; @m[2, \"y\"] = 6; @n[(3, \"z\")] = 7; \
         printf(\"%d %d %d\\n\", @m[$t], @m[(2, \"y\")], has_key(@m, $t)); \
         delete(@m[$t]); exit(); }",
        None,
    );
    // Tuple keys built from the workload's events: distinct counts per key.
    same(
        "tracepoint:syscalls:sys_enter_read /pid == cpid/ { @r[comm, args.count] = count(); } \
         END { printf(\"%d %d\\n\", has_key(@r, (\"work\", 300)), has_key(@r, (\"work\", 301))); }",
        Some(4),
    );
}

#[test]
fn refusals_of_the_newer_language() {
    both_refuse(
        "BEGIN { let $x = 1; let $x = 2; exit(); }",
        "Variable $x was already declared. Variable shadowing is not allowed.",
    );
    both_refuse(
        "BEGIN { $x = 1; let $x = 2; exit(); }",
        "Variable declarations need to occur before variable usage or assignment. Variable: $x",
    );
    both_refuse(
        "BEGIN { if (1) { let $x = 1; } printf(\"%d\\n\", $x); exit(); }",
        "Undefined or undeclared variable: $x",
    );
    both_refuse(
        "BEGIN { @a = 1; printf(\"%d\\n\", has_key(@a, 1)); exit(); }",
        "has_key() only accepts maps that have keys. No scalar maps e.g. `@a = 1;`",
    );
    both_refuse(
        "BEGIN { @m[1] = 1; for ($kv : @m) { break; } exit(); }",
        "'break' statement is not allowed in a for-loop",
    );
    both_refuse(
        "BEGIN { $kv = 1; @m[1] = 1; for ($kv : @m) { } exit(); }",
        "Loop declaration shadows existing variable: $kv",
    );
}

#[test]
fn args_with_a_dot() {
    // bpftrace 0.23's `args.field` beside 0.17's `args->field`, on the workload's syscalls.
    same(
        "tracepoint:syscalls:sys_enter_write /pid == cpid/ { @w[args.count] = count(); \
         @s = sum(args->count); }",
        Some(5),
    );
    // In an interval probe's neighbourhood, with let in the probe.
    same(
        "tracepoint:syscalls:sys_enter_read /pid == cpid/ { let $n = args.count; @[$n] = count(); } \
         interval:ms:1 { @ticks = 1; } END { clear(@ticks); }",
        Some(3),
    );
}

#[test]
fn for_loops() {
    // The kernel walks a hash map in an order of its own (random per map), so the bodies
    // here do only what does not depend on it: a line for one chosen element, sums, copies
    // into other maps (printed sorted at exit), outer variables updated inside.
    same(
        "BEGIN { @n[3] = 4; @n[5] = 6; @m[1, \"a\"] = 7; @m[2, \"b\"] = 9; $x = 10; \
         $s = \"str\"; for ($kv : @n) { @copy[$kv.0] = $kv.1 * 2; $x += $kv.1; } \
         for ($e : @m) { @keys[$e.0.1] = $e.0.0 + $e.1; \
         if ($e.0.0 == 1) { printf(\"%s %d %s\\n\", $e.0.1, $e.1, $s); } } \
         printf(\"x=%d\\n\", $x); exit(); }",
        None,
    );
    // The loop variable printed whole, and its key tuple as another map's keys.
    same(
        "BEGIN { @n[3] = 4; @m[1, \"a\"] = 2; for ($kv : @n) { print($kv); print($kv.1); } \
         for ($e : @m) { @c[$e.0] = $e.1; print($e.0); } exit(); }",
        None,
    );
    // Counts and sums, added up over the CPUs the workload ran on.
    same(
        "tracepoint:syscalls:sys_enter_write /pid == cpid/ { @c[args.count] = count(); \
         @s[args.count % 3] = sum(args.count); } \
         END { for ($kv : @c) { @t[$kv.0] = $kv.1; } for ($e : @s) { @u[$e.0] = $e.1 + 1; } }",
        Some(5),
    );
    // Over what the workload's syscalls left in a map, at END; a loop inside a loop.
    same(
        "tracepoint:syscalls:sys_enter_write /pid == cpid/ { @w[args.count] = args.fd; } \
         END { $total = 0; $pairs = 0; for ($kv : @w) { $total += $kv.0; \
         for ($k2 : @w) { $pairs++; } } printf(\"%d %d\\n\", $total, $pairs); clear(@w); }",
        Some(5),
    );
}

#[test]
fn fentry_compiles_as_kfunc() {
    // The host has no fentry attachment; `-d` compiles it as bpftrace's dry run does, and
    // `fentry`/`fexit` give the same programs as `kfunc`/`kretfunc`.
    let dump = |script: &str| -> Option<String> {
        let o = Command::new(kmodkit())
            .args(["trace", "-d", "-e", script])
            .output()
            .expect("kmodkit");
        if !o.status.success() {
            let err = String::from_utf8_lossy(&o.stderr);
            if err.contains("BTF is not available") {
                skip(Requirement::Bpf, "no kernel BTF here");
                return None;
            }
            panic!("kmodkit trace -d {script}: {err}");
        }
        Some(
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter(|l| !l.starts_with(';'))
                .collect::<Vec<_>>()
                .join("\n"),
        )
    };
    let Some(a) = dump("fentry:vfs_read { @[args.count] = count(); }") else {
        return;
    };
    let b = dump("kfunc:vfs_read { @[args->count] = count(); }").expect("BTF seen once");
    assert_eq!(a, b);
    let a = dump("fexit:vfs_read { @ = hist(retval); }").expect("BTF");
    let b = dump("kretfunc:vfs_read { @ = hist(retval); }").expect("BTF");
    assert_eq!(a, b);
}
