//! The varstore writer against the third-party reader `virt-fw-vars` (PyPI `virt-firmware`)
//! and against edk2's own shipped vars files (Debian `ovmf`).

use efivars::{SignatureList, Varstore, IMAGE_SECURITY_DATABASE, SHIM_LOCK};
use std::path::Path;
use std::process::Command;
use testsupport::{have_tool, skip, Requirement};

const VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";

fn cert(dir: &Path, cn: &str) -> Vec<u8> {
    let key = dir.join(format!("{cn}.key"));
    let der = dir.join(format!("{cn}.der"));
    let st = Command::new("openssl")
        .args([
            "req", "-new", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
        ])
        .arg("-subj")
        .arg(format!("/CN={cn}"))
        .arg("-keyout")
        .arg(&key)
        .args(["-outform", "DER", "-out"])
        .arg(&der)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    std::fs::read(der).unwrap()
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// virt-fw-vars' reading of a vars file: (name, guid, attr, data) per variable.
fn virt_fw_vars_read(file: &Path, dir: &Path) -> Vec<(String, String, u32, Vec<u8>)> {
    let json = dir.join("out.json");
    let out = Command::new("virt-fw-vars")
        .arg("-i")
        .arg(file)
        .arg("--output-json")
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "virt-fw-vars: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    // The original store, with no variables, gives no "variables" list at all.
    v["variables"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|x| {
            (
                x["name"].as_str().unwrap().to_string(),
                x["guid"].as_str().unwrap().to_string(),
                x["attr"].as_u64().unwrap() as u32,
                hex_decode(x["data"].as_str().unwrap()),
            )
        })
        .collect()
}

fn inputs() -> Option<Vec<u8>> {
    if !Path::new(VARS).exists() {
        skip(
            Requirement::Tool,
            &format!("{VARS} missing (Debian package ovmf)"),
        );
        return None;
    }
    if !have_tool("virt-fw-vars") || !have_tool("openssl") {
        return None;
    }
    Some(std::fs::read(VARS).unwrap())
}

#[test]
fn enroll_db_is_read_back_by_virt_fw_vars() {
    let Some(orig) = inputs() else { return };
    let dir = tempfile::tempdir().unwrap();
    let c1 = cert(dir.path(), "kmodkit one");
    let c2 = cert(dir.path(), "kmodkit two");
    let store = Varstore::parse(&orig).unwrap();
    let bytes = store
        .enroll_db(&c1, SHIM_LOCK)
        .unwrap()
        .enroll_db(&c2, IMAGE_SECURITY_DATABASE)
        .unwrap()
        .enroll_db(&c1, SHIM_LOCK) // already there: no change
        .unwrap()
        .to_bytes();
    assert_eq!(bytes.len(), orig.len());
    let out = dir.path().join("vars.fd");
    std::fs::write(&out, &bytes).unwrap();

    let vars = virt_fw_vars_read(&out, dir.path());
    let db: Vec<_> = vars.iter().filter(|v| v.0 == "db").collect();
    assert_eq!(db.len(), 1, "{vars:?}");
    assert_eq!(db[0].1, IMAGE_SECURITY_DATABASE.to_string());
    assert_eq!(db[0].2, efivars::ATTR_DB);
    let lists = SignatureList::parse_all(&db[0].3).unwrap();
    let certs = SignatureList::x509_certs(&lists);
    assert_eq!(certs.len(), 2);
    assert_eq!(certs[0], (SHIM_LOCK, c1.as_slice()));
    assert_eq!(certs[1], (IMAGE_SECURITY_DATABASE, c2.as_slice()));

    // Everything virt-fw-vars saw in the original is still there, unchanged.
    let before = virt_fw_vars_read(Path::new(VARS), dir.path());
    for v in &before {
        assert!(vars.contains(v), "variable {} lost or changed", v.0);
    }
    // Outside the variable area nothing moved: the volume header and the FTW areas.
    assert_eq!(bytes[..0x64], orig[..0x64]);
    assert_eq!(bytes[0x40000..], orig[0x40000..]);

    // Our reader sees the same as virt-fw-vars.
    let again = Varstore::parse(&bytes).unwrap();
    let ours = again.get("db", IMAGE_SECURITY_DATABASE).unwrap();
    assert_eq!(ours.data, db[0].3);
}

#[test]
fn reads_what_virt_fw_vars_writes() {
    let Some(_) = inputs() else { return };
    let dir = tempfile::tempdir().unwrap();
    let c = cert(dir.path(), "kmodkit three");
    let der = dir.path().join("kmodkit three.der");
    let out = dir.path().join("theirs.fd");
    let st = Command::new("virt-fw-vars")
        .args(["-i", VARS, "--add-db", &SHIM_LOCK.to_string()])
        .arg(&der)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let theirs = std::fs::read(&out).unwrap();
    let store = Varstore::parse(&theirs).unwrap();
    let db = store
        .get("db", IMAGE_SECURITY_DATABASE)
        .expect("db written by virt-fw-vars");
    assert_eq!(
        db.data,
        SignatureList::write_all(&[SignatureList::x509(&c, SHIM_LOCK)])
    );
    // Same certificate enrolled by us: the same variable data.
    let ours = Varstore::parse(&std::fs::read(VARS).unwrap())
        .unwrap()
        .enroll_db(&c, SHIM_LOCK)
        .unwrap();
    assert_eq!(
        ours.get("db", IMAGE_SECURITY_DATABASE).unwrap().data,
        db.data
    );
    // A store full of junk variables overflows with a clear error, not a bad file.
    let mut s = Varstore::parse(&theirs).unwrap();
    let big = vec![0u8; 300 * 1024];
    let err = s
        .set(efivars::Variable {
            name: "Big".into(),
            vendor: SHIM_LOCK,
            attributes: 7,
            monotonic_count: 0,
            timestamp: Default::default(),
            pubkey_index: 0,
            data: big,
        })
        .unwrap_err();
    assert!(err.to_string().contains("the store holds"), "{err}");
}
