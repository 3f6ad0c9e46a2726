//! `.BTF.ext`, the per-instruction half of an object's BTF: function info (which BTF `FUNC`
//! each function is), line info (source file, line text, line and column of instructions) and
//! CO-RE relocations (which instruction reads which field of which type, by access path).
//! Layout: tools/lib/bpf/libbpf_internal.h (`btf_ext_header`, `btf_ext_info_sec`) and
//! include/uapi/linux/bpf.h (`bpf_func_info`, `bpf_line_info`, `bpf_core_relo`).
//!
//! Also the one fix-up the kernel needs of an object's `.BTF` before `BPF_BTF_LOAD`:
//! clang leaves `DATASEC` sizes and variable offsets at 0 and libbpf fills them from the ELF
//! section and symbol tables ([`fixup_datasecs`]).

use crate::{header, Error, Reader, Result};

/// A `bpf_func_info` record: the function starting at byte `insn_off` of its section is BTF
/// `FUNC` `type_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuncInfo {
    pub insn_off: u32,
    pub type_id: u32,
}

/// A `bpf_line_info` record (string offsets are into the object's `.BTF` strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineInfo {
    pub insn_off: u32,
    pub file_name_off: u32,
    pub line_off: u32,
    /// `line << 10 | column`.
    pub line_col: u32,
}

impl LineInfo {
    pub fn line(&self) -> u32 {
        self.line_col >> 10
    }
    pub fn col(&self) -> u32 {
        self.line_col & 0x3ff
    }
}

/// A `bpf_core_relo` record: the instruction at byte `insn_off` depends on local type
/// `type_id` through the access path `access_str_off` ("0:1:2"), asking for `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreRelo {
    pub insn_off: u32,
    pub type_id: u32,
    pub access_str_off: u32,
    pub kind: u32,
}

/// Records of one ELF section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecInfo<T> {
    /// Offset of the section name in the `.BTF` strings.
    pub sec_name_off: u32,
    pub records: Vec<T>,
}

/// A parsed `.BTF.ext`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BtfExt {
    pub func_info: Vec<SecInfo<FuncInfo>>,
    pub line_info: Vec<SecInfo<LineInfo>>,
    pub core_relos: Vec<SecInfo<CoreRelo>>,
}

impl BtfExt {
    /// Parses `.BTF.ext` bytes (either byte order, by its magic).
    pub fn parse(data: &[u8]) -> Result<BtfExt> {
        if data.len() < 8 {
            return Err(Error::Truncated {
                what: "BTF.ext header",
                offset: 0,
                need: 8,
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
        let hdr_len = r.u32(4, "BTF.ext header")? as usize;
        if hdr_len < 24 {
            return Err(Error::Bad(format!(
                "BTF.ext header length {hdr_len} is below 24"
            )));
        }
        let sub = |off_at: usize, what: &'static str| -> Result<&[u8]> {
            let off = r.u32(off_at, "BTF.ext header")? as usize;
            let len = r.u32(off_at + 4, "BTF.ext header")? as usize;
            let start = hdr_len.saturating_add(off);
            data.get(start..start.saturating_add(len))
                .ok_or(Error::Truncated {
                    what,
                    offset: start,
                    need: len,
                    have: data.len().saturating_sub(start),
                })
        };
        let func = sub(8, "BTF.ext func info")?;
        let line = sub(16, "BTF.ext line info")?;
        let core = if hdr_len >= 32 {
            sub(24, "BTF.ext CO-RE relocations")?
        } else {
            &[]
        };
        Ok(BtfExt {
            func_info: records(func, big, 8, "func info", |r, o| {
                Ok(FuncInfo {
                    insn_off: r.u32(o, "func info")?,
                    type_id: r.u32(o + 4, "func info")?,
                })
            })?,
            line_info: records(line, big, 16, "line info", |r, o| {
                Ok(LineInfo {
                    insn_off: r.u32(o, "line info")?,
                    file_name_off: r.u32(o + 4, "line info")?,
                    line_off: r.u32(o + 8, "line info")?,
                    line_col: r.u32(o + 12, "line info")?,
                })
            })?,
            core_relos: records(core, big, 16, "CO-RE relocation", |r, o| {
                Ok(CoreRelo {
                    insn_off: r.u32(o, "CO-RE relocation")?,
                    type_id: r.u32(o + 4, "CO-RE relocation")?,
                    access_str_off: r.u32(o + 8, "CO-RE relocation")?,
                    kind: r.u32(o + 12, "CO-RE relocation")?,
                })
            })?,
        })
    }
}

/// One info subsection: `rec_size`, then per ELF section its name, count and records.
/// Records may be larger than `min` (newer fields); the known prefix is read.
fn records<T>(
    data: &[u8],
    big: bool,
    min: usize,
    what: &'static str,
    read: impl Fn(&Reader<'_>, usize) -> Result<T>,
) -> Result<Vec<SecInfo<T>>> {
    if data.is_empty() {
        return Ok(Vec::new());
    }
    let r = Reader { data, big };
    let rec = r.u32(0, what)? as usize;
    if rec < min {
        return Err(Error::Bad(format!(
            "BTF.ext {what}: record size {rec} is below {min}"
        )));
    }
    let mut out = Vec::new();
    let mut p = 4;
    while p < data.len() {
        let sec_name_off = r.u32(p, what)?;
        let n = r.u32(p + 4, what)? as usize;
        p += 8;
        let need = n.checked_mul(rec).filter(|&b| p + b <= data.len());
        if need.is_none() {
            return Err(Error::Truncated {
                what,
                offset: p,
                need: n.saturating_mul(rec),
                have: data.len() - p,
            });
        }
        let mut records = Vec::with_capacity(n);
        for _ in 0..n {
            records.push(read(&r, p)?);
            p += rec;
        }
        out.push(SecInfo {
            sec_name_off,
            records,
        });
    }
    Ok(out)
}

/// Bytes of a type's entry after its 12-byte common part.
fn extra_len(kind: u32, vlen: usize) -> Option<usize> {
    Some(match kind {
        1 | 14 | 17 => 4,
        3 => 12,
        4 | 5 | 15 | 19 => 12 * vlen,
        6 | 13 => 8 * vlen,
        2 | 7..=12 | 16 | 18 => 0,
        _ => return None,
    })
}

/// `data` (an object's `.BTF`) with every `DATASEC`'s size set from `section_size` (by the
/// section's name) and each of its variables' offsets from `var_offset` (section name, variable
/// name), the variables then sorted by offset, as libbpf does before loading: clang writes
/// zeros for both. Sections and variables the callbacks do not know keep their values.
pub fn fixup_datasecs(
    data: &[u8],
    section_size: impl Fn(&str) -> Option<u32>,
    var_offset: impl Fn(&str, &str) -> Option<u32>,
) -> Result<Vec<u8>> {
    // Parsing first proves the layout the walk below relies on.
    let btf = crate::Btf::parse(data)?;
    let h = header(data)?;
    let mut out = data.to_vec();
    let put = |out: &mut Vec<u8>, off: usize, v: u32| {
        let b = if h.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        out[off..off + 4].copy_from_slice(&b);
    };
    let r = Reader { data, big: h.big };
    let mut off = h.types.start;
    let mut id = 1u32;
    while off < h.types.end {
        let info = r.u32(off + 4, "type")?;
        let vlen = (info & 0xffff) as usize;
        let kind = (info >> 24) & 0x1f;
        let extra = extra_len(kind, vlen).ok_or(Error::Kind {
            id,
            offset: off,
            kind,
        })?;
        if kind == 15 {
            let sec = btf.name(id);
            if let Some(size) = section_size(sec) {
                put(&mut out, off + 8, size);
            }
            for i in 0..vlen {
                let v = off + 12 + 12 * i;
                let var = r.u32(v, "datasec")?;
                if let Some(o) = var_offset(sec, btf.name(var)) {
                    put(&mut out, v + 4, o);
                }
            }
            // The kernel wants the variables in offset order.
            let at = off + 12;
            let mut entries: Vec<[u8; 12]> = (0..vlen)
                .map(|i| {
                    let mut e = [0u8; 12];
                    e.copy_from_slice(&out[at + 12 * i..at + 12 * i + 12]);
                    e
                })
                .collect();
            let rd = |e: &[u8; 12]| {
                let b = [e[4], e[5], e[6], e[7]];
                if h.big {
                    u32::from_be_bytes(b)
                } else {
                    u32::from_le_bytes(b)
                }
            };
            entries.sort_by_key(rd);
            for (i, e) in entries.iter().enumerate() {
                out[at + 12 * i..at + 12 * i + 12].copy_from_slice(e);
            }
        }
        off += 12 + extra;
        id += 1;
    }
    Ok(out)
}

/// `data` (an object's `.BTF`, after [`fixup_datasecs`]) made acceptable to the kernel when the
/// object has externs, as libbpf makes it: extern `FUNC`s (kfuncs) get global linkage, extern
/// `VAR`s become global allocated (`void` ones `int`), and the entries of a `DATASEC` that
/// name a `FUNC` (`.ksyms`) point at a placeholder `int` variable appended to the types, laid
/// out one `int` after another. BTF without externs comes back unchanged.
pub fn sanitize_externs(data: &[u8]) -> Result<Vec<u8>> {
    let btf = crate::Btf::parse(data)?;
    let h = header(data)?;
    let mut out = data.to_vec();
    let put = |out: &mut Vec<u8>, off: usize, v: u32| {
        let b = if h.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        out[off..off + 4].copy_from_slice(&b);
    };
    let int_id = (1..btf.len() as u32).find(|&id| {
        matches!(
            btf.get(id).map(|t| &t.kind),
            Some(crate::Kind::Int { size: 4, .. })
        )
    });
    let r = Reader { data, big: h.big };
    // Where each type starts (by id), for the prototypes of extern functions.
    let mut offsets = vec![0usize];
    let mut off = h.types.start;
    while off < h.types.end {
        let info = r.u32(off + 4, "type")?;
        let kind = (info >> 24) & 0x1f;
        let extra = extra_len(kind, (info & 0xffff) as usize).ok_or(Error::Kind {
            id: offsets.len() as u32,
            offset: off,
            kind,
        })?;
        offsets.push(off);
        off += 12 + extra;
    }
    let mut off = h.types.start;
    let mut id = 1u32;
    let dummy = btf.len() as u32;
    let mut need_dummy = None;
    while off < h.types.end {
        let name_off = r.u32(off, "type")?;
        let info = r.u32(off + 4, "type")?;
        let vlen = (info & 0xffff) as usize;
        let kind = (info >> 24) & 0x1f;
        let extra = extra_len(kind, vlen).ok_or(Error::Kind {
            id,
            offset: off,
            kind,
        })?;
        match kind {
            12 if vlen == 2 => {
                put(&mut out, off + 4, (info & !0xffff) | 1);
                // A declaration's parameters have no names, which the kernel refuses in a
                // global function ("Invalid arg#1"): libbpf names them; so do we, after
                // the function.
                let proto = r.u32(off + 8, "func")? as usize;
                if let Some(&p) = offsets.get(proto).filter(|_| proto > 0) {
                    let pinfo = r.u32(p + 4, "func_proto")?;
                    if (pinfo >> 24) & 0x1f == 13 {
                        for j in 0..(pinfo & 0xffff) as usize {
                            let param = p + 12 + 8 * j;
                            if r.u32(param, "param")? == 0 && r.u32(param + 4, "param")? != 0 {
                                put(&mut out, param, name_off);
                            }
                        }
                    }
                }
            }
            14 if r.u32(off + 12, "var")? == 2 => {
                put(&mut out, off + 12, 1);
                if btf.resolve(r.u32(off + 8, "var")?) == 0 {
                    let int = int_id
                        .ok_or_else(|| Error::Bad("extern void variable and no int type".into()))?;
                    put(&mut out, off + 8, int);
                }
            }
            15 => {
                // `.ksyms` (kfuncs and kernel variables) has no ELF section to size it.
                let funcs = btf.name(id) == ".ksyms"
                    || (0..vlen).any(|i| {
                        let t = r.u32(off + 12 + 12 * i, "datasec").unwrap_or(0);
                        matches!(btf.get(t).map(|t| &t.kind), Some(crate::Kind::Func { .. }))
                    });
                if funcs && vlen > 0 {
                    for i in 0..vlen {
                        let v = off + 12 + 12 * i;
                        let t = r.u32(v, "datasec")?;
                        if matches!(btf.get(t).map(|t| &t.kind), Some(crate::Kind::Func { .. })) {
                            put(&mut out, v, dummy);
                            need_dummy.get_or_insert(btf.get(t).map_or(0, |t| t.name_off));
                        }
                        put(&mut out, v + 4, 4 * i as u32);
                        put(&mut out, v + 8, 4);
                    }
                    put(&mut out, off + 8, 4 * vlen as u32);
                }
            }
            _ => {}
        }
        off += 12 + extra;
        id += 1;
    }
    let Some(name_off) = need_dummy else {
        return Ok(out);
    };
    let int = int_id.ok_or_else(|| Error::Bad("extern functions and no int type".into()))?;
    // Append `VAR <name> int, global allocated` at the end of the type section.
    let mut var = Vec::new();
    for v in [name_off, 14 << 24, int, 1] {
        var.extend_from_slice(&if h.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
    let mut res = out[..h.types.end].to_vec();
    res.extend_from_slice(&var);
    res.extend_from_slice(&out[h.types.end..]);
    // Header: type_len grows; a string section after the types moves.
    let type_len = r.u32(12, "header")? + 16;
    put(&mut res, 12, type_len);
    let hdr_len = r.u32(4, "header")? as usize;
    if h.strings.start >= h.types.end {
        let str_off = (h.strings.start - hdr_len) as u32 + 16;
        put(&mut res, 16, str_off);
    }
    // The result must still parse, with one more type.
    let check = crate::Btf::parse(&res)?;
    if check.len() != btf.len() + 1 {
        return Err(Error::Bad("placeholder variable was not appended".into()));
    }
    Ok(res)
}
