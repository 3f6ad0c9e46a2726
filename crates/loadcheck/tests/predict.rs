//! Predictions through the library alone: signatures decided by `modsign` against a keyring,
//! then the kernel's order (signature, ELF validity, modversions, vermagic, taints).

#[path = "../../kmodkit/tests/tiny_module/mod.rs"]
mod tiny_module;

use loadcheck::{parse_config, predict_bytes, Kernel, SigVerdict};
use modsign::keygen::{generate, KeygenAlgo};
use modsign::{Cert, HashAlgo, Keyring, PrivateKey, SignerId, SigningKey};
use tiny_module::{tiny_module, EM_AARCH64, EM_X86_64};

const VERMAGIC: &str = "vermagic=6.1.0-t SMP mod_unload ";

fn kernel(enforce: bool) -> Kernel {
    Kernel {
        release: "6.1.0-t".into(),
        config: parse_config(
            "CONFIG_X86_64=y\nCONFIG_SMP=y\nCONFIG_MODULE_UNLOAD=y\nCONFIG_MODULE_SIG=y\n",
        ),
        sig_enforce: enforce,
        ..Default::default()
    }
}

/// A fresh key, and `module` signed with it.
fn signed(module: &[u8]) -> (Vec<u8>, Keyring) {
    let g = generate(KeygenAlgo::from_name("p256").unwrap(), "loadcheck test", 30).unwrap();
    let key = PrivateKey::from_bytes(g.key_pem().as_bytes(), "key").unwrap();
    let cert = Cert::parse_file(g.cert_pem().as_bytes(), "cert")
        .unwrap()
        .remove(0);
    let sk = SigningKey::new(key, cert.clone()).unwrap();
    let data = sk
        .module_signer(HashAlgo::Sha256, SignerId::IssuerSerial)
        .unwrap()
        .sign(module)
        .unwrap();
    let mut ring = Keyring::new();
    ring.add(cert, "test");
    (data, ring)
}

#[test]
fn a_trusted_signature_loads_without_taint_e() {
    let m = tiny_module("m", &["license=GPL", "intree=Y", VERMAGIC], EM_X86_64);
    let (data, ring) = signed(&m);
    let verdict = SigVerdict::decide(&data, &ring);
    assert_eq!(verdict, SigVerdict::Valid);
    let p = predict_bytes(&kernel(true), &data, verdict, false, "file");
    assert!(p.loads, "{p:?}");
    assert_eq!((p.taint_mask, p.letters().as_str()), (0, ""));
    assert_eq!(p.name, "m");

    // The same signature against an empty keyring: unknown key.
    let verdict = SigVerdict::decide(&data, &Keyring::new());
    assert_eq!(verdict, SigVerdict::UnknownKey);
    let p = predict_bytes(&kernel(true), &data, verdict, false, "file");
    assert_eq!(p.errno, Some(libc::EKEYREJECTED));
    assert_eq!(
        p.dmesg,
        ["Loading of module with unavailable key is rejected"]
    );
    let p = predict_bytes(&kernel(false), &data, verdict, false, "file");
    assert!(p.loads);
    assert_eq!(p.letters(), "E");

    // One flipped byte in the signed content: the signature no longer verifies.
    let mut bad = data.clone();
    bad[100] ^= 1;
    let verdict = SigVerdict::decide(&bad, &ring);
    assert_eq!(verdict, SigVerdict::Invalid(libc::EKEYREJECTED));
    let p = predict_bytes(&kernel(false), &bad, verdict, false, "file");
    assert_eq!(p.errno, Some(libc::EKEYREJECTED));
}

#[test]
fn unsigned_out_of_tree_proprietary_taints_poe() {
    let m = tiny_module("m", &["license=Proprietary", VERMAGIC], EM_X86_64);
    let verdict = SigVerdict::decide(&m, &Keyring::new());
    assert_eq!(verdict, SigVerdict::Unsigned);
    let p = predict_bytes(&kernel(false), &m, verdict, false, "file");
    assert!(p.loads);
    assert_eq!(p.letters(), "POE");
    assert_eq!(p.taint_mask, 1 | 1 << 12 | 1 << 13);
    assert!(p
        .dmesg
        .contains(&"m: module license 'Proprietary' taints kernel.".to_string()));
}

#[test]
fn files_that_are_not_modules_fail_as_the_loader_does() {
    let good = tiny_module("m", &["license=GPL", VERMAGIC], EM_X86_64);
    let k = kernel(false);
    let cases: [(Vec<u8>, &str); 3] = [
        (good[..474].to_vec(), "Invalid ELF section header overflow"),
        (
            {
                let mut e = good.clone();
                e[16] = 2;
                e
            },
            "Invalid ELF header type: 2 != 1",
        ),
        (
            tiny_module("m", &["license=GPL", VERMAGIC], EM_AARCH64),
            "Invalid architecture in ELF header: 183",
        ),
    ];
    for (data, line) in cases {
        let p = predict_bytes(&k, &data, SigVerdict::Unsigned, false, "file");
        assert!(!p.loads);
        assert_eq!(p.errno, Some(libc::ENOEXEC));
        assert_eq!(loadcheck::errno_name(libc::ENOEXEC), "ENOEXEC");
        assert_eq!(p.dmesg, [line]);
        assert_eq!(p.taint_mask, 0);
    }
    // The signature is checked first: under enforcement an unsigned file that is not even
    // ELF is refused for its missing signature.
    let p = predict_bytes(&kernel(true), b"junk", SigVerdict::Unsigned, false, "junk");
    assert_eq!(p.errno, Some(libc::EKEYREJECTED));
    assert_eq!(p.name, "junk");
}

#[test]
fn vermagic_mismatch_and_arm64_vermagic() {
    let m = tiny_module(
        "m",
        &["license=GPL", "vermagic=6.1.0-x SMP mod_unload "],
        EM_X86_64,
    );
    let p = predict_bytes(&kernel(false), &m, SigVerdict::Valid, false, "m");
    assert_eq!(p.errno, Some(libc::ENOEXEC));
    assert_eq!(
        p.dmesg,
        ["m: version magic '6.1.0-x SMP mod_unload ' should be '6.1.0-t SMP mod_unload '"]
    );
    let arm = Kernel {
        release: "6.1.0-56-arm64".into(),
        config: parse_config(
            "CONFIG_ARM64=y\nCONFIG_SMP=y\nCONFIG_MODULE_UNLOAD=y\nCONFIG_MODVERSIONS=y\n",
        ),
        ..Default::default()
    };
    assert_eq!(
        arm.vermagic(),
        "6.1.0-56-arm64 SMP mod_unload modversions aarch64"
    );
    assert_eq!(arm.target(), Some(modfile::Target::AARCH64));
}
