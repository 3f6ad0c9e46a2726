//! `kmodkit leaks --module M` in the real Debian kernels, 6.1 and 6.12 (one `kmodkit vm` boot
//! each, our binary as /bin/kmodkit), on the modules of tests/data/leaks built here against
//! that kernel's headers:
//! - kmk_initleak leaks in its `__init` function (kallsyms drops it after init),
//! - kmk_helper leaks in two helpers called from init, one in core text, one `__init`,
//! - kmk_exitleak frees at exit what init allocated and leaks what exit allocates,
//! - kmk_clean frees everything.
//!
//! Each runs in the everyday order (leaks started, then insmod, rmmod: the window ends at the
//! unload) and with `-c 'insmod M.ko; rmmod M'`. In both the module is gone when the report
//! is made, and the report must name each leaking function, from the .ko, with its slab
//! size, and nothing for kmk_clean. Around them: a module that stays loaded at the end of
//! the window, a --ko of another build of it, a window that opens after the leak, a --ko
//! that is another module, and the unfiltered report (not empty: the filter, not a blind
//! tracer, empties kmk_clean's).

mod vm_kernels;

use std::path::Path;
use std::process::Command;
use testsupport::have_tool;
use testsupport::kmodkit;
use vm_kernels::Kernel;

const MODULES: [&str; 4] = ["kmk_initleak", "kmk_helper", "kmk_exitleak", "kmk_clean"];

/// The lines between `=== NAME` and the next `=== ` marker.
fn section<'a>(out: &'a str, name: &str) -> Vec<&'a str> {
    let start = format!("=== {name}");
    out.lines()
        .skip_while(|l| l.trim() != start)
        .skip(1)
        .take_while(|l| !l.starts_with("=== "))
        .collect()
}

/// The report's call sites as (bytes, allocations, function, module), sorted.
fn sites(lines: &[&str]) -> Vec<(u64, u64, String, String)> {
    let mut v: Vec<_> = lines
        .iter()
        .filter_map(|l| {
            let (bytes, rest) = l.trim_start().split_once(" bytes in ")?;
            let (count, rest) = rest.trim_start().split_once(" allocation(s) from ")?;
            let (func, module) = rest.split_once(' ')?;
            Some((
                bytes.parse().ok()?,
                count.parse().ok()?,
                func.split_once("+0x")?.0.to_string(),
                module.trim_matches(['[', ']']).to_string(),
            ))
        })
        .collect();
    v.sort();
    v
}

fn expected(module: &str) -> Vec<(u64, u64, String, String)> {
    let mut v: Vec<_> = match module {
        "kmk_initleak" => vec![(128, "kmk_initleak_init")],
        "kmk_helper" => vec![(512, "kmk_helper_core"), (64, "kmk_helper_init_part")],
        "kmk_exitleak" => vec![(1024, "kmk_exitleak_exit")],
        _ => vec![],
    }
    .into_iter()
    .map(|(b, f)| (b, 1, f.to_string(), module.to_string()))
    .collect();
    v.sort();
    v
}

/// The report's head line for `sites`.
fn head(sites: &[(u64, u64, String, String)]) -> String {
    let n: u64 = sites.iter().map(|s| s.1).sum();
    let b: u64 = sites.iter().map(|s| s.0).sum();
    format!(
        "{n} outstanding allocation(s), {b} bytes, from {} call site(s)",
        sites.len()
    )
}

#[test]
fn leaks_of_a_module_loaded_and_unloaded_in_the_window_6_1() {
    if let Some(k) = vm_kernels::kernel_with_headers("6.1") {
        leaks_in_the_window(&k);
    }
}

#[test]
fn leaks_of_a_module_loaded_and_unloaded_in_the_window_6_12() {
    if let Some(k) = vm_kernels::kernel_with_headers("6.12") {
        leaks_in_the_window(&k);
    }
}

fn leaks_in_the_window(k: &Kernel) {
    if !have_tool("make") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/leaks");
    for e in std::fs::read_dir(&data).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), d.join(e.file_name())).unwrap();
    }
    // Another build of kmk_helper (another build id), for a --ko that is not the loaded one.
    let v = d.join("variant");
    std::fs::create_dir(&v).unwrap();
    let src = std::fs::read_to_string(data.join("kmk_helper.c")).unwrap();
    std::fs::write(
        v.join("kmk_helper.c"),
        format!("{src}MODULE_DESCRIPTION(\"another build\");\n"),
    )
    .unwrap();
    std::fs::write(v.join("Kbuild"), "obj-m := kmk_helper.o\n").unwrap();
    for dir in [d, v.as_path()] {
        let out = Command::new("make")
            .arg("-s")
            .arg("-C")
            .arg(k.headers())
            .arg(format!("M={}", dir.display()))
            .arg("modules")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "building the test modules: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let mut script = String::from(
        "cd /\n\
         window() { echo \"=== $1 window\"; (kmodkit leaks --module $1 >/tmp/out 2>/tmp/err; echo \"rc=$?\" >>/tmp/out) &\n\
           for i in $(seq 600); do grep -q Attaching /tmp/err && break; sleep 0.1; done\n\
           insmod /$1.ko; rmmod $1; wait; cat /tmp/out /tmp/err; }\n",
    );
    for m in MODULES {
        script.push_str(&format!(
            "window {m}\n\
             echo '=== {m} c'; kmodkit leaks --module {m} -c 'insmod /{m}.ko; rmmod {m}'; echo \"rc=$?\"\n"
        ));
    }
    script.push_str(
        "echo '=== loaded'; kmodkit leaks --module kmk-helper -c 'insmod /kmk_helper.ko'; echo \"rc=$?\"\n\
         echo '=== other_build'; kmodkit leaks --module kmk_helper --ko /variant.ko -c true 2>&1; echo \"rc=$?\"\n\
         echo '=== before'; kmodkit leaks --module kmk_helper --json -c 'rmmod kmk_helper'; echo \"rc=$?\"\n\
         echo '=== wrong_ko'; kmodkit leaks --module kmk_clean --ko /kmk_exitleak.ko -c true 2>&1; echo \"rc=$?\"\n\
         echo '=== all'; kmodkit leaks -c 'cat /proc/version'; echo \"rc=$?\"\n\
         echo '=== lsmod'; lsmod; echo '=== end'",
    );
    let image = k.image();
    let mut vm = Command::new(kmodkit());
    vm.arg("vm")
        .arg("--kernel")
        .arg(&image)
        .arg("--timeout")
        .arg("900");
    for m in MODULES {
        vm.arg("--add")
            .arg(format!("{}:/{m}.ko", d.join(format!("{m}.ko")).display()));
    }
    vm.arg("--add")
        .arg(format!("{}:/variant.ko", v.join("kmk_helper.ko").display()));
    let out = vm.arg("--").arg(&script).output().unwrap();
    let t = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "vm failed on {}:\n{t}", k.release());

    for m in MODULES {
        for case in ["window", "c"] {
            let s = section(&t, &format!("{m} {case}"));
            assert!(s.contains(&"rc=0"), "{m} {case}:\n{t}");
            let want = expected(m);
            assert!(s.contains(&head(&want).as_str()), "{m} {case}:\n{t}");
            assert_eq!(sites(&s), want, "{m} {case}:\n{t}");
        }
    }

    // Still loaded at the end of the window: placed from /sys/module/M/sections too; the
    // name as modprobe accepts it, `-` for `_`.
    let s = section(&t, "loaded");
    assert!(s.contains(&"rc=0"), "{t}");
    assert_eq!(sites(&s), expected("kmk_helper"), "{t}");
    // A --ko that is not the loaded build of the module is refused.
    let s = section(&t, "other_build");
    assert!(s.contains(&"rc=1"), "{t}");
    assert!(
        s.iter().any(|l| l.starts_with("kmodkit leaks: ")
            && l.contains(
                "/variant.ko: not the kmk_helper that is loaded (their build ids differ)"
            )),
        "{t}"
    );
    // A window that opens after the leak does not report it.
    let s = section(&t, "before");
    assert!(s.contains(&"rc=0"), "{t}");
    assert!(s.contains(&"{\"outstanding\": []}"), "{t}");
    // --ko must be the module asked for.
    let s = section(&t, "wrong_ko");
    assert!(s.contains(&"rc=1"), "{t}");
    assert!(
        s.iter().any(|l| l.starts_with("kmodkit leaks: ")
            && l.contains("/kmk_exitleak.ko: this is module kmk_exitleak, not kmk_clean")),
        "{t}"
    );
    // The unfiltered report holds the kernel's own allocations, named from kallsyms.
    let s = section(&t, "all");
    assert!(s.contains(&"rc=0"), "{t}");
    let h = s
        .iter()
        .find(|l| l.contains(" outstanding allocation(s), "))
        .expect("a report");
    assert!(!h.starts_with("0 outstanding"), "{t}");
    assert!(
        s.iter().any(|l| l.contains(" from ") && l.contains("+0x")),
        "{t}"
    );
    assert!(
        !section(&t, "lsmod").iter().any(|l| l.starts_with("kmk_")),
        "every test module unloaded:\n{t}"
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
        &["--ko", "/x.ko"],
    ] {
        let out = Command::new(kmodkit())
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
