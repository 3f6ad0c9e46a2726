//! Unit tests on synthetic modules: every class and byte order, and every malformed-input
//! path (each must give a precise error, never a panic).

use modfile::{Bind, Error, Module};

/// A minimal ELF relocatable writer for tests: header, section data, section headers
/// (index 0 null, then the given sections, then .shstrtab).
struct ElfBuilder {
    is64: bool,
    be: bool,
    sections: Vec<(String, u32, Vec<u8>)>,
}

impl ElfBuilder {
    fn new(is64: bool, be: bool) -> Self {
        ElfBuilder {
            is64,
            be,
            sections: Vec::new(),
        }
    }

    fn section(mut self, name: &str, kind: u32, data: Vec<u8>) -> Self {
        self.sections.push((name.to_string(), kind, data));
        self
    }

    fn uint(&self, out: &mut Vec<u8>, v: u64, size: usize) {
        let b = v.to_le_bytes();
        let mut bytes = b[..size].to_vec();
        if self.be {
            bytes.reverse();
        }
        out.extend_from_slice(&bytes);
    }

    fn word(&self, v: u64) -> Vec<u8> {
        let mut o = Vec::new();
        self.uint(&mut o, v, if self.is64 { 8 } else { 4 });
        o
    }

    fn build(&self) -> Vec<u8> {
        let ehsize = if self.is64 { 64 } else { 52 };
        let shentsize = if self.is64 { 64 } else { 40 };
        let mut names = vec![0u8];
        let mut name_offs = Vec::new();
        for (n, _, _) in &self.sections {
            name_offs.push(names.len() as u64);
            names.extend_from_slice(n.as_bytes());
            names.push(0);
        }
        let shstr_name = names.len() as u64;
        names.extend_from_slice(b".shstrtab\0");
        let mut body = vec![0u8; ehsize];
        let mut offs = Vec::new();
        for (_, _, d) in &self.sections {
            offs.push(body.len() as u64);
            body.extend_from_slice(d);
        }
        let shstr_off = body.len() as u64;
        body.extend_from_slice(&names);
        while body.len() % 8 != 0 {
            body.push(0);
        }
        let shoff = body.len() as u64;
        let shnum = self.sections.len() as u64 + 2;
        // Header.
        let mut h = Vec::new();
        h.extend_from_slice(b"\x7fELF");
        h.push(if self.is64 { 2 } else { 1 });
        h.push(if self.be { 2 } else { 1 });
        h.push(1);
        h.resize(16, 0);
        self.uint(&mut h, 1, 2); // e_type REL
        self.uint(&mut h, if self.be { 22 } else { 62 }, 2); // e_machine
        self.uint(&mut h, 1, 4); // e_version
        h.extend(self.word(0)); // e_entry
        h.extend(self.word(0)); // e_phoff
        h.extend(self.word(shoff)); // e_shoff
        self.uint(&mut h, 0, 4); // e_flags
        self.uint(&mut h, ehsize as u64, 2);
        self.uint(&mut h, 0, 2); // phentsize
        self.uint(&mut h, 0, 2); // phnum
        self.uint(&mut h, shentsize as u64, 2);
        self.uint(&mut h, shnum, 2);
        self.uint(&mut h, shnum - 1, 2); // shstrndx
        assert_eq!(h.len(), ehsize);
        body[..ehsize].copy_from_slice(&h);
        // Section headers.
        body.extend(vec![0u8; shentsize]);
        let mut all: Vec<(u64, u32, u64, u64)> = self
            .sections
            .iter()
            .enumerate()
            .map(|(i, (_, k, d))| (name_offs[i], *k, offs[i], d.len() as u64))
            .collect();
        all.push((shstr_name, 3, shstr_off, names.len() as u64));
        for (name, kind, off, size) in all {
            let mut s = Vec::new();
            self.uint(&mut s, name, 4);
            self.uint(&mut s, kind as u64, 4);
            s.extend(self.word(0)); // flags
            s.extend(self.word(0)); // addr
            s.extend(self.word(off));
            s.extend(self.word(size));
            self.uint(&mut s, 0, 4); // link
            self.uint(&mut s, 0, 4); // info
            s.extend(self.word(1)); // addralign
            s.extend(self.word(0)); // entsize
            assert_eq!(s.len(), shentsize);
            body.extend(s);
        }
        body
    }

    /// A `struct modversion_info` array.
    fn versions(&self, entries: &[(u64, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (crc, name) in entries {
            let start = out.len();
            out.extend(self.word(*crc));
            out.extend_from_slice(name.as_bytes());
            out.resize(start + 64, 0);
        }
        out
    }

    /// `.symtab` + `.strtab` contents for (name, shndx, bind).
    fn symtab(&self, syms: &[(&str, u16, u8)]) -> (Vec<u8>, Vec<u8>) {
        let mut strtab = vec![0u8];
        let mut tab = vec![0u8; if self.is64 { 24 } else { 16 }];
        for (name, shndx, bind) in syms {
            let off = strtab.len() as u64;
            strtab.extend_from_slice(name.as_bytes());
            strtab.push(0);
            let info = bind << 4;
            if self.is64 {
                self.uint(&mut tab, off, 4);
                tab.push(info);
                tab.push(0);
                self.uint(&mut tab, *shndx as u64, 2);
                self.uint(&mut tab, 0, 8);
                self.uint(&mut tab, 0, 8);
            } else {
                self.uint(&mut tab, off, 4);
                self.uint(&mut tab, 0, 4);
                self.uint(&mut tab, 0, 4);
                tab.push(info);
                tab.push(0);
                self.uint(&mut tab, *shndx as u64, 2);
            }
        }
        (tab, strtab)
    }

    fn this_module(&self, name: &str) -> Vec<u8> {
        let off = if self.is64 { 24 } else { 12 };
        let mut v = vec![0u8; off];
        v.extend_from_slice(name.as_bytes());
        v.resize(off + 64, 0);
        v
    }
}

fn sample(is64: bool, be: bool) -> Vec<u8> {
    let b = ElfBuilder::new(is64, be);
    let versions = b.versions(&[(0x1234_5678, "module_layout"), (0xdead_beef, "printk")]);
    let (symtab, strtab) = b.symtab(&[
        ("printk", 0, 1),
        ("weak_thing", 0, 2),
        ("init_module", 1, 1),
    ]);
    let tm = b.this_module("demo");
    b.section(
        ".modinfo",
        1,
        b"\0\0license=GPL\0\0author=Me\0depends=\0name=demo\0vermagic=6.1.0 SMP\0".to_vec(),
    )
    .section("__versions", 1, versions)
    .section(".symtab", 2, symtab)
    .section(".strtab", 3, strtab)
    .section(".gnu.linkonce.this_module", 1, tm)
    .build()
}

#[test]
fn every_class_and_byte_order() {
    for (is64, be) in [(true, false), (true, true), (false, false), (false, true)] {
        let data = sample(is64, be);
        let m = Module::parse(&data).unwrap();
        assert_eq!(m.elf().is_64(), is64);
        assert_eq!(m.elf().is_big_endian(), be);
        let info: Vec<(String, String)> = m
            .modinfo()
            .iter()
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into(),
                    String::from_utf8_lossy(v).into(),
                )
            })
            .collect();
        assert_eq!(
            info,
            [
                ("license", "GPL"),
                ("author", "Me"),
                ("depends", ""),
                ("name", "demo"),
                ("vermagic", "6.1.0 SMP")
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert_eq!(m.name().as_deref(), Some("demo"));
        let v = m.versions().unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!((v[1].name.as_str(), v[1].crc), ("printk", 0xdead_beef));
        let deps = m.dependency_symbols().unwrap();
        let got: Vec<(&str, u64, Bind)> = deps
            .iter()
            .map(|s| (s.name.as_str(), s.crc, s.bind))
            .collect();
        assert_eq!(
            got,
            [
                ("printk", 0xdead_beef, Bind::Undef),
                ("weak_thing", 0, Bind::Weak),
                ("module_layout", 0x1234_5678, Bind::Undef)
            ]
        );
        assert!(m.signature().unwrap().is_none());
    }
}

#[test]
fn signature_trailer() {
    let mut data = sample(true, false);
    let body = data.len();
    data.extend_from_slice(&[0xAA; 10]); // "PKCS#7" bytes (not parseable)
    data.extend_from_slice(&[0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 10]);
    data.extend_from_slice(modfile::SIG_MAGIC);
    let m = Module::parse(&data).unwrap();
    let s = m.signature().unwrap().unwrap();
    assert_eq!(s.content_len, body);
    assert_eq!(s.sig, &[0xAA; 10]);
    assert_eq!(
        s.info(),
        None,
        "unparseable PKCS#7: kmod prints no signature fields"
    );

    // Lengths that overflow the file.
    let mut bad = sample(true, false);
    bad.extend_from_slice(&[0, 0, 2, 200, 200, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    bad.extend_from_slice(modfile::SIG_MAGIC);
    let m = Module::parse(&bad).unwrap();
    match m.signature() {
        Err(Error::Malformed {
            what: "struct module_signature",
            ..
        }) => {}
        other => panic!("expected a malformed-signature error, got {other:?}"),
    }
    // Magic with nothing before it.
    assert!(modfile::ModuleSignature::find(modfile::SIG_MAGIC).is_err());
}

#[test]
fn truncated_everywhere_never_panics() {
    let data = sample(true, true);
    for len in 0..data.len() {
        let _ = Module::parse(&data[..len]).map(|m| {
            let _ = (
                m.modinfo().len(),
                m.versions(),
                m.dependency_symbols(),
                m.exported_symbols(),
                m.name(),
            );
        });
    }
}

#[test]
fn malformed_headers_have_precise_errors() {
    assert_eq!(
        Module::parse(b"hello world, not elf at all").err(),
        Some(Error::NotElf)
    );
    let good = sample(true, false);

    let mut bad_class = good.clone();
    bad_class[4] = 7;
    assert!(matches!(
        Module::parse(&bad_class),
        Err(Error::Malformed { offset: 4, .. })
    ));

    let mut bad_data = good.clone();
    bad_data[5] = 0;
    assert!(matches!(
        Module::parse(&bad_data),
        Err(Error::Malformed { offset: 5, .. })
    ));

    // e_shoff pointing past the end.
    let mut bad_shoff = good.clone();
    bad_shoff[40..48].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let e = Module::parse(&bad_shoff).err().unwrap();
    assert!(
        matches!(
            e,
            Error::Truncated {
                what: "section header table",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("offset 1099511627776"), "{e}");

    // Wrong section header size.
    let mut bad_entsize = good.clone();
    bad_entsize[58] = 63;
    assert!(matches!(
        Module::parse(&bad_entsize),
        Err(Error::Malformed { offset: 58, .. })
    ));

    // shstrndx out of range.
    let mut bad_strndx = good.clone();
    bad_strndx[62] = 0xff;
    assert!(matches!(
        Module::parse(&bad_strndx),
        Err(Error::Malformed {
            what: "section name table",
            ..
        })
    ));
}

#[test]
fn section_out_of_bounds_is_skipped_like_kmod() {
    let mut data = sample(true, false);
    // Corrupt .modinfo's sh_size (section 1) so it runs past the end: it is skipped.
    let shoff = u64::from_le_bytes(data[40..48].try_into().unwrap()) as usize;
    let sh1 = shoff + 64;
    data[sh1 + 32..sh1 + 40].copy_from_slice(&u64::MAX.to_le_bytes());
    let m = Module::parse(&data).unwrap();
    assert!(m.modinfo().is_empty());
    assert!(m.elf().section_by_name(".modinfo").is_none());
}

#[test]
fn bad_versions_size() {
    let b = ElfBuilder::new(true, false);
    let data = b.section("__versions", 1, vec![0u8; 65]).build();
    let m = Module::parse(&data).unwrap();
    assert!(matches!(
        m.versions(),
        Err(Error::Malformed {
            what: "__versions section",
            ..
        })
    ));
}

#[test]
fn compressed_garbage_is_an_error() {
    let mut xz = vec![0xfd, b'7', b'z', b'X', b'Z', 0];
    xz.extend_from_slice(&[1, 2, 3, 4, 5]);
    assert!(matches!(Module::parse(&xz), Err(Error::Decompress { .. })));
    let zst = [0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0];
    assert!(matches!(Module::parse(&zst), Err(Error::Decompress { .. })));
    let gz = [0x1f, 0x8b, 8, 0, 0];
    assert!(matches!(Module::parse(&gz), Err(Error::Decompress { .. })));
}

#[test]
fn modinfo_split_rules() {
    // A lone byte after padding holds nothing (libkmod); a string without '=' is key and value.
    assert!(modfile::ModInfo::parse(b"\0\0x").is_empty());
    let i = modfile::ModInfo::parse(b"flag\0a=b=c");
    let v: Vec<_> = i.iter().collect();
    assert_eq!(v, [(&b"flag"[..], &b"flag"[..]), (&b"a"[..], &b"b=c"[..])]);
}
