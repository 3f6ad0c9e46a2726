//! UEFI firmware for the guest: OVMF's code (read-only) and a variable store (a per-boot
//! copy, since the firmware writes to it), as the two pflash units of a q35 machine.
//! A varstore whose `db` holds a certificate makes Debian's kernel trust that key for
//! modules (the platform keyring).

use std::path::{Path, PathBuf};

use crate::Error;

/// The owner GUID kmodkit writes on the `db` entries it enrolls (any GUID will do; the
/// firmware and the kernel do not check owners). Spelled so that it is recognisable.
pub const KMODKIT_OWNER: &str = "6b6d6f64-6b69-7400-0000-000000000001";

#[derive(Debug, Clone)]
pub struct Firmware {
    pub code: PathBuf,
    pub vars: PathBuf,
}

/// Where Debian's `ovmf` package puts the 4 MiB build (the code and vars must match).
const OVMF_DIRS: &[&str] = &["/usr/share/OVMF", "/usr/share/ovmf", "/usr/share/edk2/ovmf"];

impl Firmware {
    /// OVMF's code and its pristine (empty, Secure Boot off) variable store.
    pub fn find_ovmf() -> Result<Firmware, Error> {
        for d in OVMF_DIRS {
            let d = Path::new(d);
            let code = d.join("OVMF_CODE_4M.fd");
            let vars = d.join("OVMF_VARS_4M.fd");
            if code.is_file() && vars.is_file() {
                return Ok(Firmware { code, vars });
            }
        }
        Err(Error::NotFound(format!(
            "OVMF_CODE_4M.fd/OVMF_VARS_4M.fd not found in {} (install the ovmf package)",
            OVMF_DIRS.join(", ")
        )))
    }

    /// A copy of this firmware's variable store with `certs` (PEM or DER files) added to
    /// `db`, written into `dir`. Debian's kernel loads `db` into its platform keyring and
    /// trusts it for module signatures, with Secure Boot off.
    pub fn with_db(&self, certs: &[PathBuf], dir: &Path) -> Result<Firmware, Error> {
        let bytes = std::fs::read(&self.vars).map_err(|e| Error::io(&self.vars, e))?;
        let fmt = |what: String| Error::Format {
            path: self.vars.clone(),
            what,
        };
        let mut store = efivars::Varstore::parse(&bytes).map_err(|e| fmt(e.to_string()))?;
        let owner = efivars::Guid::parse(KMODKIT_OWNER).map_err(|e| fmt(e.to_string()))?;
        for c in certs {
            let data = std::fs::read(c).map_err(|e| Error::io(c, e))?;
            let parsed =
                modsign::cert::Cert::parse_file(&data, &c.display().to_string()).map_err(|e| {
                    Error::Format {
                        path: c.clone(),
                        what: e.to_string(),
                    }
                })?;
            for cert in parsed {
                store = store
                    .enroll_db(cert.der(), owner)
                    .map_err(|e| Error::Format {
                        path: c.clone(),
                        what: format!("enrolling into {}: {e}", self.vars.display()),
                    })?;
            }
        }
        let out = dir.join("OVMF_VARS.db.fd");
        std::fs::write(&out, store.to_bytes()).map_err(|e| Error::io(&out, e))?;
        Ok(Firmware {
            code: self.code.clone(),
            vars: out,
        })
    }

    pub fn qemu_args(&self) -> Vec<String> {
        vec![
            "-machine".into(),
            "q35".into(),
            "-drive".into(),
            format!(
                "if=pflash,format=raw,unit=0,readonly=on,file={}",
                self.code.display()
            ),
            "-drive".into(),
            format!("if=pflash,format=raw,unit=1,file={}", self.vars.display()),
        ]
    }
}
