//! Reading files the fast way: small files are read, larger ones are mapped, so that tools
//! which look at a few sections of thousands of modules (modinfo, depmod) do not copy
//! hundreds of megabytes.

use std::fs::File;
use std::io::Read;
use std::ops::Deref;
use std::path::Path;

/// Files smaller than this are read into memory; mapping them costs more than it saves.
const MAP_THRESHOLD: u64 = 16 * 1024;

/// A file's bytes, read or mapped.
pub enum FileBytes {
    Read(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Read(v) => v,
            FileBytes::Mapped(m) => m,
        }
    }
}

/// Read or map the whole file at `path`.
pub fn read(path: &Path) -> std::io::Result<FileBytes> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    if len < MAP_THRESHOLD {
        let mut v = Vec::with_capacity(len as usize);
        f.read_to_end(&mut v)?;
        return Ok(FileBytes::Read(v));
    }
    // SAFETY: the map is read-only and private to this process. Module files are not
    // modified in place by the tools that write them (they write a new file and rename it),
    // so the mapped bytes do not change under us; a file truncated by someone else while
    // mapped would raise SIGBUS, the same exposure kmod's own mmap has.
    let map = unsafe { memmap2::Mmap::map(&f)? };
    Ok(FileBytes::Mapped(map))
}

/// [`read`] in the shape `moddb` takes a file reader (`moddb::source::Reader`).
pub fn read_boxed(path: &Path) -> std::io::Result<moddb::source::Bytes> {
    Ok(Box::new(read(path)?))
}

/// A file opened for `pread`s, with its length (see [`open_at`]).
struct At {
    file: File,
    len: u64,
    is_file: bool,
}

impl moddb::source::ReadAt for At {
    fn size(&self) -> u64 {
        self.len
    }
    fn is_file(&self) -> bool {
        self.is_file
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(&self.file, buf, offset)
    }
}

/// Open `path` for reads at offsets, in the shape `moddb` takes it
/// (`moddb::source::OpenAt`): no map, so no page faults and no `munmap` (whose TLB
/// shootdowns across threads cost more than copying the few pieces a tool needs).
/// Opened without blocking (a FIFO opens at once), so that a caller can open first and
/// ask [`moddb::source::ReadAt::is_file`] after, one path walk instead of two.
pub fn open_at(path: &Path) -> std::io::Result<Box<dyn moddb::source::ReadAt>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    Ok(Box::new(At {
        file,
        len: meta.len(),
        is_file: meta.is_file(),
    }))
}

/// Tune glibc's allocator for tools that read many files on several threads: blocks up to
/// 32 MiB come from the heap instead of a map of their own, and up to 64 MiB free at the
/// top of a heap stay there. By default every block over 128 KiB (a module, its symbol
/// lists) is mapped and unmapped on its own, and each unmap stops the other cores for a
/// TLB shootdown; depmod over 4,000 modules took a third longer.
pub fn tune_allocator() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets two parameters of glibc's allocator; it takes no pointers
    // and is safe to call at any time (here before any thread is started).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}
