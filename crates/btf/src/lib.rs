//! BTF, the kernel's own type information, read without clang or headers.
//!
//! A *format* crate: bytes in, types out. It knows nothing of files or the running kernel;
//! callers hand it `/sys/kernel/btf/vmlinux`, the `.BTF` section of a `vmlinux` or module
//! ELF ([`from_elf`]), or a decompressed kernel image ([`find_in_image`]). It owns:
//!
//! - the encoding (Documentation/bpf/btf.rst): header, type section, string section, every
//!   kind up to `ENUM64`, either byte order;
//! - **split BTF**: a module's BTF continues its vmlinux's type ids and string offsets
//!   ([`Btf::parse_split`]);
//! - the questions a tracing compiler, an object loader (CO-RE) and a verifier ask: a type
//!   by name and kind, a type with its modifiers and typedefs peeled ([`Btf::resolve`]),
//!   sizes, a member by name through anonymous structs and unions with its bit offset and
//!   bitfield size ([`Btf::member`]), enum constants, function prototypes, and a C
//!   rendering of a type (`struct sock *`, `char[16]`) for listings and diagnostics.
//!
//! [`ext`] reads `.BTF.ext` (function info, line info, CO-RE relocations) and fixes up an
//! object's `DATASEC`s for the kernel; [`co_re`] resolves CO-RE relocations against a
//! target kernel's BTF, as libbpf does.
//!
//! Names stay offsets into the string section until asked for, and the name index is built
//! on the first lookup, so parsing vmlinux's several MB is one pass with no string copies.
//!
//! Why not `aya-obj`: its BTF parser is the one its loader uses, but it has no split BTF
//! (module types on top of vmlinux), and the questions above (anonymous-member paths,
//! bitfields, C rendering) would be written on top of it anyway; the encoding itself is
//! small and stable. The decision is revisited if CO-RE relocation is taken from aya-obj.

use std::collections::HashMap;
use std::sync::OnceLock;

pub mod co_re;
pub mod ext;

/// How many members one lookup may visit, anonymous members' included (the largest real
/// kernel structs have a few hundred).
const MEMBER_BUDGET: u32 = 100_000;
/// How deep anonymous structs and unions may nest in a lookup (C code has a few levels).
const MAX_ANON_DEPTH: u32 = 32;

/// BTF's magic number (`0xeB9F`), as a `u16` in the file's byte order.
pub const MAGIC: u16 = 0xeb9f;

/// A type's index: 0 is `void`; vmlinux's types are 1..N, a module's continue from N+1.
pub type TypeId = u32;

/// What can be wrong with BTF bytes, with the byte offset where it was found.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("not BTF: bad magic {0:#06x} (expected 0xeb9f)")]
    Magic(u16),
    #[error("BTF version {0} is not supported (expected 1)")]
    Version(u8),
    #[error("BTF truncated: {what} at offset {offset} needs {need} bytes, {have} left")]
    Truncated {
        what: &'static str,
        offset: usize,
        need: usize,
        have: usize,
    },
    #[error("BTF type {id} at offset {offset}: unknown kind {kind}")]
    Kind {
        id: TypeId,
        offset: usize,
        kind: u32,
    },
    #[error("BTF: {0}")]
    Bad(String),
    #[error("no .BTF section in this ELF file")]
    NoSection,
    #[error("ELF: {0}")]
    Elf(String),
}

type Result<T> = std::result::Result<T, Error>;

/// A struct or union member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub name_off: u32,
    pub type_id: TypeId,
    /// Offset from the start of the struct, in bits.
    pub bit_offset: u32,
    /// Width of a bitfield in bits; 0 for an ordinary member.
    pub bitfield_size: u32,
}

/// An enum constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enumerator {
    pub name_off: u32,
    pub value: i64,
}

/// A function parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name_off: u32,
    pub type_id: TypeId,
}

/// A variable in a data section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VarSecInfo {
    pub type_id: TypeId,
    pub offset: u32,
    pub size: u32,
}

/// A type's kind and the data that comes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Void,
    Int {
        size: u32,
        signed: bool,
        char: bool,
        bool: bool,
        bit_offset: u32,
        bits: u32,
    },
    Ptr(TypeId),
    Array {
        elem: TypeId,
        index: TypeId,
        len: u32,
    },
    Struct {
        size: u32,
        members: Vec<Member>,
    },
    Union {
        size: u32,
        members: Vec<Member>,
    },
    /// `ENUM` or, with `wide`, `ENUM64`.
    Enum {
        size: u32,
        signed: bool,
        wide: bool,
        values: Vec<Enumerator>,
    },
    Fwd {
        union: bool,
    },
    Typedef(TypeId),
    Volatile(TypeId),
    Const(TypeId),
    Restrict(TypeId),
    /// A function: its prototype and linkage (0 static, 1 global, 2 extern).
    Func {
        proto: TypeId,
        linkage: u32,
    },
    FuncProto {
        ret: TypeId,
        params: Vec<Param>,
    },
    Var {
        type_id: TypeId,
        linkage: u32,
    },
    Datasec {
        size: u32,
        vars: Vec<VarSecInfo>,
    },
    Float {
        size: u32,
    },
    DeclTag {
        type_id: TypeId,
        component: i32,
    },
    TypeTag(TypeId),
}

/// One type: its name (an offset into the strings) and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Type {
    pub name_off: u32,
    pub kind: Kind,
}

/// Parsed BTF: vmlinux's, or a module's on top of it.
#[derive(Debug, Clone)]
pub struct Btf {
    types: Vec<Type>,
    strings: Vec<u8>,
    /// How many of `types` (and bytes of `strings`) came from the base, for split BTF.
    base_types: usize,
    names: OnceLock<HashMap<Box<str>, Vec<TypeId>>>,
}

struct Reader<'a> {
    data: &'a [u8],
    big: bool,
}

impl Reader<'_> {
    fn u32(&self, off: usize, what: &'static str) -> Result<u32> {
        let b = self.data.get(off..off + 4).ok_or(Error::Truncated {
            what,
            offset: off,
            need: 4,
            have: self.data.len().saturating_sub(off),
        })?;
        let a = [b[0], b[1], b[2], b[3]];
        Ok(if self.big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    }
}

struct Header {
    big: bool,
    types: std::ops::Range<usize>,
    strings: std::ops::Range<usize>,
}

fn header(data: &[u8]) -> Result<Header> {
    if data.len() < 24 {
        return Err(Error::Truncated {
            what: "header",
            offset: 0,
            need: 24,
            have: data.len(),
        });
    }
    let big = match [data[0], data[1]] {
        [0x9f, 0xeb] => false,
        [0xeb, 0x9f] => true,
        m => return Err(Error::Magic(u16::from_le_bytes(m))),
    };
    if data[2] != 1 {
        return Err(Error::Version(data[2]));
    }
    let r = Reader { data, big };
    let hdr_len = r.u32(4, "header")? as usize;
    let field = |off| -> Result<usize> { Ok(r.u32(off, "header")? as usize) };
    let (type_off, type_len, str_off, str_len) = (field(8)?, field(12)?, field(16)?, field(20)?);
    let range = |off: usize, len: usize, what: &'static str| {
        let start = hdr_len.checked_add(off);
        let end = start.and_then(|s| s.checked_add(len));
        match (start, end) {
            (Some(s), Some(e)) if e <= data.len() => Ok(s..e),
            _ => Err(Error::Truncated {
                what,
                offset: hdr_len.saturating_add(off),
                need: len,
                have: data.len().saturating_sub(hdr_len.saturating_add(off)),
            }),
        }
    };
    if hdr_len < 24 {
        return Err(Error::Bad(format!("header length {hdr_len} is below 24")));
    }
    Ok(Header {
        big,
        types: range(type_off, type_len, "type section")?,
        strings: range(str_off, str_len, "string section")?,
    })
}

impl Btf {
    /// Parses standalone BTF (vmlinux's, or an object's).
    pub fn parse(data: &[u8]) -> Result<Btf> {
        let h = header(data)?;
        let strings = data[h.strings.clone()].to_vec();
        if !strings.is_empty() && strings[0] != 0 {
            return Err(Error::Bad("string section does not start with NUL".into()));
        }
        let mut btf = Btf {
            types: vec![Type {
                name_off: 0,
                kind: Kind::Void,
            }],
            strings,
            base_types: 0,
            names: OnceLock::new(),
        };
        btf.read_types(data, &h)?;
        Ok(btf)
    }

    /// BTF with no types but `void`, for callers that add their own ([`Btf::push`]).
    pub fn empty() -> Btf {
        Btf {
            types: vec![Type {
                name_off: 0,
                kind: Kind::Void,
            }],
            strings: vec![0],
            base_types: 0,
            names: OnceLock::new(),
        }
    }

    /// Appends a type named `name` ("" for none) and returns its id: how a compiler adds
    /// the types a program defines itself (a tracing script's `struct` definitions) on
    /// top of the kernel's. Member and enumerator names are offsets from [`Btf::add_str`].
    pub fn push(&mut self, name: &str, kind: Kind) -> TypeId {
        let name_off = self.add_str(name);
        self.types.push(Type { name_off, kind });
        self.names = OnceLock::new();
        (self.types.len() - 1) as TypeId
    }

    /// Adds `s` to the string section and returns its offset (0 for "").
    pub fn add_str(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        off
    }

    /// Parses a module's split BTF on top of `base` (its vmlinux's): type ids continue
    /// from the base's last, string offsets from the end of the base's strings.
    pub fn parse_split(data: &[u8], base: &Btf) -> Result<Btf> {
        let h = header(data)?;
        // Base strings first: a split type's name offset then indexes the joint table as
        // the kernel's (offsets past the base's strings are the module's own).
        let mut strings = base.strings.clone();
        strings.extend_from_slice(&data[h.strings.clone()]);
        let mut btf = Btf {
            types: base.types.clone(),
            strings,
            base_types: base.types.len(),
            names: OnceLock::new(),
        };
        btf.read_types(data, &h)?;
        Ok(btf)
    }

    fn read_types(&mut self, data: &[u8], h: &Header) -> Result<()> {
        let r = Reader {
            data: &data[..h.types.end],
            big: h.big,
        };
        let mut off = h.types.start;
        while off < h.types.end {
            let id = self.types.len() as TypeId;
            let name_off = r.u32(off, "type")?;
            let info = r.u32(off + 4, "type")?;
            let size_or_type = r.u32(off + 8, "type")?;
            off += 12;
            let vlen = (info & 0xffff) as usize;
            let kind_flag = info >> 31 == 1;
            let k = (info >> 24) & 0x1f;
            // Each entry's bytes, checked before the loop that reads them.
            let entries = |size: usize, off: usize| -> Result<()> {
                let need = vlen * size;
                if off + need > h.types.end {
                    return Err(Error::Truncated {
                        what: "type entries",
                        offset: off,
                        need,
                        have: h.types.end - off,
                    });
                }
                Ok(())
            };
            let kind = match k {
                1 => {
                    let enc = r.u32(off, "int encoding")?;
                    off += 4;
                    let e = (enc >> 24) & 0xf;
                    Kind::Int {
                        size: size_or_type,
                        signed: e & 1 != 0,
                        char: e & 2 != 0,
                        bool: e & 4 != 0,
                        bit_offset: (enc >> 16) & 0xff,
                        bits: enc & 0xff,
                    }
                }
                2 => Kind::Ptr(size_or_type),
                3 => {
                    let elem = r.u32(off, "array")?;
                    let index = r.u32(off + 4, "array")?;
                    let len = r.u32(off + 8, "array")?;
                    off += 12;
                    Kind::Array { elem, index, len }
                }
                4 | 5 => {
                    entries(12, off)?;
                    let mut members = Vec::with_capacity(vlen);
                    for _ in 0..vlen {
                        let (n, t, o) = (
                            r.u32(off, "member")?,
                            r.u32(off + 4, "member")?,
                            r.u32(off + 8, "member")?,
                        );
                        off += 12;
                        let (bit_offset, bitfield_size) = if kind_flag {
                            (o & 0xff_ffff, o >> 24)
                        } else {
                            (o, 0)
                        };
                        members.push(Member {
                            name_off: n,
                            type_id: t,
                            bit_offset,
                            bitfield_size,
                        });
                    }
                    if k == 4 {
                        Kind::Struct {
                            size: size_or_type,
                            members,
                        }
                    } else {
                        Kind::Union {
                            size: size_or_type,
                            members,
                        }
                    }
                }
                6 | 19 => {
                    let each = if k == 6 { 8 } else { 12 };
                    entries(each, off)?;
                    let mut values = Vec::with_capacity(vlen);
                    for _ in 0..vlen {
                        let n = r.u32(off, "enumerator")?;
                        let lo = r.u32(off + 4, "enumerator")?;
                        let value = if k == 6 {
                            if kind_flag {
                                i64::from(lo as i32)
                            } else {
                                i64::from(lo)
                            }
                        } else {
                            let hi = r.u32(off + 8, "enumerator")?;
                            ((u64::from(hi) << 32) | u64::from(lo)) as i64
                        };
                        off += each;
                        values.push(Enumerator { name_off: n, value });
                    }
                    Kind::Enum {
                        size: size_or_type,
                        signed: kind_flag,
                        wide: k == 19,
                        values,
                    }
                }
                7 => Kind::Fwd { union: kind_flag },
                8 => Kind::Typedef(size_or_type),
                9 => Kind::Volatile(size_or_type),
                10 => Kind::Const(size_or_type),
                11 => Kind::Restrict(size_or_type),
                12 => Kind::Func {
                    proto: size_or_type,
                    linkage: vlen as u32,
                },
                13 => {
                    entries(8, off)?;
                    let mut params = Vec::with_capacity(vlen);
                    for _ in 0..vlen {
                        params.push(Param {
                            name_off: r.u32(off, "param")?,
                            type_id: r.u32(off + 4, "param")?,
                        });
                        off += 8;
                    }
                    Kind::FuncProto {
                        ret: size_or_type,
                        params,
                    }
                }
                14 => {
                    let linkage = r.u32(off, "var")?;
                    off += 4;
                    Kind::Var {
                        type_id: size_or_type,
                        linkage,
                    }
                }
                15 => {
                    entries(12, off)?;
                    let mut vars = Vec::with_capacity(vlen);
                    for _ in 0..vlen {
                        vars.push(VarSecInfo {
                            type_id: r.u32(off, "datasec")?,
                            offset: r.u32(off + 4, "datasec")?,
                            size: r.u32(off + 8, "datasec")?,
                        });
                        off += 12;
                    }
                    Kind::Datasec {
                        size: size_or_type,
                        vars,
                    }
                }
                16 => Kind::Float { size: size_or_type },
                17 => {
                    let component = r.u32(off, "decl tag")? as i32;
                    off += 4;
                    Kind::DeclTag {
                        type_id: size_or_type,
                        component,
                    }
                }
                18 => Kind::TypeTag(size_or_type),
                kind => {
                    return Err(Error::Kind {
                        id,
                        offset: off - 12,
                        kind,
                    })
                }
            };
            if name_off as usize >= self.strings.len() && name_off != 0 {
                return Err(Error::Bad(format!(
                    "type {id}: name offset {name_off} outside the strings ({} bytes)",
                    self.strings.len()
                )));
            }
            self.types.push(Type { name_off, kind });
        }
        Ok(())
    }

    /// How many types, counting `void` (so the largest id is `len() - 1`).
    pub fn len(&self) -> usize {
        self.types.len()
    }

    /// Never: `void` is always there.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The first id that is this BTF's own (1 for vmlinux, N+1 for a module on top of it).
    pub fn first_own_id(&self) -> TypeId {
        self.base_types.max(1) as TypeId
    }

    /// The type with id `id`.
    pub fn get(&self, id: TypeId) -> Option<&Type> {
        self.types.get(id as usize)
    }

    /// The string at `off` ("" when out of range).
    pub fn str_at(&self, off: u32) -> &str {
        let Some(rest) = self.strings.get(off as usize..) else {
            return "";
        };
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        std::str::from_utf8(&rest[..end]).unwrap_or("")
    }

    /// The name of type `id` ("" for anonymous types).
    pub fn name(&self, id: TypeId) -> &str {
        self.get(id).map_or("", |t| self.str_at(t.name_off))
    }

    fn names(&self) -> &HashMap<Box<str>, Vec<TypeId>> {
        self.names.get_or_init(|| {
            let mut m: HashMap<Box<str>, Vec<TypeId>> = HashMap::new();
            for (id, t) in self.types.iter().enumerate().skip(1) {
                if t.name_off != 0 {
                    m.entry(self.str_at(t.name_off).into())
                        .or_default()
                        .push(id as TypeId);
                }
            }
            m
        })
    }

    /// Every type named `name`, in id order.
    pub fn by_name(&self, name: &str) -> &[TypeId] {
        self.names().get(name).map_or(&[], |v| v.as_slice())
    }

    /// The struct named `name` (a full definition, not a forward declaration).
    pub fn struct_named(&self, name: &str) -> Option<TypeId> {
        self.named(name, |k| matches!(k, Kind::Struct { .. }))
    }

    /// The union named `name`.
    pub fn union_named(&self, name: &str) -> Option<TypeId> {
        self.named(name, |k| matches!(k, Kind::Union { .. }))
    }

    /// The function named `name` (a `FUNC`, whose prototype [`Btf::func_proto`] gives).
    pub fn func_named(&self, name: &str) -> Option<TypeId> {
        self.named(name, |k| matches!(k, Kind::Func { .. }))
    }

    /// The typedef or other named type `name` of a kind `pred` accepts (the first, in id
    /// order). Before the name index exists this is a scan: a compiler asking for a few
    /// types (a script's casts) is done sooner than the index of vmlinux's ~100,000 names
    /// is built; [`Btf::by_name`] builds it for callers that ask many times.
    pub fn named(&self, name: &str, pred: impl Fn(&Kind) -> bool) -> Option<TypeId> {
        if self.names.get().is_none() {
            return self
                .types
                .iter()
                .enumerate()
                .skip(1)
                .find(|(_, t)| t.name_off != 0 && pred(&t.kind) && self.str_at(t.name_off) == name)
                .map(|(id, _)| id as TypeId);
        }
        self.by_name(name)
            .iter()
            .copied()
            .find(|&id| self.get(id).is_some_and(|t| pred(&t.kind)))
    }

    /// `id` with typedefs, `const`, `volatile`, `restrict` and type tags peeled off.
    pub fn resolve(&self, mut id: TypeId) -> TypeId {
        for _ in 0..64 {
            match self.get(id).map(|t| &t.kind) {
                Some(
                    Kind::Typedef(t)
                    | Kind::Const(t)
                    | Kind::Volatile(t)
                    | Kind::Restrict(t)
                    | Kind::TypeTag(t),
                ) => id = *t,
                _ => return id,
            }
        }
        id
    }

    /// The size of type `id` in bytes (pointers are 8), or None for void, functions and
    /// forward declarations.
    pub fn size_of(&self, id: TypeId) -> Option<u64> {
        self.size_at(id, 0)
    }

    fn size_at(&self, id: TypeId, depth: u32) -> Option<u64> {
        if depth > 64 {
            // Only a malformed file nests arrays this deep (or in a cycle).
            return None;
        }
        let id = self.resolve(id);
        match &self.get(id)?.kind {
            Kind::Int { size, .. }
            | Kind::Struct { size, .. }
            | Kind::Union { size, .. }
            | Kind::Enum { size, .. }
            | Kind::Float { size }
            | Kind::Datasec { size, .. } => Some(u64::from(*size)),
            Kind::Ptr(_) => Some(8),
            Kind::Array { elem, len, .. } => {
                self.size_at(*elem, depth + 1)?.checked_mul(u64::from(*len))
            }
            _ => None,
        }
    }

    /// The members of a struct or union (after resolving `id`).
    pub fn members(&self, id: TypeId) -> &[Member] {
        match self.get(self.resolve(id)).map(|t| &t.kind) {
            Some(Kind::Struct { members, .. } | Kind::Union { members, .. }) => members,
            _ => &[],
        }
    }

    /// Member `name` of struct/union `id`, looked for through anonymous struct and union
    /// members as C does; its bit offset is from the start of `id`.
    pub fn member(&self, id: TypeId, name: &str) -> Option<Member> {
        self.member_at(id, name, 0, 0, &mut MEMBER_BUDGET.clone())
    }

    /// `depth` and `budget` bound the anonymous levels and the members visited: real
    /// nesting is a few levels, but a malformed file can make anonymous members refer back
    /// to their own struct.
    fn member_at(
        &self,
        id: TypeId,
        name: &str,
        base: u32,
        depth: u32,
        budget: &mut u32,
    ) -> Option<Member> {
        if depth > MAX_ANON_DEPTH {
            return None;
        }
        for m in self.members(id) {
            *budget = budget.checked_sub(1)?;
            if m.name_off != 0 {
                if self.str_at(m.name_off) == name {
                    return Some(Member {
                        bit_offset: base.wrapping_add(m.bit_offset),
                        ..*m
                    });
                }
            } else if let Some(found) = self.member_at(
                m.type_id,
                name,
                base.wrapping_add(m.bit_offset),
                depth + 1,
                budget,
            ) {
                return Some(found);
            }
        }
        None
    }

    /// The names of the members reachable from `id` (anonymous members' members included),
    /// for "no member X; it has: ..." diagnostics.
    pub fn member_names(&self, id: TypeId) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_names(id, &mut out, 0, &mut MEMBER_BUDGET.clone());
        out
    }

    fn collect_names<'a>(
        &'a self,
        id: TypeId,
        out: &mut Vec<&'a str>,
        depth: u32,
        budget: &mut u32,
    ) {
        if depth > MAX_ANON_DEPTH {
            return;
        }
        for m in self.members(id) {
            let Some(left) = budget.checked_sub(1) else {
                return;
            };
            *budget = left;
            if m.name_off != 0 {
                out.push(self.str_at(m.name_off));
            } else {
                self.collect_names(m.type_id, out, depth + 1, budget);
            }
        }
    }

    /// The value of enum constant `name`, and its enum's id.
    pub fn enum_value(&self, name: &str) -> Option<(i64, TypeId)> {
        // Enumerators are not type names: a linear scan, done rarely (a script's constants).
        self.types
            .iter()
            .enumerate()
            .find_map(|(id, t)| match &t.kind {
                Kind::Enum { values, .. } => values
                    .iter()
                    .find(|e| self.str_at(e.name_off) == name)
                    .map(|e| (e.value, id as TypeId)),
                _ => None,
            })
    }

    /// The return type and parameters of function `func` (a `FUNC` or `FUNC_PROTO` id).
    pub fn func_proto(&self, func: TypeId) -> Option<(TypeId, &[Param])> {
        let proto = match &self.get(func)?.kind {
            Kind::Func { proto, .. } => *proto,
            _ => func,
        };
        match &self.get(proto)?.kind {
            Kind::FuncProto { ret, params } => Some((*ret, params)),
            _ => None,
        }
    }

    /// Type `id` written as C writes it: `int`, `struct sock *`, `const char *`,
    /// `char[16]`, `void (*)(int)`.
    pub fn c_type(&self, id: TypeId) -> String {
        // A prototype's parameters branch: crafted BTF whose parameters point back at their
        // own prototype would be exponential under a depth limit alone, so the types visited
        // are counted too.
        let mut budget = 1024u32;
        self.c_decl(id, String::new(), 0, &mut budget)
    }

    fn c_decl(&self, id: TypeId, inner: String, depth: u32, budget: &mut u32) -> String {
        let join = |base: String, inner: &str| {
            if inner.is_empty() {
                base
            } else if inner.starts_with('[') || inner.starts_with('(') {
                format!("{base}{inner}")
            } else {
                format!("{base} {inner}")
            }
        };
        let Some(t) = self.get(id).filter(|_| depth < 64 && *budget > 0) else {
            return join("?".into(), &inner);
        };
        *budget -= 1;
        let name = self.str_at(t.name_off);
        let named = |what: &str| {
            if name.is_empty() {
                format!("{what} (anon)")
            } else {
                format!("{what} {name}")
            }
        };
        match &t.kind {
            Kind::Void => join("void".into(), &inner),
            Kind::Int { .. } | Kind::Float { .. } | Kind::Typedef(_) => {
                join(name.to_string(), &inner)
            }
            Kind::Struct { .. } => join(named("struct"), &inner),
            Kind::Union { .. } => join(named("union"), &inner),
            Kind::Enum { .. } => join(named("enum"), &inner),
            Kind::Fwd { union } => join(named(if *union { "union" } else { "struct" }), &inner),
            Kind::Ptr(t) => {
                let pointee_is_fn =
                    matches!(self.get(*t).map(|x| &x.kind), Some(Kind::FuncProto { .. }))
                        || matches!(self.get(*t).map(|x| &x.kind), Some(Kind::Array { .. }));
                let inner = if pointee_is_fn {
                    format!("(*{inner})")
                } else {
                    format!("*{inner}")
                };
                self.c_decl(*t, inner, depth + 1, budget)
            }
            Kind::Const(t) => self.qualified("const", *t, inner, depth, budget),
            Kind::Volatile(t) => self.qualified("volatile", *t, inner, depth, budget),
            Kind::Restrict(t) => self.qualified("restrict", *t, inner, depth, budget),
            Kind::TypeTag(t) => self.c_decl(*t, inner, depth + 1, budget),
            Kind::Array { elem, len, .. } => {
                self.c_decl(*elem, format!("{inner}[{len}]"), depth + 1, budget)
            }
            Kind::FuncProto { ret, params } => {
                let args: Vec<String> = params
                    .iter()
                    .map(|p| {
                        if p.type_id == 0 {
                            "...".to_string()
                        } else {
                            self.c_decl(p.type_id, String::new(), depth + 1, budget)
                        }
                    })
                    .collect();
                let args = if args.is_empty() {
                    "void".into()
                } else {
                    args.join(", ")
                };
                self.c_decl(*ret, format!("{inner}({args})"), depth + 1, budget)
            }
            Kind::Func { proto, .. } => self.c_decl(*proto, name.to_string(), depth + 1, budget),
            Kind::Var { type_id, .. } => self.c_decl(*type_id, name.to_string(), depth + 1, budget),
            Kind::Datasec { .. } => format!("SEC(\"{name}\")"),
            Kind::DeclTag { type_id, .. } => self.c_decl(*type_id, inner, depth + 1, budget),
        }
    }

    fn qualified(&self, q: &str, t: TypeId, inner: String, depth: u32, budget: &mut u32) -> String {
        // `const char *`: the qualifier of a pointee goes before its base type.
        if inner.starts_with('*') || inner.is_empty() {
            let base = self.c_decl(t, String::new(), depth + 1, budget);
            if inner.is_empty() {
                format!("{q} {base}")
            } else {
                format!("{q} {base} {inner}")
            }
        } else {
            self.c_decl(t, format!("{q} {inner}"), depth + 1, budget)
        }
    }
}

impl Btf {
    /// This BTF's own types (a module's without its base) in bpftool's `btf dump ... format
    /// raw` layout, line for line, so that bpftool can serve as the oracle.
    pub fn dump_raw(&self, out: &mut impl std::fmt::Write) -> std::fmt::Result {
        for id in self.first_own_id()..self.len() as TypeId {
            self.dump_one(id, out)?;
        }
        Ok(())
    }

    fn dump_one(&self, id: TypeId, out: &mut impl std::fmt::Write) -> std::fmt::Result {
        let Some(t) = self.get(id) else {
            return Ok(());
        };
        let q = |off: u32| {
            let n = self.str_at(off);
            if n.is_empty() {
                "(anon)"
            } else {
                n
            }
        };
        let kind = match &t.kind {
            Kind::Void => "UNKN",
            Kind::Int { .. } => "INT",
            Kind::Ptr(_) => "PTR",
            Kind::Array { .. } => "ARRAY",
            Kind::Struct { .. } => "STRUCT",
            Kind::Union { .. } => "UNION",
            Kind::Enum { wide: true, .. } => "ENUM64",
            Kind::Enum { .. } => "ENUM",
            Kind::Fwd { .. } => "FWD",
            Kind::Typedef(_) => "TYPEDEF",
            Kind::Volatile(_) => "VOLATILE",
            Kind::Const(_) => "CONST",
            Kind::Restrict(_) => "RESTRICT",
            Kind::Func { .. } => "FUNC",
            Kind::FuncProto { .. } => "FUNC_PROTO",
            Kind::Var { .. } => "VAR",
            Kind::Datasec { .. } => "DATASEC",
            Kind::Float { .. } => "FLOAT",
            Kind::DeclTag { .. } => "DECL_TAG",
            Kind::TypeTag(_) => "TYPE_TAG",
        };
        write!(out, "[{id}] {kind} '{}'", q(t.name_off))?;
        let linkage = |l: u32| match l {
            0 => "static",
            1 => "global",
            2 => "extern",
            _ => "(unknown)",
        };
        match &t.kind {
            Kind::Void => {}
            Kind::Int {
                size,
                signed,
                char,
                bool,
                bit_offset,
                bits,
            } => {
                let enc = match (signed, char, bool) {
                    (false, false, false) => "(none)",
                    (true, false, false) => "SIGNED",
                    (false, true, false) => "CHAR",
                    (false, false, true) => "BOOL",
                    _ => "UNKN",
                };
                write!(
                    out,
                    " size={size} bits_offset={bit_offset} nr_bits={bits} encoding={enc}"
                )?;
            }
            Kind::Ptr(t)
            | Kind::Typedef(t)
            | Kind::Volatile(t)
            | Kind::Const(t)
            | Kind::Restrict(t)
            | Kind::TypeTag(t) => write!(out, " type_id={t}")?,
            Kind::Array { elem, index, len } => {
                write!(out, " type_id={elem} index_type_id={index} nr_elems={len}")?
            }
            Kind::Struct { size, members } | Kind::Union { size, members } => {
                write!(out, " size={size} vlen={}", members.len())?;
                for m in members {
                    write!(
                        out,
                        "\n\t'{}' type_id={} bits_offset={}",
                        q(m.name_off),
                        m.type_id,
                        m.bit_offset
                    )?;
                    if m.bitfield_size != 0 {
                        write!(out, " bitfield_size={}", m.bitfield_size)?;
                    }
                }
            }
            Kind::Enum {
                size,
                signed,
                wide,
                values,
            } => {
                let enc = if *signed { "SIGNED" } else { "UNSIGNED" };
                write!(out, " encoding={enc} size={size} vlen={}", values.len())?;
                for e in values {
                    let name = q(e.name_off);
                    match (*wide, *signed) {
                        (false, true) => write!(out, "\n\t'{name}' val={}", e.value as i32)?,
                        (false, false) => write!(out, "\n\t'{name}' val={}", e.value as u32)?,
                        (true, true) => write!(out, "\n\t'{name}' val={}LL", e.value)?,
                        (true, false) => write!(out, "\n\t'{name}' val={}ULL", e.value as u64)?,
                    }
                }
            }
            Kind::Fwd { union } => {
                write!(out, " fwd_kind={}", if *union { "union" } else { "struct" })?
            }
            Kind::Func { proto, linkage: l } => {
                write!(out, " type_id={proto} linkage={}", linkage(*l))?
            }
            Kind::FuncProto { ret, params } => {
                write!(out, " ret_type_id={ret} vlen={}", params.len())?;
                for p in params {
                    write!(out, "\n\t'{}' type_id={}", q(p.name_off), p.type_id)?;
                }
            }
            Kind::Var {
                type_id,
                linkage: l,
            } => write!(out, " type_id={type_id}, linkage={}", linkage(*l))?,
            Kind::Datasec { size, vars } => {
                write!(out, " size={size} vlen={}", vars.len())?;
                for v in vars {
                    write!(
                        out,
                        "\n\ttype_id={} offset={} size={}",
                        v.type_id, v.offset, v.size
                    )?;
                    if let Some(Type {
                        name_off,
                        kind: Kind::Var { .. },
                    }) = self.get(v.type_id)
                    {
                        write!(out, " (VAR '{}')", q(*name_off))?;
                    }
                }
            }
            Kind::Float { size } => write!(out, " size={size}")?,
            Kind::DeclTag { type_id, component } => {
                write!(out, " type_id={type_id} component_idx={component}")?
            }
        }
        writeln!(out)
    }
}

/// The `.BTF` section of an ELF file (a `vmlinux`, a module `.ko`, a BPF object).
pub fn section_of_elf(elf: &[u8]) -> Result<&[u8]> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(elf).map_err(|e| Error::Elf(e.to_string()))?;
    let sec = file.section_by_name(".BTF").ok_or(Error::NoSection)?;
    sec.data().map_err(|e| Error::Elf(e.to_string()))
}

/// BTF from an ELF file's `.BTF` section: standalone, or split on top of `base` (a module's).
pub fn from_elf(elf: &[u8], base: Option<&Btf>) -> Result<Btf> {
    let data = section_of_elf(elf)?;
    match base {
        Some(b) => Btf::parse_split(data, b),
        None => Btf::parse(data),
    }
}

/// The kernel's BTF inside a decompressed kernel image (the payload of a bzImage, which is
/// an ELF `vmlinux` whose `.BTF` section the kernel serves as /sys/kernel/btf/vmlinux), or
/// inside any blob: the ELF section when there is one, else the first place where a
/// complete, parseable BTF header and data start.
pub fn find_in_image(image: &[u8]) -> Result<Btf> {
    if image.starts_with(b"\x7fELF") {
        match from_elf(image, None) {
            Err(Error::NoSection) => {}
            r => return r,
        }
    }
    let mut at = 0;
    while let Some(pos) = image[at..].windows(4).position(|w| w == [0x9f, 0xeb, 1, 0]) {
        let start = at + pos;
        if let Ok(btf) = Btf::parse(&image[start..]) {
            if btf.len() > 1000 {
                return Ok(btf);
            }
        }
        at = start + 1;
    }
    Err(Error::NoSection)
}

/// Every question a tracer or loader asks of BTF, on any bytes: the fuzz target's body
/// (fuzz/fuzz_targets/btf.rs), shared with the regression tests of the inputs it found.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    if let Ok(b) = Btf::parse(data) {
        for id in 0..b.len() as TypeId {
            let _ = b.name(id);
            let _ = b.size_of(id);
            let _ = b.c_type(id);
            let _ = b.member_names(id);
            let _ = b.member(id, "a");
            let _ = b.func_proto(id);
        }
        let _ = b.enum_value("A");
        let _ = b.struct_named("s");
        let mut out = String::new();
        let _ = b.dump_raw(&mut out);
        if let Ok(split) = Btf::parse_split(data, &b) {
            let mut out = String::new();
            let _ = split.dump_raw(&mut out);
        }
    }
    let _ = find_in_image(data);
    let _ = ext::BtfExt::parse(data);
    let _ = ext::fixup_datasecs(data, |_| Some(8), |_, _| Some(0));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BTF bytes: a little-endian header, the type words `t`, then `strings`.
    fn blob(t: &[u32], strings: &[u8]) -> Vec<u8> {
        let types: Vec<u8> = t.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut out = vec![0x9f, 0xeb, 1, 0];
        let lens = [types.len() as u32, strings.len() as u32];
        for v in [24, 0, lens[0], lens[0], lens[1]] {
            out.extend(v.to_le_bytes());
        }
        out.extend(types);
        out.extend(strings);
        out
    }

    /// A tiny BTF blob built by hand: int, struct with a bitfield and an anonymous union,
    /// pointer, array, enum, func proto and func.
    pub(crate) fn sample() -> Vec<u8> {
        let strings = b"\0int\0s\0a\0b\0x\0y\0E\0ONE\0f\0arg\0".to_vec();
        let off = |name: &str, s: &[u8]| -> u32 {
            let n = name.as_bytes();
            s.windows(n.len() + 2)
                .position(|w| w[0] == 0 && &w[1..=n.len()] == n && w[n.len() + 1] == 0)
                .map(|p| p as u32 + 1)
                .unwrap()
        };
        let mut t: Vec<u32> = Vec::new();
        let info = |kind: u32, vlen: u32, flag: bool| (u32::from(flag) << 31) | (kind << 24) | vlen;
        // 1: int (4 bytes, signed, 32 bits)
        t.extend([off("int", &strings), info(1, 0, false), 4, (1 << 24) | 32]);
        // 2: union { int x; int y; } (anonymous)
        t.extend([0, info(5, 2, false), 4]);
        t.extend([off("x", &strings), 1, 0, off("y", &strings), 1, 0]);
        // 3: struct s { int a; int b:3 (bit 32); union {x,y} (at bit 64) }
        t.extend([off("s", &strings), info(4, 3, true), 12]);
        t.extend([off("a", &strings), 1, 0]);
        t.extend([off("b", &strings), 1, (3 << 24) | 32]);
        t.extend([0, 2, 64]);
        // 4: struct s *
        t.extend([0, info(2, 0, false), 3]);
        // 5: int[16]
        t.extend([0, info(3, 0, false), 0, 1, 1, 16]);
        // 6: enum E { ONE = 1 }
        t.extend([
            off("E", &strings),
            info(6, 1, false),
            4,
            off("ONE", &strings),
            1,
        ]);
        // 7: int (*)(struct s *arg)
        t.extend([0, info(13, 1, false), 1, off("arg", &strings), 4]);
        // 8: func f
        t.extend([off("f", &strings), info(12, 1, false), 7]);
        blob(&t, &strings)
    }

    #[test]
    fn parses_every_kind_in_the_sample() {
        let b = Btf::parse(&sample()).unwrap();
        assert_eq!(b.len(), 9);
        let s = b.struct_named("s").unwrap();
        assert_eq!(s, 3);
        assert_eq!(b.size_of(s), Some(12));
        let m = b.member(s, "b").unwrap();
        assert_eq!((m.bit_offset, m.bitfield_size), (32, 3));
        // Through the anonymous union.
        let y = b.member(s, "y").unwrap();
        assert_eq!(y.bit_offset, 64);
        assert_eq!(b.member_names(s), vec!["a", "b", "x", "y"]);
        assert!(b.member(s, "nope").is_none());
        assert_eq!(b.c_type(4), "struct s *");
        assert_eq!(b.c_type(5), "int[16]");
        assert_eq!(b.size_of(5), Some(64));
        assert_eq!(b.enum_value("ONE"), Some((1, 6)));
        let f = b.func_named("f").unwrap();
        let (ret, params) = b.func_proto(f).unwrap();
        assert_eq!(ret, 1);
        assert_eq!(b.str_at(params[0].name_off), "arg");
        assert_eq!(b.c_type(f), "int f(struct s *)");
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let full = sample();
        for len in 0..full.len() {
            assert!(Btf::parse(&full[..len]).is_err(), "accepted {len} bytes");
        }
        assert!(matches!(Btf::parse(&[0; 24]), Err(Error::Magic(0))));
    }

    /// A malformed file where an anonymous member is its own struct, and an array of
    /// itself: lookups end, sizes are unknown, nothing recurses forever.
    #[test]
    fn cycles_end() {
        let mut t: Vec<u32> = Vec::new();
        // 1: struct (anon) { (anon) member of type 1 }
        t.extend([0, (4 << 24) | 1, 4, 0, 1, 0]);
        // 2: array of itself
        t.extend([0, 3 << 24, 0, 2, 1, 4]);
        let b = Btf::parse(&blob(&t, b"\0")).unwrap();
        assert!(b.member(1, "x").is_none());
        assert!(b.member_names(1).is_empty());
        assert_eq!(b.size_of(2), None);
        assert!(b.c_type(2).contains('['));
    }

    #[test]
    fn split_btf_continues_ids_and_strings() {
        let base = Btf::parse(&sample()).unwrap();
        // A module type: struct m { struct s *p; } with its own strings "\0m\0p\0".
        let strings = b"\0m\0p\0".to_vec();
        let base_str = base.strings.len() as u32;
        let t: Vec<u32> = vec![base_str + 1, (4 << 24) | 1, 8, base_str + 3, 4, 0];
        let data = blob(&t, &strings);
        let m = Btf::parse_split(&data, &base).unwrap();
        let id = m.struct_named("m").unwrap();
        assert_eq!(id, 9);
        assert_eq!(m.first_own_id(), 9);
        let p = m.member(id, "p").unwrap();
        assert_eq!(m.c_type(p.type_id), "struct s *");
        assert_eq!(m.struct_named("s"), Some(3));
    }
}
