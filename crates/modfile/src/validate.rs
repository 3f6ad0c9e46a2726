//! Is this a module the kernel's loader would take? The checks of `elf_validity_check` and
//! `setup_load_info` (kernel/module/main.c, 6.1), in their order, each with the reason and
//! the line the kernel gives: ELF header length and magic, `ET_REL`, the target's machine
//! (`elf_check_arch`), the section header size and table bounds, the section name table
//! (index, bounds, not empty, NUL-terminated), the null section 0, every section's bounds
//! and names and the symbol table's `sh_link`; then a symbol table, and an allocated
//! `.gnu.linkonce.this_module` (the kernel's `find_sec` skips sections without SHF_ALLOC).
//! Later kernels (6.4+) word the last checks differently; 6.1's are Debian 12's, checked
//! against it under QEMU.
//!
//! The kernel reads the header in its own word size and byte order, so with a [`Target`]
//! the file is read the target's way (a big-endian module on x86-64 fails on its type, as
//! the kernel's message shows); without one (signing for any machine), in the file's own.
//!
//! The input is the ELF image without an appended signature: the kernel checks the
//! signature first and validates what it covered.

use std::fmt;

const ET_REL: u16 = 1;
const SHT_NULL: u32 = 0;
const SHT_SYMTAB: u32 = 2;
const SHT_NOBITS: u32 = 8;
const SHF_ALLOC: u64 = 2;

/// A machine modules are built for: how its kernel reads an ELF header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// `e_machine` its `elf_check_arch` accepts.
    pub machine: u16,
    pub is64: bool,
    pub big_endian: bool,
}

impl Target {
    pub const X86_64: Target = Target {
        machine: 62,
        is64: true,
        big_endian: false,
    };
    pub const AARCH64: Target = Target {
        machine: 183,
        is64: true,
        big_endian: false,
    };
    pub const I386: Target = Target {
        machine: 3,
        is64: false,
        big_endian: false,
    };

    /// The target of a kernel built with this config (`CONFIG_X86_64`, `CONFIG_ARM64`,
    /// `CONFIG_X86_32`), as `is_set` answers for each symbol.
    pub fn from_config(is_set: impl Fn(&str) -> bool) -> Option<Target> {
        [
            ("CONFIG_X86_64", Target::X86_64),
            ("CONFIG_ARM64", Target::AARCH64),
            ("CONFIG_X86_32", Target::I386),
        ]
        .into_iter()
        .find(|(k, _)| is_set(k))
        .map(|(_, t)| t)
    }
}

/// Why the loader refuses a file (all are `ENOEXEC` in the kernel). [`Invalid::kernel_message`]
/// is the line the kernel logs; `Display` says the same with offsets, for people.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("file of {len} bytes is shorter than an ELF header ({need} bytes)")]
    HeaderLen { len: usize, need: usize },
    #[error("not an ELF file: bad magic at offset 0 (expected 7f 45 4c 46)")]
    Magic,
    #[error("unknown ELF class {0} at offset 4 (expected 1 or 2)")]
    Class(u8),
    #[error("unknown ELF data encoding {0} at offset 5 (expected 1 or 2)")]
    Encoding(u8),
    #[error("ELF type {t} at offset 16 is not ET_REL (1): not a loadable module{hint}", t = .0, hint = type_hint(*.0))]
    Type(u16),
    #[error("built for machine {found} ({}), the kernel is {want} ({})", machine_name(*.found), machine_name(*.want))]
    Machine { found: u16, want: u16 },
    #[error("section header entry size {found} (expected {want})")]
    SectionHeaderSize { found: u16, want: u16 },
    #[error("section header table ({shnum} entries at offset {shoff}) runs past the end of the file ({len} bytes)")]
    SectionHeaderOverflow { shoff: u64, shnum: u16, len: usize },
    #[error("section name table index {shstrndx} is not a section (there are {shnum})")]
    NameTableIndex { shstrndx: u16, shnum: u16 },
    #[error("section name table (type {kind}) runs past the end of the file")]
    NameTableBounds { kind: u32 },
    #[error("section name table is empty")]
    NameTableEmpty,
    #[error("section name table is not NUL-terminated")]
    NameTableUnterminated,
    #[error("section 0 is not a null section (type {0})")]
    Section0(u32),
    #[error("symbol table (section {index}) links to section {link} (there are {shnum})")]
    SymtabLink { index: u16, link: u32, shnum: u16 },
    #[error("section {index} (type {kind}) runs past the end of the file ({len} bytes)")]
    SectionBounds { index: u16, kind: u32, len: usize },
    #[error("section {index} (type {kind}) has a name offset outside the section name table")]
    SectionName { index: u16, kind: u32 },
    #[error("no symbol table (stripped?)")]
    NoSymbols,
    #[error("no allocated .gnu.linkonce.this_module section: not a module")]
    NoThisModule,
    /// Not an ELF check of the kernel's (it goes on and fails on the missing `vermagic`),
    /// but a file without `.modinfo` is not a module.
    #[error("no .modinfo section: not a module")]
    NoModinfo,
}

fn type_hint(t: u16) -> &'static str {
    match t {
        2 => " (an executable)",
        3 => " (a shared object)",
        4 => " (a core file)",
        _ => "",
    }
}

/// A name for the common `e_machine` values.
pub fn machine_name(m: u16) -> &'static str {
    match m {
        3 => "i386",
        8 => "MIPS",
        20 => "PowerPC",
        21 => "PowerPC64",
        22 => "s390",
        40 => "ARM",
        62 => "x86-64",
        183 => "AArch64",
        243 => "RISC-V",
        258 => "LoongArch",
        _ => "unknown",
    }
}

impl Invalid {
    /// The line the 6.1 kernel logs for this refusal (`pr_err` in `elf_validity_cache_copy`),
    /// with `name` the module's name where the kernel knows it (`.modinfo`'s `name`).
    /// `None` for [`Invalid::NoModinfo`], which the loader does not report here.
    pub fn kernel_message(&self, name: Option<&str>) -> Option<String> {
        let who = name.unwrap_or("(missing .modinfo section or name field)");
        Some(match self {
            Invalid::HeaderLen { len, .. } => format!("Invalid ELF header len {len}"),
            // /dev/kmsg (and so dmesg) shows the 0x7f byte escaped.
            Invalid::Magic => r"Invalid ELF header magic: != \x7fELF".into(),
            // The kernel does not look at the class or encoding bytes: with a target, the
            // header is read the target's way and fails on its type or machine instead.
            Invalid::Class(_) | Invalid::Encoding(_) => return None,
            Invalid::Type(t) => format!("Invalid ELF header type: {t} != {ET_REL}"),
            Invalid::Machine { found, .. } => {
                format!("Invalid architecture in ELF header: {found}")
            }
            Invalid::SectionHeaderSize { .. } => "Invalid ELF section header size".into(),
            Invalid::SectionHeaderOverflow { .. } => "Invalid ELF section header overflow".into(),
            Invalid::NameTableIndex { shstrndx, shnum } => format!(
                "Invalid ELF section name index: {shstrndx} || e_shstrndx ({shstrndx}) >= e_shnum ({shnum})"
            ),
            Invalid::NameTableBounds { kind } => format!("Invalid ELF section hdr(type {kind})"),
            Invalid::NameTableEmpty => "empty section name table".into(),
            Invalid::NameTableUnterminated => {
                "ELF Spec violation: section name table isn't null terminated".into()
            }
            Invalid::Section0(t) => format!(
                "ELF Spec violation: section 0 type({t})!=SH_NULL or non-zero len or addr"
            ),
            Invalid::SymtabLink { link, shnum, .. } => format!(
                "Invalid ELF sh_link!=SHN_UNDEF({link}) or (sh_link({link}) >= hdr->e_shnum({shnum})"
            ),
            Invalid::SectionBounds { index, kind, .. } => {
                format!("Invalid ELF section in module (section {index} type {kind})")
            }
            Invalid::SectionName { index, kind } => {
                format!("Invalid ELF section name in module (section {index} type {kind})")
            }
            Invalid::NoSymbols => format!("{who}: module has no symbols (stripped?)"),
            Invalid::NoThisModule => format!("{who}: No module found in object"),
            Invalid::NoModinfo => return None,
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(machine_name(self.machine))
    }
}

struct Reader<'a> {
    data: &'a [u8],
    big_endian: bool,
}

impl Reader<'_> {
    /// An unsigned integer of `size` bytes at `offset` (the caller checked the bounds;
    /// anything out of range reads as 0).
    fn uint(&self, offset: u64, size: usize) -> u64 {
        let Some(bytes) = usize::try_from(offset)
            .ok()
            .and_then(|s| self.data.get(s..s.checked_add(size)?))
        else {
            return 0;
        };
        let fold = |v: u64, b: &u8| (v << 8) | u64::from(*b);
        if self.big_endian {
            bytes.iter().fold(0, fold)
        } else {
            bytes.iter().rev().fold(0, fold)
        }
    }
}

/// Validates `elf` (a module's ELF image, without its signature) as the kernel's loader does
/// for `target`, or for the machine the file names when `target` is `None`. Also requires a
/// `.modinfo` section ([`Invalid::NoModinfo`], checked last).
pub fn validate(elf: &[u8], target: Option<Target>) -> Result<(), Invalid> {
    let (is64, big_endian) = match target {
        Some(t) => (t.is64, t.big_endian),
        None => {
            if elf.len() < 6 || &elf[..4] != b"\x7fELF" {
                if elf.len() >= 4 && &elf[..4] != b"\x7fELF" {
                    return Err(Invalid::Magic);
                }
                return Err(Invalid::HeaderLen {
                    len: elf.len(),
                    need: 52,
                });
            }
            let is64 = match elf[4] {
                1 => false,
                2 => true,
                c => return Err(Invalid::Class(c)),
            };
            let be = match elf[5] {
                1 => false,
                2 => true,
                d => return Err(Invalid::Encoding(d)),
            };
            (is64, be)
        }
    };
    let ehsize = if is64 { 64 } else { 52 };
    if elf.len() < ehsize {
        return Err(Invalid::HeaderLen {
            len: elf.len(),
            need: ehsize,
        });
    }
    if &elf[..4] != b"\x7fELF" {
        return Err(Invalid::Magic);
    }
    let r = Reader {
        data: elf,
        big_endian,
    };
    let e_type = r.uint(16, 2) as u16;
    if e_type != ET_REL {
        return Err(Invalid::Type(e_type));
    }
    let machine = r.uint(18, 2) as u16;
    if let Some(t) = target {
        if machine != t.machine {
            return Err(Invalid::Machine {
                found: machine,
                want: t.machine,
            });
        }
    }
    let (shoff, shentsize, shnum, shstrndx) = if is64 {
        (r.uint(40, 8), r.uint(58, 2), r.uint(60, 2), r.uint(62, 2))
    } else {
        (r.uint(32, 4), r.uint(46, 2), r.uint(48, 2), r.uint(50, 2))
    };
    let (shentsize, shnum, shstrndx) = (shentsize as u16, shnum as u16, shstrndx as u16);
    let want = if is64 { 64 } else { 40 };
    if shentsize != want {
        return Err(Invalid::SectionHeaderSize {
            found: shentsize,
            want,
        });
    }
    let len = elf.len() as u64;
    if shoff >= len || u64::from(shnum) * u64::from(want) > len - shoff {
        return Err(Invalid::SectionHeaderOverflow {
            shoff,
            shnum,
            len: elf.len(),
        });
    }
    if shstrndx == 0 || shstrndx >= shnum {
        return Err(Invalid::NameTableIndex { shstrndx, shnum });
    }
    let sh = |i: u16| Shdr::read(&r, shoff + u64::from(i) * u64::from(want), is64);
    let in_bounds = |s: &Shdr| s.offset.checked_add(s.size).is_some_and(|end| end <= len);
    let strhdr = sh(shstrndx);
    if !in_bounds(&strhdr) {
        return Err(Invalid::NameTableBounds { kind: strhdr.kind });
    }
    if strhdr.size == 0 {
        return Err(Invalid::NameTableEmpty);
    }
    // In bounds, checked above.
    let names = &elf[strhdr.offset as usize..(strhdr.offset + strhdr.size) as usize];
    if names.last() != Some(&0) {
        return Err(Invalid::NameTableUnterminated);
    }
    let s0 = sh(0);
    if s0.kind != SHT_NULL || s0.size != 0 || s0.addr != 0 {
        return Err(Invalid::Section0(s0.kind));
    }
    let name_of = |s: &Shdr| -> &[u8] {
        let start = (s.name as usize).min(names.len());
        let rest = &names[start..];
        &rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())]
    };
    let (mut symtabs, mut modinfo, mut this_module) = (0usize, 0usize, 0usize);
    for i in 1..shnum {
        let s = sh(i);
        match s.kind {
            SHT_NULL | SHT_NOBITS => continue,
            SHT_SYMTAB => {
                if s.link == 0 || s.link >= u32::from(shnum) {
                    return Err(Invalid::SymtabLink {
                        index: i,
                        link: s.link,
                        shnum,
                    });
                }
                symtabs += 1;
            }
            _ => {}
        }
        if !in_bounds(&s) {
            return Err(Invalid::SectionBounds {
                index: i,
                kind: s.kind,
                len: elf.len(),
            });
        }
        match name_of(&s) {
            b".gnu.linkonce.this_module" if s.flags & SHF_ALLOC != 0 => this_module += 1,
            b".modinfo" => modinfo += 1,
            _ => {}
        }
        if s.flags & SHF_ALLOC != 0 && u64::from(s.name) >= strhdr.size {
            return Err(Invalid::SectionName {
                index: i,
                kind: s.kind,
            });
        }
    }
    if symtabs == 0 {
        return Err(Invalid::NoSymbols);
    }
    if this_module == 0 {
        return Err(Invalid::NoThisModule);
    }
    if modinfo == 0 {
        return Err(Invalid::NoModinfo);
    }
    Ok(())
}

#[derive(Clone, Copy)]
struct Shdr {
    name: u32,
    kind: u32,
    flags: u64,
    addr: u64,
    offset: u64,
    size: u64,
    link: u32,
}

impl Shdr {
    fn read(r: &Reader<'_>, at: u64, is64: bool) -> Shdr {
        if is64 {
            Shdr {
                name: r.uint(at, 4) as u32,
                kind: r.uint(at + 4, 4) as u32,
                flags: r.uint(at + 8, 8),
                addr: r.uint(at + 16, 8),
                offset: r.uint(at + 24, 8),
                size: r.uint(at + 32, 8),
                link: r.uint(at + 40, 4) as u32,
            }
        } else {
            Shdr {
                name: r.uint(at, 4) as u32,
                kind: r.uint(at + 4, 4) as u32,
                flags: r.uint(at + 8, 4),
                addr: r.uint(at + 12, 4),
                offset: r.uint(at + 16, 4),
                size: r.uint(at + 20, 4),
                link: r.uint(at + 24, 4) as u32,
            }
        }
    }
}
