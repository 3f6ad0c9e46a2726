//! `.modinfo`: NUL-separated `key=value` strings.

/// The `.modinfo` strings of a module, split exactly as libkmod does: leading NUL padding is
/// skipped and a run of NUL bytes separates two strings (so empty strings never appear).
/// A string without `=` is a key whose value is the whole string (kmod's behaviour).
#[derive(Clone, Debug, Default)]
pub struct ModInfo<'a> {
    entries: Vec<(&'a [u8], &'a [u8])>,
}

impl<'a> ModInfo<'a> {
    /// Split the raw section bytes.
    pub fn parse(section: &'a [u8]) -> Self {
        let entries = strings(section)
            .map(|s| match s.iter().position(|&b| b == b'=') {
                Some(eq) => (&s[..eq], &s[eq + 1..]),
                None => (s, s),
            })
            .collect();
        ModInfo { entries }
    }

    /// All entries in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + '_ {
        self.entries.iter().copied()
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&'a [u8]> {
        self.iter()
            .find(|(k, _)| *k == key.as_bytes())
            .map(|(_, v)| v)
    }

    /// Every value of `key`, in file order (aliases, depends, ...).
    pub fn get_all<'s>(&'s self, key: &'s str) -> impl Iterator<Item = &'a [u8]> + 's {
        self.iter()
            .filter(move |(k, _)| *k == key.as_bytes())
            .map(|(_, v)| v)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No entries at all?
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The strings of a NUL-separated string section, split as libkmod splits `.modinfo` and
/// `__ksymtab_strings`: leading NUL padding is skipped (keeping at least one byte), a remainder
/// of one byte or less holds nothing (even a lone non-NUL byte), and a run of NULs separates
/// two strings, so no string is empty.
pub(crate) fn strings(section: &[u8]) -> impl Iterator<Item = &[u8]> {
    let start = section
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(section.len());
    let rest = &section[start.min(section.len().saturating_sub(1))..];
    let rest = if rest.len() <= 1 { &[][..] } else { rest };
    rest.split(|&b| b == 0).filter(|s| !s.is_empty())
}
