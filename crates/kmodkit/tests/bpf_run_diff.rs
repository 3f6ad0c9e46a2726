//! Differential runs: the same program and packet through the host kernel's
//! `BPF_PROG_TEST_RUN` and through `bpf-vm` must give the same return value and the same
//! packet afterwards. Programs: tests/data/bpf_run/*.s and the valid programs of the verifier
//! corpus whose types the kernel can test-run (socket filter, tc, XDP).

use bpf_insn::insn::map_indices_to_fds;
use bpf_insn::{encode_all, Endian, Insn};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use testsupport::{skip, Requirement};

struct Prog {
    name: String,
    prog_type: u32,
    maps: Vec<[u32; 4]>,
    insns: Vec<Insn>,
}

fn parse(f: &Path) -> Prog {
    let text = std::fs::read_to_string(f).unwrap();
    let mut prog_type = None;
    let mut maps = Vec::new();
    for l in text.lines() {
        if let Some(t) = l.strip_prefix("# type: ") {
            prog_type = bpf_insn::object::prog_type_from_name(t.trim());
        }
        if let Some(m) = l.strip_prefix("# map: ") {
            let v: Vec<u32> = m.split_whitespace().map(|x| x.parse().unwrap()).collect();
            maps.push([v[0], v[1], v[2], v[3]]);
        }
    }
    let name = f.file_name().unwrap().to_string_lossy().into_owned();
    Prog {
        insns: bpf_insn::assemble(&text).unwrap_or_else(|e| panic!("{name}: {e}")),
        prog_type: prog_type.unwrap(),
        maps,
        name,
    }
}

fn programs() -> Vec<Prog> {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut files: Vec<PathBuf> = std::fs::read_dir(base.join("bpf_run"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.extend(
        std::fs::read_dir(base.join("bpf_verifier"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("ok_")),
    );
    files.sort();
    files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "s"))
        .map(|f| parse(f))
        .filter(|p| matches!(p.prog_type, 1 | 3 | 4 | 6 | 8))
        .collect()
}

fn packets() -> Vec<Vec<u8>> {
    let mut ipv4 = vec![0u8; 6];
    ipv4.extend_from_slice(&[0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x08, 0x00]);
    ipv4.extend_from_slice(&[
        0x45, 0x00, 0x00, 0x2e, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ]);
    ipv4.resize(60, 0xab);
    let mut bcast = vec![0xffu8; 6];
    bcast.extend_from_slice(&[0x02, 0, 0, 0, 0, 1, 0x86, 0xdd]);
    bcast.extend((0..50u32).map(|i| (i * 37 + 11) as u8));
    let mut other = vec![0x02u8, 0x42, 0, 0, 0, 7, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06];
    other.extend((0..100u32).map(|i| (i * i + 3) as u8));
    // Frames that end with their IPv4 or IPv6 header (a test run refuses shorter ones):
    // helpers that look past the network header meet the end of the packet.
    let short4 = ipv4[..34].to_vec();
    let short6 = bcast[..54].to_vec();
    vec![ipv4, bcast, other, short4, short6]
}

fn kernel_run(p: &Prog, data: &[u8]) -> Result<(u32, Vec<u8>), String> {
    let mut fds: Vec<OwnedFd> = Vec::new();
    for (i, m) in p.maps.iter().enumerate() {
        let name = format!("kmk_r{i}");
        let spec = bpf_sys::MapSpec {
            map_type: m[0],
            key_size: m[1],
            value_size: m[2],
            max_entries: m[3],
            flags: 0,
            name: &name,
        };
        fds.push(bpf_sys::map_create(&spec).map_err(|e| e.to_string())?);
    }
    let mut insns = p.insns.clone();
    let raw: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
    map_indices_to_fds(&mut insns, &raw).map_err(|k| format!("no map {k}"))?;
    let bytes = encode_all(&insns, Endian::Little);
    let mut spec = bpf_sys::ProgSpec::new(p.prog_type, &bytes);
    spec.name = "kmk_run";
    let fd = bpf_sys::prog_load(&spec).map_err(|e| e.to_string())?;
    let run = bpf_sys::TestRun {
        data_in: data,
        data_out_size: data.len() + 256,
        repeat: 1,
        ..Default::default()
    };
    let r = bpf_sys::prog_test_run(&fd, &run).map_err(|e| e.to_string())?;
    Ok((r.retval, r.data_out))
}

fn ours(p: &Prog, data: &[u8]) -> Result<(u32, Vec<u8>), String> {
    let maps: Vec<bpf_vm::run::MapInit> = p
        .maps
        .iter()
        .enumerate()
        .map(|(i, m)| bpf_vm::run::MapInit {
            spec: bpf_vm::MapSpec {
                name: format!("m{i}"),
                map_type: m[0],
                key_size: m[1],
                value_size: m[2],
                max_entries: m[3],
                flags: 0,
            },
            data: None,
        })
        .collect();
    let r = bpf_vm::run::run(&p.insns, p.prog_type, &maps, data, 1).map_err(|e| e.to_string())?;
    Ok((r.ret as u32, r.data_out))
}

/// Per program, per packet: the return value and the packet after the run.
type Results = Vec<Vec<(u32, Vec<u8>)>>;

/// The kernel's results for every program and packet, computed in a thread that first
/// moves into a fresh network namespace (only `lo`, down; forwarding off), the environment
/// the interpreter models for the helpers that look at devices and routes.
fn kernel_results(progs: &[Prog]) -> Result<Results, String> {
    std::thread::scope(|s| {
        s.spawn(|| {
            bpf_sys::unshare_netns().map_err(|e| e.to_string())?;
            progs
                .iter()
                .map(|p| {
                    packets()
                        .iter()
                        .map(|data| {
                            kernel_run(p, data).map_err(|e| {
                                if e.contains("Operation not permitted")
                                    || e.contains("Function not implemented")
                                {
                                    e
                                } else {
                                    panic!("{}: the kernel refused: {e}", p.name)
                                }
                            })
                        })
                        .collect()
                })
                .collect()
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

#[test]
fn interpreter_matches_bpf_prog_test_run() {
    let progs = programs();
    assert!(progs.len() >= 15, "{}", progs.len());
    let kernel = match kernel_results(&progs) {
        Ok(k) => k,
        Err(e) => {
            skip(Requirement::Bpf, &format!("host bpf() unavailable: {e}"));
            return;
        }
    };
    let mut runs = 0;
    let mut bad = Vec::new();
    for (p, kres) in progs.iter().zip(&kernel) {
        for (k, (data, kr)) in packets().iter().zip(kres).enumerate() {
            let or = ours(p, data).unwrap_or_else(|e| panic!("{} packet {k}: {e}", p.name));
            runs += 1;
            if kr.0 != or.0 {
                bad.push(format!(
                    "{} packet {k}: kernel returned {:#x}, we returned {:#x}",
                    p.name, kr.0, or.0
                ));
            }
            if kr.1 != or.1 {
                bad.push(format!("{} packet {k}: packets differ after the run:\n kernel {:02x?}\n ours   {:02x?}", p.name, kr.1, or.1));
            }
        }
    }
    eprintln!("{runs} differential runs over {} programs", progs.len());
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// `bpf run --live` runs the program in the kernel too and says whether the results agree;
/// `bpf verify --live` gives the kernel's own statistics.
#[test]
fn run_and_verify_live_report_the_kernel() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bpf_run");
    let tmp = tempfile::tempdir().unwrap();
    let pkt = tmp.path().join("pkt");
    std::fs::write(&pkt, &packets()[0]).unwrap();
    let prog = dir.join("xdp_loop_sum.s");
    let out = std::process::Command::new(testsupport::kmodkit())
        .args([
            "bpf", "run", "--live", "--json", "--type", "xdp", "--repeat", "3", "--data",
        ])
        .arg(&pkt)
        .arg(&prog)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("Operation not permitted") || err.contains("Function not implemented") {
        skip(Requirement::Bpf, &format!("host bpf() unavailable: {err}"));
        return;
    }
    assert!(out.status.success(), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kernel"]["agrees"], true, "{v}");
    assert_eq!(v["kernel"]["retval"], v["retval"], "{v}");
    let out = std::process::Command::new(testsupport::kmodkit())
        .args(["bpf", "verify", "--live", "--json", "--type", "xdp"])
        .arg(&prog)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let k = &v[0]["kernel"];
    assert_eq!(k["accepted"], true, "{v}");
    // Both verifiers walk this loop's 40 iterations alike.
    assert_eq!(k["insns_processed"], v[0]["insns_processed"], "{v}");
    assert!(k["time_us"].as_u64().unwrap() > 0, "{v}");
}
