//! Certificates built into a kernel image.
//!
//! The kernel keeps its built-in keys as concatenated DER X.509 certificates at
//! `system_certificate_list` in init data. Distribution images are stripped, so the symbol is
//! not there to find; instead the (decompressed) image is scanned for DER certificates: a
//! `SEQUENCE` with a two-byte length whose first element is again a `SEQUENCE` (the
//! TBSCertificate), accepted when the whole parses as X.509.
//!
//! A bzImage/vmlinuz (or an EFI zboot image) carries the kernel compressed; the payload is
//! found as `scripts/extract-vmlinux` finds it: try each compression magic at every place it
//! occurs, and keep the first decompression that yields a kernel-sized output. Raw `vmlinux`
//! ELF files and uncompressed arm64 `Image` files are scanned as they are.

use crate::{Cert, Error};
use std::io::Read;

/// Smallest decompressed output taken for a kernel.
const MIN_KERNEL: usize = 1 << 20;
/// Largest decompressed output read (guards against decompression bombs).
const MAX_KERNEL: usize = 1 << 30;
/// How many occurrences of one magic are tried.
const MAX_TRIES: usize = 32;

/// Every DER certificate found in `data` (in order, without duplicates).
pub fn scan_der_certs(data: &[u8]) -> Vec<Cert> {
    let mut out: Vec<Cert> = Vec::new();
    let mut i = 0;
    while i + 8 <= data.len() {
        let Some(p) = data[i..data.len() - 7].iter().position(|&b| b == 0x30) else {
            break;
        };
        let at = i + p;
        let d = &data[at..];
        if d[1] == 0x82 && d[4] == 0x30 && (d[5] == 0x82 || d[5] == 0x81) {
            let len = 4 + u16::from_be_bytes([d[2], d[3]]) as usize;
            let inner = if d[5] == 0x82 {
                4 + u16::from_be_bytes([d[6], d[7]]) as usize
            } else {
                3 + d[6] as usize
            };
            if len <= d.len() && inner + 4 < len {
                if let Ok(c) = Cert::from_der(&d[..len]) {
                    if !out.iter().any(|o| o.der() == c.der()) {
                        out.push(c);
                    }
                    i = at + len;
                    continue;
                }
            }
        }
        i = at + 1;
    }
    out
}

#[derive(Clone, Copy, Debug)]
enum Method {
    Gzip,
    Xz,
    Bzip2,
    Lzma,
    Lz4Legacy,
    Zstd,
}

const MAGICS: &[(&[u8], Method)] = &[
    (b"\x1f\x8b\x08", Method::Gzip),
    (b"\xfd7zXZ\x00", Method::Xz),
    (b"BZh", Method::Bzip2),
    (b"\x5d\x00\x00", Method::Lzma),
    (b"\x02\x21\x4c\x18", Method::Lz4Legacy),
    (b"\x28\xb5\x2f\xfd", Method::Zstd),
];

/// Read all a decoder gives, keeping what came before an error (a kernel payload is
/// followed by other data, which some decoders report as an error at the very end).
fn drain<R: Read>(mut r: R) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if out.len() > MAX_KERNEL {
                    break;
                }
            }
        }
    }
    out
}

/// The kernel's lz4 payload: the legacy frame (magic, then blocks of u32 LE size + data,
/// each decompressing to at most 8 MiB).
fn lz4_legacy(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 4;
    let mut block = vec![0u8; 8 << 20];
    while at + 4 <= data.len() {
        let n = u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]) as usize;
        if n == 0x184C2102 || n == 0 || at + 4 + n > data.len() {
            break;
        }
        match lz4_flex::block::decompress_into(&data[at + 4..at + 4 + n], &mut block) {
            Ok(len) => out.extend_from_slice(&block[..len]),
            Err(_) => break,
        }
        at += 4 + n;
        if out.len() > MAX_KERNEL {
            break;
        }
    }
    out
}

fn decompress(method: Method, data: &[u8]) -> Vec<u8> {
    match method {
        Method::Gzip => drain(flate2::read::GzDecoder::new(data)),
        Method::Xz => drain(liblzma::read::XzDecoder::new(data)),
        Method::Lzma => match liblzma::stream::Stream::new_lzma_decoder(u64::MAX) {
            Ok(s) => drain(liblzma::read::XzDecoder::new_stream(data, s)),
            Err(_) => Vec::new(),
        },
        Method::Bzip2 => {
            // "BZh" + block size digit + block magic (pi): skip chance matches early.
            if data.len() < 10 || !(b'1'..=b'9').contains(&data[3]) || data[4..10] != *b"1AY&SY" {
                return Vec::new();
            }
            drain(bzip2::read::BzDecoder::new(data))
        }
        Method::Lz4Legacy => lz4_legacy(data),
        Method::Zstd => match zstd::stream::read::Decoder::new(data) {
            Ok(d) => drain(d),
            Err(_) => Vec::new(),
        },
    }
}

/// The decompressed kernel inside `image`, if a compressed payload is found.
pub fn decompress_payload(image: &[u8]) -> Option<Vec<u8>> {
    for (magic, method) in MAGICS {
        let mut tries = 0;
        let mut from = 0;
        while tries < MAX_TRIES {
            let Some(p) = find(&image[from..], magic) else {
                break;
            };
            let at = from + p;
            tries += 1;
            let out = decompress(*method, &image[at..]);
            if out.len() >= MIN_KERNEL {
                return Some(out);
            }
            from = at + 1;
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        let p = hay[i..hay.len() - needle.len() + 1]
            .iter()
            .position(|&b| b == first)?;
        if &hay[i + p..i + p + needle.len()] == needle {
            return Some(i + p);
        }
        i += p + 1;
    }
    None
}

/// The certificates built into a kernel image (bzImage, vmlinuz, vmlinux, Image...).
/// `what` names the image in errors.
pub fn kernel_certs(image: &[u8], what: &str) -> Result<Vec<Cert>, Error> {
    // An uncompressed kernel (vmlinux ELF, arm64/riscv `Image`) is scanned as it is.
    let uncompressed = image.starts_with(b"\x7fELF")
        || image.get(56..60) == Some(b"ARM\x64")
        || image.get(48..52) == Some(b"RSC\x05");
    if !uncompressed {
        // A compressed image: only the payload holds the kernel's keys. Certificates outside
        // it (an Authenticode signature's, on a signed EFI bzImage) are not kernel keys.
        if let Some(kernel) = decompress_payload(image) {
            let certs = scan_der_certs(&kernel);
            if certs.is_empty() {
                return Err(Error::Image {
                    what: what.into(),
                    msg: format!(
                        "the decompressed kernel ({} bytes) holds no X.509 certificate",
                        kernel.len()
                    ),
                });
            }
            return Ok(certs);
        }
    }
    let direct = scan_der_certs(image);
    if direct.is_empty() {
        return Err(Error::Image {
            what: what.into(),
            msg: "not a certificate, signature list or varstore, and no certificate found in it as a kernel image (looked for gzip, xz, bzip2, lzma, lz4 and zstd payloads)".into(),
        });
    }
    Ok(direct)
}
