//! `modfile::validate`: the kernel loader's checks, each with its reason and the kernel's
//! line; compression round trips.

#[path = "../../kmodkit/tests/tiny_module/mod.rs"]
mod tiny_module;

use modfile::{validate, Compression, Invalid, Target};
use tiny_module::{tiny_module, EM_AARCH64, EM_X86_64};

fn good() -> Vec<u8> {
    tiny_module("m", &["license=GPL", "name=m"], EM_X86_64)
}

fn shoff(b: &[u8]) -> usize {
    u64::from_le_bytes(b[40..48].try_into().unwrap()) as usize
}

#[test]
fn a_module_is_valid_for_its_machine_and_any() {
    let m = good();
    assert_eq!(validate(&m, Some(Target::X86_64)), Ok(()));
    assert_eq!(validate(&m, None), Ok(()));
    let arm = tiny_module("m", &["name=m"], EM_AARCH64);
    assert_eq!(validate(&arm, None), Ok(()));
    let e = validate(&arm, Some(Target::X86_64)).unwrap_err();
    assert_eq!(
        e,
        Invalid::Machine {
            found: 183,
            want: 62
        }
    );
    assert_eq!(
        e.kernel_message(None).unwrap(),
        "Invalid architecture in ELF header: 183"
    );
    assert!(e.to_string().contains("AArch64"), "{e}");
}

#[test]
fn every_truncation_is_refused_never_a_panic() {
    let m = good();
    for len in 0..m.len() {
        for target in [None, Some(Target::X86_64)] {
            let e = validate(&m[..len], target).expect_err("truncated");
            // The kernel has a line for every refusal of a cut file.
            assert!(e.kernel_message(Some("m")).is_some(), "{len}: {e:?}");
        }
    }
    assert_eq!(
        validate(&m[..40], Some(Target::X86_64))
            .unwrap_err()
            .kernel_message(None)
            .unwrap(),
        "Invalid ELF header len 40"
    );
    assert_eq!(
        validate(&m[..474], None)
            .unwrap_err()
            .kernel_message(None)
            .unwrap(),
        "Invalid ELF section header overflow"
    );
}

#[test]
fn header_faults_have_the_kernels_messages() {
    let mut exec = good();
    exec[16] = 2;
    let e = validate(&exec, Some(Target::X86_64)).unwrap_err();
    assert_eq!(e, Invalid::Type(2));
    assert_eq!(
        e.kernel_message(None).unwrap(),
        "Invalid ELF header type: 2 != 1"
    );
    assert!(e.to_string().contains("an executable"));

    // A big-endian kernel reads the little-endian type 1 as 256.
    let be = Target {
        machine: 62,
        is64: true,
        big_endian: true,
    };
    assert_eq!(validate(&good(), Some(be)), Err(Invalid::Type(256)));

    let mut magic = good();
    magic[0] = 0;
    assert_eq!(
        validate(&magic, Some(Target::X86_64))
            .unwrap_err()
            .kernel_message(None)
            .unwrap(),
        r"Invalid ELF header magic: != \x7fELF"
    );
    let mut class = good();
    class[4] = 9;
    assert_eq!(validate(&class, None), Err(Invalid::Class(9)));

    let mut entsize = good();
    entsize[58] = 63;
    assert_eq!(
        validate(&entsize, None)
            .unwrap_err()
            .kernel_message(None)
            .unwrap(),
        "Invalid ELF section header size"
    );
    let mut strndx = good();
    strndx[62] = 6;
    assert_eq!(
        validate(&strndx, None)
            .unwrap_err()
            .kernel_message(None)
            .unwrap(),
        "Invalid ELF section name index: 6 || e_shstrndx (6) >= e_shnum (6)"
    );
}

#[test]
fn section_faults_have_the_kernels_messages() {
    let m = good();
    let sh = shoff(&m);
    let mut s0 = m.clone();
    s0[sh + 4] = 1;
    assert_eq!(
        validate(&s0, None)
            .unwrap_err()
            .kernel_message(None)
            .unwrap(),
        "ELF Spec violation: section 0 type(1)!=SH_NULL or non-zero len or addr"
    );
    let mut link = m.clone();
    link[sh + 3 * 64 + 40] = 0;
    assert_eq!(
        validate(&link, None)
            .unwrap_err()
            .kernel_message(None)
            .unwrap(),
        "Invalid ELF sh_link!=SHN_UNDEF(0) or (sh_link(0) >= hdr->e_shnum(6)"
    );
    // Section 1 (.modinfo) made huge.
    let mut big = m.clone();
    big[sh + 64 + 32..sh + 64 + 40].copy_from_slice(&u64::MAX.to_le_bytes());
    assert_eq!(
        validate(&big, None)
            .unwrap_err()
            .kernel_message(None)
            .unwrap(),
        "Invalid ELF section in module (section 1 type 1)"
    );
    // The section name table's last byte is not NUL.
    let mut unterminated = m.clone();
    let names = sh + 5 * 64;
    let off = u64::from_le_bytes(unterminated[names + 24..names + 32].try_into().unwrap());
    let size = u64::from_le_bytes(unterminated[names + 32..names + 40].try_into().unwrap());
    unterminated[(off + size - 1) as usize] = b'x';
    assert_eq!(
        validate(&unterminated, None),
        Err(Invalid::NameTableUnterminated)
    );
    // .gnu.linkonce.this_module not allocated: the kernel (find_sec) does not see it.
    let mut noalloc = m.clone();
    noalloc[sh + 2 * 64 + 8] = 0;
    assert_eq!(
        validate(&noalloc, None)
            .unwrap_err()
            .kernel_message(Some("m"))
            .unwrap(),
        "m: No module found in object"
    );
    // No .modinfo: not a kernel ELF refusal, but not a module.
    let mut noinfo = m.clone();
    let at = noinfo.windows(8).rposition(|w| w == b".modinfo").unwrap();
    noinfo[at + 7] = b'X';
    let e = validate(&noinfo, None).unwrap_err();
    assert_eq!(e, Invalid::NoModinfo);
    assert_eq!(e.kernel_message(None), None);
}

#[test]
fn targets_from_a_kernel_config() {
    let cfg = |k: &'static str| move |q: &str| q == k;
    assert_eq!(
        Target::from_config(cfg("CONFIG_X86_64")),
        Some(Target::X86_64)
    );
    assert_eq!(
        Target::from_config(cfg("CONFIG_ARM64")),
        Some(Target::AARCH64)
    );
    assert_eq!(Target::from_config(cfg("CONFIG_S390")), None);
}

#[test]
fn compression_round_trips_as_the_name_says() {
    let m = good();
    for (name, c) in [
        (&b"a.ko.xz"[..], Compression::Xz),
        (b"a.ko.zst", Compression::Zstd),
        (b"a.ko.gz", Compression::Gzip),
        (b"a.ko", Compression::None),
    ] {
        assert_eq!(Compression::of_name(name), c);
        let packed = c.compress(&m).unwrap();
        assert_eq!(Compression::detect(&packed), c);
        assert_eq!(&*modfile::decompress(&packed).unwrap(), &m[..]);
    }
}
