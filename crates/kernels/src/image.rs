//! What a kernel image file is, from its first bytes: an x86 bzImage (the setup header's
//! "HdrS" magic at 0x202, which also points at the release string), an ELF `vmlinux`, an
//! arm64 `Image` ("ARM\x64" at 0x38) or a 32-bit ARM zImage (0x016f2818 at 0x24). Anything
//! else is not a kernel, and is said so before QEMU is asked to boot it.

use std::fmt;

/// The kind of a kernel image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageKind {
    /// x86 boot protocol image (`arch/x86/boot/bzImage`, Debian's `vmlinuz-*` on amd64).
    BzImage,
    /// An ELF `vmlinux` (QEMU's `-kernel` boots it through its PVH note on x86).
    Elf,
    /// arm64 `Image` (possibly inside an EFI stub).
    Arm64Image,
    /// 32-bit ARM `zImage`.
    ArmZImage,
}

impl fmt::Display for ImageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ImageKind::BzImage => "bzImage",
            ImageKind::Elf => "ELF vmlinux",
            ImageKind::Arm64Image => "arm64 Image",
            ImageKind::ArmZImage => "ARM zImage",
        })
    }
}

/// The image's kind, or `None` when the bytes are not a kernel image this crate knows.
pub fn kind(image: &[u8]) -> Option<ImageKind> {
    if image.get(0x202..0x206) == Some(b"HdrS") {
        Some(ImageKind::BzImage)
    } else if image.starts_with(b"\x7fELF") && elf_type(image) == Some(ET_EXEC) {
        // A vmlinux is an executable (ET_EXEC); programs like /bin/sh are ET_DYN.
        Some(ImageKind::Elf)
    } else if image.get(0x38..0x3C) == Some(b"ARM\x64") {
        Some(ImageKind::Arm64Image)
    } else if image.get(0x24..0x28) == Some(&0x016f_2818u32.to_le_bytes()) {
        Some(ImageKind::ArmZImage)
    } else {
        None
    }
}

const ET_EXEC: u16 = 2;

/// `e_type` of an ELF header, in the file's byte order.
fn elf_type(image: &[u8]) -> Option<u16> {
    let b = [*image.get(16)?, *image.get(17)?];
    match image.get(5)? {
        1 => Some(u16::from_le_bytes(b)),
        2 => Some(u16::from_be_bytes(b)),
        _ => None,
    }
}

/// Whether an ELF executable carries the kernel's `Linux version ` banner (a static program
/// is ET_EXEC too).
pub fn has_linux_banner(image: &[u8]) -> bool {
    banner(image)
        .and_then(line)
        .is_some_and(|v| first_word(&v).is_some())
}

/// What follows the `Linux version ` banner.
fn banner(image: &[u8]) -> Option<&[u8]> {
    const BANNER: &[u8] = b"Linux version ";
    let at = image.windows(BANNER.len()).position(|w| w == BANNER)? + BANNER.len();
    Some(&image[at..])
}

/// The text of `tail` up to a NUL or end of line (at most 256 bytes), if any.
fn line(tail: &[u8]) -> Option<String> {
    let tail = &tail[..tail.len().min(256)];
    let end = tail
        .iter()
        .position(|&b| b == 0 || b == b'\n')
        .unwrap_or(tail.len());
    let s = std::str::from_utf8(&tail[..end]).ok()?;
    (!s.is_empty()).then(|| s.to_string())
}

/// A release: the first word of a version string, printable.
fn first_word(v: &str) -> Option<String> {
    let r = v.split(' ').next()?;
    (!r.is_empty() && r.bytes().all(|b| b.is_ascii_graphic())).then(|| r.to_string())
}

/// Why a file is not a kernel image, for messages.
pub const NOT_AN_IMAGE: &str =
    "not a kernel image: not a bzImage (no \"HdrS\" setup header at 0x202), \
     not an ELF vmlinux, not an ARM Image or zImage";

/// The version string an image carries: an x86 bzImage's setup header (`kernel_version`, a
/// pointer at 0x20E relative to 0x200, to "6.1.0-56-amd64 (debian-kernel@...) #1 SMP
/// PREEMPT_DYNAMIC Debian 6.1.192-2 (...)"), or the `Linux version ` banner of an
/// uncompressed image (ELF vmlinux) without those words; up to its end of line.
pub fn version_string(image: &[u8]) -> Option<String> {
    let tail = match kind(image)? {
        ImageKind::BzImage => {
            let ptr = u16::from_le_bytes([*image.get(0x20E)?, *image.get(0x20F)?]) as usize + 0x200;
            image.get(ptr..)?
        }
        _ => banner(image)?,
    };
    line(tail)
}

/// The kernel release an image names: the first word of its [`version_string`].
pub fn release(image: &[u8]) -> Option<String> {
    first_word(&version_string(image)?)
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
        assert_eq!(kind(&img), Some(ImageKind::BzImage));
        assert_eq!(release(&img).as_deref(), Some("6.1.0-56-amd64"));
        img[0x202] = b'X';
        assert_eq!(kind(&img), None);
        assert_eq!(release(&img), None);
        assert_eq!(release(&[0u8; 16]), None);
    }

    #[test]
    fn elf_banner_and_other_kinds() {
        let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
        elf.extend_from_slice(&[0; 64]);
        elf[16] = 2; // ET_EXEC
        let mut pie = elf.clone();
        pie[16] = 3; // ET_DYN: a program, not a kernel
        assert_eq!(kind(&pie), None);
        elf.extend_from_slice(b"Linux version 6.12.117 (me@host) #1\0");
        assert_eq!(kind(&elf), Some(ImageKind::Elf));
        assert_eq!(release(&elf).as_deref(), Some("6.12.117"));
        let mut arm64 = vec![0u8; 0x40];
        arm64[0x38..0x3C].copy_from_slice(b"ARM\x64");
        assert_eq!(kind(&arm64), Some(ImageKind::Arm64Image));
        assert_eq!(kind(b"#!/bin/sh\necho hello\n"), None);
    }
}
