//! The lookups of `InstalledKernel` on a fake tree (every file where Debian puts it, then
//! pieces missing) and on the real Debian kernel package of the corpus.

use kernels::{ImageKind, InstalledKernel};
use std::path::{Path, PathBuf};

/// A minimal bzImage naming `release` in its setup header.
fn bzimage(release: &str) -> Vec<u8> {
    let mut img = vec![0u8; 0x400];
    img[0x202..0x206].copy_from_slice(b"HdrS");
    img[0x20E..0x210].copy_from_slice(&0x100u16.to_le_bytes());
    let s = format!("{release} (builder@host) #1 SMP\0");
    img[0x300..0x300 + s.len()].copy_from_slice(s.as_bytes());
    img
}

fn write(p: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

const R: &str = "6.1.0-99-amd64";

/// ROOT/boot/{vmlinuz,config,System.map}-R, ROOT/lib/modules/R/build -> usr/src headers.
fn fake_root() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    write(&root.join(format!("boot/vmlinuz-{R}")), &bzimage(R));
    write(
        &root.join(format!("boot/config-{R}")),
        b"CONFIG_MODULE_SIG_HASH=\"sha512\"\n",
    );
    write(
        &root.join(format!("boot/System.map-{R}")),
        b"ffffffff81000000 T _text\n",
    );
    let headers = root.join(format!("usr/src/linux-headers-{R}"));
    write(&headers.join("Makefile"), b"all:\n");
    write(&headers.join("Module.symvers"), b"");
    write(
        &headers.join(".config"),
        b"CONFIG_MODULE_SIG_HASH=\"sha256\"\nCONFIG_X=y\n",
    );
    write(
        &headers.join("include/generated/utsrelease.h"),
        format!("#define UTS_RELEASE \"{R}\"\n").as_bytes(),
    );
    let moddir = root.join("lib/modules").join(R);
    std::fs::create_dir_all(&moddir).unwrap();
    std::os::unix::fs::symlink(&headers, moddir.join("build")).unwrap();
    (tmp, root)
}

#[test]
fn every_file_of_a_full_tree() {
    let (_tmp, root) = fake_root();
    let k = InstalledKernel::find(&root, R).unwrap();
    assert_eq!(k.release, R);
    assert_eq!(k.image, Some(root.join(format!("boot/vmlinuz-{R}"))));
    assert_eq!(k.config, Some(root.join(format!("boot/config-{R}"))));
    assert_eq!(
        k.system_map,
        Some(root.join(format!("boot/System.map-{R}")))
    );
    assert_eq!(k.modules_dir, root.join("lib/modules").join(R));
    assert_eq!(k.headers, Some(k.modules_dir.join("build")));
    assert_eq!(k.symvers, Some(k.modules_dir.join("build/Module.symvers")));
    assert_eq!(k.headers_dir().unwrap(), k.modules_dir.join("build"));
    assert_eq!(k.headers_release().as_deref(), Some(R));
    // The kernel's own config wins over the headers' copy; keys only in the headers' copy
    // are still found.
    assert_eq!(
        k.config_value("CONFIG_MODULE_SIG_HASH").as_deref(),
        Some("sha512")
    );
    assert_eq!(k.config_value("CONFIG_X").as_deref(), Some("y"));

    // The same kernel from its image and from its modules directory.
    let from_image = InstalledKernel::from_image(k.image.as_ref().unwrap()).unwrap();
    assert_eq!(from_image.release, R);
    assert_eq!(from_image.root, root);
    assert_eq!(from_image.config, k.config);
    assert_eq!(from_image.headers, k.headers);
    let from_dir = InstalledKernel::from_modules_dir(&k.modules_dir).unwrap();
    assert_eq!(from_dir.root, root);
    assert_eq!(from_dir.image, k.image);
    assert_eq!(from_dir.config, k.config);

    let all = InstalledKernel::installed(&root);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0], k);
}

#[test]
fn missing_pieces_are_none_and_errors_say_where_we_looked() {
    let (_tmp, root) = fake_root();
    std::fs::remove_file(root.join(format!("boot/config-{R}"))).unwrap();
    std::fs::remove_file(root.join("lib/modules").join(R).join("build")).unwrap();
    let k = InstalledKernel::find(&root, R).unwrap();
    // Headers are still found where Debian unpacks them, without the build link.
    assert_eq!(
        k.headers,
        Some(root.join(format!("usr/src/linux-headers-{R}")))
    );
    // No config in boot/ nor lib/modules/R/{build/.config,config}.
    assert_eq!(k.config, None);
    let e = k.config_file().unwrap_err().to_string();
    assert!(
        e.contains(&format!("config-{R}")) && e.contains("build/.config"),
        "{e}"
    );

    std::fs::remove_dir_all(root.join("usr/src")).unwrap();
    let k = InstalledKernel::find(&root, R).unwrap();
    assert_eq!(k.headers, None);
    let e = k.headers_dir().unwrap_err().to_string();
    assert!(e.contains(&format!("linux-headers-{R}")), "{e}");

    // Nothing at all of another release.
    let e = InstalledKernel::find(&root, "9.9.9")
        .unwrap_err()
        .to_string();
    assert!(e.contains("no kernel 9.9.9"), "{e}");
}

#[test]
fn an_image_given_by_path_anywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("bzImage");
    write(&img, &bzimage("6.12.117"));
    write(&tmp.path().join("config-6.12.117"), b"CONFIG_MODULES=y\n");
    let k = InstalledKernel::from_image(&img).unwrap();
    assert_eq!(k.release, "6.12.117");
    assert_eq!(k.image.as_deref(), Some(img.as_path()));
    assert_eq!(k.config, Some(tmp.path().join("config-6.12.117")));
    assert_eq!(kernels::check_image(&img).unwrap(), ImageKind::BzImage);

    // Not a kernel: said so, with the path.
    let script = tmp.path().join("run.sh");
    write(&script, b"#!/bin/sh\necho hi\n");
    let e = InstalledKernel::from_image(&script)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("run.sh") && e.contains("not a kernel image"),
        "{e}"
    );
    assert!(kernels::check_image(&script).is_err());
    assert!(kernels::check_image(tmp.path()).is_err());
    assert!(kernels::check_image(&tmp.path().join("absent")).is_err());
}

#[test]
fn the_corpus_package() {
    let Some(c) = testsupport::corpus("amd64") else {
        return;
    };
    let k = InstalledKernel::find(&c.root, &c.release).unwrap();
    let image = k.image.clone().expect("the package ships boot/vmlinuz-R");
    assert_eq!(
        image,
        c.root.join("boot").join(format!("vmlinuz-{}", c.release))
    );
    assert_eq!(kernels::check_image(&image).unwrap(), ImageKind::BzImage);
    assert!(k.config.is_some() && k.system_map.is_some());
    assert_eq!(k.modules_dir, c.moddir());
    assert!(k.config_value("CONFIG_MODULES").as_deref() == Some("y"));
    // The image's header names the same release, and leads back to the same package.
    let again = InstalledKernel::from_image(&image).unwrap();
    assert_eq!(again.release, c.release);
    assert_eq!(again.root, c.root);
    assert_eq!(again.config, k.config);
    let listed = kernels::cache::cached_kernels();
    if c.root.starts_with(kernels::cache::corpus_dir()) {
        assert!(listed.iter().any(|l| l.release == c.release), "{listed:?}");
    }
}

#[test]
fn an_install_tree_of_any_name() {
    // DKMS's --installtree need not be ROOT/lib/modules: the kernel's other files are then
    // looked for under /, and its modules directory is still the tree's.
    let tmp = tempfile::tempdir().unwrap();
    let k = InstalledKernel::in_modules_tree(tmp.path(), "9.9.9-none");
    assert_eq!(k.modules_dir, tmp.path().join("9.9.9-none"));
    assert_eq!(k.root, Path::new("/"));
    assert_eq!(k.image, None);
    let (_t, root) = fake_root();
    let k = InstalledKernel::in_modules_tree(&root.join("lib/modules"), R);
    assert_eq!(k.root, root);
    assert!(k.image.is_some() && k.headers.is_some());
    // Headers given explicitly win, with their Module.symvers.
    let other = root.join(format!("usr/src/linux-headers-{R}"));
    let k = InstalledKernel::in_modules_tree(tmp.path(), R).with_headers(other.clone());
    assert_eq!(k.headers_dir().unwrap(), other);
    assert_eq!(k.symvers, Some(other.join("Module.symvers")));
}
