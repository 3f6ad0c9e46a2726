//! Kernel packages kmodkit downloaded and unpacked: `<cache>/corpus/linux-image-R/` with
//! `boot/` and `lib/modules/R/` and a `.complete` marker (the layout `scripts/corpus` makes
//! and `kmodkit vm --debian-kernel` fills).

use crate::InstalledKernel;
use std::path::PathBuf;

/// kmodkit's cache: `$KMODKIT_CACHE`, else `$XDG_CACHE_HOME/kmodkit`, else `~/.cache/kmodkit`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("KMODKIT_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("kmodkit");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cache/kmodkit")
}

/// Where unpacked packages live.
pub fn corpus_dir() -> PathBuf {
    cache_dir().join("corpus")
}

/// The kernels of the packages unpacked in the cache that have an image, most recently
/// completed first.
pub fn cached_kernels() -> Vec<InstalledKernel> {
    let Ok(rd) = std::fs::read_dir(corpus_dir()) else {
        return Vec::new();
    };
    let mut found: Vec<(std::time::SystemTime, InstalledKernel)> = Vec::new();
    for e in rd.flatten() {
        let root = e.path();
        let Ok(done) = root.join(".complete").metadata() else {
            continue;
        };
        let t = done.modified().unwrap_or(std::time::UNIX_EPOCH);
        for k in InstalledKernel::installed(&root) {
            if k.image.is_some() {
                found.push((t, k));
            }
        }
    }
    found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.release.cmp(&b.1.release)));
    found.into_iter().map(|(_, k)| k).collect()
}
