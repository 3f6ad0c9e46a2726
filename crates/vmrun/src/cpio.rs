//! A writer for the cpio "newc" format (SVR4 without CRC), the only archive format the
//! kernel's initramfs unpacker reads (init/initramfs.c).
//!
//! Each entry is a 110-byte ASCII header (`070701` and thirteen 8-digit hex fields), the
//! NUL-terminated name padded to a multiple of four bytes (counting the header), then the
//! data padded to a multiple of four. The archive ends with an entry named `TRAILER!!!`.
//!
//! The writer is deterministic: inode numbers count up from 1, times are 0 and owners root,
//! so the same tree gives the same bytes (and a cacheable image).

use std::io::{self, Write};

/// File type bits of `st_mode`, as cpio stores them.
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFCHR: u32 = 0o020000;

/// Streams entries into `W` in newc format.
pub struct Writer<W: Write> {
    out: W,
    written: u64,
    next_ino: u32,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> Self {
        Writer {
            out,
            written: 0,
            next_ino: 1,
        }
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn pad4(&mut self) -> io::Result<()> {
        let pad = (4 - (self.written % 4) as usize) % 4;
        self.put(&[0u8; 3][..pad])
    }

    /// One entry: `mode` holds the type and permission bits; `rdev` is (major, minor) for
    /// device nodes.
    fn entry(&mut self, name: &str, mode: u32, data: &[u8], rdev: (u32, u32)) -> io::Result<()> {
        let name = name.trim_start_matches('/');
        if name.is_empty() || name.contains('\0') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cpio: invalid entry name {name:?}"),
            ));
        }
        let size = u32::try_from(data.len()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "cpio: {name}: {} bytes is over the 4 GiB newc limit",
                    data.len()
                ),
            )
        })?;
        let ino = if name == "TRAILER!!!" {
            0
        } else {
            self.next_ino += 1;
            self.next_ino - 1
        };
        let nlink = if mode & 0o170000 == S_IFDIR { 2 } else { 1 };
        let fields: [u32; 13] = [
            ino,
            mode,
            0, // uid
            0, // gid
            nlink,
            0, // mtime
            size,
            0, // devmajor
            0, // devminor
            rdev.0,
            rdev.1,
            name.len() as u32 + 1,
            0, // check (only used by the CRC format)
        ];
        let mut header = String::with_capacity(110);
        header.push_str("070701");
        for f in fields {
            header.push_str(&format!("{f:08X}"));
        }
        self.put(header.as_bytes())?;
        self.put(name.as_bytes())?;
        self.put(&[0])?;
        self.pad4()?;
        self.put(data)?;
        self.pad4()
    }

    pub fn dir(&mut self, name: &str, perm: u32) -> io::Result<()> {
        self.entry(name, S_IFDIR | (perm & 0o7777), &[], (0, 0))
    }

    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) -> io::Result<()> {
        self.entry(name, S_IFREG | (perm & 0o7777), data, (0, 0))
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> io::Result<()> {
        self.entry(name, S_IFLNK | 0o777, target.as_bytes(), (0, 0))
    }

    pub fn char_device(&mut self, name: &str, perm: u32, major: u32, minor: u32) -> io::Result<()> {
        self.entry(name, S_IFCHR | (perm & 0o7777), &[], (major, minor))
    }

    /// Writes the trailer and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.entry("TRAILER!!!", 0, &[], (0, 0))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout_and_padding() {
        let mut w = Writer::new(Vec::new());
        w.file("a", 0o644, b"xyz").unwrap();
        let out = w.finish().unwrap();
        // 110-byte header + "a\0" = 112 (already aligned), data 3 + 1 pad.
        assert_eq!(&out[..6], b"070701");
        assert_eq!(&out[6..14], b"00000001"); // ino
        assert_eq!(&out[14..22], b"000081A4"); // S_IFREG | 0644
        assert_eq!(&out[54..62], b"00000003"); // size
        assert_eq!(&out[94..102], b"00000002"); // namesize incl. NUL
        assert_eq!(&out[110..112], b"a\0");
        assert_eq!(&out[112..116], b"xyz\0");
        assert_eq!(&out[116..122], b"070701");
        assert_eq!(out.len() % 4, 0);
        let trailer = &out[116..];
        assert_eq!(&trailer[110..121], b"TRAILER!!!\0");
    }

    #[test]
    fn rejects_bad_names() {
        let mut w = Writer::new(Vec::new());
        assert!(w.file("", 0o644, b"").is_err());
        assert!(w.file("a\0b", 0o644, b"").is_err());
    }
}
