//! kmodkit's depmod against kmod 30's on the real Debian trees (6.1's `.ko` and 6.12's
//! `.ko.xz`): every output file, stdout, stderr and exit status byte-identical.

mod depmod_support;

use depmod_support::*;
use std::path::Path;
use testsupport::Corpus;

#[test]
fn full_tree_identical() {
    for c in setup_all("depmod") {
        full_tree(&c);
    }
}

fn full_tree(c: &Corpus) {
    let tmp = tempfile::tempdir().unwrap();
    let root = symlink_root(c, tmp.path());
    let n = compare_depmod(&root, &c.release, &[], "depmod -b ROOT RELEASE");
    assert_eq!(n, DEPMOD_FILES.len());
    // -n writes the text files to stdout instead.
    compare_depmod(&root, &c.release, &["-n"], "depmod -n");
    // -a with -w (duplicate warnings) and -v (the "needs" lines on stdout).
    compare_depmod(&root, &c.release, &["-a", "-w", "-v"], "depmod -a -w -v");
}

/// Modules removed from the tree: the symbols they exported become unresolved, reported the
/// same way with -e and System.map or Module.symvers (CRC checks).
#[test]
fn removed_modules_warnings_identical() {
    for c in setup_all("depmod") {
        removed_modules_warnings(&c);
    }
}

fn removed_modules_warnings(c: &Corpus) {
    let tmp = tempfile::tempdir().unwrap();
    let gone = [
        "fs/jbd2/".to_string(),
        c.ko("lib/libcrc32c"),
        c.ko("drivers/usb/core/usbcore"),
        c.ko("net/wireless/cfg80211"),
    ];
    let root = filtered_root(c, tmp.path(), |p| gone.iter().any(|g| p.starts_with(g)));
    let map = c
        .root
        .join("boot")
        .join(format!("System.map-{}", c.release));
    assert!(map.is_file(), "{} missing", map.display());
    let map = map.to_str().unwrap().to_string();
    let n = compare_depmod(
        &root,
        &c.release,
        &["-e", "-F", &map],
        "depmod -e -F System.map",
    );
    assert_eq!(n, DEPMOD_FILES.len());
    compare_depmod(
        &root,
        &c.release,
        &["-n", "-e", "-F", &map],
        "depmod -n -e -F",
    );
    compare_depmod(&root, &c.release, &["-e"], "depmod -e without -E/-F");
    let symvers = format!("/usr/src/linux-headers-{}/Module.symvers", c.release);
    if Path::new(&symvers).is_file() {
        compare_depmod(
            &root,
            &c.release,
            &["-e", "-E", &symvers],
            "depmod -e -E Module.symvers",
        );
    } else {
        testsupport::skip(
            testsupport::Requirement::Tool,
            &format!("{symvers} missing (linux-headers-{})", c.release),
        );
    }
}

/// depmod.d: search order with built-in and external, override (matching and not), external
/// directories outside the tree, exclude, a bad line; modules outside modules.order.
#[test]
fn depmod_d_config_identical() {
    for c in setup_all("depmod") {
        depmod_d_config(&c);
    }
}

fn depmod_d_config(c: &Corpus) {
    let tmp = tempfile::tempdir().unwrap();
    let root = symlink_root(c, tmp.path());
    let dir = root.join("lib/modules").join(&c.release);
    let kernel = c.moddir().join("kernel");
    let ext = tmp.path().join("extdir");
    // Module files keep the tree's ending (`.ko` or `.ko.xz`).
    let link = |from: &str, to: &Path, name: &str| {
        std::fs::create_dir_all(to).unwrap();
        std::os::unix::fs::symlink(kernel.join(c.ko(from)), to.join(c.ko(name))).unwrap();
    };
    link("fs/ext4/ext4", &dir.join("updates"), "ext4");
    link("fs/fat/vfat", &dir.join("updates"), "vfat");
    link("fs/fat/vfat", &dir.join("extra"), "vfat");
    link("fs/jbd2/jbd2", &dir.join("extra/sub"), "jbd2");
    link(
        "drivers/usb/serial/usbserial",
        &dir.join("extra"),
        "usbserial",
    );
    link("fs/fat/fat", &dir.join("skipme"), "fat");
    link("fs/isofs/isofs", &ext.join("x"), "isofs");
    link("lib/crc-itu-t", &ext, "crc-itu-t");
    let conf = tmp.path().join("depmod.d");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("a.conf"),
        format!(
            "# test\nsearch extra external updates built-in\noverride vfat * extra\n\
             override fat 5.* skipme\nexternal 6\\.1.* {}\nexclude skipme\nbogus line here\n",
            ext.display()
        ),
    )
    .unwrap();
    std::fs::write(conf.join("b.conf"), "override ext4 .* updates\n").unwrap();
    std::fs::write(conf.join("ignored.txt"), "search nothing\n").unwrap();
    let conf_s = conf.to_str().unwrap();
    let n = compare_depmod(&root, &c.release, &["-C", conf_s], "depmod -C depmod.d");
    assert_eq!(n, DEPMOD_FILES.len());
    let b = conf.join("b.conf");
    compare_depmod(
        &root,
        &c.release,
        &["-C", b.to_str().unwrap()],
        "depmod -C file",
    );
    // Default search ("updates" first) with the extra directories present.
    compare_depmod(
        &root,
        &c.release,
        &["-C", "/nonexistent"],
        "depmod, default search",
    );
}

#[test]
fn usage_errors_identical() {
    for c in setup_all("depmod") {
        usage_errors(&c);
    }
}

fn usage_errors(c: &Corpus) {
    let tmp = tempfile::tempdir().unwrap();
    let root = symlink_root(c, tmp.path());
    let r = root.to_str().unwrap().to_string();
    for args in [
        vec!["-b".to_string(), r.clone(), "notaversion".into()],
        vec!["--bogus".into()],
        vec!["-P".into(), "ab".into(), c.release.clone()],
        vec![
            "-b".into(),
            r.clone(),
            c.release.clone(),
            "relative.ko".into(),
        ],
        vec!["-b".into(), "/nonexistent".into(), c.release.clone()],
        vec![
            "-n".into(),
            "-A".into(),
            "-b".into(),
            r.clone(),
            c.release.clone(),
        ],
    ] {
        let (t, o) = both("depmod", &args);
        assert_same(&format!("depmod {}", args.join(" ")), &t, &o);
    }
}

/// Without modules.order, modules.builtin and modules.builtin.modinfo: modules come in the
/// iteration order of kmod's name hash, the warnings name the missing files, and the builtin
/// indexes are still written (empty), as kmod does.
#[test]
fn without_order_and_builtin_files_identical() {
    for c in setup_all("depmod") {
        without_order_and_builtin_files(&c);
    }
}

fn without_order_and_builtin_files(c: &Corpus) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let dir = root.join("lib/modules").join(&c.release);
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(c.moddir().join("kernel"), dir.join("kernel")).unwrap();
    let n = compare_depmod(&root, &c.release, &[], "depmod without modules.order");
    assert_eq!(n, DEPMOD_FILES.len());
}

/// A minimal relocatable ELF64 module: `exports` in `__ksymtab_strings`, `needs` as undefined
/// symbols in `.symtab`, a `.modinfo` with `name=`. Enough for kmod's depmod (and ours) to
/// compute dependencies, so that dependency cycles can be made on purpose.
fn tiny_module(name: &str, exports: &[&str], needs: &[&str]) -> Vec<u8> {
    let mut shstr = b"\0.shstrtab\0.strtab\0.symtab\0__ksymtab_strings\0.modinfo\0".to_vec();
    shstr.push(0);
    let mut strtab = vec![0u8];
    let mut symtab = vec![0u8; 24];
    for n in needs {
        let off = strtab.len() as u32;
        strtab.extend_from_slice(n.as_bytes());
        strtab.push(0);
        let mut s = vec![0u8; 24];
        s[..4].copy_from_slice(&off.to_le_bytes());
        s[4] = 0x10; // STB_GLOBAL, STT_NOTYPE
        symtab.extend(s);
    }
    let mut ksym = Vec::new();
    for e in exports {
        ksym.extend_from_slice(e.as_bytes());
        ksym.push(0);
    }
    let modinfo = format!("license=GPL\0name={name}\0").into_bytes();
    // (name offset in shstr, type, data, link, entsize)
    let secs: [(u32, u32, &[u8], u32, u64); 5] = [
        (1, 3, &shstr, 0, 0),
        (11, 3, &strtab, 0, 0),
        (19, 2, &symtab, 2, 24),
        (27, 1, &ksym, 0, 0),
        (45, 1, &modinfo, 0, 0),
    ];
    let mut body = Vec::new();
    let mut offs = Vec::new();
    for (_, _, d, _, _) in &secs {
        offs.push(64 + body.len() as u64);
        body.extend_from_slice(d);
        while body.len() % 8 != 0 {
            body.push(0);
        }
    }
    let shoff = 64 + body.len() as u64;
    let mut f = vec![0u8; 64];
    f[..4].copy_from_slice(b"\x7fELF");
    f[4] = 2; // ELFCLASS64
    f[5] = 1; // little-endian
    f[6] = 1;
    f[16..18].copy_from_slice(&1u16.to_le_bytes()); // ET_REL
    f[18..20].copy_from_slice(&62u16.to_le_bytes()); // x86-64
    f[20..24].copy_from_slice(&1u32.to_le_bytes());
    f[40..48].copy_from_slice(&shoff.to_le_bytes());
    f[52..54].copy_from_slice(&64u16.to_le_bytes());
    f[58..60].copy_from_slice(&64u16.to_le_bytes());
    f[60..62].copy_from_slice(&6u16.to_le_bytes());
    f[62..64].copy_from_slice(&1u16.to_le_bytes());
    f.extend(body);
    f.extend(vec![0u8; 64]);
    for (i, (n, t, d, link, ent)) in secs.iter().enumerate() {
        let mut sh = vec![0u8; 64];
        sh[..4].copy_from_slice(&n.to_le_bytes());
        sh[4..8].copy_from_slice(&t.to_le_bytes());
        sh[24..32].copy_from_slice(&offs[i].to_le_bytes());
        sh[32..40].copy_from_slice(&(d.len() as u64).to_le_bytes());
        sh[40..44].copy_from_slice(&link.to_le_bytes());
        sh[48..56].copy_from_slice(&1u64.to_le_bytes());
        sh[56..64].copy_from_slice(&ent.to_le_bytes());
        f.extend(sh);
    }
    f
}

/// Dependency cycles: kmod reports each cycle and the count, writes nothing, exits 1.
#[test]
fn dependency_cycles_reported_identically() {
    if !testsupport::have_tool("depmod") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let release = "6.1.0-cycle";
    let dir = tmp.path().join("root/lib/modules").join(release);
    let k = dir.join("kernel");
    std::fs::create_dir_all(&k).unwrap();
    let mods: [(&str, &[&str], &[&str]); 6] = [
        ("alpha", &["a_sym"], &["b_sym"]),
        ("beta", &["b_sym"], &["c_sym", "missing_sym"]),
        ("gamma", &["c_sym"], &["a_sym"]),
        // (A module reachable from a cycle root that leads into another cycle makes kmod 30's
        // cycle report walk without end; keep the cycles apart.)
        ("delta", &["d_sym"], &["e_sym"]),
        ("epsilon", &["e_sym"], &["d_sym"]),
        ("zeta", &[], &["d_sym", "b_sym"]),
    ];
    let mut order = String::new();
    for (n, e, d) in mods {
        std::fs::write(k.join(format!("{n}.ko")), tiny_module(n, e, d)).unwrap();
        order.push_str(&format!("kernel/{n}.ko\n"));
    }
    std::fs::write(dir.join("modules.order"), order).unwrap();
    let root = tmp.path().join("root");
    compare_depmod(&root, release, &[], "depmod with dependency cycles");
    let (t, _) = both(
        "depmod",
        &["-b".into(), root.to_str().unwrap().into(), release.into()],
    );
    let err = String::from_utf8_lossy(&t.stderr);
    assert!(err.contains("Cycle detected"), "no cycle reported: {err}");
    // Without cycles (epsilon and gamma gone) the same tiny tree is written identically.
    std::fs::remove_file(k.join("gamma.ko")).unwrap();
    std::fs::remove_file(k.join("epsilon.ko")).unwrap();
    let n = compare_depmod(&root, release, &[], "depmod on tiny modules");
    assert_eq!(n, DEPMOD_FILES.len(), "builtin indexes are written, empty");
}
