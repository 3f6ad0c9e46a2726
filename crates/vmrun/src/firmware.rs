//! UEFI firmware for the guest: OVMF's code (read-only) and a variable store (a per-boot
//! copy, since the firmware writes to it), as the two pflash units of a q35 machine.
//! A varstore whose `db` holds a certificate makes Debian's kernel trust that key for
//! modules (the platform keyring).

use std::path::{Path, PathBuf};

use crate::Error;

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
