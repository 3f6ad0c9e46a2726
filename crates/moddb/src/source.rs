//! How the crate gets the bytes of a file it reads (module files, index files): through a
//! [`Reader`] the caller chooses. The plain one reads the whole file; a system crate can map
//! it instead (kmod maps module and index files, and touches only a few pages of each).
//!
//! This module is the bottom of the crate: [`crate::index`], [`crate::Context`] and
//! [`crate::depmod`] all use it and it uses none of them.

use std::path::Path;

/// A file's bytes as the caller chose to get them (read, or mapped by a system crate).
pub type Bytes = Box<dyn std::ops::Deref<Target = [u8]> + Send + Sync>;

/// How files are read.
pub type Reader = dyn Fn(&Path) -> std::io::Result<Bytes> + Sync;

/// The plain reader: the whole file into memory.
pub fn read_whole(path: &Path) -> std::io::Result<Bytes> {
    Ok(Box::new(std::fs::read(path)?))
}

/// [`read_whole`] into a buffer the calling thread reuses ([`modfile::spare`]): when the
/// returned bytes are dropped on the same thread, a later read there fills the same memory.
pub fn read_reusing(path: &Path) -> std::io::Result<Bytes> {
    read_to_spare(std::fs::File::open(path)?)
}

/// All of `r` into the calling thread's spare buffer, as [`read_reusing`] reads a file.
pub fn read_to_spare(mut r: impl std::io::Read) -> std::io::Result<Bytes> {
    let mut v = modfile::spare::take();
    r.read_to_end(&mut v)?;
    Ok(Box::new(Reused(v)))
}

/// Bytes that go back to their thread's spare buffer when dropped.
struct Reused(Vec<u8>);

impl std::ops::Deref for Reused {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Reused {
    fn drop(&mut self) {
        modfile::spare::give(std::mem::take(&mut self.0));
    }
}

/// A file opened for reads at offsets (`pread`), so that a tool needing a few pieces of a
/// large file reads only those.
pub trait ReadAt: Send + Sync {
    /// The file's length when it was opened.
    fn size(&self) -> u64;
    /// Whether it is a regular file (what `stat` said when it was opened).
    fn is_file(&self) -> bool;
    /// Fill `buf` from `offset` (an error if the file ends first).
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()>;
}

/// How files are opened for [`ReadAt`] reads.
pub type OpenAt = fn(&Path) -> std::io::Result<Box<dyn ReadAt>>;
