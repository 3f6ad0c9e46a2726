//! `kmodkit trace` against bpftrace 0.17 on the host kernel: the same script, the same
//! deterministic workload (`-c`, filtered on `pid == cpid`), and byte-identical stdout.
//!
//! The workload (trace_work.c) is built with the C compiler here. Every count it produces per
//! key is distinct: maps with tied values print in the kernel's hash order, which is random
//! per map, so not even two runs of bpftrace agree on them.
//!
//! Skipped (printed) without bpf(), bpftrace or cc; a failure under KMODKIT_REQUIRE_BPF=1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use testsupport::kmodkit;
use testsupport::{have_tool, skip, Requirement};

/// Builds the workload once; None (after printing why) when this host cannot run the test.
fn workload() -> Option<&'static Path> {
    static W: OnceLock<Option<PathBuf>> = OnceLock::new();
    W.get_or_init(|| {
        if !have_tool("bpftrace") || !have_tool("cc") {
            return None;
        }
        if !bpf_sys::available() {
            skip(Requirement::Bpf, "bpf() is not usable here (no CAP_BPF?)");
            return None;
        }
        // A fixed directory: the path appears in uprobe names and must outlive the tests.
        let dir = std::env::temp_dir().join(format!("kmodkit-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/trace_work.c");
        let bin = dir.join("work");
        let st = Command::new("cc")
            .args(["-O1", "-o"])
            .arg(&bin)
            .arg(&src)
            .status()
            .expect("run cc");
        assert!(st.success(), "cc failed on {}", src.display());
        Some(bin)
    })
    .as_deref()
}

fn run(tool: &str, args: &[&str]) -> Output {
    Command::new("timeout")
        .env_remove("LD_LIBRARY_PATH")
        .arg("60")
        .arg(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e}"))
}

/// Runs `script` (with `@W@` replaced by the workload's path) under both tools, with `-c
/// "WORKLOAD n"` when `rounds` is given, and requires identical stdout and exit status.
fn same(script: &str, rounds: Option<u32>) {
    same_as(script, rounds, &[], &[]);
}

/// `same` with extra options for each tool (e.g. `--json` for ours, `-f json` for bpftrace).
fn same_as(script: &str, rounds: Option<u32>, ours_opts: &[&str], their_opts: &[&str]) {
    let cmd = rounds.map(|n| format!("@W@ {n}"));
    if let Some((o, t)) = outputs(script, cmd.as_deref(), ours_opts, their_opts) {
        assert!(
            o == t,
            "output differs for {script}\n--- kmodkit\n{o}\n--- bpftrace\n{t}"
        );
    }
}

/// The stdout of kmodkit trace and of bpftrace (both required to succeed and print more
/// than the banner) for `script` with `-c cmd`, `@W@` in either replaced by the workload's
/// path; None when the host cannot run the test.
fn outputs(
    script: &str,
    cmd: Option<&str>,
    ours_opts: &[&str],
    their_opts: &[&str],
) -> Option<(String, String)> {
    let w = workload()?;
    let script = script.replace("@W@", &w.display().to_string());
    let cmd = cmd.map(|c| c.replace("@W@", &w.display().to_string()));
    let mut args = vec!["-e", script.as_str()];
    if let Some(c) = &cmd {
        args.extend(["-c", c.as_str()]);
    }
    // Without cargo's LD_LIBRARY_PATH, which would add the dynamic loader's search of every
    // directory in it to the workload's syscalls.
    let ours = Command::new("timeout")
        .env_remove("LD_LIBRARY_PATH")
        .arg("60")
        .arg(kmodkit())
        .arg("trace")
        .args(ours_opts)
        .args(&args)
        .output()
        .expect("kmodkit");
    let theirs = run("bpftrace", &[their_opts, &args[..]].concat());
    let (o, t) = (
        String::from_utf8_lossy(&ours.stdout).into_owned(),
        String::from_utf8_lossy(&theirs.stdout).into_owned(),
    );
    assert!(
        theirs.status.success(),
        "bpftrace failed on {script}: {}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    assert!(
        ours.status.success(),
        "kmodkit trace failed on {script}: {}",
        String::from_utf8_lossy(&ours.stderr)
    );
    // The comparison must compare something beyond the banner.
    assert!(
        t.lines().count() > 1,
        "no output from bpftrace for {script}"
    );
    Some((o, t))
}

#[test]
fn begin_end_printf_and_scratch_variables() {
    same(
        r#"BEGIN { printf("start %s|%5d|%-4d|%x|%c|\n", "x", 42, 7, 255, 65); @x = 5; $v = 3;
           if ($v > 2) { printf("big %d\n", $v * @x); } else { printf("small\n"); } exit(); }
           END { printf("end %d\n", @x); }"#,
        None,
    );
}

#[test]
fn counts_sums_and_tuple_keys() {
    same(
        r#"tracepoint:syscalls:sys_enter_write /pid == cpid/ {
             @[comm, args->count] = count(); @bytes[args->count] = sum(args->count); @total = sum(args->count); }"#,
        Some(6),
    );
}

#[test]
fn avg_min_max_stats() {
    same(
        r#"tracepoint:syscalls:sys_enter_read /pid == cpid/ {
             @a[args->count] = avg(args->count); @st[args->count / 200] = stats(args->count);
             @mn[comm] = min(args->count); @mx[comm] = max(args->count); }"#,
        Some(6),
    );
}

#[test]
fn hist_and_lhist() {
    same(
        r#"tracepoint:syscalls:sys_enter_read /pid == cpid/ {
             @h = hist(args->count); @hk[args->count > 300] = hist(args->count);
             @l = lhist(args->count, 0, 1000, 100); @lk[args->count % 3] = lhist(args->count, 200, 500, 50); }
           tracepoint:syscalls:sys_exit_read /pid == cpid/ { @ret = hist(args->ret); @n = count(); }"#,
        Some(6),
    );
}

#[test]
fn printf_lines_from_a_tracepoint_with_predicate() {
    same(
        r#"tracepoint:syscalls:sys_enter_write /pid == cpid && args->count >= 8/ {
             printf("write %d bytes by %s, %s\n", args->count, comm, args->count > 16 ? "big" : "small"); }"#,
        Some(5),
    );
}

#[test]
fn data_loc_strings_from_tracepoint_args() {
    same(
        r#"tracepoint:syscalls:sys_enter_openat /pid == cpid/ { printf("%s %d\n", str(args->filename), args->flags & 3); }"#,
        Some(2),
    );
}

#[test]
fn uprobe_and_uretprobe_on_a_test_binary() {
    same(
        r#"uprobe:@W@:work_add /pid == cpid/ { @calls[arg0] = count(); @args[arg0, comm] = sum(arg1);
             if (arg1 == 0) { printf("round %d\n", arg0); } }
           uretprobe:@W@:work_add /pid == cpid/ { @ret = sum(retval); @rh = hist(retval); }"#,
        Some(6),
    );
}

#[test]
fn multiple_probes_wildcards_and_probe_builtin() {
    same(
        r#"tracepoint:syscalls:sys_enter_re*d, tracepoint:syscalls:sys_enter_write /pid == cpid/ {
             @[probe] = count(); }"#,
        Some(5),
    );
}

#[test]
fn interval_exit_and_end() {
    same(
        r#"interval:ms:50 { @n++; if (@n == 3) { printf("tick %d\n", @n); exit(); } } END { printf("end\n"); }"#,
        None,
    );
}

#[test]
fn print_clear_and_delete_in_end() {
    same(
        r#"tracepoint:syscalls:sys_enter_write /pid == cpid/ { @[args->count] = count(); @d[args->count] = count(); }
           END { print(@); clear(@); delete(@d[8]); printf("done\n"); }"#,
        Some(5),
    );
}

#[test]
fn aggregation_edge_values_as_bpftrace_0_17_prints_them() {
    // Negative and zero hist values, hist's 31-bit cap, lhist under/overflow, signed sums and
    // averages, and 0.17's min/max quirks (max of only negative values stores nothing).
    same(
        r#"BEGIN { @h = hist(0); @h = hist(1); @h = hist(-1); @h = hist(1000000); @h = hist(1 << 40);
             @l = lhist(-5, 0, 10, 2); @l = lhist(15, 0, 10, 2); @l = lhist(3, 0, 10, 2);
             @s = stats(10); @s = stats(20); @a = avg(-4); @a = avg(5); @z = sum(-7);
             @mm = min(-3); @mx = max(-3); @m2 = min(5); @m2 = min(2); @m2 = min(9);
             @x2 = max(5); @x2 = max(12); @x2 = max(-1); @big = max(1 << 40); exit(); }"#,
        None,
    );
}

#[test]
fn language_control_flow_strings_and_positional_parameters() {
    let Some(_) = workload() else { return };
    let script = r#"BEGIN { $i = 0; while ($i < 5) { $i++; if ($i == 2) { continue; } if ($i == 4) { break; }
        printf("%d ", $i); } unroll(3) { printf("u"); } printf("\n"); $s = "abc";
        if ($s == "abc" && !($i > 10 || $i < 0)) { printf("eq\n"); }
        printf("%d %d\n", strncmp("hello", "help", 3), strncmp("hello", "help", 4));
        printf("%s|%10s|%-10s|\n", str($1), "r", "l");
        printf("%d %d %d %d %d\n", $2 + 1, (uint64)5 / 2, 7 % 3, 1 << 10, (int8)200);
        @m[1, "a"] = 5; @m[2, "b"] = 7; @t = (1, "two"); @str = "hey"; @n = 3;
        print(@t); print(@str); print(@n); print((4, "five")); exit(); }"#;
    let args = ["-e", script, "hello", "41"];
    let ours = Command::new(kmodkit())
        .arg("trace")
        .args(args)
        .output()
        .unwrap();
    let theirs = run("bpftrace", &args);
    assert!(
        theirs.status.success(),
        "{}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    assert!(
        ours.status.success(),
        "{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&theirs.stdout)
    );
}

#[test]
fn json_output_matches_bpftrace_f_json() {
    same_as(
        r#"BEGIN { printf("hi \"x\"\n"); @s[1, "a"] = sum(5); @s[2, "b"] = sum(7); @st = stats(4);
             @str["k"] = "v\t"; @t = (1, "x"); print(5); print("s"); print((1, "x")); }
           tracepoint:syscalls:sys_enter_read /pid == cpid && args->count % 100 == 0/ { @h = hist(args->count);
             @l = lhist(args->count, 0, 1000, 200); @a[comm] = avg(args->count); @c[args->count] = count(); }
           END { printf("end\n"); }"#,
        Some(5),
        &["--json"],
        &["-f", "json"],
    );
}

/// `-p PID`: the tracer stops when that process exits. (bpftrace 0.17 does not narrow uprobes
/// to the process, seen side by side with a second copy running; kmodkit does the same.) The
/// workload waits 1.5 s before its first round, time for either tool to attach.
#[test]
fn uprobe_with_p_runs_until_the_process_exits() {
    let Some(shared) = workload() else { return };
    // A private copy: uprobes are per file, and other tests run the shared one meanwhile.
    let w = &shared.with_file_name("work-p");
    std::fs::copy(shared, w).expect("copy the workload");
    let script = format!(
        "uprobe:{}:work_add {{ @calls[arg0] = count(); }} uretprobe:{}:work_add {{ @r = sum(retval); }}",
        w.display(),
        w.display()
    );
    let mut outputs = Vec::new();
    for tool in [&[kmodkit(), "trace"][..], &["bpftrace"][..]] {
        let mut target = Command::new(w)
            .args(["6", "1500"])
            .spawn()
            .expect("workload");
        let pid = target.id().to_string();
        let o = Command::new("timeout")
            .env_remove("LD_LIBRARY_PATH")
            .arg("60")
            .args(tool)
            .args(["-p", &pid, "-e", &script])
            .output()
            .expect("tracer");
        let _ = target.wait();
        assert!(
            o.status.success(),
            "{tool:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        outputs.push(String::from_utf8_lossy(&o.stdout).into_owned());
    }
    assert_eq!(outputs[0], outputs[1], "kmodkit vs bpftrace");
    // Round i makes i calls of work_add(i, j) returning i + j.
    let expected_sum: u64 = (1..=6u64).map(|i| (0..i).map(|j| i + j).sum::<u64>()).sum();
    assert!(outputs[0].contains("@calls[6]: 6\n"), "{}", outputs[0]);
    assert!(
        outputs[0].contains(&format!("@r: {expected_sum}\n")),
        "{}",
        outputs[0]
    );
}

#[test]
fn probe_listing_is_bpftrace_s() {
    let Some(w) = workload() else { return };
    let upat = format!("uprobe:{}:*", w.display());
    for pat in [
        None,
        Some("tracepoint:sched:*"),
        Some("tracepoint:*:sys_enter_re*d"),
        Some("software:*"),
        Some("*:sys_enter_readv"),
        Some("iter:*"),
        Some(upat.as_str()),
    ] {
        let args: Vec<&str> = std::iter::once("-l").chain(pat).collect();
        let ours = Command::new(kmodkit())
            .arg("trace")
            .args(&args)
            .output()
            .unwrap();
        let theirs = run("bpftrace", &args);
        let o = String::from_utf8_lossy(&ours.stdout);
        assert_eq!(o, String::from_utf8_lossy(&theirs.stdout), "-l {pat:?}");
        assert!(!o.is_empty(), "-l {pat:?} listed nothing");
    }
}

#[test]
fn builtins_in_keys() {
    same(
        r#"tracepoint:syscalls:sys_enter_write /pid == cpid/ { @[tid == pid, uid, gid, cpu >= 0, pid == cpid] = count();
             @p[pid > 0, tid > 0, nsecs > 0, cgroup > 0] = sum(args->count); }"#,
        Some(4),
    );
}

/// A predicate (for `tracepoint:kmem:kmalloc`) that holds for the call sites inside the
/// kernel functions that exec'ing the workload allocates from, every run the same way. The
/// kernel also allocates for itself in the workload's context now and then (the slab
/// allocator refilling a sheaf, `alloc_empty_sheaf`), in one run and not the next: an
/// oracle comparison must not see those, or it compares two different runs' noise.
fn exec_call_sites() -> String {
    const FUNCS: &[&str] = &[
        "alloc_bprm",
        "load_elf_binary",
        "load_elf_phdrs",
        "lsm_blob_alloc",
    ];
    let text = std::fs::read_to_string("/proc/kallsyms").expect("read /proc/kallsyms");
    let mut syms: Vec<(u64, &str)> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let addr = u64::from_str_radix(f.next()?, 16).ok()?;
            let name = f.nth(1)?;
            Some((addr, name))
        })
        .collect();
    syms.sort_unstable();
    let ranges: Vec<String> = syms
        .iter()
        .filter(|(a, n)| *a != 0 && FUNCS.contains(n))
        .filter_map(|&(start, _)| {
            let end = syms.iter().map(|s| s.0).find(|&a| a > start)?;
            Some(format!(
                "(args->call_site >= {start:#x} && args->call_site < {end:#x})"
            ))
        })
        .collect();
    assert!(
        !ranges.is_empty(),
        "none of {FUNCS:?} in /proc/kallsyms (addresses hidden?)"
    );
    format!("({})", ranges.join(" || "))
}

/// `ksym()` of kernel code addresses (kmalloc call sites during the workload's exec) and
/// `usym()`/`func` in a uprobe, printed while the process lives (names), and as map keys
/// printed after it exited (bpftrace 0.17 then prints hex: the process's maps are gone; the
/// workload runs without ASLR so those addresses agree, and lingers 2 s so that the names
/// resolve even in a debug build that takes a while to read kallsyms).
#[test]
fn ksym_usym_and_func_resolve_as_bpftrace_does() {
    if workload().is_none() {
        return;
    }
    same(
        &format!(
            r#"tracepoint:kmem:kmalloc /pid == cpid && {}/ {{ printf("%s\n", ksym(args->call_site)); }}"#,
            exec_call_sites()
        ),
        Some(2),
    );
    // By full path: bpftrace refuses a name that PATH finds twice (/bin and /usr/bin).
    let Some(setarch) = ["/usr/bin/setarch", "/bin/setarch"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        println!("SKIPPED: no setarch (util-linux) to run the workload without ASLR");
        return;
    };
    if let Some((o, t)) = outputs(
        r#"uprobe:@W@:work_add /pid == cpid/ { printf("%s %s %s|\n", usym(arg0), func, ksym(0));
             @f[func] = count(); @u[usym(arg1)] = count(); @k[ksym(arg0)] = count(); }"#,
        Some(&format!("{setarch} -R @W@ 3 0 2000")),
        &[],
        &[],
    ) {
        assert_eq!(o, t);
        assert!(o.contains("0x1 work_add 0|"), "{o}");
    }
}

/// Map keys of `ksym()` (one entry per address, so several with the same name): the same
/// lines, in whatever order the counts tie.
#[test]
fn ksym_map_keys() {
    if workload().is_none() {
        return;
    }
    let Some((o, t)) = outputs(
        &format!(
            "tracepoint:kmem:kmalloc /pid == cpid && {}/ {{ @[ksym(args->call_site)] = count(); }}",
            exec_call_sites()
        ),
        Some("@W@ 2"),
        &[],
        &[],
    ) else {
        return;
    };
    let sorted = |s: &str| {
        let mut v: Vec<String> = s.lines().map(str::to_string).collect();
        v.sort();
        v
    };
    assert_eq!(
        sorted(&o),
        sorted(&t),
        "--- kmodkit\n{o}\n--- bpftrace\n{t}"
    );
    assert!(
        t.lines().any(|l| l.starts_with("@[load_elf_binary]: ")),
        "{t}"
    );
}

/// The entries of a printed map (`@[` … `]: N` blocks, keys over several lines), sorted:
/// the order of entries whose counts tie is the hash map's.
fn entries(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .split("\n@")
        .map(|e| e.trim_start_matches('@').trim_end().to_string())
        .collect();
    v.sort();
    v
}

/// `kstack` (and `kstack(N)`, one stack map per limit as bpftrace keeps them, so stacks
/// equal in their first N frames count together) as a map key and in printf: the kernel stack of the same syscall path, frame
/// by frame as `name+offset`, byte-identical to bpftrace 0.17.
#[test]
fn kstack_in_map_keys_and_printf() {
    if workload().is_none() {
        return;
    }
    same(
        r#"tracepoint:syscalls:sys_enter_openat /pid == cpid/ { @[kstack] = count(); printf("%s|\n", kstack); }"#,
        Some(2),
    );
    // --json: stack keys indented by 4, stack values by 8, as `bpftrace -f json`.
    same_as(
        r#"tracepoint:syscalls:sys_enter_openat /pid == cpid/ { @[kstack(2)] = count(); @x = kstack(1); printf("%s|\n", kstack(1)); }"#,
        Some(2),
        &["--json"],
        &["-f", "json"],
    );
    // Deeper, varied stacks, with a tuple key holding a stack.
    if let Some((o, t)) = outputs(
        &format!(
            "tracepoint:kmem:kmalloc /pid == cpid && {}/ {{ @[kstack, pid == cpid] = count(); @k[kstack()] = count(); @l[kstack(2)] = count(); printf(\"%s\", kstack(3)); }}",
            exec_call_sites()
        ),
        Some("@W@ 2"),
        &[],
        &[],
    ) {
        assert_eq!(entries(&o), entries(&t), "--- kmodkit\n{o}\n--- bpftrace\n{t}");
        assert!(t.contains("    __kmalloc"), "{t}");
    }
}

/// `ustack` map keys, printed once the process is gone (so as bare hex, as bpftrace does);
/// the workload runs without ASLR so both tools see the same addresses. Only each stack's
/// innermost frame (the syscall's caller) is compared: the frame-pointer walk through code
/// built without frame pointers reads whatever is on the stack after it, in both tools.
#[test]
fn ustack_map_keys_and_resolved_frames() {
    let Some(setarch) = ["/usr/bin/setarch", "/bin/setarch"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        println!("SKIPPED: no setarch (util-linux) to run the workload without ASLR");
        return;
    };
    if let Some((o, t)) = outputs(
        r#"tracepoint:syscalls:sys_enter_openat /pid == cpid && comm == "work"/ { @[ustack] = count(); }"#,
        Some(&format!("{setarch} -R @W@ 2")),
        &[],
        &[],
    ) {
        let inner = |s: &str| {
            let mut v: Vec<String> = entries(s)
                .iter()
                .map(|e| {
                    let mut l = e.lines();
                    let first = l.nth(1).unwrap_or_default().to_string();
                    let count = l.last().unwrap_or_default().to_string();
                    format!("{first} {count}")
                })
                .collect();
            v.sort();
            v
        };
        assert_eq!(inner(&o), inner(&t), "--- kmodkit\n{o}\n--- bpftrace\n{t}");
        assert!(t.contains("\n    0x"), "{t}");
    }
    // While the process lives (asleep), its frames resolve through its maps and ELF
    // symbols: `name+offset`, byte-identical.
    if let Some((o, t)) = outputs(
        r#"tracepoint:syscalls:sys_enter_clock_nanosleep /pid == cpid/ { printf("%s|\n", ustack); }"#,
        Some("/usr/bin/sleep 0.3"),
        &[],
        &[],
    ) {
        assert_eq!(o, t);
        assert!(t.contains("        clock_nanosleep+"), "{t}");
    }
}

#[test]
fn functions_of_the_shipped_tools() {
    // kaddr, cat, cgroup_path (of the tracer's own cgroup, every hierarchy and a filtered
    // one, and of no cgroup), strftime (the year only: bpftrace places monotonic ns on the wall clock
    // through the boot time, which moves with suspend), buf with %r, macaddr, bswap,
    // ntop (v4 and v6, values, keys and print), reg and uaddr (a pointer: a hex map key),
    // each on what the workload fixes:
    // the workload's own execve and its calls of work_add(i, j).
    let Some(w) = workload() else { return };
    let file = w.with_file_name("cat.txt");
    std::fs::write(&file, "line one\nline two\n").unwrap();
    same(
        &format!(
            r#"BEGIN {{ printf("%x\n", kaddr("vfs_read")); cat("{}"); printf("after\n");
                 printf("%s\n", strftime("%Y", nsecs));
                 printf("%s %s %s\n", ntop(0x0100007f), ntop(10, 0), ntop(2, 0x0100007f));
                 @n[ntop(2, 0x0100007f)] = count(); print(ntop(0x0100007f));
                 $x = bswap((uint16)0x1234); print($x); print(bswap(0x12345678));
                 printf("%s|%s|%s\n", cgroup_path(cgroup), cgroup_path(cgroup, "mem*"),
                        cgroup_path(1234567)); }}
               tracepoint:syscalls:sys_enter_execve /pid == cpid/ {{
                 printf("[%r] %s %r\n", buf(args->filename, 9), macaddr(args->filename),
                        buf(args->filename, 3)); }}
               uprobe:@W@:work_add /pid == cpid/ {{ @[reg("di")] = sum(reg("si"));
                 @u[uaddr("__dso_handle")] = count(); }}"#,
            file.display()
        ),
        Some(4),
    );
}

#[test]
fn cpp_uprobes_by_demangled_name_and_wildcard() {
    // bpftrace 0.17 matches a uprobe's function against each symbol's own name and its
    // C++ demangled name (quoted when it has colons); probes are named by the mangled one.
    if workload().is_none() || !have_tool("c++") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("kmodkit-cpp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("cppwork.cc");
    std::fs::write(
        &src,
        "namespace ns { struct K { __attribute__((noinline)) int get(int x) \
           { asm volatile(\"\"); return x + 1; } }; }\n\
         __attribute__((noinline)) int add(int a, int b) { asm volatile(\"\"); return a + b; }\n\
         int main() { ns::K k; int t = 0; for (int i = 0; i < 3; i++) t += k.get(i) + add(i, 1);\n\
           return t > 100; }\n",
    )
    .unwrap();
    let bin = dir.join("cppwork");
    let st = Command::new("c++")
        .args(["-O1", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success());
    let b = bin.display().to_string();
    let script = format!(
        r#"uprobe:{b}:"ns::K::get(int)" /pid == cpid/ {{ @get[probe] = count(); }}
           uprobe:{b}:*add* /pid == cpid/ {{ @add[probe] = sum(reg("di")); }}
           uretprobe:{b}:_Z3addii /pid == cpid/ {{ @ret = sum(retval); }}"#
    );
    if let Some((o, t)) = outputs(&script, Some(&b), &[], &[]) {
        assert!(o.contains("@get[uprobe:"), "{o}");
        assert!(o.contains(":_Z3addii]: 3"), "{o}");
        assert_eq!(o, t);
    }
}
