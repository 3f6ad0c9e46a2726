//! What a kernel exports to modules: every symbol with its modversions CRC, whether it is
//! GPL-only, its namespace and the module that exports it (`vmlinux` for the kernel
//! itself). Read from `Module.symvers`, the file Kbuild writes for the kernel and its
//! in-tree modules (Debian ships it in `linux-headers-R`) and for every out-of-tree build
//! (`KBUILD_EXTRA_SYMBOLS` takes such files), so the same reader serves both.
//!
//! A line is `0xCRC<TAB>symbol<TAB>module<TAB>EXPORT_SYMBOL[_GPL]<TAB>namespace`
//! (scripts/mod/modpost.c `write_dump`, 5.9 and later; the namespace may be empty).

use std::collections::{BTreeSet, HashMap};

/// One exported symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    /// The CRC its `__kcrctab` entry holds (`None`: exported without one).
    pub crc: Option<u32>,
    /// `EXPORT_SYMBOL_GPL`: only modules with a GPL-compatible licence find it.
    pub gpl_only: bool,
    /// Its symbol namespace (`EXPORT_SYMBOL_NS`), empty for none.
    pub namespace: String,
    /// The module exporting it (its name, `-` as `_`), or `vmlinux`.
    pub owner: String,
}

/// The symbols a kernel exports, by name.
#[derive(Clone, Debug, Default)]
pub struct Exports {
    map: HashMap<String, Export>,
}

/// A `Module.symvers` line that is not one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {what}")]
pub struct SymversError {
    pub line: usize,
    pub what: String,
}

impl Exports {
    /// The symbols of one `Module.symvers` text.
    pub fn parse_symvers(text: &str) -> Result<Exports, SymversError> {
        let mut e = Exports::default();
        e.add_symvers(text)?;
        Ok(e)
    }

    /// Adds the symbols of a `Module.symvers` text (later files win, as in modpost).
    pub fn add_symvers(&mut self, text: &str) -> Result<(), SymversError> {
        for (i, line) in text.lines().enumerate() {
            if line.is_empty() {
                continue;
            }
            let err = |what: &str| SymversError {
                line: i + 1,
                what: what.to_string(),
            };
            let mut f = line.split('\t');
            let (Some(crc), Some(name), Some(module), Some(kind)) =
                (f.next(), f.next(), f.next(), f.next())
            else {
                return Err(err("expected CRC, symbol, module, export type"));
            };
            let namespace = f.next().unwrap_or("").to_string();
            let crc = crc
                .strip_prefix("0x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .ok_or_else(|| err(&format!("'{crc}' is not a 0x CRC")))?;
            let gpl_only = match kind {
                "EXPORT_SYMBOL" => false,
                "EXPORT_SYMBOL_GPL" => true,
                other => return Err(err(&format!("unknown export type '{other}'"))),
            };
            self.map.insert(
                name.to_string(),
                Export {
                    crc: Some(crc),
                    gpl_only,
                    namespace,
                    owner: owner_name(module),
                },
            );
        }
        Ok(())
    }

    /// Adds one symbol.
    pub fn insert(&mut self, name: &str, export: Export) {
        self.map.insert(name.to_string(), export);
    }

    /// Takes one symbol out.
    pub fn remove(&mut self, name: &str) -> Option<Export> {
        self.map.remove(name)
    }

    pub fn get(&self, name: &str) -> Option<&Export> {
        self.map.get(name)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The modules that export something (`vmlinux` included).
    pub fn owners(&self) -> BTreeSet<&str> {
        self.map.values().map(|e| e.owner.as_str()).collect()
    }
}

/// `drivers/gpu/drm/drm-kms` or `/tmp/x/dep-a` -> `drm_kms`, `dep_a`.
fn owner_name(module: &str) -> String {
    module
        .rsplit('/')
        .next()
        .unwrap_or(module)
        .replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symvers_lines() {
        let e = Exports::parse_symvers(
            "0x92997ed8\t_printk\tvmlinux\tEXPORT_SYMBOL\t\n\
             0x98bd89cd\tdma_buf_put\tvmlinux\tEXPORT_SYMBOL_GPL\tDMA_BUF\n\
             0x00000001\tdrm_x\tdrivers/gpu/drm/drm-kms\tEXPORT_SYMBOL\t\n",
        )
        .unwrap();
        assert_eq!(e.len(), 3);
        let p = e.get("dma_buf_put").unwrap();
        assert!(p.gpl_only);
        assert_eq!((p.namespace.as_str(), p.crc), ("DMA_BUF", Some(0x98bd89cd)));
        assert_eq!(e.get("drm_x").unwrap().owner, "drm_kms");
        assert!(e.owners().contains("vmlinux"));
        let bad = Exports::parse_symvers("0x1\ta\tvmlinux\n").unwrap_err();
        assert_eq!(bad.line, 1);
        assert!(Exports::parse_symvers("zz\ta\tvmlinux\tEXPORT_SYMBOL\t\n").is_err());
    }
}
