//! Every defined instruction: encode/decode in both byte orders, disassemble, assemble back.
//! Where LLVM 14's BPF backend knows the instruction, `llvm-mc` assembles our text to the
//! same bytes and `llvm-objdump -d` prints the same text (skipped when LLVM is absent).

use bpf_insn::insn::{is_valid, Insn};
use bpf_insn::{assemble, decode_all, encode_all, format_insn, Endian};

/// A sample of every defined instruction: all opcodes crossed with field values that
/// exercise each encoding rule (sign extension widths, byte-swap sizes, atomics, pseudo
/// sources). Invalid combinations are filtered by the decoder's validity check.
fn all_valid() -> Vec<Vec<Insn>> {
    let regs = [0u8, 1, 5, 10];
    let offs = [0i16, 1, 8, 16, 32, -8, 0x7fff, -0x8000];
    let imms = [
        0i32,
        1,
        -1,
        16,
        32,
        64,
        0x40,
        0x41,
        0x50,
        0x51,
        0xa0,
        0xa1,
        0xe1,
        0xf1,
        2,
        0x7fffffff,
        i32::MIN,
    ];
    let mut out = Vec::new();
    for code in 0..=255u8 {
        for &dst in &regs {
            for &src in &[0u8, 1, 2, 3, 4, 5, 6, 10] {
                for &off in &offs {
                    for &imm in &imms {
                        let i = Insn::new(code, dst, src, off, imm);
                        let prog = if i.is_lddw() {
                            vec![i, Insn::new(0, 0, 0, 0, -7)]
                        } else {
                            vec![i]
                        };
                        if is_valid(&prog, 0) {
                            // The legacy `callx` form with the register in imm prints the
                            // same text as the current one; only the current one round-trips.
                            if i.code == 0x8d && i.imm != 0 {
                                continue;
                            }
                            out.push(prog);
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
fn every_defined_opcode_round_trips() {
    let all = all_valid();
    let mut codes: Vec<u8> = all.iter().map(|p| p[0].code).collect();
    codes.sort();
    codes.dedup();
    // RFC 9669 + legacy packet loads: count the distinct opcodes we cover.
    assert!(codes.len() >= 120, "only {} opcodes", codes.len());
    for prog in &all {
        for e in [Endian::Little, Endian::Big] {
            assert_eq!(&decode_all(&encode_all(prog, e), e).unwrap(), prog);
        }
        let (text, n) = format_insn(prog, 0);
        assert_eq!(n, prog.len(), "{text}");
        assert_ne!(text, "<unknown>", "{prog:?}");
        let back = assemble(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(&back, prog, "{text}");
    }
}

#[test]
fn endian_layout() {
    let i = Insn::new(0x61, 1, 2, -4, 0x01020304);
    assert_eq!(
        i.encode(Endian::Little),
        [0x61, 0x21, 0xfc, 0xff, 4, 3, 2, 1]
    );
    assert_eq!(i.encode(Endian::Big), [0x61, 0x12, 0xff, 0xfc, 1, 2, 3, 4]);
    assert!(decode_all(&[0u8; 9], Endian::Little).is_err());
}

#[test]
fn labels_and_errors() {
    let p = assemble(
        "start:\n  r0 = 0\nloop: r0 += 1 # count\n  if r0 < 10 goto loop\n  call f\n  goto end\nf: r0 = 1 ll\n exit\nend:\n exit\n",
    )
    .unwrap();
    assert_eq!(p[2].off, -2);
    assert_eq!((p[3].src, p[3].imm), (1, 1));
    assert_eq!(p[4].off, 3);
    let e = assemble("r0 = 1\nif r0 > 1 goto nowhere\n").unwrap_err();
    assert_eq!(e.to_string(), "2:16: undefined label `nowhere`");
    let e = assemble("r11 = 1").unwrap_err();
    assert_eq!((e.line, e.col), (1, 1));
    let e = assemble("w1 = r2").unwrap_err();
    assert!(e.msg.contains("rN or both wN"), "{e}");
    let e = assemble("r1 = 0x1ffffffff").unwrap_err();
    assert!(e.msg.contains("use `"), "{e}");
}

fn tool(name: &str) -> bool {
    std::process::Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn llvm14_knows(i: &Insn) -> bool {
    let prog = if i.is_lddw() {
        vec![*i, Insn::new(0, 0, 0, 0, 0)]
    } else {
        vec![*i]
    };
    bpf_insn::disasm::llvm14_known(&prog, 0)
        && !(i.is_lddw() && i.src != 0)
        && !(i.is_call() && i.src != 0)
        && !(i.class() == 0 && i.mode() == 0x40 && i.imm != 0)
}

fn llvm_mc(dir: &std::path::Path, src: &str) -> std::path::PathBuf {
    let s = dir.join("t.s");
    let o = dir.join("t.o");
    std::fs::write(&s, src).unwrap();
    let out = std::process::Command::new("llvm-mc")
        .args(["-triple", "bpfel", "-filetype=obj", "-o"])
        .arg(&o)
        .arg(&s)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    o
}

fn objdump_texts(o: &std::path::Path) -> Vec<String> {
    let dump = std::process::Command::new("llvm-objdump")
        .arg("-d")
        .arg(o)
        .output()
        .unwrap();
    String::from_utf8_lossy(&dump.stdout)
        .lines()
        .filter_map(|l| l.split('\t').nth(2))
        // llvm-objdump adds `<.text+0x..>` after jump targets.
        .map(|t| match t.rfind(" <") {
            Some(p) if t.ends_with('>') && t.contains("goto") => t[..p].to_string(),
            _ => t.to_string(),
        })
        .collect()
}

/// LLVM 14 as the oracle for the instructions it knows: our bytes disassemble to our text.
#[test]
fn llvm_objdump_prints_our_text() {
    if !tool("llvm-mc") || !tool("llvm-objdump") {
        eprintln!("SKIPPED: llvm-mc/llvm-objdump not installed (Debian package `llvm`)");
        return;
    }
    let mut src = String::new();
    let mut ours = Vec::new();
    for prog in all_valid() {
        if !llvm14_knows(&prog[0]) {
            continue;
        }
        for b in encode_all(&prog, Endian::Little) {
            src.push_str(&format!(".byte {b}\n"));
        }
        ours.push(bpf_insn::disasm::format_insn_llvm14(&prog, 0).0);
    }
    let dir = tempfile::tempdir().unwrap();
    let texts = objdump_texts(&llvm_mc(dir.path(), &src));
    assert_eq!(texts.len(), ours.len());
    let bad: Vec<String> = texts
        .iter()
        .zip(&ours)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("llvm: {a:?} ours: {b:?}"))
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {} differ:\n{}",
        bad.len(),
        ours.len(),
        bad.join("\n")
    );
}

/// ... and llvm-mc assembles our text to our bytes (its parser lacks the fetch atomics).
#[test]
fn llvm_mc_assembles_our_text_to_our_bytes() {
    if !tool("llvm-mc") {
        eprintln!("SKIPPED: llvm-mc not installed (Debian package `llvm`)");
        return;
    }
    let mut src = String::new();
    let mut expect = Vec::new();
    for prog in all_valid() {
        let i = prog[0];
        if !llvm14_knows(&i)
            || i.code == 0x8d
            || i.class() == 3 && i.mode() == 0xc0 && i.imm & 1 != 0
        {
            continue;
        }
        src.push_str(&format_insn(&prog, 0).0);
        src.push('\n');
        expect.extend(prog);
    }
    let dir = tempfile::tempdir().unwrap();
    let o = llvm_mc(dir.path(), &src);
    let bytes = std::fs::read(&o).unwrap();
    let enc = encode_all(&expect, Endian::Little);
    let pos = bytes.windows(enc.len()).position(|w| w == enc.as_slice());
    assert!(
        pos.is_some(),
        "llvm-mc encodes {} instructions differently",
        expect.len()
    );
}
