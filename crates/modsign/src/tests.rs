//! Round trips through our own writer and reader; the oracles (sign-file, openssl, the
//! Debian tree) are in kmodkit's integration tests.

use crate::keygen::{generate, KeygenAlgo};
use crate::module::{self, Failure};
use crate::{Cert, Curve, HashAlgo, Keyring, PrivateKey, SignerId, SigningKey};

fn pair(algo: KeygenAlgo) -> (SigningKey, Cert) {
    let g = generate(algo, "unit test", 10).unwrap();
    let key = PrivateKey::from_bytes(g.key_pem().as_bytes(), "key").unwrap();
    let cert = Cert::parse_file(g.cert_pem().as_bytes(), "cert")
        .unwrap()
        .remove(0);
    // DER forms read the same.
    assert_eq!(
        PrivateKey::from_bytes(&g.key_pkcs8, "key")
            .unwrap()
            .public_key_bits(),
        key.public_key_bits()
    );
    assert_eq!(
        Cert::parse_file(&g.cert_der, "c").unwrap()[0].der(),
        cert.der()
    );
    (SigningKey::new(key, cert.clone()).unwrap(), cert)
}

#[test]
fn sign_verify_round_trip_for_each_key_type() {
    let content = b"\x7fELF pretend module".repeat(1000);
    for (algo, hash) in [
        (KeygenAlgo::Rsa(2048), HashAlgo::Sha256),
        (KeygenAlgo::Rsa(2048), HashAlgo::Sha512),
        (KeygenAlgo::Ec(Curve::P256), HashAlgo::Sha256),
        (KeygenAlgo::Ec(Curve::P384), HashAlgo::Sha384),
    ] {
        let (sk, cert) = pair(algo);
        let mut ring = Keyring::new();
        ring.add(cert, "test");
        for id in [SignerId::IssuerSerial, SignerId::KeyId] {
            let signer = sk.module_signer(hash, id).unwrap();
            let signed = signer.sign(&content).unwrap();
            let v = module::verify(&signed, &ring).unwrap();
            assert_eq!(v.hash, hash);
            assert_eq!(v.content_len, content.len());
            // Re-signing replaces, it does not stack.
            let again = signer.resign(&signed).unwrap();
            assert_eq!(module::unsigned_content(&again).unwrap(), &content[..]);
            let mut bad = signed.clone();
            bad[10] ^= 1;
            assert!(matches!(
                module::verify(&bad, &ring),
                Err(Failure::BadSignature(_))
            ));
        }
        assert_eq!(module::verify(&content, &ring), Err(Failure::NoSignature));
        assert!(matches!(
            module::verify(
                &sk.module_signer(hash, SignerId::IssuerSerial)
                    .unwrap()
                    .sign(&content)
                    .unwrap(),
                &Keyring::new()
            ),
            Err(Failure::UnknownKey(_))
        ));
    }
}

#[test]
fn mismatched_key_and_unsupported_pairs_are_refused() {
    let (a, _) = pair(KeygenAlgo::Ec(Curve::P256));
    let (_, other_cert) = pair(KeygenAlgo::Ec(Curve::P256));
    let g = generate(KeygenAlgo::Ec(Curve::P256), "x", 1).unwrap();
    let key = PrivateKey::from_bytes(&g.key_pkcs8, "k").unwrap();
    assert!(SigningKey::new(key, other_cert).is_err());
    assert!(a
        .module_signer(HashAlgo::Sha512, SignerId::IssuerSerial)
        .is_err());
    assert!(PrivateKey::from_bytes(b"garbage", "k").is_err());
    assert!(PrivateKey::from_bytes(
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "k"
    )
    .is_err());
}

#[test]
fn certificates_are_found_in_a_compressed_kernel() {
    use std::io::Write;
    let (_, cert) = pair(KeygenAlgo::Ec(Curve::P384));
    let mut kernel = b"\x7fELF".to_vec();
    kernel.extend((0..(2u32 << 20)).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    kernel.extend_from_slice(cert.der());
    kernel.extend_from_slice(&[0x30, 0x82, 0xff, 0xff, 0x30, 0x82, 0x00, 0x10]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&kernel).unwrap();
    let mut image = b"MZ stub".to_vec();
    image.extend(gz.finish().unwrap());
    image.extend_from_slice(b"tail");
    let found = crate::image::kernel_certs(&image, "image").unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].der(), cert.der());
    assert_eq!(
        crate::image::kernel_certs(&kernel, "vmlinux")
            .unwrap()
            .len(),
        1
    );
    assert!(crate::image::kernel_certs(&[0u8; 4096], "zeros").is_err());
}
