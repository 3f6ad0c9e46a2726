//! Module files and trees: the orchestration around `modsign` (which works on bytes).
//! Reading files (mapped when large), validating them as modules (`modfile::validate`)
//! before acting, signing or stripping, recompressing as the file name says, and replacing
//! them through `safeio` (unique temporary files, a lock around each read-modify-write, temp
//! files removed on SIGINT/SIGTERM) — one file, or thousands in parallel (rayon).

use anyhow::{anyhow, Context};
use modfile::Compression;
use modsign::module::{self, Failure, ModuleSigner, Verified};
use modsign::Keyring;
use rayon::prelude::*;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The ELF bytes of a module file (decompressed when compressed).
fn module_elf<'a>(path: &Path, raw: &'a [u8]) -> anyhow::Result<std::borrow::Cow<'a, [u8]>> {
    modfile::decompress(raw).with_context(|| path.display().to_string())
}

/// The module's content without any signature, checked to be a module (any machine) as
/// the kernel's loader checks it.
fn checked_content<'a>(path: &Path, elf: &'a [u8]) -> anyhow::Result<&'a [u8]> {
    let content = module::unsigned_content(elf).with_context(|| path.display().to_string())?;
    modfile::validate(content, None)
        .map_err(|e| anyhow!("{}: not a valid module: {e}", path.display()))?;
    Ok(content)
}

/// The bytes `path` holds once (re-)signed: decompress, check, replace the signature,
/// recompress as `dest`'s name says.
fn signed_bytes(signer: &ModuleSigner<'_>, path: &Path, dest: &Path) -> anyhow::Result<Vec<u8>> {
    let raw = std::fs::read(path).with_context(|| path.display().to_string())?;
    let elf = module_elf(path, &raw)?;
    let content = checked_content(path, &elf)?;
    let signed = signer
        .sign(content)
        .with_context(|| path.display().to_string())?;
    Compression::of_name(dest.as_os_str().as_bytes())
        .compress(&signed)
        .with_context(|| dest.display().to_string())
}

/// Permissions of `path`, kept by the file that replaces it.
fn mode_of(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

/// Sign (or re-sign) one module file, writing `output` (default: the file itself)
/// atomically with the input's permissions, under a lock on the file written.
pub fn sign_file(
    signer: &ModuleSigner<'_>,
    path: &Path,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let dest = output.unwrap_or(path);
    let _lock = safeio::Lock::target(dest)?;
    let out = signed_bytes(signer, path, dest)?;
    safeio::replace(dest, &out, mode_of(path))?;
    Ok(())
}

/// Files locked, signed and staged together before one sync. Two batches are in flight
/// at once (see [`sign_files`]): together below the number of temporary files `safeio`
/// can remove on a signal (256), and of open files.
const BATCH: usize = 100;

/// Sign many module files in parallel; `progress` is called once per file.
///
/// Every file is replaced atomically under its lock, but a tree is not synced file by file
/// (thousands of fsyncs would cost more than the signing): a batch of files is locked (in
/// path order, so that two runs over overlapping trees cannot deadlock), signed into
/// temporary files beside them, the file systems holding those are synced once (`syncfs`),
/// and only then is each renamed over its original and the locks released. A crash leaves
/// every module either old or new; a signal leaves no temporary file.
pub fn sign_files(
    signer: &ModuleSigner<'_>,
    paths: &[PathBuf],
    progress: &(dyn Fn() + Sync),
) -> Vec<(PathBuf, anyhow::Result<()>)> {
    let mut order: Vec<PathBuf> = paths.to_vec();
    order.sort();
    order.dedup();
    // One lock per file: the same file under two names would wait on itself.
    let mut seen = std::collections::HashSet::new();
    let mut results = Vec::with_capacity(order.len());
    let mut unique = Vec::with_capacity(order.len());
    for p in order {
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata(&p) {
            Ok(m) if !seen.insert((m.dev(), m.ino())) => progress(),
            _ => unique.push(p),
        }
    }
    // A pipeline: while one batch is synced and renamed (waiting on the disk), the next
    // is signed (on the CPUs). Batches are locked in path order, one after the other, so
    // the order of lock acquisition stays the global path order.
    io_pool(|| {
        let mut staged: Option<Batch<'_>> = None;
        for batch in unique.chunks(BATCH) {
            let (done, next) = rayon::join(
                || staged.take().map(commit_batch).unwrap_or_default(),
                || stage_batch(signer, batch, progress),
            );
            results.extend(done);
            staged = Some(next);
        }
        results.extend(staged.map(commit_batch).unwrap_or_default());
    });
    results
}

/// A batch signed into temporary files, holding its files' locks.
struct Batch<'a> {
    paths: &'a [PathBuf],
    locks: Vec<anyhow::Result<safeio::Lock>>,
    staged: Vec<anyhow::Result<Pending>>,
}

/// A module's new bytes written beside it, not yet synced or renamed.
struct Pending {
    staged: safeio::Staged,
    device: u64,
}

/// Lock a batch's files and sign each into a temporary file beside it.
fn stage_batch<'a>(
    signer: &ModuleSigner<'_>,
    batch: &'a [PathBuf],
    progress: &(dyn Fn() + Sync),
) -> Batch<'a> {
    // Locks first, one after the other in path order.
    let locks: Vec<anyhow::Result<safeio::Lock>> = batch
        .iter()
        .map(|p| safeio::Lock::file(p).map_err(anyhow::Error::from))
        .collect();
    let staged: Vec<anyhow::Result<Pending>> = batch
        .par_iter()
        .zip(&locks)
        .map(|(p, lock)| {
            let r = match lock {
                Err(e) => Err(anyhow!("{e:#}")),
                Ok(_) => stage(signer, p),
            };
            progress();
            r
        })
        .collect();
    Batch {
        paths: batch,
        locks,
        staged,
    }
}

/// Sync a staged batch (once per file system), rename each file over its original, and
/// release the locks.
fn commit_batch(b: Batch<'_>) -> Vec<(PathBuf, anyhow::Result<()>)> {
    let Batch {
        paths: batch,
        locks,
        staged,
    } = b;
    // One sync per file system that received files.
    let mut devices: Vec<u64> = Vec::new();
    let mut sync_error: Option<String> = None;
    for pending in staged.iter().flatten() {
        if devices.contains(&pending.device) {
            continue;
        }
        devices.push(pending.device);
        let tmp = pending.staged.temp_path();
        let synced = std::fs::File::open(tmp).and_then(|f| Ok(rustix::fs::syncfs(&f)?));
        if let Err(e) = synced {
            sync_error = Some(format!("{}: syncing its file system: {e}", tmp.display()));
        }
    }
    // Renames are metadata work that waits on the file system: side by side too.
    let out = batch
        .par_iter()
        .zip(staged)
        .map(|(p, r)| {
            let r = r.and_then(|pending| match &sync_error {
                // Dropping the staged file removes it; the module is untouched.
                Some(e) => Err(anyhow!("{e}")),
                None => Ok(pending.staged.commit()?),
            });
            (p.clone(), r)
        })
        .collect();
    drop(locks);
    out
}

/// Sign `path` into a temporary file beside it (written, not synced).
fn stage(signer: &ModuleSigner<'_>, path: &Path) -> anyhow::Result<Pending> {
    use std::os::unix::fs::MetadataExt;
    let bytes = signed_bytes(signer, path, path)?;
    let (mut f, staged) = safeio::Staged::create(path, mode_of(path))?;
    f.write_all(&bytes)
        .with_context(|| staged.temp_path().display().to_string())?;
    let device = f
        .metadata()
        .with_context(|| staged.temp_path().display().to_string())?
        .dev();
    Ok(Pending { staged, device })
}

/// Run `f` in a rayon pool of four threads per core (file work waits on the file system
/// as much as it computes), or in the global pool if that cannot be built.
fn io_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let threads = std::thread::available_parallelism().map_or(4, |n| n.get() * 4);
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(f),
        Err(_) => f(),
    }
}

/// Remove the signature of one module file (decompress, check, strip, recompress),
/// atomically under its lock, keeping its permissions. An unsigned module is left as it is.
pub fn strip_file(path: &Path) -> anyhow::Result<()> {
    let _lock = safeio::Lock::file(path)?;
    let raw = std::fs::read(path).with_context(|| path.display().to_string())?;
    let elf = module_elf(path, &raw)?;
    let content = checked_content(path, &elf)?;
    if content.len() == elf.len() {
        return Ok(());
    }
    let out = Compression::of_name(path.as_os_str().as_bytes())
        .compress(content)
        .with_context(|| path.display().to_string())?;
    safeio::replace(path, &out, mode_of(path))?;
    Ok(())
}

/// Why verifying a file failed: it could not be read, or its signature is not good.
#[derive(Debug)]
pub enum FileFailure {
    Read(anyhow::Error),
    Signature(Failure),
}

impl std::fmt::Display for FileFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileFailure::Read(e) => write!(f, "{e:#}"),
            FileFailure::Signature(s) => write!(f, "{s}"),
        }
    }
}

/// Verify one module file (compressed ones are decompressed first, as the kernel's
/// in-kernel decompression does before checking the signature).
pub fn verify_file(path: &Path, keyring: &Keyring) -> Result<Verified, FileFailure> {
    // Mapped (large files) or read: no copy of the tree's 400 MiB.
    let raw = modsys::file::read(path)
        .with_context(|| path.display().to_string())
        .map_err(FileFailure::Read)?;
    let data = module_elf(path, &raw).map_err(FileFailure::Read)?;
    module::verify(&data, keyring).map_err(FileFailure::Signature)
}

/// Verify many files in parallel, results in input order.
pub fn verify_files(
    paths: &[PathBuf],
    keyring: &Keyring,
    progress: &(dyn Fn() + Sync),
) -> Vec<Result<Verified, FileFailure>> {
    io_pool(|| {
        paths
            .par_iter()
            .map(|p| {
                let r = verify_file(p, keyring);
                progress();
                r
            })
            .collect()
    })
}

/// Every module file under `dir` (`*.ko`, `*.ko.xz`, `*.ko.zst`, `*.ko.gz`), sorted.
pub fn find_modules(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let rd = std::fs::read_dir(&d).with_context(|| d.display().to_string())?;
        for e in rd {
            let e = e.with_context(|| d.display().to_string())?;
            let p = e.path();
            let t = e.file_type().with_context(|| p.display().to_string())?;
            if t.is_dir() {
                stack.push(p);
            } else if t.is_file() {
                let s = p.as_os_str().as_bytes();
                if [&b".ko"[..], b".ko.xz", b".ko.zst", b".ko.gz"]
                    .iter()
                    .any(|ext| s.ends_with(ext))
                {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    Ok(out)
}
