//! Kernel log records from `/dev/kmsg` (Documentation/ABI/testing/dev-kmsg).
//!
//! Each `read` returns one record: `prio,seq,ts_usec,flag[,...];message\n`, then optional
//! continuation lines ` KEY=VALUE\n` (device dictionary). `prio` packs the syslog facility
//! and level (`facility << 3 | level`); non-printable bytes of the message arrive escaped as
//! `\xNN`. A reader that fell behind gets EPIPE once and continues with the oldest record
//! still in the buffer.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// One log record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub facility: u32,
    pub level: u8,
    pub seq: u64,
    /// Microseconds since boot.
    pub ts_usec: u64,
    /// `c` for a continuation fragment, `-` otherwise.
    pub flag: char,
    /// The message with `\xNN` escapes decoded.
    pub message: Vec<u8>,
    /// `KEY=VALUE` continuation lines.
    pub dict: Vec<(String, String)>,
}

/// Decodes `\xNN` escapes (the kernel escapes `\` itself as `\x5c`).
pub fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' && s.get(i + 1) == Some(&b'x') {
            if let Some(v) = s
                .get(i + 2..i + 4)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

/// Parses one record as read from `/dev/kmsg`.
pub fn parse_record(buf: &[u8]) -> Option<Record> {
    let semi = buf.iter().position(|&b| b == b';')?;
    let header = std::str::from_utf8(&buf[..semi]).ok()?;
    let mut fields = header.split(',');
    let prio: u32 = fields.next()?.parse().ok()?;
    let seq = fields.next()?.parse().ok()?;
    let ts_usec = fields.next()?.parse().ok()?;
    let flag = fields.next().and_then(|f| f.chars().next()).unwrap_or('-');
    let rest = &buf[semi + 1..];
    let mut lines = rest.split(|&b| b == b'\n');
    let message = unescape(lines.next().unwrap_or(&[]));
    let mut dict = Vec::new();
    for l in lines {
        if let Some(l) = l.strip_prefix(b" ") {
            let l = String::from_utf8_lossy(&unescape(l)).into_owned();
            if let Some((k, v)) = l.split_once('=') {
                dict.push((k.to_string(), v.to_string()));
            }
        }
    }
    Some(Record {
        facility: prio >> 3,
        level: (prio & 7) as u8,
        seq,
        ts_usec,
        flag,
        message,
        dict,
    })
}

/// An open `/dev/kmsg`, positioned at the oldest record.
pub struct Kmsg {
    file: File,
    follow: bool,
}

impl Kmsg {
    /// Opens `path` (normally `/dev/kmsg`); with `follow`, reading waits for new records,
    /// else it ends at the last one.
    pub fn open(path: &Path, follow: bool) -> io::Result<Kmsg> {
        let mut o = std::fs::OpenOptions::new();
        o.read(true);
        if !follow {
            o.custom_flags(libc::O_NONBLOCK);
        }
        Ok(Kmsg {
            file: o.open(path)?,
            follow,
        })
    }

    /// The next record; `None` at the end (never, when following).
    pub fn next_record(&mut self) -> io::Result<Option<Record>> {
        // Records are at most 8 KiB (PRINTK_MESSAGE_MAX + dictionary) in 6.x.
        let mut buf = vec![0u8; 16384];
        loop {
            match self.file.read(&mut buf) {
                Ok(0) => return Ok(None),
                Ok(n) => {
                    if let Some(r) = parse_record(&buf[..n]) {
                        return Ok(Some(r));
                    }
                }
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) && !self.follow => {
                    return Ok(None)
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Syslog level names, as util-linux's dmesg spells them.
pub const LEVELS: &[&str] = &[
    "emerg", "alert", "crit", "err", "warn", "notice", "info", "debug",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_with_dict_and_escapes() {
        let r = parse_record(
            b"6,339,5140900,-;hello: a\\x5cb\\x09c\n SUBSYSTEM=acpi\n DEVICE=+acpi:PNP0A03:00\n",
        )
        .unwrap();
        assert_eq!(
            (r.facility, r.level, r.seq, r.ts_usec, r.flag),
            (0, 6, 339, 5140900, '-')
        );
        assert_eq!(r.message, b"hello: a\\b\tc");
        assert_eq!(r.dict[0], ("SUBSYSTEM".into(), "acpi".into()));
        let r = parse_record(b"12,5,0,c;user\n").unwrap();
        assert_eq!((r.facility, r.level, r.flag), (1, 4, 'c'));
        assert!(parse_record(b"garbage").is_none());
    }
}
