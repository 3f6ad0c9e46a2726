//! ELF objects from Debian's clang (`-target bpf -O2 -g`): `kmodkit bpf disasm` prints
//! exactly what `llvm-objdump -d` prints, the loader finds programs, maps (BTF-defined and
//! legacy), global data and the license, our verifier accepts them and so does the host
//! kernel. Also `kmodkit bpf asm` objects, checked with llvm-objdump.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;
use testsupport::{have_tool, skip, Requirement};

fn kmodkit(args: &[&str]) -> std::process::Output {
    Command::new(testsupport::kmodkit())
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bpf_c")
}

/// Compile every test program for cpu v1..v3; None when clang is missing.
fn compile(dir: &Path) -> Option<Vec<PathBuf>> {
    if !have_tool("clang") || !have_tool("llvm-objdump") {
        skip(
            Requirement::Tool,
            "clang/llvm-objdump not installed (Debian packages clang, llvm)",
        );
        return None;
    }
    let mut out = Vec::new();
    let mut srcs: Vec<PathBuf> = std::fs::read_dir(src_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    srcs.sort();
    for s in srcs
        .iter()
        .filter(|s| s.extension().is_some_and(|e| e == "c"))
    {
        for cpu in ["v1", "v2", "v3"] {
            let o = dir.join(format!(
                "{}-{cpu}.o",
                s.file_stem().unwrap().to_string_lossy()
            ));
            let st = Command::new("clang")
                .args(["-target", "bpf", &format!("-mcpu={cpu}"), "-O2", "-g", "-c"])
                .arg(s)
                .arg("-o")
                .arg(&o)
                .status()
                .unwrap();
            assert!(st.success(), "clang failed on {}", s.display());
            out.push(o);
        }
    }
    Some(out)
}

#[test]
fn disasm_is_identical_to_llvm_objdump() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(objs) = compile(tmp.path()) else {
        return;
    };
    assert_eq!(objs.len(), 12);
    for o in &objs {
        let o = o.to_str().unwrap();
        let ours = kmodkit(&["bpf", "disasm", o]);
        assert!(ours.status.success(), "{}", text(&ours.stderr));
        let llvm = Command::new("llvm-objdump")
            .args(["-d", o])
            .output()
            .unwrap();
        assert_eq!(text(&ours.stdout), text(&llvm.stdout), "{o}");
    }
}

#[test]
fn loader_finds_programs_maps_and_globals() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(objs) = compile(tmp.path()) else {
        return;
    };
    let get = |name: &str| {
        let p = objs
            .iter()
            .find(|p| p.file_name().unwrap().to_string_lossy() == name)
            .unwrap();
        bpf_insn::object::Object::parse(&std::fs::read(p).unwrap()).unwrap()
    };
    let o = get("xdp_count-v2.o");
    assert_eq!(o.license.as_deref(), Some("GPL"));
    let names: Vec<&str> = o.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["count_protocols"]);
    assert_eq!(o.programs[0].prog_type, Some(6));
    // The static subprogram `fold` from .text is appended and called.
    assert!(
        o.programs[0].funcs.iter().any(|f| f.1 == "fold"),
        "{:?}",
        o.programs[0].funcs
    );
    let m = &o.maps[0];
    assert_eq!(
        (
            m.name.as_str(),
            m.map_type,
            m.key_size,
            m.value_size,
            m.max_entries
        ),
        ("proto_count", 1, 4, 8, 256)
    );
    let secs: Vec<&str> = o.maps.iter().map(|m| m.section.as_str()).collect();
    assert_eq!(secs, [".maps", ".rodata", ".data", ".bss"]); // section order
    assert_eq!(o.maps[1].data.as_deref(), Some(&14u32.to_le_bytes()[..]));
    assert!(o.maps[1].readonly && !o.maps[2].readonly);
    assert!(!o.programs[0].lines.is_empty(), "BTF.ext line info");
    let o = get("socket_legacy-v1.o");
    assert_eq!(o.maps[0].name, "lengths");
    assert_eq!(
        (
            o.maps[0].map_type,
            o.maps[0].value_size,
            o.maps[0].max_entries
        ),
        (2, 8, 4)
    );
    let o = get("kprobe_two-v3.o");
    let names: Vec<(&str, &str)> = o
        .programs
        .iter()
        .map(|p| (p.name.as_str(), p.section.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("enter", "kprobe/do_unlinkat"),
            ("leave", "kretprobe/do_unlinkat")
        ]
    );
    assert_eq!(o.license.as_deref(), Some("Dual BSD/GPL"));
    let o = get("tp_ringbuf-v1.o");
    assert_eq!((o.maps[0].map_type, o.maps[0].max_entries), (27, 4096));
    assert_eq!(o.programs[0].prog_type, Some(5));
}

fn kernel_load(o: &bpf_insn::object::Object, p: &bpf_insn::object::Program) -> Result<(), String> {
    use bpf_insn::insn::pseudo;
    let mut fds: Vec<OwnedFd> = Vec::new();
    for (i, m) in o.maps.iter().enumerate() {
        let name = format!("kmk_o{i}");
        let spec = bpf_sys::MapSpec {
            map_type: m.map_type,
            key_size: m.key_size,
            value_size: m.value_size,
            max_entries: m.max_entries,
            flags: m.flags,
            name: &name,
        };
        let fd = bpf_sys::map_create(&spec).map_err(|e| e.to_string())?;
        if let Some(d) = &m.data {
            bpf_sys::map_update(&fd, &0u32.to_le_bytes(), d, 0).map_err(|e| e.to_string())?;
        }
        fds.push(fd);
    }
    let mut insns = p.insns.clone();
    for i in insns.iter_mut() {
        if i.is_lddw() && (i.src == pseudo::MAP_IDX || i.src == pseudo::MAP_IDX_VALUE) {
            i.src = if i.src == pseudo::MAP_IDX {
                pseudo::MAP_FD
            } else {
                pseudo::MAP_VALUE
            };
            i.imm = fds[i.imm as usize].as_raw_fd();
        }
    }
    let bytes = bpf_insn::encode_all(&insns, bpf_insn::Endian::Little);
    let lic = o.license.clone().unwrap_or_default();
    let mut spec = bpf_sys::ProgSpec::new(p.prog_type.unwrap(), &bytes);
    spec.license = &lic;
    spec.name = "kmk_obj";
    bpf_sys::prog_load_with_log(&spec)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn clang_objects_verify_here_and_in_the_kernel() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(objs) = compile(tmp.path()) else {
        return;
    };
    let mut kernel_checked = 0;
    for path in &objs {
        let o = bpf_insn::object::Object::parse(&std::fs::read(path).unwrap()).unwrap();
        for p in &o.programs {
            // The kernel sees .rodata unfrozen here, so ours does too.
            let infos: Vec<bpf_verifier::MapInfo> = o
                .maps
                .iter()
                .map(|m| bpf_verifier::MapInfo::from(m).unfrozen())
                .collect();
            let input = bpf_verifier::Input {
                insns: &p.insns,
                prog_type: p.prog_type.unwrap(),
                maps: &infos,
            };
            let opts =
                bpf_verifier::Options::default().for_program(o.btf.as_ref(), p, input.prog_type);
            if let Err(r) = bpf_verifier::verify(&input, &opts) {
                panic!("{} {}: {r} [{}]", path.display(), p.name, r.regs);
            }
            match kernel_load(&o, p) {
                Ok(()) => kernel_checked += 1,
                Err(e) if e.contains("Operation not permitted") => {
                    skip(Requirement::Bpf, &format!("host bpf() unavailable: {e}"));
                    return;
                }
                Err(e) => panic!(
                    "{} {}: the kernel rejects what we accept: {e}",
                    path.display(),
                    p.name
                ),
            }
        }
    }
    assert_eq!(kernel_checked, 15);
}

#[test]
fn verify_cli_exit_codes_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    let ok = tmp.path().join("ok.s");
    std::fs::write(&ok, "r0 = 0\nexit\n").unwrap();
    let bad = tmp.path().join("bad.s");
    std::fs::write(&bad, "r0 = *(u64 *)(r10 + 8)\nexit\n").unwrap();
    let o = kmodkit(&["bpf", "verify", "--type", "xdp", ok.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let o = kmodkit(&["bpf", "verify", "--type", "xdp", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stdout).contains("insn 0: invalid read of stack R10 off=8 size=8"),
        "{}",
        text(&o.stdout)
    );
    let o = kmodkit(&[
        "bpf",
        "verify",
        "--type",
        "xdp",
        "--json",
        bad.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["accepted"], false);
    assert_eq!(v[0]["insn"], 0);
    assert_eq!(v[0]["class"], "Bounds");
    assert_eq!(
        kmodkit(&["bpf", "verify", "--type", "nosuch", ok.to_str().unwrap()])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        kmodkit(&["bpf", "verify", ok.to_str().unwrap()])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        kmodkit(&["bpf", "verify", "/nonexistent.o"]).status.code(),
        Some(1)
    );
}

#[test]
fn null_diagnostic_points_at_the_source_line() {
    if !have_tool("clang") {
        skip(Requirement::Tool, "clang not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let c = tmp.path().join("null.c");
    std::fs::write(
        &c,
        format!(
            "#include \"{}/common.h\"\nstruct {{ __uint(type, 1); __uint(max_entries, 4); __type(key, u32); __type(value, u64); }} m SEC(\".maps\");\nSEC(\"xdp\") int f(void *ctx) {{\n  u32 k = 0;\n  u64 *v = bpf_map_lookup_elem(&m, &k);\n  return *v;\n}}\nchar L[] SEC(\"license\") = \"GPL\";\n",
            src_dir().display()
        ),
    )
    .unwrap();
    let o = tmp.path().join("null.o");
    assert!(Command::new("clang")
        .args(["-target", "bpf", "-O2", "-g", "-c"])
        .arg(&c)
        .arg("-o")
        .arg(&o)
        .status()
        .unwrap()
        .success());
    let out = kmodkit(&["bpf", "verify", o.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let s = text(&out.stdout);
    assert!(s.contains("may be NULL here"), "{s}");
    assert!(s.contains("null.c:6"), "{s}");
    assert!(s.contains("return *v;"), "{s}");
    assert!(
        s.contains("hint: check the result of bpf_map_lookup_elem against NULL"),
        "{s}"
    );
}

#[test]
fn asm_objects_disassemble_as_llvm_objdump_does() {
    if !have_tool("llvm-objdump") {
        skip(
            Requirement::Tool,
            "llvm-objdump not installed (Debian package llvm)",
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let s = tmp.path().join("p.s");
    let src = "r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nloop:\nr1 += 1\nif r1 < 10 goto loop\nr0 = 1234605616436508552 ll\nlock *(u64 *)(r10 - 16) += r1\ncall 5\nw0 = be16 w0\nexit\n.section xdp\nentry:\nr0 = 2\nexit\n";
    let src = src.replace("w0 = be16 w0", "r0 = be16 r0");
    std::fs::write(&s, &src).unwrap();
    let o = tmp.path().join("p.o");
    let out = kmodkit(&["bpf", "asm", s.to_str().unwrap(), "-o", o.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ours = kmodkit(&["bpf", "disasm", o.to_str().unwrap()]);
    let llvm = Command::new("llvm-objdump")
        .args(["-d", o.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(llvm.status.success());
    assert_eq!(text(&ours.stdout), text(&llvm.stdout));
    assert!(
        text(&llvm.stdout).contains("if r1 < 10 goto -2 <loop>"),
        "{}",
        text(&llvm.stdout)
    );
    // Raw output disassembles back to the source text.
    let b = tmp.path().join("p.bin");
    let out = kmodkit(&["bpf", "asm", s.to_str().unwrap(), "-o", b.to_str().unwrap()]);
    assert!(out.status.success());
    let d = text(&kmodkit(&["bpf", "disasm", b.to_str().unwrap()]).stdout);
    assert!(d.contains("r0 = 1234605616436508552 ll"), "{d}");
    // An error names the file, line and column, and writes nothing.
    std::fs::write(&s, "r0 = 1\nr0 +== 2\n").unwrap();
    let bad = tmp.path().join("bad.o");
    let out = kmodkit(&[
        "bpf",
        "asm",
        s.to_str().unwrap(),
        "-o",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("p.s:2:"),
        "{}",
        text(&out.stderr)
    );
    assert!(!bad.exists());
}

/// Real-world objects (the public vbpf/ebpf-samples repository, not vendored): set
/// KMODKIT_EBPF_SAMPLES to its checkout. Every program our verifier accepts must load in
/// the host kernel; prints how many parse, verify and load.
#[test]
fn ebpf_samples_accepted_programs_load_in_the_kernel() {
    let Some(dir) = std::env::var_os("KMODKIT_EBPF_SAMPLES") else {
        eprintln!("SKIPPED: set KMODKIT_EBPF_SAMPLES to a checkout of vbpf/ebpf-samples");
        return;
    };
    let mut files = Vec::new();
    let mut stack = vec![PathBuf::from(dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "o") {
                files.push(p);
            }
        }
    }
    files.sort();
    let (mut parsed, mut progs, mut accepted, mut loaded) = (0, 0, 0, 0);
    let mut unsafe_accepts = Vec::new();
    for f in &files {
        let Ok(o) = bpf_insn::object::Object::parse(&std::fs::read(f).unwrap()) else {
            continue;
        };
        parsed += 1;
        for p in &o.programs {
            progs += 1;
            let Some(t) = p.prog_type else { continue };
            let infos: Vec<bpf_verifier::MapInfo> = o
                .maps
                .iter()
                .map(|m| bpf_verifier::MapInfo::from(m).unfrozen())
                .collect();
            let input = bpf_verifier::Input {
                insns: &p.insns,
                prog_type: t,
                maps: &infos,
            };
            let opts = bpf_verifier::Options::default().for_program(o.btf.as_ref(), p, t);
            if bpf_verifier::verify(&input, &opts).is_err() {
                continue;
            }
            accepted += 1;
            match kernel_load(&o, p) {
                Ok(()) => loaded += 1,
                Err(e) if e.contains("BPF_MAP_CREATE") => {} // map types this host lacks
                Err(e) => unsafe_accepts.push(format!(
                    "{} {}: {}",
                    f.display(),
                    p.name,
                    e.lines().rev().nth(1).unwrap_or(&e)
                )),
            }
        }
    }
    eprintln!(
        "ebpf-samples: {} objects, {parsed} parsed, {progs} programs, {accepted} accepted by us, {loaded} of those loaded by the kernel",
        files.len()
    );
    assert!(
        unsafe_accepts.is_empty(),
        "accepted by us, rejected by the kernel:\n{}",
        unsafe_accepts.join("\n")
    );
}
