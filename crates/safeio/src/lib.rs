//! Writing files so that a reader, a second writer or a signal never sees half of them.
//!
//! This is a *system* crate (it may contain `unsafe`, each block with a `// SAFETY:` line):
//! it owns the process-wide pieces that every command which replaces a file shares:
//!
//! - [`replace`]: write to a **unique** temporary file in the target's directory (created
//!   with `O_EXCL`, so two runs never share one), fsync, rename over the target, fsync the
//!   directory. The target is then either its old bytes or its new bytes.
//! - [`Staged`]: the same in two steps, for sets of files that must change together
//!   (depmod's index set, keygen's key and certificate): stage each, then commit them all, or
//!   drop them and nothing changed.
//! - [`Lock`]: an advisory `flock(2)` lock on a file (following it across the renames that
//!   replace it) or on a directory, for read-modify-write cycles that two runs could
//!   interleave (re-signing one module, editing one varstore, one DKMS tree).
//! - Temporary files are registered while they exist; on SIGINT, SIGTERM, SIGHUP or SIGPIPE
//!   they are removed before the process dies of that signal.
//! - [`sigpipe_default`]: a closed pipe ends the process quietly, as it ends C tools
//!   (`kmodkit bpf disasm X | head -1`), instead of panicking in `println!`.
//!
//! It knows nothing of modules or formats: bytes and paths in, `io` errors with the path out.

// A system crate: the one floor where `unsafe` is allowed (each block with a SAFETY line).
#![allow(unsafe_code)]

use std::ffi::{CString, OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};
use std::sync::Once;

/// An I/O error on a path.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct Error {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl Error {
    pub fn new(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error {
            path: path.into(),
            source,
        }
    }
}

type Result<T> = std::result::Result<T, Error>;

/// Permissions of a new file: `None` is 0666 less the umask (what `fopen` gives).
pub type Mode = Option<u32>;

/// Replaces `path` with `bytes` atomically (see the crate docs). On failure `path` is
/// untouched and no temporary file is left.
pub fn replace(path: &Path, bytes: &[u8], mode: Mode) -> Result<()> {
    Staged::write(path, bytes, mode)?.commit()
}

/// A file written in full to a unique temporary name beside its target, not yet renamed.
/// Dropping it removes the temporary file.
#[must_use = "a staged file is removed unless committed"]
pub struct Staged {
    tmp: PathBuf,
    target: PathBuf,
    slot: Option<usize>,
}

impl Staged {
    /// Writes `bytes` to a new temporary file in `path`'s directory and syncs it.
    pub fn write(path: &Path, bytes: &[u8], mode: Mode) -> Result<Staged> {
        let (mut f, staged) = Staged::create(path, mode)?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::new(&staged.tmp, e))?;
        Ok(staged)
    }

    /// Creates the temporary file for `path` (empty) and returns it open for writing, for
    /// callers that stream into it; call [`Staged::commit`] after syncing it.
    pub fn create(path: &Path, mode: Mode) -> Result<(File, Staged)> {
        install_handlers();
        let dir = parent(path);
        let name = path.file_name().unwrap_or(OsStr::new("file"));
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        // Creating and registering a temporary file is one step for the signal handler: it
        // never runs on this thread meanwhile, and waits for other threads to finish it.
        let _creating = Creating::enter().ok_or_else(|| {
            Error::new(
                path,
                std::io::Error::other("the process is ending on a signal"),
            )
        })?;
        for _ in 0..100 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let mut tmp_name = OsString::from(".");
            tmp_name.push(name);
            tmp_name.push(format!(".{}.{n}.{}.tmp", std::process::id(), nonce()));
            let tmp = dir.join(tmp_name);
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode.unwrap_or(0o666))
                .open(&tmp)
            {
                Ok(f) => {
                    // From here on, dropping `staged` removes the file.
                    let staged = Staged {
                        slot: register(&tmp),
                        tmp,
                        target: path.to_path_buf(),
                    };
                    if let Some(m) = mode {
                        // Exact bits, whatever the umask.
                        f.set_permissions(std::fs::Permissions::from_mode(m))
                            .map_err(|e| Error::new(&staged.tmp, e))?;
                    }
                    return Ok((f, staged));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::new(path, e)),
            }
        }
        Err(Error::new(
            path,
            std::io::Error::other("no unique temporary name after 100 tries"),
        ))
    }

    /// The temporary file's path.
    pub fn temp_path(&self) -> &Path {
        &self.tmp
    }

    /// Renames the temporary file over the target without syncing its directory: for
    /// callers that commit many files and make the renames durable with one later sync
    /// (`syncfs`) instead of one directory sync per file. The target is still either its
    /// old or its new bytes at every moment; only *when* the rename reaches the disk is
    /// left to that later sync (or to the kernel's writeback).
    pub fn rename(mut self) -> Result<()> {
        std::fs::rename(&self.tmp, &self.target).map_err(|e| Error::new(&self.target, e))?;
        self.forget();
        Ok(())
    }

    /// Renames the temporary file over the target and syncs the directory.
    pub fn commit(mut self) -> Result<()> {
        std::fs::rename(&self.tmp, &self.target).map_err(|e| Error::new(&self.target, e))?;
        self.forget();
        // The rename is done; a failed directory sync only weakens durability.
        if let Ok(d) = File::open(parent(&self.target)) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Commits every staged file in order; on the first failure the rest are removed. Files
    /// already renamed stay (a rename cannot be undone atomically), so put the file whose
    /// presence means "done" last.
    /// Each directory is synced once, after the last rename into it.
    pub fn commit_all(staged: Vec<Staged>) -> Result<()> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        let mut result = Ok(());
        for mut s in staged {
            if result.is_err() {
                continue; // dropped: removed
            }
            match std::fs::rename(&s.tmp, &s.target) {
                Ok(()) => {
                    s.forget();
                    let d = parent(&s.target).to_path_buf();
                    if !dirs.contains(&d) {
                        dirs.push(d);
                    }
                }
                Err(e) => result = Err(Error::new(&s.target, e)),
            }
        }
        // The renames are done; a failed directory sync only weakens durability.
        for d in dirs {
            if let Ok(d) = File::open(&d) {
                let _ = d.sync_all();
            }
        }
        result
    }

    fn forget(&mut self) {
        if let Some(slot) = self.slot.take() {
            unregister(slot);
        }
        self.tmp = PathBuf::new();
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
        }
        self.forget();
    }
}

/// An exclusive advisory lock, released when dropped.
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Locks the file at `path` (which must exist). Waits for other holders. Since writers
    /// replace files by renaming a new one over them, the lock is taken on whatever `path`
    /// names once the lock is held: a waiter that wakes on a replaced file locks the new one.
    pub fn file(path: &Path) -> Result<Lock> {
        loop {
            let f = File::open(path).map_err(|e| Error::new(path, e))?;
            flock(&f, path)?;
            let held = f.metadata().map_err(|e| Error::new(path, e))?;
            match std::fs::metadata(path) {
                Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() => {
                    return Ok(Lock { _file: f })
                }
                Ok(_) => continue,
                Err(e) => return Err(Error::new(path, e)),
            }
        }
    }

    /// Locks the directory `dir` (which must exist): for sets of files in it, and for files
    /// that do not exist yet.
    pub fn dir(dir: &Path) -> Result<Lock> {
        let f = File::open(dir).map_err(|e| Error::new(dir, e))?;
        flock(&f, dir)?;
        Ok(Lock { _file: f })
    }

    /// The open file (read-only) the lock is held on: for [`Lock::file`], the file that
    /// `path` named once the lock was held, so its bytes and metadata can be read without
    /// opening it again.
    pub fn handle(&self) -> &File {
        &self._file
    }

    /// Locks `path` if it exists, else its directory.
    pub fn target(path: &Path) -> Result<Lock> {
        match Lock::file(path) {
            Err(e) if e.source.kind() == std::io::ErrorKind::NotFound => Lock::dir(parent(path)),
            r => r,
        }
    }
}

fn flock(f: &File, path: &Path) -> Result<()> {
    loop {
        // SAFETY: flock on a file descriptor that `f` owns and keeps open; no memory is
        // passed.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
        if r == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(Error::new(path, e));
        }
    }
}

/// The directory of `path` (`.` for a bare name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A few bits that differ between runs started at the same moment.
fn nonce() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    t.subsec_nanos() ^ (t.as_secs() as u32).rotate_left(16)
}

// ---- temporary files removed on fatal signals ----
//
// A fixed table of C strings that a signal handler can read without locks or allocation:
// each slot holds a pointer leaked by `register` (or null), swapped out by `unregister`.

const SLOTS: usize = 1024;
static TEMPS: [AtomicPtr<libc::c_char>; SLOTS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];
const FATAL: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGPIPE];

fn register(path: &Path) -> Option<usize> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?.into_raw();
    for (i, slot) in TEMPS.iter().enumerate() {
        if slot
            .compare_exchange(std::ptr::null_mut(), c, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            return Some(i);
        }
    }
    // Table full (more than SLOTS temporary files at once): this one is not cleaned up on a
    // signal, but is still removed on every normal path.
    // SAFETY: `c` came from `CString::into_raw` above and was not stored anywhere.
    drop(unsafe { CString::from_raw(c) });
    None
}

fn unregister(slot: usize) {
    let p = TEMPS[slot].swap(std::ptr::null_mut(), Ordering::AcqRel);
    if !p.is_null() {
        // SAFETY: every non-null pointer in TEMPS came from `CString::into_raw` in
        // `register`, and the swap above took it out of the table, so nobody else frees it.
        // (A signal handler running between the swap and here only sees null.)
        drop(unsafe { CString::from_raw(p) });
    }
}

/// Set by the signal handler: no new temporary file may be created.
static DYING: AtomicBool = AtomicBool::new(false);
/// Threads between creating a temporary file and registering it.
static CREATING: AtomicU32 = AtomicU32::new(0);

/// A thread creating and registering a temporary file, with the fatal signals blocked on it
/// (so the handler runs elsewhere and waits for it). `None` once the process is dying.
struct Creating {
    old_mask: libc::sigset_t,
}

impl Creating {
    fn enter() -> Option<Creating> {
        // SAFETY: sigset_t is plain data that sigemptyset/sigaddset initialise;
        // pthread_sigmask only changes this thread's mask and writes `old_mask`.
        let old_mask = unsafe {
            let mut block: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut block);
            for sig in FATAL {
                libc::sigaddset(&mut block, sig);
            }
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old);
            old
        };
        let me = Creating { old_mask };
        CREATING.fetch_add(1, Ordering::SeqCst);
        if DYING.load(Ordering::SeqCst) {
            // Dropping `me` restores the mask; the pending signal then ends the process.
            return None;
        }
        Some(me)
    }
}

impl Drop for Creating {
    fn drop(&mut self) {
        CREATING.fetch_sub(1, Ordering::SeqCst);
        // SAFETY: restores the mask saved by `enter` on this same thread.
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.old_mask, std::ptr::null_mut());
        }
    }
}

extern "C" fn on_fatal_signal(sig: libc::c_int) {
    // No thread starts a temporary file from now on; wait for those that did to register
    // theirs (they run with the signal blocked, so none of them is this thread).
    DYING.store(true, Ordering::SeqCst);
    while CREATING.load(Ordering::SeqCst) != 0 {
        std::hint::spin_loop();
    }
    for slot in &TEMPS {
        let p = slot.load(Ordering::Acquire);
        if !p.is_null() {
            // SAFETY: `p` is a NUL-terminated string leaked by `register`; unlink is
            // async-signal-safe.
            unsafe { libc::unlink(p) };
        }
    }
    // SAFETY: restore the default action and re-raise, so that the process ends of this
    // signal as it would have without us (exit status 128+sig in a shell); both calls are
    // async-signal-safe.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// Installs the cleanup handler for the fatal signals whose disposition is still the
/// default (a handler of the program's own, like the tracer's SIGINT, is left alone).
fn install_handlers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for sig in FATAL {
            // SAFETY: sigaction with a zeroed struct, an empty mask, and a handler that only
            // calls async-signal-safe functions; `old` is written by the kernel.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, std::ptr::null(), &mut old) != 0 {
                    continue;
                }
                if old.sa_sigaction != libc::SIG_DFL {
                    continue;
                }
                let mut act: libc::sigaction = std::mem::zeroed();
                act.sa_sigaction = on_fatal_signal as *const () as libc::sighandler_t;
                libc::sigemptyset(&mut act.sa_mask);
                libc::sigaction(sig, &act, std::ptr::null_mut());
            }
        }
    });
}

/// Lets a write to a closed pipe end the process by SIGPIPE, quietly, as in C programs
/// (Rust's runtime ignores SIGPIPE, so `println!` would panic on EPIPE instead). Call it
/// first thing in `main`.
pub fn sigpipe_default() {
    // SAFETY: setting a signal's disposition to its default has no memory effects.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// `path` + `suffix` (e.g. `.~signed~`).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The temporary files of this crate that a crash (SIGKILL, power loss) left in `dir`, for
/// tools that clean up after such runs.
pub fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok())
        .map(|e| e.file_name().into_vec())
        .filter(|n| n.starts_with(b".") && n.ends_with(b".tmp"))
        .map(|n| dir.join(OsString::from_vec(n)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_writes_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x");
        replace(&p, b"one", None).unwrap();
        replace(&p, b"two", Some(0o600)).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        assert!(leftovers(d.path()).is_empty());
    }

    #[test]
    fn dropped_stage_changes_nothing() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x");
        replace(&p, b"old", None).unwrap();
        let s = Staged::write(&p, b"new", None).unwrap();
        assert!(s.temp_path().exists());
        drop(s);
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert!(leftovers(d.path()).is_empty());
    }

    #[test]
    fn concurrent_writers_never_mix() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x");
        replace(&p, &[0u8; 4096], None).unwrap();
        std::thread::scope(|s| {
            for t in 1..=8u8 {
                let p = &p;
                s.spawn(move || {
                    for _ in 0..50 {
                        let _l = Lock::file(p).unwrap();
                        let cur = std::fs::read(p).unwrap();
                        assert!(cur.iter().all(|&b| b == cur[0]), "mixed file");
                        replace(p, &[t; 4096], None).unwrap();
                    }
                });
            }
        });
        let end = std::fs::read(&p).unwrap();
        assert_eq!(end.len(), 4096);
        assert!(leftovers(d.path()).is_empty());
    }

    #[test]
    fn a_missing_target_locks_its_directory() {
        let d = tempfile::tempdir().unwrap();
        let _l = Lock::target(&d.path().join("absent")).unwrap();
    }
}
