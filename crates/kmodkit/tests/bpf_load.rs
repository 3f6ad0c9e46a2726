//! `kmodkit bpf load`: clang-compiled, libbpf-style objects (tests/data/bpf_load/*.c, built
//! here against a vmlinux.h that bpftool generates from the host's BTF) loaded into the host
//! kernel by us and by `bpftool prog loadall`, compared through bpftool's own view of both
//! (program type, name, tag — a hash of the relocated instructions —, translated size, BTF,
//! maps and their contents); attached programs whose results are fixed by the program (bpf_loop
//! and bpf_for_each_map_elem callbacks, bpf-to-bpf calls, global data); CO-RE offsets checked
//! against the kernel's BTF as bpftool prints it; maps pinned by name reused; XDP and tc
//! programs attached to a veth pair between two network namespaces the test makes; kfunc and
//! `.kconfig` externs, `__ksym` symbols; a uprobe on a program the test builds.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use testsupport::{have_tool, skip, Requirement};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn kmodkit(args: &[&str]) -> std::process::Output {
    Command::new(testsupport::kmodkit())
        .args(args)
        .output()
        .unwrap()
}

fn bpftool_json(args: &[&str]) -> Value {
    let o = Command::new("bpftool")
        .arg("-j")
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "bpftool {args:?}: {}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A temp dir with the compiled objects and a bpf filesystem mounted at `fs/`.
struct Setup {
    dir: tempfile::TempDir,
    fs: PathBuf,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.fs).status();
    }
}

impl Setup {
    fn obj(&self, name: &str) -> String {
        self.dir
            .path()
            .join(format!("{name}.o"))
            .to_string_lossy()
            .into_owned()
    }
    /// A fresh directory on the bpf filesystem.
    fn pin_dir(&self, name: &str) -> PathBuf {
        let d = self.fs.join(name);
        std::fs::create_dir(&d).unwrap();
        d
    }
}

fn setup() -> Option<Setup> {
    if !bpf_sys::available() {
        skip(Requirement::Bpf, "bpf() is not available here");
        return None;
    }
    for t in ["clang", "bpftool"] {
        if !have_tool(t) {
            skip(Requirement::Tool, &format!("{t} is not installed"));
            return None;
        }
    }
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        skip(
            Requirement::Bpf,
            "the kernel has no BTF (/sys/kernel/btf/vmlinux)",
        );
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let vmlinux_h = Command::new("bpftool")
        .args([
            "btf",
            "dump",
            "file",
            "/sys/kernel/btf/vmlinux",
            "format",
            "c",
        ])
        .output()
        .unwrap();
    assert!(vmlinux_h.status.success(), "{}", text(&vmlinux_h.stderr));
    std::fs::write(dir.path().join("vmlinux.h"), &vmlinux_h.stdout).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bpf_load");
    for name in [
        "callbacks",
        "core_task",
        "pinned",
        "net_count",
        "externs",
        "kfunc_missing",
        "ksyms",
    ] {
        let st = Command::new("clang")
            .args(["-O2", "-g", "-target", "bpf", "-c"])
            .arg("-I")
            .arg(dir.path())
            .arg(src.join(format!("{name}.c")))
            .arg("-o")
            .arg(dir.path().join(format!("{name}.o")))
            .status()
            .unwrap();
        assert!(st.success(), "clang failed on {name}.c");
    }
    let fs = dir.path().join("fs");
    std::fs::create_dir(&fs).unwrap();
    let st = Command::new("mount")
        .args(["-t", "bpf", "bpf"])
        .arg(&fs)
        .status()
        .unwrap();
    if !st.success() {
        skip(
            Requirement::Bpf,
            "cannot mount a bpf filesystem (mount -t bpf)",
        );
        return None;
    }
    Some(Setup { dir, fs })
}

/// Name -> hex entries of every map a program uses, as bpftool dumps them.
fn maps_of(prog: &Value) -> Vec<(String, Vec<(Value, Value)>)> {
    let mut out: Vec<_> = prog["map_ids"]
        .as_array()
        .map(|v| v.to_vec())
        .unwrap_or_default()
        .iter()
        .map(|id| {
            let id = id.as_u64().unwrap().to_string();
            let show = bpftool_json(&["map", "show", "id", &id]);
            let dump = bpftool_json(&["map", "dump", "id", &id]);
            let entries = dump
                .as_array()
                .unwrap()
                .iter()
                .map(|e| (e["key"].clone(), e["value"].clone()))
                .collect();
            (show["name"].as_str().unwrap().to_string(), entries)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn objects_load_as_bpftool_loads_them() {
    let Some(s) = setup() else { return };
    for (obj, progs) in [
        ("callbacks", &["loops", "tp_twice"][..]),
        ("core_task", &["read_task"][..]),
        ("net_count", &["xdp_probe", "tc_probe"][..]),
        // kfuncs by BTF id, .kconfig from /proc/config.gz: bpftool's libbpf fills the same map.
        ("externs", &["ext_use"][..]),
        // A typeless __ksym: the address from kallsyms is in the instructions (and the tag).
        ("ksyms", &["ksyms"][..]),
    ] {
        let theirs = s.pin_dir(&format!("bpftool_{obj}"));
        let o = Command::new("bpftool")
            .args(["prog", "loadall", &s.obj(obj)])
            .arg(&theirs)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "bpftool loadall {obj}: {}",
            text(&o.stderr)
        );
        let ours = s.pin_dir(&format!("kmodkit_{obj}"));
        let o = kmodkit(&["bpf", "load", &s.obj(obj), "--pin", ours.to_str().unwrap()]);
        assert!(
            o.status.success(),
            "kmodkit bpf load {obj}: {}",
            text(&o.stderr)
        );
        for p in progs {
            let pin = |d: &Path| d.join(p).to_string_lossy().into_owned();
            let t = bpftool_json(&["prog", "show", "pinned", &pin(&theirs)]);
            let u = bpftool_json(&["prog", "show", "pinned", &pin(&ours)]);
            for field in ["type", "name", "tag", "bytes_xlated", "gpl_compatible"] {
                assert_eq!(t[field], u[field], "{obj} {p}: {field}");
            }
            assert!(u["btf_id"].is_u64(), "{obj} {p}: loaded without BTF: {u}");
            assert_eq!(
                t["map_ids"].as_array().map(Vec::len),
                u["map_ids"].as_array().map(Vec::len),
                "{obj} {p}: map count"
            );
            assert_eq!(maps_of(&t), maps_of(&u), "{obj} {p}: maps and contents");
        }
    }
}

/// The `value` of `key` 0..n in a `--json` dump, as little-endian u64s.
fn u64s(entry: &Value) -> Vec<u64> {
    let bytes: Vec<u8> = entry["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| u8::from_str_radix(b.as_str().unwrap().trim_start_matches("0x"), 16).unwrap())
        .collect();
    bytes
        .chunks(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn load_json(args: &[&str]) -> Value {
    let o = kmodkit(args);
    assert!(o.status.success(), "kmodkit {args:?}: {}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o.stdout)))
}

fn map<'a>(out: &'a Value, name: &str) -> &'a Value {
    out["maps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no map {name} in {out}"))
}

#[test]
fn attached_callbacks_and_subprograms_run() {
    let Some(s) = setup() else { return };
    // perl calls getppid(): the tracepoint program runs at least once, the raw_tp one on
    // every system call.
    let out = load_json(&[
        "bpf",
        "load",
        &s.obj("callbacks"),
        "--attach",
        "--dump-maps",
        "--json",
        "--",
        "perl",
        "-e",
        "getppid()",
    ]);
    let counts = map(&out, "counts")["entries"].as_array().unwrap();
    // bpf_loop(10) adding i * step (3, from .rodata), doubled by a bpf-to-bpf call.
    assert_eq!(u64s(&counts[0]), [2 * 3 * 45]);
    // tracepoint: twice(seen), seen = 7 in .data.
    assert_eq!(u64s(&counts[2]), [14]);
    assert_eq!(u64s(&map(&out, "callback.data")["entries"][0]), [7]);
    assert_eq!(u64s(&map(&out, "callback.rodata")["entries"][0]), [3]);
    // bpf_for_each_map_elem summed counts: 270, or 284 once the tracepoint had run.
    let total = u64s(&map(&out, "callback.bss")["entries"][0])[0];
    assert!(total == 270 || total == 284, "total {total}");
}

/// The id and size of `task_struct` and its members' byte offsets, from
/// `bpftool btf dump file FILE` (raw format).
fn task_struct_from_bpftool(file: &str) -> (u64, u64, Vec<(String, u64)>) {
    let o = Command::new("bpftool")
        .args(["btf", "dump", "file", file])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "bpftool btf dump {file}: {}",
        text(&o.stderr)
    );
    let t = text(&o.stdout);
    let mut lines = t.lines();
    let head = lines
        .by_ref()
        .find(|l| l.contains(" STRUCT 'task_struct' size="))
        .unwrap();
    let id: u64 = head[1..head.find(']').unwrap()].parse().unwrap();
    let size: u64 = head
        .split("size=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let mut members = Vec::new();
    for l in lines.take_while(|l| l.starts_with('\t')) {
        let name = l.split('\'').nth(1).unwrap_or("").to_string();
        let bits: u64 = l
            .split("bits_offset=")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        members.push((name, bits / 8));
    }
    (id, size, members)
}

#[test]
fn core_relocations_match_the_kernel_btf() {
    let Some(s) = setup() else { return };
    let out = load_json(&[
        "bpf",
        "load",
        &s.obj("core_task"),
        "--attach",
        "--dump-maps",
        "--json",
        "--",
        "true",
    ]);
    let r = u64s(&map(&out, "core_tas.bss")["entries"][0]);
    let (id, size, members) = task_struct_from_bpftool("/sys/kernel/btf/vmlinux");
    let off = |n: &str| members.iter().find(|m| m.0 == n).unwrap().1;
    let names = [
        "off_pid",
        "off_tgid",
        "off_real_parent",
        "size_pid",
        "size_comm",
        "pid_exists",
        "missing_exists",
        "pid_signed",
        "state_signed",
        "task_exists",
        "task_size",
        "task_id",
        "enum_value",
        "enum_exists",
        "ok",
        "bad",
    ];
    let got: Vec<(&str, u64)> = names.iter().copied().zip(r.iter().copied()).collect();
    let want: Vec<(&str, u64)> = names
        .iter()
        .copied()
        .zip([
            off("pid"),
            off("tgid"),
            off("real_parent"),
            4,
            16, // TASK_COMM_LEN
            1,
            0,
            1, // pid_t is int
            0, // __state is unsigned int
            1,
            size,
            id,
            181, // BPF_FUNC_loop
            1,
            1, // task->tgid read through the relocated offset is the current tgid
            0,
        ])
        .collect();
    assert_eq!(got, want);

    // The relocations themselves, without loading, against an explicit --btf file.
    let core = load_json(&[
        "bpf",
        "load",
        &s.obj("core_task"),
        "--core-only",
        "--json",
        "--btf",
        "/sys/kernel/btf/vmlinux",
    ]);
    let relos = core["core"].as_array().unwrap();
    assert_eq!(relos.len(), 14, "{core}");
    let pid = relos
        .iter()
        .find(|r| {
            r["relocation"]
                .as_str()
                .unwrap()
                .starts_with("byte_off struct task_struct (0:")
        })
        .unwrap();
    assert_eq!(pid["new"].as_u64(), Some(off("pid")), "{pid}");
    let missing = relos
        .iter()
        .find(|r| r["relocation"] == "field_exists struct task_struct___local (0:1)")
        .unwrap();
    assert_eq!(missing["new"].as_u64(), Some(0));
}

#[test]
fn maps_pinned_by_name_are_reused() {
    let Some(s) = setup() else { return };
    let root = s.pin_dir("pins");
    let root = root.to_str().unwrap();
    let first = load_json(&[
        "bpf",
        "load",
        &s.obj("pinned"),
        "--pin-root",
        root,
        "--json",
    ]);
    let shared = map(&first, "shared")["id"].as_u64().unwrap();
    let pinned = bpftool_json(&["map", "show", "pinned", &format!("{root}/shared")]);
    assert_eq!(pinned["id"].as_u64(), Some(shared));
    let o = kmodkit(&["bpf", "load", &s.obj("pinned"), "--pin-root", root]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let t = text(&o.stdout);
    assert!(
        t.contains(&format!("map shared: type 1 id {shared} ")) && t.contains("(reused)"),
        "{t}"
    );
}

#[test]
fn load_errors_name_the_file() {
    let o = kmodkit(&["bpf", "load", "/nonexistent.o"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("/nonexistent.o"),
        "{}",
        text(&o.stderr)
    );
}

/// Two network namespaces joined by a veth pair (kmkv0 in `a`, 10.201.0.1; kmkv1 in `b`,
/// 10.201.0.2), removed on drop.
struct Netns {
    a: String,
    b: String,
}

impl Drop for Netns {
    fn drop(&mut self) {
        for n in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

fn netns() -> Option<Netns> {
    if !have_tool("ip") || !have_tool("perl") {
        skip(
            Requirement::Tool,
            "ip (iproute2) and perl are needed for the veth test",
        );
        return None;
    }
    let pid = std::process::id();
    let n = Netns {
        a: format!("kmk_load_a{pid}"),
        b: format!("kmk_load_b{pid}"),
    };
    if !ip(&["netns", "add", &n.a]) || !ip(&["netns", "add", &n.b]) {
        skip(
            Requirement::Bpf,
            "cannot create network namespaces (ip netns add)",
        );
        return None;
    }
    let ok = ip(&[
        "-n", &n.a, "link", "add", "kmkv0", "type", "veth", "peer", "name", "kmkv1", "netns", &n.b,
    ]) && ip(&["-n", &n.a, "addr", "add", "10.201.0.1/24", "dev", "kmkv0"])
        && ip(&["-n", &n.a, "link", "set", "kmkv0", "up"])
        && ip(&["-n", &n.b, "addr", "add", "10.201.0.2/24", "dev", "kmkv1"])
        && ip(&["-n", &n.b, "link", "set", "kmkv1", "up"]);
    assert!(ok, "setting up the veth pair failed");
    Some(n)
}

#[test]
fn xdp_and_tc_count_packets_on_a_veth_in_a_namespace() {
    let Some(s) = setup() else { return };
    let Some(n) = netns() else { return };
    // In namespace a: a UDP socket on port 9999 that returns only once it has received the
    // three datagrams sent from namespace b, so every one has passed XDP and tc ingress.
    let recv = format!(
        "$s = IO::Socket::INET->new(LocalAddr => '10.201.0.1', LocalPort => 9999, Proto => 'udp') or die $!; \
         system('ip', 'netns', 'exec', '{}', 'bash', '-c', 'for i in 1 2 3; do echo x > /dev/udp/10.201.0.1/9999; done') == 0 or die; \
         $s->recv($b, 16) for 1 .. 3;",
        n.b
    );
    let o = Command::new("ip")
        .args(["netns", "exec", &n.a, testsupport::kmodkit()])
        .args([
            "bpf",
            "load",
            &s.obj("net_count"),
            "--attach",
            "--iface",
            "kmkv0",
        ])
        .args([
            "--dump-maps",
            "--json",
            "--",
            "perl",
            "-MIO::Socket::INET",
            "-e",
            &recv,
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    let seen = map(&out, "seen")["entries"].as_array().unwrap();
    assert_eq!(u64s(&seen[0]), [3], "xdp: {out}");
    assert_eq!(u64s(&seen[1]), [3], "tc: {out}");
    // Without an interface, attaching an XDP program is refused with a reason.
    let o = kmodkit(&["bpf", "load", &s.obj("net_count"), "--attach"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("network interface"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn core_relocations_against_a_kernel_image() {
    let Some(s) = setup() else { return };
    let Some(corpus) = testsupport::corpus("amd64") else {
        skip(
            Requirement::Corpus,
            "the Debian 6.1 kernel package is not cached (scripts/corpus)",
        );
        return;
    };
    if !have_tool("xz") {
        skip(Requirement::Tool, "xz is not installed");
        return;
    }
    let image = corpus.vmlinuz();
    // The oracle: the image's payload unpacked with xz (as scripts/extract-vmlinux does) and
    // its BTF printed by bpftool.
    let data = std::fs::read(&image).unwrap();
    let at = data
        .windows(6)
        .position(|w| w == b"\xfd7zXZ\0")
        .expect("an xz payload in the Debian image");
    let xz = s.dir.path().join("payload.xz");
    std::fs::write(&xz, &data[at..]).unwrap();
    let vmlinux = Command::new("xz")
        .args(["-dc", "--single-stream"])
        .arg(&xz)
        .output()
        .unwrap();
    assert!(vmlinux.status.success(), "{}", text(&vmlinux.stderr));
    let elf = s.dir.path().join("vmlinux");
    std::fs::write(&elf, &vmlinux.stdout).unwrap();
    let (id, size, members) = task_struct_from_bpftool(elf.to_str().unwrap());
    let off = |n: &str| members.iter().find(|m| m.0 == n).unwrap().1;

    let core = load_json(&[
        "bpf",
        "load",
        &s.obj("core_task"),
        "--core-only",
        "--json",
        "--btf",
        image.to_str().unwrap(),
    ]);
    let new = |what: &str| {
        core["core"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["relocation"].as_str().unwrap().starts_with(what))
            .map(|r| r["new"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        new("byte_off struct task_struct "),
        [off("pid"), off("tgid"), off("real_parent")]
    );
    assert_eq!(new("type_size struct task_struct "), [size]);
    assert_eq!(new("target_type_id struct task_struct "), [id]);
    // The same answers from the unpacked vmlinux ELF.
    let from_elf = load_json(&[
        "bpf",
        "load",
        &s.obj("core_task"),
        "--core-only",
        "--json",
        "--btf",
        elf.to_str().unwrap(),
    ]);
    assert_eq!(core, from_elf);
}

#[test]
fn a_missing_kfunc_is_named() {
    let Some(s) = setup() else { return };
    let o = kmodkit(&["bpf", "load", &s.obj("kfunc_missing")]);
    assert_eq!(o.status.code(), Some(1));
    let e = text(&o.stderr);
    assert!(
        e.contains("kfunc `bpf_kmodkit_no_such_kfunc` is not in the target kernel's BTF"),
        "{e}"
    );
}

#[test]
fn a_typeless_ksym_is_its_kallsyms_address() {
    let Some(s) = setup() else { return };
    let out = load_json(&[
        "bpf",
        "load",
        &s.obj("ksyms"),
        "--attach",
        "--dump-maps",
        "--json",
        "--",
        "true",
    ]);
    let kallsyms = std::fs::read_to_string("/proc/kallsyms").unwrap();
    let text_addr = kallsyms
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(2) == Some(&"_text")).then(|| u64::from_str_radix(f[0], 16).unwrap())
        })
        .unwrap();
    assert_eq!(u64s(&map(&out, "ksyms.bss")["entries"][0]), [text_addr]);
}

#[test]
fn a_uprobe_counts_calls_in_a_program_built_here() {
    let Some(s) = setup() else { return };
    if !have_tool("gcc") {
        skip(Requirement::Tool, "gcc is not installed");
        return;
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bpf_load");
    let target = s.dir.path().join("kmk_target");
    let st = Command::new("gcc")
        .args(["-O2", "-o"])
        .arg(&target)
        .arg(src.join("uprobe_target.c"))
        .status()
        .unwrap();
    assert!(st.success());
    let obj = s.dir.path().join("uprobe.o");
    let st = Command::new("clang")
        .args(["-O2", "-g", "-target", "bpf", "-c"])
        .arg(format!("-DTARGET=\"{}\"", target.display()))
        .arg("-I")
        .arg(s.dir.path())
        .arg(src.join("uprobe.c"))
        .arg("-o")
        .arg(&obj)
        .status()
        .unwrap();
    assert!(st.success());
    let out = load_json(&[
        "bpf",
        "load",
        obj.to_str().unwrap(),
        "--attach",
        "--dump-maps",
        "--json",
        "--",
        target.to_str().unwrap(),
    ]);
    assert_eq!(u64s(&map(&out, "uprobe.bss")["entries"][0]), [3]);
}
