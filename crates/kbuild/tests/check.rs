//! The post-build checks on a real module built against the installed Debian headers:
//! clean against its own kernel, and each mismatch the kernel would refuse is reported.

use kbuild::check::{check, Problem};
use kernels::InstalledKernel;
use std::path::Path;

#[test]
fn real_module_against_matching_and_mismatching_kernels() {
    let Some(h) = InstalledKernel::installed(Path::new("/"))
        .into_iter()
        .find(|k| k.headers_dir().is_ok())
    else {
        testsupport::skip(
            testsupport::Requirement::Corpus,
            "no kernel headers installed under /lib/modules/*/build",
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("chk");
    kbuild::skeleton::create("chk", &src, "test").unwrap();
    let headers = h.headers_dir().unwrap();
    let out = src.join(".build").join(&h.release);
    let built = kbuild::make::build(&src, &h.release, headers, &out, 2).unwrap();
    let ko = &built.modules[0];
    let symvers = kbuild::headers::symvers(h.symvers.as_ref().unwrap()).unwrap();
    assert_eq!(check(ko, &h.release, &symvers).unwrap(), vec![]);

    // Another release.
    let p = check(ko, "6.0.0-other", &symvers).unwrap();
    assert!(
        matches!(&p[..], [Problem::Vermagic { expected, .. }] if expected == "6.0.0-other"),
        "{p:?}"
    );

    // A kernel whose _printk has another CRC, and one that does not export kfree.
    let mut other = symvers.clone();
    other.get_mut("_printk").expect("_printk exported").crc ^= 1;
    other.remove("kfree");
    let p = check(ko, &h.release, &other).unwrap();
    assert!(
        p.iter()
            .any(|x| matches!(x, Problem::CrcMismatch { symbol, .. } if symbol == "_printk")),
        "{p:?}"
    );
    assert!(
        p.contains(&Problem::Unresolved {
            symbol: "kfree".into()
        }),
        "{p:?}"
    );
}
