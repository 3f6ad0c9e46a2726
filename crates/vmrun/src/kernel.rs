//! Which kernel to boot: the one asked for, the running kernel's image, or a Debian kernel
//! package unpacked into the cache (the layout `scripts/corpus` also uses:
//! `<cache>/corpus/linux-image-<release>/{boot,lib/modules}` with a `.complete` marker).
//! Where a kernel's files are is the `kernels` crate's knowledge; this file downloads.

use kernels::InstalledKernel;
use std::path::PathBuf;
use std::process::Command;

use crate::Error;

/// The default kernel when none is given: the running kernel's image, else the newest
/// x86 Debian kernel package in the cache.
pub fn default_kernel() -> Result<InstalledKernel, Error> {
    if let Ok(k) = InstalledKernel::running() {
        if k.image.is_some() {
            return Ok(k);
        }
    }
    // The cache may hold other architectures' packages (the corpus has arm64, armmp,
    // s390x): QEMU here is x86_64, so only x86 images qualify.
    kernels::cache::cached_kernels()
        .into_iter()
        .find(|k| {
            k.image.as_deref().is_some_and(|i| {
                matches!(
                    kernels::check_image(i),
                    Ok(kernels::ImageKind::BzImage | kernels::ImageKind::Elf)
                )
            })
        })
        .ok_or_else(|| {
            Error::NotFound(format!(
                "no kernel image: /boot/vmlinuz-$(uname -r) does not exist and {} holds no \
                 unpacked kernel package (use --kernel VMLINUZ or --debian-kernel)",
                kernels::cache::corpus_dir().display()
            ))
        })
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
    let corpus = kernels::cache::corpus_dir();
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
