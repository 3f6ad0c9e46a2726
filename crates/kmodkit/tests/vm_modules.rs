//! The real kernel as the oracle: Debian's kernels (12's own 6.1 and its 6.12) booted with
//! `kmodkit vm`, our insmod, rmmod, lsmod and dmesg inside, Debian's own kmod beside them for
//! comparison, and for every load `kmodkit check`'s prediction (loads, errno, taint mask)
//! compared with what the kernel really did.
//!
//! Two boots per kernel (each a batch of cases in one shell script): one as Debian boots,
//! one under OVMF with `module.sig_enforce=1` and a certificate of ours in the firmware's db.
//! Test modules are built here against each kernel's headers. On 6.12 the modules that
//! `modprobe` loads from the tree are `.ko.xz`, as Debian ships that kernel's own (its loader
//! decompresses them: `CONFIG_MODULE_DECOMPRESS`).

mod vm_kernels;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use testsupport::kmodkit;
use testsupport::Requirement;
use vm_kernels::Kernel;

struct Env {
    k: Kernel,
    image: PathBuf,
    dir: tempfile::TempDir,
}

fn env(series: &'static str) -> Option<Env> {
    let k = vm_kernels::kernel_with_headers(series)?;
    for tool in ["make", "depmod", "kmod", "xz", "zstd"] {
        if !testsupport::have_tool(tool) {
            return None;
        }
    }
    Some(Env {
        image: k.image(),
        k,
        dir: tempfile::tempdir().unwrap(),
    })
}

/// A module source: NAME.c printing "NAME: hello from NAME" at init.
fn module_source(name: &str, license: &str, top: &str, init: &str) -> String {
    format!(
        r#"#include <linux/module.h>
#include <linux/init.h>
{top}
static int __init {name}_init(void) {{ pr_info("{name}: hello from {name}\n"); {init} return 0; }}
static void __exit {name}_exit(void) {{ pr_info("{name}: bye\n"); }}
module_init({name}_init);
module_exit({name}_exit);
MODULE_LICENSE("{license}");
MODULE_DESCRIPTION("kmodkit test module");
"#
    )
}

fn build(
    e: &Env,
    name: &str,
    license: &str,
    top: &str,
    init: &str,
    extra: Option<&Path>,
) -> PathBuf {
    let src = e.dir.path().join("src").join(name);
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join(format!("{name}.c")),
        module_source(name, license, top, init),
    )
    .unwrap();
    std::fs::write(src.join("Makefile"), format!("obj-m := {name}.o\n")).unwrap();
    let mut cmd = Command::new("make");
    cmd.arg("-s")
        .arg("-C")
        .arg(e.k.headers())
        .arg(format!("M={}", src.display()))
        .arg("modules");
    if let Some(x) = extra {
        cmd.arg(format!("KBUILD_EXTRA_SYMBOLS={}", x.display()));
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "building {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    src.join(format!("{name}.ko"))
}

struct Modules {
    hello: PathBuf,
    prop: PathBuf,
    vmagic: PathBuf,
    tree: PathBuf,
    /// The file name suffix of the modules in `tree`: `.ko`, or `.ko.xz` on 6.12.
    tree_suffix: &'static str,
}

fn build_all(e: &Env) -> Modules {
    let hello = build(e, "hello", "GPL", "", "", None);
    let prop = build(e, "prop", "Proprietary", "", "", None);
    let vmagic = build(e, "vmagic", "GPL", "", "", None);
    // A vermagic the kernel does not have: one word changed, same length, so the ELF
    // stays intact. (The release word would not do: with modversions it is not compared.)
    let mut bytes = std::fs::read(&vmagic).unwrap();
    let from = b" mod_unload ";
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("vermagic has mod_unload");
    bytes[at..at + from.len()].copy_from_slice(b" mod_unlXad ");
    std::fs::write(&vmagic, &bytes).unwrap();
    let dep_a = build(
        e,
        "dep_a",
        "GPL",
        "int dep_a_value = 42; EXPORT_SYMBOL(dep_a_value);",
        "",
        None,
    );
    let symvers = dep_a.parent().unwrap().join("Module.symvers");
    let dep_b = build(
        e,
        "dep_b",
        "GPL",
        "extern int dep_a_value;",
        r#"pr_info("dep_b: dep_a says %d\n", dep_a_value);"#,
        Some(&symvers),
    );
    // xz as the kernel's own build compresses modules (scripts/Makefile.modinst: CRC32 check,
    // 1 MiB dictionary: what the kernel's decompressor handles), and xz's default (CRC64),
    // which it does not.
    for (tool, args, m) in [
        ("xz", &["--check=crc32", "--lzma2=dict=1MiB"][..], &hello),
        ("zstd", &[][..], &vmagic),
    ] {
        let st = Command::new(tool)
            .arg("-kq")
            .args(args)
            .arg(m)
            .status()
            .unwrap();
        assert!(st.success(), "{tool} {}", m.display());
    }
    let crc64 = Command::new("xz")
        .args(["-cq", "--check=crc64"])
        .arg(&hello)
        .output()
        .unwrap();
    assert!(crc64.status.success());
    std::fs::write(hello.with_file_name("hello64.ko.xz"), crc64.stdout).unwrap();
    let tree = e.dir.path().join("tree");
    let extra = tree.join("lib/modules").join(e.k.release()).join("extra");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::copy(&dep_a, extra.join("dep_a.ko")).unwrap();
    std::fs::copy(&dep_b, extra.join("dep_b.ko")).unwrap();
    // A kernel that decompresses modules itself gets them compressed, as its distribution
    // ships them (Debian's 6.12: every module .ko.xz).
    let tree_suffix = if e.k.config("CONFIG_MODULE_DECOMPRESS").as_deref() == Some("y") {
        for m in ["dep_a.ko", "dep_b.ko"] {
            let st = Command::new("xz")
                .args(["-q", "--check=crc32"])
                .arg(extra.join(m))
                .status()
                .unwrap();
            assert!(st.success());
        }
        ".ko.xz"
    } else {
        ".ko"
    };
    let st = Command::new("depmod")
        .arg("-b")
        .arg(&tree)
        .arg(e.k.release())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    Modules {
        hello,
        prop,
        vmagic,
        tree,
        tree_suffix,
    }
}

/// Shell helpers for the guest: `run NAME CMD...` records CMD's status, stdout and
/// stderr as `@@NAME rc|out|err ...` lines; `state NAME MODULE` the module's and the
/// kernel's taint. `/k/<tool>` is Debian's kmod under the tool's name: kmod 30, so our tools
/// run with its bytes (`KMODKIT_KMOD_COMPAT=30`; kmod 34, the default, prints "in use by"
/// holders differently).
const PRELUDE: &str = r#"
export KMODKIT_KMOD_COMPAT=30
run() { n=$1; shift; "$@" >/tmp/o 2>/tmp/e; rc=$?; echo "@@$n rc $rc"; sed "s/^/@@$n out /" /tmp/o; sed "s/^/@@$n err /" /tmp/e; }
state() { echo "@@$1 taint $(cat /sys/module/$2/taint 2>/dev/null)"; echo "@@$1 tainted $(cat /proc/sys/kernel/tainted)"; }
mkdir -p /k; for t in insmod rmmod lsmod modprobe; do ln -s /usr/bin/kmod /k/$t; done
"#;

/// Case name -> key -> lines.
type Results = BTreeMap<String, BTreeMap<String, Vec<String>>>;

fn parse(stdout: &str) -> Results {
    let mut r = Results::new();
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("@@") else {
            continue;
        };
        let mut it = rest.splitn(3, ' ');
        let (Some(n), Some(k)) = (it.next(), it.next()) else {
            continue;
        };
        r.entry(n.to_string())
            .or_default()
            .entry(k.to_string())
            .or_default()
            .push(it.next().unwrap_or("").to_string());
    }
    r
}

fn field<'a>(r: &'a Results, case: &str, key: &str) -> &'a [String] {
    r.get(case)
        .and_then(|c| c.get(key))
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("case {case}: no {key} line in the guest's output"))
}

fn rc(r: &Results, case: &str) -> i32 {
    field(r, case, "rc")[0].parse().unwrap()
}

/// The guest's stdout; panics with the console and stderr when the VM itself failed.
fn boot(e: &Env, m: &Modules, append: &str, extra: &[String], script: &str) -> String {
    let mut cmd = Command::new(kmodkit());
    cmd.arg("vm")
        .arg("--kernel")
        .arg(&e.image)
        .arg("--timeout")
        .arg("300")
        .arg("--add")
        .arg(format!("{}:/m/hello.ko", m.hello.display()))
        .arg("--add")
        .arg(format!("{}:/m/prop.ko", m.prop.display()))
        .arg("--add")
        .arg(format!("{}:/m/vmagic.ko", m.vmagic.display()))
        .arg("--add")
        .arg(format!("{}.xz:/m/hello.ko.xz", m.hello.display()))
        .arg("--add")
        .arg(format!(
            "{}:/m/hello64.ko.xz",
            m.hello.with_file_name("hello64.ko.xz").display()
        ))
        .arg("--add")
        .arg(format!("{}.zst:/m/vmagic.ko.zst", m.vmagic.display()))
        .arg("--modules-from")
        .arg(&m.tree)
        .arg("--with")
        .arg("dep_b");
    // Debian's kmod and util-linux's dmesg (as /usr/bin/udmesg) with their libraries,
    // as the oracles inside.
    cmd.arg("--add").arg("/usr/bin/kmod:/usr/bin/kmod");
    cmd.arg("--add").arg("/usr/bin/dmesg:/usr/bin/udmesg");
    for exe in ["/usr/bin/kmod", "/usr/bin/dmesg"] {
        let ldd = Command::new("ldd").arg(exe).output().unwrap();
        for l in String::from_utf8_lossy(&ldd.stdout).lines() {
            let path = match l.split_once("=>") {
                Some((_, r)) => r.trim().split(" (").next().unwrap_or("").to_string(),
                None => l.trim().split(" (").next().unwrap_or("").to_string(),
            };
            if path.starts_with('/') {
                cmd.arg("--add").arg(format!("{path}:{path}"));
            }
        }
    }
    if !append.is_empty() {
        cmd.arg("--append").arg(append);
    }
    cmd.args(extra);
    cmd.arg("--console")
        .arg("--")
        .arg(format!("{PRELUDE}\n{script}"));
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "kmodkit vm failed ({:?}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `kmodkit check --json` for a module file.
fn check(e: &Env, module: &Path, extra: &[&str]) -> serde_json::Value {
    let out = Command::new(kmodkit())
        .arg("check")
        .arg(module)
        .arg("--kernel")
        .arg(&e.image)
        .arg("--json")
        .args(extra)
        .output()
        .unwrap();
    // Exit status 0: loads, 1: rejected (with the prediction printed).
    assert!(
        matches!(out.status.code(), Some(0 | 1)) && !out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["loads"].as_bool(),
        Some(out.status.code() == Some(0)),
        "{v}"
    );
    v
}

/// kmod's insmod error text for an errno name (tools/insmod.c mod_strerror, else strerror).
fn insmod_text(errno: &str) -> &'static str {
    match errno {
        "ENOEXEC" => "Invalid module format",
        "EKEYREJECTED" => "Key was rejected by service",
        other => panic!("no expected text for {other}"),
    }
}

/// Prediction vs. the kernel: loads, errno (through insmod's message) and taint mask.
fn assert_predicted(r: &Results, case: &str, file: &str, p: &serde_json::Value) {
    let loads = rc(r, case) == 0;
    assert_eq!(
        p["loads"].as_bool().unwrap(),
        loads,
        "{case}: loads; prediction {p}"
    );
    if loads {
        let letters = &field(r, case, "taint")[0];
        let mask = modsys::taint::mask_of_letters(letters).unwrap();
        assert_eq!(
            p["taint_mask"].as_u64().unwrap(),
            mask,
            "{case}: taint {letters}; prediction {p}"
        );
        assert_eq!(p["taint"].as_str().unwrap(), letters);
    } else {
        let errno = p["errno"].as_str().unwrap();
        assert_eq!(
            field(r, case, "err"),
            [format!(
                "insmod: ERROR: could not insert module {file}: {}",
                insmod_text(errno)
            )],
            "{case}: prediction {p}"
        );
        assert_eq!(p["taint_mask"].as_u64().unwrap(), 0);
    }
}

fn dmesg_messages(r: &Results, case: &str) -> Vec<String> {
    field(r, case, "out")
        .iter()
        .map(|l| {
            l.split_once("] ")
                .map(|x| x.1.to_string())
                .unwrap_or_default()
        })
        .collect()
}

/// Same status, stdout and stderr from our tool and the oracle (Debian's kmod, util-linux).
fn assert_same_as_kmod(r: &Results, ours: &str, theirs: &str) {
    let get = |c: &str, k: &str| r.get(c).and_then(|m| m.get(k)).cloned().unwrap_or_default();
    assert_eq!(
        rc(r, ours),
        rc(r, theirs),
        "{ours} vs kmod's {theirs}: status differs"
    );
    for k in ["out", "err"] {
        assert_eq!(
            get(ours, k),
            get(theirs, k),
            "{ours} vs kmod's {theirs}: {k} differs"
        );
    }
}

#[test]
fn real_kernel_loads_taints_and_refuses_as_predicted_6_1() {
    if let Some(e) = env("6.1") {
        real_kernel(&e);
    }
}

#[test]
fn real_kernel_loads_taints_and_refuses_as_predicted_6_12() {
    if let Some(e) = env("6.12") {
        real_kernel(&e);
    }
}

fn real_kernel(e: &Env) {
    let m = build_all(e);

    // Boot 1: Debian's defaults (signatures checked, not enforced).
    let out = boot(
        e,
        &m,
        "",
        &[],
        r#"
run hello insmod /m/hello.ko; state hello hello
run dmesg_hello dmesg --module hello
run prop insmod /m/prop.ko; state prop prop
run vmagic insmod /m/vmagic.ko; state vmagic vmagic
run vmagic_kmod /k/insmod /m/vmagic.ko
run vmagic_f insmod -f /m/vmagic.ko; state vmagic_f vmagic
run modprobe modprobe dep_b
run modprobe_again modprobe dep_b
run modprobe_first modprobe --first-time dep_b
run modprobe_first_kmod /k/modprobe --first-time dep_b
run show_deps modprobe --show-depends dep_b
run show_deps_kmod /k/modprobe --show-depends dep_b
run lsmod lsmod
run lsmod_kmod /k/lsmod
run rmmod_inuse rmmod dep_a
run rmmod_inuse_kmod /k/rmmod dep_a
run rmmod_missing rmmod nosuch
run rmmod_missing_kmod /k/rmmod nosuch
run insmod_missing insmod /m/nosuch.ko
run insmod_missing_kmod /k/insmod /m/nosuch.ko
run insmod_exists insmod /m/hello.ko
run insmod_exists_kmod /k/insmod /m/hello.ko
run rmmod_f rmmod -f dep_a
run rmmod_f_kmod /k/rmmod -f dep_a
run modprobe_r_inuse modprobe -r dep_a
run modprobe_r_inuse_kmod /k/modprobe -r dep_a
run rmmod_chain modprobe -r dep_b
run after lsmod
# Compressed modules: on a kernel that decompresses the kind itself (6.12: xz), given to
# finit_module as they are; else decompressed here and given to init_module; forced, with
# vermagic and __versions stripped from the image. An xz file with a CRC64 check, which the
# kernel's decompressor refuses (EINVAL), fails there for kmod too.
run rm_hello rmmod hello
run hello64_kmod /k/insmod /m/hello64.ko.xz; /k/rmmod hello 2>/dev/null
run hello64 insmod /m/hello64.ko.xz; /k/rmmod hello 2>/dev/null
run hello_xz insmod /m/hello.ko.xz; state hello_xz hello
run rm_vmagic rmmod vmagic
run vmagic_zst insmod /m/vmagic.ko.zst
run vmagic_zst_f insmod -f /m/vmagic.ko.zst; state vmagic_zst_f vmagic
echo '<3>user: a\\b' > /dev/kmsg
run dmesg dmesg
run dmesg_util udmesg
run dmesg_raw dmesg -r
run dmesg_raw_util udmesg -r
run dmesg_err dmesg --level err,warn
run dmesg_err_util udmesg --level err,warn
"#,
    );
    let r = parse(&out);

    // Unsigned out-of-tree module: loads, OE, 12288 on a fresh kernel.
    let p = check(e, &m.hello, &[]);
    assert_predicted(&r, "hello", "/m/hello.ko", &p);
    assert_eq!(field(&r, "hello", "taint"), ["OE"]);
    assert_eq!(field(&r, "hello", "tainted"), ["12288"]);
    // Its printk line, and every line the prediction names, in our dmesg.
    let lines = dmesg_messages(&r, "dmesg_hello");
    assert!(
        lines.contains(&"hello: hello from hello".to_string()),
        "{lines:?}"
    );
    for l in p["dmesg"].as_array().unwrap() {
        assert!(
            lines.contains(&l.as_str().unwrap().to_string()),
            "{l} not in {lines:?}"
        );
    }

    let p = check(e, &m.prop, &[]);
    assert_predicted(&r, "prop", "/m/prop.ko", &p);
    assert_eq!(field(&r, "prop", "taint"), ["POE"]);

    let p = check(e, &m.vmagic, &[]);
    assert_eq!(p["errno"], "ENOEXEC");
    assert_predicted(&r, "vmagic", "/m/vmagic.ko", &p);
    assert_eq!(field(&r, "vmagic", "taint"), [""]);
    assert_same_as_kmod(&r, "vmagic", "vmagic_kmod");
    let all = dmesg_messages(&r, "dmesg");
    for l in p["dmesg"].as_array().unwrap() {
        assert!(
            all.contains(&l.as_str().unwrap().to_string()),
            "{l} not in dmesg"
        );
    }

    let p = check(e, &m.vmagic, &["-f"]);
    assert_predicted(&r, "vmagic_f", "/m/vmagic.ko", &p);
    assert!(field(&r, "vmagic_f", "taint")[0].contains('F'));

    // The compressed copies: same taint as the plain files.
    assert_eq!(rc(&r, "rm_hello"), 0);
    // A CRC64-checked xz file: where the kernel decompresses xz itself, our insmod hands it
    // the file as kmod 31 and later do, and the kernel refuses it (EINVAL, "decompression
    // failed with status 6": XZ_OPTIONS_ERROR); Debian 12's kmod 30 always decompresses in
    // user space and loads it (the documented difference, insmod(8)). Elsewhere both load it.
    if m.tree_suffix == ".ko.xz" {
        assert_eq!(
            field(&r, "hello64", "err"),
            ["insmod: ERROR: could not insert module /m/hello64.ko.xz: Invalid parameters"]
        );
        assert_eq!(rc(&r, "hello64_kmod"), 0, "{:?}", r.get("hello64_kmod"));
        assert!(
            all.contains(&"decompression failed with status 6".to_string()),
            "{all:?}"
        );
    } else {
        assert_same_as_kmod(&r, "hello64", "hello64_kmod");
        assert_eq!(rc(&r, "hello64"), 0, "{:?}", r.get("hello64"));
    }
    assert_eq!(rc(&r, "hello_xz"), 0, "{:?}", r.get("hello_xz"));
    assert_eq!(field(&r, "hello_xz", "taint"), ["OE"]);
    assert_eq!(rc(&r, "rm_vmagic"), 0);
    assert_eq!(
        field(&r, "vmagic_zst", "err"),
        ["insmod: ERROR: could not insert module /m/vmagic.ko.zst: Invalid module format"]
    );
    assert_eq!(rc(&r, "vmagic_zst_f"), 0, "{:?}", r.get("vmagic_zst_f"));
    assert_eq!(field(&r, "vmagic_zst_f", "taint"), ["FOE"]);

    // Dependencies: our `modprobe dep_b` (or, while it only resolves, its --show-depends
    // plan run by our insmod; the plan byte-identical to kmod's) loaded dep_a first, from the tree
    // --modules-from copied; dep_b holds dep_a; rmmod dep_a refused as kmod refuses it.
    assert_eq!(rc(&r, "modprobe"), 0, "{:?}", r.get("modprobe"));
    // Loaded already: fine, unless --first-time (then kmod's message and status).
    assert_eq!(rc(&r, "modprobe_again"), 0, "{:?}", r.get("modprobe_again"));
    assert_same_as_kmod(&r, "modprobe_first", "modprobe_first_kmod");
    assert_eq!(rc(&r, "modprobe_first"), 1);
    assert_same_as_kmod(&r, "show_deps", "show_deps_kmod");
    let plan = field(&r, "show_deps", "out");
    assert_eq!(plan.len(), 2);
    assert!(
        plan.iter().all(|l| l.trim_end().ends_with(m.tree_suffix)),
        "{plan:?} should load {} files",
        m.tree_suffix
    );
    let lsmod = field(&r, "lsmod", "out");
    assert!(
        lsmod
            .iter()
            .any(|l| l.starts_with("dep_a ") && l.ends_with("  1 dep_b")),
        "{lsmod:?}"
    );
    assert_same_as_kmod(&r, "lsmod", "lsmod_kmod");
    assert_eq!(rc(&r, "rmmod_inuse"), 1);
    assert_eq!(
        field(&r, "rmmod_inuse", "err"),
        ["rmmod: ERROR: Module dep_a is in use by: dep_b"]
    );
    assert_same_as_kmod(&r, "rmmod_inuse", "rmmod_inuse_kmod");
    assert_same_as_kmod(&r, "rmmod_missing", "rmmod_missing_kmod");
    // Forced: the kernel itself refuses (dep_a has a holder); libkmod's line, then rmmod's.
    assert_eq!(rc(&r, "rmmod_f"), 1);
    assert_eq!(
        field(&r, "rmmod_f", "err").len(),
        2,
        "{:?}",
        r.get("rmmod_f")
    );
    assert_same_as_kmod(&r, "rmmod_f", "rmmod_f_kmod");
    assert_same_as_kmod(&r, "insmod_missing", "insmod_missing_kmod");
    assert_same_as_kmod(&r, "insmod_exists", "insmod_exists_kmod");
    // modprobe -r of a module in use is refused as kmod refuses it; of the top of the
    // chain, it removes the chain (dep_a is no longer used once dep_b is gone).
    assert_eq!(rc(&r, "modprobe_r_inuse"), 1);
    assert_same_as_kmod(&r, "modprobe_r_inuse", "modprobe_r_inuse_kmod");
    assert_eq!(rc(&r, "rmmod_chain"), 0, "{:?}", r.get("rmmod_chain"));
    assert!(!field(&r, "after", "out")
        .iter()
        .any(|l| l.starts_with("dep_")));
    assert!(all.contains(&"dep_b: dep_a says 42".to_string()));
    // Our dmesg prints what util-linux's prints, byte for byte.
    assert!(all.len() > 100);
    assert_same_as_kmod(&r, "dmesg", "dmesg_util");
    assert_same_as_kmod(&r, "dmesg_raw", "dmesg_raw_util");
    assert_same_as_kmod(&r, "dmesg_err", "dmesg_err_util");
    assert!(field(&r, "dmesg_err", "out")
        .iter()
        .any(|l| l.contains("user: a\\")));

    // Boot 2: OVMF with our certificate enrolled in db, enforcement on. The unsigned module
    // is refused, nothing tainted; the module signed with that key loads with O only (4096);
    // the same module with one byte flipped is refused. `kmodkit check` predicts each.
    if !Path::new("/usr/share/OVMF/OVMF_CODE_4M.fd").is_file() {
        testsupport::skip(Requirement::Vm, "OVMF (package ovmf) is not installed");
        return;
    }
    let keys = e.dir.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let (key, cert) = (keys.join("k.pem"), keys.join("c.pem"));
    let st = Command::new(kmodkit())
        .args([
            "keygen",
            "--cn",
            "kmodkit vm test db key",
            "--algo",
            "rsa2048",
            "--key",
        ])
        .arg(&key)
        .arg("--cert")
        .arg(&cert)
        .status()
        .unwrap();
    assert!(st.success());
    let signed = keys.join("signed.ko");
    std::fs::copy(&m.hello, &signed).unwrap();
    let st = Command::new(kmodkit())
        .args(["sign-file", "sha256"])
        .arg(&key)
        .arg(&cert)
        .arg(&signed)
        .status()
        .unwrap();
    assert!(st.success());
    let flipped = keys.join("flipped.ko");
    let mut bytes = std::fs::read(&signed).unwrap();
    bytes[1000] ^= 1;
    std::fs::write(&flipped, &bytes).unwrap();
    let extra = [
        "--secure-db".to_string(),
        cert.display().to_string(),
        "--add".to_string(),
        format!("{}:/m/signed.ko", signed.display()),
        "--add".to_string(),
        format!("{}:/m/flipped.ko", flipped.display()),
    ];
    let out = boot(
        e,
        &m,
        "module.sig_enforce=1",
        &extra,
        r#"
run hello insmod /m/hello.ko; state hello hello
run hello_kmod /k/insmod /m/hello.ko
run flipped insmod /m/flipped.ko; state flipped hello
run signed insmod /m/signed.ko; state signed hello
run dmesg dmesg
"#,
    );
    let r = parse(&out);
    let all = dmesg_messages(&r, "dmesg");
    let p = check(e, &m.hello, &["--sig-enforce"]);
    assert_eq!(p["errno"], "EKEYREJECTED");
    assert_predicted(&r, "hello", "/m/hello.ko", &p);
    assert_eq!(field(&r, "hello", "tainted"), ["0"]);
    assert_same_as_kmod(&r, "hello", "hello_kmod");
    for l in p["dmesg"].as_array().unwrap() {
        assert!(
            all.contains(&l.as_str().unwrap().to_string()),
            "{l} not in {all:?}"
        );
    }
    assert!(
        all.iter()
            .any(|l| l.contains("Loaded X.509 cert 'kmodkit vm test db key")),
        "the firmware db certificate was not loaded: {all:?}"
    );
    let db = ["--sig-enforce", "--secure-db", cert.to_str().unwrap()];
    let p = check(e, &flipped, &db);
    assert_eq!(p["errno"], "EKEYREJECTED");
    assert_predicted(&r, "flipped", "/m/flipped.ko", &p);
    let p = check(e, &signed, &db);
    assert_eq!(p["signature"], "valid");
    assert_predicted(&r, "signed", "/m/signed.ko", &p);
    assert_eq!(field(&r, "signed", "taint"), ["O"]);
    assert_eq!(field(&r, "signed", "tainted"), ["4096"]);
    // Without the db certificate the same module would be refused.
    let p = check(e, &signed, &["--sig-enforce"]);
    assert_eq!(p["errno"], "EKEYREJECTED");
}
