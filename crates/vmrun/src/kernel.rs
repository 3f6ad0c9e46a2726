//! Which kernel to boot: the one asked for, the running kernel's image, or a Debian kernel
//! package unpacked into the cache (the layout `scripts/corpus` also uses:
//! `<cache>/corpus/linux-image-<release>/{boot,lib/modules}` with a `.complete` marker).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// The kernel release an x86 bzImage names in its setup header (`kernel_version`, a pointer
/// at 0x20E relative to 0x200, to "6.1.0-56-amd64 (debian-kernel@...) #1 SMP ...").
pub fn image_release(image: &[u8]) -> Option<String> {
    if image.get(0x202..0x206)? != b"HdrS" {
        return None;
    }
    let ptr = u16::from_le_bytes([*image.get(0x20E)?, *image.get(0x20F)?]) as usize + 0x200;
    let tail = image.get(ptr..)?;
    let end = tail.iter().position(|&b| b == 0 || b == b' ')?;
    let s = std::str::from_utf8(&tail[..end]).ok()?;
    (!s.is_empty()).then(|| s.to_string())
}

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

/// The running kernel's image, `/boot/vmlinuz-$(uname -r)`, if it is there.
pub fn running_image() -> Option<PathBuf> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    let p = PathBuf::from(format!("/boot/vmlinuz-{}", release.trim()));
    p.is_file().then_some(p)
}

/// Images of the kernel packages unpacked in the cache, newest directory first.
pub fn cached_images() -> Vec<PathBuf> {
    let dir = cache_dir().join("corpus");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    for e in rd.flatten() {
        let root = e.path();
        if !root.join(".complete").exists() {
            continue;
        }
        let Ok(boot) = std::fs::read_dir(root.join("boot")) else {
            continue;
        };
        for b in boot.flatten() {
            if b.file_name().to_string_lossy().starts_with("vmlinuz-") {
                let t = root
                    .join(".complete")
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                found.push((t, b.path()));
            }
        }
    }
    found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    found.into_iter().map(|(_, p)| p).collect()
}

/// The default kernel when none is given: the running kernel's image, else the newest
/// Debian kernel package in the cache.
pub fn default_image() -> Result<PathBuf, Error> {
    if let Some(p) = running_image() {
        return Ok(p);
    }
    cached_images().into_iter().next().ok_or_else(|| {
        Error::NotFound(format!(
            "no kernel image: /boot/vmlinuz-$(uname -r) does not exist and {} holds no \
             unpacked kernel package (use --kernel VMLINUZ or --debian-kernel)",
            cache_dir().join("corpus").display()
        ))
    })
}

/// For an image inside an unpacked package (`<root>/boot/vmlinuz-R`), that package's root.
pub fn package_root(image: &Path) -> Option<PathBuf> {
    let boot = image.parent()?;
    (boot.file_name()? == "boot").then(|| boot.parent().map(Path::to_path_buf))?
}

fn run(cmd: &mut Command) -> Result<String, Error> {
    let name = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| Error::Tool {
        cmd: name.clone(),
        what: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(Error::Tool {
            cmd: name,
            what: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Downloads the current Debian kernel package for the host's architecture (the one
/// `apt-cache depends linux-image-<arch>` names today) and unpacks it into the cache,
/// once. Returns its image.
pub fn fetch_debian() -> Result<PathBuf, Error> {
    let arch = run(Command::new("dpkg").arg("--print-architecture"))?
        .trim()
        .to_string();
    let deps = run(Command::new("apt-cache").args(["depends", &format!("linux-image-{arch}")]))?;
    let pkg = deps
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .find(|p| {
            p.starts_with("linux-image-") && p.as_bytes().get(12).is_some_and(u8::is_ascii_digit)
        })
        .map(|p| p.split(':').next().unwrap_or(p).to_string())
        .ok_or_else(|| Error::NotFound(format!("apt-cache does not know linux-image-{arch}")))?;
    let corpus = cache_dir().join("corpus");
    let dest = corpus.join(&pkg);
    if !dest.join(".complete").exists() {
        std::fs::create_dir_all(&corpus).map_err(|e| Error::io(&corpus, e))?;
        let work = tempfile::Builder::new()
            .prefix(".work.")
            .tempdir_in(&corpus)
            .map_err(|e| Error::io(&corpus, e))?;
        run(Command::new("apt-get")
            .args(["download", "-q", &pkg])
            .current_dir(work.path()))?;
        let deb = std::fs::read_dir(work.path())
            .map_err(|e| Error::io(work.path(), e))?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .ok_or_else(|| Error::NotFound(format!("apt-get download {pkg} gave no .deb")))?;
        let root = work.path().join("root");
        run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))?;
        std::fs::write(root.join(".complete"), b"").map_err(|e| Error::io(&root, e))?;
        let _ = std::fs::remove_dir_all(&dest);
        std::fs::rename(&root, &dest).map_err(|e| Error::io(&dest, e))?;
    }
    let release = pkg.trim_start_matches("linux-image-");
    let image = dest.join("boot").join(format!("vmlinuz-{release}"));
    if image.is_file() {
        Ok(image)
    } else {
        Err(Error::NotFound(format!("{}: missing", image.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_from_setup_header() {
        let mut img = vec![0u8; 0x400];
        img[0x202..0x206].copy_from_slice(b"HdrS");
        img[0x20E..0x210].copy_from_slice(&0x100u16.to_le_bytes());
        let s = b"6.1.0-56-amd64 (debian-kernel@lists.debian.org) #1\0";
        img[0x300..0x300 + s.len()].copy_from_slice(s);
        assert_eq!(image_release(&img).as_deref(), Some("6.1.0-56-amd64"));
        img[0x202] = b'X';
        assert_eq!(image_release(&img), None);
        assert_eq!(image_release(&[0u8; 16]), None);
    }
}
