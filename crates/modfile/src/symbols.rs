//! Symbols: modversions, exports and undefined symbols, read as libkmod reads them
//! (`kmod_elf_get_modversions`, `kmod_elf_get_symbols`, `kmod_elf_get_dependency_symbols`),
//! because depmod's output depends on these exact rules.

use crate::elf::{Elf, Section, SHN_ABS, SHN_UNDEF};
use crate::Error;

/// A symbol's binding, as kmod classifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bind {
    None,
    Local,
    Global,
    Weak,
    Undef,
}

/// A symbol name with the CRC modversions give it (0 when there is none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    pub crc: u64,
    pub bind: Bind,
}

/// Size of one `struct modversion_info` (crc + name), the same for 32- and 64-bit.
const MODVERSION_SIZE: u64 = 64;

fn cstr(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

fn string(bytes: &[u8]) -> String {
    String::from_utf8_lossy(cstr(bytes)).into_owned()
}

/// `__versions` as a list of (crc, name); names lose one leading '.' (ppc64 ABI v1).
pub(crate) fn modversions(elf: &Elf<'_>) -> Result<Vec<Symbol>, Error> {
    let Some(sec) = elf.section_by_name("__versions") else {
        return Ok(Vec::new());
    };
    if sec.size % MODVERSION_SIZE != 0 {
        return Err(Error::malformed(
            "__versions section",
            sec.offset,
            format!("size {} is not a multiple of {MODVERSION_SIZE}", sec.size),
        ));
    }
    let crclen = if elf.is_64() { 8 } else { 4 };
    let data = elf.data_of(&sec);
    Ok(data
        .chunks_exact(MODVERSION_SIZE as usize)
        .enumerate()
        .map(|(i, entry)| {
            let crc = elf
                .uint(sec.offset + i as u64 * MODVERSION_SIZE, crclen)
                .unwrap_or(0);
            let mut name = cstr(&entry[crclen..]);
            if name.first() == Some(&b'.') {
                name = &name[1..];
            }
            Symbol {
                name: string(name),
                crc,
                bind: Bind::Undef,
            }
        })
        .collect())
}

/// A symbol table entry's fields that kmod reads.
struct RawSym {
    name_off: u32,
    value: u64,
    info: u8,
    shndx: u16,
}

struct SymTab<'a> {
    elf: Elf<'a>,
    strtab: &'a [u8],
    offset: u64,
    count: u64,
    entsize: u64,
}

impl<'a> SymTab<'a> {
    fn find(elf: &Elf<'a>) -> Option<Result<SymTab<'a>, Error>> {
        let [strtab, symtab] = elf.sections_by_names([".strtab", ".symtab"]);
        Self::from_sections(elf, strtab, symtab)
    }

    /// The table from its `.strtab` and `.symtab` headers, when the caller looked them up.
    fn from_sections(
        elf: &Elf<'a>,
        strtab: Option<Section>,
        symtab: Option<Section>,
    ) -> Option<Result<SymTab<'a>, Error>> {
        let strtab = elf.data_of(&strtab?);
        let symtab = symtab?;
        let entsize: u64 = if elf.is_64() { 24 } else { 16 };
        if symtab.size % entsize != 0 {
            return Some(Err(Error::malformed(
                ".symtab section",
                symtab.offset,
                format!("size {} is not a multiple of {entsize}", symtab.size),
            )));
        }
        Some(Ok(SymTab {
            elf: *elf,
            strtab,
            offset: symtab.offset,
            count: symtab.size / entsize,
            entsize,
        }))
    }

    fn get(&self, i: u64) -> RawSym {
        let base = self.offset + i * self.entsize;
        // The whole entry at once (always inside the section, which is inside the file).
        let entry = usize::try_from(base)
            .ok()
            .and_then(|b| self.elf.data().get(b..b + self.entsize as usize));
        if let Some(e) = entry {
            let be = self.elf.is_big_endian();
            let u = |b: &[u8]| -> u64 {
                let mut w = [0u8; 8];
                if be {
                    w[8 - b.len()..].copy_from_slice(b);
                    u64::from_be_bytes(w)
                } else {
                    w[..b.len()].copy_from_slice(b);
                    u64::from_le_bytes(w)
                }
            };
            return if self.elf.is_64() {
                RawSym {
                    name_off: u(&e[0..4]) as u32,
                    info: e[4],
                    shndx: u(&e[6..8]) as u16,
                    value: u(&e[8..16]),
                }
            } else {
                RawSym {
                    name_off: u(&e[0..4]) as u32,
                    value: u(&e[4..8]),
                    info: e[12],
                    shndx: u(&e[14..16]) as u16,
                }
            };
        }
        let rd = |off: u64, size: usize| self.elf.uint(base + off, size).unwrap_or(0);
        if self.elf.is_64() {
            RawSym {
                name_off: rd(0, 4) as u32,
                info: rd(4, 1) as u8,
                shndx: rd(6, 2) as u16,
                value: rd(8, 8),
            }
        } else {
            RawSym {
                name_off: rd(0, 4) as u32,
                value: rd(4, 4),
                info: rd(12, 1) as u8,
                shndx: rd(14, 2) as u16,
            }
        }
    }

    fn name(&self, s: &RawSym) -> Option<&'a [u8]> {
        self.strtab.get(s.name_off as usize..).map(cstr)
    }
}

/// Exported symbols: the `__crc_<name>` symbols with their CRC, else (no symbol table, no
/// `__crc_` symbol) every string of `__ksymtab_strings` with CRC 0.
pub(crate) fn exported(elf: &Elf<'_>) -> Result<Vec<Symbol>, Error> {
    if let Some(Ok(tab)) = SymTab::find(elf) {
        let mut out = Vec::new();
        let mut sane = true;
        for i in 1..tab.count {
            let s = tab.get(i);
            let Some(rest) = tab.strtab.get(s.name_off as usize..) else {
                sane = false;
                break;
            };
            // The prefix first: most names are not `__crc_` ones, and need no NUL search.
            let Some(rest) = rest.strip_prefix(b"__crc_") else {
                continue;
            };
            let name = cstr(rest);
            let bind = match s.info >> 4 {
                0 => Bind::Local,
                1 => Bind::Global,
                2 => Bind::Weak,
                _ => Bind::None,
            };
            out.push(Symbol {
                name: string(name),
                crc: resolve_crc(elf, s.value, s.shndx),
                bind,
            });
        }
        if sane && !out.is_empty() {
            return Ok(out);
        }
    }
    let strings = elf.section_data("__ksymtab_strings").unwrap_or(&[]);
    Ok(crate::info::strings(strings)
        .map(|name| Symbol {
            name: string(name),
            crc: 0,
            bind: Bind::Global,
        })
        .collect())
}

/// A `__crc_` symbol's value is the CRC itself (absolute) or its offset in a section.
fn resolve_crc(elf: &Elf<'_>, value: u64, shndx: u16) -> u64 {
    if shndx == SHN_ABS || shndx == SHN_UNDEF {
        return value;
    }
    let Some(sec) = elf.section_by_index(shndx) else {
        return u64::MAX;
    };
    if value > sec.size.wrapping_sub(4) {
        return u64::MAX;
    }
    elf.uint(sec.offset.wrapping_add(value), 4)
        .unwrap_or(u64::MAX)
}

/// Undefined symbols with the CRC `__versions` expects for each, then the `__versions`
/// entries no undefined symbol named (`module_layout`), as kmod lists them.
pub(crate) fn dependencies(elf: &Elf<'_>) -> Result<Vec<Symbol>, Error> {
    let crclen = if elf.is_64() { 8 } else { 4 };
    let [strtab, symtab, versions] = elf.sections_by_names([".strtab", ".symtab", "__versions"]);
    let versions = versions.filter(|s| s.size % MODVERSION_SIZE == 0);
    let ventries: Vec<(&[u8], u64)> = match &versions {
        Some(sec) => elf
            .data_of(sec)
            .chunks_exact(MODVERSION_SIZE as usize)
            .enumerate()
            .map(|(i, e)| {
                (
                    cstr(&e[crclen..]),
                    elf.uint(sec.offset + i as u64 * MODVERSION_SIZE, crclen)
                        .unwrap_or(0),
                )
            })
            .collect(),
        None => Vec::new(),
    };
    let tab = match SymTab::from_sections(elf, strtab, symtab) {
        Some(t) => t?,
        None => {
            return Err(Error::malformed(
                "symbol table",
                0,
                "no .symtab/.strtab section",
            ));
        }
    };
    // SPARC's STT_REGISTER symbols are not really undefined.
    let sparc = matches!(elf.machine(), 2 | 43);
    let mut visited = vec![false; ventries.len()];
    // Each undefined symbol's first `__versions` entry of that name (kmod scans the list
    // for each symbol; a map gives the same answer without the quadratic walk).
    let mut first: std::collections::HashMap<&[u8], usize> =
        std::collections::HashMap::with_capacity(ventries.len());
    for (i, (n, _)) in ventries.iter().enumerate() {
        first.entry(*n).or_insert(i);
    }
    let mut out = Vec::new();
    for i in 1..tab.count {
        let s = tab.get(i);
        if s.shndx != SHN_UNDEF || (sparc && s.info & 0xf == 13) {
            continue;
        }
        let name = tab.name(&s).ok_or_else(|| {
            Error::malformed(
                ".symtab entry",
                tab.offset + i * tab.entsize,
                format!(
                    "name offset {} is past the end of .strtab ({} bytes)",
                    s.name_off,
                    tab.strtab.len()
                ),
            )
        })?;
        if name.is_empty() {
            continue;
        }
        let crc = match first.get(name).copied() {
            Some(idx) => {
                visited[idx] = true;
                ventries[idx].1
            }
            None => 0,
        };
        let bind = if s.info >> 4 == 2 {
            Bind::Weak
        } else {
            Bind::Undef
        };
        out.push(Symbol {
            name: string(name),
            crc,
            bind,
        });
    }
    for ((name, crc), seen) in ventries.iter().zip(&visited) {
        if !seen {
            out.push(Symbol {
                name: string(name),
                crc: *crc,
                bind: Bind::Undef,
            });
        }
    }
    Ok(out)
}

/// `struct module`'s `name` in `.gnu.linkonce.this_module`: after `state` and `list`.
pub(crate) fn this_module_name(elf: &Elf<'_>) -> Option<String> {
    let data = elf.section_data(".gnu.linkonce.this_module")?;
    let (off, len) = if elf.is_64() { (24, 56) } else { (12, 60) };
    let field = data.get(off..(off + len).min(data.len()))?;
    let name = cstr(field);
    (!name.is_empty()).then(|| string(name))
}
