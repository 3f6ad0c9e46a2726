use super::*;

#[test]
fn guid_round_trip() {
    let s = "a5c059a1-94e4-4aa7-87b5-ab155c2bf072";
    let g = Guid::parse(s).unwrap();
    assert_eq!(g, CERT_X509);
    assert_eq!(g.to_string(), s);
    assert!(Guid::parse("a5c059a1-94e4-4aa7-87b5").is_err());
    assert!(Guid::parse("g5c059a1-94e4-4aa7-87b5-ab155c2bf072").is_err());
}

#[test]
fn signature_list_round_trip_and_errors() {
    let owner = SHIM_LOCK;
    let lists = vec![SignatureList {
        sig_type: CERT_X509,
        header: vec![],
        entries: vec![
            SignatureEntry {
                owner,
                data: vec![1, 2, 3],
            },
            SignatureEntry {
                owner,
                data: vec![4, 5, 6],
            },
            SignatureEntry {
                owner,
                data: vec![7; 5],
            },
        ],
    }];
    let bytes = SignatureList::write_all(&lists);
    // Two sizes: two lists.
    assert_eq!(bytes.len(), 28 + 2 * 19 + 28 + 21);
    let back = SignatureList::parse_all(&bytes).unwrap();
    assert_eq!(back.len(), 2);
    assert_eq!(back[0].entries.len(), 2);
    assert_eq!(back[1].entries[0].data, vec![7; 5]);
    let err = SignatureList::parse_all(&bytes[..bytes.len() - 1]).unwrap_err();
    assert!(
        matches!(err, Error::SignatureList { offset: 66, .. }),
        "{err}"
    );
    let mut bad = bytes.clone();
    bad[24] = 7; // signature size below 16
    assert!(SignatureList::parse_all(&bad).is_err());
}

#[test]
fn varstore_rejects_garbage() {
    assert!(Varstore::parse(b"not a varstore").is_err());
    assert!(Varstore::parse(&[0u8; 4096]).is_err());
}

#[test]
fn efi_time_now_is_sane() {
    let t = EfiTime::now();
    assert!(t.year >= 2024 && (1..=12).contains(&t.month) && (1..=31).contains(&t.day));
}
