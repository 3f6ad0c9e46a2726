//! edk2 variable store files (see the crate documentation for the layout).

use crate::{guid_at, u16_at, u32_at, Error, Guid, SignatureList};

const FVH_SIGNATURE: &[u8; 4] = b"_FVH";
const STORE_HEADER: usize = 28;
const START_ID: u16 = 0x55AA;
const VAR_ADDED: u8 = 0x3F;
const VAR_IN_DELETED_TRANSITION: u8 = 0xFE;
const AUTH_HEADER: usize = 60;
const PLAIN_HEADER: usize = 32;

/// NV + BS + RT + TIME_BASED_AUTHENTICATED_WRITE_ACCESS: the attributes of `db`.
pub const ATTR_DB: u32 = 0x27;

/// `EFI_TIME`, as stored in an authenticated variable's header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EfiTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl EfiTime {
    fn from_bytes(b: &[u8]) -> EfiTime {
        EfiTime {
            year: u16_at(b, 0),
            month: b[2],
            day: b[3],
            hour: b[4],
            minute: b[5],
            second: b[6],
        }
    }
    fn to_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0..2].copy_from_slice(&self.year.to_le_bytes());
        b[2] = self.month;
        b[3] = self.day;
        b[4] = self.hour;
        b[5] = self.minute;
        b[6] = self.second;
        b
    }
    /// The current UTC time (what edk2 stamps an authenticated write with).
    pub fn now() -> EfiTime {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let days = (secs / 86400) as i64;
        let rem = secs % 86400;
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as u16;
        EfiTime {
            year,
            month,
            day,
            hour: (rem / 3600) as u8,
            minute: (rem / 60 % 60) as u8,
            second: (rem % 60) as u8,
        }
    }
}

/// One live variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variable {
    pub name: String,
    pub vendor: Guid,
    pub attributes: u32,
    pub monotonic_count: u64,
    pub timestamp: EfiTime,
    pub pubkey_index: u32,
    pub data: Vec<u8>,
}

/// A parsed vars file: the original bytes plus the live variables.
#[derive(Clone, Debug)]
pub struct Varstore {
    raw: Vec<u8>,
    /// Offset of the first variable.
    vars_start: usize,
    /// End of the variable store (exclusive).
    vars_end: usize,
    authenticated: bool,
    vars: Vec<Variable>,
}

fn align4(x: usize) -> usize {
    (x + 3) & !3
}

fn utf16_name(b: &[u8]) -> Option<String> {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let end = units.iter().position(|&u| u == 0)?;
    String::from_utf16(&units[..end]).ok()
}

impl Varstore {
    /// Parse an edk2 vars file (a firmware volume holding a variable store).
    pub fn parse(bytes: &[u8]) -> Result<Varstore, Error> {
        let err = |offset: usize, msg: &str| Error::Varstore {
            offset,
            msg: msg.to_string(),
        };
        if bytes.len() < 0x48 || &bytes[40..44] != FVH_SIGNATURE {
            return Err(err(
                40,
                "no firmware volume signature '_FVH' (not an edk2 vars file)",
            ));
        }
        let fv_len = u64::from_le_bytes(bytes[32..40].try_into().expect("8 bytes")) as usize;
        let hdr_len = u16_at(bytes, 48) as usize;
        if fv_len > bytes.len() || hdr_len < 0x38 || hdr_len + STORE_HEADER > fv_len {
            return Err(err(
                32,
                "firmware volume length or header length out of range",
            ));
        }
        let store = hdr_len;
        let format = guid_at(bytes, store);
        let authenticated = if format == crate::AUTHENTICATED_VARIABLE {
            true
        } else if format == crate::VARIABLE {
            false
        } else {
            return Err(err(
                store,
                &format!("unknown variable store format {format}"),
            ));
        };
        let size = u32_at(bytes, store + 16) as usize;
        if size < STORE_HEADER || store + size > fv_len {
            return Err(err(
                store + 16,
                "variable store size does not fit the volume",
            ));
        }
        if bytes[store + 20] != 0x5A || bytes[store + 21] != 0xFE {
            return Err(err(
                store + 20,
                "variable store is not formatted and healthy",
            ));
        }
        let vars_start = align4(store + STORE_HEADER);
        let vars_end = store + size;
        let hsize = if authenticated {
            AUTH_HEADER
        } else {
            PLAIN_HEADER
        };
        let mut vars = Vec::new();
        let mut at = vars_start;
        while at + hsize <= vars_end && u16_at(bytes, at) == START_ID {
            let state = bytes[at + 2];
            let attributes = u32_at(bytes, at + 4);
            let (monotonic_count, timestamp, pubkey_index, rest) = if authenticated {
                (
                    u64::from_le_bytes(bytes[at + 8..at + 16].try_into().expect("8 bytes")),
                    EfiTime::from_bytes(&bytes[at + 16..at + 32]),
                    u32_at(bytes, at + 32),
                    at + 36,
                )
            } else {
                (0, EfiTime::default(), 0, at + 8)
            };
            let name_size = u32_at(bytes, rest) as usize;
            let data_size = u32_at(bytes, rest + 4) as usize;
            let vendor = guid_at(bytes, rest + 8);
            let name_at = at + hsize;
            let data_at = name_at.checked_add(name_size);
            let end = data_at.and_then(|d| d.checked_add(data_size));
            let (Some(data_at), Some(end)) = (data_at, end) else {
                return Err(err(at, "variable sizes overflow"));
            };
            if end > vars_end {
                return Err(err(at, "variable runs past the end of the store"));
            }
            let live = state == VAR_ADDED || state == VAR_ADDED & VAR_IN_DELETED_TRANSITION;
            if live {
                let name = utf16_name(&bytes[name_at..data_at])
                    .ok_or_else(|| err(name_at, "variable name is not NUL-terminated UTF-16"))?;
                vars.push(Variable {
                    name,
                    vendor,
                    attributes,
                    monotonic_count,
                    timestamp,
                    pubkey_index,
                    data: bytes[data_at..end].to_vec(),
                });
            }
            at = align4(end);
        }
        // A variable in transition is superseded by a later live copy of the same name.
        let mut dedup: Vec<Variable> = Vec::new();
        for v in vars {
            if let Some(old) = dedup
                .iter_mut()
                .find(|o| o.name == v.name && o.vendor == v.vendor)
            {
                *old = v;
            } else {
                dedup.push(v);
            }
        }
        Ok(Varstore {
            raw: bytes.to_vec(),
            vars_start,
            vars_end,
            authenticated,
            vars: dedup,
        })
    }

    pub fn variables(&self) -> &[Variable] {
        &self.vars
    }

    pub fn get(&self, name: &str, vendor: Guid) -> Option<&Variable> {
        self.vars
            .iter()
            .find(|v| v.name == name && v.vendor == vendor)
    }

    /// Whether variables carry the authenticated header fields.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// Add or replace a variable. Fails when the store would overflow.
    pub fn set(&mut self, var: Variable) -> Result<(), Error> {
        let mut vars = self.vars.clone();
        match vars
            .iter_mut()
            .find(|o| o.name == var.name && o.vendor == var.vendor)
        {
            Some(o) => *o = var,
            None => vars.push(var),
        }
        let need = self.layout_len(&vars);
        if need > self.vars_end - self.vars_start {
            return Err(Error::Full(format!(
                "variables need {need} bytes, the store holds {}",
                self.vars_end - self.vars_start
            )));
        }
        self.vars = vars;
        Ok(())
    }

    /// Add an X.509 certificate (DER) to `db` (created if absent), owned by `owner`.
    pub fn enroll_db(mut self, cert_der: &[u8], owner: Guid) -> Result<Varstore, Error> {
        let mut var = self
            .get("db", crate::IMAGE_SECURITY_DATABASE)
            .cloned()
            .unwrap_or(Variable {
                name: "db".into(),
                vendor: crate::IMAGE_SECURITY_DATABASE,
                attributes: ATTR_DB,
                monotonic_count: 0,
                timestamp: EfiTime::default(),
                pubkey_index: 0,
                data: Vec::new(),
            });
        let lists = SignatureList::parse_all(&var.data)?;
        if SignatureList::x509_certs(&lists)
            .iter()
            .any(|(_, d)| *d == cert_der)
        {
            return Ok(self);
        }
        var.data
            .extend_from_slice(&SignatureList::write_all(&[SignatureList::x509(
                cert_der, owner,
            )]));
        var.timestamp = EfiTime::now();
        self.set(var)?;
        Ok(self)
    }

    fn header_len(&self) -> usize {
        if self.authenticated {
            AUTH_HEADER
        } else {
            PLAIN_HEADER
        }
    }

    fn layout_len(&self, vars: &[Variable]) -> usize {
        vars.iter()
            .map(|v| {
                align4(self.header_len() + (v.name.encode_utf16().count() + 1) * 2 + v.data.len())
            })
            .sum()
    }

    /// The vars file with the current variables: everything outside the variable area is
    /// the input's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.raw.clone();
        let mut area = Vec::with_capacity(self.vars_end - self.vars_start);
        for v in &self.vars {
            let name: Vec<u8> = v
                .name
                .encode_utf16()
                .chain(std::iter::once(0))
                .flat_map(|u| u.to_le_bytes())
                .collect();
            area.extend_from_slice(&START_ID.to_le_bytes());
            area.push(VAR_ADDED);
            area.push(0);
            area.extend_from_slice(&v.attributes.to_le_bytes());
            if self.authenticated {
                area.extend_from_slice(&v.monotonic_count.to_le_bytes());
                area.extend_from_slice(&v.timestamp.to_bytes());
                area.extend_from_slice(&v.pubkey_index.to_le_bytes());
            }
            area.extend_from_slice(&(name.len() as u32).to_le_bytes());
            area.extend_from_slice(&(v.data.len() as u32).to_le_bytes());
            area.extend_from_slice(&v.vendor.0);
            area.extend_from_slice(&name);
            area.extend_from_slice(&v.data);
            while area.len() % 4 != 0 {
                area.push(0xFF);
            }
        }
        // `set` keeps the layout within the store.
        area.resize(self.vars_end - self.vars_start, 0xFF);
        out[self.vars_start..self.vars_end].copy_from_slice(&area);
        out
    }
}
