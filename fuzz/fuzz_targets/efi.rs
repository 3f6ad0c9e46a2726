//! EFI signature lists and edk2 vars files on arbitrary bytes: parsing either answers or
//! returns an error naming the offset, and what is read is what is written back
//! (parse -> write -> parse gives the same lists / variables). For a vars file, enrolling a
//! certificate into `db` must give a file that reads back with the certificate in `db`.
#![no_main]

use efivars::{Guid, SignatureList, Varstore, IMAGE_SECURITY_DATABASE};
use libfuzzer_sys::fuzz_target;

const OWNER: Guid = Guid([7; 16]);

fuzz_target!(|data: &[u8]| {
    // First byte: even = signature lists (a variable's data), odd = a vars file.
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    if which & 1 == 0 {
        let Ok(lists) = SignatureList::parse_all(bytes) else {
            return;
        };
        let again = SignatureList::parse_all(&SignatureList::write_all(&lists))
            .expect("written signature lists parse");
        let entries = |ls: &[SignatureList]| -> Vec<(Guid, Guid, Vec<u8>)> {
            ls.iter()
                .flat_map(|l| {
                    l.entries
                        .iter()
                        .map(|e| (l.sig_type, e.owner, e.data.clone()))
                })
                .collect()
        };
        assert_eq!(entries(&lists), entries(&again));
        let _ = SignatureList::x509_certs(&lists);
    } else {
        let Ok(store) = Varstore::parse(bytes) else {
            return;
        };
        let out = store.to_bytes();
        assert_eq!(out.len(), bytes.len());
        let again = Varstore::parse(&out).expect("written vars file parses");
        assert_eq!(store.variables(), again.variables());
        let cert = b"0\x82fuzz-certificate";
        if let Ok(enrolled) = store.enroll_db(cert, OWNER) {
            let back = Varstore::parse(&enrolled.to_bytes()).expect("enrolled vars file parses");
            let db = back.get("db", IMAGE_SECURITY_DATABASE).expect("db exists");
            let lists = SignatureList::parse_all(&db.data).expect("db parses");
            assert!(SignatureList::x509_certs(&lists)
                .iter()
                .any(|(_, d)| *d == cert));
        }
    }
});
