//! A kernel module in Rust, from skeleton to a loaded, signed module in a real kernel:
//! `kmodkit kernel build --rust` builds (once per machine, then cached) a Rust-enabled 6.12
//! kernel from Debian's sources; `kmodkit new --rust` makes the skeleton; `kmodkit build`
//! compiles it against that kernel's tree (vermagic checked) and signs it with the kernel's
//! own key; `kmodkit strip` makes an unsigned copy. kmod's `modinfo` and ours print the same
//! bytes for both; `verify` accepts the signed one against the kernel's certificate and its
//! image, and refuses the unsigned one. `kmodkit dkms` carries the Rust skeleton and a C one
//! (`kmodkit new`, its `kfree` removed) against that kernel's tree: built with its toolchain,
//! signed with its key, installed, indexed by a depmod whose files are kmod's bytes.
//!
//! One boot of that kernel under `kmodkit vm`: the signed module loads with taint `O`, prints
//! its `pr_info!` lines, and `rmmod` runs its `Drop`; the unsigned one loads with `OE` and the
//! kernel's "module verification failed" line; each taint is what `kmodkit check` predicted.
//! Then, with the DKMS-installed modules: `depmod` indexes them in the guest, `modprobe` loads
//! the Rust one by name (taint as `check` predicted), and `kmodkit leaks --module` reports 0
//! outstanding allocations for it and 1 for the C one (4096 bytes, from its init). The Rust
//! module's own allocations are in the trace while it is loaded and gone after its unload (its
//! `Drop`): the kernel sees them made in the `kernel` crate's allocator (built into the
//! kernel), so `--module`, which counts call sites in the module's code, cannot name them;
//! the unfiltered report can.

use std::path::Path;
use std::process::{Command, Output};
use testsupport::{assert_same_output, have_tool, skip, Requirement};

fn kmodkit(args: &[&str], cwd: &Path) -> Output {
    testsupport::kmodkit_in(cwd, args)
}

fn text(o: &Output) -> String {
    testsupport::output_text(o)
}

/// Why the Rust toolchain or kernel sources are unusable here, if they are.
fn toolchain_missing() -> Option<String> {
    if !Path::new("/usr/bin/rustc").is_file() {
        return Some("Debian's rustc-web is not installed (/usr/bin/rustc)".into());
    }
    if !Path::new(&format!(
        "/usr/src/{}.tar.xz",
        kbuild::kernel::DEFAULT_SOURCE
    ))
    .is_file()
    {
        return Some(format!(
            "{} is not installed",
            kbuild::kernel::DEFAULT_SOURCE
        ));
    }
    for tool in ["clang", "ld.lld", "flex", "bison", "bc"] {
        if which(tool).is_none() {
            return Some(format!("`{tool}` is not installed"));
        }
    }
    None
}

/// The Rust skeleton's allocations while it is loaded, as (bytes, allocations): its
/// 4096-byte `KBox` and its `KVec` of three `u32`s (capacity 4 after growing 1, 2, 4: a
/// 16-byte object; the 8-byte one before it was freed when it grew).
const HELD: (u64, u64) = (4096 + 16, 2);

/// A leak report's call sites as (bytes, allocations, `function+0xoff/0xsize [module]`).
fn sites(lines: &[&str]) -> Vec<(u64, u64, String)> {
    lines
        .iter()
        .filter_map(|l| {
            let (bytes, rest) = l.trim_start().split_once(" bytes in ")?;
            let (count, site) = rest.trim_start().split_once(" allocation(s) from ")?;
            Some((bytes.parse().ok()?, count.parse().ok()?, site.to_string()))
        })
        .collect()
}

/// Where the kernel sees a Rust module's allocations made: `kernel::alloc::allocator::
/// ReallocFunc::call` in the kernel crate (built into the kernel; `rust_helper_krealloc`
/// tail-calls krealloc), named by kallsyms with its v0 mangled name.
const ALLOCATOR: &str = "6kernel5alloc9allocatorNtB2_11ReallocFunc4call+0x";

/// The lines between `=== NAME` and the next `=== ` marker.
fn section<'a>(out: &'a str, name: &str) -> Vec<&'a str> {
    let start = format!("=== {name}");
    out.lines()
        .skip_while(|l| l.trim() != start)
        .skip(1)
        .take_while(|l| !l.starts_with("=== "))
        .collect()
}

fn which(tool: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

#[test]
fn rust_module_new_build_sign_load_unload() {
    if let Some(why) = toolchain_missing() {
        skip(
            Requirement::Vm,
            &format!(
                "{why}: {}",
                kbuild::kernel::install_hint(kbuild::kernel::DEFAULT_SOURCE)
            ),
        );
        return;
    }
    if !["qemu-system-x86_64", "busybox", "modinfo"]
        .iter()
        .all(|t| have_tool(t))
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let s = |p: &Path| p.to_string_lossy().into_owned();

    // The kernel: built once per machine (the first run takes minutes), then cached.
    let kdir = d.join("kernel");
    let out = kmodkit(&["kernel", "build", "--rust", "--out", &s(&kdir)], d);
    assert!(out.status.success(), "kernel build failed:\n{}", text(&out));
    eprintln!("{}", String::from_utf8_lossy(&out.stdout));
    let release = std::fs::read_to_string(kdir.join("release"))
        .unwrap()
        .trim()
        .to_string();
    let key = s(&kdir.join("signing_key.pem"));
    let config = std::fs::read_to_string(kdir.join("build/.config")).unwrap();
    assert!(config.lines().any(|l| l == "CONFIG_RUST=y"));
    assert!(config
        .lines()
        .any(|l| l == "# CONFIG_MODVERSIONS is not set"));

    // A second call finds it in the cache.
    let again = kmodkit(&["kernel", "build", "--rust", "--out", &s(&kdir)], d);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains(", cached (built in"),
        "{}",
        text(&again)
    );

    let out = kmodkit(&["new", "--rust", "kmk_rust"], d);
    assert!(out.status.success(), "{}", text(&out));
    assert!(d.join("kmk_rust/kmk_rust.rs").is_file());
    // The C skeleton, its kfree removed: a leak of its 4096-byte buffer at each unload.
    let out = kmodkit(&["new", "kmk_c"], d);
    assert!(out.status.success(), "{}", text(&out));
    let c_src = d.join("kmk_c/kmk_c.c");
    let c = std::fs::read_to_string(&c_src).unwrap();
    assert!(c.contains("\tkfree(buf);\n"), "{c}");
    std::fs::write(&c_src, c.replace("\tkfree(buf);\n", "")).unwrap();

    // DKMS carries both against the Rust kernel's tree (not under /lib/modules: given with
    // --kernelsourcedir), built with the toolchain that tree records, signed with its key.
    let trees: Vec<String> = [
        ("--dkmstree", d.join("var/lib/dkms")),
        ("--sourcetree", d.join("usr/src")),
        ("--installtree", d.join("lib/modules")),
        ("--kernelsourcedir", kdir.join("build")),
    ]
    .iter()
    .flat_map(|(f, p)| [f.to_string(), s(p)])
    .collect();
    let installed = d.join("lib/modules").join(&release);
    std::fs::create_dir_all(d.join("usr/src")).unwrap();
    std::fs::create_dir_all(&installed).unwrap();
    let dkms = |args: &[&str]| {
        let mut v: Vec<&str> = vec!["dkms"];
        v.extend(args);
        v.extend(trees.iter().map(String::as_str));
        // The index files are compared with the host's depmod, kmod 30's.
        let out = Command::new(testsupport::kmodkit())
            .args(&v)
            .current_dir(d)
            .env("KMODKIT_KMOD_COMPAT", "30")
            .output()
            .unwrap();
        assert!(out.status.success(), "kmodkit {v:?}:\n{}", text(&out));
        text(&out)
    };
    for m in ["kmk_rust", "kmk_c"] {
        dkms(&["add", &s(&d.join(m))]);
        let t = dkms(&[
            "install",
            "-m",
            &format!("{m}/0.1"),
            "-k",
            &release,
            "--sign-key",
            &key,
            "--sign-cert",
            &key,
        ]);
        assert!(t.contains(" LLVM=1 RUSTC=/usr/bin/rustc "), "{t}");
        let ko = installed.join(format!("updates/dkms/{m}.ko"));
        assert!(ko.is_file(), "{t}");
        let out = kmodkit(
            &[
                "verify",
                "--keyring",
                &s(&kdir.join("signing_key.x509")),
                &s(&ko),
            ],
            d,
        );
        assert!(out.status.success(), "{}", text(&out));
    }
    let t = dkms(&["status"]);
    for m in ["kmk_rust", "kmk_c"] {
        assert!(
            t.contains(&format!("{m}/0.1, {release}, x86_64: installed")),
            "{t}"
        );
    }
    // The index dkms install wrote (our depmod) is kmod's, byte for byte.
    let kmod_root = d.join("kmod");
    let kmod_dir = kmod_root.join("lib/modules").join(&release);
    std::fs::create_dir_all(kmod_dir.join("updates/dkms")).unwrap();
    for m in ["kmk_rust", "kmk_c"] {
        let rel = format!("updates/dkms/{m}.ko");
        std::fs::copy(installed.join(&rel), kmod_dir.join(&rel)).unwrap();
    }
    let out = Command::new("/sbin/depmod")
        .arg("-b")
        .arg(&kmod_root)
        .arg(&release)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let mut compared = 0;
    for e in std::fs::read_dir(&kmod_dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with("modules.") {
            assert!(
                std::fs::read(kmod_dir.join(&name)).unwrap()
                    == std::fs::read(installed.join(&name)).unwrap(),
                "{name} differs from kmod's depmod"
            );
            compared += 1;
        }
    }
    assert!(compared >= 6, "{compared} index files");
    let dep = std::fs::read_to_string(installed.join("modules.dep")).unwrap();
    assert!(dep.contains("updates/dkms/kmk_rust.ko:"), "{dep}");

    let out = kmodkit(
        &[
            "build",
            "kmk_rust",
            "--kernel",
            &release,
            "--headers",
            &s(&kdir.join("build")),
            "--sign-key",
            &key,
            "--sign-cert",
            &key,
        ],
        d,
    );
    assert!(out.status.success(), "build failed:\n{}", text(&out));
    assert!(
        text(&out).contains("(checked, signed with sha256)"),
        "{}",
        text(&out)
    );
    let signed = d.join("kmk_rust/.build").join(&release).join("kmk_rust.ko");
    let unsigned = d.join("unsigned.ko");
    std::fs::copy(&signed, &unsigned).unwrap();
    let out = kmodkit(&["strip", &s(&unsigned)], d);
    assert!(out.status.success(), "{}", text(&out));

    // modinfo: the same bytes as kmod's, signed and unsigned.
    for ko in [&signed, &unsigned] {
        let theirs = Command::new("modinfo").arg(ko).output().unwrap();
        let ours = Command::new(testsupport::kmodkit())
            .arg("modinfo")
            .arg(ko)
            .output()
            .unwrap();
        assert_same_output(&format!("modinfo {}", ko.display()), &theirs, &ours);
        let t = String::from_utf8_lossy(&ours.stdout);
        assert!(t.contains(&format!("vermagic:       {release} ")), "{t}");
        assert!(t.contains("name:           kmk_rust"), "{t}");
    }
    let t = String::from_utf8_lossy(
        &Command::new(testsupport::kmodkit())
            .arg("modinfo")
            .arg(&signed)
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned();
    assert!(t.contains("sig_hashalgo:   sha256"), "{t}");

    // verify: against the kernel's certificate and against the keys built into its image.
    for keyring in [kdir.join("signing_key.x509"), kdir.join("bzImage")] {
        let out = kmodkit(&["verify", "--keyring", &s(&keyring), &s(&signed)], d);
        assert!(out.status.success(), "{}", text(&out));
        let out = kmodkit(&["verify", "--keyring", &s(&keyring), &s(&unsigned)], d);
        assert!(!out.status.success(), "{}", text(&out));
    }
    // check: what this kernel will do with each; compared with what it does below.
    let predict = |ko: &Path| -> String {
        let out = kmodkit(
            &[
                "check",
                &s(ko),
                "--kernel",
                &s(&kdir.join("bzImage")),
                "--config",
                &s(&kdir.join("build/.config")),
            ],
            d,
        );
        let t = text(&out);
        assert!(out.status.success(), "check {}:\n{t}", ko.display());
        let line = t
            .lines()
            .find(|l| l.contains(&format!(": loads into {release}, taint ")))
            .unwrap_or_else(|| panic!("check {}:\n{t}", ko.display()));
        line.split(", taint ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .unwrap()
            .to_string()
    };
    let (want_signed, want_unsigned) = (predict(&signed), predict(&unsigned));
    let want_dkms = predict(&installed.join("updates/dkms/kmk_rust.ko"));
    assert_eq!(
        (
            want_signed.as_str(),
            want_unsigned.as_str(),
            want_dkms.as_str()
        ),
        ("O", "OE", "O")
    );

    // One boot: the signed module, then the unsigned one; then the DKMS-installed ones,
    // indexed by depmod in the guest, loaded by name and traced.
    let script = format!(
        "insmod /signed.ko && cat /proc/sys/kernel/tainted && cat /sys/module/kmk_rust/taint && \
         lsmod && rmmod kmk_rust && echo UNSIGNED && insmod /unsigned.ko && \
         cat /sys/module/kmk_rust/taint && rmmod kmk_rust\n\
         echo '=== depmod'; depmod 2>/dev/null; echo \"rc=$?\"; cat /lib/modules/{release}/modules.dep\n\
         echo '=== modprobe'; modprobe kmk_rust; echo \"rc=$?\"; cat /sys/module/kmk_rust/taint; \
         modprobe -r kmk_rust; echo \"rc=$?\"; lsmod\n\
         echo '=== leaks rust'; kmodkit leaks --module kmk_rust -c 'modprobe kmk_rust; modprobe -r kmk_rust'; echo \"rc=$?\"\n\
         echo '=== leaks c'; kmodkit leaks --module kmk_c -c 'modprobe kmk_c; modprobe -r kmk_c'; echo \"rc=$?\"\n\
         echo '=== held'; kmodkit leaks -c 'modprobe kmk_rust'; echo \"rc=$?\"; modprobe -r kmk_rust\n\
         echo '=== cycle'; kmodkit leaks -c 'modprobe kmk_rust; modprobe -r kmk_rust'; echo \"rc=$?\"\n\
         echo '=== dmesg'; dmesg"
    );
    let dkms_ko = |m: &str| {
        format!(
            "{}:/lib/modules/{release}/updates/dkms/{m}.ko",
            s(&installed.join(format!("updates/dkms/{m}.ko")))
        )
    };
    let out = kmodkit(
        &[
            "vm",
            "--kernel",
            &s(&kdir.join("bzImage")),
            "--timeout",
            "600",
            "--add",
            &format!("{}:/signed.ko", s(&signed)),
            "--add",
            &format!("{}:/unsigned.ko", s(&unsigned)),
            "--add",
            &dkms_ko("kmk_rust"),
            "--add",
            &dkms_ko("kmk_c"),
            "--",
            &script,
        ],
        d,
    );
    let t = text(&out);
    assert!(out.status.success(), "vm failed:\n{t}");
    let lines: Vec<&str> = t.lines().collect();
    let split = lines.iter().position(|l| *l == "UNSIGNED").unwrap();
    let (first, second) = lines.split_at(split);
    assert_eq!(
        first[0], "4096",
        "signed: kernel taint should be O only:\n{t}"
    );
    assert_eq!(first[1], want_signed, "signed: module taint:\n{t}");
    assert!(
        first.iter().any(|l| l.starts_with("kmk_rust ")),
        "lsmod:\n{t}"
    );
    assert_eq!(second[1], want_unsigned, "unsigned: module taint:\n{t}");

    // depmod in the guest, then modprobe by name: the taint check predicted.
    let dep = section(&t, "depmod");
    assert_eq!(dep.first(), Some(&"rc=0"), "{t}");
    assert!(dep.contains(&"updates/dkms/kmk_rust.ko:"), "{t}");
    assert!(dep.contains(&"updates/dkms/kmk_c.ko:"), "{t}");
    let mp = section(&t, "modprobe");
    assert_eq!(
        mp.get(..3),
        Some(&["rc=0", want_dkms.as_str(), "rc=0"][..]),
        "{t}"
    );
    assert!(!mp.iter().any(|l| l.starts_with("kmk_rust ")), "{t}");

    // leaks --module: nothing outstanding from the Rust module, the C one's buffer.
    let lr = section(&t, "leaks rust");
    assert!(lr.contains(&"rc=0"), "{t}");
    assert!(
        lr.contains(&"0 outstanding allocation(s), 0 bytes, from 0 call site(s)"),
        "{t}"
    );
    assert!(sites(&lr).is_empty(), "{t}");
    let lc = section(&t, "leaks c");
    assert!(lc.contains(&"rc=0"), "{t}");
    assert!(
        lc.contains(&"1 outstanding allocation(s), 4096 bytes, from 1 call site(s)"),
        "{t}"
    );
    let c_sites = sites(&lc);
    assert_eq!(c_sites.len(), 1, "{t}");
    assert_eq!((c_sites[0].0, c_sites[0].1), (4096, 1), "{t}");
    assert!(
        // module_init makes init_module an alias of kmk_c_init: the .ko names it either way.
        (c_sites[0].2.starts_with("kmk_c_init+0x") || c_sites[0].2.starts_with("init_module+0x"))
            && c_sites[0].2.ends_with(" [kmk_c]"),
        "{t}"
    );
    // The Rust module's allocations are in the trace while it holds them (its KBox and its
    // KVec, made by the kernel crate's allocator).
    let held = section(&t, "held");
    assert!(held.contains(&"rc=0"), "{t}");
    let rust_sites: Vec<_> = sites(&held)
        .into_iter()
        .filter(|(_, _, site)| site.contains(ALLOCATOR))
        .collect();
    assert_eq!(rust_sites.len(), 1, "{t}");
    assert_eq!((rust_sites[0].0, rust_sites[0].1), HELD, "{t}");
    // ... and freed by its Drop when it is unloaded: none of them outstanding after a load
    // and an unload (nothing else in this kernel allocates through the Rust allocator).
    let cycle = section(&t, "cycle");
    assert!(cycle.contains(&"rc=0"), "{t}");
    assert!(
        cycle
            .iter()
            .any(|l| l.contains(" outstanding allocation(s), ")),
        "{t}"
    );
    assert!(
        !sites(&cycle)
            .iter()
            .any(|(_, _, site)| site.contains(ALLOCATOR)),
        "{t}"
    );

    let count = |needle: &str| lines.iter().filter(|l| l.contains(needle)).count();
    // Loaded by insmod twice, modprobe four times; each unload ran Drop.
    assert_eq!(
        count("kmk_rust: loaded, 4096-byte buffer allocated"),
        6,
        "{t}"
    );
    assert_eq!(
        count("kmk_rust: unloaded, 4096-byte buffer and 3 numbers freed"),
        6,
        "Drop did not run on each unload:\n{t}"
    );
    assert_eq!(count("module verification failed"), 1, "{t}");
    assert_eq!(count("kmk_c: loaded, 4096-byte buffer allocated"), 1, "{t}");
}
