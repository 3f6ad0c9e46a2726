//! Just enough BTF (`.BTF`) and BTF.ext (`.BTF.ext`) to read BTF-defined map definitions
//! and the line information that points diagnostics at source lines.
//! Layout: include/uapi/linux/btf.h and tools/lib/bpf/libbpf_internal.h (btf_ext_header).

use crate::Error;

pub const KIND_INT: u32 = 1;
pub const KIND_PTR: u32 = 2;
pub const KIND_ARRAY: u32 = 3;
pub const KIND_STRUCT: u32 = 4;
pub const KIND_UNION: u32 = 5;
pub const KIND_ENUM: u32 = 6;
pub const KIND_FWD: u32 = 7;
pub const KIND_TYPEDEF: u32 = 8;
pub const KIND_VOLATILE: u32 = 9;
pub const KIND_CONST: u32 = 10;
pub const KIND_RESTRICT: u32 = 11;
pub const KIND_FUNC: u32 = 12;
pub const KIND_FUNC_PROTO: u32 = 13;
pub const KIND_VAR: u32 = 14;
pub const KIND_DATASEC: u32 = 15;
pub const KIND_FLOAT: u32 = 16;
pub const KIND_DECL_TAG: u32 = 17;
pub const KIND_TYPE_TAG: u32 = 18;
pub const KIND_ENUM64: u32 = 19;

/// One BTF type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Type {
    pub name_off: u32,
    pub kind: u32,
    pub vlen: u32,
    /// `size` or `type`, by kind.
    pub size_type: u32,
    /// ARRAY: (elem type, nelems).
    pub array: Option<(u32, u32)>,
    /// STRUCT/UNION members, DATASEC vars: (name_off or var type, type or offset, offset or size).
    pub members: Vec<(u32, u32, u32)>,
}

#[derive(Debug, Clone, Default)]
pub struct Btf {
    /// Index 0 is `void`.
    pub types: Vec<Type>,
    pub strings: Vec<u8>,
}

fn rd32(b: &[u8], off: usize, big: bool) -> Result<u32, Error> {
    let s = b
        .get(off..off + 4)
        .ok_or_else(|| Error::Format(format!("BTF truncated at offset {off}")))?;
    let a = [s[0], s[1], s[2], s[3]];
    Ok(if big {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    })
}

impl Btf {
    pub fn parse(b: &[u8], big: bool) -> Result<Btf, Error> {
        if b.len() < 24 {
            return Err(Error::Format("BTF header truncated".into()));
        }
        let magic = if big {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        };
        if magic != 0xeb9f {
            return Err(Error::Format(format!(
                "BTF magic {magic:#x}, expected 0xeb9f"
            )));
        }
        let hdr_len = rd32(b, 4, big)? as usize;
        let type_off = rd32(b, 8, big)? as usize;
        let type_len = rd32(b, 12, big)? as usize;
        let str_off = rd32(b, 16, big)? as usize;
        let str_len = rd32(b, 20, big)? as usize;
        let tstart = hdr_len
            .checked_add(type_off)
            .ok_or_else(|| Error::Format("BTF offsets overflow".into()))?;
        let tend = tstart
            .checked_add(type_len)
            .ok_or_else(|| Error::Format("BTF offsets overflow".into()))?;
        let sstart = hdr_len
            .checked_add(str_off)
            .ok_or_else(|| Error::Format("BTF offsets overflow".into()))?;
        let send = sstart
            .checked_add(str_len)
            .ok_or_else(|| Error::Format("BTF offsets overflow".into()))?;
        let tb = b
            .get(tstart..tend)
            .ok_or_else(|| Error::Format("BTF type section out of range".into()))?;
        let strings = b
            .get(sstart..send)
            .ok_or_else(|| Error::Format("BTF string section out of range".into()))?
            .to_vec();
        let mut types = vec![Type {
            name_off: 0,
            kind: 0,
            vlen: 0,
            size_type: 0,
            array: None,
            members: vec![],
        }];
        let mut p = 0;
        while p < tb.len() {
            let name_off = rd32(tb, p, big)?;
            let info = rd32(tb, p + 4, big)?;
            let size_type = rd32(tb, p + 8, big)?;
            p += 12;
            let kind = (info >> 24) & 0x1f;
            let vlen = info & 0xffff;
            let mut t = Type {
                name_off,
                kind,
                vlen,
                size_type,
                array: None,
                members: vec![],
            };
            match kind {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => p += 4,
                KIND_ARRAY => {
                    t.array = Some((rd32(tb, p, big)?, rd32(tb, p + 8, big)?));
                    p += 12;
                }
                KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => {
                    for _ in 0..vlen {
                        t.members.push((
                            rd32(tb, p, big)?,
                            rd32(tb, p + 4, big)?,
                            rd32(tb, p + 8, big)?,
                        ));
                        p += 12;
                    }
                }
                KIND_ENUM | KIND_FUNC_PROTO => p += 8 * vlen as usize,
                KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
                | KIND_FUNC | KIND_FLOAT | KIND_TYPE_TAG => {}
                k => {
                    return Err(Error::Format(format!(
                        "BTF type {} has unknown kind {k}",
                        types.len()
                    )))
                }
            }
            types.push(t);
        }
        Ok(Btf { types, strings })
    }

    pub fn str_at(&self, off: u32) -> &str {
        str_at(&self.strings, off)
    }

    pub fn get(&self, id: u32) -> Option<&Type> {
        self.types.get(id as usize)
    }

    /// Follow typedef/const/volatile/restrict/type_tag to the underlying type.
    pub fn resolve(&self, mut id: u32) -> u32 {
        for _ in 0..32 {
            match self.get(id) {
                Some(t)
                    if matches!(
                        t.kind,
                        KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG
                    ) =>
                {
                    id = t.size_type
                }
                _ => break,
            }
        }
        id
    }

    /// Size in bytes of a type.
    pub fn size_of(&self, id: u32) -> Option<u64> {
        let id = self.resolve(id);
        let t = self.get(id)?;
        match t.kind {
            KIND_INT | KIND_STRUCT | KIND_UNION | KIND_ENUM | KIND_ENUM64 | KIND_DATASEC
            | KIND_FLOAT => Some(t.size_type as u64),
            KIND_PTR => Some(8),
            KIND_ARRAY => {
                let (elem, n) = t.array?;
                Some(self.size_of(elem)? * n as u64)
            }
            KIND_VAR => self.size_of(t.size_type),
            _ => None,
        }
    }

    /// Find a type by kind and name.
    pub fn find(&self, kind: u32, name: &str) -> Option<u32> {
        self.types
            .iter()
            .position(|t| t.kind == kind && self.str_at(t.name_off) == name)
            .map(|i| i as u32)
    }
}

pub(crate) fn str_at(strings: &[u8], off: u32) -> &str {
    let Some(s) = strings.get(off as usize..) else {
        return "";
    };
    let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
    std::str::from_utf8(&s[..end]).unwrap_or("")
}

/// A line-info record of `.BTF.ext`: instruction byte offset in its section, file, line
/// text, line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInfo {
    pub section: String,
    pub insn_off: u32,
    pub file: String,
    pub line_text: String,
    pub line: u32,
    pub col: u32,
}

/// Parse the line-info part of `.BTF.ext`.
pub fn parse_line_info(ext: &[u8], btf: &Btf, big: bool) -> Result<Vec<LineInfo>, Error> {
    if ext.len() < 24 {
        return Err(Error::Format("BTF.ext header truncated".into()));
    }
    let hdr_len = rd32(ext, 4, big)? as usize;
    let li_off = rd32(ext, 16, big)? as usize;
    let li_len = rd32(ext, 20, big)? as usize;
    let start = hdr_len.saturating_add(li_off);
    let Some(li) = ext.get(start..start.saturating_add(li_len)) else {
        return Err(Error::Format("BTF.ext line info out of range".into()));
    };
    let mut out = Vec::new();
    if li.len() < 4 {
        return Ok(out);
    }
    let rec = rd32(li, 0, big)? as usize;
    if rec < 16 {
        return Err(Error::Format(format!(
            "BTF.ext line info record size {rec} < 16"
        )));
    }
    let mut p = 4;
    while p + 8 <= li.len() {
        let sec = btf.str_at(rd32(li, p, big)?).to_string();
        let n = rd32(li, p + 4, big)? as usize;
        p += 8;
        for _ in 0..n {
            let insn_off = rd32(li, p, big)?;
            let file = btf.str_at(rd32(li, p + 4, big)?).to_string();
            let line_text = btf.str_at(rd32(li, p + 8, big)?).to_string();
            let lc = rd32(li, p + 12, big)?;
            out.push(LineInfo {
                section: sec.clone(),
                insn_off,
                file,
                line_text,
                line: lc >> 10,
                col: lc & 0x3ff,
            });
            p += rec;
        }
    }
    Ok(out)
}
