//! The uncompressed kernel of an image, for a direct (PVH) boot.
//!
//! A distribution `vmlinuz` is a bzImage whose payload is compressed (Debian: xz). Booted as
//! it is, the guest first decompresses about 65 MiB under emulation, which is about half the
//! CPU time of a short TCG run. A kernel built with `CONFIG_PVH` carries an ELF note (Xen's
//! `PHYS32_ENTRY`) that lets QEMU load the ELF `vmlinux` straight into guest memory and
//! jump to its 32-bit entry: no real-mode setup, no firmware, no decompression.
//!
//! The payload is decompressed once per image and kept in the cache
//! (`<cache>/vmlinux/<hash of the image>.elf`, replaced atomically); an image without a
//! compressed ELF payload, or whose kernel lacks the PVH note, is booted as it is.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use crate::Error;

/// `XEN_ELFNOTE_PHYS32_ENTRY`: the note QEMU looks for to boot an ELF kernel (PVH).
const PHYS32_ENTRY: u32 = 18;

/// Whether `elf` is a 64- or 32-bit little-endian ELF executable with the PVH entry note.
pub fn has_pvh_note(elf: &[u8]) -> bool {
    let u16_at = |o: usize| elf.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| {
        elf.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        elf.get(o..o + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes)
    };
    if elf.get(..4) != Some(b"\x7fELF") || elf.get(5) != Some(&1) {
        return false;
    }
    let is64 = match elf.get(4) {
        Some(2) => true,
        Some(1) => false,
        _ => return false,
    };
    let (phoff, phentsize, phnum) = if is64 {
        (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    } else {
        (u32_at(0x1c).map(u64::from), u16_at(0x2a), u16_at(0x2c))
    };
    let (Some(phoff), Some(phentsize), Some(phnum)) = (phoff, phentsize, phnum) else {
        return false;
    };
    for i in 0..u64::from(phnum) {
        let Some(ph) = usize::try_from(phoff + i * u64::from(phentsize)).ok() else {
            return false;
        };
        if u32_at(ph) != Some(4) {
            continue; // not PT_NOTE
        }
        let (off, size) = if is64 {
            (u64_at(ph + 8), u64_at(ph + 32))
        } else {
            (
                u32_at(ph + 4).map(u64::from),
                u32_at(ph + 16).map(u64::from),
            )
        };
        let (Some(off), Some(size)) = (off, size) else {
            continue;
        };
        let (Ok(off), Ok(size)) = (usize::try_from(off), usize::try_from(size)) else {
            continue;
        };
        let Some(notes) = off.checked_add(size).and_then(|end| elf.get(off..end)) else {
            continue;
        };
        let mut at = 0usize;
        let align4 = |n: usize| n.div_ceil(4) * 4;
        while at + 12 <= notes.len() {
            let rd =
                |o: usize| u32::from_le_bytes([notes[o], notes[o + 1], notes[o + 2], notes[o + 3]]);
            let (namesz, descsz, kind) = (rd(at) as usize, rd(at + 4) as usize, rd(at + 8));
            let name = notes.get(at + 12..at + 12 + namesz);
            if kind == PHYS32_ENTRY && name == Some(b"Xen\0") {
                return true;
            }
            at += 12 + align4(namesz) + align4(descsz);
        }
    }
    false
}

/// The image to give QEMU's `-kernel` for a PVH boot: `image` itself when it is already an
/// ELF kernel with the PVH note, else its payload decompressed into the cache. `None` when
/// the image cannot boot that way (no compressed ELF payload, no PVH note).
pub fn pvh_kernel(image: &Path) -> Result<Option<PathBuf>, Error> {
    let bytes = std::fs::read(image).map_err(|e| Error::io(image, e))?;
    if bytes.starts_with(b"\x7fELF") {
        return Ok(has_pvh_note(&bytes).then(|| image.to_path_buf()));
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    let dir = kernels::cache::cache_dir().join("vmlinux");
    let cached = dir.join(format!("{:016x}-{}.elf", h.finish(), bytes.len()));
    if cached.is_file() {
        return Ok(Some(cached));
    }
    let Some(elf) = modsign::image::decompress_payload(&bytes) else {
        return Ok(None);
    };
    if !has_pvh_note(&elf) {
        return Ok(None);
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    safeio::replace(&cached, &elf, Some(0o644)).map_err(|e| Error::io(&e.path, e.source))?;
    Ok(Some(cached))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 with one PT_NOTE segment holding `notes`.
    fn elf_with_notes(notes: &[u8]) -> Vec<u8> {
        let mut e = vec![0u8; 64 + 56];
        e[..4].copy_from_slice(b"\x7fELF");
        e[4] = 2;
        e[5] = 1;
        e[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        e[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        e[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        e[64..68].copy_from_slice(&4u32.to_le_bytes());
        e[64 + 8..64 + 16].copy_from_slice(&(120u64).to_le_bytes());
        e[64 + 32..64 + 40].copy_from_slice(&(notes.len() as u64).to_le_bytes());
        e.extend_from_slice(notes);
        e
    }

    fn note(name: &[u8], kind: u32, desc: &[u8]) -> Vec<u8> {
        let mut n = Vec::new();
        n.extend_from_slice(&(name.len() as u32).to_le_bytes());
        n.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        n.extend_from_slice(&kind.to_le_bytes());
        n.extend_from_slice(name);
        n.resize(n.len().div_ceil(4) * 4, 0);
        n.extend_from_slice(desc);
        n.resize(n.len().div_ceil(4) * 4, 0);
        n
    }

    #[test]
    fn finds_the_pvh_note() {
        let mut notes = note(b"GNU\0", 3, &[1; 20]);
        assert!(!has_pvh_note(&elf_with_notes(&notes)));
        notes.extend(note(b"Xen\0", PHYS32_ENTRY, &[0; 4]));
        assert!(has_pvh_note(&elf_with_notes(&notes)));
        // Truncated or foreign input is simply not bootable this way.
        let full = elf_with_notes(&notes);
        for n in 0..full.len() {
            let _ = has_pvh_note(&full[..n]);
        }
        assert!(!has_pvh_note(b"MZ not an elf"));
    }
}
