//! CO-RE ("compile once, run everywhere"): a relocation from `.BTF.ext` says that an
//! instruction depends on a field, type or enum value of the *local* BTF (the object's, what
//! the program was compiled against); [`resolve`] finds the same thing by name in a *target*
//! BTF (the kernel the program will run on) and says what the instruction's constant must be
//! there. Semantics follow libbpf's `relo_core.c` (names are matched up to a `___flavour`
//! suffix; anonymous members are looked through; the root access index scales by the root
//! type's size). Patching the instruction is the object loader's job.
//!
//! Why not `aya-obj`'s CO-RE: it relocates over its own BTF type and object model, so using
//! it would mean a second BTF reader beside this crate (which the tracer, the loader and the
//! verifier share, split BTF included) and a conversion of every program; the algorithm
//! itself is short once member lookup through anonymous members ([`Btf::member`]) exists.
//! Its results are checked against the kernel's BTF as bpftool prints it, and the relocated
//! programs against bpftool's own loads (same kernel tag), in kmodkit's tests/bpf_load.rs.

use crate::ext::CoreRelo;
use crate::{Btf, Error, Kind, Result, TypeId};

/// `enum bpf_core_relo_kind` (include/uapi/linux/bpf.h).
pub mod kind {
    pub const FIELD_BYTE_OFFSET: u32 = 0;
    pub const FIELD_BYTE_SIZE: u32 = 1;
    pub const FIELD_EXISTS: u32 = 2;
    pub const FIELD_SIGNED: u32 = 3;
    pub const FIELD_LSHIFT_U64: u32 = 4;
    pub const FIELD_RSHIFT_U64: u32 = 5;
    pub const TYPE_ID_LOCAL: u32 = 6;
    pub const TYPE_ID_TARGET: u32 = 7;
    pub const TYPE_EXISTS: u32 = 8;
    pub const TYPE_SIZE: u32 = 9;
    pub const ENUMVAL_EXISTS: u32 = 10;
    pub const ENUMVAL_VALUE: u32 = 11;
    pub const TYPE_MATCHES: u32 = 12;
}

/// The name of a relocation kind, as libbpf's debug output spells it.
pub fn kind_name(k: u32) -> &'static str {
    [
        "byte_off",
        "byte_sz",
        "field_exists",
        "signed",
        "lshift_u64",
        "rshift_u64",
        "local_type_id",
        "target_type_id",
        "type_exists",
        "type_size",
        "enumval_exists",
        "enumval_value",
        "type_matches",
    ]
    .get(k as usize)
    .copied()
    .unwrap_or("unknown")
}

/// What a relocation resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// The instruction's new constant. For field offsets, `field_size` is the target
    /// field's size (a load of a different width is adjusted by the loader).
    Value { value: u64, field_size: Option<u32> },
    /// Nothing in the target matches and the kind is not an existence check: libbpf
    /// replaces the instruction by a call to an invalid helper, so that the kernel rejects
    /// the program only if that instruction is reachable.
    Poison,
}

/// The relocation's access path and the kind, for messages: `struct task_struct.pid (0:54)`.
pub fn describe(local: &Btf, relo: &CoreRelo) -> String {
    format!(
        "{} {} ({})",
        kind_name(relo.kind),
        local.c_type(relo.type_id),
        local.str_at(relo.access_str_off)
    )
}

/// The name without its `___flavour` suffix.
pub fn essential_name(name: &str) -> &str {
    match name.find("___") {
        Some(i) => &name[..i],
        None => name,
    }
}

fn bad(local: &Btf, relo: &CoreRelo, msg: impl std::fmt::Display) -> Error {
    Error::Bad(format!("CO-RE relocation {}: {msg}", describe(local, relo)))
}

/// One step of a resolved access path: a named member (matched by name in the target) or an
/// array index.
#[derive(Debug, Clone)]
enum Step<'a> {
    Member(&'a str),
    Index(u32),
}

/// A field found by walking a path: its bit offset from the root, its type and bitfield width.
struct Field {
    bit_offset: u64,
    type_id: TypeId,
    bitfield: u32,
}

fn same_kind(a: &Kind, b: &Kind) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// Resolves `relo` (whose names and type ids are in `local`) against `target`.
pub fn resolve(local: &Btf, relo: &CoreRelo, target: &Btf) -> Result<Resolved> {
    let access = local.str_at(relo.access_str_off);
    let idx: Vec<u32> = access
        .split(':')
        .map(|s| s.parse::<u32>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| {
            bad(
                local,
                relo,
                format!("access string `{access}` is not N:N:..."),
            )
        })?;
    if idx.is_empty() {
        return Err(bad(local, relo, "empty access string"));
    }
    let lt = local
        .get(relo.type_id)
        .ok_or_else(|| bad(local, relo, format!("local type {} missing", relo.type_id)))?;
    let name = essential_name(local.str_at(lt.name_off));
    if relo.kind == kind::TYPE_ID_LOCAL {
        return Ok(value(u64::from(relo.type_id)));
    }
    if name.is_empty() {
        return Err(bad(
            local,
            relo,
            "anonymous local type cannot be matched by name",
        ));
    }
    // Candidates: same essential name, same kind as the local type as written.
    let cands: Vec<TypeId> = target
        .by_name(name)
        .iter()
        .copied()
        .filter(|&id| target.get(id).is_some_and(|t| same_kind(&t.kind, &lt.kind)))
        .collect();
    match relo.kind {
        kind::TYPE_ID_TARGET | kind::TYPE_EXISTS | kind::TYPE_SIZE | kind::TYPE_MATCHES => {
            let Some(&t) = cands.first() else {
                return Ok(
                    if relo.kind == kind::TYPE_EXISTS || relo.kind == kind::TYPE_MATCHES {
                        value(0)
                    } else {
                        Resolved::Poison
                    },
                );
            };
            Ok(match relo.kind {
                kind::TYPE_ID_TARGET => value(u64::from(t)),
                kind::TYPE_SIZE => match target.size_of(t) {
                    Some(s) => value(s),
                    None => return Err(bad(local, relo, "target type has no size")),
                },
                _ => value(1),
            })
        }
        kind::ENUMVAL_EXISTS | kind::ENUMVAL_VALUE => {
            let Some(Kind::Enum { values, .. }) =
                local.get(local.resolve(relo.type_id)).map(|t| &t.kind)
            else {
                return Err(bad(local, relo, "local type is not an enum"));
            };
            let e = values
                .get(idx[0] as usize)
                .ok_or_else(|| bad(local, relo, "enumerator index out of range"))?;
            let ename = essential_name(local.str_at(e.name_off));
            let found = cands.iter().find_map(|&id| match &target.get(id)?.kind {
                Kind::Enum { values, .. } => values
                    .iter()
                    .find(|v| essential_name(target.str_at(v.name_off)) == ename)
                    .map(|v| v.value),
                _ => None,
            });
            Ok(match (found, relo.kind) {
                (Some(_), kind::ENUMVAL_EXISTS) => value(1),
                (None, kind::ENUMVAL_EXISTS) => value(0),
                (Some(v), _) => value(v as u64),
                (None, _) => Resolved::Poison,
            })
        }
        kind::FIELD_BYTE_OFFSET..=kind::FIELD_RSHIFT_U64 => {
            let steps = local_steps(local, relo, &idx)?;
            let mut found: Option<Resolved> = None;
            for &c in &cands {
                let Some(f) = walk(target, c, idx[0], &steps) else {
                    continue;
                };
                let r = field_value(target, relo.kind, &f).map_err(|m| bad(local, relo, m))?;
                match found {
                    Some(prev) if prev != r => {
                        return Err(bad(
                            local,
                            relo,
                            "target candidates disagree (ambiguous type name)",
                        ))
                    }
                    _ => found = Some(r),
                }
            }
            Ok(match found {
                Some(r) => r,
                None if relo.kind == kind::FIELD_EXISTS => value(0),
                None => Resolved::Poison,
            })
        }
        k => Err(bad(local, relo, format!("unknown relocation kind {k}"))),
    }
}

fn value(v: u64) -> Resolved {
    Resolved::Value {
        value: v,
        field_size: None,
    }
}

/// The local access path as names and indices (anonymous members are not steps: the target
/// is searched through its own anonymous members).
fn local_steps<'a>(local: &'a Btf, relo: &CoreRelo, idx: &[u32]) -> Result<Vec<Step<'a>>> {
    let mut steps = Vec::new();
    let mut cur = relo.type_id;
    for &i in &idx[1..] {
        let id = local.resolve(cur);
        match local.get(id).map(|t| &t.kind) {
            Some(Kind::Struct { members, .. } | Kind::Union { members, .. }) => {
                let m = members
                    .get(i as usize)
                    .ok_or_else(|| bad(local, relo, format!("member index {i} out of range")))?;
                if m.name_off != 0 {
                    steps.push(Step::Member(local.str_at(m.name_off)));
                }
                cur = m.type_id;
            }
            Some(Kind::Array { elem, .. }) => {
                steps.push(Step::Index(i));
                cur = *elem;
            }
            _ => {
                return Err(bad(
                    local,
                    relo,
                    "access path goes through a non-composite type",
                ))
            }
        }
    }
    Ok(steps)
}

/// Follows `steps` from target type `root`; None when a member is missing or an index is out
/// of range.
fn walk(target: &Btf, root: TypeId, root_index: u32, steps: &[Step<'_>]) -> Option<Field> {
    let root_size = if root_index == 0 {
        0
    } else {
        target.size_of(root)?
    };
    let mut f = Field {
        bit_offset: u64::from(root_index) * root_size * 8,
        type_id: root,
        bitfield: 0,
    };
    for s in steps {
        match s {
            Step::Member(name) => {
                let m = target.member(f.type_id, name)?;
                f.bit_offset += u64::from(m.bit_offset);
                f.type_id = m.type_id;
                f.bitfield = m.bitfield_size;
            }
            Step::Index(i) => {
                let Kind::Array { elem, len, .. } = target.get(target.resolve(f.type_id))?.kind
                else {
                    return None;
                };
                // A flexible array (len 0) takes any index, as libbpf allows.
                if len != 0 && *i >= len {
                    return None;
                }
                f.bit_offset += u64::from(*i) * target.size_of(elem)? * 8;
                f.type_id = elem;
                f.bitfield = 0;
            }
        }
    }
    Some(f)
}

/// The value of a field relocation, as libbpf's `bpf_core_calc_field_relo` computes it.
fn field_value(b: &Btf, k: u32, f: &Field) -> std::result::Result<Resolved, String> {
    let mt = b.resolve(f.type_id);
    let size = b.size_of(mt).ok_or("the field's type has no size")?;
    let (byte_off, byte_sz, bit_sz) = if f.bitfield == 0 {
        if !f.bit_offset.is_multiple_of(8) {
            return Err("field is not byte-aligned".into());
        }
        (f.bit_offset / 8, size, size * 8)
    } else {
        // The smallest naturally aligned load that covers the bitfield.
        let bit_sz = u64::from(f.bitfield);
        let mut sz = size.max(1);
        let mut off = f.bit_offset / 8 / sz * sz;
        while f.bit_offset + bit_sz - off * 8 > sz * 8 {
            if sz >= 8 {
                return Err("bitfield does not fit an 8-byte load".into());
            }
            sz *= 2;
            off = f.bit_offset / 8 / sz * sz;
        }
        (off, sz, bit_sz)
    };
    let v = match k {
        kind::FIELD_BYTE_OFFSET => {
            return Ok(Resolved::Value {
                value: byte_off,
                field_size: Some(byte_sz as u32),
            })
        }
        kind::FIELD_BYTE_SIZE => byte_sz,
        kind::FIELD_EXISTS => 1,
        kind::FIELD_SIGNED => match &b.get(mt).map(|t| &t.kind) {
            Some(Kind::Int { signed, .. }) => u64::from(*signed),
            Some(Kind::Enum { signed, .. }) => u64::from(*signed),
            _ => 0,
        },
        kind::FIELD_LSHIFT_U64 => 64 - (f.bit_offset + bit_sz - byte_off * 8),
        _ => 64 - bit_sz,
    };
    Ok(value(v))
}
