//! Compression detected by content, as the kernel and kmod do (not by file name).

use crate::Error;
use std::borrow::Cow;
use std::fmt;
use std::io::Read;

/// How a module file is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Xz,
    Zstd,
    Gzip,
}

impl Compression {
    /// Detect by magic bytes: zstd `28 b5 2f fd`, xz `fd 37 7a 58 5a 00`, gzip `1f 8b`.
    pub fn detect(data: &[u8]) -> Compression {
        if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else if data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Compression::Xz
        } else if data.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else {
            Compression::None
        }
    }

    /// The compression a file name implies (`.ko.xz`, `.ko.zst`, `.ko.gz`): the kernel build
    /// compresses after signing, as the name says.
    pub fn of_name(name: &[u8]) -> Compression {
        if name.ends_with(b".xz") {
            Compression::Xz
        } else if name.ends_with(b".zst") {
            Compression::Zstd
        } else if name.ends_with(b".gz") {
            Compression::Gzip
        } else {
            Compression::None
        }
    }

    /// Compresses `data` as the kernel's `scripts/Makefile.modinst` does (xz --check=crc32
    /// --lzma2=dict=1MiB, zstd at level 19, gzip -9).
    pub fn compress(self, data: &[u8]) -> Result<Vec<u8>, Error> {
        use std::io::Write;
        let fail = |e: std::io::Error| Error::Compress {
            format: self,
            detail: e.to_string(),
        };
        match self {
            Compression::None => Ok(data.to_vec()),
            Compression::Xz => {
                let lzma = |e: liblzma::stream::Error| Error::Compress {
                    format: self,
                    detail: e.to_string(),
                };
                let mut opts = liblzma::stream::LzmaOptions::new_preset(6).map_err(lzma)?;
                opts.dict_size(1 << 20);
                let mut filters = liblzma::stream::Filters::new();
                filters.lzma2(&opts);
                let stream = liblzma::stream::Stream::new_stream_encoder(
                    &filters,
                    liblzma::stream::Check::Crc32,
                )
                .map_err(lzma)?;
                let mut enc = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
                enc.write_all(data).map_err(fail)?;
                enc.finish().map_err(fail)
            }
            Compression::Zstd => zstd::bulk::compress(data, 19).map_err(fail),
            Compression::Gzip => {
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                enc.write_all(data).map_err(fail)?;
                enc.finish().map_err(fail)
            }
        }
    }

    /// The file name extension the kernel build gives this compression (`.ko` + this).
    pub fn extension(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Xz => ".xz",
            Compression::Zstd => ".zst",
            Compression::Gzip => ".gz",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "uncompressed",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
            Compression::Gzip => "gzip",
        })
    }
}

/// Return `data` decompressed (borrowed unchanged when it is not compressed).
pub fn decompress(data: &[u8]) -> Result<Cow<'_, [u8]>, Error> {
    let format = Compression::detect(data);
    // One allocation of the size the stream declares, instead of doubling and copying as the
    // output grows (a tenth of depmod's time on a tree of .ko.xz). Only a hint: a file can
    // declare any size, so it is capped, and a wrong one costs only the reallocations.
    let hint = declared_size(format, data)
        .unwrap_or(0)
        .min(data.len().saturating_mul(64) as u64)
        .min(1 << 30);
    let mut out = crate::spare::take();
    out.reserve(hint as usize);
    let res = match format {
        Compression::None => return Ok(Cow::Borrowed(data)),
        // The bufread decoders read `data` in place, without a buffer's copy of it.
        Compression::Xz => {
            liblzma::bufread::XzDecoder::new_multi_decoder(data).read_to_end(&mut out)
        }
        Compression::Gzip => flate2::bufread::MultiGzDecoder::new(data).read_to_end(&mut out),
        Compression::Zstd => {
            zstd::stream::read::Decoder::with_buffer(data).and_then(|mut d| d.read_to_end(&mut out))
        }
    };
    match res {
        Ok(_) => Ok(Cow::Owned(out)),
        Err(e) => Err(Error::Decompress {
            format,
            detail: e.to_string(),
        }),
    }
}

/// The decompressed size `data` declares for itself, if it says: the sum of the last xz
/// stream's index records, gzip's ISIZE (modulo 4 GiB), zstd's frame content size.
fn declared_size(format: Compression, data: &[u8]) -> Option<u64> {
    match format {
        Compression::None => None,
        Compression::Gzip => {
            let t = data.len().checked_sub(4)?;
            Some(u64::from(u32::from_le_bytes(data[t..].try_into().ok()?)))
        }
        Compression::Zstd => zstd::zstd_safe::get_frame_content_size(data).ok()?,
        Compression::Xz => {
            // Stream footer: CRC32, backward size, flags, "YZ"; the index ends at the footer.
            let foot = data.len().checked_sub(12)?;
            if &data[foot + 10..] != b"YZ" {
                return None;
            }
            let backward = u32::from_le_bytes(data[foot + 4..foot + 8].try_into().ok()?);
            let size = (u64::from(backward) + 1) * 4;
            let index = data.get(foot.checked_sub(usize::try_from(size).ok()?)?..foot)?;
            let (&indicator, mut rest) = index.split_first()?;
            if indicator != 0 {
                return None;
            }
            let mut varint = || -> Option<u64> {
                let mut v = 0u64;
                for (i, &b) in rest.iter().enumerate().take(9) {
                    v |= u64::from(b & 0x7f) << (7 * i);
                    if b & 0x80 == 0 {
                        rest = &rest[i + 1..];
                        return Some(v);
                    }
                }
                None
            };
            let records = varint()?;
            let mut total = 0u64;
            for _ in 0..records {
                varint()?; // unpadded size
                total = total.checked_add(varint()?)?;
            }
            Some(total)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_size_is_the_real_size_for_each_format() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for c in [Compression::Xz, Compression::Gzip, Compression::Zstd] {
            let packed = c.compress(&data).unwrap();
            assert_eq!(declared_size(c, &packed), Some(data.len() as u64), "{c}");
            assert_eq!(decompress(&packed).unwrap().as_ref(), &data[..], "{c}");
            // A lying or cut trailer is only a hint: the data still decompresses or fails.
            let mut lie = packed.clone();
            let n = lie.len();
            lie[n - 5] ^= 0x40;
            let _ = decompress(&lie);
            for cut in [1, 12, n / 2] {
                let _ = declared_size(c, &packed[..n - cut]);
            }
        }
    }
}
