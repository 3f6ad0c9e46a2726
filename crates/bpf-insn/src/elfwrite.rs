//! Write assembled sections as a relocatable ELF object (`ET_REL`, `EM_BPF`), the shape
//! `llvm-mc -triple bpf -filetype=obj` gives: one `SHF_ALLOC|SHF_EXECINSTR` section per
//! assembler section, labels as local symbols, `.strtab` and `.symtab`.

use crate::asm::Section;
use crate::insn::{encode_all, Endian};

fn put16(v: &mut Vec<u8>, x: u16, big: bool) {
    v.extend_from_slice(&if big {
        x.to_be_bytes()
    } else {
        x.to_le_bytes()
    });
}
fn put32(v: &mut Vec<u8>, x: u32, big: bool) {
    v.extend_from_slice(&if big {
        x.to_be_bytes()
    } else {
        x.to_le_bytes()
    });
}
fn put64(v: &mut Vec<u8>, x: u64, big: bool) {
    v.extend_from_slice(&if big {
        x.to_be_bytes()
    } else {
        x.to_le_bytes()
    });
}

/// The bytes of an ELF object holding `sections`.
pub fn write_object(sections: &[Section], endian: Endian) -> Vec<u8> {
    let big = endian == Endian::Big;
    let secs: Vec<&Section> = sections
        .iter()
        .filter(|s| !s.insns.is_empty() || !s.labels.is_empty())
        .collect();
    // String table (section and symbol names).
    let mut strtab = vec![0u8];
    let add_str = |s: &str, t: &mut Vec<u8>| -> u32 {
        let off = t.len() as u32;
        t.extend_from_slice(s.as_bytes());
        t.push(0);
        off
    };
    let strtab_name = add_str(".strtab", &mut strtab);
    let symtab_name = add_str(".symtab", &mut strtab);
    let sec_names: Vec<u32> = secs.iter().map(|s| add_str(&s.name, &mut strtab)).collect();
    // Symbols: null, one STT_SECTION per section, then labels (local, NOTYPE).
    let mut symtab = vec![0u8; 24];
    let sym = |st: &mut Vec<u8>, name: u32, info: u8, shndx: u16, value: u64| {
        put32(st, name, big);
        st.push(info);
        st.push(0);
        put16(st, shndx, big);
        put64(st, value, big);
        put64(st, 0, big);
    };
    for (i, _) in secs.iter().enumerate() {
        sym(&mut symtab, 0, 3, (i + 1) as u16, 0); // STB_LOCAL, STT_SECTION
    }
    for (i, s) in secs.iter().enumerate() {
        for (l, at) in &s.labels {
            let n = add_str(l, &mut strtab);
            sym(&mut symtab, n, 0, (i + 1) as u16, (*at as u64) * 8);
        }
    }
    let nsyms = symtab.len() / 24;
    // Layout: header, section contents, strtab, symtab, section headers.
    let mut out = Vec::new();
    let mut body = Vec::new();
    let mut offsets = Vec::new();
    let mut off = 64usize;
    for s in &secs {
        let b = encode_all(&s.insns, endian);
        offsets.push((off, b.len()));
        off += b.len();
        body.extend(b);
    }
    let strtab_off = off;
    off += strtab.len();
    let pad = (8 - off % 8) % 8;
    off += pad;
    let symtab_off = off;
    off += symtab.len();
    let shoff = off;
    let shnum = secs.len() + 3;
    // ELF header.
    out.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, if big { 2 } else { 1 }, 1, 0]);
    out.extend_from_slice(&[0; 8]);
    put16(&mut out, 1, big); // ET_REL
    put16(&mut out, 247, big); // EM_BPF
    put32(&mut out, 1, big);
    put64(&mut out, 0, big);
    put64(&mut out, 0, big);
    put64(&mut out, shoff as u64, big);
    put32(&mut out, 0, big);
    put16(&mut out, 64, big);
    put16(&mut out, 0, big);
    put16(&mut out, 0, big);
    put16(&mut out, 64, big);
    put16(&mut out, shnum as u16, big);
    put16(&mut out, (shnum - 2) as u16, big); // .strtab index
    out.extend(body);
    out.extend_from_slice(&strtab);
    out.extend(std::iter::repeat_n(0u8, pad));
    out.extend_from_slice(&symtab);
    #[allow(clippy::too_many_arguments)]
    fn sh(
        o: &mut Vec<u8>,
        big: bool,
        name: u32,
        typ: u32,
        flags: u64,
        off: u64,
        size: u64,
        link: u32,
        info: u32,
        align: u64,
        entsize: u64,
    ) {
        put32(o, name, big);
        put32(o, typ, big);
        put64(o, flags, big);
        put64(o, 0, big);
        put64(o, off, big);
        put64(o, size, big);
        put32(o, link, big);
        put32(o, info, big);
        put64(o, align, big);
        put64(o, entsize, big);
    }
    sh(&mut out, big, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    for (i, _) in secs.iter().enumerate() {
        let (o, n) = offsets[i];
        sh(
            &mut out,
            big,
            sec_names[i],
            1,
            6,
            o as u64,
            n as u64,
            0,
            0,
            8,
            0,
        );
    }
    sh(
        &mut out,
        big,
        strtab_name,
        3,
        0,
        strtab_off as u64,
        strtab.len() as u64,
        0,
        0,
        1,
        0,
    );
    // sh_info of .symtab: index of the first non-local symbol (all are local).
    sh(
        &mut out,
        big,
        symtab_name,
        2,
        0,
        symtab_off as u64,
        symtab.len() as u64,
        (shnum - 2) as u32,
        nsyms as u32,
        8,
        24,
    );
    out
}
