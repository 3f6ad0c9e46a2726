//! Files and trees of modules: atomic replacement, compressed modules, and parallel
//! signing and verification (rayon). Progress is reported through a callback so that the
//! CLI decides whether to draw a bar.

use crate::module::{self, Failure, ModuleSigner, Verified};
use crate::{Error, Keyring};
use rayon::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Write `bytes` to `dest` atomically: into `tmp` (same directory), fsync, rename over
/// `dest`. `mode`: permissions for the new file (`None`: 0666 less the umask, as a fresh
/// `fopen` gives). On failure the temporary file is removed and `dest` is untouched.
pub fn write_atomic(dest: &Path, tmp: &Path, bytes: &[u8], mode: Option<u32>) -> Result<(), Error> {
    use std::os::unix::fs::OpenOptionsExt;
    let result = (|| -> std::io::Result<()> {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        opts.mode(mode.unwrap_or(0o666));
        let mut f = opts.open(tmp)?;
        if let Some(m) = mode {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(m))?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(tmp);
        return Err(Error::io(tmp, e));
    }
    std::fs::rename(tmp, dest).map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        Error::io(dest, e)
    })
}

/// `path` + `suffix` (e.g. `.~signed~`).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Compression of a module file, by its name (the kernel build compresses after signing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Xz,
    Zstd,
    Gzip,
}

impl Compression {
    pub fn of_path(p: &Path) -> Compression {
        let s = p.to_string_lossy();
        if s.ends_with(".xz") {
            Compression::Xz
        } else if s.ends_with(".zst") {
            Compression::Zstd
        } else if s.ends_with(".gz") {
            Compression::Gzip
        } else {
            Compression::None
        }
    }

    /// Compress as the kernel's `scripts/Makefile.modinst` does (xz --check=crc32
    /// --lzma2=dict=1MiB, zstd -T0 --ultra -22, gzip -n -f -9).
    pub fn compress(self, data: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            Compression::None => Ok(data.to_vec()),
            Compression::Xz => {
                let mut opts =
                    liblzma::stream::LzmaOptions::new_preset(6).map_err(|e| e.to_string())?;
                opts.dict_size(1 << 20);
                let mut filters = liblzma::stream::Filters::new();
                filters.lzma2(&opts);
                let stream = liblzma::stream::Stream::new_stream_encoder(
                    &filters,
                    liblzma::stream::Check::Crc32,
                )
                .map_err(|e| e.to_string())?;
                let mut enc = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
                enc.write_all(data).map_err(|e| e.to_string())?;
                enc.finish().map_err(|e| e.to_string())
            }
            Compression::Zstd => zstd::bulk::compress(data, 19).map_err(|e| e.to_string()),
            Compression::Gzip => {
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                enc.write_all(data).map_err(|e| e.to_string())?;
                enc.finish().map_err(|e| e.to_string())
            }
        }
    }
}

/// The ELF bytes of a module file (decompressed when compressed).
pub fn module_bytes(path: &Path, raw: &[u8]) -> Result<Vec<u8>, Error> {
    modfile::decompress(raw)
        .map(|c| c.into_owned())
        .map_err(|e| Error::Module {
            what: path.display().to_string(),
            msg: e.to_string(),
        })
}

/// The bytes a module file holds once (re-)signed: decompress, replace the signature,
/// recompress as `dest`'s name says.
fn signed_bytes(signer: &ModuleSigner<'_>, path: &Path, dest: &Path) -> Result<Vec<u8>, Error> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let elf = module_bytes(path, &raw)?;
    let content = module::unsigned_content(&elf).map_err(|e| Error::Module {
        what: path.display().to_string(),
        msg: e.to_string(),
    })?;
    if !content.starts_with(b"\x7fELF") {
        return Err(Error::Module {
            what: path.display().to_string(),
            msg: "not an ELF module".into(),
        });
    }
    let signed = signer.sign(content)?;
    Compression::of_path(dest)
        .compress(&signed)
        .map_err(|e| Error::Module {
            what: dest.display().to_string(),
            msg: format!("compressing: {e}"),
        })
}

fn mode_of(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

/// Sign (or re-sign) one module file: decompress, replace the signature, recompress,
/// write `output` (default: the file itself) atomically, keeping its permissions.
pub fn sign_file(
    signer: &ModuleSigner<'_>,
    path: &Path,
    output: Option<&Path>,
) -> Result<(), Error> {
    let dest = output.unwrap_or(path);
    let out = signed_bytes(signer, path, dest)?;
    write_atomic(dest, &with_suffix(dest, ".~signed~"), &out, mode_of(path))
}

/// Write a temporary file without syncing it (the caller syncs the file system once).
fn write_unsynced(tmp: &Path, bytes: &[u8], mode: Option<u32>) -> Result<(), Error> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let r = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode.unwrap_or(0o666))
            .open(tmp)?;
        if let Some(m) = mode {
            f.set_permissions(std::fs::Permissions::from_mode(m))?;
        }
        f.write_all(bytes)
    })();
    r.map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        Error::io(tmp, e)
    })
}

/// Sign many module files in parallel; `progress` is called once per file signed.
///
/// Every file is replaced atomically, but a tree is not synced file by file (thousands of
/// fsyncs would cost more than the signing): all new files are written next to the old
/// ones, the file systems holding them are synced once (`syncfs`), and only then is each
/// renamed over its original. A crash leaves every module either old or new.
pub fn sign_files(
    signer: &ModuleSigner<'_>,
    paths: &[PathBuf],
    progress: &(dyn Fn() + Sync),
) -> Vec<(PathBuf, Result<(), Error>)> {
    let staged: Vec<(PathBuf, Result<PathBuf, Error>)> = paths
        .par_iter()
        .map(|p| {
            let tmp = with_suffix(p, ".~signed~");
            let r = signed_bytes(signer, p, p)
                .and_then(|bytes| write_unsynced(&tmp, &bytes, mode_of(p)))
                .map(|()| tmp);
            progress();
            (p.clone(), r)
        })
        .collect();
    // One sync per file system that received files.
    let mut devices: Vec<u64> = Vec::new();
    let mut sync_error: Option<(PathBuf, std::io::Error)> = None;
    for (_, r) in &staged {
        let Ok(tmp) = r else { continue };
        use std::os::unix::fs::MetadataExt;
        let Ok(f) = std::fs::File::open(tmp) else {
            continue;
        };
        let dev = f.metadata().map(|m| m.dev()).unwrap_or(0);
        if devices.contains(&dev) {
            continue;
        }
        devices.push(dev);
        if let Err(e) = rustix::fs::syncfs(&f) {
            sync_error = Some((tmp.clone(), e.into()));
        }
    }
    staged
        .into_iter()
        .map(|(p, r)| {
            let r = r.and_then(|tmp| {
                if let Some((what, e)) = &sync_error {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(Error::io(
                        what,
                        std::io::Error::new(e.kind(), e.to_string()),
                    ));
                }
                std::fs::rename(&tmp, &p).map_err(|e| {
                    let _ = std::fs::remove_file(&tmp);
                    Error::io(&p, e)
                })
            });
            (p, r)
        })
        .collect()
}

/// Remove the signature of one module file (decompress, strip, recompress), atomically,
/// keeping its permissions. An unsigned module is left as it is.
pub fn strip_file(path: &Path) -> Result<(), Error> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let elf = module_bytes(path, &raw)?;
    let content = module::unsigned_content(&elf).map_err(|e| Error::Module {
        what: path.display().to_string(),
        msg: e.to_string(),
    })?;
    if content.len() == elf.len() {
        return Ok(());
    }
    let out = Compression::of_path(path)
        .compress(content)
        .map_err(|e| Error::Module {
            what: path.display().to_string(),
            msg: format!("compressing: {e}"),
        })?;
    write_atomic(path, &with_suffix(path, ".~stripped~"), &out, mode_of(path))
}

/// Why verifying a file failed: it could not be read, or its signature is not good.
#[derive(Debug)]
pub enum FileFailure {
    Read(Error),
    Signature(Failure),
}

impl std::fmt::Display for FileFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileFailure::Read(e) => write!(f, "{e}"),
            FileFailure::Signature(s) => write!(f, "{s}"),
        }
    }
}

/// Verify one module file (compressed ones are decompressed first, as the kernel's
/// in-kernel decompression does before checking the signature).
pub fn verify_file(path: &Path, keyring: &Keyring) -> Result<Verified, FileFailure> {
    // Mapped (large files) or read: no copy of the tree's 400 MiB.
    let raw = modsys::file::read(path).map_err(|e| FileFailure::Read(Error::io(path, e)))?;
    let data = modfile::decompress(&raw).map_err(|e| {
        FileFailure::Read(Error::Module {
            what: path.display().to_string(),
            msg: e.to_string(),
        })
    })?;
    module::verify(&data, keyring).map_err(FileFailure::Signature)
}

/// Verify many files in parallel, results in input order.
pub fn verify_files(
    paths: &[PathBuf],
    keyring: &Keyring,
    progress: &(dyn Fn() + Sync),
) -> Vec<Result<Verified, FileFailure>> {
    paths
        .par_iter()
        .map(|p| {
            let r = verify_file(p, keyring);
            progress();
            r
        })
        .collect()
}

/// Every module file under `dir` (`*.ko`, `*.ko.xz`, `*.ko.zst`, `*.ko.gz`), sorted.
pub fn find_modules(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let rd = std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))?;
        for e in rd {
            let e = e.map_err(|e| Error::io(&d, e))?;
            let p = e.path();
            let t = e.file_type().map_err(|err| Error::io(&p, err))?;
            if t.is_dir() {
                stack.push(p);
            } else if t.is_file() {
                let s = p.to_string_lossy();
                if s.ends_with(".ko")
                    || s.ends_with(".ko.xz")
                    || s.ends_with(".ko.zst")
                    || s.ends_with(".ko.gz")
                {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    Ok(out)
}
