//! CO-RE resolution on hand-built BTF: a local type with a `___flavour` and members in one
//! order, a target where the same members sit elsewhere (one inside an anonymous union, one a
//! bitfield), and each relocation kind.

use btf::co_re::{kind, resolve, Resolved};
use btf::ext::CoreRelo;
use btf::{Btf, Enumerator, Kind, Member};

fn int(b: &mut Btf, name: &str, size: u32, signed: bool) -> u32 {
    b.push(
        name,
        Kind::Int {
            size,
            signed,
            char: false,
            bool: false,
            bit_offset: 0,
            bits: size * 8,
        },
    )
}

fn member(b: &mut Btf, name: &str, type_id: u32, bit_offset: u32, bitfield_size: u32) -> Member {
    Member {
        name_off: b.add_str(name),
        type_id,
        bit_offset,
        bitfield_size,
    }
}

/// local: struct task___mine { int pid; unsigned flags:3; int gone; }; enum e { A = 1, B = 2 }.
fn local() -> Btf {
    let mut b = Btf::empty();
    let i = int(&mut b, "int", 4, true);
    let u = int(&mut b, "unsigned int", 4, false);
    let ms = vec![
        member(&mut b, "pid", i, 0, 0),
        member(&mut b, "flags", u, 32, 3),
        member(&mut b, "gone", i, 64, 0),
    ];
    b.push(
        "task___mine",
        Kind::Struct {
            size: 12,
            members: ms,
        },
    );
    let vals = vec![
        Enumerator {
            name_off: b.add_str("A"),
            value: 1,
        },
        Enumerator {
            name_off: b.add_str("B"),
            value: 2,
        },
    ];
    b.push(
        "e",
        Kind::Enum {
            size: 4,
            signed: false,
            wide: false,
            values: vals,
        },
    );
    b
}

/// target: struct task { long pad; union { int pid; }; unsigned x:5, flags:3; }; enum e { B = 7 }.
fn target() -> Btf {
    let mut b = Btf::empty();
    let i = int(&mut b, "int", 4, true);
    let u = int(&mut b, "unsigned int", 4, false);
    let l = int(&mut b, "long", 8, true);
    let um = vec![member(&mut b, "pid", i, 0, 0)];
    let un = b.push(
        "",
        Kind::Union {
            size: 4,
            members: um,
        },
    );
    let ms = vec![
        member(&mut b, "pad", l, 0, 0),
        member(&mut b, "", un, 64, 0),
        member(&mut b, "x", u, 96, 5),
        member(&mut b, "flags", u, 101, 3),
    ];
    b.push(
        "task",
        Kind::Struct {
            size: 16,
            members: ms,
        },
    );
    let vals = vec![Enumerator {
        name_off: b.add_str("B"),
        value: 7,
    }];
    b.push(
        "e",
        Kind::Enum {
            size: 4,
            signed: false,
            wide: false,
            values: vals,
        },
    );
    b
}

fn relo(l: &mut Btf, type_name: &str, access: &str, kind: u32) -> CoreRelo {
    let type_id = l.by_name(type_name)[0];
    CoreRelo {
        insn_off: 0,
        type_id,
        access_str_off: l.add_str(access),
        kind,
    }
}

fn value(v: u64) -> Resolved {
    Resolved::Value {
        value: v,
        field_size: None,
    }
}

#[test]
fn each_relocation_kind_resolves_by_name() {
    let mut l = local();
    let t = target();
    let local_id = l.by_name("task___mine")[0];
    let mut r = |ty: &str, access: &str, k: u32| {
        let rel = relo(&mut l, ty, access, k);
        resolve(&l, &rel, &t).unwrap()
    };
    // pid moved into an anonymous union at byte 8.
    assert_eq!(
        r("task___mine", "0:0", kind::FIELD_BYTE_OFFSET),
        Resolved::Value {
            value: 8,
            field_size: Some(4)
        }
    );
    assert_eq!(r("task___mine", "0:0", kind::FIELD_BYTE_SIZE), value(4));
    assert_eq!(r("task___mine", "0:0", kind::FIELD_SIGNED), value(1));
    assert_eq!(r("task___mine", "0:0", kind::FIELD_EXISTS), value(1));
    // The bitfield: bits 101..104, read as the 4-byte word at byte 12.
    assert_eq!(
        r("task___mine", "0:1", kind::FIELD_BYTE_OFFSET),
        Resolved::Value {
            value: 12,
            field_size: Some(4)
        }
    );
    assert_eq!(r("task___mine", "0:1", kind::FIELD_SIGNED), value(0));
    assert_eq!(
        r("task___mine", "0:1", kind::FIELD_LSHIFT_U64),
        value(64 - (101 + 3 - 96))
    );
    assert_eq!(r("task___mine", "0:1", kind::FIELD_RSHIFT_U64), value(61));
    // A member the target lacks: absent, or a poisoned instruction.
    assert_eq!(r("task___mine", "0:2", kind::FIELD_EXISTS), value(0));
    assert_eq!(
        r("task___mine", "0:2", kind::FIELD_BYTE_OFFSET),
        Resolved::Poison
    );
    // The root index scales by the target's size.
    assert_eq!(
        r("task___mine", "2:0", kind::FIELD_BYTE_OFFSET),
        Resolved::Value {
            value: 2 * 16 + 8,
            field_size: Some(4)
        }
    );
    // Types.
    let task = t.by_name("task")[0];
    assert_eq!(
        r("task___mine", "0", kind::TYPE_ID_TARGET),
        value(u64::from(task))
    );
    assert_eq!(r("task___mine", "0", kind::TYPE_SIZE), value(16));
    assert_eq!(r("task___mine", "0", kind::TYPE_EXISTS), value(1));
    assert_eq!(
        r("task___mine", "0", kind::TYPE_ID_LOCAL),
        value(u64::from(local_id))
    );
    // Enum values by enumerator name.
    assert_eq!(r("e", "1", kind::ENUMVAL_VALUE), value(7));
    assert_eq!(r("e", "1", kind::ENUMVAL_EXISTS), value(1));
    assert_eq!(r("e", "0", kind::ENUMVAL_EXISTS), value(0));
    assert_eq!(r("e", "0", kind::ENUMVAL_VALUE), Resolved::Poison);
}

#[test]
fn malformed_relocations_are_errors_not_panics() {
    let mut l = local();
    let t = target();
    for access in ["", "x", "0:9", "0:0:0", "0:-1"] {
        let rel = relo(&mut l, "task___mine", access, kind::FIELD_BYTE_OFFSET);
        assert!(resolve(&l, &rel, &t).is_err(), "{access:?}");
    }
    let rel = CoreRelo {
        insn_off: 0,
        type_id: 999,
        access_str_off: 0,
        kind: 0,
    };
    assert!(resolve(&l, &rel, &t).is_err());
    let rel = relo(&mut l, "task___mine", "0", 77);
    assert!(resolve(&l, &rel, &t).is_err());
}
