//! EFI signature lists (`EFI_SIGNATURE_LIST`, the data of `db`, `dbx`, `KEK`, `PK` and shim's
//! `MokList*`) and edk2 variable store files (OVMF's `OVMF_VARS*.fd`): read them, and add a
//! certificate to `db` giving the bytes of a new, still valid, vars file.
//!
//! This is a format crate: bytes in, bytes out, no files. It owns the layouts below and
//! nothing about what the firmware or the kernel does with the keys.
//!
//! Layouts (UEFI spec 2.10 §32.4.1; edk2 `MdeModulePkg/Include/Guid/VariableFormat.h`,
//! `MdePkg/Include/Pi/PiFirmwareVolume.h`), all little-endian:
//! - GUID: u32, u16, u16, then 8 bytes as written.
//! - Signature list: type GUID, u32 ListSize, u32 HeaderSize, u32 SignatureSize, HeaderSize
//!   bytes, then (ListSize - 28 - HeaderSize) / SignatureSize entries of {owner GUID, data}.
//! - Vars file: a firmware volume header (`_FVH` at offset 40, header length at 48), then a
//!   variable store header {format GUID, u32 Size, u8 Format 0x5A, u8 State 0xFE, 6 reserved},
//!   then variables, each 4-byte aligned: {u16 StartId 0x55AA, u8 State, u8 reserved,
//!   u32 Attributes, [authenticated stores: u64 MonotonicCount, EFI_TIME (16 bytes),
//!   u32 PubKeyIndex,] u32 NameSize, u32 DataSize, vendor GUID, UTF-16LE name with NUL, data}.
//!   The list ends where StartId is not 0x55AA (erased flash, 0xFF). Only variables in state
//!   VAR_ADDED (0x3F, or 0x3E while a replacement is being written) are live. What follows
//!   the variable store inside the file (the fault-tolerant-write working block and spare
//!   area) is kept byte for byte.
//!
//! Enrolling a module signing certificate into a copy of OVMF's vars file:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let vars = std::fs::read("/usr/share/OVMF/OVMF_VARS_4M.fd")?;
//! let cert_der = std::fs::read("signing_key.der")?;
//! let owner = efivars::Guid::parse("605dab50-e046-4300-abb6-3dd810dd8b23")?;
//! let out = efivars::Varstore::parse(&vars)?.enroll_db(&cert_der, owner)?.to_bytes();
//! std::fs::write("vars.fd", out)?;
//! # Ok(()) }
//! ```
//!
//! Writing rewrites the variable area compactly (live variables in their order, then 0xFF up
//! to the store's size), which is what edk2's own reclaim does and what `virt-fw-vars` writes.

use std::fmt;

/// What can be wrong with signature lists or a vars file; offsets are from the start of the
/// input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("signature list at offset {offset}: {msg}")]
    SignatureList { offset: usize, msg: String },
    #[error("varstore at offset {offset:#x}: {msg}")]
    Varstore { offset: usize, msg: String },
    #[error("varstore: {0}")]
    Full(String),
    #[error("invalid GUID '{0}' (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")]
    Guid(String),
}

/// An EFI GUID, stored as the 16 bytes it has on disk.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// From the usual text form `aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee`.
    pub fn parse(s: &str) -> Result<Guid, Error> {
        let bad = || Error::Guid(s.to_string());
        let parts: Vec<&str> = s.trim().split('-').collect();
        let lens = [8, 4, 4, 4, 12];
        if parts.len() != 5 || parts.iter().zip(lens).any(|(p, l)| p.len() != l) {
            return Err(bad());
        }
        let hex: String = parts.concat();
        let mut b = [0u8; 16];
        for (i, byte) in b.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16)
                .map_err(|_| bad())?;
        }
        // The first three fields are stored little-endian.
        b[0..4].reverse();
        b[4..6].reverse();
        b[6..8].reverse();
        Ok(Guid(b))
    }

    const fn from_fields(a: u32, b: u16, c: u16, d: [u8; 8]) -> Guid {
        let a = a.to_le_bytes();
        let b = b.to_le_bytes();
        let c = c.to_le_bytes();
        Guid([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d[0], d[1], d[2], d[3], d[4], d[5],
            d[6], d[7],
        ])
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-",
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            u16::from_le_bytes([b[4], b[5]]),
            u16::from_le_bytes([b[6], b[7]]),
            b[8],
            b[9]
        )?;
        for x in &b[10..] {
            write!(f, "{x:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `EFI_CERT_X509_GUID`.
pub const CERT_X509: Guid = Guid::from_fields(
    0xa5c059a1,
    0x94e4,
    0x4aa7,
    [0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72],
);
/// `EFI_CERT_SHA256_GUID`.
pub const CERT_SHA256: Guid = Guid::from_fields(
    0xc1c41626,
    0x504c,
    0x4092,
    [0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28],
);
/// `EFI_IMAGE_SECURITY_DATABASE_GUID`: vendor of `db`, `dbx`.
pub const IMAGE_SECURITY_DATABASE: Guid = Guid::from_fields(
    0xd719b2cb,
    0x3d3a,
    0x4596,
    [0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f],
);
/// `EFI_GLOBAL_VARIABLE`: vendor of `PK`, `KEK`.
pub const GLOBAL_VARIABLE: Guid = Guid::from_fields(
    0x8be4df61,
    0x93ca,
    0x11d2,
    [0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c],
);
/// shim's vendor GUID (`MokList`, `MokListRT`, ...).
pub const SHIM_LOCK: Guid = Guid::from_fields(
    0x605dab50,
    0xe046,
    0x4300,
    [0xab, 0xb6, 0x3d, 0xd8, 0x10, 0xdd, 0x8b, 0x23],
);
/// `gEfiAuthenticatedVariableGuid`: format of a store whose variables carry auth fields.
pub const AUTHENTICATED_VARIABLE: Guid = Guid::from_fields(
    0xaaf32c78,
    0x947b,
    0x439a,
    [0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92],
);
/// `gEfiVariableGuid`: format of a plain store.
pub const VARIABLE: Guid = Guid::from_fields(
    0xddcf3616,
    0x3275,
    0x4164,
    [0x98, 0xb6, 0xfe, 0x85, 0x70, 0x7f, 0xfe, 0x7d],
);

/// One signature: its owner and its bytes (a DER certificate for [`CERT_X509`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureEntry {
    pub owner: Guid,
    pub data: Vec<u8>,
}

/// One `EFI_SIGNATURE_LIST`: entries of one type and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureList {
    pub sig_type: Guid,
    pub header: Vec<u8>,
    pub entries: Vec<SignatureEntry>,
}

const ESL_HEADER: usize = 28;

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn guid_at(b: &[u8], at: usize) -> Guid {
    let mut g = [0u8; 16];
    g.copy_from_slice(&b[at..at + 16]);
    Guid(g)
}

impl SignatureList {
    /// A list holding one X.509 certificate.
    pub fn x509(cert_der: &[u8], owner: Guid) -> SignatureList {
        SignatureList {
            sig_type: CERT_X509,
            header: Vec::new(),
            entries: vec![SignatureEntry {
                owner,
                data: cert_der.to_vec(),
            }],
        }
    }

    /// Parse concatenated signature lists (a variable's whole data). Empty input is no list.
    pub fn parse_all(bytes: &[u8]) -> Result<Vec<SignatureList>, Error> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let err = |msg: String| Error::SignatureList { offset: at, msg };
            if bytes.len() - at < ESL_HEADER {
                return Err(err(format!(
                    "{} bytes left, a list header needs {ESL_HEADER}",
                    bytes.len() - at
                )));
            }
            let sig_type = guid_at(bytes, at);
            let list_size = u32_at(bytes, at + 16) as usize;
            let header_size = u32_at(bytes, at + 20) as usize;
            let sig_size = u32_at(bytes, at + 24) as usize;
            if list_size < ESL_HEADER || list_size > bytes.len() - at {
                return Err(err(format!(
                    "list size {list_size} does not fit ({} bytes left)",
                    bytes.len() - at
                )));
            }
            if sig_size < 16 {
                return Err(err(format!("signature size {sig_size} is below 16")));
            }
            let body = list_size
                .checked_sub(ESL_HEADER + header_size)
                .ok_or_else(|| err(format!("header size {header_size} exceeds the list")))?;
            if body % sig_size != 0 {
                return Err(err(format!(
                    "{body} bytes of signatures are not a multiple of the signature size {sig_size}"
                )));
            }
            let hdr_at = at + ESL_HEADER;
            let header = bytes[hdr_at..hdr_at + header_size].to_vec();
            let mut entries = Vec::new();
            let mut e = hdr_at + header_size;
            while e < at + list_size {
                entries.push(SignatureEntry {
                    owner: guid_at(bytes, e),
                    data: bytes[e + 16..e + sig_size].to_vec(),
                });
                e += sig_size;
            }
            out.push(SignatureList {
                sig_type,
                header,
                entries,
            });
            at += list_size;
        }
        Ok(out)
    }

    /// The bytes of this list. All entries must have the same data length (one list per
    /// size, as the spec requires); [`SignatureList::write_all`] splits lists that do not.
    fn write(&self, out: &mut Vec<u8>) {
        let data_len = self.entries.first().map_or(0, |e| e.data.len());
        let sig_size = 16 + data_len;
        let list_size = ESL_HEADER + self.header.len() + sig_size * self.entries.len();
        out.extend_from_slice(&self.sig_type.0);
        out.extend_from_slice(&(list_size as u32).to_le_bytes());
        out.extend_from_slice(&(self.header.len() as u32).to_le_bytes());
        out.extend_from_slice(&(sig_size as u32).to_le_bytes());
        out.extend_from_slice(&self.header);
        for e in &self.entries {
            out.extend_from_slice(&e.owner.0);
            out.extend_from_slice(&e.data);
        }
    }

    /// Serialize lists; a list whose entries differ in size is written as several lists.
    pub fn write_all(lists: &[SignatureList]) -> Vec<u8> {
        let mut out = Vec::new();
        for l in lists {
            let mut start = 0;
            while start < l.entries.len() {
                let len = l.entries[start].data.len();
                let mut end = start + 1;
                while end < l.entries.len() && l.entries[end].data.len() == len {
                    end += 1;
                }
                SignatureList {
                    sig_type: l.sig_type,
                    header: l.header.clone(),
                    entries: l.entries[start..end].to_vec(),
                }
                .write(&mut out);
                start = end;
            }
            if l.entries.is_empty() {
                l.write(&mut out);
            }
        }
        out
    }

    /// Every X.509 certificate (DER) in `lists`, with its owner.
    pub fn x509_certs(lists: &[SignatureList]) -> Vec<(Guid, &[u8])> {
        lists
            .iter()
            .filter(|l| l.sig_type == CERT_X509)
            .flat_map(|l| l.entries.iter().map(|e| (e.owner, e.data.as_slice())))
            .collect()
    }
}

mod varstore;
pub use varstore::{EfiTime, Variable, Varstore, ATTR_DB};

#[cfg(test)]
mod tests;
