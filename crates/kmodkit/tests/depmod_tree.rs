//! kmodkit's depmod against kmod 30's on the real Debian tree: every output file, stdout,
//! stderr and exit status byte-identical.

mod depmod_support;

use depmod_support::*;
use std::path::Path;

#[test]
fn full_tree_identical() {
    let Some(c) = setup("depmod") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let root = symlink_root(&c, tmp.path());
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
    let Some(c) = setup("depmod") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let gone = [
        "fs/jbd2/",
        "lib/libcrc32c.ko",
        "drivers/usb/core/usbcore.ko",
        "net/wireless/cfg80211.ko",
    ];
    let root = filtered_root(&c, tmp.path(), |p| gone.iter().any(|g| p.starts_with(g)));
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
    let Some(c) = setup("depmod") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let root = symlink_root(&c, tmp.path());
    let dir = root.join("lib/modules").join(&c.release);
    let kernel = c.moddir().join("kernel");
    let ext = tmp.path().join("extdir");
    let link = |from: &str, to: &Path| {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(kernel.join(from), to).unwrap();
    };
    link("fs/ext4/ext4.ko", &dir.join("updates/ext4.ko"));
    link("fs/fat/vfat.ko", &dir.join("updates/vfat.ko"));
    link("fs/fat/vfat.ko", &dir.join("extra/vfat.ko"));
    link("fs/jbd2/jbd2.ko", &dir.join("extra/sub/jbd2.ko"));
    link(
        "drivers/usb/serial/usbserial.ko",
        &dir.join("extra/usbserial.ko"),
    );
    link("fs/fat/fat.ko", &dir.join("skipme/fat.ko"));
    link("fs/isofs/isofs.ko", &ext.join("x/isofs.ko"));
    link("lib/crc-itu-t.ko", &ext.join("crc-itu-t.ko"));
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
    let Some(c) = setup("depmod") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let root = symlink_root(&c, tmp.path());
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
    let Some(c) = setup("depmod") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let dir = root.join("lib/modules").join(&c.release);
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(c.moddir().join("kernel"), dir.join("kernel")).unwrap();
    let n = compare_depmod(&root, &c.release, &[], "depmod without modules.order");
    assert_eq!(n, DEPMOD_FILES.len());
}
