//! The host kernel's BTF (/sys/kernel/btf/vmlinux) against bpftool, its established reader:
//! `bpftool btf dump file F format raw` and our `dump_raw` must agree byte for byte, on
//! every one of its ~100,000 types. Then the questions a tracer asks, on real structs.
//! Skipped (printed) without the file or bpftool; under KMODKIT_REQUIRE_BPF=1 a failure.

use std::process::Command;
use testsupport::{have_tool, skip, Requirement};

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

fn host_btf() -> Option<Vec<u8>> {
    match std::fs::read(VMLINUX) {
        Ok(b) => Some(b),
        Err(e) => {
            skip(Requirement::Bpf, &format!("{VMLINUX}: {e}"));
            None
        }
    }
}

#[test]
fn raw_dump_is_bpftools_byte_for_byte() {
    let Some(bytes) = host_btf() else { return };
    if !have_tool("bpftool") {
        return;
    }
    let theirs = Command::new("bpftool")
        .args(["btf", "dump", "file", VMLINUX, "format", "raw"])
        .output()
        .expect("run bpftool");
    assert!(
        theirs.status.success(),
        "{}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    let t0 = std::time::Instant::now();
    let btf = btf::Btf::parse(&bytes).expect("parse vmlinux BTF");
    eprintln!(
        "parsed {} types ({} bytes) in {:?}",
        btf.len(),
        bytes.len(),
        t0.elapsed()
    );
    let mut ours = String::new();
    btf.dump_raw(&mut ours).unwrap();
    let theirs = String::from_utf8(theirs.stdout).unwrap();
    if ours != theirs {
        let first = ours
            .lines()
            .zip(theirs.lines())
            .find(|(a, b)| a != b)
            .map(|(a, b)| format!("ours:   {a}\ntheirs: {b}"))
            .unwrap_or_else(|| format!("lengths differ: {} vs {}", ours.len(), theirs.len()));
        panic!("raw dump differs from bpftool's; first difference:\n{first}");
    }
}

#[test]
fn kernel_structs_members_enums_and_functions() {
    let Some(bytes) = host_btf() else { return };
    let btf = btf::Btf::parse(&bytes).unwrap();
    let task = btf.struct_named("task_struct").expect("struct task_struct");
    let pid = btf.member(task, "pid").expect("task_struct.pid");
    assert_eq!(btf.c_type(pid.type_id), "pid_t");
    assert_eq!(btf.size_of(pid.type_id), Some(4));
    assert_eq!(pid.bit_offset % 8, 0);
    let parent = btf.member(task, "real_parent").unwrap();
    assert_eq!(btf.c_type(parent.type_id), "struct task_struct *");
    let comm = btf.member(task, "comm").unwrap();
    assert_eq!(btf.c_type(comm.type_id), "char[16]");
    // A member reached through an anonymous union inside struct sk_buff.
    let skb = btf.struct_named("sk_buff").unwrap();
    assert!(btf.member(skb, "len").is_some());
    assert!(btf.member_names(skb).contains(&"data"));
    assert_eq!(btf.enum_value("BPF_MAP_TYPE_HASH").map(|v| v.0), Some(1));
    let f = btf.func_named("vfs_read").expect("vfs_read");
    let (_, params) = btf.func_proto(f).unwrap();
    let names: Vec<&str> = params.iter().map(|p| btf.str_at(p.name_off)).collect();
    assert_eq!(names, ["file", "buf", "count", "pos"]);
    assert_eq!(btf.c_type(params[0].type_id), "struct file *");
}

/// Debian's kernel package: vmlinux BTF from the compressed image (the ELF payload's .BTF
/// section), and modules' split BTF on top of it, each against bpftool (`-B` base).
#[test]
fn debian_image_and_module_split_btf_match_bpftool() {
    let Some(c) = testsupport::corpus("amd64") else {
        return;
    };
    if !have_tool("bpftool") {
        return;
    }
    let image = std::fs::read(c.root.join(format!("boot/vmlinuz-{}", c.release))).unwrap();
    let payload = modsign::image::decompress_payload(&image).expect("decompress the image");
    let base = btf::find_in_image(&payload).expect("BTF in the image");
    let dir = tempfile::tempdir().unwrap();
    let vmlinux = dir.path().join("vmlinux");
    std::fs::write(&vmlinux, &payload).unwrap();
    let bpftool = |args: &[&std::ffi::OsStr]| {
        let out = Command::new("bpftool").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let mut ours = String::new();
    base.dump_raw(&mut ours).unwrap();
    let theirs = bpftool(&[
        "btf".as_ref(),
        "dump".as_ref(),
        "file".as_ref(),
        vmlinux.as_os_str(),
        "format".as_ref(),
        "raw".as_ref(),
    ]);
    assert!(
        ours == theirs,
        "vmlinux BTF of {} differs from bpftool's",
        c.release
    );
    let mut checked = 0;
    for m in c.modules().iter().step_by(97) {
        let bytes = std::fs::read(m).unwrap();
        let split = match btf::from_elf(&bytes, Some(&base)) {
            Err(btf::Error::NoSection) => continue,
            r => r.unwrap_or_else(|e| panic!("{}: {e}", m.display())),
        };
        let mut ours = String::new();
        split.dump_raw(&mut ours).unwrap();
        let theirs = bpftool(&[
            "btf".as_ref(),
            "dump".as_ref(),
            "-B".as_ref(),
            vmlinux.as_os_str(),
            "file".as_ref(),
            m.as_os_str(),
            "format".as_ref(),
            "raw".as_ref(),
        ]);
        assert!(
            ours == theirs,
            "{}: split BTF differs from bpftool's",
            m.display()
        );
        checked += 1;
    }
    assert!(checked > 10, "only {checked} modules with BTF");
}
