//! Interpreter behaviour beyond the conformance vectors: maps through helpers, ring
//! buffers, context conversion, memory checks.

use bpf_insn::assemble;
use bpf_vm::run::{run, MapInit, RunError};
use bpf_vm::{MapSpec, VmError};

fn map(t: u32, k: u32, v: u32, n: u32) -> MapInit {
    MapInit {
        spec: MapSpec {
            name: format!("m{t}"),
            map_type: t,
            key_size: k,
            value_size: v,
            max_entries: n,
            flags: 0,
        },
        data: None,
    }
}

const COUNT: &str = "
r1 = 3
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
if r0 == 0 goto insert
r1 = *(u64 *)(r0 + 0)
r1 += 1
*(u64 *)(r0 + 0) = r1
r0 = r1
exit
insert:
r1 = 100
*(u64 *)(r10 - 16) = r1
r2 = r10
r2 += -4
r3 = r10
r3 += -16
r4 = 0
r1 = map_idx(0, 0) ll
call 2
r0 = 100
exit
";

#[test]
fn hash_map_counts_across_repeats() {
    let prog = assemble(COUNT).unwrap();
    let r = run(&prog, 2, &[map(1, 4, 8, 8)], &[], 5).unwrap();
    assert_eq!(r.ret, 104);
    assert_eq!(
        r.maps[0],
        vec![(3u32.to_le_bytes().to_vec(), 104u64.to_le_bytes().to_vec())]
    );
    // The same program over an array map finds the zeroed slot 3 at once.
    let r = run(&prog, 2, &[map(2, 4, 8, 4)], &[], 5).unwrap();
    assert_eq!(r.ret, 5);
}

#[test]
fn ringbuf_records_are_submitted() {
    let prog = assemble(
        "r1 = map_idx(0, 0) ll\nr2 = 8\nr3 = 0\ncall 131\nif r0 == 0 goto out\nr1 = 0x1122334455667788 ll\n*(u64 *)(r0 + 0) = r1\nr1 = r0\nr2 = 0\ncall 132\nout:\nr0 = 0\nexit\n",
    )
    .unwrap();
    let mut vm = bpf_vm::Vm::new(&prog, bpf_vm::StdHelpers::default());
    let spec = MapSpec {
        name: "rb".into(),
        map_type: 27,
        key_size: 0,
        value_size: 0,
        max_entries: 4096,
        flags: 0,
    };
    vm.helpers.add_map(spec, &mut vm.mem).unwrap();
    vm.run([0; 5]).unwrap();
    assert_eq!(
        vm.helpers.maps[0].records,
        vec![0x1122334455667788u64.to_le_bytes().to_vec()]
    );
}

#[test]
fn xdp_context_gives_packet_pointers() {
    let prog = assemble("r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr0 = *(u8 *)(r2 + 3)\nr3 -= r2\nr0 <<= 8\nr0 |= r3\nexit\n").unwrap();
    let r = run(&prog, 6, &[], &[1, 2, 3, 4, 5], 1).unwrap();
    assert_eq!(r.ret, (4 << 8) | 5);
}

#[test]
fn unchecked_access_past_the_packet_is_an_error() {
    let prog = assemble("r2 = *(u32 *)(r1 + 0)\nr0 = *(u32 *)(r2 + 4)\nexit\n").unwrap();
    match run(&prog, 6, &[], &[1, 2, 3, 4, 5], 1) {
        Err(RunError::Vm(VmError::OutOfBounds { pc: 1, size: 4, .. })) => {}
        other => panic!("{other:?}"),
    }
    // Writes to a read-only context are refused too.
    let prog = assemble("r2 = 1\n*(u32 *)(r1 + 12) = r2\nr0 = 0\nexit\n").unwrap();
    assert!(matches!(
        run(&prog, 6, &[], &[0; 20], 1),
        Err(RunError::Vm(VmError::ReadOnly { pc: 1, .. }))
    ));
}

#[test]
fn socket_filter_sees_the_skb_after_the_ethernet_header() {
    let prog = assemble(
        "r6 = r1\nr0 = *(u32 *)(r1 + 0)\nr7 = r0\nr0 = *(u8 *)skb[0]\nr7 <<= 8\nr0 |= r7\nexit\n",
    )
    .unwrap();
    let mut pkt = vec![0u8; 14];
    pkt[12] = 8;
    pkt.extend_from_slice(&[0x45, 0, 0, 20]);
    let r = run(&prog, 1, &[], &pkt, 1).unwrap();
    assert_eq!(r.ret, (4 << 8) | 0x45);
    assert!(matches!(
        run(&prog, 1, &[], &[0; 10], 1),
        Err(RunError::Setup(_))
    ));
}

#[test]
fn lru_hash_evicts_the_oldest_key() {
    let mut mem = bpf_vm::Memory::default();
    let spec = MapSpec {
        name: "l".into(),
        map_type: 9,
        key_size: 4,
        value_size: 4,
        max_entries: 2,
        flags: 0,
    };
    let mut m = bpf_vm::Map::new(spec, &mut mem).unwrap();
    for k in 0u32..3 {
        assert_eq!(m.update(&mut mem, &k.to_le_bytes(), &k.to_le_bytes(), 0), 0);
    }
    assert!(m.lookup(&0u32.to_le_bytes()).is_none());
    assert!(m.lookup(&2u32.to_le_bytes()).is_some());
    assert_eq!(m.update(&mut mem, &2u32.to_le_bytes(), &[0; 4], 1), -17); // BPF_NOEXIST
    assert_eq!(m.delete(&mut mem, &7u32.to_le_bytes()), -2);
}

/// `main` with its `func(0, 0) ll` pointing at `callback`, appended after it.
fn with_callback(main: &str, callback: &str) -> Vec<bpf_insn::Insn> {
    let mut p = assemble(main).unwrap();
    let n = p.len();
    for (pc, i) in p.iter_mut().enumerate() {
        if i.is_lddw() && i.src == bpf_insn::insn::pseudo::FUNC {
            i.imm = (n - pc - 1) as i32;
        }
    }
    p.extend(assemble(callback).unwrap());
    p
}

#[test]
fn bpf_loop_calls_back_until_told_to_stop() {
    let main = |n: u32, flags: u32| {
        format!(
            "r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = {n}\nr2 = func(0, 0) ll\nr3 = r10\nr3 += -8\n\
             r4 = {flags}\ncall 181\nr6 = r0\nr0 = *(u64 *)(r10 - 8)\nr0 <<= 8\nr0 += r6\nexit\n"
        )
    };
    // Sums its index into the caller's stack and stops (returns 1) at index 6.
    let cb = "r3 = *(u64 *)(r2 + 0)\nr3 += r1\n*(u64 *)(r2 + 0) = r3\nr0 = 0\n\
              if r1 < 6 goto +1\nr0 = 1\nexit\n";
    let r = run(&with_callback(&main(10, 0), cb), 6, &[], &[0; 64], 1).unwrap();
    assert_eq!(r.ret, (21 << 8) + 7, "0+..+6 summed, 7 calls");
    let r = run(&with_callback(&main(3, 0), cb), 6, &[], &[0; 64], 1).unwrap();
    assert_eq!(r.ret, (3 << 8) + 3, "all 3 iterations");
    let r = run(&with_callback(&main(3, 1), cb), 6, &[], &[0; 64], 1).unwrap();
    assert_eq!(r.ret as i64, -22, "flags: -EINVAL");
    let r = run(&with_callback(&main(1 << 24, 0), cb), 6, &[], &[0; 64], 1).unwrap();
    assert_eq!(r.ret as i64, -7, "more than BPF_MAX_LOOPS: -E2BIG");
}

#[test]
fn for_each_map_elem_visits_elements_in_order() {
    let main = "r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = map_idx(0, 0) ll\nr2 = func(0, 0) ll\n\
                r3 = r10\nr3 += -8\nr4 = 0\ncall 164\nr6 = r0\nr0 = *(u64 *)(r10 - 8)\n\
                r0 <<= 8\nr0 += r6\nexit\n";
    // Array: adds each key to the context and stops after key 2.
    let cb = "r5 = *(u32 *)(r2 + 0)\nr0 = *(u64 *)(r4 + 0)\nr0 += r5\n*(u64 *)(r4 + 0) = r0\n\
              r0 = 0\nif r5 < 2 goto +1\nr0 = 1\nexit\n";
    let r = run(&with_callback(main, cb), 6, &[map(2, 4, 8, 4)], &[0; 64], 1).unwrap();
    assert_eq!(r.ret, (3 << 8) + 3, "keys 0, 1, 2");
    // Hash: three inserted keys; the callback adds each value and deletes its element.
    let mut insert = String::new();
    for k in 1..=3 {
        insert += &format!(
            "r1 = {k}\n*(u32 *)(r10 - 4) = r1\nr1 = {}\n*(u64 *)(r10 - 16) = r1\n\
             r1 = map_idx(0, 0) ll\nr2 = r10\nr2 += -4\nr3 = r10\nr3 += -16\nr4 = 0\ncall 2\n",
            k * 10
        );
    }
    let cb = "r0 = *(u64 *)(r3 + 0)\nr5 = *(u64 *)(r4 + 0)\nr5 += r0\n*(u64 *)(r4 + 0) = r5\n\
              r4 = r1\nr1 = r4\ncall 3\nr0 = 0\nexit\n";
    let r = run(
        &with_callback(&(insert + main), cb),
        6,
        &[map(1, 4, 8, 8)],
        &[0; 64],
        1,
    )
    .unwrap();
    assert_eq!(r.ret, (60 << 8) + 3, "10+20+30 over 3 elements");
    assert!(r.maps[0].is_empty(), "each callback deleted its element");
}

#[test]
fn callbacks_share_the_call_depth_limit() {
    // A callback that calls bpf_loop with itself recurses until the frames run out.
    let main = "r1 = 1\nr2 = func(0, 0) ll\nr3 = 0\nr4 = 0\ncall 181\nexit\n";
    let mut p = with_callback(
        main,
        "r1 = 1\nr2 = 0 ll\nr3 = 0\nr4 = 0\ncall 181\nr0 = 0\nexit\n",
    );
    // The callback's own lddw (at main's length + 1) points at the callback itself.
    let at = assemble(main).unwrap().len() + 1;
    p[at].src = bpf_insn::insn::pseudo::FUNC;
    p[at].imm = -2;
    let e = run(&p, 6, &[], &[0; 64], 1).unwrap_err();
    assert!(matches!(e, RunError::Vm(VmError::CallDepth { .. })), "{e}");
}

#[test]
fn helpers_over_empty_kernel_object_maps() {
    // redirect_map on an empty devmap: the flags' action; BPF_F_BROADCAST redirects;
    // unknown flags abort.
    for (flags, want) in [(2u32, 2u64), (1 << 3, 4), (1 << 5, 0)] {
        let p = assemble(&format!(
            "r1 = map_idx(0, 0) ll\nr2 = 0\nr3 = {flags}\ncall 51\nexit\n"
        ))
        .unwrap();
        assert_eq!(
            run(&p, 6, &[map(14, 4, 4, 4)], &[0; 64], 1).unwrap().ret,
            want
        );
    }
    // perf_event_output into an empty perf event array: -ENOENT; past its end: -E2BIG;
    // more packet than there is: -EFAULT.
    for (flags, want) in [(0u64, -2i64), (7, -7), (0xffff_ffff, -2), (100 << 32, -14)] {
        let p = assemble(&format!(
            "r6 = r1\n*(u64 *)(r10 - 8) = r6\nr1 = r6\nr2 = map_idx(0, 0) ll\nr3 = {flags} ll\n\
             r4 = r10\nr4 += -8\nr5 = 8\ncall 25\nexit\n"
        ))
        .unwrap();
        let r = run(&p, 6, &[map(4, 4, 4, 2)], &[0; 64], 1).unwrap();
        assert_eq!(r.ret as i64, want, "flags {flags:#x}");
    }
    // bpf_redirect in XDP.
    let p = assemble(
        "r1 = 1\nr2 = 0\ncall 23\nr6 = r0\nr1 = 1\nr2 = 1\ncall 23\nr0 <<= 8\nr0 += r6\nexit\n",
    )
    .unwrap();
    assert_eq!(run(&p, 6, &[], &[0; 64], 1).unwrap().ret, 4);
}

#[test]
fn ring_buffer_fills_as_the_kernels_does() {
    // 2000-byte records into a 4096-byte ring: two fit (2008 bytes each with the header),
    // the third does not (-EAGAIN); the available data is then 4016 bytes.
    let mut src = String::new();
    for k in 0..3 {
        src += &format!(
            "r1 = map_idx(0, 0) ll\nr2 = map_value(1, 0) ll\nr3 = 2000\nr4 = 0\ncall 130\n\
             *(u64 *)(r10 - {}) = r0\n",
            8 * (k + 1)
        );
    }
    src += "r1 = map_idx(0, 0) ll\nr2 = 0\ncall 134\nr6 = r0\nr0 = *(u64 *)(r10 - 24)\n\
            r0 <<= 32\nr0 += r6\nexit\n";
    let p = assemble(&src).unwrap();
    let r = run(
        &p,
        6,
        &[map(27, 0, 0, 4096), map(2, 4, 2048, 1)],
        &[0; 64],
        1,
    )
    .unwrap();
    assert_eq!(r.ret >> 32, (-11i32) as u32 as u64, "third output: -EAGAIN");
    assert_eq!(r.ret & 0xffff_ffff, 4016);
}
