//! Symbol resolution against real kernels' exports: Debian's 6.1 and 6.12 modules checked
//! against each kernel's `Module.symvers` (from the installed headers). A module of one
//! kernel loads into its own and is refused by the other at `module_layout`; changed
//! exports give the kernel's other refusals (a CRC, a missing symbol, a namespace, a
//! GPL-only symbol in a proprietary module).

use std::path::{Path, PathBuf};

use loadcheck::{
    parse_config, predict_bytes, CheckKind, Export, Exports, Kernel, SigVerdict, Verdict,
};

struct Kern {
    kernel: Kernel,
    dummy: Vec<u8>,
}

fn kern(series: Option<&str>) -> Option<Kern> {
    let script = testsupport::repo_root().join("scripts/corpus");
    let mut cmd = std::process::Command::new(script);
    if let Some(s) = series {
        cmd.args(["--series", s]);
    }
    let Some(out) = cmd.output().ok().filter(|o| o.status.success()) else {
        testsupport::skip(testsupport::Requirement::Corpus, "scripts/corpus failed");
        return None;
    };
    let root = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let release = std::fs::read_dir(root.join("lib/modules"))
        .ok()?
        .flatten()
        .find(|e| e.path().join("kernel").is_dir())?
        .file_name()
        .to_string_lossy()
        .into_owned();
    let symvers = Path::new("/lib/modules")
        .join(&release)
        .join("build/Module.symvers");
    let Ok(text) = std::fs::read_to_string(&symvers) else {
        testsupport::skip(
            testsupport::Requirement::Corpus,
            &format!("{}: missing (linux-headers-{release})", symvers.display()),
        );
        return None;
    };
    let config =
        std::fs::read_to_string(root.join("boot").join(format!("config-{release}"))).ok()?;
    let moddir = root
        .join("lib/modules")
        .join(&release)
        .join("kernel/drivers/net");
    let raw = std::fs::read(moddir.join("dummy.ko"))
        .or_else(|_| std::fs::read(moddir.join("dummy.ko.xz")))
        .ok()?;
    let dummy = modfile::decompress(&raw).unwrap().into_owned();
    let struct_module_size = modfile::Module::parse(&dummy)
        .unwrap()
        .elf()
        .section_by_name(".gnu.linkonce.this_module")
        .map(|s| s.size);
    Some(Kern {
        kernel: Kernel {
            struct_module_size,
            release,
            config: parse_config(&config),
            exports: Some(Exports::parse_symvers(&text).unwrap()),
            ..Default::default()
        },
        dummy,
    })
}

fn check(p: &loadcheck::Prediction, kind: CheckKind) -> &loadcheck::Check {
    p.checks.iter().find(|c| c.kind == kind).unwrap()
}

#[test]
fn each_kernel_loads_its_own_and_refuses_the_others() {
    let (Some(k61), Some(k612)) = (kern(None), kern(Some("6.12"))) else {
        return;
    };
    for (own, other) in [(&k61, &k612), (&k612, &k61)] {
        let p = predict_bytes(&own.kernel, &own.dummy, SigVerdict::Valid, false, "dummy");
        assert!(p.loads, "{p:#?}");
        assert_eq!(p.taint_mask, 0);
        assert!(
            p.checks.iter().all(|c| c.verdict == Verdict::Pass),
            "{p:#?}"
        );

        let p = predict_bytes(&other.kernel, &own.dummy, SigVerdict::Valid, false, "dummy");
        assert_eq!(p.errno, Some(libc::ENOEXEC), "{p:#?}");
        // 6.12 (since 6.4) compares struct module's size first; 6.1 module_layout's CRC.
        if other.kernel.version() >= Some((6, 4)) {
            assert_eq!(
                p.dmesg,
                ["module dummy: .gnu.linkonce.this_module section size must match the kernel's built struct module size at run time"]
            );
            assert_eq!(check(&p, CheckKind::StructModule).verdict, Verdict::Fail);
        } else {
            assert_eq!(
                p.dmesg,
                ["dummy: disagrees about version of symbol module_layout"]
            );
            assert_eq!(check(&p, CheckKind::StructModule).verdict, Verdict::Pass);
        }
        let c = check(&p, CheckKind::Modversions);
        assert_eq!((c.verdict, c.errno), (Verdict::Fail, Some(libc::ENOEXEC)));
        // vermagic alone would pass: with modversions the release is not compared.
        assert_eq!(check(&p, CheckKind::Vermagic).verdict, Verdict::Pass);
    }
}

#[test]
fn changed_exports_give_the_loaders_other_refusals() {
    let Some(k) = kern(None) else { return };
    let m = modfile::Module::parse(&k.dummy).unwrap();
    let used: Vec<String> = m
        .versions()
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .filter(|n| n != "module_layout")
        .collect();
    let (a, b) = (&used[0], &used[1]);
    let base = k.kernel.exports.clone().unwrap();
    let predict = |f: &dyn Fn(&mut Exports)| {
        let mut e = base.clone();
        f(&mut e);
        let kernel = Kernel {
            exports: Some(e),
            ..k.kernel.clone()
        };
        predict_bytes(&kernel, &k.dummy, SigVerdict::Valid, false, "dummy")
    };
    let with = |e: &Exports, s: &str, f: &dyn Fn(&mut Export)| {
        let mut x = e.get(s).unwrap().clone();
        f(&mut x);
        x
    };

    // A CRC that differs: EINVAL, two lines.
    let p = predict(&|e| {
        let x = with(e, a, &|x| x.crc = x.crc.map(|c| c ^ 1));
        e.insert(a, x);
    });
    assert_eq!(p.errno, Some(libc::EINVAL));
    assert_eq!(
        p.dmesg,
        [
            format!("dummy: disagrees about version of symbol {a}"),
            format!("dummy: Unknown symbol {a} (err -22)")
        ]
    );
    assert_eq!(check(&p, CheckKind::Modversions).verdict, Verdict::Fail);

    // In a namespace the module does not import: EINVAL.
    let p = predict(&|e| {
        let x = with(e, b, &|x| x.namespace = "SOME_NS".into());
        e.insert(b, x);
    });
    assert_eq!(p.errno, Some(libc::EINVAL));
    assert_eq!(
        p.dmesg[0],
        format!("dummy: module uses symbol ({b}) from namespace SOME_NS, but does not import it.")
    );
    assert_eq!(check(&p, CheckKind::Namespaces).errno, Some(libc::EINVAL));

    // Both: the kernel goes through every symbol and fails with the last error.
    let p = predict(&|e| {
        let x = with(e, a, &|x| x.namespace = "SOME_NS".into());
        e.insert(a, x);
        e.insert(
            b,
            Export {
                crc: None,
                gpl_only: true,
                namespace: String::new(),
                owner: "vmlinux".into(),
            },
        );
    });
    // b is GPL-only, but dummy is GPL: found, and without a CRC nothing is compared.
    assert_eq!(p.errno, Some(libc::EINVAL));
    assert_eq!(check(&p, CheckKind::GplOnly).verdict, Verdict::Pass);
    assert_eq!(check(&p, CheckKind::UnknownSymbols).verdict, Verdict::Pass);

    // Not exported at all: ENOENT.
    let p = predict(&|e| {
        e.remove(a);
    });
    assert_eq!(p.errno, Some(libc::ENOENT));
    assert_eq!(p.dmesg, [format!("dummy: Unknown symbol {a} (err -2)")]);
    assert_eq!(check(&p, CheckKind::UnknownSymbols).verdict, Verdict::Fail);

    // GPL-only, in a module whose licence is not GPL-compatible: not found (ENOENT), and
    // the P taint stays on the kernel.
    let mut bad = k.dummy.clone();
    let at = bad.windows(12).position(|w| w == b"license=GPL\0").unwrap();
    bad[at + 8..at + 11].copy_from_slice(b"BSD");
    let mut e = base.clone();
    let x = with(&e, a, &|x| x.gpl_only = true);
    e.insert(a, x);
    let kernel = Kernel {
        exports: Some(e),
        ..k.kernel.clone()
    };
    let p = predict_bytes(&kernel, &bad, SigVerdict::Valid, false, "dummy");
    assert_eq!(p.errno, Some(libc::ENOENT), "{p:#?}");
    assert_eq!(p.letters(), "P");
    assert!(p
        .dmesg
        .contains(&format!("dummy: Unknown symbol {a} (err -2)")));
    assert!(p
        .dmesg
        .contains(&"dummy: module license 'BSD' taints kernel.".to_string()));
    let c = check(&p, CheckKind::GplOnly);
    assert_eq!((c.verdict, c.errno), (Verdict::Fail, Some(libc::ENOENT)));
}
