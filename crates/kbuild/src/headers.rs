//! What a kernel's headers say about it: the symbols it and its modules export, with their
//! CRCs (`Module.symvers`). Where the headers are is `kernels::InstalledKernel`'s business.

use crate::{Error, Result};
use std::collections::HashMap;
use std::path::Path;

/// A symbol exported by the kernel or one of its modules (`Module.symvers`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    pub crc: u32,
    pub module: String,
    pub kind: String,
}

/// `Module.symvers` at `path`: symbol -> export.
pub fn symvers(path: &Path) -> Result<HashMap<String, Export>> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    let mut out = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let mut f = line.split('\t');
        let (Some(crc), Some(sym), Some(module), Some(kind)) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            return Err(Error::Invalid(format!(
                "{}:{}: expected crc, symbol, module, export type",
                path.display(),
                n + 1
            )));
        };
        let crc = u32::from_str_radix(crc.trim_start_matches("0x"), 16).map_err(|_| {
            Error::Invalid(format!("{}:{}: bad CRC '{crc}'", path.display(), n + 1))
        })?;
        out.insert(
            sym.to_string(),
            Export {
                crc,
                module: module.to_string(),
                kind: kind.to_string(),
            },
        );
    }
    Ok(out)
}
