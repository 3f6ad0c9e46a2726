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
use std::sync::{mpsc, Condvar, Mutex};

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

/// Files staged between two syncs: the committer syncs and renames at least this many at
/// once.
const BATCH: usize = 256;
/// Files locked and not yet committed, at most: below the number of temporary files
/// `safeio` removes on a signal (1024) and of open files (each lock holds one). At about
/// 2.5 ms of signing per module on two cores, this is more than a second of work: a slow
/// `syncfs` (it waits for every writer of the file system, not only us) does not idle the
/// CPUs.
const IN_FLIGHT: usize = 512;

/// Sign many module files in parallel; `progress` is called once per file.
///
/// Every file is replaced atomically under its lock, but a tree is not synced file by file
/// (thousands of fsyncs would cost more than the signing). Three kinds of threads form a
/// pipeline:
/// - one *locker* locks the files one after the other in path order (so that two runs
///   over overlapping trees cannot deadlock), at most [`IN_FLIGHT`] ahead of the commits;
/// - one *signer* per core reads each locked file through its lock, signs it and writes
///   the result to a temporary file beside it — pure CPU work but for the writes into the
///   page cache;
/// - the calling thread *commits*: once [`BATCH`] files are staged, it syncs the file
///   systems holding them (`syncfs`, once per file system), renames each over its original
///   and releases their locks, while the signers go on.
///
/// A crash (or SIGKILL, or power loss) leaves every module either old or new: a new file is
/// on disk before it is renamed over the old one. The renames themselves are made durable
/// by the next batch's sync and by one last sync before returning, not by a directory
/// fsync per file (that was 4,000 synchronous writes per tree for nothing a reader could
/// see). A signal leaves no temporary file (`safeio` removes them).
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
    let mut unique = Vec::with_capacity(order.len());
    for p in order {
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata(&p) {
            Ok(m) if !seen.insert((m.dev(), m.ino())) => progress(),
            _ => unique.push(p),
        }
    }
    let unique = &unique;
    let signers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let budget = &Budget::new(IN_FLIGHT);
    let (job_tx, job_rx) = mpsc::channel::<(usize, Result<safeio::Lock, safeio::Error>)>();
    let job_rx = &Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<Staged>();
    let mut results: Vec<Option<anyhow::Result<()>>> = unique.iter().map(|_| None).collect();
    std::thread::scope(|s| {
        s.spawn(move || {
            for (i, p) in unique.iter().enumerate() {
                budget.take();
                if job_tx.send((i, safeio::Lock::file(p))).is_err() {
                    break;
                }
            }
        });
        for _ in 0..signers {
            let done_tx = done_tx.clone();
            s.spawn(move || loop {
                let job = job_rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                let Ok((i, lock)) = job else { break };
                let staged = match lock {
                    Ok(lock) => {
                        let r = stage(signer, &unique[i], &lock);
                        Staged {
                            index: i,
                            lock: Some(lock),
                            result: r,
                        }
                    }
                    Err(e) => Staged {
                        index: i,
                        lock: None,
                        result: Err(e.into()),
                    },
                };
                progress();
                if done_tx.send(staged).is_err() {
                    break;
                }
            });
        }
        drop(done_tx);
        let mut committer = Committer::default();
        let mut batch = Vec::with_capacity(2 * BATCH);
        while let Ok(first) = done_rx.recv() {
            batch.push(first);
            batch.extend(done_rx.try_iter());
            if batch.len() >= BATCH {
                committer.commit(&mut batch, &mut results, budget);
            }
        }
        committer.commit(&mut batch, &mut results, budget);
        committer.finish();
    });
    unique
        .iter()
        .zip(results)
        .map(|(p, r)| (p.clone(), r.unwrap_or_else(|| Err(anyhow!("not signed")))))
        .collect()
}

/// How many more files may be locked: the locker takes one per file, the committer gives
/// them back once the files are committed and unlocked.
struct Budget {
    left: Mutex<usize>,
    freed: Condvar,
}

impl Budget {
    fn new(n: usize) -> Self {
        Budget {
            left: Mutex::new(n),
            freed: Condvar::new(),
        }
    }
    fn take(&self) {
        let mut left = self.left.lock().unwrap_or_else(|e| e.into_inner());
        while *left == 0 {
            left = self.freed.wait(left).unwrap_or_else(|e| e.into_inner());
        }
        *left -= 1;
    }
    fn give(&self, n: usize) {
        *self.left.lock().unwrap_or_else(|e| e.into_inner()) += n;
        self.freed.notify_one();
    }
}

/// A file signed into a temporary file beside it (or the reason it was not), with its lock.
struct Staged {
    index: usize,
    lock: Option<safeio::Lock>,
    result: anyhow::Result<safeio::Staged>,
}

/// The committing side of [`sign_files`]: the file systems it renamed files on, synced once
/// more at the end.
#[derive(Default)]
struct Committer {
    devices: Vec<(u64, std::fs::File)>,
}

impl Committer {
    /// Sync the file systems holding `batch`'s new files (once each), rename each over its
    /// original, release the locks; record each file's result.
    fn commit(
        &mut self,
        batch: &mut Vec<Staged>,
        results: &mut [Option<anyhow::Result<()>>],
        budget: &Budget,
    ) {
        use std::os::unix::fs::MetadataExt;
        if batch.is_empty() {
            return;
        }
        let mut synced: Vec<u64> = Vec::new();
        let mut sync_error: Option<String> = None;
        for st in batch.iter() {
            let (Some(lock), Ok(_)) = (&st.lock, &st.result) else {
                continue;
            };
            let f = lock.handle();
            let Ok(dev) = f.metadata().map(|m| m.dev()) else {
                continue;
            };
            if synced.contains(&dev) {
                continue;
            }
            synced.push(dev);
            if let Err(e) = rustix::fs::syncfs(f) {
                sync_error = Some(format!(
                    "{}: syncing its file system: {e}",
                    st.result
                        .as_ref()
                        .map_or(Path::new(""), |s| s.temp_path())
                        .display()
                ));
            }
            if !self.devices.iter().any(|(d, _)| *d == dev) {
                if let Ok(dup) = f.try_clone() {
                    self.devices.push((dev, dup));
                }
            }
        }
        let n = batch.len();
        for st in batch.drain(..) {
            let r = st.result.and_then(|staged| match &sync_error {
                // Dropping the staged file removes it; the module is untouched.
                Some(e) => Err(anyhow!("{e}")),
                None => Ok(staged.rename()?),
            });
            results[st.index] = Some(r);
            drop(st.lock);
        }
        budget.give(n);
    }

    /// One last sync of each file system, making the last renames durable. A failure here
    /// cannot undo them: it only weakens durability, as a failed directory sync does in
    /// `safeio::Staged::commit`.
    fn finish(self) {
        for (_, f) in self.devices {
            let _ = rustix::fs::syncfs(&f);
        }
    }
}

/// Sign the file `lock` holds (`path`) into a temporary file beside it (written, not
/// synced), with the file's permissions. The file is read through the lock's descriptor:
/// the bytes signed are those of the file locked.
fn stage(
    signer: &ModuleSigner<'_>,
    path: &Path,
    lock: &safeio::Lock,
) -> anyhow::Result<safeio::Staged> {
    use std::os::unix::fs::PermissionsExt;
    let what = || path.display().to_string();
    let file = lock.handle();
    let meta = file.metadata().with_context(what)?;
    // Into the signer thread's reused buffer: no fresh pages to fault in for each module.
    let raw = moddb::source::read_to_spare(file).with_context(what)?;
    let elf = module_elf(path, &raw)?;
    let content = checked_content(path, &elf)?;
    let mode = Some(meta.permissions().mode() & 0o7777);
    let compression = Compression::of_name(path.as_os_str().as_bytes());
    // The CPU work first, so that the temporary file exists for as short a time as can be.
    let (head, tail): (std::borrow::Cow<'_, [u8]>, Vec<u8>) = match compression {
        // Written in two pieces: no copy of the module's bytes.
        Compression::None => (
            content.into(),
            module::trailer(&signer.pkcs7(content).with_context(what)?),
        ),
        c => {
            let signed = signer.sign(content).with_context(what)?;
            (c.compress(&signed).with_context(what)?.into(), Vec::new())
        }
    };
    let (mut f, staged) = safeio::Staged::create(path, mode)?;
    f.write_all(&head)
        .and_then(|()| f.write_all(&tail))
        .with_context(|| staged.temp_path().display().to_string())?;
    Ok(staged)
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
