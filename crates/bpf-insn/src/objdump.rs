//! `llvm-objdump -d` of a BPF ELF object, byte for byte as LLVM 14 prints it: executable
//! sections in order, one block per symbol (the last of several at one address; a dummy
//! named after the section when no symbol starts it), `%8d:` instruction indexes, raw bytes,
//! the instruction text, `<sym+0xoff>` after jump targets, `...` for runs of zero bytes.

use object::elf;
use object::read::elf::{ElfFile64, SectionHeader};
use object::{Endianness, Object as _, ObjectSection, ObjectSymbol};

use crate::disasm::{format_insn_llvm14, llvm14_known};
use crate::insn::{class, jmp, Endian, Insn};
use crate::Error;

struct SymInfo {
    addr: u64,
    name: String,
    typ: u8,
}

/// Disassemble `data` (an ELF object) as `llvm-objdump -d FILE` prints it; `file` is the
/// name printed in the header line.
pub fn objdump(data: &[u8], file: &str) -> Result<String, Error> {
    let obj = ElfFile64::<Endianness>::parse(data)
        .map_err(|e| Error::Format(format!("not a 64-bit ELF object: {e}")))?;
    let en = obj.endian();
    let endian = if obj.is_little_endian() {
        Endian::Little
    } else {
        Endian::Big
    };
    let fmt = if obj.is_little_endian() {
        "elf64-bpf"
    } else {
        "elf64-bpfeb"
    };
    let mut out = format!("\n{file}:\tfile format {fmt}\n");
    let mut all: Vec<Vec<SymInfo>> = Vec::new();
    let nsec = obj.sections().map(|s| s.index().0).max().unwrap_or(0) + 1;
    all.resize_with(nsec, Vec::new);
    for sym in obj.symbols() {
        let name = sym.name().unwrap_or("");
        if name.is_empty() {
            continue;
        }
        let es = sym.elf_symbol();
        if es.st_type() == elf::STT_SECTION {
            continue;
        }
        if let Some(si) = sym.section_index() {
            if let Some(v) = all.get_mut(si.0) {
                v.push(SymInfo {
                    addr: sym.address(),
                    name: name.to_string(),
                    typ: es.st_type(),
                });
            }
        }
    }
    for v in &mut all {
        // SymbolInfoTy's order: address, then name, then type (stable).
        v.sort_by(|a, b| (a.addr, &a.name, a.typ).cmp(&(b.addr, &b.name, b.typ)));
    }
    for s in obj.sections() {
        let sh = s.elf_section_header();
        let flags = sh.sh_flags(en);
        if flags & u64::from(elf::SHF_EXECINSTR) == 0 || sh.sh_type(en) == elf::SHT_NOBITS {
            continue;
        }
        let size = sh.sh_size(en);
        if size == 0 {
            continue;
        }
        let name = s.name().unwrap_or("").to_string();
        let bytes = s
            .data()
            .map_err(|e| Error::Format(format!("section `{name}`: {e}")))?;
        let mut syms: Vec<SymInfo> = std::mem::take(&mut all[s.index().0]);
        if syms.first().is_none_or(|f| f.addr != 0) {
            syms.insert(
                0,
                SymInfo {
                    addr: 0,
                    name: name.clone(),
                    typ: elf::STT_FUNC,
                },
            );
        }
        let mut printed = false;
        for si in 0..syms.len() {
            let start = syms[si].addr;
            let mut end = size;
            if si + 1 < syms.len() {
                end = end.min(syms[si + 1].addr);
            }
            if start >= end {
                continue;
            }
            if !printed {
                printed = true;
                out.push_str(&format!("\nDisassembly of section {name}:\n"));
            }
            out.push_str(&format!("\n{:016x} <{}>:\n", start, syms[si].name));
            let mut idx = start as usize;
            let end = end as usize;
            if syms[si].typ == elf::STT_OBJECT || syms[si].typ == elf::STT_COMMON {
                // llvm-objdump dumps data symbols in text sections as data; BPF objects
                // do not have them. Mirror the layout loosely.
                idx = end;
            }
            while idx < end {
                let rest = &bytes[idx..end];
                let zeros = rest.iter().take_while(|&&b| b == 0).count();
                if zeros >= 8 {
                    out.push_str("\t\t...\n");
                    idx += zeros & !3;
                    continue;
                }
                let avail = &bytes[idx..];
                let (text, n) = if avail.len() < 8 {
                    ("<unknown>".to_string(), 1)
                } else {
                    let first = Insn::decode(avail[..8].try_into().unwrap_or([0; 8]), endian);
                    if first.is_lddw() {
                        if avail.len() < 16 {
                            ("<unknown>".to_string(), 1)
                        } else {
                            let second =
                                Insn::decode(avail[8..16].try_into().unwrap_or([0; 8]), endian);
                            let (t, k) = format_insn_llvm14(&[first, second], 0);
                            (t, k * 8)
                        }
                    } else {
                        let prog = [first];
                        let (mut t, k) = format_insn_llvm14(&prog, 0);
                        if llvm14_known(&prog, 0)
                            && first.is_jump()
                            && first.code & 0xf7 != class::JMP | jmp::CALL
                        {
                            let target = (idx as u64)
                                .wrapping_add(8)
                                .wrapping_add((first.off as i64 * 8) as u64);
                            // Last symbol at or before the target (with the dummy, always one).
                            if let Some(ts) = syms.iter().rev().find(|s| s.addr <= target) {
                                let disp = target.wrapping_sub(ts.addr);
                                if disp == 0 {
                                    t.push_str(&format!(" <{}>", ts.name));
                                } else {
                                    t.push_str(&format!(" <{}+0x{:x}>", ts.name, disp));
                                }
                            }
                        }
                        (t, k * 8)
                    }
                };
                let shown = &bytes[idx..(idx + n).min(bytes.len())];
                let hex: Vec<String> = shown.iter().map(|b| format!("{b:02x}")).collect();
                out.push_str(&format!("{:>8}:\t{}\t{}\n", idx / 8, hex.join(" "), text));
                idx += n;
            }
        }
    }
    Ok(out)
}
