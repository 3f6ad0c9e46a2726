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
    let mut out = Vec::new();
    let res = match format {
        Compression::None => return Ok(Cow::Borrowed(data)),
        Compression::Xz => liblzma::read::XzDecoder::new_multi_decoder(data).read_to_end(&mut out),
        Compression::Gzip => flate2::read::MultiGzDecoder::new(data).read_to_end(&mut out),
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
