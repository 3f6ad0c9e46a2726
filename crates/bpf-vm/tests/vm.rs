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
