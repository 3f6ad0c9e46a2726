//! The one error type of this crate: what was wrong, and where.

use crate::Compression;

/// Why a module could not be read. Offsets are into the decompressed image.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The first bytes are not `\x7fELF` (and no known compression magic either).
    #[error("not an ELF file: bad magic at offset 0 (expected 7f 45 4c 46)")]
    NotElf,
    /// The data ends before a structure that must be there.
    #[error("truncated: expected {what} at offset {offset} ({needed} bytes), but the file has {len} bytes")]
    Truncated {
        what: &'static str,
        offset: u64,
        needed: u64,
        len: u64,
    },
    /// A field has a value that cannot be right.
    #[error("malformed {what} at offset {offset}: {detail}")]
    Malformed {
        what: &'static str,
        offset: u64,
        detail: String,
    },
    /// Decompression failed.
    #[error("{format} data is corrupt: {detail}")]
    Decompress { format: Compression, detail: String },
    /// Compression failed.
    #[error("{format} compression failed: {detail}")]
    Compress { format: Compression, detail: String },
}

impl Error {
    pub(crate) fn truncated(what: &'static str, offset: u64, needed: u64, len: usize) -> Self {
        Error::Truncated {
            what,
            offset,
            needed,
            len: len as u64,
        }
    }

    pub(crate) fn malformed(what: &'static str, offset: u64, detail: impl Into<String>) -> Self {
        Error::Malformed {
            what,
            offset,
            detail: detail.into(),
        }
    }
}
