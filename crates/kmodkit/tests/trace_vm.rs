//! Tracing inside the real Debian kernel (the host kernel has no kprobes): one `kmodkit vm`
//! boot runs, with our binary as /bin/kmodkit,
//! - a kprobe + kretprobe script on `do_sys_openat2` around a `cat` started with `-c`
//!   (`arg0` is the directory fd, AT_FDCWD; `retval` the new fd, 3 for cat's one open);
//! - `kmodkit trace -l 'kprobe:do_sys_open*'` listing the two functions;
//! - `kmodkit leaks` around the insmod of two modules built here against the corpus
//!   kernel's headers: kmk_leaky kmallocs in its init and never frees (the report must name
//!   `kmk_leaky_init [kmk_leaky]` with the slab size), kmk_tidy frees what it allocates
//!   (the report must be empty, while the unfiltered report of a window is not);
//!   kmk_initleak leaks from an `__init` function, whose symbols the kernel drops after init,
//!   so the report names the section: `.init.text+0x.. [kmk_initleak]`; kmk_unl leaks in
//!   its exit function, and `leaks --module kmk_unl` ends its window at the rmmod and names
//!   `kmk_unl_exit` from the symbols it saw before the unload.

use std::path::{Path, PathBuf};
use std::process::Command;
use testsupport::{corpus, have_tool, skip, Requirement};

const KMODKIT: &str = env!("CARGO_BIN_EXE_kmodkit");

fn build(release: &str, dir: &Path, name: &str, body: &str) -> PathBuf {
    let src = dir.join(name);
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join(format!("{name}.c")),
        format!(
            "#include <linux/module.h>\n#include <linux/slab.h>\n{body}\nmodule_init({name}_init);\nMODULE_LICENSE(\"GPL\");\n"
        ),
    )
    .unwrap();
    std::fs::write(src.join("Makefile"), format!("obj-m := {name}.o\n")).unwrap();
    let out = Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(format!("/lib/modules/{release}/build"))
        .arg(format!("M={}", src.display()))
        .arg("modules")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "building {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    src.join(format!("{name}.ko"))
}

/// The lines between `=== NAME` and the next `=== ` marker.
fn section<'a>(out: &'a str, name: &str) -> Vec<&'a str> {
    let start = format!("=== {name}");
    out.lines()
        .skip_while(|l| l.trim() != start)
        .skip(1)
        .take_while(|l| !l.starts_with("=== "))
        .collect()
}

fn map_value(lines: &[&str], prefix: &str) -> Option<u64> {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(prefix)?.trim().parse().ok())
}

#[test]
fn kprobes_and_leaks_in_the_debian_kernel() {
    let Some(c) = corpus("amd64") else { return };
    if !["qemu-system-x86_64", "busybox", "make"]
        .iter()
        .all(|t| have_tool(t))
    {
        return;
    }
    let release = c.release.clone();
    if !Path::new("/lib/modules")
        .join(&release)
        .join("build/Makefile")
        .is_file()
    {
        skip(
            Requirement::Vm,
            &format!("linux-headers-{release} is not installed"),
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // Not __init: the kernel drops a module's __init symbols from kallsyms once init ran.
    let leaky = build(
        &release,
        d,
        "kmk_leaky",
        "static void *kmk_leaky_buf;\nstatic int kmk_leaky_init(void) { kmk_leaky_buf = kmalloc(200, GFP_KERNEL); return kmk_leaky_buf ? 0 : -ENOMEM; }",
    );
    let tidy = build(
        &release,
        d,
        "kmk_tidy",
        "static int kmk_tidy_init(void) { void *p = kmalloc(200, GFP_KERNEL); if (!p) return -ENOMEM; kfree(p); return 0; }",
    );
    let initleak = build(
        &release,
        d,
        "kmk_initleak",
        "static void *kmk_initleak_buf;\nstatic int __init kmk_initleak_init(void) { kmk_initleak_buf = kmalloc(100, GFP_KERNEL); return kmk_initleak_buf ? 0 : -ENOMEM; }",
    );
    // Leaks on unload: its exit allocates and drops the pointer.
    let unl = build(
        &release,
        d,
        "kmk_unl",
        "static int kmk_unl_init(void) { return 0; }\nstatic void kmk_unl_exit(void) { void *p = kmalloc(300, GFP_KERNEL); pr_info(\"kmk_unl: %p\\n\", p); }\nmodule_exit(kmk_unl_exit);",
    );
    let kp = d.join("open.bt");
    std::fs::write(
        &kp,
        "kprobe:do_sys_openat2 /pid == cpid/ { @opens = count(); @dfd[(int32)arg0] = count(); }\n\
         kretprobe:do_sys_openat2 /pid == cpid/ { @fd[(int64)retval] = count(); }\n",
    )
    .unwrap();
    let script = "echo '=== kprobe'; kmodkit trace -c 'cat /proc/version' /open.bt; echo \"rc=$?\"\n\
         echo '=== list'; kmodkit trace -l 'kprobe:do_sys_open*'\n\
         echo '=== leaky'; kmodkit leaks --module kmk_leaky -c 'insmod /kmk_leaky.ko'; echo \"rc=$?\"\n\
         echo '=== leaky_json'; kmodkit leaks --module kmk_leaky --json --duration 1; echo \"rc=$?\"\n\
         echo '=== tidy'; kmodkit leaks --module kmk_tidy -c 'insmod /kmk_tidy.ko'; echo \"rc=$?\"\n\
         echo '=== initleak'; kmodkit leaks --module kmk_initleak -c 'insmod /kmk_initleak.ko'; echo \"rc=$?\"\n\
         echo '=== unload'; insmod /kmk_unl.ko; (kmodkit leaks --module kmk_unl 2>/tmp/attached; echo \"rc=$?\") &\n\
         for i in $(seq 600); do grep -q Attaching /tmp/attached && break; sleep 0.1; done; rmmod kmk_unl; wait\n\
         echo '=== all'; kmodkit leaks -c 'cat /proc/version'; echo \"rc=$?\"\n\
         echo '=== lsmod'; lsmod; echo '=== end'";
    let image = c.root.join("boot").join(format!("vmlinuz-{release}"));
    let out = Command::new(KMODKIT)
        .arg("vm")
        .arg("--kernel")
        .arg(&image)
        .arg("--timeout")
        .arg("240")
        .arg("--add")
        .arg(format!("{}:/kmk_leaky.ko", leaky.display()))
        .arg("--add")
        .arg(format!("{}:/kmk_tidy.ko", tidy.display()))
        .arg("--add")
        .arg(format!("{}:/kmk_initleak.ko", initleak.display()))
        .arg("--add")
        .arg(format!("{}:/kmk_unl.ko", unl.display()))
        .arg("--add")
        .arg(format!("{}:/open.bt", kp.display()))
        .arg("--")
        .arg(script)
        .output()
        .unwrap();
    let t = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "vm failed:\n{t}");

    // kprobe + kretprobe: every open of cat's returned, from AT_FDCWD, the one file is fd 3.
    let k = section(&t, "kprobe");
    assert_eq!(k.first(), Some(&"Attaching 2 probes..."), "{t}");
    assert!(k.contains(&"rc=0"), "{t}");
    let opens = map_value(&k, "@opens: ").expect("@opens printed");
    assert!(opens >= 1, "{t}");
    assert_eq!(map_value(&k, "@dfd[-100]: "), Some(opens), "{t}");
    assert!(map_value(&k, "@fd[3]: ").is_some_and(|n| n >= 1), "{t}");
    let fd_total: u64 = k
        .iter()
        .filter(|l| l.starts_with("@fd["))
        .filter_map(|l| l.rsplit_once(": ")?.1.parse::<u64>().ok())
        .sum();
    assert_eq!(fd_total, opens, "every kprobe hit has its kretprobe:\n{t}");

    // -l lists kprobe-able functions (tracefs available_filter_functions).
    assert_eq!(
        section(&t, "list"),
        ["kprobe:do_sys_open", "kprobe:do_sys_openat2"],
        "{t}"
    );

    // The leak: kmalloc(200) comes from the 256-byte slab, one allocation, named.
    let l = section(&t, "leaky");
    assert!(l.contains(&"rc=0"), "{t}");
    let at = l
        .iter()
        .position(|l| l.contains(" outstanding allocation(s), "))
        .expect("a report");
    assert_eq!(
        l[at], "1 outstanding allocation(s), 256 bytes, from 1 call site(s)",
        "{t}"
    );
    let site = l.get(at + 1).expect("a call site line");
    assert!(
        site.starts_with("       256 bytes in     1 allocation(s) from kmk_leaky_init+0x")
            && site.ends_with(" [kmk_leaky]"),
        "{t}"
    );
    // A later window does not see the allocation made before it.
    let j = section(&t, "leaky_json");
    assert!(j.contains(&"{\"outstanding\": []}"), "{t}");

    // A leak from __init code, whose symbols the kernel dropped: named by its section.
    let i = section(&t, "initleak");
    assert!(i.contains(&"rc=0"), "{t}");
    assert!(
        i.contains(&"1 outstanding allocation(s), 128 bytes, from 1 call site(s)"),
        "{t}"
    );
    assert!(
        i.iter().any(|l| l
            .starts_with("       128 bytes in     1 allocation(s) from .init.text+0x")
            && l.ends_with(" [kmk_initleak]")),
        "{t}"
    );

    // The window ends when the module is unloaded; its symbols, gone by then, come from
    // the snapshot taken at the start.
    let u = section(&t, "unload");
    assert!(u.contains(&"rc=0"), "{t}");
    assert!(
        u.contains(&"1 outstanding allocation(s), 512 bytes, from 1 call site(s)"),
        "{t}"
    );
    assert!(
        u.iter().any(|l| l
            .starts_with("       512 bytes in     1 allocation(s) from kmk_unl_exit+0x")
            && l.ends_with(" [kmk_unl]")),
        "{t}"
    );

    // The module that frees: nothing of its own outstanding...
    let n = section(&t, "tidy");
    assert!(n.contains(&"rc=0"), "{t}");
    assert!(
        n.contains(&"0 outstanding allocation(s), 0 bytes, from 0 call site(s)"),
        "{t}"
    );
    assert!(
        section(&t, "lsmod")
            .iter()
            .any(|l| l.starts_with("kmk_tidy")),
        "kmk_tidy loaded:\n{t}"
    );
    // ... while without the filter a window does hold the kernel's own (the tracer's perf
    // events, files), so the filter, not a blind tracer, made the report above empty.
    let a = section(&t, "all");
    assert!(a.contains(&"rc=0"), "{t}");
    let head = a
        .iter()
        .find(|l| l.contains(" outstanding allocation(s), "))
        .expect("a report");
    assert!(
        !head.starts_with("0 outstanding") && head.contains(" outstanding allocation(s), "),
        "{t}"
    );
    assert!(
        a.iter()
            .skip(1)
            .any(|l| l.contains(" from ") && l.contains('+')),
        "{t}"
    );
}

#[test]
fn leaks_usage_errors_exit_2_before_tracing() {
    for args in [
        &["--duration", "x"][..],
        &["--duration", "0"],
        &["--module", "a\"b"],
        &["--module"],
        &["--bogus"],
    ] {
        let out = Command::new(KMODKIT)
            .arg("leaks")
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("leaks: ") && err.contains("usage: kmodkit leaks"),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
