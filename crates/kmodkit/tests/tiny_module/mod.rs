//! The smallest file the kernel's loader takes for a module (for tests that need a module
//! without the Debian corpus): ELF64 little-endian `ET_REL` for `machine`, with a null
//! section, an allocated `.modinfo` (the given `key=value` strings), an allocated
//! `.gnu.linkonce.this_module` holding `name` at offset 24 (`struct module`'s `name` on
//! 64-bit), a symbol table linked to its string table, and the section name table.

#![allow(dead_code)]

pub const EM_X86_64: u16 = 62;
pub const EM_AARCH64: u16 = 183;

pub fn tiny_module(name: &str, modinfo: &[&str], machine: u16) -> Vec<u8> {
    let mut info = Vec::new();
    for kv in modinfo {
        info.extend_from_slice(kv.as_bytes());
        info.push(0);
    }
    let mut this_module = vec![0u8; 1024];
    this_module[24..24 + name.len()].copy_from_slice(name.as_bytes());
    let symtab = vec![0u8; 24]; // the null symbol
    let strtab = vec![0u8];
    let names = [
        "",
        ".modinfo",
        ".gnu.linkonce.this_module",
        ".symtab",
        ".strtab",
        ".shstrtab",
    ];
    let mut shstrtab = Vec::new();
    let mut name_off = Vec::new();
    for n in names {
        name_off.push(shstrtab.len() as u32);
        shstrtab.extend_from_slice(n.as_bytes());
        shstrtab.push(0);
    }
    // (type, flags, data, link, entsize)
    let sections: [(u32, u64, &[u8], u32, u64); 5] = [
        (1, 2, &info, 0, 0), // allocated, as modpost's: the kernel looks only there
        (1, 2 | 1, &this_module, 0, 0),
        (2, 0, &symtab, 4, 24),
        (3, 0, &strtab, 0, 0),
        (3, 0, &shstrtab, 0, 0),
    ];
    let mut out = vec![0u8; 64];
    let mut placed = Vec::new();
    for (_, _, data, _, _) in &sections {
        while out.len() & 7 != 0 {
            out.push(0);
        }
        placed.push(out.len() as u64);
        out.extend_from_slice(data);
    }
    while out.len() & 7 != 0 {
        out.push(0);
    }
    let shoff = out.len() as u64;
    out.extend_from_slice(&[0u8; 64]); // section 0
    for (i, (kind, flags, data, link, entsize)) in sections.iter().enumerate() {
        let mut sh = Vec::with_capacity(64);
        sh.extend_from_slice(&name_off[i + 1].to_le_bytes());
        sh.extend_from_slice(&kind.to_le_bytes());
        sh.extend_from_slice(&flags.to_le_bytes());
        sh.extend_from_slice(&0u64.to_le_bytes()); // addr
        sh.extend_from_slice(&placed[i].to_le_bytes());
        sh.extend_from_slice(&(data.len() as u64).to_le_bytes());
        sh.extend_from_slice(&link.to_le_bytes());
        sh.extend_from_slice(&(if *kind == 2 { 1u32 } else { 0 }).to_le_bytes()); // info
        sh.extend_from_slice(&8u64.to_le_bytes()); // align
        sh.extend_from_slice(&entsize.to_le_bytes());
        out.extend_from_slice(&sh);
    }
    let h = &mut out[..64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2; // 64-bit
    h[5] = 1; // little-endian
    h[6] = 1; // version
    h[16..18].copy_from_slice(&1u16.to_le_bytes()); // ET_REL
    h[18..20].copy_from_slice(&machine.to_le_bytes());
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h[40..48].copy_from_slice(&shoff.to_le_bytes());
    h[52..54].copy_from_slice(&64u16.to_le_bytes()); // ehsize
    h[58..60].copy_from_slice(&64u16.to_le_bytes()); // shentsize
    h[60..62].copy_from_slice(&6u16.to_le_bytes()); // shnum
    h[62..64].copy_from_slice(&5u16.to_le_bytes()); // shstrndx
    out
}
