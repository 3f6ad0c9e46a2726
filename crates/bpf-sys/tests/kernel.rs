//! bpf-sys against the host kernel's bpf(): the kernel is the oracle. Skipped (printed) when
//! bpf() is not usable here, a failure under KMODKIT_REQUIRE_BPF=1.

use bpf_sys::*;
use testsupport::{skip, Requirement};

fn have_bpf() -> bool {
    if available() {
        return true;
    }
    skip(Requirement::Bpf, "bpf() is not usable here (no CAP_BPF?)");
    false
}

/// Encodes one instruction: opcode, dst, src, off, imm.
fn insn(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[0] = op;
    b[1] = dst | (src << 4);
    b[2..4].copy_from_slice(&off.to_le_bytes());
    b[4..8].copy_from_slice(&imm.to_le_bytes());
    b
}

fn prog(insns: &[[u8; 8]]) -> Vec<u8> {
    insns.iter().flatten().copied().collect()
}

const MOV64_IMM: u8 = 0xb7;
const ADD64_IMM: u8 = 0x07;
const EXIT: u8 = 0x95;

#[test]
fn test_run_returns_r0() {
    if !have_bpf() {
        return;
    }
    // r0 = 40; r0 += 2; exit
    let bytes = prog(&[
        insn(MOV64_IMM, 0, 0, 0, 40),
        insn(ADD64_IMM, 0, 0, 0, 2),
        insn(EXIT, 0, 0, 0, 0),
    ]);
    let fd = prog_load(&ProgSpec::new(prog_type::SOCKET_FILTER, &bytes)).expect("load");
    let r = prog_test_run(
        &fd,
        &TestRun {
            data_in: &[0u8; 64],
            repeat: 3,
            ..TestRun::default()
        },
    )
    .expect("test run");
    assert_eq!(r.retval, 42);
}

#[test]
fn rejection_carries_the_verifier_log() {
    if !have_bpf() {
        return;
    }
    // exit without setting r0
    let bytes = prog(&[insn(EXIT, 0, 0, 0, 0)]);
    let e = prog_load(&ProgSpec::new(prog_type::SOCKET_FILTER, &bytes)).unwrap_err();
    match &e {
        Error::Verifier { source, log } => {
            assert_eq!(source.raw_os_error(), Some(libc_eacces()), "{e}");
            assert!(log.contains("R0 !read_ok"), "log: {log}");
        }
        other => panic!("expected a verifier error, got {other}"),
    }
}

fn libc_eacces() -> i32 {
    13
}

#[test]
fn successful_load_log_has_statistics() {
    if !have_bpf() {
        return;
    }
    let bytes = prog(&[insn(MOV64_IMM, 0, 0, 0, 0), insn(EXIT, 0, 0, 0, 0)]);
    let (_fd, log) = prog_load_with_log(&ProgSpec {
        log_level: 2,
        ..ProgSpec::new(prog_type::SOCKET_FILTER, &bytes)
    })
    .expect("load");
    assert!(log.contains("processed 2 insns"), "log: {log}");
}

#[test]
fn hash_map_round_trip() {
    if !have_bpf() {
        return;
    }
    let m = map_create(&MapSpec {
        map_type: map_type::HASH,
        key_size: 4,
        value_size: 8,
        max_entries: 8,
        flags: 0,
        name: "t",
    })
    .expect("create");
    let mut v = [0u8; 8];
    assert!(!map_lookup(&m, &1u32.to_le_bytes(), &mut v).unwrap());
    for k in 1u32..=3 {
        map_update(
            &m,
            &k.to_le_bytes(),
            &(u64::from(k) * 10).to_le_bytes(),
            update::NOEXIST,
        )
        .unwrap();
    }
    let e = map_update(&m, &1u32.to_le_bytes(), &[0; 8], update::NOEXIST).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(17), "{e}"); // EEXIST
    assert!(map_lookup(&m, &2u32.to_le_bytes(), &mut v).unwrap());
    assert_eq!(u64::from_le_bytes(v), 20);
    let mut keys: Vec<u32> = map_keys(&m, 4)
        .unwrap()
        .iter()
        .map(|k| u32::from_le_bytes([k[0], k[1], k[2], k[3]]))
        .collect();
    keys.sort();
    assert_eq!(keys, vec![1, 2, 3]);
    assert!(map_delete(&m, &2u32.to_le_bytes()).unwrap());
    assert!(!map_delete(&m, &2u32.to_le_bytes()).unwrap());
    assert_eq!(map_keys(&m, 4).unwrap().len(), 2);
}

#[test]
fn ring_buffer_sees_what_a_program_writes() {
    if !have_bpf() {
        return;
    }
    let size = 4096usize;
    let rb = map_create(&MapSpec {
        map_type: map_type::RINGBUF,
        key_size: 0,
        value_size: 0,
        max_entries: size as u32,
        flags: 0,
        name: "rb",
    })
    .expect("ringbuf");
    let mut reader = RingBuf::new(&rb, size).expect("mmap");
    // *(u64 *)(r10 - 8) = 0x1122334455667788 via two stores; r1 = map; r2 = r10 - 8; r3 = 8;
    // r4 = 0; call bpf_ringbuf_output (130); r0 = 0; exit
    use std::os::fd::AsRawFd;
    let ld_map =
        |dst: u8, fd: i32| -> [[u8; 8]; 2] { [insn(0x18, dst, 1, 0, fd), insn(0, 0, 0, 0, 0)] };
    let [l0, l1] = ld_map(1, rb.as_raw_fd());
    let bytes = prog(&[
        insn(0x62, 10, 0, -8, 0x5566_7788), // *(u32 *)(r10 - 8) = imm
        insn(0x62, 10, 0, -4, 0x1122_3344), // *(u32 *)(r10 - 4) = imm
        l0,
        l1,
        insn(0xbf, 2, 10, 0, 0),      // r2 = r10
        insn(ADD64_IMM, 2, 0, 0, -8), // r2 += -8
        insn(MOV64_IMM, 3, 0, 0, 8),  // r3 = 8
        insn(MOV64_IMM, 4, 0, 0, 0),  // r4 = 0
        insn(0x85, 0, 0, 0, 130),     // call bpf_ringbuf_output
        insn(MOV64_IMM, 0, 0, 0, 0),
        insn(EXIT, 0, 0, 0, 0),
    ]);
    let p = prog_load(&ProgSpec::new(prog_type::SOCKET_FILTER, &bytes)).expect("load");
    for _ in 0..3 {
        prog_test_run(
            &p,
            &TestRun {
                data_in: &[0u8; 64],
                ..TestRun::default()
            },
        )
        .unwrap();
    }
    let mut got = Vec::new();
    let n = reader.consume(|r| got.push(r.to_vec()));
    assert_eq!(n, 3);
    for r in &got {
        assert_eq!(
            u64::from_le_bytes(r[..8].try_into().unwrap()),
            0x1122_3344_5566_7788
        );
    }
    assert_eq!(reader.consume(|_| {}), 0);
}

#[test]
fn tracepoint_ids_open_as_perf_events() {
    if !have_bpf() {
        return;
    }
    let tracefs = std::path::Path::new("/sys/kernel/tracing");
    if let Err(e) = ensure_tracefs(tracefs) {
        skip(Requirement::Bpf, &format!("tracefs: {e}"));
        return;
    }
    let id: u64 = std::fs::read_to_string(tracefs.join("events/syscalls/sys_enter_getpid/id"))
        .expect("id")
        .trim()
        .parse()
        .unwrap();
    let fd = perf_event_open(&PerfEvent::tracepoint(id), -1, 0).expect("perf_event_open");
    let bytes = prog(&[insn(MOV64_IMM, 0, 0, 0, 0), insn(EXIT, 0, 0, 0, 0)]);
    let p = prog_load(&ProgSpec::new(prog_type::TRACEPOINT, &bytes)).expect("load");
    perf_attach(&fd, &p).expect("attach");
}

#[test]
fn perf_buffer_sees_what_a_program_outputs() {
    if !have_bpf() {
        return;
    }
    let cpus = online_cpus();
    let map = map_create(&MapSpec {
        map_type: map_type::PERF_EVENT_ARRAY,
        key_size: 4,
        value_size: 4,
        max_entries: possible_cpus() as u32,
        flags: 0,
        name: "pb",
    })
    .expect("perf event array");
    let mut reader = PerfBuf::new(&map, &cpus, 8).expect("perf buffer");
    use std::os::fd::AsRawFd;
    // r6 = ctx; 8 bytes on the stack; bpf_perf_event_output(ctx, map, BPF_F_CURRENT_CPU,
    // fp - 8, 8); r0 = 0; exit
    let bytes = prog(&[
        insn(0xbf, 6, 1, 0, 0),
        insn(0x62, 10, 0, -8, 0x5566_7788),
        insn(0x62, 10, 0, -4, 0x1122_3344),
        insn(0xbf, 1, 6, 0, 0),
        insn(0x18, 2, 1, 0, map.as_raw_fd()),
        insn(0, 0, 0, 0, 0),
        insn(0xb4, 3, 0, 0, -1), // w3 = 0xffffffff (BPF_F_CURRENT_CPU)
        insn(0xbf, 4, 10, 0, 0),
        insn(ADD64_IMM, 4, 0, 0, -8),
        insn(MOV64_IMM, 5, 0, 0, 8),
        insn(0x85, 0, 0, 0, 25), // bpf_perf_event_output
        insn(MOV64_IMM, 0, 0, 0, 0),
        insn(EXIT, 0, 0, 0, 0),
    ]);
    let p = prog_load(&ProgSpec::new(prog_type::RAW_TRACEPOINT, &bytes)).expect("load");
    for _ in 0..3 {
        prog_test_run(&p, &TestRun::default()).expect("test run");
    }
    let mut got = Vec::new();
    let n = reader.consume(|cpu, r| {
        assert!(cpus.contains(&cpu));
        match r {
            PerfRecord::Sample(s) => got.push(s[..8].to_vec()),
            PerfRecord::Lost(l) => panic!("lost {l}"),
        }
    });
    assert_eq!(n, 3);
    for s in &got {
        assert_eq!(
            u64::from_le_bytes(s[..8].try_into().unwrap()),
            0x1122_3344_5566_7788
        );
    }
    assert_eq!(reader.consume(|_, _| {}), 0);
}
