//! The ELF container, read the way libkmod reads it.
//!
//! Only what module tools need: the header, section headers and names, and typed integer
//! reads in the file's byte order. A section whose offset and size run past the end of the
//! file is skipped by name lookups (as kmod does) rather than failing the whole file; the
//! header, the section header table and the section name table must be sound.

use crate::Error;

pub(crate) const SHN_UNDEF: u16 = 0;
pub(crate) const SHN_ABS: u16 = 0xfff1;

/// The parsed ELF header: where things are, and how to read integers.
#[derive(Clone, Debug)]
pub(crate) struct Header {
    pub is64: bool,
    pub big_endian: bool,
    pub machine: u16,
    shoff: u64,
    shnum: u16,
    shentsize: u16,
    strings_offset: u64,
    strings_size: u64,
}

/// One section header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub index: u16,
    pub name_offset: u32,
    pub kind: u32,
    pub flags: u64,
    pub offset: u64,
    pub size: u64,
}

fn read_uint(data: &[u8], big_endian: bool, offset: u64, size: usize) -> Option<u64> {
    let start = usize::try_from(offset).ok()?;
    let bytes = data.get(start..start.checked_add(size)?)?;
    let mut v = 0u64;
    if big_endian {
        for b in bytes {
            v = (v << 8) | u64::from(*b);
        }
    } else {
        for b in bytes.iter().rev() {
            v = (v << 8) | u64::from(*b);
        }
    }
    Some(v)
}

impl Header {
    pub(crate) fn parse(data: &[u8]) -> Result<Header, Error> {
        if data.len() <= 16 || &data[..4] != b"\x7fELF" {
            return Err(Error::NotElf);
        }
        let is64 = match data[4] {
            1 => false,
            2 => true,
            c => {
                return Err(Error::malformed(
                    "ELF header",
                    4,
                    format!("unknown class {c} (expected 1 or 2)"),
                ))
            }
        };
        let ehsize: u64 = if is64 { 64 } else { 52 };
        if (data.len() as u64) <= ehsize {
            return Err(Error::truncated("ELF header", 0, ehsize, data.len()));
        }
        let big_endian = match data[5] {
            1 => false,
            2 => true,
            d => {
                return Err(Error::malformed(
                    "ELF header",
                    5,
                    format!("unknown data encoding {d} (expected 1 or 2)"),
                ))
            }
        };
        let rd = |off: u64, size: usize| read_uint(data, big_endian, off, size).unwrap_or(0);
        let (shoff, shentsize, shnum, shstrndx) = if is64 {
            (
                rd(40, 8),
                rd(58, 2) as u16,
                rd(60, 2) as u16,
                rd(62, 2) as u16,
            )
        } else {
            (
                rd(32, 4),
                rd(46, 2) as u16,
                rd(48, 2) as u16,
                rd(50, 2) as u16,
            )
        };
        let want = if is64 { 64 } else { 40 };
        if shentsize != want {
            let at = if is64 { 58 } else { 46 };
            return Err(Error::malformed(
                "ELF header",
                at,
                format!("section header size {shentsize}, expected {want}"),
            ));
        }
        let table = u64::from(shentsize) * u64::from(shnum);
        match shoff.checked_add(table) {
            Some(end) if end <= data.len() as u64 => {}
            _ => {
                return Err(Error::truncated(
                    "section header table",
                    shoff,
                    table,
                    data.len(),
                ))
            }
        }
        let mut h = Header {
            is64,
            big_endian,
            machine: rd(18, 2) as u16,
            shoff,
            shnum,
            shentsize,
            strings_offset: 0,
            strings_size: 0,
        };
        let strtab = h.section(data, shstrndx).ok_or_else(|| {
            Error::malformed(
                "section name table",
                h.shoff + u64::from(shstrndx) * u64::from(shentsize),
                format!(
                    "section {shstrndx} (e_shstrndx) is missing or runs past the end of the file"
                ),
            )
        })?;
        h.strings_offset = strtab.offset;
        h.strings_size = strtab.size;
        let names = &data[strtab.offset as usize..(strtab.offset + strtab.size) as usize];
        if names.last() != Some(&0) {
            return Err(Error::malformed(
                "section name table",
                strtab.offset,
                "empty or not terminated by a NUL byte",
            ));
        }
        Ok(h)
    }

    /// Section header `idx`, if it exists and its data lies inside the file.
    pub(crate) fn section(&self, data: &[u8], idx: u16) -> Option<Section> {
        if idx == SHN_UNDEF || idx >= self.shnum {
            return None;
        }
        let base = self.shoff + u64::from(idx) * u64::from(self.shentsize);
        let rd = |off: u64, size: usize| read_uint(data, self.big_endian, base + off, size);
        let s = if self.is64 {
            Section {
                index: idx,
                name_offset: rd(0, 4)? as u32,
                kind: rd(4, 4)? as u32,
                flags: rd(8, 8)?,
                offset: rd(24, 8)?,
                size: rd(32, 8)?,
            }
        } else {
            Section {
                index: idx,
                name_offset: rd(0, 4)? as u32,
                kind: rd(4, 4)? as u32,
                flags: rd(8, 4)?,
                offset: rd(16, 4)?,
                size: rd(20, 4)?,
            }
        };
        match s.offset.checked_add(s.size) {
            Some(end) if end <= data.len() as u64 => Some(s),
            _ => None,
        }
    }
}

/// A borrowed view of an ELF image with its parsed header.
#[derive(Clone, Copy)]
pub struct Elf<'a> {
    data: &'a [u8],
    header: &'a Header,
}

impl<'a> Elf<'a> {
    pub(crate) fn new(data: &'a [u8], header: &'a Header) -> Self {
        Elf { data, header }
    }

    /// The whole image.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// ELFCLASS64?
    pub fn is_64(&self) -> bool {
        self.header.is64
    }

    /// ELFDATA2MSB?
    pub fn is_big_endian(&self) -> bool {
        self.header.big_endian
    }

    /// `e_machine` (62 = x86-64, 183 = aarch64, 22 = s390, 243 = riscv, ...).
    pub fn machine(&self) -> u16 {
        self.header.machine
    }

    /// Read an unsigned integer of `size` bytes in the file's byte order.
    pub fn uint(&self, offset: u64, size: usize) -> Option<u64> {
        read_uint(self.data, self.header.big_endian, offset, size)
    }

    /// Every section whose data lies inside the file, in header order (index 0 excluded).
    pub fn sections(&self) -> impl Iterator<Item = Section> + 'a {
        let (data, header) = (self.data, self.header);
        (1..header.shnum).filter_map(move |i| header.section(data, i))
    }

    /// Section by index (None for index 0, out of range, or out of the file).
    pub fn section_by_index(&self, idx: u16) -> Option<Section> {
        self.header.section(self.data, idx)
    }

    /// The NUL-terminated name of a section.
    pub fn section_name(&self, s: &Section) -> Option<&'a [u8]> {
        let names = self.names();
        let start = usize::try_from(s.name_offset).ok()?;
        let rest = names.get(start..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        Some(&rest[..end])
    }

    fn names(&self) -> &'a [u8] {
        let h = self.header;
        &self.data[h.strings_offset as usize..(h.strings_offset + h.strings_size) as usize]
    }

    /// The first section called `name` (as kmod: sections that are out of bounds are skipped).
    pub fn section_by_name(&self, name: &str) -> Option<Section> {
        self.sections()
            .find(|s| self.section_name(s) == Some(name.as_bytes()))
    }

    /// The first section called each of `names`, found in one pass over the headers (the
    /// same answers as [`Elf::section_by_name`] for each name).
    pub fn sections_by_names<const N: usize>(&self, names: [&str; N]) -> [Option<Section>; N] {
        let mut out: [Option<Section>; N] = std::array::from_fn(|_| None);
        let mut left = N;
        for s in self.sections() {
            if left == 0 {
                break;
            }
            let Some(name) = self.section_name(&s) else {
                continue;
            };
            for (slot, want) in out.iter_mut().zip(names) {
                if slot.is_none() && name == want.as_bytes() {
                    *slot = Some(s.clone());
                    left -= 1;
                }
            }
        }
        out
    }

    /// The bytes of the first section called `name`.
    pub fn section_data(&self, name: &str) -> Option<&'a [u8]> {
        let s = self.section_by_name(name)?;
        Some(&self.data[s.offset as usize..(s.offset + s.size) as usize])
    }

    /// The bytes of a section.
    pub fn data_of(&self, s: &Section) -> &'a [u8] {
        &self.data[s.offset as usize..(s.offset + s.size) as usize]
    }
}
