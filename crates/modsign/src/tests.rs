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

#[test]
fn encrypted_pkcs8_keys_open_with_their_passphrase_only() {
    use der::Decode;
    let g = generate(KeygenAlgo::Ec(Curve::P256), "enc", 1).unwrap();
    let plain = PrivateKey::from_bytes(&g.key_pkcs8, "k").unwrap();
    let info = pkcs8::PrivateKeyInfo::from_der(&g.key_pkcs8).unwrap();
    let params =
        pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, b"saltsalt", &[7u8; 16])
            .unwrap();
    let enc = info.encrypt_with_params(params, "s3cret").unwrap();
    let pem = enc
        .to_pem("ENCRYPTED PRIVATE KEY", der::pem::LineEnding::LF)
        .unwrap();
    for bytes in [pem.as_bytes(), enc.as_bytes()] {
        let k = PrivateKey::from_bytes_with_passphrase(bytes, "enc.key", Some("s3cret")).unwrap();
        assert_eq!(k.public_key_bits(), plain.public_key_bits());
        let none = PrivateKey::from_bytes(bytes, "enc.key")
            .err()
            .unwrap()
            .to_string();
        assert!(
            none.contains("enc.key")
                && none.contains("encrypted")
                && none.contains("KBUILD_SIGN_PIN"),
            "{none}"
        );
        let wrong = PrivateKey::from_bytes_with_passphrase(bytes, "enc.key", Some("nope"))
            .err()
            .unwrap()
            .to_string();
        assert!(wrong.contains("cannot decrypt"), "{wrong}");
    }
    // The old PEM encryption is named, not reported as a parse error.
    let old = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
    let e = PrivateKey::from_bytes_with_passphrase(old.as_bytes(), "old.key", Some("x"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("old.key") && e.contains("encrypted") && e.contains("AES-256-CBC"),
        "{e}"
    );
}

#[test]
fn malformed_signatures_have_typed_reasons() {
    use crate::pkcs7::{parse, ParseError};
    assert!(matches!(parse(b"junk"), Err(ParseError::Der(_))));
    let (sk, cert) = pair(KeygenAlgo::Ec(Curve::P256));
    let p7 = sk
        .module_signer(HashAlgo::Sha256, SignerId::IssuerSerial)
        .unwrap()
        .pkcs7(b"content")
        .unwrap();
    let msg = parse(&p7).unwrap();
    assert!(msg.detached);
    assert_eq!(msg.signers.len(), 1);
    assert_eq!(msg.signers[0].hash, Ok(HashAlgo::Sha256));
    assert!(!msg.signers[0].has_signed_attrs);
    assert_eq!(cert.key_algo(), Ok(crate::KeyAlgo::Ec(Curve::P256)));
    // A trailing byte is an error, as for the kernel's decoder.
    let mut longer = p7.clone();
    longer.push(0);
    assert!(parse(&longer).is_err());
    assert!(matches!(
        crate::pkcs11::Uri::parse("pkcs11:object=x;bogus=1"),
        Err(crate::pkcs11::UriError(m)) if m.contains("bogus")
    ));
}
